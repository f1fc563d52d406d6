//! Control latency: from a REPL line (`move X Y`) to the sandbox room recording the event,
//! over loopback. Prints p50/p90/p99/max over 1000 moves, then the same for clicks.
//!
//! `cargo bench --bench control_latency`

#[path = "support/host_controller.rs"]
mod host_controller;

use std::time::{Duration, Instant};

use gstneko::client::Target;
use host_controller::connected_controller;
use neko_agent::input::KeyTable;
use neko_agent::manual::{Command, ParseContext, parse};
use neko_agent::watch::percentile;
use neko_sandbox::RoomConfig;
use neko_sandbox::testing::TestRoom;

const ROUNDS: usize = 1000;
const WARM_UP: usize = 50;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let room = TestRoom::start(RoomConfig::signalling_only()).await;
    let target = Target::new(&room.base_url(), Some("bench"), Some("neko"), None).unwrap();
    let controller = connected_controller(target).await;
    let keys = KeyTable::default();

    println!("control latency, REPL line → event recorded by the room (loopback WebSocket)");
    println!(
        "{:<8} {:>6} {:>9} {:>9} {:>9} {:>9}",
        "command", "n", "p50 ms", "p90 ms", "p99 ms", "max ms"
    );
    for (name, template, event) in [
        ("move", "move {x} {y}", "control/move"),
        ("click", "click {x} {y}", "control/buttonpress"),
    ] {
        let mut latencies = Vec::with_capacity(ROUNDS);
        for round in 0..WARM_UP + ROUNDS {
            let (x, y) = (1 + (round % 1200) as i32, 1 + (round / 1200) as i32);
            let line = template
                .replace("{x}", &x.to_string())
                .replace("{y}", &y.to_string());
            let started = Instant::now();
            let context = ParseContext {
                normalized: false,
                last_point: controller.last_point(),
                keys: &keys,
            };
            let Ok(Command::Input(actions)) = parse(&line, &context) else {
                panic!("{line} does not parse");
            };
            controller.perform(&actions).await.expect("sent");
            let recorded = room
                .wait_for_input(
                    |i| {
                        i.event == event
                            && i.at >= started
                            && i.payload.get("x").and_then(|v| v.as_i64()) == Some(x.into())
                    },
                    Duration::from_secs(5),
                )
                .await
                .expect("the room recorded the event");
            if round >= WARM_UP {
                latencies.push((recorded.at - started).as_secs_f64() * 1000.0);
            }
        }
        let count = latencies.len();
        let mut at = |q| percentile(&mut latencies, q).unwrap_or_default();
        let (p50, p90, p99, max) = (at(0.5), at(0.9), at(0.99), at(1.0));
        println!("{name:<8} {count:>6} {p50:>9.3} {p90:>9.3} {p99:>9.3} {max:>9.3}");
    }
    room.shutdown().await;
}
