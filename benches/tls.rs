//! The cost of TLS: the same sandbox room served over plain http/ws and over https/wss (the test
//! CA of `neko_sandbox::testing`, generated at start with the `openssl` CLI), measuring REST logins on fresh
//! connections and WebSocket control events (`move X Y` → recorded by the room), with the
//! process's CPU time (client and room together) per 1000 events.
//!
//! `cargo bench --bench tls`

#[path = "support/host_controller.rs"]
mod host_controller;

use std::path::Path;
use std::time::{Duration, Instant};

use gstneko::client::{RestClient, Target};
use host_controller::connected_controller;
use neko_agent::input::KeyTable;
use neko_agent::manual::{Command, ParseContext, parse};
use neko_agent::watch::percentile;
use neko_sandbox::testing::TestRoom;
use neko_sandbox::testing::ca::TestCa;
use neko_sandbox::{RoomConfig, TlsFiles};

const LOGINS: usize = 200;
const EVENTS: usize = 1000;
const WARM_UP: usize = 50;

/// Process CPU time (user + system) so far.
fn cpu_time() -> Duration {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: getrusage fills the struct it is given; RUSAGE_SELF is always valid.
    let usage = unsafe {
        libc::getrusage(libc::RUSAGE_SELF, usage.as_mut_ptr());
        usage.assume_init()
    };
    let time = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    time(usage.ru_utime) + time(usage.ru_stime)
}

/// p50 and p99 of `samples` in milliseconds.
fn p50_p99(samples: &mut [f64]) -> (f64, f64) {
    (
        percentile(samples, 0.5).unwrap_or_default(),
        percentile(samples, 0.99).unwrap_or_default(),
    )
}

async fn measure(name: &str, tls: Option<TlsFiles>, ca: Option<&Path>) {
    let room = TestRoom::start(RoomConfig {
        tls,
        ..RoomConfig::signalling_only()
    })
    .await;
    let target = |user: &str| {
        let target = Target::new(&room.base_url(), Some(user), Some("neko"), None).unwrap();
        match ca {
            Some(ca) => target.with_ca_file(ca).unwrap(),
            None => target,
        }
    };

    let mut logins = Vec::with_capacity(LOGINS);
    let cpu_before = cpu_time();
    for round in 0..LOGINS {
        // A fresh client per login: a new TCP (and TLS) connection each time, as a new session.
        let rest = RestClient::new(target(&format!("login{round}")));
        let started = Instant::now();
        let login = rest.login().await.expect("login");
        logins.push(started.elapsed().as_secs_f64() * 1000.0);
        rest.logout(&login.token).await.expect("logout");
    }
    let login_cpu = (cpu_time() - cpu_before).as_secs_f64() * 1000.0 / LOGINS as f64;
    let (login_p50, login_p99) = p50_p99(&mut logins);

    let controller = connected_controller(target("bench")).await;
    let keys = KeyTable::default();
    let mut events = Vec::with_capacity(EVENTS);
    let mut cpu_before = cpu_time();
    for round in 0..WARM_UP + EVENTS {
        if round == WARM_UP {
            cpu_before = cpu_time();
        }
        let (x, y) = (1 + (round % 1200) as i32, 1 + (round / 1200) as i32);
        let line = format!("move {x} {y}");
        let context = ParseContext {
            normalized: false,
            last_point: controller.last_point(),
            keys: &keys,
        };
        let Ok(Command::Input(actions)) = parse(&line, &context) else {
            panic!("{line} does not parse");
        };
        let started = Instant::now();
        controller.perform(&actions).await.expect("sent");
        let recorded = room
            .wait_for_input(
                |i| {
                    i.event == "control/move"
                        && i.at >= started
                        && i.payload.get("x").and_then(|v| v.as_i64()) == Some(x.into())
                },
                Duration::from_secs(5),
            )
            .await
            .expect("the room recorded the event");
        if round >= WARM_UP {
            events.push((recorded.at - started).as_secs_f64() * 1000.0);
        }
    }
    let event_cpu = (cpu_time() - cpu_before).as_secs_f64() * 1000.0 * 1000.0 / EVENTS as f64;
    let (event_p50, event_p99) = p50_p99(&mut events);
    println!(
        "{name:<6} {login_p50:>10.2} {login_p99:>10.2} {login_cpu:>10.2} {event_p50:>10.3} {event_p99:>10.3} {event_cpu:>12.1}"
    );
    room.shutdown().await;
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let ca = TestCa::generate();
    let cert = ca.server_cert("room", "IP:127.0.0.1");
    let files = TlsFiles {
        cert: cert.cert,
        key: cert.key,
    };
    println!(
        "TLS cost over loopback: {LOGINS} REST logins on fresh connections, {EVENTS} WebSocket control events (CPU: client + room, one process)"
    );
    println!(
        "{:<6} {:>10} {:>10} {:>10} {:>10} {:>10} {:>12}",
        "mode", "login p50", "login p99", "CPU/login", "event p50", "event p99", "CPU/1000 ev"
    );
    println!(
        "{:<6} {:>10} {:>10} {:>10} {:>10} {:>10} {:>12}",
        "", "ms", "ms", "ms", "ms", "ms", "ms"
    );
    measure("plain", None, None).await;
    measure("tls", Some(files), Some(&ca.cert)).await;
}
