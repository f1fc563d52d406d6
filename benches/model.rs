//! Model engine benchmark: frame preprocessing at ShowUI's size (1920×1080 → 1344×756) and a full
//! `generate` on the scripted fixture (vision encoder, prefill, decode steps).
//!
//! `cargo bench --bench model` (needs ONNX Runtime in .ort/lib: `bash scripts/setup.sh`). The
//! fixture graphs are tiny, so their numbers measure the engine's own overhead (tensor building,
//! feature merge, cache feeding, full-vocabulary logits), not ShowUI-2B's compute.

#[path = "support/desktop_frame.rs"]
mod desktop_frame;

use std::path::Path;
use std::time::{Duration, Instant};

use desktop_frame::desktop_frame;
use neko_agent::frame::RgbImage;
use neko_agent::model::{
    ImageProcessor, Message, ModelOptions, Part, PreprocessorConfig, SHOWUI_MAX_PIXELS,
    SHOWUI_MIN_PIXELS, ShowUi, Timings,
};
use neko_agent::onnx::ProviderChoice;

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// Median and minimum of `runs` timings of `f`.
fn measure(runs: usize, mut f: impl FnMut() -> Duration) -> (Duration, Duration) {
    let mut times: Vec<Duration> = (0..runs).map(|_| f()).collect();
    times.sort();
    (times[runs / 2], times[0])
}

fn main() {
    println!("| measurement | median ms | min ms |");
    println!("|---|---|---|");

    let processor = ImageProcessor::new(
        PreprocessorConfig::default(),
        SHOWUI_MIN_PIXELS,
        SHOWUI_MAX_PIXELS,
    )
    .expect("ShowUI budget");
    let rgb = desktop_frame(1920, 1080);
    let image = RgbImage {
        width: 1920,
        height: 1080,
        data: rgb,
    };
    let size = processor.resized_size(1920, 1080).expect("size");
    let (median, min) = measure(20, || {
        let start = Instant::now();
        let pv = processor.preprocess(&image).expect("preprocess");
        std::hint::black_box(&pv.values);
        start.elapsed()
    });
    println!(
        "| preprocess 1920x1080 -> {size} ({} patch rows) | {:.2} | {:.2} |",
        size.width / 14 * (size.height / 14),
        ms(median),
        ms(min)
    );

    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("models/showui-fixture");
    let options = ModelOptions {
        min_pixels: 56 * 56,
        max_pixels: 448 * 252,
        execution_provider: ProviderChoice::Cpu,
        ..ModelOptions::new(dir)
    };
    let started = Instant::now();
    let model = match ShowUi::load(&options) {
        Ok(model) => model,
        Err(e) => {
            eprintln!("cannot load the fixture: {e}");
            std::process::exit(1);
        }
    };
    println!(
        "| fixture load (3 sessions) | {:.2} | |",
        ms(started.elapsed())
    );
    let small = desktop_frame(448, 252);
    let image = RgbImage {
        width: 448,
        height: 252,
        data: small,
    };
    let messages = [Message::user(vec![
        Part::Text("Task: click the red block".into()),
        Part::Image,
    ])];
    let runs: Vec<(Timings, usize, usize)> = (0..10)
        .map(|_| {
            let out = model.generate(&image, &messages, 128).expect("generate");
            (out.timings, out.tokens, out.prompt_tokens)
        })
        .collect();
    let (_, tokens, prompt) = runs[0];
    // Reads one timing out of a run.
    type Pick = fn(&Timings) -> Duration;
    let rows: [(&str, Pick); 5] = [
        ("preprocess", |t| t.preprocess),
        ("vision encoder", |t| t.vision),
        ("prefill", |t| t.prefill),
        ("decode step (mean)", |t| t.decode_step_mean()),
        ("total", |t| t.total),
    ];
    for (name, pick) in rows {
        let mut times: Vec<Duration> = runs.iter().map(|(t, _, _)| pick(t)).collect();
        times.sort();
        println!(
            "| fixture generate 448x252, {prompt} prompt tokens, {tokens} new: {name} | {:.2} | {:.2} |",
            ms(times[times.len() / 2]),
            ms(times[0])
        );
    }
    println!(
        "\nexecution provider: {}, dtype: {}",
        model.execution_provider(),
        model.dtype()
    );
}
