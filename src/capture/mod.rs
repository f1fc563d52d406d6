//! Training-data capture: episodes of a room (frames, actions, task) recorded into MosaicML
//! Streaming (MDS) shards, locally and on S3, as the Python tool's `capture.py` wrote them.
//!
//! `neko-agent capture` watches chat in its own session (`/start <task>`, `/stop`,
//! `Action: {json}`, the agent's actions included) and records frames from the WebRTC stream
//! (the REST screenshot when there is no video). `neko-agent run --capture` records the
//! agent's own tasks from its frames and actions. `neko-agent dataset` lists and extracts what
//! was recorded.
//!
//! Data flows one way: frames and chat → [`recorder`] (one thread) → [`episode`] folder on
//! disk → [`package`] (zip + sample) → [`store`] (spool, MDS shards) → [`uploader`] → S3.
//! Everything recorded is on disk before it is acknowledged, and every step can be finished
//! by the next start after a crash.

pub mod agent_run;
pub mod app;
pub mod chat;
pub mod dataset;
pub mod encoder;
pub mod episode;
pub mod error;
pub mod frames;
pub mod package;
pub mod recorder;
pub mod remote;
pub mod service;
pub mod settings;
pub mod store;
pub mod uploader;
pub mod workspace;

pub use agent_run::{AgentCapture, TaskEpisode, TaskRecorder};
pub use app::CaptureArgs;
pub use dataset::DatasetArgs;
pub use episode::EndReason;
pub use error::CaptureError;
pub use package::{EpisodeZip, EpisodeZipError, PackagedEpisode, ZipFailure, episode_columns};
pub use recorder::{Notice, RecorderHandle};
pub use service::{CaptureService, CloseReport};
pub use settings::{CaptureOptions, CaptureSettings, SettingError, SettingProblem};
