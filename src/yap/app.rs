//! `neko-agent yap`: joins the room with its own session, listens to chat and speaks.
//!
//! Exit codes: 0 stopped by SIGINT/SIGTERM or a healthcheck that passed, 1 a healthcheck that
//! failed, 2 bad settings (engine, voices, pipeline files), 3 the room could not be joined or the
//! session was lost.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use gstneko::client::{ClientError, ClientNotice, NekoClient, wait_for_notice};
use gstneko::protocol::{ChatContent, ClientEvent, ServerEvent};
use tokio::sync::broadcast;
use tokio::sync::mpsc::{UnboundedReceiver, unbounded_channel};
use tokio::time::Instant;

use super::chat::{self, HELP, REPLY_PREFIX, YapCommand};
use super::metrics::YapMetrics;
use super::settings::YapArgs;
use crate::connection::SessionSettings;
use crate::session::LoginError;
use crate::voice::live::{self, SayError, SetupError, Voice, VoiceError};
use crate::voice::segment::StreamAssembler;
use crate::voice::speaker::SpeakerEvent;

/// Stopped by a signal, or a healthcheck passed.
pub const EXIT_OK: u8 = 0;
/// A healthcheck failed.
pub const EXIT_UNHEALTHY: u8 = 1;
/// Bad settings.
pub const EXIT_USAGE: u8 = 2;
/// The room could not be joined, or the session was lost.
pub const EXIT_CONNECTION: u8 = 3;

/// How a yap run ended when nothing went wrong with yap itself.
#[derive(Debug)]
pub enum YapOutcome {
    /// Stopped by SIGINT/SIGTERM.
    Stopped,
    /// `--healthcheck` found everything in order.
    Healthy,
    /// `--healthcheck` found these problems.
    Unhealthy(Vec<HealthProblem>),
}

impl YapOutcome {
    /// The process exit status: [`EXIT_OK`] or [`EXIT_UNHEALTHY`].
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::Stopped | Self::Healthy => EXIT_OK,
            Self::Unhealthy(_) => EXIT_UNHEALTHY,
        }
    }
}

/// One thing `--healthcheck` found wrong.
#[derive(Debug, thiserror::Error)]
pub enum HealthProblem {
    /// The engine, the voices file or a pipeline file.
    #[error(transparent)]
    Setup(#[from] SetupError),
    /// The check of the local settings did not finish.
    #[error(transparent)]
    Task(#[from] tokio::task::JoinError),
    /// The server refused the login or could not be reached.
    #[error(transparent)]
    Login(#[from] LoginError),
}

/// Why yap could not start or stopped without a signal.
#[derive(Debug, thiserror::Error)]
pub enum YapCommandError {
    /// Every problem with the settings.
    #[error("the yap settings are wrong:\n  - {}", .0.join("\n  - "))]
    Settings(Vec<String>),
    /// The voice could not be set up or could not join the room.
    #[error(transparent)]
    Voice(#[from] VoiceError),
    /// Setting up the voice did not finish.
    #[error("the voice did not start: {0}")]
    VoiceStart(#[source] tokio::task::JoinError),
    /// The room was not joined.
    #[error(transparent)]
    Join(#[from] JoinError),
    /// The metrics server could not listen.
    #[error("metrics port {port}: {source}")]
    MetricsPort {
        /// The port asked for.
        port: u16,
        /// Why it could not be bound.
        source: std::io::Error,
    },
    /// The session failed for good.
    #[error(transparent)]
    Lost(ClientError),
    /// The session's event stream closed.
    #[error("the session ended")]
    SessionEnded,
    /// The voice pipeline reported an error.
    #[error("{0}")]
    Pipeline(String),
}

impl YapCommandError {
    /// The process exit status: [`EXIT_USAGE`] or [`EXIT_CONNECTION`].
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::Settings(_)
            | Self::Voice(VoiceError::Setup(_))
            | Self::VoiceStart(_)
            | Self::MetricsPort { .. } => EXIT_USAGE,
            Self::Voice(VoiceError::Link(_))
            | Self::Join(_)
            | Self::Lost(_)
            | Self::SessionEnded
            | Self::Pipeline(_) => EXIT_CONNECTION,
        }
    }
}

/// Runs yap until SIGINT/SIGTERM, or `--healthcheck`; an error says why it could not start or
/// stopped otherwise, and its [`exit_code`](YapCommandError::exit_code) is the process exit
/// status.
pub async fn run(args: YapArgs) -> Result<YapOutcome, YapCommandError> {
    let (session, variables) = args.settings().map_err(YapCommandError::Settings)?;
    if args.healthcheck {
        return Ok(healthcheck(&args, &session).await);
    }
    let (errors, mut pipeline_errors) = unbounded_channel();
    let on_error = Arc::new(move |error: String| {
        let _ = errors.send(error);
    });
    let opened = {
        let voice_args = args.voice.clone();
        let session = session.clone();
        tokio::task::spawn_blocking(move || {
            Voice::open(&voice_args, &session, &variables, on_error)
        })
        .await
    };
    let (voice, speaker_events) = opened.map_err(YapCommandError::VoiceStart)??;
    let mut notices = voice.link().client.subscribe();
    let joined = tokio::select! {
        joined = wait_joined(&voice.link().client, &mut notices, Duration::from_secs_f64(args.connect_timeout.max(0.1))) => joined,
        Some(error) = pipeline_errors.recv() => Err(JoinError::Pipeline(error)),
    };
    if let Err(error) = joined {
        voice.close();
        return Err(error.into());
    }
    let metrics = Arc::new(YapMetrics::default());
    metrics.readiness.watch(voice.link().client.clone());
    if let Some(port) = args.metrics_port {
        let address = SocketAddr::from((Ipv4Addr::UNSPECIFIED, port));
        match metrics.clone().serve(address).await {
            Ok(bound) => tracing::info!(%bound, "metrics on /metrics"),
            Err(source) => {
                voice.close();
                return Err(YapCommandError::MetricsPort { port, source });
            }
        }
    }
    tracing::info!(engine = voice.engine_name(), "yap is listening to chat");
    let mut session = ChatSession {
        voice,
        assembler: None,
        idle_flush: Duration::from_millis(args.voice.idle_flush_ms()),
        flush_at: None,
        max_chars: args.voice.max_chars,
        metrics,
    };
    let ended = session
        .serve(notices, speaker_events, &mut pipeline_errors)
        .await;
    session.voice.close();
    ended.map(|()| YapOutcome::Stopped)
}

/// Why the room was not joined.
#[derive(Debug, thiserror::Error)]
pub enum JoinError {
    /// The session ended for good.
    #[error(transparent)]
    Fatal(ClientError),
    /// No `system/init` within the limit.
    #[error(
        "could not join the room within {:.0} s{}",
        .limit.as_secs_f64(),
        .last_problem.as_ref().map(|p| format!(": {p}")).unwrap_or_default()
    )]
    Timeout {
        /// How long it waited.
        limit: Duration,
        /// Why the last connection attempt failed.
        last_problem: Option<String>,
    },
    /// The voice pipeline reported an error first.
    #[error("{0}")]
    Pipeline(String),
}

/// Waits for `system/init` (or a fatal session error); a timeout names the last problem.
/// `notices` must be subscribed before the state is read, so the join cannot slip between.
async fn wait_joined(
    client: &NekoClient,
    notices: &mut broadcast::Receiver<ClientNotice>,
    limit: Duration,
) -> Result<(), JoinError> {
    let mut last_problem = None;
    if client.state().connected {
        return Ok(());
    }
    let outcome = wait_for_notice(notices, limit, |notice| match notice {
        ClientNotice::Connected { .. } => Some(Ok(())),
        ClientNotice::Fatal(error) => Some(Err(JoinError::Fatal(error.clone()))),
        ClientNotice::Retrying { error, .. } => {
            last_problem = Some(error.clone());
            None
        }
        _ => None,
    })
    .await;
    outcome.unwrap_or(Err(JoinError::Timeout {
        limit,
        last_problem,
    }))
}

/// The chat side of a running yap.
struct ChatSession {
    voice: Voice,
    /// Stream mode's pending text, while `/yap:begin` is on.
    assembler: Option<StreamAssembler>,
    idle_flush: Duration,
    flush_at: Option<Instant>,
    max_chars: usize,
    metrics: Arc<YapMetrics>,
}

impl ChatSession {
    async fn serve(
        &mut self,
        mut notices: broadcast::Receiver<ClientNotice>,
        mut speaker_events: UnboundedReceiver<SpeakerEvent>,
        pipeline_errors: &mut UnboundedReceiver<String>,
    ) -> Result<(), YapCommandError> {
        let terminate = crate::shutdown::interrupted();
        tokio::pin!(terminate);
        loop {
            let flush_at = self.flush_at;
            tokio::select! {
                notice = notices.recv() => match notice {
                    Ok(ClientNotice::Event(event)) => {
                        if let ServerEvent::ChatMessage(message) = event.as_ref() {
                            let own = self.voice.link().client.state().session_id;
                            if own.as_deref() != Some(message.id.as_str()) {
                                self.on_chat(&message.content.text).await;
                            }
                        }
                    }
                    Ok(ClientNotice::Fatal(error)) => return Err(YapCommandError::Lost(error)),
                    Ok(ClientNotice::Disconnected { reason, .. }) => {
                        tracing::warn!(%reason, "lost the room; reconnecting");
                    }
                    Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
                    Err(broadcast::error::RecvError::Closed) => {
                        return Err(YapCommandError::SessionEnded);
                    }
                },
                Some(event) = speaker_events.recv() => self.on_speaker(event).await,
                Some(error) = pipeline_errors.recv() => return Err(YapCommandError::Pipeline(error)),
                _ = async { tokio::time::sleep_until(flush_at.unwrap_or_else(Instant::now)).await }, if flush_at.is_some() => {
                    self.flush_at = None;
                    self.flush_stream().await;
                }
                _ = &mut terminate => {
                    tracing::info!("stopping on signal");
                    self.voice.stop();
                    return Ok(());
                }
            }
        }
    }

    async fn reply(&self, text: &str) {
        let event = ClientEvent::ChatMessage(ChatContent::new(format!("{REPLY_PREFIX} {text}")));
        if let Err(error) = self.voice.link().client.send(event).await {
            tracing::warn!(%error, "could not reply in chat");
        }
    }

    async fn speak(&mut self, result: Result<Vec<String>, SayError>) {
        match result {
            Ok(notes) => {
                for note in notes {
                    self.reply(&note).await;
                }
            }
            Err(error) => self.reply(&format!("error: {error}")).await,
        }
    }

    async fn on_chat(&mut self, text: &str) {
        if chat::is_reply(text) {
            return;
        }
        match chat::parse(text) {
            YapCommand::Begin => {
                self.assembler = Some(StreamAssembler::new(self.max_chars));
                self.flush_at = None;
                self.reply("stream: begin").await;
            }
            YapCommand::End => {
                if let Some(mut assembler) = self.assembler.take() {
                    let tail = assembler.flush();
                    let result = self.voice.say_chunks(tail);
                    self.speak(result).await;
                }
                self.flush_at = None;
                self.reply("stream: end").await;
            }
            YapCommand::Stop => {
                self.voice.stop();
                if let Some(assembler) = self.assembler.as_mut() {
                    assembler.clear();
                }
                self.flush_at = None;
                self.reply("stopped / queue flushed").await;
            }
            YapCommand::Say(phrase) => {
                self.metrics.utterances.inc();
                let result = self.voice.say(&phrase);
                self.speak(result).await;
            }
            YapCommand::VoiceReload => match self.voice.reload() {
                Ok(warnings) if warnings.is_empty() => self.reply("voices reloaded").await,
                Ok(warnings) => {
                    self.reply(&format!("voices reloaded; {}", warnings.join("; ")))
                        .await;
                }
                Err(error) => self.reply(&format!("error: {error}")).await,
            },
            YapCommand::VoiceAdd(flags) => {
                let reply = self
                    .voice
                    .add(&flags)
                    .unwrap_or_else(|e| format!("error: {e}"));
                self.reply(&reply).await;
            }
            YapCommand::VoiceSet(flags) => {
                let reply = self
                    .voice
                    .set(&flags)
                    .unwrap_or_else(|e| format!("error: {e}"));
                self.reply(&reply).await;
            }
            YapCommand::Unknown(command) => {
                self.reply(&format!("unknown command {command:?}; {HELP}"))
                    .await;
            }
            YapCommand::Text(text) => {
                let Some(assembler) = self.assembler.as_mut() else {
                    return;
                };
                let ready = assembler.push(&text);
                let pending = !assembler.pending().trim().is_empty();
                if !ready.is_empty() {
                    let result = self.voice.say_chunks(ready);
                    self.speak(result).await;
                }
                self.flush_at = pending.then(|| Instant::now() + self.idle_flush);
            }
        }
    }

    /// Stream mode went quiet: speak what is pending even without an end mark.
    async fn flush_stream(&mut self) {
        let Some(assembler) = self.assembler.as_mut() else {
            return;
        };
        let tail = assembler.flush();
        if !tail.is_empty() {
            let result = self.voice.say_chunks(tail);
            self.speak(result).await;
        }
    }

    async fn on_speaker(&self, event: SpeakerEvent) {
        match event {
            SpeakerEvent::Speaking { latency, .. } => {
                self.metrics.chunks.inc();
                self.metrics.chunk_latency.observe(latency);
            }
            SpeakerEvent::Synthesised { audio, work } => {
                self.metrics.audio_seconds.inc_by(audio);
                self.metrics.synthesis_seconds.inc_by(work);
            }
            SpeakerEvent::Failed { text, error } => {
                self.metrics.failures.inc();
                tracing::warn!(%error, %text, "a chunk could not be spoken");
                self.reply(&format!("could not speak {text:?}: {error}"))
                    .await;
            }
        }
    }
}

/// `--healthcheck`: the engine, the voices file, both pipeline files and the server's login.
async fn healthcheck(args: &YapArgs, session: &SessionSettings) -> YapOutcome {
    let mut problems = Vec::new();
    let voice = args.voice.clone();
    let local = tokio::task::spawn_blocking(move || live::check(&voice)).await;
    match local {
        Ok(Ok(())) => {}
        Ok(Err(error)) => problems.push(error.into()),
        Err(error) => problems.push(error.into()),
    }
    if let Err(error) = crate::session::check_login(session).await {
        problems.push(error.into());
    }
    if problems.is_empty() {
        println!("yap healthcheck ok");
        YapOutcome::Healthy
    } else {
        YapOutcome::Unhealthy(problems)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_problems_are_listed_one_a_line() {
        let error = YapCommandError::Settings(vec!["no server".into(), "no engine".into()]);
        assert_eq!(
            error.to_string(),
            "the yap settings are wrong:\n  - no server\n  - no engine"
        );
        assert_eq!(error.exit_code(), EXIT_USAGE);
    }

    #[test]
    fn exit_codes_say_how_yap_ended() {
        let port = YapCommandError::MetricsPort {
            port: 9,
            source: std::io::Error::from(std::io::ErrorKind::AddrInUse),
        };
        assert_eq!(port.exit_code(), EXIT_USAGE);
        assert!(std::error::Error::source(&port).is_some());
        let join = YapCommandError::from(JoinError::Pipeline("refused".into()));
        assert_eq!(join.exit_code(), EXIT_CONNECTION);
        assert_eq!(YapCommandError::SessionEnded.exit_code(), EXIT_CONNECTION);
        assert_eq!(YapOutcome::Stopped.exit_code(), EXIT_OK);
        assert_eq!(YapOutcome::Healthy.exit_code(), EXIT_OK);
        assert_eq!(
            YapOutcome::Unhealthy(Vec::new()).exit_code(),
            EXIT_UNHEALTHY
        );
    }
}
