//! A worker: claims tasks from the board and runs each on the agent, in its room, with one
//! model loaded once for all of them. It heartbeats while it works, takes over the tasks of
//! workers that went silent, applies cancel and pause from the API within a step, and reports
//! steps, chat lines, takeovers and the latest frame as the task's events.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use bytes::Bytes;
use chrono::Utc;
use gstneko::client::ClientNotice;
use gstneko::protocol::ServerEvent;
use tokio::sync::{Semaphore, mpsc};

use super::board::{Board, Start};
use super::events::TaskEvent;
use super::metrics::ServiceMetrics;
use super::rooms::{RoomBook, RoomTarget};
use super::store::{Delivery, WorkerInfo};
use super::task::{Ending, PauseCause, StepRecord, Task, TaskStatus, parse_resolution};
use super::webhook::Webhooks;
use crate::agent::RunArgs;
use crate::agent::annotate::draw_action;
use crate::agent::app::{RoomSession, agent_config, live_observer};
use crate::agent::backend::Backend;
use crate::agent::runner::{Agent, TaskOutcome};
use crate::agent::steer::{AgentEvent, Observer, PauseReason, Steering, TaskControl};
use crate::capture::AgentCapture;
use crate::connection::ConnectionArgs;
use crate::frame::encode_jpeg;
use crate::live::{LiveServer, Marks, TaskViews};
use crate::session::Printer;

/// How often a worker says it is alive (and keeps its tasks from being re-claimed).
pub const HEARTBEAT: Duration = Duration::from_secs(5);

/// How often the API's cancel and pause requests are looked up for a running task.
const STEERING_POLL: Duration = Duration::from_millis(250);

/// How often the latest frame of a running task is kept as its screenshot.
const SCREENSHOT_EVERY: Duration = Duration::from_secs(1);

/// Longest edge and quality of the screenshots.
const SCREENSHOT_EDGE: u32 = 1280;
const SCREENSHOT_QUALITY: u8 = 80;

/// Longest wait for a finished task's last reports to be recorded.
const REPORT_DRAIN: Duration = Duration::from_secs(10);

/// How often a worker asks again for a room another worker drives.
const LEASE_RETRY: Duration = Duration::from_millis(500);

/// Longest wait, when the worker stops, for its running tasks to leave their rooms.
const STOP_WAIT: Duration = Duration::from_secs(10);

/// How long one claim waits for a task before looking again.
const CLAIM_WAIT: Duration = Duration::from_secs(2);

/// How a worker runs.
#[derive(Clone)]
pub struct WorkerConfig {
    /// Its name (unique among the workers of a queue).
    pub name: String,
    /// Tasks it runs at once.
    pub slots: usize,
    /// The agent's settings every task starts from (the variables `run` reads).
    pub base: RunArgs,
    /// Tasks of workers silent for this long are taken over.
    pub reclaim_after: Duration,
    /// Where tasks with `save_screenshots` keep their pictures (`<dir>/<task id>/`).
    pub screenshots_dir: PathBuf,
    /// Where the running tasks' live views are served for the API.
    pub live_bind: std::net::SocketAddr,
    /// The host the API reaches them at (default: the bound address).
    pub live_advertise: Option<String>,
}

/// A worker and what it shares between its tasks.
pub struct Worker {
    board: Arc<Board>,
    rooms: Arc<RoomBook>,
    backend: Backend,
    metrics: Arc<ServiceMetrics>,
    webhooks: Webhooks,
    capture: Option<AgentCapture>,
    config: WorkerConfig,
    running: Mutex<Vec<Delivery>>,
    room_locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    embedded: tokio::sync::Mutex<Option<(neko_sandbox::Room, ConnectionArgs)>>,
    /// Set when the worker stops: running tasks leave their rooms and go back to the queue.
    stopping: tokio::sync::watch::Sender<bool>,
    /// The live views of the running tasks, and the server the API reaches them through.
    live_views: TaskViews,
    live_server: Option<LiveServer>,
}

/// The parts a worker is built from.
pub struct WorkerParts {
    /// The tasks.
    pub board: Arc<Board>,
    /// The rooms tasks may name.
    pub rooms: Arc<RoomBook>,
    /// The model (loaded once).
    pub backend: Backend,
    /// The metrics tasks update.
    pub metrics: Arc<ServiceMetrics>,
    /// Where webhooks go out.
    pub webhooks: Webhooks,
    /// The capture dataset tasks with `enable_capture` record into (None: not configured).
    pub capture: Option<AgentCapture>,
}

impl Worker {
    /// A worker over `parts`.
    pub fn new(parts: WorkerParts, config: WorkerConfig) -> Arc<Self> {
        let live_views = TaskViews::default();
        let live_server = match LiveServer::start_tasks(live_views.clone(), config.live_bind) {
            Ok(server) => Some(server),
            Err(error) => {
                tracing::error!(%error, bind = %config.live_bind, "cannot serve the tasks' live views (NEKO_LIVE_BIND); tasks run without them");
                None
            }
        };
        Arc::new(Self {
            live_views,
            live_server,
            board: parts.board,
            rooms: parts.rooms,
            backend: parts.backend,
            metrics: parts.metrics,
            webhooks: parts.webhooks,
            capture: parts.capture,
            config,
            running: Mutex::new(Vec::new()),
            room_locks: Mutex::new(HashMap::new()),
            embedded: tokio::sync::Mutex::new(None),
            stopping: tokio::sync::watch::Sender::new(false),
        })
    }

    /// Claims and runs tasks until `stop` resolves; then lets the running tasks go back to the
    /// queue (another worker, or this one after a restart, runs them again).
    pub async fn run(self: Arc<Self>, stop: impl std::future::Future<Output = ()>) {
        let slots = Arc::new(Semaphore::new(self.config.slots.max(1)));
        let heartbeat = tokio::spawn(self.clone().heartbeat());
        let (reclaimed_tx, mut reclaimed) = mpsc::unbounded_channel::<Delivery>();
        let reclaimer = tokio::spawn(self.clone().reclaim(reclaimed_tx));
        let claiming = async {
            loop {
                let Ok(permit) = slots.clone().acquire_owned().await else {
                    return;
                };
                let delivery = match reclaimed.try_recv() {
                    Ok(delivery) => Some(delivery),
                    Err(_) => match self
                        .board
                        .store()
                        .claim(&self.config.name, CLAIM_WAIT)
                        .await
                    {
                        Ok(delivery) => delivery,
                        Err(error) => {
                            tracing::warn!(%error, "could not claim a task; retrying");
                            tokio::time::sleep(CLAIM_WAIT).await;
                            None
                        }
                    },
                };
                let Some(delivery) = delivery else { continue };
                self.hold(&delivery);
                let worker = self.clone();
                tokio::spawn(async move {
                    worker.run_delivery(delivery).await;
                    drop(permit);
                });
            }
        };
        tokio::select! {
            () = claiming => {}
            () = stop => {}
        }
        // Running tasks leave their rooms cleanly and go back to the queue; the heartbeat
        // keeps their deliveries meanwhile.
        self.stopping.send_replace(true);
        let deadline = tokio::time::Instant::now() + STOP_WAIT;
        while !self
            .running
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_empty()
            && tokio::time::Instant::now() < deadline
        {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        heartbeat.abort();
        reclaimer.abort();
        if let Some((room, _)) = self.embedded.lock().await.take() {
            room.shutdown().await;
        }
    }

    async fn heartbeat(self: Arc<Self>) {
        loop {
            let deliveries = self
                .running
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone();
            let info = WorkerInfo {
                worker: self.config.name.clone(),
                running: deliveries.len(),
                slots: self.config.slots,
                seen_at: Utc::now(),
            };
            if let Err(error) = self.board.store().heartbeat(&info, &deliveries).await {
                tracing::warn!(%error, "heartbeat failed");
            }
            // A worker's own /metrics shows the queue too (for scaling on any pod's metrics).
            if let Ok(depth) = self.board.store().queue_depth().await {
                self.metrics
                    .queue_depth
                    .set(i64::try_from(depth).unwrap_or(i64::MAX));
            }
            if let Ok(workers) = self.board.store().workers().await {
                self.metrics.workers.set(workers.len() as i64);
            }
            tokio::time::sleep(HEARTBEAT).await;
        }
    }

    async fn reclaim(self: Arc<Self>, found: mpsc::UnboundedSender<Delivery>) {
        loop {
            tokio::time::sleep(self.config.reclaim_after / 2).await;
            match self
                .board
                .store()
                .reclaim(&self.config.name, self.config.reclaim_after)
                .await
            {
                Ok(deliveries) => {
                    for delivery in deliveries {
                        tracing::warn!(task_id = %delivery.task_id, "taking over a task of a silent worker");
                        // Held (heartbeated) from now on, also while it waits for a free slot.
                        self.hold(&delivery);
                        if found.send(delivery).is_err() {
                            return;
                        }
                    }
                }
                Err(error) => tracing::warn!(%error, "could not look for tasks of silent workers"),
            }
        }
    }

    /// Runs one delivered task to its final status, then acknowledges it.
    async fn run_delivery(self: Arc<Self>, delivery: Delivery) {
        let task = match self.board.start(&delivery, &self.config.name).await {
            Ok(Start::Run(task)) => task,
            Ok(Start::Skip(task)) => {
                tracing::info!(task_id = %task.task_id, status = task.status.as_str(), "task ended already; skipped");
                self.ack(&delivery).await;
                self.forget(&delivery);
                return;
            }
            Err(error) => {
                // Not acknowledged: it is delivered again (re-claimed once this worker lets go).
                tracing::warn!(%error, task_id = %delivery.task_id, "could not start a task; it stays pending for another try");
                self.forget(&delivery);
                return;
            }
        };
        if let Ok(waited) = (Utc::now() - task.created_at).to_std() {
            self.metrics.queue_wait.observe(waited.as_secs_f64());
        }
        let Some(ending) = self.run_task(&task).await else {
            // The worker is stopping: the task goes back to the queue, its delivery stays
            // pending (re-claimed by another worker, or re-queued when this store opens again).
            match self.board.hand_back(&task.task_id).await {
                Ok(_) => {
                    tracing::info!(task_id = %task.task_id, "stopping: the task goes back to the queue")
                }
                Err(error) => {
                    tracing::warn!(%error, task_id = %task.task_id, "stopping: could not hand the task back")
                }
            }
            self.forget(&delivery);
            return;
        };
        let status = ending.status;
        match self.board.finish(&task.task_id, ending).await {
            Ok((finished, true)) => {
                if let Ok(latency) = (Utc::now() - finished.created_at).to_std() {
                    self.metrics.task_finished(status.as_str(), latency);
                }
                self.webhooks
                    .notify(webhook_event(finished.status), &finished);
                tracing::info!(task_id = %finished.task_id, status = finished.status.as_str(), "task ended");
            }
            Ok((_, false)) => {
                tracing::info!(task_id = %task.task_id, "task had ended already (another attempt finished it)");
            }
            Err(error) => {
                // Not acknowledged: it is delivered again and ends then.
                tracing::error!(%error, task_id = %task.task_id, "could not record the end of a task");
                self.forget(&delivery);
                return;
            }
        }
        self.ack(&delivery).await;
        self.forget(&delivery);
    }

    async fn ack(&self, delivery: &Delivery) {
        if let Err(error) = self.board.store().ack(delivery).await {
            tracing::warn!(%error, task_id = %delivery.task_id, "could not acknowledge a task");
        }
    }

    /// Counts `delivery` as this worker's (its heartbeat keeps it from being re-claimed).
    fn hold(&self, delivery: &Delivery) {
        self.running
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(delivery.clone());
    }

    fn forget(&self, delivery: &Delivery) {
        self.running
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|d| d != delivery);
    }

    /// Runs the task in its room; how it ended (None: the worker stopped first).
    async fn run_task(&self, task: &Task) -> Option<Ending> {
        let target = match self.rooms.resolve(task.spec.room.as_ref()) {
            Ok(target) => target,
            Err(error) => return Some(failed(error.to_string())),
        };
        let room_key = target.key();
        let lock = self.room_lock(&room_key);
        let _room = lock.lock().await;
        if let Some(ending) = self.lease(&room_key, task).await {
            return Some(ending);
        }
        let renewer = tokio::spawn(renew_lease(
            self.board.clone(),
            room_key.clone(),
            self.config.name.clone(),
            self.config.reclaim_after,
        ));
        let ending = self.run_in_room(task, &target).await;
        renewer.abort();
        if let Err(error) = self
            .board
            .store()
            .release_room(&room_key, &self.config.name)
            .await
        {
            tracing::warn!(%error, room = %room_key, "could not release the room (its lease lapses)");
        }
        ending
    }

    /// Waits until this worker holds the room's lease; an ending instead when the task was
    /// cancelled meanwhile.
    async fn lease(&self, room_key: &str, task: &Task) -> Option<Ending> {
        let mut waiting = false;
        loop {
            match self
                .board
                .store()
                .lease_room(room_key, &self.config.name, self.config.reclaim_after)
                .await
            {
                Ok(true) => return None,
                Ok(false) if !waiting => {
                    tracing::info!(task_id = %task.task_id, room = %room_key, "the room is busy with another worker's task; waiting");
                    waiting = true;
                }
                Ok(false) => {}
                Err(error) => tracing::warn!(%error, "could not lease the room; retrying"),
            }
            if let Ok(current) = self.board.get(&task.task_id).await
                && current.steering.cancel
            {
                return Some(Ending {
                    status: TaskStatus::Cancelled,
                    answer: None,
                    error: None,
                });
            }
            tokio::time::sleep(LEASE_RETRY).await;
        }
    }

    /// Runs the task in its (leased) room (None: the worker stopped first).
    async fn run_in_room(&self, task: &Task, target: &RoomTarget) -> Option<Ending> {
        let connection = match target {
            RoomTarget::Server(connection) => (**connection).clone(),
            RoomTarget::Embedded => match self.embedded_room(task).await {
                Ok(connection) => connection,
                Err(problem) => return Some(failed(problem)),
            },
        };
        let args = self.task_args(task);
        let config = match agent_config(&args) {
            Ok(config) => config,
            Err(problems) => {
                return Some(failed(format!(
                    "the agent settings are wrong: {}",
                    problems.join("; ")
                )));
            }
        };
        if task.spec.options.enable_capture && self.capture.is_none() {
            return Some(failed("options.enable_capture: this worker records no capture dataset (start it with --capture-tasks and the CAPTURE_* settings)".into()));
        }
        let task_id = task.task_id.clone();
        let print: Printer = Arc::new(move |line: &str| tracing::info!(task_id, "{line}"));
        let room = match RoomSession::open(&args, &connection) {
            Ok(room) => room,
            Err(error) => return Some(failed(error.to_string())),
        };
        let ending = match room
            .agent(
                &args,
                config,
                self.backend.for_room(&task.task_id),
                self.metrics.agent.clone(),
                print,
                self.capture.as_ref(),
            )
            .await
        {
            Ok(agent) => {
                self.show_live(task, &room).await;
                let ending = self.drive(task, &agent, &room).await;
                self.hide_live(task).await;
                ending
            }
            Err(error) => Some(failed(error.to_string())),
        };
        room.close().await;
        ending
    }

    /// Makes the task's live view reachable through the API.
    async fn show_live(&self, task: &Task, room: &RoomSession) {
        let (Some(server), Some(branch)) = (&self.live_server, room.live()) else {
            return;
        };
        self.live_views
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(task.task_id.clone(), branch.clone());
        let address = server.address();
        let host = match &self.config.live_advertise {
            Some(host) => host.clone(),
            None => address.ip().to_string(),
        };
        let url = format!(
            "http://{host}:{}/tasks/{}/whep?token={}",
            address.port(),
            task.task_id,
            server.token()
        );
        if let Err(error) = self.board.store().put_live(&task.task_id, Some(&url)).await {
            tracing::warn!(%error, task_id = task.task_id, "the live view is not reachable through the API");
        }
    }

    /// Takes the task's live view away (the task left this worker).
    async fn hide_live(&self, task: &Task) {
        self.live_views
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&task.task_id);
        let _ = self.board.store().put_live(&task.task_id, None).await;
    }

    /// Sets the screen, follows the room and the API, and runs the task on the joined agent
    /// (None: the worker stopped first).
    async fn drive(&self, task: &Task, agent: &Agent, room: &RoomSession) -> Option<Ending> {
        if let Err(error) = agent.wait_for_video().await {
            return Some(failed(error.to_string()));
        }
        if let Some(size) = &task.spec.options.screen_resolution
            && let Err(problem) = set_screen(room, size).await
        {
            return Some(failed(problem));
        }
        let control = TaskControl::new();
        let (events_tx, events) = mpsc::unbounded_channel::<AgentEvent>();
        let shown = live_observer(room);
        let observer: Observer = Arc::new(move |event| {
            shown(event.clone());
            let _ = events_tx.send(event);
        });
        let reporter = tokio::spawn(report_events(
            self.board.clone(),
            self.webhooks.clone(),
            task.task_id.clone(),
            events,
        ));
        let followers = [
            tokio::spawn(follow_chat(
                self.board.clone(),
                task.task_id.clone(),
                room.client().subscribe(),
            )),
            tokio::spawn(follow_steering(
                self.board.clone(),
                task.task_id.clone(),
                control.clone(),
                room.live().map(|live| live.marks().clone()),
            )),
            tokio::spawn(keep_screenshots(
                self.board.clone(),
                task.task_id.clone(),
                agent.frames().clone(),
                room.live().map(|live| live.marks().clone()),
            )),
        ];
        let work = agent.run_steered(&task.spec.task, &control, observer);
        let limited = async {
            match task.spec.timeout {
                Some(seconds) => tokio::time::timeout(Duration::from_secs(seconds), work)
                    .await
                    .ok(),
                None => Some(work.await),
            }
        };
        let mut stopping = self.stopping.subscribe();
        let outcome = tokio::select! {
            outcome = limited => Some(outcome),
            _ = stopping.wait_for(|stopping| *stopping) => None,
        };
        for follower in followers {
            follower.abort();
        }
        // The observer went with the finished run: its last reports drain, then the reporter ends.
        if tokio::time::timeout(REPORT_DRAIN, reporter).await.is_err() {
            tracing::warn!(task_id = %task.task_id, "the task's last reports were not all recorded");
        }
        let Some(outcome) = outcome? else {
            return Some(failed(format!(
                "timed out after {} s (timeout)",
                task.spec.timeout.unwrap_or_default()
            )));
        };
        Some(match outcome {
            Ok(TaskOutcome::Answered { answer, .. }) => Ending {
                status: TaskStatus::Completed,
                answer: Some(answer),
                error: None,
            },
            Ok(TaskOutcome::StepLimit { steps }) => {
                failed(format!("no answer after {steps} steps (max_steps)"))
            }
            Ok(TaskOutcome::Cancelled { .. }) => Ending {
                status: TaskStatus::Cancelled,
                answer: None,
                error: None,
            },
            Err(error) => failed(error.to_string()),
        })
    }

    /// The agent's settings for `task`: the worker's, with the task's choices on top.
    fn task_args(&self, task: &Task) -> RunArgs {
        let mut args = self.config.base.clone();
        let spec = &task.spec;
        args.online = false;
        args.healthcheck = false;
        args.task = spec.task.clone();
        args.mode = spec.mode.as_str().to_owned();
        if let Some(steps) = spec.max_steps {
            args.max_steps = steps;
        }
        if let Some(passes) = spec.options.refinement_steps {
            args.refinement_steps = passes;
        }
        args.click_save_path = spec.options.save_screenshots.then(|| {
            self.config
                .screenshots_dir
                .join(&task.task_id)
                .display()
                .to_string()
        });
        args.voice = spec.options.enable_tts;
        if let Some(voice) = &spec.options.voice_id {
            args.voice_settings.default_speaker = voice.clone();
        }
        args
    }

    fn room_lock(&self, key: &str) -> Arc<tokio::sync::Mutex<()>> {
        self.room_locks
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(key.to_owned())
            .or_default()
            .clone()
    }

    /// The connection to this worker's embedded room, started on first use (at the task's
    /// screen size, when it gives one).
    async fn embedded_room(&self, task: &Task) -> Result<ConnectionArgs, String> {
        let mut embedded = self.embedded.lock().await;
        if let Some((_, connection)) = &*embedded {
            return Ok(connection.clone());
        }
        let mut settings = self.config.base.room.clone();
        if let Some(size) = task
            .spec
            .options
            .screen_resolution
            .as_deref()
            .and_then(parse_resolution)
        {
            settings.size = size;
        }
        let (room, connection) = crate::embedded_room::start(&settings, "agent")
            .await
            .map_err(|error| format!("the embedded sandbox room could not start: {error}"))?;
        tracing::info!(url = %room.base_url(), "no NEKO_URL given: tasks run on the embedded sandbox room");
        *embedded = Some((room, connection.clone()));
        Ok(connection)
    }
}

fn failed(error: String) -> Ending {
    Ending {
        status: TaskStatus::Failed,
        answer: None,
        error: Some(error),
    }
}

fn webhook_event(status: TaskStatus) -> &'static str {
    match status {
        TaskStatus::Completed => "task.completed",
        TaskStatus::Cancelled => "task.cancelled",
        TaskStatus::Paused => "task.paused",
        _ => "task.failed",
    }
}

/// Asks the room for `size` (`POST /api/room/screen`, admin only) unless it has it already.
async fn set_screen(room: &RoomSession, size: &str) -> Result<(), String> {
    let Some((width, height)) = parse_resolution(size) else {
        return Err(format!(
            "options.screen_resolution {size:?} is not WIDTHxHEIGHT"
        ));
    };
    let client = room.client();
    if client
        .state()
        .screen
        .is_some_and(|screen| screen.width == width && screen.height == height)
    {
        return Ok(());
    }
    let token = client
        .token()
        .ok_or_else(|| "options.screen_resolution: the session has no login token".to_owned())?;
    let rate = client.state().screen.map_or(30, |screen| screen.rate);
    let body = serde_json::json!({"width": width, "height": height, "rate": rate});
    client
        .rest()
        .post_json("/api/room/screen", &token, Some(&body))
        .await
        .map(|_| ())
        .map_err(|error| {
            format!("options.screen_resolution: the room did not change its screen to {width}x{height} (it needs an admin login): {error}")
        })
}

/// Keeps the room's lease while the task runs (renewed three times per lease time).
async fn renew_lease(board: Arc<Board>, room: String, holder: String, ttl: Duration) {
    loop {
        tokio::time::sleep(ttl / 3).await;
        match board.store().lease_room(&room, &holder, ttl).await {
            Ok(true) => {}
            Ok(false) => tracing::error!(%room, "the room's lease was lost to another worker"),
            Err(error) => tracing::warn!(%error, %room, "could not renew the room's lease"),
        }
    }
}

/// Turns the agent's reports into the task's record and events (and a webhook on takeover).
async fn report_events(
    board: Arc<Board>,
    webhooks: Webhooks,
    task_id: String,
    mut events: mpsc::UnboundedReceiver<AgentEvent>,
) {
    while let Some(event) = events.recv().await {
        let result = match event {
            AgentEvent::Step {
                step,
                action,
                model_calls,
                model_ms,
            } => {
                let record = StepRecord {
                    step,
                    action,
                    model_calls,
                    model_ms,
                    at: Utc::now(),
                };
                board.step(&task_id, record).await.map(|()| None)
            }
            AgentEvent::Paused { reason } => {
                if reason == PauseReason::Takeover {
                    board
                        .publish(&task_id, &TaskEvent::Takeover { active: true })
                        .await;
                }
                board
                    .set_paused(&task_id, Some(cause(reason)))
                    .await
                    .map(|task| (reason == PauseReason::Takeover).then_some(task))
            }
            AgentEvent::Resumed { reason } => {
                if reason == PauseReason::Takeover {
                    board
                        .publish(&task_id, &TaskEvent::Takeover { active: false })
                        .await;
                }
                board.set_paused(&task_id, None).await.map(|_| None)
            }
        };
        match result {
            Ok(Some(paused)) => webhooks.notify("task.paused", &paused),
            Ok(None) => {}
            Err(error) => tracing::warn!(%error, task_id, "could not record what the task did"),
        }
    }
}

fn cause(reason: PauseReason) -> PauseCause {
    match reason {
        PauseReason::Requested => PauseCause::Requested,
        PauseReason::Takeover => PauseCause::Takeover,
    }
}

/// Every chat line of the room, as the task's events.
async fn follow_chat(
    board: Arc<Board>,
    task_id: String,
    mut notices: tokio::sync::broadcast::Receiver<ClientNotice>,
) {
    loop {
        match notices.recv().await {
            Ok(ClientNotice::Event(event)) => {
                if let ServerEvent::ChatMessage(message) = event.as_ref() {
                    board
                        .publish(
                            &task_id,
                            &TaskEvent::chat(&message.id, &message.content.text),
                        )
                        .await;
                }
            }
            Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
            Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
        }
    }
}

/// Applies the API's cancel, pause and resume to the running task.
async fn follow_steering(
    board: Arc<Board>,
    task_id: String,
    control: TaskControl,
    marks: Option<Marks>,
) {
    let mut person = false;
    loop {
        if let Ok(task) = board.get(&task_id).await {
            let steering = task.steering;
            let state = control.state();
            if steering.cancel {
                control.cancel();
                return;
            }
            if steering.person != person {
                person = steering.person;
                if let Some(marks) = &marks {
                    marks.set_person_in_control(person);
                }
            }
            match state {
                Steering::Running if steering.pause => control.pause(PauseReason::Requested),
                Steering::Paused(PauseReason::Requested) if !steering.pause => control.resume(),
                Steering::Paused(PauseReason::Takeover) if steering.resume_takeover => {
                    control.resume();
                }
                _ => {}
            }
        }
        tokio::time::sleep(STEERING_POLL).await;
    }
}

/// Keeps the newest frame of the running task as its screenshot, once a second, with the live
/// view's marks drawn on it (the last action's point and the step).
async fn keep_screenshots(
    board: Arc<Board>,
    task_id: String,
    frames: crate::agent::frames::FrameSource,
    marks: Option<Marks>,
) {
    let mut last_number = 0;
    loop {
        let started = Instant::now();
        if let Some(frame) = frames.latest().filter(|frame| frame.number != last_number) {
            last_number = frame.number;
            let marks = marks.clone();
            let encoded = tokio::task::spawn_blocking(move || {
                let mut image = frame.to_rgb(SCREENSHOT_EDGE).ok()?;
                if let Some(marks) = marks {
                    let points: Vec<(f64, f64)> = marks.point().into_iter().collect();
                    image = draw_action(&image, &points, &marks.text().replace('\n', " / "));
                }
                encode_jpeg(&image, SCREENSHOT_QUALITY).ok()
            })
            .await
            .ok()
            .flatten();
            if let Some(jpeg) = encoded
                && let Err(error) = board
                    .store()
                    .put_screenshot(&task_id, Bytes::from(jpeg))
                    .await
            {
                tracing::warn!(%error, task_id, "could not keep the screenshot");
            }
        }
        tokio::time::sleep(SCREENSHOT_EVERY.saturating_sub(started.elapsed())).await;
    }
}
