//! `/api/v1/health` and `/api/v1/metrics`: open to probes and scrapers without a token.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::ApiState;
use crate::service::store::WorkerInfo;

/// The open routes.
pub fn routes() -> OpenApiRouter<Arc<ApiState>> {
    OpenApiRouter::new()
        .routes(routes!(health))
        .routes(routes!(metrics))
}

/// `GET /health`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// `ok` when ready for tasks, else `unavailable`.
    pub status: String,
    /// The queue.
    pub queue: QueueHealth,
    /// Workers heard from recently.
    pub workers: Vec<WorkerInfo>,
    /// The model this process loaded, if it runs workers.
    pub model: Option<String>,
    /// The rooms tasks may name, and the default room.
    pub rooms: RoomsHealth,
    /// What is missing for readiness.
    pub problems: Vec<String>,
}

/// The queue part of `/health`.
#[derive(Debug, Serialize, ToSchema)]
pub struct QueueHealth {
    /// `local:<dir>` or the Redis URL (no password).
    pub store: String,
    /// Whether the store answered.
    pub reachable: bool,
    /// Tasks waiting.
    pub depth: Option<u64>,
}

/// The rooms part of `/health`.
#[derive(Debug, Serialize, ToSchema)]
pub struct RoomsHealth {
    /// Names of the rooms file.
    pub named: Vec<String>,
}

/// Liveness and readiness: `200` when the store answers and a worker is there to run tasks,
/// `503` otherwise (the body says what is missing).
#[utoipa::path(get, path = "/health", tag = "system",
    responses(
        (status = 200, description = "Ready", body = Health),
        (status = 503, description = "Alive, not ready", body = Health),
    ))]
async fn health(State(state): State<Arc<ApiState>>) -> (StatusCode, Json<Health>) {
    let store = state.board.store();
    let mut problems = Vec::new();
    let depth = match store.queue_depth().await {
        Ok(depth) => Some(depth),
        Err(error) => {
            problems.push(format!("the task store does not answer: {error}"));
            None
        }
    };
    let workers = store.workers().await.unwrap_or_default();
    if workers.is_empty() && depth.is_some() {
        problems.push(if state.local_workers {
            "the workers of this process have not started yet (loading the model)".to_owned()
        } else {
            "no worker is running (start `neko-agent worker` with the same --queue)".to_owned()
        });
    }
    let health = Health {
        status: if problems.is_empty() {
            "ok"
        } else {
            "unavailable"
        }
        .into(),
        queue: QueueHealth {
            store: store.describe(),
            reachable: depth.is_some(),
            depth,
        },
        workers,
        model: state.model.clone(),
        rooms: RoomsHealth {
            named: state.rooms.names(),
        },
        problems,
    };
    let code = if health.problems.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (code, Json(health))
}

/// Prometheus metrics: the agent's (as `run` serves them) and the service's.
#[utoipa::path(get, path = "/metrics", tag = "system",
    responses((status = 200, description = "OpenMetrics text", content_type = "text/plain")))]
async fn metrics(State(state): State<Arc<ApiState>>) -> impl IntoResponse {
    let store = state.board.store();
    if let Ok(depth) = store.queue_depth().await {
        state
            .metrics
            .queue_depth
            .set(i64::try_from(depth).unwrap_or(i64::MAX));
    }
    if let Ok(workers) = store.workers().await {
        state.metrics.workers.set(workers.len() as i64);
    }
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        state.metrics.render(),
    )
}
