//! The model directory: three ONNX graphs per precision variant under `onnx/`, plus the tokenizer
//! and the JSON configs, in the onnx-community / transformers.js Qwen2-VL layout.

use std::fmt;
use std::path::{Path, PathBuf};

/// How to obtain a model directory, appended to layout errors.
const HOW_TO_GET: &str = "export ShowUI-2B with `python3 scripts/models/export_showui.py` (see models/README.md), or point NEKO_MODEL_DIR at the test fixture models/showui-fixture";

/// The three graphs, in the order they run.
pub const GRAPHS: [&str; 3] = ["vision_encoder", "embed_tokens", "decoder_model_merged"];

/// A model directory that lacks something.
#[derive(Debug, thiserror::Error)]
pub enum LayoutError {
    /// The directory does not exist.
    #[error("model directory {dir} does not exist; {HOW_TO_GET}")]
    NoDirectory {
        /// The directory.
        dir: PathBuf,
    },
    /// A required file is missing.
    #[error("model file {path} is missing; {HOW_TO_GET}")]
    MissingFile {
        /// The file.
        path: PathBuf,
    },
    /// No precision variant has all three graphs.
    #[error("{dir} has no complete set of {} graphs in any precision (looked for suffixes \"\", _fp16, _q4f16, _q4, _quantized); {HOW_TO_GET}", GRAPHS.join("/"))]
    NoGraphs {
        /// The `onnx/` folder.
        dir: PathBuf,
    },
}

/// Precision variant of the graphs (`NEKO_MODEL_DTYPE`), chosen by file-name suffix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Dtype {
    /// The first variant present in the order fp32, fp16, q4f16, q4, quantized.
    #[default]
    Auto,
    /// `*.onnx`: float32.
    Fp32,
    /// `*_fp16.onnx`: float16 weights and I/O.
    Fp16,
    /// `*_q4f16.onnx`: 4-bit weights, float16 I/O.
    Q4f16,
    /// `*_q4.onnx`: 4-bit weights, float32 I/O.
    Q4,
    /// `*_quantized.onnx`: 8-bit weights.
    Quantized,
}

impl Dtype {
    /// Order in which `Auto` tries the variants.
    pub const PREFERENCE: [Dtype; 5] = [
        Dtype::Fp32,
        Dtype::Fp16,
        Dtype::Q4f16,
        Dtype::Q4,
        Dtype::Quantized,
    ];

    /// File-name suffix of the variant (`Auto` has none of its own).
    fn suffix(self) -> &'static str {
        match self {
            Dtype::Auto | Dtype::Fp32 => "",
            Dtype::Fp16 => "_fp16",
            Dtype::Q4f16 => "_q4f16",
            Dtype::Q4 => "_q4",
            Dtype::Quantized => "_quantized",
        }
    }
}

impl fmt::Display for Dtype {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Dtype::Auto => "auto",
            Dtype::Fp32 => "fp32",
            Dtype::Fp16 => "fp16",
            Dtype::Q4f16 => "q4f16",
            Dtype::Q4 => "q4",
            Dtype::Quantized => "quantized",
        })
    }
}

/// Every file of a model directory, with the precision variant resolved.
#[derive(Debug, Clone)]
pub struct ModelFiles {
    /// The model directory.
    pub dir: PathBuf,
    /// The variant found (never `Auto`).
    pub dtype: Dtype,
    /// `onnx/vision_encoder{suffix}.onnx`.
    pub vision_encoder: PathBuf,
    /// `onnx/embed_tokens{suffix}.onnx`.
    pub embed_tokens: PathBuf,
    /// `onnx/decoder_model_merged{suffix}.onnx`.
    pub decoder: PathBuf,
    /// `tokenizer.json`.
    pub tokenizer: PathBuf,
    /// `config.json`.
    pub config: PathBuf,
    /// `preprocessor_config.json`.
    pub preprocessor: PathBuf,
    /// `generation_config.json`.
    pub generation: PathBuf,
}

impl ModelFiles {
    /// Finds the files of `dir` for `dtype`, or explains what is missing.
    pub fn locate(dir: &Path, dtype: Dtype) -> Result<Self, LayoutError> {
        if !dir.is_dir() {
            return Err(LayoutError::NoDirectory {
                dir: dir.to_owned(),
            });
        }
        let onnx = dir.join("onnx");
        let graphs =
            |dtype: Dtype| GRAPHS.map(|g| onnx.join(format!("{g}{}.onnx", dtype.suffix())));
        let (dtype, [vision_encoder, embed_tokens, decoder]) = if dtype == Dtype::Auto {
            Dtype::PREFERENCE
                .into_iter()
                .map(|d| (d, graphs(d)))
                .find(|(_, files)| files.iter().all(|f| f.is_file()))
                .ok_or(LayoutError::NoGraphs { dir: onnx.clone() })?
        } else {
            let files = graphs(dtype);
            if let Some(missing) = files.iter().find(|f| !f.is_file()) {
                return Err(LayoutError::MissingFile {
                    path: missing.clone(),
                });
            }
            (dtype, files)
        };
        let required = |name: &str| {
            let path = dir.join(name);
            if path.is_file() {
                Ok(path)
            } else {
                Err(LayoutError::MissingFile { path })
            }
        };
        Ok(Self {
            dir: dir.to_owned(),
            dtype,
            vision_encoder,
            embed_tokens,
            decoder,
            tokenizer: required("tokenizer.json")?,
            config: required("config.json")?,
            preprocessor: required("preprocessor_config.json")?,
            generation: required("generation_config.json")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("models/showui-fixture")
    }

    #[test]
    fn auto_finds_the_fp32_fixture() {
        let files = ModelFiles::locate(&fixture(), Dtype::Auto).unwrap();
        assert_eq!(files.dtype, Dtype::Fp32);
        assert!(files.decoder.ends_with("onnx/decoder_model_merged.onnx"));
    }

    #[test]
    fn auto_takes_the_first_complete_variant_in_preference_order() {
        let dir = std::env::temp_dir().join(format!("neko-model-layout-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("onnx")).unwrap();
        for name in [
            "tokenizer.json",
            "config.json",
            "preprocessor_config.json",
            "generation_config.json",
        ] {
            std::fs::write(dir.join(name), "{}").unwrap();
        }
        // q4 is complete, fp16 lacks its decoder, quantized is complete but comes later.
        for (graphs, suffix) in [
            (&GRAPHS[..], "_q4"),
            (&GRAPHS[..2], "_fp16"),
            (&GRAPHS[..], "_quantized"),
        ] {
            for graph in graphs {
                std::fs::write(dir.join(format!("onnx/{graph}{suffix}.onnx")), "").unwrap();
            }
        }
        let files = ModelFiles::locate(&dir, Dtype::Auto).unwrap();
        assert_eq!(files.dtype, Dtype::Q4);
        assert!(files.embed_tokens.ends_with("onnx/embed_tokens_q4.onnx"));
        let quantized = ModelFiles::locate(&dir, Dtype::Quantized).unwrap();
        assert!(
            quantized
                .decoder
                .ends_with("onnx/decoder_model_merged_quantized.onnx")
        );
        let err = ModelFiles::locate(&dir, Dtype::Fp16)
            .unwrap_err()
            .to_string();
        assert!(err.contains("decoder_model_merged_fp16.onnx"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_missing_variant_names_the_file() {
        let err = ModelFiles::locate(&fixture(), Dtype::Q4f16)
            .unwrap_err()
            .to_string();
        assert!(err.contains("vision_encoder_q4f16.onnx"), "{err}");
        assert!(err.contains("export_showui.py"), "{err}");
    }

    #[test]
    fn a_missing_directory_says_how_to_get_one() {
        let err = ModelFiles::locate(Path::new("/nonexistent/showui-2b"), Dtype::Auto)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("/nonexistent/showui-2b") && err.contains("models/showui-fixture"),
            "{err}"
        );
    }
}
