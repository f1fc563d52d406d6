//! [`ShowUi`]: load a ShowUI-2B / Qwen2-VL model directory and generate replies for a frame and
//! a chat, greedily, with the KV cache.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::config::{ConfigError, GenerationConfig, ModelConfig, PreprocessorConfig, read_json};
use super::generate::{BatchRow, Batching};
use super::graphs::{GraphError, Graphs};
use super::image::{ImageError, ImageProcessor, ImageSize, PixelValues};
use super::layout::{Dtype, LayoutError, ModelFiles};
use super::options::ModelOptions;
use super::profiles::{BadLimits, SequenceLimits};
use super::prompt::{Message, PromptError};
use super::tokens::{TextCodec, TokenizerError};
use crate::frame::RgbImage;
use crate::onnx::{ExecutionProvider, Runtime, RuntimeError};

/// Anything that stops the model from loading or answering.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// The model directory lacks a file.
    #[error(transparent)]
    Layout(#[from] LayoutError),
    /// A JSON config is unreadable or unsupported.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The tokenizer is unreadable or does not match the model.
    #[error(transparent)]
    Tokenizer(#[from] TokenizerError),
    /// ONNX Runtime is missing, too old, or the provider is unavailable.
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
    /// A graph does not load, has an unexpected interface, or failed to run.
    #[error(transparent)]
    Graph(#[from] GraphError),
    /// The frame or the pixel budget is unusable.
    #[error(transparent)]
    Image(#[from] ImageError),
    /// The messages do not fit the image.
    #[error(transparent)]
    Prompt(#[from] PromptError),
    /// `--max-batch` or `--trt-max-tokens` is out of range.
    #[error(transparent)]
    Limits(#[from] BadLimits),
    /// The vision encoder's output does not fit the prompt.
    #[error(
        "the vision encoder returned {features} feature rows of width {width} but the prompt has {pads} <|image_pad|> tokens and embeddings of width {hidden}; vision_encoder and decoder do not belong to the same export"
    )]
    FeatureMismatch {
        /// Feature rows produced.
        features: usize,
        /// Width of a feature row.
        width: usize,
        /// Image pad tokens in the prompt.
        pads: usize,
        /// Width of a token embedding.
        hidden: usize,
    },
    /// Several images in one call failed where one at a time works: the export predates
    /// batched images.
    #[error(
        "the vision encoder cannot take {images} images in one call ({source}); it was exported before images could be batched: export it again with `neko-agent model export`, or encode one image per call"
    )]
    NoImageBatching {
        /// Images in the call.
        images: usize,
        /// What ONNX Runtime reported.
        source: GraphError,
    },
}

/// One image's vision features, as the encoder returned them.
#[derive(Debug, Clone, PartialEq)]
pub struct ImageFeatures {
    /// The `[t, h, w]` patch grid of the resized image.
    pub grid_thw: [usize; 3],
    /// Width of a feature row (the decoder's hidden size).
    pub width: usize,
    /// `rows × width` values, row-major: one row per `<|image_pad|>` token of the image.
    pub values: Vec<f32>,
}

impl ImageFeatures {
    /// Feature rows (merged patches).
    pub fn rows(&self) -> usize {
        self.values.len().checked_div(self.width).unwrap_or(0)
    }
}

/// Why generation stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
    /// The model produced an end token (`<|im_end|>` or an `eos_token_id`).
    EndOfTurn,
    /// `max_new_tokens` were generated first.
    MaxTokens,
}

/// Where the time of one `generate` call went.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Timings {
    /// Resize, normalise and patch the frame.
    pub preprocess: Duration,
    /// Vision encoder run.
    pub vision: Duration,
    /// Tokenizing the prompt, embedding it, merging the image features and the first decoder run.
    pub prefill: Duration,
    /// All decode steps after the prefill.
    pub decode: Duration,
    /// Number of decode steps (generated tokens after the first).
    pub decode_steps: usize,
    /// Sequences (rooms) that shared the vision, prefill and decode runs of this call (1 when
    /// it ran alone).
    pub batch_rows: usize,
    /// The whole call.
    pub total: Duration,
}

impl Timings {
    /// Mean time of one decode step (zero when there was none).
    pub fn decode_step_mean(&self) -> Duration {
        if self.decode_steps == 0 {
            Duration::ZERO
        } else {
            self.decode / self.decode_steps as u32
        }
    }
}

/// The model's reply to one frame and chat.
#[derive(Debug, Clone, PartialEq)]
pub struct Generation {
    /// The reply, special tokens removed, trimmed.
    pub text: String,
    /// Tokens generated (including the end token, if one was produced).
    pub tokens: usize,
    /// Tokens in the prompt (image pads included).
    pub prompt_tokens: usize,
    /// The prompt's token ids, each `<|image_pad|>` repeated once per merged image patch.
    pub prompt_ids: Vec<u32>,
    /// The generated token ids, the end token included when one was produced.
    pub token_ids: Vec<u32>,
    /// Why generation stopped.
    pub stop: StopReason,
    /// The size the frame was resized to; the whole frame, so normalised coordinates in the reply
    /// apply to the original frame as they are.
    pub image_size: ImageSize,
    /// Where the time went.
    pub timings: Timings,
}

/// A loaded ShowUI-2B / Qwen2-VL model: three ONNX sessions, tokenizer and image processor.
pub struct ShowUi {
    pub(super) graphs: Mutex<Graphs>,
    pub(super) codec: TextCodec,
    pub(super) processor: ImageProcessor,
    pub(super) merge_size: usize,
    pub(super) stop_ids: Vec<u32>,
    provider: ExecutionProvider,
    dtype: Dtype,
    /// Whether images may still go to the vision encoder several per call (cleared when an
    /// export turns out not to take them).
    pub(super) vision_batches: AtomicBool,
    /// The calls the decoder's TensorRT engine was built for, if it runs on one.
    pub(super) limits: Option<SequenceLimits>,
}

impl std::fmt::Debug for ShowUi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ShowUi")
            .field("provider", &self.provider)
            .field("dtype", &self.dtype)
            .finish_non_exhaustive()
    }
}

impl ShowUi {
    /// Loads the model in `options.model_dir` (loading ONNX Runtime first if needed).
    pub fn load(options: &ModelOptions) -> Result<Self, ModelError> {
        let started = Instant::now();
        let files = ModelFiles::locate(&options.model_dir, options.dtype)?;
        let config: ModelConfig = read_json(&files.config, "config.json")?;
        let preprocessor = PreprocessorConfig::load(&files.preprocessor)?;
        let merge_size = preprocessor.merge_size;
        if merge_size != config.vision_config.spatial_merge_size {
            return Err(ConfigError::Unsupported {
                path: files.preprocessor.clone(),
                problem: format!(
                    "merge_size {merge_size} differs from spatial_merge_size {} in config.json",
                    config.vision_config.spatial_merge_size
                ),
            }
            .into());
        }
        let generation: GenerationConfig = read_json(&files.generation, "generation_config.json")?;
        let processor = ImageProcessor::new(preprocessor, options.min_pixels, options.max_pixels)?;
        let codec = TextCodec::load(
            &files.tokenizer,
            config.image_token_id,
            config.vision_start_token_id,
        )?;
        let mut stop_ids = generation.eos_ids();
        if !stop_ids.contains(&codec.special().im_end) {
            stop_ids.push(codec.special().im_end);
        }
        let runtime = Runtime::get(options.ort_library.as_deref())?;
        let cache_dir = files.dir.join("trt-cache");
        let provider = runtime.choose_provider(options.execution_provider, &cache_dir)?;
        let graphs = Graphs::open(
            runtime,
            provider,
            &cache_dir,
            [&files.vision_encoder, &files.embed_tokens, &files.decoder],
            &config,
            SequenceLimits::new(options.batching.max_batch, options.trt_max_tokens)?,
        )?;
        let limits = graphs.decoder.limits();
        tracing::info!(
            model = %files.dir.display(),
            dtype = %files.dtype,
            %provider,
            tensorrt_ranges = ?limits,
            library = %runtime.library().display(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "model loaded"
        );
        let vision_batches = AtomicBool::new(graphs.vision.batches());
        Ok(Self {
            vision_batches,
            graphs: Mutex::new(graphs),
            codec,
            processor,
            merge_size,
            stop_ids,
            provider,
            dtype: files.dtype,
            limits,
        })
    }

    /// The execution provider the sessions run on (on TensorRT, a graph it could not build for
    /// explicit shape ranges runs on CUDA: see [`tensorrt_limits`](Self::tensorrt_limits)).
    pub fn execution_provider(&self) -> ExecutionProvider {
        self.provider
    }

    /// The precision variant loaded.
    pub fn dtype(&self) -> Dtype {
        self.dtype
    }

    /// The calls the decoder's TensorRT engine was built for (`--max-batch` sequences of
    /// `--trt-max-tokens`); `None` when the decoder does not run on TensorRT (another provider
    /// was chosen, or TensorRT did not take the ranges and the decoder runs on CUDA).
    pub fn tensorrt_limits(&self) -> Option<SequenceLimits> {
        self.limits
    }

    /// The image processor (e.g. to know the size a frame will be resized to).
    pub fn image_processor(&self) -> &ImageProcessor {
        &self.processor
    }

    /// What the loaded export can batch: several rooms' sequences per decoder run, several
    /// images per vision encoder run.
    pub fn batching(&self) -> Batching {
        let graphs = self.graphs.lock().unwrap_or_else(|e| e.into_inner());
        Batching {
            sequences: graphs.decoder.batches(),
            images: graphs.vision.batches() && self.vision_batches.load(Ordering::Relaxed),
        }
    }

    /// Runs the vision encoder once on all `images` (each preprocessed like
    /// [`generate`](Self::generate) does) and returns each image's features, in order.
    pub fn encode_images(&self, images: &[&RgbImage]) -> Result<Vec<ImageFeatures>, ModelError> {
        let pixels = images
            .iter()
            .map(|image| self.processor.preprocess(image))
            .collect::<Result<Vec<_>, _>>()?;
        let mut graphs = self.graphs.lock().unwrap_or_else(|e| e.into_inner());
        self.encode_in_one_call(&mut graphs, &pixels)
    }

    /// The vision encoder on every image of `pixels` in one call.
    pub(super) fn encode_in_one_call(
        &self,
        graphs: &mut Graphs,
        pixels: &[PixelValues],
    ) -> Result<Vec<ImageFeatures>, ModelError> {
        let Some(row_len) = pixels.first().map(|p| p.row_len) else {
            return Ok(Vec::new());
        };
        let grids: Vec<[usize; 3]> = pixels.iter().map(|p| p.grid_thw).collect();
        let count = pixels.len();
        let values: Vec<f32> = pixels
            .iter()
            .flat_map(|p| p.values.iter().copied())
            .collect();
        let (width, features) = graphs
            .vision
            .run(values, row_len, &grids)
            .map_err(|source| match count {
                1 => ModelError::Graph(source),
                images => ModelError::NoImageBatching { images, source },
            })?;
        let merge_area = self.processor.merge_area();
        let expected: usize = grids
            .iter()
            .map(|grid| grid.iter().product::<usize>() / merge_area)
            .sum();
        if width == 0 || features.len() != expected * width {
            return Err(ModelError::FeatureMismatch {
                features: features.len().checked_div(width).unwrap_or(0),
                width,
                pads: expected,
                hidden: width,
            });
        }
        let mut rest = features.as_slice();
        Ok(grids
            .into_iter()
            .map(|grid_thw| {
                let len = grid_thw.iter().product::<usize>() / merge_area * width;
                let (mine, others) = rest.split_at(len);
                rest = others;
                ImageFeatures {
                    grid_thw,
                    width,
                    values: mine.to_vec(),
                }
            })
            .collect())
    }

    /// Answers `messages` about `image` (which fills their single [`Part::Image`](super::Part)),
    /// greedily, stopping at an end token or after `max_new_tokens` tokens.
    pub fn generate(
        &self,
        image: &RgbImage,
        messages: &[Message],
        max_new_tokens: usize,
    ) -> Result<Generation, ModelError> {
        let row = BatchRow {
            image,
            messages,
            max_new_tokens,
        };
        let mut answer = None;
        self.generate_batch(&[row], &|_| true, &mut |_, result| answer = Some(result))?;
        answer.expect("a single wanted row is always answered")
    }
}

/// Overwrites, in order, the embedding row of every `pad` token with the next image feature
/// row (Qwen2-VL's merge: the sequence keeps its length). The counts and widths must agree.
pub(super) fn merge_image_features(
    embeds: &mut [f32],
    ids: &[u32],
    pad: u32,
    features: &[f32],
    width: usize,
) -> Result<(), ModelError> {
    let hidden = embeds.len() / ids.len().max(1);
    let pads = ids.iter().filter(|id| **id == pad).count();
    if width != hidden || features.len() != pads * width {
        return Err(ModelError::FeatureMismatch {
            features: features.len() / width.max(1),
            width,
            pads,
            hidden,
        });
    }
    let pad_rows = ids.iter().enumerate().filter(|(_, id)| **id == pad);
    for ((row, _), feature) in pad_rows.zip(features.chunks_exact(width)) {
        embeds[row * hidden..(row + 1) * hidden].copy_from_slice(feature);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_features_overwrite_the_pad_rows_in_order() {
        let ids = [1, 9, 9, 2];
        let mut embeds = vec![0.0; 8];
        merge_image_features(&mut embeds, &ids, 9, &[5.0, 5.5, 6.0, 6.5], 2).unwrap();
        assert_eq!(embeds, [0.0, 0.0, 5.0, 5.5, 6.0, 6.5, 0.0, 0.0]);
    }

    #[test]
    fn a_feature_count_that_does_not_match_the_pads_is_an_error() {
        let ids = [1, 9, 9, 2];
        let mut embeds = vec![0.0; 8];
        let error = merge_image_features(&mut embeds, &ids, 9, &[5.0, 5.5], 2).unwrap_err();
        assert!(
            error
                .to_string()
                .contains("returned 1 feature rows of width 2 but the prompt has 2"),
            "{error}"
        );
        let wide = merge_image_features(&mut embeds, &ids, 9, &[1.0; 6], 3).unwrap_err();
        assert!(matches!(
            wide,
            ModelError::FeatureMismatch {
                width: 3,
                hidden: 2,
                ..
            }
        ));
    }

    #[test]
    fn the_model_can_be_shared_between_threads() {
        fn shareable<T: Send + Sync>() {}
        shareable::<ShowUi>();
    }

    #[test]
    fn decode_step_mean_handles_no_steps() {
        let mut t = Timings::default();
        assert_eq!(t.decode_step_mean(), Duration::ZERO);
        t.decode = Duration::from_millis(30);
        t.decode_steps = 3;
        assert_eq!(t.decode_step_mean(), Duration::from_millis(10));
    }
}
