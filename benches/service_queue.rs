//! The service queue's latency: from `Board::submit` starting to an idle worker's `claim`
//! returning the task, for the local store and for Redis (a `redis-server` on loopback started
//! here). Prints a table.
//!
//! `cargo bench --bench service_queue` (needs `redis-server`: `apt-get install redis-server`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use neko_agent::service::board::Board;
use neko_agent::service::store::Store;
use neko_agent::service::store::local::LocalStore;
use neko_agent::service::store::redis::RedisStore;
use neko_agent::service::task::TaskSpec;
use tokio::sync::mpsc;

#[path = "../tests/common/redis.rs"]
#[allow(
    dead_code,
    reason = "the bench needs only a server without persistence"
)]
mod redis_server;

const TASKS: usize = 500;
/// Time the claimer gets to block in `claim` again before the next task is submitted.
const SETTLE: Duration = Duration::from_millis(2);

fn percentile(values: &mut [f64], p: f64) -> f64 {
    values.sort_by(f64::total_cmp);
    values[((values.len() - 1) as f64 * p).round() as usize]
}

/// Submit-to-claim latencies in milliseconds, one task at a time with the claimer idle.
async fn measure(store: Store) -> Vec<f64> {
    let board = Arc::new(Board::new(store));
    let (claimed, mut claims) = mpsc::unbounded_channel();
    let claimer = {
        let board = board.clone();
        tokio::spawn(async move {
            for _ in 0..TASKS {
                let delivery = board
                    .store()
                    .claim("bench", Duration::from_secs(10))
                    .await
                    .expect("the store answers")
                    .expect("a task arrives");
                let at = Instant::now();
                board.store().ack(&delivery).await.expect("acknowledged");
                if claimed.send((delivery.task_id, at)).is_err() {
                    return;
                }
            }
        })
    };
    let spec: TaskSpec =
        serde_json::from_value(serde_json::json!({ "task": "open the settings page" })).unwrap();
    let mut latencies = Vec::with_capacity(TASKS);
    for _ in 0..TASKS {
        tokio::time::sleep(SETTLE).await;
        let start = Instant::now();
        let task = board.submit(spec.clone()).await.expect("submitted");
        let (task_id, at) = claims.recv().await.expect("the claimer runs");
        assert_eq!(task_id, task.task_id);
        latencies.push((at - start).as_secs_f64() * 1000.0);
    }
    claimer.await.unwrap();
    latencies
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let redis = redis_server::RedisServer::start();
    let rows = runtime.block_on(async {
        let (local, _) = LocalStore::open(dir.path()).expect("the local store opens");
        let redis_store = RedisStore::connect(&redis.url(), "bench")
            .await
            .expect("redis-server answers");
        vec![
            ("local (fsync'd files)", measure(Store::Local(local)).await),
            ("redis (loopback)", measure(Store::Redis(redis_store)).await),
        ]
    });
    println!("submit → claim, {TASKS} tasks, idle claimer (ms)");
    println!("| store | p50 | p90 | p99 | max |");
    println!("|---|---|---|---|---|");
    for (name, mut latencies) in rows {
        let p50 = percentile(&mut latencies, 0.50);
        let p90 = percentile(&mut latencies, 0.90);
        let p99 = percentile(&mut latencies, 0.99);
        let max = percentile(&mut latencies, 1.0);
        println!("| {name} | {p50:.3} | {p90:.3} | {p99:.3} | {max:.3} |");
    }
}
