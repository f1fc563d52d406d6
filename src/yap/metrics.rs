//! yap's Prometheus metrics (`YAP_METRICS_PORT`): what was asked, synthesised, spoken and lost.

use std::net::SocketAddr;
use std::sync::Arc;

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

/// Seconds from `/yap` to a chunk's audio being queued.
const LATENCY_BUCKETS: [f64; 10] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0];

/// The metrics and their registry.
pub struct YapMetrics {
    registry: Registry,
    /// What `/readyz` reports: the voice's room session is connected.
    pub readiness: crate::metrics_server::Readiness,
    /// `/yap` utterances received.
    pub utterances: Counter,
    /// Chunks queued for the room.
    pub chunks: Counter,
    /// Chunks that failed to synthesise.
    pub failures: Counter,
    /// Seconds of speech synthesised.
    pub audio_seconds: Counter<f64>,
    /// Seconds spent synthesising.
    pub synthesis_seconds: Counter<f64>,
    /// Seconds from the request to a chunk's audio being queued.
    pub chunk_latency: Histogram,
}

impl Default for YapMetrics {
    fn default() -> Self {
        let mut metrics = Self {
            utterances: Counter::default(),
            chunks: Counter::default(),
            failures: Counter::default(),
            audio_seconds: Counter::default(),
            synthesis_seconds: Counter::default(),
            chunk_latency: Histogram::new(LATENCY_BUCKETS),
            registry: Registry::default(),
            readiness: crate::metrics_server::Readiness::default(),
        };
        metrics.registry.register(
            "yap_utterances",
            "/yap requests received",
            metrics.utterances.clone(),
        );
        metrics.registry.register(
            "yap_chunks",
            "Chunks queued for the room",
            metrics.chunks.clone(),
        );
        metrics.registry.register(
            "yap_chunk_failures",
            "Chunks that could not be synthesised",
            metrics.failures.clone(),
        );
        metrics.registry.register(
            "yap_audio_seconds",
            "Seconds of speech synthesised",
            metrics.audio_seconds.clone(),
        );
        metrics.registry.register(
            "yap_synthesis_seconds",
            "Seconds spent synthesising",
            metrics.synthesis_seconds.clone(),
        );
        metrics.registry.register(
            "yap_chunk_latency_seconds",
            "Seconds from the request to the chunk's audio being queued",
            metrics.chunk_latency.clone(),
        );
        metrics
    }
}

impl YapMetrics {
    /// The text exposition format.
    pub fn render(&self) -> String {
        crate::metrics_server::render(&self.registry)
    }

    /// Serves `/metrics`, `/healthz` and `/readyz` on `address`; returns the bound address.
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
    fn renders_every_metric() {
        let metrics = YapMetrics::default();
        metrics.chunks.inc();
        metrics.audio_seconds.inc_by(1.5);
        metrics.chunk_latency.observe(0.02);
        let text = metrics.render();
        for name in [
            "yap_chunks_total 1",
            "yap_audio_seconds_total 1.5",
            "yap_chunk_latency_seconds_count 1",
            "yap_utterances_total 0",
        ] {
            assert!(text.contains(name), "{name} missing from\n{text}");
        }
    }
}
