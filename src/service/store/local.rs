//! The embedded store: one JSON file per task in a directory, each change written atomically
//! (temporary file, fsync, rename) before it is acknowledged, the queue and events in memory.
//! Opening the directory again after a crash re-queues what was running: nothing is lost.

use std::collections::{HashMap, VecDeque};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use bytes::Bytes;
use chrono::Utc;
use tokio::sync::Notify;

use super::{BoardError, Change, ListQuery, StoreError, TaskPage, WorkerInfo};
use crate::service::events::{EventRecord, MAX_EVENTS_PER_TASK, TaskEvent};
use crate::service::task::{Task, TaskStatus};

/// Tasks whose events and latest frame stay in memory; older tasks' are dropped.
const RECENT_TASKS: usize = 256;

/// Workers not heard from for this long are no longer listed.
const WORKER_SILENCE: Duration = Duration::from_secs(60);

/// The embedded store.
pub struct LocalStore {
    dir: PathBuf,
    state: Mutex<State>,
    queued: Notify,
    published: Notify,
}

#[derive(Default)]
struct State {
    tasks: HashMap<String, Task>,
    queue: VecDeque<String>,
    events: HashMap<String, TaskEvents>,
    screenshots: HashMap<String, Bytes>,
    live: HashMap<String, String>,
    /// Task ids whose events or frame are kept, oldest first.
    recent: VecDeque<String>,
    workers: HashMap<String, WorkerInfo>,
}

#[derive(Default)]
struct TaskEvents {
    last: u64,
    records: VecDeque<EventRecord>,
}

/// What opening the store found and did.
#[derive(Debug, Default)]
pub struct Recovery {
    /// Tasks that were running or paused when the last process stopped, queued again.
    pub requeued: Vec<String>,
    /// Records that did not parse, moved aside (`*.damaged`) so the rest can be served.
    pub damaged: Vec<PathBuf>,
}

impl LocalStore {
    /// Opens (creating) the store in `dir`; tasks that were running are queued again.
    pub fn open(dir: &Path) -> Result<(Self, Recovery), StoreError> {
        let io = |source| StoreError::Io {
            path: dir.to_owned(),
            source,
        };
        std::fs::create_dir_all(dir).map_err(io)?;
        let mut state = State::default();
        let mut recovery = Recovery::default();
        for entry in std::fs::read_dir(dir).map_err(io)? {
            let path = entry.map_err(io)?.path();
            if path.extension().is_none_or(|ext| ext != "json") {
                continue;
            }
            let text = std::fs::read(&path).map_err(|source| StoreError::Io {
                path: path.clone(),
                source,
            })?;
            match serde_json::from_slice::<Task>(&text) {
                Ok(task) => {
                    state.tasks.insert(task.task_id.clone(), task);
                }
                Err(error) => {
                    let aside = path.with_extension("json.damaged");
                    tracing::error!(path = %path.display(), %error, "damaged task record moved aside");
                    std::fs::rename(&path, &aside).map_err(|source| StoreError::Io {
                        path: path.clone(),
                        source,
                    })?;
                    recovery.damaged.push(aside);
                }
            }
        }
        let store = Self {
            dir: dir.to_owned(),
            state: Mutex::new(State::default()),
            queued: Notify::new(),
            published: Notify::new(),
        };
        let mut waiting: Vec<Task> = Vec::new();
        for task in state.tasks.values_mut() {
            match task.status {
                TaskStatus::Running | TaskStatus::Paused => {
                    task.status = TaskStatus::Queued;
                    task.pause_reason = None;
                    task.steering.pause = false;
                    task.updated_at = Utc::now();
                    store.write(task)?;
                    recovery.requeued.push(task.task_id.clone());
                    waiting.push(task.clone());
                }
                TaskStatus::Queued => waiting.push(task.clone()),
                _ => {}
            }
        }
        waiting.sort_by(|a, b| (a.created_at, &a.task_id).cmp(&(b.created_at, &b.task_id)));
        state.queue = waiting.into_iter().map(|task| task.task_id).collect();
        *store.lock() = state;
        Ok((store, recovery))
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub(super) fn insert(&self, task: &Task) -> Result<(), StoreError> {
        let mut state = self.lock();
        self.write(task)?;
        state.tasks.insert(task.task_id.clone(), task.clone());
        Ok(())
    }

    pub(super) fn load(&self, task_id: &str) -> Option<Task> {
        self.lock().tasks.get(task_id).cloned()
    }

    pub(super) fn modify<R>(
        &self,
        task_id: &str,
        change: Change<'_, R>,
    ) -> Result<(Task, R), BoardError> {
        let mut state = self.lock();
        let current = state
            .tasks
            .get(task_id)
            .ok_or_else(|| BoardError::NotFound(task_id.to_owned()))?;
        let mut changed = current.clone();
        let value = change(&mut changed)?;
        if changed != *current {
            changed.updated_at = Utc::now();
            self.write(&changed)?;
            state.tasks.insert(task_id.to_owned(), changed.clone());
        }
        Ok((changed, value))
    }

    pub(super) fn list(&self, query: &ListQuery) -> TaskPage {
        let state = self.lock();
        let mut matching: Vec<&Task> = state
            .tasks
            .values()
            .filter(|task| query.matches(task))
            .collect();
        matching.sort_by(|a, b| (b.created_at, &b.task_id).cmp(&(a.created_at, &a.task_id)));
        TaskPage {
            total: matching.len(),
            tasks: matching
                .into_iter()
                .skip(query.offset)
                .take(query.limit)
                .cloned()
                .collect(),
            offset: query.offset,
            limit: query.limit,
        }
    }

    pub(super) fn enqueue(&self, task_id: &str) {
        self.lock().queue.push_back(task_id.to_owned());
        self.queued.notify_one();
    }

    pub(super) async fn claim(&self, wait: Duration) -> Option<super::Delivery> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let notified = self.queued.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if let Some(task_id) = self.lock().queue.pop_front() {
                return Some(super::Delivery {
                    token: task_id.clone(),
                    task_id,
                });
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return None;
            }
        }
    }

    pub(super) fn heartbeat(&self, info: &WorkerInfo) {
        self.lock()
            .workers
            .insert(info.worker.clone(), info.clone());
    }

    pub(super) fn workers(&self) -> Vec<WorkerInfo> {
        let mut state = self.lock();
        let now = Utc::now();
        state.workers.retain(|_, info| {
            (now - info.seen_at)
                .to_std()
                .is_ok_and(|age| age < WORKER_SILENCE)
                || now < info.seen_at
        });
        let mut workers: Vec<WorkerInfo> = state.workers.values().cloned().collect();
        workers.sort_by(|a, b| a.worker.cmp(&b.worker));
        workers
    }

    pub(super) fn queue_depth(&self) -> u64 {
        self.lock().queue.len() as u64
    }

    pub(super) fn publish(&self, task_id: &str, event: &TaskEvent) -> u64 {
        let mut state = self.lock();
        remember(&mut state, task_id);
        let events = state.events.entry(task_id.to_owned()).or_default();
        events.last += 1;
        if events.records.len() == MAX_EVENTS_PER_TASK {
            events.records.pop_front();
        }
        events.records.push_back(EventRecord {
            seq: events.last,
            at: Utc::now(),
            event: event.clone(),
        });
        let seq = events.last;
        drop(state);
        self.published.notify_waiters();
        seq
    }

    pub(super) async fn events(
        &self,
        task_id: &str,
        after: u64,
        wait: Duration,
    ) -> Vec<EventRecord> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let notified = self.published.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let found: Vec<EventRecord> = self
                .lock()
                .events
                .get(task_id)
                .map(|events| {
                    events
                        .records
                        .iter()
                        .filter(|record| record.seq > after)
                        .cloned()
                        .collect()
                })
                .unwrap_or_default();
            if !found.is_empty() {
                return found;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return Vec::new();
            }
        }
    }

    pub(super) fn put_screenshot(&self, task_id: &str, jpeg: Bytes) {
        let mut state = self.lock();
        remember(&mut state, task_id);
        state.screenshots.insert(task_id.to_owned(), jpeg);
    }

    pub(super) fn screenshot(&self, task_id: &str) -> Option<Bytes> {
        self.lock().screenshots.get(task_id).cloned()
    }

    pub(super) fn put_live(&self, task_id: &str, url: Option<&str>) {
        let mut state = self.lock();
        match url {
            Some(url) => {
                state.live.insert(task_id.to_owned(), url.to_owned());
            }
            None => {
                state.live.remove(task_id);
            }
        }
    }

    pub(super) fn live(&self, task_id: &str) -> Option<String> {
        self.lock().live.get(task_id).cloned()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Writes a record atomically: a crash leaves the old record or the new one, never half.
    fn write(&self, task: &Task) -> Result<(), StoreError> {
        let path = self.dir.join(format!("{}.json", task.task_id));
        let io = |source| StoreError::Io {
            path: path.clone(),
            source,
        };
        let json = serde_json::to_vec_pretty(task).map_err(StoreError::Encode)?;
        let mut file = tempfile::NamedTempFile::new_in(&self.dir).map_err(io)?;
        file.write_all(&json).map_err(io)?;
        file.as_file().sync_all().map_err(io)?;
        file.persist(&path).map_err(|error| io(error.error))?;
        Ok(())
    }
}

/// Marks `task_id` as recent, forgetting the events and frame of the oldest past the bound.
fn remember(state: &mut State, task_id: &str) {
    if state.recent.back().is_some_and(|last| last == task_id) {
        return;
    }
    state.recent.retain(|id| id != task_id);
    state.recent.push_back(task_id.to_owned());
    while state.recent.len() > RECENT_TASKS {
        if let Some(old) = state.recent.pop_front() {
            state.events.remove(&old);
            state.screenshots.remove(&old);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::task::TaskSpec;

    fn spec(text: &str) -> TaskSpec {
        serde_json::from_value(serde_json::json!({ "task": text })).unwrap()
    }

    #[tokio::test]
    async fn running_tasks_are_queued_again_after_a_crash_and_damaged_records_set_aside() {
        let dir = tempfile::tempdir().unwrap();
        {
            let (store, _) = LocalStore::open(dir.path()).unwrap();
            for (id, status) in [
                ("task_a", TaskStatus::Completed),
                ("task_b", TaskStatus::Running),
                ("task_c", TaskStatus::Queued),
            ] {
                let mut task = Task::new(id.into(), spec(id), Utc::now());
                task.status = status;
                store.insert(&task).unwrap();
            }
        }
        std::fs::write(dir.path().join("task_d.json"), b"{not json").unwrap();
        let (store, recovery) = LocalStore::open(dir.path()).unwrap();
        assert_eq!(recovery.requeued, ["task_b"]);
        assert_eq!(recovery.damaged.len(), 1);
        assert!(dir.path().join("task_d.json.damaged").exists());
        assert_eq!(store.load("task_b").unwrap().status, TaskStatus::Queued);
        let first = store.claim(Duration::ZERO).await.unwrap();
        let second = store.claim(Duration::ZERO).await.unwrap();
        assert_eq!([first.task_id, second.task_id], ["task_b", "task_c"]);
        assert!(store.claim(Duration::from_millis(10)).await.is_none());
    }

    #[tokio::test]
    async fn a_refused_change_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let (store, _) = LocalStore::open(dir.path()).unwrap();
        store
            .insert(&Task::new("task_a".into(), spec("a"), Utc::now()))
            .unwrap();
        let refused = store.modify::<()>("task_a", &mut |task| {
            task.status = TaskStatus::Failed;
            Err(BoardError::NotFound("x".into()))
        });
        assert!(refused.is_err());
        assert_eq!(store.load("task_a").unwrap().status, TaskStatus::Queued);
    }

    #[tokio::test]
    async fn events_wait_for_the_next_one_and_are_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let (store, _) = LocalStore::open(dir.path()).unwrap();
        let store = std::sync::Arc::new(store);
        let waiter = {
            let store = store.clone();
            tokio::spawn(async move { store.events("task_a", 0, Duration::from_secs(30)).await })
        };
        tokio::task::yield_now().await;
        store.publish("task_a", &TaskEvent::Takeover { active: true });
        let got = waiter.await.unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].seq, 1);
        for _ in 0..MAX_EVENTS_PER_TASK + 10 {
            store.publish("task_a", &TaskEvent::Takeover { active: false });
        }
        let all = store.events("task_a", 0, Duration::ZERO).await;
        assert_eq!(all.len(), MAX_EVENTS_PER_TASK);
        assert_eq!(all.last().unwrap().seq, MAX_EVENTS_PER_TASK as u64 + 11);
    }
}
