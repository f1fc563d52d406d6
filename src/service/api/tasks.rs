//! `/api/v1/tasks`: submit, read, list, change, cancel, pause and resume tasks; follow one as
//! server-sent events; its latest frame as JPEG.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use chrono::{DateTime, Utc};
use futures_util::Stream;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::ApiState;
use super::error::{ApiError, Body, ErrorBody};
use super::live::LiveAccess;
use crate::service::events::{EventRecord, TaskEvent};
use crate::service::store::{ListQuery, TaskPage};
use crate::service::task::{Submitted, Task, TaskPatch, TaskSpec, TaskStatus};

/// Most tasks one page lists.
pub const MAX_PAGE: usize = 500;

/// How long one wait for events lasts before the stream checks the client is still there.
const EVENT_POLL: Duration = Duration::from_secs(15);

/// The task routes.
pub fn routes() -> OpenApiRouter<Arc<ApiState>> {
    OpenApiRouter::new()
        .routes(routes!(submit, list))
        .routes(routes!(get_task, update, cancel))
        .routes(routes!(pause))
        .routes(routes!(resume))
        .routes(routes!(events))
        .routes(routes!(screenshot))
}

/// Queue a task.
#[utoipa::path(post, path = "/tasks", tag = "tasks", request_body = TaskSpec,
    responses(
        (status = 201, description = "Queued", body = Submitted),
        (status = 400, description = "A field is wrong (named in `problems`)", body = ErrorBody),
    ))]
async fn submit(
    State(state): State<Arc<ApiState>>,
    Extension(live): Extension<LiveAccess>,
    Body(spec): Body<TaskSpec>,
) -> Result<(StatusCode, Json<Submitted>), ApiError> {
    ApiError::check(spec.problems())?;
    state.rooms.check(spec.room.as_ref())?;
    let task = state.board.submit(spec).await?;
    let estimated_completion = state.estimate(&task).await;
    Ok((
        StatusCode::CREATED,
        Json(Submitted {
            live_url: live.page(&task.task_id),
            task_id: task.task_id,
            status: task.status,
            created_at: task.created_at,
            estimated_completion,
        }),
    ))
}

/// Filters and paging of `GET /tasks`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
struct ListParams {
    /// Comma-separated statuses (`queued,running`).
    status: Option<String>,
    /// Only tasks whose text contains this.
    q: Option<String>,
    /// Only tasks created at or after this time (RFC 3339).
    created_after: Option<DateTime<Utc>>,
    /// Tasks to skip, newest first (default 0).
    offset: Option<usize>,
    /// Page size, 1 to 500 (default 50).
    limit: Option<usize>,
}

/// List tasks, newest first.
#[utoipa::path(get, path = "/tasks", tag = "tasks", params(ListParams),
    responses(
        (status = 200, description = "A page of tasks", body = TaskPage),
        (status = 400, description = "A filter is wrong", body = ErrorBody),
    ))]
async fn list(
    State(state): State<Arc<ApiState>>,
    params: Result<Query<ListParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<TaskPage>, ApiError> {
    let Query(params) = params.map_err(|error| ApiError::field("query", error.body_text()))?;
    let mut statuses = Vec::new();
    for name in params.status.iter().flat_map(|s| s.split(',')) {
        let name = name.trim();
        match TaskStatus::parse(name) {
            Some(status) => statuses.push(status),
            None => {
                return Err(ApiError::field(
                    "status",
                    format!(
                        "unknown status {name:?}: queued, running, paused, completed, failed or cancelled"
                    ),
                ));
            }
        }
    }
    let limit = params.limit.unwrap_or(50);
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(ApiError::field("limit", format!("must be 1 to {MAX_PAGE}")));
    }
    let query = ListQuery {
        statuses,
        text: params.q.filter(|q| !q.is_empty()),
        created_after: params.created_after,
        offset: params.offset.unwrap_or(0),
        limit,
    };
    let mut page = state.board.list(&query).await?;
    page.tasks = page.tasks.iter().map(Task::redacted).collect();
    Ok(Json(page))
}

/// A task: status, steps with actions and timings, answer, error.
#[utoipa::path(get, path = "/tasks/{task_id}", tag = "tasks",
    params(("task_id" = String, Path, description = "The task's id")),
    responses(
        (status = 200, description = "The task", body = Task),
        (status = 404, description = "No such task", body = ErrorBody),
    ))]
async fn get_task(
    State(state): State<Arc<ApiState>>,
    Extension(live): Extension<LiveAccess>,
    Path(task_id): Path<String>,
) -> Result<Json<Task>, ApiError> {
    let mut task = state.board.get(&task_id).await?.redacted();
    task.live_url = Some(live.page(&task_id));
    Ok(Json(task))
}

/// Change a queued task.
#[utoipa::path(put, path = "/tasks/{task_id}", tag = "tasks", request_body = TaskPatch,
    params(("task_id" = String, Path, description = "The task's id")),
    responses(
        (status = 200, description = "The changed task", body = Task),
        (status = 400, description = "A field is wrong", body = ErrorBody),
        (status = 404, description = "No such task", body = ErrorBody),
        (status = 409, description = "The task is no longer queued", body = ErrorBody),
    ))]
async fn update(
    State(state): State<Arc<ApiState>>,
    Path(task_id): Path<String>,
    Body(patch): Body<TaskPatch>,
) -> Result<Json<Task>, ApiError> {
    ApiError::check(patch.problems())?;
    state.rooms.check(patch.room.as_ref())?;
    Ok(Json(state.board.update(&task_id, patch).await?.redacted()))
}

/// Cancel a task: at once when queued; a running task stops within one step.
#[utoipa::path(delete, path = "/tasks/{task_id}", tag = "tasks",
    params(("task_id" = String, Path, description = "The task's id")),
    responses(
        (status = 202, description = "Cancelled, or asked to stop", body = Task),
        (status = 404, description = "No such task", body = ErrorBody),
        (status = 409, description = "The task has ended", body = ErrorBody),
    ))]
async fn cancel(
    State(state): State<Arc<ApiState>>,
    Path(task_id): Path<String>,
) -> Result<(StatusCode, Json<Task>), ApiError> {
    let task = state.board.cancel(&task_id).await?;
    if task.status == TaskStatus::Cancelled
        && let Some(webhooks) = &state.webhooks
    {
        // Cancelled while queued: no worker will see it end.
        webhooks.notify("task.cancelled", &task);
    }
    Ok((StatusCode::ACCEPTED, Json(task.redacted())))
}

/// Pause a running task at its next step.
#[utoipa::path(post, path = "/tasks/{task_id}/pause", tag = "tasks",
    params(("task_id" = String, Path, description = "The task's id")),
    responses(
        (status = 202, description = "Asked to pause", body = Task),
        (status = 404, description = "No such task", body = ErrorBody),
        (status = 409, description = "The task is not running", body = ErrorBody),
    ))]
async fn pause(
    State(state): State<Arc<ApiState>>,
    Path(task_id): Path<String>,
) -> Result<(StatusCode, Json<Task>), ApiError> {
    let task = state.board.pause(&task_id).await?;
    Ok((StatusCode::ACCEPTED, Json(task.redacted())))
}

/// Resume a paused task (also one paused by a takeover: the agent asks for control again).
#[utoipa::path(post, path = "/tasks/{task_id}/resume", tag = "tasks",
    params(("task_id" = String, Path, description = "The task's id")),
    responses(
        (status = 202, description = "Asked to resume", body = Task),
        (status = 404, description = "No such task", body = ErrorBody),
        (status = 409, description = "The task is not running or paused", body = ErrorBody),
    ))]
async fn resume(
    State(state): State<Arc<ApiState>>,
    Path(task_id): Path<String>,
) -> Result<(StatusCode, Json<Task>), ApiError> {
    let task = state.board.resume(&task_id).await?;
    Ok((StatusCode::ACCEPTED, Json(task.redacted())))
}

/// Where an event stream starts.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub(super) struct EventParams {
    /// Only events after this sequence number (the `Last-Event-ID` header wins).
    after: Option<u64>,
}

/// Follow a task: every step, status change, chat line and takeover as server-sent events
/// (`event:` is the type, `id:` the sequence number, `data:` the JSON); the stream ends after
/// the final status.
#[utoipa::path(get, path = "/tasks/{task_id}/events", tag = "tasks",
    params(("task_id" = String, Path, description = "The task's id"), EventParams),
    responses(
        (status = 200, description = "text/event-stream of events", body = EventRecord, content_type = "text/event-stream"),
        (status = 404, description = "No such task", body = ErrorBody),
    ))]
pub(super) async fn events(
    State(state): State<Arc<ApiState>>,
    Path(task_id): Path<String>,
    headers: HeaderMap,
    params: Result<Query<EventParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let Query(params) = params.map_err(|error| ApiError::field("query", error.body_text()))?;
    let task = state.board.get(&task_id).await?;
    let after = headers
        .get("last-event-id")
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.trim().parse().ok())
        .or(params.after)
        .unwrap_or(0);
    let follow = Follow {
        state,
        task_id,
        after,
        pending: Vec::new(),
        ended: task.status.is_final() && after > 0,
    };
    let stream = futures_util::stream::unfold(follow, Follow::next);
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}

/// An event stream's position.
struct Follow {
    state: Arc<ApiState>,
    task_id: String,
    after: u64,
    pending: Vec<EventRecord>,
    ended: bool,
}

impl Follow {
    async fn next(mut self) -> Option<(Result<Event, Infallible>, Self)> {
        loop {
            if let Some(record) = (!self.pending.is_empty()).then(|| self.pending.remove(0)) {
                self.after = record.seq;
                if matches!(record.event, TaskEvent::Status { status, .. } if status.is_final()) {
                    self.ended = true;
                    self.pending.clear();
                }
                return Some((Ok(sse_event(&record)), self));
            }
            if self.ended {
                return None;
            }
            match self
                .state
                .board
                .store()
                .events(&self.task_id, self.after, EVENT_POLL)
                .await
            {
                Ok(records) if records.is_empty() => {
                    // The task may have ended before its events were kept (or after they were
                    // dropped): end with its final status rather than wait forever.
                    if let Ok(task) = self.state.board.get(&self.task_id).await
                        && task.status.is_final()
                    {
                        let record = EventRecord {
                            seq: self.after,
                            at: task.updated_at,
                            event: TaskEvent::Status {
                                status: task.status,
                                pause_reason: None,
                                answer: task.answer,
                                error: task.error,
                            },
                        };
                        self.ended = true;
                        return Some((Ok(sse_event(&record)), self));
                    }
                }
                Ok(records) => self.pending = records,
                Err(error) => {
                    tracing::warn!(%error, task_id = %self.task_id, "event stream ends: the store failed");
                    return None;
                }
            }
        }
    }
}

fn sse_event(record: &EventRecord) -> Event {
    let data = serde_json::to_string(record).unwrap_or_else(|_| "{}".into());
    Event::default()
        .event(record.event.name())
        .id(record.seq.to_string())
        .data(data)
}

/// The task's latest frame as JPEG (the low-bandwidth "screenshot mode").
#[utoipa::path(get, path = "/tasks/{task_id}/screenshot", tag = "tasks",
    params(("task_id" = String, Path, description = "The task's id")),
    responses(
        (status = 200, description = "The latest frame", content_type = "image/jpeg"),
        (status = 404, description = "No such task, or no frame yet", body = ErrorBody),
    ))]
pub(super) async fn screenshot(
    State(state): State<Arc<ApiState>>,
    Path(task_id): Path<String>,
) -> Result<Response, ApiError> {
    state.board.get(&task_id).await?;
    let jpeg = state
        .board
        .store()
        .screenshot(&task_id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("task {task_id} has no frame yet")))?;
    Ok((
        [
            (header::CONTENT_TYPE, "image/jpeg"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        jpeg,
    )
        .into_response())
}
