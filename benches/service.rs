//! What the service costs and delivers, printed as tables:
//! - API throughput of `GET /api/v1/tasks/{id}` (the API in this process over the local store,
//!   concurrent keep-alive clients on loopback);
//! - tasks per minute of `neko-agent serve` with 1 and 2 tasks at once on the fixture model
//!   (each task in its own sandbox room: real WebRTC), and each task's submit-to-start time
//!   with idle workers.
//!
//! `cargo bench --bench service` (`SERVICE_BENCH_TASKS`, default 8 per run;
//! `SERVICE_BENCH_SECONDS`, default 5 of API load)

#[path = "../tests/common/service.rs"]
#[allow(dead_code, reason = "the test helpers serve the tests too")]
mod service;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use neko_agent::connection::ConnectionArgs;
use neko_agent::service::api::auth::Access;
use neko_agent::service::api::{ApiState, router};
use neko_agent::service::board::Board;
use neko_agent::service::metrics::ServiceMetrics;
use neko_agent::service::rooms::RoomBook;
use neko_agent::service::store::Store;
use neko_agent::service::store::local::LocalStore;
use neko_sandbox::RoomConfig;
use neko_sandbox::testing::{TestRoom, init_gstreamer};
use serde_json::json;
use service::{Api, Serve, fixture, service_command};

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index]
}

/// Requests per second and latency of `GET /tasks/{id}` with `clients` concurrent clients.
async fn api_throughput(clients: usize, seconds: u64) -> (f64, f64, f64) {
    let data = tempfile::tempdir().unwrap();
    let (store, _) = LocalStore::open(data.path()).unwrap();
    let board = Arc::new(Board::new(Store::Local(store)));
    let task = board
        .submit(serde_json::from_value(json!({"task": "a task to read"})).unwrap())
        .await
        .unwrap();
    let state = Arc::new(ApiState::new(
        board,
        Arc::new(ServiceMetrics::default()),
        Arc::new(RoomBook::load(None, ConnectionArgs::default()).unwrap()),
        None,
        false,
    ));
    let (app, _) = router(state, Access::Open);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!(
        "http://{}/api/v1/tasks/{}",
        listener.local_addr().unwrap(),
        task.task_id
    );
    tokio::spawn(async move { axum::serve(listener, app).await });
    let stop = Arc::new(AtomicBool::new(false));
    let mut handles = Vec::new();
    for _ in 0..clients {
        let (url, stop) = (url.clone(), stop.clone());
        handles.push(tokio::spawn(async move {
            let http = reqwest::Client::new();
            let mut latencies = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                let started = Instant::now();
                let response = http.get(&url).send().await.unwrap();
                assert_eq!(response.status(), 200);
                response.bytes().await.unwrap();
                latencies.push(started.elapsed().as_secs_f64() * 1000.0);
            }
            latencies
        }));
    }
    let started = Instant::now();
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    stop.store(true, Ordering::Relaxed);
    let mut latencies = Vec::new();
    for handle in handles {
        latencies.extend(handle.await.unwrap());
    }
    let elapsed = started.elapsed().as_secs_f64();
    latencies.sort_by(f64::total_cmp);
    (
        latencies.len() as f64 / elapsed,
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99),
    )
}

/// Tasks per minute and submit-to-start times of `serve` running `slots` tasks at once, each
/// slot with its own room (named in a rooms file).
async fn task_rate(slots: usize, tasks: usize) -> (f64, Vec<f64>) {
    let mut rooms = Vec::new();
    let mut file = String::new();
    for index in 0..slots {
        let room = TestRoom::start(RoomConfig::loopback(640, 360, 15)).await;
        file.push_str(&format!(
            "[rooms.r{index}]\nurl = \"{}\"\nusername = \"agent\"\npassword = \"neko\"\n",
            room.base_url()
        ));
        rooms.push(room);
    }
    let data = tempfile::tempdir().unwrap();
    let rooms_file = data.path().join("rooms.toml");
    std::fs::write(&rooms_file, file).unwrap();
    let mut command = service_command("serve", &rooms[0].base_url(), &fixture("showui-fixture"));
    command
        .args(["--workers", &slots.to_string(), "--rooms"])
        .arg(&rooms_file);
    let serve = Serve::start(command, &data.path().join("store"));
    let api = Api::new(&serve.api, None);
    let started = Instant::now();
    let mut ids = Vec::new();
    for index in 0..tasks {
        ids.push(
            api.submit(json!({
                "task": "Open the red box",
                "max_steps": 4,
                "room": {"name": format!("r{}", index % slots)},
            }))
            .await,
        );
    }
    let mut waits = Vec::new();
    for id in &ids {
        let task = api
            .wait_task(id, Duration::from_secs(300), |task| {
                task["status"] == "completed" || task["status"] == "failed"
            })
            .await;
        assert_eq!(task["status"], "completed", "{task:#}\n{}", serve.output());
        let parse = |field: &str| {
            chrono::DateTime::parse_from_rfc3339(task[field].as_str().unwrap()).unwrap()
        };
        waits.push(
            (parse("started_at") - parse("created_at"))
                .num_microseconds()
                .unwrap() as f64
                / 1000.0,
        );
    }
    let minutes = started.elapsed().as_secs_f64() / 60.0;
    drop(serve);
    for room in rooms {
        room.shutdown().await;
    }
    (tasks as f64 / minutes, waits)
}

fn main() {
    init_gstreamer();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let seconds = env_number("SERVICE_BENCH_SECONDS", 5);
    let tasks = env_number("SERVICE_BENCH_TASKS", 8) as usize;
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!("API: GET /api/v1/tasks/{{id}}, local store, {cores} cores, {seconds} s per row");
    println!("| clients | requests/s | p50 ms | p99 ms |");
    println!("|---|---|---|---|");
    for clients in [1, 8, 32] {
        let (rate, p50, p99) = runtime.block_on(api_throughput(clients, seconds));
        println!("| {clients} | {rate:.0} | {p50:.2} | {p99:.2} |");
    }
    println!();
    println!("Tasks: fixture model, sandbox rooms over WebRTC, {tasks} tasks per row");
    println!(
        "| tasks at once | tasks/min | submit→start p50 ms | p99 ms (first task of each slot: idle worker) |"
    );
    println!("|---|---|---|---|");
    for slots in [1, 2] {
        let (rate, waits) = runtime.block_on(task_rate(slots, tasks));
        let mut idle: Vec<f64> = waits.iter().take(slots).copied().collect();
        idle.sort_by(f64::total_cmp);
        let mut all = waits.clone();
        all.sort_by(f64::total_cmp);
        println!(
            "| {slots} | {rate:.1} | {:.1} (idle: {:.1}) | {:.1} |",
            percentile(&all, 0.5),
            percentile(&idle, 0.5),
            percentile(&all, 0.99)
        );
    }
}
