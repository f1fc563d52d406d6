//! `neko-agent yap` end to end on this machine: time from a `/yap` chat message reaching the
//! room to the first audio packet the room's microphone decodes, and the CPU the yap process
//! spends per second of speech sent. Prints a table.
//!
//! `cargo bench --bench yap` (needs the release binary: `cargo build --release` first, or it
//! builds it).

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use gstneko::protocol::{ChatContent, ClientEvent};
use neko_sandbox::MICROPHONE_RATE;
use neko_sandbox::testing::audio;

#[path = "../tests/common/voice.rs"]
mod voice;

const ROUNDS: usize = 12;
const SPEECH_RMS: f64 = 0.01;

/// CPU seconds (user + system) the process has used so far.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // After the command name: state is field 0, utime 11, stime 12 (clock ticks of 1/100 s).
    (ticks(11) + ticks(12)) / 100.0
}

fn percentile(values: &mut [f64], p: f64) -> f64 {
    values.sort_by(f64::total_cmp);
    values[((values.len() - 1) as f64 * p).round() as usize]
}

struct Run {
    first_audio_ms: Vec<f64>,
    cpu_per_audio_second: f64,
}

fn measure(binary: &str, engine_args: &[&str]) -> Run {
    let room = voice::start_room(5);
    let dir = std::env::temp_dir().join(format!("neko-yap-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    voice::write_reference_voice(&dir.join("voices"));
    let mut yap: Child = voice::yap_command(binary, &room, &dir.join("voices"), engine_args)
        .env("NEKO_LOGLEVEL", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("neko-agent starts");
    let person = voice::join_person(&room);
    let deadline = Instant::now() + Duration::from_secs(20);
    while room.microphone().heard().len() < 10 {
        assert!(Instant::now() < deadline, "yap never reached the room");
        std::thread::sleep(Duration::from_millis(50));
    }
    let say = |text: &str| {
        room.block_on(person.send(ClientEvent::ChatMessage(ChatContent::new(text))))
            .expect("chat sent");
    };
    let mut first_audio_ms = Vec::new();
    for round in 0..ROUNDS {
        room.microphone().clear();
        let text = format!("/yap Hello there, round {round}.");
        say(&text);
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let heard = room.microphone().heard();
            if let Some(first) = audio::audible(&heard, SPEECH_RMS).first() {
                let sent = room
                    .chat_messages()
                    .into_iter()
                    .rev()
                    .find(|m| m.text == text)
                    .expect("the room got the message");
                let started = first.at
                    - Duration::from_secs_f64(
                        first.samples.len() as f64 / f64::from(MICROPHONE_RATE),
                    );
                first_audio_ms
                    .push(started.saturating_duration_since(sent.at).as_secs_f64() * 1000.0);
                break;
            }
            assert!(Instant::now() < deadline, "no speech for round {round}");
            std::thread::sleep(Duration::from_millis(2));
        }
        std::thread::sleep(Duration::from_millis(2500));
    }
    // CPU per second of speech: a long utterance, counted while it plays.
    room.microphone().clear();
    std::thread::sleep(Duration::from_millis(500));
    let before = cpu_seconds(yap.id());
    say(
        "/yap This is a longer utterance for measuring the processor time that speaking costs. It goes on for several sentences, so the steady cost dominates. Synthesis, crossfades, the queue, Opus encoding and the network all count. That is the whole path from text to the room.",
    );
    std::thread::sleep(Duration::from_secs(20));
    let used = cpu_seconds(yap.id()) - before;
    let heard = room.microphone().heard();
    let speech_seconds = audio::audible_seconds(&heard, SPEECH_RMS);
    let _ = yap.kill();
    let _ = yap.wait();
    person.stop();
    drop(room);
    let _ = std::fs::remove_dir_all(&dir);
    Run {
        first_audio_ms,
        cpu_per_audio_second: used / speech_seconds.max(0.001),
    }
}

fn main() {
    neko_sandbox::testing::init_gstreamer();
    let binary = concat!(env!("CARGO_MANIFEST_DIR"), "/target/release/neko-agent");
    let built = Command::new("cargo")
        .args(["build", "--release", "--quiet", "--bin", "neko-agent"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    assert!(built, "cargo build --release failed");
    let fixture = concat!(env!("CARGO_MANIFEST_DIR"), "/models/f5-fixture");
    println!(
        "| engine | first audio p50 (ms) | p90 (ms) | max (ms) | yap CPU per second of speech |"
    );
    println!("|---|---|---|---|---|");
    for (name, args) in [
        ("eSpeak NG", vec!["--tts", "espeak"]),
        (
            "F5 fixture (CPU)",
            vec!["--tts", "f5", "--f5-model-dir", fixture],
        ),
    ] {
        let mut run = measure(binary, &args);
        let p50 = percentile(&mut run.first_audio_ms, 0.5);
        let p90 = percentile(&mut run.first_audio_ms, 0.9);
        let max = percentile(&mut run.first_audio_ms, 1.0);
        println!(
            "| {name} | {p50:.1} | {p90:.1} | {max:.1} | {:.1} ms ({:.1}% of a core) |",
            run.cpu_per_audio_second * 1000.0,
            run.cpu_per_audio_second * 100.0
        );
    }
}
