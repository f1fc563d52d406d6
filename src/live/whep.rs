//! The live view's WHEP endpoint (RFC 9725): a viewer `POST`s its SDP offer to
//! `/whep?token=…` and gets `201 Created` with the complete answer (ICE candidates included, no
//! trickle) and a `Location` to `DELETE` when it leaves. Any WHEP player (a browser page,
//! GStreamer's `whepsrc`, OBS) can play it.
//!
//! The token is the viewer token: without it (query `token` or `Authorization: Bearer`), no
//! stream.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, post};

use super::branch::{LiveBranch, ViewerError};
use crate::secret::same;

/// Largest offer accepted.
const MAX_OFFER_BYTES: usize = 64 * 1024;

/// Characters of a viewer token.
const TOKEN_CHARS: usize = 32;

/// A random token of hex characters.
pub fn new_token() -> String {
    use rand::Rng;
    let mut rng = rand::rng();
    (0..TOKEN_CHARS)
        .map(|_| char::from_digit(rng.random_range(0..16), 16).expect("a hex digit"))
        .collect()
}

/// The live views of a worker's running tasks, by task id.
pub type TaskViews = Arc<Mutex<HashMap<String, Arc<LiveBranch>>>>;

/// Where the routes find the branch a request is for.
#[derive(Clone)]
enum Views {
    /// One view (`run --live`): `/whep`.
    One(Arc<LiveBranch>),
    /// A worker's tasks: `/tasks/{task}/whep`.
    Tasks(TaskViews),
}

/// What the routes share.
#[derive(Clone)]
struct Whep {
    views: Views,
    token: Arc<str>,
}

/// The `?token=` query.
#[derive(serde::Deserialize)]
struct TokenQuery {
    token: Option<String>,
}

impl Whep {
    /// Whether the request carries the viewer token.
    fn admits(&self, query: &TokenQuery, headers: &HeaderMap) -> bool {
        let bearer = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        [query.token.as_deref(), bearer]
            .into_iter()
            .flatten()
            .any(|given| same(given.as_bytes(), self.token.as_bytes()))
    }

    /// The branch of `task` (the only one for a single view) when the request carries the
    /// token; else the status and message to refuse it with.
    fn admitted(
        &self,
        task: Option<&str>,
        query: &TokenQuery,
        headers: &HeaderMap,
    ) -> Result<Arc<LiveBranch>, (StatusCode, &'static str)> {
        if !self.admits(query, headers) {
            return Err((
                StatusCode::UNAUTHORIZED,
                "a viewer token is needed (?token=…)",
            ));
        }
        self.branch(task).ok_or((
            StatusCode::NOT_FOUND,
            "no live view of that task here (it is not running on this worker)",
        ))
    }

    /// The branch of `task` (the only one for a single view).
    fn branch(&self, task: Option<&str>) -> Option<Arc<LiveBranch>> {
        match (&self.views, task) {
            (Views::One(branch), _) => Some(branch.clone()),
            (Views::Tasks(tasks), Some(task)) => tasks
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .get(task)
                .cloned(),
            (Views::Tasks(_), None) => None,
        }
    }
}

fn refused(status: StatusCode, message: impl Into<String>) -> Response {
    (status, message.into()).into_response()
}

/// The WHEP routes of one view (`POST /whep`, `DELETE /whep/{viewer}`), admitting `token`.
pub fn router(branch: Arc<LiveBranch>, token: &str) -> Router {
    Router::new()
        .route("/whep", post(offer_one))
        .route("/whep/{viewer}", delete(leave_one))
        .layer(DefaultBodyLimit::max(MAX_OFFER_BYTES))
        .with_state(Whep {
            views: Views::One(branch),
            token: token.into(),
        })
}

/// The WHEP routes of a worker's tasks (`POST /tasks/{task}/whep`,
/// `DELETE /tasks/{task}/whep/{viewer}`), admitting `token`.
pub fn tasks_router(tasks: TaskViews, token: &str) -> Router {
    Router::new()
        .route("/tasks/{task}/whep", post(offer_task))
        .route("/tasks/{task}/whep/{viewer}", delete(leave_task))
        .layer(DefaultBodyLimit::max(MAX_OFFER_BYTES))
        .with_state(Whep {
            views: Views::Tasks(tasks),
            token: token.into(),
        })
}

async fn offer_one(
    State(whep): State<Whep>,
    Query(query): Query<TokenQuery>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    answer(whep, None, query, headers, body, "/whep").await
}

async fn offer_task(
    State(whep): State<Whep>,
    Path(task): Path<String>,
    Query(query): Query<TokenQuery>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let location = format!("/tasks/{task}/whep");
    answer(whep, Some(&task), query, headers, body, &location).await
}

async fn leave_one(
    State(whep): State<Whep>,
    Path(viewer): Path<String>,
    Query(query): Query<TokenQuery>,
    headers: HeaderMap,
) -> Response {
    leave(whep, None, viewer, query, headers).await
}

async fn leave_task(
    State(whep): State<Whep>,
    Path((task, viewer)): Path<(String, String)>,
    Query(query): Query<TokenQuery>,
    headers: HeaderMap,
) -> Response {
    leave(whep, Some(&task), viewer, query, headers).await
}

/// Answers an offer for the view of `task`; the viewer's resource is under `location`.
async fn answer(
    whep: Whep,
    task: Option<&str>,
    query: TokenQuery,
    headers: HeaderMap,
    body: Bytes,
    location: &str,
) -> Response {
    let branch = match whep.admitted(task, &query, &headers) {
        Ok(branch) => branch,
        Err((status, message)) => return refused(status, message),
    };
    let sdp = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/sdp"));
    if !sdp {
        return refused(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "the offer must be sent as application/sdp",
        );
    }
    let Ok(offer) = String::from_utf8(body.to_vec()) else {
        return refused(StatusCode::BAD_REQUEST, "the offer is not UTF-8 text");
    };
    let viewer = new_token()[..16].to_owned();
    let id = viewer.clone();
    let answered = tokio::task::spawn_blocking(move || branch.add_viewer(&id, &offer)).await;
    match answered {
        Ok(Ok(answer)) => (
            StatusCode::CREATED,
            [
                (header::CONTENT_TYPE, "application/sdp".to_owned()),
                (header::LOCATION, format!("{location}/{viewer}")),
            ],
            answer,
        )
            .into_response(),
        Ok(Err(error @ ViewerError::Offer(_))) => {
            refused(StatusCode::BAD_REQUEST, error.to_string())
        }
        Ok(Err(error @ (ViewerError::Full(_) | ViewerError::Stopped(_)))) => {
            refused(StatusCode::SERVICE_UNAVAILABLE, error.to_string())
        }
        Ok(Err(error)) => refused(StatusCode::INTERNAL_SERVER_ERROR, error.to_string()),
        Err(error) => refused(StatusCode::INTERNAL_SERVER_ERROR, error.to_string()),
    }
}

/// Stops sending to `viewer` of the view of `task`.
async fn leave(
    whep: Whep,
    task: Option<&str>,
    viewer: String,
    query: TokenQuery,
    headers: HeaderMap,
) -> Response {
    let branch = match whep.admitted(task, &query, &headers) {
        Ok(branch) => branch,
        Err((status, message)) => return refused(status, message),
    };
    match tokio::task::spawn_blocking(move || branch.remove_viewer(&viewer)).await {
        Ok(true) => StatusCode::OK.into_response(),
        Ok(false) => refused(StatusCode::NOT_FOUND, "no such viewer"),
        Err(error) => refused(StatusCode::INTERNAL_SERVER_ERROR, error.to_string()),
    }
}

/// A live view server on its own address (`run --live`, a worker's task views).
pub struct LiveServer {
    address: SocketAddr,
    token: String,
    task: tokio::task::JoinHandle<()>,
}

impl LiveServer {
    /// Serves `branch`'s WHEP endpoint on `bind` with a new viewer token (on the current tokio
    /// runtime).
    pub fn start(branch: Arc<LiveBranch>, bind: SocketAddr) -> std::io::Result<Self> {
        let token = new_token();
        Self::serve(router(branch, &token), token, bind)
    }

    /// Serves the views of a worker's tasks on `bind` with a new token.
    pub fn start_tasks(tasks: TaskViews, bind: SocketAddr) -> std::io::Result<Self> {
        let token = new_token();
        Self::serve(tasks_router(tasks, &token), token, bind)
    }

    fn serve(app: Router, token: String, bind: SocketAddr) -> std::io::Result<Self> {
        let listener = std::net::TcpListener::bind(bind)?;
        listener.set_nonblocking(true)?;
        let listener = tokio::net::TcpListener::from_std(listener)?;
        let address = listener.local_addr()?;
        let task = tokio::spawn(async move {
            if let Err(error) = axum::serve(listener, app).await {
                tracing::warn!(%error, "the live view's server stopped");
            }
        });
        Ok(Self {
            address,
            token,
            task,
        })
    }

    /// The address it listens on.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// The token viewers (or the API, for a worker) present.
    pub fn token(&self) -> &str {
        &self.token
    }

    /// The WHEP URL of a single view, with its viewer token.
    pub fn url(&self) -> String {
        format!("http://{}/whep?token={}", self.address, self.token)
    }
}

impl Drop for LiveServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_long_random_hex() {
        let (a, b) = (new_token(), new_token());
        assert_eq!(a.len(), TOKEN_CHARS);
        assert!(a.chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
        assert!(same(a.as_bytes(), a.as_bytes()));
        assert!(!same(a.as_bytes(), b.as_bytes()));
    }
}
