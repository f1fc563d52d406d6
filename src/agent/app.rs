//! `neko-agent run`: settings, model, session and mode put together, with exit codes that say
//! how it ended.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::RunArgs;
use super::action::Mode;
use super::annotate::debug_path;
use super::backend::Backend;
use super::frames::FrameSource;
use super::metrics::Metrics;
use super::online;
use super::prompt::NavPrompt;
use super::runner::{Agent, AgentConfig, AgentError, TaskOutcome};
use super::settle::SettleOptions;
use super::sight::{Sight, SightLimits};
use super::steer::{AgentEvent, Observer, PauseReason, TaskControl, ignore_events};
use crate::capture::{AgentCapture, CaptureError, CaptureSettings, SettingProblem};
use crate::connection::{ConnectionArgs, ConnectionError, SessionSettings};
use crate::frame::FrameError;
use crate::live::{LiveBranch, LiveServer, Marks, NoLiveBranch};
use crate::model::{BatchMetrics, Batcher, DEFAULT_MODEL_DIR, ModelError, ModelOptions, ShowUi};
use crate::remote::{RemoteError, RemoteVlm};
use crate::session::{
    ControlError, ControlOptions, Controller, Failures, Link, LinkError, Printer,
};
use crate::voice::live::{Voice, VoiceError};
use crate::voice::speaker::SpeakerEvent;
use gstneko::client::{Trust, TrustError};
use neko_sandbox::RoomError;

/// The task was answered (offline), or online mode ended cleanly.
pub const EXIT_ANSWERED: u8 = 0;
/// The agent failed: the model could not run, host control never granted…
pub const EXIT_FAILED: u8 = 1;
/// Bad settings or missing model files.
pub const EXIT_USAGE: u8 = 2;
/// The room could not be joined, the connection was lost for good, or the agent went blind (no
/// fresh frame in time).
pub const EXIT_CONNECTION: u8 = 3;
/// The step limit was reached without an answer.
pub const EXIT_STEP_LIMIT: u8 = 4;
/// Stopped by SIGINT/SIGTERM.
pub const EXIT_INTERRUPTED: u8 = 130;

/// How a run ended without an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunOutcome {
    /// The task was answered, online mode ended cleanly, or `--healthcheck` found no problem.
    Done,
    /// The step limit was reached without an answer.
    StepLimit {
        /// Steps taken.
        steps: u32,
    },
    /// Stopped by SIGINT/SIGTERM.
    Interrupted,
}

impl RunOutcome {
    /// The process exit status.
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::Done => EXIT_ANSWERED,
            Self::StepLimit { .. } => EXIT_STEP_LIMIT,
            Self::Interrupted => EXIT_INTERRUPTED,
        }
    }

    /// What the user is told on stderr about this ending, if anything.
    pub fn notice(&self) -> Option<String> {
        match self {
            Self::Done => None,
            Self::StepLimit { steps } => {
                Some(format!("no answer after {steps} steps (NEKO_MAX_STEPS)"))
            }
            Self::Interrupted => Some("interrupted".to_owned()),
        }
    }
}

/// Why `neko-agent run` failed.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// Settings that cannot work, all of them at once.
    #[error("the agent settings are wrong:\n  - {}", .0.join("\n  - "))]
    Settings(Vec<String>),
    /// The model or the remote endpoint could not be opened.
    #[error(transparent)]
    Backend(#[from] BackendError),
    /// The metrics port could not be bound.
    #[error("cannot serve metrics on {address}: {source}")]
    Metrics {
        /// The address asked for.
        address: SocketAddr,
        /// Why binding failed.
        source: std::io::Error,
    },
    /// The live view's address could not be bound.
    #[error("cannot serve the live view on {address} (--live): {source}")]
    LiveBind {
        /// The address asked for.
        address: SocketAddr,
        /// Why binding failed.
        source: std::io::Error,
    },
    /// `--live` with a pipeline file that has no live branch.
    #[error(transparent)]
    NoLiveBranch(#[from] NoLiveBranch),
    /// No server was configured and the embedded room did not start.
    #[error("the embedded sandbox room could not start: {0}")]
    EmbeddedRoom(#[source] RoomError),
    /// `--capture` could not open its dataset.
    #[error(transparent)]
    Capture(#[from] CaptureOpenError),
    /// The server settings are incomplete or wrong.
    #[error(transparent)]
    Connection(#[from] ConnectionError),
    /// The agent's pipeline could not be built or started.
    #[error(transparent)]
    Link(#[from] LinkError),
    /// `--voice` could not start.
    #[error("--voice: {0}")]
    Voice(#[source] VoiceOpenError),
    /// The pipeline has no usable `frames` appsink.
    #[error(transparent)]
    Frames(#[from] FrameError),
    /// The pipeline file made a signalling-only session.
    #[error("the agent needs a media session")]
    NoMedia,
    /// The room was not joined in time.
    #[error(transparent)]
    NotConnected(ControlError),
    /// `--capture` could not attach its recorder to the session.
    #[error(transparent)]
    CaptureAttach(crate::capture::encoder::EncodeError),
    /// The agent failed while working.
    #[error(transparent)]
    Agent(#[from] AgentError),
    /// `--healthcheck` found problems; each is shown on its own `error:` line.
    #[error("{}", .0.join("\nerror: "))]
    Unhealthy(Vec<String>),
}

impl RunError {
    /// The process exit status.
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::EmbeddedRoom(_) | Self::Unhealthy(_) => EXIT_FAILED,
            Self::NotConnected(_) => EXIT_CONNECTION,
            Self::Agent(error) => exit_for(error),
            _ => EXIT_USAGE,
        }
    }
}

/// Why the model or the remote endpoint could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    /// The remote endpoint's settings are wrong.
    #[error("{}", .0.join("; "))]
    RemoteSettings(Vec<String>),
    /// `--ca-file` cannot be used.
    #[error("--ca-file/NEKO_CA_FILE: {0}")]
    CaFile(#[source] TrustError),
    /// The remote endpoint's client could not be built.
    #[error(transparent)]
    Remote(#[from] RemoteError),
    /// The thread loading the model died.
    #[error("the model loader stopped: {0}")]
    Loader(#[source] tokio::task::JoinError),
    /// The model could not be loaded.
    #[error(transparent)]
    Model(#[from] ModelError),
}

/// Why `--capture` could not open its dataset.
#[derive(Debug, thiserror::Error)]
pub enum CaptureOpenError {
    /// The capture settings are wrong.
    #[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Settings(Vec<SettingProblem>),
    /// The dataset could not be opened or recovered.
    #[error(transparent)]
    Open(#[from] CaptureError),
}

/// Why `--voice` could not start.
#[derive(Debug, thiserror::Error)]
pub enum VoiceOpenError {
    /// The voice settings are wrong.
    #[error("{}", .0.join("; "))]
    Settings(Vec<String>),
    /// The voice's session or engine did not start.
    #[error(transparent)]
    Open(#[from] VoiceError),
}

/// The fixture model used with the embedded sandbox room when no model is configured.
const FIXTURE_MODEL: &str = "models/showui-fixture";

/// Longest `--frame-timeout`/`--reconnect-timeout` accepted (a day).
const MAX_WAIT_S: f64 = 86_400.0;

/// Most rooms one `run` drives.
const MAX_ROOMS: usize = 64;

/// How long to wait for the room at start.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(20);

/// Runs the agent until the task is answered, online mode ends, or it fails; what it prints on
/// the way goes to stdout, and how it ended is returned for the caller to report.
pub async fn run(args: RunArgs) -> Result<RunOutcome, RunError> {
    let print: Printer = Arc::new(|line: &str| println!("{line}"));
    let config = agent_config(&args).map_err(RunError::Settings)?;
    let embedded = !args.connection.is_configured();
    let model_options = model_options(&args.model, embedded);
    if args.healthcheck {
        return healthcheck(&args, &model_options, &print).await;
    }
    let metrics = Arc::new(Metrics::default());
    let model = open_backend(&args, &model_options, metrics.batching.clone()).await?;
    match &model {
        Backend::Local(_) => print(&format!(
            "model: {} ({})",
            model_options.model_dir.display(),
            model.describe()
        )),
        Backend::Remote(_) => print(&format!("model: remote {}", model.describe())),
    }
    if let Some(address) = metrics_address(&args) {
        let bound = metrics
            .clone()
            .serve(address)
            .await
            .map_err(|source| RunError::Metrics { address, source })?;
        tracing::info!(%bound, "metrics at http://{bound}/metrics");
    }
    let mut sandboxes = Vec::new();
    let mut connections = Vec::new();
    if embedded {
        for _ in 0..args.sandbox_rooms {
            match crate::embedded_room::start(&args.room, "agent").await {
                Ok((room, connection)) => {
                    print(&format!(
                        "no NEKO_URL/NEKO_WS given: running on the embedded sandbox room at {}",
                        room.base_url()
                    ));
                    connections.push((room.base_url(), connection));
                    sandboxes.push(room);
                }
                Err(error) => {
                    for room in sandboxes {
                        room.shutdown().await;
                    }
                    return Err(RunError::EmbeddedRoom(error));
                }
            }
        }
    } else {
        let label = args
            .connection
            .neko_url
            .clone()
            .unwrap_or_else(|| "room".into());
        connections.push((label, args.connection.clone()));
        for url in &args.also_rooms {
            let connection = ConnectionArgs {
                neko_url: Some(url.clone()),
                ws: None,
                ..args.connection.clone()
            };
            connections.push((url.clone(), connection));
        }
    }
    let capture = match open_capture(&args, &print).await {
        Ok(capture) => capture,
        Err(error) => {
            for room in sandboxes {
                room.shutdown().await;
            }
            return Err(error.into());
        }
    };
    let rooms = Rooms {
        model,
        connections: &connections,
    };
    let result = tokio::select! {
        result = rooms.drive(&args, config, metrics, print.clone(), capture.as_ref()) => result,
        _ = async {
            crate::shutdown::interrupted().await;
            if let Some(capture) = &capture {
                capture.interrupted();
            }
        } => Ok(RunOutcome::Interrupted),
    };
    if let Some(capture) = capture {
        for line in capture.close().await.lines() {
            print(&format!("capture: {line}"));
        }
    }
    for room in sandboxes {
        room.shutdown().await;
    }
    result
}

/// The rooms one `run` drives, and the model they share.
struct Rooms<'a> {
    model: Backend,
    /// Each room's name for the log (its URL) and connection settings.
    connections: &'a [(String, ConnectionArgs)],
}

impl Rooms<'_> {
    /// Runs the task (or the online loop) in every room at once; their steps share the model's
    /// batches. Lines are prefixed with the room when there are several. Ends when every room
    /// has ended: with the first error, else a step limit if any room reached one.
    async fn drive(
        &self,
        args: &RunArgs,
        config: AgentConfig,
        metrics: Arc<Metrics>,
        print: Printer,
        capture: Option<&AgentCapture>,
    ) -> Result<RunOutcome, RunError> {
        if let [(_, connection)] = self.connections {
            return drive(
                args,
                config,
                self.model.clone(),
                metrics,
                connection,
                print,
                capture,
            )
            .await;
        }
        let drives = self.connections.iter().map(|(name, connection)| {
            let base = print.clone();
            let prefix = name.clone();
            let print: Printer = Arc::new(move |line: &str| base(&format!("[{prefix}] {line}")));
            drive(
                args,
                config.clone(),
                self.model.for_room(name),
                metrics.clone(),
                connection,
                print,
                None,
            )
        });
        let mut outcome = RunOutcome::Done;
        let mut first_error = None;
        for result in futures_util::future::join_all(drives).await {
            match result {
                Err(error) => {
                    first_error.get_or_insert(error);
                }
                Ok(RunOutcome::Done) => {}
                Ok(ended) => outcome = ended,
            }
        }
        first_error.map_or(Ok(outcome), Err)
    }
}

/// Joins the room and runs the offline task or the online loop.
async fn drive(
    args: &RunArgs,
    config: AgentConfig,
    model: Backend,
    metrics: Arc<Metrics>,
    connection: &ConnectionArgs,
    print: Printer,
    capture: Option<&AgentCapture>,
) -> Result<RunOutcome, RunError> {
    let room = RoomSession::open(args, connection)?;
    let _server = match args.live {
        Some(bind) => match serve_live(&room, bind) {
            Ok(server) => {
                print(&format!("live view: {}", server.url()));
                Some(server)
            }
            Err(error) => {
                room.close().await;
                return Err(error);
            }
        },
        None => None,
    };
    let result = match room
        .agent(args, config, model, metrics, print.clone(), capture)
        .await
    {
        Ok(agent) => run_mode(args, &agent, &room, print).await,
        Err(error) => Err(error),
    };
    room.close().await;
    result
}

/// The offline task or the online loop, on a joined agent.
async fn run_mode(
    args: &RunArgs,
    agent: &Agent,
    room: &RoomSession,
    print: Printer,
) -> Result<RunOutcome, RunError> {
    agent.wait_for_video().await?;
    if args.online {
        online::serve(agent, room.link.client.subscribe()).await?;
        return Ok(RunOutcome::Done);
    }
    print(&format!("task: {}", args.task));
    let observer = live_observer(room);
    match agent
        .run_steered(&args.task, &TaskControl::new(), observer)
        .await?
    {
        TaskOutcome::Answered { answer, steps } => {
            agent
                .say(&format!(
                    "{} Task completed: {}",
                    crate::chat_prefix::AGENT,
                    args.task
                ))
                .await;
            print(&format!("answer after {steps} step(s): {answer}"));
            Ok(RunOutcome::Done)
        }
        TaskOutcome::StepLimit { steps } => {
            agent
                .say(&format!(
                    "{} Task incomplete after {steps} steps: {}",
                    crate::chat_prefix::AGENT,
                    args.task
                ))
                .await;
            Ok(RunOutcome::StepLimit { steps })
        }
        // Nothing cancels an offline task but a signal, which ends the run as one.
        TaskOutcome::Cancelled { steps } => {
            print(&format!("task cancelled after {steps} step(s)"));
            Ok(RunOutcome::Interrupted)
        }
    }
}

/// The agent's sessions in one room: the media session it sees and acts through, and the
/// voice's session when it narrates. [`RoomSession::close`] leaves the room.
pub struct RoomSession {
    link: Link,
    failures: Failures,
    voice: Option<Arc<Mutex<Voice>>>,
    live: Option<Arc<LiveBranch>>,
}

/// Serves `room`'s live view on `bind` (`--live`).
fn serve_live(room: &RoomSession, bind: SocketAddr) -> Result<LiveServer, RunError> {
    let branch = room.live().ok_or(NoLiveBranch)?;
    LiveServer::start(branch.clone(), bind).map_err(|source| RunError::LiveBind {
        address: bind,
        source,
    })
}

/// The observer that shows the agent's steps and takeovers on `room`'s live view (none without
/// one).
pub fn live_observer(room: &RoomSession) -> Observer {
    let Some(live) = room.live() else {
        return ignore_events();
    };
    let marks = live.marks().clone();
    Arc::new(move |event| show_on(&marks, &event))
}

/// Draws `event` on the live view's `marks`.
fn show_on(marks: &Marks, event: &AgentEvent) {
    match event {
        AgentEvent::Step { step, action, .. } => marks.step(*step, action.as_deref()),
        AgentEvent::Paused {
            reason: PauseReason::Takeover,
        } => marks.set_person_in_control(true),
        AgentEvent::Resumed {
            reason: PauseReason::Takeover,
        } => marks.set_person_in_control(false),
        AgentEvent::Paused { .. } | AgentEvent::Resumed { .. } => {}
    }
}

impl RoomSession {
    /// Starts the agent's pipeline (and the voice's, with `--voice`) against `connection`.
    pub fn open(args: &RunArgs, connection: &ConnectionArgs) -> Result<Self, RunError> {
        let session = connection.session()?;
        let variables = BTreeMap::from([
            ("decoder".to_owned(), args.decoder.clone()),
            ("audio".to_owned(), wants_audio(args).to_string()),
            ("live_width".to_owned(), args.live_width.to_string()),
            ("live_codec".to_owned(), args.live_codec.nick().to_owned()),
            ("live_bitrate".to_owned(), args.live_bitrate.to_string()),
        ]);
        let failures = Failures::default();
        let sink = failures.clone();
        let link = Link::media(
            &args.pipeline,
            &session,
            &variables,
            Arc::new(move |message| sink.report(message)),
        )?;
        // The live branch, when the pipeline file has one (shut until someone watches).
        let live = link.pipeline().and_then(|pipeline| {
            LiveBranch::attach(pipeline, Marks::new(), args.live_fps, args.live_max_viewers).ok()
        });
        // An error in the live view stops the view, not the agent.
        if let Some(live) = &live {
            let live = Arc::downgrade(live);
            link.offer_errors_to(Arc::new(move |source, text| {
                live.upgrade()
                    .is_some_and(|live| live.take_error(source, text))
            }));
        }
        let voice = if args.voice {
            match open_voice(args, &session, &failures) {
                Ok(voice) => Some(voice),
                Err(error) => {
                    link.close();
                    return Err(RunError::Voice(error));
                }
            }
        } else {
            None
        };
        Ok(Self {
            link,
            failures,
            voice,
            live,
        })
    }

    /// The live view's branch of the pipeline, when its file has one.
    pub fn live(&self) -> Option<&Arc<LiveBranch>> {
        self.live.as_ref()
    }

    /// The agent's Neko session.
    pub fn client(&self) -> &gstneko::client::NekoClient {
        &self.link.client
    }

    /// Joins the room and builds the agent: host control, frames, sight, and the recorder
    /// and narrator when asked for.
    pub async fn agent(
        &self,
        args: &RunArgs,
        config: AgentConfig,
        model: Backend,
        metrics: Arc<Metrics>,
        print: Printer,
        capture: Option<&AgentCapture>,
    ) -> Result<Agent, RunError> {
        let link = &self.link;
        let frames = FrameSource::attach(link.pipeline().ok_or(RunError::NoMedia)?)?;
        let controller = Controller::start(
            link.client.clone(),
            link.notices.resubscribe(),
            ControlOptions {
                auto_host: true,
                // Online, control is held only while a task runs.
                keep_host: !args.online,
                host_timeout: Duration::from_secs_f64(args.host_timeout.max(0.1)),
                default_screen: crate::input::Screen::new(args.room.size.0, args.room.size.1),
            },
            print.clone(),
        );
        self.failures.attach(&controller);
        metrics.readiness.watch(link.client.clone());
        controller
            .wait_connected(CONNECT_TIMEOUT)
            .await
            .map_err(RunError::NotConnected)?;
        let reconnects = metrics.clone();
        let mut reconnect_notices = link.client.subscribe();
        tokio::spawn(async move {
            while let Ok(notice) = reconnect_notices.recv().await {
                if let gstneko::client::ClientNotice::Connected {
                    reconnect: true, ..
                } = notice
                {
                    reconnects.reconnects.inc();
                }
            }
        });
        let sight = Sight::follow(&link.client, frames.clone(), sight_limits(args));
        let mut agent = Agent::new(
            config,
            model,
            controller,
            (frames.clone(), sight),
            metrics,
            print,
        );
        if let Some(capture) = capture {
            let source = frames.clone();
            let recorder = capture
                .attach(&link.client, move || {
                    source.latest().map(|frame| frame.sample().clone())
                })
                .map_err(RunError::CaptureAttach)?;
            agent = agent.with_capture(recorder);
        }
        if let Some(voice) = self.voice.clone() {
            agent = agent.with_narrator(Arc::new(move |text: &str| {
                let Ok(mut voice) = voice.lock() else {
                    tracing::warn!("could not narrate: the voice lock is poisoned");
                    return;
                };
                if let Err(error) = voice.say(text) {
                    tracing::warn!(%error, "could not narrate");
                }
            }));
        }
        Ok(agent)
    }

    /// Lets the narration finish, then leaves the room.
    pub async fn close(self) {
        if let Some(voice) = self.voice {
            finish_narration(voice).await;
        }
        self.link.close();
    }
}

/// The voice for `--voice`: its own session in the same room, through the voice pipeline.
fn open_voice(
    args: &RunArgs,
    session: &SessionSettings,
    failures: &Failures,
) -> Result<Arc<Mutex<Voice>>, VoiceOpenError> {
    let voice_variables = BTreeMap::from([(
        "frame_ms".to_owned(),
        args.voice_settings.frame_ms.to_string(),
    )]);
    let problems = args.voice_settings.problems();
    if !problems.is_empty() {
        return Err(VoiceOpenError::Settings(problems));
    }
    let sink = failures.clone();
    let (voice, mut events) = Voice::open(
        &args.voice_settings,
        session,
        &voice_variables,
        Arc::new(move |message| sink.report(format!("voice: {message}"))),
    )?;
    tokio::spawn(async move {
        while let Some(event) = events.recv().await {
            if let SpeakerEvent::Failed { text, error } = event {
                tracing::warn!(%error, %text, "could not narrate");
            }
        }
    });
    Ok(Arc::new(Mutex::new(voice)))
}

/// Lets the last words be heard (up to 30 s), then leaves the room with the voice.
async fn finish_narration(voice: Arc<Mutex<Voice>>) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while voice.lock().is_ok_and(|v| v.busy()) && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // A moment for the last frames to leave the pipeline.
    tokio::time::sleep(Duration::from_millis(300)).await;
    if let Ok(voice) = Arc::try_unwrap(voice)
        && let Ok(voice) = voice.into_inner()
    {
        voice.close();
    }
}

fn exit_for(error: &AgentError) -> u8 {
    if error.is_connection() {
        EXIT_CONNECTION
    } else if error.is_settings() {
        EXIT_USAGE
    } else {
        EXIT_FAILED
    }
}

/// `--capture`: the dataset opened (finishing what an earlier run left) before the room is
/// joined.
async fn open_capture(
    args: &RunArgs,
    print: &Printer,
) -> Result<Option<AgentCapture>, CaptureOpenError> {
    if !args.capture {
        return Ok(None);
    }
    let settings =
        CaptureSettings::from_options(&args.capture_options).map_err(CaptureOpenError::Settings)?;
    let (capture, lines) = AgentCapture::open(&settings, print.clone()).await?;
    for line in lines {
        print(&format!("capture: {line}"));
    }
    Ok(Some(capture))
}

/// Checks every setting at once; the list of problems otherwise.
pub fn agent_config(args: &RunArgs) -> Result<AgentConfig, Vec<String>> {
    let mut problems = Vec::new();
    let mode: Mode = match args.mode.parse() {
        Ok(mode) => mode,
        Err(error) => {
            problems.push(format!("--mode/NEKO_MODE: {error}"));
            Mode::Web
        }
    };
    if args.max_steps == 0 {
        problems.push("--max-steps/NEKO_MAX_STEPS must be at least 1".into());
    }
    if args.inference_timeout.is_nan() || args.inference_timeout <= 0.0 {
        problems.push(
            "--inference-timeout/NEKO_INFERENCE_TIMEOUT must be a positive number of seconds"
                .into(),
        );
    }
    if args.max_new_tokens == 0 {
        problems.push("--max-new-tokens/NEKO_MAX_NEW_TOKENS must be at least 1".into());
    }
    if args.size_longest_edge < 28 {
        problems.push("SIZE_LONGEST_EDGE must be at least 28 pixels".into());
    }
    for (value, name) in [
        (args.frame_timeout, "--frame-timeout/NEKO_FRAME_TIMEOUT"),
        (
            args.reconnect_timeout,
            "--reconnect-timeout/NEKO_RECONNECT_TIMEOUT",
        ),
    ] {
        if !(value > 0.0 && value <= MAX_WAIT_S) {
            problems.push(format!(
                "{name} must be a positive number of seconds (at most {MAX_WAIT_S:.0})"
            ));
        }
    }
    if args.settle_timeout.is_nan() || args.settle_timeout < 0.0 {
        problems.push("--settle-timeout/NEKO_SETTLE_TIMEOUT must be zero or more seconds".into());
    }
    if !args.online && args.task.trim().is_empty() {
        problems.push("--task/NEKO_TASK is empty (or use --online to take tasks from chat)".into());
    }
    if let Err(error) = args.connection.session()
        && args.connection.is_configured()
    {
        problems.extend(error.0);
    }
    if !(1..=MAX_ROOMS).contains(&args.sandbox_rooms) {
        problems.push(format!(
            "--sandbox-rooms/NEKO_SANDBOX_ROOMS must be from 1 to {MAX_ROOMS}"
        ));
    }
    if !args.also_rooms.is_empty() && !args.connection.is_configured() {
        problems.push(
            "--also-room/NEKO_ALSO_ROOMS needs NEKO_URL (the rooms share its credentials); for sandbox rooms use --sandbox-rooms"
                .into(),
        );
    }
    if args.also_rooms.len() + 1 > MAX_ROOMS {
        problems.push(format!("at most {MAX_ROOMS} rooms at once (--also-room)"));
    }
    if args.live.is_some() && (args.sandbox_rooms > 1 || !args.also_rooms.is_empty()) {
        problems.push(
            "--live serves one room's view: drop --also-room/--sandbox-rooms, or run one agent per room to watch".into(),
        );
    }
    if args.live.is_some() && !(16..=7680).contains(&args.live_width) {
        problems.push("--live-width/NEKO_LIVE_WIDTH must be from 16 to 7680 pixels".into());
    }
    if args.live.is_some() && !(1..=60).contains(&args.live_fps) {
        problems.push("--live-fps/NEKO_LIVE_FPS must be from 1 to 60".into());
    }
    if args.live.is_some() && !(100_000..=50_000_000).contains(&args.live_bitrate) {
        problems.push(
            "--live-bitrate/NEKO_LIVE_BITRATE must be from 100000 to 50000000 bits per second"
                .into(),
        );
    }
    if args.capture && (args.sandbox_rooms > 1 || !args.also_rooms.is_empty()) {
        problems.push(
            "--capture records one room: drop --also-room/--sandbox-rooms, or run one agent per room to record".into(),
        );
    }
    if args.capture
        && let Err(capture_problems) = CaptureSettings::from_options(&args.capture_options)
    {
        problems.extend(capture_problems.iter().map(ToString::to_string));
    }
    let remote = match args.remote.settings() {
        Ok(remote) => remote,
        Err(remote_problems) => {
            problems.extend(remote_problems);
            None
        }
    };
    if args.size_shortest_edge.is_some() {
        tracing::info!(
            "SIZE_SHORTEST_EDGE is ignored (the Python agent never applied it); the model's pixel budget is --min-pixels/--max-pixels"
        );
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let mut inference_timeout = Duration::from_secs_f64(args.inference_timeout);
    let mut longest_edge = args.size_longest_edge;
    if let Some(remote) = &remote {
        // A remote call is bounded by its own timeout and retries, so it is never cut short
        // of its clear error; and the frame is converted once, at the size it is sent.
        inference_timeout = inference_timeout.max(remote.worst_case());
        longest_edge = longest_edge.min(remote.image_edge);
    }
    Ok(AgentConfig {
        prompt: NavPrompt::new(mode),
        max_steps: args.max_steps,
        refinement_steps: args.refinement_steps,
        skip_initial_frames: args.skip_initial_frames,
        inference_timeout,
        max_new_tokens: args.max_new_tokens,
        longest_edge,
        frame_save_path: args.frame_save_path.as_deref().map(debug_path),
        click_save_dir: args.click_save_path.as_deref().map(debug_path),
        settle: SettleOptions {
            timeout: Duration::from_secs_f64(args.settle_timeout),
            ..SettleOptions::default()
        },
    })
}

/// How long the agent waits for fresh frames and for a lost connection (checked by
/// [`agent_config`]).
fn sight_limits(args: &RunArgs) -> SightLimits {
    SightLimits {
        frame_timeout: Duration::from_secs_f64(args.frame_timeout),
        reconnect_timeout: Duration::from_secs_f64(args.reconnect_timeout),
    }
}

/// NEKO_AUDIO as the Python agent reads it (anything but 0/false/off/no/empty is on), unless
/// --no-audio.
fn wants_audio(args: &RunArgs) -> bool {
    if args.no_audio {
        return false;
    }
    std::env::var("NEKO_AUDIO").map_or(true, |value| {
        !matches!(
            value.trim().to_ascii_lowercase().as_str(),
            "0" | "false" | "off" | "no" | ""
        )
    })
}

/// The model options, with the fixture model for the embedded room when no model is set up,
/// and relative model paths also looked up beside the executable's project.
pub fn model_options(options: &ModelOptions, embedded: bool) -> ModelOptions {
    let mut options = options.clone();
    let unconfigured = std::env::var_os("NEKO_MODEL_DIR").is_none()
        && options.model_dir == Path::new(DEFAULT_MODEL_DIR);
    if embedded && unconfigured && !project_path(&options.model_dir).exists() {
        options.model_dir = PathBuf::from(FIXTURE_MODEL);
    }
    options.model_dir = project_path(&options.model_dir);
    options
}

/// `path` itself when it exists or is absolute; else the same relative path in the first
/// parent of the executable that has it (so `target/release/neko-agent` finds `models/…`).
fn project_path(path: &Path) -> PathBuf {
    if path.is_absolute() || path.exists() {
        return path.to_owned();
    }
    std::env::current_exe()
        .ok()
        .and_then(|exe| {
            exe.ancestors()
                .skip(1)
                .map(|dir| dir.join(path))
                .find(|candidate| candidate.exists())
        })
        .unwrap_or_else(|| path.to_owned())
}

/// The local engine, or the remote endpoint's client when `NEKO_AGENT_TYPE` names one (its
/// settings were checked by [`agent_config`]). The local engine's batching scheduler reports to
/// `metrics`.
pub async fn open_backend(
    args: &RunArgs,
    model: &ModelOptions,
    metrics: BatchMetrics,
) -> Result<Backend, BackendError> {
    let Some(settings) = args
        .remote
        .settings()
        .map_err(BackendError::RemoteSettings)?
    else {
        let engine = load_model(model).await?;
        let batcher = Batcher::start(engine, model.batching.clone(), metrics);
        return Ok(Backend::Local(batcher.shared()));
    };
    let trust = match args
        .connection
        .ca_file
        .as_deref()
        .filter(|p| !p.as_os_str().is_empty())
    {
        Some(path) => Trust::with_ca_file(path).map_err(BackendError::CaFile)?,
        None => Trust::system(),
    };
    Ok(Backend::Remote(Arc::new(RemoteVlm::new(settings, &trust)?)))
}

async fn load_model(options: &ModelOptions) -> Result<Arc<ShowUi>, BackendError> {
    let options = options.clone();
    let model = tokio::task::spawn_blocking(move || ShowUi::load(&options))
        .await
        .map_err(BackendError::Loader)??;
    Ok(Arc::new(model))
}

/// `--metrics-port`, else a parsable `$PORT`, else `$NEKO_METRICS_PORT`, else 9000; None when
/// metrics are off.
fn metrics_address(args: &RunArgs) -> Option<SocketAddr> {
    if args.no_metrics {
        return None;
    }
    let from_env = |name: &str| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.trim().parse::<u16>().ok())
    };
    let port = args
        .metrics_port
        .or_else(|| from_env("PORT"))
        .or_else(|| from_env("NEKO_METRICS_PORT"))
        .unwrap_or(9000);
    Some(SocketAddr::from((Ipv4Addr::UNSPECIFIED, port)))
}

/// `--healthcheck`: settings, the backend (model files and ONNX Runtime, or the remote
/// endpoint's settings and CA file), and the server's login.
async fn healthcheck(
    args: &RunArgs,
    model: &ModelOptions,
    print: &Printer,
) -> Result<RunOutcome, RunError> {
    let mut problems = Vec::new();
    if let Err(error) = open_backend(args, model, BatchMetrics::default()).await {
        problems.push(error.to_string());
    }
    if args.connection.is_configured() {
        match args.connection.session() {
            Ok(session) => {
                if let Err(error) = crate::session::check_login(&session).await {
                    problems.push(error.to_string());
                }
            }
            Err(error) => problems.extend(error.0),
        }
    }
    if !problems.is_empty() {
        return Err(RunError::Unhealthy(problems));
    }
    print("ok");
    Ok(RunOutcome::Done)
}
