//! One task, step by step: look at a fresh frame, ask the model (refining clicks on crops),
//! perform the action through the session, wait for the screen to settle, until ANSWER or the
//! step limit.
//!
//! A step only counts when it acted on a fresh frame (see [`super::sight`]); an action planned
//! in a connection that dropped before it was sent is dropped and the step is taken again once
//! the connection is back, so an outage costs no steps.
//!
//! A person comes first: when the room reports that another session took host control, the
//! agent stops at once (nothing planned before is sent after the report), drops the step in
//! progress, pauses and never asks for control until the room releases it or gives it back;
//! then it goes on from a frame that arrived after the resume. A [`TaskControl`] pauses,
//! resumes or cancels a task from outside.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use gstneko::client::ClientNotice;
use gstneko::protocol::{ChatContent, ClientEvent, ServerEvent};
use tokio::sync::{broadcast, watch};

use super::action::{ActionKind, ModelAction, Position};
use super::annotate::draw_action;
use super::backend::{Backend, Cost, Reply};
use super::execute::to_input;
use super::frames::FrameSource;
use super::history::{History, action_json};
use super::metrics::Metrics;
use super::parse::parse_action;
use super::prompt::NavPrompt;
use super::refine::{FrameSize, Refinement};
use super::settle::{SettleOptions, wait_until_settled};
use super::sight::{BlindError, Sight, View};
use super::steer::{AgentEvent, Observer, PauseReason, Steering, TaskControl, ignore_events};
use crate::capture::TaskRecorder;
use crate::chat_prefix::AGENT_THINKING as THINKING_PREFIX;
use crate::frame::{FrameError, RgbImage, write_png};
use crate::model::ModelError;
use crate::remote::RemoteError;
use crate::session::{ControlError, Controller, Printer};

/// How long to wait for the first video frame of a session.
const FIRST_FRAME_TIMEOUT: Duration = Duration::from_secs(30);

/// How long each skipped initial frame may take to arrive.
const SKIP_FRAME_TIMEOUT: Duration = Duration::from_secs(2);

/// How the agent works, checked at start.
#[derive(Debug, Clone)]
pub struct AgentConfig {
    /// The prompt (action space and wording).
    pub prompt: NavPrompt,
    /// Steps per task.
    pub max_steps: u32,
    /// Model calls per step (click refinement).
    pub refinement_steps: u32,
    /// Frames discarded before the first step.
    pub skip_initial_frames: u32,
    /// Longest time one model call may take.
    pub inference_timeout: Duration,
    /// Most tokens one model call may generate.
    pub max_new_tokens: usize,
    /// Frames are scaled down to this longest edge before the model sees them.
    pub longest_edge: u32,
    /// Where to save each step's frame (PNG).
    pub frame_save_path: Option<PathBuf>,
    /// Where to save annotated action pictures.
    pub click_save_dir: Option<PathBuf>,
    /// How to wait for the screen after an action.
    pub settle: SettleOptions,
}

/// Failures that end a task.
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    /// The model failed to run (not a bad answer: that only costs the step).
    #[error("the model failed: {0}")]
    Model(#[from] ModelError),
    /// The model's batching thread is gone.
    #[error(transparent)]
    Scheduler(#[from] crate::model::SchedulerGone),
    /// The remote model could not be asked (after its retries).
    #[error("the remote model failed: {0}")]
    Remote(#[from] RemoteError),
    /// No video.
    #[error(transparent)]
    Frames(#[from] FrameError),
    /// The connection to the room is gone, or dropped while input was being sent.
    #[error(transparent)]
    Session(ControlError),
    /// The session ended for good (login refused, reconnection gave up).
    #[error(transparent)]
    SessionEnded(gstneko::client::ClientError),
    /// The session's notices stopped: the client is gone.
    #[error("the session ended")]
    SessionGone,
    /// The session refused the input (host control not granted in time).
    #[error(transparent)]
    Control(ControlError),
    /// The model ran on a worker thread that died.
    #[error("the model worker stopped unexpectedly: {0}")]
    Worker(#[source] tokio::task::JoinError),
    /// The agent cannot see the room: the connection is lost or the video stopped.
    #[error(transparent)]
    Blind(#[from] BlindError),
}

impl AgentError {
    /// Whether the connection to the room is gone (rather than the model or the frames).
    pub fn is_connection(&self) -> bool {
        matches!(
            self,
            Self::Session(_) | Self::SessionEnded(_) | Self::SessionGone | Self::Blind(_)
        )
    }

    /// Whether the settings are at fault (the remote model refused the key or the request).
    pub fn is_settings(&self) -> bool {
        matches!(self, Self::Remote(error) if error.is_settings())
    }
}

/// How a task ended.
#[derive(Debug, Clone, PartialEq)]
pub enum TaskOutcome {
    /// The model answered (ANSWER), after this many steps.
    Answered {
        /// The answer text.
        answer: String,
        /// Steps taken.
        steps: u32,
    },
    /// The step limit was reached without an answer.
    StepLimit {
        /// Steps taken.
        steps: u32,
    },
    /// Cancelled through its [`TaskControl`].
    Cancelled {
        /// Steps taken before.
        steps: u32,
    },
}

/// The agent: a model, a session to act through, and the frames it sees.
pub struct Agent {
    config: AgentConfig,
    backend: Backend,
    controller: Controller,
    frames: FrameSource,
    sight: Sight,
    metrics: Arc<Metrics>,
    print: Printer,
    narrator: Option<Narrator>,
    capture: Option<TaskRecorder>,
}

/// Speaks a line aloud (`run --voice`).
pub type Narrator = Arc<dyn Fn(&str) + Send + Sync>;

/// What became of a decided action.
enum Performed {
    /// Its input was sent; frames up to this number arrived before.
    Sent(u64),
    /// It could not be performed (that costs the step too).
    Unperformable,
    /// ANSWER, posted in chat.
    Answered(String),
    /// The connection it was planned in dropped, host control was taken or the task was
    /// cancelled first; nothing more was sent.
    Dropped,
}

/// What one model call (with refinement) produced.
struct Decision {
    action: Option<ModelAction>,
    calls: Vec<Reply>,
}

/// What one try at a step came to.
enum Attempt {
    /// The model gave no usable action.
    NoAction {
        model_calls: usize,
        model_time: Duration,
    },
    /// An action was decided and performed (or dropped).
    Acted {
        action: ModelAction,
        performed: Performed,
        model_calls: usize,
        model_time: Duration,
    },
}

/// What must still hold for a step's output to be sent: the connection it was planned in is
/// up, no other session took host control since it began, and the task is not cancelled.
struct Gate<'a> {
    connection: u64,
    /// The host when the step began.
    host: Option<String>,
    control: &'a TaskControl,
}

/// What the step boundary decided.
enum Hold {
    /// Go on.
    Go,
    /// Go on after a pause: look at a frame newer than the pause.
    Resumed,
    /// Stop: the task was cancelled.
    Cancelled,
}

/// The room's host changes as a running task follows them: who took control from the agent.
struct HostWatch {
    notices: broadcast::Receiver<ClientNotice>,
    /// The session that took host control, until control is released or given back.
    taken_by: Option<String>,
}

impl HostWatch {
    fn new(notices: broadcast::Receiver<ClientNotice>) -> Self {
        Self {
            notices,
            taken_by: None,
        }
    }

    /// Takes in the notices that already arrived.
    fn catch_up(&mut self, controller: &Controller) -> Result<(), AgentError> {
        loop {
            match self.notices.try_recv() {
                Ok(notice) => self.learn(&notice, controller)?,
                Err(broadcast::error::TryRecvError::Empty) => return Ok(()),
                Err(broadcast::error::TryRecvError::Lagged(_)) => self.resync(controller),
                Err(broadcast::error::TryRecvError::Closed) => {
                    return Err(AgentError::SessionGone);
                }
            }
        }
    }

    /// Waits for the next notice and takes it in.
    async fn next(&mut self, controller: &Controller) -> Result<(), AgentError> {
        match self.notices.recv().await {
            Ok(notice) => self.learn(&notice, controller),
            Err(broadcast::error::RecvError::Lagged(_)) => {
                self.resync(controller);
                Ok(())
            }
            Err(broadcast::error::RecvError::Closed) => Err(AgentError::SessionGone),
        }
    }

    /// Waits until another session takes host control.
    async fn takeover(&mut self, controller: &Controller) {
        while self.taken_by.is_none() {
            if self.next(controller).await.is_err() {
                // The session is over: the step finds out by itself.
                std::future::pending::<()>().await;
            }
        }
    }

    fn learn(&mut self, notice: &ClientNotice, controller: &Controller) -> Result<(), AgentError> {
        match notice {
            ClientNotice::Event(event) => {
                if let ServerEvent::ControlHost(host) = event.as_ref() {
                    let own = controller.session_id();
                    self.taken_by = host
                        .host_id
                        .clone()
                        .filter(|id| host.has_host && Some(id) != own.as_ref());
                }
                Ok(())
            }
            ClientNotice::Fatal(error) => Err(AgentError::SessionEnded(error.clone())),
            _ => Ok(()),
        }
    }

    /// Notices were missed: what the room state says now stands for them.
    fn resync(&mut self, controller: &Controller) {
        self.taken_by = controller
            .someone_else_hosts()
            .then(|| controller.host_id())
            .flatten();
    }
}

/// Keeps the controller stepping aside for a person while a task runs.
struct SteppingAside<'a>(&'a Controller);

impl<'a> SteppingAside<'a> {
    fn new(controller: &'a Controller) -> Self {
        controller.step_aside(true);
        Self(controller)
    }
}

impl Drop for SteppingAside<'_> {
    fn drop(&mut self) {
        self.0.step_aside(false);
    }
}

impl Agent {
    /// An agent over a running session, asking `backend`, seeing through `sight` (which
    /// follows `frames`).
    pub fn new(
        config: AgentConfig,
        backend: Backend,
        controller: Controller,
        (frames, sight): (FrameSource, Sight),
        metrics: Arc<Metrics>,
        print: Printer,
    ) -> Self {
        Self {
            config,
            backend,
            controller,
            frames,
            sight,
            metrics,
            print,
            narrator: None,
            capture: None,
        }
    }

    /// Narrates every action and the answer through `narrator`.
    pub fn with_narrator(mut self, narrator: Narrator) -> Self {
        self.narrator = Some(narrator);
        self
    }

    /// Records every task as a training episode (`run --capture`).
    pub fn with_capture(mut self, capture: TaskRecorder) -> Self {
        self.capture = Some(capture);
        self
    }

    /// The session the agent acts through.
    pub fn controller(&self) -> &Controller {
        &self.controller
    }

    /// The frames the agent sees (the newest is what a screenshot shows).
    pub fn frames(&self) -> &FrameSource {
        &self.frames
    }

    /// Waits for the first video frame, then lets `skip_initial_frames` more go by.
    pub async fn wait_for_video(&self) -> Result<(), AgentError> {
        let first = self.sight.first_frame(FIRST_FRAME_TIMEOUT).await?;
        let mut number = first.frame.number;
        for _ in 0..self.config.skip_initial_frames {
            match self.frames.newer_than(number, SKIP_FRAME_TIMEOUT).await {
                Ok(frame) => number = frame.number,
                // A still screen sends few frames; the newest one is as good.
                Err(FrameError::Timeout(_)) => break,
                Err(other) => return Err(other.into()),
            }
        }
        Ok(())
    }

    /// Prints a line for the person running the agent (not in chat).
    pub fn print(&self, text: &str) {
        (self.print)(text);
    }

    /// Sends a chat message from the agent's session (best effort: logged when it fails).
    pub async fn say(&self, text: &str) {
        let event = ClientEvent::ChatMessage(ChatContent::new(text));
        if let Err(error) = self.controller.client().send(event).await {
            tracing::warn!(%error, "could not post to chat");
        }
    }

    /// Runs one task until ANSWER or the step limit.
    pub async fn run_task(&self, task: &str) -> Result<TaskOutcome, AgentError> {
        self.run_steered(task, &TaskControl::new(), ignore_events())
            .await
    }

    /// Runs one task until ANSWER, the step limit or a cancel through `control`, pausing while
    /// `control` says so or while another session holds host control after taking it;
    /// reports its steps and pauses to `observer`.
    pub async fn run_steered(
        &self,
        task: &str,
        control: &TaskControl,
        observer: Observer,
    ) -> Result<TaskOutcome, AgentError> {
        let _episode = self.capture.as_ref().map(|capture| capture.start(task));
        let _aside = SteppingAside::new(&self.controller);
        let mut steering = control.subscribe();
        let mut hosts = HostWatch::new(self.controller.client().subscribe());
        let mut history = History::new();
        // Frames up to this number were shown before the last action was sent.
        let mut seen_before_action = 0;
        let mut step = 1;
        while step <= self.config.max_steps {
            self.controller.check_alive().map_err(session_error)?;
            match self
                .hold(control, &observer, &mut steering, &mut hosts)
                .await?
            {
                Hold::Cancelled => return Ok(TaskOutcome::Cancelled { steps: step - 1 }),
                Hold::Resumed => seen_before_action = self.frames.received(),
                Hold::Go => {}
            }
            let host = self.controller.host_id();
            let attempt = tokio::select! {
                attempt = self.attempt(task, &history, step, seen_before_action, host, control) => Some(attempt?),
                () = interruption(&mut steering, &mut hosts, &self.controller) => None,
            };
            let Some(attempt) = attempt else {
                if hosts.taken_by.is_some() {
                    (self.print)(&format!(
                        "step {step}: host control was taken; the step in progress is dropped"
                    ));
                }
                seen_before_action = self.frames.received();
                continue;
            };
            let (action, performed, model_calls, model_time) = match attempt {
                Attempt::NoAction {
                    model_calls,
                    model_time,
                } => {
                    observer(AgentEvent::Step {
                        step,
                        action: None,
                        model_calls,
                        model_ms: model_time.as_secs_f64() * 1000.0,
                    });
                    step += 1;
                    continue;
                }
                Attempt::Acted {
                    action,
                    performed,
                    model_calls,
                    model_time,
                } => (action, performed, model_calls, model_time),
            };
            let report = AgentEvent::Step {
                step,
                action: Some(action_json(&action)),
                model_calls,
                model_ms: model_time.as_secs_f64() * 1000.0,
            };
            let since = match performed {
                Performed::Answered(answer) => {
                    observer(report);
                    return Ok(TaskOutcome::Answered {
                        answer,
                        steps: step,
                    });
                }
                Performed::Dropped => {
                    self.explain_drop(step, control, &mut hosts);
                    seen_before_action = self.frames.received();
                    continue;
                }
                Performed::Sent(since) => Some(since),
                Performed::Unperformable => None,
            };
            observer(report);
            if let Some(since) = since {
                // The input went out, so the step counts even if a takeover comes meanwhile.
                tokio::select! {
                    settled = wait_until_settled(&self.frames, since, self.config.settle) => {
                        tracing::debug!(step, settled = ?settled?, "screen settled");
                    }
                    () = interruption(&mut steering, &mut hosts, &self.controller) => {}
                }
            }
            seen_before_action = self.frames.received();
            history.push(action);
            step += 1;
        }
        Ok(TaskOutcome::StepLimit {
            steps: self.config.max_steps,
        })
    }

    /// Says why a decided action was not sent, and notes a takeover the room state shows before
    /// its notice is read.
    fn explain_drop(&self, step: u32, control: &TaskControl, hosts: &mut HostWatch) {
        if control.state() == Steering::Cancelled {
            return;
        }
        if self.controller.someone_else_hosts() {
            hosts.taken_by = self.controller.host_id();
            (self.print)(&format!(
                "step {step}: host control was taken before the action was sent; the step in progress is dropped"
            ));
            return;
        }
        tracing::warn!(step, "the connection dropped before the action was sent");
        (self.print)(&format!(
            "step {step}: the connection dropped before the action was sent; it is dropped and the step is taken again on a fresh frame"
        ));
    }

    /// The step boundary: waits while the task is paused (asked to, or because another session
    /// took host control), reporting the pause and the resume.
    async fn hold(
        &self,
        control: &TaskControl,
        observer: &Observer,
        steering: &mut watch::Receiver<Steering>,
        hosts: &mut HostWatch,
    ) -> Result<Hold, AgentError> {
        let mut paused: Option<PauseReason> = None;
        loop {
            hosts.catch_up(&self.controller)?;
            steering.borrow_and_update();
            match control.state() {
                Steering::Cancelled => return Ok(Hold::Cancelled),
                Steering::Running => {
                    if hosts.taken_by.is_some() {
                        if paused != Some(PauseReason::Takeover) {
                            control.pause_for_takeover();
                            continue;
                        }
                        // Resumed by hand while the person still hosts: ask for control.
                        hosts.taken_by = None;
                        match self.controller.host().await {
                            Ok(said) => (self.print)(&said),
                            Err(error) => return Err(session_error(error)),
                        }
                    }
                    let Some(reason) = paused else {
                        return Ok(Hold::Go);
                    };
                    tracing::info!(reason = reason.name(), "task resumed");
                    (self.print)(&format!("task resumed ({})", reason.name()));
                    observer(AgentEvent::Resumed { reason });
                    return Ok(Hold::Resumed);
                }
                Steering::Paused(reason) => {
                    if paused != Some(reason) {
                        paused = Some(reason);
                        let why = match (&hosts.taken_by, reason) {
                            (Some(host), PauseReason::Takeover) => format!(
                                "session {host} took host control; the agent waits until it is released or given back"
                            ),
                            _ => "waiting for resume".to_owned(),
                        };
                        tracing::info!(reason = reason.name(), "task paused");
                        (self.print)(&format!("task paused ({}): {why}", reason.name()));
                        observer(AgentEvent::Paused { reason });
                    }
                    if reason == PauseReason::Takeover && hosts.taken_by.is_none() {
                        control.end_takeover();
                        continue;
                    }
                    tokio::select! {
                        _ = steering.changed() => {}
                        next = hosts.next(&self.controller) => next?,
                    }
                }
            }
        }
    }

    /// One try at a step: a fresh frame, the model's decision, the action sent through `gate`.
    async fn attempt(
        &self,
        task: &str,
        history: &History,
        step: u32,
        seen_before_action: u64,
        host: Option<String>,
        control: &TaskControl,
    ) -> Result<Attempt, AgentError> {
        let view = self.sight.fresh_frame(seen_before_action).await?;
        let gate = Gate {
            connection: view.connection,
            host,
            control,
        };
        self.metrics.steps.inc();
        let (decision, model_time) = self.step(task, history, step, view, &gate).await?;
        let model_calls = decision.calls.len();
        let Some(action) = decision.action else {
            return Ok(Attempt::NoAction {
                model_calls,
                model_time,
            });
        };
        let performed = self.perform(&action, step, &gate).await?;
        Ok(Attempt::Acted {
            action,
            performed,
            model_calls,
            model_time,
        })
    }

    /// Looks at a fresh frame and decides; the decision's action is None when the step produced
    /// no usable action.
    async fn step(
        &self,
        task: &str,
        history: &History,
        step: u32,
        view: View,
        gate: &Gate<'_>,
    ) -> Result<(Decision, Duration), AgentError> {
        let frame = view.frame;
        self.metrics.frames.inc();
        let started = Instant::now();
        let longest_edge = self.config.longest_edge;
        let image = tokio::task::spawn_blocking(move || frame.to_rgb(longest_edge))
            .await
            .map_err(AgentError::Worker)??;
        Metrics::observe(&self.metrics.resize, started.elapsed());
        if let Some(path) = &self.config.frame_save_path
            && let Err(error) = write_png(&image, path)
        {
            tracing::warn!(%error, "FRAME_SAVE_PATH");
        }
        let image = Arc::new(image);
        let decision = self
            .decide(task, history, step, image.clone(), gate)
            .await?;
        let model_time: Duration = decision.calls.iter().map(Reply::total).sum();
        let Some(action) = &decision.action else {
            (self.print)(&format!(
                "step {step}/{}: no usable action ({} model call(s), {:.0} ms)",
                self.config.max_steps,
                decision.calls.len(),
                model_time.as_secs_f64() * 1000.0
            ));
            return Ok((decision, model_time));
        };
        (self.print)(&format!(
            "step {step}/{}: {} | {} call(s) {:.0} ms ({})",
            self.config.max_steps,
            action_json(action),
            decision.calls.len(),
            model_time.as_secs_f64() * 1000.0,
            decision.calls[0].breakdown(),
        ));
        tracing::info!(
            task,
            step,
            action = %action_json(action),
            model_calls = decision.calls.len(),
            latency_ms = model_time.as_secs_f64() * 1000.0,
            "step decided"
        );
        if let Some(dir) = &self.config.click_save_dir {
            let picture = draw_action(&image, &points(action), &label(step, action));
            let path = dir.join(format!("step_{step:03}_{}_final.png", action.kind.name()));
            if let Err(error) = write_png(&picture, &path) {
                tracing::warn!(%error, "CLICK_SAVE_PATH");
            }
        }
        Ok((decision, model_time))
    }

    /// Asks the model about the whole frame, then about crops around its click point.
    async fn decide(
        &self,
        task: &str,
        history: &History,
        step: u32,
        image: Arc<RgbImage>,
        gate: &Gate<'_>,
    ) -> Result<Decision, AgentError> {
        let messages = Arc::new(self.config.prompt.messages(task, history));
        let frame_size = FrameSize::new(image.width, image.height);
        let mut refinement = Refinement::new(frame_size, self.config.refinement_steps);
        let mut calls = Vec::new();
        loop {
            let crop = refinement.crop();
            let pass = refinement.pass();
            let view = if pass == 0 {
                image.clone()
            } else {
                Arc::new(image.crop(crop.left, crop.top, crop.width(), crop.height()))
            };
            if pass > 0
                && let Some(dir) = &self.config.click_save_dir
                && let Err(error) = write_png(
                    &view,
                    &dir.join(format!("step_{step:03}_refine_{pass}.png")),
                )
            {
                tracing::warn!(%error, "CLICK_SAVE_PATH");
            }
            let Some(reply) = self.infer(view, messages.clone()).await? else {
                break;
            };
            if let Some(reasoning) = &reply.reasoning {
                tracing::info!(step, pass, %reasoning, "model reasoning");
                self.post(&format!("{THINKING_PREFIX} {reasoning}"), gate)
                    .await;
            }
            let text = reply.text.clone();
            calls.push(reply);
            match parse_action(&text, self.config.prompt.mode) {
                Ok(action) => {
                    if !refinement.accept(action) {
                        break;
                    }
                }
                Err(error) => {
                    self.metrics.parse_errors.inc();
                    tracing::warn!(step, pass, %error, "model output rejected");
                    (self.print)(&format!("step {step}: model output rejected: {error}"));
                    break;
                }
            }
        }
        Ok(Decision {
            action: refinement.finish(),
            calls,
        })
    }

    /// One model call, bounded by the inference timeout; None on timeout.
    async fn infer(
        &self,
        image: Arc<RgbImage>,
        messages: Arc<Vec<crate::model::Message>>,
    ) -> Result<Option<Reply>, AgentError> {
        let work = self
            .backend
            .reply(image, messages, self.config.max_new_tokens);
        let reply = match tokio::time::timeout(self.config.inference_timeout, work).await {
            Ok(reply) => reply?,
            Err(_) => {
                self.metrics.parse_errors.inc();
                tracing::warn!(
                    timeout_s = self.config.inference_timeout.as_secs_f64(),
                    "model call timed out; the step is lost"
                );
                return Ok(None);
            }
        };
        Metrics::observe(&self.metrics.inference, reply.total());
        if let Cost::Local { timings, .. } = &reply.cost {
            Metrics::observe(&self.metrics.preprocess, timings.preprocess);
            Metrics::observe(&self.metrics.vision, timings.vision);
            Metrics::observe(&self.metrics.prefill, timings.prefill);
            if timings.decode_steps > 0 {
                Metrics::observe(&self.metrics.decode_step, timings.decode_step_mean());
            }
        }
        tracing::debug!(output = %reply.text, "model output");
        Ok(Some(reply))
    }

    /// Announces the action in chat and performs it — unless `gate` closed first (the
    /// connection it was planned in dropped, another session took host control, or the task
    /// was cancelled).
    async fn perform(
        &self,
        action: &ModelAction,
        step: u32,
        gate: &Gate<'_>,
    ) -> Result<Performed, AgentError> {
        let execution = match to_input(action) {
            Ok(execution) => execution,
            Err(error) => {
                self.metrics.parse_errors.inc();
                tracing::warn!(step, %error, "action cannot be performed");
                (self.print)(&format!("step {step}: {error}"));
                return Ok(Performed::Unperformable);
            }
        };
        let json = action_json(action);
        if !self.post(&format!("Action: {json}"), gate).await {
            return Ok(Performed::Dropped);
        }
        if let Some(capture) = &self.capture {
            capture.action(&json);
        }
        if let Some(narrator) = &self.narrator {
            narrator(&spoken(action, step));
        }
        if let Some(answer) = execution.answer {
            if !self.post(&format!("Answer: {answer}"), gate).await {
                return Ok(Performed::Dropped);
            }
            self.metrics.action(action.kind.name());
            return Ok(Performed::Answered(answer));
        }
        let since = self.frames.received();
        let still_valid = || self.is_open(gate);
        match self
            .controller
            .perform_while(&execution.input, &still_valid)
            .await
        {
            Ok(()) => {}
            Err(ControlError::Outage) => return Ok(Performed::Dropped),
            Err(error) => return Err(session_error(error)),
        }
        self.metrics.action(action.kind.name());
        Ok(Performed::Sent(since))
    }

    /// Whether a step may still send: see [`Gate`]. Reads the client's room state, which
    /// changes before the room's report is passed on, so nothing goes out after it.
    fn is_open(&self, gate: &Gate<'_>) -> bool {
        if !self.sight.is_current(gate.connection) || gate.control.state() == Steering::Cancelled {
            return false;
        }
        !(self.controller.someone_else_hosts() && self.controller.host_id() != gate.host)
    }

    /// Posts `text` in chat while `gate` is open; false when it is not (or sending failed), so
    /// nothing planned before a drop or a takeover is said after it.
    async fn post(&self, text: &str, gate: &Gate<'_>) -> bool {
        if !self.is_open(gate) {
            return false;
        }
        let event = ClientEvent::ChatMessage(ChatContent::new(text));
        match self.controller.client().send(event).await {
            Ok(()) => true,
            Err(error) => {
                tracing::warn!(%error, "could not post to chat");
                false
            }
        }
    }
}

/// Returns when the step in progress must stop at once: the task was cancelled or another
/// session took host control (a requested pause waits for the step boundary).
async fn interruption(
    steering: &mut watch::Receiver<Steering>,
    hosts: &mut HostWatch,
    controller: &Controller,
) {
    loop {
        if *steering.borrow_and_update() == Steering::Cancelled || hosts.taken_by.is_some() {
            return;
        }
        tokio::select! {
            changed = steering.changed() => {
                if changed.is_err() {
                    // The control is gone: only a takeover can interrupt now.
                    hosts.takeover(controller).await;
                    return;
                }
            }
            () = hosts.takeover(controller) => return,
        }
    }
}

/// Whole-frame points of an action, for the annotated picture.
fn points(action: &ModelAction) -> Vec<(f64, f64)> {
    match action.position {
        Some(Position::Point(p)) => vec![(p.x, p.y)],
        Some(Position::Range(a, b)) => vec![(a.x, a.y), (b.x, b.y)],
        None => Vec::new(),
    }
}

/// `"{step}. {ACTION}: {value[:20]}"`, as the Python agent labels its pictures.
fn label(step: u32, action: &ModelAction) -> String {
    let value: String = action
        .value
        .as_deref()
        .unwrap_or("")
        .chars()
        .take(20)
        .collect();
    format!("{step}. {}: {value}", action.kind.name())
}

fn session_error(error: ControlError) -> AgentError {
    match error {
        ControlError::Refused(_) => AgentError::Control(error),
        ControlError::Connection(_) | ControlError::Outage => AgentError::Session(error),
    }
}

/// What the narrator says for an action: the step, the action and its text.
fn spoken(action: &ModelAction, step: u32) -> String {
    let verb = action.kind.name().to_lowercase().replace('_', " ");
    match (action.kind, action.value.as_deref()) {
        (ActionKind::Answer, Some(answer)) => format!("The answer is: {answer}."),
        (_, Some(value)) if !value.trim().is_empty() => format!("Step {step}: {verb} {value}."),
        _ => format!("Step {step}: {verb}."),
    }
}
