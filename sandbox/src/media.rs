//! The room's media: renders the synthetic desktop, encodes it once (VP8 or H.264) with Opus
//! audio, and fans the encoded stream out to every WebRTC peer.

use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use gst::prelude::*;
use gstneko::protocol::{ClientDatagram, IceServer, ServerEvent, SignalRequest};

use super::desktop::{Desktop, DesktopInput};
use super::heard::Microphone;
use super::offer_style::OfferStyle;
use super::peer::{PeerHandle, PeerInputs, RoomPeer};
use crate::stamp;

/// Video codec the room encodes with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum VideoCodec {
    /// VP8, payload type 96 (Neko's default).
    #[default]
    Vp8,
    /// H.264 constrained baseline, payload type 102.
    H264,
}

impl VideoCodec {
    /// RTP payload type Neko uses for this codec.
    pub fn payload_type(self) -> u32 {
        match self {
            Self::Vp8 => 96,
            Self::H264 => 102,
        }
    }
}

/// Media settings of a room.
#[derive(Debug, Clone)]
pub struct MediaConfig {
    /// Screen width in pixels.
    pub width: u32,
    /// Screen height in pixels.
    pub height: u32,
    /// Frames per second.
    pub rate: u32,
    /// Video codec.
    pub codec: VideoCodec,
    /// Local addresses ICE may use (empty: every interface).
    pub ice_addresses: Vec<IpAddr>,
    /// How offers are worded.
    pub offer_style: OfferStyle,
    /// The ICE servers offered to clients in `signal/provide`.
    pub ice_servers: Vec<IceServer>,
}

/// Called with a session id and whether its WebRTC peer is now connected.
pub type PeerStateCallback = Box<dyn Fn(&str, bool) + Send + Sync>;

/// Called with a session id and a datagram from its data channel.
pub type DatagramCallback = Box<dyn Fn(&str, ClientDatagram) + Send + Sync>;

/// Whether a session hosts now.
pub type HostQuery = Box<dyn Fn(&str) -> bool + Send + Sync>;

/// Callbacks into the room's control plane.
pub struct MediaEvents {
    /// A peer's WebRTC connection came up (true) or closed (false).
    pub on_peer_state: PeerStateCallback,
    /// Binary input from a peer's data channel.
    pub on_datachannel_input: DatagramCallback,
    /// Asked when a data channel opens: the host is not sent its own pointer position.
    pub is_host: HostQuery,
}

/// Media failures.
#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    /// A GStreamer element or pipeline could not be built.
    #[error("room media pipeline: {0}")]
    Pipeline(String),
    /// A JPEG snapshot failed.
    #[error("screenshot failed: {0}")]
    Snapshot(String),
}

impl MediaError {
    pub(super) fn pipeline(e: impl std::fmt::Display) -> Self {
        Self::Pipeline(e.to_string())
    }
}

/// The room's renderer, encoders and peers.
pub struct RoomMedia {
    config: Mutex<MediaConfig>,
    desktop: Arc<Mutex<Desktop>>,
    pipeline: gst::Pipeline,
    desktop_src: gst_app::AppSrc,
    peers: Arc<Mutex<Vec<Weak<PeerInputs>>>>,
    events: Arc<MediaEvents>,
    running: Arc<AtomicBool>,
    frames: Arc<AtomicU64>,
    self_ref: Weak<RoomMedia>,
}

fn encoder_description(codec: VideoCodec) -> &'static str {
    match codec {
        VideoCodec::Vp8 => {
            "vp8enc deadline=1 cpu-used=8 end-usage=cbr target-bitrate=3000000 keyframe-max-dist=60 \
             lag-in-frames=0 error-resilient=default threads=2 buffer-size=1000 buffer-initial-size=500"
        }
        VideoCodec::H264 => {
            "x264enc tune=zerolatency speed-preset=ultrafast key-int-max=60 bitrate=4000 threads=2 \
             ! video/x-h264,profile=constrained-baseline,stream-format=byte-stream,alignment=au"
        }
    }
}

fn raw_caps(width: u32, height: u32, rate: u32) -> gst::Caps {
    gst::Caps::builder("video/x-raw")
        .field("format", "RGBx")
        .field("width", width as i32)
        .field("height", height as i32)
        .field("framerate", gst::Fraction::new(rate as i32, 1))
        .build()
}

impl RoomMedia {
    /// Builds and starts the media pipeline.
    pub fn new(config: &MediaConfig, events: MediaEvents) -> Result<Arc<RoomMedia>, MediaError> {
        gst::init().map_err(MediaError::pipeline)?;
        let description = format!(
            "appsrc name=desktop is-live=true format=time do-timestamp=true block=false max-bytes=0 max-buffers=2 leaky-type=downstream \
             ! videoconvert ! video/x-raw,format=I420 ! {encoder} ! appsink name=video sync=false emit-signals=false max-buffers=4 drop=true \
             audiotestsrc is-live=true wave=sine freq=330 volume=0.03 ! audio/x-raw,rate=48000,channels=2 \
             ! opusenc bitrate=64000 frame-size=20 ! appsink name=audio sync=false emit-signals=false max-buffers=8 drop=true",
            encoder = encoder_description(config.codec)
        );
        let pipeline = gst::parse::launch(&description)
            .map_err(MediaError::pipeline)?
            .downcast::<gst::Pipeline>()
            .map_err(|_| MediaError::Pipeline("not a pipeline".into()))?;
        let get = |name: &str| {
            pipeline
                .by_name(name)
                .ok_or_else(|| MediaError::Pipeline(format!("{name} missing")))
        };
        let desktop_src = get("desktop")?
            .downcast::<gst_app::AppSrc>()
            .map_err(|_| MediaError::Pipeline("desktop is not an appsrc".into()))?;
        desktop_src.set_caps(Some(&raw_caps(config.width, config.height, config.rate)));
        let video_sink = get("video")?
            .downcast::<gst_app::AppSink>()
            .map_err(|_| MediaError::Pipeline("video is not an appsink".into()))?;
        let audio_sink = get("audio")?
            .downcast::<gst_app::AppSink>()
            .map_err(|_| MediaError::Pipeline("audio is not an appsink".into()))?;

        let media = Arc::new_cyclic(|self_ref| RoomMedia {
            config: Mutex::new(config.clone()),
            desktop: Arc::new(Mutex::new(Desktop::new(config.width, config.height))),
            pipeline: pipeline.clone(),
            desktop_src,
            peers: Arc::default(),
            events: Arc::new(events),
            running: Arc::new(AtomicBool::new(true)),
            frames: Arc::default(),
            self_ref: self_ref.clone(),
        });
        fan_out(&video_sink, media.peers.clone(), true);
        fan_out(&audio_sink, media.peers.clone(), false);
        pipeline
            .set_state(gst::State::Playing)
            .map_err(MediaError::pipeline)?;
        media.start_renderer();
        Ok(media)
    }

    /// The main pipeline's clock base time (peers share it so timestamps line up).
    pub(super) fn base_time(&self) -> Option<gst::ClockTime> {
        self.pipeline.base_time()
    }

    /// The codec in use.
    pub fn codec(&self) -> VideoCodec {
        self.config.lock().map(|c| c.codec).unwrap_or_default()
    }

    /// Current screen size.
    pub fn size(&self) -> (u32, u32) {
        self.desktop.lock().map(|d| d.size()).unwrap_or((0, 0))
    }

    /// Frames rendered so far.
    pub fn frames_rendered(&self) -> u64 {
        self.frames.load(Ordering::Relaxed)
    }

    /// The desktop state, for tests and the sandbox inspection routes.
    pub fn desktop(&self) -> Arc<Mutex<Desktop>> {
        self.desktop.clone()
    }

    fn start_renderer(&self) {
        let desktop = self.desktop.clone();
        let src = self.desktop_src.clone();
        let running = self.running.clone();
        let frames = self.frames.clone();
        let config = self.config.lock().map(|c| c.clone());
        let Ok(config) = config else { return };
        let period = Duration::from_secs_f64(1.0 / f64::from(config.rate.max(1)));
        let spawned = std::thread::Builder::new()
            .name("room-desktop".into())
            .spawn(move || {
                let mut next = Instant::now();
                let mut frame_number = 0u64;
                while running.load(Ordering::Relaxed) {
                    let Ok(mut desktop) = desktop.lock() else {
                        break;
                    };
                    let (width, height) = desktop.size();
                    let mut buffer = match gst::Buffer::with_size((width * height * 4) as usize) {
                        Ok(buffer) => buffer,
                        Err(_) => break,
                    };
                    if let Some(map) = buffer
                        .get_mut()
                        .and_then(|b| b.map_writable().ok())
                        .as_mut()
                    {
                        desktop.render(frame_number, stamp::now_ms(), map.as_mut_slice());
                    }
                    drop(desktop);
                    if src.push_buffer(buffer).is_err() {
                        break;
                    }
                    frame_number += 1;
                    frames.store(frame_number, Ordering::Relaxed);
                    next += period;
                    let now = Instant::now();
                    if next > now {
                        std::thread::sleep(next - now);
                    } else {
                        next = now;
                    }
                }
            });
        if let Err(error) = spawned {
            tracing::error!(%error, "could not start the desktop renderer");
        }
    }

    /// Creates a WebRTC peer for a session and starts the offer (sent through `to_client`).
    pub fn create_peer(
        &self,
        session_id: &str,
        request: &SignalRequest,
        to_client: tokio::sync::mpsc::UnboundedSender<ServerEvent>,
        microphone: Option<Arc<Microphone>>,
    ) -> Result<PeerHandle, MediaError> {
        let config = self
            .config
            .lock()
            .map_err(|_| MediaError::Pipeline("config lock".into()))?
            .clone();
        let me = self
            .self_ref
            .upgrade()
            .ok_or_else(|| MediaError::Pipeline("room is shutting down".into()))?;
        let peer = RoomPeer::start(
            &me,
            &config,
            session_id,
            request,
            to_client,
            self.events.clone(),
            microphone,
        )?;
        if let Ok(mut peers) = self.peers.lock() {
            peers.retain(|p| p.strong_count() > 0);
            peers.push(Arc::downgrade(&peer.inputs()));
        }
        Ok(peer.into_handle())
    }

    /// Asks the encoder for a keyframe.
    pub(super) fn request_keyframe(&self) {
        let event = gst_video::UpstreamForceKeyUnitEvent::builder()
            .all_headers(true)
            .build();
        if let Some(sink) = self.pipeline.by_name("video") {
            sink.send_event(event);
        }
    }

    /// Applies input to the desktop (the picture changes from the next frame on).
    pub fn apply_input(&self, input: DesktopInput) {
        if let Ok(mut desktop) = self.desktop.lock() {
            desktop.apply(&input);
        }
    }

    /// Changes the screen size; the stream continues at the new size without renegotiation.
    pub fn resize(&self, width: u32, height: u32, rate: u32) -> Result<(), MediaError> {
        let rate = self
            .config
            .lock()
            .map(|c| {
                if rate == 0 {
                    c.rate
                } else {
                    rate.min(c.rate.max(1))
                }
            })
            .unwrap_or(30);
        if let Ok(mut desktop) = self.desktop.lock() {
            desktop.resize(width, height);
            let (width, height) = desktop.size();
            self.desktop_src
                .set_caps(Some(&raw_caps(width, height, rate)));
            if let Ok(mut config) = self.config.lock() {
                config.width = width;
                config.height = height;
            }
        }
        self.request_keyframe();
        Ok(())
    }

    /// A JPEG of the current desktop.
    pub fn snapshot_jpeg(&self, quality: u8) -> Result<Vec<u8>, MediaError> {
        let (rgbx, width, height) = {
            let mut desktop = self
                .desktop
                .lock()
                .map_err(|_| MediaError::Snapshot("desktop lock".into()))?;
            let (width, height) = desktop.size();
            let mut rgbx = vec![0u8; (width * height * 4) as usize];
            let frame = self.frames.load(Ordering::Relaxed);
            desktop.render(frame, stamp::now_ms(), &mut rgbx);
            (rgbx, width, height)
        };
        let rgb: Vec<u8> = rgbx
            .chunks_exact(4)
            .flat_map(|p| [p[0], p[1], p[2]])
            .collect();
        let mut jpeg = Vec::new();
        let encoder = jpeg_encoder::Encoder::new(&mut jpeg, quality.clamp(1, 100));
        encoder
            .encode(
                &rgb,
                width as u16,
                height as u16,
                jpeg_encoder::ColorType::Rgb,
            )
            .map_err(|e| MediaError::Snapshot(e.to_string()))?;
        Ok(jpeg)
    }

    /// Stops rendering and every peer.
    pub fn shutdown(&self) {
        self.running.store(false, Ordering::Relaxed);
        if let Ok(peers) = self.peers.lock() {
            for peer in peers.iter().filter_map(Weak::upgrade) {
                peer.close();
            }
        }
        let _ = self.pipeline.set_state(gst::State::Null);
    }
}

impl Drop for RoomMedia {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Pushes every encoded buffer of `sink` into each live peer.
fn fan_out(sink: &gst_app::AppSink, peers: Arc<Mutex<Vec<Weak<PeerInputs>>>>, video: bool) {
    sink.set_callbacks(
        gst_app::AppSinkCallbacks::builder()
            .new_sample(move |sink| {
                let sample = sink.pull_sample().map_err(|_| gst::FlowError::Eos)?;
                let Some(mut buffer) = sample.buffer_owned() else {
                    return Ok(gst::FlowSuccess::Ok);
                };
                // Peers run their own pipelines on the same clock and base time: hand them
                // running times (x264enc, for one, stamps buffers 1000 h into its segment).
                if let Some(segment) = sample
                    .segment()
                    .and_then(|s| s.downcast_ref::<gst::format::Time>())
                {
                    let buffer = buffer.make_mut();
                    let pts = buffer.pts().and_then(|pts| segment.to_running_time(pts));
                    let dts = buffer.dts().and_then(|dts| segment.to_running_time(dts));
                    buffer.set_pts(pts);
                    buffer.set_dts(dts);
                }
                let caps = sample.caps_owned();
                let live: Vec<Arc<PeerInputs>> = match peers.lock() {
                    Ok(peers) => peers.iter().filter_map(Weak::upgrade).collect(),
                    Err(_) => Vec::new(),
                };
                for peer in live {
                    if video {
                        peer.push_video(&buffer, caps.as_ref());
                    } else {
                        peer.push_audio(&buffer, caps.as_ref());
                    }
                }
                Ok(gst::FlowSuccess::Ok)
            })
            .build(),
    );
}
