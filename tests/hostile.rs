//! The subcommands against a hostile server (scripted by `neko_sandbox::testing::hostile`): ending
//! on time when every offer fails, and the exit code when the session dies.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use neko_sandbox::testing::hostile::{HostileServer, Script, UNUSABLE_OFFER};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_ends_on_time_against_a_server_whose_offers_fail() {
    let server = HostileServer::start(Script {
        heartbeat_interval: 10,
        offer: Some(UNUSABLE_OFFER.into()),
        ..Script::default()
    })
    .await;
    let url = server.url();
    let status = tokio::task::spawn_blocking(move || {
        let mut child = Command::new(env!("CARGO_BIN_EXE_neko-agent"))
            .args(["watch", "--duration", "3", "--neko-url", &url])
            .args(["--username", "tester", "--password", "secret"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("watch starts");
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Some(status) = child.try_wait().expect("wait") {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = child.kill();
        let _ = child.wait();
        None
    })
    .await
    .expect("watch runs");
    assert!(
        status.is_some(),
        "watch --duration 3 was still running after 30 s"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn manual_exits_3_when_the_session_dies_during_a_sleep() {
    let server = HostileServer::start(Script {
        heartbeat_interval: 10,
        disconnect_after: Some(Duration::from_secs(1)),
        ..Script::default()
    })
    .await;
    let url = server.url();
    let output = tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_neko-agent"))
            .args(["manual", "--no-media", "--neko-url", &url])
            .args(["--username", "tester", "--password", "secret"])
            .args(["-c", "sleep 4"])
            .stdin(Stdio::null())
            .output()
            .expect("manual runs")
    })
    .await
    .expect("manual");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(3), "{stderr}");
}
