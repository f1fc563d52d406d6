//! One loaded model, N rooms: steps per second, per-step latency and where the time goes, with
//! the batching scheduler batching the rooms' steps against one model call per step.
//!
//! Each of N rooms sends a step (a frame of its own and the agent's navigation prompt, a task
//! of a different length per room), waits for the answer, and sends the next, `STEPS` times.
//! "batched" runs them through the scheduler with `max_batch = N`; "one at a time" with
//! `max_batch = 1`. Latency is from a step being sent to its answer.
//!
//! ```text
//! cargo bench --bench model_batch                               # the scripted fixture
//! cargo bench --bench model_batch -- target/random-1536-4x4-onnx # real width (see
//!                                                                # benches/model_vs_transformers.rs)
//! ```

#[path = "support/desktop_frame.rs"]
mod desktop_frame;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use desktop_frame::desktop_frame;
use neko_agent::agent::{History, Mode, NavPrompt};
use neko_agent::frame::RgbImage;
use neko_agent::model::{
    BatchMetrics, BatchOptions, Batcher, Generation, ModelOptions, ShowUi, Timings,
};
use neko_agent::onnx::ProviderChoice;

/// Steps each room takes per configuration.
const STEPS: usize = 3;
/// Tokens each step generates (random weights rarely produce an end token).
const MAX_NEW_TOKENS: usize = 24;
/// Frame size: with the pixel budget below, 144 image tokens per step.
const FRAME: (u32, u32) = (448, 252);

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let at = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[at]
}

/// What one configuration measured.
struct Run {
    wall: Duration,
    latencies: Vec<Duration>,
    generations: Vec<Generation>,
}

async fn drive(model: Arc<ShowUi>, rooms: usize, max_batch: usize) -> Run {
    let batching = BatchOptions {
        max_batch,
        ..BatchOptions::default()
    };
    let batcher = Batcher::start(model, batching, BatchMetrics::default());
    let started = Instant::now();
    let mut tasks = Vec::new();
    for room in 0..rooms {
        let client = batcher.client(&format!("room-{room}"));
        tasks.push(tokio::spawn(async move {
            let (width, height) = FRAME;
            let mut data = desktop_frame(width, height);
            // Each room's desktop differs a little.
            data.iter_mut().step_by(97).for_each(|v| *v ^= room as u8);
            let image = Arc::new(RgbImage {
                width,
                height,
                data,
            });
            let task = format!(
                "Open the settings page of room {room}{}",
                " and check".repeat(room)
            );
            let messages = Arc::new(NavPrompt::new(Mode::Web).messages(&task, &History::new()));
            let mut out = Vec::new();
            for _ in 0..STEPS {
                let sent = Instant::now();
                let generation = client
                    .generate(image.clone(), messages.clone(), MAX_NEW_TOKENS)
                    .await
                    .expect("scheduler")
                    .expect("generation");
                out.push((sent.elapsed(), generation));
            }
            out
        }));
    }
    let mut latencies = Vec::new();
    let mut generations = Vec::new();
    for task in tasks {
        for (latency, generation) in task.await.expect("room") {
            latencies.push(latency);
            generations.push(generation);
        }
    }
    let wall = started.elapsed();
    latencies.sort();
    Run {
        wall,
        latencies,
        generations,
    }
}

/// Mean of a phase over the model calls (a batch's rows share one).
fn per_call(generations: &[Generation], phase: impl Fn(&Timings) -> Duration) -> Duration {
    let calls: f64 = generations
        .iter()
        .map(|g| 1.0 / g.timings.batch_rows as f64)
        .sum();
    let total: f64 = generations
        .iter()
        .map(|g| phase(&g.timings).as_secs_f64() / g.timings.batch_rows as f64)
        .sum();
    Duration::from_secs_f64(total / calls)
}

/// Decoded tokens per second of decode time (a batch's rows share their decode time).
fn decode_rate(generations: &[Generation]) -> f64 {
    let tokens: usize = generations.iter().map(|g| g.timings.decode_steps).sum();
    let time: f64 = generations
        .iter()
        .map(|g| g.timings.decode.as_secs_f64() / g.timings.batch_rows as f64)
        .sum();
    tokens as f64 / time
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let dir = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with('-'))
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("models/showui-fixture"));
    let options = ModelOptions {
        execution_provider: ProviderChoice::Cpu,
        min_pixels: 64 * 28 * 28,
        max_pixels: 144 * 28 * 28,
        ..ModelOptions::new(&dir)
    };
    let model = Arc::new(ShowUi::load(&options).unwrap_or_else(|e| panic!("{e}")));
    // Warm-up: the first calls of a session are slower (docs/performance.md).
    let _ = drive(model.clone(), 2, 2).await;
    println!(
        "model {}, {}x{} frames, {MAX_NEW_TOKENS} tokens per step, {STEPS} steps per room",
        dir.display(),
        FRAME.0,
        FRAME.1
    );
    println!();
    println!(
        "| rooms | mode | steps/s | step p50 ms | step p99 ms | rows per call | vision ms/call | prefill ms/call | decode tokens/s |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for rooms in [1, 2, 4, 8] {
        for (mode, max_batch) in [("one at a time", 1), ("batched", rooms)] {
            if rooms == 1 && max_batch == 1 && mode == "batched" {
                continue;
            }
            let run = drive(model.clone(), rooms, max_batch).await;
            let steps = run.generations.len();
            let rows: f64 = steps as f64
                / run
                    .generations
                    .iter()
                    .map(|g| 1.0 / g.timings.batch_rows as f64)
                    .sum::<f64>();
            println!(
                "| {rooms} | {mode} | {:.2} | {:.0} | {:.0} | {rows:.1} | {:.0} | {:.0} | {:.1} |",
                steps as f64 / run.wall.as_secs_f64(),
                ms(percentile(&run.latencies, 0.5)),
                ms(percentile(&run.latencies, 0.99)),
                ms(per_call(&run.generations, |t| t.vision)),
                ms(per_call(&run.generations, |t| t.prefill)),
                decode_rate(&run.generations),
            );
        }
    }
}
