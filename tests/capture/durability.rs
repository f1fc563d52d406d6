//! What survives: SIGTERM mid-episode (finished with reason shutdown), SIGKILL mid-episode
//! (recovered by the next start; discarded when shorter than CAPTURE_MIN_FRAMES), a full disk
//! (kept and saved once there is room), and bad input of every kind (clear messages, nothing
//! started).

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use neko_sandbox::RoomConfig;
use neko_sandbox::testing::TestRoom;
use serde_json::json;

use crate::common;
use crate::support::{Person, Proc, capture, episodes, neko_agent, scratch, text};

/// Capture without WebRTC (REST screenshots, as an admin): cheap enough to start twice.
fn screenshot_capture(url: &str, out: &Path) -> Command {
    let mut command = capture(url, "admin", "admin", out);
    command.arg("--no-media").env("CAPTURE_FPS", "4");
    command
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[expect(
    clippy::await_holding_lock,
    reason = "the lock only serialises media tests"
)]
async fn sigterm_mid_episode_finishes_it_with_reason_shutdown() {
    let _media = common::MEDIA.lock().unwrap_or_else(|e| e.into_inner());
    common::init();
    let room = TestRoom::start(RoomConfig::loopback(640, 360, 15)).await;
    let out = scratch("sigterm");
    let recorder = Proc::spawn(screenshot_capture(&room.base_url(), &out));
    recorder
        .wait_line("in the room at", Duration::from_secs(30))
        .await;
    let mut person = Person::join(&room.base_url(), "olga").await;
    let id = person.start_episode("fill the form").await;
    person
        .say(r#"Action: {"type": "click", "coordinate": [1, 2]}"#)
        .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    recorder.signal(libc::SIGTERM);
    person
        .heard("Capture is stopping", Duration::from_secs(10))
        .await;
    let (code, output) = recorder.finish(Duration::from_secs(30)).await;
    assert_eq!(code, 0, "{output}");
    assert!(output.contains(&format!("Episode {id} saved")), "{output}");
    assert!(output.contains("1 actions (shutdown)"), "{output}");
    let saved = episodes(&out);
    assert_eq!(saved.len(), 1);
    let (sample, zip) = &saved[0];
    assert_eq!(text(sample, "episode_id"), id);
    assert_eq!(zip.meta["end_reason"], json!("shutdown"));
    assert!(zip.frames.len() >= 4, "{output}");
    assert_eq!(zip.actions.len(), 1);
    assert!(
        output.contains("no media session: recording REST screenshots"),
        "{output}"
    );
    std::fs::remove_dir_all(&out).ok();
    room.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[expect(
    clippy::await_holding_lock,
    reason = "the lock only serialises media tests"
)]
async fn sigkill_mid_episode_is_recovered_by_the_next_start() {
    let _media = common::MEDIA.lock().unwrap_or_else(|e| e.into_inner());
    common::init();
    let room = TestRoom::start(RoomConfig::loopback(640, 360, 15)).await;
    let out = scratch("sigkill");
    let recorder = Proc::spawn(screenshot_capture(&room.base_url(), &out));
    recorder
        .wait_line("in the room at", Duration::from_secs(30))
        .await;
    let mut person = Person::join(&room.base_url(), "olga").await;
    let id = person.start_episode("survive a crash").await;
    person
        .say(r#"Action: {"type": "click", "coordinate": [10, 20]}"#)
        .await;
    person
        .say(r#"[agent] Action: {"action": "ANSWER", "value": "done", "position": null}"#)
        .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let on_disk = std::fs::read_dir(out.join(".capture/episodes").join(&id).join("frames"))
        .unwrap()
        .count();
    assert!(on_disk >= 4, "{on_disk} frames on disk");
    recorder.signal(libc::SIGKILL);
    let (code, _) = recorder.finish(Duration::from_secs(10)).await;
    assert_eq!(code, -1, "killed");

    // The next start finishes the episode from what the killed process wrote.
    let restarted = Proc::spawn(screenshot_capture(&room.base_url(), &out));
    let line = restarted
        .wait_line(&format!("recovered episode {id}"), Duration::from_secs(30))
        .await;
    assert!(line.contains("2 actions"), "{line}");
    restarted
        .wait_line("in the room at", Duration::from_secs(30))
        .await;
    restarted.signal(libc::SIGTERM);
    let (code, output) = restarted.finish(Duration::from_secs(30)).await;
    assert_eq!(code, 0, "{output}");
    let saved = episodes(&out);
    assert_eq!(saved.len(), 1, "{output}");
    let (sample, zip) = &saved[0];
    assert_eq!(text(sample, "episode_id"), id);
    assert_eq!(zip.meta["end_reason"], json!("recovered"));
    // Every frame written before the kill is there (a frame being written at the very moment
    // of the kill is reported and left out).
    let frames = zip.frames.len();
    assert!(frames + 1 >= on_disk, "{frames} < {on_disk}\n{line}");
    assert_eq!(
        zip.actions
            .iter()
            .map(|a| a["action"].clone())
            .collect::<Vec<_>>(),
        [
            json!({"type": "click", "coordinate": [10, 20]}),
            json!({"action": "ANSWER", "value": "done", "position": null})
        ]
    );
    assert!(!out.join(".capture/episodes").join(&id).exists());
    std::fs::remove_dir_all(&out).ok();
    room.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[expect(
    clippy::await_holding_lock,
    reason = "the lock only serialises media tests"
)]
async fn sigkill_right_after_start_leaves_nothing_to_recover_below_the_minimum() {
    let _media = common::MEDIA.lock().unwrap_or_else(|e| e.into_inner());
    common::init();
    let room = TestRoom::start(RoomConfig::loopback(640, 360, 15)).await;
    let out = scratch("sigkill-early");
    // One screenshot a second: killed at once, the episode has at most one frame of three.
    let slow_capture = || {
        let mut command = screenshot_capture(&room.base_url(), &out);
        command
            .env("CAPTURE_FPS", "1")
            .env("CAPTURE_MIN_FRAMES", "3");
        command
    };
    let recorder = Proc::spawn(slow_capture());
    recorder
        .wait_line("in the room at", Duration::from_secs(30))
        .await;
    let mut person = Person::join(&room.base_url(), "olga").await;
    let id = person.start_episode("killed at once").await;
    recorder.signal(libc::SIGKILL);
    let (code, _) = recorder.finish(Duration::from_secs(10)).await;
    assert_eq!(code, -1, "killed");
    assert!(out.join(".capture/episodes").join(&id).is_dir());

    let restarted = Proc::spawn(slow_capture());
    let line = restarted
        .wait_line(&format!("episode {id} discarded"), Duration::from_secs(30))
        .await;
    assert!(
        line.contains("fewer than CAPTURE_MIN_FRAMES=3") && line.contains("its folder is removed"),
        "{line}"
    );
    restarted
        .wait_line("in the room at", Duration::from_secs(30))
        .await;
    restarted.signal(libc::SIGTERM);
    let (code, output) = restarted.finish(Duration::from_secs(30)).await;
    assert_eq!(code, 0, "{output}");
    assert!(!output.contains("recovered episode"), "{output}");
    if out.join("index.json").exists() {
        assert!(episodes(&out).is_empty(), "{output}");
    }
    assert!(!out.join(".capture/episodes").join(&id).exists());
    std::fs::remove_dir_all(&out).ok();
    room.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_settings_are_all_reported_at_once() {
    let output = neko_agent("capture")
        .env("NEKO_URL", "ftp://nowhere")
        .env("CAPTURE_FPS", "0")
        .env("CAPTURE_COMPRESSION", "lz4")
        .env("CAPTURE_SHARD_SIZE", "9gb")
        .env("CAPTURE_HASHES", "crc32")
        .env("CAPTURE_JPEG_QUALITY", "120")
        .env("CAPTURE_KEEP_LOCAL", "perhaps")
        .env("CAPTURE_REMOTE", "gs://bucket/x")
        .output()
        .unwrap();
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(output.status.code(), Some(2), "{report}");
    for problem in [
        "CAPTURE_FPS",
        "CAPTURE_COMPRESSION",
        "CAPTURE_SHARD_SIZE",
        "CAPTURE_HASHES",
        "CAPTURE_JPEG_QUALITY",
        "CAPTURE_KEEP_LOCAL",
        "only s3://",
        "must start with http://",
        "NEKO_USER",
    ] {
        assert!(report.contains(problem), "{problem}: {report}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_server_or_a_wrong_password_ends_with_status_3() {
    let out = scratch("unreachable");
    let port = crate::support::free_port();
    let output = capture(&format!("http://127.0.0.1:{port}"), "capture", "neko", &out)
        .args(["--no-media", "--connect-timeout", "3"])
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(output.status.code(), Some(3), "{report}");
    assert!(report.contains("could not join the room"), "{report}");
    assert!(report.contains(&format!("127.0.0.1:{port}")), "{report}");

    common::init();
    let room = TestRoom::start(neko_sandbox::RoomConfig {
        media: false,
        ..RoomConfig::loopback(640, 360, 15)
    })
    .await;
    let url = room.base_url();
    let out_for_wrong = out.clone();
    let output = tokio::task::spawn_blocking(move || {
        capture(&url, "capture", "wrong", &out_for_wrong)
            .arg("--no-media")
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let report = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(output.status.code(), Some(3), "{report}");
    assert!(report.contains("wrong username or password"), "{report}");
    std::fs::remove_dir_all(&out).ok();
    room.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_pipeline_file_is_located() {
    let out = scratch("pipeline");
    let file = out.join("broken.toml");
    let good = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/pipelines/capture.toml"
    ))
    .unwrap();
    std::fs::write(&file, good.replace("jpegenc", "jpegenk")).unwrap();
    let output = capture("http://127.0.0.1:9", "capture", "neko", &out.join("data"))
        .arg("--pipeline")
        .arg(&file)
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(output.status.code(), Some(2), "{report}");
    assert!(report.contains("broken.toml:"), "{report}");
    assert!(report.contains("no element \"jpegenk\""), "{report}");
    std::fs::remove_dir_all(&out).ok();
}

/// A tmpfs of `size` mounted on `dir` (unmounted when dropped), where this process may mount.
struct SmallDisk(std::path::PathBuf);

impl SmallDisk {
    fn mount(dir: &Path, size: &str) -> Option<SmallDisk> {
        // A run killed before it could unmount leaves its tmpfs behind.
        let _ = Command::new("umount")
            .arg(dir)
            .stderr(std::process::Stdio::null())
            .status();
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .stderr(std::process::Stdio::null())
            .status()
            .ok()?;
        status.success().then(|| SmallDisk(dir.to_owned()))
    }

    fn grow(&self, size: &str) {
        let status = Command::new("mount")
            .args(["-o", &format!("remount,size={size}")])
            .arg(&self.0)
            .status()
            .unwrap();
        assert!(status.success(), "remount");
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[expect(
    clippy::await_holding_lock,
    reason = "the lock only serialises media tests"
)]
async fn a_full_disk_keeps_what_was_recorded_and_saves_it_once_there_is_room() {
    let out = scratch("full-disk");
    let Some(disk) = SmallDisk::mount(&out, "1m") else {
        eprintln!(
            "skipped: cannot mount a 1 MB tmpfs here (needs root); \
             capture::recorder's unit tests cover failing writes with an injected error"
        );
        return;
    };
    let _media = common::MEDIA.lock().unwrap_or_else(|e| e.into_inner());
    common::init();
    let room = TestRoom::start(RoomConfig::loopback(640, 360, 15)).await;
    let mut command = screenshot_capture(&room.base_url(), &out);
    command
        .env("CAPTURE_FPS", "8")
        .env("CAPTURE_JPEG_QUALITY", "100")
        .env("CAPTURE_COMPRESSION", "none")
        .env("CAPTURE_MIN_FRAMES", "1");
    let recorder = Proc::spawn(command);
    recorder
        .wait_line("in the room at", Duration::from_secs(30))
        .await;
    let mut person = Person::join(&room.base_url(), "olga").await;
    let id = person.start_episode("fill the disk").await;
    person
        .say(r#"Action: {"type": "scroll", "amount": 3}"#)
        .await;
    let problem = person
        .heard("Recording problem", Duration::from_secs(40))
        .await;
    assert!(problem.contains("the disk is full"), "{problem}");
    assert!(problem.contains(&id), "{problem}");
    let frames_on_disk = std::fs::read_dir(out.join(".capture/episodes").join(&id).join("frames"))
        .unwrap()
        .count();
    person.say("/stop").await;
    let delayed = person
        .heard("could not be saved yet", Duration::from_secs(20))
        .await;
    assert!(delayed.contains("No space left on device"), "{delayed}");
    recorder.signal(libc::SIGTERM);
    let (code, output) = recorder.finish(Duration::from_secs(30)).await;
    assert_eq!(code, 1, "{output}");
    assert!(
        output.contains("frames of this episode could not be written"),
        "{output}"
    );
    assert!(output.contains("saved on the next start"), "{output}");

    // Room again: the next start saves the episode, every frame that reached the disk included.
    disk.grow("64m");
    let restarted = Proc::spawn(screenshot_capture(&room.base_url(), &out));
    let line = restarted
        .wait_line(&format!("recovered episode {id}"), Duration::from_secs(30))
        .await;
    assert!(line.contains("1 actions"), "{line}");
    restarted
        .wait_line("in the room at", Duration::from_secs(30))
        .await;
    restarted.signal(libc::SIGTERM);
    let (code, output) = restarted.finish(Duration::from_secs(30)).await;
    assert_eq!(code, 0, "{output}");
    let saved = episodes(&out);
    assert_eq!(saved.len(), 1, "{output}");
    let (sample, zip) = &saved[0];
    assert_eq!(text(sample, "episode_id"), id);
    assert!(
        zip.frames.len() >= frames_on_disk,
        "{} < {frames_on_disk}",
        zip.frames.len()
    );
    assert_eq!(zip.actions.len(), 1);
    drop(disk);
    std::fs::remove_dir_all(&out).ok();
    room.shutdown().await;
}
