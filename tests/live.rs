//! The live view of `neko-agent run --live`: a WHEP viewer (webrtcbin, as a browser would
//! offer) receives the room's video as the agent sees it, scaled as configured, with the
//! crosshair drawn on the point the agent clicked; a wrong token or a bad offer is refused.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use common::agent_run::{LiveRun, run_command};
use common::whep;
use neko_sandbox::RoomConfig;
use neko_sandbox::testing::TestRoom;

fn fixture() -> String {
    format!("{}/models/showui-fixture", env!("CARGO_MANIFEST_DIR"))
}

/// Whether an RGB pixel is the crosshair's magenta (VP8 and 4:2:0 blur it; the red region under
/// it has almost no blue).
fn magenta([r, g, b]: [u8; 3]) -> bool {
    r > 90 && b > 100 && g < 80
}

/// Whether an RGB pixel is the room's red region.
fn red([r, g, b]: [u8; 3]) -> bool {
    r > 150 && g < 100 && b < 100
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[expect(
    clippy::await_holding_lock,
    reason = "the lock only serialises media tests"
)]
async fn a_whep_viewer_watches_the_agent_click_with_the_crosshair_drawn() {
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
