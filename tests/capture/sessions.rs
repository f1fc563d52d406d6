//! Recording against the sandbox room: a person marking an episode in chat, and the agent
//! (its chat actions seen by `capture`, and its own tasks with `run --capture`).

use std::time::{Duration, Instant};

use neko_sandbox::RoomConfig;
use neko_sandbox::testing::TestRoom;
use serde_json::json;

use crate::common;
use crate::support::{Person, Proc, capture, episode_id, episodes, frames_fit, scratch, text};

const FPS: f64 = 2.0;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[expect(
    clippy::await_holding_lock,
    reason = "the lock only serialises media tests"
)]
async fn a_person_marks_an_episode_in_chat() {
    let _media = common::MEDIA.lock().unwrap_or_else(|e| e.into_inner());
    common::init();
    let room = TestRoom::start(RoomConfig::loopback(640, 360, 15)).await;
    let out = scratch("person");
    let recorder = Proc::spawn(capture(&room.base_url(), "capture", "neko", &out));
    recorder
        .wait_line("in the room at", Duration::from_secs(30))
        .await;
    let mut person = Person::join(&room.base_url(), "olga").await;

    person.say("/start").await;
    assert!(
        person
            .heard("Usage: /start <task>", Duration::from_secs(10))
            .await
            .starts_with("[capture]")
    );
    person.say("/START Open the red box").await;
    let started = person
        .heard("Recording episode", Duration::from_secs(10))
        .await;
    let t0 = Instant::now();
    let id = episode_id(&started);
    assert_eq!(id.len(), 8, "{started}");

    person
        .say(r#"Action: {"type": "click", "coordinate": [83, 86]}"#)
        .await;
    person
        .say("Action: {'type': 'type', 'text': 'hello'}")
        .await;
    person.say("Action: {type: click}").await;
    let refused = person
        .heard("Action not recorded", Duration::from_secs(10))
        .await;
    assert!(refused.contains("not a JSON object"), "{refused}");
    person.say("/start another task").await;
    let busy = person
        .heard("already recording", Duration::from_secs(10))
        .await;
    assert!(busy.contains(&id), "{busy}");

    tokio::time::sleep(Duration::from_secs(8).saturating_sub(t0.elapsed())).await;
    person.say("/stop").await;
    let seconds = t0.elapsed().as_secs_f64();
    let saved = person.heard("saved:", Duration::from_secs(20)).await;
    assert!(saved.contains(&format!("Episode {id} saved")), "{saved}");
    assert!(saved.contains("2 actions (stopped)"), "{saved}");
    person.say("/stop").await;
    person
        .heard("Nothing is being recorded", Duration::from_secs(10))
        .await;

    recorder.signal(libc::SIGTERM);
    let (code, output) = recorder.finish(Duration::from_secs(30)).await;
    assert_eq!(code, 0, "{output}");

    let episodes = episodes(&out);
    assert_eq!(episodes.len(), 1, "{output}");
    let (sample, zip) = &episodes[0];
    assert_eq!(text(sample, "episode_id"), id);
    assert_eq!(text(sample, "task"), "Open the red box");
    assert_eq!(text(sample, "screen_w"), "640");
    assert_eq!(text(sample, "screen_h"), "360");
    let frames: u64 = text(sample, "num_frames").parse().unwrap();
    assert!(
        frames_fit(frames, seconds, FPS),
        "{frames} frames in {seconds:.2} s at {FPS} fps\n{output}"
    );
    assert_eq!(zip.frames.len() as u64, frames);
    assert_eq!(zip.meta["end_reason"], json!("stopped"));
    assert_eq!(zip.meta["num_frames"], json!(frames));
    assert_eq!(zip.meta["screen"], json!({"width": 640, "height": 360}));
    let actions: Vec<_> = zip.actions.iter().map(|a| a["action"].clone()).collect();
    assert_eq!(
        actions,
        [
            json!({"type": "click", "coordinate": [83, 86]}),
            json!({"type": "type", "text": "hello"})
        ]
    );
    assert_eq!(
        zip.actions[0]["raw"],
        json!(r#"{"type": "click", "coordinate": [83, 86]}"#)
    );
    // Frames are timed in order, about 1/FPS apart, and are 640x360 JPEGs.
    let times: Vec<f64> = zip
        .frames
        .iter()
        .map(|f| f["ts"].as_f64().unwrap())
        .collect();
    for pair in times.windows(2) {
        let gap = pair[1] - pair[0];
        assert!(
            (0.2..=1.0).contains(&gap),
            "frame gap {gap:.3} s: {times:?}"
        );
    }
    std::fs::remove_dir_all(&out).ok();
    room.shutdown().await;
}

/// `neko-agent run --online --capture` with the fixture model.
fn online_agent(url: &str, out: &std::path::Path) -> std::process::Command {
    let mut command = crate::support::neko_agent("run");
    command
        .args([
            "--online",
            "--capture",
            "--no-metrics",
            "--refinement-steps",
            "1",
        ])
        .arg("--model-dir")
        .arg(format!(
            "{}/models/showui-fixture",
            env!("CARGO_MANIFEST_DIR")
        ))
        .env("NEKO_URL", url)
        .env("NEKO_USER", "agent")
        .env("NEKO_PASS", "neko")
        .env("NEKO_SKIP_INITIAL_FRAMES", "1")
        .env("CAPTURE_OUT", out)
        .env("CAPTURE_MIN_FRAMES", "1");
    command
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[expect(
    clippy::await_holding_lock,
    reason = "the lock only serialises media tests"
)]
async fn the_agent_s_tasks_are_recorded_by_capture_and_by_run_capture() {
    let _media = common::MEDIA.lock().unwrap_or_else(|e| e.into_inner());
    common::init();
    let room = TestRoom::start(RoomConfig::loopback(640, 360, 15)).await;
    let (watched, own) = (scratch("agent-watched"), scratch("agent-own"));
    let watcher = Proc::spawn(capture(&room.base_url(), "capture", "neko", &watched));
    let agent = Proc::spawn(online_agent(&room.base_url(), &own));
    watcher
        .wait_line("in the room at", Duration::from_secs(30))
        .await;
    let mut person = Person::join(&room.base_url(), "olga").await;
    person.heard("Ready", Duration::from_secs(60)).await;

    person.say("/start open the red box").await;
    person
        .heard("Recording episode", Duration::from_secs(10))
        .await;
    let t0 = Instant::now();
    person.say("/task open the red box").await;
    person.heard("Starting task", Duration::from_secs(10)).await;
    let task_started = Instant::now();
    let click = person.heard("Action: ", Duration::from_secs(60)).await;
    person
        .heard("Completed task", Duration::from_secs(60))
        .await;
    let task_seconds = task_started.elapsed().as_secs_f64();
    tokio::time::sleep(Duration::from_secs(1)).await;
    // One /stop ends capture's episode (the agent has nothing to stop).
    person.say("/stop").await;
    let watched_seconds = t0.elapsed().as_secs_f64();
    let saved = person.heard("saved:", Duration::from_secs(20)).await;
    assert!(saved.contains("2 actions (stopped)"), "{saved}");

    agent.signal(libc::SIGTERM);
    watcher.signal(libc::SIGTERM);
    let (code, agent_output) = agent.finish(Duration::from_secs(30)).await;
    assert_eq!(code, 130, "{agent_output}");
    let (code, watcher_output) = watcher.finish(Duration::from_secs(30)).await;
    assert_eq!(code, 0, "{watcher_output}");

    // Capture saw the agent's actions in chat, exactly as posted.
    let posted = click
        .trim_start_matches("[agent] ")
        .trim_start_matches("Action: ");
    let seen = episodes(&watched);
    assert_eq!(seen.len(), 1, "{watcher_output}");
    let (sample, zip) = &seen[0];
    assert_eq!(zip.actions[0]["raw"], json!(posted));
    assert_eq!(zip.actions[0]["action"]["action"], json!("CLICK"));
    assert_eq!(zip.actions[1]["action"]["action"], json!("ANSWER"));
    let frames: u64 = text(sample, "num_frames").parse().unwrap();
    assert!(
        frames_fit(frames, watched_seconds, FPS),
        "{frames} frames in {watched_seconds:.2} s\n{watcher_output}"
    );

    // The agent recorded its own task, with the same actions.
    let recorded = episodes(&own);
    assert_eq!(recorded.len(), 1, "{agent_output}");
    let (sample, zip) = &recorded[0];
    assert_eq!(text(sample, "task"), "open the red box");
    assert_eq!(zip.meta["agent"]["source"], json!("neko+showui"));
    assert_eq!(zip.meta["end_reason"], json!("stopped"));
    let actions: Vec<_> = zip.actions.iter().map(|a| a["raw"].clone()).collect();
    let watched_actions: Vec<_> = seen[0].1.actions.iter().map(|a| a["raw"].clone()).collect();
    assert_eq!(actions, watched_actions);
    let frames: u64 = text(sample, "num_frames").parse().unwrap();
    assert!(
        frames_fit(frames, task_seconds, FPS),
        "{frames} frames in {task_seconds:.2} s\n{agent_output}"
    );
    for dir in [watched, own] {
        std::fs::remove_dir_all(dir).ok();
    }
    room.shutdown().await;
}
