//! `neko-agent run` end to end over real WebRTC: the fixture model clicks the sandbox room's red
//! region and answers; online mode takes a task from chat; bad settings and a garbage model fail
//! clearly; a room that dies mid-task ends the run with status 3, one that comes back costs no
//! steps.

mod common;

use std::process::Command;
use std::time::Duration;

use common::agent_run::{abandon, finish, run_command, text};
use gstneko::client::{ClientConfig, ClientNotice, NekoClient, Target, wait_for_notice};
use gstneko::protocol::{ChatContent, ClientEvent, ServerEvent};
use neko_sandbox::testing::TestRoom;
use neko_sandbox::{Room, RoomConfig};

/// `neko-agent run` against `url` with the fixture `model`, and extra arguments.
fn agent(url: &str, model: &str, args: &[&str]) -> Command {
    let mut command = run_command(url);
    command.args(["--model-dir", model]).args(args);
    command
}

fn fixture(name: &str) -> String {
    format!("{}/models/{name}", env!("CARGO_MANIFEST_DIR"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[expect(
    clippy::await_holding_lock,
    reason = "the lock only serialises media tests"
)]
async fn the_fixture_model_clicks_the_red_region_then_answers() {
    let _media = common::MEDIA.lock().unwrap_or_else(|e| e.into_inner());
    common::init();
    let room = TestRoom::start(RoomConfig::loopback(640, 360, 15)).await;
    let clicks = std::env::temp_dir().join(format!("neko-agent-clicks-{}", std::process::id()));
    let child = agent(
        &room.base_url(),
        &fixture("showui-fixture"),
        &["--task", "Open the red box"],
    )
    .env("CLICK_SAVE_PATH", &clicks)
    .spawn()
    .unwrap();
    let output = finish(child).await;
    let report = text(&output);
    assert_eq!(output.status.code(), Some(0), "{report}");
    assert!(report.contains("answer after 2 step(s): done"), "{report}");

    let desktop = room.media().unwrap().desktop();
    let red = desktop.lock().unwrap().region("red").unwrap();
    assert!(red.clicked, "{red:?}\n{report}");
    let press = room
        .inputs()
        .into_iter()
        .find(|i| i.event == "control/buttonpress")
        .expect("a click was recorded");
    let x = press.payload["x"].as_i64().unwrap() as i32;
    let y = press.payload["y"].as_i64().unwrap() as i32;
    assert!(
        red.rect.contains(x, y),
        "click at {x},{y} outside {:?}",
        red.rect
    );
    assert_eq!((x, y), (83, 86), "0.13 × 640, 0.24 × 360");
    assert!(clicks.join("step_001_CLICK_final.png").exists(), "{report}");
    std::fs::remove_dir_all(&clicks).ok();
    room.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[expect(
    clippy::await_holding_lock,
    reason = "the lock only serialises media tests"
)]
async fn run_with_voice_narrates_the_steps_in_the_room() {
    let _media = common::MEDIA.lock().unwrap_or_else(|e| e.into_inner());
    common::init();
    let room = TestRoom::start(RoomConfig::loopback(640, 360, 15)).await;
    let voices = std::env::temp_dir().join(format!("neko-agent-voices-{}", std::process::id()));
    let child = agent(
        &room.base_url(),
        &fixture("showui-fixture"),
        &["--task", "Open the red box", "--voice", "--voices-dir"],
    )
    .arg(&voices)
    .spawn()
    .unwrap();
    let output = finish(child).await;
    let report = text(&output);
    assert_eq!(output.status.code(), Some(0), "{report}");
    let heard = room.microphone().heard();
    let speech = neko_sandbox::testing::audio::audible_seconds(&heard, 0.01);
    // "Step 1: click." and "The answer is: done." take well over a second to say.
    assert!(
        speech > 1.0,
        "the room heard {speech:.2} s of narration\n{report}"
    );
    let narrator = heard
        .first()
        .map(|h| h.session_id.clone())
        .unwrap_or_default();
    assert!(narrator.starts_with("agent-"), "{narrator}");
    std::fs::remove_dir_all(&voices).ok();
    room.shutdown().await;
}

/// Waits for a chat message containing `what`.
async fn said(
    notices: &mut tokio::sync::broadcast::Receiver<ClientNotice>,
    what: &str,
) -> Option<String> {
    wait_for_notice(notices, Duration::from_secs(60), |n| match n {
        ClientNotice::Event(event) => match event.as_ref() {
            ServerEvent::ChatMessage(m) if m.content.text.contains(what) => {
                Some(m.content.text.clone())
            }
            _ => None,
        },
        _ => None,
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[expect(
    clippy::await_holding_lock,
    reason = "the lock only serialises media tests"
)]
async fn online_mode_takes_a_task_from_chat_and_posts_the_answer() {
    let _media = common::MEDIA.lock().unwrap_or_else(|e| e.into_inner());
    common::init();
    let room = TestRoom::start(RoomConfig::loopback(640, 360, 15)).await;
    let target = Target::new(&room.base_url(), Some("olga"), Some("neko"), None).unwrap();
    let (person, mut notices) = NekoClient::start(ClientConfig::new(target));
    let mut child = agent(&room.base_url(), &fixture("showui-fixture"), &["--online"])
        .spawn()
        .unwrap();
    assert!(
        said(&mut notices, "Ready").await.is_some(),
        "the agent never said it was ready"
    );
    person
        .send(ClientEvent::ChatMessage(ChatContent::new(
            "/task open the red box",
        )))
        .await
        .unwrap();
    let action = said(&mut notices, "Action: ")
        .await
        .expect("an action was announced");
    assert!(action.contains("\"CLICK\""), "{action}");
    let answer = said(&mut notices, "Answer: ")
        .await
        .expect("an answer was posted");
    assert_eq!(answer, "Answer: done");
    let done = said(&mut notices, "Completed task")
        .await
        .expect("completion posted");
    assert!(done.contains("open the red box"), "{done}");
    // Host control is given back when idle.
    for _ in 0..100 {
        if room.host().is_none() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(room.host(), None, "host control kept while idle");
    assert!(
        room.media()
            .unwrap()
            .desktop()
            .lock()
            .unwrap()
            .region("red")
            .unwrap()
            .clicked
    );
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let status = tokio::task::spawn_blocking(move || child.wait().unwrap())
        .await
        .unwrap();
    assert_eq!(status.code(), Some(130));
    person.stop();
    room.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[expect(
    clippy::await_holding_lock,
    reason = "the lock only serialises media tests"
)]
async fn unparseable_model_output_costs_steps_and_ends_with_status_4() {
    let _media = common::MEDIA.lock().unwrap_or_else(|e| e.into_inner());
    common::init();
    let room = TestRoom::start(RoomConfig::loopback(640, 360, 15)).await;
    let child = agent(
        &room.base_url(),
        &fixture("showui-fixture-garbage"),
        &["--task", "anything", "--max-steps", "2"],
    )
    .spawn()
    .unwrap();
    let output = finish(child).await;
    let report = text(&output);
    assert_eq!(output.status.code(), Some(4), "{report}");
    assert!(report.contains("model output rejected"), "{report}");
    assert!(report.contains("I cannot do that"), "{report}");
    assert!(report.contains("no answer after 2 steps"), "{report}");
    assert!(
        !room
            .inputs()
            .iter()
            .any(|i| i.event.starts_with("control/button")),
        "nothing may be clicked"
    );
    room.shutdown().await;
}

#[test]
fn missing_model_files_and_bad_settings_are_clear() {
    let output = agent("http://127.0.0.1:9", "/nonexistent/model", &["--task", "x"])
        .output()
        .unwrap();
    let report = text(&output);
    assert_eq!(output.status.code(), Some(2), "{report}");
    assert!(report.contains("/nonexistent/model"), "{report}");

    let output = agent(
        "ftp://nowhere",
        &fixture("showui-fixture"),
        &[
            "--task",
            "",
            "--max-steps",
            "0",
            "--mode",
            "web",
            "--frame-timeout",
            "0",
            "--reconnect-timeout",
            "NaN",
        ],
    )
    .output()
    .unwrap();
    let report = text(&output);
    assert_eq!(output.status.code(), Some(2), "{report}");
    for problem in [
        "NEKO_MAX_STEPS",
        "NEKO_TASK",
        "must start with http://",
        "--frame-timeout/NEKO_FRAME_TIMEOUT must be a positive number of seconds",
        "--reconnect-timeout/NEKO_RECONNECT_TIMEOUT must be a positive",
    ] {
        assert!(report.contains(problem), "{problem}: {report}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[expect(
    clippy::await_holding_lock,
    reason = "the lock only serialises media tests"
)]
async fn losing_the_server_mid_task_ends_with_status_3() {
    let _media = common::MEDIA.lock().unwrap_or_else(|e| e.into_inner());
    common::init();
    let room = TestRoom::start(RoomConfig::loopback(640, 360, 15)).await;
    let child = agent(
        &room.base_url(),
        &fixture("showui-fixture-garbage"),
        &["--task", "anything", "--max-steps", "1000"],
    )
    .spawn()
    .unwrap();
    // Let it join and take a step or two, then the server goes away.
    if room
        .wait_for_input(|i| i.event == "control/request", Duration::from_secs(30))
        .await
        .is_none()
    {
        panic!(
            "the agent never asked for host control\n{}",
            abandon(child).await
        );
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    room.shutdown().await;
    let output = tokio::time::timeout(Duration::from_secs(60), finish(child))
        .await
        .expect("the agent does not hang when the server is gone");
    let report = text(&output);
    assert_eq!(output.status.code(), Some(3), "{report}");
    assert!(report.contains("ended the session"), "{report}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[expect(
    clippy::await_holding_lock,
    reason = "the lock only serialises media tests"
)]
async fn a_room_that_dies_mid_task_and_stays_away_ends_with_status_3_and_no_answer() {
    let _media = common::MEDIA.lock().unwrap_or_else(|e| e.into_inner());
    common::init();
    let room = TestRoom::start(RoomConfig::loopback(640, 360, 15)).await;
    let child = agent(
        &room.base_url(),
        &fixture("showui-fixture"),
        &[
            "--task",
            "Open the red box",
            "--reconnect-timeout",
            "5",
            "--frame-timeout",
            "10",
        ],
    )
    .spawn()
    .unwrap();
    // Step 1 clicks; the room dies (no goodbye) before step 2 can look at the result.
    if room
        .wait_for_input(
            |i| i.event == "control/buttonpress",
            Duration::from_secs(60),
        )
        .await
        .is_none()
    {
        panic!("step 1 never clicked\n{}", abandon(child).await);
    }
    let died = std::time::Instant::now();
    room.crash().await;
    let output = tokio::time::timeout(Duration::from_secs(60), finish(child))
        .await
        .expect("the agent gives up when the room stays away");
    let waited = died.elapsed();
    let report = text(&output);
    assert_eq!(output.status.code(), Some(3), "{report}");
    assert!(
        report.contains("did not come back within 5 s (NEKO_RECONNECT_TIMEOUT)"),
        "{report}"
    );
    assert!(!report.contains("answer after"), "{report}");
    // Bounded by the limit (plus start-up slack for a loaded machine), not by a step budget.
    assert!(waited < Duration::from_secs(5 + 30), "{waited:?}\n{report}");
}

/// Runs the red-box task, crashes the room once it records `crash_on` from the agent, starts
/// a new room on the same port 3 s later and lets the agent finish there: the new room, when
/// the agent's video was back in it, and the agent's output.
async fn restart_mid_task(crash_on: &str) -> (TestRoom, std::time::Instant, String) {
    let first = TestRoom::start(RoomConfig::loopback(640, 360, 15)).await;
    let address = first.local_addr();
    let child = agent(
        &first.base_url(),
        &fixture("showui-fixture"),
        &["--task", "Open the red box", "--reconnect-timeout", "60"],
    )
    .spawn()
    .unwrap();
    if first
        .wait_for_input(|i| i.event == crash_on, Duration::from_secs(60))
        .await
        .is_none()
    {
        panic!("the agent never sent {crash_on}\n{}", abandon(child).await);
    }
    first.crash().await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let room = TestRoom::start(RoomConfig {
        bind: address,
        ..RoomConfig::loopback(640, 360, 15)
    })
    .await;
    let watching = async {
        loop {
            if room.sessions().iter().any(|s| s.state.is_watching) {
                return std::time::Instant::now();
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    };
    let watching_since = tokio::time::timeout(Duration::from_secs(90), watching).await;
    let output = tokio::time::timeout(Duration::from_secs(90), finish(child))
        .await
        .expect("the agent finishes");
    let report = text(&output);
    let watching_since =
        watching_since.unwrap_or_else(|_| panic!("the agent's video never came back\n{report}"));
    assert_eq!(output.status.code(), Some(0), "{report}");
    // The same two steps as without the outage (the first test above).
    assert!(report.contains("answer after 2 step(s): done"), "{report}");
    (room, watching_since, report)
}

/// The agent's input events a room recorded (not its requests for host control).
fn actions(room: &Room) -> Vec<neko_sandbox::RecordedInput> {
    room.inputs()
        .into_iter()
        .filter(|i| i.event.starts_with("control/") && i.event != "control/request")
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[expect(
    clippy::await_holding_lock,
    reason = "the lock only serialises media tests"
)]
async fn a_room_restarted_before_the_first_action_costs_no_steps() {
    let _media = common::MEDIA.lock().unwrap_or_else(|e| e.into_inner());
    common::init();
    // The agent joined and waits for video or decides its first step when the room dies.
    let (room, watching_since, report) = restart_mid_task("control/request").await;
    let red = room
        .media()
        .unwrap()
        .desktop()
        .lock()
        .unwrap()
        .region("red")
        .unwrap();
    assert!(red.clicked, "{report}");
    let actions = actions(&room);
    let presses = actions
        .iter()
        .filter(|i| i.event == "control/buttonpress")
        .count();
    assert_eq!(presses, 1, "{actions:?}\n{report}");
    // Every action the new room saw was decided on a frame it sent: none came before the
    // agent's video was back.
    for action in &actions {
        assert!(
            action.at >= watching_since - Duration::from_millis(50),
            "{} before the video was back\n{report}",
            action.event
        );
    }
    room.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[expect(
    clippy::await_holding_lock,
    reason = "the lock only serialises media tests"
)]
async fn a_room_restarted_after_a_click_costs_no_steps_and_answers_on_a_fresh_frame() {
    let _media = common::MEDIA.lock().unwrap_or_else(|e| e.into_inner());
    common::init();
    // Step 1 clicked in the first room; step 2 must look at the new room's picture.
    let (room, watching_since, report) = restart_mid_task("control/buttonpress").await;
    let actions = actions(&room);
    assert!(actions.is_empty(), "the click was repeated: {actions:?}");
    let chat = room.chat_messages();
    let answer = chat
        .iter()
        .find(|m| m.text == "Answer: done")
        .unwrap_or_else(|| panic!("no answer in the new room: {chat:?}\n{report}"));
    assert!(
        answer.at >= watching_since - Duration::from_millis(50),
        "answered before the video was back\n{report}"
    );
    room.shutdown().await;
}

#[test]
fn a_graph_with_the_wrong_inputs_is_named_in_the_error() {
    // A model folder whose embed_tokens graph is really the vision encoder.
    let dir = std::env::temp_dir().join(format!("neko-agent-wrong-graph-{}", std::process::id()));
    let source = std::path::PathBuf::from(fixture("showui-fixture"));
    std::fs::create_dir_all(dir.join("onnx")).unwrap();
    for entry in std::fs::read_dir(&source).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_file() {
            std::fs::copy(entry.path(), dir.join(entry.file_name())).unwrap();
        }
    }
    for graph in ["vision_encoder", "decoder_model_merged"] {
        let name = format!("onnx/{graph}.onnx");
        std::fs::copy(source.join(&name), dir.join(&name)).unwrap();
    }
    std::fs::copy(
        source.join("onnx/vision_encoder.onnx"),
        dir.join("onnx/embed_tokens.onnx"),
    )
    .unwrap();
    let output = agent(
        "http://127.0.0.1:9",
        dir.to_str().unwrap(),
        &["--task", "x"],
    )
    .output()
    .unwrap();
    let report = text(&output);
    std::fs::remove_dir_all(&dir).ok();
    assert_eq!(output.status.code(), Some(2), "{report}");
    assert!(
        report.contains("embed_tokens.onnx has no input"),
        "{report}"
    );
    assert!(report.contains("not a Qwen2-VL graph"), "{report}");
}

/// One `run`, two rooms (`--also-room`): the task runs in both at once on the one loaded model,
/// their steps share model calls, and each room's red region is clicked and its task answered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[expect(
    clippy::await_holding_lock,
    reason = "the lock only serialises media tests"
)]
async fn one_run_drives_two_rooms_and_batches_their_steps() {
    let _media = common::MEDIA.lock().unwrap_or_else(|e| e.into_inner());
    common::init();
    let first = TestRoom::start(RoomConfig::loopback(640, 360, 15)).await;
    let second = TestRoom::start(RoomConfig::loopback(640, 360, 15)).await;
    let child = agent(
        &first.base_url(),
        &fixture("showui-fixture"),
        &[
            "--task",
            "Open the red box",
            "--also-room",
            &second.base_url(),
            // Each step waits for the other room's (both rooms' first steps join one call
            // however slowly the machine brings their video up).
            "--batch-window-ms",
            "60000",
            "--batch-latency-budget-ms",
            "60000",
        ],
    )
    .spawn()
    .unwrap();
    let output = finish(child).await;
    let report = text(&output);
    assert_eq!(output.status.code(), Some(0), "{report}");
    for room in [&first, &second] {
        let answered = format!("[{}] answer after 2 step(s): done", room.base_url());
        assert!(report.contains(&answered), "{answered}\n{report}");
        let desktop = room.media().unwrap().desktop();
        let red = desktop.lock().unwrap().region("red").unwrap();
        assert!(red.clicked, "{}: {red:?}\n{report}", room.base_url());
    }
    assert!(report.contains("in a batch of 2 rooms"), "{report}");
    first.shutdown().await;
    second.shutdown().await;
}
