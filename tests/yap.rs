//! `neko-agent yap` against the sandbox room over real WebRTC and Opus: chat in, speech heard by
//! the room's microphone.

mod common;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::MEDIA;
use common::voice;
use gstneko::client::NekoClient;
use gstneko::protocol::{ChatContent, ClientEvent};
use neko_sandbox::testing::TestRoom;
use neko_sandbox::testing::audio;

/// RMS above which a microphone buffer counts as speech.
const SPEECH: f64 = 0.01;

/// A room, `neko-agent yap` in it and a person who chats; all stopped when dropped.
struct YapSession {
    room: TestRoom,
    yap: Option<Child>,
    person: Option<NekoClient>,
    dir: std::path::PathBuf,
}

impl YapSession {
    /// A room, a running `neko-agent yap` (with `extra` arguments) and a person to chat.
    fn start(name: &str, extra: &[&str]) -> YapSession {
        let room = voice::start_room(10);
        let dir = std::env::temp_dir().join(format!("neko-yap-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let yap = voice::yap_command(
            env!("CARGO_BIN_EXE_neko-agent"),
            &room,
            &dir.join("voices"),
            extra,
        )
        .env("NEKO_LOGLEVEL", "info")
        .env("NEKO_LOGFILE", dir.join("yap.log"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("neko-agent starts");
        let person = voice::join_person(&room);
        YapSession {
            room,
            yap: Some(yap),
            person: Some(person),
            dir,
        }
    }

    fn room(&self) -> &TestRoom {
        &self.room
    }

    fn chat(&self, text: &str) {
        let person = self.person.as_ref().unwrap();
        self.room
            .block_on(person.send(ClientEvent::ChatMessage(ChatContent::new(text))))
            .expect("chat sent");
    }

    /// Waits until chat shows a message containing `needle`.
    fn wait_chat(&self, needle: &str, timeout: Duration) -> Instant {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(message) = self
                .room()
                .chat_messages()
                .into_iter()
                .find(|m| m.text.contains(needle))
            {
                return message.at;
            }
            assert!(
                Instant::now() < deadline,
                "no chat message with {needle:?}; log: {}\nchat: {:?}",
                std::fs::read_to_string(self.dir.join("yap.log")).unwrap_or_default(),
                self.room()
                    .chat_messages()
                    .iter()
                    .map(|m| m.text.clone())
                    .collect::<Vec<_>>()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Seconds of speech heard so far.
    fn speech(&self) -> f64 {
        audio::audible_seconds(&self.room().microphone().heard(), SPEECH)
    }

    /// Waits until the room has heard `seconds` of speech.
    fn wait_speech(&mut self, seconds: f64, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        while self.speech() < seconds {
            if Instant::now() > deadline {
                let (code, stderr) = self.stop();
                panic!("yap exited with {code}: {stderr}");
            }
            assert!(
                Instant::now() < deadline,
                "only {:.2} s of speech heard; chat: {:?}",
                self.speech(),
                self.room()
                    .chat_messages()
                    .iter()
                    .map(|m| m.text.clone())
                    .collect::<Vec<_>>()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits until yap is connected and heard by the room (its silence arrives).
    fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while self.room().microphone().heard().len() < 5 {
            assert!(
                Instant::now() < deadline,
                "yap never reached the room's microphone"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Stops yap with SIGTERM; returns its exit code and stderr.
    fn stop(&mut self) -> (i32, String) {
        let mut yap = self.yap.take().unwrap();
        unsafe { libc::kill(yap.id() as i32, libc::SIGTERM) };
        wait_output(&mut yap, Duration::from_secs(10))
    }
}

fn wait_output(child: &mut Child, timeout: Duration) -> (i32, String) {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let mut stderr = String::new();
            if let Some(mut pipe) = child.stderr.take() {
                use std::io::Read;
                let _ = pipe.read_to_string(&mut stderr);
            }
            return (status.code().unwrap_or(-1), stderr);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("neko-agent did not exit");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

impl Drop for YapSession {
    fn drop(&mut self) {
        if let Some(mut yap) = self.yap.take() {
            let _ = yap.kill();
            let _ = yap.wait();
        }
        if let Some(person) = self.person.take() {
            person.stop();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Seconds eSpeak takes to say `text` on its own, as the reference for what the room must hear.
fn espeak_seconds(text: &str) -> f64 {
    use neko_agent::voice::cancel::CancelFlag;
    use neko_agent::voice::tts::espeak::EspeakTts;
    use neko_agent::voice::tts::{Synthesizer, VoiceRequest};
    let engine = EspeakTts::new("en-us").unwrap();
    let samples = engine
        .synthesize(text, &VoiceRequest::espeak("en-us"), &CancelFlag::new())
        .unwrap();
    let loud = samples
        .chunks(441)
        .filter(|c| (c.iter().map(|s| s * s).sum::<f32>() / c.len() as f32).sqrt() > SPEECH as f32)
        .map(<[f32]>::len)
        .sum::<usize>();
    loud as f64 / 22_050.0
}

#[test]
fn yap_speaks_every_sentence_and_stops_within_100_ms() {
    let _media = MEDIA.lock().unwrap_or_else(|e| e.into_inner());
    let mut sandbox = YapSession::start("say", &[]);
    sandbox.wait_ready();

    let text = "Hello world. This is a test";
    sandbox.chat(&format!("/yap {text}"));
    let expected = espeak_seconds(text);
    sandbox.wait_speech(expected * 0.8, Duration::from_secs(10));
    std::thread::sleep(Duration::from_millis(1500));
    let heard = sandbox.speech();
    assert!(
        (heard - expected).abs() <= expected * 0.2,
        "eSpeak says it in {expected:.2} s of speech, the room heard {heard:.2} s"
    );

    // A long utterance, stopped mid-sentence.
    sandbox.room().microphone().clear();
    sandbox.chat("/yap This sentence is long on purpose, so that it is still being spoken when the stop command arrives, and it goes on and on for a while longer.");
    sandbox.wait_speech(1.0, Duration::from_secs(10));
    sandbox.chat("/yap:stop");
    let stop_at = sandbox.wait_chat("/yap:stop", Duration::from_secs(5));
    sandbox.wait_chat("[yap] stopped / queue flushed", Duration::from_secs(5));
    std::thread::sleep(Duration::from_millis(1000));
    let heard = sandbox.room().microphone().heard();
    let last = audio::last_audible(&heard, SPEECH).expect("speech was heard");
    let after = last.saturating_duration_since(stop_at);
    assert!(
        after <= Duration::from_millis(100),
        "speech went on for {after:?} after /yap:stop reached the room"
    );

    let (code, stderr) = sandbox.stop();
    assert_eq!(code, 0, "{stderr}");
}

#[test]
fn stream_mode_speaks_sentences_as_they_complete_and_the_tail_at_the_end() {
    let _media = MEDIA.lock().unwrap_or_else(|e| e.into_inner());
    let mut sandbox = YapSession::start("stream", &["--chunk-sec", "20"]);
    sandbox.wait_ready();
    sandbox.chat("/yap:begin");
    sandbox.wait_chat("[yap] stream: begin", Duration::from_secs(5));
    sandbox.chat("The first sentence is complete.");
    sandbox.chat("And this one");
    sandbox.wait_speech(0.5, Duration::from_secs(10));
    std::thread::sleep(Duration::from_millis(2500));
    let first = sandbox.speech();
    let expected_first = espeak_seconds("The first sentence is complete.");
    assert!(
        (first - expected_first).abs() <= expected_first * 0.25,
        "before /yap:end the room heard {first:.2} s; the first sentence alone is {expected_first:.2} s"
    );
    sandbox.chat("is not finished");
    sandbox.chat("/yap:end");
    sandbox.wait_chat("[yap] stream: end", Duration::from_secs(5));
    std::thread::sleep(Duration::from_millis(2500));
    let tail = sandbox.speech() - first;
    let expected_tail = espeak_seconds("And this one is not finished");
    assert!(
        (tail - expected_tail).abs() <= expected_tail * 0.25,
        "the tail was {tail:.2} s of speech; eSpeak says it in {expected_tail:.2} s"
    );
    // Its own replies are never spoken, and neither is chat outside stream mode.
    sandbox.room().microphone().clear();
    sandbox.chat("nobody asked for this to be spoken");
    std::thread::sleep(Duration::from_millis(1500));
    assert!(
        sandbox.speech() < 0.05,
        "chat outside stream mode was spoken"
    );
}

#[test]
fn f5_fixture_graphs_reach_the_room() {
    let _media = MEDIA.lock().unwrap_or_else(|e| e.into_inner());
    let models = concat!(env!("CARGO_MANIFEST_DIR"), "/models/f5-fixture");
    let mut sandbox = YapSession::start("f5", &["--tts", "f5", "--f5-model-dir", models]);
    voice::write_reference_voice(&sandbox.dir.join("voices"));
    sandbox.wait_ready();
    sandbox.chat("/yap Hello there, this is the fixture speaking.");
    sandbox.wait_speech(0.5, Duration::from_secs(20));
    std::thread::sleep(Duration::from_millis(1000));
    let heard = sandbox.room().microphone().heard();
    let tone = audio::samples(
        &audio::audible(&heard, SPEECH)
            .into_iter()
            .cloned()
            .collect::<Vec<_>>(),
    );
    let frequency = audio::tone_frequency(&tone);
    // The fixture's decoder sings at 200 + 10 × (transformer calls) Hz: 510 Hz after 31 calls.
    assert!(
        (frequency - 510.0).abs() <= 5.0,
        "the room heard {frequency:.1} Hz; the full F5 loop gives 510 Hz"
    );
}

#[test]
fn voice_commands_answer_in_chat_and_bad_input_is_explained() {
    let _media = MEDIA.lock().unwrap_or_else(|e| e.into_inner());
    let mut sandbox = YapSession::start("voices", &[]);
    sandbox.wait_ready();
    sandbox.chat("/yap:voice add --spk robot --ref espeak:en-us+m3 --rate 1.3");
    sandbox.wait_chat("[yap] voice 'robot' added/updated", Duration::from_secs(5));
    sandbox.chat("/yap:voice set --spk robot --pitch 2");
    sandbox.wait_chat("[yap] voice set: spk=robot", Duration::from_secs(5));
    sandbox.chat("/yap:voice add --spk ghost --ref /nonexistent/ghost.wav");
    sandbox.wait_chat("does not exist", Duration::from_secs(5));
    sandbox.chat("/yap:voice set --rate fast");
    sandbox.wait_chat("is not a number", Duration::from_secs(5));
    sandbox.chat("/yap:voice add --spk nobody");
    sandbox.wait_chat(
        "[yap] error: /yap:voice add --spk <id> --ref <wav>",
        Duration::from_secs(5),
    );
    sandbox.chat("/yap:pause");
    sandbox.wait_chat("unknown command", Duration::from_secs(5));
    let file = sandbox.dir.join("voices/voices.json");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(json["robot"]["ref_audio"], "espeak:en-us+m3");
    assert_eq!(json["robot"]["params"]["rate"], 1.3);
    assert!(json.get("ghost").is_none());
    // A hand edit that breaks the file is reported, and the last good voices stay in use.
    std::fs::write(&file, "{ not json").unwrap();
    sandbox.chat("/yap:voice reload");
    sandbox.wait_chat("is not a voices file", Duration::from_secs(5));
    sandbox.chat("/yap Still speaking.");
    sandbox.wait_speech(0.3, Duration::from_secs(10));
}

#[test]
fn settings_and_connection_errors_are_clear() {
    common::init();
    let voices = std::env::temp_dir().join(format!("neko-yap-errors-{}", std::process::id()));
    let run = |args: &[&str]| {
        let output = Command::new(env!("CARGO_BIN_EXE_neko-agent"))
            .arg("yap")
            .args(args)
            .env("YAP_VOICES_DIR", &voices)
            .env("NEKO_LOGLEVEL", "error")
            .env_remove("NEKO_URL")
            .env_remove("NEKO_WS")
            .output()
            .unwrap();
        (
            output.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    };
    let (code, stderr) = run(&["--frame-ms", "30"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("Opus frames are 10, 20, 40 or 60 ms"),
        "{stderr}"
    );
    assert!(stderr.contains("no server"), "{stderr}");
    let unreachable = [
        "--connect-timeout",
        "3",
        "--neko-url",
        "http://127.0.0.1:9",
        "--username",
        "a",
        "--password",
        "b",
    ];
    let (code, stderr) = run(&unreachable);
    assert_eq!(code, 3, "{stderr}");
    assert!(stderr.contains("cannot reach the Neko server"), "{stderr}");
    let mut missing = unreachable.to_vec();
    missing.extend(["--tts", "f5", "--f5-model-dir", "/nonexistent/f5"]);
    let (code, stderr) = run(&missing);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("/nonexistent/f5"), "{stderr}");
    let mut health = unreachable.to_vec();
    health.push("--healthcheck");
    let (code, stderr) = run(&health);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.starts_with("Error: "), "{stderr}");
    let _ = std::fs::remove_dir_all(&voices);
}
