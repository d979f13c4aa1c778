//! Ingest path benchmarks: remote-write decoding (snappy + protobuf +
//! validation) and TSDB append (judge, WAL group commit, head) for batches
//! of 2000 samples over 100,000 series, as Prometheus sends them.

use std::hint::black_box;
use std::sync::Arc;

use cairn::config::Limits;
use cairn::ingest::proto::prometheus as pb;
use cairn::ingest::remote_write::{decode, decompress, Version};
use cairn::metrics::{Db, DbOptions, IncomingSeries};
use cairn::model::labels::SeriesLabels;
use cairn::model::Sample;
use cairn::storage::clock::SystemClock;
use cairn::storage::wal::{FsyncPolicy, WalOptions};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use prost::Message;

const BATCH: usize = 2000;

fn labels(i: usize) -> Vec<(String, String)> {
    vec![
        ("__name__".into(), format!("bench_metric_{}_total", i % 50)),
        (
            "instance".into(),
            format!("10.0.{}.{}:9100", (i / 250) % 256, i % 250),
        ),
        ("job".into(), format!("job-{}", i % 10)),
        ("namespace".into(), "wordpress-production".into()),
        ("pod".into(), format!("wp-clone-{}", i / 50)),
        ("series".into(), i.to_string()),
    ]
}

fn request(offset: usize, t: i64) -> Vec<u8> {
    let ts = (offset..offset + BATCH)
        .map(|i| pb::TimeSeries {
            labels: labels(i)
                .into_iter()
                .map(|(name, value)| pb::Label { name, value })
                .collect(),
            samples: vec![pb::Sample {
                value: i as f64,
                timestamp: t,
            }],
            ..Default::default()
        })
        .collect();
    snap::raw::Encoder::new()
        .compress_vec(
            &pb::WriteRequest {
                timeseries: ts,
                metadata: vec![],
            }
            .encode_to_vec(),
        )
        .unwrap_or_default()
}

fn bench_decode(c: &mut Criterion) {
    let body = request(0, 1_700_000_000_000);
    let limits = Limits::default();
    let mut g = c.benchmark_group("remote_write_decode");
    g.throughput(Throughput::Elements(BATCH as u64));
    g.bench_function("v1_2000_series", |b| {
        b.iter(|| {
            let raw = decompress(black_box(&body), 64 << 20).unwrap_or_default();
            black_box(
                decode(&raw, Version::V1, &limits)
                    .map(|d| d.series.len())
                    .unwrap_or(0),
            )
        })
    });
    g.finish();
}

fn open_db(dir: &std::path::Path, fsync: FsyncPolicy) -> Db {
    let opts = DbOptions {
        wal: WalOptions {
            fsync,
            ..Default::default()
        },
        ..Default::default()
    };
    match Db::open("bench", dir, opts, Arc::new(SystemClock)) {
        Ok(db) => db,
        Err(e) => panic!("open db: {e}"),
    }
}

fn bench_append(c: &mut Criterion) {
    const SERIES: usize = 100_000;
    // Owned sorted label pairs; batches borrow them, as the remote-write
    // decoder's series borrow the request body.
    let owned: Vec<Vec<(String, String)>> = (0..SERIES)
        .map(|i| {
            let mut l = labels(i);
            l.sort();
            l
        })
        .collect();
    let mut g = c.benchmark_group("tsdb_append");
    g.throughput(Throughput::Elements(BATCH as u64));
    for (name, policy) in [
        ("fsync_always", FsyncPolicy::Always),
        ("fsync_never", FsyncPolicy::Never),
    ] {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let db = open_db(dir.path(), policy);
        let mut round: i64 = 0;
        let mut offset = 0usize;
        g.bench_function(name, |b| {
            b.iter(|| {
                if offset + BATCH > SERIES {
                    offset = 0;
                    round += 1;
                }
                let t = 1_700_000_000_000 + round * 15_000;
                let batch: Vec<IncomingSeries> = owned[offset..offset + BATCH]
                    .iter()
                    .map(|l| IncomingSeries {
                        labels: SeriesLabels::Borrowed(
                            l.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect(),
                        ),
                        samples: vec![Sample::new(t, 1.0)],
                        ..Default::default()
                    })
                    .collect();
                offset += BATCH;
                black_box(
                    db.write(&batch, &[])
                        .map(|o| o.samples_written)
                        .unwrap_or(0),
                )
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench_decode, bench_append);
criterion_main!(benches);
