//! The engine against transformers (eager, float32) on a real-width random-weight Qwen2-VL, per
//! phase, first calls and steady, with each side's peak memory: the numbers docs/performance.md
//! quotes. On the CPU by default; `NEKO_BENCH_DEVICE=cuda` runs the engine on ONNX Runtime's
//! CUDA provider and transformers on the GPU (scripts/gpu-model-check.sh does that).
//!
//! ```sh
//! .venv-parity/bin/python scripts/models/make_random_qwen2vl.py --out target/random-1536-4x4 \
//!     --layers 4 --vision-depth 4
//! cargo run --release -- model export --model target/random-1536-4x4 \
//!     --processor target/random-1536-4x4 --out target/random-1536-4x4-onnx --python-env .venv-parity
//! cargo bench --bench model_vs_transformers -- target/random-1536-4x4-onnx target/random-1536-4x4
//! cargo bench --bench model_vs_transformers -- target/random-1536-4x4-onnx target/random-1536-4x4 quantized
//! ```
//!
//! The optional third argument is the engine's `--model-dtype` (default `fp32`; `quantized` after
//! `model export --dtype int8`); transformers always runs in float32.
//!
//! Each side runs in a process of its own (so each peak RSS is its own), the two alternating
//! for `ROUNDS` rounds; every round makes `CALLS` calls on one 1280×720 frame with the agent's
//! navigation prompt and 24 greedy tokens. "first" and "second" are the first two calls of a
//! process, "steady" the median of the rest over all rounds; load time and peak RSS are medians
//! over the rounds. transformers runs from `scripts/models/bench_transformers.py` in
//! `.venv-parity`.

#[path = "support/desktop_frame.rs"]
mod desktop_frame;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use desktop_frame::desktop_frame;
use neko_agent::agent::{History, Mode, NavPrompt};
use neko_agent::frame::RgbImage;
use neko_agent::model::{Dtype, ModelOptions, ShowUi};
use neko_agent::onnx::ProviderChoice;
use serde::{Deserialize, Serialize};

const ROUNDS: usize = 3;
const CALLS: usize = 4;
const TOKENS: usize = 24;
const WIDTH: u32 = 1280;
const HEIGHT: u32 = 720;
/// The task of the parity model's prompts (make_parity_model.TASK).
const TASK: &str = "click the green box";

/// One call's phases, in milliseconds.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Call {
    preprocess_ms: f64,
    vision_ms: f64,
    prefill_ms: f64,
    decode_ms: f64,
    decode_steps: usize,
    total_ms: f64,
    prompt_tokens: usize,
}

/// One process's run.
#[derive(Debug, Serialize, Deserialize)]
struct Run {
    load_ms: f64,
    calls: Vec<Call>,
    peak_rss_bytes: u64,
}

/// This process's peak resident memory (`VmHWM`).
fn peak_rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|line| line.strip_prefix("VmHWM:"))
                .and_then(|rest| rest.trim().strip_suffix("kB"))
                .and_then(|kb| kb.trim().parse::<u64>().ok())
        })
        .map_or(0, |kb| kb * 1024)
}

/// The engine's side, in this process: load, then `CALLS` calls; prints the run as JSON.
fn engine_run(model_dir: &Path, dtype: Dtype) {
    let options = ModelOptions {
        execution_provider: match device().as_str() {
            "cuda" => ProviderChoice::Cuda,
            _ => ProviderChoice::Cpu,
        },
        dtype,
        ..ModelOptions::new(model_dir)
    };
    let started = Instant::now();
    let model = ShowUi::load(&options).unwrap_or_else(|e| panic!("{e}"));
    let load_ms = started.elapsed().as_secs_f64() * 1e3;
    let rgb = desktop_frame(WIDTH, HEIGHT);
    let image = RgbImage {
        width: WIDTH,
        height: HEIGHT,
        data: rgb,
    };
    let messages = NavPrompt::new(Mode::Web).messages(TASK, &History::new());
    let ms = |d: std::time::Duration| d.as_secs_f64() * 1e3;
    let calls = (0..CALLS)
        .map(|_| {
            let reply = model
                .generate(&image, &messages, TOKENS)
                .unwrap_or_else(|e| panic!("{e}"));
            let t = reply.timings;
            Call {
                preprocess_ms: ms(t.preprocess),
                vision_ms: ms(t.vision),
                prefill_ms: ms(t.prefill),
                decode_ms: ms(t.decode),
                decode_steps: t.decode_steps,
                total_ms: ms(t.total),
                prompt_tokens: reply.prompt_tokens,
            }
        })
        .collect();
    let run = Run {
        load_ms,
        calls,
        peak_rss_bytes: peak_rss_bytes(),
    };
    println!("{}", serde_json::to_string(&run).expect("json"));
}

/// `NEKO_BENCH_DEVICE`: `cpu` (default) or `cuda`.
fn device() -> String {
    std::env::var("NEKO_BENCH_DEVICE").unwrap_or_else(|_| "cpu".to_owned())
}

/// A `--model-dtype` value, or exit with the choices.
fn parse_dtype(text: &str) -> Dtype {
    <Dtype as clap::ValueEnum>::from_str(text, true).unwrap_or_else(|_| {
        eprintln!("unknown dtype {text:?}: fp32, fp16 or quantized");
        std::process::exit(2);
    })
}

fn parse_run(output: std::process::Output, who: &str) -> Run {
    assert!(
        output.status.success(),
        "{who} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout
        .lines()
        .rev()
        .find(|l| l.starts_with('{'))
        .unwrap_or_else(|| panic!("{who} printed no result: {stdout}"));
    serde_json::from_str(line).expect("a run")
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(f64::NAN)
}

/// Medians of one side's runs: rows of (label, value).
struct Summary {
    load_ms: f64,
    first: Call,
    second: Call,
    steady: Call,
    peak_rss_bytes: f64,
}

fn summarise(runs: &[Run]) -> Summary {
    let pick = |calls: Vec<&Call>| -> Call {
        let m = |f: fn(&Call) -> f64| median(calls.iter().map(|c| f(c)).collect());
        Call {
            preprocess_ms: m(|c| c.preprocess_ms),
            vision_ms: m(|c| c.vision_ms),
            prefill_ms: m(|c| c.prefill_ms),
            decode_ms: m(|c| c.decode_ms / c.decode_steps.max(1) as f64),
            decode_steps: calls.first().map_or(0, |c| c.decode_steps),
            total_ms: m(|c| c.total_ms),
            prompt_tokens: calls.first().map_or(0, |c| c.prompt_tokens),
        }
    };
    Summary {
        load_ms: median(runs.iter().map(|r| r.load_ms).collect()),
        first: pick(runs.iter().map(|r| &r.calls[0]).collect()),
        second: pick(runs.iter().map(|r| &r.calls[1]).collect()),
        steady: pick(runs.iter().flat_map(|r| &r.calls[2..]).collect()),
        peak_rss_bytes: median(runs.iter().map(|r| r.peak_rss_bytes as f64).collect()),
    }
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    if let [flag, dir, dtype] = args.as_slice()
        && flag == "--engine-run"
    {
        engine_run(Path::new(dir), parse_dtype(dtype));
        return;
    }
    let (onnx_dir, source_dir, dtype) = match args.as_slice() {
        [onnx, source] => (onnx, source, "fp32"),
        [onnx, source, dtype] => (onnx, source, dtype.as_str()),
        _ => {
            eprintln!(
                "usage: cargo bench --bench model_vs_transformers -- <exported model dir> <transformers checkpoint dir> [fp32|fp16|quantized]"
            );
            eprintln!("(see the top of benches/model_vs_transformers.rs for making both)");
            std::process::exit(2);
        }
    };
    parse_dtype(dtype);
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let python = repo.join(".venv-parity/bin/python");
    let exe = std::env::current_exe().expect("this bench");
    let mut engine = Vec::new();
    let mut transformers = Vec::new();
    for round in 0..ROUNDS {
        eprintln!("round {} of {ROUNDS}", round + 1);
        engine.push(parse_run(
            Command::new(&exe)
                .args(["--engine-run", onnx_dir, dtype])
                .output()
                .expect("run the engine"),
            "the engine",
        ));
        transformers.push(parse_run(
            Command::new(&python)
                .arg(repo.join("scripts/models/bench_transformers.py"))
                .args(["--model", source_dir, "--device", &device()])
                .args([
                    "--calls",
                    &CALLS.to_string(),
                    "--tokens",
                    &TOKENS.to_string(),
                ])
                .output()
                .expect("run transformers"),
            "transformers",
        ));
    }
    let (e, t) = (summarise(&engine), summarise(&transformers));
    println!(
        "{WIDTH}x{HEIGHT}, {} prompt tokens (transformers {}), {TOKENS} tokens, {ROUNDS} rounds of {CALLS} calls; engine graphs {dtype}, transformers float32, on {}",
        e.steady.prompt_tokens,
        t.steady.prompt_tokens,
        device()
    );
    println!("| measurement | engine | transformers | engine / transformers |");
    println!("|---|---|---|---|");
    let row = |label: &str, a: f64, b: f64, unit: &str| {
        println!(
            "| {label} | {a:.1} {unit} | {b:.1} {unit} | {:.2}x |",
            a / b
        );
    };
    row("load", e.load_ms, t.load_ms, "ms");
    for (name, ec, tc) in [
        ("first call", &e.first, &t.first),
        ("second call", &e.second, &t.second),
        ("steady call", &e.steady, &t.steady),
    ] {
        row(&format!("{name}: total"), ec.total_ms, tc.total_ms, "ms");
        row(
            &format!("{name}: preprocess"),
            ec.preprocess_ms,
            tc.preprocess_ms,
            "ms",
        );
        row(&format!("{name}: vision"), ec.vision_ms, tc.vision_ms, "ms");
        row(
            &format!("{name}: prefill"),
            ec.prefill_ms,
            tc.prefill_ms,
            "ms",
        );
        row(
            &format!("{name}: decode per token"),
            ec.decode_ms,
            tc.decode_ms,
            "ms",
        );
    }
    row(
        "peak RSS",
        e.peak_rss_bytes / 1e9,
        t.peak_rss_bytes / 1e9,
        "GB",
    );
    if device() == "cuda" {
        println!("peak: the engine's process RSS, transformers' peak of allocated GPU memory");
    }
    println!(
        "first call / steady call: engine {:.2}x, transformers {:.2}x",
        e.first.total_ms / e.steady.total_ms,
        t.first.total_ms / t.steady.total_ms
    );
}
