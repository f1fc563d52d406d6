//! The batching scheduler in front of the engine, as `nvstreammux` is in front of a DeepStream
//! model: rooms' steps that become ready within a short window go to [`ShowUi::generate_batch`]
//! together, so one loaded model serves many rooms with one set of model runs per batch.
//!
//! One thread owns the model calls. A step waits at most `--batch-window-ms` (never more than
//! `--batch-latency-budget-ms`) for others to join, and not at all when every room that holds a
//! [`ModelClient`] is already waiting. Batches take waiting steps in arrival order, at most
//! `--batch-per-room` of one room, so no room waits more than one batch behind another. A step
//! whose caller stopped waiting (the task was cancelled or paused, the future dropped) leaves the
//! queue, or the batch at its next decode step. When a batched call fails, its unanswered rows
//! are run again one by one, each getting its own answer or error.

use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use tokio::sync::oneshot;

use super::generate::BatchRow;
use super::prompt::Message;
use super::showui::{Generation, ModelError, ShowUi};
use crate::frame::RgbImage;

/// How steps are batched (`NEKO_MAX_BATCH`, …).
#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
pub struct BatchOptions {
    /// Most steps (rooms) in one model call; 1 runs one step per call.
    #[arg(long = "max-batch", env = "NEKO_MAX_BATCH", default_value_t = 8,
          value_parser = batch_size)]
    pub max_batch: usize,
    /// Milliseconds the first ready step waits for others to join its batch.
    #[arg(
        long = "batch-window-ms",
        env = "NEKO_BATCH_WINDOW_MS",
        default_value_t = 5
    )]
    pub window_ms: u64,
    /// Most milliseconds a step waits before its batch starts while the model is free (caps
    /// the window).
    #[arg(
        long = "batch-latency-budget-ms",
        env = "NEKO_BATCH_LATENCY_BUDGET_MS",
        default_value_t = 50
    )]
    pub latency_budget_ms: u64,
    /// Most steps of one room in one batch.
    #[arg(long = "batch-per-room", env = "NEKO_BATCH_PER_ROOM", default_value_t = 1,
          value_parser = batch_size)]
    pub per_room: usize,
}

/// Most steps one batch may hold.
const MAX_BATCH_LIMIT: usize = 256;

/// A batch size flag: a whole number from 1 to [`MAX_BATCH_LIMIT`].
fn batch_size(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(n) if (1..=MAX_BATCH_LIMIT).contains(&n) => Ok(n),
        _ => Err(format!(
            "expected a whole number from 1 to {MAX_BATCH_LIMIT}"
        )),
    }
}

impl Default for BatchOptions {
    fn default() -> Self {
        Self {
            max_batch: 8,
            window_ms: 5,
            latency_budget_ms: 50,
            per_room: 1,
        }
    }
}

impl BatchOptions {
    /// How long a batch waits for more steps after the first: the window, within the budget.
    pub fn wait(&self) -> Duration {
        Duration::from_millis(self.window_ms.min(self.latency_budget_ms))
    }
}

/// Buckets of the batch size histogram.
const BATCH_SIZE_BUCKETS: [f64; 9] = [1.0, 2.0, 3.0, 4.0, 6.0, 8.0, 12.0, 16.0, 32.0];

/// Buckets of the queueing delay histogram, in seconds.
const DELAY_BUCKETS: [f64; 12] = [
    0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0,
];

/// What the scheduler reports to Prometheus.
#[derive(Debug, Clone)]
pub struct BatchMetrics {
    /// Steps per model call (`neko_batch_size`).
    pub batch_size: Histogram,
    /// Time from a step being ready to its batch starting (`neko_batch_queue_delay_seconds`).
    pub queue_delay: Histogram,
    /// Batched calls that failed and were run again one step per call
    /// (`neko_batch_fallbacks_total`).
    pub fallbacks: Counter,
}

impl Default for BatchMetrics {
    fn default() -> Self {
        Self {
            batch_size: Histogram::new(BATCH_SIZE_BUCKETS),
            queue_delay: Histogram::new(DELAY_BUCKETS),
            fallbacks: Counter::default(),
        }
    }
}

impl BatchMetrics {
    /// Registers the metrics in `registry`.
    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "neko_batch_size",
            "Steps (rooms) per model call",
            self.batch_size.clone(),
        );
        registry.register(
            "neko_batch_queue_delay_seconds",
            "Time from a step being ready to its model call starting",
            self.queue_delay.clone(),
        );
        registry.register(
            "neko_batch_fallbacks",
            "Batched model calls that failed and were run again one step per call",
            self.fallbacks.clone(),
        );
    }
}

/// The engine stopped before answering (the scheduler's thread is gone).
#[derive(Debug, thiserror::Error)]
#[error("the model's batching thread stopped before answering; see the log for its error")]
pub struct SchedulerGone;

/// One step waiting for the model.
struct Request {
    room: Arc<str>,
    image: Arc<RgbImage>,
    messages: Arc<Vec<Message>>,
    max_new_tokens: usize,
    ready: Instant,
    reply: oneshot::Sender<Result<Generation, ModelError>>,
}

/// The model behind its batching scheduler; shared by every room of the process.
pub struct Batcher {
    model: Arc<ShowUi>,
    options: BatchOptions,
    requests: mpsc::Sender<Request>,
    clients: Arc<AtomicUsize>,
}

impl std::fmt::Debug for Batcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Batcher")
            .field("options", &self.options)
            .field("clients", &self.clients.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl Batcher {
    /// Starts the scheduler thread for `model`. An export that cannot batch sequences (its
    /// decoder's batch axis is fixed) is run one step per call, with an error in the log saying
    /// how to fix it.
    pub fn start(
        model: Arc<ShowUi>,
        mut options: BatchOptions,
        metrics: BatchMetrics,
    ) -> Arc<Self> {
        if options.max_batch > 1 && !model.batching().sequences {
            tracing::error!(
                max_batch = options.max_batch,
                "this model export cannot batch rooms: its decoder's batch axis is fixed to 1; running one room's step per model call (export the model again with `neko-agent model export` to batch)"
            );
            options.max_batch = 1;
        } else if options.max_batch > 1 && !model.batching().images {
            tracing::warn!(
                "this model export's vision encoder takes one image per call (the batch axis of its grid_thw is fixed to 1): the images of a batch are encoded one by one (export the model again with `neko-agent model export` to encode them together)"
            );
        }
        let (requests, queue) = mpsc::channel();
        let clients = Arc::new(AtomicUsize::new(0));
        let thread = Scheduler {
            model: model.clone(),
            options: options.clone(),
            queue,
            pending: VecDeque::new(),
            clients: clients.clone(),
            metrics,
        };
        std::thread::Builder::new()
            .name("neko-batcher".into())
            .spawn(move || thread.run())
            .expect("spawn the batching thread");
        Arc::new(Self {
            model,
            options,
            requests,
            clients,
        })
    }

    /// The loaded model.
    pub fn model(&self) -> &ShowUi {
        &self.model
    }

    /// The settings in force (`max_batch` is 1 when the export cannot batch).
    pub fn options(&self) -> &BatchOptions {
        &self.options
    }

    /// A handle for the steps of `room`; while it lives, the scheduler knows one more room may
    /// send a step (and does not wait for more rooms than that).
    pub fn client(self: &Arc<Self>, room: &str) -> ModelClient {
        self.clients.fetch_add(1, Ordering::Relaxed);
        ModelClient {
            batcher: self.clone(),
            room: room.into(),
            counted: true,
        }
    }

    /// A handle for a process that drives one room, or hands out [`ModelClient::for_room`]
    /// handles to its rooms: it is not counted as a room of its own.
    pub fn shared(self: &Arc<Self>) -> ModelClient {
        ModelClient {
            batcher: self.clone(),
            room: "default".into(),
            counted: false,
        }
    }
}

/// One room's way to the model: its steps join the shared batches.
#[derive(Debug)]
pub struct ModelClient {
    batcher: Arc<Batcher>,
    room: Arc<str>,
    /// Whether this handle counts as a room that may send a step.
    counted: bool,
}

impl Clone for ModelClient {
    fn clone(&self) -> Self {
        if self.counted {
            self.batcher.client(&self.room)
        } else {
            self.batcher.shared()
        }
    }
}

impl Drop for ModelClient {
    fn drop(&mut self) {
        if self.counted {
            self.batcher.clients.fetch_sub(1, Ordering::Relaxed);
        }
    }
}

impl ModelClient {
    /// The loaded model.
    pub fn model(&self) -> &ShowUi {
        self.batcher.model()
    }

    /// The scheduler this client sends to.
    pub fn batcher(&self) -> &Arc<Batcher> {
        &self.batcher
    }

    /// A handle of the same scheduler for `room`.
    pub fn for_room(&self, room: &str) -> ModelClient {
        self.batcher.client(room)
    }

    /// Answers `messages` about `image` in the next batch. Dropping the future takes the step
    /// out of its batch.
    pub async fn generate(
        &self,
        image: Arc<RgbImage>,
        messages: Arc<Vec<Message>>,
        max_new_tokens: usize,
    ) -> Result<Result<Generation, ModelError>, SchedulerGone> {
        let (reply, answer) = oneshot::channel();
        let request = Request {
            room: self.room.clone(),
            image,
            messages,
            max_new_tokens,
            ready: Instant::now(),
            reply,
        };
        self.batcher
            .requests
            .send(request)
            .map_err(|_| SchedulerGone)?;
        answer.await.map_err(|_| SchedulerGone)
    }
}

/// The scheduler thread's state.
struct Scheduler {
    model: Arc<ShowUi>,
    options: BatchOptions,
    queue: mpsc::Receiver<Request>,
    pending: VecDeque<Request>,
    clients: Arc<AtomicUsize>,
    metrics: BatchMetrics,
}

impl Scheduler {
    /// Forms and runs batches until every sender is gone.
    fn run(mut self) {
        while self.gather() {
            let batch = self.take_batch();
            if !batch.is_empty() {
                self.run_batch(batch);
            }
        }
        tracing::debug!("batching thread stopped");
    }

    /// Waits for a first step, then for others until the window closes, the batch is full or
    /// every room with a client is waiting. False when the process is done with the model.
    fn gather(&mut self) -> bool {
        while let Ok(request) = self.queue.try_recv() {
            self.pending.push_back(request);
        }
        if self.pending.is_empty() {
            match self.queue.recv() {
                Ok(request) => self.pending.push_back(request),
                Err(_) => return false,
            }
        }
        let deadline = self.pending[0].ready + self.options.wait();
        loop {
            self.pending.retain(|r| !r.reply.is_closed());
            let rooms = self.waiting_rooms();
            if self.pending.is_empty()
                || self.pending.len() >= self.options.max_batch
                || rooms >= self.clients.load(Ordering::Relaxed)
            {
                return true;
            }
            let now = Instant::now();
            if now >= deadline {
                return true;
            }
            match self.queue.recv_timeout(deadline - now) {
                Ok(request) => self.pending.push_back(request),
                Err(mpsc::RecvTimeoutError::Timeout) => return true,
                Err(mpsc::RecvTimeoutError::Disconnected) => return true,
            }
        }
    }

    /// Rooms with a step waiting.
    fn waiting_rooms(&self) -> usize {
        let mut rooms: Vec<&str> = self.pending.iter().map(|r| &*r.room).collect();
        rooms.sort_unstable();
        rooms.dedup();
        rooms.len()
    }

    /// The waiting steps of the next batch: in arrival order, at most `per_room` per room.
    fn take_batch(&mut self) -> Vec<Request> {
        let mut batch = Vec::with_capacity(self.options.max_batch);
        let mut per_room: HashMap<Arc<str>, usize> = HashMap::new();
        let mut left = VecDeque::with_capacity(self.pending.len());
        for request in self.pending.drain(..) {
            let count = per_room.entry(request.room.clone()).or_default();
            if batch.len() < self.options.max_batch && *count < self.options.per_room {
                *count += 1;
                batch.push(request);
            } else {
                left.push_back(request);
            }
        }
        self.pending = left;
        batch
    }

    /// Runs one batch and answers its steps.
    fn run_batch(&self, batch: Vec<Request>) {
        let started = Instant::now();
        self.metrics.batch_size.observe(batch.len() as f64);
        let mut steps = Vec::with_capacity(batch.len());
        let mut replies = Vec::with_capacity(batch.len());
        for request in batch {
            self.metrics
                .queue_delay
                .observe(started.duration_since(request.ready).as_secs_f64());
            replies.push(Some(request.reply));
            steps.push((
                request.room,
                request.image,
                request.messages,
                request.max_new_tokens,
            ));
        }
        let rows: Vec<BatchRow<'_>> = steps
            .iter()
            .map(|(_, image, messages, max_new_tokens)| BatchRow {
                image,
                messages,
                max_new_tokens: *max_new_tokens,
            })
            .collect();
        let replies = RefCell::new(replies);
        let wanted = |row: usize| {
            replies.borrow()[row]
                .as_ref()
                .is_some_and(|reply| !reply.is_closed())
        };
        let answered = |row: usize, result: Result<Generation, ModelError>| {
            if let Some(reply) = replies.borrow_mut()[row].take() {
                // The caller may have stopped waiting meanwhile; then nobody needs the answer.
                let _ = reply.send(result);
            }
        };
        let Err(error) = self.model.generate_batch(&rows, &wanted, &mut { answered }) else {
            return;
        };
        if rows.len() == 1 {
            answered(0, Err(error));
            return;
        }
        self.metrics.fallbacks.inc();
        let rooms: Vec<&str> = steps.iter().map(|(room, ..)| &**room).collect();
        tracing::warn!(
            %error,
            ?rooms,
            "a batched model call failed; running its steps one per call"
        );
        for (row, step) in rows.iter().enumerate() {
            if wanted(row) {
                answered(
                    row,
                    self.model
                        .generate(step.image, step.messages, step.max_new_tokens),
                );
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
        batching: BatchOptions,
    }

    #[test]
    fn batch_flags_parse_and_a_zero_batch_is_refused() {
        let cli = Cli::try_parse_from(["x", "--max-batch", "4", "--batch-window-ms", "2"]).unwrap();
        assert_eq!(cli.batching.max_batch, 4);
        assert_eq!(cli.batching.window_ms, 2);
        assert_eq!(cli.batching.per_room, 1);
        for bad in ["0", "257", "many"] {
            let error = Cli::try_parse_from(["x", "--max-batch", bad])
                .err()
                .unwrap_or_else(|| panic!("{bad} accepted"));
            assert!(error.to_string().contains("from 1 to 256"), "{error}");
        }
    }

    #[test]
    fn the_wait_never_exceeds_the_latency_budget() {
        let options = BatchOptions {
            window_ms: 20,
            latency_budget_ms: 8,
            ..BatchOptions::default()
        };
        assert_eq!(options.wait(), Duration::from_millis(8));
        assert_eq!(BatchOptions::default().wait(), Duration::from_millis(5));
    }
}
