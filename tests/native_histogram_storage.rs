//! Native histograms through every stage of the TSDB: accepted in order,
//! refused out of order or conflicting, queryable from the head at once,
//! replayed from the WAL (and from a checkpoint) after a restart, sealed
//! into blocks and compacted, and mixed with float samples in one series.

use std::sync::Arc;

use cairn::config::Config;
use cairn::metrics::{Db, IncomingSeries, MetricsStore};
use cairn::model::histogram::{CounterResetHint, FloatHistogram, HistogramSample, Span};
use cairn::model::{Labels, MatchOp, Matcher, Sample, TenantId};
use cairn::promql::source::SampleSource;
use cairn::storage::clock::ManualClock;

const HOUR: i64 = 3_600_000;

fn hist(i: i64) -> FloatHistogram {
    let f = i as f64;
    FloatHistogram {
        counter_reset_hint: if i == 0 {
            CounterResetHint::CounterReset
        } else {
            CounterResetHint::NotCounterReset
        },
        schema: 3,
        zero_threshold: 1e-128,
        zero_count: f,
        count: 6.0 * f,
        sum: 0.25 * f,
        positive_spans: vec![
            Span {
                offset: 2,
                length: 2,
            },
            Span {
                offset: 3,
                length: 1,
            },
        ],
        positive_buckets: vec![f, 2.0 * f, f],
        negative_spans: vec![Span {
            offset: -1,
            length: 1,
        }],
        negative_buckets: vec![f],
        custom_values: vec![],
    }
}

fn labels() -> Labels {
    Labels::from_pairs([("__name__", "rpc_duration_seconds"), ("job", "api")])
}

fn write(db: &Db, from: i64, to: i64) {
    let hs: Vec<HistogramSample> = (from..to)
        .map(|i| HistogramSample {
            t: i * 15_000,
            h: Box::new(hist(i)),
        })
        .collect();
    for part in hs.chunks(200) {
        let s = IncomingSeries {
            labels: labels().into(),
            histograms: part.to_vec(),
            ..Default::default()
        };
        let out = db.write(&[s], &[]).expect("write");
        assert!(out.errors.is_empty(), "{:?}", out.errors);
        assert_eq!(out.histograms_written, part.len() as u64);
    }
}

fn all() -> Vec<Matcher> {
    vec![Matcher::new(MatchOp::Equal, "__name__", "rpc_duration_seconds").unwrap()]
}

fn check(db: &Db, from: i64, to: i64) {
    let got = db.select(&all(), 0, 100 * HOUR).unwrap();
    assert_eq!(got.len(), 1);
    let hs = &got[0].histograms;
    assert_eq!(hs.len() as i64, to - from);
    for (k, s) in hs.iter().enumerate() {
        let i = from + k as i64;
        assert_eq!(s.t, i * 15_000);
        assert_eq!(*s.h, hist(i), "sample {i}");
    }
}

fn config(dir: &std::path::Path) -> Arc<Config> {
    let mut cfg = Config::default();
    cfg.storage.data_dir = dir.to_path_buf();
    Arc::new(cfg)
}

#[test]
fn histograms_survive_head_wal_checkpoint_blocks_and_compaction() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(12 * HOUR);
    {
        let store = MetricsStore::new(config(dir.path()), clock.clone(), None);
        let db = store.tenant(&TenantId::default_tenant()).unwrap();
        write(&db, 0, 240 * 3); // 3 hours
        check(&db, 0, 720);
        db.close().unwrap();
    }
    // Restart: the WAL replays every histogram.
    {
        let store = MetricsStore::new(config(dir.path()), clock.clone(), None);
        let db = store.tenant(&TenantId::default_tenant()).unwrap();
        check(&db, 0, 720);
        // More data, then seal: the first hours go to blocks (with a
        // checkpoint of the rest), queries see blocks + head seamlessly.
        write(&db, 720, 240 * 9);
        let report = db.maintain().unwrap();
        assert!(report.blocks_sealed >= 3, "{report:?}");
        assert!(!db.blocks().is_empty());
        check(&db, 0, 240 * 9);
        db.close().unwrap();
    }
    {
        let store = MetricsStore::new(config(dir.path()), clock, None);
        let db = store.tenant(&TenantId::default_tenant()).unwrap();
        check(&db, 0, 240 * 9);
    }
}

#[test]
fn histograms_are_in_order_only_and_conflicts_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open("t", dir.path(), Default::default(), ManualClock::new(HOUR)).unwrap();
    write(&db, 10, 20);
    let one = |t: i64, i: i64| IncomingSeries {
        labels: labels().into(),
        histograms: vec![HistogramSample {
            t,
            h: Box::new(hist(i)),
        }],
        ..Default::default()
    };
    // The same histogram again at the newest timestamp: a duplicate, acknowledged.
    let out = db.write(&[one(19 * 15_000, 19)], &[]).unwrap();
    assert!(out.errors.is_empty(), "{:?}", out.errors);
    // A different one there: refused, naming the series.
    let out = db.write(&[one(19 * 15_000, 3)], &[]).unwrap();
    assert_eq!(out.rejected_samples, 1);
    assert!(
        out.errors[0].contains("duplicate sample for timestamp")
            && out.errors[0].contains("rpc_duration_seconds"),
        "{:?}",
        out.errors
    );
    // Older than the newest: out of order.
    let out = db.write(&[one(5 * 15_000, 5)], &[]).unwrap();
    assert!(out.errors[0].contains("out of order"), "{:?}", out.errors);
    // A float at the newest histogram's timestamp conflicts too.
    let f = IncomingSeries {
        labels: labels().into(),
        samples: vec![Sample::new(19 * 15_000, 1.0)],
        ..Default::default()
    };
    let out = db.write(&[f], &[]).unwrap();
    assert_eq!(out.rejected_samples, 1, "{:?}", out.errors);
    check(&db, 10, 20);
}

#[test]
fn a_series_can_switch_between_floats_and_histograms() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open("t", dir.path(), Default::default(), ManualClock::new(HOUR)).unwrap();
    let floats = |from: i64, to: i64| IncomingSeries {
        labels: labels().into(),
        samples: (from..to)
            .map(|i| Sample::new(i * 15_000, i as f64))
            .collect(),
        ..Default::default()
    };
    db.write(&[floats(0, 10)], &[]).unwrap();
    write(&db, 10, 20);
    db.write(&[floats(20, 30)], &[]).unwrap();
    let got = db.select(&all(), 0, HOUR).unwrap();
    assert_eq!(got.len(), 1);
    let ft: Vec<i64> = got[0].samples.iter().map(|s| s.t / 15_000).collect();
    let ht: Vec<i64> = got[0].histograms.iter().map(|s| s.t / 15_000).collect();
    assert_eq!(ft, (0..10).chain(20..30).collect::<Vec<_>>());
    assert_eq!(ht, (10..20).collect::<Vec<_>>());
}
