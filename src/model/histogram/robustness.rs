//! Property test: no operation panics or hangs on arbitrary (also invalid)
//! histograms, as they may arrive from the network.

use proptest::prelude::*;

use super::{CounterResetHint, FloatHistogram, Span};

fn float() -> impl Strategy<Value = f64> {
    prop_oneof![
        -10.0..10.0f64,
        Just(0.0),
        Just(f64::NAN),
        Just(f64::INFINITY),
        Just(f64::NEG_INFINITY),
        Just(f64::MAX),
        Just(-0.0),
        any::<f64>(),
    ]
}

fn spans() -> impl Strategy<Value = Vec<Span>> {
    prop::collection::vec(
        (
            prop_oneof![-5..5i32, Just(i32::MAX), Just(i32::MIN), -2000..2000i32],
            prop_oneof![0..4u32, Just(u32::MAX)],
        )
            .prop_map(|(offset, length)| Span { offset, length }),
        0..4,
    )
}

fn histogram() -> impl Strategy<Value = FloatHistogram> {
    (
        prop_oneof![-4..=8i32, Just(-53), Just(-5), Just(9), Just(i32::MIN)],
        (float(), float(), float(), float()),
        (spans(), spans()),
        (
            prop::collection::vec(float(), 0..6),
            prop::collection::vec(float(), 0..6),
        ),
        prop::collection::vec(float(), 0..4),
        0..4u8,
    )
        .prop_map(
            |(schema, (zt, zc, count, sum), (ps, ns), (pb, nb), cv, hint)| FloatHistogram {
                counter_reset_hint: match hint {
                    0 => CounterResetHint::Unknown,
                    1 => CounterResetHint::CounterReset,
                    2 => CounterResetHint::NotCounterReset,
                    _ => CounterResetHint::Gauge,
                },
                schema,
                zero_threshold: zt.abs(),
                zero_count: zc,
                count,
                sum,
                positive_spans: ps,
                negative_spans: ns,
                positive_buckets: pb,
                negative_buckets: nb,
                custom_values: cv,
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 500,
        // A fixed seed: the same cases every run, so CI cannot flake.
        rng_seed: proptest::test_runner::RngSeed::Fixed(0x5EED),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn nothing_panics(a in histogram(), b in histogram(), x in float(), y in float()) {
        let _ = a.validate();
        let _ = a.equals(&b);
        let _ = a.detect_reset(&b);
        let _ = (a.quantile(x), a.fraction(x, y), a.stddev(), a.avg());
        let _ = (a.trim_upper(x), a.trim_lower(y));
        let _ = (a.to_string(), a.test_expression(), crate::api::histogram_json::histogram_json(&a));
        let _ = a.copy_to_schema(a.schema.saturating_sub(1));
        let mut c = a.clone();
        let _ = c.add(&b);
        let mut c = a.clone();
        let _ = c.sub(&b);
        let mut c = a.clone();
        let mut comp = FloatHistogram::default();
        if c.kahan_add(&b, &mut comp).is_ok() {
            c.kahan_finish(&comp);
        }
        let mut c = a.clone();
        c.compact(2);
        c.mul(x);
        c.div(y);
        let _ = c.reduce_resolution(-4);
        let _ = a.matches_expected(&b, true);
    }
}
