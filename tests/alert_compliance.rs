//! The Prometheus alert-generator compliance test (issue 6), in process.
//!
//! Follows `../shared/conformance/alerting/`: its `rules.yaml` is loaded as
//! is, the samples the upstream suite (`prometheus/compliance`,
//! `alert_generator/cases/`, Apache-2.0) remote-writes are fed at their
//! times, and what Cairn does is checked against the specification:
//! the alerts POSTed to an Alertmanager stand-in running in the test,
//! `/api/v1/rules`, `/api/v1/alerts` and the `ALERTS` series through
//! `/api/v1/query`.
//!
//! # How time is simulated
//!
//! A `ManualClock` drives everything; nothing depends on the wall clock.
//!
//! 1. The rules are loaded at `START` (two minutes before the data's zero
//!    time `T0`). The clock then moves forward one millisecond at a time,
//!    calling `eval_due(now)` each time, until every group has run twice:
//!    the millisecond at which a group's second evaluation happens is one of
//!    its ticks (`eval_due` runs a group as soon as a tick is `<= now`), so
//!    `tick mod interval` is the group's offset. Which group ran is read
//!    from the change of its `lastEvaluation` in `/api/v1/rules`.
//! 2. From then on the clock jumps from event to event: the upstream
//!    samples' times (`T0 + n·15s`) and every group's ticks. At a sample time
//!    the samples due are remote-written (`POST /api/v1/write`) *before* any
//!    evaluation at that same instant, so an evaluation at `t` sees exactly
//!    the samples with timestamps `<= t`. At a tick, `eval_due(t)` runs,
//!    the notifier is flushed, and the group's rules, alerts and `ALERTS`
//!    series are checked against the model for time `t`.
//! 3. At the end every alert the receiver got is attributed to the
//!    evaluation that sent it (the latest tick of its group at or before
//!    the clock time at which it arrived) and the received alerts are
//!    compared, as a multiset, with the model's expected sends.
//!
//! # The model
//!
//! Each upstream case is reduced to "episodes": one alert (label set) that
//! becomes active at a sample index and is resolved at a later one (the
//! indices are the upstream cases' `_8th`, `_32nd`, ... constants). With the
//! group's ticks known, a sample index `n` maps to the first tick at or
//! after `T0 + n·15s` (`E(n)`), and the specification fixes everything else:
//! `ActiveAt = E(active)`, `FiredAt` = the first tick `>= ActiveAt + for`
//! (`ActiveAt` when `for` is 0), `ResolvedAt = E(resolved)`; firing alerts are
//! sent at `FiredAt` and then every resend interval (the first multiple of
//! the group interval `>=` the resend delay) while firing, with
//! `endsAt = evaluation time + 4·max(resend delay, interval)`; resolved
//! alerts are sent at `ResolvedAt` and then every resend interval while
//! less than 15 minutes have passed and no new alert with the same labels is
//! active, with `endsAt = ResolvedAt`; `startsAt = FiredAt` in both cases;
//! pending alerts are never sent. The upstream suite checks the same facts
//! with time tolerances because it runs against a real clock; here times are
//! exact.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use cairn::storage::clock::ManualClock;

type Labels = BTreeMap<String, String>;

/// Builds a label (or annotation) map.
fn lbls(pairs: &[(&str, &str)]) -> Labels {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Renders a label map as `{a="b", c="d"}`.
fn show(m: &Labels) -> String {
    let body: Vec<String> = m.iter().map(|(k, v)| format!("{k}={v:?}")).collect();
    format!("{{{}}}", body.join(", "))
}

mod timebase {
    //! The simulated time line: the zero time of the data, the intervals
    //! the cases and the configuration use, and group ticks.

    /// The upstream suite's zero time: its first samples are written at
    /// `T0` (2026-01-01T00:00:00Z, a multiple of every interval).
    pub const T0: i64 = 1_767_225_600_000;
    /// When the rules are loaded: before the data, so that every group's
    /// offset is known before the first sample.
    pub const START: i64 = T0 - 120_000;
    /// Remote-write interval of every upstream case (`rwInterval`).
    pub const RW: i64 = 15_000;
    /// The interval of every group in `rules.yaml` (`groupInterval`).
    pub const GI: i64 = 30_000;
    /// `rules.resend_delay` (the default, and upstream's `ResendDelay`).
    pub const RESEND_DELAY: i64 = 60_000;
    /// The specification: "the actual interval MUST be the first >0
    /// multiple of the group interval that is more than or equal to
    /// ResendDelay".
    pub const RESEND_EVERY: i64 = (RESEND_DELAY + GI - 1) / GI * GI;
    /// `endsAt` of a firing alert is the evaluation time plus this.
    pub const ENDS_AT_DELTA: i64 = 4 * if RESEND_DELAY > GI { RESEND_DELAY } else { GI };
    /// Resolved alerts are sent while less than this has passed since `ResolvedAt`.
    pub const RESOLVED_RETENTION: i64 = 15 * 60_000;

    /// The first tick (`k·GI + offset`) at or after `t`.
    pub fn tick_at_or_after(t: i64, offset: i64) -> i64 {
        let d = t - offset;
        let k = d.div_euclid(GI) + i64::from(d.rem_euclid(GI) != 0);
        offset + k * GI
    }

    /// The last tick at or before `t`.
    pub fn tick_at_or_before(t: i64, offset: i64) -> i64 {
        offset + (t - offset).div_euclid(GI) * GI
    }

    /// `t` relative to `T0`, e.g. `T0+8m30.000s`.
    pub fn rel(t: i64) -> String {
        let d = t - T0;
        let sign = if d < 0 { '-' } else { '+' };
        let a = d.abs();
        format!(
            "T0{sign}{}m{:02}.{:03}s",
            a / 60_000,
            a % 60_000 / 1000,
            a % 1000
        )
    }

    #[test]
    fn ticks() {
        assert_eq!(tick_at_or_after(T0, 0), T0);
        assert_eq!(tick_at_or_after(T0 + 1, 0), T0 + GI);
        assert_eq!(tick_at_or_after(T0 + 1, 7), T0 + 7);
        assert_eq!(tick_at_or_after(T0 + 8, 7), T0 + 7 + GI);
        assert_eq!(tick_at_or_before(T0 + 8, 7), T0 + 7);
        assert_eq!(tick_at_or_before(T0 + 6, 7), T0 + 7 - GI);
        assert_eq!(RESEND_EVERY, 60_000);
        assert_eq!(ENDS_AT_DELTA, 240_000);
        assert_eq!(rel(T0 + 512_345), "T0+8m32.345s");
        assert_eq!(rel(T0 - 1_000), "T0-0m01.000s");
    }
}

mod samples {
    //! Upstream's sample-value notation (`cases/utils.go`, `sampleSlice`)
    //! and the series a case remote-writes.

    use super::Labels;

    /// Expands `"V"` (an absolute value) and `"AxB"` (B samples, each A more
    /// than the previous value; the first value is 0 before any) into one
    /// value per remote-write interval, starting at the zero time.
    pub fn sample_slice(values: &[&str]) -> Vec<f64> {
        let mut out = Vec::new();
        let mut val = 0.0;
        for v in values {
            match v.split_once('x') {
                Some((a, b)) => {
                    let a: f64 = a.parse().expect("increment in the notation");
                    let b: usize = b.parse().expect("count in the notation");
                    for _ in 0..b {
                        val += a;
                        out.push(val);
                    }
                }
                None => {
                    val = v.parse().expect("value in the notation");
                    out.push(val);
                }
            }
        }
        out
    }

    /// One remote-written series: `values[n]` is written at `T0 + n·RW`.
    pub struct Series {
        pub labels: Labels,
        pub values: Vec<f64>,
    }

    impl Series {
        /// The sample visible at sample index `idx` (the last one once
        /// the series has ended; the cases never need the 5m lookback to
        /// run out while an alert depends on it).
        pub fn at(&self, idx: usize) -> f64 {
            let i = idx.min(self.values.len().saturating_sub(1));
            self.values.get(i).copied().unwrap_or(f64::NAN)
        }
    }

    #[test]
    fn notation_matches_the_upstream_example() {
        // The example in the comment of upstream's `sampleSlice`.
        let got = sample_slice(&["1x1", "0x3", "5x3", "9", "8", "-2x2"]);
        assert_eq!(
            got,
            vec![1.0, 1.0, 1.0, 1.0, 6.0, 11.0, 16.0, 9.0, 8.0, 6.0, 4.0]
        );
    }
}

mod cases {
    //! The four upstream test cases, one per group of `rules.yaml`: the
    //! rules as the API must show them, the series they remote-write and
    //! the alerts ("episodes") they expect.

    use super::samples::{sample_slice, Series};
    use super::{lbls, Labels};

    /// Upstream's source metric name (`sourceTimeSeriesName`).
    pub const SOURCE: &str = "alert_generator_test_suite";

    /// An alerting rule exactly as `rules.yaml` has it.
    pub struct RuleDef {
        pub name: String,
        pub query: String,
        pub for_ms: i64,
        pub labels: Labels,
        pub annotations: Labels,
    }

    /// Where an alert's value comes from.
    pub enum ValueSrc {
        /// The case's series with this index.
        Series(usize),
        Const(f64),
    }

    /// What annotation templates see when the model expands them.
    pub struct AnnCtx<'a> {
        /// The alert's value at the evaluation.
        pub value: f64,
        /// Sample index visible at the evaluation.
        pub idx: usize,
        pub series: &'a [Series],
    }

    /// One alert from activation to resolution.
    pub struct Episode {
        /// Index of its rule in the group.
        pub rule: usize,
        pub labels: Labels,
        /// First sample index at which the rule's expression returns it.
        pub active_idx: i64,
        /// First sample index at which it no longer does.
        pub resolved_idx: i64,
        /// Sample index at which the same labels become active again
        /// (stops the resolved alert's resends).
        pub next_active_idx: Option<i64>,
        pub value: ValueSrc,
        /// The expanded annotations.
        pub annotations: fn(&AnnCtx) -> Labels,
    }

    pub struct Case {
        pub group: &'static str,
        /// The upstream file this case reproduces.
        pub upstream: &'static str,
        pub rules: Vec<RuleDef>,
        pub series: Vec<Series>,
        pub episodes: Vec<Episode>,
        /// Upstream's `TestUntil`, in samples after the zero time.
        pub test_until_samples: i64,
    }

    /// Upstream's `metricLabels(groupName, alertName)`.
    fn metric_labels(group: &str, alert: &str) -> Labels {
        lbls(&[
            ("__name__", SOURCE),
            ("rulegroup", group),
            ("alertname", alert),
        ])
    }

    /// Upstream's `fmt.Sprintf("%s > N", lbls.String())`.
    fn threshold_query(group: &str, alert: &str, n: u32) -> String {
        format!("{{__name__=\"{SOURCE}\", alertname=\"{alert}\", rulegroup=\"{group}\"}} > {n}")
    }

    fn with(mut l: Labels, k: &str, v: &str) -> Labels {
        l.insert(k.into(), v.into());
        l
    }

    pub fn all() -> Vec<Case> {
        vec![
            new_alerts_order_check(),
            pending_firing_resolved(),
            pending_resolved_always_inactive(),
            zero_for_small_for(),
        ]
    }

    /// `alert_generator/cases/case_new_alerts_and_order_check.go`:
    /// (1) a rule producing new alerts (pending → firing → inactive) while it
    /// already has active ones; (2) a rule depending on the `ALERTS` series of
    /// the rule above it in the same group and evaluation; (3) annotation
    /// templates see the query result's labels, not the rule's overrides.
    fn new_alerts_order_check() -> Case {
        let g = "NewAlerts_OrderCheck";
        let r1 = "NewAlerts_OrderCheck_Rule1";
        let r2 = "NewAlerts_OrderCheck_Rule2";
        let r2_query = format!(
            "(ALERTS{{alertstate=\"firing\", alertname=\"{r1}\", foo=\"bar\", rulegroup=\"{g}\", variant=\"one\"}} + ignoring(variant) ALERTS{{alertstate=\"firing\", alertname=\"{r1}\", foo=\"bar\", rulegroup=\"{g}\", variant=\"two\"}}) == 2"
        );
        let one = sample_slice(&["1", "0x7", "11", "0x64", "9", "0x20"]);
        let two = sample_slice(&["1", "0x31", "11", "0x32", "9", "0x20"]);
        let total = one.len().max(two.len()) as i64;
        fn r1_ann(_: &AnnCtx) -> Labels {
            lbls(&[("description", "This should produce more alerts later")])
        }
        fn r2_ann(_: &AnnCtx) -> Labels {
            lbls(&[(
                "description",
                "Based on ALERTS. Old alertname was NewAlerts_OrderCheck_Rule1. foo was bar.",
            )])
        }
        Case {
            group: g,
            upstream: "alert_generator/cases/case_new_alerts_and_order_check.go",
            rules: vec![
                RuleDef {
                    name: r1.into(),
                    query: threshold_query(g, r1, 10),
                    for_ms: 180_000,
                    labels: lbls(&[("foo", "bar"), ("rulegroup", g)]),
                    annotations: lbls(&[("description", "This should produce more alerts later")]),
                },
                RuleDef {
                    name: r2.into(),
                    query: r2_query,
                    for_ms: 0,
                    labels: lbls(&[("ba_dum", "tss"), ("foo", "baz"), ("rulegroup", g)]),
                    annotations: lbls(&[(
                        "description",
                        "Based on ALERTS. Old alertname was {{$labels.alertname}}. foo was {{.Labels.foo}}.",
                    )]),
                },
            ],
            series: vec![
                Series {
                    labels: with(metric_labels(g, r1), "variant", "one"),
                    values: one,
                },
                Series {
                    labels: with(metric_labels(g, r1), "variant", "two"),
                    values: two,
                },
            ],
            episodes: vec![
                // Variant one: pending @8 (2m), firing @20 (+3m), resolved @73.
                Episode {
                    rule: 0,
                    labels: lbls(&[
                        ("alertname", r1),
                        ("foo", "bar"),
                        ("rulegroup", g),
                        ("variant", "one"),
                    ]),
                    active_idx: 8,
                    resolved_idx: 73,
                    next_active_idx: None,
                    value: ValueSrc::Series(0),
                    annotations: r1_ann,
                },
                // Variant two: pending @32 (8m), firing @44, resolved @65.
                Episode {
                    rule: 0,
                    labels: lbls(&[
                        ("alertname", r1),
                        ("foo", "bar"),
                        ("rulegroup", g),
                        ("variant", "two"),
                    ]),
                    active_idx: 32,
                    resolved_idx: 65,
                    next_active_idx: None,
                    value: ValueSrc::Series(1),
                    annotations: r1_ann,
                },
                // Rule2 fires in the very evaluation in which variant two
                // fires (its ALERTS sample is visible to the next rule) and
                // resolves in the one in which variant two resolves (the
                // ALERTS series must go stale at once). `alertstate` stays
                // from the expression's result, `foo` is overridden.
                Episode {
                    rule: 1,
                    labels: lbls(&[
                        ("alertname", r2),
                        ("alertstate", "firing"),
                        ("ba_dum", "tss"),
                        ("foo", "baz"),
                        ("rulegroup", g),
                    ]),
                    active_idx: 44,
                    resolved_idx: 65,
                    next_active_idx: None,
                    value: ValueSrc::Const(2.0),
                    annotations: r2_ann,
                },
            ],
            test_until_samples: total,
        }
    }

    /// `alert_generator/cases/case_pending_firing_resolved.go`:
    /// pending → firing → inactive; pending alerts' annotations change
    /// (checked via the API); firing and resolved alerts sent when they get
    /// there; firing alerts resent with changing annotations; resolved ones
    /// resent up to a point; the alert becoming active again (non-zero
    /// `for`) while the resolved one was still being resent.
    fn pending_firing_resolved() -> Case {
        let g = "PendingAndFiringAndResolved";
        let a = "PendingAndFiringAndResolved_SimpleAlert";
        let values = sample_slice(&[
            "3", "5", "0x2", "9", // 1m (3 is @0 time).
            "0x3", "11",   // Pending at 11@2m.
            "0x12", // 3m.
            "15", "0x11", // 3m of a changed value; firing at the end.
            "0x20", // 5m.
            "19", "0x15", // 4m of a changed value.
            "9", "0x19", // Resolved; 5m of 9s: resolved alerts resent.
            "15", "0x24", // Pending again; firing at the end.
            "0x20", // 5m firing.
            "8", "0x15", // 4m resolved.
        ]);
        let total = values.len() as i64;
        fn ann(c: &AnnCtx) -> Labels {
            lbls(&[
                ("description", "SimpleAlert is firing"),
                ("summary", &format!("The value is {0} {0}", c.value)),
            ])
        }
        let labels = lbls(&[("alertname", a), ("foo", "bar"), ("rulegroup", g)]);
        Case {
            group: g,
            upstream: "alert_generator/cases/case_pending_firing_resolved.go",
            rules: vec![RuleDef {
                name: a.into(),
                query: threshold_query(g, a, 10),
                for_ms: 360_000,
                labels: lbls(&[("foo", "bar"), ("rulegroup", g)]),
                annotations: lbls(&[
                    ("description", "SimpleAlert is firing"),
                    ("summary", "The value is {{$value}} {{.Value}}"),
                ]),
            }],
            series: vec![Series {
                labels: metric_labels(g, a),
                values,
            }],
            episodes: vec![
                // Pending @8 (value 11, 15 from @21), firing @32, value 19
                // from @53, resolved @69; the resolved alert is resent
                // until the new pending alert @89 replaces it.
                Episode {
                    rule: 0,
                    labels: labels.clone(),
                    active_idx: 8,
                    resolved_idx: 69,
                    next_active_idx: Some(89),
                    value: ValueSrc::Series(0),
                    annotations: ann,
                },
                // Pending again @89, firing @113, resolved @134.
                Episode {
                    rule: 0,
                    labels,
                    active_idx: 89,
                    resolved_idx: 134,
                    next_active_idx: None,
                    value: ValueSrc::Series(0),
                    annotations: ann,
                },
            ],
            test_until_samples: total,
        }
    }

    /// `alert_generator/cases/case_pending_resolved_and_always_inactive.go`:
    /// pending → inactive (never sent); a rule that never becomes active.
    fn pending_resolved_always_inactive() -> Case {
        let g = "PendingAndResolved_AlwaysInactive";
        let p = "PendingAndResolved_AlwaysInactive_PendingAlert";
        let i = "PendingAndResolved_AlwaysInactive_InactiveAlert";
        let notation = [
            "3", "5", "0x2", "9", // 1m.
            "0x3", "11",   // Pending at 11@2m.
            "0x10", // 2m30s pending, less than `for`.
            "9",    // Inactive again.
        ];
        let total = sample_slice(&notation).len() as i64 + 40;
        fn ann(_: &AnnCtx) -> Labels {
            lbls(&[("description", "SimpleAlert is firing")])
        }
        Case {
            group: g,
            upstream: "alert_generator/cases/case_pending_resolved_and_always_inactive.go",
            rules: vec![
                RuleDef {
                    name: p.into(),
                    query: threshold_query(g, p, 10),
                    for_ms: 180_000,
                    labels: lbls(&[("foo", "bar"), ("rulegroup", g)]),
                    annotations: lbls(&[("description", "SimpleAlert is firing")]),
                },
                RuleDef {
                    name: i.into(),
                    query: threshold_query(g, i, 99),
                    for_ms: 180_000,
                    labels: lbls(&[("ba_dum", "tss"), ("rulegroup", g)]),
                    annotations: lbls(&[("description", "This should never fire")]),
                },
            ],
            series: vec![
                Series {
                    labels: metric_labels(g, p),
                    values: sample_slice(&notation),
                },
                Series {
                    labels: metric_labels(g, i),
                    values: sample_slice(&notation),
                },
            ],
            episodes: vec![Episode {
                rule: 0,
                labels: lbls(&[("alertname", p), ("foo", "bar"), ("rulegroup", g)]),
                active_idx: 8,
                resolved_idx: 19,
                next_active_idx: None,
                value: ValueSrc::Series(0),
                annotations: ann,
            }],
            test_until_samples: total,
        }
    }

    /// `alert_generator/cases/case_zero_for_and_small_for.go`: zero `for`
    /// fires at once; a `for` shorter than the interval fires at the second
    /// evaluation; a zero-`for` alert firing again after its resolved
    /// alert stopped being sent; templates (`humanize*`, `query`, `define`,
    /// `args`, `sortByLabel`, `first`, `label`, `value`, `title`, `toUpper`,
    /// `toLower`, `stripPort`, `parseDuration`, `match`, `reReplaceAll`).
    fn zero_for_small_for() -> Case {
        let g = "ZeroFor_SmallFor";
        let zf = "ZeroFor_SmallFor_ZeroFor";
        let sf = "ZeroFor_SmallFor_SmallFor";
        let notation = [
            "3", "5", "0x2", "9", // 1m.
            "0x3", "15",   // Firing (zero for) or pending (small for) at 15@2m.
            "0x12", // 3m active.
            "9", "0x71", // 18m resolved: resolved alerts stop after 15m.
            "11", "0x12", // Zero-for alert fires again.
            "9",    // Resolved again.
        ];
        let total = sample_slice(&notation).len() as i64 + 20;
        let mut series = vec![
            Series {
                labels: metric_labels(g, zf),
                values: sample_slice(&notation),
            },
            Series {
                labels: metric_labels(g, sf),
                values: sample_slice(&notation),
            },
        ];
        // The series the `query` template function reads: 7m of i, then 2i.
        for i in 1..=3u32 {
            let first = i.to_string();
            let second = (2 * i).to_string();
            series.push(Series {
                labels: lbls(&[
                    ("__name__", SOURCE),
                    ("rulegroup", g),
                    ("for", "template"),
                    ("id", &(100 + i).to_string()),
                    ("__value__", &format!("val{i}")),
                ]),
                values: sample_slice(&[first.as_str(), "0x27", second.as_str(), "0x200"]),
            });
        }
        fn zf_ann(c: &AnnCtx) -> Labels {
            let v = |s: usize| c.series[s].at(c.idx);
            lbls(&[
                ("description", "This should immediately fire"),
                (
                    "template_test",
                    "1.049M 1Mi 2m 15s 95.9% 2022-01-25 12:36:43 +0000 UTC",
                ),
                (
                    "template_query_test",
                    &format!(
                        "Args are: foo bar 99. first_id:101,101:{},102:{},103:{},",
                        v(2),
                        v(3),
                        v(4)
                    ),
                ),
            ])
        }
        fn sf_ann(_: &AnnCtx) -> Labels {
            lbls(&[
                ("description", "This should fire after an interval"),
                (
                    "template_test",
                    "This Part IS TESTING the strings. ::1 127.0.0.1. 7815. replaced text. .",
                ),
            ])
        }
        let zf_labels = lbls(&[("alertname", zf), ("foo", "bar"), ("rulegroup", g)]);
        Case {
            group: g,
            upstream: "alert_generator/cases/case_zero_for_and_small_for.go",
            rules: vec![
                RuleDef {
                    name: zf.into(),
                    query: threshold_query(g, zf, 10),
                    for_ms: 0,
                    labels: lbls(&[("foo", "bar"), ("rulegroup", g)]),
                    annotations: lbls(&[
                        ("description", "This should immediately fire"),
                        (
                            "template_query_test",
                            "{{ define \"testtemplate\" }}Args are: {{.arg0}} {{.arg1}} {{.arg2}}. {{ with query \"alert_generator_test_suite{rulegroup='ZeroFor_SmallFor',for='template'}\" }}first_id:{{ . | sortByLabel \"id\" | first | label \"id\"}},{{ range $v := sortByLabel \"id\" .}}{{ . | label \"id\" }}:{{ . | value }},{{end}}{{end}}{{ end }}{{ template \"testtemplate\" (args \"foo\" \"bar\" 99) }}",
                        ),
                        (
                            "template_test",
                            "{{humanize 1048576}} {{humanize1024 1048576}} {{humanizeDuration 135.3563}} {{humanizePercentage 0.959}} {{humanizeTimestamp 1643114203}}",
                        ),
                    ]),
                },
                RuleDef {
                    name: sf.into(),
                    query: threshold_query(g, sf, 13),
                    for_ms: 15_000,
                    labels: lbls(&[("ba_dum", "tss"), ("rulegroup", g)]),
                    annotations: lbls(&[
                        ("description", "This should fire after an interval"),
                        (
                            "template_test",
                            "{{title \"this part\"}} {{toUpper \"is testing\"}} {{toLower \"THE STRINGS\"}}. {{ stripPort \"[::1]:6006\"}} {{ stripPort \"127.0.0.1:4004\"}}. {{parseDuration \"2h10m15s\"}}. {{if match \"[0-9]+\" \"1234\"}}{{reReplaceAll \"r.*d\" \"replaced\" \"rpld text\"}}{{end}}. {{if match \"[0-9]+$\" \"1234a\"}}WRONG{{end}}.",
                        ),
                    ]),
                },
            ],
            series,
            episodes: vec![
                // Zero for: firing @8, resolved @21; its resolved alert is
                // sent for 15m; firing again @93 (template series doubled
                // by then), resolved @106.
                Episode {
                    rule: 0,
                    labels: zf_labels.clone(),
                    active_idx: 8,
                    resolved_idx: 21,
                    next_active_idx: Some(93),
                    value: ValueSrc::Series(0),
                    annotations: zf_ann,
                },
                Episode {
                    rule: 0,
                    labels: zf_labels,
                    active_idx: 93,
                    resolved_idx: 106,
                    next_active_idx: None,
                    value: ValueSrc::Series(0),
                    annotations: zf_ann,
                },
                // Small for (15s < 30s interval): pending @8, firing one
                // interval later, resolved @21. 11 @93 is not > 13.
                Episode {
                    rule: 1,
                    labels: lbls(&[("alertname", sf), ("ba_dum", "tss"), ("rulegroup", g)]),
                    active_idx: 8,
                    resolved_idx: 21,
                    next_active_idx: None,
                    value: ValueSrc::Series(1),
                    annotations: sf_ann,
                },
            ],
            test_until_samples: total,
        }
    }
}

mod model {
    //! What the specification makes of a case once the group's ticks are
    //! known: when each alert is active, pending, firing and resolved, what
    //! the API shows at a tick, and every alert sent to Alertmanager.

    use super::cases::{AnnCtx, Case, Episode, ValueSrc};
    use super::timebase::*;
    use super::Labels;

    /// Maps sample index `n` to the first evaluation that sees it.
    pub fn e(offset: i64, n: i64) -> i64 {
        tick_at_or_after(T0 + n * RW, offset)
    }

    /// An episode's times.
    #[derive(Clone, Copy, Debug, PartialEq)]
    pub struct Times {
        pub active_at: i64,
        /// `None` if it resolves before `for` has passed.
        pub fired_at: Option<i64>,
        pub resolved_at: i64,
        pub next_active_at: Option<i64>,
    }

    pub fn times(ep: &Episode, for_ms: i64, offset: i64) -> Times {
        let active_at = e(offset, ep.active_idx);
        let resolved_at = e(offset, ep.resolved_idx);
        let fire = if for_ms == 0 {
            active_at
        } else {
            tick_at_or_after(active_at + for_ms, offset)
        };
        Times {
            active_at,
            fired_at: (fire < resolved_at).then_some(fire),
            resolved_at,
            next_active_at: ep.next_active_idx.map(|n| e(offset, n)),
        }
    }

    /// Sample index visible at `t` (`t >= T0`).
    fn idx(t: i64) -> usize {
        usize::try_from((t - T0).div_euclid(RW)).unwrap_or(0)
    }

    pub fn value_at(case: &Case, ep: &Episode, t: i64) -> f64 {
        match ep.value {
            ValueSrc::Series(s) => case.series[s].at(idx(t)),
            ValueSrc::Const(v) => v,
        }
    }

    pub fn annotations_at(case: &Case, ep: &Episode, t: i64) -> Labels {
        let ctx = AnnCtx {
            value: value_at(case, ep, t),
            idx: idx(t),
            series: &case.series,
        };
        (ep.annotations)(&ctx)
    }

    /// One pending or firing alert as the API must show it at a tick.
    #[derive(Clone, Debug)]
    pub struct ActiveAlert {
        pub rule: usize,
        pub labels: Labels,
        pub annotations: Labels,
        pub state: &'static str,
        pub value: f64,
        pub active_at: i64,
    }

    /// The alerts active right after the evaluation at tick `t`.
    pub fn active_at_tick(case: &Case, offset: i64, t: i64) -> Vec<ActiveAlert> {
        let mut out = Vec::new();
        for ep in &case.episodes {
            let tm = times(ep, case.rules[ep.rule].for_ms, offset);
            if t < tm.active_at || t >= tm.resolved_at {
                continue;
            }
            let state = match tm.fired_at {
                Some(f) if t >= f => "firing",
                _ => "pending",
            };
            out.push(ActiveAlert {
                rule: ep.rule,
                labels: ep.labels.clone(),
                annotations: annotations_at(case, ep, t),
                state,
                value: value_at(case, ep, t),
                active_at: tm.active_at,
            });
        }
        out
    }

    /// One alert Alertmanager must receive.
    #[derive(Clone, Debug)]
    pub struct Send {
        pub group: &'static str,
        /// The evaluation that sends it.
        pub tick: i64,
        pub labels: Labels,
        pub annotations: Labels,
        pub starts_at: i64,
        pub ends_at: i64,
        /// `firing #k` / `resolved #k` (k-th resend).
        pub what: String,
    }

    /// Every alert the case sends, in time order per episode.
    pub fn sends(case: &Case, offset: i64) -> Vec<Send> {
        let mut out = Vec::new();
        for ep in &case.episodes {
            let tm = times(ep, case.rules[ep.rule].for_ms, offset);
            let Some(fired_at) = tm.fired_at else {
                continue; // Pending alerts are never sent.
            };
            let mut t = fired_at;
            let mut k = 0;
            while t < tm.resolved_at {
                out.push(Send {
                    group: case.group,
                    tick: t,
                    labels: ep.labels.clone(),
                    annotations: annotations_at(case, ep, t),
                    starts_at: fired_at,
                    ends_at: t + ENDS_AT_DELTA,
                    what: format!("firing #{k}"),
                });
                t += RESEND_EVERY;
                k += 1;
            }
            // A resolved alert keeps the annotations of its last active evaluation.
            let last_annotations = annotations_at(case, ep, tm.resolved_at - GI);
            let stop = tm.next_active_at.unwrap_or(i64::MAX);
            let mut t = tm.resolved_at;
            let mut k = 0;
            while t - tm.resolved_at < RESOLVED_RETENTION && t < stop {
                out.push(Send {
                    group: case.group,
                    tick: t,
                    labels: ep.labels.clone(),
                    annotations: last_annotations.clone(),
                    starts_at: fired_at,
                    ends_at: tm.resolved_at,
                    what: format!("resolved #{k}"),
                });
                t += RESEND_EVERY;
                k += 1;
            }
        }
        out
    }
}

mod receiver {
    //! The Alertmanager stand-in: an HTTP server on 127.0.0.1 recording
    //! every request with its order and the simulated time of arrival.

    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    use axum::body::Bytes;
    use axum::extract::State;
    use axum::http::{HeaderMap, Method, StatusCode, Uri};
    use cairn::storage::clock::{Clock, ManualClock};
    use parking_lot::Mutex;
    use serde_json::Value;

    use super::Labels;

    /// One alert of a request, as received.
    #[derive(Clone, Debug)]
    pub struct Alert {
        pub labels: Labels,
        pub annotations: Labels,
        pub starts_at: Option<i64>,
        pub ends_at: Option<i64>,
        pub generator_url: String,
    }

    /// One request.
    #[derive(Clone, Debug)]
    pub struct Request {
        /// Receive order, from 0.
        pub seq: usize,
        /// The simulated clock when it arrived.
        pub at: i64,
        pub method: String,
        pub path: String,
        pub content_type: String,
        /// The alerts, or why the body is not an alert list.
        pub alerts: Result<Vec<Alert>, String>,
    }

    #[derive(Clone)]
    struct Shared {
        clock: Arc<ManualClock>,
        log: Arc<Mutex<Vec<Request>>>,
        alerts: Arc<AtomicUsize>,
    }

    pub struct Receiver {
        /// Base URL for `rules.alertmanager.urls`.
        pub url: String,
        shared: Shared,
    }

    impl Receiver {
        pub async fn start(clock: Arc<ManualClock>) -> Receiver {
            let shared = Shared {
                clock,
                log: Arc::default(),
                alerts: Arc::default(),
            };
            let app = axum::Router::new()
                .fallback(record)
                .with_state(shared.clone());
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind the receiver");
            let addr = listener.local_addr().expect("receiver address");
            tokio::spawn(async move {
                let _ = axum::serve(listener, app).await;
            });
            Receiver {
                url: format!("http://{addr}"),
                shared,
            }
        }

        /// Alerts received so far.
        pub fn alert_count(&self) -> usize {
            self.shared.alerts.load(Ordering::SeqCst)
        }

        pub fn requests(&self) -> Vec<Request> {
            self.shared.log.lock().clone()
        }
    }

    async fn record(
        State(s): State<Shared>,
        method: Method,
        uri: Uri,
        headers: HeaderMap,
        body: Bytes,
    ) -> StatusCode {
        let at = s.clock.now_ms();
        let alerts = parse(&body);
        let n = alerts.as_ref().map(|a| a.len()).unwrap_or(0);
        let content_type = headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        {
            let mut log = s.log.lock();
            let seq = log.len();
            log.push(Request {
                seq,
                at,
                method: method.to_string(),
                path: uri.path().to_string(),
                content_type,
                alerts,
            });
        }
        s.alerts.fetch_add(n, Ordering::SeqCst);
        StatusCode::OK
    }

    fn string_map(v: Option<&Value>) -> Result<Labels, String> {
        match v {
            None | Some(Value::Null) => Ok(Labels::new()),
            Some(Value::Object(m)) => m
                .iter()
                .map(|(k, v)| match v {
                    Value::String(s) => Ok((k.clone(), s.clone())),
                    other => Err(format!("{k} is not a string: {other}")),
                })
                .collect(),
            Some(other) => Err(format!("not an object: {other}")),
        }
    }

    fn time(v: Option<&Value>) -> Result<Option<i64>, String> {
        match v {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => cairn::api::params::parse_rfc3339(s)
                .map(Some)
                .ok_or_else(|| format!("{s:?} is not an RFC3339 time")),
            Some(other) => Err(format!("time is not a string: {other}")),
        }
    }

    /// Alertmanager's API v2 body: a JSON array of postable alerts.
    fn parse(body: &[u8]) -> Result<Vec<Alert>, String> {
        let v: Value = serde_json::from_slice(body).map_err(|e| format!("not JSON: {e}"))?;
        let Value::Array(items) = v else {
            return Err(format!("not a JSON array: {v}"));
        };
        items
            .iter()
            .map(|a| {
                Ok(Alert {
                    labels: string_map(a.get("labels")).map_err(|e| format!("labels: {e}"))?,
                    annotations: string_map(a.get("annotations"))
                        .map_err(|e| format!("annotations: {e}"))?,
                    starts_at: time(a.get("startsAt")).map_err(|e| format!("startsAt: {e}"))?,
                    ends_at: time(a.get("endsAt")).map_err(|e| format!("endsAt: {e}"))?,
                    generator_url: a
                        .get("generatorURL")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_string(),
                })
            })
            .collect()
    }
}

mod cairn_http {
    //! Calls to Cairn's HTTP API through the in-process router.

    use axum::body::Body;
    use axum::http::Request;
    use axum::Router;
    use cairn::ingest::proto::prometheus as pb;
    use prost::Message;
    use serde_json::Value;
    use tower::ServiceExt;

    use super::samples::Series;

    /// Remote-writes (1.0, snappy protobuf) the sample of index `n` of
    /// every series that has one, at time `t`.
    pub async fn remote_write(
        app: &Router,
        series: &[&Series],
        n: usize,
        t: i64,
    ) -> Result<(), String> {
        let timeseries: Vec<pb::TimeSeries> = series
            .iter()
            .filter_map(|s| {
                let v = *s.values.get(n)?;
                Some(pb::TimeSeries {
                    labels: s
                        .labels
                        .iter()
                        .map(|(k, v)| pb::Label {
                            name: k.clone(),
                            value: v.clone(),
                        })
                        .collect(),
                    samples: vec![pb::Sample {
                        value: v,
                        timestamp: t,
                    }],
                    ..Default::default()
                })
            })
            .collect();
        if timeseries.is_empty() {
            return Ok(());
        }
        let req = pb::WriteRequest {
            timeseries,
            metadata: vec![],
        };
        let body = snap::raw::Encoder::new()
            .compress_vec(&req.encode_to_vec())
            .map_err(|e| e.to_string())?;
        let http = Request::post("/api/v1/write")
            .header("Content-Type", "application/x-protobuf")
            .header("Content-Encoding", "snappy")
            .header("X-Prometheus-Remote-Write-Version", "0.1.0")
            .body(Body::from(body))
            .map_err(|e| e.to_string())?;
        let resp = app.clone().oneshot(http).await.map_err(|e| e.to_string())?;
        let status = resp.status();
        if status.is_success() {
            return Ok(());
        }
        let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20)
            .await
            .unwrap_or_default();
        Err(format!(
            "remote write answered {status}: {}",
            String::from_utf8_lossy(&bytes)
        ))
    }

    /// GETs `path_and_query`; the parsed body if the answer is a 200.
    pub async fn get_json(app: &Router, path_and_query: &str) -> Result<Value, String> {
        let req = Request::get(path_and_query)
            .body(Body::empty())
            .map_err(|e| e.to_string())?;
        let resp = app.clone().oneshot(req).await.map_err(|e| e.to_string())?;
        let status = resp.status();
        let bytes = axum::body::to_bytes(resp.into_body(), 64 << 20)
            .await
            .map_err(|e| e.to_string())?;
        if !status.is_success() {
            return Err(format!(
                "GET {path_and_query} answered {status}: {}",
                String::from_utf8_lossy(&bytes)
            ));
        }
        serde_json::from_slice(&bytes).map_err(|e| format!("GET {path_and_query}: not JSON: {e}"))
    }

    /// An instant query at `t` (ms).
    pub fn query_url(query: &str, t: i64) -> String {
        let q = form_urlencoded::Serializer::new(String::new())
            .append_pair("query", query)
            .append_pair(
                "time",
                &format!("{}.{:03}", t.div_euclid(1000), t.rem_euclid(1000)),
            )
            .finish();
        format!("/api/v1/query?{q}")
    }
}

mod report {
    //! Collected failures, grouped by rule group and kind, a few examples
    //! each, so that one run shows the whole picture.

    use std::collections::BTreeMap;

    const EXAMPLES: usize = 8;

    #[derive(Default)]
    pub struct Report {
        by_kind: BTreeMap<(String, String), (usize, Vec<String>)>,
    }

    impl Report {
        pub fn fail(&mut self, group: &str, kind: &str, msg: String) {
            let e = self
                .by_kind
                .entry((group.to_string(), kind.to_string()))
                .or_default();
            e.0 += 1;
            if e.1.len() < EXAMPLES {
                e.1.push(msg);
            }
        }

        pub fn is_empty(&self) -> bool {
            self.by_kind.is_empty()
        }

        pub fn render(&self) -> String {
            let mut s = String::new();
            for ((group, kind), (n, examples)) in &self.by_kind {
                s.push_str(&format!("\n== {group} / {kind}: {n} failure(s)\n"));
                for e in examples {
                    s.push_str("   - ");
                    s.push_str(e);
                    s.push('\n');
                }
                if *n > examples.len() {
                    s.push_str(&format!("   ... and {} more\n", n - examples.len()));
                }
            }
            s
        }
    }
}

mod checks {
    //! Compares what Cairn shows and sends with the model.

    use std::collections::BTreeMap;

    use serde_json::Value;

    use super::cases::Case;
    use super::model::{self, ActiveAlert, Send};
    use super::receiver::Request;
    use super::report::Report;
    use super::timebase::*;
    use super::{show, Labels};

    /// `EXTERNAL_URL` is `server.external_url`; generator URLs start with it.
    pub const EXTERNAL_URL: &str = "http://cairn.test:3100";

    fn map_of(v: Option<&Value>) -> Result<Labels, String> {
        match v {
            None | Some(Value::Null) => Ok(Labels::new()),
            Some(Value::Object(m)) => m
                .iter()
                .map(|(k, v)| {
                    v.as_str()
                        .map(|s| (k.clone(), s.to_string()))
                        .ok_or_else(|| format!("{k}: not a string"))
                })
                .collect(),
            Some(o) => Err(format!("not an object: {o}")),
        }
    }

    fn time_of(v: Option<&Value>) -> Option<i64> {
        v.and_then(Value::as_str)
            .and_then(cairn::api::params::parse_rfc3339)
    }

    fn norm_query(q: &str) -> String {
        cairn::promql::format_query(q).unwrap_or_else(|_| q.to_string())
    }

    /// One API alert, canonical for comparison.
    fn canon_api_alert(a: &Value) -> String {
        let labels = map_of(a.get("labels")).map(|m| show(&m));
        let ann = map_of(a.get("annotations")).map(|m| show(&m));
        let value = a
            .get("value")
            .and_then(Value::as_str)
            .and_then(|s| s.parse::<f64>().ok())
            .map(|v| v.to_string())
            .unwrap_or_else(|| format!("<bad value {:?}>", a.get("value")));
        let active = time_of(a.get("activeAt"))
            .map(rel)
            .unwrap_or_else(|| format!("<bad activeAt {:?}>", a.get("activeAt")));
        format!(
            "{} annotations={} state={} value={} activeAt={}",
            labels.unwrap_or_else(|e| format!("<bad labels: {e}>")),
            ann.unwrap_or_else(|e| format!("<bad annotations: {e}>")),
            a.get("state").and_then(Value::as_str).unwrap_or("<none>"),
            value,
            active
        )
    }

    fn canon_expected(a: &ActiveAlert) -> String {
        format!(
            "{} annotations={} state={} value={} activeAt={}",
            show(&a.labels),
            show(&a.annotations),
            a.state,
            a.value,
            rel(a.active_at)
        )
    }

    /// Multiset difference, both ways, reported under `kind`.
    fn diff(
        report: &mut Report,
        group: &str,
        kind: &str,
        when: i64,
        mut exp: Vec<String>,
        mut act: Vec<String>,
    ) {
        exp.sort();
        act.sort();
        if exp == act {
            return;
        }
        let mut missing = Vec::new();
        let mut extra = Vec::new();
        let (mut i, mut j) = (0, 0);
        while i < exp.len() || j < act.len() {
            match (exp.get(i), act.get(j)) {
                (Some(e), Some(a)) if e == a => {
                    i += 1;
                    j += 1;
                }
                (Some(e), Some(a)) if e < a => {
                    missing.push(e.clone());
                    i += 1;
                }
                (Some(_), Some(a)) => {
                    extra.push(a.clone());
                    j += 1;
                }
                (Some(e), None) => {
                    missing.push(e.clone());
                    i += 1;
                }
                (None, Some(a)) => {
                    extra.push(a.clone());
                    j += 1;
                }
                (None, None) => break,
            }
        }
        report.fail(
            group,
            kind,
            format!(
                "at {}: expected but missing {missing:?}; present but unexpected {extra:?}",
                rel(when)
            ),
        );
    }

    /// `/api/v1/rules` after the evaluation of `case`'s group at `t`.
    pub fn rules_api(report: &mut Report, case: &Case, offset: i64, t: i64, body: &Value) {
        let g = case.group;
        let groups = body["data"]["groups"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        if body["status"] != "success" {
            report.fail(
                g,
                "rules API",
                format!("at {}: status is not success: {body}", rel(t)),
            );
        }
        let Some(grp) = groups.iter().find(|x| x["name"] == g) else {
            report.fail(g, "rules API", format!("at {}: group missing", rel(t)));
            return;
        };
        if grp["interval"].as_f64() != Some((GI / 1000) as f64) {
            report.fail(
                g,
                "rules API",
                format!("interval {} is not 30", grp["interval"]),
            );
        }
        let last = time_of(grp.get("lastEvaluation"));
        if last != Some(t) {
            report.fail(
                g,
                "rules API lastEvaluation",
                format!(
                    "at {}: group lastEvaluation {} is not the evaluation time",
                    rel(t),
                    grp["lastEvaluation"]
                ),
            );
        }
        let rules = grp["rules"].as_array().cloned().unwrap_or_default();
        if rules.len() != case.rules.len() {
            report.fail(
                g,
                "rules API",
                format!("{} rules, expected {}", rules.len(), case.rules.len()),
            );
            return;
        }
        let active = model::active_at_tick(case, offset, t);
        for (i, (def, r)) in case.rules.iter().zip(&rules).enumerate() {
            let mut bad = Vec::new();
            if r["type"] != "alerting" {
                bad.push(format!("type {}", r["type"]));
            }
            if r["name"] != def.name.as_str() {
                bad.push(format!("name {}", r["name"]));
            }
            let q = r["query"].as_str().unwrap_or("");
            if norm_query(q) != norm_query(&def.query) {
                bad.push(format!("query {q:?} is not {:?}", def.query));
            }
            if r["duration"].as_f64() != Some(def.for_ms as f64 / 1000.0) {
                bad.push(format!("duration {}", r["duration"]));
            }
            match map_of(r.get("labels")) {
                Ok(m) if m == def.labels => {}
                other => bad.push(format!("labels {other:?}")),
            }
            match map_of(r.get("annotations")) {
                Ok(m) if m == def.annotations => {}
                other => bad.push(format!("annotations {other:?}")),
            }
            if r["health"] != "ok" {
                bad.push(format!(
                    "health {} (lastError {})",
                    r["health"], r["lastError"]
                ));
            }
            if !matches!(r.get("lastError"), None | Some(Value::Null)) && r["lastError"] != "" {
                bad.push(format!("lastError {}", r["lastError"]));
            }
            if time_of(r.get("lastEvaluation")) != Some(t) {
                bad.push(format!("lastEvaluation {}", r["lastEvaluation"]));
            }
            if !r["evaluationTime"].as_f64().is_some_and(|x| x >= 0.0) {
                bad.push(format!("evaluationTime {}", r["evaluationTime"]));
            }
            let mine: Vec<&ActiveAlert> = active.iter().filter(|a| a.rule == i).collect();
            let state = if mine.iter().any(|a| a.state == "firing") {
                "firing"
            } else if mine.is_empty() {
                "inactive"
            } else {
                "pending"
            };
            if r["state"] != state {
                bad.push(format!("state {} is not {state}", r["state"]));
            }
            if !bad.is_empty() {
                report.fail(
                    g,
                    "rules API rule",
                    format!("at {}: rule {}: {}", rel(t), def.name, bad.join("; ")),
                );
            }
            let exp = mine.iter().map(|a| canon_expected(a)).collect();
            let act = r["alerts"]
                .as_array()
                .map(|v| v.iter().map(canon_api_alert).collect())
                .unwrap_or_default();
            diff(report, g, "rules API alerts", t, exp, act);
        }
    }

    /// `/api/v1/alerts`: the group's alerts (by their `rulegroup` label).
    pub fn alerts_api(report: &mut Report, case: &Case, offset: i64, t: i64, body: &Value) {
        let g = case.group;
        let all = body["data"]["alerts"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let act = all
            .iter()
            .filter(|a| a["labels"]["rulegroup"] == g)
            .map(canon_api_alert)
            .collect();
        let exp = model::active_at_tick(case, offset, t)
            .iter()
            .map(canon_expected)
            .collect();
        diff(report, g, "alerts API", t, exp, act);
    }

    /// `ALERTS{rulegroup="<group>"}` queried at `t`.
    pub fn alerts_series(report: &mut Report, case: &Case, offset: i64, t: i64, body: &Value) {
        let g = case.group;
        let t_s = t as f64 / 1000.0;
        let exp = model::active_at_tick(case, offset, t)
            .iter()
            .map(|a| {
                let mut l = a.labels.clone();
                l.insert("__name__".into(), "ALERTS".into());
                l.insert("alertstate".into(), a.state.into());
                format!("{} @{t_s} = 1", show(&l))
            })
            .collect();
        let act = body["data"]["result"]
            .as_array()
            .map(|v| {
                v.iter()
                    .map(|s| {
                        let l = map_of(s.get("metric"))
                            .map(|m| show(&m))
                            .unwrap_or_else(|e| format!("<bad metric: {e}>"));
                        let at = s["value"][0]
                            .as_f64()
                            .map(|x| x.to_string())
                            .unwrap_or_else(|| format!("<bad time {}>", s["value"][0]));
                        format!(
                            "{l} @{at} = {}",
                            s["value"][1].as_str().unwrap_or("<no value>")
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        diff(report, g, "ALERTS series", t, exp, act);
    }

    fn canon_send(
        tick: i64,
        labels: &Labels,
        ann: &Labels,
        s: Option<i64>,
        e: Option<i64>,
    ) -> String {
        let fmt = |x: Option<i64>| x.map(rel).unwrap_or_else(|| "<none>".into());
        format!(
            "sent at {} {} annotations={} startsAt={} endsAt={}",
            rel(tick),
            show(labels),
            show(ann),
            fmt(s),
            fmt(e)
        )
    }

    /// Every received alert against every expected send. Received alerts
    /// are attributed to the latest tick of their group at or before the
    /// simulated time at which they arrived.
    pub fn received(
        report: &mut Report,
        cases: &[Case],
        offsets: &BTreeMap<String, i64>,
        expected: &[Send],
        requests: &[Request],
    ) {
        // Per group: canonical send -> what it is (`firing #k`, ...).
        let mut exp: BTreeMap<&str, Vec<(String, String)>> = BTreeMap::new();
        let mut act: BTreeMap<&str, Vec<String>> = BTreeMap::new();
        for c in cases {
            exp.entry(c.group).or_default();
            act.entry(c.group).or_default();
        }
        for s in expected {
            exp.entry(s.group).or_default().push((
                canon_send(
                    s.tick,
                    &s.labels,
                    &s.annotations,
                    Some(s.starts_at),
                    Some(s.ends_at),
                ),
                s.what.clone(),
            ));
        }
        for r in requests {
            if r.method != "POST" || r.path != "/api/v2/alerts" {
                report.fail(
                    "(receiver)",
                    "request",
                    format!(
                        "#{} {} {} (expected POST /api/v2/alerts)",
                        r.seq, r.method, r.path
                    ),
                );
            }
            if !r.content_type.starts_with("application/json") {
                report.fail(
                    "(receiver)",
                    "request",
                    format!("#{} content type {:?}", r.seq, r.content_type),
                );
            }
            let alerts = match &r.alerts {
                Ok(a) => a,
                Err(e) => {
                    report.fail("(receiver)", "request body", format!("#{}: {e}", r.seq));
                    continue;
                }
            };
            for a in alerts {
                let group = a.labels.get("rulegroup").map(String::as_str).unwrap_or("");
                let Some(case) = cases.iter().find(|c| c.group == group) else {
                    report.fail(
                        "(receiver)",
                        "unknown alert",
                        format!("#{} at {}: {}", r.seq, rel(r.at), show(&a.labels)),
                    );
                    continue;
                };
                let off = offsets.get(case.group).copied().unwrap_or(0);
                let tick = tick_at_or_before(r.at, off);
                if !a.generator_url.starts_with(EXTERNAL_URL) {
                    report.fail(
                        case.group,
                        "generatorURL",
                        format!("{:?} does not start with {EXTERNAL_URL}", a.generator_url),
                    );
                }
                act.entry(case.group).or_default().push(canon_send(
                    tick,
                    &a.labels,
                    &a.annotations,
                    a.starts_at,
                    a.ends_at,
                ));
            }
        }
        for (g, e) in exp {
            let a = act.remove(g).unwrap_or_default();
            let (ne, na) = (e.len(), a.len());
            if diff_sends(report, g, e, a) > 0 {
                report.fail(
                    g,
                    "sent alerts (counts)",
                    format!("expected {ne}, received {na}"),
                );
            }
        }
    }

    /// Multiset difference of sends, one failure line per differing send;
    /// returns how many differ.
    fn diff_sends(
        report: &mut Report,
        g: &str,
        exp: Vec<(String, String)>,
        act: Vec<String>,
    ) -> usize {
        let mut act_left: BTreeMap<String, usize> = BTreeMap::new();
        for a in act {
            *act_left.entry(a).or_default() += 1;
        }
        let mut bad = 0;
        for (e, what) in exp {
            match act_left.get_mut(&e) {
                Some(n) if *n > 0 => *n -= 1,
                _ => {
                    bad += 1;
                    report.fail(g, "sent alerts: missing", format!("{what}: {e}"));
                }
            }
        }
        for (a, n) in act_left {
            for _ in 0..n {
                bad += 1;
                report.fail(g, "sent alerts: unexpected", a.clone());
            }
        }
        bad
    }
}

/// `../shared/conformance/alerting/rules.yaml`, next to the repository.
fn rules_yaml() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/conformance/alerting/rules.yaml")
}

/// `3m`, `6m`, `15s` in milliseconds (what `rules.yaml` uses).
fn short_duration_ms(s: &str) -> Option<i64> {
    let (n, unit) = s.split_at(s.len().checked_sub(1)?);
    let n: i64 = n.parse().ok()?;
    match unit {
        "s" => Some(n * 1000),
        "m" => Some(n * 60_000),
        "h" => Some(n * 3_600_000),
        _ => None,
    }
}

/// The cases describe exactly the rules of the shared `rules.yaml`.
#[test]
fn rules_yaml_is_the_one_the_cases_describe() {
    let text = std::fs::read_to_string(rules_yaml()).expect("read rules.yaml");
    let v: serde_json::Value = serde_saphyr::from_str(&text).expect("parse rules.yaml");
    let groups = v["groups"].as_array().expect("groups");
    let cases = cases::all();
    let names: Vec<&str> = groups.iter().filter_map(|g| g["name"].as_str()).collect();
    let case_names: Vec<&str> = cases.iter().map(|c| c.group).collect();
    assert_eq!(names, case_names);
    let to_map = |v: &serde_json::Value| -> Labels {
        v.as_object()
            .map(|m| {
                m.iter()
                    .map(|(k, v)| {
                        (
                            k.clone(),
                            v.as_str().unwrap_or("<not a string>").to_string(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    for (g, c) in groups.iter().zip(&cases) {
        assert_eq!(g["interval"], "30s", "{}", c.group);
        let rules = g["rules"].as_array().expect("rules");
        assert_eq!(rules.len(), c.rules.len(), "{}", c.group);
        for (r, d) in rules.iter().zip(&c.rules) {
            assert_eq!(r["alert"], d.name.as_str());
            assert_eq!(r["expr"], d.query.as_str(), "{}", d.name);
            let for_ms = r["for"]
                .as_str()
                .map(|s| short_duration_ms(s).expect("for"));
            assert_eq!(for_ms.unwrap_or(0), d.for_ms, "{}", d.name);
            assert_eq!(to_map(&r["labels"]), d.labels, "{}", d.name);
            assert_eq!(to_map(&r["annotations"]), d.annotations, "{}", d.name);
        }
        for ep in &c.episodes {
            let mut want = c.rules[ep.rule].labels.clone();
            want.insert("alertname".into(), c.rules[ep.rule].name.clone());
            for (k, v) in &want {
                assert_eq!(ep.labels.get(k), Some(v), "{} {k}", c.group);
            }
        }
    }
}

/// The model agrees with the upstream cases' `ExpectedAlerts` for every
/// group offset: first firing send within one interval of the upstream
/// time (`TimeTolerance: groupInterval`), first resolved send within two
/// (`tolerance = 2 * tc.groupInterval`), resends `RESEND_EVERY` apart, the
/// 15-minute (or re-activation) end of resolved resends, and nothing at all
/// from `PendingAndResolved_AlwaysInactive`.
#[test]
fn model_agrees_with_upstream_expectations_for_any_offset() {
    use timebase::*;
    /// One alert of an upstream `ExpectedAlerts()`: the sample indices at
    /// which it fires and resolves, and the index at which its resolved
    /// resends are cut by a new alert with the same labels (`_89th`).
    struct Upstream {
        group: &'static str,
        alertname: &'static str,
        variant: Option<&'static str>,
        fire: i64,
        res: i64,
        cut: Option<i64>,
    }
    let u = |group, alertname, variant, fire, res, cut| Upstream {
        group,
        alertname,
        variant,
        fire,
        res,
        cut,
    };
    let (nao, pfr, zfsf) = (
        "NewAlerts_OrderCheck",
        "PendingAndFiringAndResolved",
        "ZeroFor_SmallFor",
    );
    let upstream = [
        u(nao, "NewAlerts_OrderCheck_Rule1", Some("one"), 20, 73, None),
        u(nao, "NewAlerts_OrderCheck_Rule1", Some("two"), 44, 65, None),
        u(nao, "NewAlerts_OrderCheck_Rule2", None, 44, 65, None),
        u(
            pfr,
            "PendingAndFiringAndResolved_SimpleAlert",
            None,
            32,
            69,
            Some(89),
        ),
        u(
            pfr,
            "PendingAndFiringAndResolved_SimpleAlert",
            None,
            113,
            134,
            None,
        ),
        u(zfsf, "ZeroFor_SmallFor_ZeroFor", None, 8, 21, Some(93)),
        u(zfsf, "ZeroFor_SmallFor_ZeroFor", None, 93, 106, None),
        u(zfsf, "ZeroFor_SmallFor_SmallFor", None, 10, 21, None),
    ];
    let cases = cases::all();
    for off_ms in (0..GI).step_by(250) {
        let off = (T0 + off_ms).rem_euclid(GI);
        let mut total = 0;
        for c in &cases {
            let sends = model::sends(c, off);
            if c.group == "PendingAndResolved_AlwaysInactive" {
                assert!(sends.is_empty(), "offset {off_ms}: {sends:?}");
            }
            total += sends.len();
        }
        let mut matched = 0;
        for &Upstream {
            group: g,
            alertname: name,
            variant,
            fire,
            res,
            cut,
        } in &upstream
        {
            let c = cases.iter().find(|c| c.group == g).expect("case");
            let mine: Vec<model::Send> = model::sends(c, off)
                .into_iter()
                .filter(|s| {
                    s.labels["alertname"] == name
                        && s.labels.get("variant").map(String::as_str) == variant
                        && s.starts_at >= T0 + fire * RW
                        && s.starts_at < T0 + fire * RW + GI
                })
                .collect();
            let firing: Vec<&model::Send> = mine
                .iter()
                .filter(|s| s.what.starts_with("firing"))
                .collect();
            let resolved: Vec<&model::Send> = mine
                .iter()
                .filter(|s| s.what.starts_with("resolved"))
                .collect();
            let ctx = format!("{name} {variant:?} fire@{fire} offset {off_ms}ms");
            let (Some(f0), Some(r0)) = (firing.first(), resolved.first()) else {
                panic!("{ctx}: no firing or no resolved sends: {mine:?}");
            };
            assert!(
                f0.tick >= T0 + fire * RW && f0.tick < T0 + fire * RW + GI,
                "{ctx}"
            );
            assert!(
                r0.tick >= T0 + res * RW && r0.tick < T0 + res * RW + 2 * GI,
                "{ctx}"
            );
            for w in firing.windows(2).chain(resolved.windows(2)) {
                assert_eq!(w[1].tick - w[0].tick, RESEND_EVERY, "{ctx}");
            }
            for s in &firing {
                assert!(s.tick < r0.tick, "{ctx}");
                assert_eq!(s.ends_at, s.tick + ENDS_AT_DELTA, "{ctx}");
            }
            for s in &resolved {
                assert_eq!(s.ends_at, r0.tick, "{ctx}");
            }
            // Upstream expects `for ts := resolved; ts < end; ts += ResendDelay`.
            let end = cut
                .map(|n| T0 + n * RW)
                .unwrap_or(i64::MAX)
                .min(T0 + res * RW + RESOLVED_RETENTION);
            let upstream_n = ((end - (T0 + res * RW) + RESEND_DELAY - 1) / RESEND_DELAY) as usize;
            assert_eq!(resolved.len(), upstream_n, "{ctx}");
            matched += mine.len();
        }
        assert_eq!(
            matched, total,
            "offset {off_ms}: every send belongs to an upstream alert"
        );
    }
}

/// Runs `eval_due(now)` on a blocking-capable thread of the runtime.
fn eval(state: &cairn::server::state::SharedState, now: i64) -> usize {
    tokio::task::block_in_place(|| state.rules.eval_due(now))
}

/// The groups' `lastEvaluation` strings in `/api/v1/rules`.
async fn last_evaluations(app: &axum::Router) -> BTreeMap<String, String> {
    let Ok(v) = cairn_http::get_json(app, "/api/v1/rules").await else {
        return BTreeMap::new();
    };
    v["data"]["groups"]
        .as_array()
        .map(|gs| {
            gs.iter()
                .filter_map(|g| {
                    Some((
                        g["name"].as_str()?.to_string(),
                        g["lastEvaluation"].to_string(),
                    ))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Phase 1: finds each group's tick offset (see the module docs).
async fn discover_offsets(
    state: &cairn::server::state::SharedState,
    clock: &ManualClock,
    app: &axum::Router,
    groups: &[&str],
) -> Result<BTreeMap<String, i64>, String> {
    use timebase::*;
    let mut runs: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    let mut seen = last_evaluations(app).await;
    let mut now = START;
    let done = |runs: &BTreeMap<String, Vec<i64>>| {
        groups
            .iter()
            .all(|g| runs.get(*g).is_some_and(|r| r.len() >= 2))
    };
    while now < START + 2 * GI + 1_000 && !done(&runs) {
        now += 1;
        clock.set(now);
        if eval(state, now) == 0 {
            continue;
        }
        state.notifier.flush(Duration::from_secs(5)).await;
        let cur = last_evaluations(app).await;
        for g in groups {
            if cur.get(*g) != seen.get(*g) {
                runs.entry(g.to_string()).or_default().push(now);
            }
        }
        seen = cur;
    }
    if !done(&runs) {
        return Err(format!(
            "not every group ran twice in {}s after loading (runs seen, by the change of \
             lastEvaluation in /api/v1/rules: {:?}; last lastEvaluations: {seen:?})",
            (now - START) / 1000,
            runs.iter()
                .map(|(g, r)| (g.clone(), r.iter().map(|t| rel(*t)).collect::<Vec<_>>()))
                .collect::<BTreeMap<_, _>>()
        ));
    }
    Ok(groups
        .iter()
        .map(|g| (g.to_string(), runs[*g][1].rem_euclid(GI)))
        .collect())
}

/// Waits until the receiver holds `n` alerts, at most `patience`; whether it did.
async fn wait_for_alerts(rx: &receiver::Receiver, n: usize, patience: Duration) -> bool {
    let deadline = tokio::time::Instant::now() + patience;
    while rx.alert_count() < n {
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    true
}

/// The whole upstream suite against one in-process Cairn.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alert_generator_compliance() {
    run_suite(false).await;
}

/// The same after a reload of the rule files right after start, before
/// any evaluation (SIGHUP or `POST /-/reload` early): the reloaded groups
/// must behave as freshly loaded ones (and write `ALERTS`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alert_generator_compliance_after_an_early_reload() {
    run_suite(true).await;
}

/// Runs the simulation described in the module docs; panics with every
/// failure found. `early_reload`: reload the rules once more before the
/// first evaluation.
async fn run_suite(early_reload: bool) {
    use timebase::*;
    let path = rules_yaml();
    assert!(path.exists(), "{} is missing", path.display());
    let cases = cases::all();
    let groups: Vec<&str> = cases.iter().map(|c| c.group).collect();

    let clock = ManualClock::new(START);
    let rx = receiver::Receiver::start(clock.clone()).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let mut cfg = cairn::config::Config::default();
    cfg.storage.data_dir = dir.path().to_path_buf();
    cfg.server.external_url = checks::EXTERNAL_URL.into();
    cfg.rules.files = vec![path.display().to_string()];
    cfg.rules.alertmanager.urls = vec![rx.url.clone()];
    assert_eq!(cfg.rules.resend_delay.as_millis_i64(), RESEND_DELAY);
    let state = cairn::server::build_state(Arc::new(cfg), clock.clone());
    cairn::server::open_stores(state.clone())
        .await
        .expect("open stores");
    let _sender = state.notifier.spawn();
    // `open_stores` loads the rule files once the stores are open; load
    // them here only if it did not (a second load right away would be a
    // reload before the groups' first evaluations).
    if state.rules.group_count() == 0 {
        if let Err(e) = state.rules.reload(None) {
            panic!("rules.yaml does not load: {e}");
        }
    }
    if early_reload {
        if let Err(e) = state.rules.reload(None) {
            panic!("rules.yaml does not reload: {e}");
        }
    }
    assert_eq!(state.rules.group_count(), cases.len(), "groups loaded");
    let app = cairn::server::router(state.clone());

    // Phase 1: the groups' offsets.
    let offsets = match discover_offsets(&state, &clock, &app, &groups).await {
        Ok(o) => o,
        Err(e) => panic!("{e}"),
    };
    let offset = |g: &str| offsets.get(g).copied().unwrap_or(0);
    eprintln!(
        "group offsets: {:?}",
        offsets
            .iter()
            .map(|(g, o)| (g, o.rem_euclid(GI)))
            .collect::<Vec<_>>()
    );

    // The model: every send, and how long to run (three resend intervals
    // past the last one, at least to the end of the longest upstream case).
    let mut expected: Vec<model::Send> = cases
        .iter()
        .flat_map(|c| model::sends(c, offset(c.group)))
        .collect();
    expected.sort_by_key(|s| s.tick);
    let last_send = expected.last().map(|s| s.tick).unwrap_or(T0);
    let longest = cases
        .iter()
        .map(|c| c.test_until_samples)
        .max()
        .unwrap_or(0);
    let sim_end = (last_send + 3 * RESEND_EVERY).max(T0 + longest * RW);
    let all_series: Vec<&samples::Series> = cases.iter().flat_map(|c| c.series.iter()).collect();
    let n_samples = all_series.iter().map(|s| s.values.len()).max().unwrap_or(0) as i64;

    // Phase 2: from event to event.
    let mut report = report::Report::default();
    let mut now = clock_now(&clock);
    let mut next_sample: i64 = 0;
    let mut next_tick: BTreeMap<&str, i64> = groups
        .iter()
        .map(|g| (*g, tick_at_or_after(now + 1, offset(g))))
        .collect();
    let mut patience = Duration::from_secs(2);
    loop {
        let ts = if next_sample < n_samples {
            T0 + next_sample * RW
        } else {
            i64::MAX
        };
        let tt = next_tick.values().copied().min().unwrap_or(i64::MAX);
        let t = ts.min(tt);
        if t > sim_end {
            break;
        }
        assert!(t > now || (t == now && ts == t), "time goes forward");
        now = t;
        clock.set(now);
        if ts == now {
            let n = usize::try_from(next_sample).unwrap_or(0);
            if let Err(e) = cairn_http::remote_write(&app, &all_series, n, now).await {
                report.fail(
                    "(remote write)",
                    "write",
                    format!("sample {n} at {}: {e}", rel(now)),
                );
            }
            next_sample += 1;
        }
        if tt != now {
            continue;
        }
        let due: Vec<&str> = groups
            .iter()
            .copied()
            .filter(|g| next_tick[g] == now)
            .collect();
        let ran = eval(&state, now);
        if ran != due.len() {
            report.fail(
                "(schedule)",
                "eval_due",
                format!(
                    "eval_due({}) ran {ran} group(s), expected {due:?}",
                    rel(now)
                ),
            );
        }
        state.notifier.flush(Duration::from_secs(5)).await;
        let want = expected.iter().filter(|s| s.tick <= now).count();
        if !wait_for_alerts(&rx, want, patience).await {
            // Missing alerts are reported at the end; stop waiting long.
            patience = Duration::from_millis(20);
        }
        let rules = cairn_http::get_json(&app, "/api/v1/rules").await;
        let alerts = cairn_http::get_json(&app, "/api/v1/alerts").await;
        let series = cairn_http::get_json(&app, &cairn_http::query_url("ALERTS", now)).await;
        for g in &due {
            let Some(case) = cases.iter().find(|c| c.group == *g) else {
                continue;
            };
            let off = offset(g);
            match &rules {
                Ok(v) => checks::rules_api(&mut report, case, off, now, v),
                Err(e) => report.fail(g, "rules API", e.clone()),
            }
            match &alerts {
                Ok(v) => checks::alerts_api(&mut report, case, off, now, v),
                Err(e) => report.fail(g, "alerts API", e.clone()),
            }
            match &series {
                Ok(v) => {
                    let mut only = v.clone();
                    if let Some(r) = only["data"]["result"].as_array_mut() {
                        r.retain(|s| s["metric"]["rulegroup"] == *g);
                    }
                    checks::alerts_series(&mut report, case, off, now, &only)
                }
                Err(e) => report.fail(g, "ALERTS series", e.clone()),
            }
            next_tick.insert(g, now + GI);
        }
    }
    state.notifier.flush(Duration::from_secs(5)).await;
    tokio::time::sleep(Duration::from_millis(50)).await;

    let requests = rx.requests();
    checks::received(&mut report, &cases, &offsets, &expected, &requests);
    let received: usize = requests
        .iter()
        .map(|r| r.alerts.as_ref().map(Vec::len).unwrap_or(0))
        .sum();
    eprintln!(
        "simulated {} to {}: {} alerts expected, {received} received in {} requests",
        rel(START),
        rel(sim_end),
        expected.len(),
        requests.len()
    );
    assert!(
        report.is_empty(),
        "alert-generator compliance failures (times relative to T0 = {}; cases: {}):{}",
        cairn::api::params::format_rfc3339(T0),
        cases
            .iter()
            .map(|c| c.upstream)
            .collect::<Vec<_>>()
            .join(", "),
        report.render()
    );
}

fn clock_now(clock: &ManualClock) -> i64 {
    use cairn::storage::clock::Clock;
    clock.now_ms()
}
