//! The TSDB's streamed select (`select_batched`): series come sorted by
//! labels in batches, across head and blocks, and a seal that moves head
//! data into a new block while a query is between batches loses nothing.

use cairn::metrics::{Db, IncomingSeries};
use cairn::model::{Labels, MatchOp, Matcher, Sample};
use cairn::promql::source::SampleSource;
use cairn::storage::clock::ManualClock;

const HOUR: i64 = 3_600_000;

/// `n` series of `hours` at 15 s, written time slice by time slice.
fn write(db: &Db, n: usize, hours: i64) {
    let samples: Vec<Sample> = (0..hours * 240)
        .map(|k| Sample::new(k * 15_000, k as f64))
        .collect();
    for part in samples.chunks(120) {
        let batch: Vec<IncomingSeries> = (0..n)
            .map(|i| IncomingSeries {
                labels: Labels::from_pairs([
                    ("__name__".to_string(), "m".to_string()),
                    ("i".to_string(), format!("{i:03}")),
                ])
                .into(),
                samples: part.to_vec(),
                ..Default::default()
            })
            .collect();
        let out = db.write(&batch, &[]).expect("write");
        assert!(out.errors.is_empty(), "{:?}", out.errors);
    }
}

fn matchers() -> Vec<Matcher> {
    vec![Matcher::new(MatchOp::Equal, "__name__", "m").unwrap()]
}

#[test]
fn batches_are_sorted_and_complete_across_head_and_blocks() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(
        "t",
        dir.path(),
        Default::default(),
        ManualClock::new(9 * HOUR),
    )
    .unwrap();
    write(&db, 25, 8);
    db.maintain().unwrap();
    assert!(!db.blocks().is_empty(), "some data sealed into blocks");
    let mut seen: Vec<(String, usize)> = Vec::new();
    let mut batches = 0;
    db.select_batched(&matchers(), 0, 9 * HOUR, 10, &mut |b| {
        assert!(b.len() <= 10);
        batches += 1;
        seen.extend(
            b.into_iter()
                .map(|s| (s.labels.get("i").unwrap().to_string(), s.samples.len())),
        );
        true
    })
    .unwrap();
    assert_eq!(batches, 3);
    let names: Vec<&str> = seen.iter().map(|s| s.0.as_str()).collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted);
    assert!(seen.iter().all(|s| s.1 == 8 * 240), "{seen:?}");
}

#[test]
fn a_seal_between_batches_loses_no_samples() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(
        "t",
        dir.path(),
        Default::default(),
        ManualClock::new(5 * HOUR),
    )
    .unwrap();
    // 4h in the head, nothing sealed yet.
    write(&db, 6, 4);
    assert!(db.blocks().is_empty());
    let mut seen = Vec::new();
    let mut sealed = false;
    db.select_batched(&matchers(), 0, 5 * HOUR, 1, &mut |b| {
        seen.extend(b.into_iter().map(|s| s.samples.len()));
        if !sealed {
            // The first series is read; now the head cuts [0, 2h) into a
            // block and lets go of it before the rest is read.
            let report = db.maintain().expect("maintain");
            assert!(report.blocks_sealed >= 1);
            sealed = true;
        }
        true
    })
    .unwrap();
    assert!(!db.blocks().is_empty());
    assert_eq!(seen, vec![4 * 240; 6], "every series complete");
}
