//! What a task reports while it runs: the events `GET /tasks/{id}/events` streams.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::task::{PauseCause, StepRecord, TaskStatus};

/// Events kept per task for late subscribers; older ones are dropped.
pub const MAX_EVENTS_PER_TASK: usize = 1_000;

/// Longest chat line kept in an event, in characters.
pub const MAX_CHAT_CHARS: usize = 2_000;

/// Something that happened to a task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum TaskEvent {
    /// The status changed.
    Status {
        /// The new status.
        status: TaskStatus,
        /// Why it is paused (when paused).
        pause_reason: Option<PauseCause>,
        /// The answer (when completed).
        answer: Option<String>,
        /// Why it failed (when failed).
        error: Option<String>,
    },
    /// The agent took a step.
    Step {
        /// The step as the task's record keeps it.
        step: StepRecord,
    },
    /// A line in the room's chat (from anyone, the agent included).
    Chat {
        /// Who wrote it (session id).
        from: String,
        /// The text, cut to [`MAX_CHAT_CHARS`].
        text: String,
    },
    /// A person took control of the room (`active: true`) or gave it back.
    Takeover {
        /// Whether the person holds control now.
        active: bool,
    },
}

impl TaskEvent {
    /// A chat line, cut to the bound.
    pub fn chat(from: &str, text: &str) -> Self {
        Self::Chat {
            from: from.chars().take(128).collect(),
            text: text.chars().take(MAX_CHAT_CHARS).collect(),
        }
    }

    /// The SSE event name.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Status { .. } => "status",
            Self::Step { .. } => "step",
            Self::Chat { .. } => "chat",
            Self::Takeover { .. } => "takeover",
        }
    }
}

/// An event with its place in the task's stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct EventRecord {
    /// Position in the task's stream, from 1 (the SSE `id`; resume with `Last-Event-ID`).
    pub seq: u64,
    /// When it happened.
    pub at: DateTime<Utc>,
    /// What happened.
    #[serde(flatten)]
    pub event: TaskEvent,
}
