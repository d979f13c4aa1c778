//! Gorilla (XOR) chunk encode/decode throughput on realistic series:
//! 15 s scrapes with ±10 ms jitter carrying a counter, a random-float gauge
//! and a constant (`up`-like) gauge at exact 15 s steps, cut into
//! Prometheus-sized 120-sample chunks and into larger 1024-sample ones.
//! Each iteration works through 64 different chunks, so the branch
//! predictor cannot learn one chunk by heart. Throughput is in samples.

use std::hint::black_box;

use cairn::metrics::chunk::{decode, XorChunk};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

/// SplitMix64: a small deterministic generator, so runs are comparable.
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, 1)`.
    fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in `[-r, r]`.
    fn jitter(&mut self, r: i64) -> i64 {
        (self.next_u64() % (2 * r as u64 + 1)) as i64 - r
    }
}

/// Scrape timestamps every 15 s from a 2024 epoch, each off by up to ±10 ms.
fn timestamps(rng: &mut Rng, n: usize) -> Vec<i64> {
    let start = 1_704_067_200_000i64;
    (0..n as i64)
        .map(|i| start + i * 15_000 + rng.jitter(10))
        .collect()
}

fn counter(n: usize) -> Vec<(i64, f64)> {
    let mut rng = Rng(1);
    let mut v = 1_234_567.0f64;
    timestamps(&mut rng, n)
        .into_iter()
        .map(|t| {
            v += (rng.next_u64() % 500) as f64;
            (t, v)
        })
        .collect()
}

fn gauge(n: usize) -> Vec<(i64, f64)> {
    let mut rng = Rng(2);
    timestamps(&mut rng, n)
        .into_iter()
        .map(|t| (t, rng.next_f64() * 100.0))
        .collect()
}

fn constant(n: usize) -> Vec<(i64, f64)> {
    (0..n as i64)
        .map(|i| (1_704_067_200_000 + i * 15_000, 1.0))
        .collect()
}

fn encode(samples: &[(i64, f64)]) -> XorChunk {
    let mut c = XorChunk::new();
    for &(t, v) in samples {
        c.append(t, v);
    }
    c
}

/// Chunks per benchmark iteration.
const CHUNKS: usize = 64;

fn bench(c: &mut Criterion) {
    type Gen = fn(usize) -> Vec<(i64, f64)>;
    let series: [(&str, Gen); 3] = [
        ("counter", counter),
        ("gauge", gauge),
        ("constant", constant),
    ];
    for n in [120usize, 1024] {
        let total = (n * CHUNKS) as u64;
        let data: Vec<(&str, Vec<(i64, f64)>)> = series
            .iter()
            .map(|(name, make)| (*name, make(n * CHUNKS)))
            .collect();

        let mut enc = c.benchmark_group(format!("gorilla_encode_{n}"));
        enc.throughput(Throughput::Elements(total));
        for (name, samples) in &data {
            let bytes: usize = samples.chunks(n).map(|s| encode(s).bytes().len()).sum();
            eprintln!(
                "{name} n={n}: {:.3} bytes/sample",
                bytes as f64 / samples.len() as f64
            );
            enc.bench_with_input(BenchmarkId::from_parameter(name), samples, |b, s| {
                b.iter(|| {
                    for chunk in s.chunks(n) {
                        black_box(encode(black_box(chunk)));
                    }
                })
            });
        }
        enc.finish();

        let mut dec = c.benchmark_group(format!("gorilla_decode_{n}"));
        dec.throughput(Throughput::Elements(total));
        for (name, samples) in &data {
            let chunks: Vec<Vec<u8>> = samples.chunks(n).map(|s| encode(s).into_bytes()).collect();
            dec.bench_with_input(BenchmarkId::from_parameter(name), &chunks, |b, chunks| {
                b.iter(|| {
                    let mut sum_t = 0i64;
                    let mut sum_v = 0f64;
                    for bytes in chunks {
                        if let Ok(it) = decode(black_box(bytes)) {
                            for (t, v) in it {
                                sum_t = sum_t.wrapping_add(t);
                                sum_v += v;
                            }
                        }
                    }
                    (sum_t, sum_v)
                })
            });
        }
        dec.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
