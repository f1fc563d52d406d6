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
use crate::voice::live::{self, SayError, Voice, VoiceError};
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

/// Runs yap; returns the process exit status.
pub async fn run(args: YapArgs) -> u8 {
    let (session, variables) = match args.settings() {
        Ok(checked) => checked,
        Err(problems) => {
            eprintln!(
                "error: the yap settings are wrong:\n  - {}",
                problems.join("\n  - ")
            );
            return EXIT_USAGE;
        }
    };
    if args.healthcheck {
        return healthcheck(&args, &session).await;
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
    let (voice, speaker_events) = match opened {
        Ok(Ok(opened)) => opened,
        Ok(Err(VoiceError::Setup(error))) => {
            eprintln!("error: {error}");
            return EXIT_USAGE;
        }
        Ok(Err(VoiceError::Link(error))) => {
            eprintln!("error: {error}");
            return EXIT_CONNECTION;
        }
        Err(error) => {
            eprintln!("error: the voice did not start: {error}");
            return EXIT_USAGE;
        }
    };
    let mut notices = voice.link().client.subscribe();
    let joined = tokio::select! {
        joined = wait_joined(&voice.link().client, &mut notices, Duration::from_secs_f64(args.connect_timeout.max(0.1))) => joined,
        Some(error) = pipeline_errors.recv() => Err(JoinError::Pipeline(error)),
    };
    if let Err(error) = joined {
        eprintln!("error: {error}");
        voice.close();
        return EXIT_CONNECTION;
    }
    let metrics = Arc::new(YapMetrics::default());
    metrics.readiness.watch(voice.link().client.clone());
    if let Some(port) = args.metrics_port {
        let address = SocketAddr::from((Ipv4Addr::UNSPECIFIED, port));
        match metrics.clone().serve(address).await {
            Ok(bound) => tracing::info!(%bound, "metrics on /metrics"),
            Err(error) => {
                eprintln!("error: metrics port {port}: {error}");
                voice.close();
                return EXIT_USAGE;
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
    let code = session
        .serve(notices, speaker_events, &mut pipeline_errors)
        .await;
    session.voice.close();
    code
}

/// Why the room was not joined.
#[derive(Debug, thiserror::Error)]
enum JoinError {
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
    ) -> u8 {
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
                    Ok(ClientNotice::Fatal(error)) => {
                        eprintln!("error: {error}");
                        return EXIT_CONNECTION;
                    }
                    Ok(ClientNotice::Disconnected { reason, .. }) => {
                        tracing::warn!(%reason, "lost the room; reconnecting");
                    }
                    Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
                    Err(broadcast::error::RecvError::Closed) => {
                        eprintln!("error: the session ended");
                        return EXIT_CONNECTION;
                    }
                },
                Some(event) = speaker_events.recv() => self.on_speaker(event).await,
                Some(error) = pipeline_errors.recv() => {
                    eprintln!("error: {error}");
                    return EXIT_CONNECTION;
                }
                _ = async { tokio::time::sleep_until(flush_at.unwrap_or_else(Instant::now)).await }, if flush_at.is_some() => {
                    self.flush_at = None;
                    self.flush_stream().await;
                }
                _ = &mut terminate => {
                    tracing::info!("stopping on signal");
                    self.voice.stop();
                    return EXIT_OK;
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
async fn healthcheck(args: &YapArgs, session: &SessionSettings) -> u8 {
    let mut problems = Vec::new();
    let voice = args.voice.clone();
    let local = tokio::task::spawn_blocking(move || live::check(&voice)).await;
    match local {
        Ok(Ok(())) => {}
        Ok(Err(error)) => problems.push(error.to_string()),
        Err(error) => problems.push(error.to_string()),
    }
    if let Err(error) = crate::session::check_login(session).await {
        problems.push(error.to_string());
    }
    if problems.is_empty() {
        println!("yap healthcheck ok");
        EXIT_OK
    } else {
        for problem in problems {
            eprintln!("Error: {problem}");
        }
        EXIT_UNHEALTHY
    }
}
