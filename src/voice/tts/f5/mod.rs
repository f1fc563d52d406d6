//! F5-TTS on ONNX Runtime: voice cloning from a reference recording and its transcript, with the
//! three graphs of the DakeQQ/F5-TTS-ONNX export (see `docs/voice-models.md` for where to get
//! them, and `models/f5-fixture/` for the tiny stand-ins the tests use).
//!
//! Per segment: the reference is decoded to 24 kHz mono and raised to RMS 0.1 if quieter; the
//! text is split so reference + generated audio fit 4096 frames (about 22 s per chunk, as the
//! official code aims); each chunk's ids are `vocab[ref_text + chunk]` and its length follows the
//! official duration maths in UTF-8 bytes; the graphs run (preprocess, 31 transformer calls,
//! decode); the int16 output becomes float, is scaled back by the reference's gain, and the
//! chunks are concatenated. The voice's rate and pitch are not the engine's job: the speaker
//! applies them afterwards with the shaping pipeline.

mod graphs;
mod options;
mod reference;
mod text;

use std::path::{Path, PathBuf};
use std::sync::Mutex;

pub use graphs::{GraphError, TRANSFORMER_STEPS};
pub use options::{DEFAULT_F5_MODEL_DIR, F5Options, F5OptionsError};
pub use reference::{Reference, ReferenceError, TARGET_RMS};
pub use text::{
    ChunkBudget, ChunkError, F5_SAMPLE_RATE, HOP_LENGTH, MAX_FRAMES, Vocab, VocabError,
    max_duration, normalise_ref_text, ref_audio_frames, speed_for,
};

use graphs::F5Graphs;
use reference::ReferenceCache;

use super::{Synthesizer, TtsError, VoiceReference, VoiceRequest};
use crate::onnx::{ExecutionProvider, FloatKind, OpenError, Runtime};
use crate::voice::cancel::CancelFlag;
use crate::voice::pcm::from_i16;

/// The files of a model directory, in the order preprocess, transformer, decode, vocabulary.
pub const F5_FILES: [&str; 4] = [
    "F5_Preprocess.onnx",
    "F5_Transformer.onnx",
    "F5_Decode.onnx",
    "vocab.txt",
];

/// How to get the model, appended to errors about missing files.
const HOW_TO_GET: &str = "download F5_Preprocess.onnx, F5_Transformer.onnx and F5_Decode.onnx from the Hugging Face repository H5N1AIDS/F5-TTS-ONNX and vocab.txt from SWivid/F5-TTS (F5TTS_v1_Base) into one folder, and point YAP_F5_MODEL_DIR or --f5-model-dir at it (docs/voice-models.md)";

/// The F5-TTS engine cannot load or speak.
#[derive(Debug, thiserror::Error)]
pub enum F5Error {
    /// The model directory does not exist.
    #[error("F5-TTS model directory {0} does not exist; {HOW_TO_GET}")]
    MissingDir(PathBuf),
    /// A file of the model is missing.
    #[error("F5-TTS model file {0} is missing; {HOW_TO_GET}")]
    MissingFile(PathBuf),
    /// `vocab.txt` is unusable.
    #[error(transparent)]
    Vocab(#[from] VocabError),
    /// A graph is unusable or failed.
    #[error(transparent)]
    Graph(GraphError),
    /// The text does not fit the model with this reference.
    #[error(transparent)]
    Chunk(#[from] ChunkError),
}

impl From<GraphError> for TtsError {
    fn from(error: GraphError) -> Self {
        match error {
            GraphError::Cancelled => TtsError::Cancelled,
            other => TtsError::F5(F5Error::Graph(other)),
        }
    }
}

/// A loaded F5-TTS model.
pub struct F5Tts {
    graphs: Mutex<F5Graphs>,
    vocab: Vocab,
    references: ReferenceCache,
    provider: ExecutionProvider,
    model_dir: PathBuf,
}

impl std::fmt::Debug for F5Tts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("F5Tts")
            .field("model_dir", &self.model_dir)
            .field("provider", &self.provider)
            .finish_non_exhaustive()
    }
}

impl F5Tts {
    /// Loads the graphs and vocabulary in `options.model_dir` (loading ONNX Runtime first if
    /// needed) on the chosen execution provider.
    pub fn load(options: &F5Options) -> Result<Self, TtsError> {
        let dir = &options.model_dir;
        if !dir.is_dir() {
            return Err(F5Error::MissingDir(dir.clone()).into());
        }
        let [pre, tr, dec, vocab] = F5_FILES.map(|name| dir.join(name));
        if let Some(missing) = [&pre, &tr, &dec, &vocab].into_iter().find(|p| !p.is_file()) {
            return Err(F5Error::MissingFile(missing.clone()).into());
        }
        let vocab = Vocab::load(&vocab).map_err(F5Error::from)?;
        let runtime = Runtime::get(None).map_err(|e| GraphError::Open(OpenError::from(e)))?;
        let cache_dir = dir.join("trt-cache");
        let provider = runtime
            .choose_provider(options.execution_provider, &cache_dir)
            .map_err(|e| GraphError::Open(OpenError::from(e)))?;
        let graphs = F5Graphs::open(runtime, provider, &cache_dir, [&pre, &tr, &dec])?;
        tracing::info!(
            model = %dir.display(),
            %provider,
            transformer = ?graphs.transformer_kind(),
            vocab = vocab.len(),
            "F5-TTS loaded"
        );
        Ok(Self {
            graphs: Mutex::new(graphs),
            vocab,
            references: ReferenceCache::default(),
            provider,
            model_dir: dir.clone(),
        })
    }

    /// The execution provider the graphs run on.
    pub fn execution_provider(&self) -> ExecutionProvider {
        self.provider
    }

    /// Float width of the transformer (float16 when exported with `--fp16transformer`).
    pub fn transformer_kind(&self) -> FloatKind {
        self.graphs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .transformer_kind()
    }

    /// The model directory.
    pub fn model_dir(&self) -> &Path {
        &self.model_dir
    }

    /// The reference recording and normalised transcript of `request`, or why F5 cannot use it.
    fn reference_of<'a>(&self, request: &'a VoiceRequest) -> Result<(&'a Path, String), TtsError> {
        let unusable = |reason: String| TtsError::Voice {
            engine: "F5-TTS",
            speaker: request.speaker.clone(),
            reason,
        };
        match &request.reference {
            VoiceReference::Espeak(name) => Err(unusable(format!(
                "it names the eSpeak voice {name:?}; F5-TTS needs a reference recording (/yap:voice add --spk <id> --ref <wav> --ref-text \"…\")"
            ))),
            VoiceReference::Recording { text: None, .. } => Err(unusable(
                "it has no ref_text; F5-TTS needs the transcript of the reference recording (add it again with --ref-text \"…\")"
                    .to_owned(),
            )),
            VoiceReference::Recording {
                audio,
                text: Some(text),
            } => Ok((audio, normalise_ref_text(text))),
        }
    }
}

impl Synthesizer for F5Tts {
    fn name(&self) -> &str {
        "f5-tts"
    }

    fn sample_rate(&self) -> u32 {
        F5_SAMPLE_RATE
    }

    fn synthesize(
        &self,
        text: &str,
        voice: &VoiceRequest,
        cancel: &CancelFlag,
    ) -> Result<Vec<f32>, TtsError> {
        if text.trim().is_empty() {
            return Ok(Vec::new());
        }
        let (audio_path, ref_text) = self.reference_of(voice)?;
        let reference = self
            .references
            .get(audio_path, cancel)
            .map_err(|e| match e {
                ReferenceError::Audio(audio) => TtsError::from(audio),
                silent => TtsError::Voice {
                    engine: "F5-TTS",
                    speaker: voice.speaker.clone(),
                    reason: silent.to_string(),
                },
            })?;
        let budget = ChunkBudget {
            ref_samples: reference.samples.len(),
            ref_text_bytes: ref_text.len(),
        };
        let chunks = budget.plan(text.trim()).map_err(F5Error::from)?;
        let mut out = Vec::new();
        for chunk in &chunks {
            if cancel.is_cancelled() {
                return Err(TtsError::Cancelled);
            }
            let ids = self.vocab.encode(&format!("{ref_text}{chunk}"));
            let frames = budget.frames_for(chunk);
            let generated = self
                .graphs
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .generate(&reference.samples, &ids, frames, cancel)?;
            out.extend(
                from_i16(&generated)
                    .into_iter()
                    .map(|s| s * reference.output_gain),
            );
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests;
