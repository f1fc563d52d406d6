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

/// A running `neko-agent run` whose output is read as it comes: each stdout line with the
/// moment it arrived, so a test can wait for one and compare it with what the room recorded.
pub struct LiveRun {
    child: Child,
    lines: std::sync::Arc<std::sync::Mutex<Vec<(std::time::Instant, String)>>>,
    reader: std::thread::JoinHandle<()>,
}

impl LiveRun {
    /// Starts `command` (stdout and stderr piped, as [`run_command`] sets them).
    pub fn spawn(mut command: Command) -> Self {
        use std::io::BufRead;
        let mut child = command.spawn().unwrap();
        let stdout = child.stdout.take().expect("stdout is piped");
        let lines = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let sink = lines.clone();
        let reader = std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                sink.lock().unwrap().push((std::time::Instant::now(), line));
            }
        });
        Self {
            child,
            lines,
            reader,
        }
    }

    /// The first stdout line containing `what` and when it arrived, waiting up to `limit`.
    pub async fn line(
        &self,
        what: &str,
        limit: std::time::Duration,
    ) -> Option<(std::time::Instant, String)> {
        let deadline = std::time::Instant::now() + limit;
        loop {
            let found = self
                .lines
                .lock()
                .unwrap()
                .iter()
                .find(|(_, line)| line.contains(what))
                .cloned();
            if found.is_some() || std::time::Instant::now() >= deadline {
                return found;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }

    /// The process id, for signals.
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// Waits for the run to end: its exit code and its whole output, for assertion messages.
    pub async fn finish(self) -> (Option<i32>, String) {
        let Self {
            child,
            lines,
            reader,
        } = self;
        let output = finish(child).await;
        reader.join().ok();
        let stdout: String = lines
            .lock()
            .unwrap()
            .iter()
            .map(|(_, line)| format!("{line}\n"))
            .collect();
        let report = format!(
            "exit {:?}\n--- stdout\n{stdout}--- stderr\n{}",
            output.status.code(),
            String::from_utf8_lossy(&output.stderr)
        );
        (output.status.code(), report)
    }

    /// Stops a run that did not get where it was awaited; returns what it had printed.
    pub async fn abandon(mut self) -> String {
        self.child.kill().ok();
        self.finish().await.1
    }
}
