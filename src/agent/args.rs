//! `neko-agent run`: its command line.

use neko_sandbox::cli::RoomSettings;

use crate::capture::CaptureOptions;
use crate::connection::ConnectionArgs;
use crate::model::ModelOptions;

/// `neko-agent run`.
#[derive(Debug, Clone, clap::Args)]
pub struct RunArgs {
    /// Server and credentials.
    #[command(flatten)]
    pub connection: ConnectionArgs,
    /// Settings of the embedded room used when no server is configured.
    #[command(flatten)]
    pub room: RoomSettings,
    /// The model and how to run it.
    #[command(flatten)]
    pub model: ModelOptions,
    /// The backend (local engine or a remote endpoint) and the remote endpoint's settings.
    #[command(flatten)]
    pub remote: crate::remote::RemoteArgs,
    /// The task (offline mode).
    #[arg(long, env = "NEKO_TASK", default_value = "Search the weather")]
    pub task: String,
    /// Action space and prompt: web or phone.
    #[arg(long, env = "NEKO_MODE", default_value = "web", value_parser = ["web", "phone"])]
    pub mode: String,
    /// Steps per task before giving up.
    #[arg(long, env = "NEKO_MAX_STEPS", default_value_t = 8)]
    pub max_steps: u32,
    /// Take tasks from chat (`/task …`, `/stop`, `/status`) and keep running.
    #[arg(long)]
    pub online: bool,
    /// Model calls per step: the first on the whole frame, the rest on crops around a click.
    #[arg(long, env = "REFINEMENT_STEPS", default_value_t = 5)]
    pub refinement_steps: u32,
    /// Frames to discard after joining, before the first step.
    #[arg(long, env = "NEKO_SKIP_INITIAL_FRAMES", default_value_t = 5)]
    pub skip_initial_frames: u32,
    /// Seconds one model call may take before the step is abandoned.
    #[arg(long, env = "NEKO_INFERENCE_TIMEOUT", default_value_t = 120.0)]
    pub inference_timeout: f64,
    /// Most tokens one model call may generate.
    #[arg(long, env = "NEKO_MAX_NEW_TOKENS", default_value_t = 256)]
    pub max_new_tokens: usize,
    /// Longest edge of the frame given to the model; larger frames are scaled down (Lanczos)
    /// first, as the Python agent does (a 1920×1080 screen becomes 1344×756).
    #[arg(long, env = "SIZE_LONGEST_EDGE", default_value_t = 1344)]
    pub size_longest_edge: u32,
    /// Accepted for compatibility and ignored: in the Python agent it never reached the image
    /// processor. The pixel budget is --min-pixels/--max-pixels.
    #[arg(long, env = "SIZE_SHORTEST_EDGE", hide = true)]
    pub size_shortest_edge: Option<u32>,
    /// Save the frame each step looks at to this PNG (relative: under /tmp/neko-agent/).
    #[arg(long, env = "FRAME_SAVE_PATH")]
    pub frame_save_path: Option<String>,
    /// Save each step's frame with its action drawn on it into this directory.
    #[arg(long, env = "CLICK_SAVE_PATH")]
    pub click_save_path: Option<String>,
    /// Prometheus port (else $PORT, else $NEKO_METRICS_PORT, else 9000; 0 picks a free one).
    #[arg(long)]
    pub metrics_port: Option<u16>,
    /// Do not serve metrics.
    #[arg(long)]
    pub no_metrics: bool,
    /// Receive video only (NEKO_AUDIO=0 does the same).
    #[arg(long)]
    pub no_audio: bool,
    /// Decoder: auto (NVDEC when available), nvdec or software.
    #[arg(long, env = "NEKO_DECODER", default_value = "auto", value_parser = ["auto", "nvdec", "software"])]
    pub decoder: String,
    /// Pipeline file for the agent's session (a name in pipelines/ or a path).
    #[arg(long, env = "NEKO_AGENT_PIPELINE", default_value = "agent")]
    pub pipeline: String,
    /// Seconds to wait for host control before a step's input fails.
    #[arg(long, env = "NEKO_HOST_TIMEOUT", default_value_t = 10.0)]
    pub host_timeout: f64,
    /// Longest wait, in seconds, for the screen to settle after an action.
    #[arg(long, env = "NEKO_SETTLE_TIMEOUT", default_value_t = 3.0)]
    pub settle_timeout: f64,
    /// Longest wait, in seconds, for a fresh video frame (newer than the last action) while
    /// connected; the run ends with status 3 when none comes.
    #[arg(long, env = "NEKO_FRAME_TIMEOUT", default_value_t = 10.0)]
    pub frame_timeout: f64,
    /// Longest wait, in seconds, for a lost connection to come back; the run ends with status 3
    /// when it does not.
    #[arg(long, env = "NEKO_RECONNECT_TIMEOUT", default_value_t = 60.0)]
    pub reconnect_timeout: f64,
    /// Check the settings, the model files and the server, print `ok` and exit.
    #[arg(long)]
    pub healthcheck: bool,
    /// Narrate each step and the answer aloud in the room (a second session sends the speech
    /// through the voice pipeline, as `neko-agent yap` does).
    #[arg(long, env = "NEKO_VOICE")]
    pub voice: bool,
    /// Voice settings for --voice (the YAP_* variables).
    #[command(flatten)]
    pub voice_settings: crate::voice::settings::VoiceArgs,
    /// Serve a live view of the agent's room on this address (e.g. 127.0.0.1:8090): a WHEP
    /// endpoint any WHEP player plays, with the agent's actions drawn on the picture. The URL,
    /// with its viewer token, is printed at start.
    #[arg(long, env = "NEKO_LIVE")]
    pub live: Option<std::net::SocketAddr>,
    /// Width of the live view's picture (the height keeps the aspect).
    #[arg(long, env = "NEKO_LIVE_WIDTH", default_value_t = 1280)]
    pub live_width: u32,
    /// Frame rate of the live view.
    #[arg(long, env = "NEKO_LIVE_FPS", default_value_t = 15)]
    pub live_fps: u32,
    /// Most viewers of the live view at once.
    #[arg(long, env = "NEKO_LIVE_MAX_VIEWERS", default_value_t = 8)]
    pub live_max_viewers: usize,
    /// Codec of the live view: auto (H.264, on a hardware encoder when the machine has one;
    /// VP8 where no H.264 encoder is installed), h264 (hardware encoder when present, x264
    /// otherwise) or vp8.
    #[arg(long, env = "NEKO_LIVE_CODEC", value_enum, default_value_t = LiveCodecArg::Auto)]
    pub live_codec: LiveCodecArg,
    /// Bit rate of the live view, in bits per second.
    #[arg(long, env = "NEKO_LIVE_BITRATE", default_value_t = 1_500_000)]
    pub live_bitrate: u32,
    /// More rooms to run the same task in at the same time, on the one loaded model (their steps
    /// are batched into shared model calls): Neko base URLs, logged in with the same
    /// --username/--password. Repeat the flag or separate the URLs with commas.
    #[arg(long = "also-room", env = "NEKO_ALSO_ROOMS", value_delimiter = ',')]
    pub also_rooms: Vec<String>,
    /// Without NEKO_URL/NEKO_WS: how many embedded sandbox rooms to start and drive at once.
    #[arg(
        long = "sandbox-rooms",
        env = "NEKO_SANDBOX_ROOMS",
        default_value_t = 1
    )]
    pub sandbox_rooms: usize,
    /// Record each task as a training episode (frames and actions) into the capture dataset.
    #[arg(long)]
    pub capture: bool,
    /// Where and how `--capture` records.
    #[command(flatten)]
    pub capture_options: CaptureOptions,
}

/// `--live-codec`: what the live view encodes to (the `codec` of the pipeline file's
/// `nekoliveenc`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LiveCodecArg {
    /// H.264 (hardware encoder first), VP8 without an H.264 encoder.
    Auto,
    /// H.264, on a hardware encoder when present.
    H264,
    /// VP8.
    Vp8,
}

impl LiveCodecArg {
    /// The value `nekoliveenc`'s `codec` property takes.
    pub fn nick(self) -> &'static str {
        match self {
            LiveCodecArg::Auto => "auto",
            LiveCodecArg::H264 => "h264",
            LiveCodecArg::Vp8 => "vp8",
        }
    }
}
