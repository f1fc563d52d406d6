//! Settings of the F5-TTS engine: flags and `YAP_F5_*` variables.

use std::path::PathBuf;

use clap::Parser;

use crate::onnx::ProviderChoice;

/// Where `--f5-model-dir` points when it is not given (ignored by git; see
/// `docs/voice-models.md`).
pub const DEFAULT_F5_MODEL_DIR: &str = "models/f5-tts";

/// The environment holds a setting that does not parse.
#[derive(Debug, thiserror::Error)]
#[error("F5-TTS settings are invalid: {0}")]
pub struct F5OptionsError(#[source] clap::Error);

/// Where the F5-TTS graphs are and how to run them.
#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
pub struct F5Options {
    /// Folder with F5_Preprocess.onnx, F5_Transformer.onnx, F5_Decode.onnx and vocab.txt.
    #[arg(
        id = "f5_model_dir",
        long = "f5-model-dir",
        env = "YAP_F5_MODEL_DIR",
        default_value = DEFAULT_F5_MODEL_DIR
    )]
    pub model_dir: PathBuf,
    /// Execution provider for the three graphs (CPU unless asked; `cuda` on a GPU machine).
    #[arg(
        id = "f5_execution_provider",
        long = "f5-execution-provider",
        env = "YAP_F5_EXECUTION_PROVIDER",
        value_enum,
        default_value = "cpu"
    )]
    pub execution_provider: ProviderChoice,
}

impl F5Options {
    /// CPU settings for the graphs in `model_dir`.
    pub fn new(model_dir: impl Into<PathBuf>) -> Self {
        Self {
            model_dir: model_dir.into(),
            execution_provider: ProviderChoice::Cpu,
        }
    }

    /// The settings from the `YAP_F5_*` environment variables alone, defaults elsewhere.
    pub fn from_env() -> Result<Self, F5OptionsError> {
        #[derive(Parser)]
        struct EnvOnly {
            #[command(flatten)]
            options: F5Options,
        }
        EnvOnly::try_parse_from(["yap"])
            .map(|parsed| parsed.options)
            .map_err(F5OptionsError)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_parse_and_cpu_is_the_default() {
        #[derive(Parser)]
        struct Cli {
            #[command(flatten)]
            options: F5Options,
        }
        let cli = Cli::try_parse_from(["x", "--f5-model-dir", "models/f5-fixture"]).unwrap();
        assert_eq!(cli.options, F5Options::new("models/f5-fixture"));
        let cli = Cli::try_parse_from(["x", "--f5-execution-provider", "cuda"]).unwrap();
        assert_eq!(cli.options.execution_provider, ProviderChoice::Cuda);
        assert_eq!(cli.options.model_dir, PathBuf::from(DEFAULT_F5_MODEL_DIR));
    }
}
