//! The log store on its own: push → head → seal → partition → index,
//! reads across all of them, WAL replay without loss or duplicates,
//! retention by an injected clock and the disk cap.

use std::ops::ControlFlow;
use std::sync::Arc;

use cairn::config::Config;
use cairn::logs::{LineFilterPushdown, LogSource, LogStore, SelectRequest, StoredEntry};
use cairn::model::{Label, Labels, MatchOp, Matcher, TenantId};
use cairn::storage::clock::ManualClock;

const T0_MS: i64 = 1_700_000_000_000;
const MS: i64 = 1_000_000;

struct Contains(&'static str);

impl LineFilterPushdown for Contains {
    fn matches(&self, line: &str) -> bool {
        line.contains(self.0)
    }
    fn required_substrings(&self) -> Vec<Vec<u8>> {
        vec![self.0.as_bytes().to_vec()]
    }
}

fn cfg(dir: &std::path::Path) -> Arc<Config> {
    let mut c = Config::default();
    c.storage.data_dir = dir.to_path_buf();
    c.logs.chunk_target_bytes = cairn::units::ByteSize(4096);
    Arc::new(c)
}

fn labels(pod: &str, ns: &str) -> Labels {
    Labels::from_pairs([("namespace", ns), ("pod", pod)])
}

fn entry(ts_ms: i64, line: String) -> StoredEntry {
    StoredEntry {
        ts_ns: ts_ms * MS,
        line: line.into(),
        metadata: Box::new([]),
    }
}

/// Pushes `n` lines per pod for two pods in each of two namespaces.
fn fill(store: &LogStore, t: &TenantId, from: usize, n: usize) {
    for i in from..from + n {
        let mut streams = Vec::new();
        for ns in ["wordpress-staging", "wordpress-production"] {
            for pod in ["wp-0", "wp-1"] {
                let word = if i % 50 == 7 { "needle" } else { "hay" };
                streams.push((
                    labels(pod, ns),
                    vec![entry(
                        T0_MS + i as i64,
                        format!("{{\"pod\":\"{pod}\",\"n\":{i},\"msg\":\"{word} {i}\"}}"),
                    )],
                ));
            }
        }
        store.push(t, streams).unwrap();
    }
}

fn ns_matcher(ns: &str) -> Vec<Matcher> {
    vec![Matcher::new(MatchOp::Equal, "namespace", ns).unwrap()]
}

/// (stream labels, lines) of a selection, streams sorted.
fn read(
    src: &dyn LogSource,
    matchers: &[Matcher],
    filter: Option<&dyn LineFilterPushdown>,
) -> Vec<(String, Vec<(i64, String)>)> {
    let mut out = Vec::new();
    src.select(
        &SelectRequest {
            matchers,
            start_ns: T0_MS * MS,
            end_ns: (T0_MS + 1_000_000) * MS,
            filter,
        },
        &mut |l, entries| {
            assert!(entries.windows(2).all(|w| w[0].ts_ns <= w[1].ts_ns));
            out.push((
                l.to_string(),
                entries
                    .iter()
                    .map(|e| (e.ts_ns / MS - T0_MS, e.line.to_string()))
                    .collect(),
            ));
            ControlFlow::Continue(())
        },
    )
    .unwrap();
    out.sort();
    out
}

fn needle_lines(v: &[(String, Vec<(i64, String)>)]) -> Vec<i64> {
    let mut out: Vec<i64> = v.iter().flat_map(|(_, e)| e.iter().map(|x| x.0)).collect();
    out.sort();
    out
}

#[test]
fn reads_see_head_partitions_and_index_alike_and_survive_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0_MS);
    let t = TenantId::default_tenant();
    let store = LogStore::new(cfg(dir.path()), clock.clone());
    fill(&store, &t, 0, 300);
    let src = store.source(&t);
    let staging = ns_matcher("wordpress-staging");
    let all_head = read(&*src, &staging, None);
    assert_eq!(all_head.len(), 2);
    assert_eq!(all_head[0].1.len(), 300);
    let needles_head = read(&*src, &staging, Some(&Contains("needle")));
    // i % 50 == 7 for i < 300: 6 lines per stream, two streams.
    assert_eq!(
        needle_lines(&needles_head),
        vec![7, 7, 57, 57, 107, 107, 157, 157, 207, 207, 257, 257]
    );

    // Seal: the same answers from the partition (several chunks per stream).
    let m = store.seal_and_index(true);
    assert_eq!(m.sealed, 1);
    assert_eq!(m.indexed, 1);
    fill(&store, &t, 300, 100); // new head on top
    let src = store.source(&t);
    let all = read(&*src, &staging, None);
    assert_eq!(all[0].1.len(), 400);
    assert_eq!(
        all[0].1[0],
        (
            0,
            "{\"pod\":\"wp-0\",\"n\":0,\"msg\":\"hay 0\"}".to_string()
        )
    );
    assert_eq!(all[0].1[399].0, 399);
    let needles = read(&*src, &staging, Some(&Contains("needle")));
    assert_eq!(
        needle_lines(&needles),
        vec![7, 7, 57, 57, 107, 107, 157, 157, 207, 207, 257, 257, 307, 307, 357, 357]
    );
    // A needle no chunk holds: nothing, and the index prunes every chunk.
    assert!(read(&*src, &staging, Some(&Contains("zebra"))).is_empty());

    // Metadata.
    let series = src
        .series(
            &ns_matcher("wordpress-production"),
            T0_MS * MS,
            (T0_MS + 500) * MS,
        )
        .unwrap();
    assert_eq!(series.len(), 2);
    let mut entries = 0;
    src.chunk_stats(&[], T0_MS * MS, (T0_MS + 1000) * MS, &mut |_, s| {
        entries += s.entries
    })
    .unwrap();
    assert_eq!(entries, 4 * 400);

    // Reopen: partition + WAL (the 100 unsealed lines), no duplicates.
    store.close();
    drop(src);
    drop(store);
    let store = LogStore::new(cfg(dir.path()), clock.clone());
    assert_eq!(store.open_existing().unwrap(), 1);
    let src = store.source(&t);
    let all = read(&*src, &staging, None);
    assert_eq!(all[0].1.len(), 400);
    assert_eq!(all[1].1.len(), 400);
    let needles = read(&*src, &staging, Some(&Contains("needle")));
    assert_eq!(needle_lines(&needles).len(), 16);
    store.close();
}

#[test]
fn replay_after_a_seal_does_not_duplicate_sealed_lines() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0_MS);
    let t = TenantId::parse("team-a").unwrap();
    {
        let store = LogStore::new(cfg(dir.path()), clock.clone());
        fill(&store, &t, 0, 50);
        store.seal_and_index(true);
        fill(&store, &t, 50, 50);
        store.close();
    }
    // Simulate a crash between publishing a partition and dropping the WAL
    // segments it covered: put the partition's records back in the WAL by
    // replaying from a copy taken before the seal is not possible here, so
    // check the invariant directly: every line exactly once after reopen.
    let store = LogStore::new(cfg(dir.path()), clock.clone());
    store.open_existing().unwrap();
    let all = read(&*store.source(&t), &ns_matcher("wordpress-staging"), None);
    let ts: Vec<i64> = all[0].1.iter().map(|e| e.0).collect();
    assert_eq!(ts, (0..100).collect::<Vec<i64>>());
    store.close();
}

#[test]
fn structured_metadata_round_trips_through_head_and_partition() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0_MS);
    let t = TenantId::default_tenant();
    let store = LogStore::new(cfg(dir.path()), clock);
    let md = vec![Label::new("trace_id", "4bf92f3577b34da6")].into_boxed_slice();
    store
        .push(
            &t,
            vec![(
                labels("wp-0", "wordpress-staging"),
                vec![StoredEntry {
                    ts_ns: T0_MS * MS,
                    line: "clone started".into(),
                    metadata: md.clone(),
                }],
            )],
        )
        .unwrap();
    for seal in [false, true] {
        if seal {
            store.seal_and_index(true);
        }
        let mut seen = Vec::new();
        store
            .source(&t)
            .select(
                &SelectRequest {
                    matchers: &ns_matcher("wordpress-staging"),
                    start_ns: T0_MS * MS,
                    end_ns: T0_MS * MS + 1,
                    filter: None,
                },
                &mut |_, e| {
                    seen.extend(e.iter().map(|e| (e.line.to_string(), e.metadata.to_vec())));
                    ControlFlow::Continue(())
                },
            )
            .unwrap();
        assert_eq!(
            seen,
            vec![("clone started".to_string(), md.to_vec())],
            "sealed: {seal}"
        );
    }
    store.close();
}

#[test]
fn retention_drops_whole_partitions_by_the_injected_clock() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0_MS);
    let t = TenantId::default_tenant();
    let store = LogStore::new(cfg(dir.path()), clock.clone());
    fill(&store, &t, 0, 10);
    store.seal_and_index(true);
    fill(&store, &t, 10, 10);
    clock.set(T0_MS + 2 * 86_400_000);
    store.seal_and_index(true);
    let parts: Vec<usize> = store.all().iter().map(|x| x.partition_count()).collect();
    assert_eq!(parts, vec![2]);
    // 7 days after the first lines: nothing expires yet (they are 7 d minus 1 ms old).
    clock.set(T0_MS + 7 * 86_400_000);
    assert_eq!(store.apply_retention(0).deleted, 0);
    // Past 7 days of the newest line of both partitions: both go.
    clock.set(T0_MS + 7 * 86_400_000 + 20);
    assert_eq!(store.apply_retention(0).deleted, 2);
    assert!(read(&*store.source(&t), &ns_matcher("wordpress-staging"), None).is_empty());
    let left: Vec<_> =
        std::fs::read_dir(dir.path().join("logs").join(t.as_str()).join("partitions"))
            .unwrap()
            .collect();
    assert!(left.is_empty());
    store.close();
}

#[test]
fn disk_cap_deletes_the_oldest_partitions_first() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0_MS);
    let t = TenantId::default_tenant();
    let mut c = (*cfg(dir.path())).clone();
    c.logs.index = false;
    let store = LogStore::new(Arc::new(c.clone()), clock.clone());
    for k in 0..3 {
        fill(&store, &t, k * 100, 100);
        store.seal_and_index(true);
    }
    let x = store.all()[0].clone();
    assert_eq!(x.partition_count(), 3);
    let used = store.disk_bytes();
    store.close();
    drop(store);
    // A cap that leaves room for about two of the three partitions.
    c.storage.max_disk_bytes = cairn::units::ByteSize(used * 3 / 4);
    let store = LogStore::new(Arc::new(c), clock);
    store.open_existing().unwrap();
    let r = store.apply_retention(0);
    assert!(r.deleted >= 1, "{r:?}");
    let lines = read(&*store.source(&t), &ns_matcher("wordpress-staging"), None);
    // The newest partition's lines are the ones kept.
    assert!(lines[0].1.iter().all(|e| e.0 >= 100));
    assert_eq!(lines[0].1.last().map(|e| e.0), Some(299));
    store.close();
}
