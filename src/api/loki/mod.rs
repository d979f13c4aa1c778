//! The Loki HTTP API (query side) under `/loki/api/v1/` and the legacy
//! `/api/prom/` paths: each endpoint a plain function over a tenant's
//! [`LogSource`], the LogQL [`Engine`], the parameters and headers,
//! returning an [`ApiResponse`]; thin axum handlers in [`handlers`] wire
//! them to the server state. The exact JSON shapes and parameter rules are
//! Loki's (see `docs/loki-api.md`).

pub mod deps;
pub mod detected;
pub mod encode;
pub mod handlers;
pub mod legacy;
pub mod lines;
pub mod metadata;
pub mod misc;
pub mod params;
pub mod query;
pub mod response;
pub mod tail;

#[cfg(test)]
mod tests;

pub use handlers::routes;
pub use response::{ApiError, ApiResponse};

use crate::logql::eval::Engine;
use crate::logs::LogSource;

/// What every endpoint function reads: the tenant's logs, the engine with
/// its limits, and the current time (injectable for tests).
#[derive(Clone, Copy)]
pub struct Ctx<'a> {
    pub src: &'a dyn LogSource,
    pub engine: &'a Engine,
    pub now_ns: i64,
}
