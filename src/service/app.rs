//! `neko-agent serve` and `neko-agent worker`: settings checked, store opened, model loaded
//! once, the API served and the workers run until SIGINT/SIGTERM.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;

use super::api::auth::{Access, AccessError};
use super::api::{ApiState, router};
use super::args::{QueueArgs, ServeArgs, WorkerArgs};
use super::board::Board;
use super::capture::{CaptureEngine, CaptureSetup};
use super::metrics::ServiceMetrics;
use super::rooms::{RoomBook, RoomsError};
use super::store::local::LocalStore;
use super::store::redis::RedisStore;
use super::store::{Store, StoreError};
use super::voice::{VoiceEngine, VoiceSetup};
use super::webhook::Webhooks;
use super::worker::{Worker, WorkerConfig, WorkerParts};
use crate::agent::RunArgs;
use crate::agent::app::{BackendError, CaptureOpenError, model_options, open_backend};
use crate::agent::backend::Backend;
use crate::capture::{AgentCapture, CaptureSettings};
use crate::connection::{ConnectionArgs, SessionSettings};
use crate::session::Printer;

/// How long requests in flight may take to finish once `serve` is asked to stop.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// Largest webhook secret file read.
const MAX_SECRET_FILE: u64 = 4096;

/// Why the service could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// The agent settings (the variables `run` reads) are wrong.
    #[error("the agent settings are wrong: {0}")]
    AgentSettings(#[source] clap::Error),
    /// The access settings are wrong.
    #[error(transparent)]
    Access(#[from] AccessError),
    /// `--queue` names no store this build knows.
    #[error("--queue/NEKO_QUEUE {0:?}: use `local` or a redis:// URL")]
    Queue(String),
    /// The store could not be opened.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The rooms file is wrong.
    #[error(transparent)]
    Rooms(#[from] RoomsError),
    /// The webhook secret file could not be read.
    #[error("--webhook-secret-file/NEKO_WEBHOOK_SECRET_FILE {path}: {source}")]
    WebhookSecret {
        /// The file.
        path: std::path::PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The webhook secret file is empty or larger than a secret.
    #[error(
        "--webhook-secret-file/NEKO_WEBHOOK_SECRET_FILE {0}: it should hold only the secret (1 to 4096 bytes)"
    )]
    WebhookSecretSize(std::path::PathBuf),
    /// The model could not be loaded.
    #[error(transparent)]
    Backend(#[from] BackendError),
    /// The capture dataset could not be opened.
    #[error(transparent)]
    Capture(#[from] CaptureOpenError),
    /// The voice settings are wrong.
    #[error("--voice: {0}")]
    Voice(String),
    /// The voice registry could not be opened.
    #[error("--voice: {0}")]
    Voices(#[source] crate::voice::voices::VoicesError),
    /// The default room's settings are incomplete.
    #[error(transparent)]
    Connection(#[from] crate::connection::ConnectionError),
    /// The embedded sandbox room did not start.
    #[error("the embedded sandbox room could not start: {0}")]
    EmbeddedRoom(#[source] neko_sandbox::RoomError),
    /// `--workers`/`--slots` of 0 on a worker, or a local queue without workers.
    #[error("{0}")]
    Workers(&'static str),
    /// The address could not be bound.
    #[error("cannot serve on {address}: {source}")]
    Bind {
        /// The address.
        address: std::net::SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// The server stopped with an error.
    #[error("the API server failed: {0}")]
    Serve(#[source] std::io::Error),
}

/// The agent's settings from the environment, as `run` would read them with no flags.
#[derive(Debug, Parser)]
struct AgentEnvironment {
    #[command(flatten)]
    run: RunArgs,
}

/// Serves the API (and runs `--workers` tasks at once in this process) until interrupted.
pub async fn serve(args: ServeArgs) -> Result<(), ServiceError> {
    let access = Access::configure(
        std::env::var("NEKO_API_TOKEN").ok().as_deref(),
        args.token_file.as_deref(),
        args.bind,
    )?;
    let local = args.queue.queue == "local";
    if local && args.workers == 0 {
        return Err(ServiceError::Workers(
            "--workers 0 needs a Redis queue (--queue redis://…) with `neko-agent worker` processes; a local queue is only served by this process",
        ));
    }
    let base = agent_settings()?;
    let board = Arc::new(Board::new(open_store(&args.queue).await?));
    // Without NEKO_URL, the default room is a sandbox room of this process, shared by its
    // workers, capture and voice.
    let (embedded, default_room) = default_room(&base, &args).await?;
    let rooms = Arc::new(RoomBook::load(
        args.queue.rooms.as_deref(),
        default_room.clone(),
    )?);
    let metrics = Arc::new(ServiceMetrics::default());
    let webhooks = Webhooks::new(webhook_secret(&args.queue)?);
    let engines = Engines::open(&args, &base, &default_room)?;
    let mut model = None;
    let mut worker = None;
    if args.workers > 0 {
        let (backend, description) = load_backend(&base, &metrics).await?;
        model = Some(description);
        let capture = open_capture(&args.queue, &base).await?;
        let parts = WorkerParts {
            board: board.clone(),
            rooms: rooms.clone(),
            backend,
            metrics: metrics.clone(),
            webhooks: webhooks.clone(),
            capture,
        };
        worker = Some(Worker::new(
            parts,
            worker_config(&args.queue, &base, args.workers, None),
        ));
    }
    let mut state = ApiState::new(board.clone(), metrics, rooms, model, worker.is_some())
        .with_webhooks(webhooks);
    if let Some(capture) = &engines.capture {
        state = state.with_capture(capture.clone());
    }
    if let Some(voice) = &engines.voice {
        state = state.with_voice(voice.clone());
    }
    let state = Arc::new(state);
    let (app, _) = router(state, access);
    let listener = tokio::net::TcpListener::bind(args.bind)
        .await
        .map_err(|source| ServiceError::Bind {
            address: args.bind,
            source,
        })?;
    let bound = listener.local_addr().map_err(ServiceError::Serve)?;
    println!(
        "serving the API at http://{bound}/api/v1 (tasks in {}, {} task(s) at once here)",
        board.store().describe(),
        args.workers
    );
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let workers = worker.map(|worker| {
        let mut stop = stop_rx.clone();
        tokio::spawn(worker.run(async move {
            let _ = stop.wait_for(|stop| *stop).await;
        }))
    });
    let mut stopping = stop_rx.clone();
    let server = axum::serve(listener, app).with_graceful_shutdown(async move {
        let _ = stopping.wait_for(|stop| *stop).await;
    });
    // Requests in flight get a moment to finish; open event streams would hold the server
    // forever, so they are cut after it.
    let served = tokio::select! {
        served = server => served,
        () = async {
            crate::shutdown::interrupted().await;
            let _ = stop_tx.send(true);
            tokio::time::sleep(SHUTDOWN_GRACE).await;
        } => Ok(()),
    };
    if let Some(workers) = workers {
        let _ = workers.await;
    }
    engines.close().await;
    if let Some(room) = embedded {
        room.shutdown().await;
    }
    println!("stopped; running tasks go back to the queue");
    served.map_err(ServiceError::Serve)
}

/// Runs tasks from a Redis queue until interrupted.
pub async fn worker(args: WorkerArgs) -> Result<(), ServiceError> {
    if args.slots == 0 {
        return Err(ServiceError::Workers("--slots must be at least 1"));
    }
    if args.queue.queue == "local" {
        return Err(ServiceError::Workers(
            "a worker needs the Redis queue its service uses (--queue/NEKO_QUEUE redis://…); a local queue is served by `neko-agent serve` itself",
        ));
    }
    let base = agent_settings()?;
    let board = Arc::new(Board::new(open_store(&args.queue).await?));
    let rooms = Arc::new(RoomBook::load(
        args.queue.rooms.as_deref(),
        base.connection.clone(),
    )?);
    let metrics = Arc::new(ServiceMetrics::default());
    let webhooks = Webhooks::new(webhook_secret(&args.queue)?);
    let (backend, description) = load_backend(&base, &metrics).await?;
    if let Some(port) = args.metrics_port {
        let address = std::net::SocketAddr::from((std::net::Ipv4Addr::UNSPECIFIED, port));
        let bound = metrics
            .agent
            .clone()
            .serve(address)
            .await
            .map_err(|source| ServiceError::Bind { address, source })?;
        println!("metrics at http://{bound}/metrics");
    }
    let capture = open_capture(&args.queue, &base).await?;
    let config = worker_config(&args.queue, &base, args.slots, args.name.clone());
    println!(
        "worker {} on {} with {description}, {} task(s) at once",
        config.name,
        board.store().describe(),
        config.slots
    );
    let parts = WorkerParts {
        board,
        rooms,
        backend,
        metrics,
        webhooks,
        capture,
    };
    Worker::new(parts, config)
        .run(crate::shutdown::interrupted())
        .await;
    println!("stopped; running tasks go back to the queue");
    Ok(())
}

/// The capture and voice engines of `/capture/…` and `/tts/…`, when switched on.
struct Engines {
    capture: Option<Arc<CaptureEngine>>,
    voice: Option<Arc<VoiceEngine>>,
}

impl Engines {
    fn open(args: &ServeArgs, base: &RunArgs, room: &ConnectionArgs) -> Result<Self, ServiceError> {
        let capture = if args.capture {
            let settings = CaptureSettings::from_options(&base.capture_options)
                .map_err(CaptureOpenError::Settings)?;
            let session = session_as(room, "capture")?;
            Some(Arc::new(CaptureEngine::new(CaptureSetup::new(
                settings, session,
            ))))
        } else {
            None
        };
        let voice = if args.voice {
            let problems = base.voice_settings.problems();
            if !problems.is_empty() {
                return Err(ServiceError::Voice(problems.join("; ")));
            }
            let session = session_as(room, "voice")?;
            let engine = VoiceEngine::new(VoiceSetup::new(base.voice_settings.clone(), session))
                .map_err(ServiceError::Voices)?;
            Some(Arc::new(engine))
        } else {
            None
        };
        Ok(Self { capture, voice })
    }

    /// Closes the last shard (waiting for uploads) and leaves the room.
    async fn close(self) {
        if let Some(capture) = self.capture
            && let Some(report) = capture.close().await
        {
            for line in report.lines() {
                println!("capture: {line}");
            }
        }
        if let Some(voice) = self.voice {
            voice.close().await;
        }
    }
}

/// The session settings of `room` (the embedded room: as user `username`).
fn session_as(room: &ConnectionArgs, username: &str) -> Result<SessionSettings, ServiceError> {
    let mut connection = room.clone();
    if connection.username.as_deref() == Some(EMBEDDED_USER) {
        connection.username = Some(username.to_owned());
    }
    connection.session().map_err(ServiceError::Connection)
}

/// The login the embedded room's agent sessions use.
const EMBEDDED_USER: &str = "agent";

/// The default room: `NEKO_URL`… when set, else a sandbox room started here (when anything
/// of this process will use it).
async fn default_room(
    base: &RunArgs,
    args: &ServeArgs,
) -> Result<(Option<neko_sandbox::Room>, ConnectionArgs), ServiceError> {
    let needed = args.workers > 0 || args.capture || args.voice;
    if base.connection.is_configured() || !needed {
        return Ok((None, base.connection.clone()));
    }
    let (room, mut connection) = crate::embedded_room::start(&base.room, EMBEDDED_USER)
        .await
        .map_err(ServiceError::EmbeddedRoom)?;
    // An admin login, so that a task's `screen_resolution` can set the room's screen.
    connection.password = Some(base.room.admin_password.clone());
    println!(
        "no NEKO_URL given: tasks, capture and voice use the embedded sandbox room at {}",
        room.base_url()
    );
    Ok((Some(room), connection))
}

fn agent_settings() -> Result<RunArgs, ServiceError> {
    AgentEnvironment::try_parse_from(["neko-agent"])
        .map(|parsed| parsed.run)
        .map_err(ServiceError::AgentSettings)
}

/// The store `--queue` names.
async fn open_store(queue: &QueueArgs) -> Result<Store, ServiceError> {
    match queue.queue.as_str() {
        "local" => {
            let (store, recovery) = LocalStore::open(&queue.data_dir.join("tasks"))?;
            for task_id in &recovery.requeued {
                println!("task {task_id} was running when the service stopped: queued again");
            }
            for path in &recovery.damaged {
                println!("a damaged task record was set aside: {}", path.display());
            }
            Ok(Store::Local(store))
        }
        url if url.starts_with("redis://") || url.starts_with("rediss://") => {
            let store = RedisStore::connect(url, &queue.queue_prefix).await?;
            Ok(Store::Redis(store))
        }
        other => Err(ServiceError::Queue(other.to_owned())),
    }
}

fn worker_config(
    queue: &QueueArgs,
    base: &RunArgs,
    slots: usize,
    name: Option<String>,
) -> WorkerConfig {
    let name = name.unwrap_or_else(|| {
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_owned())
            .unwrap_or_else(|_| "worker".into());
        format!("{host}-{}", std::process::id())
    });
    WorkerConfig {
        name,
        slots,
        base: base.clone(),
        reclaim_after: Duration::from_secs(queue.reclaim_after.max(2)),
        screenshots_dir: queue.data_dir.join("screenshots"),
        live_bind: queue.live_bind,
        live_advertise: queue.live_advertise.clone(),
    }
}

/// The model (or remote endpoint) every task of this process shares, and its description.
async fn load_backend(
    base: &RunArgs,
    metrics: &ServiceMetrics,
) -> Result<(Backend, String), ServiceError> {
    let options = model_options(&base.model, !base.connection.is_configured());
    let backend = open_backend(base, &options, metrics.agent.batching.clone()).await?;
    let description = match &backend {
        Backend::Local(_) => format!(
            "model {} ({})",
            options.model_dir.display(),
            backend.describe()
        ),
        Backend::Remote(_) => format!("remote model {}", backend.describe()),
    };
    println!("{description}");
    Ok((backend, description))
}

async fn open_capture(
    queue: &QueueArgs,
    base: &RunArgs,
) -> Result<Option<AgentCapture>, ServiceError> {
    if !queue.capture_tasks {
        return Ok(None);
    }
    let settings =
        CaptureSettings::from_options(&base.capture_options).map_err(CaptureOpenError::Settings)?;
    let print: Printer = Arc::new(|line: &str| println!("{line}"));
    let (capture, lines) = AgentCapture::open(&settings, print)
        .await
        .map_err(CaptureOpenError::Open)?;
    for line in lines {
        println!("capture: {line}");
    }
    Ok(Some(capture))
}

fn webhook_secret(queue: &QueueArgs) -> Result<Option<Vec<u8>>, ServiceError> {
    let Some(path) = &queue.webhook_secret_file else {
        return Ok(std::env::var("NEKO_WEBHOOK_SECRET")
            .ok()
            .map(|secret| secret.trim().as_bytes().to_vec())
            .filter(|secret| !secret.is_empty()));
    };
    read_secret(path).map(Some)
}

fn read_secret(path: &Path) -> Result<Vec<u8>, ServiceError> {
    let io = |source| ServiceError::WebhookSecret {
        path: path.to_owned(),
        source,
    };
    if std::fs::metadata(path).map_err(io)?.len() > MAX_SECRET_FILE {
        return Err(ServiceError::WebhookSecretSize(path.to_owned()));
    }
    let secret = std::fs::read(path).map_err(io)?.trim_ascii().to_vec();
    if secret.is_empty() {
        return Err(ServiceError::WebhookSecretSize(path.to_owned()));
    }
    Ok(secret)
}
