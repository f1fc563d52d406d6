//! The task operations of the API and the workers, written once over either store: submit,
//! change, cancel, pause and resume for the API; start, step, pause and finish for a worker.
//! Every change is one atomic step of the store, and a task's final status is written once:
//! a second worker finishing the same task (at-least-once delivery) changes nothing.

use chrono::Utc;
use rand::Rng;
use rand::distr::Alphanumeric;

use super::events::TaskEvent;
use super::store::{BoardError, Delivery, ListQuery, Store, StoreError, TaskPage};
use super::task::{Ending, PauseCause, StepRecord, Task, TaskPatch, TaskSpec, TaskStatus};

/// The service's tasks, over a store.
pub struct Board {
    store: Store,
}

/// What a worker should do with a delivered task.
#[derive(Debug)]
pub enum Start {
    /// Run it (the record as started: status running, attempt counted).
    Run(Task),
    /// It ended already (cancelled while queued, or finished by another worker): acknowledge
    /// and skip it.
    Skip(Task),
}

impl Board {
    /// The board over `store`.
    pub fn new(store: Store) -> Self {
        Self { store }
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Records and queues a new task.
    pub async fn submit(&self, spec: TaskSpec) -> Result<Task, BoardError> {
        let task = Task::new(new_task_id(), spec, Utc::now());
        self.store.insert(&task).await?;
        self.store.enqueue(&task.task_id).await?;
        self.announce(&task).await;
        Ok(task)
    }

    /// The task with this id.
    pub async fn get(&self, task_id: &str) -> Result<Task, BoardError> {
        self.store
            .load(task_id)
            .await?
            .ok_or_else(|| BoardError::NotFound(task_id.to_owned()))
    }

    /// A page of tasks.
    pub async fn list(&self, query: &ListQuery) -> Result<TaskPage, StoreError> {
        self.store.list(query).await
    }

    /// Changes a queued task.
    pub async fn update(&self, task_id: &str, patch: TaskPatch) -> Result<Task, BoardError> {
        let (task, ()) = self
            .store
            .modify(task_id, &mut |task| {
                require(task, &[TaskStatus::Queued], "updated")?;
                task.spec = task.spec.patched(patch.clone());
                Ok(())
            })
            .await?;
        Ok(task)
    }

    /// Cancels a task: at once when queued; a running or paused task is asked to stop and its
    /// worker ends it within one step.
    pub async fn cancel(&self, task_id: &str) -> Result<Task, BoardError> {
        let (task, ended) = self
            .store
            .modify(task_id, &mut |task| {
                require(
                    task,
                    &[TaskStatus::Queued, TaskStatus::Running, TaskStatus::Paused],
                    "cancelled",
                )?;
                task.steering.cancel = true;
                if task.status == TaskStatus::Queued {
                    task.status = TaskStatus::Cancelled;
                    task.finished_at = Some(Utc::now());
                    return Ok(true);
                }
                Ok(false)
            })
            .await?;
        if ended {
            self.announce(&task).await;
        }
        Ok(task)
    }

    /// Asks a running task to pause at its next step.
    pub async fn pause(&self, task_id: &str) -> Result<Task, BoardError> {
        self.steer(task_id, "paused", |task| task.steering.pause = true)
            .await
    }

    /// A person takes control from the live page: the task pauses, and its picture says a
    /// person is in control, until [`give_back_control`](Self::give_back_control).
    pub async fn take_control(&self, task_id: &str) -> Result<Task, BoardError> {
        self.steer(task_id, "taken over", |task| {
            task.steering.pause = true;
            task.steering.person = true;
        })
        .await
    }

    /// The person gives control back: the task goes on.
    pub async fn give_back_control(&self, task_id: &str) -> Result<Task, BoardError> {
        self.steer(task_id, "given back", |task| {
            task.steering.person = false;
            lift_pause(task);
        })
        .await
    }

    /// Lifts a pause (a requested one, or a takeover the person forgot to end).
    pub async fn resume(&self, task_id: &str) -> Result<Task, BoardError> {
        self.steer(task_id, "resumed", lift_pause).await
    }

    /// Applies `change` to the steering of a running or paused task (`verb` names the change
    /// in the conflict error of a task in another state).
    async fn steer(
        &self,
        task_id: &str,
        verb: &'static str,
        change: impl Fn(&mut Task) + Send + Sync,
    ) -> Result<Task, BoardError> {
        let (task, ()) = self
            .store
            .modify(task_id, &mut |task| {
                require(task, &[TaskStatus::Running, TaskStatus::Paused], verb)?;
                change(task);
                Ok(())
            })
            .await?;
        Ok(task)
    }

    /// A worker starts a delivered task.
    pub async fn start(&self, delivery: &Delivery, worker: &str) -> Result<Start, BoardError> {
        let (task, run) = self
            .store
            .modify(&delivery.task_id, &mut |task| {
                if task.status.is_final() {
                    return Ok(false);
                }
                task.status = TaskStatus::Running;
                task.pause_reason = None;
                task.attempts += 1;
                task.worker = Some(worker.to_owned());
                task.started_at = Some(Utc::now());
                task.steps.clear();
                task.step_count = 0;
                task.steering.resume_takeover = false;
                Ok(true)
            })
            .await?;
        if !run {
            return Ok(Start::Skip(task));
        }
        self.announce(&task).await;
        Ok(Start::Run(task))
    }

    /// Records a step of a running task.
    pub async fn step(&self, task_id: &str, step: StepRecord) -> Result<(), BoardError> {
        self.store
            .modify(task_id, &mut |task| {
                if !task.status.is_final() {
                    task.push_step(step.clone());
                }
                Ok(())
            })
            .await?;
        self.publish(task_id, &TaskEvent::Step { step }).await;
        Ok(())
    }

    /// Marks a running task paused (`cause`) or running again (`None`).
    pub async fn set_paused(
        &self,
        task_id: &str,
        cause: Option<PauseCause>,
    ) -> Result<Task, BoardError> {
        let (task, changed) = self
            .store
            .modify(task_id, &mut |task| {
                if task.status.is_final() {
                    return Ok(false);
                }
                let status = if cause.is_some() {
                    TaskStatus::Paused
                } else {
                    TaskStatus::Running
                };
                let changed = task.status != status || task.pause_reason != cause;
                task.status = status;
                task.pause_reason = cause;
                if cause.is_none() {
                    task.steering.resume_takeover = false;
                }
                Ok(changed)
            })
            .await?;
        if changed {
            self.announce(&task).await;
        }
        Ok(task)
    }

    /// Puts a task its worker had to leave (the worker is stopping) back to `queued`; its
    /// delivery stays pending for another worker (or the store's next opening).
    pub async fn hand_back(&self, task_id: &str) -> Result<Task, BoardError> {
        let (task, changed) = self
            .store
            .modify(task_id, &mut |task| {
                if task.status.is_final() {
                    return Ok(false);
                }
                task.status = TaskStatus::Queued;
                task.pause_reason = None;
                task.steering.pause = false;
                task.steering.resume_takeover = false;
                Ok(true)
            })
            .await?;
        if changed {
            self.announce(&task).await;
        }
        Ok(task)
    }

    /// Writes a task's final status, once: false when it had one already (another attempt
    /// finished it first), and then nothing changes.
    pub async fn finish(&self, task_id: &str, ending: Ending) -> Result<(Task, bool), BoardError> {
        let (task, written) = self
            .store
            .modify(task_id, &mut |task| {
                if task.status.is_final() {
                    return Ok(false);
                }
                task.status = ending.status;
                task.pause_reason = None;
                task.answer = ending.answer.clone();
                task.error = ending.error.clone();
                task.finished_at = Some(Utc::now());
                Ok(true)
            })
            .await?;
        if written {
            self.announce(&task).await;
        }
        Ok((task, written))
    }

    /// Appends an event to the task's stream (a failure is logged: events are a view, the
    /// record is the truth).
    pub async fn publish(&self, task_id: &str, event: &TaskEvent) {
        if let Err(error) = self.store.publish(task_id, event).await {
            tracing::warn!(%error, task_id, "could not publish a task event");
        }
    }

    /// Publishes the task's status.
    async fn announce(&self, task: &Task) {
        let event = TaskEvent::Status {
            status: task.status,
            pause_reason: task.pause_reason,
            answer: task.answer.clone(),
            error: task.error.clone(),
        };
        self.publish(&task.task_id, &event).await;
    }
}

/// Lifts a requested pause; a task paused by a takeover goes on too (`resume_takeover`).
fn lift_pause(task: &mut Task) {
    task.steering.pause = false;
    task.steering.resume_takeover = task.pause_reason == Some(PauseCause::Takeover);
}

/// Refuses the change unless the task is in one of `allowed`.
fn require(task: &Task, allowed: &[TaskStatus], action: &'static str) -> Result<(), BoardError> {
    if allowed.contains(&task.status) {
        Ok(())
    } else {
        Err(BoardError::Conflict {
            task_id: task.task_id.clone(),
            status: task.status,
            action,
        })
    }
}

/// `task_` and 16 random letters and digits.
fn new_task_id() -> String {
    let suffix: String = rand::rng()
        .sample_iter(Alphanumeric)
        .take(16)
        .map(char::from)
        .collect();
    format!("task_{suffix}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::store::local::LocalStore;
    use std::time::Duration;

    fn board(dir: &std::path::Path) -> Board {
        Board::new(Store::Local(LocalStore::open(dir).unwrap().0))
    }

    fn spec() -> TaskSpec {
        serde_json::from_value(serde_json::json!({"task": "open the red box"})).unwrap()
    }

    #[tokio::test]
    async fn a_task_ends_once_even_when_two_attempts_finish_it() {
        let dir = tempfile::tempdir().unwrap();
        let board = board(dir.path());
        let task = board.submit(spec()).await.unwrap();
        let delivery = board
            .store()
            .claim("w1", Duration::ZERO)
            .await
            .unwrap()
            .unwrap();
        assert!(matches!(
            board.start(&delivery, "w1").await.unwrap(),
            Start::Run(_)
        ));
        let done = |answer: &str| Ending {
            status: TaskStatus::Completed,
            answer: Some(answer.into()),
            error: None,
        };
        let (_, first) = board.finish(&task.task_id, done("first")).await.unwrap();
        let (after, second) = board.finish(&task.task_id, done("second")).await.unwrap();
        assert!(first && !second);
        assert_eq!(after.answer.as_deref(), Some("first"));
        assert!(matches!(
            board.start(&delivery, "w2").await.unwrap(),
            Start::Skip(_)
        ));
    }

    #[tokio::test]
    async fn only_queued_tasks_change_and_cancelling_a_queued_one_ends_it() {
        let dir = tempfile::tempdir().unwrap();
        let board = board(dir.path());
        let task = board.submit(spec()).await.unwrap();
        let patch = TaskPatch {
            max_steps: Some(3),
            ..TaskPatch::default()
        };
        let changed = board.update(&task.task_id, patch.clone()).await.unwrap();
        assert_eq!(changed.spec.max_steps, Some(3));
        assert!(matches!(
            board.pause(&task.task_id).await,
            Err(BoardError::Conflict { .. })
        ));
        let cancelled = board.cancel(&task.task_id).await.unwrap();
        assert_eq!(cancelled.status, TaskStatus::Cancelled);
        assert!(matches!(
            board.update(&task.task_id, patch).await,
            Err(BoardError::Conflict {
                status: TaskStatus::Cancelled,
                ..
            })
        ));
        assert!(matches!(
            board.get("task_missing").await,
            Err(BoardError::NotFound(_))
        ));
    }
}
