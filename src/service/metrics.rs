//! The service's Prometheus metrics: the agent's (same names as `run`) plus the queue's depth,
//! the workers, and how long tasks wait and take.

use std::sync::Arc;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use crate::agent::metrics::Metrics;

/// Buckets for task-scale durations: a second to an hour.
const TASK_BUCKETS: [f64; 12] = [
    0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 900.0, 3600.0,
];

/// Buckets for queue waits: a millisecond to ten minutes.
const WAIT_BUCKETS: [f64; 12] = [
    0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0, 60.0, 300.0, 600.0,
];

/// The `status` label.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StatusLabel {
    /// completed, failed or cancelled.
    pub status: String,
}

/// The service's metrics, with the agent's in the same registry.
pub struct ServiceMetrics {
    /// The agent's metrics (shared by every task this process runs).
    pub agent: Arc<Metrics>,
    /// Tasks waiting for a worker (`neko_task_queue_depth`, read from the store at scrape).
    pub queue_depth: Gauge,
    /// Workers heard from recently (`neko_workers`).
    pub workers: Gauge,
    /// Submit to end of a task (`neko_task_latency_seconds`).
    pub task_latency: Histogram,
    /// Submit (or re-queue) to start (`neko_task_queue_wait_seconds`).
    pub queue_wait: Histogram,
    /// Tasks ended in this process, by status (`neko_tasks_finished_total`).
    pub finished: Family<StatusLabel, Counter>,
}

impl Default for ServiceMetrics {
    fn default() -> Self {
        let mut registry = Registry::default();
        let queue_depth = Gauge::default();
        let workers = Gauge::default();
        let task_latency = Histogram::new(TASK_BUCKETS);
        let queue_wait = Histogram::new(WAIT_BUCKETS);
        let finished = Family::<StatusLabel, Counter>::default();
        registry.register(
            "neko_task_queue_depth",
            "Tasks waiting for a worker",
            queue_depth.clone(),
        );
        registry.register(
            "neko_workers",
            "Workers heard from recently",
            workers.clone(),
        );
        registry.register(
            "neko_task_latency_seconds",
            "Time from submitting a task to its end",
            task_latency.clone(),
        );
        registry.register(
            "neko_task_queue_wait_seconds",
            "Time a task waited in the queue before a worker started it",
            queue_wait.clone(),
        );
        registry.register(
            "neko_tasks_finished",
            "Tasks ended by this process, by final status",
            finished.clone(),
        );
        Self {
            agent: Arc::new(Metrics::with_registry(registry)),
            queue_depth,
            workers,
            task_latency,
            queue_wait,
            finished,
        }
    }
}

impl ServiceMetrics {
    /// Counts a task that ended with `status` after `latency` since it was submitted.
    pub fn task_finished(&self, status: &str, latency: Duration) {
        self.finished
            .get_or_create(&StatusLabel {
                status: status.to_owned(),
            })
            .inc();
        self.task_latency.observe(latency.as_secs_f64());
    }

    /// The text exposition of every metric.
    pub fn render(&self) -> String {
        self.agent.render()
    }
}
