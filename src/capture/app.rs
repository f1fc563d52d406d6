//! `neko-agent capture`: its own session in the room, recording episodes that people (or the
//! agent) mark in chat, until SIGINT/SIGTERM; exit codes say how it ended.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use gstneko::client::{ClientError, ClientNotice};
use gstneko::protocol::{ChatContent, ClientEvent, ServerEvent};
use serde_json::json;
use tokio::sync::{broadcast, mpsc};

use super::chat::{ChatCommand, chat_text, parse_line};
use super::episode::{EndReason, unix_now};
use super::error::CaptureError;
use super::frames::feed_recorder;
use super::recorder::{Notice, RecorderHandle};
use super::service::{CaptureService, CloseReport};
use super::settings::{CaptureOptions, CaptureSettings, SettingProblem};
use crate::chat_prefix::CAPTURE as CHAT_PREFIX;
use crate::connection::{ConnectionArgs, SessionSettings};
use crate::session::{ControlError, ControlOptions, Controller, Link, LinkError};

/// Stopped by a signal with everything saved.
pub const EXIT_OK: u8 = 0;
/// Something recorded could not be saved yet (it waits on disk for the next start).
pub const EXIT_NOT_SAVED: u8 = 1;
/// Bad settings, pipeline file or dataset directory.
pub const EXIT_USAGE: u8 = 2;
/// The room could not be joined, or the session ended for good.
pub const EXIT_CONNECTION: u8 = 3;

/// `neko-agent capture`.
#[derive(Debug, Clone, clap::Args)]
pub struct CaptureArgs {
    /// Server and credentials.
    #[command(flatten)]
    pub connection: ConnectionArgs,
    /// Dataset, remote, frame rate and episode rules.
    #[command(flatten)]
    pub capture: CaptureOptions,
    /// Signalling only, no WebRTC: frames come from the REST screenshot, which needs an admin
    /// login. (Without this, screenshots stand in whenever the stream gives no video.)
    #[arg(long)]
    pub no_media: bool,
    /// Decoder: auto (NVDEC when available), nvdec or software.
    #[arg(long, env = "NEKO_DECODER", default_value = "auto", value_parser = ["auto", "nvdec", "software"])]
    pub decoder: String,
    /// Pipeline file for the media session (a name in pipelines/ or a path).
    #[arg(long, env = "NEKO_CAPTURE_PIPELINE", default_value = "capture")]
    pub pipeline: String,
    /// Seconds to wait for the room at start before giving up.
    #[arg(long, env = "NEKO_CONNECT_TIMEOUT", default_value_t = 20.0)]
    pub connect_timeout: f64,
    /// Serve `/healthz` and `/readyz` on this port (0 picks a free one; unset: no server).
    #[arg(long, env = "CAPTURE_HEALTH_PORT")]
    pub health_port: Option<u16>,
    /// Log level of capture (the Python tool's variable; NEKO_LOGLEVEL wins when set).
    #[arg(long = "capture-loglevel", env = "CAPTURE_LOGLEVEL", hide = true)]
    pub loglevel: Option<String>,
}

/// Why capture stopped other than by a signal with everything saved.
#[derive(Debug, thiserror::Error)]
pub enum CaptureCommandError {
    /// The signal handlers could not be installed.
    #[error("cannot listen for SIGINT/SIGTERM: {0}")]
    Signals(#[source] std::io::Error),
    /// The arguments are wrong.
    #[error(transparent)]
    Settings(#[from] SettingsProblems),
    /// The server settings or the pipeline file are unusable.
    #[error(transparent)]
    Link(#[from] LinkError),
    /// The dataset directory or the remote could not be opened.
    #[error(transparent)]
    Open(#[from] CaptureError),
    /// The health probe server could not listen.
    #[error("health port {port}: {source}")]
    HealthPort {
        /// The port asked for.
        port: u16,
        /// Why it could not be bound.
        source: std::io::Error,
    },
    /// The room was not joined in time.
    #[error(transparent)]
    Join(ControlError),
    /// The session failed for good.
    #[error(transparent)]
    Lost(ClientError),
    /// The session's event stream closed.
    #[error("the session ended")]
    SessionEnded,
    /// Stopped by a signal, but something recorded waits on disk.
    #[error("some recordings could not be saved yet (see above); they are saved on the next start")]
    NotSaved,
}

impl CaptureCommandError {
    /// The process exit status: [`EXIT_NOT_SAVED`], [`EXIT_USAGE`] or [`EXIT_CONNECTION`].
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::Signals(_)
            | Self::Settings(_)
            | Self::Link(_)
            | Self::Open(_)
            | Self::HealthPort { .. } => EXIT_USAGE,
            Self::Join(_) | Self::Lost(_) | Self::SessionEnded => EXIT_CONNECTION,
            Self::NotSaved => EXIT_NOT_SAVED,
        }
    }
}

/// Every problem with capture's arguments, reported at once.
#[derive(Debug, thiserror::Error)]
#[error("the capture settings are wrong:\n  - {}", list(.0))]
pub struct SettingsProblems(pub Vec<ArgumentProblem>);

/// One problem with capture's arguments.
#[derive(Debug, thiserror::Error)]
pub enum ArgumentProblem {
    /// A dataset, remote, frame rate or episode setting.
    #[error(transparent)]
    Capture(#[from] SettingProblem),
    /// A server or credentials setting (one line of the connection settings' list).
    #[error("{0}")]
    Connection(String),
    /// `--connect-timeout` is not a positive number.
    #[error("--connect-timeout/NEKO_CONNECT_TIMEOUT must be a positive number of seconds")]
    ConnectTimeout,
}

fn list(problems: &[ArgumentProblem]) -> String {
    problems
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n  - ")
}

/// Runs capture until SIGINT/SIGTERM ([`EXIT_OK`] when everything was saved); an error says
/// why it stopped otherwise, and its [`exit_code`](CaptureCommandError::exit_code) is the
/// process exit status.
pub async fn run(args: CaptureArgs) -> Result<(), CaptureCommandError> {
    let mut signals = Signals::listen().map_err(CaptureCommandError::Signals)?;
    let (settings, session) = check(&args)?;
    let link = open_link(&args, &settings, &session)?;
    let (service, lines, mut notices) = match CaptureService::open(&settings).await {
        Ok(opened) => opened,
        Err(error) => {
            link.close();
            return Err(error.into());
        }
    };
    for line in lines {
        println!("{line}");
    }
    if let Some(port) = args.health_port {
        let readiness = crate::metrics_server::Readiness::default();
        readiness.watch(link.client.clone());
        let address = std::net::SocketAddr::from((std::net::Ipv4Addr::UNSPECIFIED, port));
        match crate::metrics_server::serve(address, None, readiness).await {
            Ok(bound) => tracing::info!(%bound, "health probes at http://{bound}/readyz"),
            Err(source) => {
                service.close().await;
                link.close();
                return Err(CaptureCommandError::HealthPort { port, source });
            }
        }
    }
    let remote = settings
        .remote
        .as_ref()
        .map(|r| format!(", copied to {r}"))
        .unwrap_or_default();
    println!(
        "recording into {}{remote} at {} fps",
        settings.out.display(),
        settings.fps
    );
    let status = record(
        &args,
        &settings,
        &link,
        &service,
        &mut notices,
        &mut signals,
    )
    .await;
    let report = service.close().await;
    // What the shutdown itself did (the running episode saved, for example).
    while let Ok(notice) = notices.try_recv() {
        println!("{notice}");
    }
    link.close();
    finish(status, &report)
}

/// Every problem with the arguments at once; the capture and session settings otherwise.
fn check(args: &CaptureArgs) -> Result<(CaptureSettings, SessionSettings), SettingsProblems> {
    let mut problems = Vec::new();
    let settings = CaptureSettings::from_options(&args.capture)
        .map_err(|p| problems.extend(p.into_iter().map(ArgumentProblem::Capture)))
        .ok();
    let session = args
        .connection
        .session()
        .map_err(|e| problems.extend(e.0.into_iter().map(ArgumentProblem::Connection)))
        .ok();
    if !(args.connect_timeout.is_finite() && args.connect_timeout > 0.0) {
        problems.push(ArgumentProblem::ConnectTimeout);
    }
    match (settings, session) {
        (Some(settings), Some(session)) if problems.is_empty() => Ok((settings, session)),
        _ => Err(SettingsProblems(problems)),
    }
}

fn open_link(
    args: &CaptureArgs,
    settings: &CaptureSettings,
    session: &SessionSettings,
) -> Result<Link, LinkError> {
    if args.no_media {
        return Link::signalling(session);
    }
    let variables = BTreeMap::from([
        ("decoder".to_owned(), args.decoder.clone()),
        ("framerate".to_owned(), settings.framerate()),
        ("quality".to_owned(), settings.jpeg_quality.to_string()),
    ]);
    Link::media(
        &args.pipeline,
        session,
        &variables,
        Arc::new(|message| {
            tracing::error!(
                "media pipeline: {message}; frames come from REST screenshots while the stream gives none"
            );
        }),
    )
}

/// How recording ended: by a signal, or with the error that ended the session.
enum Ended {
    Signal,
    Connection(CaptureCommandError),
}

/// Joins the room and records until a signal or the end of the session.
async fn record(
    args: &CaptureArgs,
    settings: &CaptureSettings,
    link: &Link,
    service: &CaptureService,
    notices: &mut mpsc::UnboundedReceiver<Notice>,
    signals: &mut Signals,
) -> Ended {
    let controller = Controller::start(
        link.client.clone(),
        link.notices.resubscribe(),
        ControlOptions::watch_only(),
        Arc::new(|line: &str| tracing::debug!("{line}")),
    );
    let connect_timeout = Duration::from_secs_f64(args.connect_timeout);
    tokio::select! {
        connected = controller.wait_connected(connect_timeout) => {
            if let Err(error) = connected {
                return Ended::Connection(CaptureCommandError::Join(error));
            }
        }
        () = signals.received() => return Ended::Signal,
    }
    let recorder = service.recorder().clone();
    let client = link.client.clone();
    let screenshots = feed_recorder(link, &recorder, settings, args.no_media);
    println!(
        "in the room at {} as session {}; chat /start <task>, Action: {{json}} and /stop to record",
        client.rest().target().display_server(),
        controller.session_id().unwrap_or_default()
    );
    let chat = Chat {
        controller: &controller,
        recorder: &recorder,
    };
    let mut events = client.subscribe();
    let ended = loop {
        tokio::select! {
            event = events.recv() => match event {
                Ok(ClientNotice::Event(event)) => chat.on_event(&event).await,
                Ok(ClientNotice::Fatal(error)) => {
                    break Ended::Connection(CaptureCommandError::Lost(error));
                }
                Ok(ClientNotice::Connected { reconnect: true, .. }) => {
                    tracing::info!("reconnected to the room");
                }
                Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(broadcast::error::RecvError::Closed) => {
                    break Ended::Connection(CaptureCommandError::SessionEnded);
                }
            },
            Some(notice) = notices.recv() => chat.announce(&notice).await,
            () = signals.received() => break Ended::Signal,
        }
    };
    screenshots.abort();
    // Episodes ended by the shutdown are announced in the room while it is still there.
    if let Ended::Signal = ended
        && recorder.is_recording()
    {
        chat.say("Capture is stopping; the running episode ends with reason shutdown.")
            .await;
    }
    ended
}

/// Chat in and out.
struct Chat<'a> {
    controller: &'a Controller,
    recorder: &'a RecorderHandle,
}

impl Chat<'_> {
    async fn on_event(&self, event: &ServerEvent) {
        match event {
            ServerEvent::SystemInit(init) => {
                self.recorder
                    .screen(init.screen_size.width, init.screen_size.height);
                return;
            }
            ServerEvent::ScreenUpdated(update) => {
                self.recorder.screen(update.size.width, update.size.height);
                return;
            }
            _ => {}
        }
        let Some((sender, text)) = chat_text(event) else {
            return;
        };
        if self.controller.session_id().as_deref() == Some(sender) {
            return;
        }
        let Some(command) = parse_line(&text) else {
            return;
        };
        match command {
            ChatCommand::Start(task) => self.recorder.start(
                &task,
                json!({"source": "neko+chat", "notes": "frames via the WebRTC stream (REST shot.jpg when it gives none); actions via chat"}),
            ),
            ChatCommand::StartWithoutTask => self.say("Usage: /start <task>").await,
            ChatCommand::Stop => self.recorder.stop(EndReason::Stopped),
            ChatCommand::Action(action) => {
                if !self.recorder.is_recording() {
                    tracing::info!(raw = %action.raw, "an action outside an episode is not recorded (send /start <task> first)");
                }
                self.recorder.action(unix_now(), action.action, action.raw);
            }
            ChatCommand::BadAction { reason, raw } => {
                tracing::warn!(%raw, "action not recorded: {reason}");
                self.say(&format!("Action not recorded: {reason}")).await;
            }
        }
    }

    /// Tells the room (and standard output) what the recorder did.
    async fn announce(&self, notice: &Notice) {
        let line = notice.to_string();
        println!("{line}");
        self.say(&line).await;
    }

    async fn say(&self, text: &str) {
        let event = ClientEvent::ChatMessage(ChatContent::new(format!("{CHAT_PREFIX} {text}")));
        if let Err(error) = self.controller.client().send(event).await {
            tracing::warn!(%error, "could not post to chat");
        }
    }
}

fn finish(ended: Ended, report: &CloseReport) -> Result<(), CaptureCommandError> {
    for line in report.lines() {
        println!("{line}");
    }
    match ended {
        Ended::Connection(error) => Err(error),
        Ended::Signal if report.all_saved() => Ok(()),
        Ended::Signal => Err(CaptureCommandError::NotSaved),
    }
}

/// SIGINT and SIGTERM, listened to from the start (so that neither kills the process while it
/// starts up).
struct Signals {
    interrupt: tokio::signal::unix::Signal,
    terminate: tokio::signal::unix::Signal,
}

impl Signals {
    fn listen() -> std::io::Result<Self> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(Self {
            interrupt: signal(SignalKind::interrupt())?,
            terminate: signal(SignalKind::terminate())?,
        })
    }

    /// Resolves when either signal arrives (or arrived since the last call).
    async fn received(&mut self) {
        tokio::select! {
            _ = self.interrupt.recv() => {}
            _ = self.terminate.recv() => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_problems_are_listed_one_a_line() {
        let error = CaptureCommandError::from(SettingsProblems(vec![
            ArgumentProblem::Capture(SettingProblem::NoOut),
            ArgumentProblem::Connection("no server".into()),
            ArgumentProblem::ConnectTimeout,
        ]));
        assert_eq!(
            error.to_string(),
            "the capture settings are wrong:\n  \
             - --out/CAPTURE_OUT is empty: give the dataset directory\n  \
             - no server\n  \
             - --connect-timeout/NEKO_CONNECT_TIMEOUT must be a positive number of seconds"
        );
        assert_eq!(error.exit_code(), EXIT_USAGE);
    }

    #[test]
    fn exit_codes_say_how_capture_ended() {
        let port = CaptureCommandError::HealthPort {
            port: 9,
            source: std::io::Error::from(std::io::ErrorKind::AddrInUse),
        };
        assert_eq!(port.exit_code(), EXIT_USAGE);
        assert!(std::error::Error::source(&port).is_some());
        assert_eq!(
            CaptureCommandError::SessionEnded.exit_code(),
            EXIT_CONNECTION
        );
        assert_eq!(CaptureCommandError::NotSaved.exit_code(), EXIT_NOT_SAVED);
    }
}
