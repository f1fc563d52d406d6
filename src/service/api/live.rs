//! `/api/v1/tasks/{id}/live…`: a running task's live view for people who hold its viewer token
//! (and no API token): the page, its WHEP endpoint (relayed to the worker that runs the task),
//! the task's events and screenshot, and "Take control"/"Give back".
//!
//! The viewer token is an HMAC of the task id under the API token (or, without one, under a
//! secret of this process), so every API replica derives the same token and nothing is stored.

use std::sync::Arc;
use std::time::Duration;

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use hmac::{Hmac, Mac};
use serde::Deserialize;
use sha2::Sha256;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::ApiState;
use super::error::{ApiError, ErrorBody};
use super::tasks::{EventParams, events, screenshot};
use crate::secret::same;

/// The page, served as it is (no build step).
const PAGE: &str = include_str!("live.html");

/// How long the worker may take to answer an offer (it gathers ICE candidates first).
const RELAY_TIMEOUT: Duration = Duration::from_secs(15);

/// Largest answer relayed back.
const MAX_ANSWER_BYTES: usize = 64 * 1024;

/// Characters of a viewer token.
const TOKEN_CHARS: usize = 32;

/// Viewer tokens and the way to the workers' live views.
#[derive(Clone)]
pub struct LiveAccess {
    key: Arc<[u8]>,
    http: reqwest::Client,
}

impl LiveAccess {
    /// Viewer tokens keyed by `secret` (the API token, or random bytes without one).
    pub fn new(secret: &[u8]) -> Self {
        Self {
            key: secret.into(),
            http: reqwest::Client::builder()
                .timeout(RELAY_TIMEOUT)
                .build()
                .expect("a plain HTTP client"),
        }
    }

    /// The viewer token of `task_id`.
    pub fn token(&self, task_id: &str) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes any key");
        mac.update(b"neko-agent live view\0");
        mac.update(task_id.as_bytes());
        let digest = mac.finalize().into_bytes();
        digest
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect::<String>()[..TOKEN_CHARS]
            .to_owned()
    }

    /// The live page of `task_id`, with its viewer token.
    pub fn page(&self, task_id: &str) -> String {
        format!("/api/v1/tasks/{task_id}/live?token={}", self.token(task_id))
    }

    /// Whether `given` is `task_id`'s viewer token (constant time).
    fn admits(&self, task_id: &str, given: Option<&str>) -> bool {
        let expected = self.token(task_id);
        given.is_some_and(|given| same(given.as_bytes(), expected.as_bytes()))
    }

    fn check(&self, task_id: &str, query: &ViewerQuery) -> Result<(), ApiError> {
        if self.admits(task_id, query.token.as_deref()) {
            Ok(())
        } else {
            Err(ApiError::Unauthorized(
                "the live view needs the task's viewer token (?token=…, from the task's live_url)"
                    .into(),
            ))
        }
    }
}

/// The viewer token.
#[derive(Debug, Deserialize, IntoParams)]
struct ViewerQuery {
    /// The task's viewer token (its `live_url` carries it).
    token: Option<String>,
}

/// The live routes (outside the API token's guard: the viewer token guards them).
pub fn routes() -> OpenApiRouter<Arc<ApiState>> {
    OpenApiRouter::new()
        .routes(routes!(page))
        .routes(routes!(offer))
        .routes(routes!(leave))
        .routes(routes!(live_events))
        .routes(routes!(live_screenshot))
        .routes(routes!(take))
        .routes(routes!(give_back))
}

/// The live page: the video (WHEP), the step log, screenshots, take control and give back.
#[utoipa::path(get, path = "/tasks/{task_id}/live", tag = "live",
    params(("task_id" = String, Path, description = "The task's id"), ViewerQuery),
    responses(
        (status = 200, description = "The page", content_type = "text/html"),
        (status = 401, description = "No or wrong viewer token", body = ErrorBody),
    ))]
async fn page(
    Extension(live): Extension<LiveAccess>,
    Path(task_id): Path<String>,
    Query(query): Query<ViewerQuery>,
) -> Result<Html<&'static str>, ApiError> {
    live.check(&task_id, &query)?;
    Ok(Html(PAGE))
}

/// Watch the running task: a WHEP offer (`application/sdp`), answered by the worker that runs
/// it; `Location` is the viewer's resource, to `DELETE` when leaving.
#[utoipa::path(post, path = "/tasks/{task_id}/live/whep", tag = "live",
    params(("task_id" = String, Path, description = "The task's id"), ViewerQuery),
    request_body(content = String, content_type = "application/sdp"),
    responses(
        (status = 201, description = "The SDP answer", content_type = "application/sdp"),
        (status = 401, description = "No or wrong viewer token", body = ErrorBody),
        (status = 404, description = "The task is not running", body = ErrorBody),
    ))]
async fn offer(
    State(state): State<Arc<ApiState>>,
    Extension(live): Extension<LiveAccess>,
    Path(task_id): Path<String>,
    Query(query): Query<ViewerQuery>,
    body: Bytes,
) -> Result<Response, ApiError> {
    live.check(&task_id, &query)?;
    let target = worker_view(&state, &task_id).await?;
    let response = live
        .http
        .post(target.url())
        .header(header::CONTENT_TYPE, "application/sdp")
        .body(body)
        .send()
        .await
        .map_err(|error| unreachable_worker(&error))?;
    let status =
        StatusCode::from_u16(response.status().as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
    let viewer = response
        .headers()
        .get(header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|location| location.rsplit('/').next())
        .map(str::to_owned);
    let answer = bounded_text(response).await?;
    if status != StatusCode::CREATED {
        return Ok((status, answer).into_response());
    }
    let Some(viewer) = viewer else {
        return Err(ApiError::Unavailable(
            "the worker answered without a viewer resource".into(),
        ));
    };
    let location = format!(
        "/api/v1/tasks/{task_id}/live/whep/{viewer}?token={}",
        live.token(&task_id)
    );
    Ok((
        StatusCode::CREATED,
        [
            (header::CONTENT_TYPE, "application/sdp".to_owned()),
            (header::LOCATION, location),
        ],
        answer,
    )
        .into_response())
}

/// Stop watching: the viewer's resource from the offer's `Location`.
#[utoipa::path(delete, path = "/tasks/{task_id}/live/whep/{viewer}", tag = "live",
    params(("task_id" = String, Path, description = "The task's id"),
        ("viewer" = String, Path, description = "The viewer's resource"), ViewerQuery),
    responses(
        (status = 200, description = "Stopped"),
        (status = 401, description = "No or wrong viewer token", body = ErrorBody),
        (status = 404, description = "No such viewer, or the task is not running", body = ErrorBody),
    ))]
async fn leave(
    State(state): State<Arc<ApiState>>,
    Extension(live): Extension<LiveAccess>,
    Path((task_id, viewer)): Path<(String, String)>,
    Query(query): Query<ViewerQuery>,
) -> Result<Response, ApiError> {
    live.check(&task_id, &query)?;
    if !viewer.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(ApiError::NotFound("no such viewer".into()));
    }
    let target = worker_view(&state, &task_id).await?;
    let response = live
        .http
        .delete(target.viewer_url(&viewer))
        .send()
        .await
        .map_err(|error| unreachable_worker(&error))?;
    let status =
        StatusCode::from_u16(response.status().as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
    Ok((status, bounded_text(response).await?).into_response())
}

/// The task's events, as `GET /tasks/{id}/events` gives them, for the page.
#[utoipa::path(get, path = "/tasks/{task_id}/live/events", tag = "live",
    params(("task_id" = String, Path, description = "The task's id"), ViewerQuery),
    responses(
        (status = 200, description = "text/event-stream of events", content_type = "text/event-stream"),
        (status = 401, description = "No or wrong viewer token", body = ErrorBody),
    ))]
async fn live_events(
    State(state): State<Arc<ApiState>>,
    Extension(live): Extension<LiveAccess>,
    Path(task_id): Path<String>,
    Query(query): Query<ViewerQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    live.check(&task_id, &query)?;
    let stream = events(
        State(state),
        Path(task_id),
        headers,
        Ok(Query(EventParams::default())),
    )
    .await?;
    Ok(stream.into_response())
}

/// The task's latest frame with the agent's marks, as `GET /tasks/{id}/screenshot`.
#[utoipa::path(get, path = "/tasks/{task_id}/live/screenshot", tag = "live",
    params(("task_id" = String, Path, description = "The task's id"), ViewerQuery),
    responses(
        (status = 200, description = "JPEG", content_type = "image/jpeg"),
        (status = 401, description = "No or wrong viewer token", body = ErrorBody),
        (status = 404, description = "No frame yet", body = ErrorBody),
    ))]
async fn live_screenshot(
    State(state): State<Arc<ApiState>>,
    Extension(live): Extension<LiveAccess>,
    Path(task_id): Path<String>,
    Query(query): Query<ViewerQuery>,
) -> Result<Response, ApiError> {
    live.check(&task_id, &query)?;
    screenshot(State(state), Path(task_id)).await
}

/// A person takes control: the agent pauses at its next step boundary and the picture says
/// so, until "Give back".
#[utoipa::path(post, path = "/tasks/{task_id}/live/take", tag = "live",
    params(("task_id" = String, Path, description = "The task's id"), ViewerQuery),
    responses(
        (status = 200, description = "The agent waits"),
        (status = 401, description = "No or wrong viewer token", body = ErrorBody),
        (status = 409, description = "The task is not running", body = ErrorBody),
    ))]
async fn take(
    State(state): State<Arc<ApiState>>,
    Extension(live): Extension<LiveAccess>,
    Path(task_id): Path<String>,
    Query(query): Query<ViewerQuery>,
) -> Result<StatusCode, ApiError> {
    live.check(&task_id, &query)?;
    state.board.take_control(&task_id).await?;
    Ok(StatusCode::OK)
}

/// The person gives control back: the agent goes on.
#[utoipa::path(post, path = "/tasks/{task_id}/live/give-back", tag = "live",
    params(("task_id" = String, Path, description = "The task's id"), ViewerQuery),
    responses(
        (status = 200, description = "The agent goes on"),
        (status = 401, description = "No or wrong viewer token", body = ErrorBody),
        (status = 409, description = "The task is not running", body = ErrorBody),
    ))]
async fn give_back(
    State(state): State<Arc<ApiState>>,
    Extension(live): Extension<LiveAccess>,
    Path(task_id): Path<String>,
    Query(query): Query<ViewerQuery>,
) -> Result<StatusCode, ApiError> {
    live.check(&task_id, &query)?;
    state.board.give_back_control(&task_id).await?;
    Ok(StatusCode::OK)
}

/// Where the worker running a task serves its view: `http://host:port/tasks/{id}/whep?token=…`.
struct WorkerView {
    base: String,
    token: String,
}

impl WorkerView {
    fn url(&self) -> String {
        format!("{}?token={}", self.base, self.token)
    }

    fn viewer_url(&self, viewer: &str) -> String {
        format!("{}/{viewer}?token={}", self.base, self.token)
    }
}

async fn worker_view(state: &ApiState, task_id: &str) -> Result<WorkerView, ApiError> {
    state.board.get(task_id).await?;
    let url = state.board.store().live(task_id).await?.ok_or_else(|| {
        ApiError::NotFound(format!(
            "task {task_id} has no live view now (it is not running, or its worker serves none)"
        ))
    })?;
    let (base, token) = url.split_once("?token=").ok_or_else(|| {
        ApiError::Unavailable(format!("the worker's live view address is unusable: {url}"))
    })?;
    Ok(WorkerView {
        base: base.to_owned(),
        token: token.to_owned(),
    })
}

fn unreachable_worker(error: &reqwest::Error) -> ApiError {
    ApiError::Unavailable(format!(
        "the worker running the task cannot be reached for its live view: {error} (check NEKO_LIVE_BIND/NEKO_LIVE_ADVERTISE on the workers)"
    ))
}

/// The response body as text, refusing more than [`MAX_ANSWER_BYTES`].
async fn bounded_text(response: reqwest::Response) -> Result<String, ApiError> {
    let bytes = response
        .bytes()
        .await
        .map_err(|error| unreachable_worker(&error))?;
    if bytes.len() > MAX_ANSWER_BYTES {
        return Err(ApiError::Unavailable(
            "the worker's answer is larger than any SDP answer".into(),
        ));
    }
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn viewer_tokens_are_per_task_and_per_secret() {
        let live = LiveAccess::new(b"a secret of the service");
        let token = live.token("task_a");
        assert_eq!(token.len(), TOKEN_CHARS);
        assert_eq!(token, live.token("task_a"), "derived, not stored");
        assert_ne!(token, live.token("task_b"));
        assert_ne!(token, LiveAccess::new(b"another secret").token("task_a"));
        assert!(live.admits("task_a", Some(&token)));
        assert!(!live.admits("task_b", Some(&token)));
        assert!(!live.admits("task_a", None));
        assert!(live.page("task_a").ends_with(&token));
    }
}
