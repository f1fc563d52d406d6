//! TLS and reverse proxies: the room serving https/wss with a CA generated at run time, the
//! subcommands and the client trusting it through `NEKO_CA_FILE`, clear errors for an untrusted
//! or misnamed certificate and a bad CA file, and `watch`, `manual` and `run` through a real
//! nginx under a path prefix. (The elements' side is in `elements/tests/tls.rs`.)

mod common;

use std::process::{Command, Output, Stdio};
use std::time::Duration;

use common::nginx::Nginx;
use gstneko::client::{
    ClientConfig, ClientError, ClientNotice, NekoClient, Target, wait_for_notice,
};
use neko_sandbox::RoomConfig;
use neko_sandbox::testing::TestRoom;
use neko_sandbox::testing::ca::TestCa;

/// `neko-agent` with `args` against `url` as `user`, with `NEKO_CA_FILE` when given.
fn neko_agent(args: &[&str], url: &str, user: &str, password: &str, ca: Option<&str>) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_neko-agent"));
    command
        .args(args)
        .env("NEKO_URL", url)
        .env("NEKO_USER", user)
        .env("NEKO_PASS", password)
        .env("NEKO_ICE_ADDRESSES", "127.0.0.1")
        .env("NEKO_LOGLEVEL", "warn")
        .env_remove("NEKO_WS")
        .env_remove("NEKO_CA_FILE")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(ca) = ca {
        command.env("NEKO_CA_FILE", ca);
    }
    command
}

/// Runs `command` to the end on a blocking thread with `script` on stdin.
async fn finish(mut command: Command, script: &str) -> Output {
    let script = script.to_owned();
    tokio::task::spawn_blocking(move || {
        use std::io::Write;
        let mut child = command.spawn().expect("neko-agent starts");
        child
            .stdin
            .take()
            .unwrap()
            .write_all(script.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    })
    .await
    .unwrap()
}

fn text(output: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}--- stderr\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[expect(
    clippy::await_holding_lock,
    reason = "the lock only serialises media tests"
)]
async fn watch_and_manual_over_tls_with_neko_ca_file() {
    let _media = common::MEDIA.lock().unwrap_or_else(|e| e.into_inner());
    let ca = TestCa::generate();
    let room = TestRoom::start_tls(&ca, "IP:127.0.0.1,DNS:localhost", true).await;
    let ca_file = ca.cert.display().to_string();
    let watch = neko_agent(
        &["watch", "--duration", "5"],
        &room.base_url(),
        "watcher",
        "neko",
        Some(&ca_file),
    );
    let output = finish(watch, "").await;
    let report = text(&output);
    assert_eq!(output.status.code(), Some(0), "{report}");
    assert!(report.contains("received "), "{report}");

    let manual = neko_agent(
        &["manual", "--no-media"],
        &room.base_url(),
        "admin",
        "admin",
        Some(&ca_file),
    );
    let output = finish(manual, "move 7 8\nsessions\n").await;
    let report = text(&output);
    assert_eq!(output.status.code(), Some(0), "{report}");
    assert!(report.contains("admin"), "{report}");
    assert!(
        room.inputs()
            .iter()
            .any(|i| i.event == "control/move" && i.payload["x"] == 7),
        "{report}"
    );
    room.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_ca_the_error_names_the_host_and_the_reason() {
    let ca = TestCa::generate();
    let room = TestRoom::start_tls(&ca, "IP:127.0.0.1", false).await;
    let server = room.base_url().trim_start_matches("https://").to_owned();
    let expected = format!(
        "TLS to {server} failed: certificate is not trusted (UnknownIssuer); give the room's CA with NEKO_CA_FILE"
    );

    let manual = neko_agent(
        &["manual", "--no-media"],
        &room.base_url(),
        "u",
        "neko",
        None,
    );
    let output = finish(manual, "move 1 1\n").await;
    let report = text(&output);
    assert_eq!(output.status.code(), Some(3), "{report}");
    assert!(report.contains(&expected), "{report}");
    assert!(!report.contains("retrying"), "{report}");

    let watch = neko_agent(
        &["watch", "--duration", "20"],
        &room.base_url(),
        "u",
        "neko",
        None,
    );
    let output = finish(watch, "").await;
    let report = text(&output);
    assert_eq!(output.status.code(), Some(3), "{report}");
    assert!(report.contains(&expected), "{report}");

    // The client gives up at once instead of retrying, also over wss with a token.
    let target = Target::new(&room.base_url(), Some("u"), Some("neko"), None).unwrap();
    let (client, mut notices) = NekoClient::start(ClientConfig::new(target));
    let fatal = wait_for_notice(&mut notices, Duration::from_secs(10), |n| match n {
        ClientNotice::Fatal(error) => Some(error.clone()),
        ClientNotice::Retrying { .. } => panic!("a TLS failure was retried: {n:?}"),
        _ => None,
    })
    .await
    .expect("the client fails");
    assert!(matches!(fatal, ClientError::Tls(_)), "{fatal:?}");
    assert!(fatal.to_string().contains(&expected), "{fatal}");
    client.stop();
    let wss = format!("wss://{server}/api/ws?token=abc");
    let target = Target::new(&wss, None, None, None).unwrap();
    let rest = gstneko::client::RestClient::new(target);
    let error = rest.whoami("abc").await.unwrap_err();
    assert!(error.to_string().contains(&expected), "{error}");
    assert!(!error.is_transient(), "{error}");
    room.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[expect(
    clippy::await_holding_lock,
    reason = "the lock only serialises media tests"
)]
async fn a_certificate_for_another_name_is_refused_by_the_subcommand() {
    let _media = common::MEDIA.lock().unwrap_or_else(|e| e.into_inner());
    let ca = TestCa::generate();
    let room = TestRoom::start_tls(&ca, "DNS:neko.example.com", false).await;
    let ca_file = ca.cert.display().to_string();
    let server = room.base_url().trim_start_matches("https://").to_owned();
    let expected = format!("TLS to {server} failed: certificate is not valid for this host name");

    let manual = neko_agent(
        &["manual", "--no-media"],
        &room.base_url(),
        "u",
        "neko",
        Some(&ca_file),
    );
    let output = finish(manual, "move 1 1\n").await;
    let report = text(&output);
    assert_eq!(output.status.code(), Some(3), "{report}");
    assert!(report.contains(&expected), "{report}");
    room.shutdown().await;
}

#[test]
fn a_missing_or_garbage_ca_file_is_a_settings_error() {
    let ca = TestCa::generate();
    let garbage = ca.file("garbage.pem", "this is not PEM\n");
    for (path, reason) in [
        (
            "/nonexistent/ca.pem".to_owned(),
            "cannot read the CA file /nonexistent/ca.pem",
        ),
        (
            garbage.display().to_string(),
            "holds no usable CA certificate",
        ),
    ] {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_neko-agent"))
            .args(["manual", "--no-media", "-c", "move 1 1"])
            .env("NEKO_URL", "https://127.0.0.1:9")
            .env("NEKO_USER", "u")
            .env("NEKO_PASS", "p")
            .env("NEKO_CA_FILE", &path)
            .env_remove("NEKO_WS")
            .output()
            .unwrap();
        let report = text(&output);
        assert_eq!(output.status.code(), Some(2), "{report}");
        assert!(report.contains("NEKO_CA_FILE"), "{report}");
        assert!(report.contains(reason), "{report}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[expect(
    clippy::await_holding_lock,
    reason = "the lock only serialises media tests"
)]
async fn watch_manual_and_the_agent_through_nginx_under_a_path_prefix() {
    let _media = common::MEDIA.lock().unwrap_or_else(|e| e.into_inner());
    let ca = TestCa::generate();
    let room = TestRoom::start(RoomConfig::loopback(640, 360, 15)).await;
    let nginx = Nginx::start(
        "/neko/",
        room.local_addr(),
        &ca.server_cert("proxy", "IP:127.0.0.1"),
    );
    let ca_file = ca.cert.display().to_string();
    let url = format!("https://127.0.0.1:{}/neko/", nginx.port);

    let watch = neko_agent(
        &["watch", "--duration", "5"],
        &url,
        "watcher",
        "neko",
        Some(&ca_file),
    );
    let output = finish(watch, "").await;
    let report = format!("{}\n--- nginx\n{}", text(&output), nginx.error_log());
    assert_eq!(output.status.code(), Some(0), "{report}");

    // Without the trailing slash, as an admin: REST admin calls and the WebSocket keep the prefix.
    let manual = neko_agent(
        &["manual", "--no-media"],
        url.trim_end_matches('/'),
        "admin",
        "admin",
        Some(&ca_file),
    );
    let output = finish(manual, "move 9 10\nsessions\n").await;
    let report = format!("{}\n--- nginx\n{}", text(&output), nginx.error_log());
    assert_eq!(output.status.code(), Some(0), "{report}");
    assert!(report.contains("admin"), "{report}");
    assert!(
        room.inputs()
            .iter()
            .any(|i| i.event == "control/move" && i.payload["x"] == 9),
        "{report}"
    );

    let model = format!("{}/models/showui-fixture", env!("CARGO_MANIFEST_DIR"));
    let mut agent = neko_agent(
        &[
            "run",
            "--model-dir",
            &model,
            "--no-metrics",
            "--refinement-steps",
            "1",
            "--task",
            "Open the red box",
        ],
        &url,
        "agent",
        "neko",
        Some(&ca_file),
    );
    agent
        .env("NEKO_SKIP_INITIAL_FRAMES", "1")
        .env_remove("NEKO_MODEL_DIR");
    let output = finish(agent, "").await;
    let report = format!("{}\n--- nginx\n{}", text(&output), nginx.error_log());
    assert_eq!(output.status.code(), Some(0), "{report}");
    assert!(report.contains("answer after 2 step(s): done"), "{report}");
    let desktop = room.media().unwrap().desktop();
    assert!(
        desktop.lock().unwrap().region("red").unwrap().clicked,
        "{report}"
    );
    drop(nginx);
    room.shutdown().await;
}
