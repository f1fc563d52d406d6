//! Capture put together for one run: the locked dataset directory, the remote, what an earlier
//! run left behind (recovered first), the recorder thread and the uploader.

use std::sync::{Arc, Mutex};

use tokio::sync::mpsc;

use crate::mds::ClosedShard;

use super::error::CaptureError;
use super::recorder::{Notice, Recorder, RecorderConfig, RecorderHandle};
use super::remote::{Remote, RemoteError};
use super::settings::CaptureSettings;
use super::store::EpisodeStore;
use super::uploader::{UploadSummary, Uploader, adopt_remote_index};
use super::workspace::Workspace;

/// A running capture.
pub struct CaptureService {
    recorder: RecorderHandle,
    uploader: Option<Uploader>,
    settings: CaptureSettings,
    _workspace: Workspace,
}

/// What closing left to do.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CloseReport {
    /// Data that could not be saved now and waits on disk for the next start.
    pub left_on_disk: Vec<String>,
    /// The uploader's account, when there is a remote.
    pub uploads: Option<UploadSummary>,
}

impl CloseReport {
    /// Lines for the person who stopped capture.
    pub fn lines(&self) -> Vec<String> {
        let mut lines = self.left_on_disk.clone();
        if let Some(uploads) = &self.uploads {
            if uploads.waiting.is_empty() {
                lines.push(format!(
                    "uploads complete ({} file(s) this run)",
                    uploads.uploaded.len()
                ));
            } else {
                lines.push(format!(
                    "not uploaded yet: {} ({}); kept on disk and uploaded on the next start",
                    uploads.waiting.join(", "),
                    uploads
                        .last_error
                        .as_deref()
                        .unwrap_or("time ran out (CAPTURE_UPLOAD_WAIT)")
                ));
            }
        }
        lines
    }

    /// Whether everything recorded is safely in the dataset.
    pub fn all_saved(&self) -> bool {
        self.left_on_disk.is_empty()
    }
}

impl CaptureService {
    /// Opens the dataset (continuing a remote one when the local directory is behind),
    /// finishes what an earlier run left, and starts recording. Returns the service, lines that
    /// describe what was found, and the recorder's notices.
    pub async fn open(
        settings: &CaptureSettings,
    ) -> Result<(Self, Vec<String>, mpsc::UnboundedReceiver<Notice>), CaptureError> {
        let mut lines = Vec::new();
        let workspace = Workspace::lock(&settings.out)?;
        let remote = match &settings.remote {
            Some(url) => {
                let remote = Remote::from_env(url)?;
                match adopt_remote_index(&remote, workspace.dataset()).await {
                    Ok(Some(shards)) => lines.push(format!(
                        "continuing the dataset at {url} ({shards} shards; its index.json was copied into {})",
                        settings.out.display()
                    )),
                    Ok(None) => {}
                    Err(RemoteError::Unavailable(error)) => lines.push(format!(
                        "the remote cannot be reached now ({error}); recording goes on and shards are uploaded when it is back"
                    )),
                    Err(error) => return Err(error.into()),
                }
                Some(remote)
            }
            None => None,
        };
        let options = settings.writer.clone();
        let (dataset, spool) = (workspace.dataset().to_owned(), workspace.spool());
        let (store, report) =
            tokio::task::spawn_blocking(move || EpisodeStore::open(&dataset, spool, options))
                .await
                .map_err(|e| CaptureError::Corrupt {
                    path: settings.out.clone(),
                    reason: format!("opening the dataset stopped unexpectedly: {e}"),
                })??;
        for id in &report.respooled {
            lines.push(format!(
                "episode {id}: was waiting for its shard when the last run ended; written now"
            ));
        }
        for problem in &report.unreadable {
            lines.push(format!(
                "a spooled episode cannot be read and stays where it is: {problem}"
            ));
        }
        let uploader =
            remote.map(|remote| Uploader::start(remote, settings.out.clone(), settings.keep_local));
        let on_closed: Box<dyn Fn(&ClosedShard) + Send> = match &uploader {
            Some(uploader) => {
                let queue = uploader.queue();
                Box::new(move |shard| {
                    tracing::info!(shard = %shard.path.display(), samples = shard.entry.samples, "shard closed; uploading it");
                    queue.shard_closed(shard);
                })
            }
            None => Box::new(|shard| {
                tracing::info!(shard = %shard.path.display(), samples = shard.entry.samples, "shard closed");
            }),
        };
        let (notices, receiver) = mpsc::unbounded_channel();
        let config = RecorderConfig {
            min_frames: settings.min_frames,
            episode_timeout: settings.episode_timeout,
        };
        let mut recorder = Recorder::new(
            config,
            store,
            workspace.episodes(),
            on_closed,
            Some(notices),
        );
        let recovered = Arc::new(Mutex::new(Vec::new()));
        let sink = recovered.clone();
        let recorder = tokio::task::spawn_blocking(move || {
            *sink
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner) = recorder.recover();
            recorder.spawn()
        })
        .await
        .map_err(|e| CaptureError::Corrupt {
            path: settings.out.clone(),
            reason: format!("recovering episodes stopped unexpectedly: {e}"),
        })?;
        lines.extend(
            recovered
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .drain(..),
        );
        Ok((
            Self {
                recorder,
                uploader,
                settings: settings.clone(),
                _workspace: workspace,
            },
            lines,
            receiver,
        ))
    }

    /// The recorder, to feed frames, actions and commands.
    pub fn recorder(&self) -> &RecorderHandle {
        &self.recorder
    }

    /// The settings it runs with.
    pub fn settings(&self) -> &CaptureSettings {
        &self.settings
    }

    /// Ends the running episode (reason `shutdown`), closes the last shard and gives pending
    /// uploads up to `CAPTURE_UPLOAD_WAIT`.
    pub async fn close(self) -> CloseReport {
        let report = self.recorder.shutdown().await;
        let uploads = match self.uploader {
            Some(uploader) => Some(uploader.finish(self.settings.upload_wait).await),
            None => None,
        };
        CloseReport {
            left_on_disk: report.left_on_disk,
            uploads,
        }
    }
}
