//! Where tasks, their queue and their events live: a local directory for one process
//! ([`local::LocalStore`]), or Redis for many workers ([`redis::RedisStore`]). Both keep the
//! same records and give the same guarantees; [`crate::service::board::Board`] builds the
//! task operations on these primitives.

pub mod local;
pub mod redis;

use std::path::PathBuf;
use std::time::Duration;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::events::{EventRecord, TaskEvent};
use super::task::{Task, TaskStatus};

/// A task handed to a worker: acknowledged once the task has its final status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// The task.
    pub task_id: String,
    /// The queue's handle on this delivery (a stream entry id in Redis).
    pub token: String,
}

/// A worker as the store last heard from it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct WorkerInfo {
    /// The worker's name.
    pub worker: String,
    /// Tasks it runs now.
    pub running: usize,
    /// Tasks it runs at most at once.
    pub slots: usize,
    /// When it last reported.
    pub seen_at: DateTime<Utc>,
}

/// Which tasks `GET /tasks` lists.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListQuery {
    /// Only tasks with one of these statuses (all when empty).
    pub statuses: Vec<TaskStatus>,
    /// Only tasks whose text contains this (case-insensitive).
    pub text: Option<String>,
    /// Only tasks created at or after this.
    pub created_after: Option<DateTime<Utc>>,
    /// Tasks to skip (newest first).
    pub offset: usize,
    /// Most tasks to return.
    pub limit: usize,
}

/// A page of tasks, newest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TaskPage {
    /// The tasks of this page.
    pub tasks: Vec<Task>,
    /// Tasks matching the filters, over all pages.
    pub total: usize,
    /// The page's offset.
    pub offset: usize,
    /// The page's size limit.
    pub limit: usize,
}

impl ListQuery {
    /// Whether `task` passes the filters.
    pub fn matches(&self, task: &Task) -> bool {
        (self.statuses.is_empty() || self.statuses.contains(&task.status))
            && self
                .created_after
                .is_none_or(|after| task.created_at >= after)
            && self
                .text
                .as_deref()
                .is_none_or(|text| task.spec.task.to_lowercase().contains(&text.to_lowercase()))
    }
}

/// Why the store could not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A file of the local store could not be read or written.
    #[error("task store {path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A task record could not be read back.
    #[error("task store {path}: the record is damaged ({source}); move it away to go on")]
    Damaged {
        /// The record.
        path: PathBuf,
        /// Why it did not parse.
        source: serde_json::Error,
    },
    /// A record could not be written as JSON.
    #[error("a task record could not be encoded: {0}")]
    Encode(#[source] serde_json::Error),
    /// Redis failed or could not be reached.
    #[error("task store on redis: {0}")]
    Redis(#[from] ::redis::RedisError),
    /// A record read from Redis did not parse.
    #[error("task store on redis: {key} is damaged ({source}); delete or repair it to go on")]
    DamagedEntry {
        /// The key (and stream entry) of the record.
        key: String,
        /// Why it did not parse.
        source: serde_json::Error,
    },
    /// A stream entry read from Redis lacks a field (or holds one that does not parse).
    #[error("task store on redis: {key} lacks a field or holds one that does not parse")]
    IncompleteEntry {
        /// The key and stream entry.
        key: String,
    },
    /// A value is larger than the store keeps or reads.
    #[error("task store on redis: {key} is larger than {limit} bytes")]
    Oversized {
        /// The key.
        key: String,
        /// The bound, in bytes.
        limit: usize,
    },
    /// A record kept changing under a change, which was given up.
    #[error("task store on redis: {key} changed under {attempts} attempts to change it")]
    Contended {
        /// The record's key.
        key: String,
        /// Attempts made.
        attempts: usize,
    },
    /// A blocking read got no answer in time.
    #[error("task store on redis: no answer within {waited:?}")]
    Timeout {
        /// How long it waited.
        waited: Duration,
    },
}

/// Why a change to a task was not made.
#[derive(Debug, thiserror::Error)]
pub enum BoardError {
    /// No task has this id.
    #[error("no task {0}")]
    NotFound(String),
    /// The task's status does not allow the change.
    #[error("task {task_id} is {status}: it cannot be {action}", status = .status.as_str())]
    Conflict {
        /// The task.
        task_id: String,
        /// Its status.
        status: TaskStatus,
        /// What was asked (`updated`, `paused`…).
        action: &'static str,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A change to one task, made atomically by the store: it sees the current record and either
/// changes it (returning a value) or refuses (nothing is written).
pub type Change<'a, R> = &'a mut (dyn FnMut(&mut Task) -> Result<R, BoardError> + Send);

/// The store the service runs on.
pub enum Store {
    /// A directory on this machine (one process).
    Local(local::LocalStore),
    /// A Redis server shared by many processes.
    Redis(redis::RedisStore),
}

impl Store {
    /// Adds a new task record (not queued yet).
    pub async fn insert(&self, task: &Task) -> Result<(), StoreError> {
        match self {
            Self::Local(store) => store.insert(task),
            Self::Redis(store) => store.insert(task).await,
        }
    }

    /// The task with this id.
    pub async fn load(&self, task_id: &str) -> Result<Option<Task>, StoreError> {
        match self {
            Self::Local(store) => Ok(store.load(task_id)),
            Self::Redis(store) => store.load(task_id).await,
        }
    }

    /// Changes one task atomically; the changed record and what `change` returned.
    pub async fn modify<R: Send>(
        &self,
        task_id: &str,
        change: Change<'_, R>,
    ) -> Result<(Task, R), BoardError> {
        match self {
            Self::Local(store) => store.modify(task_id, change),
            Self::Redis(store) => store.modify(task_id, change).await,
        }
    }

    /// A page of tasks, newest first.
    pub async fn list(&self, query: &ListQuery) -> Result<TaskPage, StoreError> {
        match self {
            Self::Local(store) => Ok(store.list(query)),
            Self::Redis(store) => store.list(query).await,
        }
    }

    /// Puts a task at the end of the queue.
    pub async fn enqueue(&self, task_id: &str) -> Result<(), StoreError> {
        match self {
            Self::Local(store) => {
                store.enqueue(task_id);
                Ok(())
            }
            Self::Redis(store) => store.enqueue(task_id).await,
        }
    }

    /// The next queued task for `worker`, waiting up to `wait` for one.
    pub async fn claim(
        &self,
        worker: &str,
        wait: Duration,
    ) -> Result<Option<Delivery>, StoreError> {
        match self {
            Self::Local(store) => Ok(store.claim(wait).await),
            Self::Redis(store) => store.claim(worker, wait).await,
        }
    }

    /// Deliveries of workers silent for longer than `idle`, now handed to `worker` (Redis:
    /// `XAUTOCLAIM`; the local store re-queues them when it opens instead).
    pub async fn reclaim(&self, worker: &str, idle: Duration) -> Result<Vec<Delivery>, StoreError> {
        match self {
            Self::Local(_) => Ok(Vec::new()),
            Self::Redis(store) => store.reclaim(worker, idle).await,
        }
    }

    /// Takes or renews the lease on `room` for `holder` (one agent per room across every
    /// worker): false while another holder has it. A lease not renewed within `ttl` lapses (its
    /// worker died). The local store's only worker serialises its rooms itself: always true.
    pub async fn lease_room(
        &self,
        room: &str,
        holder: &str,
        ttl: Duration,
    ) -> Result<bool, StoreError> {
        match self {
            Self::Local(_) => Ok(true),
            Self::Redis(store) => store.lease_room(room, holder, ttl, false).await,
        }
    }

    /// Gives up `holder`'s lease on `room` (nothing when it has none).
    pub async fn release_room(&self, room: &str, holder: &str) -> Result<(), StoreError> {
        match self {
            Self::Local(_) => Ok(()),
            Self::Redis(store) => store
                .lease_room(room, holder, Duration::from_millis(1), true)
                .await
                .map(|_| ()),
        }
    }

    /// Marks a delivery done (the task has its final status).
    pub async fn ack(&self, delivery: &Delivery) -> Result<(), StoreError> {
        match self {
            Self::Local(_) => Ok(()),
            Self::Redis(store) => store.ack(delivery).await,
        }
    }

    /// Tells the store `worker` is alive and still holds `deliveries`.
    pub async fn heartbeat(
        &self,
        info: &WorkerInfo,
        deliveries: &[Delivery],
    ) -> Result<(), StoreError> {
        match self {
            Self::Local(store) => {
                store.heartbeat(info);
                Ok(())
            }
            Self::Redis(store) => store.heartbeat(info, deliveries).await,
        }
    }

    /// The workers heard from recently.
    pub async fn workers(&self) -> Result<Vec<WorkerInfo>, StoreError> {
        match self {
            Self::Local(store) => Ok(store.workers()),
            Self::Redis(store) => store.workers().await,
        }
    }

    /// Tasks waiting for a worker.
    pub async fn queue_depth(&self) -> Result<u64, StoreError> {
        match self {
            Self::Local(store) => Ok(store.queue_depth()),
            Self::Redis(store) => store.queue_depth().await,
        }
    }

    /// Appends an event to the task's stream; its sequence number.
    pub async fn publish(&self, task_id: &str, event: &TaskEvent) -> Result<u64, StoreError> {
        match self {
            Self::Local(store) => Ok(store.publish(task_id, event)),
            Self::Redis(store) => store.publish(task_id, event).await,
        }
    }

    /// The task's events after sequence number `after`, waiting up to `wait` when there are
    /// none yet (empty when none came).
    pub async fn events(
        &self,
        task_id: &str,
        after: u64,
        wait: Duration,
    ) -> Result<Vec<EventRecord>, StoreError> {
        match self {
            Self::Local(store) => Ok(store.events(task_id, after, wait).await),
            Self::Redis(store) => store.events(task_id, after, wait).await,
        }
    }

    /// Keeps the latest frame of a task (JPEG).
    pub async fn put_screenshot(&self, task_id: &str, jpeg: Bytes) -> Result<(), StoreError> {
        match self {
            Self::Local(store) => {
                store.put_screenshot(task_id, jpeg);
                Ok(())
            }
            Self::Redis(store) => store.put_screenshot(task_id, jpeg).await,
        }
    }

    /// The latest frame of a task (JPEG), if one was kept.
    pub async fn screenshot(&self, task_id: &str) -> Result<Option<Bytes>, StoreError> {
        match self {
            Self::Local(store) => Ok(store.screenshot(task_id)),
            Self::Redis(store) => store.screenshot(task_id).await,
        }
    }

    /// Records where the worker running a task serves its live view (its internal WHEP URL),
    /// or forgets it (None) when the task leaves the worker.
    pub async fn put_live(&self, task_id: &str, url: Option<&str>) -> Result<(), StoreError> {
        match self {
            Self::Local(store) => {
                store.put_live(task_id, url);
                Ok(())
            }
            Self::Redis(store) => store.put_live(task_id, url).await,
        }
    }

    /// Where the worker running a task serves its live view, if it does.
    pub async fn live(&self, task_id: &str) -> Result<Option<String>, StoreError> {
        match self {
            Self::Local(store) => Ok(store.live(task_id)),
            Self::Redis(store) => store.live(task_id).await,
        }
    }

    /// What the store is, for `/health` (`local:<dir>` or `redis://host:port`).
    pub fn describe(&self) -> String {
        match self {
            Self::Local(store) => format!("local:{}", store.dir().display()),
            Self::Redis(store) => store.location().to_owned(),
        }
    }
}
