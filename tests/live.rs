//! The live view: of `neko-agent run --live`, and of a service task through the API. A WHEP
//! viewer (webrtcbin, offering VP8 and H.264 as a browser does) receives the room's video as the
//! agent sees it, in the codec configured, scaled as configured, with the crosshair drawn on the
//! point the agent clicked and the banner while a person has control; a wrong token or a bad
//! offer is refused. Chromium plays the page's H.264 stream (what machines with a hardware
//! encoder send).

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use common::agent_run::{LiveRun, run_command};
use common::service::{Api, Serve, fixture as model_fixture, service_command};
use common::whep;
use neko_sandbox::RoomConfig;
use neko_sandbox::testing::TestRoom;
use serde_json::json;

fn fixture() -> String {
    format!("{}/models/showui-fixture", env!("CARGO_MANIFEST_DIR"))
}

/// Whether an RGB pixel is the crosshair's magenta (the codec and 4:2:0 blur it; the red region
/// under it has almost no blue).
fn magenta([r, g, b]: [u8; 3]) -> bool {
    r > 90 && b > 100 && g < 80
}

/// Whether an RGB pixel is the room's red region.
fn red([r, g, b]: [u8; 3]) -> bool {
    r > 150 && g < 100 && b < 100
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_whep_viewer_watches_the_agent_click_with_the_crosshair_drawn_in_vp8() {
    watch_the_agent_click("vp8", "VP8").await;
}

/// The H.264 branch, as a machine with a hardware encoder sends it (x264 here).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_whep_viewer_watches_the_agent_click_with_the_crosshair_drawn_in_h264() {
    watch_the_agent_click("h264", "H264").await;
}

/// `run --live --live-codec <codec>` watched by a WHEP viewer, which receives `encoding`: the
/// red region, then the crosshair on the click, at the configured size.
#[expect(
    clippy::await_holding_lock,
    reason = "the lock only serialises media tests"
)]
async fn watch_the_agent_click(codec: &str, encoding: &str) {
    let _media = common::MEDIA.lock().unwrap_or_else(|e| e.into_inner());
    common::init();
    let room = TestRoom::start(RoomConfig::loopback(640, 360, 15)).await;
    let mut command = run_command(&room.base_url());
    command.args([
        "--model-dir",
        &fixture(),
        "--task",
        "Open the red box",
        "--live",
        "127.0.0.1:0",
        "--live-width",
        "320",
        "--live-fps",
        "15",
        "--live-codec",
        codec,
        // Time for the viewer to see the desktop before the first step.
        "--skip-initial-frames",
        "45",
    ]);
    let run = LiveRun::spawn(command);
    let Some((_, line)) = run.line("live view: ", Duration::from_secs(30)).await else {
        panic!("no live view URL\n{}", run.abandon().await);
    };
    let url = line.split("live view: ").nth(1).unwrap().trim().to_owned();

    // Without the token, and with a bad offer, nothing is served.
    let bare = url.split('?').next().unwrap();
    let refused = whep::connect(bare, |_| {}).await.err().expect("refused");
    assert_eq!(refused.status, 401, "{}", refused.body);
    let bad = reqwest::Client::new()
        .post(&url)
        .header("Content-Type", "application/sdp")
        .body("v=0 not sdp")
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status().as_u16(), 400);

    // The clicked point (0.13, 0.24) in the 320×180 picture, a few pixels left of the centre,
    // on the crosshair's left arm.
    let (x, y) = ((0.13 * 320.0) as usize - 7, (0.24 * 180.0) as usize);
    let frames = Arc::new(AtomicUsize::new(0));
    let size = Arc::new(std::sync::Mutex::new((0, 0)));
    let clean = Arc::new(AtomicBool::new(false));
    let marked = Arc::new(AtomicBool::new(false));
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let viewer = {
        let (frames, size, clean, marked, seen) = (
            frames.clone(),
            size.clone(),
            clean.clone(),
            marked.clone(),
            seen.clone(),
        );
        whep::connect(&url, move |frame| {
            frames.fetch_add(1, Ordering::Relaxed);
            seen.lock().unwrap().push(frame.pixel(x, y));
            *size.lock().unwrap() = (frame.width, frame.height);
            let pixel = frame.pixel(x, y);
            if red(pixel) {
                clean.store(true, Ordering::Relaxed);
            }
            if magenta(pixel) {
                marked.store(true, Ordering::Relaxed);
            }
        })
        .await
        .unwrap_or_else(|refused| panic!("{refused:?}"))
    };
    assert!(viewer.location.starts_with("/whep/"), "{}", viewer.location);

    let (code, report) = run.finish().await;
    assert_eq!(code, Some(0), "{report}");
    assert!(report.contains("step 1/"), "{report}");
    assert!(
        frames.load(Ordering::Relaxed) > 10,
        "{} frames\n{report}",
        frames.load(Ordering::Relaxed)
    );
    assert_eq!(*size.lock().unwrap(), (320, 180), "the configured size");
    assert_eq!(viewer.codec().as_deref(), Some(encoding), "{report}");
    let seen = seen.lock().unwrap().clone();
    assert!(
        clean.load(Ordering::Relaxed),
        "the red region before the click: {seen:?}\n{report}"
    );
    assert!(
        marked.load(Ordering::Relaxed),
        "the crosshair after the click: {seen:?}\n{report}"
    );
    drop(viewer);
    room.shutdown().await;
}

/// Where the amber bar of a person in control shows in a 320×180 picture (bottom left, over
/// the grey desktop).
const BAR_PIXEL: (usize, usize) = (40, 175);

/// Whether an RGB pixel is the amber bar (the grey desktop under it has as much blue as red).
fn amber([r, g, b]: [u8; 3]) -> bool {
    r > 180 && (90..230).contains(&g) && b < 90
}

/// A service task on the sandbox room, running, with its live view at 320 wide.
struct RunningTask {
    room: TestRoom,
    serve: Serve,
    api: Api,
    data: tempfile::TempDir,
    task_id: String,
    /// `live_url` as the API gave it (`/api/v1/tasks/{id}/live?token=…`).
    page: String,
    /// `http://127.0.0.1:<port>`.
    origin: String,
}

impl RunningTask {
    /// Starts the room and `serve` (live views in `codec`), submits a task and waits until it
    /// runs; its first step comes after `skip_frames` frames (time for viewers and people to act
    /// first).
    async fn start(codec: &str, skip_frames: &str) -> Self {
        let room = TestRoom::start(RoomConfig::loopback(640, 360, 15)).await;
        let data = tempfile::tempdir().unwrap();
        let mut command =
            service_command("serve", &room.base_url(), &model_fixture("showui-fixture"));
        command
            .env("NEKO_LIVE_WIDTH", "320")
            .env("NEKO_LIVE_CODEC", codec)
            .env("NEKO_SKIP_INITIAL_FRAMES", skip_frames);
        let serve = Serve::start(command, data.path());
        let api = Api::new(&serve.api, None);
        let (task_id, page) = api
            .submit_watched(json!({"task": "Open the red box", "max_steps": 4}))
            .await;
        api.wait_task(&task_id, Duration::from_secs(60), |task| {
            task["status"] == "running" && task["live_url"] == page.as_str()
        })
        .await;
        let origin = serve.api.trim_end_matches("/api/v1").to_owned();
        Self {
            room,
            serve,
            api,
            data,
            task_id,
            page,
            origin,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[expect(
    clippy::await_holding_lock,
    reason = "the lock only serialises media tests"
)]
async fn a_task_s_live_view_through_the_api_shows_the_takeover_banner() {
    let _media = common::MEDIA.lock().unwrap_or_else(|e| e.into_inner());
    common::init();
    // The viewer and the person act before the first step.
    let RunningTask {
        room,
        serve,
        api,
        data: _data,
        task_id,
        page,
        origin,
    } = RunningTask::start("auto", "60").await;
    let token = page.split("token=").nth(1).unwrap().to_owned();

    // The page needs the viewer token; the API token does not open it, the viewer token does.
    let http = reqwest::Client::new();
    let bare = http
        .get(format!("{origin}/api/v1/tasks/{task_id}/live"))
        .send()
        .await
        .unwrap();
    assert_eq!(bare.status().as_u16(), 401);
    let wrong = http
        .get(format!(
            "{origin}/api/v1/tasks/{task_id}/live?token=0123456789abcdef0123456789abcdef"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status().as_u16(), 401);
    let html = http.get(format!("{origin}{page}")).send().await.unwrap();
    assert_eq!(html.status().as_u16(), 200);
    assert!(html.text().await.unwrap().contains("Take control"));

    // Watch through the API (relayed to the worker's view of the task).
    let whep_url = format!("{origin}/api/v1/tasks/{task_id}/live/whep?token={token}");
    let rows = Arc::new(std::sync::Mutex::new(Vec::new()));
    let viewer = {
        let rows = rows.clone();
        whep::connect(&whep_url, move |frame| {
            rows.lock()
                .unwrap()
                .push(frame.pixel(BAR_PIXEL.0, BAR_PIXEL.1));
        })
        .await
        .unwrap_or_else(|refused| panic!("{refused:?}\n{}", serve.output()))
    };
    assert!(
        viewer
            .location
            .starts_with(&format!("/api/v1/tasks/{task_id}/live/whep/")),
        "{}",
        viewer.location
    );
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while rows.lock().unwrap().len() < 5 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let before = rows.lock().unwrap().clone();
    assert!(
        before.len() >= 5,
        "frames through the API: {before:?}\n{}",
        serve.output()
    );

    // Take control: the task pauses and the amber bar appears.
    let taken = http
        .post(format!(
            "{origin}/api/v1/tasks/{task_id}/live/take?token={token}"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(taken.status().as_u16(), 200);
    api.wait_task(&task_id, Duration::from_secs(60), |task| {
        task["status"] == "paused"
    })
    .await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let during = rows.lock().unwrap()[before.len()..].to_vec();
    assert!(
        !before.iter().any(|p| amber(*p)) && during.iter().any(|p| amber(*p)),
        "the bar did not appear: before {before:?}, during {during:?}"
    );

    // Give back: the task goes on and completes.
    let given = http
        .post(format!(
            "{origin}/api/v1/tasks/{task_id}/live/give-back?token={token}"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(given.status().as_u16(), 200);
    let done = api
        .wait_task(&task_id, Duration::from_secs(90), |task| {
            task["status"] == "completed"
        })
        .await;
    assert_eq!(done["answer"], "done", "{done:#}");
    let left = http
        .delete(format!("{origin}{}", viewer.location))
        .send()
        .await
        .unwrap();
    assert!(
        [200, 404].contains(&left.status().as_u16()),
        "leaving after the task ended: {}",
        left.status()
    );
    drop(viewer);
    room.shutdown().await;
}

/// What tests/browser/live_page.mjs saw in Chromium.
#[derive(Debug, serde::Deserialize)]
struct PageReport {
    failure: Option<String>,
    error: Option<String>,
    size: [u32; 2],
    advanced: f64,
    playing_after_ms: u64,
    before_take: Sample,
    during_take: Sample,
    log: String,
    crosshair_seen: bool,
    video_box: [f64; 4],
}

/// The bar's pixel and the crosshair's pixel, read from the page's video.
#[derive(Debug, serde::Deserialize)]
struct Sample {
    bar: [u8; 4],
    crosshair: [u8; 4],
}

/// The live page in a real browser (Debian's Chromium, headless, driven by playwright-core), sent
/// H.264 as machines with a hardware encoder send it: the video plays at the configured size, "Take control" pauses the task and the banner appears in
/// the video, and after "Give back" the step log shows the first step and a photograph of the
/// page shows the crosshair on the clicked red region.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[expect(
    clippy::await_holding_lock,
    reason = "the lock only serialises media tests"
)]
async fn the_live_page_plays_in_chromium_and_takes_control() {
    let browser = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser");
    assert!(
        browser.join("node_modules/playwright-core").exists()
            && std::path::Path::new("/usr/bin/chromium").exists(),
        "the browser test needs Debian's chromium and playwright-core in tests/browser: run `bash scripts/setup-browser.sh`"
    );
    let _media = common::MEDIA.lock().unwrap_or_else(|e| e.into_inner());
    common::init();
    // Chromium starts, plays, and the person takes and gives back control before step 1.
    let RunningTask {
        room,
        serve,
        api,
        data,
        task_id,
        page,
        origin,
    } = RunningTask::start("h264", "150").await;
    let page = format!("{origin}{page}");
    let photo = data.path().join("live-page.png");
    let (x, y) = ((0.13 * 320.0) as u32 - 7, (0.24 * 180.0) as u32);
    let mut node = std::process::Command::new("node");
    node.arg(browser.join("live_page.mjs"))
        .arg(&page)
        .arg(&photo)
        .arg(x.to_string())
        .arg(y.to_string())
        .arg(format!("{},{}", BAR_PIXEL.0, BAR_PIXEL.1));
    let output = tokio::task::spawn_blocking(move || node.output().expect("node runs"))
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let report: PageReport = serde_json::from_str(stdout.trim())
        .unwrap_or_else(|e| panic!("{e}: {stdout}\n{stderr}\n{}", serve.output()));
    let context = format!("{report:#?}\n{stderr}\n{}", serve.output());
    assert!(
        report.failure.is_none() && report.error.is_none(),
        "{context}"
    );
    assert_eq!(report.size, [320, 180], "{context}");
    assert!(report.advanced > 0.5, "currentTime advances: {context}");
    assert!(report.playing_after_ms < 30_000, "{context}");
    let rgb = |p: [u8; 4]| [p[0], p[1], p[2]];
    assert!(
        !amber(rgb(report.before_take.bar)) && amber(rgb(report.during_take.bar)),
        "the bar of a person in control: {context}"
    );
    assert!(report.log.contains("step 1: "), "{context}");
    assert!(report.crosshair_seen, "{context}");
    let _ = report.before_take.crosshair;

    // The photograph: the crosshair's pixel, where the video element shows it.
    let decoder = png::Decoder::new(std::io::BufReader::new(
        std::fs::File::open(&photo).unwrap(),
    ));
    let mut reader = decoder.read_info().unwrap();
    let mut pixels = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut pixels).unwrap();
    let [left, top, width, height] = report.video_box;
    let px = (left + f64::from(x) / 320.0 * width) as usize;
    let py = (top + f64::from(y) / 180.0 * height) as usize;
    let channels = info.color_type.samples();
    let at = (py * info.width as usize + px) * channels;
    let [r, g, b] = [pixels[at], pixels[at + 1], pixels[at + 2]];
    assert!(
        magenta([r, g, b]),
        "the page's photograph at {px},{py}: {r},{g},{b}\n{context}"
    );
    let done = api
        .wait_task(&task_id, Duration::from_secs(90), |task| {
            task["status"] == "completed"
        })
        .await;
    assert_eq!(done["answer"], "done", "{done:#}");
    room.shutdown().await;
}
