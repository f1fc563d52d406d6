//! Helpers for the capture tests: processes whose output is watched line by line, a person in
//! the room, datasets read back, and a local S3 server (moto).

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use gstneko::client::{ClientConfig, ClientNotice, NekoClient, Target, wait_for_notice};
use gstneko::protocol::{ChatContent, ClientEvent, ServerEvent};
use neko_agent::capture::EpisodeZip;
use neko_agent::mds::{MdsReader, Sample, Value};
use tokio::sync::broadcast;

/// The sandbox room the capture tests use: small, so that two cores keep up.
/// `neko-agent` with a clean environment: no CAPTURE_*, AWS_* or NEKO_* variables of the
/// person running the tests.
pub fn neko_agent(subcommand: &str) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_neko-agent"));
    command.arg(subcommand);
    for (key, _) in std::env::vars() {
        if key.starts_with("CAPTURE_")
            || key.starts_with("AWS_")
            || key.starts_with("NEKO_")
            || key == "S3_ENDPOINT_URL"
        {
            command.env_remove(key);
        }
    }
    command
        .env("NEKO_LOGLEVEL", "info")
        .env("NEKO_ICE_ADDRESSES", "127.0.0.1")
        .env("AWS_EC2_METADATA_DISABLED", "true");
    command
}

/// `neko-agent capture` into `out` against the room at `url`, logged in as `user`.
pub fn capture(url: &str, user: &str, password: &str, out: &Path) -> Command {
    let mut command = neko_agent("capture");
    command
        .env("NEKO_URL", url)
        .env("NEKO_USER", user)
        .env("NEKO_PASS", password)
        .env("CAPTURE_OUT", out);
    command
}

/// A child process whose stdout and stderr lines are collected as they come.
pub struct Proc {
    child: Child,
    lines: Arc<Mutex<Vec<String>>>,
    readers: Vec<std::thread::JoinHandle<()>>,
}

impl Proc {
    /// Starts `command` with its output piped.
    pub fn spawn(mut command: Command) -> Proc {
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .stdin(Stdio::null())
            .spawn()
            .expect("neko-agent starts");
        let lines: Arc<Mutex<Vec<String>>> = Arc::default();
        let mut readers = Vec::new();
        let stdout = child.stdout.take().unwrap();
        let stderr = child.stderr.take().unwrap();
        for stream in [
            Box::new(stdout) as Box<dyn std::io::Read + Send>,
            Box::new(stderr),
        ] {
            let sink = lines.clone();
            readers.push(std::thread::spawn(move || {
                for line in BufReader::new(stream).lines() {
                    let Ok(line) = line else { break };
                    sink.lock().unwrap().push(line);
                }
            }));
        }
        Proc {
            child,
            lines,
            readers,
        }
    }

    /// Everything printed so far.
    pub fn output(&self) -> String {
        self.lines.lock().unwrap().join("\n")
    }

    /// Waits for a line containing `what`; panics with the output after `timeout`.
    pub async fn wait_line(&self, what: &str, timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(line) = self.lines.lock().unwrap().iter().find(|l| l.contains(what)) {
                return line.clone();
            }
            assert!(
                Instant::now() < deadline,
                "no line with {what:?} within {timeout:?}:\n{}",
                self.output()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Sends a signal (SIGTERM, SIGKILL…).
    pub fn signal(&self, signal: i32) {
        // SAFETY: kill only sends a signal to our own child.
        unsafe { libc::kill(self.child.id() as i32, signal) };
    }

    /// Waits for the process to end; its exit code (-1 when killed) and full output.
    pub async fn finish(mut self, timeout: Duration) -> (i32, String) {
        let deadline = Instant::now() + timeout;
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            if Instant::now() >= deadline {
                let _ = self.child.kill();
                panic!(
                    "the process did not end within {timeout:?}:\n{}",
                    self.output()
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        for reader in self.readers.drain(..) {
            let _ = reader.join();
        }
        (status.code().unwrap_or(-1), self.output())
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Someone in the room, chatting.
pub struct Person {
    pub client: NekoClient,
    notices: broadcast::Receiver<ClientNotice>,
}

impl Person {
    /// Logs in as `name` (a user) and waits until connected.
    pub async fn join(url: &str, name: &str) -> Person {
        let target = Target::new(url, Some(name), Some("neko"), None).unwrap();
        let (client, mut notices) = NekoClient::start(ClientConfig::new(target));
        wait_for_notice(&mut notices, Duration::from_secs(20), |n| {
            matches!(n, ClientNotice::Connected { .. }).then_some(())
        })
        .await
        .expect("the person joins the room");
        Person { client, notices }
    }

    /// Posts a chat message.
    pub async fn say(&self, text: &str) {
        self.client
            .send(ClientEvent::ChatMessage(ChatContent::new(text)))
            .await
            .unwrap();
    }

    /// Says `/start <task>` and returns the id of the episode the recorder announces.
    pub async fn start_episode(&mut self, task: &str) -> String {
        self.say(&format!("/start {task}")).await;
        episode_id(
            &self
                .heard("Recording episode", Duration::from_secs(10))
                .await,
        )
    }

    /// Waits for a chat message containing `what` (from anyone) and returns its text.
    pub async fn heard(&mut self, what: &str, timeout: Duration) -> String {
        wait_for_notice(&mut self.notices, timeout, |n| match n {
            ClientNotice::Event(event) => match event.as_ref() {
                ServerEvent::ChatMessage(m) if m.content.text.contains(what) => {
                    Some(m.content.text.clone())
                }
                _ => None,
            },
            _ => None,
        })
        .await
        .unwrap_or_else(|| panic!("nobody said {what:?} within {timeout:?}"))
    }
}

impl Drop for Person {
    fn drop(&mut self) {
        self.client.stop();
    }
}

/// The episode id in a capture chat line such as "[capture] Recording episode 1a2b3c4d: …".
pub fn episode_id(line: &str) -> String {
    line.split_whitespace()
        .skip_while(|w| *w != "episode" && *w != "Episode")
        .nth(1)
        .unwrap_or_default()
        .trim_end_matches(':')
        .to_owned()
}

/// A sample's column as text or number.
pub fn text(sample: &Sample, column: &str) -> String {
    match &sample[column] {
        Value::Str(s) => s.clone(),
        Value::Int(n) => n.to_string(),
        other => format!("{other:?}"),
    }
}

/// Every episode of a dataset: its sample and parsed zip.
pub fn episodes(dir: &Path) -> Vec<(Sample, EpisodeZip)> {
    MdsReader::open(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .samples()
        .map(|sample| {
            let sample = sample.unwrap();
            let Value::Bytes(payload) = &sample["payload"] else {
                panic!("payload is not bytes");
            };
            let zip = EpisodeZip::open(payload).unwrap();
            (sample, zip)
        })
        .collect()
}

/// A fresh directory under the target folder (kept on failure for a look).
pub fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("capture-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A port nothing listens on (yet).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Whether `frames` is the right count for `seconds` at `fps`, as the test timed them: never
/// more than one frame over, and at most one frame per ten seconds (at least two) under. The
/// test's clock starts when the episode is announced and stops when `/stop` is sent, so on a
/// loaded machine the first frame (up to one interval plus the JPEG encode later) and the last
/// one (still in the pipeline at `/stop`) can each fall outside what was recorded.
pub fn frames_fit(frames: u64, seconds: f64, fps: f64) -> bool {
    let expected = seconds * fps;
    let over = (seconds / 10.0).max(1.0);
    let under = (seconds / 10.0).max(2.0);
    let frames = frames as f64;
    frames <= expected + over && frames >= expected - under
}

/// Makes sure `python3` can import `zstandard` (for zstd shards), installing it once if needed.
pub fn python_ready() {
    static READY: std::sync::OnceLock<()> = std::sync::OnceLock::new();
    READY.get_or_init(|| {
        let has_zstandard = || {
            Command::new("python3")
                .args(["-c", "import zstandard"])
                .stderr(Stdio::null())
                .status()
                .unwrap_or_else(|e| panic!("python3 is needed for this test: {e}"))
                .success()
        };
        if !has_zstandard() {
            let _ = Command::new("python3")
                .args(["-m", "pip", "install", "--quiet", "zstandard"])
                .status();
        }
        assert!(
            has_zstandard(),
            "python3 cannot import zstandard; run scripts/setup.sh or `python3 -m pip install zstandard`"
        );
    });
}
