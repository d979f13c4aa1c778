//! Property test: the histogram range functions never panic, whatever the
//! histograms (also inconsistent ones, as they may arrive from the network).

use proptest::prelude::*;

use crate::model::histogram::{CounterResetHint, Span};
use crate::model::{FloatHistogram, HistogramSample, Sample};

use super::extended_hist::{anchored_changes_or_resets, extended_histogram_rate, smoothed_series};
use super::range_hist::{
    avg_hists, changes_or_resets, compute_stats_hints, extrapolated_histogram_rate,
    instant_value_mixed, last_or_first, sum_hists, Notes,
};

fn float() -> impl Strategy<Value = f64> {
    prop_oneof![
        0.0..10.0f64,
        Just(0.0),
        Just(f64::NAN),
        Just(f64::INFINITY),
        Just(-1.0),
        any::<f64>(),
    ]
}

fn histogram() -> impl Strategy<Value = FloatHistogram> {
    (
        prop_oneof![-4..=8i32, Just(-53), Just(9)],
        (float(), float(), float()),
        prop::collection::vec((-3..3i32, 0..3u32), 0..3),
        prop::collection::vec(float(), 0..5),
        prop::collection::vec(0.5..20.0f64, 0..3),
        0..4u8,
    )
        .prop_map(
            |(schema, (zc, count, sum), spans, buckets, cv, hint)| FloatHistogram {
                counter_reset_hint: match hint {
                    0 => CounterResetHint::Unknown,
                    1 => CounterResetHint::CounterReset,
                    2 => CounterResetHint::NotCounterReset,
                    _ => CounterResetHint::Gauge,
                },
                schema,
                zero_threshold: 0.001,
                zero_count: zc,
                count,
                sum,
                positive_spans: spans
                    .into_iter()
                    .map(|(offset, length)| Span { offset, length })
                    .collect(),
                positive_buckets: buckets,
                custom_values: cv,
                ..Default::default()
            },
        )
}

fn series() -> impl Strategy<Value = Vec<HistogramSample>> {
    prop::collection::vec(histogram(), 0..6).prop_map(|hs| {
        hs.into_iter()
            .enumerate()
            .map(|(i, h)| HistogramSample {
                t: i as i64 * 15_000,
                h: Box::new(h),
            })
            .collect()
    })
}

proptest! {
    #![proptest_config(ProptestConfig {
            cases: 200,
            // A fixed seed: the same cases every run, so CI cannot flake.
            rng_seed: proptest::test_runner::RngSeed::Fixed(24501),
            ..ProptestConfig::default()
        })]
    #[test]
    fn histogram_functions_do_not_panic(mut hs in series(), fl in prop::collection::vec(float(), 0..3)) {
        let floats: Vec<Sample> = fl
            .iter()
            .enumerate()
            .map(|(i, v)| Sample::new(i as i64 * 15_000 + 7_000, *v))
            .collect();
        let mut n = Notes::default();
        for (counter, rate) in [(true, true), (true, false), (false, false)] {
            let _ = extrapolated_histogram_rate(&hs, -1, 90_000, 91_000, counter, rate, "m", &mut n);
            for smoothed in [false, true] {
                let _ = extended_histogram_rate(&hs, 10_000, 50_000, 40_000, counter, rate, smoothed, "m", &mut n);
            }
        }
        let _ = instant_value_mixed(&floats, &hs, true, "m", &mut n);
        let _ = instant_value_mixed(&floats, &hs, false, "m", &mut n);
        let _ = changes_or_resets(&floats, &hs, true);
        let _ = anchored_changes_or_resets(&floats, &hs, 20_000, false);
        let _ = last_or_first(&floats, &hs, true);
        let steps: Vec<(i64, i64)> = (0..6).map(|i| (i * 10_000, i * 10_000)).collect();
        let _ = smoothed_series(&floats, &hs, &steps, 20_000, "m", &mut n);
        if !hs.is_empty() {
            let _ = sum_hists(&hs, "m", &mut n);
            let _ = avg_hists(&hs, "m", &mut n);
        }
        compute_stats_hints(&mut hs);
    }
}
