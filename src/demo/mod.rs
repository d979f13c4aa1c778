//! `cairn demo`: drives a running Cairn over the real protocols with the
//! WordPress clone platform's whole workload, so the dashboards and alerts
//! of `deploy/` can be tried on a laptop. Metrics go by Prometheus remote
//! write (as the Prometheus agent would send what it scraped from
//! node-exporter, kube-state-metrics, the API server, Karpenter and
//! `wp-k8s-service`), container logs by Loki push (as Fluent Bit would),
//! clone workflows as OTLP traces (as the OpenTelemetry SDK would).
//!
//! The run first backfills some history, then writes one scrape every
//! `--interval` in real time, following a script of calm periods and
//! incidents ([`schedule`]) that make the seven alerts fire and resolve.

pub mod record;
pub mod registry;
pub mod rng;
pub mod schedule;
pub mod send;
pub mod world;

use std::io::Write;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::units::{format_duration, parse_duration};
use schedule::{Incident, Schedule};
use send::Target;
use world::World;

fn duration_arg(s: &str) -> Result<Duration, String> {
    parse_duration(s)
}

fn incidents_arg(s: &str) -> Result<Vec<Incident>, String> {
    if s.trim().is_empty() || s == "none" {
        return Ok(Vec::new());
    }
    s.split(',').map(|p| p.trim().parse()).collect()
}

#[derive(clap::Args, Debug, Clone)]
pub struct DemoArgs {
    /// Cairn's HTTP address (remote write, Loki push, and OTLP unless
    /// --otlp-url is given).
    #[arg(long, default_value = "http://127.0.0.1:3100")]
    pub url: String,
    /// OTLP/HTTP base URL for traces (default: --url, whose /v1/traces
    /// takes OTLP too).
    #[arg(long)]
    pub otlp_url: Option<String>,
    /// Tenant (X-Scope-OrgID) to write as; none writes to the default tenant.
    #[arg(long)]
    pub tenant: Option<String>,
    /// Scrape interval of the simulated Prometheus: one write per interval.
    #[arg(long, default_value = "10s", value_parser = duration_arg)]
    pub interval: Duration,
    /// History written at start-up, ending now (0s for none), one scrape
    /// every max(--interval, 15s). At most about an hour into a tenant that
    /// already has fresh data (Cairn's own metrics are in the default
    /// tenant): a head, like Prometheus', takes new series only up to an
    /// hour behind its newest sample.
    #[arg(long, default_value = "55m", value_parser = duration_arg)]
    pub backfill: Duration,
    /// Stop after this long (0s runs until interrupted).
    #[arg(long, default_value = "0s", value_parser = duration_arg)]
    pub duration: Duration,
    /// Calm time before the first incident and between incidents.
    #[arg(long, default_value = "5m", value_parser = duration_arg)]
    pub calm: Duration,
    /// How long each incident lasts (default: long enough for its alerts
    /// to fire: failure-spike 10m, slow-provisioning 30m, crash-loop 15m,
    /// disk-pressure 25m).
    #[arg(long, value_parser = duration_arg)]
    pub incident_length: Option<Duration>,
    /// Incidents in the order they happen, comma-separated: failure-spike,
    /// slow-provisioning, crash-loop, disk-pressure (or "none").
    #[arg(
        long,
        default_value = "failure-spike,slow-provisioning,crash-loop,disk-pressure",
        value_parser = incidents_arg
    )]
    pub incidents: std::vec::Vec<Incident>,
    /// Recording rule files to evaluate over the history (through Cairn's
    /// query API, once a minute of history) so that panels built on them
    /// show the history too; repeat the flag for several files. Cairn
    /// records from then on itself when it runs the same files; it then
    /// needs `metrics.out_of_order_window` of an hour (as in
    /// deploy/cairn-laptop.yaml) to take the older recorded samples.
    #[arg(long = "record-rules", value_name = "FILE")]
    pub record_rules: Vec<std::path::PathBuf>,
    /// Seed of the random workload (same seed, same scenario).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// No progress lines.
    #[arg(long)]
    pub quiet: bool,
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default()
}

/// What has been written so far.
#[derive(Default)]
struct Progress {
    samples: u64,
    lines: u64,
    spans: u64,
    requests: u64,
    errors: u64,
    last_error: Option<String>,
}

struct Runner {
    world: World,
    target: Target,
    progress: Progress,
}

impl Runner {
    /// Simulates the interval ending at `t_ms` and writes all three signals.
    async fn step(&mut self, t_ms: i64, dt: Duration, incident: Option<Incident>) {
        let dt = dt.as_secs_f64();
        let out = self.world.step(t_ms, dt, incident);
        let points = self.world.scrape();
        let pod = "wp-k8s-service";
        let (m, l, s) = tokio::join!(
            self.target.remote_write(&points, t_ms),
            self.target.loki_push(&out.logs),
            self.target.otlp_traces(&out.spans, pod),
        );
        self.progress.samples += points.len() as u64;
        self.progress.lines += out.logs.len() as u64;
        self.progress.spans += out.spans.len() as u64;
        // Empty log and span batches are not sent.
        self.progress.requests +=
            1 + u64::from(!out.logs.is_empty()) + u64::from(!out.spans.is_empty());
        for r in [m, l, s] {
            if let Err(e) = r {
                self.progress.errors += 1;
                self.progress.last_error = Some(e.short());
            }
        }
    }
}

/// The newest demo sample (of `wp_clones_active`, which every scrape
/// writes) in the `window` before `now_ms`, if any.
async fn newest_demo_sample_ms(
    target: &Target,
    window: Duration,
    now_ms: i64,
) -> Result<Option<i64>, send::SendError> {
    let query = format!(
        "max(max_over_time(timestamp(wp_clones_active)[{}s:15s]))",
        window.as_secs().max(15)
    );
    let answer = target.instant_query(&query, now_ms).await?;
    Ok(answer["data"]["result"][0]["value"][1]
        .as_str()
        .and_then(|v| v.parse::<f64>().ok())
        .map(|secs| (secs * 1000.0) as i64))
}

/// Waits for Cairn's `/ready`.
async fn wait_ready(target: &Target, patience: Duration) -> Result<(), String> {
    let deadline = Instant::now() + patience;
    let url = format!("{}/ready", target.base);
    loop {
        match target.client.get(&url).send().await {
            Ok(r) if r.status().is_success() => return Ok(()),
            Ok(r) if Instant::now() > deadline => {
                return Err(format!("{url} answered {}", r.status()))
            }
            Err(e) if Instant::now() > deadline => return Err(format!("{url}: {e}")),
            _ => tokio::time::sleep(Duration::from_millis(500)).await,
        }
    }
}

fn phase_text(schedule: &Schedule, elapsed: Duration) -> String {
    let p = schedule.phase_at(elapsed);
    let left = format_duration(Duration::from_secs(p.left.as_secs()));
    match p.incident {
        Some(i) => format!("INCIDENT {i} ({left} left)"),
        None if p.left == Duration::MAX => "calm".to_string(),
        None => {
            let next = schedule.phase_at(elapsed + p.left).incident;
            match next {
                Some(i) => format!("calm ({i} in {left})"),
                None => "calm".to_string(),
            }
        }
    }
}

/// Runs the demo; returns the process exit code.
pub fn run(args: DemoArgs) -> i32 {
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return 1;
        }
    };
    rt.block_on(run_async(args))
}

async fn run_async(args: DemoArgs) -> i32 {
    if args.interval < Duration::from_millis(100) {
        eprintln!("error: --interval must be at least 100ms");
        return 2;
    }
    let client = match reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
    {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: HTTP client: {e}");
            return 1;
        }
    };
    let base = args.url.trim_end_matches('/').to_string();
    let target = Target {
        client,
        otlp: args
            .otlp_url
            .as_deref()
            .unwrap_or(&base)
            .trim_end_matches('/')
            .to_string(),
        base,
        tenant: args.tenant.clone(),
    };
    if let Err(e) = wait_ready(&target, Duration::from_secs(60)).await {
        eprintln!("error: Cairn is not ready: {e}");
        return 1;
    }
    let rules = match record::load(&args.record_rules) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: --record-rules: {e}");
            return 2;
        }
    };
    let schedule = Schedule {
        calm: args.calm,
        length: args.incident_length,
        incidents: args.incidents.clone(),
    };
    let mut runner = Runner {
        world: World::new(args.seed),
        target,
        progress: Progress::default(),
    };
    let say = |msg: &str| {
        if !args.quiet {
            eprintln!("{msg}");
            let _ = std::io::stderr().flush();
        }
    };
    say(&format!(
        "cairn demo → {} (tenant {}): one scrape every {}, incidents {}",
        args.url,
        args.tenant.as_deref().unwrap_or("default"),
        format_duration(args.interval),
        if schedule.incidents.is_empty() {
            "none".to_string()
        } else {
            schedule
                .incidents
                .iter()
                .map(|i| i.name())
                .collect::<Vec<_>>()
                .join(", ")
        }
    ));

    // History first, as fast as Cairn takes it, following the script from
    // the start of the history (so its first incidents are already on the
    // dashboards), at a scrape every 15 s at least (a short live interval
    // would make an hour of history needlessly many writes).
    let start_ms = now_ms();
    let script_origin_ms = start_ms - args.backfill.as_millis() as i64;
    let script_time = |t_ms: i64| Duration::from_millis((t_ms - script_origin_ms).max(0) as u64);
    if !args.backfill.is_zero() {
        let step = args.interval.max(Duration::from_secs(15));
        let step_ms = step.as_millis() as i64;
        let started = Instant::now();
        let mut t = script_origin_ms;
        // An earlier demo run's data in the window: write history only
        // after it. Writing over it would interleave two runs' counters (or,
        // without an out-of-order window, be refused).
        match newest_demo_sample_ms(&runner.target, args.backfill, start_ms).await {
            Ok(Some(newest)) if newest >= t => {
                t = newest + step_ms;
                say(&format!(
                    "the tenant already holds demo data until {} ago: history starts after it",
                    format_duration(Duration::from_secs(
                        ((start_ms - newest).max(0) / 1000) as u64
                    ))
                ));
            }
            Ok(_) => {}
            Err(e) => {
                eprintln!(
                    "error: cannot ask Cairn for earlier demo data: {}",
                    e.short()
                );
                return 1;
            }
        }
        let history_from = t;
        let mut recorder = record::Recorder::default();
        let mut recorded = record::RecordOutcome::default();
        let mut record_error: Option<String> = None;
        let mut next_record = t;
        while t < start_ms {
            let incident = schedule.phase_at(script_time(t)).incident;
            runner.step(t, step, incident).await;
            if !rules.is_empty() && t >= next_record && record_error.is_none() {
                next_record = t + 60_000;
                match recorder.record_at(&runner.target, &rules, t).await {
                    Ok(o) => {
                        recorded.samples += o.samples;
                        recorded.requests += o.requests;
                        recorded.already_recorded += o.already_recorded;
                    }
                    Err(e) => record_error = Some(e.short()),
                }
            }
            t += step_ms;
        }
        if let Some(e) = record_error {
            eprintln!("error: recording the rules over the history failed: {e}");
            return 1;
        }
        if !rules.is_empty() {
            say(&format!(
                "recorded {} samples of {} recording rules over the history{}",
                recorded.samples,
                rules.len(),
                if recorded.already_recorded > 0 {
                    format!(
                        " ({} writes of the last minutes partly refused: Cairn had recorded them already)",
                        recorded.already_recorded
                    )
                } else {
                    String::new()
                }
            ));
        }
        say(&format!(
            "backfilled {} of history in {:.1}s: {} samples, {} log lines, {} spans",
            format_duration(Duration::from_secs(
                ((start_ms - history_from).max(0) / 1000) as u64
            )),
            started.elapsed().as_secs_f64(),
            runner.progress.samples,
            runner.progress.lines,
            runner.progress.spans,
        ));
        if runner.progress.errors > 0 {
            // Lost history is not a detail to scroll past: stop here.
            eprintln!(
                "error: {} of {} history writes failed (last: {}).{}",
                runner.progress.errors,
                runner.progress.requests,
                runner.progress.last_error.as_deref().unwrap_or(""),
                if args.backfill > Duration::from_secs(3600) {
                    " A tenant with fresh data (the default tenant holds Cairn's own \
                     metrics) takes new series only up to an hour behind its newest \
                     sample: use --backfill 55m or less, or a --tenant of its own."
                } else {
                    ""
                }
            );
            return 1;
        }
    }

    let live = Instant::now();
    let mut ticker = tokio::time::interval(args.interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_report = Instant::now();
    let mut last_counts = (
        runner.progress.samples,
        runner.progress.lines,
        runner.progress.spans,
    );
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            _ = &mut ctrl_c => break,
        }
        if !args.duration.is_zero() && live.elapsed() >= args.duration {
            break;
        }
        let t = now_ms();
        let elapsed = script_time(t);
        let incident = schedule.phase_at(elapsed).incident;
        runner.step(t, args.interval, incident).await;
        let since = last_report.elapsed();
        if since >= Duration::from_secs(5).max(args.interval) {
            let p = &runner.progress;
            let per_s = |now: u64, before: u64| (now - before) as f64 / since.as_secs_f64();
            say(&format!(
                "[{}] {} | samples {:.0}/s ({} total) | log lines {:.1}/s ({}) | spans {:.1}/s ({}) | clones {} active, {} ready, {} failed | nodes {} | write errors {}{}",
                format_duration(Duration::from_secs(live.elapsed().as_secs())),
                phase_text(&schedule, elapsed),
                per_s(p.samples, last_counts.0),
                p.samples,
                per_s(p.lines, last_counts.1),
                p.lines,
                per_s(p.spans, last_counts.2),
                p.spans,
                runner.world.active_clones(),
                runner.world.totals.clones_ok,
                runner.world.totals.clones_failed,
                runner.world.node_count(),
                p.errors,
                p.last_error.as_deref().map(|e| format!(" (last: {e})")).unwrap_or_default(),
            ));
            last_report = Instant::now();
            last_counts = (p.samples, p.lines, p.spans);
        }
    }
    let p = &runner.progress;
    say(&format!(
        "demo finished: {} samples, {} log lines, {} spans in {} requests; {} clones ready, {} failed; {} write errors",
        p.samples,
        p.lines,
        p.spans,
        p.requests,
        runner.world.totals.clones_ok,
        runner.world.totals.clones_failed,
        p.errors
    ));
    if p.errors > 0 && p.errors == p.requests {
        // Nothing at all got through.
        return 1;
    }
    0
}
