//! Sealing, WAL checkpoints and series garbage collection running while
//! writers stream new and old series: after a restart every acknowledged
//! sample is still there.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use cairn::config::Config;
use cairn::metrics::{IncomingSeries, MetricsStore};
use cairn::model::{Labels, MatchOp, Matcher, Sample, TenantId};
use cairn::promql::source::SampleSource;
use cairn::storage::clock::ManualClock;
use cairn::units::PromDuration;

const MIN: i64 = 60_000;

#[test]
fn acknowledged_samples_survive_concurrent_sealing_and_restart() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = Config::default();
    cfg.storage.data_dir = dir.path().to_path_buf();
    cfg.metrics.block_duration = PromDuration::from_secs(600); // 10 minute blocks: many seals
    cfg.limits.creation_grace_period = PromDuration::from_secs(100 * 24 * 3600);
    let cfg = Arc::new(cfg);
    let clock = ManualClock::new(0);
    let acked: Arc<Mutex<Vec<(String, i64)>>> = Arc::default();
    {
        let store = Arc::new(MetricsStore::new(cfg.clone(), clock.clone(), None));
        let db = store.tenant(&TenantId::default_tenant()).unwrap();
        let done = Arc::new(AtomicBool::new(false));
        let sealer = {
            let db = db.clone();
            let done = done.clone();
            std::thread::spawn(move || {
                let mut n = 0;
                while !done.load(Ordering::SeqCst) {
                    db.maintain().expect("maintain");
                    n += 1;
                }
                n
            })
        };
        // Each writer owns a set of series; every minute of sample time one
        // long-lived series gets a sample and a short-lived one is born, so
        // the head keeps sealing and dropping emptied series.
        let writers: Vec<_> = (0..4)
            .map(|w| {
                let db = db.clone();
                let acked = acked.clone();
                std::thread::spawn(move || {
                    for minute in 0..600i64 {
                        let t = minute * MIN + w;
                        let names = [format!("long_{w}"), format!("short_{w}_{minute}")];
                        let batch: Vec<IncomingSeries> = names
                            .iter()
                            .map(|n| IncomingSeries {
                                labels: Labels::from_pairs([("__name__", n.as_str())]).into(),
                                samples: vec![Sample::new(t, minute as f64)],
                                ..Default::default()
                            })
                            .collect();
                        let out = db.write(&batch, &[]).expect("write");
                        // A writer that falls more than half a block behind the
                        // others is out of bounds, as in Prometheus; those
                        // samples were refused, not acknowledged.
                        assert!(
                            out.errors.iter().all(|e| e.contains("out of bounds")),
                            "{:?}",
                            out.errors
                        );
                        if out.errors.is_empty() {
                            let mut a = acked.lock().unwrap();
                            for n in names {
                                a.push((n, t));
                            }
                        }
                    }
                })
            })
            .collect();
        for w in writers {
            w.join().unwrap();
        }
        done.store(true, Ordering::SeqCst);
        let seals = sealer.join().unwrap();
        assert!(seals > 0);
        assert!(!db.blocks().is_empty(), "blocks were sealed while writing");
        store.close();
    }
    let store = MetricsStore::new(cfg, clock, None);
    store.open_existing().unwrap();
    let db = store.tenant(&TenantId::default_tenant()).unwrap();
    let all = [Matcher::new(MatchOp::NotEqual, "__name__", "").unwrap()];
    let got = db.select(&all, i64::MIN / 4, i64::MAX / 4).unwrap();
    let have: std::collections::HashSet<(String, i64)> = got
        .iter()
        .flat_map(|s| {
            let name = s.labels.metric_name().unwrap_or("").to_string();
            s.samples.iter().map(move |x| (name.clone(), x.t))
        })
        .collect();
    let acked = acked.lock().unwrap();
    assert!(acked.len() > 1000, "{} acknowledged", acked.len());
    let missing: Vec<_> = acked.iter().filter(|a| !have.contains(a)).take(5).collect();
    assert!(
        missing.is_empty(),
        "acknowledged samples lost: {missing:?} (of {})",
        acked.len()
    );
}
