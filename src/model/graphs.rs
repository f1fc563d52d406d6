//! The three ONNX sessions (vision encoder, token embedding, decoder with KV cache), their input
//! and output names, element types and cache shapes, all read from the session metadata.

use std::borrow::Cow;
use std::path::{Path, PathBuf};

use half::f16;
use ort::memory::{AllocationDevice, AllocatorType, MemoryInfo, MemoryType};
use ort::session::{Session, SessionInputValue};
use ort::value::{DynTensor, DynValue, Outlet, Tensor, TensorElementType};

use super::config::ModelConfig;
use super::profiles::{BeyondProfile, SequenceLimits};
use crate::onnx::{
    Direction, ExecutionProvider, FloatKind, Interface, InterfaceError, OpenError, Profiled,
    RunError, Runtime, RuntimeError, ShapeProfile, float_tensor, open, open_profiled, read_floats,
};

/// A graph that cannot be opened, does not look like the Qwen2-VL export, or failed to run.
#[derive(Debug, thiserror::Error)]
pub enum GraphError {
    /// The session could not be set up for the chosen provider.
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
    /// ONNX Runtime refused the file.
    #[error("{0} (if the graph uses external data, its .onnx_data file must sit next to it)")]
    Open(#[source] OpenError),
    /// An input or output the engine needs is absent.
    #[error(
        "{path} has no {direction} {name:?} (it has {available}); it is not a Qwen2-VL graph in the onnx-community layout"
    )]
    MissingName {
        /// The graph file.
        path: PathBuf,
        /// Input or output.
        direction: Direction,
        /// The name looked for.
        name: String,
        /// The names it has.
        available: String,
    },
    /// An input or output has a type this engine does not handle.
    #[error("{path}: {source}")]
    Interface {
        /// The graph file.
        path: PathBuf,
        /// What is wrong.
        #[source]
        source: InterfaceError,
    },
    /// An input or output has a shape this engine does not handle.
    #[error("{path}: {problem}")]
    Unsupported {
        /// The graph file.
        path: PathBuf,
        /// What is wrong.
        problem: String,
    },
    /// A run failed or did not produce an output the graph declares.
    #[error(transparent)]
    Run(#[from] RunError),
    /// A run would leave the shapes its TensorRT engine was built for.
    #[error(transparent)]
    BeyondProfile(#[from] BeyondProfile),
}

impl GraphError {
    /// `error` about the graph at `path`, in the words of this engine.
    fn interface(path: &Path, error: InterfaceError) -> Self {
        match error {
            InterfaceError::Missing {
                direction,
                names,
                available,
            } => GraphError::MissingName {
                path: path.to_owned(),
                direction,
                name: names.join("\" or \""),
                available: available.join(", "),
            },
            other => GraphError::Interface {
                path: path.to_owned(),
                source: other,
            },
        }
    }
}

/// The three sessions of one model.
pub struct Graphs {
    /// `vision_encoder`.
    pub vision: VisionGraph,
    /// `embed_tokens`.
    pub embed: EmbedGraph,
    /// `decoder_model_merged`.
    pub decoder: DecoderGraph,
}

/// Names and types of one session, with errors that name its file.
struct Io<'a> {
    path: &'a Path,
    interface: Interface<'a>,
}

impl<'a> Io<'a> {
    fn new(path: &'a Path, session: &'a Session) -> Self {
        Self {
            path,
            interface: Interface::new(session),
        }
    }

    fn checked<T>(&self, result: Result<T, InterfaceError>) -> Result<T, GraphError> {
        result.map_err(|e| GraphError::interface(self.path, e))
    }

    fn input(&self, names: &[&str]) -> Result<&'a Outlet, GraphError> {
        self.checked(self.interface.input(names))
    }

    fn output(&self, names: &[&str]) -> Result<&'a Outlet, GraphError> {
        self.checked(self.interface.output(names))
    }

    fn unsupported(&self, problem: String) -> GraphError {
        GraphError::Unsupported {
            path: self.path.to_owned(),
            problem,
        }
    }

    fn float(&self, outlet: &Outlet) -> Result<FloatKind, GraphError> {
        self.checked(Interface::float(outlet))
    }

    fn int64(&self, outlet: &Outlet) -> Result<(), GraphError> {
        self.checked(Interface::typed(outlet, TensorElementType::Int64))
    }
}

impl Graphs {
    /// Opens the three graphs on `provider` and reads their interfaces. On TensorRT, the token
    /// embedding and the decoder are built for calls within `limits` (see
    /// [`open_profiled`](crate::onnx::open_profiled)); the vision encoder's shapes follow the
    /// frame size, which stays the same for a room, so TensorRT builds it for the sizes it sees.
    pub fn open(
        runtime: &Runtime,
        provider: ExecutionProvider,
        cache_dir: &Path,
        paths: [&Path; 3],
        config: &ModelConfig,
        limits: SequenceLimits,
    ) -> Result<Self, GraphError> {
        let [vision, embed, decoder] = paths;
        let failed = |e| match e {
            OpenError::Runtime(runtime) => GraphError::Runtime(runtime),
            load => GraphError::Open(load),
        };
        let profiled = |path, profiles: Vec<ShapeProfile>| {
            open_profiled(runtime, provider, cache_dir, path, &profiles).map_err(failed)
        };
        let vision_session = open(runtime, provider, cache_dir, vision).map_err(failed)?;
        Ok(Self {
            vision: VisionGraph::new(vision_session, vision)?,
            embed: EmbedGraph::new(profiled(embed, limits.embed_profiles())?, embed, limits)?,
            decoder: DecoderGraph::new(
                profiled(decoder, limits.decoder_profiles(config))?,
                decoder,
                config,
                limits,
            )?,
        })
    }
}

/// `vision_encoder`: `pixel_values` + `grid_thw` → one feature row per merged 2×2 block.
pub struct VisionGraph {
    session: Session,
    pixel_values: String,
    pixel_kind: FloatKind,
    grid_thw: String,
    features: String,
    /// The number of images per call the graph is fixed to, if it is.
    images_axis: Option<usize>,
}

impl VisionGraph {
    fn new(session: Session, path: &Path) -> Result<Self, GraphError> {
        let io = Io::new(path, &session);
        let pixels = io.input(&["pixel_values"])?;
        let pixel_kind = io.float(pixels)?;
        let grid = io.input(&["grid_thw", "image_grid_thw"])?;
        io.int64(grid)?;
        let images_axis = Interface::dims(grid)
            .first()
            .filter(|d| **d > 0)
            .map(|d| *d as usize);
        let features = io.output(&["image_features"])?;
        io.float(features)?;
        Ok(Self {
            pixel_values: pixels.name().to_owned(),
            pixel_kind,
            grid_thw: grid.name().to_owned(),
            features: features.name().to_owned(),
            images_axis,
            session,
        })
    }

    /// Whether the graph declares that it takes more than one image per call (an export from
    /// before batched images declares a free axis but fails at run time; see
    /// [`ModelError::NoImageBatching`](super::ModelError::NoImageBatching)).
    pub fn batches(&self) -> bool {
        self.images_axis != Some(1)
    }

    /// Runs the encoder on `rows × row_len` pixel values of images with `grids`; returns the
    /// feature width and the features, row-major.
    pub fn run(
        &mut self,
        pixel_values: Vec<f32>,
        row_len: usize,
        grids: &[[usize; 3]],
    ) -> Result<(usize, Vec<f32>), GraphError> {
        let run = |source| {
            GraphError::Run(RunError::Failed {
                graph: "vision_encoder",
                source,
            })
        };
        let rows = pixel_values.len() / row_len;
        let grid: Vec<i64> = grids.iter().flatten().map(|&v| v as i64).collect();
        let inputs: Vec<(Cow<'_, str>, SessionInputValue<'_>)> = vec![
            (
                self.pixel_values.as_str().into(),
                float_tensor(
                    self.pixel_kind,
                    vec![rows as i64, row_len as i64],
                    pixel_values,
                )
                .map_err(run)?
                .into(),
            ),
            (
                self.grid_thw.as_str().into(),
                Tensor::from_array((vec![grids.len() as i64, 3], grid))
                    .map_err(run)?
                    .into(),
            ),
        ];
        let outputs = self.session.run(inputs).map_err(run)?;
        let (shape, features) = read_floats(&outputs[self.features.as_str()]).map_err(run)?;
        let width = *shape.last().unwrap_or(&0) as usize;
        Ok((width, features))
    }
}

/// `embed_tokens`: token ids → embedding rows.
pub struct EmbedGraph {
    session: Session,
    input_ids: String,
    output: String,
    /// The runs its TensorRT engine was built for, if it runs on one.
    limits: Option<SequenceLimits>,
}

impl EmbedGraph {
    fn new(opened: Profiled, path: &Path, limits: SequenceLimits) -> Result<Self, GraphError> {
        let Profiled {
            session, ranged, ..
        } = opened;
        let io = Io::new(path, &session);
        let ids = io.input(&["input_ids"])?;
        io.int64(ids)?;
        let output = io.output(&["inputs_embeds"])?;
        io.float(output)?;
        Ok(Self {
            input_ids: ids.name().to_owned(),
            output: output.name().to_owned(),
            limits: ranged.then(|| limits.embedding()),
            session,
        })
    }

    /// Embeddings of `ids` (one sequence), `ids.len() × hidden` values.
    pub fn run(&mut self, ids: &[u32]) -> Result<Vec<f32>, GraphError> {
        if let Some(limits) = self.limits {
            limits.check("embed_tokens", 1, ids.len())?;
        }
        let run = |source| {
            GraphError::Run(RunError::Failed {
                graph: "embed_tokens",
                source,
            })
        };
        let ids: Vec<i64> = ids.iter().map(|&id| i64::from(id)).collect();
        let tensor = Tensor::from_array((vec![1, ids.len() as i64], ids)).map_err(run)?;
        let inputs: Vec<(Cow<'_, str>, SessionInputValue<'_>)> =
            vec![(self.input_ids.as_str().into(), tensor.into())];
        let outputs = self.session.run(inputs).map_err(run)?;
        let (_, embeds) = read_floats(&outputs[self.output.as_str()]).map_err(run)?;
        Ok(embeds)
    }
}

/// Input and output names of one decoder layer's cache.
struct LayerNames {
    past_key: String,
    past_value: String,
    present_key: String,
    present_value: String,
}

/// The key/value cache of a batch of sequences, as the decoder produced it, on the provider's
/// device (fed back without copies; [`KvCache::select`] copies it through the host when rows
/// leave the batch).
pub struct KvCache {
    values: Vec<DynValue>,
    rows: usize,
    len: usize,
}

impl KvCache {
    /// Number of positions the cache holds (padding included).
    pub fn len(&self) -> usize {
        self.len
    }

    /// The cache of the rows `keep` (in that order), without its first `skip` positions (left
    /// padding no kept row attends to any more).
    pub fn select(self, keep: &[usize], skip: usize) -> Result<KvCache, GraphError> {
        if keep.len() == self.rows && keep.iter().enumerate().all(|(i, &r)| i == r) && skip == 0 {
            return Ok(self);
        }
        let error = DecoderGraph::error;
        let values = self
            .values
            .into_iter()
            .map(|value| {
                let value = on_host(value).map_err(error)?;
                if let Ok((shape, data)) = value.try_extract_tensor::<f32>() {
                    let (shape, data) = select_rows(shape, data, keep, skip);
                    Ok(Tensor::from_array((shape, data)).map_err(error)?.into_dyn())
                } else {
                    let (shape, data) = value.try_extract_tensor::<f16>().map_err(error)?;
                    let (shape, data) = select_rows(shape, data, keep, skip);
                    Ok(Tensor::from_array((shape, data)).map_err(error)?.into_dyn())
                }
            })
            .collect::<Result<Vec<_>, GraphError>>()?;
        Ok(KvCache {
            values,
            rows: keep.len(),
            len: self.len - skip,
        })
    }
}

/// `value` in host memory: itself when it is there, else a copy.
fn on_host(value: DynValue) -> ort::Result<DynTensor> {
    let tensor: DynTensor = value.downcast()?;
    if tensor.memory_info().is_cpu_accessible() {
        Ok(tensor)
    } else {
        tensor.to(AllocationDevice::CPU, 0)
    }
}

/// Rows `keep` of a `[batch, heads, positions, head_dim]` tensor, positions from `skip` on.
fn select_rows<T: Copy>(
    shape: &[i64],
    data: &[T],
    keep: &[usize],
    skip: usize,
) -> (Vec<i64>, Vec<T>) {
    let [_, heads, positions, head_dim] =
        [shape[0], shape[1], shape[2], shape[3]].map(|d| d as usize);
    let row_len = heads * positions * head_dim;
    let kept_positions = positions - skip;
    let mut out = Vec::with_capacity(keep.len() * heads * kept_positions * head_dim);
    for &row in keep {
        let row = &data[row * row_len..(row + 1) * row_len];
        for head in row.chunks_exact(positions * head_dim) {
            out.extend_from_slice(&head[skip * head_dim..]);
        }
    }
    let shape = vec![
        keep.len() as i64,
        heads as i64,
        kept_positions as i64,
        head_dim as i64,
    ];
    (shape, out)
}

/// One decoder run's new positions for every row of a batch.
pub struct DecoderInput {
    /// `rows × seq × hidden` embeddings.
    pub embeds: Vec<f32>,
    /// Batch rows.
    pub rows: usize,
    /// New positions per row.
    pub seq: usize,
    /// `rows × (past + seq)` attention mask: 0 over left padding, 1 elsewhere.
    pub mask: Vec<i64>,
    /// `[3, rows, seq]` M-RoPE positions, row-major.
    pub positions: Vec<i64>,
}

/// `decoder_model_merged`: embeddings + mask + M-RoPE positions + cache → logits + new cache.
pub struct DecoderGraph {
    session: Session,
    embeds: String,
    embeds_kind: FloatKind,
    mask: String,
    positions: String,
    logits_to_keep: Option<(String, usize)>,
    logits: String,
    layers: Vec<LayerNames>,
    kv_kind: FloatKind,
    kv_heads: usize,
    head_dim: usize,
    /// The batch size the graph is fixed to, if it is.
    batch_axis: Option<usize>,
    /// Where the present key/values are bound: the provider's device, so that the cache stays
    /// there from one step to the next instead of crossing to the host and back at every token.
    cache_memory: MemoryInfo<'static>,
    /// Where the logits are bound: the host, which reads them.
    host_memory: MemoryInfo<'static>,
    /// The calls its TensorRT engine was built for, if it runs on one.
    limits: Option<SequenceLimits>,
}

impl DecoderGraph {
    fn new(
        opened: Profiled,
        path: &Path,
        config: &ModelConfig,
        limits: SequenceLimits,
    ) -> Result<Self, GraphError> {
        let Profiled {
            session,
            provider,
            ranged,
        } = opened;
        let io = Io::new(path, &session);
        let embeds = io.input(&["inputs_embeds"])?;
        let embeds_kind = io.float(embeds)?;
        let batch_axis = Interface::dims(embeds)
            .first()
            .filter(|d| **d > 0)
            .map(|d| *d as usize);
        let mask = io.input(&["attention_mask"])?;
        io.int64(mask)?;
        let positions = io.input(&["position_ids"])?;
        io.int64(positions)?;
        if Interface::dims(positions).len() != 3 {
            return Err(io.unsupported(format!(
                "position_ids has shape {:?}; Qwen2-VL's M-RoPE needs [3, batch, sequence]",
                Interface::dims(positions)
            )));
        }
        let logits_to_keep = match io.input(&["num_logits_to_keep", "logits_to_keep"]) {
            Ok(outlet) => {
                io.int64(outlet)?;
                Some((outlet.name().to_owned(), Interface::dims(outlet).len()))
            }
            Err(_) => None,
        };
        let logits = io.output(&["logits"])?;
        io.float(logits)?;
        let layer_count = session
            .inputs()
            .iter()
            .filter(|i| i.name().starts_with("past_key_values.") && i.name().ends_with(".key"))
            .count();
        if layer_count == 0 {
            return Err(io.unsupported(
                "no past_key_values.{i}.key inputs: export the decoder with its KV cache (decoder_model_merged)".into(),
            ));
        }
        let mut layers = Vec::with_capacity(layer_count);
        for i in 0..layer_count {
            let names = LayerNames {
                past_key: io
                    .input(&[&format!("past_key_values.{i}.key")])?
                    .name()
                    .into(),
                past_value: io
                    .input(&[&format!("past_key_values.{i}.value")])?
                    .name()
                    .into(),
                present_key: io.output(&[&format!("present.{i}.key")])?.name().into(),
                present_value: io.output(&[&format!("present.{i}.value")])?.name().into(),
            };
            layers.push(names);
        }
        let first = io.input(&["past_key_values.0.key"])?;
        let kv_kind = io.float(first)?;
        let dims = Interface::dims(first);
        if dims.len() != 4 {
            return Err(io.unsupported(format!(
                "past_key_values.0.key has shape {dims:?}, expected [batch, kv_heads, past, head_dim]"
            )));
        }
        let known = |d: i64, fallback: usize| if d > 0 { d as usize } else { fallback };
        let kv_heads = known(dims[1], config.num_key_value_heads);
        let head_dim = known(dims[3], config.head_dim());
        let fed: Vec<&str> = [embeds.name(), mask.name(), positions.name()]
            .into_iter()
            .chain(logits_to_keep.as_ref().map(|(n, _)| n.as_str()))
            .chain(
                layers
                    .iter()
                    .flat_map(|l| [l.past_key.as_str(), l.past_value.as_str()]),
            )
            .collect();
        if let Some(extra) = session.inputs().iter().find(|i| !fed.contains(&i.name())) {
            return Err(io.unsupported(format!(
                "unexpected decoder input {:?}; this engine feeds inputs_embeds, attention_mask, position_ids, num_logits_to_keep and past_key_values.*",
                extra.name()
            )));
        }
        tracing::debug!(
            path = %path.display(),
            layers = layer_count,
            kv_heads,
            head_dim,
            ?kv_kind,
            logits_to_keep = logits_to_keep.is_some(),
            %provider,
            "decoder interface"
        );
        Ok(Self {
            embeds: embeds.name().to_owned(),
            embeds_kind,
            mask: mask.name().to_owned(),
            positions: positions.name().to_owned(),
            logits_to_keep,
            logits: logits.name().to_owned(),
            layers,
            kv_kind,
            kv_heads,
            head_dim,
            batch_axis,
            cache_memory: device_memory(provider).map_err(Self::error)?,
            host_memory: device_memory(ExecutionProvider::Cpu).map_err(Self::error)?,
            limits: ranged.then_some(limits),
            session,
        })
    }

    /// The calls its TensorRT engine was built for (`None`: no such limits).
    pub fn limits(&self) -> Option<SequenceLimits> {
        self.limits
    }

    fn error(source: ort::Error) -> GraphError {
        GraphError::Run(RunError::Failed {
            graph: "decoder_model_merged",
            source,
        })
    }

    /// Whether the graph takes more than one sequence per run (its batch axis is not fixed).
    pub fn batches(&self) -> bool {
        self.batch_axis != Some(1)
    }

    /// An empty cache (past length 0) for `rows` sequences, with the shapes and type the graph
    /// declares.
    pub fn empty_cache(&self, rows: usize) -> Result<KvCache, GraphError> {
        let shape = vec![rows as i64, self.kv_heads as i64, 0, self.head_dim as i64];
        let values = (0..self.layers.len() * 2)
            .map(|_| float_tensor(self.kv_kind, shape.clone(), Vec::new()))
            .collect::<ort::Result<Vec<_>>>()
            .map_err(Self::error)?;
        Ok(KvCache {
            values,
            rows,
            len: 0,
        })
    }

    /// Runs `input.seq` new positions of every row on top of `cache` (which holds the same
    /// rows); returns each row's greedy next token, read from its last position's logits, and
    /// the grown cache.
    pub fn step(
        &mut self,
        input: DecoderInput,
        cache: KvCache,
    ) -> Result<(Vec<u32>, KvCache), GraphError> {
        let DecoderInput {
            embeds,
            rows,
            seq,
            mask,
            positions,
        } = input;
        let total = cache.len + seq;
        if let Some(limits) = self.limits {
            limits.check("decoder_model_merged", rows, total)?;
        }
        debug_assert_eq!(cache.rows, rows);
        debug_assert_eq!(mask.len(), rows * total);
        debug_assert_eq!(positions.len(), 3 * rows * seq);
        let hidden = embeds.len() / (rows * seq);
        let error = Self::error;
        // A binding per step: ONNX Runtime would otherwise write a later step's outputs into the
        // buffers of a binding's earlier ones, which the cache still holds.
        let mut binding = self.session.create_binding().map_err(error)?;
        let embeds = float_tensor(
            self.embeds_kind,
            vec![rows as i64, seq as i64, hidden as i64],
            embeds,
        )
        .map_err(error)?;
        binding.bind_input(&self.embeds, &embeds).map_err(error)?;
        let mask = Tensor::from_array((vec![rows as i64, total as i64], mask)).map_err(error)?;
        binding.bind_input(&self.mask, &mask).map_err(error)?;
        let positions =
            Tensor::from_array((vec![3, rows as i64, seq as i64], positions)).map_err(error)?;
        binding
            .bind_input(&self.positions, &positions)
            .map_err(error)?;
        if let Some((name, rank)) = &self.logits_to_keep {
            let keep = if *rank == 0 {
                Tensor::from_array(((), vec![1i64]))
            } else {
                Tensor::from_array((vec![1i64], vec![1i64]))
            };
            binding
                .bind_input(name, &keep.map_err(error)?)
                .map_err(error)?;
        }
        let mut past = cache.values.iter();
        for layer in &self.layers {
            for name in [&layer.past_key, &layer.past_value] {
                let value = past.next().expect("two cache tensors per layer");
                binding.bind_input(name, value).map_err(error)?;
            }
            for name in [&layer.present_key, &layer.present_value] {
                binding
                    .bind_output_to_device(name, &self.cache_memory)
                    .map_err(error)?;
            }
        }
        binding
            .bind_output_to_device(&self.logits, &self.host_memory)
            .map_err(error)?;
        let mut outputs = self.session.run_binding(&binding).map_err(error)?;
        let next = last_argmax(&outputs[self.logits.as_str()], rows).map_err(error)?;
        let mut values = Vec::with_capacity(self.layers.len() * 2);
        for layer in &self.layers {
            for name in [&layer.present_key, &layer.present_value] {
                let value = outputs.remove(name.as_str()).ok_or_else(|| {
                    GraphError::Run(RunError::MissingOutput {
                        graph: "decoder_model_merged",
                        name: name.clone(),
                    })
                })?;
                values.push(value);
            }
        }
        Ok((
            next,
            KvCache {
                values,
                rows,
                len: total,
            },
        ))
    }
}

/// Device memory of `provider`'s own allocator, where its outputs can stay.
fn device_memory(provider: ExecutionProvider) -> ort::Result<MemoryInfo<'static>> {
    let device = match provider {
        ExecutionProvider::Cpu => AllocationDevice::CPU,
        ExecutionProvider::Cuda | ExecutionProvider::TensorRt => AllocationDevice::CUDA,
    };
    MemoryInfo::new(device, 0, AllocatorType::Device, MemoryType::Default)
}

/// For each of the `rows` rows, the index of the largest logit of its last position (the first
/// one on ties, like numpy).
fn last_argmax(logits: &DynValue, rows: usize) -> ort::Result<Vec<u32>> {
    fn argmax<T: Copy + PartialOrd>(row: &[T]) -> u32 {
        let mut best = 0;
        for (i, v) in row.iter().enumerate() {
            if *v > row[best] {
                best = i;
            }
        }
        best as u32
    }
    fn per_row<T: Copy + PartialOrd>(shape: &[i64], data: &[T], rows: usize) -> Vec<u32> {
        let vocab = shape[shape.len() - 1] as usize;
        data.chunks_exact(data.len() / rows.max(1))
            .map(|row| argmax(&row[row.len() - vocab..]))
            .collect()
    }
    if let Ok((shape, data)) = logits.try_extract_tensor::<f32>() {
        return Ok(per_row(shape, data, rows));
    }
    let (shape, data) = logits.try_extract_tensor::<f16>()?;
    Ok(per_row(shape, data, rows))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selecting_rows_keeps_their_order_and_drops_leading_positions() {
        // [batch 3, heads 2, positions 3, head_dim 1]: value = 100·row + 10·head + position.
        let data: Vec<i32> = (0..3)
            .flat_map(|r| (0..2).flat_map(move |h| (0..3).map(move |p| 100 * r + 10 * h + p)))
            .collect();
        let (shape, kept) = select_rows(&[3, 2, 3, 1], &data, &[2, 0], 1);
        assert_eq!(shape, vec![2, 2, 2, 1]);
        assert_eq!(kept, vec![201, 202, 211, 212, 1, 2, 11, 12]);
    }
}
