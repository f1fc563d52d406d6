//! Why an export did not start or did not finish, each failure with its cause.

use std::io;
use std::path::PathBuf;
use std::process::ExitStatus;

use super::needs::{HostError, gb};
use super::source::{MAX_HEADER_BYTES, MAX_HUB_ANSWER_BYTES};

/// Why an export did not start or did not finish.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// The local checkpoint is not usable.
    #[error("{path}: {problem}")]
    LocalModel {
        /// The directory given.
        path: PathBuf,
        /// What is wrong.
        #[source]
        problem: LocalModelProblem,
    },
    /// The hub did not answer.
    #[error(
        "cannot reach the Hugging Face hub at {endpoint}: {reason} (check the network or HF_ENDPOINT; with the model already in the cache set HF_HUB_OFFLINE=1, or pass --model a local directory)"
    )]
    HubUnreachable {
        /// `HF_ENDPOINT`.
        endpoint: String,
        /// The failure.
        #[source]
        reason: HubFailure,
    },
    /// The hub answered with an error for the model.
    #[error("the hub answered {status} for {model}: {}", hub_hint(*status, *has_token))]
    HubRefused {
        /// The model id.
        model: String,
        /// HTTP status.
        status: u16,
        /// Whether a token was sent.
        has_token: bool,
    },
    /// The hub's answer was not what its API returns.
    #[error("the hub's answer for {model} is not usable: {reason}")]
    HubAnswer {
        /// The model id.
        model: String,
        /// What is wrong.
        #[source]
        reason: HubAnswerProblem,
    },
    /// Offline, and the model is not in the cache.
    #[error(
        "HF_HUB_OFFLINE is set but {model} is not in the hub cache at {cache} (download it once online, or pass --model a local directory)"
    )]
    NotCached {
        /// The model id.
        model: String,
        /// The cache searched.
        cache: PathBuf,
    },
    /// This machine lacks memory or disk for the export.
    #[error(
        "the export needs about {} of {place} for {what}, this machine has {} (free some, export on a larger machine, or pass --skip-checks if swap makes up the difference)",
        gb(*need),
        gb(*has)
    )]
    NotEnough {
        /// What it is for.
        what: &'static str,
        /// "memory" or "free disk at PATH".
        place: String,
        /// Bytes needed.
        need: u64,
        /// Bytes available.
        has: u64,
    },
    /// What this machine has could not be read.
    #[error("cannot tell what this machine has: {reason} (pass --skip-checks to start anyway)")]
    HostUnknown {
        /// The failure.
        #[source]
        reason: HostError,
    },
    /// The Python environment could not be created or installed.
    #[error("the Python environment in {dir} is not usable: {reason}")]
    PythonEnv {
        /// The environment directory.
        dir: PathBuf,
        /// The failure.
        #[source]
        reason: EnvFailure,
    },
    /// The export script could not be run.
    #[error("cannot run the export: {reason}")]
    Run {
        /// The failure.
        #[source]
        reason: RunFailure,
    },
    /// A step of the export script ran and failed; its own output says why.
    #[error("the {step} failed ({status}); the output above says why")]
    StepFailed {
        /// The step's name.
        step: &'static str,
        /// Its exit status, as text.
        status: String,
    },
}

/// What is wrong with a local checkpoint or processor directory.
#[derive(Debug, thiserror::Error)]
pub enum LocalModelProblem {
    /// The path is not a directory.
    #[error("is not a directory (give a hub id like showlab/ShowUI-2B or a checkpoint directory)")]
    NotADirectory,
    /// No `config.json`.
    #[error("has no config.json: not a transformers checkpoint")]
    NoConfig,
    /// No `tokenizer_config.json` in a processor source.
    #[error(
        "has no tokenizer_config.json (a processor source needs the tokenizer and preprocessor files)"
    )]
    NoTokenizerConfig,
    /// The directory cannot be listed.
    #[error("{0}")]
    Unlisted(#[source] io::Error),
    /// No `*.safetensors` files.
    #[error(
        "has no *.safetensors weights (save it with save_pretrained(..., safe_serialization=True))"
    )]
    NoWeights,
    /// A weight file whose header cannot be measured.
    #[error("{}: {source}", file.display())]
    Weights {
        /// The safetensors file.
        file: PathBuf,
        /// What is wrong with it.
        #[source]
        source: SafetensorsError,
    },
}

/// Why a safetensors header cannot be measured.
#[derive(Debug, thiserror::Error)]
pub enum SafetensorsError {
    /// The file cannot be opened.
    #[error("{0}")]
    Open(#[source] io::Error),
    /// The 8-byte header length cannot be read.
    #[error("cannot read its header length: {0}")]
    HeaderLength(#[source] io::Error),
    /// A header length no safetensors file has.
    #[error(
        "its header claims {0} bytes, more than the {MAX_HEADER_BYTES} read: not a safetensors file"
    )]
    HeaderTooLong(u64),
    /// The header cannot be read.
    #[error("cannot read its header: {0}")]
    Header(#[source] io::Error),
    /// The header is not JSON.
    #[error("its header is not JSON: {0}")]
    HeaderJson(#[source] serde_json::Error),
    /// A tensor entry without a shape.
    #[error("tensor {0:?} has no shape")]
    NoShape(String),
    /// A tensor shape that is not a list of sizes, or whose product overflows.
    #[error("tensor {tensor:?} has a bad shape {shape:?}")]
    BadShape {
        /// The tensor's name.
        tensor: String,
        /// The shape as stored.
        shape: Vec<serde_json::Value>,
    },
}

/// Why the hub could not be asked.
#[derive(Debug, thiserror::Error)]
pub enum HubFailure {
    /// The HTTP client cannot be built.
    #[error("{0}")]
    Client(#[source] reqwest::Error),
    /// The request or the answer failed on the way.
    #[error("{}", error_chain(.0))]
    Request(#[source] reqwest::Error),
    /// An answer larger than is read.
    #[error("its answer for {model} is {bytes} bytes, more than the {MAX_HUB_ANSWER_BYTES} read")]
    AnswerTooLarge {
        /// The model id.
        model: String,
        /// Bytes in the answer.
        bytes: usize,
    },
}

/// What is wrong with the hub's answer about a model.
#[derive(Debug, thiserror::Error)]
pub enum HubAnswerProblem {
    /// It is not the JSON the model API returns.
    #[error("{0}")]
    Json(#[source] serde_json::Error),
    /// It lists no safetensors weights.
    #[error("it lists no safetensors weights (a checkpoint in safetensors format is needed)")]
    NoWeights,
}

/// Why the Python environment could not be created or installed.
#[derive(Debug, thiserror::Error)]
pub enum EnvFailure {
    /// The Python that creates the environment does not run.
    #[error(
        "cannot run {}: {source} (install Python 3.10 or newer, or pass --python)",
        python.display()
    )]
    NoPython {
        /// The interpreter given.
        python: PathBuf,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// `python -m venv` failed.
    #[error(
        "{} -m venv failed: {stderr} (on Debian/Ubuntu: apt install python3-venv)",
        python.display()
    )]
    Venv {
        /// The interpreter given.
        python: PathBuf,
        /// What it wrote to stderr.
        stderr: String,
    },
    /// A file in the environment cannot be written.
    #[error("{0}")]
    Write(#[source] io::Error),
    /// pip does not start.
    #[error("{0}")]
    NoPip(#[source] io::Error),
    /// pip ran and failed.
    #[error("pip install failed ({0}); its output above says why (PyPI must be reachable)")]
    Pip(ExitStatus),
}

/// Why the export script could not be run.
#[derive(Debug, thiserror::Error)]
pub enum RunFailure {
    /// A directory cannot be created.
    #[error("cannot create {}: {source}", path.display())]
    CreateDir {
        /// The directory.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// The script cannot be written.
    #[error("{0}")]
    WriteScript(#[source] io::Error),
    /// The environment's Python does not start.
    #[error("cannot start {}: {source}", python.display())]
    Start {
        /// The interpreter.
        python: PathBuf,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// Waiting for the step failed.
    #[error("waiting for the {step}: {source}")]
    Wait {
        /// The step's name.
        step: &'static str,
        /// The OS error.
        #[source]
        source: io::Error,
    },
}

fn hub_hint(status: u16, has_token: bool) -> &'static str {
    match (status, has_token) {
        (401 | 403, false) => {
            "the model is gated or private; accept its terms on the hub and set HF_TOKEN"
        }
        (401 | 403, true) => "HF_TOKEN was refused or has no access to this model",
        (404, _) => "no such model (check the id)",
        (429, _) => "too many requests; wait and run again",
        _ => "the hub failed; try again later",
    }
}

/// An error and its causes on one line (reqwest hides the useful part in the sources).
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(inner) = cause {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        cause = inner.source();
    }
    text
}
