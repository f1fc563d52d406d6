//! A WHEP viewer for the tests: `webrtcbin` offering to receive VP8 or H.264 (as browsers do),
//! the offer `POST`ed to a WHEP URL, the answer applied, and every decoded frame handed to a
//! callback as RGB.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use gst::prelude::*;
use gst_webrtc::{WebRTCSDPType, WebRTCSessionDescription};

/// A decoded frame: width, height and RGB bytes.
pub struct Frame<'a> {
    pub width: usize,
    pub height: usize,
    pub rgb: &'a [u8],
}

impl Frame<'_> {
    /// The RGB value at `x, y`.
    pub fn pixel(&self, x: usize, y: usize) -> [u8; 3] {
        let i = (y * self.width + x) * 3;
        [self.rgb[i], self.rgb[i + 1], self.rgb[i + 2]]
    }
}

/// A connected viewer; dropping it stops its pipeline.
pub struct Viewer {
    pipeline: gst::Pipeline,
    /// The viewer's resource (the `Location` of the answer), for `DELETE`.
    pub location: String,
    codec: Arc<Mutex<Option<String>>>,
}

impl Viewer {
    /// The `encoding-name` of the video received (`VP8`, `H264`), once it arrives.
    pub fn codec(&self) -> Option<String> {
        self.codec.lock().unwrap().clone()
    }
}

impl Drop for Viewer {
    fn drop(&mut self) {
        let _ = self.pipeline.set_state(gst::State::Null);
    }
}

/// What posting the offer gave when it was not `201`.
#[derive(Debug)]
pub struct Refused {
    pub status: u16,
    pub body: String,
}

/// Connects to the WHEP endpoint `url` and calls `on_frame` for every decoded frame.
pub async fn connect(
    url: &str,
    on_frame: impl Fn(Frame<'_>) + Send + Sync + 'static,
) -> Result<Viewer, Refused> {
    connect_with(url, Some(Arc::new(on_frame))).await
}

/// Connects to `url` and receives the video without decoding it (a viewer that costs its
/// machine next to nothing, for measuring the sender).
pub async fn connect_without_decoding(url: &str) -> Result<Viewer, Refused> {
    connect_with(url, None).await
}

/// A frame callback.
type OnFrame = Arc<dyn Fn(Frame<'_>) + Send + Sync>;

async fn connect_with(url: &str, on_frame: Option<OnFrame>) -> Result<Viewer, Refused> {
    let pipeline = gst::Pipeline::new();
    let webrtcbin = gst::ElementFactory::make("webrtcbin").build().unwrap();
    webrtcbin.set_property_from_str("bundle-policy", "max-bundle");
    pipeline.add(&webrtcbin).unwrap();
    let rtp = |name: &str, payload: i32| {
        gst::Structure::builder("application/x-rtp")
            .field("media", "video")
            .field("encoding-name", name)
            .field("payload", payload)
            .field("clock-rate", 90000i32)
    };
    let caps = gst::Caps::builder_full()
        .structure(rtp("VP8", 96).build())
        .structure(
            rtp("H264", 102)
                .field("packetization-mode", "1")
                .field("profile-level-id", "42e01f")
                .build(),
        )
        .build();
    webrtcbin.emit_by_name::<gst_webrtc::WebRTCRTPTransceiver>(
        "add-transceiver",
        &[&gst_webrtc::WebRTCRTPTransceiverDirection::Recvonly, &caps],
    );
    let bin = pipeline.clone();
    let codec = Arc::new(Mutex::new(None));
    let received = codec.clone();
    webrtcbin.connect_pad_added(move |_, pad| {
        if pad.direction() != gst::PadDirection::Src {
            return;
        }
        let name = pad
            .current_caps()
            .and_then(|caps| {
                caps.structure(0)
                    .and_then(|s| s.get::<String>("encoding-name").ok())
            })
            .unwrap_or_default();
        *received.lock().unwrap() = Some(name.clone());
        let Some(on_frame) = on_frame.clone() else {
            let sink = gst::ElementFactory::make("fakesink")
                .property("sync", false)
                .build()
                .unwrap();
            bin.add(&sink).unwrap();
            sink.sync_state_with_parent().unwrap();
            pad.link(&sink.static_pad("sink").unwrap()).unwrap();
            return;
        };
        let decoder = match name.as_str() {
            "H264" => "rtph264depay ! h264parse ! avdec_h264",
            _ => "rtpvp8depay ! vp8dec",
        };
        let decode = gst::parse::bin_from_description(
            &format!(
                "{decoder} ! videoconvert ! video/x-raw,format=RGB ! appsink name=out sync=false"
            ),
            true,
        )
        .unwrap();
        let sink = decode
            .by_name("out")
            .unwrap()
            .downcast::<gst_app::AppSink>()
            .unwrap();
        sink.set_callbacks(
            gst_app::AppSinkCallbacks::builder()
                .new_sample(move |sink| {
                    let sample = sink.pull_sample().map_err(|_| gst::FlowError::Eos)?;
                    let info = gst_video::VideoInfo::from_caps(sample.caps().unwrap()).unwrap();
                    let buffer = sample.buffer().unwrap();
                    let map = buffer.map_readable().unwrap();
                    let stride = info.stride()[0] as usize;
                    let width = info.width() as usize;
                    let height = info.height() as usize;
                    let rgb: Vec<u8> = map
                        .chunks(stride)
                        .take(height)
                        .flat_map(|row| row[..width * 3].to_vec())
                        .collect();
                    on_frame(Frame {
                        width,
                        height,
                        rgb: &rgb,
                    });
                    Ok(gst::FlowSuccess::Ok)
                })
                .build(),
        );
        bin.add(&decode).unwrap();
        decode.sync_state_with_parent().unwrap();
        pad.link(&decode.static_pad("sink").unwrap()).unwrap();
    });
    pipeline.set_state(gst::State::Playing).unwrap();

    let offer = {
        let promise = gst::Promise::new();
        webrtcbin.emit_by_name::<()>("create-offer", &[&None::<gst::Structure>, &promise]);
        promise.wait();
        let offer = promise
            .get_reply()
            .unwrap()
            .get::<WebRTCSessionDescription>("offer")
            .unwrap();
        let promise = gst::Promise::new();
        webrtcbin.emit_by_name::<()>("set-local-description", &[&offer, &promise]);
        promise.wait();
        let deadline = Instant::now() + Duration::from_secs(5);
        while webrtcbin.property::<gst_webrtc::WebRTCICEGatheringState>("ice-gathering-state")
            != gst_webrtc::WebRTCICEGatheringState::Complete
            && Instant::now() < deadline
        {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        webrtcbin
            .property::<WebRTCSessionDescription>("local-description")
            .sdp()
            .as_text()
            .unwrap()
    };
    let response = reqwest::Client::new()
        .post(url)
        .header("Content-Type", "application/sdp")
        .body(offer)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let location = response
        .headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let body = response.text().await.unwrap();
    if status != 201 {
        let _ = pipeline.set_state(gst::State::Null);
        return Err(Refused { status, body });
    }
    let answer = gst_sdp::SDPMessage::parse_buffer(body.as_bytes()).unwrap();
    let answer = WebRTCSessionDescription::new(WebRTCSDPType::Answer, answer);
    let promise = gst::Promise::new();
    webrtcbin.emit_by_name::<()>("set-remote-description", &[&answer, &promise]);
    promise.wait();
    Ok(Viewer {
        pipeline,
        location,
        codec,
    })
}
