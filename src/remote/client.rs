//! The HTTP side: one POST per model call, retried on 429 (honouring `Retry-After`), 5xx,
//! timeouts and refused connections up to `OPENROUTER_MAX_RETRIES` times, with every failure
//! explained.

use std::time::{Duration, Instant};

use bytes::Bytes;
use gstneko::client::{TlsFailure, Trust};
use reqwest::StatusCode;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderValue, RETRY_AFTER};

use super::encode::{EncodeError, encode_image};
use super::request::request_body;
use super::response::{Answer, ResponseError, error_message, parse_response};
use super::settings::{RETRY_AFTER_CAP, RemoteSettings};
use crate::frame::RgbImage;
use crate::model::Message;

/// Largest response body read.
pub const MAX_RESPONSE_BYTES: usize = 4 << 20;

/// A model call that failed.
#[derive(Debug, thiserror::Error)]
pub enum RemoteError {
    /// The HTTP client could not be set up.
    #[error("cannot set up the HTTP client for {server}: {source}")]
    Client {
        /// The endpoint.
        server: String,
        /// reqwest's error.
        source: reqwest::Error,
    },
    /// The frame could not be encoded.
    #[error(transparent)]
    Encode(#[from] EncodeError),
    /// 401/403: the key is missing, wrong or not allowed (never retried).
    #[error(
        "{server} refused the request ({status}: {message}); check OPENROUTER_API_KEY/--remote-api-key"
    )]
    Auth {
        /// The endpoint.
        server: String,
        /// The HTTP status.
        status: u16,
        /// What the server said.
        message: String,
    },
    /// Another 4xx: the request itself is wrong (never retried).
    #[error("{server} rejected the request ({status}: {message}){}", rejection_hint(*.status))]
    Rejected {
        /// The endpoint.
        server: String,
        /// The HTTP status.
        status: u16,
        /// What the server said.
        message: String,
    },
    /// 429 or 5xx on every attempt.
    #[error(
        "{server} answered {status} ({message}) on all {attempts} attempt(s); gave up (OPENROUTER_MAX_RETRIES)"
    )]
    Status {
        /// The endpoint.
        server: String,
        /// The last HTTP status.
        status: u16,
        /// What the server last said.
        message: String,
        /// Attempts made.
        attempts: u32,
    },
    /// No answer in time on every attempt.
    #[error(
        "{server} did not answer within {seconds} s (OPENROUTER_TIMEOUT) on all {attempts} attempt(s); gave up"
    )]
    Timeout {
        /// The endpoint.
        server: String,
        /// The limit of one attempt.
        seconds: f64,
        /// Attempts made.
        attempts: u32,
    },
    /// The server could not be reached (or dropped the connection) on every attempt.
    #[error(
        "cannot reach {server} ({reason}) on all {attempts} attempt(s); is the server running and OPENROUTER_BASE_URL right?"
    )]
    Unreachable {
        /// The endpoint.
        server: String,
        /// What failed.
        reason: String,
        /// Attempts made.
        attempts: u32,
    },
    /// The server's certificate was refused (never retried).
    #[error(transparent)]
    Tls(TlsFailure),
    /// The answer is larger than [`MAX_RESPONSE_BYTES`].
    #[error("{server} sent an answer larger than {limit} bytes; refused")]
    TooLarge {
        /// The endpoint.
        server: String,
        /// The limit.
        limit: usize,
    },
    /// A 2xx answer that is not a chat completion (never retried).
    #[error("{server} is not an OpenAI-compatible chat-completions endpoint: {source}")]
    Malformed {
        /// The endpoint.
        server: String,
        /// What is wrong with the body.
        source: ResponseError,
    },
}

impl RemoteError {
    /// Whether the key or the settings are at fault (a settings error for `run`), rather than
    /// the server's state.
    pub fn is_settings(&self) -> bool {
        matches!(self, Self::Auth { .. } | Self::Rejected { .. })
    }
}

fn rejection_hint(status: u16) -> &'static str {
    match status {
        404 => {
            "; check OPENROUTER_BASE_URL (a …/v1 base or the …/chat/completions URL) and the model name"
        }
        413 => "; lower NEKO_REMOTE_IMAGE_EDGE or use NEKO_REMOTE_IMAGE_FORMAT=jpeg",
        400 | 422 => "; check that the model takes images and the OPENROUTER_* request settings",
        402 => "; the account has no credit left",
        _ => "",
    }
}

/// A request ready to send: the frame encoded and the body built.
#[derive(Debug, Clone)]
pub struct PreparedRequest {
    body: Bytes,
    /// Size of the image sent.
    pub image_size: (u32, u32),
    /// Time spent scaling, encoding and building the body.
    pub prepare: Duration,
}

impl PreparedRequest {
    /// The JSON body.
    pub fn body(&self) -> &[u8] {
        &self.body
    }
}

/// Where the time of a call went.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct RemoteTimings {
    /// Scaling and encoding the frame and building the body.
    pub prepare: Duration,
    /// From the first send to the last byte of the answer, waits between attempts included.
    pub round_trip: Duration,
    /// Reading the answer's JSON.
    pub parse: Duration,
    /// Attempts made.
    pub attempts: u32,
}

/// A remote model's answer to one call.
#[derive(Debug, Clone, PartialEq)]
pub struct RemoteReply {
    /// The answer.
    pub answer: Answer,
    /// Where the time went.
    pub timings: RemoteTimings,
}

/// A remote model behind a chat-completions endpoint.
#[derive(Debug, Clone)]
pub struct RemoteVlm {
    http: reqwest::Client,
    settings: RemoteSettings,
}

/// Why one attempt failed.
enum Failure {
    Status {
        status: StatusCode,
        message: String,
        retry_after: Option<Duration>,
    },
    Timeout,
    Unreachable(String),
    Final(RemoteError),
}

impl RemoteVlm {
    /// A client for `settings`, trusting the system's roots plus `trust`'s CA file.
    pub fn new(settings: RemoteSettings, trust: &Trust) -> Result<Self, RemoteError> {
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        let header = |value: &str| HeaderValue::from_str(value).ok();
        if let Some(value) = settings
            .api_key
            .as_deref()
            .and_then(|key| header(&format!("Bearer {key}")))
        {
            let mut value = value;
            value.set_sensitive(true);
            headers.insert(AUTHORIZATION, value);
        }
        if let Some(value) = settings.site_url.as_deref().and_then(header) {
            headers.insert("HTTP-Referer", value);
        }
        if let Some(value) = header(&settings.app_name) {
            headers.insert("X-Title", value);
        }
        let http = reqwest::Client::builder()
            .default_headers(headers)
            .timeout(settings.timeout)
            .connect_timeout(settings.timeout.min(Duration::from_secs(10)))
            .use_preconfigured_tls((*trust.client_config()).clone())
            .build()
            .map_err(|source| RemoteError::Client {
                server: settings.server(),
                source,
            })?;
        Ok(Self { http, settings })
    }

    /// The settings in use.
    pub fn settings(&self) -> &RemoteSettings {
        &self.settings
    }

    /// Scales and encodes `image` and builds the request carrying it with `messages` (CPU work:
    /// run it off the async threads).
    pub fn prepare(
        &self,
        image: &RgbImage,
        messages: &[Message],
    ) -> Result<PreparedRequest, EncodeError> {
        let started = Instant::now();
        let encoded = encode_image(image, self.settings.image_edge, self.settings.image_format)?;
        let body = request_body(&self.settings, messages, &encoded.data_url);
        Ok(PreparedRequest {
            body: Bytes::from(body),
            image_size: (encoded.width, encoded.height),
            prepare: started.elapsed(),
        })
    }

    /// Sends `request`, retrying transient failures, and reads the answer.
    pub async fn complete(&self, request: PreparedRequest) -> Result<RemoteReply, RemoteError> {
        let started = Instant::now();
        let server = self.settings.server();
        let mut attempts = 0;
        let body = loop {
            attempts += 1;
            let failure = match self.attempt(request.body.clone()).await {
                Ok(body) => break body,
                Err(Failure::Final(error)) => return Err(error),
                Err(failure) => failure,
            };
            if attempts > self.settings.max_retries {
                return Err(self.gave_up(failure, attempts));
            }
            let wait = match &failure {
                Failure::Status {
                    retry_after: Some(wait),
                    ..
                } => *wait,
                _ => self.settings.backoff_before(attempts),
            };
            tracing::warn!(
                %server,
                attempt = attempts,
                wait_s = wait.as_secs_f64(),
                problem = %self.describe(&failure),
                "remote model call failed; retrying"
            );
            tokio::time::sleep(wait).await;
        };
        let round_trip = started.elapsed();
        let parsing = Instant::now();
        let answer =
            parse_response(&body).map_err(|source| RemoteError::Malformed { server, source })?;
        Ok(RemoteReply {
            answer,
            timings: RemoteTimings {
                prepare: request.prepare,
                round_trip,
                parse: parsing.elapsed(),
                attempts,
            },
        })
    }

    /// One POST; the body of a 2xx answer.
    async fn attempt(&self, body: Bytes) -> Result<Vec<u8>, Failure> {
        let mut response = self
            .http
            .post(self.settings.url.clone())
            .body(body)
            .send()
            .await
            .map_err(|error| self.transport(&error))?;
        let status = response.status();
        let retry_after = retry_after(response.headers());
        let server = self.settings.server();
        let too_large = || {
            Failure::Final(RemoteError::TooLarge {
                server: server.clone(),
                limit: MAX_RESPONSE_BYTES,
            })
        };
        if response
            .content_length()
            .is_some_and(|length| length > MAX_RESPONSE_BYTES as u64)
        {
            return Err(too_large());
        }
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|error| self.transport(&error))?
        {
            if body.len() + chunk.len() > MAX_RESPONSE_BYTES {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        if status.is_success() {
            return Ok(body);
        }
        let message = error_message(&body);
        let code = status.as_u16();
        match status {
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
                Err(Failure::Final(RemoteError::Auth {
                    server,
                    status: code,
                    message,
                }))
            }
            StatusCode::TOO_MANY_REQUESTS | StatusCode::REQUEST_TIMEOUT => Err(Failure::Status {
                status,
                message,
                retry_after,
            }),
            _ if status.is_server_error() => Err(Failure::Status {
                status,
                message,
                retry_after,
            }),
            _ => Err(Failure::Final(RemoteError::Rejected {
                server,
                status: code,
                message,
            })),
        }
    }

    /// A failure to send or to read the answer.
    fn transport(&self, error: &reqwest::Error) -> Failure {
        if let Some(failure) = TlsFailure::find(self.settings.server(), error) {
            return Failure::Final(RemoteError::Tls(failure));
        }
        if error.is_timeout() {
            return Failure::Timeout;
        }
        let mut reason = error.to_string();
        let mut source = std::error::Error::source(error);
        while let Some(inner) = source {
            reason = format!("{reason}: {inner}");
            source = inner.source();
        }
        Failure::Unreachable(reason)
    }

    fn describe(&self, failure: &Failure) -> String {
        match failure {
            Failure::Status {
                status, message, ..
            } => format!("{status}: {message}"),
            Failure::Timeout => {
                format!("no answer within {} s", self.settings.timeout.as_secs_f64())
            }
            Failure::Unreachable(reason) => reason.clone(),
            Failure::Final(error) => error.to_string(),
        }
    }

    fn gave_up(&self, failure: Failure, attempts: u32) -> RemoteError {
        let server = self.settings.server();
        match failure {
            Failure::Status {
                status, message, ..
            } => RemoteError::Status {
                server,
                status: status.as_u16(),
                message,
                attempts,
            },
            Failure::Timeout => RemoteError::Timeout {
                server,
                seconds: self.settings.timeout.as_secs_f64(),
                attempts,
            },
            Failure::Unreachable(reason) => RemoteError::Unreachable {
                server,
                reason,
                attempts,
            },
            Failure::Final(error) => error,
        }
    }
}

/// `Retry-After` in seconds (an HTTP date is not used: the backoff applies), at most
/// [`RETRY_AFTER_CAP`].
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let seconds: f64 = headers
        .get(RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()?;
    (seconds.is_finite() && seconds >= 0.0)
        .then(|| Duration::from_secs_f64(seconds).min(RETRY_AFTER_CAP))
}
