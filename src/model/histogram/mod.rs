//! Native histograms: the one in-memory representation every layer shares
//! (ingest, TSDB, PromQL, API). Prometheus distinguishes integer and float
//! histograms; we keep only the float form, because every integer histogram
//! is exactly representable as one (counts below 2^53) and PromQL converts to
//! float anyway. Storage notices integral counts and encodes them compactly.
//!
//! Bucket layout follows Prometheus: buckets are addressed by index; spans
//! (`offset`, `length`) say which index ranges are present; `*_buckets`
//! hold the **absolute** counts of the present buckets in index order
//! (not deltas: deltas are a wire/disk encoding detail).
//!
//! Exponential schemas (-4..=8): bucket `i` covers `(base^(i-1), base^i]`
//! with `base = 2^(2^-schema)`. Schema [`CUSTOM_BUCKETS_SCHEMA`] (-53): the
//! bucket `i` covers `(custom_values[i-1], custom_values[i]]`, the last one
//! up to +Inf; such histograms have no zero bucket and no negative buckets.
//!
//! The operations follow Prometheus' `model/histogram` and PromQL semantics
//! exactly (v3.x), one job per file:
//!
//! * [`bounds`]: bucket boundaries per schema, [`Bucket`] and the iterators
//!   (positive, negative, all ascending/descending).
//! * `layout` (private): spans ⇄ (index, count) lists, compaction, resolution
//!   reduction.
//! * [`arith`]: `add`, `sub`, `mul`, `div`, `neg`, `equals`, `compact`,
//!   `reduce_resolution`, `copy_to_schema`.
//! * [`reset`]: `detect_reset` (counter resets between samples).
//! * [`validate`]: `validate` (consistency of network input).
//! * [`stats`]: `quantile`, `fraction`, `stddev`, `stdvar`, `avg`.
//! * [`trim`]: the trim operators `</` (`trim_upper`) and `>/` (`trim_lower`).
//! * [`kahan`]: compensated summation (`kahan_add`, `kahan_finish`) for
//!   `sum`/`avg`/`*_over_time`.
//! * [`literal`]: the promqltest `{{...}}` notation (parse, expand, print,
//!   compare like promqltest).
//! * [`display`]: `Display` like Prometheus' `String()`.
//!
//! Nothing here panics on any input: histograms arrive from the network.
//! Operations that cannot be applied return a [`HistogramError`].

pub mod arith;
pub mod bounds;
pub mod display;
pub mod kahan;
mod layout;
pub mod literal;
pub mod reset;
#[cfg(test)]
mod robustness;
pub mod stats;
mod table;
pub mod trim;
pub mod validate;

pub use arith::{AddOutcome, HistogramError};
pub use bounds::{get_bound, Bucket};
pub use literal::{
    expand_histogram_token, expand_histogram_token_with_hint, parse_histogram_literal,
    split_series_values,
};

/// Schema number of native histograms with custom bucket boundaries (NHCB).
pub const CUSTOM_BUCKETS_SCHEMA: i32 = -53;

/// Counter-reset hint carried with each histogram sample.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum CounterResetHint {
    /// Nothing is known: the reader must compare with the previous sample.
    #[default]
    Unknown,
    /// A counter reset happened right before this sample.
    CounterReset,
    /// Definitely no counter reset before this sample.
    NotCounterReset,
    /// A gauge histogram: counter resets do not apply.
    Gauge,
}

/// A run of consecutive present buckets, `offset` buckets after the end of
/// the previous span (or after index 0 for the first span).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Span {
    pub offset: i32,
    pub length: u32,
}

/// A native histogram sample value.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FloatHistogram {
    pub counter_reset_hint: CounterResetHint,
    pub schema: i32,
    pub zero_threshold: f64,
    pub zero_count: f64,
    pub count: f64,
    pub sum: f64,
    pub positive_spans: Vec<Span>,
    pub negative_spans: Vec<Span>,
    /// Absolute counts of the positive buckets, in span order.
    pub positive_buckets: Vec<f64>,
    /// Absolute counts of the negative buckets, in span order.
    pub negative_buckets: Vec<f64>,
    /// Upper bounds of the custom buckets (schema -53 only), ascending.
    pub custom_values: Vec<f64>,
}

/// Smallest exponential schema (lowest resolution).
pub const EXPONENTIAL_SCHEMA_MIN: i32 = -4;
/// Largest exponential schema (highest resolution).
pub const EXPONENTIAL_SCHEMA_MAX: i32 = 8;

/// Whether `schema` is one of the exponential schemas (-4..=8).
pub fn is_exponential_schema(schema: i32) -> bool {
    (EXPONENTIAL_SCHEMA_MIN..=EXPONENTIAL_SCHEMA_MAX).contains(&schema)
}

impl FloatHistogram {
    /// Whether this histogram uses custom bucket boundaries (NHCB).
    pub fn uses_custom_buckets(&self) -> bool {
        self.schema == CUSTOM_BUCKETS_SCHEMA
    }
}

/// A histogram sample of a series at time `t` (milliseconds).
#[derive(Clone, Debug, PartialEq)]
pub struct HistogramSample {
    pub t: i64,
    pub h: Box<FloatHistogram>,
}
