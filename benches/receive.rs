//! Receive benchmark: the sandbox room (a separate process) at 1280x720 and 1920x1080 @30, and
//! a nekosrc client (this process, one subprocess per case) that decodes to RGB into an appsink.
//! Prints frames/s, client CPU per frame, glass-to-appsink latency and the client's peak RSS.
//!
//! Run with `cargo bench --bench receive` (add `-- --seconds 20` for longer windows).

use std::io::Write;
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use gst::prelude::*;
use neko_agent::frame::stamp;
use neko_agent::watch::percentile;

const CASES: [(u32, u32); 2] = [(1280, 720), (1920, 1080)];

fn cpu_seconds() -> f64 {
    // SAFETY: getrusage only writes into the struct we pass.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut usage);
        usage
    };
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    secs(usage.ru_utime) + secs(usage.ru_stime)
}

fn peak_rss_mb() -> f64 {
    // SAFETY: as above.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut usage);
        usage
    };
    usage.ru_maxrss as f64 / 1024.0
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct RoomProcess(Child);

impl Drop for RoomProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_room(port: u16, width: u32, height: u32) -> RoomProcess {
    let child = Command::new(env!("CARGO_BIN_EXE_neko-agent"))
        .args([
            "room",
            "--bind",
            &format!("127.0.0.1:{port}"),
            "--size",
            &format!("{width}x{height}"),
            "--rate",
            "30",
        ])
        .env("NEKO_LOGLEVEL", "warn")
        .stdout(Stdio::null())
        .spawn()
        .expect("neko-agent room starts");
    let deadline = Instant::now() + Duration::from_secs(20);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "the room did not listen on {port}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    RoomProcess(child)
}

/// One case in this process: returns a JSON line with the measurements.
fn client_case(port: u16, width: u32, height: u32, seconds: f64) -> String {
    gst::init().unwrap();
    gstneko::plugin_register_static().unwrap();
    let description = format!(
        "nekosrc name=src url=http://127.0.0.1:{port} username=bench password=neko ice-local-addresses=127.0.0.1 audio=false decoder=software \
         ! videoconvert ! video/x-raw,format=RGB ! appsink name=frames sync=false max-buffers=1 drop=true"
    );
    let pipeline = gst::parse::launch(&description)
        .unwrap()
        .downcast::<gst::Pipeline>()
        .unwrap();
    let appsink = pipeline
        .by_name("frames")
        .unwrap()
        .downcast::<gst_app::AppSink>()
        .unwrap();
    let frames = Arc::new(AtomicU64::new(0));
    let latencies: Arc<Mutex<Vec<f64>>> = Arc::default();
    let (sink_frames, sink_latencies) = (frames.clone(), latencies.clone());
    appsink.set_callbacks(
        gst_app::AppSinkCallbacks::builder()
            .new_sample(move |sink| {
                let sample = sink.pull_sample().map_err(|_| gst::FlowError::Eos)?;
                sink_frames.fetch_add(1, Ordering::Relaxed);
                if let Some(latency) = stamp::latency_ms(&sample) {
                    sink_latencies.lock().unwrap().push(latency);
                }
                Ok(gst::FlowSuccess::Ok)
            })
            .build(),
    );
    pipeline.set_state(gst::State::Playing).unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while frames.load(Ordering::Relaxed) == 0 {
        assert!(Instant::now() < deadline, "no frame from the room");
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_secs(3));
    latencies.lock().unwrap().clear();
    let (frames0, cpu0, t0) = (
        frames.load(Ordering::Relaxed),
        cpu_seconds(),
        Instant::now(),
    );
    std::thread::sleep(Duration::from_secs_f64(seconds));
    let (frames1, cpu1, elapsed) = (
        frames.load(Ordering::Relaxed),
        cpu_seconds(),
        t0.elapsed().as_secs_f64(),
    );
    let decoder = pipeline
        .by_name("src")
        .map(|s| s.property::<gst::Structure>("stats"))
        .and_then(|s| s.get::<String>("video-decoder").ok())
        .unwrap_or_default();
    let _ = pipeline.set_state(gst::State::Null);
    let count = (frames1 - frames0).max(1);
    let mut latencies = latencies.lock().unwrap().clone();
    format!(
        "{{\"size\":\"{width}x{height}\",\"fps\":{:.1},\"cpu_ms_per_frame\":{:.2},\"latency_p50_ms\":{:.1},\"latency_p99_ms\":{:.1},\"peak_rss_mb\":{:.0},\"decoder\":\"{decoder}\"}}",
        (frames1 - frames0) as f64 / elapsed,
        (cpu1 - cpu0) * 1000.0 / count as f64,
        percentile(&mut latencies, 0.5).unwrap_or(f64::NAN),
        percentile(&mut latencies, 0.99).unwrap_or(f64::NAN),
        peak_rss_mb(),
    )
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let seconds = args
        .iter()
        .position(|a| a == "--seconds")
        .and_then(|i| args.get(i + 1))
        .and_then(|s| s.parse().ok())
        .unwrap_or(10.0);
    if let Some(i) = args.iter().position(|a| a == "--client") {
        let port: u16 = args[i + 1].parse().unwrap();
        let width: u32 = args[i + 2].parse().unwrap();
        let height: u32 = args[i + 3].parse().unwrap();
        println!("{}", client_case(port, width, height, seconds));
        return;
    }
    println!(
        "| size | fps | client CPU ms/frame | latency p50 | latency p99 | client peak RSS | decoder |"
    );
    println!("|---|---|---|---|---|---|---|");
    for (width, height) in CASES {
        let port = free_port();
        let _room = start_room(port, width, height);
        let output = Command::new(std::env::current_exe().unwrap())
            .args([
                "--client",
                &port.to_string(),
                &width.to_string(),
                &height.to_string(),
                "--seconds",
                &seconds.to_string(),
            ])
            .env("NEKO_LOGLEVEL", "warn")
            .output()
            .expect("the client case runs");
        let line = String::from_utf8_lossy(&output.stdout);
        let Some(json) = line.lines().rev().find(|l| l.starts_with('{')) else {
            eprintln!(
                "{width}x{height}: client failed: {}",
                String::from_utf8_lossy(&output.stderr)
            );
            continue;
        };
        let v: serde_json::Value = serde_json::from_str(json).unwrap();
        println!(
            "| {} | {} | {} | {} ms | {} ms | {} MB | {} |",
            v["size"].as_str().unwrap_or("?"),
            v["fps"],
            v["cpu_ms_per_frame"],
            v["latency_p50_ms"],
            v["latency_p99_ms"],
            v["peak_rss_mb"],
            v["decoder"].as_str().unwrap_or("?"),
        );
        let _ = std::io::stdout().flush();
    }
}
