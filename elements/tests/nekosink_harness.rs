//! nekosink's sink pad without a room: which caps it takes, how it rebuilds its send chain when
//! the input changes, and that EOS ends the element. The session points at a closed port, so
//! the element runs without ever reaching a room.

use std::time::{Duration, Instant};

use gst::prelude::*;
use gst_check::Harness;

fn init() {
    gst::init().expect("GStreamer initialises");
    gstneko::plugin_register_static().expect("the neko plugin registers");
}

/// A playing nekosink fed by a harness, with a bus to watch its messages.
fn playing_sink() -> (Harness, gst::Bus) {
    init();
    let sink = gst::ElementFactory::make("nekosink")
        .property("url", "http://127.0.0.1:1")
        .property("username", "tester")
        .property("password", "secret")
        .property("reconnect", false)
        .build()
        .expect("nekosink");
    let bus = gst::Bus::new();
    sink.set_bus(Some(&bus));
    let mut harness = Harness::with_element(&sink, Some("sink"), None);
    // clocksync paces in real time: the harness's test clock would never let a buffer through.
    harness.use_systemclock();
    harness.play();
    (harness, bus)
}

fn raw_caps(rate: i32, channels: i32) -> gst::Caps {
    gst::Caps::builder("audio/x-raw")
        .field("format", "S16LE")
        .field("layout", "interleaved")
        .field("rate", rate)
        .field("channels", channels)
        .build()
}

fn opus_caps() -> gst::Caps {
    gst::Caps::builder("audio/x-opus")
        .field("channel-mapping-family", 0i32)
        .field("rate", 48_000i32)
        .field("channels", 2i32)
        .build()
}

/// 20 ms of silence at `rate` with `channels`, stamped `index` × 20 ms.
fn silence(rate: i32, channels: i32, index: u64) -> gst::Buffer {
    let samples = (rate / 50) as usize;
    let mut buffer = gst::Buffer::from_mut_slice(vec![0u8; samples * channels as usize * 2]);
    let buffer_ref = buffer.get_mut().expect("a new buffer is writable");
    buffer_ref.set_pts(gst::ClockTime::from_mseconds(20 * index));
    buffer_ref.set_duration(gst::ClockTime::from_mseconds(20));
    buffer
}

fn input_kind(harness: &Harness) -> String {
    harness
        .element()
        .expect("the harness holds the element")
        .property::<gst::Structure>("stats")
        .get::<String>("input")
        .expect("stats has input")
}

fn accepts(harness: &Harness, caps: &gst::Caps) -> bool {
    harness
        .srcpad()
        .expect("the harness feeds the sink pad")
        .peer_query_accept_caps(caps)
}

/// The first message of `kind` from the element itself within `timeout`.
fn wait_for(bus: &gst::Bus, kind: gst::MessageType, timeout: Duration) -> Option<gst::Message> {
    let deadline = Instant::now() + timeout;
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        let message = bus.timed_pop_filtered(
            gst::ClockTime::from_nseconds(left.as_nanos() as u64),
            &[kind],
        )?;
        if message
            .src()
            .is_some_and(|s| s.name().starts_with("nekosink"))
        {
            return Some(message);
        }
    }
    None
}

#[test]
fn takes_raw_audio_of_any_rate_and_layout() {
    let (mut harness, _bus) = playing_sink();
    assert!(accepts(&harness, &raw_caps(44_100, 2)));
    assert!(accepts(&harness, &opus_caps()));

    harness.set_src_caps(raw_caps(44_100, 2));
    assert_eq!(input_kind(&harness), "raw");
    for index in 0..3 {
        assert_eq!(
            harness.push(silence(44_100, 2, index)),
            Ok(gst::FlowSuccess::Ok)
        );
    }

    // Another rate and layout goes through the same chain, which converts and resamples.
    assert!(accepts(&harness, &raw_caps(16_000, 1)));
    assert!(harness.push_event(gst::event::Caps::new(&raw_caps(16_000, 1))));
    assert_eq!(input_kind(&harness), "raw");
    for index in 3..6 {
        assert_eq!(
            harness.push(silence(16_000, 1, index)),
            Ok(gst::FlowSuccess::Ok)
        );
    }
    // Once the raw chain is built, its encoder answers for the pad: Opus is not taken mid-stream.
    assert!(!accepts(&harness, &opus_caps()));
}

#[test]
fn takes_opus_as_it_is() {
    let (mut harness, _bus) = playing_sink();
    harness.set_src_caps(opus_caps());
    assert_eq!(input_kind(&harness), "opus");
}

#[test]
fn refuses_what_is_not_audio() {
    let (mut harness, _bus) = playing_sink();
    let video = gst::Caps::builder("video/x-raw")
        .field("format", "RGB")
        .field("width", 2i32)
        .field("height", 2i32)
        .build();
    assert!(!accepts(&harness, &video));
    harness.set_src_caps(video);
    assert_eq!(input_kind(&harness), "");
    let frame = gst::Buffer::from_mut_slice(vec![0u8; 12]);
    assert_eq!(harness.push(frame), Err(gst::FlowError::NotNegotiated));
}

#[test]
fn eos_ends_the_element() {
    let (mut harness, bus) = playing_sink();
    harness.set_src_caps(raw_caps(48_000, 1));
    for index in 0..5 {
        assert_eq!(
            harness.push(silence(48_000, 1, index)),
            Ok(gst::FlowSuccess::Ok)
        );
    }
    assert!(harness.push_event(gst::event::Eos::new()));
    assert!(
        wait_for(&bus, gst::MessageType::Eos, Duration::from_secs(5)).is_some(),
        "nekosink posts EOS once all audio went through its chain"
    );
    // Nothing was linked to a room: every packet was dropped inside the element.
    let stats = harness
        .element()
        .expect("the harness holds the element")
        .property::<gst::Structure>("stats");
    assert!(
        stats
            .get::<u64>("packets-dropped")
            .expect("packets-dropped")
            > 0
    );
    assert_eq!(stats.get::<u64>("packets-sent").expect("packets-sent"), 0);
}
