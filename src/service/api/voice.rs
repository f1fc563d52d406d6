//! `/api/v1/tts` and `/api/v1/voices`: speak in the room with the voice of `neko-agent yap`
//! (whole texts or a stream cut into sentences as it comes), stop it, and manage the voices
//! file it speaks with.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::ApiState;
use super::error::{ApiError, Body, ErrorBody};
use crate::service::validate::{FieldProblem, Problems};
use crate::service::voice::{NamedVoice, VoiceEngine, VoiceEngineError};
use crate::voice::commands::{AddVoice, CommandError, check_speaker};
use crate::voice::voices::{self as registry, VoiceParams, check_pitch, check_rate};

/// Longest reference path or `espeak:` name accepted.
pub const MAX_REF_AUDIO_CHARS: usize = 4096;
/// Longest reference transcript accepted.
pub const MAX_REF_TEXT_CHARS: usize = 4000;
/// Most style tags of a voice.
pub const MAX_STYLES: usize = 16;
/// Longest style tag.
pub const MAX_STYLE_CHARS: usize = 64;
/// Speech rate assumed for the duration estimate, in characters per second at rate 1.
const CHARS_PER_SECOND: f64 = 14.0;

/// The speech and voice routes.
pub fn routes() -> OpenApiRouter<Arc<ApiState>> {
    OpenApiRouter::new()
        .routes(routes!(speak))
        .routes(routes!(stream_start))
        .routes(routes!(stream_text))
        .routes(routes!(stream_stop))
        .routes(routes!(stop_all))
        .routes(routes!(list_voices, add_voice))
        .routes(routes!(get_voice, put_voice, delete_voice))
        .routes(routes!(reload_voices))
}

/// Tempo and pitch as a request gives them: a voice's own (`/voices`), or laid over the
/// voice's for one utterance (`/tts/speak`).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VoiceParamsBody {
    /// Tempo factor, 0.25 to 4 (1 = normal).
    pub rate: Option<f32>,
    /// Pitch shift in semitones, -24 to 24 (0 = unchanged).
    pub pitch: Option<f32>,
}

/// `POST /tts/speak`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SpeakRequest {
    /// What to say.
    pub text: String,
    /// The voice (the default voice when absent).
    pub voice_id: Option<String>,
    /// Tempo and pitch for this utterance.
    #[serde(default)]
    pub params: VoiceParamsBody,
}

/// The answer to `POST /tts/speak`.
#[derive(Debug, Serialize, ToSchema)]
pub struct SpeakAnswer {
    /// This request's id (for logs).
    pub request_id: String,
    /// `speaking`: queued behind what is being said.
    pub status: String,
    /// A rough duration of the speech, in milliseconds.
    pub estimated_duration_ms: u64,
    /// Notes about the voices file (an edit that did not reload).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// `POST /tts/stream/text`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StreamText {
    /// The next piece of the stream.
    pub text: String,
}

/// What a speech request did.
#[derive(Debug, Serialize, ToSchema)]
pub struct SpeechStatus {
    /// `streaming`, `stream_ended`, `stopped`….
    pub status: String,
    /// Chunks of the stream spoken by this request (stream text only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chunks_spoken: Option<usize>,
}

/// A voice of `voices.json`.
#[derive(Debug, Serialize, ToSchema)]
pub struct VoiceView {
    /// Its id.
    pub voice_id: String,
    /// Reference recording path, or `espeak:<voice>`.
    pub ref_audio: String,
    /// Transcript of the reference recording.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ref_text: Option<String>,
    /// Style tags.
    pub styles: Vec<String>,
    /// Tempo and pitch.
    pub params: ParamsView,
}

/// A voice's tempo and pitch.
#[derive(Debug, Serialize, ToSchema)]
pub struct ParamsView {
    /// Tempo factor.
    pub rate: f32,
    /// Pitch shift in semitones.
    pub pitch: f32,
}

impl From<NamedVoice> for VoiceView {
    fn from(named: NamedVoice) -> Self {
        Self {
            voice_id: named.voice_id,
            ref_audio: named.voice.ref_audio,
            ref_text: named.voice.ref_text,
            styles: named.voice.styles,
            params: ParamsView {
                rate: named.voice.params.rate,
                pitch: named.voice.params.pitch,
            },
        }
    }
}

/// The voices.
#[derive(Debug, Serialize, ToSchema)]
pub struct VoiceList {
    /// In file order.
    pub voices: Vec<VoiceView>,
    /// The voice used when none is named.
    pub default_voice: String,
    /// Entries of the file that were skipped, and why.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// `POST /voices`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewVoice {
    /// The voice's id (1 to 64 characters, no control characters).
    pub voice_id: String,
    /// Reference recording on the service's machine, or `espeak:<voice>`.
    pub ref_audio: String,
    /// Transcript of the reference recording (F5-TTS needs it).
    pub ref_text: Option<String>,
    /// Style tags.
    #[serde(default)]
    pub styles: Vec<String>,
    /// Tempo and pitch.
    #[serde(default)]
    pub params: VoiceParamsBody,
}

/// `PUT /voices/{voice_id}`: the whole entry, replaced.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VoiceEntry {
    /// Reference recording on the service's machine, or `espeak:<voice>`.
    pub ref_audio: String,
    /// Transcript of the reference recording.
    pub ref_text: Option<String>,
    /// Style tags.
    #[serde(default)]
    pub styles: Vec<String>,
    /// Tempo and pitch.
    #[serde(default)]
    pub params: VoiceParamsBody,
}

/// The answer to `POST /voices`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Registered {
    /// The voice's id.
    pub voice_id: String,
    /// `registered`.
    pub status: String,
    /// When.
    pub created_at: DateTime<Utc>,
    /// The entry as stored.
    pub voice: VoiceView,
}

/// The answer to `POST /voices/reload`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Reloaded {
    /// Voices usable now.
    pub voices: usize,
    /// Entries skipped, and why.
    pub warnings: Vec<String>,
}

impl From<VoiceEngineError> for ApiError {
    fn from(error: VoiceEngineError) -> Self {
        match error {
            VoiceEngineError::NotFound(_) => Self::NotFound(error.to_string()),
            VoiceEngineError::Exists(_)
            | VoiceEngineError::NoStream
            | VoiceEngineError::StreamOpen => Self::Conflict(error.to_string()),
            VoiceEngineError::Command(CommandError::UnknownSpeaker { .. }) => {
                Self::field("voice_id", error.to_string())
            }
            VoiceEngineError::Command(_) => Self::field("params", error.to_string()),
            VoiceEngineError::Start(_)
            | VoiceEngineError::StartTask(_)
            | VoiceEngineError::Join { .. }
            | VoiceEngineError::Registry(_)
            | VoiceEngineError::Say(_)
            | VoiceEngineError::Closed => Self::Unavailable(error.to_string()),
        }
    }
}

fn engine(state: &ApiState) -> Result<&Arc<VoiceEngine>, ApiError> {
    state
        .voice
        .as_ref()
        .ok_or_else(|| ApiError::Unavailable("voice is not configured in this service".into()))
}

fn check_text(field: &str, text: &str, max: usize, problems: &mut Problems) {
    if text.trim().is_empty() || text.chars().count() > max {
        problems.push(FieldProblem::new(
            field,
            format!("give 1 to {max} characters"),
        ));
    }
}

fn check_params(rate: Option<f32>, pitch: Option<f32>, problems: &mut Problems) {
    if let Some(Err(error)) = rate.map(check_rate) {
        problems.push(FieldProblem::new("params.rate", error.to_string()));
    }
    if let Some(Err(error)) = pitch.map(check_pitch) {
        problems.push(FieldProblem::new("params.pitch", error.to_string()));
    }
}

fn check_voice_id(field: &str, voice_id: &str, problems: &mut Problems) -> Option<String> {
    match check_speaker(voice_id.to_owned()) {
        Ok(id) => Some(id),
        Err(error) => {
            problems.push(FieldProblem::new(field, error.to_string()));
            None
        }
    }
}

/// Checks an entry's fields; the entry to store when they are right.
fn checked_entry(
    voice_id: Option<String>,
    entry: VoiceEntry,
    mut problems: Problems,
) -> Result<(String, registry::Voice), ApiError> {
    let ref_audio = entry.ref_audio.trim().to_owned();
    check_text("ref_audio", &ref_audio, MAX_REF_AUDIO_CHARS, &mut problems);
    if let Some(text) = &entry.ref_text
        && text.chars().count() > MAX_REF_TEXT_CHARS
    {
        problems.push(FieldProblem::new(
            "ref_text",
            format!("at most {MAX_REF_TEXT_CHARS} characters"),
        ));
    }
    if entry.styles.len() > MAX_STYLES
        || entry.styles.iter().any(|style| {
            style.trim().is_empty()
                || style.chars().count() > MAX_STYLE_CHARS
                || style.chars().any(char::is_control)
        })
    {
        problems.push(FieldProblem::new(
            "styles",
            format!(
                "at most {MAX_STYLES} tags of 1 to {MAX_STYLE_CHARS} characters without control characters"
            ),
        ));
    }
    check_params(entry.params.rate, entry.params.pitch, &mut problems);
    ApiError::check(problems)?;
    let speaker = voice_id.unwrap_or_default();
    let add = AddVoice {
        speaker,
        voice: registry::Voice {
            ref_audio,
            ref_text: entry.ref_text.filter(|t| !t.trim().is_empty()),
            styles: entry.styles.iter().map(|s| s.trim().to_owned()).collect(),
            params: VoiceParams {
                rate: entry.params.rate.unwrap_or(1.0),
                pitch: entry.params.pitch.unwrap_or(0.0),
            },
        },
    };
    add.check_reference()
        .map_err(|error| ApiError::field("ref_audio", error.to_string()))?;
    Ok((add.speaker, add.voice))
}

/// Say `text` in the room, after what is being said.
#[utoipa::path(post, path = "/tts/speak", tag = "voice", request_body = SpeakRequest,
    responses(
        (status = 202, description = "Queued", body = SpeakAnswer),
        (status = 400, description = "A field is wrong (named in `problems`)", body = ErrorBody),
        (status = 503, description = "Voice is not configured, or cannot start or join the room", body = ErrorBody),
    ))]
async fn speak(
    State(state): State<Arc<ApiState>>,
    Body(request): Body<SpeakRequest>,
) -> Result<(StatusCode, Json<SpeakAnswer>), ApiError> {
    let engine = engine(&state)?;
    let mut problems = Problems::default();
    check_text(
        "text",
        &request.text,
        engine.max_text_chars(),
        &mut problems,
    );
    let voice_id = request
        .voice_id
        .as_deref()
        .and_then(|id| check_voice_id("voice_id", id, &mut problems));
    check_params(request.params.rate, request.params.pitch, &mut problems);
    ApiError::check(problems)?;
    let notes = engine
        .speak(
            &request.text,
            voice_id.as_deref(),
            request.params.rate,
            request.params.pitch,
        )
        .await?;
    let rate = f64::from(request.params.rate.unwrap_or(1.0));
    let seconds = request.text.chars().count() as f64 / CHARS_PER_SECOND / rate;
    Ok((
        StatusCode::ACCEPTED,
        Json(SpeakAnswer {
            request_id: format!("{:016x}", rand::random::<u64>()),
            status: "speaking".into(),
            estimated_duration_ms: (seconds * 1000.0).round() as u64,
            notes,
        }),
    ))
}

/// Open a stream: the texts sent next are spoken sentence by sentence as they complete, as
/// `/yap:begin` does in chat.
#[utoipa::path(post, path = "/tts/stream/start", tag = "voice",
    responses(
        (status = 200, description = "Streaming", body = SpeechStatus),
        (status = 409, description = "A stream is open", body = ErrorBody),
        (status = 503, description = "Voice is not configured, or cannot start", body = ErrorBody),
    ))]
async fn stream_start(State(state): State<Arc<ApiState>>) -> Result<Json<SpeechStatus>, ApiError> {
    engine(&state)?.stream_start().await?;
    Ok(Json(SpeechStatus {
        status: "streaming".into(),
        chunks_spoken: None,
    }))
}

/// The next piece of the stream.
#[utoipa::path(post, path = "/tts/stream/text", tag = "voice", request_body = StreamText,
    responses(
        (status = 200, description = "Taken", body = SpeechStatus),
        (status = 400, description = "The text is wrong", body = ErrorBody),
        (status = 409, description = "No stream is open", body = ErrorBody),
        (status = 503, description = "Voice is not configured, or cannot start", body = ErrorBody),
    ))]
async fn stream_text(
    State(state): State<Arc<ApiState>>,
    Body(request): Body<StreamText>,
) -> Result<Json<SpeechStatus>, ApiError> {
    let engine = engine(&state)?;
    let mut problems = Problems::default();
    check_text(
        "text",
        &request.text,
        engine.max_text_chars(),
        &mut problems,
    );
    ApiError::check(problems)?;
    let spoken = engine.stream_text(&request.text).await?;
    Ok(Json(SpeechStatus {
        status: "streaming".into(),
        chunks_spoken: Some(spoken),
    }))
}

/// Speak what the stream holds and close it, as `/yap:end` does.
#[utoipa::path(post, path = "/tts/stream/stop", tag = "voice",
    responses(
        (status = 200, description = "Closed", body = SpeechStatus),
        (status = 409, description = "No stream is open", body = ErrorBody),
        (status = 503, description = "Voice is not configured", body = ErrorBody),
    ))]
async fn stream_stop(State(state): State<Arc<ApiState>>) -> Result<Json<SpeechStatus>, ApiError> {
    engine(&state)?.stream_stop().await?;
    Ok(Json(SpeechStatus {
        status: "stream_ended".into(),
        chunks_spoken: None,
    }))
}

/// Stop all speech now and clear the queue (a stream stays open, its pending text dropped).
#[utoipa::path(delete, path = "/tts/stop", tag = "voice",
    responses(
        (status = 200, description = "Silent", body = SpeechStatus),
        (status = 503, description = "Voice is not configured", body = ErrorBody),
    ))]
async fn stop_all(State(state): State<Arc<ApiState>>) -> Result<Json<SpeechStatus>, ApiError> {
    engine(&state)?.stop().await;
    Ok(Json(SpeechStatus {
        status: "stopped".into(),
        chunks_spoken: None,
    }))
}

/// The voices of `voices.json`.
#[utoipa::path(get, path = "/voices", tag = "voice",
    responses(
        (status = 200, description = "The voices", body = VoiceList),
        (status = 503, description = "Voice is not configured", body = ErrorBody),
    ))]
async fn list_voices(State(state): State<Arc<ApiState>>) -> Result<Json<VoiceList>, ApiError> {
    let (voices, warnings, default_voice) = engine(&state)?.voices();
    Ok(Json(VoiceList {
        voices: voices.into_iter().map(VoiceView::from).collect(),
        default_voice,
        warnings,
    }))
}

/// Register a voice in `voices.json`.
#[utoipa::path(post, path = "/voices", tag = "voice", request_body = NewVoice,
    responses(
        (status = 201, description = "Registered", body = Registered),
        (status = 400, description = "A field is wrong (named in `problems`)", body = ErrorBody),
        (status = 409, description = "The voice exists", body = ErrorBody),
        (status = 503, description = "Voice is not configured, or voices.json cannot be written", body = ErrorBody),
    ))]
async fn add_voice(
    State(state): State<Arc<ApiState>>,
    Body(request): Body<NewVoice>,
) -> Result<(StatusCode, Json<Registered>), ApiError> {
    let engine = engine(&state)?;
    let mut problems = Problems::default();
    let voice_id = check_voice_id("voice_id", &request.voice_id, &mut problems);
    let entry = VoiceEntry {
        ref_audio: request.ref_audio,
        ref_text: request.ref_text,
        styles: request.styles,
        params: request.params,
    };
    let (voice_id, voice) = checked_entry(voice_id, entry, problems)?;
    let stored = engine.put(&voice_id, &voice, false).await?;
    Ok((
        StatusCode::CREATED,
        Json(Registered {
            voice_id,
            status: "registered".into(),
            created_at: Utc::now(),
            voice: stored.into(),
        }),
    ))
}

/// A voice.
#[utoipa::path(get, path = "/voices/{voice_id}", tag = "voice",
    params(("voice_id" = String, Path, description = "The voice's id")),
    responses(
        (status = 200, description = "The voice", body = VoiceView),
        (status = 404, description = "No such voice", body = ErrorBody),
        (status = 503, description = "Voice is not configured", body = ErrorBody),
    ))]
async fn get_voice(
    State(state): State<Arc<ApiState>>,
    Path(voice_id): Path<String>,
) -> Result<Json<VoiceView>, ApiError> {
    Ok(Json(engine(&state)?.voice(&voice_id)?.into()))
}

/// Replace a voice's entry.
#[utoipa::path(put, path = "/voices/{voice_id}", tag = "voice", request_body = VoiceEntry,
    params(("voice_id" = String, Path, description = "The voice's id")),
    responses(
        (status = 200, description = "The voice now", body = VoiceView),
        (status = 400, description = "A field is wrong (named in `problems`)", body = ErrorBody),
        (status = 404, description = "No such voice", body = ErrorBody),
        (status = 503, description = "Voice is not configured, or voices.json cannot be written", body = ErrorBody),
    ))]
async fn put_voice(
    State(state): State<Arc<ApiState>>,
    Path(voice_id): Path<String>,
    Body(entry): Body<VoiceEntry>,
) -> Result<Json<VoiceView>, ApiError> {
    let engine = engine(&state)?;
    engine.voice(&voice_id)?;
    let (voice_id, voice) = checked_entry(Some(voice_id), entry, Problems::default())?;
    Ok(Json(engine.put(&voice_id, &voice, true).await?.into()))
}

/// Remove a voice from `voices.json`.
#[utoipa::path(delete, path = "/voices/{voice_id}", tag = "voice",
    params(("voice_id" = String, Path, description = "The voice's id")),
    responses(
        (status = 204, description = "Removed"),
        (status = 404, description = "No such voice", body = ErrorBody),
        (status = 503, description = "Voice is not configured, or voices.json cannot be written", body = ErrorBody),
    ))]
async fn delete_voice(
    State(state): State<Arc<ApiState>>,
    Path(voice_id): Path<String>,
) -> Result<StatusCode, ApiError> {
    engine(&state)?.remove(&voice_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Re-read `voices.json` (after an edit by hand).
#[utoipa::path(post, path = "/voices/reload", tag = "voice",
    responses(
        (status = 200, description = "Reloaded", body = Reloaded),
        (status = 503, description = "Voice is not configured, or voices.json cannot be read", body = ErrorBody),
    ))]
async fn reload_voices(State(state): State<Arc<ApiState>>) -> Result<Json<Reloaded>, ApiError> {
    let engine = engine(&state)?;
    let warnings = engine.reload().await?;
    Ok(Json(Reloaded {
        voices: engine.voices().0.len(),
        warnings,
    }))
}
