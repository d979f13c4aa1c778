//! Cairn: a self-hosted, all-in-one observability backend. This crate holds
//! the whole server; `main.rs` is only the command line.

pub mod api;
pub mod calendar;
pub mod cli;
pub mod config;
pub mod demo;
pub mod ingest;
pub mod logql;
pub mod logs;
pub mod metrics;
pub mod model;
pub mod otlp;
pub mod promql;
pub mod rules;
pub mod selfmon;
pub mod server;
pub mod storage;
pub mod template;
pub mod traceql;
pub mod traces;
pub mod units;
