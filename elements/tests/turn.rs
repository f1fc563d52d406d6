//! Relay-only ICE through a real coturn TURN server on loopback: nekosrc receives video and
//! nekosink's audio reaches the room, both over a relay candidate pair; a wrong TURN password or
//! no TURN server at all is a clear error, not a hang.

mod common;

use std::time::{Duration, Instant};

use common::Receiver;
use gst::prelude::*;
use neko_sandbox::RoomConfig;
use neko_sandbox::testing::turn::{PASSWORD, TurnServer};
use neko_sandbox::testing::{MEDIA, TestRoom, audio};

fn relay_properties(turn_uri: &str) -> String {
    format!("audio=false ice-transport-policy=relay turn-servers=<\"{turn_uri}\">")
}

#[test]
fn relay_only_video_arrives_over_a_relay_pair() {
    let _media = MEDIA.lock().unwrap_or_else(|e| e.into_inner());
    let turn = TurnServer::start();
    let room = TestRoom::start_blocking(RoomConfig::loopback(320, 240, 10));
    let receiver = Receiver::start_with(
        &room.base_url(),
        "alice",
        "neko",
        &relay_properties(&turn.uri()),
        "",
    );
    receiver
        .wait_frame(Duration::from_secs(30), |f| f.width == 320)
        .expect("video frames through the TURN relay");
    let stats = receiver.wait_stats(Duration::from_secs(10), "a selected pair", |s| {
        !s.get::<String>("ice-local-candidate-type")
            .unwrap()
            .is_empty()
    });
    assert_eq!(
        stats.get::<String>("ice-local-candidate-type").unwrap(),
        "relay",
        "{stats}"
    );
}

#[test]
fn relay_only_audio_reaches_the_room_over_a_relay_pair() {
    let _media = MEDIA.lock().unwrap_or_else(|e| e.into_inner());
    let turn = TurnServer::start();
    let room = TestRoom::start_blocking(RoomConfig::loopback(320, 240, 10));
    let pipeline = gst::parse::launch(&format!(
        "audiotestsrc is-live=true wave=sine freq=440 volume=0.5 samplesperbuffer=960 \
         ! audio/x-raw,rate=48000,channels=1 ! nekosink name=sink url={} username=bob \
         password=neko ice-local-addresses=127.0.0.1 ice-transport-policy=relay \
         turn-servers=<\"{}\">",
        room.base_url(),
        turn.uri()
    ))
    .unwrap()
    .downcast::<gst::Pipeline>()
    .unwrap();
    let sink = pipeline.by_name("sink").unwrap();
    pipeline.set_state(gst::State::Playing).unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut heard_seconds = 0.0;
    while Instant::now() < deadline && heard_seconds < 1.0 {
        std::thread::sleep(Duration::from_millis(200));
        heard_seconds = audio::audible_seconds(&room.microphone().heard(), 0.05);
    }
    let stats = sink.property::<gst::Structure>("stats");
    pipeline.set_state(gst::State::Null).unwrap();
    assert!(
        heard_seconds >= 1.0,
        "the room heard {heard_seconds:.2} s ({stats})"
    );
    let tone: Vec<i16> = audio::samples(&room.microphone().heard());
    let frequency = audio::tone_frequency(&tone);
    assert!((frequency - 440.0).abs() <= 5.0, "heard {frequency:.1} Hz");
    assert_eq!(
        stats.get::<String>("ice-local-candidate-type").unwrap(),
        "relay",
        "{stats}"
    );
}

#[test]
fn a_wrong_turn_password_with_relay_only_is_a_clear_error() {
    let turn = TurnServer::start();
    let room = TestRoom::start_blocking(RoomConfig::loopback(320, 240, 10));
    let wrong = format!("{PASSWORD}-wrong");
    let receiver = Receiver::start_with(
        &room.base_url(),
        "carol",
        "neko",
        &relay_properties(&turn.uri_with_password(&wrong)),
        "",
    );
    let error = receiver
        .error(Duration::from_secs(40))
        .expect("an error instead of waiting forever");
    assert!(error.contains("relay-only ICE"), "{error}");
    assert!(error.contains("TURN server"), "{error}");
    assert!(!error.contains(&wrong), "the TURN password leaked: {error}");
    assert_eq!(receiver.frame_count(), 0);
}

#[test]
fn relay_only_without_any_turn_server_is_a_clear_error() {
    let room = TestRoom::start_blocking(RoomConfig::loopback(320, 240, 10));
    let receiver = Receiver::start_with(
        &room.base_url(),
        "dave",
        "neko",
        "audio=false ice-transport-policy=relay",
        "",
    );
    let error = receiver
        .error(Duration::from_secs(15))
        .expect("an error on the bus");
    assert!(
        error.contains("neither the settings nor the room"),
        "{error}"
    );
}

#[test]
fn a_malformed_turn_uri_is_refused_before_connecting() {
    let room = TestRoom::start_blocking(RoomConfig::loopback(320, 240, 10));
    let pipeline = gst::parse::launch(&format!(
        "nekosrc url={} username=erin password=neko audio=false \
         turn-servers=<\"turn://127.0.0.1:3478\"> ! fakesink",
        room.base_url()
    ))
    .unwrap();
    assert!(pipeline.set_state(gst::State::Playing).is_err());
    let message = pipeline
        .bus()
        .unwrap()
        .timed_pop_filtered(gst::ClockTime::from_seconds(5), &[gst::MessageType::Error])
        .expect("an error on the bus");
    let gst::MessageView::Error(error) = message.view() else {
        unreachable!()
    };
    let error = error.error().to_string();
    pipeline.set_state(gst::State::Null).unwrap();
    assert!(error.contains("turn-servers"), "{error}");
    assert_eq!(room.login_attempts(), 0);
}
