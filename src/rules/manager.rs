//! Every tenant's rule groups: loading the files, reloading them (a broken
//! file keeps the previous rules and its error is shown), the evaluation
//! schedule, and restoring alerts' `for` state after a restart.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::{Mutex, RwLock};

use crate::config::{Config, RulesConfig};
use crate::logs::LogStore;
use crate::metrics::MetricsStore;
use crate::model::TenantId;
use crate::selfmon::SelfMetrics;
use crate::storage::clock::Clock;

use super::file::{load_rule_files_partial, QueryLanguage, RuleFile, RuleFileError};
use super::group::Group;
use super::notifier::Notifier;
use super::view::GroupView;

/// What rule evaluation reads from and writes to.
#[derive(Clone)]
pub struct RuleDeps {
    pub metrics: Arc<MetricsStore>,
    pub logs: Arc<LogStore>,
    pub engine: Arc<crate::promql::Engine>,
    pub log_engine: Arc<crate::logql::eval::Engine>,
    pub clock: Arc<dyn Clock>,
    pub selfmon: Arc<SelfMetrics>,
    pub notifier: Arc<Notifier>,
}

/// All rule groups of all tenants.
pub struct RuleManager {
    cfg: RwLock<Arc<Config>>,
    deps: RuleDeps,
    /// Per tenant, groups in file then group order.
    groups: RwLock<BTreeMap<String, Vec<Arc<Group>>>>,
    /// Serialises reloads.
    reloading: Mutex<()>,
    /// Whether the first load happened (groups loaded later are not restored).
    loaded_once: AtomicBool,
    reload_ok: AtomicBool,
    last_reload_error: Mutex<Option<String>>,
    /// Wakes the scheduler after a reload.
    wake: tokio::sync::Notify,
}

/// The rule files of one tenant, by language.
struct TenantFiles {
    tenant: TenantId,
    files: Vec<String>,
    log_files: Vec<String>,
}

fn tenant_files(cfg: &Config) -> Vec<TenantFiles> {
    let mut out = vec![TenantFiles {
        tenant: TenantId::default_tenant(),
        files: cfg.rules.files.clone(),
        log_files: cfg.rules.log_files.clone(),
    }];
    for (name, o) in &cfg.tenants {
        if o.rule_files.is_empty() && o.log_rule_files.is_empty() {
            continue;
        }
        let Ok(tenant) = TenantId::parse(name) else {
            continue;
        };
        if let Some(t) = out.iter_mut().find(|t| t.tenant == tenant) {
            t.files.extend(o.rule_files.iter().cloned());
            t.log_files.extend(o.log_rule_files.iter().cloned());
        } else {
            out.push(TenantFiles {
                tenant,
                files: o.rule_files.clone(),
                log_files: o.log_rule_files.clone(),
            });
        }
    }
    out
}

/// The rule files of one tenant that loaded, PromQL patterns first, each
/// path once, and the errors of those that did not (each naming its file,
/// so one broken file leaves the others of its glob running).
fn load_tenant_files(tf: &TenantFiles) -> (Vec<RuleFile>, Vec<RuleFileError>) {
    let (mut files, mut errors) = load_rule_files_partial(&tf.files, QueryLanguage::PromQL);
    let (log_files, log_errors) = load_rule_files_partial(&tf.log_files, QueryLanguage::LogQL);
    for f in log_files {
        if files.iter().any(|g| g.path == f.path) {
            tracing::warn!(file = %f.path, "rule file listed as both PromQL and LogQL rules; loaded as PromQL");
        } else {
            files.push(f);
        }
    }
    errors.extend(log_errors);
    (files, errors)
}

impl RuleManager {
    pub fn new(cfg: Arc<Config>, deps: RuleDeps) -> Arc<RuleManager> {
        Arc::new(RuleManager {
            cfg: RwLock::new(cfg),
            deps,
            groups: RwLock::new(BTreeMap::new()),
            reloading: Mutex::new(()),
            loaded_once: AtomicBool::new(false),
            reload_ok: AtomicBool::new(true),
            last_reload_error: Mutex::new(None),
            wake: tokio::sync::Notify::new(),
        })
    }

    /// The rules section in force.
    pub fn rules_config(&self) -> RulesConfig {
        self.cfg.read().rules.clone()
    }

    /// (Re)loads the rule files of `cfg` (or of the current config). Files
    /// that fail keep their previous groups, whose rules then show the
    /// error as `lastError`; the error is logged, counted and returned.
    /// Returns the number of groups loaded.
    pub fn reload(&self, cfg: Option<Arc<Config>>) -> Result<usize, String> {
        let _one = self.reloading.lock();
        if let Some(c) = cfg {
            self.deps.notifier.apply_config(&c.rules);
            *self.cfg.write() = c;
        }
        let cfg = self.cfg.read().clone();
        let restore = !self.loaded_once.swap(true, Ordering::SeqCst);
        let default_interval = cfg.rules.evaluation_interval.as_millis_i64().max(1);
        let old = self.groups.read().clone();
        let mut new: BTreeMap<String, Vec<Arc<Group>>> = BTreeMap::new();
        let mut all_errors: Vec<RuleFileError> = Vec::new();
        for tf in tenant_files(&cfg) {
            let (files, errors) = load_tenant_files(&tf);
            let old_groups = old.get(tf.tenant.as_str()).cloned().unwrap_or_default();
            let failed_files: Vec<&str> = errors.iter().map(|e| e.file.as_str()).collect();
            let mut groups: Vec<Arc<Group>> = Vec::new();
            for f in &files {
                for spec in &f.groups {
                    let prev = old_groups
                        .iter()
                        .find(|o| o.file == f.path && o.name == spec.name);
                    let restore = restore || prev.is_some_and(|o| o.restore_pending());
                    let g = Group::new(tf.tenant.clone(), &f.path, spec, default_interval, restore);
                    if let Some(o) = prev {
                        let orphans = g.copy_state_from(o);
                        g.write_stale(&self.deps, orphans, self.deps.clock.now_ms());
                    }
                    groups.push(Arc::new(g));
                }
            }
            // Groups of files that failed to load stay, showing the error.
            for o in &old_groups {
                if let Some(e) = errors.iter().find(|e| e.file == o.file) {
                    o.set_config_error(Some(format!(
                        "rule file failed to reload, still evaluating the previous version: {e}"
                    )));
                    groups.push(o.clone());
                } else if !failed_files.contains(&o.file.as_str())
                    && !groups.iter().any(|g| g.file == o.file && g.name == o.name)
                {
                    o.mark_all_stale(&self.deps, self.deps.clock.now_ms());
                }
            }
            groups.sort_by(|a, b| (&a.file, &a.name).cmp(&(&b.file, &b.name)));
            for g in &groups {
                if !errors.iter().any(|e| e.file == g.file) {
                    g.set_config_error(None);
                }
            }
            all_errors.extend(errors);
            if !groups.is_empty() {
                new.insert(tf.tenant.as_str().to_string(), groups);
            }
        }
        // Fix each new group's first tick now: the first after loading.
        let now = self.deps.clock.now_ms();
        for g in new.values().flatten() {
            g.next_eval_ms(now);
        }
        let count = new.values().map(Vec::len).sum();
        *self.groups.write() = new;
        self.wake.notify_one();
        if all_errors.is_empty() {
            self.reload_ok.store(true, Ordering::SeqCst);
            *self.last_reload_error.lock() = None;
            tracing::info!(groups = count, "rules loaded");
            Ok(count)
        } else {
            let msg = all_errors
                .iter()
                .map(|e| e.to_string())
                .collect::<Vec<_>>()
                .join("; ");
            self.reload_ok.store(false, Ordering::SeqCst);
            self.deps.selfmon.rule_reload_failures.inc();
            tracing::error!(error = %msg, "loading rule files failed; previous rules of those files stay in force");
            *self.last_reload_error.lock() = Some(msg.clone());
            Err(msg)
        }
    }

    /// Records a reload that failed before the rule files were read (the
    /// configuration file itself was invalid): the rules in force stay.
    pub fn note_reload_failure(&self, msg: &str) {
        self.reload_ok.store(false, Ordering::SeqCst);
        self.deps.selfmon.rule_reload_failures.inc();
        *self.last_reload_error.lock() = Some(msg.to_string());
    }

    /// Snapshots of a tenant's groups, in file then group order.
    pub fn groups(&self, tenant: &str) -> Vec<GroupView> {
        self.groups
            .read()
            .get(tenant)
            .map(|gs| gs.iter().map(|g| g.view()).collect())
            .unwrap_or_default()
    }

    /// Every loaded group (tests, scheduling).
    pub fn all_groups(&self) -> Vec<Arc<Group>> {
        self.groups.read().values().flatten().cloned().collect()
    }

    /// Whether the last (re)load succeeded.
    pub fn reload_ok(&self) -> bool {
        self.reload_ok.load(Ordering::SeqCst)
    }

    /// The error of the last (re)load, if it failed.
    pub fn last_reload_error(&self) -> Option<String> {
        self.last_reload_error.lock().clone()
    }

    /// Groups loaded over all tenants.
    pub fn group_count(&self) -> usize {
        self.groups.read().values().map(Vec::len).sum()
    }

    fn count_missed(&self, g: &Group, missed: u64) {
        if missed > 0 {
            self.deps
                .selfmon
                .rule_group_iterations_missed
                .with(&[g.tenant.as_str(), &g.key()])
                .add(missed);
        }
    }

    /// Evaluates, on the calling thread, every group whose next tick is at
    /// or before `now_ms`, once each, at its latest due tick (earlier
    /// missed ticks are counted as missed iterations, as Prometheus skips
    /// them). Returns how many groups ran. Ticks of a group with interval
    /// `i` fall at `k·i + offset`, the offset a stable hash of tenant, file
    /// and group name modulo `i` (Prometheus spreads groups the same way).
    /// The server's scheduler evaluates through the same path; tests drive
    /// a `ManualClock` and call this directly.
    pub fn eval_due(&self, now_ms: i64) -> usize {
        let cfg = self.cfg.read().clone();
        let mut ran = 0;
        for g in self.all_groups() {
            if let Some((ts, missed)) = g.take_due(now_ms) {
                self.count_missed(&g, missed);
                g.eval(ts, &self.deps, &cfg.rules, &cfg.server.external_url);
                ran += 1;
            }
        }
        ran
    }

    /// Runs the schedule on the current tokio runtime until the task is
    /// aborted: each due group is evaluated on a blocking thread; a group
    /// still running when its next tick comes skips that tick (counted as
    /// missed).
    pub fn spawn(self: &Arc<Self>) -> tokio::task::JoinHandle<()> {
        let me = self.clone();
        tokio::spawn(async move {
            loop {
                let now = me.deps.clock.now_ms();
                let cfg = me.cfg.read().clone();
                let mut next_wake = now + 1000;
                for g in me.all_groups() {
                    if g.is_running() {
                        // Its tick passes while it runs: counted as missed
                        // when it is next taken.
                        next_wake = next_wake.min(now + 100);
                        continue;
                    }
                    if let Some((ts, missed)) = g.take_due(now) {
                        me.count_missed(&g, missed);
                        let me2 = me.clone();
                        let cfg2 = cfg.clone();
                        tokio::task::spawn_blocking(move || {
                            g.eval(ts, &me2.deps, &cfg2.rules, &cfg2.server.external_url)
                        });
                    } else {
                        next_wake = next_wake.min(g.next_eval_ms(now));
                    }
                }
                let sleep_ms = (next_wake - now).clamp(1, 1000) as u64;
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_millis(sleep_ms)) => {}
                    _ = me.wake.notified() => {}
                }
            }
        })
    }
}
