//! `neko-agent yap` settings: the connection, the voice settings ([`VoiceArgs`]) and the
//! command's own, validated all at once.

use std::collections::BTreeMap;

use crate::connection::{ConnectionArgs, SessionSettings};
use crate::voice::settings::VoiceArgs;

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
    use std::path::PathBuf;

    use super::*;
    use crate::voice::settings::Engine;
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
