//! Prometheus metrics of the agent, under the Python agent's names, served at `/metrics`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use crate::model::BatchMetrics;

/// The default buckets of the Python client, so dashboards keep working.
const BUCKETS: [f64; 14] = [
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
];

/// Finer buckets for sub-second stages (preprocessing, one decode step).
const FAST_BUCKETS: [f64; 12] = [
    0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0,
];

/// The `action_type` label.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ActionLabel {
    /// CLICK, INPUT, … (the model's action name).
    pub action_type: String,
}

/// Every metric the agent updates.
pub struct Metrics {
    registry: Registry,
    /// What `/readyz` reports: the agent's room session is connected.
    pub readiness: crate::metrics_server::Readiness,
    /// Frames the agent looked at (`neko_frames_received_total`).
    pub frames: Counter,
    /// Executed actions by type (`neko_actions_executed_total`).
    pub actions: Family<ActionLabel, Counter>,
    /// Model outputs that did not parse or were not allowed (`neko_parse_errors_total`).
    pub parse_errors: Counter,
    /// Steps taken (`neko_navigation_steps_total`).
    pub steps: Counter,
    /// Whole model calls (`neko_inference_latency_seconds`).
    pub inference: Histogram,
    /// Connection re-establishments (`neko_reconnects_total`).
    pub reconnects: Counter,
    /// Frame conversion and downscale (`neko_resize_duration_seconds`).
    pub resize: Histogram,
    /// Model-input preparation (`neko_preprocess_duration_seconds`).
    pub preprocess: Histogram,
    /// Vision encoder runs (`neko_vision_encoder_seconds`).
    pub vision: Histogram,
    /// Prompt prefill (`neko_prefill_seconds`).
    pub prefill: Histogram,
    /// One generated token (`neko_decode_step_seconds`).
    pub decode_step: Histogram,
    /// The model's batching scheduler (`neko_batch_*`).
    pub batching: BatchMetrics,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::with_registry(Registry::default())
    }
}

impl Metrics {
    /// The agent's metrics, registered in `registry` beside what it already holds (the
    /// service's own metrics), rendered together by [`Metrics::render`].
    pub fn with_registry(registry: Registry) -> Self {
        let slow = || Histogram::new(BUCKETS);
        let fast = || Histogram::new(FAST_BUCKETS);
        let mut metrics = Self {
            frames: Counter::default(),
            actions: Family::default(),
            parse_errors: Counter::default(),
            steps: Counter::default(),
            inference: slow(),
            reconnects: Counter::default(),
            resize: slow(),
            preprocess: fast(),
            vision: slow(),
            prefill: slow(),
            decode_step: fast(),
            batching: BatchMetrics::default(),
            registry,
            readiness: crate::metrics_server::Readiness::default(),
        };
        metrics.registry.register(
            "neko_frames_received",
            "Video frames the agent used",
            metrics.frames.clone(),
        );
        metrics.registry.register(
            "neko_actions_executed",
            "Actions executed, by type",
            metrics.actions.clone(),
        );
        metrics.registry.register(
            "neko_parse_errors",
            "Model outputs that could not be parsed or were not allowed",
            metrics.parse_errors.clone(),
        );
        metrics.registry.register(
            "neko_navigation_steps",
            "Navigation steps executed",
            metrics.steps.clone(),
        );
        metrics.registry.register(
            "neko_inference_latency_seconds",
            "Time of one model call (all refinement passes excluded)",
            metrics.inference.clone(),
        );
        metrics.registry.register(
            "neko_reconnects",
            "Reconnections to the Neko server",
            metrics.reconnects.clone(),
        );
        metrics.registry.register(
            "neko_resize_duration_seconds",
            "Frame conversion to RGB and downscale",
            metrics.resize.clone(),
        );
        metrics.registry.register(
            "neko_preprocess_duration_seconds",
            "Image preprocessing into model input",
            metrics.preprocess.clone(),
        );
        metrics.registry.register(
            "neko_vision_encoder_seconds",
            "Vision encoder run",
            metrics.vision.clone(),
        );
        metrics.registry.register(
            "neko_prefill_seconds",
            "Decoder prefill over the prompt",
            metrics.prefill.clone(),
        );
        metrics.registry.register(
            "neko_decode_step_seconds",
            "One generated token",
            metrics.decode_step.clone(),
        );
        metrics.batching.register(&mut metrics.registry);
        metrics
    }
}

impl Metrics {
    /// Counts an executed action.
    pub fn action(&self, action_type: &str) {
        self.actions
            .get_or_create(&ActionLabel {
                action_type: action_type.to_owned(),
            })
            .inc();
    }

    /// Records a duration in a histogram.
    pub fn observe(histogram: &Histogram, duration: Duration) {
        histogram.observe(duration.as_secs_f64());
    }

    /// The text exposition format.
    pub fn render(&self) -> String {
        crate::metrics_server::render(&self.registry)
    }

    /// Serves `/metrics`, `/healthz` and `/readyz` on `address` until the process ends; returns
    /// the bound address.
    pub async fn serve(self: Arc<Self>, address: SocketAddr) -> std::io::Result<SocketAddr> {
        let readiness = self.readiness.clone();
        crate::metrics_server::serve(address, Some(Arc::new(move || self.render())), readiness)
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_the_python_agent_metric_names() {
        let metrics = Metrics::default();
        metrics.frames.inc();
        metrics.action("CLICK");
        metrics.action("CLICK");
        Metrics::observe(&metrics.inference, Duration::from_millis(30));
        let text = metrics.render();
        for name in [
            "neko_frames_received_total 1",
            "neko_actions_executed_total{action_type=\"CLICK\"} 2",
            "neko_parse_errors_total 0",
            "neko_navigation_steps_total 0",
            "neko_inference_latency_seconds_count 1",
            "neko_reconnects_total 0",
            "neko_resize_duration_seconds_count 0",
            "neko_decode_step_seconds_count 0",
        ] {
            assert!(text.contains(name), "{name} missing from\n{text}");
        }
    }
}
