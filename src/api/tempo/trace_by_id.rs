//! `GET /api/traces/<id>` and `GET /api/v2/traces/<id>`: one whole trace,
//! in protobuf when the client accepts `application/protobuf` (as
//! Grafana does), in Tempo's JSON otherwise. `start`/`end` (unix seconds)
//! narrow the partitions looked at.

use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;

use super::{json, params, proto, run_query, tenant_of, TempoError};
use crate::api::params::Params;
use crate::server::state::SharedState;
use crate::traces::parse_trace_id;

/// Which of the two endpoints answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Version {
    V1,
    V2,
}

pub async fn v1(
    State(st): State<SharedState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    answer(st, &id, &headers, q.as_deref(), Version::V1).await
}

pub async fn v2(
    State(st): State<SharedState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    answer(st, &id, &headers, q.as_deref(), Version::V2).await
}

/// Whether the client asked for protobuf.
fn wants_protobuf(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|v| {
            let mime = v.split(';').next().unwrap_or("").trim();
            mime.eq_ignore_ascii_case("application/protobuf")
                || mime.eq_ignore_ascii_case("application/x-protobuf")
        })
}

async fn answer(
    st: SharedState,
    id: &str,
    headers: &HeaderMap,
    query: Option<&str>,
    version: Version,
) -> Response {
    match fetch_and_encode(st, id, headers, query, version).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

async fn fetch_and_encode(
    st: SharedState,
    id: &str,
    headers: &HeaderMap,
    query: Option<&str>,
    version: Version,
) -> Result<Response, TempoError> {
    let trace_id = parse_trace_id(id).map_err(TempoError::bad_request)?;
    let tenant = tenant_of(headers)?;
    let p = Params::from_parts(query, None);
    // Tempo uses the hint only when both ends are given.
    let window = match (p.get("start"), p.get("end")) {
        (Some(_), Some(_)) => params::window(&p)?.map(|w| (w.start_ns, w.end_ns)),
        _ => None,
    };
    let store = st.traces.clone();
    let found = run_query(&st, move |_| {
        Ok(store.trace_by_id(&tenant, &trace_id, window)?)
    })
    .await?;
    let batches = match found {
        Some(b) if !b.is_empty() => b,
        _ => return Err(TempoError::not_found("trace not found")),
    };
    if wants_protobuf(headers) {
        let body = match version {
            Version::V1 => proto::encode_trace(batches),
            Version::V2 => proto::encode_trace_v2(batches),
        };
        return Ok((
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/protobuf")],
            body,
        )
            .into_response());
    }
    let doc = match version {
        Version::V1 => json::trace_v1(&batches),
        Version::V2 => json::trace_v2(&batches),
    };
    Ok(Json(doc).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_header_selects_protobuf() {
        let mut h = HeaderMap::new();
        assert!(!wants_protobuf(&h));
        h.insert(header::ACCEPT, "application/json".parse().unwrap());
        assert!(!wants_protobuf(&h));
        h.insert(
            header::ACCEPT,
            "application/json;q=0.5, application/protobuf"
                .parse()
                .unwrap(),
        );
        assert!(wants_protobuf(&h));
    }
}
