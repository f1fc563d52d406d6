//! The probes container healthchecks and Kubernetes use: a running `neko-agent run` answers
//! `/healthz` at once and `/readyz` once its room session is connected, and
//! `neko-agent healthcheck` turns that into its exit status.

use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn healthcheck(url: &str) -> Output {
    Command::new(env!("CARGO_BIN_EXE_neko-agent"))
        .args(["healthcheck", "--url", url, "--timeout", "2"])
        .output()
        .unwrap()
}

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn a_running_agent_becomes_ready_once_its_session_is_connected() {
    let port = free_port();
    let readyz = format!("http://127.0.0.1:{port}/readyz");
    let before = healthcheck(&readyz);
    assert_eq!(before.status.code(), Some(1), "nothing runs yet");
    assert!(
        String::from_utf8_lossy(&before.stderr).contains("unhealthy: no answer from"),
        "{before:?}"
    );

    // The embedded sandbox room and the fixture model, waiting for tasks from chat.
    let _agent = Killed(
        Command::new(env!("CARGO_BIN_EXE_neko-agent"))
            .args(["run", "--online", "--metrics-port", &port.to_string()])
            .env_remove("NEKO_URL")
            .env_remove("NEKO_WS")
            .env_remove("NEKO_MODEL_DIR")
            .env("NEKO_ICE_ADDRESSES", "127.0.0.1")
            .env("NEKO_LOGLEVEL", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    let ready = loop {
        let output = healthcheck(&readyz);
        if output.status.success() {
            break output;
        }
        assert!(
            Instant::now() < deadline,
            "the agent never became ready: {output:?}"
        );
        std::thread::sleep(Duration::from_millis(250));
    };
    assert!(
        String::from_utf8_lossy(&ready.stdout).contains("200"),
        "{ready:?}"
    );
    let live = healthcheck(&format!("http://127.0.0.1:{port}/healthz"));
    assert!(live.status.success(), "{live:?}");
    let metrics = healthcheck(&format!("http://127.0.0.1:{port}/metrics"));
    assert!(metrics.status.success(), "{metrics:?}");
}
