//! PromQL: parsing (the `promql-parser` crate) and our own evaluator over a
//! [`source::SampleSource`]. The HTTP layer calls [`Engine::instant`] and
//! [`Engine::range`]; nothing here knows about HTTP.

pub mod source;
