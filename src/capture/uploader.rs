//! Copies closed shards and the index to the remote as they close, retrying until it works.
//!
//! Nothing depends on the upload succeeding: a shard stays on disk until it is uploaded (and,
//! with `CAPTURE_KEEP_LOCAL=0`, is removed only then). At start the remote is compared with the
//! dataset directory, so whatever an earlier run could not upload goes up now. The index is
//! uploaded only when every shard it lists is there, so the remote dataset is always readable.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

use crate::mds::{ClosedShard, INDEX_FILE, Index, write_atomically};

use super::remote::{Remote, RemoteError};

/// First wait after a failed upload; doubled after each failure up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_secs(1);
/// Longest wait between attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(60);

/// The background uploader of one dataset.
pub struct Uploader {
    jobs: mpsc::UnboundedSender<Job>,
    done: oneshot::Receiver<UploadSummary>,
}

/// What the uploader got done by the time it stopped.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UploadSummary {
    /// Files uploaded in this run.
    pub uploaded: Vec<String>,
    /// Files still waiting (kept on disk for the next start).
    pub waiting: Vec<String>,
    /// The last failure, if the uploader was failing when it stopped.
    pub last_error: Option<String>,
}

/// Hands closed shards to the uploader.
#[derive(Clone)]
pub struct ShardQueue {
    jobs: mpsc::UnboundedSender<Job>,
}

impl ShardQueue {
    /// Queues a shard that was just closed (and the index that now lists it).
    pub fn shard_closed(&self, shard: &ClosedShard) {
        if let Some(name) = shard.path.file_name().and_then(|n| n.to_str()) {
            let _ = self.jobs.send(Job::Shard(name.to_owned()));
        }
    }
}

enum Job {
    Shard(String),
    Finish(Instant),
}

impl Uploader {
    /// Starts uploading to `remote` what the dataset in `dir` holds that the remote lacks, then
    /// every shard handed over with [`shard_closed`](Self::shard_closed).
    pub fn start(remote: Remote, dir: PathBuf, keep_local: bool) -> Self {
        let (jobs, receiver) = mpsc::unbounded_channel();
        let (report, done) = oneshot::channel();
        let task = Task {
            remote,
            dir,
            keep_local,
            queue: VecDeque::new(),
            synced: false,
            index_uploaded: None,
            summary: UploadSummary::default(),
            jobs: receiver,
            deadline: None,
        };
        tokio::spawn(async move {
            let summary = task.run().await;
            let _ = report.send(summary);
        });
        Self { jobs, done }
    }

    /// Where to hand closed shards (from any thread).
    pub fn queue(&self) -> ShardQueue {
        ShardQueue {
            jobs: self.jobs.clone(),
        }
    }

    /// Keeps trying for up to `wait`, then stops; what is left waits on disk for the next start.
    pub async fn finish(self, wait: Duration) -> UploadSummary {
        let _ = self.jobs.send(Job::Finish(Instant::now() + wait));
        self.done.await.unwrap_or_default()
    }
}

struct Task {
    remote: Remote,
    dir: PathBuf,
    keep_local: bool,
    queue: VecDeque<String>,
    synced: bool,
    /// The index text last uploaded.
    index_uploaded: Option<String>,
    summary: UploadSummary,
    jobs: mpsc::UnboundedReceiver<Job>,
    deadline: Option<Instant>,
}

impl Task {
    async fn run(mut self) -> UploadSummary {
        let mut backoff = FIRST_BACKOFF;
        let mut failing = false;
        loop {
            while let Ok(job) = self.jobs.try_recv() {
                self.accept(job);
            }
            let work = !self.synced || !self.queue.is_empty() || self.index_stale();
            if !work {
                if self.deadline.is_some() {
                    break;
                }
                match self.jobs.recv().await {
                    Some(job) => self.accept(job),
                    None => break,
                }
                continue;
            }
            if self.deadline.is_some_and(|d| Instant::now() >= d) {
                break;
            }
            match self.step().await {
                Ok(()) => {
                    if failing {
                        tracing::info!(remote = %self.remote.url(), "uploads work again");
                    }
                    failing = false;
                    backoff = FIRST_BACKOFF;
                    self.summary.last_error = None;
                }
                Err(error) => {
                    failing = true;
                    tracing::warn!(
                        %error,
                        retry_in_s = backoff.as_secs_f64(),
                        "upload failed; the files stay on disk and are tried again"
                    );
                    self.summary.last_error = Some(error.to_string());
                    if !self.pause(backoff).await {
                        break;
                    }
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
            }
        }
        self.summary.waiting = self.queue.iter().cloned().collect();
        if !self.synced {
            self.summary
                .waiting
                .push("(the comparison with the remote)".into());
        } else if self.index_stale() {
            self.summary.waiting.push(INDEX_FILE.into());
        }
        self.summary
    }

    fn accept(&mut self, job: Job) {
        match job {
            Job::Shard(name) => {
                if !self.queue.contains(&name) {
                    self.queue.push_back(name);
                }
            }
            Job::Finish(deadline) => self.deadline = Some(deadline),
        }
    }

    /// Waits `delay`, or less when the finish deadline comes first; false when it has passed.
    async fn pause(&mut self, delay: Duration) -> bool {
        let until = Instant::now() + delay;
        loop {
            let limit = self.deadline.map_or(until, |d| d.min(until));
            tokio::select! {
                _ = tokio::time::sleep_until(limit) => {
                    return self.deadline.is_none_or(|d| Instant::now() < d);
                }
                job = self.jobs.recv() => match job {
                    Some(job) => self.accept(job),
                    None => return false,
                },
            }
        }
    }

    /// One unit of work: the start-up comparison, a shard, or the index.
    async fn step(&mut self) -> Result<(), RemoteError> {
        if !self.synced {
            return self.sync().await;
        }
        if let Some(name) = self.queue.front().cloned() {
            let path = self.dir.join(&name);
            let size = self.remote.upload_file(&path, &name).await?;
            tracing::info!(file = %name, bytes = size, remote = %self.remote.url(), "uploaded");
            self.queue.pop_front();
            self.summary.uploaded.push(name);
            if !self.keep_local
                && let Err(error) = std::fs::remove_file(&path)
            {
                tracing::warn!(%error, file = %path.display(), "uploaded, but could not remove the local copy");
            }
            return Ok(());
        }
        let text = self.local_index();
        self.remote
            .upload_bytes(INDEX_FILE, text.clone().into_bytes())
            .await?;
        tracing::info!(remote = %self.remote.url(), "uploaded {INDEX_FILE}");
        self.summary.uploaded.push(INDEX_FILE.into());
        self.index_uploaded = Some(text);
        Ok(())
    }

    /// Queues the local shard files the remote lacks (or holds at another size).
    async fn sync(&mut self) -> Result<(), RemoteError> {
        let listing = self.remote.list().await?;
        let index = Index::load(&self.dir)
            .map_err(|e| RemoteError::Config(e.to_string()))?
            .unwrap_or_default();
        for shard in &index.shards {
            let file = shard.zip_data.as_ref().unwrap_or(&shard.raw_data);
            let local = self.dir.join(&file.basename);
            match (local.exists(), listing.get(&file.basename)) {
                (true, Some(&size)) if size == file.bytes => {
                    if !self.keep_local {
                        let _ = std::fs::remove_file(&local);
                    }
                }
                (true, _) => {
                    if !self.queue.contains(&file.basename) {
                        self.queue.push_back(file.basename.clone());
                    }
                }
                (false, None) => tracing::error!(
                    file = %file.basename,
                    remote = %self.remote.url(),
                    "a shard listed in index.json is neither on disk nor at the remote"
                ),
                (false, Some(_)) => {}
            }
        }
        let remote_index = match listing.get(INDEX_FILE) {
            Some(_) => self
                .remote
                .download(INDEX_FILE)
                .await?
                .map(|b| String::from_utf8_lossy(&b).into_owned()),
            None => None,
        };
        if let Some(text) = &remote_index {
            check_same_dataset(&self.remote, text, &index)?;
        }
        self.index_uploaded = remote_index;
        self.synced = true;
        if !self.queue.is_empty() {
            tracing::info!(
                files = self.queue.len(),
                remote = %self.remote.url(),
                "uploading shards the remote does not have yet"
            );
        }
        Ok(())
    }

    /// The local index text (empty when there is none yet).
    fn local_index(&self) -> String {
        std::fs::read_to_string(self.dir.join(INDEX_FILE)).unwrap_or_default()
    }

    /// Whether the remote index differs from the local one (and the local one exists).
    fn index_stale(&self) -> bool {
        if !self.synced {
            return false;
        }
        let local = self.local_index();
        !local.is_empty() && self.index_uploaded.as_deref() != Some(local.as_str())
    }
}

/// Refuses to upload into a remote that holds another dataset (its shards are not the first
/// shards of ours), which uploading would overwrite.
pub(crate) fn check_same_dataset(
    remote: &Remote,
    remote_index: &str,
    local: &Index,
) -> Result<(), RemoteError> {
    let path = Path::new(INDEX_FILE);
    let theirs = Index::from_json(remote_index, path).map_err(|e| {
        RemoteError::Refused(format!(
            "the {INDEX_FILE} at {} cannot be read ({e}); fix or remove it, or choose another CAPTURE_REMOTE prefix",
            remote.url()
        ))
    })?;
    let differs = theirs
        .shards
        .iter()
        .zip(&local.shards)
        .position(|(a, b)| a != b);
    if let Some(shard) = differs {
        return Err(RemoteError::Refused(format!(
            "{} holds a different dataset (its shard {shard} is not ours); nothing is uploaded there: choose another CAPTURE_REMOTE prefix or CAPTURE_OUT",
            remote.url()
        )));
    }
    if theirs.shards.len() > local.shards.len() {
        return Err(RemoteError::Refused(format!(
            "{} has {} shards, this dataset directory only {}: restart capture while the remote is reachable so that it continues the remote dataset",
            remote.url(),
            theirs.shards.len(),
            local.shards.len()
        )));
    }
    Ok(())
}

/// Before the dataset is opened: when the remote index lists more shards than the local one
/// (a fresh `CAPTURE_OUT`, or one emptied with `CAPTURE_KEEP_LOCAL=0`), it becomes the local
/// index, so that new shards continue the remote numbering. Returns the shard count adopted.
pub async fn adopt_remote_index(remote: &Remote, dir: &Path) -> Result<Option<usize>, RemoteError> {
    // Listing first also proves that the bucket exists and the credentials work.
    if !remote.list().await?.contains_key(INDEX_FILE) {
        return Ok(None);
    }
    let Some(text) = remote.download(INDEX_FILE).await? else {
        return Ok(None);
    };
    let text = String::from_utf8_lossy(&text).into_owned();
    let local = Index::load(dir)
        .map_err(|e| RemoteError::Config(e.to_string()))?
        .unwrap_or_default();
    let theirs = Index::from_json(&text, Path::new(INDEX_FILE)).map_err(|e| {
        RemoteError::Refused(format!(
            "the {INDEX_FILE} at {} cannot be read: {e}",
            remote.url()
        ))
    })?;
    let ours_is_prefix = local.shards.len() < theirs.shards.len()
        && local.shards.iter().zip(&theirs.shards).all(|(a, b)| a == b);
    if !ours_is_prefix {
        check_same_dataset(remote, &text, &local)?;
        return Ok(None);
    }
    write_atomically(dir, INDEX_FILE, |out| out.write_all(text.as_bytes()))
        .map_err(|e| RemoteError::Config(format!("cannot adopt the remote {INDEX_FILE}: {e}")))?;
    Ok(Some(theirs.shards.len()))
}
