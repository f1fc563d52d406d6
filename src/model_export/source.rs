//! What is exported: a checkpoint on the Hugging Face hub or in a local directory, and how many
//! parameters it has (the size everything else is estimated from).

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::error::{
    ExportError, HubAnswerProblem, HubFailure, LocalModelProblem, SafetensorsError,
};

/// The largest safetensors header read (the real ones are a few hundred kB).
pub(super) const MAX_HEADER_BYTES: u64 = 64 << 20;
/// How long the hub may take to answer a model query.
const HUB_TIMEOUT: Duration = Duration::from_secs(15);
/// The largest hub answer read.
pub(super) const MAX_HUB_ANSWER_BYTES: usize = 4 << 20;

/// Where a checkpoint comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A directory with `config.json` and `*.safetensors`.
    Local(PathBuf),
    /// A model id on the hub (`owner/name`).
    Hub(String),
}

impl Source {
    /// A path that exists or looks like one (`/`, `.`, `~` first) is local; `owner/name` is a
    /// hub id.
    pub fn parse(text: &str) -> Self {
        let path = Path::new(text);
        let looks_local = text.starts_with(['/', '.', '~']) || text.split('/').count() != 2;
        if path.exists() || looks_local {
            Self::Local(path.to_owned())
        } else {
            Self::Hub(text.to_owned())
        }
    }
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Local(path) => write!(f, "{}", path.display()),
            Self::Hub(id) => write!(f, "{id}"),
        }
    }
}

/// The size of a checkpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Checkpoint {
    /// Parameters (elements of every stored tensor).
    pub parameters: u64,
    /// Bytes of its weight files, to download when it is not cached yet (0 when local or cached).
    pub download_bytes: u64,
}

/// The hub the Python side will talk to: `HF_ENDPOINT`, `HF_TOKEN`, `HF_HUB_OFFLINE`, the cache.
#[derive(Debug, Clone)]
pub struct Hub {
    /// Base URL (`HF_ENDPOINT`, default `https://huggingface.co`).
    pub endpoint: String,
    /// Access token (`HF_TOKEN`), for gated or private models.
    pub token: Option<String>,
    /// `HF_HUB_OFFLINE` set: only the local cache is used.
    pub offline: bool,
    /// The hub cache (`HF_HUB_CACHE`, else `$HF_HOME/hub`, else `~/.cache/huggingface/hub`).
    pub cache: PathBuf,
}

impl Hub {
    /// The hub as the environment describes it.
    pub fn from_env() -> Self {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        let home = var("HOME").map(PathBuf::from).unwrap_or_default();
        let cache = var("HF_HUB_CACHE").map(PathBuf::from).unwrap_or_else(|| {
            var("HF_HOME")
                .map(PathBuf::from)
                .unwrap_or_else(|| home.join(".cache/huggingface"))
                .join("hub")
        });
        Self {
            endpoint: var("HF_ENDPOINT")
                .unwrap_or_else(|| "https://huggingface.co".to_owned())
                .trim_end_matches('/')
                .to_owned(),
            token: var("HF_TOKEN").or_else(|| var("HUGGING_FACE_HUB_TOKEN")),
            offline: var("HF_HUB_OFFLINE").is_some_and(|v| !matches!(v.as_str(), "0" | "false")),
            cache,
        }
    }

    /// The newest cached snapshot of `id`, if any.
    fn cached_snapshot(&self, id: &str) -> Option<PathBuf> {
        let dir = self
            .cache
            .join(format!("models--{}", id.replace('/', "--")))
            .join("snapshots");
        std::fs::read_dir(dir)
            .ok()?
            .filter_map(Result::ok)
            .map(|entry| entry.path())
            .filter(|path| path.join("config.json").exists())
            .max_by_key(|path| std::fs::metadata(path).and_then(|m| m.modified()).ok())
    }
}

/// Measures `source`: from the safetensors headers of a local or cached copy, else by asking
/// the hub (which also proves it is reachable and the model is accessible).
pub async fn checkpoint(source: &Source, hub: &Hub) -> Result<Checkpoint, ExportError> {
    match source {
        Source::Local(dir) => Ok(Checkpoint {
            parameters: local_parameters(dir)?,
            download_bytes: 0,
        }),
        Source::Hub(id) => {
            if let Some(snapshot) = hub.cached_snapshot(id)
                && let Ok(parameters) = local_parameters(&snapshot)
            {
                return Ok(Checkpoint {
                    parameters,
                    download_bytes: 0,
                });
            }
            if hub.offline {
                return Err(ExportError::NotCached {
                    model: id.clone(),
                    cache: hub.cache.clone(),
                });
            }
            let info = model_info(hub, id).await?;
            Ok(info)
        }
    }
}

/// Checks that the hub answers for `id` (a tokenizer/processor source), unless it is cached.
pub async fn reachable(source: &Source, hub: &Hub) -> Result<(), ExportError> {
    match source {
        Source::Local(dir) => {
            let config = dir.join("tokenizer_config.json");
            if config.exists() {
                Ok(())
            } else {
                Err(ExportError::LocalModel {
                    path: dir.clone(),
                    problem: LocalModelProblem::NoTokenizerConfig,
                })
            }
        }
        Source::Hub(id) if hub.cached_snapshot(id).is_some() => Ok(()),
        Source::Hub(id) if hub.offline => Err(ExportError::NotCached {
            model: id.clone(),
            cache: hub.cache.clone(),
        }),
        Source::Hub(id) => model_info(hub, id).await.map(drop),
    }
}

/// `GET {endpoint}/api/models/{id}`: the parameter count by dtype from its safetensors
/// metadata.
async fn model_info(hub: &Hub, id: &str) -> Result<Checkpoint, ExportError> {
    let url = format!("{}/api/models/{id}", hub.endpoint);
    let unreachable = |reason: HubFailure| ExportError::HubUnreachable {
        endpoint: hub.endpoint.clone(),
        reason,
    };
    let client = reqwest::Client::builder()
        .timeout(HUB_TIMEOUT)
        .build()
        .map_err(|e| unreachable(HubFailure::Client(e)))?;
    let mut request = client.get(&url);
    if let Some(token) = &hub.token {
        request = request.bearer_auth(token);
    }
    let response = request
        .send()
        .await
        .map_err(|e| unreachable(HubFailure::Request(e)))?;
    let status = response.status();
    if !status.is_success() {
        return Err(ExportError::HubRefused {
            model: id.to_owned(),
            status: status.as_u16(),
            has_token: hub.token.is_some(),
        });
    }
    let body = response
        .bytes()
        .await
        .map_err(|e| unreachable(HubFailure::Request(e)))?;
    if body.len() > MAX_HUB_ANSWER_BYTES {
        return Err(unreachable(HubFailure::AnswerTooLarge {
            model: id.to_owned(),
            bytes: body.len(),
        }));
    }
    let info: HubModel = serde_json::from_slice(&body).map_err(|e| ExportError::HubAnswer {
        model: id.to_owned(),
        reason: HubAnswerProblem::Json(e),
    })?;
    let by_dtype = info.safetensors.map(|s| s.parameters).unwrap_or_default();
    let parameters: u64 = by_dtype.values().sum();
    if parameters == 0 {
        return Err(ExportError::HubAnswer {
            model: id.to_owned(),
            reason: HubAnswerProblem::NoWeights,
        });
    }
    let download_bytes = by_dtype
        .iter()
        .map(|(dtype, count)| count * dtype_bytes(dtype))
        .sum();
    Ok(Checkpoint {
        parameters,
        download_bytes,
    })
}

#[derive(serde::Deserialize)]
struct HubModel {
    safetensors: Option<HubSafetensors>,
}

#[derive(serde::Deserialize)]
struct HubSafetensors {
    #[serde(default)]
    parameters: BTreeMap<String, u64>,
}

/// Bytes per element of a safetensors dtype name.
fn dtype_bytes(dtype: &str) -> u64 {
    match dtype.to_ascii_uppercase().as_str() {
        "F64" | "I64" | "U64" => 8,
        "F32" | "I32" | "U32" => 4,
        "F16" | "BF16" | "I16" | "U16" => 2,
        _ => 1,
    }
}

/// Parameters of a local checkpoint: the element counts in its safetensors headers.
fn local_parameters(dir: &Path) -> Result<u64, ExportError> {
    let problem = |problem: LocalModelProblem| ExportError::LocalModel {
        path: dir.to_owned(),
        problem,
    };
    if !dir.is_dir() {
        return Err(problem(LocalModelProblem::NotADirectory));
    }
    if !dir.join("config.json").exists() {
        return Err(problem(LocalModelProblem::NoConfig));
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| problem(LocalModelProblem::Unlisted(e)))?
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "safetensors"))
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(problem(LocalModelProblem::NoWeights));
    }
    files.iter().try_fold(0u64, |total, file| {
        safetensors_parameters(file)
            .map(|count| total + count)
            .map_err(|source| {
                problem(LocalModelProblem::Weights {
                    file: file.clone(),
                    source,
                })
            })
    })
}

/// Element count of every tensor in one safetensors file, from its header alone.
fn safetensors_parameters(path: &Path) -> Result<u64, SafetensorsError> {
    let mut file = std::fs::File::open(path).map_err(SafetensorsError::Open)?;
    let mut length = [0u8; 8];
    file.read_exact(&mut length)
        .map_err(SafetensorsError::HeaderLength)?;
    let length = u64::from_le_bytes(length);
    if length > MAX_HEADER_BYTES {
        return Err(SafetensorsError::HeaderTooLong(length));
    }
    let mut header = Vec::with_capacity(length as usize);
    file.take(length)
        .read_to_end(&mut header)
        .map_err(SafetensorsError::Header)?;
    let tensors: BTreeMap<String, serde_json::Value> =
        serde_json::from_slice(&header).map_err(SafetensorsError::HeaderJson)?;
    let mut total = 0u64;
    for (name, tensor) in tensors.iter().filter(|(name, _)| *name != "__metadata__") {
        let shape = tensor
            .get("shape")
            .and_then(serde_json::Value::as_array)
            .ok_or_else(|| SafetensorsError::NoShape(name.clone()))?;
        let count = shape.iter().try_fold(1u64, |count, dim| {
            dim.as_u64()
                .and_then(|dim| count.checked_mul(dim))
                .ok_or_else(|| SafetensorsError::BadShape {
                    tensor: name.clone(),
                    shape: shape.clone(),
                })
        })?;
        total = total.saturating_add(count);
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_safetensors(dir: &Path, name: &str, header: &str) {
        let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
        bytes.extend_from_slice(header.as_bytes());
        std::fs::write(dir.join(name), bytes).unwrap();
    }

    #[test]
    fn hub_ids_and_paths_are_told_apart() {
        assert_eq!(
            Source::parse("showlab/ShowUI-2B"),
            Source::Hub("showlab/ShowUI-2B".into())
        );
        assert_eq!(
            Source::parse("./showui"),
            Source::Local(PathBuf::from("./showui"))
        );
        assert_eq!(
            Source::parse("/models/a/b"),
            Source::Local(PathBuf::from("/models/a/b"))
        );
        assert_eq!(
            Source::parse("plain"),
            Source::Local(PathBuf::from("plain"))
        );
    }

    #[test]
    fn parameters_are_counted_from_every_shard_header() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("config.json"), "{}").unwrap();
        write_safetensors(
            dir.path(),
            "model-00001-of-00002.safetensors",
            r#"{"__metadata__":{"format":"pt"},"a":{"dtype":"BF16","shape":[3,4],"data_offsets":[0,24]}}"#,
        );
        write_safetensors(
            dir.path(),
            "model-00002-of-00002.safetensors",
            r#"{"b":{"dtype":"BF16","shape":[5],"data_offsets":[0,10]},"c":{"dtype":"F32","shape":[],"data_offsets":[10,14]}}"#,
        );
        assert_eq!(local_parameters(dir.path()).unwrap(), 12 + 5 + 1);
    }

    #[test]
    fn a_hostile_header_is_refused_not_read() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("config.json"), "{}").unwrap();
        let mut bytes = u64::MAX.to_le_bytes().to_vec();
        bytes.extend_from_slice(b"{}");
        std::fs::write(dir.path().join("model.safetensors"), bytes).unwrap();
        let error = local_parameters(dir.path()).unwrap_err().to_string();
        assert!(error.contains("not a safetensors file"), "{error}");
        write_safetensors(
            dir.path(),
            "model.safetensors",
            r#"{"a":{"dtype":"F32","shape":[18446744073709551615,2]}}"#,
        );
        let error = local_parameters(dir.path()).unwrap_err().to_string();
        assert!(error.contains("bad shape"), "{error}");
    }

    #[test]
    fn a_directory_without_weights_says_what_is_missing() {
        let dir = tempfile::tempdir().unwrap();
        let error = local_parameters(dir.path()).unwrap_err().to_string();
        assert!(error.contains("no config.json"), "{error}");
        std::fs::write(dir.path().join("config.json"), "{}").unwrap();
        let error = local_parameters(dir.path()).unwrap_err().to_string();
        assert!(error.contains("no *.safetensors"), "{error}");
    }

    #[test]
    fn download_size_follows_the_stored_dtype() {
        assert_eq!(dtype_bytes("BF16"), 2);
        assert_eq!(dtype_bytes("F32"), 4);
        assert_eq!(dtype_bytes("I8"), 1);
    }
}
