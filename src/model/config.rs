//! The JSON files next to the graphs: `config.json`, `preprocessor_config.json` and
//! `generation_config.json`, reduced to the fields inference needs.

use std::path::{Path, PathBuf};

use serde::Deserialize;

/// A JSON file of the model directory that could not be read or understood.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not the JSON shape expected.
    #[error("{path} is not a valid Qwen2-VL {what}: {source}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// Which kind of file it should be.
        what: &'static str,
        /// What serde reported.
        source: serde_json::Error,
    },
    /// A value the engine cannot work with.
    #[error("{path}: {problem}")]
    Unsupported {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        problem: String,
    },
}

/// What `config.json` says about the token ids and the text model.
#[derive(Debug, Clone, Deserialize)]
pub struct ModelConfig {
    /// Id of `<|image_pad|>`.
    #[serde(default = "image_token_default")]
    pub image_token_id: u32,
    /// Id of `<|vision_start|>`.
    #[serde(default = "vision_start_default")]
    pub vision_start_token_id: u32,
    /// Text hidden size (width of the embeddings).
    pub hidden_size: usize,
    /// Attention heads of the text model.
    pub num_attention_heads: usize,
    /// Key/value heads of the text model.
    pub num_key_value_heads: usize,
    /// Layers of the text model (one KV cache pair each).
    pub num_hidden_layers: usize,
    /// Vision tower settings.
    pub vision_config: VisionConfig,
}

/// The vision part of `config.json`.
#[derive(Debug, Clone, Deserialize)]
pub struct VisionConfig {
    /// Side of the square of patches merged into one image token.
    #[serde(default = "merge_default")]
    pub spatial_merge_size: usize,
}

impl ModelConfig {
    /// Width of one attention head of the text model (and of its KV cache rows).
    pub fn head_dim(&self) -> usize {
        self.hidden_size / self.num_attention_heads.max(1)
    }
}

fn image_token_default() -> u32 {
    151655
}
fn vision_start_default() -> u32 {
    151652
}
fn merge_default() -> usize {
    2
}

/// `preprocessor_config.json` (Qwen2VLImageProcessor).
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct PreprocessorConfig {
    /// Side of one vision patch in pixels.
    pub patch_size: usize,
    /// Frames per temporal patch (a still image is repeated this many times).
    pub temporal_patch_size: usize,
    /// Side of the square of patches merged into one token.
    pub merge_size: usize,
    /// Per-channel mean after rescaling (kept as f64 like Python, cast to f32 where numpy does).
    pub image_mean: [f64; 3],
    /// Per-channel standard deviation after rescaling.
    pub image_std: [f64; 3],
    /// Factor from bytes to the 0..1 range.
    pub rescale_factor: f64,
    /// PIL resampling filter (3 = bicubic, the only one implemented).
    #[serde(default = "bicubic_default")]
    pub resample: u32,
}

fn bicubic_default() -> u32 {
    3
}

impl Default for PreprocessorConfig {
    /// Qwen2-VL's published values.
    fn default() -> Self {
        Self {
            patch_size: 14,
            temporal_patch_size: 2,
            merge_size: 2,
            image_mean: [0.48145466, 0.4578275, 0.40821073],
            image_std: [0.26862954, 0.26130258, 0.27577711],
            rescale_factor: 1.0 / 255.0,
            resample: 3,
        }
    }
}

/// `generation_config.json`: which tokens end a reply.
#[derive(Debug, Clone, Deserialize)]
pub struct GenerationConfig {
    /// One id or a list of ids that stop generation.
    #[serde(default)]
    pub eos_token_id: Option<OneOrMany>,
}

/// A JSON number or a list of numbers.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum OneOrMany {
    /// A single id.
    One(u32),
    /// Several ids.
    Many(Vec<u32>),
}

impl GenerationConfig {
    /// The end-of-sequence ids, in file order.
    pub fn eos_ids(&self) -> Vec<u32> {
        match &self.eos_token_id {
            None => Vec::new(),
            Some(OneOrMany::One(id)) => vec![*id],
            Some(OneOrMany::Many(ids)) => ids.clone(),
        }
    }
}

/// Reads and parses one of the JSON files.
pub fn read_json<T: serde::de::DeserializeOwned>(
    path: &Path,
    what: &'static str,
) -> Result<T, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_owned(),
        source,
    })?;
    serde_json::from_str(&text).map_err(|source| ConfigError::Parse {
        path: path.to_owned(),
        what,
        source,
    })
}

impl PreprocessorConfig {
    /// Reads `preprocessor_config.json` and checks that this engine can reproduce it.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let config: Self = read_json(path, "preprocessor_config.json")?;
        let unsupported = |problem: String| ConfigError::Unsupported {
            path: path.to_owned(),
            problem,
        };
        if config.resample != 3 {
            return Err(unsupported(format!(
                "resample = {} but only 3 (bicubic, as Qwen2-VL uses) is implemented",
                config.resample
            )));
        }
        if config.patch_size == 0 || config.merge_size == 0 || config.temporal_patch_size == 0 {
            return Err(unsupported(
                "patch_size, merge_size and temporal_patch_size must be positive".into(),
            ));
        }
        if config.image_std.contains(&0.0) {
            return Err(unsupported("image_std has a zero".into()));
        }
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eos_ids_take_a_number_or_a_list() {
        let one: GenerationConfig = serde_json::from_str(r#"{"eos_token_id": 7}"#).unwrap();
        assert_eq!(one.eos_ids(), vec![7]);
        let many: GenerationConfig =
            serde_json::from_str(r#"{"eos_token_id": [151645, 151643]}"#).unwrap();
        assert_eq!(many.eos_ids(), vec![151645, 151643]);
        let none: GenerationConfig = serde_json::from_str("{}").unwrap();
        assert!(none.eos_ids().is_empty());
    }

    #[test]
    fn fixture_configs_parse() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("models/showui-fixture");
        let model: ModelConfig = read_json(&dir.join("config.json"), "config.json").unwrap();
        assert_eq!(model.image_token_id, 151655);
        assert_eq!(model.vision_config.spatial_merge_size, 2);
        let pre = PreprocessorConfig::load(&dir.join("preprocessor_config.json")).unwrap();
        assert_eq!(pre, PreprocessorConfig::default());
    }

    #[test]
    fn other_resampling_filters_are_refused() {
        let path = std::env::temp_dir().join(format!(
            "neko-model-preprocessor-{}.json",
            std::process::id()
        ));
        std::fs::write(
            &path,
            r#"{"patch_size":14,"temporal_patch_size":2,"merge_size":2,"image_mean":[0,0,0],
                "image_std":[1,1,1],"rescale_factor":0.5,"resample":2}"#,
        )
        .unwrap();
        let err = PreprocessorConfig::load(&path).unwrap_err().to_string();
        std::fs::remove_file(&path).unwrap();
        assert!(err.contains("resample = 2"), "{err}");
    }
}
