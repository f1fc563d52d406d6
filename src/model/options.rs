//! Settings of the model engine: flags and `NEKO_*` variables.

use std::path::PathBuf;

use clap::Parser;

use super::image::{SHOWUI_MAX_PIXELS, SHOWUI_MIN_PIXELS};
use super::layout::Dtype;
use super::profiles::TOKENS_RANGE;
use super::scheduler::BatchOptions;
use crate::onnx::ProviderChoice;

/// The environment holds a setting that does not parse.
#[derive(Debug, thiserror::Error)]
#[error("model settings are invalid: {0}")]
pub struct OptionsError(#[source] clap::Error);

/// Where `--model-dir` points when it is not given: the real model's export folder.
pub const DEFAULT_MODEL_DIR: &str = "models/showui-2b";

/// Default of `--trt-max-tokens`: ShowUI's largest image (1344 tokens) with room for a long
/// task, its history and the reply.
pub const DEFAULT_TRT_MAX_TOKENS: usize = 4096;

/// Where the model is and how to run it.
#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
pub struct ModelOptions {
    /// Model directory in the onnx-community Qwen2-VL layout (onnx/, tokenizer.json, configs).
    #[arg(
        long = "model-dir",
        env = "NEKO_MODEL_DIR",
        default_value = DEFAULT_MODEL_DIR
    )]
    pub model_dir: PathBuf,
    /// Graph precision variant to load.
    #[arg(
        long = "model-dtype",
        env = "NEKO_MODEL_DTYPE",
        value_enum,
        default_value_t
    )]
    pub dtype: Dtype,
    /// Execution provider.
    #[arg(
        long = "execution-provider",
        env = "NEKO_EXECUTION_PROVIDER",
        value_enum,
        default_value_t
    )]
    pub execution_provider: ProviderChoice,
    /// ONNX Runtime library file or folder (else `$NEKO_ORT_LIB`, `$ORT_DYLIB_PATH`,
    /// `<exe dir>/lib`, `.ort/lib`).
    #[arg(long = "ort-lib")]
    pub ort_library: Option<PathBuf>,
    /// Smallest image area in pixels after resizing.
    #[arg(long = "min-pixels", env = "NEKO_MIN_PIXELS", default_value_t = SHOWUI_MIN_PIXELS)]
    pub min_pixels: u64,
    /// Largest image area in pixels after resizing.
    #[arg(long = "max-pixels", env = "NEKO_MAX_PIXELS", default_value_t = SHOWUI_MAX_PIXELS)]
    pub max_pixels: u64,
    /// Most tokens (prompt and generated) one sequence may reach on TensorRT, whose decoder
    /// engine is built for sequences up to this length (and up to `--max-batch` of them); a
    /// longer one is refused with an error.
    #[arg(
        long = "trt-max-tokens",
        env = "NEKO_TRT_MAX_TOKENS",
        default_value_t = DEFAULT_TRT_MAX_TOKENS,
        value_parser = max_tokens
    )]
    pub trt_max_tokens: usize,
    /// How rooms' steps are batched into model calls.
    #[command(flatten)]
    pub batching: BatchOptions,
}

/// A `--trt-max-tokens` value: a whole number from 2 to Qwen2-VL's position limit.
fn max_tokens(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(n) if TOKENS_RANGE.contains(&n) => Ok(n),
        _ => Err(format!(
            "expected a whole number from {} to {}",
            TOKENS_RANGE.start(),
            TOKENS_RANGE.end()
        )),
    }
}

impl ModelOptions {
    /// Defaults (ShowUI's pixel budget, automatic dtype and provider) for `model_dir`.
    pub fn new(model_dir: impl Into<PathBuf>) -> Self {
        Self {
            model_dir: model_dir.into(),
            dtype: Dtype::Auto,
            execution_provider: ProviderChoice::Auto,
            ort_library: None,
            min_pixels: SHOWUI_MIN_PIXELS,
            max_pixels: SHOWUI_MAX_PIXELS,
            trt_max_tokens: DEFAULT_TRT_MAX_TOKENS,
            batching: BatchOptions::default(),
        }
    }

    /// The settings from the `NEKO_*` environment variables alone, defaults elsewhere.
    pub fn from_env() -> Result<Self, OptionsError> {
        #[derive(Parser)]
        struct EnvOnly {
            #[command(flatten)]
            options: ModelOptions,
        }
        EnvOnly::try_parse_from(["neko-agent"])
            .map(|parsed| parsed.options)
            .map_err(OptionsError)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_parse_into_options() {
        #[derive(Parser)]
        struct Cli {
            #[command(flatten)]
            options: ModelOptions,
        }
        let cli = Cli::try_parse_from([
            "x",
            "--model-dir",
            "models/showui-fixture",
            "--model-dtype",
            "q4f16",
            "--execution-provider",
            "cpu",
            "--min-pixels",
            "3136",
            "--trt-max-tokens",
            "8192",
        ])
        .unwrap();
        assert_eq!(
            cli.options,
            ModelOptions {
                dtype: Dtype::Q4f16,
                execution_provider: ProviderChoice::Cpu,
                min_pixels: 3136,
                trt_max_tokens: 8192,
                ..ModelOptions::new("models/showui-fixture")
            }
        );
        let beyond = Cli::try_parse_from(["x", "--trt-max-tokens", "40000"])
            .err()
            .unwrap()
            .to_string();
        assert!(beyond.contains("from 2 to 32768"), "{beyond}");
    }
}
