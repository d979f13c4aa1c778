//! `/api/v1/rules` and `/api/v1/alerts` in Prometheus' shapes (also under
//! `/prometheus/api/v1/` for Grafana's Loki datasource): filters,
//! pagination, RFC 3339 times as Grafana decodes them.
//!
//! - [`filter`]: the request parameters and what they select.
//! - [`render`]: the JSON of groups, rules and alerts.
//! - `sha1`: the digest behind pagination tokens.

pub mod filter;
pub mod render;
mod sha1;
#[cfg(test)]
mod tests;

use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

use crate::api::error::PromError;
use crate::api::params::Params;
use crate::rules::view::{GroupView, RuleView};
use crate::server::body::tenant;
use crate::server::state::SharedState;

pub use filter::RulesFilter;

/// `GET /api/v1/rules`
pub async fn rules(
    State(st): State<SharedState>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    let result = tenant(&headers).map_err(PromError::bad_data).and_then(|t| {
        let params = Params::from_parts(q.as_deref(), None);
        rules_json(&st.rules.groups(t.as_str()), &params)
    });
    match result {
        Ok(v) => json_response(&v),
        Err(e) => e.into_response(),
    }
}

/// `GET /api/v1/alerts`
pub async fn alerts(
    State(st): State<SharedState>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    let _ = q;
    match tenant(&headers) {
        Ok(t) => json_response(&alerts_json(&st.rules.groups(t.as_str()))),
        Err(e) => PromError::bad_data(e).into_response(),
    }
}

/// The whole `/api/v1/rules` answer for a tenant's groups and the request's
/// parameters.
pub fn rules_json(groups: &[GroupView], params: &Params) -> Result<Value, PromError> {
    let f = RulesFilter::parse(params)?;
    let (groups, next) = f.apply(groups)?;
    let mut data = json!({ "groups": groups });
    if let Some(tok) = next {
        data["groupNextToken"] = json!(tok);
    }
    Ok(json!({ "status": "success", "data": data }))
}

/// The whole `/api/v1/alerts` answer: every pending and firing alert of the
/// tenant's alerting rules, in group and rule order.
pub fn alerts_json(groups: &[GroupView]) -> Value {
    let alerts: Vec<Value> = groups
        .iter()
        .flat_map(|g| &g.rules)
        .filter_map(|r| match r {
            RuleView::Alerting { alerts, .. } => Some(alerts),
            RuleView::Recording(_) => None,
        })
        .flatten()
        .map(render::alert)
        .collect();
    json!({ "status": "success", "data": { "alerts": alerts } })
}

fn json_response(v: &Value) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], v.to_string()).into_response()
}
