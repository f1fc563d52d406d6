//! One task, step by step: look at the newest frame, ask the model (refining clicks on crops),
//! perform the action through the session, wait for the screen to settle, until ANSWER or the
//! step limit.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use gstneko::protocol::{ChatContent, ClientEvent};

use super::action::{ActionKind, ModelAction, Position};
use super::annotate::{draw_action, save_png};
use super::execute::to_input;
use super::frames::{FrameError, FrameSource, RgbImage};
use super::history::{History, action_json};
use super::metrics::Metrics;
use super::parse::parse_action;
use super::prompt::NavPrompt;
use super::refine::{FrameSize, Refinement};
use super::settle::{SettleOptions, wait_until_settled};
use crate::capture::TaskRecorder;
use crate::model::{Generation, ImageRef, ModelError, ShowUi};
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
    /// No video.
    #[error(transparent)]
    Frames(#[from] FrameError),
    /// The connection to the room is gone.
    #[error("{0}")]
    Session(String),
    /// The session refused the input (host control not granted in time).
    #[error("{0}")]
    Control(String),
    /// The model ran on a worker thread that died.
    #[error("the model worker stopped unexpectedly: {0}")]
    Worker(String),
}

impl AgentError {
    /// Whether the connection to the room is gone (rather than the model or the frames).
    pub fn is_connection(&self) -> bool {
        matches!(self, Self::Session(_))
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
}

/// The agent: a model, a session to act through, and the frames it sees.
pub struct Agent {
    config: AgentConfig,
    model: Arc<ShowUi>,
    controller: Controller,
    frames: FrameSource,
    metrics: Arc<Metrics>,
    print: Printer,
    narrator: Option<Narrator>,
    capture: Option<TaskRecorder>,
}

/// Speaks a line aloud (`run --voice`).
pub type Narrator = Arc<dyn Fn(&str) + Send + Sync>;

/// What one model call (with refinement) produced.
struct Decision {
    action: Option<ModelAction>,
    calls: Vec<Generation>,
}

impl Agent {
    /// An agent over a running session.
    pub fn new(
        config: AgentConfig,
        model: Arc<ShowUi>,
        controller: Controller,
        frames: FrameSource,
        metrics: Arc<Metrics>,
        print: Printer,
    ) -> Self {
        Self {
            config,
            model,
            controller,
            frames,
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

    /// Waits for the first video frame, then lets `skip_initial_frames` more go by.
    pub async fn wait_for_video(&self) -> Result<(), AgentError> {
        let first = self.frames.newer_than(0, FIRST_FRAME_TIMEOUT).await?;
        let mut number = first.number;
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

    /// Sends a chat message from the agent's session (best effort: logged when it fails).
    pub async fn say(&self, text: &str) {
        let event = ClientEvent::ChatMessage(ChatContent::new(text));
        if let Err(error) = self.controller.client().send(event).await {
            tracing::warn!(%error, "could not post to chat");
        }
    }

    /// Runs one task until ANSWER or the step limit.
    pub async fn run_task(&self, task: &str) -> Result<TaskOutcome, AgentError> {
        let _episode = self.capture.as_ref().map(|capture| capture.start(task));
        let mut history = History::new();
        for step in 1..=self.config.max_steps {
            self.controller.check_alive().map_err(session_error)?;
            self.metrics.steps.inc();
            let Some(action) = self.step(task, &history, step).await? else {
                continue;
            };
            if let Some(answer) = self.perform(&action, step).await? {
                return Ok(TaskOutcome::Answered {
                    answer,
                    steps: step,
                });
            }
            history.push(action);
        }
        Ok(TaskOutcome::StepLimit {
            steps: self.config.max_steps,
        })
    }

    /// Looks at the newest frame and decides; None when the step produced no usable action.
    async fn step(
        &self,
        task: &str,
        history: &History,
        step: u32,
    ) -> Result<Option<ModelAction>, AgentError> {
        let frame = match self.frames.latest() {
            Some(frame) => frame,
            None => self.frames.newer_than(0, FIRST_FRAME_TIMEOUT).await?,
        };
        self.metrics.frames.inc();
        let started = Instant::now();
        let longest_edge = self.config.longest_edge;
        let image = tokio::task::spawn_blocking(move || frame.to_rgb(longest_edge))
            .await
            .map_err(|e| AgentError::Worker(e.to_string()))??;
        Metrics::observe(&self.metrics.resize, started.elapsed());
        if let Some(path) = &self.config.frame_save_path
            && let Err(error) = save_png(&image, path)
        {
            tracing::warn!(%error, "FRAME_SAVE_PATH");
        }
        let image = Arc::new(image);
        let decision = self.decide(task, history, step, image.clone()).await?;
        let model_time: Duration = decision.calls.iter().map(|g| g.timings.total).sum();
        let Some(action) = decision.action else {
            (self.print)(&format!(
                "step {step}/{}: no usable action ({} model call(s), {:.0} ms)",
                self.config.max_steps,
                decision.calls.len(),
                model_time.as_secs_f64() * 1000.0
            ));
            return Ok(None);
        };
        let first = &decision.calls[0].timings;
        (self.print)(&format!(
            "step {step}/{}: {} | {} call(s) {:.0} ms (preprocess {:.1}, vision {:.1}, prefill {:.1}, {} tokens × {:.2} ms)",
            self.config.max_steps,
            action_json(&action),
            decision.calls.len(),
            model_time.as_secs_f64() * 1000.0,
            ms(first.preprocess),
            ms(first.vision),
            ms(first.prefill),
            decision.calls[0].tokens,
            ms(first.decode_step_mean()),
        ));
        tracing::info!(
            task,
            step,
            action = %action_json(&action),
            model_calls = decision.calls.len(),
            latency_ms = model_time.as_secs_f64() * 1000.0,
            "step decided"
        );
        if let Some(dir) = &self.config.click_save_dir {
            let picture = draw_action(&image, &points(&action), &label(step, &action));
            let path = dir.join(format!("step_{step:03}_{}_final.png", action.kind.name()));
            if let Err(error) = save_png(&picture, &path) {
                tracing::warn!(%error, "CLICK_SAVE_PATH");
            }
        }
        Ok(Some(action))
    }

    /// Asks the model about the whole frame, then about crops around its click point.
    async fn decide(
        &self,
        task: &str,
        history: &History,
        step: u32,
        image: Arc<RgbImage>,
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
                && let Err(error) = save_png(
                    &view,
                    &dir.join(format!("step_{step:03}_refine_{pass}.png")),
                )
            {
                tracing::warn!(%error, "CLICK_SAVE_PATH");
            }
            let Some(generation) = self.infer(view, messages.clone()).await? else {
                break;
            };
            let text = generation.text.clone();
            calls.push(generation);
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

    /// One model call on a worker thread, bounded by the inference timeout; None on timeout.
    async fn infer(
        &self,
        image: Arc<RgbImage>,
        messages: Arc<Vec<crate::model::Message>>,
    ) -> Result<Option<Generation>, AgentError> {
        let model = self.model.clone();
        let max_new_tokens = self.config.max_new_tokens;
        let work = tokio::task::spawn_blocking(move || {
            let view =
                ImageRef::new(image.width, image.height, &image.data).map_err(ModelError::from)?;
            model.generate(view, &messages, max_new_tokens)
        });
        let generation = match tokio::time::timeout(self.config.inference_timeout, work).await {
            Ok(joined) => joined.map_err(|e| AgentError::Worker(e.to_string()))??,
            Err(_) => {
                self.metrics.parse_errors.inc();
                tracing::warn!(
                    timeout_s = self.config.inference_timeout.as_secs_f64(),
                    "model call timed out; the step is lost"
                );
                return Ok(None);
            }
        };
        let timings = &generation.timings;
        Metrics::observe(&self.metrics.inference, timings.total);
        Metrics::observe(&self.metrics.preprocess, timings.preprocess);
        Metrics::observe(&self.metrics.vision, timings.vision);
        Metrics::observe(&self.metrics.prefill, timings.prefill);
        if timings.decode_steps > 0 {
            Metrics::observe(&self.metrics.decode_step, timings.decode_step_mean());
        }
        tracing::debug!(output = %generation.text, "model output");
        Ok(Some(generation))
    }

    /// Announces the action in chat, performs it and waits for the screen; the answer text when
    /// the action was ANSWER.
    async fn perform(&self, action: &ModelAction, step: u32) -> Result<Option<String>, AgentError> {
        let execution = match to_input(action) {
            Ok(execution) => execution,
            Err(error) => {
                self.metrics.parse_errors.inc();
                tracing::warn!(step, %error, "action cannot be performed");
                (self.print)(&format!("step {step}: {error}"));
                return Ok(None);
            }
        };
        let json = action_json(action);
        self.say(&format!("Action: {json}")).await;
        if let Some(capture) = &self.capture {
            capture.action(&json);
        }
        if let Some(narrator) = &self.narrator {
            narrator(&spoken(action, step));
        }
        if let Some(answer) = execution.answer {
            self.metrics.action(action.kind.name());
            self.say(&format!("Answer: {answer}")).await;
            return Ok(Some(answer));
        }
        let since = self.frames.received();
        self.controller
            .perform(&execution.input)
            .await
            .map_err(session_error)?;
        self.metrics.action(action.kind.name());
        let settled = wait_until_settled(&self.frames, since, self.config.settle).await?;
        tracing::debug!(step, ?settled, "screen settled");
        Ok(None)
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

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

fn session_error(error: ControlError) -> AgentError {
    match error {
        ControlError::Connection(message) => AgentError::Session(message),
        ControlError::Refused(message) => AgentError::Control(message),
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
