//! The service scaled out on a real `redis-server`: an API-only `serve`, two `neko-agent worker`
//! processes and three sandbox rooms over real WebRTC. Twelve tasks all complete; a worker
//! killed with SIGKILL mid-task has its task run again by the other; Redis restarted during
//! the run is reconnected; no task is lost and every task ends exactly once (one webhook each).

mod common;

use std::collections::HashMap;
use std::process::{Child, Command};
use std::time::Duration;

use common::redis::RedisServer;
use common::service::{Api, Receiver, Serve, fixture, service_command};
use neko_sandbox::RoomConfig;
use neko_sandbox::testing::TestRoom;
use serde_json::{Value, json};

const PATIENCE: Duration = Duration::from_secs(180);

/// A worker process, killed on drop.
struct Worker(Child);

impl Drop for Worker {
    fn drop(&mut self) {
        self.0.kill().ok();
        self.0.wait().ok();
    }
}

fn worker(mut command: Command, name: &str) -> Worker {
    command
        .args(["--name", name])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    Worker(command.spawn().expect("a worker starts"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[expect(
    clippy::await_holding_lock,
    reason = "the lock only serialises media tests"
)]
async fn two_workers_on_redis_finish_every_task_once_through_a_worker_crash_and_a_redis_restart() {
    let _media = common::MEDIA.lock().unwrap_or_else(|e| e.into_inner());
    common::init();
    let mut redis = RedisServer::start_durable();
    let hooks = Receiver::start(0).await;
    let data = tempfile::tempdir().unwrap();
    let mut rooms = Vec::new();
    let mut file = String::new();
    for index in 0..3 {
        let room = TestRoom::start(RoomConfig::loopback(640, 360, 15)).await;
        file.push_str(&format!(
            "[rooms.r{index}]\nurl = \"{}\"\nusername = \"agent\"\npassword = \"neko\"\n",
            room.base_url()
        ));
        rooms.push(room);
    }
    let rooms_file = data.path().join("rooms.toml");
    std::fs::write(&rooms_file, file).unwrap();
    let configure = |command: &mut Command| {
        command
            .env("NEKO_QUEUE", redis.url())
            .env("NEKO_ROOMS", &rooms_file)
            .env("NEKO_RECLAIM_AFTER", "4");
    };
    let mut api_command =
        service_command("serve", &rooms[0].base_url(), &fixture("showui-fixture"));
    configure(&mut api_command);
    api_command.args(["--workers", "0"]);
    let serve = Serve::start(api_command, &data.path().join("api"));
    let api = Api::new(&serve.api, None);
    let (status, health) = api.call("GET", "/health", None).await;
    assert_eq!(status, 503, "no worker yet: {health}");

    let start_worker = |name: &str| {
        let mut command =
            service_command("worker", &rooms[0].base_url(), &fixture("showui-fixture"));
        configure(&mut command);
        command.env("NEKO_API_DATA", data.path().join(name));
        worker(command, name)
    };
    let first = start_worker("w1");
    let _second = start_worker("w2");

    let mut ids = Vec::new();
    for index in 0..12 {
        ids.push(
            api.submit(json!({
                "task": "Open the red box",
                "max_steps": 4,
                "callback_url": hooks.url,
                "room": {"name": format!("r{}", index % 3)},
            }))
            .await,
        );
    }

    // Kill w1 while it is in the middle of a task.
    let victim = wait_for_running_on(&api, &ids, "w1").await;
    drop(first);

    // Redis goes away and comes back with its data while the work goes on.
    tokio::time::sleep(Duration::from_secs(1)).await;
    redis.kill();
    tokio::time::sleep(Duration::from_secs(2)).await;
    redis.restart();

    let mut ended = HashMap::new();
    for id in &ids {
        let task = api
            .wait_task(id, PATIENCE, |task| {
                ["completed", "failed", "cancelled"]
                    .contains(&task["status"].as_str().unwrap_or(""))
            })
            .await;
        assert_eq!(task["status"], "completed", "{task:#}\n{}", serve.output());
        ended.insert(id.clone(), task);
    }
    let victim_task = &ended[&victim];
    assert_eq!(victim_task["worker"], "w2", "{victim_task:#}");
    assert!(
        victim_task["attempts"].as_u64().unwrap() >= 2,
        "{victim_task:#}"
    );

    // Exactly one final webhook per task.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let deliveries = hooks.accepted.lock().unwrap().clone();
    for id in &ids {
        let count = deliveries
            .iter()
            .filter(|d| d.event == "task.completed")
            .filter(|d| serde_json::from_slice::<Value>(&d.body).unwrap()["task_id"] == id.as_str())
            .count();
        assert_eq!(count, 1, "task {id} ended {count} times");
    }
    let (status, health) = api.call("GET", "/health", None).await;
    assert_eq!(status, 200, "{health}");
    assert_eq!(health["queue"]["depth"], 0, "{health}");
    drop(serve);
    for room in rooms {
        room.shutdown().await;
    }
}

/// The id of a task `worker` is running with at least one step taken.
async fn wait_for_running_on(api: &Api, ids: &[String], worker: &str) -> String {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        for id in ids {
            let (_, task) = api.call("GET", &format!("/tasks/{id}"), None).await;
            if task["status"] == "running"
                && task["worker"] == worker
                && task["step_count"].as_u64().unwrap_or(0) >= 1
            {
                return id.clone();
            }
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{worker} never ran a task"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
