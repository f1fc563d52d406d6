//! The ShowUI engine end to end on the scripted fixtures in `models/` (tiny Qwen2-VL graphs that
//! answer a fixed script and emit marker characters when the inference loop is wrong).
//!
//! Needs ONNX Runtime in `.ort/lib` (`bash scripts/setup.sh`), found the way the binary finds it.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use neko_agent::frame::RgbImage;
use neko_agent::model::{
    BatchMetrics, BatchOptions, BatchRow, Batcher, Message, ModelError, ModelOptions, Part, ShowUi,
    StopReason,
};
use neko_agent::onnx::{ExecutionProvider, ProviderChoice, RuntimeError, find_library};

fn fixture_dir(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("models")
        .join(name)
}

/// `fixture.json` of a fixture directory.
struct Script {
    first_step: String,
    later_steps: String,
    markers: Vec<char>,
}

fn script(name: &str) -> Script {
    let text = std::fs::read_to_string(fixture_dir(name).join("fixture.json")).unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    Script {
        first_step: json["first_step"].as_str().unwrap().to_owned(),
        later_steps: json["later_steps"].as_str().unwrap().to_owned(),
        markers: json["error_markers"]
            .as_object()
            .unwrap()
            .keys()
            .map(|k| k.chars().next().unwrap())
            .collect(),
    }
}

/// Options for a fixture with a small pixel budget (the fixture's logits cost ~0.6 MB a token).
fn options(name: &str) -> ModelOptions {
    if let Err(e) = find_library(None) {
        panic!("ONNX Runtime is not installed for the tests: {e}");
    }
    ModelOptions {
        min_pixels: 56 * 56,
        max_pixels: 140 * 112,
        execution_provider: ProviderChoice::Cpu,
        ..ModelOptions::new(fixture_dir(name))
    }
}

fn model(name: &'static str) -> &'static ShowUi {
    static CLICK: OnceLock<ShowUi> = OnceLock::new();
    static GARBAGE: OnceLock<ShowUi> = OnceLock::new();
    let cell = if name == "showui-fixture" {
        &CLICK
    } else {
        &GARBAGE
    };
    cell.get_or_init(|| ShowUi::load(&options(name)).unwrap_or_else(|e| panic!("{e}")))
}

/// A small stand-in desktop: grey with a red and a blue block.
fn frame(width: u32, height: u32) -> Vec<u8> {
    let mut rgb = vec![200u8; (width * height * 3) as usize];
    for y in 0..height {
        for x in 0..width {
            let i = ((y * width + x) * 3) as usize;
            if y * 10 < height * 3 && x * 10 < width * 2 {
                rgb[i..i + 3].copy_from_slice(&[220, 40, 40]);
            } else if y * 2 > height && x * 2 > width {
                rgb[i..i + 3].copy_from_slice(&[40, 90, 220]);
            }
        }
    }
    rgb
}

/// The legacy ShowUI prompt shape: one user message, text items then the image.
fn legacy(task: &str, history: Option<&str>) -> Vec<Message> {
    let mut content = vec![
        Part::Text("Output the next action.".into()),
        Part::Text(format!("Task: {task}")),
    ];
    if let Some(history) = history {
        content.push(Part::Text(format!("Action history: {history}")));
    }
    content.push(Part::Image);
    vec![Message::user(content)]
}

/// The simple_cot shape: a system message, then text and the image.
fn cot(task: &str, history: Option<&str>) -> Vec<Message> {
    let mut text = format!("Task: {task}\nCurrent observation:");
    if let Some(history) = history {
        text.push_str(&format!(
            "\nPrevious actions:\n1. action={history} (frame=frame_0001)"
        ));
    }
    vec![
        Message::system("Respond with the next action as JSON."),
        Message::user(vec![Part::Text(text), Part::Image]),
    ]
}

fn assert_clean(text: &str, script: &Script) {
    assert!(
        !text.chars().any(|c| script.markers.contains(&c)),
        "error marker in {text:?}"
    );
}

const HISTORY: &str = r#"[{"action": "CLICK", "value": null, "position": [0.13, 0.24]}]"#;

#[test]
fn first_step_clicks_the_red_region() {
    let script = script("showui-fixture");
    let model = model("showui-fixture");
    let rgb = frame(112, 84);
    let image = RgbImage {
        width: 112,
        height: 84,
        data: rgb.clone(),
    };
    let out = model
        .generate(&image, &legacy("Click red", None), 128)
        .unwrap();
    assert_eq!(out.text, script.first_step);
    assert_clean(&out.text, &script);
    assert_eq!(out.stop, StopReason::EndOfTurn);
    assert_eq!((out.image_size.width, out.image_size.height), (112, 84));
    assert!(out.prompt_tokens > 12, "{}", out.prompt_tokens);
    assert_eq!(out.timings.decode_steps + 1, out.tokens);
    assert!(out.timings.total >= out.timings.prefill + out.timings.vision);
    assert_eq!(model.execution_provider(), ExecutionProvider::Cpu);
}

#[test]
fn json_history_leads_to_the_answer() {
    let script = script("showui-fixture");
    let model = model("showui-fixture");
    let rgb = frame(112, 84);
    let image = RgbImage {
        width: 112,
        height: 84,
        data: rgb.clone(),
    };
    let out = model
        .generate(&image, &legacy("Click red", Some(HISTORY)), 128)
        .unwrap();
    assert_eq!(out.text, script.later_steps);
    assert_clean(&out.text, &script);
    let out = model
        .generate(&image, &cot("Click red", Some(HISTORY)), 128)
        .unwrap();
    assert_eq!(out.text, script.later_steps);
}

/// Other frame sizes (including ones resized up and down) and the system-message prompt shape.
#[test]
fn frame_size_and_prompt_shape_do_not_matter() {
    let script = script("showui-fixture");
    let model = model("showui-fixture");
    for (width, height) in [(56, 56), (200, 330), (300, 100)] {
        let rgb = frame(width, height);
        let image = RgbImage {
            width,
            height,
            data: rgb.clone(),
        };
        let out = model
            .generate(&image, &cot("Click red", None), 128)
            .unwrap();
        assert_eq!(out.text, script.first_step, "{width}x{height}");
        let size = out.image_size;
        assert!(
            size.width.is_multiple_of(28) && size.height.is_multiple_of(28),
            "{size}"
        );
        assert!(u64::from(size.width * size.height) <= 140 * 112, "{size}");
    }
}

#[test]
fn the_garbage_fixture_says_its_line() {
    let script = script("showui-fixture-garbage");
    let model = model("showui-fixture-garbage");
    let rgb = frame(84, 56);
    let image = RgbImage {
        width: 84,
        height: 56,
        data: rgb.clone(),
    };
    for history in [None, Some(HISTORY)] {
        let out = model
            .generate(&image, &legacy("Click red", history), 64)
            .unwrap();
        assert_eq!(out.text, script.first_step);
        assert_eq!(out.text, "I cannot do that");
        assert_clean(&out.text, &script);
    }
}

#[test]
fn max_new_tokens_cuts_the_reply() {
    let script = script("showui-fixture");
    let model = model("showui-fixture");
    let rgb = frame(84, 56);
    let image = RgbImage {
        width: 84,
        height: 56,
        data: rgb.clone(),
    };
    let out = model
        .generate(&image, &legacy("Click red", None), 3)
        .unwrap();
    assert_eq!(out.tokens, 3);
    assert_eq!(out.stop, StopReason::MaxTokens);
    assert!(script.first_step.starts_with(&out.text), "{:?}", out.text);
    assert!(!out.text.is_empty());
}

#[test]
fn messages_need_exactly_one_image_part() {
    let model = model("showui-fixture");
    let rgb = frame(84, 56);
    let image = RgbImage {
        width: 84,
        height: 56,
        data: rgb.clone(),
    };
    let messages = [Message::user(vec![Part::Text("no image here".into())])];
    let err = model.generate(&image, &messages, 16).unwrap_err();
    assert!(matches!(err, ModelError::Prompt(_)), "{err:?}");
    assert!(err.to_string().contains("Part::Image"), "{err}");
}

#[test]
fn a_missing_model_file_is_named() {
    let dir = std::env::temp_dir().join(format!("neko-model-missing-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("onnx")).unwrap();
    let source = fixture_dir("showui-fixture");
    for name in [
        "config.json",
        "preprocessor_config.json",
        "generation_config.json",
    ] {
        std::fs::copy(source.join(name), dir.join(name)).unwrap();
    }
    for graph in ["vision_encoder", "embed_tokens", "decoder_model_merged"] {
        let file = format!("onnx/{graph}.onnx");
        std::fs::copy(source.join(&file), dir.join(&file)).unwrap();
    }
    let err = ShowUi::load(&ModelOptions::new(&dir)).unwrap_err();
    std::fs::remove_dir_all(&dir).unwrap();
    let text = err.to_string();
    assert!(text.contains("tokenizer.json"), "{text}");
    assert!(text.contains("scripts/models/export_showui.py"), "{text}");

    let err = ShowUi::load(&ModelOptions::new("/nonexistent/showui-2b")).unwrap_err();
    assert!(err.to_string().contains("/nonexistent/showui-2b"), "{err}");
}

#[test]
fn a_wrong_library_path_is_a_clear_error() {
    let options = ModelOptions {
        ort_library: Some("/nonexistent/lib/libonnxruntime.so.1.31.1".into()),
        ..options("showui-fixture")
    };
    let err = ShowUi::load(&options).unwrap_err();
    assert!(
        matches!(err, ModelError::Runtime(RuntimeError::BadPath { .. })),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(
        text.contains("/nonexistent/lib/libonnxruntime.so.1.31.1"),
        "{text}"
    );
    assert!(
        text.contains("bash scripts/setup.sh") && text.contains("NEKO_ORT_LIB"),
        "{text}"
    );
}

/// Rows of different prompt lengths in one left-padded batch answer exactly as one call each
/// does (the fixture's graphs turn a wrong mask, position or cache row into marker characters).
/// The frames are of one size: the fixture's vision encoder lays out a batch's feature rows by
/// the first image's grid (frames of different sizes in one batch are checked on the real
/// architecture, in tests/model_parity.rs).
#[test]
fn a_batch_answers_each_row_as_a_single_call_does() {
    let script = script("showui-fixture");
    let model = model("showui-fixture");
    let sizes = [(112, 84); 4];
    let images: Vec<RgbImage> = sizes
        .iter()
        .map(|&(width, height)| RgbImage {
            width,
            height,
            data: frame(width, height),
        })
        .collect();
    let chats = [
        legacy("Click red", None),
        cot("Click red", Some(HISTORY)),
        legacy("Click red", Some(HISTORY)),
        cot("Click the blue block in the lower right corner", None),
    ];
    let rows: Vec<BatchRow<'_>> = images
        .iter()
        .zip(&chats)
        .map(|(image, messages)| BatchRow {
            image,
            messages,
            max_new_tokens: 128,
        })
        .collect();
    let mut answers = vec![None; rows.len()];
    model
        .generate_batch(&rows, &|_| true, &mut |row, result| {
            answers[row] = Some(result.unwrap())
        })
        .unwrap();
    for (row, answer) in rows.iter().zip(answers) {
        let batched = answer.expect("every row answered");
        let alone = model
            .generate(row.image, row.messages, row.max_new_tokens)
            .unwrap();
        assert_clean(&batched.text, &script);
        assert_eq!(batched.token_ids, alone.token_ids);
        assert_eq!(batched.prompt_ids, alone.prompt_ids);
        assert_eq!(batched.stop, StopReason::EndOfTurn);
    }
}

/// Text of a histogram's `_sum` and `_count` in the scheduler's metrics.
fn batch_sizes(metrics: &BatchMetrics) -> (f64, u64) {
    let mut registry = prometheus_client::registry::Registry::default();
    metrics.register(&mut registry);
    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, &registry).unwrap();
    let value = |name: &str| {
        text.lines()
            .find_map(|line| line.strip_prefix(name))
            .unwrap_or_else(|| panic!("{name} in {text}"))
            .trim()
            .to_owned()
    };
    (
        value("neko_batch_size_sum ").parse().unwrap(),
        value("neko_batch_size_count ").parse().unwrap(),
    )
}

/// Rooms that ask at once share one model call; a room's second step waits for the next batch
/// (one per room per batch), and each room gets its own answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_scheduler_batches_rooms_that_ask_together_one_step_per_room() {
    let script = script("showui-fixture");
    let engine = Arc::new(ShowUi::load(&options("showui-fixture")).unwrap());
    let metrics = BatchMetrics::default();
    let batching = BatchOptions {
        max_batch: 8,
        // Long enough that every room below joins the first batch on any machine (the batch
        // starts as soon as each room holding a client is waiting); room-0's second step then
        // waits out the window, as the others are not waiting.
        window_ms: 1_000,
        latency_budget_ms: 1_000,
        per_room: 1,
    };
    let batcher = Batcher::start(engine, batching, metrics.clone());
    let image = Arc::new(RgbImage {
        width: 112,
        height: 84,
        data: frame(112, 84),
    });
    let chat = Arc::new(legacy("Click red", None));
    let clients: Vec<_> = (0..3)
        .map(|i| batcher.client(&format!("room-{i}")))
        .collect();
    // room-0 sends two steps at once: the second goes into the next batch.
    let calls = clients
        .iter()
        .chain(std::iter::once(&clients[0]))
        .map(|client| client.generate(image.clone(), chat.clone(), 128));
    let answers = futures_util::future::join_all(calls).await;
    for answer in answers {
        let generation = answer.unwrap().unwrap();
        assert_eq!(generation.text, script.first_step);
    }
    assert_eq!(
        batch_sizes(&metrics),
        (4.0, 2),
        "a batch of 3 rooms, then one of 1"
    );
}
