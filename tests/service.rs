//! `neko-agent serve` end to end with its local store, over real WebRTC with the fixture models:
//! every task endpoint, access with and without a token, a clear `400` for each bad field, the
//! event stream, screenshots and a signed webhook that is retried; cancel and pause while a
//! task runs; `serve` killed with SIGKILL mid-task and started again runs the task once more and
//! it ends once; `serve` asked to stop hands its running task back; a person taking control
//! pauses the task until they give it back.

mod common;

use std::time::{Duration, Instant};

use common::service::{Api, Receiver, Serve, fixture, service_command};
use hmac::Mac;
use neko_sandbox::RoomConfig;
use neko_sandbox::testing::TestRoom;
use serde_json::{Value, json};

/// How long anything awaited may take on a loaded 2-core machine.
const PATIENCE: Duration = Duration::from_secs(90);

const SECRET: &str = "webhook-secret-for-tests";

fn status_is(task: &Value, status: &str) -> bool {
    task["status"] == status
}

fn room_config() -> RoomConfig {
    RoomConfig::loopback(640, 360, 15)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_field_is_checked_and_access_needs_the_token() {
    common::init();
    let data = tempfile::tempdir().unwrap();
    // Nothing listens here: tasks that start fail, which is all this test needs of them.
    let serve = Serve::start(
        service_command("serve", "http://127.0.0.1:9", &fixture("showui-fixture")),
        data.path(),
    );
    let api = Api::new(&serve.api, None);
    let bad: [(Value, &str); 12] = [
        (json!({"task": ""}), "task"),
        (json!({"task": "x", "max_steps": 0}), "max_steps"),
        (json!({"task": "x", "max_steps": "ten"}), "max_steps"),
        (json!({"task": "x", "mode": "desktop"}), "mode"),
        (json!({"task": "x", "timeout": 0}), "timeout"),
        (
            json!({"task": "x", "callback_url": "not a url"}),
            "callback_url",
        ),
        (
            json!({"task": "x", "options": {"screen_resolution": "huge"}}),
            "options.screen_resolution",
        ),
        (
            json!({"task": "x", "options": {"refinement_steps": 50}}),
            "options.refinement_steps",
        ),
        (
            json!({"task": "x", "options": {"voice_id": "v"}}),
            "options.voice_id",
        ),
        (
            json!({"task": "x", "options": {"colour": 1}}),
            "options.colour",
        ),
        (
            json!({"task": "x", "room": {"name": "nowhere"}}),
            "room.name",
        ),
        (
            json!({"task": "x", "room": {"url": "https://n.example"}}),
            "room.username",
        ),
    ];
    for (body, field) in bad {
        let (status, answer) = api.call("POST", "/tasks", Some(body.clone())).await;
        assert_eq!(status, 400, "{body} → {answer}");
        let fields: Vec<&str> = answer["problems"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["field"].as_str().unwrap())
            .collect();
        assert!(fields.contains(&field), "{body} → {answer}");
    }
    let (status, answer) = api.call("POST", "/tasks", None).await;
    assert_eq!(status, 400, "{answer}");
    let too_big = "x".repeat(300 * 1024);
    let (status, _) = api
        .call("POST", "/tasks", Some(json!({"task": too_big})))
        .await;
    assert_eq!(status, 413);

    let (status, answer) = api.call("GET", "/tasks/task_nothing", None).await;
    assert_eq!(status, 404, "{answer}");
    assert!(answer["error"].as_str().unwrap().contains("task_nothing"));
    let (status, _) = api.call("DELETE", "/tasks/task_nothing", None).await;
    assert_eq!(status, 404);
    let (status, answer) = api.call("GET", "/tasks?status=done", None).await;
    assert_eq!(status, 400, "{answer}");
    assert_eq!(answer["problems"][0]["field"], "status");
    let (status, _) = api.call("GET", "/tasks?limit=0", None).await;
    assert_eq!(status, 400);

    let first = api
        .submit(json!({"task": "first task", "max_steps": 2}))
        .await;
    let second = api.submit(json!({"task": "second task"})).await;
    // The first fails (no room there); its record says why, and it can no longer change.
    let failed = api
        .wait_task(&first, PATIENCE, |task| status_is(task, "failed"))
        .await;
    assert!(
        failed["error"].as_str().unwrap().contains("127.0.0.1:9"),
        "{failed:#}"
    );
    let (status, answer) = api
        .call(
            "PUT",
            &format!("/tasks/{first}"),
            Some(json!({"max_steps": 3})),
        )
        .await;
    assert_eq!(status, 409, "{answer}");
    let (status, _) = api.call("DELETE", &format!("/tasks/{first}"), None).await;
    assert_eq!(status, 409);
    let (status, _) = api
        .call("POST", &format!("/tasks/{first}/pause"), None)
        .await;
    assert_eq!(status, 409);
    let _ = second;

    let (status, page) = api
        .call("GET", "/tasks?status=failed,queued,running&limit=1", None)
        .await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["tasks"].as_array().unwrap().len(), 1);
    assert_eq!(page["total"], 2, "{page}");
    let (_, page) = api.call("GET", "/tasks?q=FIRST", None).await;
    assert_eq!(page["tasks"][0]["task_id"], first.as_str(), "{page}");

    let (status, health) = api.call("GET", "/health", None).await;
    assert_eq!(status, 200, "{health}");
    assert_eq!(health["workers"].as_array().unwrap().len(), 1, "{health}");
    let metrics = api.get_raw("/metrics").await.text().await.unwrap();
    for name in [
        "neko_task_queue_depth",
        "neko_workers",
        "neko_task_latency_seconds",
        "neko_navigation_steps_total",
    ] {
        assert!(metrics.contains(name), "{name} missing:\n{metrics}");
    }
    let (status, document) = api.call("GET", "/openapi.json", None).await;
    assert_eq!(status, 200);
    for path in [
        "/api/v1/tasks",
        "/api/v1/tasks/{task_id}",
        "/api/v1/tasks/{task_id}/events",
        "/api/v1/tasks/{task_id}/screenshot",
        "/api/v1/health",
    ] {
        assert!(document["paths"].get(path).is_some(), "{path} missing");
    }
    drop(serve);

    // With a token: nothing but the probes, the metrics and the document without it.
    let token = "0123456789abcdef-token";
    let mut command = service_command("serve", "http://127.0.0.1:9", &fixture("showui-fixture"));
    command.env("NEKO_API_TOKEN", token);
    let data = tempfile::tempdir().unwrap();
    let guarded = Serve::start(command, data.path());
    let anonymous = Api::new(&guarded.api, None);
    let (status, answer) = anonymous.call("GET", "/tasks", None).await;
    assert_eq!(status, 401, "{answer}");
    assert!(answer["error"].as_str().unwrap().contains("Bearer"));
    let wrong = Api::new(&guarded.api, Some("0123456789abcdef-wrong"));
    assert_eq!(wrong.call("GET", "/tasks", None).await.0, 401);
    assert_eq!(anonymous.call("GET", "/health", None).await.0, 200);
    let allowed = Api::new(&guarded.api, Some(token));
    assert_eq!(allowed.call("GET", "/tasks", None).await.0, 200);

    // No token and an address other machines reach: refused before anything starts.
    let output = service_command("serve", "http://127.0.0.1:9", &fixture("showui-fixture"))
        .args(["--bind", "0.0.0.0:0"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("without a token"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[expect(
    clippy::await_holding_lock,
    reason = "the lock only serialises media tests"
)]
async fn a_task_completes_with_its_steps_events_screenshot_and_a_signed_webhook() {
    let _media = common::MEDIA.lock().unwrap_or_else(|e| e.into_inner());
    common::init();
    let room = TestRoom::start(room_config()).await;
    let hooks = Receiver::start(2).await;
    let data = tempfile::tempdir().unwrap();
    let mut command = service_command("serve", &room.base_url(), &fixture("showui-fixture"));
    command.env("NEKO_WEBHOOK_SECRET", SECRET);
    let serve = Serve::start(command, data.path());
    let api = Api::new(&serve.api, None);
    let task_id = api
        .submit(json!({
            "task": "Open the red box",
            "max_steps": 4,
            "callback_url": hooks.url,
            "options": {"refinement_steps": 1}
        }))
        .await;
    let events = api.get_raw(&format!("/tasks/{task_id}/events")).await;
    assert_eq!(events.status(), 200);
    let stream = read_event_stream(events).await;
    let done = api
        .wait_task(&task_id, PATIENCE, |task| status_is(task, "completed"))
        .await;
    assert_eq!(done["answer"], "done", "{done:#}\n{}", serve.output());
    assert_eq!(done["attempts"], 1);
    let steps = done["steps"].as_array().unwrap();
    assert_eq!(steps.len(), 2, "{done:#}");
    assert!(steps[0]["action"].as_str().unwrap().contains("CLICK"));
    assert!(steps[0]["model_ms"].as_f64().unwrap() > 0.0);

    for expected in [
        "event: status",
        "\"status\":\"running\"",
        "event: step",
        "event: chat",
        "Action: {",
        "\"status\":\"completed\"",
    ] {
        assert!(
            stream.contains(expected),
            "{expected} missing in:\n{stream}"
        );
    }

    let screenshot = api.get_raw(&format!("/tasks/{task_id}/screenshot")).await;
    assert_eq!(screenshot.status(), 200);
    assert_eq!(screenshot.headers()["content-type"], "image/jpeg");
    let jpeg = screenshot.bytes().await.unwrap();
    assert_eq!(&jpeg[..2], [0xFF, 0xD8]);

    let delivery = hooks
        .wait_for(PATIENCE, |d| d.event == "task.completed")
        .await;
    assert_eq!(
        *hooks.refused.lock().unwrap(),
        2,
        "two failed attempts were retried"
    );
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(delivery.timestamp.as_bytes());
    mac.update(b".");
    mac.update(&delivery.body);
    let expected: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(delivery.signature, Some(format!("sha256={expected}")));
    let body: Value = serde_json::from_slice(&delivery.body).unwrap();
    assert_eq!(body["task_id"], task_id.as_str());
    assert_eq!(body["status"], "completed");
    assert!(!delivery.id.is_empty());
    room.shutdown().await;
}

/// Reads a server-sent event stream to its end (bounded).
async fn read_event_stream(mut response: reqwest::Response) -> String {
    let mut text = String::new();
    let read = async {
        while let Ok(Some(chunk)) = response.chunk().await {
            text.push_str(&String::from_utf8_lossy(&chunk));
        }
    };
    let _ = tokio::time::timeout(PATIENCE, read).await;
    text
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[expect(
    clippy::await_holding_lock,
    reason = "the lock only serialises media tests"
)]
async fn a_running_task_pauses_resumes_and_cancels_within_a_step() {
    let _media = common::MEDIA.lock().unwrap_or_else(|e| e.into_inner());
    common::init();
    let room = TestRoom::start(room_config()).await;
    let data = tempfile::tempdir().unwrap();
    let serve = Serve::start(
        service_command(
            "serve",
            &room.base_url(),
            &fixture("showui-fixture-garbage"),
        ),
        data.path(),
    );
    let api = Api::new(&serve.api, None);
    let task_id = api
        .submit(json!({"task": "anything", "max_steps": 1000}))
        .await;
    let queued_behind = api.submit(json!({"task": "waits its turn"})).await;
    let (status, changed) = api
        .call(
            "PUT",
            &format!("/tasks/{queued_behind}"),
            Some(json!({"task": "changed while queued"})),
        )
        .await;
    assert_eq!(status, 200, "{changed}");
    assert_eq!(changed["spec"]["task"], "changed while queued");

    api.wait_task(&task_id, PATIENCE, |task| {
        task["step_count"].as_u64().unwrap_or(0) >= 1
    })
    .await;
    let (status, _) = api
        .call("POST", &format!("/tasks/{task_id}/pause"), None)
        .await;
    assert_eq!(status, 202);
    let paused = api
        .wait_task(&task_id, PATIENCE, |task| status_is(task, "paused"))
        .await;
    assert_eq!(paused["pause_reason"], "requested");
    let steps_when_paused = paused["step_count"].as_u64().unwrap();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let still = api.call("GET", &format!("/tasks/{task_id}"), None).await.1;
    assert_eq!(
        still["step_count"].as_u64().unwrap(),
        steps_when_paused,
        "no step while paused"
    );

    let (status, _) = api
        .call("POST", &format!("/tasks/{task_id}/resume"), None)
        .await;
    assert_eq!(status, 202);
    api.wait_task(&task_id, PATIENCE, |task| {
        status_is(task, "running") && task["step_count"].as_u64().unwrap() > steps_when_paused
    })
    .await;

    let (status, _) = api.call("DELETE", &format!("/tasks/{task_id}"), None).await;
    assert_eq!(status, 202);
    let cancelled = api
        .wait_task(&task_id, PATIENCE, |task| status_is(task, "cancelled"))
        .await;
    assert!(cancelled["finished_at"].is_string());
    // The next task runs once the room is free; cancelling a queued one ends it at once.
    api.wait_task(&queued_behind, PATIENCE, |task| status_is(task, "running"))
        .await;
    let (status, _) = api
        .call("DELETE", &format!("/tasks/{queued_behind}"), None)
        .await;
    assert_eq!(status, 202);
    api.wait_task(&queued_behind, PATIENCE, |task| {
        status_is(task, "cancelled")
    })
    .await;
    room.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[expect(
    clippy::await_holding_lock,
    reason = "the lock only serialises media tests"
)]
async fn a_service_killed_mid_task_runs_it_again_after_a_restart_and_it_ends_once() {
    let _media = common::MEDIA.lock().unwrap_or_else(|e| e.into_inner());
    common::init();
    let room = TestRoom::start(room_config()).await;
    let hooks = Receiver::start(0).await;
    let data = tempfile::tempdir().unwrap();
    let start = || {
        Serve::start(
            service_command(
                "serve",
                &room.base_url(),
                &fixture("showui-fixture-garbage"),
            ),
            data.path(),
        )
    };
    let serve = start();
    let api = Api::new(&serve.api, None);
    let task_id = api
        .submit(json!({"task": "anything", "max_steps": 4, "callback_url": hooks.url}))
        .await;
    api.wait_task(&task_id, PATIENCE, |task| {
        task["step_count"].as_u64().unwrap_or(0) >= 1
    })
    .await;
    serve.kill();

    let serve = start();
    assert!(
        serve.output().contains("queued again") || {
            std::thread::sleep(Duration::from_millis(500));
            serve.output().contains("queued again")
        },
        "{}",
        serve.output()
    );
    let api = Api::new(&serve.api, None);
    let ended = api
        .wait_task(&task_id, PATIENCE, |task| status_is(task, "failed"))
        .await;
    assert_eq!(ended["attempts"], 2, "{ended:#}");
    assert!(
        ended["error"]
            .as_str()
            .unwrap()
            .contains("no answer after 4 steps")
    );
    hooks.wait_for(PATIENCE, |d| d.event == "task.failed").await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let deliveries = hooks.accepted.lock().unwrap().len();
    assert_eq!(deliveries, 1, "the task ended once");
    room.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[expect(
    clippy::await_holding_lock,
    reason = "the lock only serialises media tests"
)]
async fn a_person_taking_control_pauses_the_task_until_they_give_it_back() {
    use gstneko::client::{ClientConfig, NekoClient, Target, wait_for_notice};

    let _media = common::MEDIA.lock().unwrap_or_else(|e| e.into_inner());
    common::init();
    let room = TestRoom::start(room_config()).await;
    let hooks = Receiver::start(0).await;
    let data = tempfile::tempdir().unwrap();
    let serve = Serve::start(
        service_command("serve", &room.base_url(), &fixture("showui-fixture")),
        data.path(),
    );
    let api = Api::new(&serve.api, None);
    let task_id = api
        .submit(json!({"task": "Open the red box", "max_steps": 4, "callback_url": hooks.url}))
        .await;
    let events = api.get_raw(&format!("/tasks/{task_id}/events")).await;
    let stream = tokio::spawn(read_event_stream(events));
    room.wait_for_input(|i| i.event == "control/buttonpress", PATIENCE)
        .await
        .unwrap_or_else(|| panic!("the agent never clicked:\n{}", serve.output()));

    let target = Target::new(&room.base_url(), Some("admin"), Some("admin"), None).unwrap();
    let (admin, mut notices) = NekoClient::start(ClientConfig::new(target));
    wait_for_notice(&mut notices, Duration::from_secs(10), |_| {
        admin.state().connected.then_some(())
    })
    .await
    .expect("the admin joins");
    let token = admin.token().unwrap();
    let taken = Instant::now();
    admin
        .rest()
        .post_json("/api/room/control/take", &token, None)
        .await
        .unwrap();
    let paused = api
        .wait_task(&task_id, PATIENCE, |task| status_is(task, "paused"))
        .await;
    assert_eq!(paused["pause_reason"], "takeover");
    hooks.wait_for(PATIENCE, |d| d.event == "task.paused").await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let sent_after: Vec<String> = room
        .inputs()
        .into_iter()
        .filter(|i| i.session_id.starts_with("agent-") && i.at >= taken)
        .map(|i| i.event)
        .collect();
    assert!(
        sent_after.is_empty(),
        "the agent acted during the takeover: {sent_after:?}"
    );

    admin
        .rest()
        .post_json("/api/room/control/release", &token, None)
        .await
        .unwrap();
    let done = api
        .wait_task(&task_id, PATIENCE, |task| status_is(task, "completed"))
        .await;
    assert_eq!(done["answer"], "done", "{done:#}");
    let stream = stream.await.unwrap();
    for expected in [
        "\"type\":\"takeover\",\"active\":true",
        "\"pause_reason\":\"takeover\"",
        "\"type\":\"takeover\",\"active\":false",
        "\"status\":\"completed\"",
    ] {
        assert!(
            stream.contains(expected),
            "{expected} missing in:\n{stream}"
        );
    }
    admin.stop();
    room.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[expect(
    clippy::await_holding_lock,
    reason = "the lock only serialises media tests"
)]
async fn a_service_asked_to_stop_hands_its_running_task_back_even_with_a_client_following_it() {
    let _media = common::MEDIA.lock().unwrap_or_else(|e| e.into_inner());
    common::init();
    let room = TestRoom::start(room_config()).await;
    let data = tempfile::tempdir().unwrap();
    let start = || {
        Serve::start(
            service_command(
                "serve",
                &room.base_url(),
                &fixture("showui-fixture-garbage"),
            ),
            data.path(),
        )
    };
    let serve = start();
    let api = Api::new(&serve.api, None);
    let task_id = api
        .submit(json!({"task": "anything", "max_steps": 1000}))
        .await;
    api.wait_task(&task_id, PATIENCE, |task| {
        task["step_count"].as_u64().unwrap_or(0) >= 1
    })
    .await;
    // A client follows the task: its open stream must not keep the service from stopping.
    let events = api.get_raw(&format!("/tasks/{task_id}/events")).await;
    let stream = tokio::spawn(read_event_stream(events));
    let output = serve.output();
    let status = tokio::task::spawn_blocking(move || serve.terminate(Duration::from_secs(60)))
        .await
        .unwrap();
    assert!(status.is_some_and(|s| s.success()), "{status:?}\n{output}");
    let stream = stream.await.unwrap();
    assert!(stream.contains("\"status\":\"queued\""), "{stream}");

    let serve = start();
    let api = Api::new(&serve.api, None);
    let again = api
        .wait_task(&task_id, PATIENCE, |task| status_is(task, "running"))
        .await;
    assert_eq!(again["attempts"], 2, "{again:#}");
    let (status, _) = api.call("DELETE", &format!("/tasks/{task_id}"), None).await;
    assert_eq!(status, 202);
    api.wait_task(&task_id, PATIENCE, |task| status_is(task, "cancelled"))
        .await;
    room.shutdown().await;
}
