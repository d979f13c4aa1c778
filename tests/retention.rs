//! Retention and the disk cap, driven by an injectable clock: blocks past
//! retention are deleted whole; over the cap the oldest blocks go first.

use std::sync::Arc;

use cairn::config::Config;
use cairn::metrics::{Db, IncomingSeries, MetricsStore};
use cairn::model::{Labels, MatchOp, Matcher, Sample, TenantId};
use cairn::promql::source::SampleSource;
use cairn::storage::clock::ManualClock;
use cairn::units::{ByteSize, PromDuration};

const HOUR: i64 = 3_600_000;

fn write_hours(db: &Db, name: &str, from_h: i64, to_h: i64) {
    let labels = Labels::from_pairs([("__name__", name), ("job", "retention")]);
    let samples: Vec<Sample> = (from_h * 240..to_h * 240)
        .map(|i| Sample::new(i * 15_000, i as f64))
        .collect();
    for chunk in samples.chunks(500) {
        let s = IncomingSeries {
            labels: labels.clone().into(),
            samples: chunk.to_vec(),
            ..Default::default()
        };
        let out = db.write(&[s], &[]).expect("write");
        assert!(out.errors.is_empty(), "{:?}", out.errors);
    }
}

fn all() -> Vec<Matcher> {
    vec![Matcher::new(MatchOp::NotEqual, "__name__", "").unwrap()]
}

fn config(dir: &std::path::Path, retention_h: u64) -> Arc<Config> {
    let mut cfg = Config::default();
    cfg.storage.data_dir = dir.to_path_buf();
    cfg.retention.metrics = PromDuration::from_secs(retention_h * 3600);
    Arc::new(cfg)
}

#[test]
fn blocks_past_retention_are_deleted_whole() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(10 * HOUR); // "now" is the end of the written data
    let store = MetricsStore::new(config(dir.path(), 24), clock.clone(), None);
    let db = store.tenant(&TenantId::default_tenant()).unwrap();
    write_hours(&db, "m", 0, 10);
    let report = db.maintain().unwrap();
    assert_eq!(
        report.blocks_sealed, 4,
        "head spanning 10h seals [0,2h) .. [6h,8h)"
    );
    assert_eq!(report.blocks_deleted, 0);
    let metas: Vec<(i64, i64)> = db
        .blocks()
        .iter()
        .map(|b| (b.meta.min_t, b.meta.max_t))
        .collect();
    assert_eq!(
        metas,
        vec![(0, 6 * HOUR), (6 * HOUR, 8 * HOUR)],
        "the first three 2h blocks compacted into one 6h block"
    );

    // Nothing is old enough yet.
    clock.set(10 * HOUR);
    assert_eq!(db.apply_retention().unwrap(), 0);

    // Now the 6h block ends more than 24h ago, the [6h,8h) block does not.
    clock.set(31 * HOUR);
    assert_eq!(db.apply_retention().unwrap(), 1);
    let got = db.select(&all(), 0, 11 * HOUR).unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(
        got[0].samples.first().map(|s| s.t),
        Some(6 * HOUR),
        "data before 6h is gone, the rest stays"
    );
    assert_eq!(got[0].samples.last().map(|s| s.t), Some(10 * HOUR - 15_000));
    let remaining: Vec<_> = std::fs::read_dir(dir.path().join("metrics/fake/blocks"))
        .unwrap()
        .collect();
    assert_eq!(
        remaining.len(),
        1,
        "the expired block's directory was removed"
    );
}

#[test]
fn disk_cap_deletes_oldest_blocks_first() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(10 * HOUR); // "now" is the end of the written data
    let store = MetricsStore::new(config(dir.path(), 24 * 365), clock.clone(), None);
    let a = store.tenant(&TenantId::parse("a").unwrap()).unwrap();
    let b = store.tenant(&TenantId::parse("b").unwrap()).unwrap();
    write_hours(&a, "m", 0, 6); // blocks [0,2h) [2h,4h)
    write_hours(&b, "m", 2, 9); // blocks [2h,4h) [4h,6h)
                                // Seal without compaction, so several small blocks exist.
    a.seal(2 * HOUR).unwrap();
    a.seal(4 * HOUR).unwrap();
    b.seal(4 * HOUR).unwrap();
    b.seal(6 * HOUR).unwrap();
    let sizes: Vec<u64> = store
        .all()
        .iter()
        .flat_map(|d| d.blocks())
        .map(|b| b.size_bytes())
        .collect();
    assert_eq!(sizes.len(), 4);
    let total: u64 = store.all().iter().map(|d| d.disk_bytes()).sum();
    // A cap that forces exactly the two oldest blocks (max_t 2h, then 4h) out.
    let smallest = *sizes.iter().min().unwrap();
    let cap = total - smallest - 1;
    let deleted = store.enforce_disk_cap(cap).unwrap();
    assert!(deleted >= 1);
    let left_a: Vec<i64> = a.blocks().iter().map(|x| x.meta.max_t).collect();
    assert!(
        !left_a.contains(&(2 * HOUR)),
        "the oldest block (tenant a, [0,2h)) went first: {left_a:?}"
    );
    let left_b: Vec<i64> = b.blocks().iter().map(|x| x.meta.max_t).collect();
    assert!(
        left_b.contains(&(6 * HOUR)),
        "the newest block stays: {left_b:?}"
    );
    let total_after: u64 = store.all().iter().map(|d| d.disk_bytes()).sum();
    assert!(total_after <= cap, "{total_after} > {cap}");
    // Cap 0 means no cap.
    assert_eq!(store.enforce_disk_cap(0).unwrap(), 0);
    let _ = ByteSize(0);
}

#[test]
fn reopen_replays_wal_and_keeps_blocks() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(10 * HOUR); // "now" is the end of the written data
    {
        let store = MetricsStore::new(config(dir.path(), 24 * 365), clock.clone(), None);
        let db = store.tenant(&TenantId::default_tenant()).unwrap();
        write_hours(&db, "m", 0, 5);
        db.maintain().unwrap(); // seals [0,2h), checkpoints the WAL
        write_hours(&db, "m", 5, 6);
        store.close();
    }
    let store = MetricsStore::new(config(dir.path(), 24 * 365), clock, None);
    assert_eq!(store.open_existing().unwrap(), 1);
    let db = store.tenant(&TenantId::default_tenant()).unwrap();
    let got = db.select(&all(), 0, 7 * HOUR).unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(
        got[0].samples.len(),
        6 * 240,
        "every sample, from the block, the checkpoint and the WAL"
    );
    assert!(got[0].samples.windows(2).all(|w| w[0].t < w[1].t));
}

#[test]
fn spilled_head_chunks_are_queried_sealed_and_checkpointed() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(10 * HOUR);
    let store = MetricsStore::new(config(dir.path(), 24 * 365), clock.clone(), None);
    let db = store.tenant(&TenantId::default_tenant()).unwrap();
    write_hours(&db, "m", 0, 2);
    let before = db.head().memory_bytes();
    db.maintain().unwrap(); // nothing to seal yet, but closed chunks spill
    let after = db.head().memory_bytes();
    assert!(
        after < before,
        "closed chunks left memory: {before} -> {after}"
    );
    let spilled: u64 = dir
        .path()
        .join("metrics/fake/head_chunks")
        .read_dir()
        .unwrap()
        .map(|e| e.unwrap().metadata().unwrap().len())
        .sum();
    assert!(
        spilled > 0 && spilled as usize + 200 >= before - after,
        "the chunk bytes went to the spill file ({spilled})"
    );
    let got = db.select(&all(), 0, 11 * HOUR).unwrap();
    assert_eq!(got[0].samples.len(), 2 * 240, "spilled chunks read back");
    // Seal from spilled chunks, checkpoint, reopen.
    write_hours(&db, "m", 2, 5);
    db.maintain().unwrap();
    assert_eq!(db.blocks().len(), 1);
    let got = db.select(&all(), 0, 11 * HOUR).unwrap();
    assert_eq!(got[0].samples.len(), 5 * 240);
    store.close();
    drop(db);
    let store = MetricsStore::new(config(dir.path(), 24 * 365), clock, None);
    store.open_existing().unwrap();
    let db = store.tenant(&TenantId::default_tenant()).unwrap();
    let got = db.select(&all(), 0, 11 * HOUR).unwrap();
    assert_eq!(
        got[0].samples.len(),
        5 * 240,
        "block + checkpoint written from spilled chunks"
    );
    assert!(got[0].samples.windows(2).all(|w| w[0].t < w[1].t));
}
