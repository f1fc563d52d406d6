//! No subcommand prints the room password or a session token, even at `NEKO_LOGLEVEL=trace` with
//! `GST_DEBUG=*:5`: every subcommand runs against the sandbox room and all of its output is
//! searched for both.

mod common;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use neko_sandbox::RoomConfig;
use neko_sandbox::testing::TestRoom;

const USER_PASSWORD: &str = "pw-7Qx3-never-logged";
const ADMIN_PASSWORD: &str = "adm-9Kz1-never-logged";

/// `neko-agent <subcommand>` at the most verbose logging, without the caller's NEKO_* settings.
fn verbose(subcommand: &str) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_neko-agent"));
    command.arg(subcommand);
    for (key, _) in std::env::vars() {
        if key.starts_with("NEKO_") || key.starts_with("CAPTURE_") || key.starts_with("YAP_") {
            command.env_remove(key);
        }
    }
    command
        .env("NEKO_LOGLEVEL", "trace")
        .env("GST_DEBUG", "*:5")
        .env("GST_DEBUG_NO_COLOR", "1")
        .env("NEKO_ICE_ADDRESSES", "127.0.0.1")
        .stdin(Stdio::null());
    command
}

/// Starts `command` with its stdout and stderr going to one file in `dir`.
fn spawn_logged(command: &mut Command, dir: &Path) -> (Child, std::path::PathBuf) {
    let log = tempfile::NamedTempFile::new_in(dir)
        .unwrap()
        .into_temp_path()
        .keep()
        .unwrap();
    let file = std::fs::File::create(&log).unwrap();
    let child = command
        .stdout(file.try_clone().unwrap())
        .stderr(file)
        .spawn()
        .unwrap();
    (child, log)
}

/// Lets `child` run for `seconds` (when it has not ended by then, SIGTERM), and returns all its
/// output.
fn output_after((mut child, log): (Child, std::path::PathBuf), seconds: u64) -> String {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    while Instant::now() < deadline && child.try_wait().unwrap().is_none() {
        std::thread::sleep(Duration::from_millis(100));
    }
    if child.try_wait().unwrap().is_none() {
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline && child.try_wait().unwrap().is_none() {
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = child.kill();
    let _ = child.wait();
    let output = String::from_utf8_lossy(&std::fs::read(&log).unwrap()).into_owned();
    let _ = std::fs::remove_file(&log);
    output
}

/// Logs in to the room over REST and returns the session token.
fn login_token(room: &TestRoom, user: &str) -> String {
    let target =
        gstneko::client::Target::new(&room.base_url(), Some(user), Some(USER_PASSWORD), None)
            .unwrap();
    room.block_on(gstneko::client::RestClient::new(target).login())
        .expect("the test logs in")
        .token
}

fn assert_clean(name: &str, output: &str, secrets: &[&str], expect: &str) {
    assert!(
        output.contains(expect),
        "{name} did not run as expected (no {expect:?}); last output:\n{}",
        &output[output.len().saturating_sub(3000)..]
    );
    for secret in secrets {
        if let Some(at) = output.find(secret) {
            let start = output[..at].rfind('\n').map_or(0, |n| n + 1);
            let end = output[at..].find('\n').map_or(output.len(), |n| at + n);
            panic!("{name} printed a secret:\n{}", &output[start..end]);
        }
    }
}

#[test]
fn no_subcommand_prints_the_password_or_the_session_token_at_trace() {
    let _media = common::MEDIA.lock().unwrap_or_else(|e| e.into_inner());
    let room = TestRoom::start_blocking(RoomConfig {
        user_password: USER_PASSWORD.into(),
        admin_password: ADMIN_PASSWORD.into(),
        ..RoomConfig::loopback(320, 240, 10)
    });
    let url = room.base_url();
    let ws = |token: &str| format!("{}/api/ws?token={token}", url.replacen("http", "ws", 1));
    let scratch = tempfile::tempdir().unwrap();
    let password_login = |command: &mut Command, user: &str| {
        command
            .env("NEKO_URL", &url)
            .env("NEKO_USER", user)
            .env("NEKO_PASS", USER_PASSWORD);
    };

    let watch_token = login_token(&room, "watch-token");
    let mut watch = verbose("watch");
    watch.args(["--duration", "3", "--decoder", "software"]);
    watch.env("NEKO_WS", ws(&watch_token));
    let output = output_after(spawn_logged(&mut watch, scratch.path()), 40);
    assert_clean(
        "watch --ws",
        &output,
        &[&watch_token, USER_PASSWORD],
        "received",
    );

    let mut watch = verbose("watch");
    watch.args(["--duration", "3", "--decoder", "software"]);
    password_login(&mut watch, "watcher");
    let output = output_after(spawn_logged(&mut watch, scratch.path()), 40);
    assert_clean("watch", &output, &[USER_PASSWORD], "received");

    let manual_token = login_token(&room, "manual-token");
    let mut manual = verbose("manual");
    manual.args(["-c", "sleep 2"]);
    manual.env("NEKO_WS", ws(&manual_token));
    let output = output_after(spawn_logged(&mut manual, scratch.path()), 40);
    assert_clean(
        "manual --ws",
        &output,
        &[&manual_token, USER_PASSWORD],
        "webrtcbin",
    );

    let mut manual = verbose("manual");
    manual.args(["-c", "sleep 2"]);
    password_login(&mut manual, "operator");
    let output = output_after(spawn_logged(&mut manual, scratch.path()), 40);
    assert_clean("manual", &output, &[USER_PASSWORD], "webrtcbin");

    let model = format!("{}/models/showui-fixture", env!("CARGO_MANIFEST_DIR"));
    let mut run = verbose("run");
    run.args(["--model-dir", &model, "--no-metrics", "--max-steps", "1"])
        .args(["--task", "open the settings", "--decoder", "software"])
        .env("NEKO_SKIP_INITIAL_FRAMES", "1");
    password_login(&mut run, "agent");
    let output = output_after(spawn_logged(&mut run, scratch.path()), 90);
    assert_clean("run", &output, &[USER_PASSWORD], "step");

    let voices = scratch.path().join("voices");
    common::voice::write_reference_voice(&voices);
    let mut yap = verbose("yap");
    yap.arg("--voices-dir").arg(&voices);
    password_login(&mut yap, "yap");
    let output = output_after(spawn_logged(&mut yap, scratch.path()), 8);
    assert_clean("yap", &output, &[USER_PASSWORD], "yap");

    let mut capture = verbose("capture");
    capture
        .env("CAPTURE_OUT", scratch.path().join("capture"))
        .args(["--decoder", "software"]);
    password_login(&mut capture, "capture");
    let output = output_after(spawn_logged(&mut capture, scratch.path()), 8);
    assert_clean("capture", &output, &[USER_PASSWORD], "capture");

    let mut sandbox = verbose("room");
    sandbox
        .args(["--bind", "127.0.0.1:0", "--size", "320x240", "--rate", "5"])
        .args([
            "--user-password",
            USER_PASSWORD,
            "--admin-password",
            ADMIN_PASSWORD,
        ]);
    let output = output_after(spawn_logged(&mut sandbox, scratch.path()), 5);
    assert_clean(
        "room",
        &output,
        &[USER_PASSWORD, ADMIN_PASSWORD],
        "sandbox room on",
    );
}
