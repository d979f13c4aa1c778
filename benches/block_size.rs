//! Measures on-disk bytes per sample of sealed blocks and head memory per
//! active series for a realistic mix (counters with jittered increments,
//! random gauges, constant gauges) at a 15 s scrape interval. Run with
//! `cargo bench --bench block_size`; prints the figures (no timing asserts).

use std::sync::Arc;

use cairn::metrics::{Db, DbOptions, IncomingSeries};
use cairn::model::{Labels, Sample};
use cairn::storage::clock::SystemClock;
use cairn::storage::wal::{FsyncPolicy, WalOptions};

const HOURS: i64 = 5;

/// One data set: how timestamps and values evolve.
struct Profile {
    name: &'static str,
    jitter_ms: u64,
    random_gauges: bool,
}

fn main() {
    for p in [
        Profile {
            name: "realistic mix, aligned 15s scrapes",
            jitter_ms: 0,
            random_gauges: false,
        },
        Profile {
            name: "realistic mix, scrape timestamps jittered 0-4 ms",
            jitter_ms: 5,
            random_gauges: false,
        },
        Profile {
            name: "adversarial: a third random 6-digit floats, jittered",
            jitter_ms: 5,
            random_gauges: true,
        },
    ] {
        // `CAIRN_BENCH_PROFILE=aligned` (a word of the name) runs one profile.
        if std::env::var("CAIRN_BENCH_PROFILE").is_ok_and(|w| !p.name.contains(w.as_str())) {
            continue;
        }
        measure(&p);
    }
}

/// Series per profile: `CAIRN_BENCH_SERIES` (default 10,000; use 100,000 to
/// see memory per series without fixed per-process costs).
fn series_count() -> usize {
    std::env::var("CAIRN_BENCH_SERIES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000)
}

fn measure(p: &Profile) {
    let series = series_count();
    let dir = match tempfile::tempdir() {
        Ok(d) => d,
        Err(e) => panic!("tempdir: {e}"),
    };
    let opts = DbOptions {
        wal: WalOptions {
            fsync: FsyncPolicy::Never,
            ..Default::default()
        },
        ..Default::default()
    };
    let db = match Db::open("size", dir.path(), opts, Arc::new(SystemClock)) {
        Ok(db) => db,
        Err(e) => panic!("open: {e}"),
    };
    let labels: Vec<Labels> = (0..series)
        .map(|i| {
            Labels::from_pairs([
                ("__name__".to_string(), format!("metric_{}", i % 100)),
                (
                    "instance".to_string(),
                    format!("10.0.{}.{}:9100", i / 250, i % 250),
                ),
                ("job".to_string(), "node".to_string()),
                (
                    "kind".to_string(),
                    ["counter", "gauge", "const"][i % 3].to_string(),
                ),
            ])
        })
        .collect();
    let mut rng: u64 = 42;
    let mut next = || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    let mut state = vec![0f64; series];
    let steps = HOURS * 240;
    let mut total_samples = 0u64;
    let mut head_mem_3h = 0usize;
    let mut rss_3h = 0u64;
    let rss_before = rss_bytes();
    for step in 0..steps {
        let batch: Vec<IncomingSeries> = (0..series)
            .map(|i| {
                let jitter = if p.jitter_ms > 0 {
                    (next() % p.jitter_ms) as i64
                } else {
                    0
                };
                let t = step * 15_000 + jitter;
                let v = match i % 3 {
                    // counters: requests, a few per scrape
                    0 => {
                        state[i] += (next() % 8) as f64;
                        state[i]
                    }
                    1 if p.random_gauges => (next() % 1_000_000) as f64 / 1000.0,
                    // gauges: e.g. memory bytes moving in page-sized steps
                    1 => {
                        if next() % 4 == 0 {
                            state[i] += ((next() % 64) as f64 - 32.0) * 4096.0;
                        }
                        state[i] + 1e9
                    }
                    _ => 1.0,
                };
                IncomingSeries {
                    labels: labels[i].clone().into(),
                    samples: vec![Sample::new(t, v)],
                    ..Default::default()
                }
            })
            .collect();
        match db.write(&batch, &[]) {
            Ok(o) => total_samples += o.samples_written,
            Err(e) => panic!("write: {e}"),
        }
        if step == 3 * 240 {
            head_mem_3h = db.head().memory_bytes();
            rss_3h = rss_bytes().saturating_sub(rss_before);
        }
    }
    if let Err(e) = db.maintain() {
        panic!("maintain: {e}");
    }
    let blocks = db.blocks();
    let block_bytes: u64 = blocks.iter().map(|b| b.size_bytes()).sum();
    let block_samples: u64 = blocks.iter().map(|b| b.meta.num_samples).sum();
    println!("{}:", p.name);
    println!(
        "  sealed: {block_bytes} bytes for {block_samples} samples in {} block(s) = {:.3} bytes/sample (chunks + index + meta); {total_samples} written",
        blocks.len(),
        block_bytes as f64 / block_samples.max(1) as f64
    );
    println!(
        "  head memory with 3h of data (720 samples/series): {:.0} bytes/series (chunks, out-of-order buffers, label keys; excludes postings and allocator overhead)",
        head_mem_3h as f64 / series as f64
    );
    println!(
        "  process RSS growth with 3h of data: {:.0} bytes/series (everything: index, postings, allocator)",
        rss_3h as f64 / series as f64
    );
}

/// Resident set size of this process, from /proc (0 where unavailable).
fn rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<u64>().ok())
        })
        .map(|kb| kb * 1024)
        .unwrap_or(0)
}
