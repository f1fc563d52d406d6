//! Voice settings, shared by `neko-agent yap` and `neko-agent run --voice`: the Python tool's
//! `YAP_*` variables with the same meanings, plus the engine choice, validated all at once.

use std::path::PathBuf;

use super::tts::f5::{F5_FILES, F5Options};

/// Opus frame durations the voice pipeline can send (Opus has no 30 ms frame).
pub const FRAME_SIZES_MS: [u32; 4] = [10, 20, 40, 60];

/// Which text-to-speech engine speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Engine {
    /// F5-TTS when its model directory holds the graphs, eSpeak NG otherwise.
    Auto,
    /// eSpeak NG through GStreamer's `espeak` element (embedded, no model files).
    Espeak,
    /// F5-TTS on ONNX Runtime (needs the graphs in `--f5-model-dir`).
    F5,
}

/// Voice settings, shared by `neko-agent yap` and `neko-agent run --voice`.
#[derive(Debug, Clone, clap::Args)]
pub struct VoiceArgs {
    /// Text-to-speech engine.
    #[arg(long = "tts", env = "YAP_TTS", value_enum, default_value_t = Engine::Auto)]
    pub engine: Engine,
    /// F5-TTS model directory and execution provider (see docs/voice-models.md).
    #[command(flatten)]
    pub f5: F5Options,
    /// eSpeak NG voice used when a speaker has none of its own.
    #[arg(
        long = "espeak-voice",
        env = "YAP_ESPEAK_VOICE",
        default_value = "en-us"
    )]
    pub espeak_voice: String,
    /// Output sample rate of the speech queue.
    #[arg(long = "sr", env = "YAP_SR", default_value_t = 48_000)]
    pub sample_rate: u32,
    /// Output channels: 1 or 2.
    #[arg(long = "channels", env = "YAP_AUDIO_CHANNELS", default_value_t = 1)]
    pub channels: u32,
    /// Opus frame length in milliseconds: 10, 20, 40 or 60.
    #[arg(long = "frame-ms", env = "YAP_FRAME_MS", default_value_t = 20)]
    pub frame_ms: u32,
    /// Most seconds of speech queued ahead of the stream; synthesis waits beyond it.
    #[arg(long = "jitter-max", env = "YAP_JITTER_MAX_SEC", default_value_t = 6.0)]
    pub jitter_max_sec: f64,
    /// Synthesis workers.
    #[arg(long = "parallel", env = "YAP_PARALLEL", default_value_t = 2)]
    pub parallel: usize,
    /// Target chunk length in seconds; sets the streaming idle flush (max(250 ms, half of it)).
    #[arg(
        long = "chunk-sec",
        env = "YAP_CHUNK_TARGET_SEC",
        default_value_t = 3.0
    )]
    pub chunk_target_sec: f64,
    /// Most characters in one synthesised chunk.
    #[arg(long = "max-chars", env = "YAP_MAX_CHARS", default_value_t = 350)]
    pub max_chars: usize,
    /// Crossfade between consecutive chunks, in milliseconds.
    #[arg(long = "overlap-ms", env = "YAP_OVERLAP_MS", default_value_t = 30)]
    pub overlap_ms: u32,
    /// Directory of the voice registry (voices.json and reference audio).
    #[arg(
        long = "voices-dir",
        env = "YAP_VOICES_DIR",
        default_value = "./voices"
    )]
    pub voices_dir: PathBuf,
    /// Speaker used when none is set.
    #[arg(
        long = "default-speaker",
        env = "YAP_SPK_DEFAULT",
        default_value = "default"
    )]
    pub default_speaker: String,
    /// Also write every chunk sent as chunk_<unixts>_<idx>.wav (16-bit) into this directory.
    #[arg(long = "save-audio-dir", env = "YAP_SAVE_AUDIO_DIR")]
    pub save_audio_dir: Option<PathBuf>,
    /// Voice pipeline file (name in pipelines/ or a path).
    #[arg(long = "voice-pipeline", env = "YAP_PIPELINE", default_value = "voice")]
    pub voice_pipeline: String,
    /// Per-chunk rate/pitch pipeline file (name in pipelines/ or a path).
    #[arg(
        long = "shaping-pipeline",
        env = "YAP_SHAPING_PIPELINE",
        default_value = "voice-shaping"
    )]
    pub shaping_pipeline: String,
}

impl VoiceArgs {
    /// Every problem with the voice settings, in one list.
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if !(1..=2).contains(&self.channels) {
            problems.push(format!(
                "YAP_AUDIO_CHANNELS/--channels is {}; it must be 1 or 2",
                self.channels
            ));
        }
        if !FRAME_SIZES_MS.contains(&self.frame_ms) {
            problems.push(format!(
                "YAP_FRAME_MS/--frame-ms is {}; Opus frames are 10, 20, 40 or 60 ms",
                self.frame_ms
            ));
        }
        if !(8_000..=192_000).contains(&self.sample_rate) {
            problems.push(format!(
                "YAP_SR/--sr is {}; use a sample rate between 8000 and 192000 (48000 is Opus's own)",
                self.sample_rate
            ));
        }
        if !(self.jitter_max_sec.is_finite() && self.jitter_max_sec >= 0.5) {
            problems.push(format!(
                "YAP_JITTER_MAX_SEC/--jitter-max is {}; give at least 0.5 seconds",
                self.jitter_max_sec
            ));
        }
        if !(1..=32).contains(&self.parallel) {
            problems.push(format!(
                "YAP_PARALLEL/--parallel is {}; use 1 to 32 workers",
                self.parallel
            ));
        }
        if !(self.chunk_target_sec.is_finite() && self.chunk_target_sec > 0.0) {
            problems.push(format!(
                "YAP_CHUNK_TARGET_SEC/--chunk-sec is {}; it must be above 0",
                self.chunk_target_sec
            ));
        }
        if self.max_chars < 20 {
            problems.push(format!(
                "YAP_MAX_CHARS/--max-chars is {}; use at least 20 characters",
                self.max_chars
            ));
        }
        if self.overlap_ms > 500 {
            problems.push(format!(
                "YAP_OVERLAP_MS/--overlap-ms is {}; use at most 500 ms",
                self.overlap_ms
            ));
        }
        problems
    }

    /// The engine that will speak.
    pub fn resolved_engine(&self) -> Engine {
        match self.engine {
            Engine::Auto if F5_FILES.iter().all(|f| self.f5.model_dir.join(f).is_file()) => {
                Engine::F5
            }
            Engine::Auto => Engine::Espeak,
            engine => engine,
        }
    }

    /// Milliseconds of quiet after which streamed text without an end mark is spoken anyway.
    pub fn idle_flush_ms(&self) -> u64 {
        (self.chunk_target_sec * 500.0).max(250.0) as u64
    }
}
