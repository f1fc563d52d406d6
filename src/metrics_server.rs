//! The HTTP endpoints a long-running subcommand serves for its operators: Prometheus `/metrics`,
//! and the `/healthz` (the process serves) and `/readyz` (its room session is connected) probes
//! that container healthchecks and Kubernetes use.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::http::StatusCode;
use axum::routing::get;
use gstneko::client::NekoClient;

/// Renders the current metrics in the OpenMetrics text format.
pub type Render = Arc<dyn Fn() -> String + Send + Sync>;

/// A registry in the OpenMetrics text format.
pub fn render(registry: &prometheus_client::registry::Registry) -> String {
    let mut text = String::new();
    // Writing into a String cannot fail.
    let _ = prometheus_client::encoding::text::encode(&mut text, registry);
    text
}

/// Whether the process is ready for work: ready once it watches a room session and while that
/// session is connected.
#[derive(Clone, Default)]
pub struct Readiness {
    client: Arc<Mutex<Option<NekoClient>>>,
}

impl Readiness {
    /// Readiness follows `client`'s connection from now on.
    pub fn watch(&self, client: NekoClient) {
        *self.client.lock().unwrap_or_else(|e| e.into_inner()) = Some(client);
    }

    /// True while the watched session is connected.
    pub fn is_ready(&self) -> bool {
        self.client
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
            .is_some_and(|client| client.state().connected)
    }
}

/// Serves `/healthz`, `/readyz` and, with `render`, `/metrics` on `address` until the process
/// ends; returns the bound address (port 0 picks a free one).
pub async fn serve(
    address: SocketAddr,
    render: Option<Render>,
    readiness: Readiness,
) -> std::io::Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind(address).await?;
    let bound = listener.local_addr()?;
    let mut app = axum::Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route(
            "/readyz",
            get(move || {
                let ready = readiness.is_ready();
                async move {
                    if ready {
                        (StatusCode::OK, "ready\n")
                    } else {
                        (
                            StatusCode::SERVICE_UNAVAILABLE,
                            "not connected to the room\n",
                        )
                    }
                }
            }),
        );
    if let Some(render) = render {
        app = app.route(
            "/metrics",
            get(move || {
                let render = render.clone();
                async move {
                    (
                        [(
                            axum::http::header::CONTENT_TYPE,
                            "application/openmetrics-text; version=1.0.0; charset=utf-8",
                        )],
                        render(),
                    )
                }
            }),
        );
    }
    tokio::spawn(async move {
        if let Err(error) = axum::serve(listener, app).await {
            tracing::warn!(%error, "the metrics server stopped");
        }
    });
    Ok(bound)
}
