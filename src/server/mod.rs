//! Wiring: the axum router over every HTTP API, middleware (request metrics,
//! body limits), readiness, background maintenance and graceful shutdown.

pub mod body;
pub mod loki_push;
pub mod state;
pub mod write;

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;

use crate::api::prometheus as prom;
use crate::config::Config;
use crate::logs::LogStore;
use crate::metrics::MetricsStore;
use crate::promql::{Engine, EngineOptions};
use crate::selfmon::{Gauges, SelfMetrics};
use crate::storage::clock::{Clock, SystemClock};
use state::{AppState, QueryGate, SharedState};

/// Builds the shared state (stores are created but not yet opened).
pub fn build_state(cfg: Arc<Config>, clock: Arc<dyn Clock>) -> SharedState {
    let selfmon = Arc::new(SelfMetrics::new());
    let fsync_hist = selfmon.wal_fsync.with(&[]);
    let observer: crate::metrics::store::FsyncObserver = Arc::new(move |d| fsync_hist.observe(d));
    let metrics = Arc::new(MetricsStore::new(
        cfg.clone(),
        clock.clone(),
        Some(observer),
    ));
    let logs = Arc::new(LogStore::new(cfg.clone(), clock.clone()));
    let traces = Arc::new(crate::traces::TraceStore::new(cfg.clone(), clock.clone()));
    let log_engine = Arc::new(crate::logql::eval::Engine::new(
        crate::logql::eval::EngineOptions {
            timeout: cfg.query.timeout.0,
            ..Default::default()
        },
    ));
    let engine = Arc::new(Engine::new(EngineOptions {
        lookback_delta_ms: cfg.query.lookback_delta.as_millis_i64(),
        max_samples: cfg.query.max_samples,
        timeout: cfg.query.timeout.0,
    }));
    let notifier = crate::rules::Notifier::new(&cfg.rules, selfmon.clone());
    let rules = crate::rules::RuleManager::new(
        cfg.clone(),
        crate::rules::manager::RuleDeps {
            metrics: metrics.clone(),
            logs: logs.clone(),
            engine: engine.clone(),
            log_engine: log_engine.clone(),
            clock: clock.clone(),
            selfmon: selfmon.clone(),
            notifier: notifier.clone(),
        },
    );
    Arc::new(AppState {
        rules,
        notifier,
        config_loader: None,
        queries: QueryGate::new(cfg.query.max_concurrent),
        cfg,
        metrics,
        logs,
        traces,
        log_engine,
        clock,
        engine,
        limiters: Default::default(),
        selfmon,
        ready: Default::default(),
    })
}

fn prometheus_api(st: SharedState) -> Router<SharedState> {
    Router::new()
        .route("/api/v1/query", get(prom::query).post(prom::query))
        .route(
            "/api/v1/query_range",
            get(prom::query_range).post(prom::query_range),
        )
        .route("/api/v1/series", get(prom::series).post(prom::series))
        .route("/api/v1/labels", get(prom::labels).post(prom::labels))
        .route("/api/v1/label/{name}/values", get(prom::label_values))
        .route("/api/v1/metadata", get(prom::metadata))
        .route(
            "/api/v1/query_exemplars",
            get(prom::query_exemplars).post(prom::query_exemplars),
        )
        .route("/api/v1/status/buildinfo", get(prom::buildinfo))
        .route("/api/v1/status/tsdb", get(prom::tsdb_status))
        .route("/api/v1/rules", get(crate::api::rules::rules))
        .route("/api/v1/alerts", get(crate::api::rules::alerts))
        .route(
            "/api/v1/format_query",
            get(prom::format_query).post(prom::format_query),
        )
        .route_layer(middleware::from_fn_with_state(st, require_ready))
        .route("/api/v1/write", post(write::remote_write))
        .route("/api/v1/push", post(write::remote_write))
}

/// Loki push endpoints (writes wait for the replay themselves).
fn loki_ingest() -> Router<SharedState> {
    Router::new()
        .route("/loki/api/v1/push", post(loki_push::push))
        .route("/api/prom/push", post(loki_push::push))
}

/// Queries before the WAL replay finished would see partial data: answer
/// 503 in Prometheus' error shape instead (writes wait for the replay).
async fn require_ready(State(st): State<SharedState>, req: Request, next: Next) -> Response {
    if st.ready.load(Ordering::SeqCst) {
        next.run(req).await
    } else {
        crate::api::error::PromError::unavailable("Cairn is starting: replaying write-ahead logs")
            .into_response()
    }
}

/// The same gate for the Loki API, answered in Loki's plain-text form.
async fn require_ready_plain(State(st): State<SharedState>, req: Request, next: Next) -> Response {
    if st.ready.load(Ordering::SeqCst) {
        next.run(req).await
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "Cairn is starting: replaying write-ahead logs\n",
        )
            .into_response()
    }
}

/// The complete HTTP application.
pub fn router(st: SharedState) -> Router {
    let limit = st.cfg.server.max_request_body.0 as usize;
    Router::new()
        .merge(prometheus_api(st.clone()))
        .nest("/prometheus", prometheus_api(st.clone()))
        .merge(loki_ingest())
        .merge(crate::otlp::http::routes())
        .merge(
            crate::api::tempo::routes().route_layer(middleware::from_fn_with_state(
                st.clone(),
                require_ready_plain,
            )),
        )
        .merge(
            crate::api::loki::handlers::routes().route_layer(middleware::from_fn_with_state(
                st.clone(),
                require_ready_plain,
            )),
        )
        .route("/-/reload", post(reload_rules).put(reload_rules))
        .route("/ready", get(ready))
        .route("/metrics", get(self_metrics))
        .route("/", get(index))
        .layer(middleware::from_fn_with_state(st.clone(), track_requests))
        .layer(DefaultBodyLimit::max(limit))
        .with_state(st)
}

async fn index() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        concat!(
            "Cairn ",
            env!("CARGO_PKG_VERSION"),
            "\n\n",
            "Prometheus API: /api/v1/query, /api/v1/query_range, ... (also under /prometheus)\n",
            "Remote write:   POST /api/v1/write\n",
            "Loki API:       /loki/api/v1/query_range, /loki/api/v1/push, ...\n",
            "Tempo API:      /api/traces/<id>, /api/search, /api/v2/search/tags, ...\n",
            "OTLP:           POST /v1/traces, /v1/logs, /v1/metrics (gRPC on :4317, HTTP on :4318)\n",
            "OTLP:           POST /v1/traces, /v1/logs, /v1/metrics\n",
            "Health:         /ready, /metrics\n"
        ),
    )
}

async fn ready(State(st): State<SharedState>) -> Response {
    if st.ready.load(Ordering::SeqCst) {
        (StatusCode::OK, "ready\n").into_response()
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "replaying write-ahead logs\n",
        )
            .into_response()
    }
}

async fn self_metrics(State(st): State<SharedState>) -> Response {
    let st2 = st.clone();
    let gauges = tokio::task::spawn_blocking(move || {
        let dbs = st2.metrics.all();
        Gauges {
            active_series: dbs.iter().map(|d| d.head().num_series() as u64).sum(),
            blocks: dbs.iter().map(|d| d.blocks().len() as u64).sum(),
            disk_bytes: dbs.iter().map(|d| d.disk_bytes()).sum(),
            head_memory_bytes: dbs.iter().map(|d| d.head().memory_bytes() as u64).sum(),
            log_head_bytes: st2.logs.all().iter().map(|x| x.head_bytes()).sum(),
            log_partitions: st2
                .logs
                .all()
                .iter()
                .map(|x| x.partition_count() as u64)
                .sum(),
            log_disk_bytes: st2.logs.disk_bytes(),
            trace_head_bytes: st2.traces.all().iter().map(|x| x.head_bytes()).sum(),
            trace_head_spans: st2.traces.all().iter().map(|x| x.head_spans()).sum(),
            trace_partitions: st2
                .traces
                .all()
                .iter()
                .map(|x| x.partition_count() as u64)
                .sum(),
            trace_disk_bytes: st2.traces.disk_bytes(),
            tenants: dbs.len() as u64,
            ready: st2.ready.load(Ordering::SeqCst),
            notification_queue_length: st2.notifier.queue_len() as u64,
            notification_queue_capacity: st2.notifier.queue_capacity() as u64,
            rule_reload_successful: st2.rules.reload_ok(),
            rule_groups: st2.rules.group_count() as u64,
        }
    })
    .await
    .unwrap_or_default();
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        st.selfmon.render(&gauges),
    )
        .into_response()
}

/// Counts requests by route, method and code, and times them.
async fn track_requests(State(st): State<SharedState>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "unmatched".into());
    let method = req.method().to_string();
    let started = Instant::now();
    let resp = next.run(req).await;
    st.selfmon
        .http_duration
        .with(&[&route])
        .observe(started.elapsed());
    st.selfmon
        .http_requests
        .with(&[&route, &method, resp.status().as_str()])
        .inc();
    resp
}

const NOT_READY_FOR_RELOAD: &str =
    "Cairn is starting: rules load once the write-ahead logs are replayed";

/// Re-reads the configuration (if it came from a file) and the rule
/// files. A broken config or rule file keeps the rules in force.
pub async fn reload(st: &SharedState) -> Result<usize, String> {
    // Before the WAL replay is done the rules are not loaded yet (they load
    // right after it, from the files as they are then).
    if !st.ready.load(Ordering::SeqCst) {
        return Err(NOT_READY_FOR_RELOAD.into());
    }
    let st2 = st.clone();
    tokio::task::spawn_blocking(move || {
        let cfg = match &st2.config_loader {
            Some(load) => Some(Arc::new(load().map_err(|e| {
                let msg = format!("reloading the configuration: {e}");
                tracing::error!(error = %e, "reloading the configuration failed; nothing changed");
                st2.rules.note_reload_failure(&msg);
                msg
            })?)),
            None => None,
        };
        st2.rules.reload(cfg)
    })
    .await
    .map_err(|e| format!("reload task failed: {e}"))?
}

/// `POST /-/reload`: as Prometheus, 200 when the rules reloaded, 500 with
/// the error otherwise.
async fn reload_rules(State(st): State<SharedState>) -> Response {
    match reload(&st).await {
        Err(e) if e == NOT_READY_FOR_RELOAD => {
            (StatusCode::SERVICE_UNAVAILABLE, format!("{e}\n")).into_response()
        }
        Ok(n) => (StatusCode::OK, format!("reloaded {n} rule groups\n")).into_response(),
        Err(e) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("failed to reload config: {e}\n"),
        )
            .into_response(),
    }
}

/// Opens the stores (WAL replay) and flips readiness.
pub async fn open_stores(st: SharedState) -> anyhow::Result<()> {
    let st2 = st.clone();
    let started = Instant::now();
    let n = tokio::task::spawn_blocking(move || st2.metrics.open_existing()).await??;
    let st2 = st.clone();
    let n_logs = tokio::task::spawn_blocking(move || st2.logs.open_existing()).await??;
    st.logs.start_sealer();
    let st2 = st.clone();
    tokio::task::spawn_blocking(move || st2.traces.open_existing()).await??;
    st.traces.start_sealer();
    st.ready.store(true, Ordering::SeqCst);
    // Rules read the stores: load them once the replay is done. A broken
    // rule file at start is reported and the valid files still run.
    let st2 = st.clone();
    let _ = tokio::task::spawn_blocking(move || st2.rules.reload(None)).await;
    tracing::info!(
        tenants = n,
        log_tenants = n_logs,
        elapsed_ms = started.elapsed().as_millis() as u64,
        "stores opened, ready"
    );
    Ok(())
}

/// Runs maintenance (seal, compact, retention, disk cap) on an interval.
pub fn spawn_maintenance(st: SharedState) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(
            st.cfg
                .storage
                .maintenance_interval
                .0
                .max(std::time::Duration::from_secs(1)),
        );
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if !st.ready.load(Ordering::SeqCst) {
                continue;
            }
            let st2 = st.clone();
            match tokio::task::spawn_blocking(move || st2.metrics.maintain()).await {
                Ok(r) if r != Default::default() => tracing::info!(?r, "maintenance done"),
                Ok(_) => {}
                Err(e) => tracing::error!(error = %e, "maintenance task failed"),
            }
            let st2 = st.clone();
            match tokio::task::spawn_blocking(move || {
                let metrics: u64 = st2.metrics.all().iter().map(|d| d.disk_bytes()).sum();
                let traces = st2.traces.apply_retention(metrics + st2.logs.disk_bytes());
                if traces != Default::default() {
                    tracing::info!(?traces, "trace retention done");
                }
                st2.logs.apply_retention(metrics + st2.traces.disk_bytes())
            })
            .await
            {
                Ok(r) if r != Default::default() => tracing::info!(?r, "log retention done"),
                Ok(_) => {}
                Err(e) => tracing::error!(error = %e, "log retention task failed"),
            }
        }
    })
}

/// Serves until SIGTERM/SIGINT, then stops accepting, lets in-flight
/// requests finish (bounded by the graceful shutdown timeout) and closes
/// the WALs.
pub async fn serve(cfg: Arc<Config>, loader: Option<state::ConfigLoader>) -> anyhow::Result<()> {
    // Handlers first: a SIGTERM that arrives as soon as the port is open
    // must shut down gracefully, not kill the process.
    let mut signals = ShutdownSignals::install()?;
    let mut st = build_state(cfg.clone(), Arc::new(SystemClock));
    if let Some(st) = Arc::get_mut(&mut st) {
        st.config_loader = loader;
    }
    let listener = tokio::net::TcpListener::bind(&cfg.server.http_listen_address)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", cfg.server.http_listen_address))?;
    tracing::info!(address = %cfg.server.http_listen_address, data_dir = %cfg.storage.data_dir.display(), "Cairn listening");
    let otlp_grpc =
        bind_optional(&cfg.otlp.grpc_listen_address, "otlp.grpc_listen_address").await?;
    let otlp_http =
        bind_optional(&cfg.otlp.http_listen_address, "otlp.http_listen_address").await?;
    let opener = tokio::spawn(open_stores(st.clone()));
    let maintenance = spawn_maintenance(st.clone());
    let notifier = st.notifier.spawn();
    let scheduler = st.rules.spawn();
    let hup = spawn_sighup(st.clone(), &mut signals);
    let app = router(st.clone());
    let grace = cfg.server.graceful_shutdown_timeout.0;
    let (tx, rx) = tokio::sync::watch::channel(false);
    let stop = move || {
        let mut rx = rx.clone();
        async move {
            let _ = rx.wait_for(|stop| *stop).await;
        }
    };
    let mut servers: Vec<(&str, tokio::task::JoinHandle<anyhow::Result<()>>)> = Vec::new();
    let shutdown = stop();
    servers.push((
        "http",
        tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(shutdown)
                .await
                .map_err(anyhow::Error::from)
        }),
    ));
    if let Some(l) = otlp_http {
        let app = crate::otlp::http::router(st.clone());
        let shutdown = stop();
        servers.push((
            "otlp-http",
            tokio::spawn(async move {
                axum::serve(l, app)
                    .with_graceful_shutdown(shutdown)
                    .await
                    .map_err(anyhow::Error::from)
            }),
        ));
    }
    if let Some(l) = otlp_grpc {
        let st2 = st.clone();
        let shutdown = stop();
        servers.push((
            "otlp-grpc",
            tokio::spawn(async move {
                crate::otlp::grpc::serve_grpc(st2, l, shutdown)
                    .await
                    .map_err(anyhow::Error::from)
            }),
        ));
    }
    signals.wait().await;
    tracing::info!("shutdown requested: no new connections, finishing in-flight requests");
    let _ = tx.send(true);
    let deadline = tokio::time::Instant::now() + grace;
    for (name, server) in servers {
        match tokio::time::timeout_at(deadline, server).await {
            Ok(Ok(Ok(()))) => {}
            Ok(Ok(Err(e))) => {
                tracing::error!(server = name, error = %e, "server error during shutdown")
            }
            Ok(Err(e)) => tracing::error!(server = name, error = %e, "server task failed"),
            Err(_) => tracing::warn!(server = name, "graceful shutdown timed out, closing anyway"),
        }
    }
    maintenance.abort();
    opener.abort();
    scheduler.abort();
    hup.abort();
    st.notifier.flush(std::time::Duration::from_secs(5)).await;
    notifier.abort();
    let st2 = st.clone();
    tokio::task::spawn_blocking(move || {
        st2.logs.close();
        st2.traces.close();
        st2.metrics.close()
    })
    .await?;
    tracing::info!("write-ahead logs flushed and closed, bye");
    Ok(())
}

/// Binds an optional listener (an empty address disables it); a bind
/// failure is a start-up error naming the setting.
async fn bind_optional(
    address: &str,
    setting: &str,
) -> anyhow::Result<Option<tokio::net::TcpListener>> {
    if address.trim().is_empty() {
        return Ok(None);
    }
    let l = tokio::net::TcpListener::bind(address)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {address} ({setting}): {e}"))?;
    tracing::info!(address, setting, "OTLP receiver listening");
    Ok(Some(l))
}

/// Reloads on SIGHUP, as Prometheus does.
fn spawn_sighup(st: SharedState, signals: &mut ShutdownSignals) -> tokio::task::JoinHandle<()> {
    #[cfg(unix)]
    let hup = signals.hup.take();
    #[cfg(not(unix))]
    let _ = signals;
    tokio::spawn(async move {
        #[cfg(unix)]
        if let Some(mut hup) = hup {
            while hup.recv().await.is_some() {
                tracing::info!("SIGHUP: reloading the configuration and rule files");
                let _ = reload(&st).await;
            }
        }
        #[cfg(not(unix))]
        drop(st);
    })
}

/// SIGTERM, SIGINT and SIGHUP, registered up front (tokio registers a
/// signal only when its stream is created; until then the default action,
/// ending the process, applies).
struct ShutdownSignals {
    #[cfg(unix)]
    hup: Option<tokio::signal::unix::Signal>,
    #[cfg(unix)]
    term: tokio::signal::unix::Signal,
    #[cfg(unix)]
    int: tokio::signal::unix::Signal,
}

impl ShutdownSignals {
    fn install() -> anyhow::Result<Self> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            Ok(ShutdownSignals {
                hup: Some(signal(SignalKind::hangup())?),
                term: signal(SignalKind::terminate())?,
                int: signal(SignalKind::interrupt())?,
            })
        }
        #[cfg(not(unix))]
        Ok(ShutdownSignals {})
    }

    async fn wait(mut self) {
        #[cfg(unix)]
        tokio::select! {
            _ = self.term.recv() => {},
            _ = self.int.recv() => {},
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
