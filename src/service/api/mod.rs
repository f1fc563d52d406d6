//! The HTTP API under `/api/v1`: tasks, capture, voice, health, metrics and the OpenAPI
//! document generated from the handlers and types.

pub mod auth;
pub mod capture;
pub mod error;
pub mod live;
mod system;
pub mod tasks;
pub mod voice;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::DefaultBodyLimit;
use chrono::{DateTime, Utc};
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

use super::board::Board;
use super::capture::CaptureEngine;
use super::metrics::ServiceMetrics;
use super::rooms::RoomBook;
use super::store::ListQuery;
use super::task::{Task, TaskStatus};
use super::voice::VoiceEngine;
use super::webhook::Webhooks;
use auth::Access;

/// Largest request body accepted (a task, a voice's settings…), in bytes.
pub const MAX_BODY_BYTES: usize = 256 * 1024;

/// How long a task-duration estimate is reused before it is computed again.
const PACE_REFRESH: Duration = Duration::from_secs(30);

/// Assumed task duration before any task has ended.
const DEFAULT_PACE: Duration = Duration::from_secs(60);

/// What the handlers share.
pub struct ApiState {
    /// The tasks.
    pub board: Arc<Board>,
    /// The metrics served at `/metrics`.
    pub metrics: Arc<ServiceMetrics>,
    /// The rooms tasks may name.
    pub rooms: Arc<RoomBook>,
    /// The model this process's workers loaded (none when it only serves the API).
    pub model: Option<String>,
    /// Whether this process runs workers.
    pub local_workers: bool,
    /// The capture engine (`/capture/…`; `503` without one).
    pub capture: Option<Arc<CaptureEngine>>,
    /// The voice engine (`/tts/…`, `/voices…`; `503` without one).
    pub voice: Option<Arc<VoiceEngine>>,
    /// Webhooks of tasks the API ends itself (cancelled while queued).
    pub webhooks: Option<Webhooks>,
    pace: Mutex<Option<(Instant, Duration)>>,
}

impl ApiState {
    /// The state over `board`.
    pub fn new(
        board: Arc<Board>,
        metrics: Arc<ServiceMetrics>,
        rooms: Arc<RoomBook>,
        model: Option<String>,
        local_workers: bool,
    ) -> Self {
        Self {
            board,
            metrics,
            rooms,
            model,
            local_workers,
            capture: None,
            voice: None,
            webhooks: None,
            pace: Mutex::new(None),
        }
    }

    /// Sends the webhook of a task the API itself ends (cancelled while queued).
    pub fn with_webhooks(mut self, webhooks: Webhooks) -> Self {
        self.webhooks = Some(webhooks);
        self
    }

    /// The state with `/capture/…` served by `engine`.
    pub fn with_capture(mut self, engine: Arc<CaptureEngine>) -> Self {
        self.capture = Some(engine);
        self
    }

    /// The state with `/tts/…` and `/voices…` served by `engine`.
    pub fn with_voice(mut self, engine: Arc<VoiceEngine>) -> Self {
        self.voice = Some(engine);
        self
    }

    /// A rough end time for a new task: the tasks ahead of it and its own, at the mean
    /// duration of the last tasks that ended.
    pub async fn estimate(&self, task: &Task) -> Option<DateTime<Utc>> {
        let depth = self.board.store().queue_depth().await.ok()?;
        let pace = self.pace().await;
        let workers = self
            .board
            .store()
            .workers()
            .await
            .map(|w| w.iter().map(|w| w.slots).sum::<usize>())
            .unwrap_or(1)
            .max(1) as u32;
        let ahead = u32::try_from(depth).unwrap_or(u32::MAX) / workers;
        let wait = pace.checked_mul(ahead.saturating_add(1))?;
        Some(task.created_at + chrono::Duration::from_std(wait).ok()?)
    }

    async fn pace(&self) -> Duration {
        if let Some((at, pace)) = *self.pace.lock().unwrap_or_else(|e| e.into_inner())
            && at.elapsed() < PACE_REFRESH
        {
            return pace;
        }
        let query = ListQuery {
            statuses: vec![TaskStatus::Completed, TaskStatus::Failed],
            limit: 20,
            ..ListQuery::default()
        };
        let durations: Vec<Duration> = self
            .board
            .list(&query)
            .await
            .map(|page| page.tasks)
            .unwrap_or_default()
            .iter()
            .filter_map(|task| (task.finished_at? - task.started_at?).to_std().ok())
            .collect();
        let pace = if durations.is_empty() {
            DEFAULT_PACE
        } else {
            durations.iter().sum::<Duration>() / durations.len() as u32
        };
        *self.pace.lock().unwrap_or_else(|e| e.into_inner()) = Some((Instant::now(), pace));
        pace
    }
}

/// The OpenAPI document's header.
#[derive(OpenApi)]
#[openapi(
    info(title = "neko-agent", description = "Tasks for AI agents driving Neko rooms, their capture and their voice."),
    tags(
        (name = "tasks", description = "Queue tasks and follow them"),
        (name = "capture", description = "Record training episodes into the MDS dataset"),
        (name = "voice", description = "Speak in the room and manage the voices"),
        (name = "system", description = "Health, metrics and this document"),
    ),
    modifiers(&BearerAuth),
    security(("bearer" = []))
)]
struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The whole API: `/api/v1/…` behind `access`, with the probes, metrics and OpenAPI document
/// open; and the document itself.
pub fn router(state: Arc<ApiState>, access: Access) -> (Router, utoipa::openapi::OpenApi) {
    let (guarded, mut document) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(tasks::routes())
        .merge(capture::routes())
        .merge(voice::routes())
        .split_for_parts();
    let (open, open_document) = system::routes().split_for_parts();
    document.merge(open_document);
    let (viewers, live_document) = live::routes().split_for_parts();
    document.merge(live_document);
    let live = live::LiveAccess::new(&access.viewer_secret());
    let document = prefixed(document);
    let guarded = guarded.layer(axum::middleware::from_fn_with_state(access, auth::require));
    let served = document.clone();
    let api = open
        .merge(guarded)
        .merge(viewers)
        .route(
            "/openapi.json",
            axum::routing::get(move || {
                let served = served.clone();
                async move { axum::Json(served) }
            }),
        )
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::Extension(live))
        .with_state(state);
    (Router::new().nest("/api/v1", api), document)
}

/// The document with every path under `/api/v1`, as served.
fn prefixed(mut document: utoipa::openapi::OpenApi) -> utoipa::openapi::OpenApi {
    let paths = std::mem::take(&mut document.paths.paths);
    document.paths.paths = paths
        .into_iter()
        .map(|(path, item)| (format!("/api/v1{path}"), item))
        .collect();
    document
}
