//! nekosink against the sandbox room over real WebRTC on loopback: the room's microphone hears
//! what the element sends, at the right pitch and in real time.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use gst::prelude::*;
use gstneko::protocol::MemberProfile;
use neko_sandbox::testing::{self, MEDIA, TestRoom, audio};
use neko_sandbox::{OfferStyle, Room, RoomConfig};

fn launch(description: &str) -> gst::Pipeline {
    gst::parse::launch(description)
        .expect("the pipeline parses")
        .downcast::<gst::Pipeline>()
        .expect("a pipeline")
}

/// Waits for an element message named `name`, an error (returned as Err) or the timeout.
fn wait_message(pipeline: &gst::Pipeline, name: &str, timeout: Duration) -> Result<(), String> {
    let bus = pipeline.bus().unwrap();
    let deadline = Instant::now() + timeout;
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        let Some(message) = bus.timed_pop(gst::ClockTime::from_nseconds(left.as_nanos() as u64))
        else {
            break;
        };
        match message.view() {
            gst::MessageView::Error(error) => return Err(error.error().to_string()),
            gst::MessageView::Element(element)
                if element.structure().is_some_and(|s| s.name() == name) =>
            {
                return Ok(());
            }
            gst::MessageView::Eos(_) if name == "eos" => return Ok(()),
            _ => {}
        }
    }
    Err(format!("no {name} within {timeout:?}"))
}

fn sink_description(room: &Room, user: &str) -> String {
    format!(
        "nekosink name=sink url={} username={user} password=neko ice-local-addresses=127.0.0.1",
        room.base_url()
    )
}

#[test]
fn a_tone_arrives_at_its_pitch_in_real_time() {
    assert_tone_arrives(OfferStyle::Pion);
}

/// The room's other offer shape (no header extensions, msid or ssrc lines; `OPUS`) works too.
#[test]
fn a_tone_arrives_with_the_minimal_offer() {
    assert_tone_arrives(OfferStyle::Minimal);
}

/// A 440 Hz tone sent through nekosink is heard by the room at its pitch, in real time, when
/// the room offers in `style`.
fn assert_tone_arrives(style: OfferStyle) {
    let _media = MEDIA.lock().unwrap_or_else(|e| e.into_inner());
    let room = TestRoom::start_blocking(RoomConfig {
        offer_style: style,
        ..RoomConfig::loopback(320, 240, 10)
    });
    let pipeline = launch(&format!(
        "audiotestsrc is-live=true wave=sine freq=440 volume=0.5 samplesperbuffer=960 \
         ! audio/x-raw,rate=48000,channels=1 ! valve name=gate drop=true ! {}",
        sink_description(&room, "alice")
    ));
    let sent = Arc::new(AtomicU64::new(0));
    let gate = pipeline.by_name("gate").unwrap();
    let counter = sent.clone();
    gate.static_pad("src")
        .unwrap()
        .add_probe(gst::PadProbeType::BUFFER, move |_, info| {
            if let Some(gst::PadProbeData::Buffer(buffer)) = &info.data {
                counter.fetch_add(buffer.size() as u64 / 2, Ordering::Relaxed);
            }
            gst::PadProbeReturn::Ok
        });
    pipeline.set_state(gst::State::Playing).unwrap();
    wait_message(&pipeline, "neko-sink-sending", Duration::from_secs(20))
        .expect("the room takes our audio");
    // Give DTLS a moment after ICE so nothing sent is lost to the handshake.
    std::thread::sleep(Duration::from_millis(500));
    room.microphone().clear();
    gate.set_property("drop", false);
    std::thread::sleep(Duration::from_secs(5));
    gate.set_property("drop", true);
    std::thread::sleep(Duration::from_millis(800));
    let stats = pipeline
        .by_name("sink")
        .unwrap()
        .property::<gst::Structure>("stats");
    pipeline.set_state(gst::State::Null).unwrap();

    let sent_seconds = sent.load(Ordering::Relaxed) as f64 / 48_000.0;
    let heard = room.microphone().heard();
    let loud = audio::audible(&heard, 0.05);
    let loud_seconds = audio::audible_seconds(&heard, 0.05);
    assert!(
        (loud_seconds - sent_seconds).abs() <= 0.05 * sent_seconds,
        "sent {sent_seconds:.3} s, the room heard {loud_seconds:.3} s of tone ({stats})"
    );
    let span = loud.last().unwrap().at - loud.first().unwrap().at;
    let first_len = loud[0].samples.len() as f64 / 48_000.0;
    let span = span.as_secs_f64() + first_len;
    assert!(
        (span - sent_seconds).abs() <= 0.05 * sent_seconds,
        "{sent_seconds:.3} s of audio arrived over {span:.3} s: not real time"
    );
    let tone: Vec<i16> = loud.iter().flat_map(|h| h.samples.clone()).collect();
    let frequency = audio::tone_frequency(&tone);
    assert!(
        (frequency - 440.0).abs() <= 5.0,
        "the room heard {frequency:.1} Hz"
    );
    assert_eq!(stats.get::<&str>("input").unwrap(), "raw");
    assert!(stats.get::<u64>("packets-sent").unwrap() > 200, "{stats}");
}

#[test]
fn a_faster_than_real_time_source_is_paced_and_ends_with_eos() {
    let _media = MEDIA.lock().unwrap_or_else(|e| e.into_inner());
    let room = TestRoom::start_blocking(RoomConfig::loopback(320, 240, 10));
    let pipeline = launch(&format!(
        "audiotestsrc wave=sine freq=440 samplesperbuffer=960 num-buffers=75 \
         ! audio/x-raw,rate=48000,channels=2 ! {}",
        sink_description(&room, "alice")
    ));
    let started = Instant::now();
    pipeline.set_state(gst::State::Playing).unwrap();
    wait_message(&pipeline, "eos", Duration::from_secs(20)).expect("EOS after the audio");
    let elapsed = started.elapsed();
    pipeline.set_state(gst::State::Null).unwrap();
    assert!(
        elapsed >= Duration::from_millis(1400),
        "1.5 s of audio were consumed in {elapsed:?}"
    );
}

#[test]
fn opus_input_is_sent_as_it_is() {
    let _media = MEDIA.lock().unwrap_or_else(|e| e.into_inner());
    let room = TestRoom::start_blocking(RoomConfig::loopback(320, 240, 10));
    let pipeline = launch(&format!(
        "audiotestsrc is-live=true wave=sine freq=660 volume=0.5 ! audio/x-raw,rate=48000,channels=2 \
         ! opusenc frame-size=40 ! {}",
        sink_description(&room, "alice")
    ));
    pipeline.set_state(gst::State::Playing).unwrap();
    wait_message(&pipeline, "neko-sink-sending", Duration::from_secs(20))
        .expect("the room takes our audio");
    std::thread::sleep(Duration::from_secs(2));
    let stats = pipeline
        .by_name("sink")
        .unwrap()
        .property::<gst::Structure>("stats");
    pipeline.set_state(gst::State::Null).unwrap();
    assert_eq!(stats.get::<&str>("input").unwrap(), "opus");
    let tone = audio::samples(
        &audio::audible(&room.microphone().heard(), 0.05)
            .into_iter()
            .cloned()
            .collect::<Vec<_>>(),
    );
    assert!(tone.len() > 48_000, "heard {} samples", tone.len());
    let frequency = audio::tone_frequency(&tone);
    assert!((frequency - 660.0).abs() <= 5.0, "heard {frequency:.1} Hz");
}

#[test]
fn a_profile_without_can_share_media_is_a_clear_error() {
    let _media = MEDIA.lock().unwrap_or_else(|e| e.into_inner());
    let room = TestRoom::start_blocking(RoomConfig {
        user_profile: MemberProfile {
            can_share_media: false,
            ..MemberProfile::user()
        },
        ..RoomConfig::loopback(320, 240, 10)
    });
    let pipeline = launch(&format!(
        "audiotestsrc is-live=true ! {}",
        sink_description(&room, "alice")
    ));
    pipeline.set_state(gst::State::Playing).unwrap();
    let error =
        wait_message(&pipeline, "neko-sink-sending", Duration::from_secs(20)).expect_err("refused");
    pipeline.set_state(gst::State::Null).unwrap();
    assert!(error.contains("can_share_media=false"), "{error}");
    assert!(room.microphone().heard().is_empty());
}

#[test]
fn a_bad_frame_size_is_refused_before_connecting() {
    testing::init();
    let pipeline = launch(
        "audiotestsrc ! nekosink url=http://127.0.0.1:9 username=a password=b frame-size=30",
    );
    assert!(pipeline.set_state(gst::State::Playing).is_err());
    let error = wait_message(&pipeline, "never", Duration::from_secs(5)).unwrap_err();
    pipeline.set_state(gst::State::Null).unwrap();
    assert!(error.contains("frame-size 30 ms"), "{error}");
}
