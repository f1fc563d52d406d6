//! `neko-agent run` as the end-to-end tests start it: the command with the settings every such
//! test shares, and what a finished run printed.

use std::process::{Child, Command, Output, Stdio};

/// `neko-agent run` against the room at `url` as user `agent`: no metrics server, one
/// refinement step, loopback ICE, warnings only, the first frame skipped, output captured. The
/// caller adds the model (fixture or remote) and the task.
pub fn run_command(url: &str) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_neko-agent"));
    command
        .arg("run")
        .args(["--no-metrics", "--refinement-steps", "1"])
        .env("NEKO_URL", url)
        .env("NEKO_USER", "agent")
        .env("NEKO_PASS", "neko")
        .env("NEKO_ICE_ADDRESSES", "127.0.0.1")
        .env("NEKO_LOGLEVEL", "warn")
        .env("NEKO_SKIP_INITIAL_FRAMES", "1")
        .env_remove("NEKO_WS")
        .env_remove("NEKO_MODEL_DIR")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

/// A finished run's exit code, stdout and stderr, for assertion messages.
pub fn text(output: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}--- stderr\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Waits for `child` off the async runtime and collects its output.
pub async fn finish(child: Child) -> Output {
    tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap()
}

/// Stops a run that did not get where a test waited for it, and returns what it had printed,
/// so the failure shows why (the test panics with it).
pub async fn abandon(mut child: Child) -> String {
    child.kill().ok();
    text(&finish(child).await)
}
