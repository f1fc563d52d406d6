//! Records every input event the room receives, for tests to inspect.

use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::sync::Notify;

/// One input event as the room received it.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedInput {
    /// When it arrived.
    pub at: Instant,
    /// The sending session.
    pub session_id: String,
    /// `control/…` (WebSocket), `clipboard/set`, `keyboard/…`, or `dc/…` (data channel).
    pub event: String,
    /// The payload as JSON.
    pub payload: serde_json::Value,
    /// False when the host rule (or a permission) dropped it.
    pub accepted: bool,
}

/// A recorded input as the sandbox route serves it (`at` in milliseconds since the room started).
#[derive(Debug, Clone, Serialize)]
pub(super) struct RecordedInputView<'a> {
    at_ms: f64,
    session_id: &'a str,
    event: &'a str,
    payload: &'a serde_json::Value,
    accepted: bool,
}

/// Thread-safe log of [`RecordedInput`]s with a wake-up for waiters.
#[derive(Debug, Default)]
pub(super) struct InputRecorder {
    inputs: Mutex<Vec<RecordedInput>>,
    added: Notify,
}

impl InputRecorder {
    /// Appends one input.
    pub fn record(
        &self,
        session_id: &str,
        event: &str,
        payload: serde_json::Value,
        accepted: bool,
    ) {
        let input = RecordedInput {
            at: Instant::now(),
            session_id: session_id.to_owned(),
            event: event.to_owned(),
            payload,
            accepted,
        };
        self.inputs
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(input);
        self.added.notify_waiters();
    }

    /// Everything recorded so far.
    pub fn all(&self) -> Vec<RecordedInput> {
        self.inputs
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Forgets everything.
    pub fn clear(&self) {
        self.inputs
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }

    /// The recorded inputs as JSON values for the sandbox route.
    pub fn to_json(&self, since: Instant) -> serde_json::Value {
        let inputs = self.inputs.lock().unwrap_or_else(PoisonError::into_inner);
        let views: Vec<RecordedInputView<'_>> = inputs
            .iter()
            .map(|input| RecordedInputView {
                at_ms: input.at.saturating_duration_since(since).as_secs_f64() * 1000.0,
                session_id: &input.session_id,
                event: &input.event,
                payload: &input.payload,
                accepted: input.accepted,
            })
            .collect();
        serde_json::to_value(views).unwrap_or_default()
    }

    /// The first recorded input matching `pred`, waiting up to `timeout` for one to arrive.
    pub async fn wait_for(
        &self,
        pred: impl Fn(&RecordedInput) -> bool,
        timeout: Duration,
    ) -> Option<RecordedInput> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let added = self.added.notified();
            tokio::pin!(added);
            added.as_mut().enable();
            let found = self
                .inputs
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .iter()
                .find(|input| pred(input))
                .cloned();
            if found.is_some() {
                return found;
            }
            if tokio::time::timeout_at(deadline, added).await.is_err() {
                return None;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::sync::Arc;

    #[tokio::test]
    async fn wait_sees_past_and_future_inputs() {
        let recorder = Arc::new(InputRecorder::default());
        recorder.record("a", "control/move", json!({"x": 1}), true);
        let found = recorder
            .wait_for(|i| i.event == "control/move", Duration::from_millis(10))
            .await;
        assert_eq!(found.map(|i| i.session_id), Some("a".to_owned()));

        let later = recorder.clone();
        let writer = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(20)).await;
            later.record("b", "dc/keydown", json!({"keysym": 97}), false);
        });
        let found = recorder
            .wait_for(|i| i.event == "dc/keydown", Duration::from_secs(5))
            .await;
        assert_eq!(found.map(|i| i.accepted), Some(false));
        writer.await.expect("writer");

        let missing = recorder
            .wait_for(|i| i.event == "nope", Duration::from_millis(20))
            .await;
        assert!(missing.is_none());
        assert_eq!(
            recorder
                .to_json(Instant::now() - Duration::from_secs(1))
                .as_array()
                .map(Vec::len),
            Some(2)
        );
        recorder.clear();
        assert!(recorder.all().is_empty());
    }
}
