//! `neko-agent yap` settings: the Python tool's `YAP_*` variables with the same meanings, plus
//! the engine choice, validated all at once.

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::connection::{ConnectionArgs, SessionSettings};
use crate::voice::tts::f5::{F5_FILES, F5Options};

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

/// `neko-agent yap` settings.
#[derive(Debug, Clone, clap::Args)]
pub struct YapArgs {
    /// Connection (NEKO_URL/NEKO_USER/NEKO_PASS, or a WebSocket URL with a token).
    #[command(flatten)]
    pub connection: ConnectionArgs,
    /// WebSocket URL with ?token=… (YAP_WS; falls back to --ws/NEKO_WS).
    #[arg(long = "yap-ws", env = "YAP_WS", hide = true)]
    pub yap_ws: Option<String>,
    /// Voice settings.
    #[command(flatten)]
    pub voice: VoiceArgs,
    /// Serve Prometheus metrics on this port (0 picks a free one; unset: no server).
    #[arg(long = "metrics-port", env = "YAP_METRICS_PORT")]
    pub metrics_port: Option<u16>,
    /// Seconds to wait for the room at start.
    #[arg(long, env = "NEKO_CONNECT_TIMEOUT", default_value_t = 20.0)]
    pub connect_timeout: f64,
    /// Check the settings, the voice engine and the server, then exit (0 ok, 1 not).
    #[arg(long)]
    pub healthcheck: bool,
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

impl YapArgs {
    /// The session settings and the voice pipeline's own variables, or every problem with the
    /// settings. The ICE settings not given as flags or `NEKO_*` come from the Python tool's
    /// `YAP_ICE_POLICY`, `YAP_STUN_URL`, `YAP_TURN_URL`, `YAP_TURN_USER` and `YAP_TURN_PASS`.
    pub fn settings(&self) -> Result<(SessionSettings, BTreeMap<String, String>), Vec<String>> {
        let mut problems = self.voice.problems();
        let mut connection = self.connection.clone();
        if let Some(ws) = self.yap_ws.as_deref().filter(|w| !w.is_empty()) {
            connection.ws = Some(ws.to_owned());
        }
        let ice = connection.ice.clone().or_env("YAP");
        match connection.session_with(&ice) {
            Ok(session) if problems.is_empty() => Ok((
                session,
                BTreeMap::from([("frame_ms".to_owned(), self.voice.frame_ms.to_string())]),
            )),
            Ok(_) => Err(problems),
            Err(error) => {
                problems.extend(error.0);
                Err(problems)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        yap: YapArgs,
    }

    fn parse(args: &[&str]) -> YapArgs {
        Cli::try_parse_from(std::iter::once("yap").chain(args.iter().copied()))
            .expect("parses")
            .yap
    }

    #[test]
    fn defaults_match_the_python_tool() {
        let args = parse(&[]);
        let voice = &args.voice;
        assert_eq!(
            (voice.sample_rate, voice.channels, voice.frame_ms),
            (48_000, 1, 20)
        );
        assert_eq!(
            (voice.parallel, voice.max_chars, voice.overlap_ms),
            (2, 350, 30)
        );
        assert_eq!(voice.jitter_max_sec, 6.0);
        assert_eq!(voice.idle_flush_ms(), 1500);
        assert_eq!(voice.voices_dir, PathBuf::from("./voices"));
        assert_eq!(voice.default_speaker, "default");
        assert_eq!(voice.resolved_engine(), Engine::Espeak);
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let args = parse(&["--channels", "3", "--frame-ms", "30", "--parallel", "0"]);
        let problems = args.settings().unwrap_err();
        let all = problems.join("\n");
        for needle in [
            "--channels is 3",
            "--frame-ms is 30",
            "--parallel is 0",
            "no server",
        ] {
            assert!(all.contains(needle), "{needle} missing from:\n{all}");
        }
    }

    #[test]
    fn yap_ws_wins_over_neko_ws() {
        let args = parse(&[
            "--ws",
            "ws://a/api/ws?token=1",
            "--yap-ws",
            "ws://b/api/ws?token=2",
            "--frame-ms",
            "40",
        ]);
        let (session, variables) = args.settings().unwrap();
        assert_eq!(session.url, "ws://b/api/ws?token=2");
        assert_eq!(variables["frame_ms"], "40");
    }

    #[test]
    fn ice_flags_merge_turn_credentials() {
        let args = parse(&[
            "--neko-url",
            "http://h",
            "--username",
            "u",
            "--password",
            "p",
            "--ice-policy",
            "all",
            "--turn-url",
            "turn:t.example:3478",
            "--turn-user",
            "me",
            "--turn-pass",
            "p@ss",
        ]);
        let (session, _) = args.settings().unwrap();
        assert_eq!(session.ice.stun_server, None);
        assert_eq!(
            session.ice.turn_servers,
            vec!["turn://me:p%40ss@t.example:3478"]
        );
    }

    #[test]
    fn short_streaming_chunks_flush_after_a_quarter_second() {
        let args = parse(&["--chunk-sec", "0.1"]);
        assert_eq!(args.voice.idle_flush_ms(), 250);
    }
}
