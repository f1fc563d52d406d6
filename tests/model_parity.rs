//! The ShowUI engine against transformers on a real Qwen2-VL: a small random-weight
//! `Qwen2VLForConditionalGeneration` (Qwen2-VL's vocabulary and special-token ids) exported with
//! `scripts/models/export_showui.py`, and the prompt ids, `image_grid_thw`, `pixel_values` and
//! greedy tokens that transformers' `Qwen2VLProcessor` + `generate` give for it, in float32 and
//! (against the `--dtype fp16` export) in float16
//! (`scripts/models/make_parity_model.py`, run here through `.venv-parity/`, which
//! `scripts/setup-parity.sh` installs; it rebuilds only when its inputs changed).
//!
//! Needs ONNX Runtime in `.ort/lib` and the Python environment in `.venv-parity/`.

#[path = "common/parity.rs"]
mod parity;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use neko_agent::agent::{History, Mode, NavPrompt, parse_action};
use neko_agent::frame::RgbImage;
use neko_agent::model::{
    BatchRow, BeyondProfile, Dtype, GraphError, ModelError, ModelOptions, SequenceLimits, ShowUi,
    StopReason,
};
use neko_agent::onnx::{ProviderChoice, find_library};
use parity::parity_dir;
use serde::Deserialize;

/// What make_parity_model.py writes in `reference.json`.
#[derive(Debug, Deserialize)]
struct Reference {
    max_new_tokens: usize,
    min_pixels: u64,
    max_pixels: u64,
    cases: Vec<Case>,
    end_token: EndToken,
}

/// One frame and prompt, with transformers' answers.
#[derive(Debug, Deserialize)]
struct Case {
    name: String,
    frame: String,
    width: u32,
    height: u32,
    task: String,
    history: Vec<serde_json::Value>,
    prompt_ids: Vec<u32>,
    image_grid_thw: [usize; 3],
    pixel_values_shape: [usize; 2],
    prompt_length: usize,
    /// transformers with the model in float32 (the engine on the `fp32` graphs).
    fp32: Greedy,
    /// transformers with the model in float16 (the engine on the `*_fp16` graphs).
    fp16: Greedy,
}

/// transformers' greedy reply in one precision.
#[derive(Debug, Deserialize)]
struct Greedy {
    generated_ids: Vec<u32>,
    text: String,
    /// Each step's largest logit.
    top_logits: Vec<f32>,
    /// Each step's lead of the largest logit over the second.
    top2_margins: Vec<f32>,
}

/// How many float16 rounding steps (at the size of the largest logit) a lead may be and still
/// count as a tie: float16 runs round differently in ONNX Runtime and PyTorch, so where
/// transformers' own top two logits are this close, either token is right and the sequences may
/// part there. float32 has no such allowance.
const FP16_TIE_ULPS: f32 = 4.0;

/// The float16 spacing at `value`.
fn fp16_ulp(value: f32) -> f32 {
    2f32.powi(value.abs().log2().floor() as i32 - 10)
}

/// transformers' tokens for the first case when `id` is declared an end token.
#[derive(Debug, Deserialize)]
struct EndToken {
    case: String,
    id: u32,
    generated_ids: Vec<u32>,
}

/// The largest difference allowed between the engine's and transformers' pixel values (the
/// values are normalised to about -1.8..2.1; both resize bicubically in float).
const PIXEL_TOLERANCE: f32 = 1e-4;

fn reference() -> &'static Reference {
    static REFERENCE: OnceLock<Reference> = OnceLock::new();
    REFERENCE.get_or_init(|| {
        let text = std::fs::read_to_string(parity_dir().join("reference.json")).unwrap();
        serde_json::from_str(&text).unwrap()
    })
}

/// The provider the engine runs on: the CPU, or `NEKO_PARITY_PROVIDER` (`cuda`, `tensorrt`) on a
/// GPU machine (scripts/gpu-model-check.sh).
fn parity_provider() -> ProviderChoice {
    match std::env::var("NEKO_PARITY_PROVIDER").as_deref() {
        Ok("cuda") => ProviderChoice::Cuda,
        Ok("tensorrt") => ProviderChoice::Tensorrt,
        _ => ProviderChoice::Cpu,
    }
}

fn options(model_dir: PathBuf) -> ModelOptions {
    if let Err(e) = find_library(None) {
        panic!("ONNX Runtime is not installed for the tests: {e}");
    }
    let reference = reference();
    ModelOptions {
        min_pixels: reference.min_pixels,
        max_pixels: reference.max_pixels,
        execution_provider: parity_provider(),
        dtype: Dtype::Fp32,
        ..ModelOptions::new(model_dir)
    }
}

fn model(dtype: Dtype) -> &'static ShowUi {
    static FP32: OnceLock<ShowUi> = OnceLock::new();
    static FP16: OnceLock<ShowUi> = OnceLock::new();
    let cell = if dtype == Dtype::Fp16 { &FP16 } else { &FP32 };
    cell.get_or_init(|| {
        let options = ModelOptions {
            dtype,
            ..options(parity_dir().join("export"))
        };
        let model = ShowUi::load(&options).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(model.dtype(), dtype);
        model
    })
}

fn frame(case: &Case) -> Vec<u8> {
    let rgb = std::fs::read(parity_dir().join(format!("{}.rgb", case.frame))).unwrap();
    assert_eq!(rgb.len(), (case.width * case.height * 3) as usize);
    rgb
}

/// The agent's history for the case: each action as the model would have written it, parsed.
fn history(case: &Case) -> History {
    let mut history = History::new();
    for action in &case.history {
        history.push(parse_action(&action.to_string(), Mode::Web).unwrap());
    }
    history
}

fn pixel_values(case: &Case) -> Vec<f32> {
    let bytes = std::fs::read(parity_dir().join(format!("{}.pixels", case.frame))).unwrap();
    bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect()
}

/// Equal id lists, or a panic naming the first difference (prompts are ~1600 ids long).
fn assert_same_ids(case: &str, what: &str, engine: &[u32], transformers: &[u32]) {
    if let Some(at) =
        (0..engine.len().max(transformers.len())).find(|&i| engine.get(i) != transformers.get(i))
    {
        let window = |ids: &[u32]| ids[at.saturating_sub(3)..(at + 4).min(ids.len())].to_vec();
        panic!(
            "{case}: {what} ids differ first at index {at} of {} (engine) / {} (transformers): \
             engine ...{:?}..., transformers ...{:?}...",
            engine.len(),
            transformers.len(),
            window(engine),
            window(transformers)
        );
    }
}

#[test]
fn preprocessing_matches_the_qwen2_vl_image_processor() {
    for case in reference().cases.iter().filter(|c| c.history.is_empty()) {
        let rgb = frame(case);
        let image = RgbImage {
            width: case.width,
            height: case.height,
            data: rgb.clone(),
        };
        let pixels = model(Dtype::Fp32)
            .image_processor()
            .preprocess(&image)
            .unwrap();
        assert_eq!(pixels.grid_thw, case.image_grid_thw, "{}", case.name);
        assert_eq!(
            [pixels.rows(), pixels.row_len],
            case.pixel_values_shape,
            "{}",
            case.name
        );
        let expected = pixel_values(case);
        assert_eq!(pixels.values.len(), expected.len(), "{}", case.name);
        let (worst, at) = pixels
            .values
            .iter()
            .zip(&expected)
            .map(|(a, b)| (a - b).abs())
            .enumerate()
            .fold(
                (0f32, 0),
                |(worst, at), (i, d)| {
                    if d > worst { (d, i) } else { (worst, at) }
                },
            );
        assert!(
            worst <= PIXEL_TOLERANCE,
            "{}: pixel value {at} differs by {worst} (engine {}, transformers {})",
            case.name,
            pixels.values[at],
            expected[at]
        );
    }
}

/// The engine on the `dtype` graphs against transformers in the same precision, every case.
fn assert_greedy_parity(dtype: Dtype) {
    let reference = reference();
    assert!(reference.cases.len() >= 4, "two frame sizes, two prompts");
    for case in &reference.cases {
        let expected = if dtype == Dtype::Fp16 {
            &case.fp16
        } else {
            &case.fp32
        };
        let rgb = frame(case);
        let image = RgbImage {
            width: case.width,
            height: case.height,
            data: rgb.clone(),
        };
        let messages = NavPrompt::new(Mode::Web).messages(&case.task, &history(case));
        let reply = model(dtype)
            .generate(&image, &messages, reference.max_new_tokens)
            .unwrap_or_else(|e| panic!("{}: {e}", case.name));
        assert_same_ids(&case.name, "prompt", &reply.prompt_ids, &case.prompt_ids);
        assert_eq!(reply.prompt_tokens, case.prompt_length, "{}", case.name);
        assert_eq!(reply.stop, StopReason::MaxTokens, "{}", case.name);
        let agree = reply
            .token_ids
            .iter()
            .zip(&expected.generated_ids)
            .take_while(|(a, b)| a == b)
            .count();
        if dtype == Dtype::Fp16 && agree < expected.generated_ids.len() {
            let (top, lead) = (expected.top_logits[agree], expected.top2_margins[agree]);
            assert!(
                lead <= FP16_TIE_ULPS * fp16_ulp(top),
                "{}: fp16 tokens part at step {agree}, where transformers' top logit {top} leads by {lead} (more than {FP16_TIE_ULPS} float16 steps): engine {:?}, transformers {:?}",
                case.name,
                reply.token_ids,
                expected.generated_ids
            );
            println!(
                "{}: fp16 tokens agree up to a near-tie at step {agree}",
                case.name
            );
            continue;
        }
        assert_same_ids(
            &case.name,
            "generated",
            &reply.token_ids,
            &expected.generated_ids,
        );
        assert_eq!(reply.text, expected.text, "{}", case.name);
    }
}

#[test]
fn greedy_tokens_match_transformers() {
    assert_greedy_parity(Dtype::Fp32);
}

#[test]
fn greedy_tokens_match_transformers_in_fp16() {
    assert_greedy_parity(Dtype::Fp16);
}

#[test]
fn an_end_token_stops_generation_where_transformers_stops() {
    let reference = reference();
    let end = &reference.end_token;
    let case = reference.cases.iter().find(|c| c.name == end.case).unwrap();
    assert!(end.generated_ids.len() < reference.max_new_tokens);
    assert_eq!(end.generated_ids.last(), Some(&end.id));

    // The same export with `id` added to generation_config.json's end tokens.
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("parity-model-end-token");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let export = parity_dir().join("export");
    for entry in std::fs::read_dir(&export).unwrap() {
        let entry = entry.unwrap();
        std::os::unix::fs::symlink(entry.path(), dir.join(entry.file_name())).unwrap();
    }
    let config = dir.join("generation_config.json");
    let mut generation: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&config).unwrap()).unwrap();
    generation["eos_token_id"]
        .as_array_mut()
        .unwrap()
        .push(end.id.into());
    std::fs::remove_file(&config).unwrap();
    std::fs::write(&config, generation.to_string()).unwrap();

    let model = ShowUi::load(&options(dir)).unwrap_or_else(|e| panic!("{e}"));
    let rgb = frame(case);
    let image = RgbImage {
        width: case.width,
        height: case.height,
        data: rgb.clone(),
    };
    let messages = NavPrompt::new(Mode::Web).messages(&case.task, &history(case));
    let reply = model
        .generate(&image, &messages, reference.max_new_tokens)
        .unwrap();
    assert_eq!(reply.token_ids, end.generated_ids);
    assert_eq!(reply.stop, StopReason::EndOfTurn);
}

/// On TensorRT the token embedding and the decoder are built once for explicit shape ranges
/// (an empty cache up to `--trt-max-tokens`), the greedy tokens above are what they give,
/// and a call that would outgrow the ranges is refused with the setting to raise before any
/// graph runs. Needs a GPU: scripts/gpu-model-check.sh runs it with
/// `NEKO_PARITY_PROVIDER=tensorrt`.
#[test]
#[ignore = "needs TensorRT on an NVIDIA GPU (scripts/gpu-model-check.sh)"]
fn on_tensorrt_the_decoder_is_built_for_explicit_ranges_and_refuses_longer_calls() {
    assert_eq!(
        parity_provider(),
        ProviderChoice::Tensorrt,
        "run with NEKO_PARITY_PROVIDER=tensorrt"
    );
    let model = model(Dtype::Fp32);
    let defaults = ModelOptions::new("");
    assert_eq!(
        model.tensorrt_limits(),
        Some(SequenceLimits::new(defaults.batching.max_batch, defaults.trt_max_tokens).unwrap()),
        "TensorRT did not take the decoder's explicit shape ranges (see the warning above)"
    );

    let reference = reference();
    let case = &reference.cases[0];
    let tokens = case.prompt_length + reference.max_new_tokens - 2;
    let options = ModelOptions {
        trt_max_tokens: tokens,
        ..options(parity_dir().join("export"))
    };
    let short = ShowUi::load(&options).unwrap_or_else(|e| panic!("{e}"));
    let image = RgbImage {
        width: case.width,
        height: case.height,
        data: frame(case),
    };
    let messages = NavPrompt::new(Mode::Web).messages(&case.task, &history(case));
    let err = short
        .generate(&image, &messages, reference.max_new_tokens)
        .unwrap_err();
    let ModelError::Graph(GraphError::BeyondProfile(BeyondProfile::Tokens {
        tokens: asked,
        limit,
        ..
    })) = &err
    else {
        panic!("expected a call beyond the profile, got {err}");
    };
    assert_eq!((*asked, *limit), (tokens + 1, tokens));
    assert!(err.to_string().contains("NEKO_TRT_MAX_TOKENS"), "{err}");
    // One token fewer fits.
    let reply = short
        .generate(&image, &messages, reference.max_new_tokens - 1)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_same_ids(
        &case.name,
        "generated",
        &reply.token_ids,
        &case.fp32.generated_ids[..reference.max_new_tokens - 1],
    );
}

/// Several images in one vision call, as the multi-room batcher sends them: each image's
/// features equal what it gives alone, for images of different sizes (the export pads frames
/// to the longest and masks the padding), in float32 and float16. A smaller pixel budget keeps
/// the attention matrices small.
#[test]
fn images_of_different_sizes_encode_in_one_call_as_one_by_one() {
    let reference = reference();
    let wide = &reference.cases[0];
    let other = reference
        .cases
        .iter()
        .find(|c| (c.width, c.height) != (wide.width, wide.height))
        .expect("two frame sizes");
    let wide_rgb = frame(wide);
    // A 4:3 crop of the other frame, so the two grids differ in shape, not only in scale.
    let crop_width = other.height * 4 / 3;
    let other_rgb: Vec<u8> = frame(other)
        .chunks_exact(other.width as usize * 3)
        .flat_map(|row| row[..crop_width as usize * 3].to_vec())
        .collect();
    let images = [
        RgbImage {
            width: wide.width,
            height: wide.height,
            data: wide_rgb.clone(),
        },
        RgbImage {
            width: crop_width,
            height: other.height,
            data: other_rgb.clone(),
        },
    ];
    for (dtype, tolerance) in [(Dtype::Fp32, 1e-4), (Dtype::Fp16, 1e-2)] {
        let options = ModelOptions {
            dtype,
            min_pixels: 64 * 28 * 28,
            max_pixels: 320 * 28 * 28,
            ..options(parity_dir().join("export"))
        };
        let model = ShowUi::load(&options).unwrap_or_else(|e| panic!("{e}"));
        let together = model.encode_images(&[&images[0], &images[1]]).unwrap();
        assert_eq!(together.len(), 2);
        assert_ne!(together[0].grid_thw, together[1].grid_thw);
        for (image, batched) in images.iter().zip(&together) {
            let alone = model.encode_images(&[image]).unwrap();
            assert_eq!(alone[0].grid_thw, batched.grid_thw);
            assert_eq!(alone[0].values.len(), batched.values.len());
            let scale = alone[0].values.iter().fold(0f32, |m, v| m.max(v.abs()));
            let worst = alone[0]
                .values
                .iter()
                .zip(&batched.values)
                .fold(0f32, |m, (a, b)| m.max((a - b).abs()));
            assert!(
                worst <= scale * tolerance,
                "{dtype:?} {:?}: batched features differ from one-by-one by {worst} (largest value {scale})",
                batched.grid_thw
            );
        }
    }
}

/// The int8 graphs (`export_showui.py --dtype int8`, dynamically quantised from the float32 ones)
/// load and answer with the same prompt; their tokens are reported against transformers' float32
/// ones, not held to them: quantisation changes the numbers, and this random model is built to
/// turn any change into different tokens.
#[test]
fn int8_graphs_answer_the_same_prompt_and_their_agreement_is_reported() {
    let reference = reference();
    let options = ModelOptions {
        dtype: Dtype::Quantized,
        ..options(parity_dir().join("export"))
    };
    let model = ShowUi::load(&options).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(model.dtype(), Dtype::Quantized);
    for case in &reference.cases {
        let rgb = frame(case);
        let image = RgbImage {
            width: case.width,
            height: case.height,
            data: rgb.clone(),
        };
        let messages = NavPrompt::new(Mode::Web).messages(&case.task, &history(case));
        let reply = model
            .generate(&image, &messages, reference.max_new_tokens)
            .unwrap_or_else(|e| panic!("{}: {e}", case.name));
        assert_same_ids(&case.name, "prompt", &reply.prompt_ids, &case.prompt_ids);
        assert!(
            reply.tokens == reference.max_new_tokens || reply.stop == StopReason::EndOfTurn,
            "{}: {} tokens",
            case.name,
            reply.tokens
        );
        let agree = reply
            .token_ids
            .iter()
            .zip(&case.fp32.generated_ids)
            .take_while(|(a, b)| a == b)
            .count();
        println!(
            "{}: int8 follows transformers' float32 tokens for {agree} of {}",
            case.name, reference.max_new_tokens
        );
    }
}

/// Every case in one batch, as a worker driving several rooms sends them: frames of different
/// sizes and prompts of different lengths go left-padded through one prefill and shared decode
/// steps, and each row's tokens are still transformers' (the single-call answers). A row with a
/// small token limit leaves early and one that stops being wanted mid-decode leaves without an
/// answer; the others are unaffected.
#[test]
fn a_batch_of_rooms_answers_each_row_as_a_single_call_does() {
    use std::sync::atomic::{AtomicUsize, Ordering};

    let reference = reference();
    let model = model(Dtype::Fp32);
    assert!(model.batching().sequences, "the export batches sequences");
    let images: Vec<RgbImage> = reference
        .cases
        .iter()
        .map(|case| RgbImage {
            width: case.width,
            height: case.height,
            data: frame(case),
        })
        .collect();
    let chats: Vec<_> = reference
        .cases
        .iter()
        .map(|case| NavPrompt::new(Mode::Web).messages(&case.task, &history(case)))
        .collect();
    let early = 5;
    let cases = reference.cases.len();
    let mut rows: Vec<BatchRow<'_>> = (0..cases)
        .map(|i| BatchRow {
            image: &images[i],
            messages: &chats[i],
            max_new_tokens: reference.max_new_tokens,
        })
        .collect();
    rows[0].max_new_tokens = early;
    // The last row is cancelled after a few decode steps.
    rows.push(rows[1]);
    let cancelled = rows.len() - 1;
    let checks = AtomicUsize::new(0);
    let wanted = |row: usize| row != cancelled || checks.fetch_add(1, Ordering::Relaxed) < 3;

    let mut answers = vec![None; rows.len()];
    model
        .generate_batch(&rows, &wanted, &mut |row, result| {
            assert!(answers[row].is_none(), "row {row} answered twice");
            answers[row] = Some(result.unwrap_or_else(|e| panic!("row {row}: {e}")));
        })
        .unwrap();
    assert!(
        answers[cancelled].is_none(),
        "a cancelled row is not answered"
    );
    for (row, case) in reference.cases.iter().enumerate() {
        let reply = answers[row]
            .as_ref()
            .unwrap_or_else(|| panic!("{} unanswered", case.name));
        let limit = rows[row].max_new_tokens;
        assert_same_ids(&case.name, "prompt", &reply.prompt_ids, &case.prompt_ids);
        assert_same_ids(
            &case.name,
            "batched generated",
            &reply.token_ids,
            &case.fp32.generated_ids[..limit.min(case.fp32.generated_ids.len())],
        );
        assert_eq!(reply.stop, StopReason::MaxTokens, "{}", case.name);
        assert_eq!(
            reply.timings.decode_steps + 1,
            reply.tokens,
            "{}",
            case.name
        );
    }
}

/// An export whose decoder is fixed to one sequence per run (its batch axis is 1, not free)
/// cannot batch rooms: the scheduler says so and runs one room's step per call, and every room
/// still gets its answer. A vision encoder fixed to one image per call is seen too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_export_that_cannot_batch_runs_one_room_per_call() {
    use neko_agent::model::{BatchMetrics, BatchOptions, Batcher};
    use std::sync::Arc;

    let export = parity_dir().join("export");
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("parity-model-fixed-batch");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("onnx")).unwrap();
    for entry in std::fs::read_dir(&export).unwrap() {
        let entry = entry.unwrap();
        if entry.file_name() != "onnx" {
            std::os::unix::fs::symlink(entry.path(), dir.join(entry.file_name())).unwrap();
        }
    }
    for entry in std::fs::read_dir(export.join("onnx")).unwrap() {
        let entry = entry.unwrap();
        // Hard links: ONNX Runtime refuses external data that resolves outside the folder.
        if !["decoder_model_merged.onnx", "vision_encoder.onnx"]
            .iter()
            .any(|fixed| entry.file_name() == *fixed)
        {
            std::fs::hard_link(entry.path(), dir.join("onnx").join(entry.file_name())).unwrap();
        }
    }
    // The same graphs with every batch axis fixed to 1 (the images' axis of `grid_thw`).
    let fix = r#"
import sys, onnx
model = onnx.load(sys.argv[1], load_external_data=False)
for value in model.graph.input:
    if value.name in ("num_logits_to_keep", "pixel_values"):
        continue
    axis = 1 if value.name == "position_ids" else 0
    value.type.tensor_type.shape.dim[axis].dim_value = 1
onnx.save(model, sys.argv[2])
"#;
    for graph in ["decoder_model_merged.onnx", "vision_encoder.onnx"] {
        let status = std::process::Command::new(parity::repo().join(".venv-parity/bin/python3"))
            .args(["-c", fix])
            .arg(export.join("onnx").join(graph))
            .arg(dir.join("onnx").join(graph))
            .status()
            .unwrap();
        assert!(status.success(), "{graph}");
    }

    let model = ShowUi::load(&options(dir)).unwrap_or_else(|e| panic!("{e}"));
    assert!(!model.batching().sequences);
    assert!(!model.batching().images);
    let batcher = Batcher::start(
        Arc::new(model),
        BatchOptions::default(),
        BatchMetrics::default(),
    );
    assert_eq!(batcher.options().max_batch, 1, "one room per call");
    let case = &reference().cases[0];
    let image = Arc::new(RgbImage {
        width: case.width,
        height: case.height,
        data: frame(case),
    });
    let messages = Arc::new(NavPrompt::new(Mode::Web).messages(&case.task, &history(case)));
    let rooms = [batcher.client("a"), batcher.client("b")];
    let answers = futures_util::future::join_all(
        rooms
            .iter()
            .map(|room| room.generate(image.clone(), messages.clone(), 4)),
    )
    .await;
    for answer in answers {
        let generation = answer.unwrap().unwrap();
        assert_eq!(generation.token_ids, case.fp32.generated_ids[..4]);
        assert_eq!(generation.timings.batch_rows, 1);
    }
}
