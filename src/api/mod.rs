//! The emulated HTTP APIs, one file each: parameters in, engine or store
//! call, the exact JSON shapes out. Evaluation lives in the engines.

pub mod error;
pub mod histogram_json;
pub mod loki;
pub mod params;
pub mod prom_json;
pub mod prometheus;
pub mod rules;
pub mod tempo;
