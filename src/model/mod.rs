//! Internal data types shared by every layer: label sets, matchers, samples
//! and tenant ids. Nothing here knows about wire protocols or disk formats.

pub mod histogram;
pub mod labels;
pub mod matcher;
pub mod sample;
pub mod tenant;

pub use histogram::{FloatHistogram, HistogramSample};
pub use labels::{Label, Labels};
pub use matcher::{MatchOp, Matcher};
pub use sample::{is_stale_nan, Sample, STALE_NAN_BITS};
pub use tenant::TenantId;
