//! Steering a running task from outside: pause, resume and cancel it (service API, chat
//! commands), and what the task reports while it runs.
//!
//! A task is also paused on its own when a person takes host control (a takeover) and resumes
//! when the room gives control back; [`TaskControl`] shows that state too.

use std::sync::Arc;

use tokio::sync::watch;

/// Why a task is paused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PauseReason {
    /// [`TaskControl::pause`] asked for it; only [`TaskControl::resume`] lifts it.
    Requested,
    /// Another session took host control; lifted when control is released or given back.
    Takeover,
}

impl PauseReason {
    /// `requested` or `takeover`, as people read it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Requested => "requested",
            Self::Takeover => "takeover",
        }
    }
}

/// Where a steered task stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Steering {
    /// Working (or about to).
    Running,
    /// Waiting at a step boundary, for this reason.
    Paused(PauseReason),
    /// Stopped for good.
    Cancelled,
}

/// A handle to steer a running task from outside (service API, chat): cheap to clone, every
/// clone steers the same task.
#[derive(Clone)]
pub struct TaskControl {
    state: Arc<watch::Sender<Steering>>,
}

impl Default for TaskControl {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for TaskControl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("TaskControl").field(&self.state()).finish()
    }
}

impl TaskControl {
    /// A control for a task that is running.
    pub fn new() -> Self {
        Self {
            state: Arc::new(watch::Sender::new(Steering::Running)),
        }
    }

    /// Stops the task for good: a running task stops within one step, before it asks the model
    /// or sends anything more.
    pub fn cancel(&self) {
        self.state.send_replace(Steering::Cancelled);
    }

    /// Pauses the task at its next step boundary; does nothing once cancelled.
    pub fn pause(&self, reason: PauseReason) {
        self.state.send_if_modified(|state| {
            let next = Steering::Paused(reason);
            if *state == Steering::Cancelled || *state == next {
                return false;
            }
            *state = next;
            true
        });
    }

    /// Lifts any pause; does nothing when running or cancelled.
    pub fn resume(&self) {
        self.state.send_if_modified(|state| {
            if !matches!(state, Steering::Paused(_)) {
                return false;
            }
            *state = Steering::Running;
            true
        });
    }

    /// Where the task stands now.
    pub fn state(&self) -> Steering {
        self.state.borrow().clone()
    }

    /// Follows the state as it changes.
    pub fn subscribe(&self) -> watch::Receiver<Steering> {
        self.state.subscribe()
    }

    /// Running → paused for a takeover; false (and nothing changed) from any other state, so a
    /// requested pause or a cancel is never overwritten.
    pub(crate) fn pause_for_takeover(&self) -> bool {
        self.state.send_if_modified(|state| {
            if *state != Steering::Running {
                return false;
            }
            *state = Steering::Paused(PauseReason::Takeover);
            true
        })
    }

    /// Paused for a takeover → running (the room gave control back); false otherwise.
    pub(crate) fn end_takeover(&self) -> bool {
        self.state.send_if_modified(|state| {
            if *state != Steering::Paused(PauseReason::Takeover) {
                return false;
            }
            *state = Steering::Running;
            true
        })
    }
}

/// What a steered task reports while it runs (the service turns these into its events).
#[derive(Debug, Clone)]
pub enum AgentEvent {
    /// A step decided and performed (or lost): step number, the action JSON (None when no
    /// usable action), model calls, model time.
    Step {
        /// The step's number (from 1).
        step: u32,
        /// The action as JSON, None when the model gave no usable action.
        action: Option<String>,
        /// Model calls the step made (click refinement).
        model_calls: usize,
        /// Time spent in the model, in milliseconds.
        model_ms: f64,
    },
    /// The task stopped acting, for this reason.
    Paused {
        /// Why.
        reason: PauseReason,
    },
    /// The task goes on after a pause for this reason.
    Resumed {
        /// Why it had paused.
        reason: PauseReason,
    },
}

/// Receives a steered task's [`AgentEvent`]s, on the task's own thread of work (keep it quick).
pub type Observer = Arc<dyn Fn(AgentEvent) + Send + Sync>;

/// An observer that ignores everything.
pub fn ignore_events() -> Observer {
    Arc::new(|_| {})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pause_resume_and_cancel() {
        let control = TaskControl::new();
        assert_eq!(control.state(), Steering::Running);
        control.resume();
        assert_eq!(control.state(), Steering::Running, "resume while running");
        control.pause(PauseReason::Requested);
        assert_eq!(control.state(), Steering::Paused(PauseReason::Requested));
        control.pause(PauseReason::Takeover);
        assert_eq!(control.state(), Steering::Paused(PauseReason::Takeover));
        control.resume();
        assert_eq!(control.state(), Steering::Running);
        control.cancel();
        assert_eq!(control.state(), Steering::Cancelled);
        control.pause(PauseReason::Requested);
        control.resume();
        assert_eq!(control.state(), Steering::Cancelled, "cancel is final");
    }

    #[test]
    fn a_takeover_never_overrides_a_requested_pause_or_a_cancel() {
        let control = TaskControl::new();
        control.pause(PauseReason::Requested);
        assert!(!control.pause_for_takeover());
        assert!(
            !control.end_takeover(),
            "only resume() lifts a requested pause"
        );
        assert_eq!(control.state(), Steering::Paused(PauseReason::Requested));
        control.resume();
        assert!(control.pause_for_takeover());
        assert_eq!(control.state(), Steering::Paused(PauseReason::Takeover));
        assert!(control.end_takeover());
        assert_eq!(control.state(), Steering::Running);
        control.cancel();
        assert!(!control.pause_for_takeover());
        assert_eq!(control.state(), Steering::Cancelled);
    }

    #[tokio::test]
    async fn clones_steer_the_same_task_and_subscribers_see_each_change() {
        let control = TaskControl::default();
        let mut changes = control.subscribe();
        let remote = control.clone();
        remote.pause(PauseReason::Requested);
        changes.changed().await.unwrap();
        assert_eq!(
            *changes.borrow_and_update(),
            Steering::Paused(PauseReason::Requested)
        );
        remote.pause(PauseReason::Requested);
        assert!(
            !changes.has_changed().unwrap(),
            "the same pause twice is one change"
        );
        remote.cancel();
        changes.changed().await.unwrap();
        assert_eq!(*changes.borrow(), Steering::Cancelled);
        assert_eq!(control.state(), Steering::Cancelled);
    }

    #[test]
    fn reasons_serialise_in_snake_case() {
        assert_eq!(
            serde_json::to_string(&PauseReason::Takeover).unwrap(),
            "\"takeover\""
        );
        assert_eq!(PauseReason::Requested.name(), "requested");
    }
}
