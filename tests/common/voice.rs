//! `neko-agent yap` against a sandbox room: the room, the process, a reference voice and a
//! person who chats (shared by `tests/yap.rs` and `benches/yap.rs`).

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use gstneko::client::{ClientConfig, ClientNotice, NekoClient, Target, wait_for_notice};
use neko_sandbox::testing::TestRoom;
use neko_sandbox::{Room, RoomConfig};

/// A small room on loopback sending `rate` frames per second (the voice needs no big video), on
/// a runtime of its own.
pub fn start_room(rate: u32) -> TestRoom {
    TestRoom::start_blocking(RoomConfig::loopback(320, 240, rate))
}

/// `binary yap` joining `room` as `yap`, with its voices in `voices` and `extra` arguments.
pub fn yap_command(binary: &str, room: &Room, voices: &Path, extra: &[&str]) -> Command {
    let mut command = Command::new(binary);
    command
        .arg("yap")
        .args(["--neko-url", &room.base_url()])
        .args(["--username", "yap", "--password", "neko"])
        .args(["--ice-addresses", "127.0.0.1", "--voices-dir"])
        .arg(voices)
        .args(extra);
    command
}

/// The default voice's reference recording, as F5-TTS needs one: a second of a quiet tone.
pub fn write_reference_voice(voices: &Path) {
    std::fs::create_dir_all(voices).unwrap();
    let reference: Vec<i16> = (0..24_000)
        .map(|i| ((i as f32 / 24_000.0 * 220.0 * std::f32::consts::TAU).sin() * 3000.0) as i16)
        .collect();
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 24_000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut writer = hound::WavWriter::create(voices.join("default.wav"), spec).unwrap();
    for sample in reference {
        writer.write_sample(sample).unwrap();
    }
    writer.finalize().unwrap();
}

/// A person logged in to `room` and joined (on the room's runtime), ready to chat.
pub fn join_person(room: &TestRoom) -> NekoClient {
    let target = Target::new(&room.base_url(), Some("person"), Some("neko"), None).unwrap();
    room.block_on(async {
        let (client, mut notices) = NekoClient::start(ClientConfig::new(target));
        wait_for_notice(&mut notices, Duration::from_secs(10), |n| {
            matches!(n, ClientNotice::Connected { .. }).then_some(())
        })
        .await
        .expect("the person joins");
        client
    })
}
