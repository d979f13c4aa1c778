//! OTLP/gRPC: the trace, logs and metrics services on one listener
//! (`otlp.grpc_listen_address`), tenant from the `x-scope-orgid` metadata,
//! gzip accepted, messages bounded by `server.max_request_body`. Errors map
//! to the codes OTLP clients act on: `INVALID_ARGUMENT` (not retried),
//! `RESOURCE_EXHAUSTED` with `RetryInfo` and `UNAVAILABLE` (retried).

use std::convert::Infallible;
use std::future::Future;

use tonic::codec::CompressionEncoding;
use tonic::codegen::{http, BoxFuture, Bytes, Context, Poll, Service};
use tonic::server::NamedService;
use tonic::{Code, Request, Response, Status};

use super::decode::{code, rpc_status};
use super::http::{logs_response, metrics_response, trace_response};
use super::ingest::{self, IngestError, PartialSuccess, Transport};
use crate::model::TenantId;
use crate::otlp::pb::collector::logs::v1::logs_service_server::{LogsService, LogsServiceServer};
use crate::otlp::pb::collector::logs::v1::{ExportLogsServiceRequest, ExportLogsServiceResponse};
use crate::otlp::pb::collector::metrics::v1::metrics_service_server::{
    MetricsService, MetricsServiceServer,
};
use crate::otlp::pb::collector::metrics::v1::{
    ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use crate::otlp::pb::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use crate::otlp::pb::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use crate::server::state::SharedState;

/// The three OTLP services over the shared state.
#[derive(Clone)]
pub struct OtlpGrpc {
    st: SharedState,
}

impl OtlpGrpc {
    pub fn new(st: SharedState) -> Self {
        OtlpGrpc { st }
    }

    /// Runs one export on the blocking pool.
    async fn export<Req, Resp>(
        &self,
        request: Request<Req>,
        ingest: fn(&SharedState, &TenantId, Req, Transport) -> Result<PartialSuccess, IngestError>,
        respond: fn(PartialSuccess) -> Resp,
    ) -> Result<Response<Resp>, Status>
    where
        Req: Send + 'static,
        Resp: Send + 'static,
    {
        let headers = request.metadata().clone().into_headers();
        let t = crate::server::body::tenant(&headers).map_err(Status::invalid_argument)?;
        let req = request.into_inner();
        let st = self.st.clone();
        let out = tokio::task::spawn_blocking(move || ingest(&st, &t, req, Transport::Grpc))
            .await
            .map_err(|e| Status::internal(format!("ingest task failed: {e}")))?;
        match out {
            Ok(p) => Ok(Response::new(respond(p))),
            Err(e) => Err(to_status(&e)),
        }
    }
}

/// The gRPC status of an ingest error; retryable ones carry `RetryInfo`.
pub fn to_status(e: &IngestError) -> Status {
    match e {
        IngestError::Malformed(m) => Status::invalid_argument(m.clone()),
        IngestError::RateLimited {
            retry_after_s,
            message,
        } => with_retry(
            Code::ResourceExhausted,
            code::RESOURCE_EXHAUSTED,
            message,
            *retry_after_s,
        ),
        IngestError::Unavailable {
            retry_after_s,
            message,
        } => with_retry(
            Code::Unavailable,
            code::UNAVAILABLE,
            message,
            *retry_after_s,
        ),
    }
}

fn with_retry(c: Code, numeric: i32, message: &str, retry_after_s: u64) -> Status {
    let details = prost::Message::encode_to_vec(&rpc_status(numeric, message, Some(retry_after_s)));
    Status::with_details(c, message.to_string(), Bytes::from(details))
}

#[tonic::async_trait]
impl TraceService for OtlpGrpc {
    async fn export(
        &self,
        request: Request<ExportTraceServiceRequest>,
    ) -> Result<Response<ExportTraceServiceResponse>, Status> {
        OtlpGrpc::export(self, request, ingest::ingest_traces, trace_response).await
    }
}

#[tonic::async_trait]
impl LogsService for OtlpGrpc {
    async fn export(
        &self,
        request: Request<ExportLogsServiceRequest>,
    ) -> Result<Response<ExportLogsServiceResponse>, Status> {
        OtlpGrpc::export(self, request, ingest::ingest_logs, logs_response).await
    }
}

#[tonic::async_trait]
impl MetricsService for OtlpGrpc {
    async fn export(
        &self,
        request: Request<ExportMetricsServiceRequest>,
    ) -> Result<Response<ExportMetricsServiceResponse>, Status> {
        OtlpGrpc::export(self, request, ingest::ingest_metrics, metrics_response).await
    }
}

/// Routes gRPC calls to the three services by their path.
#[derive(Clone)]
pub struct OtlpRoutes {
    traces: TraceServiceServer<OtlpGrpc>,
    logs: LogsServiceServer<OtlpGrpc>,
    metrics: MetricsServiceServer<OtlpGrpc>,
}

impl OtlpRoutes {
    pub fn new(st: SharedState) -> Self {
        let limit = st.cfg.server.max_request_body.0 as usize;
        let svc = OtlpGrpc::new(st);
        OtlpRoutes {
            traces: TraceServiceServer::new(svc.clone())
                .accept_compressed(CompressionEncoding::Gzip)
                .send_compressed(CompressionEncoding::Gzip)
                .max_decoding_message_size(limit),
            logs: LogsServiceServer::new(svc.clone())
                .accept_compressed(CompressionEncoding::Gzip)
                .send_compressed(CompressionEncoding::Gzip)
                .max_decoding_message_size(limit),
            metrics: MetricsServiceServer::new(svc)
                .accept_compressed(CompressionEncoding::Gzip)
                .send_compressed(CompressionEncoding::Gzip)
                .max_decoding_message_size(limit),
        }
    }
}

/// Whether `path` is `/<service>/<method>` of `service`.
fn is_of(path: &str, service: &str) -> bool {
    path.strip_prefix('/')
        .and_then(|p| p.strip_prefix(service))
        .is_some_and(|rest| rest.starts_with('/'))
}

impl Service<http::Request<tonic::body::Body>> for OtlpRoutes {
    type Response = http::Response<tonic::body::Body>;
    type Error = Infallible;
    type Future = BoxFuture<Self::Response, Self::Error>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: http::Request<tonic::body::Body>) -> Self::Future {
        let path = req.uri().path();
        if is_of(path, TraceServiceServer::<OtlpGrpc>::NAME) {
            self.traces.call(req)
        } else if is_of(path, LogsServiceServer::<OtlpGrpc>::NAME) {
            self.logs.call(req)
        } else if is_of(path, MetricsServiceServer::<OtlpGrpc>::NAME) {
            self.metrics.call(req)
        } else {
            let msg = format!("unknown service {path}");
            Box::pin(async move { Ok(Status::unimplemented(msg).into_http()) })
        }
    }
}

/// Serves OTLP/gRPC on `listener` until `shutdown` completes, then lets
/// in-flight calls finish.
pub async fn serve_grpc(
    st: SharedState,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()>,
) -> Result<(), tonic::transport::Error> {
    // Answers are small: without TCP_NODELAY they can wait on delayed ACKs.
    let incoming = tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true));
    // Exports are large (hundreds of KiB): HTTP/2's default 64 KiB windows
    // would make every export wait for window updates.
    tonic::transport::Server::builder()
        .initial_stream_window_size(Some(4 << 20))
        .initial_connection_window_size(Some(16 << 20))
        .max_frame_size(Some(1 << 20))
        .serve_with_incoming_shutdown(OtlpRoutes::new(st), incoming, shutdown)
        .await
}
