//! How the API says no: a status code and a JSON body a program can act on.

use axum::Json;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;
use utoipa::ToSchema;

use crate::service::store::{BoardError, StoreError};
use crate::service::validate::{FieldProblem, Problems};

/// The body of every error answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// What went wrong, in words.
    pub error: String,
    /// The fields that are wrong (`400` only).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<FieldProblem>,
}

/// Why a request failed.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The body or the query is wrong (`400`).
    #[error("invalid request")]
    Invalid(Problems),
    /// No such thing (`404`).
    #[error("{0}")]
    NotFound(String),
    /// A viewer token is missing or wrong (`401`).
    #[error("{0}")]
    Unauthorized(String),
    /// The thing is not in a state that allows this (`409`).
    #[error("{0}")]
    Conflict(String),
    /// The feature is not available in this service (`503`).
    #[error("{0}")]
    Unavailable(String),
    /// The store failed (`500`; logged).
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl ApiError {
    /// A single field problem.
    pub fn field(field: impl Into<String>, message: impl Into<String>) -> Self {
        let mut problems = Problems::default();
        problems.push(FieldProblem::new(field, message));
        Self::Invalid(problems)
    }

    /// `400` when `problems` is not empty.
    pub fn check(problems: Problems) -> Result<(), Self> {
        if problems.is_empty() {
            Ok(())
        } else {
            Err(Self::Invalid(problems))
        }
    }
}

impl From<BoardError> for ApiError {
    fn from(error: BoardError) -> Self {
        match error {
            BoardError::NotFound(_) => Self::NotFound(error.to_string()),
            BoardError::Conflict { .. } => Self::Conflict(error.to_string()),
            BoardError::Store(error) => Self::Store(error),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = match &self {
            Self::Invalid(_) => StatusCode::BAD_REQUEST,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Store(error) => {
                tracing::error!(%error, "task store failed");
                StatusCode::INTERNAL_SERVER_ERROR
            }
        };
        let problems = match self {
            Self::Invalid(ref problems) => problems.clone().into_vec(),
            _ => Vec::new(),
        };
        let body = ErrorBody {
            error: self.to_string(),
            problems,
        };
        (status, Json(body)).into_response()
    }
}

/// A JSON body whose decoding errors become a `400` naming the field (`options.refinement_steps:
/// invalid type…`), unknown fields included.
pub struct Body<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Body<T> {
    type Rejection = Response;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let is_json = request
            .headers()
            .get(axum::http::header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .is_some_and(|value| value.starts_with("application/json"));
        if !is_json {
            return Err(
                ApiError::field("body", "send JSON with Content-Type: application/json")
                    .into_response(),
            );
        }
        let bytes = axum::body::Bytes::from_request(request, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let deserializer = &mut serde_json::Deserializer::from_slice(&bytes);
        serde_path_to_error::deserialize(deserializer)
            .map(Body)
            .map_err(|error| {
                let field = error.path().to_string();
                let field = if field == "." {
                    "body".to_owned()
                } else {
                    field
                };
                ApiError::field(field, error.into_inner().to_string()).into_response()
            })
    }
}
