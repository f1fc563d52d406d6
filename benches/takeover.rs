//! How fast `neko-agent run` steps aside when a person takes host control: over N takeovers on
//! the sandbox room (real WebRTC, the fixture model), the time from the admin's
//! `POST /api/room/control/take` being sent (the room applies it after that) to the agent's
//! last input or chat message (≤ 0: nothing after the take) and to its `task paused (takeover)`
//! line on stdout.
//!
//! `cargo bench --bench takeover` (`TAKEOVER_ROUNDS`, default 5)

#[path = "../tests/common/agent_run.rs"]
#[allow(dead_code, reason = "the test helpers serve the tests too")]
mod agent_run;

use std::time::{Duration, Instant};

use agent_run::{LiveRun, run_command};
use gstneko::client::{ClientConfig, NekoClient, Target, wait_for_notice};
use neko_sandbox::RoomConfig;
use neko_sandbox::testing::{TestRoom, init_gstreamer};

const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/models/showui-fixture");
const PATIENCE: Duration = Duration::from_secs(60);

/// One takeover: milliseconds from the take to the agent's last event and to its pause line.
async fn round() -> (f64, f64) {
    let room = TestRoom::start(RoomConfig::loopback(640, 360, 15)).await;
    let target = Target::new(&room.base_url(), Some("bob"), Some("admin"), None).unwrap();
    let (admin, mut notices) = NekoClient::start(ClientConfig::new(target));
    wait_for_notice(&mut notices, Duration::from_secs(10), |_| {
        admin.state().connected.then_some(())
    })
    .await
    .expect("the admin joins");
    let mut command = run_command(&room.base_url());
    command.args(["--model-dir", FIXTURE, "--task", "Open the red box"]);
    let run = LiveRun::spawn(command);
    let agent = |session: &str| session.starts_with("agent-");
    if room
        .wait_for_input(
            |i| agent(&i.session_id) && i.event == "control/buttonpress",
            PATIENCE,
        )
        .await
        .is_none()
    {
        panic!("step 1 never clicked\n{}", run.abandon().await);
    }
    let token = admin.token().unwrap();
    let take = Instant::now();
    admin
        .rest()
        .post_json("/api/room/control/take", &token, None)
        .await
        .expect("take");
    let Some((paused, _)) = run.line("task paused (takeover)", PATIENCE).await else {
        panic!("the agent never paused\n{}", run.abandon().await);
    };
    // What the agent would still send comes within its step; wait a step's time.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let last = room
        .inputs()
        .iter()
        .filter(|i| agent(&i.session_id))
        .map(|i| i.at)
        .chain(
            room.chat_messages()
                .iter()
                .filter(|m| agent(&m.session_id))
                .map(|m| m.at),
        )
        .max()
        .expect("the agent clicked");
    admin
        .rest()
        .post_json("/api/room/control/release", &token, None)
        .await
        .expect("release");
    let (code, report) = run.finish().await;
    assert_eq!(code, Some(0), "{report}");
    admin.stop();
    room.shutdown().await;
    (signed_ms(last, take), signed_ms(paused, take))
}

/// `a − b` in milliseconds, negative when `a` came first.
fn signed_ms(a: Instant, b: Instant) -> f64 {
    match a.checked_duration_since(b) {
        Some(after) => after.as_secs_f64() * 1000.0,
        None => -(b - a).as_secs_f64() * 1000.0,
    }
}

fn summary(values: &mut [f64]) -> (f64, f64, f64) {
    values.sort_by(f64::total_cmp);
    (
        values[0],
        values[values.len() / 2],
        values[values.len() - 1],
    )
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    init_gstreamer();
    let rounds: usize = std::env::var("TAKEOVER_ROUNDS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(5)
        .max(1);
    let mut last_event = Vec::new();
    let mut paused = Vec::new();
    for _ in 0..rounds {
        let (last, pause) = round().await;
        last_event.push(last);
        paused.push(pause);
    }
    println!("takeover: {rounds} round(s), ms from the take request");
    println!("| measure | min | median | max |");
    println!("|---|---|---|---|");
    for (name, values) in [
        ("agent's last input or chat", &mut last_event),
        ("agent's `task paused` line", &mut paused),
    ] {
        let (min, median, max) = summary(values);
        println!("| {name} | {min:.1} | {median:.1} | {max:.1} |");
    }
}
