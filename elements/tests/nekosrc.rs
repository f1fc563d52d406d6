//! nekosrc against the sandbox room over real WebRTC on loopback.

mod common;

use std::time::{Duration, Instant};

use common::{Receiver, close_to};
use neko_sandbox::desktop::Desktop;
use neko_sandbox::media::VideoCodec;
use neko_sandbox::testing::{MEDIA, TestRoom};
use neko_sandbox::{OfferStyle, RoomConfig};

const WIDTH: u32 = 1280;
const HEIGHT: u32 = 720;

/// Centre of a named region, nudged up-left so the cursor drawn at a click point does not cover it.
fn region_probe(name: &str) -> ((u32, u32), (u32, u32), [u8; 3]) {
    let region = Desktop::new(WIDTH, HEIGHT)
        .region(name)
        .expect("region exists");
    let (cx, cy) = region.rect.center();
    ((cx, cy), (cx - 12, cy - 12), region.color)
}

fn assert_streams_at_room_size(codec: VideoCodec) {
    let _media = MEDIA.lock().unwrap_or_else(|e| e.into_inner());
    let room = TestRoom::start_blocking(RoomConfig {
        codec,
        ..RoomConfig::loopback(WIDTH, HEIGHT, 30)
    });
    let receiver = Receiver::start(&room.url(), "alice", "neko", "");
    let first = receiver
        .wait_frame(Duration::from_secs(30), |_| true)
        .expect("a first frame within 30 s");
    assert_eq!((first.width, first.height), (WIDTH, HEIGHT));
    // The stream keeps flowing (the room sends 30 frames/s; how many a machine decodes per
    // second is the benchmarks' business, not a test's).
    assert!(
        receiver.wait_frames(60, Duration::from_secs(20)),
        "{codec:?}: 60 more frames did not arrive within 20 s"
    );
    let (_, probe, colour) = region_probe("red");
    let frame = receiver.latest().unwrap();
    let seen = frame.pixel(probe.0, probe.1).unwrap();
    assert!(
        close_to(seen, colour, 30),
        "{codec:?}: red region shows {seen:?}, expected {colour:?}"
    );
    let stats = receiver.stats();
    let expected = if codec == VideoCodec::H264 {
        "H264"
    } else {
        "VP8"
    };
    assert_eq!(stats.get::<String>("video-codec").unwrap(), expected);
    assert!(stats.get::<u64>("video-bytes").unwrap() > 0);
}

#[test]
fn vp8_frames_of_the_room_size_flow() {
    assert_streams_at_room_size(VideoCodec::Vp8);
}

#[test]
fn h264_frames_of_the_room_size_flow() {
    assert_streams_at_room_size(VideoCodec::H264);
}

#[test]
fn input_through_the_action_signal_reaches_the_room_and_the_picture() {
    let _media = MEDIA.lock().unwrap_or_else(|e| e.into_inner());
    let room = TestRoom::start_blocking(RoomConfig {
        codec: VideoCodec::Vp8,
        ..RoomConfig::loopback(WIDTH, HEIGHT, 30)
    });
    let receiver = Receiver::start(&room.url(), "alice", "neko", "");
    let (_, probe, colour) = region_probe("blue");
    receiver
        .wait_frame(Duration::from_secs(30), |f| {
            f.pixel(probe.0, probe.1)
                .is_some_and(|p| close_to(p, colour, 30))
        })
        .expect("the blue region shows");
    let ((x, y), _, _) = region_probe("blue");
    let click =
        format!(r#"{{"event":"control/buttonpress","payload":{{"code":1,"x":{x},"y":{y}}}}}"#);
    assert!(receiver.send_event(&click));
    let recorded = room
        .block_on(room.wait_for_input(
            |i| i.event == "control/buttonpress",
            Duration::from_secs(10),
        ))
        .expect("the room records the click");
    assert!(recorded.accepted, "the click was refused: {recorded:?}");
    assert_eq!(recorded.payload["x"], x);
    let changed = receiver.wait_frame(Duration::from_secs(10), |f| {
        f.pixel(probe.0, probe.1)
            .is_some_and(|p| !close_to(p, colour, 60))
    });
    assert!(
        changed.is_some(),
        "the clicked region did not change colour in received frames"
    );
    assert!(!receiver.send_event("not json"));
}

#[test]
fn wrong_password_is_a_clear_error_without_retries() {
    let room = TestRoom::start_blocking(RoomConfig {
        media: false,
        ..RoomConfig::loopback(WIDTH, HEIGHT, 30)
    });
    let receiver = Receiver::start(&room.url(), "mallory", "wrong", "");
    let error = receiver
        .error(Duration::from_secs(10))
        .expect("an error on the bus");
    assert!(
        error.contains(&room.url()) && error.contains("mallory"),
        "{error}"
    );
    assert!(error.contains("wrong username or password"), "{error}");
    assert!(
        receiver.error(Duration::from_secs(3)).is_none(),
        "a second error: the element retried"
    );
    assert_eq!(room.login_attempts(), 1);
}

#[test]
fn unreachable_server_is_retried_with_backoff_until_the_room_starts() {
    let _media = MEDIA.lock().unwrap_or_else(|e| e.into_inner());
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let url = format!("http://127.0.0.1:{port}");
    let receiver = Receiver::start(&url, "alice", "neko", "");
    let warnings = receiver.warnings(Duration::from_millis(3500));
    assert!(
        warnings.len() >= 2,
        "expected retries with backoff, got {warnings:?}"
    );
    assert!(
        warnings[0].contains("cannot reach") && warnings[0].contains(&url),
        "{warnings:?}"
    );
    let room = TestRoom::start_blocking(RoomConfig {
        bind: format!("127.0.0.1:{port}").parse().unwrap(),
        ..RoomConfig::loopback(WIDTH, HEIGHT, 30)
    });
    assert_eq!(room.url(), url);
    assert!(
        receiver
            .wait_frame(Duration::from_secs(45), |_| true)
            .is_some(),
        "no frames after the room started"
    );
}

#[test]
fn websocket_drop_mid_stream_reconnects_and_frames_resume() {
    let _media = MEDIA.lock().unwrap_or_else(|e| e.into_inner());
    let room = TestRoom::start_blocking(RoomConfig {
        codec: VideoCodec::Vp8,
        ..RoomConfig::loopback(WIDTH, HEIGHT, 30)
    });
    let receiver = Receiver::start(&room.url(), "alice", "neko", "");
    receiver
        .wait_frame(Duration::from_secs(30), |_| true)
        .expect("first frame");
    room.disconnect_all_websockets();
    receiver.wait_stats(Duration::from_secs(20), "no reconnect", |s| {
        s.get::<u32>("reconnects").unwrap() > 0
    });
    assert!(
        receiver.wait_frames(20, Duration::from_secs(10)),
        "frames did not resume"
    );
    assert!(receiver.error(Duration::ZERO).is_none());
}

#[test]
fn malformed_json_from_the_server_is_skipped() {
    let room = TestRoom::start_blocking(RoomConfig {
        media: false,
        ..RoomConfig::loopback(WIDTH, HEIGHT, 30)
    });
    let receiver = Receiver::start(&room.url(), "alice", "neko", "");
    let deadline = Instant::now() + Duration::from_secs(10);
    let session = loop {
        let id = receiver.stats().get::<String>("session-id").unwrap();
        if !id.is_empty() {
            break id;
        }
        assert!(Instant::now() < deadline, "never connected");
        std::thread::sleep(Duration::from_millis(50));
    };
    room.send_raw_text(&session, "{this is not json");
    room.send_raw_text(&session, r#"{"event":"signal/candidate","payload":42}"#);
    assert!(receiver.send_event(r#"{"event":"chat/message","payload":{"text":"still here"}}"#));
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let echoed = receiver
            .events
            .lock()
            .unwrap()
            .iter()
            .any(|(name, json)| name == "chat/message" && json.contains("still here"));
        if echoed {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the session died after malformed frames"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(receiver.error(Duration::ZERO).is_none());
}

/// The room's other offer shape (no header extensions, msid or ssrc lines; `OPUS`, data channel
/// mid `application0`) works as well as the real server's, which the other tests use.
#[test]
fn video_and_audio_arrive_with_the_minimal_offer() {
    let _media = MEDIA.lock().unwrap_or_else(|e| e.into_inner());
    let room = TestRoom::start_blocking(RoomConfig {
        offer_style: OfferStyle::Minimal,
        ..RoomConfig::loopback(WIDTH, HEIGHT, 30)
    });
    let receiver = Receiver::start_with(
        &room.url(),
        "alice",
        "neko",
        "audio=true",
        "src.audio ! audioconvert ! fakesink sync=false  src.video",
    );
    let frame = receiver
        .wait_frame(Duration::from_secs(30), |_| true)
        .expect("a first frame within 30 s");
    assert_eq!((frame.width, frame.height), (WIDTH, HEIGHT));
    let stats = receiver.wait_stats(Duration::from_secs(10), "no audio", |s| {
        s.get::<u64>("audio-bytes").unwrap() > 0
    });
    assert_eq!(stats.get::<String>("audio-codec").unwrap(), "OPUS");
}

#[test]
fn outputs_follow_what_downstream_accepts_and_audio_is_decoded() {
    let _media = MEDIA.lock().unwrap_or_else(|e| e.into_inner());
    let room = TestRoom::start_blocking(RoomConfig {
        codec: VideoCodec::Vp8,
        ..RoomConfig::loopback(WIDTH, HEIGHT, 30)
    });
    let cases = [
        ("audio=false", "! vp8dec", "encoded"),
        ("audio=false", "! rtpvp8depay ! vp8dec", "rtp"),
        (
            "audio=true",
            "src.audio ! audioconvert ! fakesink sync=false  src.video",
            "decoded",
        ),
    ];
    for (properties, chain, mode) in cases {
        let receiver = Receiver::start_with(&room.url(), "alice", "neko", properties, chain);
        let frame = receiver.wait_frame(Duration::from_secs(30), |_| true);
        assert!(frame.is_some(), "{mode}: no frames through {chain:?}");
        let stats = receiver.stats();
        assert_eq!(
            stats.get::<String>("video-output").unwrap(),
            mode,
            "{stats}"
        );
        if properties == "audio=true" {
            let stats = receiver.wait_stats(Duration::from_secs(10), "no audio", |s| {
                s.get::<u64>("audio-bytes").unwrap() > 0
            });
            assert_eq!(stats.get::<String>("audio-codec").unwrap(), "OPUS");
            assert_eq!(stats.get::<String>("audio-decoder").unwrap(), "opusdec");
        }
    }
}

#[test]
fn a_closed_peer_is_replaced_by_a_fresh_request_and_frames_resume() {
    let _media = MEDIA.lock().unwrap_or_else(|e| e.into_inner());
    let room = TestRoom::start_blocking(RoomConfig {
        codec: VideoCodec::Vp8,
        ..RoomConfig::loopback(WIDTH, HEIGHT, 30)
    });
    let receiver = Receiver::start(&room.url(), "alice", "neko", "");
    receiver
        .wait_frame(Duration::from_secs(30), |_| true)
        .expect("first frame");
    let session = receiver.stats().get::<String>("session-id").unwrap();
    assert!(room.fail_peer(&session), "the session has a peer");
    receiver.wait_stats(
        Duration::from_secs(20),
        "no new peer after signal/close",
        |s| s.get::<u32>("peer-connections").unwrap() >= 2,
    );
    assert!(
        receiver
            .events
            .lock()
            .unwrap()
            .iter()
            .any(|(name, _)| name == "signal/close")
    );
    assert!(
        receiver.wait_frames(20, Duration::from_secs(10)),
        "frames did not resume on the new peer"
    );
    assert!(receiver.error(Duration::ZERO).is_none());
}
