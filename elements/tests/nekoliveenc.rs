//! `nekoliveenc` on its own: it encodes to the codec asked for (H.264 by default) on the
//! encoder the machine has, names that encoder, and makes a key frame when a viewer arrives (a
//! force-key-unit event).

use gst::prelude::*;

fn init() {
    gst::init().unwrap();
    gstneko::plugin_register_static().unwrap();
}

/// Encodes 30 frames of a 320×180 test picture with `codec`; the output caps, the chosen
/// encoder, and which frames were key frames. A force-key-unit event goes upstream after frame
/// 10 (as when a viewer joins).
fn encode(codec: &str) -> (gst::Caps, String, Vec<bool>) {
    init();
    let pipeline = gst::parse::launch(&format!(
        "videotestsrc num-buffers=30 ! video/x-raw,width=320,height=180,framerate=15/1 \
         ! videoconvert ! nekoliveenc name=enc codec={codec} keyframe-interval=1000 \
         ! appsink name=out sync=false"
    ))
    .unwrap()
    .downcast::<gst::Pipeline>()
    .unwrap();
    let sink = pipeline
        .by_name("out")
        .unwrap()
        .downcast::<gst_app::AppSink>()
        .unwrap();
    pipeline.set_state(gst::State::Playing).unwrap();
    let mut keys = Vec::new();
    let mut caps = None;
    while let Ok(sample) = sink.pull_sample() {
        caps = sample.caps().map(|c| c.to_owned());
        let buffer = sample.buffer().unwrap();
        keys.push(!buffer.flags().contains(gst::BufferFlags::DELTA_UNIT));
        if keys.len() == 10 {
            let event = gst_video::UpstreamForceKeyUnitEvent::builder()
                .all_headers(true)
                .build();
            sink.static_pad("sink").unwrap().push_event(event);
        }
    }
    let encoder = pipeline
        .by_name("enc")
        .unwrap()
        .property::<Option<String>>("encoder")
        .unwrap();
    pipeline.set_state(gst::State::Null).unwrap();
    (caps.unwrap(), encoder, keys)
}

fn hardware_h264() -> bool {
    ["nvh264enc", "vah264enc", "qsvh264enc"]
        .iter()
        .any(|name| gst::ElementFactory::find(name).is_some())
}

#[test]
fn h264_comes_out_in_a_baseline_profile_with_a_key_frame_on_request() {
    let (caps, encoder, keys) = encode("h264");
    let s = caps.structure(0).unwrap();
    assert_eq!(s.name(), "video/x-h264");
    let profile = s.get::<String>("profile").unwrap();
    assert!(
        ["constrained-baseline", "baseline"].contains(&profile.as_str()),
        "{caps}"
    );
    if !hardware_h264() {
        assert_eq!(encoder, "x264enc");
    }
    assert!(keys[0], "the first frame is a key frame");
    let requested: Vec<usize> = (1..keys.len()).filter(|&i| keys[i]).collect();
    assert!(
        requested.iter().any(|&i| (10..20).contains(&i)),
        "a key frame soon after the request: {requested:?}"
    );
}

#[test]
fn vp8_on_request_and_h264_by_default() {
    let (caps, encoder, keys) = encode("vp8");
    assert_eq!(caps.structure(0).unwrap().name(), "video/x-vp8");
    assert_eq!(encoder, "vp8enc");
    assert!(keys[0]);
    assert!((10..20).any(|i| keys[i]), "{keys:?}");
    let (caps, encoder, _) = encode("auto");
    assert_eq!(caps.structure(0).unwrap().name(), "video/x-h264");
    if !hardware_h264() {
        assert_eq!(encoder, "x264enc");
    }
}
