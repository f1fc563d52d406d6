//! A task as the service keeps it: what was asked (`POST /tasks`), where it stands, the steps
//! it took and how it ended — one record, the same in the local store and in Redis.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::validate::{FieldProblem, Problems};

/// Longest task text accepted.
pub const MAX_TASK_CHARS: usize = 4_000;
/// Most steps one task may ask for.
pub const MAX_STEPS_LIMIT: u32 = 1_000;
/// Longest task timeout accepted, in seconds (a day).
pub const MAX_TIMEOUT_S: u64 = 86_400;
/// Most refinement passes one step may ask for.
pub const MAX_REFINEMENT_STEPS: u32 = 10;
/// Steps kept in a task record (the oldest are dropped past this; the count stays exact).
pub const MAX_RECORDED_STEPS: usize = 1_000;

/// `POST /api/v1/tasks`: a task to queue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TaskSpec {
    /// What the agent should do, in words.
    #[schema(example = "Search for Python tutorials on YouTube")]
    pub task: String,
    /// Action space and prompt.
    #[serde(default)]
    pub mode: TaskMode,
    /// Steps before the task ends without an answer (default: the agent's `NEKO_MAX_STEPS`).
    #[serde(default)]
    pub max_steps: Option<u32>,
    /// Seconds the whole task may take once it started (default: no limit beyond the steps).
    #[serde(default)]
    pub timeout: Option<u64>,
    /// Called with the final task record (POST, JSON, signed) when the task ends, and when it is
    /// paused by a takeover.
    #[serde(default)]
    pub callback_url: Option<String>,
    /// How the task runs.
    #[serde(default)]
    pub options: TaskOptions,
    /// The room to drive; the service's default room when absent.
    #[serde(default)]
    pub room: Option<RoomRef>,
}

/// `web` or `phone`: the action space the model is prompted with.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum TaskMode {
    /// Browser actions (CLICK, INPUT, SCROLL, …).
    #[default]
    Web,
    /// Phone actions (TAP, SWIPE, …).
    Phone,
}

impl TaskMode {
    /// The name `run --mode` takes.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Web => "web",
            Self::Phone => "phone",
        }
    }
}

/// `options` of a task.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TaskOptions {
    /// `WIDTHxHEIGHT` the room's screen is set to before the task starts (needs an admin
    /// login on a real server; `serve`'s embedded room logs its agent in as admin).
    #[serde(default)]
    #[schema(example = "1920x1080")]
    pub screen_resolution: Option<String>,
    /// Keep each step's frame with its action drawn on it (served under the task).
    #[serde(default)]
    pub save_screenshots: bool,
    /// Model calls per step (click refinement); default: the agent's `REFINEMENT_STEPS`.
    #[serde(default)]
    pub refinement_steps: Option<u32>,
    /// Record the task as a training episode into the capture dataset.
    #[serde(default)]
    pub enable_capture: bool,
    /// Narrate the steps aloud in the room.
    #[serde(default)]
    pub enable_tts: bool,
    /// The voice narration uses (a voice of the registry; default: the registry's default).
    #[serde(default)]
    pub voice_id: Option<String>,
}

/// The room a task drives: a named room of the service's room file, or a server and login.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoomRef {
    /// A room named in the service's rooms file (`--rooms`).
    #[serde(default)]
    pub name: Option<String>,
    /// Server base URL (`https://neko.example.com`).
    #[serde(default)]
    pub url: Option<String>,
    /// Login name.
    #[serde(default)]
    pub username: Option<String>,
    /// Login password (never shown again: task records show it as `***`).
    #[serde(default)]
    pub password: Option<String>,
}

/// `PUT /api/v1/tasks/{id}`: what may change while a task is queued.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TaskPatch {
    /// New task text.
    #[serde(default)]
    pub task: Option<String>,
    /// New mode.
    #[serde(default)]
    pub mode: Option<TaskMode>,
    /// New step limit.
    #[serde(default)]
    pub max_steps: Option<u32>,
    /// New timeout in seconds.
    #[serde(default)]
    pub timeout: Option<u64>,
    /// New callback URL.
    #[serde(default)]
    pub callback_url: Option<String>,
    /// New options (replace the old ones as a whole).
    #[serde(default)]
    pub options: Option<TaskOptions>,
    /// New room.
    #[serde(default)]
    pub room: Option<RoomRef>,
}

/// Where a task stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum TaskStatus {
    /// Waiting for a worker.
    Queued,
    /// A worker runs it.
    Running,
    /// Stopped for now: a person took control, or `POST /pause`.
    Paused,
    /// The agent answered.
    Completed,
    /// It ended without an answer (step limit, timeout, lost room, model failure…).
    Failed,
    /// `DELETE /tasks/{id}` stopped it.
    Cancelled,
}

impl TaskStatus {
    /// Whether the task has ended (nothing changes it any more).
    pub fn is_final(self) -> bool {
        matches!(self, Self::Completed | Self::Failed | Self::Cancelled)
    }

    /// The name used in JSON and in filters.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Running => "running",
            Self::Paused => "paused",
            Self::Completed => "completed",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
        }
    }

    /// The status named `name`, if any.
    pub fn parse(name: &str) -> Option<Self> {
        [
            Self::Queued,
            Self::Running,
            Self::Paused,
            Self::Completed,
            Self::Failed,
            Self::Cancelled,
        ]
        .into_iter()
        .find(|status| status.as_str() == name)
    }
}

/// Why a task is paused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PauseCause {
    /// `POST /tasks/{id}/pause`.
    Requested,
    /// A person took control of the room.
    Takeover,
}

/// One step the agent took.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct StepRecord {
    /// Step number, from 1.
    pub step: u32,
    /// The action as the agent posts it in chat (JSON), or none when the model gave no usable
    /// action.
    pub action: Option<String>,
    /// Model calls the step made (click refinement).
    pub model_calls: usize,
    /// Time in the model, in milliseconds.
    pub model_ms: f64,
    /// When the step was decided.
    pub at: DateTime<Utc>,
}

/// What the service asks of a running task (set by the API, applied by its worker).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Steering {
    /// `DELETE /tasks/{id}` while it ran.
    pub cancel: bool,
    /// `POST /pause` (cleared by `POST /resume`).
    pub pause: bool,
    /// `POST /resume` while a person holds control: go on anyway.
    #[serde(default)]
    pub resume_takeover: bool,
    /// A person took control from the live page (`/live/take`; cleared by `/live/give-back`).
    #[serde(default)]
    pub person: bool,
}

/// A task record: the spec, its state and its result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Task {
    /// The task's id.
    #[schema(example = "task_7Gk2mQ9xLp4a")]
    pub task_id: String,
    /// What was asked.
    pub spec: TaskSpec,
    /// Where it stands.
    pub status: TaskStatus,
    /// Why it is paused (while paused).
    pub pause_reason: Option<PauseCause>,
    /// What the API asked of the running task.
    #[serde(default)]
    pub steering: Steering,
    /// When it was submitted.
    pub created_at: DateTime<Utc>,
    /// When a worker last started it.
    pub started_at: Option<DateTime<Utc>>,
    /// When it ended.
    pub finished_at: Option<DateTime<Utc>>,
    /// When the last change was made.
    pub updated_at: DateTime<Utc>,
    /// How many times a worker started it (more than 1 after a worker or the service died).
    pub attempts: u32,
    /// The worker running it (or that ran it last).
    pub worker: Option<String>,
    /// Steps of the latest attempt, oldest first (at most [`MAX_RECORDED_STEPS`]).
    pub steps: Vec<StepRecord>,
    /// Steps taken in the latest attempt.
    pub step_count: u32,
    /// The agent's answer (completed tasks).
    pub answer: Option<String>,
    /// Why it failed.
    pub error: Option<String>,
    /// The live page with its viewer token: filled in by the API when it shows the record,
    /// never stored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub live_url: Option<String>,
}

impl Task {
    /// A new queued task.
    pub fn new(task_id: String, spec: TaskSpec, now: DateTime<Utc>) -> Self {
        Self {
            task_id,
            spec,
            status: TaskStatus::Queued,
            pause_reason: None,
            steering: Steering::default(),
            created_at: now,
            started_at: None,
            finished_at: None,
            updated_at: now,
            attempts: 0,
            worker: None,
            steps: Vec::new(),
            step_count: 0,
            answer: None,
            error: None,
            live_url: None,
        }
    }

    /// The record as the API shows it: the room's password hidden.
    pub fn redacted(&self) -> Self {
        let mut task = self.clone();
        if let Some(room) = &mut task.spec.room
            && room.password.is_some()
        {
            room.password = Some("***".into());
        }
        task
    }

    /// Records a step (dropping the oldest past [`MAX_RECORDED_STEPS`]).
    pub fn push_step(&mut self, step: StepRecord) {
        self.step_count = self.step_count.max(step.step);
        if self.steps.len() == MAX_RECORDED_STEPS {
            self.steps.remove(0);
        }
        self.steps.push(step);
    }
}

/// How a task ended, as its worker reports it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ending {
    /// `completed`, `failed` or `cancelled`.
    pub status: TaskStatus,
    /// The answer (completed).
    pub answer: Option<String>,
    /// Why it failed.
    pub error: Option<String>,
}

/// `POST /api/v1/tasks` answer.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Submitted {
    /// The new task's id.
    pub task_id: String,
    /// Always `queued`.
    pub status: TaskStatus,
    /// When it was queued.
    pub created_at: DateTime<Utc>,
    /// A rough end time: after the tasks ahead of it and its own steps at the recent pace.
    pub estimated_completion: Option<DateTime<Utc>>,
    /// The task's live page, with its viewer token (for people to watch it; share it with
    /// care).
    pub live_url: String,
}

impl TaskSpec {
    /// Every problem with the fields, each naming its field.
    pub fn problems(&self) -> Problems {
        let mut problems = Problems::default();
        check_task_text(&self.task, "task", &mut problems);
        if let Some(steps) = self.max_steps {
            check_steps(steps, "max_steps", &mut problems);
        }
        if let Some(timeout) = self.timeout {
            check_timeout(timeout, "timeout", &mut problems);
        }
        if let Some(url) = &self.callback_url {
            check_callback(url, "callback_url", &mut problems);
        }
        self.options.check("options", &mut problems);
        if let Some(room) = &self.room {
            room.check("room", &mut problems);
        }
        problems
    }

    /// The spec with `patch` applied.
    pub fn patched(&self, patch: TaskPatch) -> Self {
        Self {
            task: patch.task.unwrap_or_else(|| self.task.clone()),
            mode: patch.mode.unwrap_or(self.mode),
            max_steps: patch.max_steps.or(self.max_steps),
            timeout: patch.timeout.or(self.timeout),
            callback_url: patch.callback_url.or_else(|| self.callback_url.clone()),
            options: patch.options.unwrap_or_else(|| self.options.clone()),
            room: patch.room.or_else(|| self.room.clone()),
        }
    }
}

impl TaskOptions {
    fn check(&self, at: &str, problems: &mut Problems) {
        if let Some(size) = &self.screen_resolution
            && parse_resolution(size).is_none()
        {
            problems.push(FieldProblem::new(
                format!("{at}.screen_resolution"),
                "must be WIDTHxHEIGHT, each 64 to 7680 (e.g. 1920x1080)",
            ));
        }
        if let Some(steps) = self.refinement_steps
            && !(1..=MAX_REFINEMENT_STEPS).contains(&steps)
        {
            problems.push(FieldProblem::new(
                format!("{at}.refinement_steps"),
                format!("must be 1 to {MAX_REFINEMENT_STEPS}"),
            ));
        }
        if let Some(voice) = &self.voice_id
            && (voice.trim().is_empty() || voice.len() > 128)
        {
            problems.push(FieldProblem::new(
                format!("{at}.voice_id"),
                "must be a voice name of 1 to 128 characters",
            ));
        }
        if self.voice_id.is_some() && !self.enable_tts {
            problems.push(FieldProblem::new(
                format!("{at}.voice_id"),
                "only applies with enable_tts: true",
            ));
        }
    }
}

impl RoomRef {
    fn check(&self, at: &str, problems: &mut Problems) {
        match (&self.name, &self.url) {
            (Some(_), Some(_)) => problems.push(FieldProblem::new(
                format!("{at}.name"),
                "give either a room name or a url with credentials, not both",
            )),
            (None, None) => problems.push(FieldProblem::new(
                format!("{at}.url"),
                "give a room name (from the rooms file) or a url with username and password",
            )),
            (Some(name), None) => {
                if name.trim().is_empty() || name.len() > 128 {
                    problems.push(FieldProblem::new(
                        format!("{at}.name"),
                        "must be 1 to 128 characters",
                    ));
                }
                if self.username.is_some() || self.password.is_some() {
                    problems.push(FieldProblem::new(
                        format!("{at}.username"),
                        "a named room has its credentials in the rooms file",
                    ));
                }
            }
            (None, Some(url)) => {
                match url::Url::parse(url) {
                    Ok(parsed) if matches!(parsed.scheme(), "http" | "https") => {}
                    _ => problems.push(FieldProblem::new(
                        format!("{at}.url"),
                        "must be an http:// or https:// URL of a Neko server",
                    )),
                }
                for (value, field) in [(&self.username, "username"), (&self.password, "password")] {
                    if value.as_deref().is_none_or(str::is_empty) {
                        problems.push(FieldProblem::new(
                            format!("{at}.{field}"),
                            "is required with a url",
                        ));
                    }
                }
            }
        }
    }
}

impl TaskPatch {
    /// Every problem with the fields given, each naming its field.
    pub fn problems(&self) -> Problems {
        let mut problems = Problems::default();
        if let Some(task) = &self.task {
            check_task_text(task, "task", &mut problems);
        }
        if let Some(steps) = self.max_steps {
            check_steps(steps, "max_steps", &mut problems);
        }
        if let Some(timeout) = self.timeout {
            check_timeout(timeout, "timeout", &mut problems);
        }
        if let Some(url) = &self.callback_url {
            check_callback(url, "callback_url", &mut problems);
        }
        if let Some(options) = &self.options {
            options.check("options", &mut problems);
        }
        if let Some(room) = &self.room {
            room.check("room", &mut problems);
        }
        problems
    }
}

/// `WIDTHxHEIGHT` with each side 64 to 7680.
pub fn parse_resolution(text: &str) -> Option<(u32, u32)> {
    let (width, height) = text.trim().split_once(['x', 'X'])?;
    let width: u32 = width.trim().parse().ok()?;
    let height: u32 = height.trim().parse().ok()?;
    let fits = |side: u32| (64..=7680).contains(&side);
    (fits(width) && fits(height)).then_some((width, height))
}

fn check_task_text(task: &str, field: &str, problems: &mut Problems) {
    if task.trim().is_empty() {
        problems.push(FieldProblem::new(field, "must not be empty"));
    } else if task.chars().count() > MAX_TASK_CHARS {
        problems.push(FieldProblem::new(
            field,
            format!("must be at most {MAX_TASK_CHARS} characters"),
        ));
    }
}

fn check_steps(steps: u32, field: &str, problems: &mut Problems) {
    if !(1..=MAX_STEPS_LIMIT).contains(&steps) {
        problems.push(FieldProblem::new(
            field,
            format!("must be 1 to {MAX_STEPS_LIMIT}"),
        ));
    }
}

fn check_timeout(timeout: u64, field: &str, problems: &mut Problems) {
    if !(1..=MAX_TIMEOUT_S).contains(&timeout) {
        problems.push(FieldProblem::new(
            field,
            format!("must be 1 to {MAX_TIMEOUT_S} seconds"),
        ));
    }
}

fn check_callback(url: &str, field: &str, problems: &mut Problems) {
    match url::Url::parse(url) {
        Ok(parsed) if matches!(parsed.scheme(), "http" | "https") && parsed.host().is_some() => {}
        _ => problems.push(FieldProblem::new(
            field,
            "must be an http:// or https:// URL",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(json: serde_json::Value) -> TaskSpec {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn the_seed_request_is_accepted() {
        let spec = spec(serde_json::json!({
            "task": "Search for Python tutorials on YouTube",
            "mode": "web",
            "max_steps": 10,
            "timeout": 300,
            "callback_url": "https://app.example.com/webhook",
            "options": {
                "screen_resolution": "1920x1080",
                "save_screenshots": true,
                "refinement_steps": 5,
                "enable_capture": true,
                "enable_tts": true,
                "voice_id": "default"
            }
        }));
        assert!(spec.problems().is_empty(), "{:?}", spec.problems());
    }

    #[test]
    fn every_bad_field_is_named() {
        let spec = spec(serde_json::json!({
            "task": " ",
            "max_steps": 0,
            "timeout": 0,
            "callback_url": "ftp://x",
            "options": {"screen_resolution": "big", "refinement_steps": 99, "voice_id": "v"},
            "room": {"url": "ws://x"}
        }));
        let fields: Vec<String> = spec.problems().iter().map(|p| p.field.clone()).collect();
        assert_eq!(
            fields,
            [
                "task",
                "max_steps",
                "timeout",
                "callback_url",
                "options.screen_resolution",
                "options.refinement_steps",
                "options.voice_id",
                "room.url",
                "room.username",
                "room.password"
            ]
        );
    }

    #[test]
    fn unknown_fields_are_refused() {
        let error = serde_json::from_value::<TaskSpec>(serde_json::json!({
            "task": "x", "max_step": 3
        }))
        .unwrap_err();
        assert!(error.to_string().contains("max_step"), "{error}");
    }

    #[test]
    fn resolutions() {
        assert_eq!(parse_resolution("1920x1080"), Some((1920, 1080)));
        assert_eq!(parse_resolution(" 1280 X 720 "), Some((1280, 720)));
        assert_eq!(parse_resolution("10x10"), None);
        assert_eq!(parse_resolution("1920"), None);
    }

    #[test]
    fn passwords_are_hidden_and_steps_bounded() {
        let mut task = Task::new(
            "task_x".into(),
            spec(serde_json::json!({
                "task": "x",
                "room": {"url": "https://n", "username": "u", "password": "secret"}
            })),
            Utc::now(),
        );
        let shown = serde_json::to_string(&task.redacted()).unwrap();
        assert!(!shown.contains("secret"), "{shown}");
        for step in 1..=(MAX_RECORDED_STEPS as u32 + 5) {
            task.push_step(StepRecord {
                step,
                action: None,
                model_calls: 1,
                model_ms: 1.0,
                at: Utc::now(),
            });
        }
        assert_eq!(task.steps.len(), MAX_RECORDED_STEPS);
        assert_eq!(task.steps[0].step, 6);
        assert_eq!(task.step_count, MAX_RECORDED_STEPS as u32 + 5);
    }
}
