//! `/api/v1/capture`: record training episodes of the room into the MDS dataset with the
//! recorder of `neko-agent capture` (started and stopped here instead of by chat), list them,
//! see the dataset and change the episode rules.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::ApiState;
use super::error::{ApiError, Body, ErrorBody};
use crate::service::capture::{
    CaptureEngine, CaptureEngineError, DatasetView, Episode, EpisodeRules, EpisodeStart,
};
use crate::service::validate::{FieldProblem, Problems};

/// Longest task description accepted, in characters.
pub const MAX_TASK_CHARS: usize = 4000;
/// Longest Neko session id accepted.
pub const MAX_SESSION_ID_CHARS: usize = 128;
/// Most frames an episode may be required to have.
pub const MAX_MIN_FRAMES: u64 = 1_000_000;
/// Longest inactivity timeout accepted, in seconds (a day).
pub const MAX_TIMEOUT_SECONDS: f64 = 86_400.0;

/// The capture routes.
pub fn routes() -> OpenApiRouter<Arc<ApiState>> {
    OpenApiRouter::new()
        .routes(routes!(start_episode, list_episodes))
        .routes(routes!(get_episode, stop_episode))
        .routes(routes!(datasets))
        .routes(routes!(get_config, put_config))
}

/// Per-episode rules of `POST /capture/episodes`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CaptureOptionsBody {
    /// Frames per second: fixed when the service starts (`CAPTURE_FPS`); only that value is
    /// accepted.
    pub fps: Option<f64>,
    /// JPEG quality: fixed when the service starts (`CAPTURE_JPEG_QUALITY`); only that value
    /// is accepted.
    pub jpeg_quality: Option<u8>,
    /// Episodes with fewer frames are discarded (0 to 1 000 000).
    pub min_frames: Option<u64>,
    /// Seconds without an action or a frame after which the episode ends (more than 0, at
    /// most 86 400).
    pub timeout_seconds: Option<f64>,
}

/// `POST /capture/episodes`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EpisodeRequest {
    /// The task the episode records (1 to 4000 characters).
    pub task_description: String,
    /// The Neko session whose `Action: {json}` chat lines are recorded into the episode (all
    /// sessions' when absent). Frames are the room's screen, which every session shares.
    pub neko_session_id: Option<String>,
    /// Episode rules differing from the service's.
    #[serde(default)]
    pub capture_options: CaptureOptionsBody,
}

/// The episodes recorded through the API since the service started.
#[derive(Debug, Serialize, ToSchema)]
pub struct EpisodeList {
    /// Oldest first.
    pub episodes: Vec<Episode>,
}

/// The datasets capture writes.
#[derive(Debug, Serialize, ToSchema)]
pub struct DatasetList {
    /// The service's dataset (one: its capture output).
    pub datasets: Vec<DatasetView>,
}

/// The capture settings in effect.
#[derive(Debug, Serialize, ToSchema)]
pub struct CaptureConfig {
    /// The local dataset directory.
    pub out: String,
    /// The S3 copy (`s3://bucket/prefix`), when configured.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remote: Option<String>,
    /// Whether shard files stay on disk after upload.
    pub keep_local: bool,
    /// Shard compression (`zstd:6`…), none when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub compression: Option<String>,
    /// Shard size limit in bytes, none when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shard_size_bytes: Option<u64>,
    /// Hashes recorded for every shard.
    pub hashes: Vec<String>,
    /// Seconds pending uploads are given at shutdown.
    pub upload_wait_seconds: f64,
    /// Rules of new episodes (`min_frames` and `timeout_seconds` change with `PUT`).
    pub episode_defaults: EpisodeRules,
    /// Whether the dataset is open and capture is in the room.
    pub active: bool,
}

/// `PUT /capture/config`: the episode rules that change at run time, for episodes started
/// afterwards.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CaptureConfigPatch {
    /// Fixed when the service starts; only the current value is accepted.
    pub fps: Option<f64>,
    /// Fixed when the service starts; only the current value is accepted.
    pub jpeg_quality: Option<u8>,
    /// Episodes with fewer frames are discarded (0 to 1 000 000).
    pub min_frames: Option<u64>,
    /// Seconds of inactivity that end an episode (more than 0, at most 86 400).
    pub timeout_seconds: Option<f64>,
}

impl From<CaptureEngineError> for ApiError {
    fn from(error: CaptureEngineError) -> Self {
        match error {
            CaptureEngineError::NotFound(_) => Self::NotFound(error.to_string()),
            CaptureEngineError::Busy { .. } | CaptureEngineError::Ended(_) => {
                Self::Conflict(error.to_string())
            }
            CaptureEngineError::Open(_)
            | CaptureEngineError::Link(_)
            | CaptureEngineError::Join(_)
            | CaptureEngineError::Start(_)
            | CaptureEngineError::NotStarted(_)
            | CaptureEngineError::NoAnswer(_)
            | CaptureEngineError::Closed => Self::Unavailable(error.to_string()),
        }
    }
}

fn engine(state: &ApiState) -> Result<&Arc<CaptureEngine>, ApiError> {
    state.capture.as_ref().ok_or_else(|| {
        ApiError::Unavailable(
            "capture is not configured in this service: start it with a capture dataset directory"
                .into(),
        )
    })
}

/// Checks `fps`, `jpeg_quality`, `min_frames` and `timeout_seconds` (fields named under
/// `prefix`) against what can change.
fn check_rules(
    rules: &EpisodeRules,
    prefix: &str,
    fps: Option<f64>,
    jpeg_quality: Option<u8>,
    min_frames: Option<u64>,
    timeout_seconds: Option<f64>,
    problems: &mut Problems,
) {
    if let Some(fps) = fps
        && fps != rules.fps
    {
        problems.push(FieldProblem::new(
            format!("{prefix}fps"),
            format!(
                "the frame rate is fixed when the service starts (CAPTURE_FPS={}); omit it or give that value",
                rules.fps
            ),
        ));
    }
    if let Some(quality) = jpeg_quality
        && quality != rules.jpeg_quality
    {
        problems.push(FieldProblem::new(
            format!("{prefix}jpeg_quality"),
            format!(
                "the JPEG quality is fixed when the service starts (CAPTURE_JPEG_QUALITY={}); omit it or give that value",
                rules.jpeg_quality
            ),
        ));
    }
    if min_frames.is_some_and(|n| n > MAX_MIN_FRAMES) {
        problems.push(FieldProblem::new(
            format!("{prefix}min_frames"),
            format!("must be 0 to {MAX_MIN_FRAMES}"),
        ));
    }
    if let Some(seconds) = timeout_seconds
        && !(seconds.is_finite() && seconds > 0.0 && seconds <= MAX_TIMEOUT_SECONDS)
    {
        problems.push(FieldProblem::new(
            format!("{prefix}timeout_seconds"),
            format!("must be more than 0 and at most {MAX_TIMEOUT_SECONDS} seconds"),
        ));
    }
}

impl EpisodeRequest {
    fn problems(&self, rules: &EpisodeRules) -> Problems {
        let mut problems = Problems::default();
        let task = self.task_description.trim();
        if task.is_empty() || task.chars().count() > MAX_TASK_CHARS {
            problems.push(FieldProblem::new(
                "task_description",
                format!("give 1 to {MAX_TASK_CHARS} characters"),
            ));
        }
        if let Some(session) = &self.neko_session_id
            && (session.is_empty()
                || session.chars().count() > MAX_SESSION_ID_CHARS
                || !session
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'))
        {
            problems.push(FieldProblem::new(
                "neko_session_id",
                format!("a Neko session id: 1 to {MAX_SESSION_ID_CHARS} letters, digits, - and _"),
            ));
        }
        let options = &self.capture_options;
        check_rules(
            rules,
            "capture_options.",
            options.fps,
            options.jpeg_quality,
            options.min_frames,
            options.timeout_seconds,
            &mut problems,
        );
        problems
    }
}

/// Start recording an episode: the room's frames and the chat's `Action: {json}` lines go
/// into it until it is stopped or idle for `timeout_seconds`. One episode records at a time.
#[utoipa::path(post, path = "/capture/episodes", tag = "capture", request_body = EpisodeRequest,
    responses(
        (status = 201, description = "Recording", body = Episode),
        (status = 400, description = "A field is wrong (named in `problems`)", body = ErrorBody),
        (status = 409, description = "Another episode is recording", body = ErrorBody),
        (status = 503, description = "Capture is not configured, or cannot open its dataset or join the room", body = ErrorBody),
    ))]
async fn start_episode(
    State(state): State<Arc<ApiState>>,
    Body(request): Body<EpisodeRequest>,
) -> Result<(StatusCode, Json<Episode>), ApiError> {
    let engine = engine(&state)?;
    ApiError::check(request.problems(&engine.rules()))?;
    let episode = engine
        .start(EpisodeStart {
            task_description: request.task_description.trim().to_owned(),
            neko_session_id: request.neko_session_id,
            min_frames: request.capture_options.min_frames,
            timeout_seconds: request.capture_options.timeout_seconds,
        })
        .await?;
    Ok((StatusCode::CREATED, Json(episode)))
}

/// The episodes recorded through the API since the service started, oldest first.
#[utoipa::path(get, path = "/capture/episodes", tag = "capture",
    responses(
        (status = 200, description = "The episodes", body = EpisodeList),
        (status = 503, description = "Capture is not configured", body = ErrorBody),
    ))]
async fn list_episodes(State(state): State<Arc<ApiState>>) -> Result<Json<EpisodeList>, ApiError> {
    Ok(Json(EpisodeList {
        episodes: engine(&state)?.episodes(),
    }))
}

/// An episode: status, frames and actions kept, why it ended.
#[utoipa::path(get, path = "/capture/episodes/{episode_id}", tag = "capture",
    params(("episode_id" = String, Path, description = "The episode's id")),
    responses(
        (status = 200, description = "The episode", body = Episode),
        (status = 404, description = "No such episode", body = ErrorBody),
        (status = 503, description = "Capture is not configured", body = ErrorBody),
    ))]
async fn get_episode(
    State(state): State<Arc<ApiState>>,
    Path(episode_id): Path<String>,
) -> Result<Json<Episode>, ApiError> {
    Ok(Json(engine(&state)?.episode(&episode_id)?))
}

/// Stop an episode: it is packaged and written to the dataset as `neko-agent capture` does on
/// `/stop` (status `saved`; `discarded` when shorter than `min_frames`). The answer comes once
/// that is done.
#[utoipa::path(delete, path = "/capture/episodes/{episode_id}", tag = "capture",
    params(("episode_id" = String, Path, description = "The episode's id")),
    responses(
        (status = 200, description = "Stopped and saved (or discarded)", body = Episode),
        (status = 404, description = "No such episode", body = ErrorBody),
        (status = 409, description = "The episode has ended", body = ErrorBody),
        (status = 503, description = "Capture is not configured, or the recorder did not answer", body = ErrorBody),
    ))]
async fn stop_episode(
    State(state): State<Arc<ApiState>>,
    Path(episode_id): Path<String>,
) -> Result<Json<Episode>, ApiError> {
    Ok(Json(engine(&state)?.stop(&episode_id).await?))
}

/// The dataset capture writes: the local directory and its S3 copy, its shards, the episodes
/// in them and those waiting for their shard to close.
#[utoipa::path(get, path = "/capture/datasets", tag = "capture",
    responses(
        (status = 200, description = "The datasets", body = DatasetList),
        (status = 503, description = "Capture is not configured, or its index cannot be read", body = ErrorBody),
    ))]
async fn datasets(State(state): State<Arc<ApiState>>) -> Result<Json<DatasetList>, ApiError> {
    let engine = engine(&state)?.clone();
    let dataset = tokio::task::spawn_blocking(move || engine.dataset())
        .await
        .map_err(|error| ApiError::Unavailable(format!("reading the dataset stopped: {error}")))?
        .map_err(|error| ApiError::Unavailable(format!("the dataset cannot be read: {error}")))?;
    Ok(Json(DatasetList {
        datasets: vec![dataset],
    }))
}

async fn config(engine: &CaptureEngine) -> CaptureConfig {
    let settings = engine.settings();
    CaptureConfig {
        out: settings.out.display().to_string(),
        remote: settings.remote.as_ref().map(ToString::to_string),
        keep_local: settings.keep_local,
        compression: settings.writer.compression.map(|c| c.to_string()),
        shard_size_bytes: settings.writer.size_limit,
        hashes: settings
            .writer
            .hashes
            .iter()
            .map(|h| h.name().to_owned())
            .collect(),
        upload_wait_seconds: settings.upload_wait.as_secs_f64(),
        episode_defaults: engine.rules(),
        active: engine.is_open().await,
    }
}

/// The capture settings in effect.
#[utoipa::path(get, path = "/capture/config", tag = "capture",
    responses(
        (status = 200, description = "The settings", body = CaptureConfig),
        (status = 503, description = "Capture is not configured", body = ErrorBody),
    ))]
async fn get_config(State(state): State<Arc<ApiState>>) -> Result<Json<CaptureConfig>, ApiError> {
    Ok(Json(config(engine(&state)?).await))
}

/// Change the rules of episodes started from now on (`min_frames`, `timeout_seconds`); the
/// others are fixed when the service starts.
#[utoipa::path(put, path = "/capture/config", tag = "capture", request_body = CaptureConfigPatch,
    responses(
        (status = 200, description = "The settings now", body = CaptureConfig),
        (status = 400, description = "A field is wrong or cannot change", body = ErrorBody),
        (status = 503, description = "Capture is not configured", body = ErrorBody),
    ))]
async fn put_config(
    State(state): State<Arc<ApiState>>,
    Body(patch): Body<CaptureConfigPatch>,
) -> Result<Json<CaptureConfig>, ApiError> {
    let engine = engine(&state)?;
    let mut problems = Problems::default();
    check_rules(
        &engine.rules(),
        "",
        patch.fps,
        patch.jpeg_quality,
        patch.min_frames,
        patch.timeout_seconds,
        &mut problems,
    );
    ApiError::check(problems)?;
    engine.set_rules(patch.min_frames, patch.timeout_seconds);
    Ok(Json(config(engine).await))
}
