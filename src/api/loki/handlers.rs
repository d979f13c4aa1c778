//! Thin axum handlers: gather the parameters (URL query and form body),
//! pick the tenant's log source, run the endpoint function on the blocking
//! pool under the query gate, and return its answer; `tail` upgrades to a
//! websocket and polls once a second.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use super::response::ApiResponse;
use super::{detected, legacy, metadata, misc, query, tail, Ctx};
use crate::api::params::Params;
use crate::logql::eval::{Engine, EngineOptions};
use crate::logs::LogSource;
use crate::model::TenantId;
use crate::server::body::{decode_body, tenant};
use crate::server::state::SharedState;

/// Every route of the Loki query API (push is served elsewhere).
pub fn routes() -> Router<SharedState> {
    let v1 = "/loki/api/v1";
    Router::new()
        .route(&format!("{v1}/query"), get(h_query).post(h_query))
        .route(
            &format!("{v1}/query_range"),
            get(h_query_range).post(h_query_range),
        )
        .route(&format!("{v1}/labels"), get(h_labels).post(h_labels))
        .route(
            &format!("{v1}/label/{{name}}/values"),
            get(h_label_values).post(h_label_values),
        )
        .route(&format!("{v1}/series"), get(h_series).post(h_series))
        .route(
            &format!("{v1}/index/stats"),
            get(h_index_stats).post(h_index_stats),
        )
        .route(&format!("{v1}/index/volume"), get(h_volume).post(h_volume))
        .route(
            &format!("{v1}/index/volume_range"),
            get(h_volume_range).post(h_volume_range),
        )
        .route(&format!("{v1}/detected_labels"), get(h_detected_labels))
        .route(&format!("{v1}/detected_fields"), get(h_detected_fields))
        .route(
            &format!("{v1}/detected_field/{{name}}/values"),
            get(h_detected_field_values),
        )
        .route(&format!("{v1}/patterns"), get(h_patterns))
        .route(&format!("{v1}/tail"), get(h_tail))
        .route(&format!("{v1}/status/buildinfo"), get(h_buildinfo))
        .route(
            &format!("{v1}/format_query"),
            get(h_format_query).post(h_format_query),
        )
        .route(
            &format!("{v1}/{{*rest}}"),
            get(h_not_found).post(h_not_found),
        )
        .route("/api/prom/query", get(h_legacy_query))
        .route("/api/prom/label", get(h_legacy_label))
        .route("/api/prom/label/{name}/values", get(h_legacy_label_values))
        .route("/api/prom/series", get(h_series).post(h_series))
        .route("/api/prom/tail", get(h_tail))
}

/// The tenant's logs (empty for a tenant that never pushed).
fn source(st: &SharedState, t: &TenantId) -> Arc<dyn LogSource> {
    st.logs.source(t)
}

fn engine(st: &SharedState) -> Engine {
    Engine::new(EngineOptions {
        timeout: st.cfg.query.timeout.0,
        ..EngineOptions::default()
    })
}

fn now_ns() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos().min(i64::MAX as u128) as i64)
        .unwrap_or(0)
}

/// URL parameters, plus the body's when it is a form.
fn params(
    st: &SharedState,
    headers: &HeaderMap,
    q: Option<&str>,
    body: &Bytes,
) -> Result<Params, ApiResponse> {
    if body.is_empty() {
        return Ok(Params::from_parts(q, None));
    }
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !ct.is_empty() && !ct.starts_with("application/x-www-form-urlencoded") {
        return Ok(Params::from_parts(q, None));
    }
    let raw = decode_body(
        headers,
        body,
        st.cfg.server.max_request_body.0 as usize,
        &[],
    )
    .map_err(|e| ApiResponse::bad_request(&e.message()))?;
    Ok(Params::from_parts(q, Some(&raw)))
}

/// The common path: parameters, tenant, source; `f` runs on the blocking
/// pool under the query gate.
async fn run<F>(
    st: SharedState,
    headers: HeaderMap,
    q: Option<String>,
    body: Bytes,
    f: F,
) -> Response
where
    F: FnOnce(&Ctx<'_>, &Params, &HeaderMap) -> ApiResponse + Send + 'static,
{
    let p = match params(&st, &headers, q.as_deref(), &body) {
        Ok(p) => p,
        Err(r) => return r.into_response(),
    };
    let t = match tenant(&headers) {
        Ok(t) => t,
        Err(e) => return ApiResponse::bad_request(&e).into_response(),
    };
    let Some(_permit) = st.queries.acquire().await else {
        return ApiResponse::error(
            StatusCode::TOO_MANY_REQUESTS,
            "too many outstanding requests",
        )
        .into_response();
    };
    let src = source(&st, &t);
    let eng = engine(&st);
    let timeout = st.cfg.query.timeout.0;
    let job = tokio::task::spawn_blocking(move || {
        let cx = Ctx {
            src: src.as_ref(),
            engine: &eng,
            now_ns: now_ns(),
        };
        f(&cx, &p, &headers)
    });
    match tokio::time::timeout(timeout, job).await {
        Ok(Ok(r)) => r.into_response(),
        Ok(Err(e)) => {
            ApiResponse::error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()).into_response()
        }
        Err(_) => ApiResponse::error(StatusCode::GATEWAY_TIMEOUT, "context deadline exceeded")
            .into_response(),
    }
}

macro_rules! simple {
    ($name:ident, $f:expr) => {
        async fn $name(
            State(st): State<SharedState>,
            headers: HeaderMap,
            RawQuery(q): RawQuery,
            body: Bytes,
        ) -> Response {
            run(st, headers, q, body, $f).await
        }
    };
}

simple!(h_query, query::query);
simple!(h_query_range, query::query_range);
simple!(h_labels, |cx, p, _h| metadata::labels(cx, p));
simple!(h_series, |cx, p, _h| metadata::series(cx, p));
simple!(h_index_stats, |cx, p, _h| metadata::index_stats(cx, p));
simple!(h_volume, |cx, p, _h| metadata::volume(cx, p));
simple!(h_volume_range, |cx, p, _h| metadata::volume_range(cx, p));
simple!(h_detected_labels, |cx, p, _h| detected::detected_labels(
    cx, p
));
simple!(h_detected_fields, |cx, p, _h| detected::detected_fields(
    cx, p
));
simple!(h_patterns, |cx, p, _h| detected::patterns(cx, p));
simple!(h_legacy_query, |cx, p, _h| legacy::query(cx, p));
simple!(h_legacy_label, |cx, p, _h| legacy::label(cx, p));

async fn h_label_values(
    State(st): State<SharedState>,
    Path(name): Path<String>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> Response {
    run(st, headers, q, body, move |cx, p, _| {
        metadata::label_values(cx, &name, p)
    })
    .await
}

async fn h_legacy_label_values(
    State(st): State<SharedState>,
    Path(name): Path<String>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> Response {
    run(st, headers, q, body, move |cx, p, _| {
        legacy::label_values(cx, &name, p)
    })
    .await
}

async fn h_detected_field_values(
    State(st): State<SharedState>,
    Path(name): Path<String>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> Response {
    run(st, headers, q, body, move |cx, p, _| {
        detected::detected_field_values(cx, &name, p)
    })
    .await
}

async fn h_buildinfo() -> Response {
    misc::buildinfo().into_response()
}

async fn h_format_query(
    State(st): State<SharedState>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> Response {
    match params(&st, &headers, q.as_deref(), &body) {
        Ok(p) => misc::format_query(&p).into_response(),
        Err(r) => r.into_response(),
    }
}

async fn h_not_found() -> Response {
    ApiResponse::not_found().into_response()
}

/// `GET /loki/api/v1/tail` (websocket).
async fn h_tail(
    State(st): State<SharedState>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
    ws: Result<WebSocketUpgrade, axum::extract::ws::rejection::WebSocketUpgradeRejection>,
) -> Response {
    let p = Params::from_parts(q.as_deref(), None);
    let t = match tenant(&headers) {
        Ok(t) => t,
        Err(e) => return ApiResponse::bad_request(&e).into_response(),
    };
    let categorize = super::params::categorize_labels(&headers);
    let req = match tail::parse_request(&p, now_ns(), categorize) {
        Ok(r) => Arc::new(r),
        Err(e) => return ApiResponse::from(e).into_response(),
    };
    let ws = match ws {
        Ok(ws) => ws,
        Err(rej) => return rej.into_response(),
    };
    ws.on_upgrade(move |socket| tail_loop(socket, st, t, req))
}

/// Polls once a second and sends what is new until the client goes away.
/// The tenant's source is looked up at every poll: a tail opened before the
/// tenant's first push would otherwise keep the empty source forever.
async fn tail_loop(
    mut socket: WebSocket,
    st: SharedState,
    t: TenantId,
    req: Arc<tail::TailRequest>,
) {
    let mut state = tail::TailState::default();
    let mut feed = st.logs.subscribe();
    let mut pushes: Vec<Arc<crate::logs::TailBatch>> = Vec::new();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            msg = socket.recv() => match msg {
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                Some(Ok(_)) => continue,
            },
            b = feed.recv() => {
                // A lagging receiver loses the oldest pushes; those still
                // reach the tail through the store if inside the window.
                match b {
                    Ok(b) if b.tenant == t.as_str() && pushes.len() < 10_000 => pushes.push(b),
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
                    _ => {}
                }
                continue;
            }
        }
        let (src2, req2) = (source(&st, &t), req.clone());
        let batch = std::mem::take(&mut pushes);
        let polled = tokio::task::spawn_blocking(move || {
            let r = tail::poll_with_pushes(src2.as_ref(), &req2, &mut state, now_ns(), &batch);
            (state, r)
        })
        .await;
        let (s, r) = match polled {
            Ok(x) => x,
            Err(_) => return,
        };
        state = s;
        match r {
            Ok(Some(text)) => {
                if socket.send(Message::Text(text.into())).await.is_err() {
                    return;
                }
            }
            Ok(None) => {}
            Err(e) => {
                let _ = socket
                    .send(Message::Close(Some(axum::extract::ws::CloseFrame {
                        code: 1011,
                        reason: e.message.into(),
                    })))
                    .await;
                return;
            }
        }
    }
}
