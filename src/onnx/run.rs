//! Why running a graph failed, the same for every engine.

/// A graph run that failed or did not produce an output the graph declares.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// ONNX Runtime reported an error.
    #[error("running {graph} failed: {source}")]
    Failed {
        /// Which graph.
        graph: &'static str,
        /// What ONNX Runtime reported.
        #[source]
        source: ort::Error,
    },
    /// A declared output is missing from the run's outputs.
    #[error("running {graph} failed: output {name} missing")]
    MissingOutput {
        /// Which graph.
        graph: &'static str,
        /// The output.
        name: String,
    },
}
