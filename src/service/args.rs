//! The command lines of `neko-agent serve` and `neko-agent worker`. The agent's own settings
//! (model, steps, decoder, voice, capture…) come from the same variables `run` reads.

use std::net::SocketAddr;
use std::path::PathBuf;

/// Where the queue lives, shared by `serve` and `worker`.
#[derive(Debug, Clone, clap::Args)]
pub struct QueueArgs {
    /// Where this process's workers serve their running tasks' live views (WHEP) for the API:
    /// a free loopback port by default (the API in the same process, or on the same host); an
    /// address the API can reach (e.g. 0.0.0.0:8091 with --live-advertise) for workers on
    /// other machines.
    #[arg(long, env = "NEKO_LIVE_BIND", default_value = "127.0.0.1:0")]
    pub live_bind: std::net::SocketAddr,
    /// Host name or address the API reaches this worker's live views at (default: the bound
    /// address), e.g. the pod's IP.
    #[arg(long, env = "NEKO_LIVE_ADVERTISE")]
    pub live_advertise: Option<String>,
    /// `local` (a directory, this process only) or `redis://[:password@]host:port[/db]` (any
    /// number of `neko-agent worker` processes).
    #[arg(long, env = "NEKO_QUEUE", default_value = "local")]
    pub queue: String,
    /// Key prefix in Redis (several services can share one Redis).
    #[arg(long, env = "NEKO_QUEUE_PREFIX", default_value = "neko")]
    pub queue_prefix: String,
    /// Directory of the local task store, and of saved screenshots.
    #[arg(long, env = "NEKO_API_DATA", default_value = "out/service")]
    pub data_dir: PathBuf,
    /// TOML file of named rooms (`[rooms.<name>] url, username, password|password_file`).
    #[arg(long, env = "NEKO_ROOMS")]
    pub rooms: Option<PathBuf>,
    /// File holding the webhook signing secret (else `NEKO_WEBHOOK_SECRET`; unsigned when
    /// neither is set).
    #[arg(long, env = "NEKO_WEBHOOK_SECRET_FILE")]
    pub webhook_secret_file: Option<PathBuf>,
    /// Seconds a worker may stay silent before its tasks are run by another.
    #[arg(long, env = "NEKO_RECLAIM_AFTER", default_value_t = 30)]
    pub reclaim_after: u64,
    /// Record tasks that ask for it (`options.enable_capture`) into the capture dataset (the
    /// `CAPTURE_*` settings).
    #[arg(long, env = "NEKO_CAPTURE_TASKS")]
    pub capture_tasks: bool,
}

/// `neko-agent serve`.
#[derive(Debug, Clone, clap::Args)]
pub struct ServeArgs {
    /// Address of the API.
    #[arg(long, env = "NEKO_API_BIND", default_value = "127.0.0.1:8080")]
    pub bind: SocketAddr,
    /// File holding the bearer token (wins over `NEKO_API_TOKEN`). Without a token the API
    /// only listens on loopback.
    #[arg(long, env = "NEKO_API_TOKEN_FILE")]
    pub token_file: Option<PathBuf>,
    /// Tasks this process runs at once (0: API only, for workers elsewhere on Redis).
    #[arg(long, env = "NEKO_API_WORKERS", default_value_t = 1)]
    pub workers: usize,
    /// Serve `/capture/…`: episodes recorded on request into the capture dataset (the
    /// `CAPTURE_*` settings), by a session of its own in the default room. It holds the
    /// dataset, so it cannot go with --capture-tasks in one process.
    #[arg(long, env = "NEKO_API_CAPTURE", conflicts_with = "capture_tasks")]
    pub capture: bool,
    /// Serve `/tts/…` and `/voices…`: speech in the default room through the voice pipeline,
    /// with the voice registry of `yap` (the `YAP_*` settings).
    #[arg(long, env = "NEKO_API_VOICE")]
    pub voice: bool,
    /// The queue and its settings.
    #[command(flatten)]
    pub queue: QueueArgs,
}

/// `neko-agent worker`.
#[derive(Debug, Clone, clap::Args)]
pub struct WorkerArgs {
    /// Tasks this worker runs at once (each in its own room).
    #[arg(long, env = "NEKO_WORKER_SLOTS", default_value_t = 1)]
    pub slots: usize,
    /// Name of this worker (default: host name and process id).
    #[arg(long, env = "NEKO_WORKER_NAME")]
    pub name: Option<String>,
    /// Port of this worker's `/metrics`, `/healthz` and `/readyz` (0 picks one; off when unset).
    #[arg(long, env = "NEKO_METRICS_PORT")]
    pub metrics_port: Option<u16>,
    /// The queue and its settings.
    #[command(flatten)]
    pub queue: QueueArgs,
}
