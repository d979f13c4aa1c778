//! The notifier's view of the configuration: where alerts go (each
//! Alertmanager's `…/api/v2/alerts` URL), how requests authenticate (basic
//! or bearer, secrets read from files when the config says so), the
//! timeout, the external labels and the queue and batch sizes. Built on
//! start and on every reload; problems are kept and reported at send time.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::config::{AlertmanagerConfig, RulesConfig};

/// Used when the config asks for batches of 0 alerts (Prometheus' default).
pub(super) const DEFAULT_MAX_BATCH: usize = 256;

/// One Alertmanager.
pub(super) struct Target {
    /// `<base>/api/v2/alerts`; also the `alertmanager` label of the metrics.
    pub url: String,
    /// Why this Alertmanager cannot be reached (https without a TLS
    /// backend, a malformed URL); sends to it fail and are counted.
    pub unusable: Option<String>,
    /// Whether `unusable` was logged already (once per configuration).
    pub logged: AtomicBool,
}

/// How requests authenticate.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum Auth {
    None,
    Basic {
        username: String,
        password: String,
    },
    Bearer(String),
    /// The configured secret could not be read, or the config is
    /// contradictory: every send fails with this message.
    Broken(String),
}

pub(super) struct Settings {
    pub targets: Vec<Target>,
    pub auth: Auth,
    /// Whether a broken `auth` was logged already.
    pub auth_logged: AtomicBool,
    pub timeout: Duration,
    pub external_labels: BTreeMap<String, String>,
    pub max_batch: usize,
    pub capacity: usize,
}

impl Settings {
    pub fn from_config(cfg: &RulesConfig) -> Settings {
        let am = &cfg.alertmanager;
        Settings {
            targets: am.urls.iter().map(|u| target(u)).collect(),
            auth: auth(am),
            auth_logged: AtomicBool::new(false),
            timeout: am.timeout.0,
            external_labels: cfg.external_labels.clone(),
            max_batch: if am.max_batch_size == 0 {
                DEFAULT_MAX_BATCH
            } else {
                am.max_batch_size
            },
            capacity: am.queue_capacity,
        }
    }

    /// True the first time it is called for a broken `auth`.
    pub fn first_auth_failure(&self) -> bool {
        !self.auth_logged.swap(true, Ordering::Relaxed)
    }
}

impl Target {
    /// True the first time it is called.
    pub fn first_failure(&self) -> bool {
        !self.logged.swap(true, Ordering::Relaxed)
    }
}

/// `base` + `/api/v2/alerts` (Prometheus joins the path prefix the same
/// way), and whether the URL can be used.
fn target(base: &str) -> Target {
    let trimmed = base.trim().trim_end_matches('/');
    let url = format!("{trimmed}/api/v2/alerts");
    let lower = trimmed.to_ascii_lowercase();
    let unusable = if lower.starts_with("https://") {
        Some(format!(
            "Alertmanager {trimmed}: https is not supported (this build has no TLS client); use http:// or a TLS-terminating proxy"
        ))
    } else if !lower.starts_with("http://") || trimmed.len() <= "http://".len() {
        Some(format!("Alertmanager URL {base:?} is not an http:// URL"))
    } else {
        None
    };
    Target {
        url,
        unusable,
        logged: AtomicBool::new(false),
    }
}

/// Reads a secret file the way Prometheus does (surrounding whitespace trimmed).
fn read_secret(path: &std::path::Path, what: &str) -> Result<String, String> {
    std::fs::read_to_string(path)
        .map(|s| s.trim().to_string())
        .map_err(|e| format!("cannot read {what} {}: {e}", path.display()))
}

fn auth(am: &AlertmanagerConfig) -> Auth {
    let bearer_set = am.bearer_token.is_some() || am.bearer_token_file.is_some();
    if am.basic_auth.is_some() && bearer_set {
        return Auth::Broken(
            "at most one of basic_auth, bearer_token and bearer_token_file may be configured"
                .into(),
        );
    }
    if am.bearer_token.is_some() && am.bearer_token_file.is_some() {
        return Auth::Broken(
            "at most one of bearer_token and bearer_token_file may be configured".into(),
        );
    }
    if let Some(b) = &am.basic_auth {
        if b.password.is_some() && b.password_file.is_some() {
            return Auth::Broken(
                "at most one of basic_auth password and password_file may be configured".into(),
            );
        }
        let password = match (&b.password, &b.password_file) {
            (Some(p), _) => p.clone(),
            (None, Some(f)) => match read_secret(f, "basic_auth password_file") {
                Ok(p) => p,
                Err(e) => return Auth::Broken(e),
            },
            (None, None) => String::new(),
        };
        return Auth::Basic {
            username: b.username.clone(),
            password,
        };
    }
    if let Some(t) = &am.bearer_token {
        return Auth::Bearer(t.clone());
    }
    if let Some(f) = &am.bearer_token_file {
        return match read_secret(f, "bearer_token_file") {
            Ok(t) => Auth::Bearer(t),
            Err(e) => Auth::Broken(e),
        };
    }
    Auth::None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::BasicAuth;

    fn rules_with(f: impl FnOnce(&mut AlertmanagerConfig)) -> RulesConfig {
        let mut c = RulesConfig::default();
        f(&mut c.alertmanager);
        c
    }

    #[test]
    fn urls_get_the_v2_path_and_https_is_flagged() {
        let s = Settings::from_config(&rules_with(|am| {
            am.urls = vec![
                "http://am:9093".into(),
                "http://am:9093/prefix/".into(),
                "https://secure:9093".into(),
                "am:9093".into(),
            ]
        }));
        let urls: Vec<&str> = s.targets.iter().map(|t| t.url.as_str()).collect();
        assert_eq!(
            urls,
            vec![
                "http://am:9093/api/v2/alerts",
                "http://am:9093/prefix/api/v2/alerts",
                "https://secure:9093/api/v2/alerts",
                "am:9093/api/v2/alerts",
            ]
        );
        let usable: Vec<bool> = s.targets.iter().map(|t| t.unusable.is_none()).collect();
        assert_eq!(usable, vec![true, true, false, false]);
        assert!(s.targets[2].first_failure());
        assert!(!s.targets[2].first_failure());
    }

    #[test]
    fn auth_from_values_and_files() {
        let dir = tempfile::tempdir().unwrap();
        let pw = dir.path().join("pw");
        std::fs::write(&pw, "s3cret\n").unwrap();
        let tok = dir.path().join("tok");
        std::fs::write(&tok, "  abc.def \n").unwrap();

        let s = Settings::from_config(&rules_with(|am| {
            am.basic_auth = Some(BasicAuth {
                username: "u".into(),
                password: None,
                password_file: Some(pw.clone()),
            })
        }));
        assert_eq!(
            s.auth,
            Auth::Basic {
                username: "u".into(),
                password: "s3cret".into()
            }
        );
        let s = Settings::from_config(&rules_with(|am| am.bearer_token_file = Some(tok.clone())));
        assert_eq!(s.auth, Auth::Bearer("abc.def".into()));
        let s = Settings::from_config(&rules_with(|am| am.bearer_token = Some("t".into())));
        assert_eq!(s.auth, Auth::Bearer("t".into()));
        let s = Settings::from_config(&rules_with(|am| {
            am.bearer_token_file = Some(dir.path().join("missing"))
        }));
        match &s.auth {
            Auth::Broken(m) => assert!(m.starts_with("cannot read bearer_token_file "), "{m}"),
            other => panic!("expected a broken auth, got {other:?}"),
        }
        let s = Settings::from_config(&rules_with(|am| {
            am.bearer_token = Some("t".into());
            am.basic_auth = Some(BasicAuth::default());
        }));
        assert!(matches!(s.auth, Auth::Broken(_)));
        assert_eq!(
            Settings::from_config(&RulesConfig::default()).auth,
            Auth::None
        );
    }

    #[test]
    fn zero_batch_size_means_the_default() {
        let s = Settings::from_config(&rules_with(|am| am.max_batch_size = 0));
        assert_eq!(s.max_batch, DEFAULT_MAX_BATCH);
        let s = Settings::from_config(&rules_with(|am| am.max_batch_size = 7));
        assert_eq!(s.max_batch, 7);
    }
}
