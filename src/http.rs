//! The HTTP endpoint (`http.listen`): `GET /metrics` (Prometheus text), `GET /health`
//! (readiness: 503 when an output has failed for `http.max_failing` or a part of the agent
//! stopped), `GET /live` (liveness: 503 only when a part of the agent stopped) and `GET /status`
//! (JSON for `logship status`: files, lag, what holds a checkpoint back; `src/status/`).

use crate::health::Health;
use crate::metrics::metrics;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use std::sync::Arc;
use std::time::Duration;

/// A JSON status route: 200 when `check` says ok, 503 otherwise, the body either way.
fn status_route(
    health: Arc<Health>,
    check: fn(&Health) -> (bool, serde_json::Value),
) -> axum::routing::MethodRouter {
    get(move || {
        let health = health.clone();
        async move {
            let (ok, body) = check(&health);
            let code = if ok {
                StatusCode::OK
            } else {
                StatusCode::SERVICE_UNAVAILABLE
            };
            (code, Json(body)).into_response()
        }
    })
}

/// Binds `listen` now (so a bad address fails the start) and serves in the background.
pub async fn serve(
    listen: &str,
    health: Arc<Health>,
    status: Arc<crate::status::StatusSources>,
    sup: &crate::agent::Supervisor,
) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| anyhow::anyhow!("http.listen: cannot listen on {listen}: {e}"))?;
    let app = Router::new()
        .route(
            "/metrics",
            get(|| async {
                (
                    [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
                    metrics().render(),
                )
            }),
        )
        .route("/live", status_route(health.clone(), Health::live))
        .route(
            "/status",
            get(move || {
                let status = status.clone();
                async move { Json(status.report()) }
            }),
        )
        .route("/health", status_route(health, Health::report));
    tracing::info!(listen, "serving /metrics, /health, /live and /status");
    sup.task("http server", async move {
        if crate::fault::task_exits("http") {
            return;
        }
        accept(listener, app).await;
    });
    Ok(())
}

/// Connections served at once; more wait in the listen backlog (taking no descriptor).
pub const MAX_CONNECTIONS: usize = 32;
/// Longest a client may take to send a request's headers.
const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest a connection is kept (a scraper's keep-alive connection is then opened again).
const CONNECTION_LIFETIME: Duration = Duration::from_secs(60);

/// Serves connections, at most `MAX_CONNECTIONS` at once, each for at most
/// `CONNECTION_LIFETIME`. `axum::serve` kept every connection as long as its client wished: idle
/// connections to the endpoint (a DaemonSet's listens on the pod network) took descriptors
/// without bound, until the agent could open no file, connection or checkpoint.
async fn accept(listener: tokio::net::TcpListener, app: Router) {
    let slots = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    let mut warned: Option<std::time::Instant> = None;
    loop {
        let Ok(slot) = slots.clone().acquire_owned().await else {
            return;
        };
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(e) => {
                // Out of descriptors, or a connection reset before it was accepted: wait a
                // little instead of spinning.
                if warned.is_none_or(|t| t.elapsed() >= Duration::from_secs(60)) {
                    tracing::warn!(error = %e, "http: cannot accept a connection");
                    warned = Some(std::time::Instant::now());
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let service = hyper_util::service::TowerToHyperService::new(app.clone());
        tokio::spawn(async move {
            let conn = hyper::server::conn::http1::Builder::new()
                .timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(HEADER_TIMEOUT)
                .serve_connection(hyper_util::rt::TokioIo::new(stream), service);
            let _ = tokio::time::timeout(CONNECTION_LIFETIME, conn).await;
            drop(slot);
        });
    }
}
