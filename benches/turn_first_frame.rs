//! Time to first frame, direct vs relayed through a TURN server: the sandbox room (in this
//! process) and a nekosrc client with ICE policy `all` (host candidates on loopback) or `relay`
//! (through a coturn on loopback). Each run starts a fresh client; the time is from PLAYING to
//! the first decoded frame at the appsink. Prints the median, min and max of the runs.
//!
//! Run with `cargo bench --bench turn_first_frame` (add `-- --runs 9` for more runs).

use std::sync::mpsc;
use std::time::{Duration, Instant};

use gst::prelude::*;
use neko_sandbox::RoomConfig;
use neko_sandbox::testing::TestRoom;
use neko_sandbox::testing::turn::TurnServer;

/// One client run: seconds from PLAYING to the first frame (None: no frame within 30 s).
fn first_frame(url: &str, user: &str, relay: Option<&str>) -> Option<f64> {
    let ice = relay.map_or(String::new(), |uri| {
        format!("ice-transport-policy=relay turn-servers=<\"{uri}\">")
    });
    let pipeline = gst::parse::launch(&format!(
        "nekosrc name=src url=\"{url}\" username={user} password=neko audio=false \
         ice-local-addresses=127.0.0.1 decoder=software {ice} ! videoconvert \
         ! appsink name=frames sync=false max-buffers=1 drop=true emit-signals=false"
    ))
    .unwrap()
    .downcast::<gst::Pipeline>()
    .unwrap();
    let appsink = pipeline
        .by_name("frames")
        .unwrap()
        .downcast::<gst_app::AppSink>()
        .unwrap();
    let (first, arrived) = mpsc::sync_channel(1);
    appsink.set_callbacks(
        gst_app::AppSinkCallbacks::builder()
            .new_sample(move |sink| {
                let _ = sink.pull_sample();
                let _ = first.try_send(Instant::now());
                Ok(gst::FlowSuccess::Ok)
            })
            .build(),
    );
    let start = Instant::now();
    pipeline.set_state(gst::State::Playing).unwrap();
    let seconds = arrived
        .recv_timeout(Duration::from_secs(30))
        .ok()
        .map(|at| (at - start).as_secs_f64());
    let pair = pipeline
        .by_name("src")
        .unwrap()
        .property::<gst::Structure>("stats")
        .get::<String>("ice-local-candidate-type")
        .unwrap_or_default();
    pipeline.set_state(gst::State::Null).unwrap();
    if relay.is_some() && seconds.is_some() {
        assert_eq!(pair, "relay", "the relay run did not use a relay pair");
    }
    seconds
}

fn main() {
    let runs: usize = std::env::args()
        .skip_while(|a| a != "--runs")
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(5);
    let room = TestRoom::start_blocking(RoomConfig::loopback(1280, 720, 30));
    let turn = TurnServer::start();
    let url = room.base_url();
    println!("time to first frame, 1280x720 @30 VP8, {runs} runs each (seconds)");
    println!(
        "{:<8} {:>8} {:>8} {:>8} {:>7}",
        "path", "median", "min", "max", "failed"
    );
    for (name, relay) in [("direct", None), ("relay", Some(turn.uri()))] {
        let mut times = Vec::new();
        let mut failed = 0;
        for run in 0..runs {
            match first_frame(&url, &format!("{name}{run}"), relay.as_deref()) {
                Some(seconds) => times.push(seconds),
                None => failed += 1,
            }
            std::thread::sleep(Duration::from_millis(500));
        }
        times.sort_by(f64::total_cmp);
        let median = times.get(times.len() / 2).copied().unwrap_or(f64::NAN);
        let min = times.first().copied().unwrap_or(f64::NAN);
        let max = times.last().copied().unwrap_or(f64::NAN);
        println!("{name:<8} {median:>8.3} {min:>8.3} {max:>8.3} {failed:>7}");
    }
    drop(turn);
    drop(room);
}
