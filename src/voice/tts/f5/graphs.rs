//! The three F5-TTS sessions (`F5_Preprocess`, `F5_Transformer`, `F5_Decode`): their interfaces
//! read from the session metadata and checked, and the generation loop — preprocess once, the
//! transformer [`TRANSFORMER_STEPS`] times feeding `denoised` and `time_step` back, decode once.
//!
//! The transformer's inputs are matched by name: `noise` takes the current estimate, the int32
//! time-step input (exported as `time_step.1`, because the output is also called `time_step`)
//! the step counter, and every other input the preprocess output of the same name (the RoPE
//! tables and `cat_mel_text`/`cat_mel_text_drop`). Float tensors are converted when the
//! transformer was exported in float16 and the other graphs in float32, or the other way round.

use std::borrow::Cow;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

use ort::session::{Session, SessionInputValue};
use ort::value::{DynValue, Outlet, Tensor, TensorElementType};

use crate::onnx::{
    Direction, ExecutionProvider, FloatKind, Interface, InterfaceError, OpenError, RunError,
    Runtime, to_float_kind,
};
use crate::voice::cancel::CancelFlag;

/// Transformer calls per generation: NFE 32 gives 31 Euler steps.
pub const TRANSFORMER_STEPS: usize = 31;

/// Where the graphs come from, for error messages.
const EXPORT_HINT: &str =
    "it is not a graph of the DakeQQ/F5-TTS-ONNX export (docs/voice-models.md)";

/// A graph cannot be opened, has an unexpected interface, or failed to run.
#[derive(Debug, thiserror::Error)]
pub enum GraphError {
    /// ONNX Runtime is missing, the provider is unavailable, or the file was refused.
    #[error(transparent)]
    Open(#[from] OpenError),
    /// An input or output is missing or of the wrong type.
    #[error("{path}: {source}; {EXPORT_HINT}")]
    Interface {
        /// The graph file.
        path: PathBuf,
        /// What is wrong.
        #[source]
        source: InterfaceError,
    },
    /// The graphs do not fit together as the F5-TTS export does.
    #[error("{path}: {problem}; {EXPORT_HINT}")]
    Signature {
        /// The graph file.
        path: PathBuf,
        /// What is wrong.
        problem: String,
    },
    /// A run failed or did not produce an output the graph declares.
    #[error(transparent)]
    Run(#[from] RunError),
    /// The cancel flag was raised between steps.
    #[error("cancelled")]
    Cancelled,
}

/// What an outlet carries: a float of either width, or exactly one other element type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Float(FloatKind),
    Other(TensorElementType),
}

impl Kind {
    fn of(outlet: &Outlet) -> Option<Kind> {
        let element = outlet.dtype().tensor_type();
        FloatKind::of(element)
            .map(Kind::Float)
            .or(element.map(Kind::Other))
    }
}

/// The interface of one session, with errors naming its file.
struct Checked<'a> {
    path: &'a Path,
    interface: Interface<'a>,
}

impl<'a> Checked<'a> {
    fn new(path: &'a Path, session: &'a Session) -> Self {
        Self {
            path,
            interface: Interface::new(session),
        }
    }

    fn error(&self, problem: String) -> GraphError {
        GraphError::Signature {
            path: self.path.to_owned(),
            problem,
        }
    }

    fn checked<T>(&self, result: Result<T, InterfaceError>) -> Result<T, GraphError> {
        result.map_err(|source| GraphError::Interface {
            path: self.path.to_owned(),
            source,
        })
    }

    fn find(&self, direction: Direction, names: &[&str]) -> Result<&'a Outlet, GraphError> {
        self.checked(self.interface.find(direction, names))
    }

    /// The outlet, which must be a float tensor; returns its name and width.
    fn float(&self, direction: Direction, name: &str) -> Result<(String, FloatKind), GraphError> {
        let outlet = self.find(direction, &[name])?;
        let kind = self.checked(Interface::float(outlet))?;
        Ok((outlet.name().to_owned(), kind))
    }

    /// The outlet named one of `names`, which must hold `element`; returns its name.
    fn typed(
        &self,
        direction: Direction,
        names: &[&str],
        element: TensorElementType,
    ) -> Result<String, GraphError> {
        let outlet = self.find(direction, names)?;
        self.checked(Interface::typed(outlet, element))?;
        Ok(outlet.name().to_owned())
    }
}

/// What feeds one transformer input.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Feed {
    /// The current noise estimate (`denoised` of the previous call).
    Noise,
    /// The step counter.
    TimeStep,
    /// The preprocess output of this name, converted to this width if it differs.
    Preprocessed(String, Option<FloatKind>),
}

/// The three sessions and how they connect.
pub struct F5Graphs {
    preprocess: Session,
    pre_audio: String,
    pre_text: String,
    pre_duration: String,
    pre_noise: String,
    pre_ref_len: String,
    transformer: Session,
    feeds: Vec<(String, Feed)>,
    noise_kind: FloatKind,
    denoised_out: String,
    step_out: String,
    decode: Session,
    dec_denoised: String,
    dec_kind: FloatKind,
    dec_ref_len: String,
    dec_output: String,
}

impl std::fmt::Debug for F5Graphs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("F5Graphs")
            .field("transformer_inputs", &self.feeds)
            .field("noise_kind", &self.noise_kind)
            .finish_non_exhaustive()
    }
}

impl F5Graphs {
    /// Opens `[preprocess, transformer, decode]` on `provider` and checks that they fit together.
    pub fn open(
        runtime: &Runtime,
        provider: ExecutionProvider,
        cache_dir: &Path,
        paths: [&Path; 3],
    ) -> Result<Self, GraphError> {
        let [pre_path, tr_path, dec_path] = paths;
        let open = |path| crate::onnx::open(runtime, provider, cache_dir, path);
        let preprocess = open(pre_path)?;
        let transformer = open(tr_path)?;
        let decode = open(dec_path)?;

        let pre = Checked::new(pre_path, &preprocess);
        let pre_audio = pre.typed(Direction::Input, &["audio"], TensorElementType::Int16)?;
        let pre_text = pre.typed(Direction::Input, &["text_ids"], TensorElementType::Int32)?;
        let pre_duration = pre.typed(
            Direction::Input,
            &["max_duration"],
            TensorElementType::Int64,
        )?;
        let (pre_noise, _) = pre.float(Direction::Output, "noise")?;
        let pre_ref_len = pre.typed(
            Direction::Output,
            &["ref_signal_len"],
            TensorElementType::Int64,
        )?;
        let pre_kinds: HashMap<&str, Option<Kind>> = preprocess
            .outputs()
            .iter()
            .map(|o| (o.name(), Kind::of(o)))
            .collect();

        let tr = Checked::new(tr_path, &transformer);
        let (noise_in, noise_kind) = tr.float(Direction::Input, "noise")?;
        let step_in = tr.typed(
            Direction::Input,
            &["time_step.1", "time_step"],
            TensorElementType::Int32,
        )?;
        let (denoised_out, denoised_kind) = tr.float(Direction::Output, "denoised")?;
        let step_out = tr.typed(Direction::Output, &["time_step"], TensorElementType::Int32)?;
        if denoised_kind != noise_kind {
            return Err(tr.error(format!(
                "denoised is {denoised_kind:?} but noise is {noise_kind:?}; the loop feeds one into the other"
            )));
        }
        let mut feeds = Vec::new();
        for input in transformer.inputs() {
            let name = input.name();
            let feed = if name == noise_in {
                Feed::Noise
            } else if name == step_in {
                Feed::TimeStep
            } else {
                let wanted = Kind::of(input);
                let produced = pre_kinds.get(name).copied().ok_or_else(|| {
                    tr.error(format!(
                        "input {name} is not produced by {} (it produces {})",
                        pre_path.display(),
                        pre.interface.names(Direction::Output)
                    ))
                })?;
                match (produced, wanted) {
                    (Some(Kind::Float(have)), Some(Kind::Float(want))) => {
                        Feed::Preprocessed(name.to_owned(), (have != want).then_some(want))
                    }
                    (have, want) if have == want => Feed::Preprocessed(name.to_owned(), None),
                    (have, want) => {
                        return Err(tr.error(format!(
                            "input {name} is {want:?} but {} produces {have:?}",
                            pre_path.display()
                        )));
                    }
                }
            };
            feeds.push((name.to_owned(), feed));
        }

        let dec = Checked::new(dec_path, &decode);
        let (dec_denoised, dec_kind) = dec.float(Direction::Input, "denoised")?;
        let dec_ref_len = dec.typed(
            Direction::Input,
            &["ref_signal_len"],
            TensorElementType::Int64,
        )?;
        let [output] = decode.outputs() else {
            return Err(dec.error(format!(
                "it has outputs {}; expected one int16 audio output",
                dec.interface.names(Direction::Output)
            )));
        };
        if output.dtype().tensor_type() != Some(TensorElementType::Int16) {
            return Err(dec.error(format!(
                "output {} is {:?}, expected int16 audio",
                output.name(),
                output.dtype().tensor_type()
            )));
        }
        let dec_output = output.name().to_owned();
        if decode.inputs().len() != 2 {
            return Err(dec.error(format!(
                "it has inputs {}; expected denoised and ref_signal_len",
                dec.interface.names(Direction::Input)
            )));
        }

        tracing::debug!(?feeds, ?noise_kind, ?dec_kind, "F5-TTS graph interface");
        Ok(Self {
            preprocess,
            pre_audio,
            pre_text,
            pre_duration,
            pre_noise,
            pre_ref_len,
            transformer,
            feeds,
            noise_kind,
            denoised_out,
            step_out,
            decode,
            dec_denoised,
            dec_kind,
            dec_ref_len,
            dec_output,
        })
    }

    /// Float width of the transformer's tensors.
    pub fn transformer_kind(&self) -> FloatKind {
        self.noise_kind
    }

    /// Generates the audio for one chunk: `audio` is the reference (24 kHz mono int16),
    /// `text_ids` the ids of reference + generated text, `max_duration` the total frames.
    /// Returns the generated part only, int16 at 24 kHz. Checks `cancel` between calls.
    pub fn generate(
        &mut self,
        audio: &[i16],
        text_ids: &[i32],
        max_duration: usize,
        cancel: &CancelFlag,
    ) -> Result<Vec<i16>, GraphError> {
        let run = |graph: &'static str| {
            move |source: ort::Error| GraphError::Run(RunError::Failed { graph, source })
        };
        let pre_err = run("F5_Preprocess");
        let inputs: Vec<(Cow<'_, str>, SessionInputValue<'_>)> = vec![
            (
                self.pre_audio.as_str().into(),
                Tensor::from_array(([1usize, 1, audio.len()], audio.to_vec()))
                    .map_err(pre_err)?
                    .into(),
            ),
            (
                self.pre_text.as_str().into(),
                Tensor::from_array(([1usize, text_ids.len()], text_ids.to_vec()))
                    .map_err(pre_err)?
                    .into(),
            ),
            (
                self.pre_duration.as_str().into(),
                Tensor::from_array(([1usize], vec![max_duration as i64]))
                    .map_err(pre_err)?
                    .into(),
            ),
        ];
        let mut outputs = self.preprocess.run(inputs).map_err(pre_err)?;
        let mut produced: HashMap<String, DynValue> = HashMap::new();
        let names: Vec<String> = outputs.keys().map(str::to_owned).collect();
        for name in names {
            if let Some(value) = outputs.remove(&name) {
                produced.insert(name, value);
            }
        }
        drop(outputs);
        let take = |produced: &mut HashMap<String, DynValue>, name: &str| {
            produced.remove(name).ok_or_else(|| {
                GraphError::Run(RunError::MissingOutput {
                    graph: "F5_Preprocess",
                    name: name.to_owned(),
                })
            })
        };
        let ref_len = take(&mut produced, &self.pre_ref_len)?;
        let noise = take(&mut produced, &self.pre_noise)?;
        let mut noise = to_float_kind(noise, self.noise_kind).map_err(run("F5_Transformer"))?;
        let mut fixed: HashMap<&str, DynValue> = HashMap::new();
        for (name, feed) in &self.feeds {
            if let Feed::Preprocessed(source, width) = feed {
                let value = take(&mut produced, source)?;
                let value = match width {
                    Some(kind) => to_float_kind(value, *kind).map_err(run("F5_Transformer"))?,
                    None => value,
                };
                fixed.insert(name.as_str(), value);
            }
        }

        let tr_err = run("F5_Transformer");
        let mut step: DynValue = Tensor::from_array(([1usize], vec![0i32]))
            .map_err(tr_err)?
            .into_dyn();
        for _ in 0..TRANSFORMER_STEPS {
            if cancel.is_cancelled() {
                return Err(GraphError::Cancelled);
            }
            let inputs: Vec<(Cow<'_, str>, SessionInputValue<'_>)> = self
                .feeds
                .iter()
                .map(|(name, feed)| {
                    let value: SessionInputValue<'_> = match feed {
                        Feed::Noise => (&noise).into(),
                        Feed::TimeStep => (&step).into(),
                        Feed::Preprocessed(..) => (&fixed[name.as_str()]).into(),
                    };
                    (Cow::Borrowed(name.as_str()), value)
                })
                .collect();
            let mut outputs = self.transformer.run(inputs).map_err(tr_err)?;
            let missing = |name: &str| {
                GraphError::Run(RunError::MissingOutput {
                    graph: "F5_Transformer",
                    name: name.to_owned(),
                })
            };
            let next_noise = outputs
                .remove(&self.denoised_out)
                .ok_or_else(|| missing(&self.denoised_out))?;
            let next_step = outputs
                .remove(&self.step_out)
                .ok_or_else(|| missing(&self.step_out))?;
            drop(outputs);
            noise = next_noise;
            step = next_step;
        }
        if cancel.is_cancelled() {
            return Err(GraphError::Cancelled);
        }

        let dec_err = run("F5_Decode");
        let denoised = to_float_kind(noise, self.dec_kind).map_err(dec_err)?;
        let inputs: Vec<(Cow<'_, str>, SessionInputValue<'_>)> = vec![
            (self.dec_denoised.as_str().into(), (&denoised).into()),
            (self.dec_ref_len.as_str().into(), (&ref_len).into()),
        ];
        let outputs = self.decode.run(inputs).map_err(dec_err)?;
        let (_, samples) = outputs[self.dec_output.as_str()]
            .try_extract_tensor::<i16>()
            .map_err(dec_err)?;
        Ok(samples.to_vec())
    }
}
