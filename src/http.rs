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
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!(error = %e, "http server stopped");
        }
    });
    Ok(())
}
