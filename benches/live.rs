//! The live view's cost and latency, through `neko-agent serve` on the sandbox room (1280×720 at
//! 30 fps, real WebRTC, the fixture model):
//!
//! 1. **CPU per viewer**: the service process's CPU (user + system, from `/proc`) over
//!    `WINDOW` with 0, 1 and 3 WHEP viewers of a paused task (the room's video still flows
//!    into the agent's pipeline; the live branch encodes only while someone watches).
//! 2. **Glass-to-browser latency**: the sandbox room's time stamp, read from each presented
//!    video frame in headless Chromium (`tests/browser/latency.mjs`), against the same clock.
//! 3. **The agent's step time with 0 and 3 viewers**: tasks run with the viewers watching from
//!    before their first step; model time per step from the API's records.
//!
//! The bench's own viewers receive without decoding, so what is measured is the sender.
//!
//! `cargo bench --bench live` (needs `bash scripts/setup-browser.sh` for part 2); the view's
//! codec is the service's default (`auto`) or `NEKO_LIVE_CODEC` (`h264`, `vp8`).

#[path = "../tests/common/service.rs"]
#[allow(dead_code, reason = "the test helpers serve the tests too")]
mod service;
#[path = "../tests/common/whep.rs"]
#[allow(dead_code, reason = "the test helpers serve the tests too")]
mod whep;

use std::time::Duration;

use neko_sandbox::RoomConfig;
use neko_sandbox::testing::{TestRoom, init_gstreamer};
use serde_json::{Value, json};
use service::{Api, Serve, fixture, service_command};

/// How long each CPU window lasts.
const WINDOW: Duration = Duration::from_secs(10);
/// Tasks per viewer count in part 3.
const TASKS: usize = 4;
/// Frames Chromium reads the stamp from.
const BROWSER_FRAMES: usize = 150;

/// CPU seconds (user + system) the process `pid` has used.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let fields: Vec<&str> = stat
        .rsplit(')')
        .next()
        .unwrap()
        .split_whitespace()
        .collect();
    let ticks: f64 = fields[11].parse::<f64>().unwrap() + fields[12].parse::<f64>().unwrap();
    ticks / 100.0
}

/// The service's CPU over [`WINDOW`], in percent of one core.
async fn cpu_percent(pid: u32) -> f64 {
    let before = cpu_seconds(pid);
    tokio::time::sleep(WINDOW).await;
    (cpu_seconds(pid) - before) / WINDOW.as_secs_f64() * 100.0
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// A viewer of `url` that receives without decoding.
async fn viewer(url: &str) -> whep::Viewer {
    whep::connect_without_decoding(url)
        .await
        .unwrap_or_else(|refused| panic!("{refused:?}"))
}

/// Leaves like a well-behaved WHEP player: `DELETE` on the viewer's resource.
async fn leave(origin: &str, viewers: Vec<whep::Viewer>) {
    let http = reqwest::Client::new();
    for viewer in viewers {
        let left = http
            .delete(format!("{origin}{}", viewer.location))
            .send()
            .await
            .unwrap();
        assert!(left.status().is_success(), "{}", left.status());
    }
}

async fn submit(api: &Api) -> (String, String) {
    api.submit_watched(json!({"task": "Open the red box", "max_steps": 4}))
        .await
}

fn whep_url(origin: &str, page: &str) -> String {
    let (path, token) = page.split_once("?token=").unwrap();
    format!("{origin}{path}/whep?token={token}")
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    init_gstreamer();
    println!(
        "live view codec: {}",
        std::env::var("NEKO_LIVE_CODEC").unwrap_or_else(|_| "auto".into())
    );
    let room = TestRoom::start(RoomConfig::loopback(1280, 720, 30)).await;
    let data = tempfile::tempdir().unwrap();
    let mut command = service_command("serve", &room.base_url(), &fixture("showui-fixture"));
    // Time for the viewers to connect before each task's first step.
    command.env("NEKO_SKIP_INITIAL_FRAMES", "90");
    let serve = Serve::start(command, data.path());
    let pid = serve.pid();
    let api = Api::new(&serve.api, None);
    let origin = serve.api.trim_end_matches("/api/v1").to_owned();

    // 1 and 2: a paused task's view.
    let (task_id, page) = submit(&api).await;
    api.wait_task(&task_id, Duration::from_secs(60), |t| {
        t["status"] == "running"
    })
    .await;
    let (status, _) = api
        .call("POST", &format!("/tasks/{task_id}/pause"), None)
        .await;
    assert!(status / 100 == 2, "{status}");
    api.wait_task(&task_id, Duration::from_secs(60), |t| {
        t["status"] == "paused"
    })
    .await;
    let url = whep_url(&origin, &page);
    println!("## CPU of the service process (percent of one core, {WINDOW:?} windows)\n");
    println!("| viewers | CPU % |");
    println!("|---|---|");
    println!("| 0 | {:.1} |", cpu_percent(pid).await);
    let mut viewers = vec![viewer(&url).await];
    tokio::time::sleep(Duration::from_secs(2)).await;
    println!("| 1 | {:.1} |", cpu_percent(pid).await);
    for _ in 0..2 {
        viewers.push(viewer(&url).await);
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    println!("| 3 | {:.1} |", cpu_percent(pid).await);
    leave(&origin, viewers).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    println!("| 0 again | {:.1} |", cpu_percent(pid).await);

    println!("\n## Glass-to-browser latency (room stamp → frame presented in Chromium), ms\n");
    println!("| viewer | frames | p50 | p95 | p99 |");
    println!("|---|---|---|---|---|");
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/browser/latency.mjs");
    let output = tokio::task::spawn_blocking({
        let page = format!("{origin}{page}");
        move || {
            std::process::Command::new("node")
                .arg(script)
                .arg(page)
                .arg(BROWSER_FRAMES.to_string())
                .output()
                .expect("node runs")
        }
    })
    .await
    .unwrap();
    let report: Value = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&output.stderr)));
    let mut browser: Vec<f64> = report["latencies"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_f64).collect())
        .unwrap_or_default();
    browser.sort_by(f64::total_cmp);
    if browser.is_empty() {
        println!("| Chromium | none read: {report} | | | |");
    } else {
        println!(
            "| Chromium (presented frames) | {} | {:.0} | {:.0} | {:.0} |",
            browser.len(),
            percentile(&browser, 0.5),
            percentile(&browser, 0.95),
            percentile(&browser, 0.99)
        );
    }
    let (status, _) = api.call("DELETE", &format!("/tasks/{task_id}"), None).await;
    assert!(status / 100 == 2, "{status}");

    // 3: tasks watched by 0 and 3 viewers.
    println!("\n## The agent's steps with 0 and 3 viewers ({TASKS} tasks each)\n");
    println!("| viewers | model ms per step (mean) |");
    println!("|---|---|");
    for watching in [0, 3, 0, 3] {
        let mut model_ms = Vec::new();
        for _ in 0..TASKS {
            let (task_id, page) = submit(&api).await;
            api.wait_task(&task_id, Duration::from_secs(60), |t| {
                t["status"] == "running"
            })
            .await;
            let mut viewers = Vec::new();
            for _ in 0..watching {
                let url = whep_url(&origin, &page);
                viewers.push(viewer(&url).await);
            }
            let done = api
                .wait_task(&task_id, Duration::from_secs(120), |t| {
                    t["status"] == "completed"
                })
                .await;
            for step in done["steps"].as_array().unwrap() {
                model_ms.push(step["model_ms"].as_f64().unwrap());
            }
            // The task has ended: its view (and the viewers' resources) went with it.
            drop(viewers);
        }
        let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
        println!("| {watching} | {:.1} |", mean(&model_ms));
    }
    room.shutdown().await;
}
