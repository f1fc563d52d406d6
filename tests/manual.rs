//! `neko-agent manual` against the sandbox room: piped scripts, the exact events the room
//! records, what the desktop shows afterwards, host hand-over, and bad input.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use gstneko::client::{ClientConfig, NekoClient, Target, wait_for_notice};
use gstneko::protocol::ClientEvent;
use neko_sandbox::testing::TestRoom;
use neko_sandbox::{RecordedInput, Room, RoomConfig};
use serde_json::{Value, json};

/// What a finished `neko-agent manual` run printed and returned.
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl std::fmt::Debug for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit {}\n--- stdout\n{}--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

/// Runs `neko-agent manual` with `args`, feeding `script` on stdin.
fn manual(room: &str, user: &str, password: &str, args: &[&str], script: &str) -> Run {
    let mut child = Command::new(env!("CARGO_BIN_EXE_neko-agent"))
        .arg("manual")
        .args(args)
        .env("NEKO_URL", room)
        .env("NEKO_USER", user)
        .env("NEKO_PASS", password)
        .env("NEKO_ICE_ADDRESSES", "127.0.0.1")
        .env("NEKO_LOGLEVEL", "warn")
        .env_remove("NEKO_WS")
        .env_remove("NEKO_SIZE")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("neko-agent starts");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(script.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// [`manual`] on a blocking thread, so the test's runtime keeps serving the room.
async fn manual_async(room: &Room, user: &str, password: &str, args: &[&str], script: &str) -> Run {
    let (url, user, password) = (room.base_url(), user.to_owned(), password.to_owned());
    let (args, script): (Vec<String>, String) = (
        args.iter().map(|a| a.to_string()).collect(),
        script.to_owned(),
    );
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        manual(&url, &user, &password, &args, &script)
    })
    .await
    .unwrap()
}

/// Recorded inputs of sessions whose id starts with `user-` (the sandbox names them so).
fn inputs_of(room: &Room, user: &str) -> Vec<RecordedInput> {
    let prefix = format!("{user}-");
    room.inputs()
        .into_iter()
        .filter(|i| i.session_id.starts_with(&prefix))
        .collect()
}

/// `(event, payload)` pairs, leaving out host requests (their number depends on timing).
fn events(inputs: &[RecordedInput]) -> Vec<(String, Value)> {
    inputs
        .iter()
        .filter(|i| i.event != "control/request")
        .map(|i| (i.event.clone(), i.payload.clone()))
        .collect()
}

fn ev(name: &str, payload: Value) -> (String, Value) {
    (name.to_owned(), payload)
}

fn press(code: u32, x: i32, y: i32) -> (String, Value) {
    ev("control/buttonpress", json!({"code": code, "x": x, "y": y}))
}

fn moved(x: i32, y: i32) -> (String, Value) {
    ev("control/move", json!({"x": x, "y": y}))
}

fn key(kind: &str, keysym: u32) -> (String, Value) {
    ev(&format!("control/{kind}"), json!({"keysym": keysym}))
}

fn assert_same(actual: &[(String, Value)], expected: &[(String, Value)], run: &Run) {
    for (index, (got, want)) in actual.iter().zip(expected).enumerate() {
        assert_eq!(got, want, "event {index} differs\n{run:?}");
    }
    assert_eq!(
        actual.len(),
        expected.len(),
        "event count differs: {actual:#?}\n{run:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[expect(
    clippy::await_holding_lock,
    reason = "the lock only serialises media tests"
)]
async fn a_script_with_every_command_sends_exactly_the_expected_events() {
    let _media = common::MEDIA.lock().unwrap_or_else(|e| e.into_inner());
    common::init();
    let room = TestRoom::start(RoomConfig::loopback(640, 360, 15)).await;
    let desktop = room.media().expect("media is on").desktop();
    let green = desktop.lock().unwrap().region("green").unwrap();
    let (gx, gy) = green.rect.center();
    let script = format!(
        r#"# every command of the manual tool, in a script
move 100 30
click 10 20
lclick
rclick 30 40
mclick
dblclick 200 30
hover 70 35
tap 90 25 right
swipe 10 10 20 30 2
scroll down 3
scroll left
key Ctrl+Alt+t
clipboard "from the clipboard"
select_all
copy
cut
paste
paste "clip "
text "aB"
input {gx} {gy} "hi"
enter
layout de nodeadkeys
raw '{{"event":"control/move","payload":{{"x":1,"y":2}}}}'
size
help tap
sleep 0.1
unhost
host
quit
move 1 1
"#
    );
    let run = manual_async(&room, "carol", "neko", &[], &script).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains("screen size: 640x360"), "{run:?}");
    assert!(run.stdout.contains("tap X Y [button]"), "{run:?}");
    assert!(run.stdout.contains("host control released"), "{run:?}");

    let recorded = inputs_of(&room, "carol");
    assert!(recorded.iter().all(|i| i.accepted), "{recorded:#?}");
    let expected = vec![
        moved(100, 30),
        press(1, 10, 20),
        press(1, 10, 20),
        press(3, 30, 40),
        press(2, 30, 40),
        press(1, 200, 30),
        press(1, 200, 30),
        moved(70, 35),
        moved(90, 25),
        press(3, 90, 25),
        moved(10, 10),
        ev("control/buttondown", json!({"code": 1})),
        moved(15, 20),
        moved(20, 30),
        ev("control/buttonup", json!({"code": 1})),
        ev(
            "control/scroll",
            json!({"delta_x": 0, "delta_y": -3, "control_key": false}),
        ),
        ev(
            "control/scroll",
            json!({"delta_x": 1, "delta_y": 0, "control_key": false}),
        ),
        key("keydown", 0xffe3),
        key("keydown", 0xffe9),
        key("keydown", 0x74),
        key("keyup", 0x74),
        key("keyup", 0xffe9),
        key("keyup", 0xffe3),
        ev("clipboard/set", json!({"text": "from the clipboard"})),
        ev("control/select_all", Value::Null),
        ev("control/copy", Value::Null),
        ev("control/cut", Value::Null),
        ev("control/paste", json!({})),
        ev("control/paste", json!({"text": "clip "})),
        key("keypress", 0x61),
        key("keydown", 0xffe1),
        key("keydown", 0x42),
        key("keyup", 0x42),
        key("keyup", 0xffe1),
        press(1, gx as i32, gy as i32),
        key("keypress", 0x68),
        key("keypress", 0x69),
        key("keypress", 0xff0d),
        ev(
            "keyboard/map",
            json!({"layout": "de", "variant": "nodeadkeys"}),
        ),
        moved(1, 2),
        ev("control/release", Value::Null),
    ];
    assert_same(&events(&recorded), &expected, &run);
    // Host was asked for at the start and again by `host` after `unhost`.
    let requests: Vec<_> = recorded
        .iter()
        .filter(|i| i.event == "control/request")
        .collect();
    assert!(requests.len() >= 2, "{recorded:#?}");
    assert_eq!(recorded.last().unwrap().event, "control/request");

    // The picture: the green region shows its clicked colour and the typed text is in the box.
    let mut desktop = desktop.lock().unwrap();
    let green = desktop.region("green").unwrap();
    assert!(green.clicked, "{green:?}");
    assert!(desktop.text().contains("aBhi\n"), "{:?}", desktop.text());
    let (width, height) = desktop.size();
    let mut frame = vec![0u8; (width * height * 4) as usize];
    desktop.render(1, 0, &mut frame);
    let at = ((gy * width + gx) * 4) as usize;
    assert_eq!(frame[at..at + 3], green.color, "pixel at the green centre");
    assert_eq!(green.color, [255 - 40, 255 - 180, 255 - 60]);
    drop(desktop);
    room.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[expect(
    clippy::await_holding_lock,
    reason = "the lock only serialises media tests"
)]
async fn unicode_text_chords_and_double_click_timing_event_by_event() {
    let _media = common::MEDIA.lock().unwrap_or_else(|e| e.into_inner());
    common::init();
    let room = TestRoom::start(RoomConfig::loopback(640, 360, 15)).await;
    let script = "text \"é€😀\\nZ\"\nkey Shift+Tab Alt+Left Super F5 ctrl+shift+Escape 0x1008ff13\ndblclick 300 20\n";
    let run = manual_async(&room, "dave", "neko", &["--no-audio"], script).await;
    assert_eq!(run.code, 0, "{run:?}");
    let recorded = inputs_of(&room, "dave");
    let expected = vec![
        key("keypress", 0xe9),
        key("keypress", 0x0100_20ac),
        key("keypress", 0x0101_f600),
        key("keypress", 0xff0d),
        key("keydown", 0xffe1),
        key("keydown", 0x5a),
        key("keyup", 0x5a),
        key("keyup", 0xffe1),
        key("keydown", 0xffe1),
        key("keydown", 0xff09),
        key("keyup", 0xff09),
        key("keyup", 0xffe1),
        key("keydown", 0xffe9),
        key("keydown", 0xff51),
        key("keyup", 0xff51),
        key("keyup", 0xffe9),
        key("keypress", 0xffeb),
        key("keypress", 0xffc2),
        key("keydown", 0xffe3),
        key("keydown", 0xffe1),
        key("keydown", 0xff1b),
        key("keyup", 0xff1b),
        key("keyup", 0xffe1),
        key("keyup", 0xffe3),
        key("keypress", 0x1008_ff13),
        press(1, 300, 20),
        press(1, 300, 20),
    ];
    assert_same(&events(&recorded), &expected, &run);
    let clicks: Vec<_> = recorded
        .iter()
        .filter(|i| i.event == "control/buttonpress")
        .collect();
    let gap = clicks[1].at - clicks[0].at;
    assert!(
        (Duration::from_millis(50)..=Duration::from_millis(100)).contains(&gap),
        "double-click presses {gap:?} apart"
    );
    room.shutdown().await;
}

/// A second session (admin) that holds host control.
async fn rival(room: &Room) -> NekoClient {
    let client = admin_bob(room).await;
    client.send(ClientEvent::ControlRequest).await.unwrap();
    for _ in 0..200 {
        if client.state().is_host() {
            return client;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("bob never became host");
}

/// An admin session, connected.
async fn admin_bob(room: &Room) -> NekoClient {
    let target = Target::new(&room.base_url(), Some("bob"), Some("admin"), None).unwrap();
    let (client, mut notices) = NekoClient::start(ClientConfig::new(target));
    wait_for_notice(&mut notices, Duration::from_secs(10), |_| {
        client.state().connected.then_some(())
    })
    .await
    .expect("bob connects");
    client
}

/// Waits until the room recorded an input from `user` matching `check`.
async fn wait_for(room: &Room, user: &str, check: impl Fn(&RecordedInput) -> bool) {
    let prefix = format!("{user}-");
    room.wait_for_input(
        |i| i.session_id.starts_with(&prefix) && check(i),
        Duration::from_secs(15),
    )
    .await
    .unwrap_or_else(|| panic!("{user} never sent the expected input: {:#?}", room.inputs()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn input_waits_for_host_control_and_goes_out_once_granted() {
    let room = TestRoom::start(RoomConfig {
        media: false,
        ..RoomConfig::loopback(640, 360, 15)
    })
    .await;
    let bob = rival(&room).await;
    let script = "click 10 20\n";
    let url = room.base_url();
    let run = tokio::task::spawn_blocking(move || {
        manual(
            &url,
            "erin",
            "neko",
            &["--no-media", "--host-timeout", "20"],
            script,
        )
    });
    // erin asks; bob is host, so the request is passed to him and erin's click is held back.
    wait_for(&room, "erin", |i| i.event == "control/request").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        !inputs_of(&room, "erin")
            .iter()
            .any(|i| i.event == "control/buttonpress"),
        "the click went out before host was granted"
    );
    bob.send(ClientEvent::ControlRelease).await.unwrap();
    let run = run.await.unwrap();
    assert_eq!(run.code, 0, "{run:?}");
    let recorded = inputs_of(&room, "erin");
    let click = recorded
        .iter()
        .find(|i| i.event == "control/buttonpress")
        .expect("the click arrived");
    assert!(click.accepted, "{recorded:#?}");
    assert_eq!(click.payload, json!({"code": 1, "x": 10, "y": 20}));
    bob.stop();
    room.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn host_taken_by_another_session_is_requested_again() {
    let room = TestRoom::start(RoomConfig {
        media: false,
        ..RoomConfig::loopback(640, 360, 15)
    })
    .await;
    let script = "host\nsleep 4\nclick 11 22\n";
    let url = room.base_url();
    let run = tokio::task::spawn_blocking(move || {
        manual(
            &url,
            "frank",
            "neko",
            &["--no-media", "--host-timeout", "20"],
            script,
        )
    });
    let frank_hosts = |room: &Room| room.host().is_some_and(|h| h.starts_with("frank-"));
    for _ in 0..100 {
        if frank_hosts(&room) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(frank_hosts(&room), "frank never became host");
    room.clear_inputs();
    // An admin takes control away over REST.
    let bob = admin_bob(&room).await;
    let token = bob.token().unwrap();
    bob.rest()
        .post_json("api/room/control/take", &token, None)
        .await
        .unwrap();
    wait_for(&room, "frank", |i| {
        i.event == "control/request" && !i.accepted
    })
    .await;
    bob.rest()
        .post_json("api/room/control/release", &token, None)
        .await
        .unwrap();
    let run = run.await.unwrap();
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains("host control: bob"), "{run:?}");
    let recorded = inputs_of(&room, "frank");
    let click = recorded
        .iter()
        .find(|i| i.event == "control/buttonpress")
        .expect("the click arrived");
    assert!(click.accepted, "{recorded:#?}");
    bob.stop();
    room.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_lines_stop_a_script_with_a_clear_message_and_status_1() {
    let room = TestRoom::start(RoomConfig {
        media: false,
        ..RoomConfig::loopback(640, 360, 15)
    })
    .await;
    let cases = [
        (
            "move 5 6\nfrobnicate\nmove 7 8\n",
            "error at line 2: unknown command \"frobnicate\"",
        ),
        ("clik 1 2\n", "did you mean \"click\"?"),
        ("click abc 5\n", "x \"abc\" is not a number"),
        ("scroll sideways\n", "unknown scroll direction"),
        ("key Ctlr+c\n", "did you mean \"Ctrl\"?"),
        ("text \"unclosed\n", "close your quotes"),
        ("raw '{\"payload\":{}}'\n", "invalid event"),
        ("sessions\n", "`sessions` needs an admin session"),
        ("kick someone\n", "`kick` needs an admin session"),
        ("force-take\n", "`force-take` needs an admin session"),
    ];
    for (script, message) in cases {
        let run = manual_async(&room, "gina", "neko", &["--no-media"], script).await;
        assert_eq!(run.code, 1, "{script}: {run:?}");
        assert!(run.stderr.contains(message), "{script}: {run:?}");
    }
    // Nothing after the failing line ran.
    let moves: Vec<_> = inputs_of(&room, "gina")
        .into_iter()
        .filter(|i| i.event == "control/move")
        .map(|i| i.payload)
        .collect();
    assert_eq!(moves, vec![json!({"x": 5, "y": 6})]);
    room.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admins_list_sessions_take_and_reset_control_and_kick() {
    let room = TestRoom::start(RoomConfig {
        media: false,
        ..RoomConfig::loopback(640, 360, 15)
    })
    .await;
    let target = Target::new(&room.base_url(), Some("ivan"), Some("neko"), None).unwrap();
    let (ivan, mut notices) = NekoClient::start(ClientConfig::new(target));
    let ivan_id = wait_for_notice(&mut notices, Duration::from_secs(10), |n| match n {
        gstneko::client::ClientNotice::Connected { session_id, .. } => Some(session_id.clone()),
        _ => None,
    })
    .await
    .unwrap();
    let script = format!("sessions\nforce-take\nforce-release\nkick {ivan_id}\nsessions\n");
    let run = manual_async(
        &room,
        "hana",
        "admin",
        &["--no-media", "--no-auto-host"],
        &script,
    )
    .await;
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains("host control taken"), "{run:?}");
    assert!(run.stdout.contains("nobody is host"), "{run:?}");
    assert!(
        run.stdout
            .contains(&format!("session {ivan_id} disconnected")),
        "{run:?}"
    );
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with(&ivan_id) && l.contains("connected")),
        "{run:?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains("hana") && l.contains("admin, you")),
        "{run:?}"
    );
    let ivan_state = room.session(&ivan_id).unwrap().state;
    assert!(!ivan_state.is_connected, "ivan was kicked");
    ivan.stop();
    room.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_gone_mid_script_ends_it_with_status_3() {
    let room = TestRoom::start(RoomConfig {
        media: false,
        ..RoomConfig::loopback(640, 360, 15)
    })
    .await;
    let url = room.base_url();
    let run = tokio::task::spawn_blocking(move || {
        manual(
            &url,
            "jack",
            "neko",
            &["--no-media", "--host-timeout", "2"],
            "host\nsleep 1.5\nclick 1 1\n",
        )
    });
    for _ in 0..100 {
        if room.host().is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    room.shutdown().await;
    let run = run.await.unwrap();
    assert_eq!(run.code, 3, "{run:?}");
    // The sandbox says goodbye with system/disconnect, which ends the session for good.
    assert!(run.stderr.contains("connection error at line"), "{run:?}");
    assert!(run.stderr.contains("ended the session"), "{run:?}");
}

#[test]
fn wrong_password_no_server_and_unreachable_server_are_clear() {
    common::init();
    let room = TestRoom::start_blocking(RoomConfig {
        media: false,
        ..RoomConfig::loopback(640, 360, 15)
    });
    let run = manual(
        &room.base_url(),
        "kim",
        "wrong",
        &["--no-media"],
        "move 1 1\n",
    );
    assert_eq!(run.code, 3, "{run:?}");
    assert!(run.stderr.contains("wrong username or password"), "{run:?}");
    let run = manual(&room.base_url(), "kim", "wrong", &[], "move 1 1\n");
    assert_eq!(run.code, 3, "media session: {run:?}");
    assert!(run.stderr.contains("wrong username or password"), "{run:?}");
    drop(room);

    let run = manual(
        "http://127.0.0.1:9",
        "kim",
        "neko",
        &["--no-media", "--connect-timeout", "2"],
        "move 1 1\n",
    );
    assert_eq!(run.code, 3, "{run:?}");
    assert!(
        run.stderr
            .contains("could not join the room at http://127.0.0.1:9 within 2 s: cannot reach"),
        "{run:?}"
    );

    let run = manual("", "", "", &[], "move 1 1\n");
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("no server"), "{run:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn key_names_sent_by_the_server_are_learnt() {
    let room = TestRoom::start(RoomConfig {
        media: false,
        ..RoomConfig::loopback(640, 360, 15)
    })
    .await;
    let url = room.base_url();
    let run = tokio::task::spawn_blocking(move || {
        manual(
            &url,
            "lena",
            "neko",
            &["--no-media"],
            "sleep 1.5\nkey Hyper_Launch\nkey Ctrl+MyKey\n",
        )
    });
    let session = loop {
        if let Some(session) = room
            .sessions()
            .into_iter()
            .find(|s| s.id.starts_with("lena-") && s.state.is_connected)
        {
            break session.id;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    // Both shapes legacy servers used: {"map": {...}} and the bare object.
    assert!(room.send_raw_text(
        &session,
        r#"{"event":"keyboard/map","payload":{"map":{"Hyper_Launch":268964417}}}"#
    ));
    assert!(room.send_raw_text(
        &session,
        r#"{"event":"keyboard/map","payload":{"MyKey":4660}}"#
    ));
    let run = run.await.unwrap();
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout.contains("the server sent 1 key name(s)"),
        "{run:?}"
    );
    let recorded = inputs_of(&room, "lena");
    assert_same(
        &events(&recorded),
        &[
            key("keypress", 268_964_417),
            key("keydown", 0xffe3),
            key("keydown", 4660),
            key("keyup", 4660),
            key("keyup", 0xffe3),
        ],
        &run,
    );
    room.shutdown().await;
}
