//! A person comes first, end to end over real WebRTC with the fixture model: when an admin takes
//! host control mid-task, `neko-agent run` sends nothing more (no input, no chat, no request for
//! control) until control is released, then finishes the task; online, `/pause` and `/resume`
//! hold a task at a step boundary and let it go on.

mod common;

use std::time::{Duration, Instant};

use common::agent_run::{LiveRun, run_command};
use gstneko::client::{ClientConfig, ClientNotice, NekoClient, Target, wait_for_notice};
use gstneko::protocol::{ChatContent, ClientEvent, ServerEvent};
use neko_sandbox::RoomConfig;
use neko_sandbox::testing::TestRoom;

const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/models/showui-fixture");

/// How long any one thing awaited may take on a loaded machine.
const PATIENCE: Duration = Duration::from_secs(60);

/// A connected session of `user` (password `neko` for users, `admin` for admins).
async fn join(room: &TestRoom, user: &str, password: &str) -> NekoClient {
    let target = Target::new(&room.base_url(), Some(user), Some(password), None).unwrap();
    let (client, mut notices) = NekoClient::start(ClientConfig::new(target));
    wait_for_notice(&mut notices, Duration::from_secs(10), |_| {
        client.state().connected.then_some(())
    })
    .await
    .unwrap_or_else(|| panic!("{user} never joined"));
    client
}

/// `POST`s to a control endpoint as `client`.
async fn control(client: &NekoClient, endpoint: &str) {
    let token = client.token().expect("logged in");
    client
        .rest()
        .post_json(&format!("/api/room/control/{endpoint}"), &token, None)
        .await
        .unwrap_or_else(|error| panic!("control/{endpoint}: {error}"));
}

/// Everything the agent's session sent the room at or after `since`: input events (control
/// requests included) and chat messages.
fn agent_output_since(room: &TestRoom, since: Instant) -> Vec<String> {
    let inputs = room
        .inputs()
        .into_iter()
        .filter(|i| i.session_id.starts_with("agent-") && i.at >= since)
        .map(|i| format!("input {} {}", i.event, i.payload));
    let chat = room
        .chat_messages()
        .into_iter()
        .filter(|m| m.session_id.starts_with("agent-") && m.at >= since)
        .map(|m| format!("chat {}", m.text));
    inputs.chain(chat).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[expect(
    clippy::await_holding_lock,
    reason = "the lock only serialises media tests"
)]
async fn an_admin_takeover_pauses_the_agent_at_once_and_a_release_lets_it_finish() {
    let _media = common::MEDIA.lock().unwrap_or_else(|e| e.into_inner());
    common::init();
    let room = TestRoom::start(RoomConfig::loopback(640, 360, 15)).await;
    let admin = join(&room, "bob", "admin").await;
    let mut command = run_command(&room.base_url());
    command.args(["--model-dir", FIXTURE, "--task", "Open the red box"]);
    let run = LiveRun::spawn(command);

    // Step 1 clicks (one `control/buttonpress`); the person takes control as soon as the click
    // is done, while the agent waits for the screen or asks the model about step 2.
    if room
        .wait_for_input(
            |i| i.session_id.starts_with("agent-") && i.event == "control/buttonpress",
            PATIENCE,
        )
        .await
        .is_none()
    {
        panic!("step 1 never clicked\n{}", run.abandon().await);
    }
    let take_sent = Instant::now();
    control(&admin, "take").await;
    assert_eq!(room.host().as_deref(), admin.state().session_id.as_deref());

    let Some((paused_at, _)) = run.line("task paused (takeover)", PATIENCE).await else {
        panic!("the agent never paused\n{}", run.abandon().await);
    };
    assert!(paused_at >= take_sent);
    // Give a misbehaving agent the time to finish its step (an ANSWER) and to ask for control.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let during = agent_output_since(&room, take_sent);
    assert!(
        during.is_empty(),
        "the agent acted while the person held control: {during:#?}\n{}",
        run.abandon().await
    );

    let released = Instant::now();
    control(&admin, "release").await;
    let (code, report) = tokio::time::timeout(Duration::from_secs(120), run.finish())
        .await
        .expect("the agent finishes after the release");
    assert_eq!(code, Some(0), "{report}");
    assert!(report.contains("task resumed (takeover)"), "{report}");
    assert!(report.contains("answer after 2 step(s): done"), "{report}");
    let paused = report.find("task paused (takeover)").unwrap();
    let resumed = report.find("task resumed (takeover)").unwrap();
    assert!(paused < resumed, "{report}");
    // Everything it sent after the take came after the release: its request for control first.
    let after = agent_output_since(&room, take_sent);
    assert!(!after.is_empty(), "{report}");
    let sent_after_take: Vec<_> = room
        .inputs()
        .into_iter()
        .filter(|i| i.session_id.starts_with("agent-") && i.at >= take_sent)
        .collect();
    assert!(
        sent_after_take.iter().all(|i| i.at >= released),
        "{sent_after_take:#?}\n{report}"
    );
    assert_eq!(
        sent_after_take.first().map(|i| i.event.as_str()),
        Some("control/request"),
        "{sent_after_take:#?}\n{report}"
    );
    let answer = room
        .chat_messages()
        .into_iter()
        .find(|m| m.text == "Answer: done")
        .unwrap_or_else(|| panic!("no answer in chat\n{report}"));
    assert!(answer.at >= released, "{report}");
    admin.stop();
    room.shutdown().await;
}

/// Waits for a chat message from the agent containing `what`.
async fn said(
    notices: &mut tokio::sync::broadcast::Receiver<ClientNotice>,
    what: &str,
) -> Option<String> {
    wait_for_notice(notices, PATIENCE, |n| match n {
        ClientNotice::Event(event) => match event.as_ref() {
            ServerEvent::ChatMessage(m)
                if m.id.starts_with("agent-") && m.content.text.contains(what) =>
            {
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
async fn online_pause_holds_the_task_and_resume_lets_it_finish() {
    let _media = common::MEDIA.lock().unwrap_or_else(|e| e.into_inner());
    common::init();
    let room = TestRoom::start(RoomConfig::loopback(640, 360, 15)).await;
    let target = Target::new(&room.base_url(), Some("olga"), Some("neko"), None).unwrap();
    let (person, mut notices) = NekoClient::start(ClientConfig::new(target));
    let mut command = run_command(&room.base_url());
    command.args(["--model-dir", FIXTURE, "--online"]);
    let run = LiveRun::spawn(command);
    let chat = |text: &str| {
        let event = ClientEvent::ChatMessage(ChatContent::new(text));
        let person = person.clone();
        async move { person.send(event).await.unwrap() }
    };
    if said(&mut notices, "Ready").await.is_none() {
        panic!("the agent never said it was ready\n{}", run.abandon().await);
    }
    chat("/pause").await;
    assert!(said(&mut notices, "Nothing to pause.").await.is_some());

    chat("/task open the red box").await;
    assert!(said(&mut notices, "Starting task").await.is_some());
    chat("/pause").await;
    let pausing = said(&mut notices, "Pausing after the current step")
        .await
        .expect("the pause was acknowledged");
    assert!(pausing.contains("open the red box"), "{pausing}");
    let Some((paused_at, _)) = run.line("task paused (requested)", PATIENCE).await else {
        panic!("the task never paused\n{}", run.abandon().await);
    };
    chat("/status").await;
    let status = said(&mut notices, "Paused (requested): open the red box").await;
    assert!(status.is_some(), "no paused status");
    // Paused at a step boundary: nothing more is done until /resume.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let actions: Vec<_> = room
        .inputs()
        .into_iter()
        .filter(|i| i.session_id.starts_with("agent-") && i.at >= paused_at)
        .collect();
    assert!(actions.is_empty(), "acted while paused: {actions:#?}");
    assert!(
        !room
            .chat_messages()
            .iter()
            .any(|m| m.text.starts_with("Answer:")),
        "answered while paused"
    );

    chat("/resume").await;
    let resuming = said(&mut notices, "Resuming: open the red box").await;
    assert!(resuming.is_some(), "the resume was not acknowledged");
    let answer = said(&mut notices, "Answer: ").await;
    assert_eq!(answer.as_deref(), Some("Answer: done"));
    let done = said(&mut notices, "Completed task").await;
    assert!(done.is_some_and(|d| d.contains("open the red box")));
    chat("/resume").await;
    assert!(said(&mut notices, "Nothing to resume.").await.is_some());

    unsafe { libc::kill(run.id() as i32, libc::SIGTERM) };
    let (code, report) = run.finish().await;
    assert_eq!(code, Some(130), "{report}");
    assert!(report.contains("task resumed (requested)"), "{report}");
    person.stop();
    room.shutdown().await;
}
