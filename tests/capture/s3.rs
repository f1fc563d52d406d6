//! Uploads to a local S3-compatible server (moto, from PyPI, in server mode; `scripts/setup.sh`
//! installs it): shards go up as they close, failures are retried until the server is back,
//! what could not go up is uploaded by the next start, and local copies stay or go as told.

use std::collections::BTreeMap;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use neko_sandbox::RoomConfig;
use neko_sandbox::testing::TestRoom;
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt};

use crate::common;
use crate::support::{Person, Proc, capture, episodes, free_port, scratch, text};

const BUCKET: &str = "episodes";
const PREFIX: &str = "ui/run1";

/// A moto S3 server on a port of ours.
struct Moto {
    child: Child,
    port: u16,
}

/// How to run moto's server: the system Python's, else the one in `.venv/`.
fn moto_command() -> Command {
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python");
    for python in [PathBuf::from("python3"), venv] {
        let usable = Command::new(&python)
            .args(["-c", "import moto.server, flask_cors"])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if usable {
            let mut command = Command::new(python);
            command.args(["-m", "moto.server"]);
            return command;
        }
    }
    panic!(
        "moto (a local S3 server) is needed for this test: run scripts/setup.sh, or `python3 -m pip install 'moto[server]'`"
    );
}

impl Moto {
    /// Starts the server and waits until it answers.
    fn start(port: u16) -> Moto {
        let child = moto_command()
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("moto starts");
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "moto did not listen on {port}");
            std::thread::sleep(Duration::from_millis(100));
        }
        Moto { child, port }
    }

    fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    async fn create_bucket(&self) {
        let response = reqwest::Client::new()
            .put(format!("{}/{BUCKET}", self.endpoint()))
            .send()
            .await
            .unwrap();
        assert!(response.status().is_success(), "{response:?}");
    }

    fn store(&self) -> AmazonS3 {
        AmazonS3Builder::new()
            .with_endpoint(self.endpoint())
            .with_allow_http(true)
            .with_bucket_name(BUCKET)
            .with_region("us-east-1")
            .with_access_key_id("test")
            .with_secret_access_key("test")
            .build()
            .unwrap()
    }

    /// File name → bytes under the prefix.
    async fn files(&self) -> BTreeMap<String, Vec<u8>> {
        let store = self.store();
        let prefix = ObjectPath::from(PREFIX);
        let mut listing = store.list(Some(&prefix));
        let mut files = BTreeMap::new();
        while let Some(meta) = listing.next().await {
            let meta = meta.unwrap();
            let data = store
                .get(&meta.location)
                .await
                .unwrap()
                .bytes()
                .await
                .unwrap();
            let name = meta.location.filename().unwrap().to_owned();
            files.insert(name, data.to_vec());
        }
        files
    }

    /// Waits until the remote holds `names`.
    async fn wait_for(&self, names: &[&str], timeout: Duration) -> BTreeMap<String, Vec<u8>> {
        let deadline = Instant::now() + timeout;
        loop {
            let files = self.files().await;
            if names.iter().all(|n| files.contains_key(*n)) {
                return files;
            }
            assert!(
                Instant::now() < deadline,
                "the remote has {:?}, not {names:?}",
                files.keys().collect::<Vec<_>>()
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Screenshot capture (cheap) with the remote at `port`; one shard per episode.
fn remote_capture(url: &str, out: &Path, port: u16, keep_local: bool) -> Command {
    let mut command = capture(url, "admin", "admin", out);
    command
        .arg("--no-media")
        .env("CAPTURE_REMOTE", format!("s3://{BUCKET}/{PREFIX}"))
        .env("S3_ENDPOINT_URL", format!("http://127.0.0.1:{port}"))
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .env("CAPTURE_SHARD_SIZE", "1kb")
        .env("CAPTURE_KEEP_LOCAL", if keep_local { "1" } else { "0" })
        .env("CAPTURE_FPS", "4")
        .env("CAPTURE_MIN_FRAMES", "1");
    command
}

/// Records one short episode through chat.
async fn episode(person: &mut Person, task: &str) {
    person.say(&format!("/start {task}")).await;
    person
        .heard("Recording episode", Duration::from_secs(10))
        .await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    person.say("/stop").await;
    person.heard("saved:", Duration::from_secs(20)).await;
}

/// The remote dataset downloaded into a folder, read back.
fn downloaded(files: &BTreeMap<String, Vec<u8>>) -> (tempfile::TempDir, Vec<String>) {
    let dir = tempfile::tempdir().unwrap();
    for (name, data) in files {
        std::fs::write(dir.path().join(name), data).unwrap();
    }
    let tasks = episodes(dir.path())
        .iter()
        .map(|(sample, _)| text(sample, "task"))
        .collect();
    (dir, tasks)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[expect(
    clippy::await_holding_lock,
    reason = "the lock only serialises media tests"
)]
async fn uploads_are_retried_until_the_server_is_back_and_local_copies_go() {
    let _media = common::MEDIA.lock().unwrap_or_else(|e| e.into_inner());
    common::init();
    let room = TestRoom::start(RoomConfig::loopback(640, 360, 15)).await;
    let out = scratch("s3-retry");
    let port = free_port();
    // The S3 server is down when capture starts.
    let recorder = Proc::spawn(remote_capture(&room.base_url(), &out, port, false));
    recorder
        .wait_line("the remote cannot be reached now", Duration::from_secs(30))
        .await;
    recorder
        .wait_line("in the room at", Duration::from_secs(30))
        .await;
    let mut person = Person::join(&room.base_url(), "olga").await;
    episode(&mut person, "first").await;
    episode(&mut person, "second").await;
    // The second episode closed the first shard, whose upload fails for now.
    recorder
        .wait_line("upload failed", Duration::from_secs(20))
        .await;
    assert!(out.join("shard.00000.mds.zstd").exists());

    let moto = Moto::start(port);
    moto.create_bucket().await;
    moto.wait_for(
        &["shard.00000.mds.zstd", "index.json"],
        Duration::from_secs(40),
    )
    .await;
    recorder
        .wait_line("uploads work again", Duration::from_secs(10))
        .await;
    // Uploaded, so the local copy is gone (CAPTURE_KEEP_LOCAL=0); the index stays.
    assert!(!out.join("shard.00000.mds.zstd").exists());

    recorder.signal(libc::SIGTERM);
    let (code, output) = recorder.finish(Duration::from_secs(40)).await;
    assert_eq!(code, 0, "{output}");
    assert!(output.contains("uploads complete"), "{output}");
    let files = moto.files().await;
    assert_eq!(
        files.keys().collect::<Vec<_>>(),
        ["index.json", "shard.00000.mds.zstd", "shard.00001.mds.zstd"]
    );
    assert_eq!(
        files["index.json"],
        std::fs::read(out.join("index.json")).unwrap()
    );
    assert!(!out.join("shard.00001.mds.zstd").exists());
    let (_dir, tasks) = downloaded(&files);
    assert_eq!(tasks, ["first", "second"]);
    std::fs::remove_dir_all(&out).ok();
    room.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[expect(
    clippy::await_holding_lock,
    reason = "the lock only serialises media tests"
)]
async fn what_could_not_go_up_is_uploaded_by_the_next_start_and_kept_locally() {
    let _media = common::MEDIA.lock().unwrap_or_else(|e| e.into_inner());
    common::init();
    let room = TestRoom::start(RoomConfig::loopback(640, 360, 15)).await;
    let out = scratch("s3-next-start");
    let port = free_port();
    let mut command = remote_capture(&room.base_url(), &out, port, true);
    command.env("CAPTURE_UPLOAD_WAIT", "1");
    let recorder = Proc::spawn(command);
    recorder
        .wait_line("in the room at", Duration::from_secs(30))
        .await;
    let mut person = Person::join(&room.base_url(), "olga").await;
    episode(&mut person, "offline").await;
    recorder.signal(libc::SIGTERM);
    let (code, output) = recorder.finish(Duration::from_secs(30)).await;
    assert_eq!(code, 0, "{output}");
    assert!(output.contains("not uploaded yet"), "{output}");
    assert!(output.contains("uploaded on the next start"), "{output}");
    assert!(out.join("shard.00000.mds.zstd").exists());

    // The server is back, but without the bucket: a clear refusal, nothing started.
    let moto = Moto::start(port);
    let refused = Proc::spawn(remote_capture(&room.base_url(), &out, port, true));
    let (code, report) = refused.finish(Duration::from_secs(30)).await;
    assert_eq!(code, 2, "{report}");
    assert!(
        report.contains(&format!("the bucket \"{BUCKET}\" does not exist")),
        "{report}"
    );

    moto.create_bucket().await;
    let restarted = Proc::spawn(remote_capture(&room.base_url(), &out, port, true));
    let files = moto
        .wait_for(
            &["shard.00000.mds.zstd", "index.json"],
            Duration::from_secs(30),
        )
        .await;
    restarted
        .wait_line("in the room at", Duration::from_secs(30))
        .await;
    restarted.signal(libc::SIGTERM);
    let (code, output) = restarted.finish(Duration::from_secs(30)).await;
    assert_eq!(code, 0, "{output}");
    // Kept locally (CAPTURE_KEEP_LOCAL=1), and the same bytes remotely.
    assert_eq!(
        files["shard.00000.mds.zstd"],
        std::fs::read(out.join("shard.00000.mds.zstd")).unwrap()
    );
    let (_dir, tasks) = downloaded(&moto.files().await);
    assert_eq!(tasks, ["offline"]);
    std::fs::remove_dir_all(&out).ok();
    room.shutdown().await;
}
