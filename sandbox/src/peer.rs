//! One WebRTC peer of the room, as the real server builds it: the room offers audio (mid 0),
//! video (mid 1) and the data channel `data` (mid 2), trickles its candidates (possibly before
//! the offer is delivered), and closes the peer when ICE fails or disconnects.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};

use gst::prelude::*;
use gst_webrtc::{
    WebRTCDataChannel, WebRTCICEConnectionState, WebRTCRTPTransceiver,
    WebRTCRTPTransceiverDirection, WebRTCSDPType, WebRTCSessionDescription,
};
use gstneko::protocol::{
    IceCandidate, IceServer, PeerAudio, PeerVideo, ServerEvent, SignalDescription, SignalProvide,
    SignalRequest,
};
use tokio::sync::mpsc::UnboundedSender;

use super::datachannel::RoomDataChannel;
use super::heard::Microphone;
use super::media::{MediaConfig, MediaError, MediaEvents, RoomMedia, VideoCodec};
use super::offer_style::{OfferStyle, TrackKind};
use super::upstream::DeclaredAudio;

/// Receive jitterbuffer latency for upstream media, in milliseconds.
const RECEIVE_LATENCY_MS: u32 = 20;

/// Whether a webrtcbin src pad carries Opus.
fn is_opus(pad: &gst::Pad) -> bool {
    let caps = pad.current_caps().unwrap_or_else(|| pad.query_caps(None));
    caps.structure(0)
        .and_then(|s| s.get::<&str>("encoding-name").ok())
        .is_some_and(|name| name.eq_ignore_ascii_case("OPUS"))
}

/// Whether the real server would route the client's stream on `pad` to a track: its SSRC is
/// declared in the answer (see [`DeclaredAudio`]).
fn routed_like_pion(shared: &Weak<Shared>, pad: &gst::Pad, session: &str) -> bool {
    let ssrc = pad
        .current_caps()
        .and_then(|caps| caps.structure(0)?.get::<u32>("ssrc").ok());
    let declared = shared
        .upgrade()
        .and_then(|shared| shared.declared_audio.lock().ok()?.clone());
    match (ssrc, declared) {
        (Some(ssrc), Some(declared)) if !declared.accepts(ssrc) => {
            tracing::warn!(
                session,
                ssrc,
                "incoming unhandled RTP ssrc: the answer does not declare it (a=ssrc), so a real \
                 server drops this audio and so does the room"
            );
            false
        }
        _ => true,
    }
}

/// The room's only video stream id, as in Neko's default configuration.
pub const VIDEO_ID: &str = "main";

/// The encoded-media inputs of one peer, fed by the room's encoders.
pub struct PeerInputs {
    pipeline: gst::Pipeline,
    video: gst_app::AppSrc,
    audio: gst_app::AppSrc,
    wait_keyframe: AtomicBool,
    video_disabled: AtomicBool,
    audio_disabled: AtomicBool,
    closed: AtomicBool,
}

impl PeerInputs {
    /// Pushes one encoded video buffer (skipped until a keyframe after (re)connecting).
    pub fn push_video(&self, buffer: &gst::Buffer, caps: Option<&gst::Caps>) {
        if self.closed.load(Ordering::Relaxed) || self.video_disabled.load(Ordering::Relaxed) {
            return;
        }
        if self.wait_keyframe.load(Ordering::Relaxed) {
            if buffer.flags().contains(gst::BufferFlags::DELTA_UNIT) {
                return;
            }
            self.wait_keyframe.store(false, Ordering::Relaxed);
        }
        push(&self.video, buffer, caps);
    }

    /// Pushes one Opus buffer (dropped while audio is paused).
    pub fn push_audio(&self, buffer: &gst::Buffer, caps: Option<&gst::Caps>) {
        if self.closed.load(Ordering::Relaxed) || self.audio_disabled.load(Ordering::Relaxed) {
            return;
        }
        push(&self.audio, buffer, caps);
    }

    /// Stops the peer's pipeline; safe to call more than once and from any thread but its own.
    pub fn close(&self) {
        if !self.closed.swap(true, Ordering::SeqCst) {
            let _ = self.pipeline.set_state(gst::State::Null);
        }
    }
}

impl Drop for PeerInputs {
    fn drop(&mut self) {
        if !self.closed.swap(true, Ordering::SeqCst) {
            // The last reference can go away on one of the peer's own streaming threads, where
            // stopping its pipeline would deadlock: stop it from a thread of its own.
            let pipeline = self.pipeline.clone();
            std::thread::spawn(move || {
                let _ = pipeline.set_state(gst::State::Null);
            });
        }
    }
}

fn push(src: &gst_app::AppSrc, buffer: &gst::Buffer, caps: Option<&gst::Caps>) {
    if let Some(caps) = caps
        && src.caps().as_ref() != Some(caps)
    {
        src.set_caps(Some(caps));
    }
    let _ = src.push_buffer(buffer.clone());
}

struct Shared {
    session_id: String,
    inputs: Arc<PeerInputs>,
    webrtcbin: gst::Element,
    to_client: UnboundedSender<ServerEvent>,
    events: Arc<MediaEvents>,
    media: Weak<RoomMedia>,
    offer_style: OfferStyle,
    ice_servers: Vec<IceServer>,
    answer_applied: AtomicBool,
    /// What the client's answer declares for its upstream audio.
    declared_audio: Mutex<Option<DeclaredAudio>>,
    connected: AtomicBool,
    channel: Mutex<Option<Arc<RoomDataChannel>>>,
    video: Mutex<PeerVideo>,
    audio: Mutex<PeerAudio>,
}

impl Shared {
    fn send(&self, event: ServerEvent) {
        let _ = self.to_client.send(event);
    }

    /// Tears the peer down the way Pion does after `disconnected`/`failed`: close, report, and
    /// tell the client with `signal/close`.
    fn close_from_ice(self: &Arc<Self>) {
        if self.inputs.closed.load(Ordering::SeqCst) {
            return;
        }
        let shared = self.clone();
        // Never stop a pipeline from one of its own threads.
        std::thread::spawn(move || {
            shared.inputs.close();
            if shared.connected.swap(false, Ordering::SeqCst) {
                (shared.events.on_peer_state)(&shared.session_id, false);
            }
            shared.send(ServerEvent::SignalClose);
        });
    }
}

/// A peer being set up; becomes a [`PeerHandle`] for the control plane.
pub struct RoomPeer {
    shared: Arc<Shared>,
}

/// The control plane's handle to a peer.
#[derive(Clone)]
pub struct PeerHandle {
    shared: Arc<Shared>,
}

fn make(factory: &str) -> Result<gst::Element, MediaError> {
    gst::ElementFactory::make(factory)
        .build()
        .map_err(|_| MediaError::Pipeline(format!("GStreamer element {factory:?} is missing")))
}

/// The codec preferences of the audio and video sections, with their payloaders' ssrcs, and the
/// video payloader's factory name.
fn codec_preferences(
    config: &MediaConfig,
    ssrcs: (u32, u32),
) -> (gst::Caps, gst::Caps, &'static str) {
    let style = config.offer_style;
    let (audio_ssrc, video_ssrc) = ssrcs;
    let base = gst::Caps::builder("application/x-rtp")
        .field("media", "video")
        .field("payload", config.codec.payload_type() as i32)
        .field("clock-rate", 90000i32);
    let video = match config.codec {
        VideoCodec::Vp8 => base.field("encoding-name", "VP8"),
        VideoCodec::H264 => base
            .field("encoding-name", "H264")
            .field("packetization-mode", "1")
            .field("profile-level-id", "42e01f")
            .field("level-asymmetry-allowed", "1"),
    }
    .field("rtcp-fb-nack", true)
    .field("rtcp-fb-nack-pli", true)
    .field("rtcp-fb-ccm-fir", true)
    .field("rtcp-fb-goog-remb", true)
    .field("rtcp-fb-transport-cc", true)
    .field("a-mid", "1");
    let audio = gst::Caps::builder("application/x-rtp")
        .field("media", "audio")
        .field("encoding-name", "OPUS")
        .field("payload", 111i32)
        .field("clock-rate", 48000i32)
        .field("encoding-params", "2")
        .field("useinbandfec", "1")
        .field("stereo", "1")
        .field("a-mid", "0");
    // The real server's shape: header extensions, and the ssrcs webrtcbin then writes as
    // `a=ssrc` lines (reworded by the offer style).
    let shaped = |mut caps: gst::Caps, kind, ssrc: u32| {
        let structure = caps.make_mut().structure_mut(0).expect("one structure");
        let extensions = style.header_extensions(kind);
        for (id, uri) in extensions {
            structure.set(format!("extmap-{id}"), *uri);
        }
        if !extensions.is_empty() {
            structure.set("rtcp-fb-transport-cc", true);
            structure.set("ssrc", ssrc);
        }
        caps
    };
    let payloader = match config.codec {
        VideoCodec::Vp8 => "rtpvp8pay",
        VideoCodec::H264 => "rtph264pay",
    };
    (
        shaped(video.build(), TrackKind::Video, video_ssrc),
        shaped(audio.build(), TrackKind::Audio, audio_ssrc),
        payloader,
    )
}

impl RoomPeer {
    /// Builds the peer pipeline, starts ICE gathering and sends the offer.
    pub fn start(
        media: &Arc<RoomMedia>,
        config: &MediaConfig,
        session_id: &str,
        request: &SignalRequest,
        to_client: UnboundedSender<ServerEvent>,
        events: Arc<MediaEvents>,
        microphone: Option<Arc<Microphone>>,
    ) -> Result<RoomPeer, MediaError> {
        let ssrcs = (rand::random::<u32>(), rand::random::<u32>());
        let (video_prefs, audio_prefs, payloader) = codec_preferences(config, ssrcs);
        let pipeline = gst::Pipeline::with_name(&format!("peer-{session_id}"));
        // Pion has no receive jitter buffer: keep the sandbox's short so what the microphone
        // hears is timed like the real server's.
        let webrtcbin = gst::ElementFactory::make("webrtcbin")
            .property_from_str("bundle-policy", "max-bundle")
            .property("latency", RECEIVE_LATENCY_MS)
            .build()
            .map_err(|_| {
                MediaError::Pipeline(
                    "webrtcbin is missing (gstreamer1.0-plugins-bad, gstreamer1.0-nice)".into(),
                )
            })?;
        gstneko::webrtc::pin_local_addresses(&webrtcbin, &config.ice_addresses)
            .map_err(MediaError::pipeline)?;
        let audio_src = gst_app::AppSrc::builder()
            .is_live(true)
            .format(gst::Format::Time)
            .build();
        let video_src = gst_app::AppSrc::builder()
            .is_live(true)
            .format(gst::Format::Time)
            .build();
        let audio_pay = make("rtpopuspay")?;
        audio_pay.set_property("pt", 111u32);
        audio_pay.set_property("ssrc", ssrcs.0);
        let video_pay = make(payloader)?;
        video_pay.set_property("pt", config.codec.payload_type());
        video_pay.set_property("mtu", 1200u32);
        video_pay.set_property("ssrc", ssrcs.1);
        if config.codec == VideoCodec::H264 {
            video_pay.set_property("config-interval", -1i32);
            video_pay.set_property_from_str("aggregate-mode", "zero-latency");
        } else {
            video_pay.set_property_from_str("picture-id-mode", "15-bit");
        }
        pipeline
            .add_many([
                audio_src.upcast_ref(),
                &audio_pay,
                video_src.upcast_ref(),
                &video_pay,
                &webrtcbin,
            ])
            .map_err(MediaError::pipeline)?;
        gst::Element::link_many([audio_src.upcast_ref(), &audio_pay])
            .map_err(MediaError::pipeline)?;
        gst::Element::link_many([video_src.upcast_ref(), &video_pay])
            .map_err(MediaError::pipeline)?;
        // Pads requested in this order give the offer Neko's m-line order: audio 0, video 1.
        for (pay, prefs) in [(&audio_pay, &audio_prefs), (&video_pay, &video_prefs)] {
            let sink = webrtcbin
                .request_pad_simple("sink_%u")
                .ok_or_else(|| MediaError::Pipeline("webrtcbin gave no sink pad".into()))?;
            let transceiver = sink.property::<WebRTCRTPTransceiver>("transceiver");
            transceiver.set_property("direction", WebRTCRTPTransceiverDirection::Sendrecv);
            transceiver.set_property("codec-preferences", prefs);
            let src = pay
                .static_pad("src")
                .ok_or_else(|| MediaError::Pipeline("payloader without src".into()))?;
            src.link(&sink).map_err(MediaError::pipeline)?;
        }
        if let Some(base) = media.base_time() {
            pipeline.use_clock(Some(&gst::SystemClock::obtain()));
            pipeline.set_start_time(gst::ClockTime::NONE);
            pipeline.set_base_time(base);
        }
        let video_disabled = request.video.disabled.unwrap_or(false);
        let audio_disabled = request.audio.disabled.unwrap_or(false);
        let inputs = Arc::new(PeerInputs {
            pipeline: pipeline.clone(),
            video: video_src,
            audio: audio_src,
            wait_keyframe: AtomicBool::new(true),
            video_disabled: AtomicBool::new(video_disabled),
            audio_disabled: AtomicBool::new(audio_disabled),
            closed: AtomicBool::new(false),
        });
        let shared = Arc::new(Shared {
            session_id: session_id.to_owned(),
            inputs,
            webrtcbin: webrtcbin.clone(),
            to_client,
            events,
            media: Arc::downgrade(media),
            offer_style: config.offer_style,
            ice_servers: config.ice_servers.clone(),
            answer_applied: AtomicBool::new(false),
            declared_audio: Mutex::new(None),
            connected: AtomicBool::new(false),
            channel: Mutex::new(None),
            video: Mutex::new(PeerVideo {
                disabled: video_disabled,
                id: VIDEO_ID.into(),
                video: VIDEO_ID.into(),
                auto: false,
                ..Default::default()
            }),
            audio: Mutex::new(PeerAudio {
                disabled: audio_disabled,
                ..Default::default()
            }),
        });
        wire_webrtcbin(&shared);
        // A client's upstream audio goes to the microphone when its profile may share media;
        // anything else is drained (Neko stops such receivers).
        let drain_pipeline = pipeline.downgrade();
        let listener = session_id.to_owned();
        let declared = Arc::downgrade(&shared);
        webrtcbin.connect_pad_added(move |_, pad| {
            let Some(pipeline) = drain_pipeline.upgrade() else {
                return;
            };
            if pad.direction() != gst::PadDirection::Src {
                return;
            }
            if let Some(microphone) = &microphone
                && is_opus(pad)
                && routed_like_pion(&declared, pad, &listener)
            {
                match microphone.listen(&pipeline, pad, &listener) {
                    Ok(()) => return,
                    Err(error) => tracing::warn!(%error, "could not decode a client's audio"),
                }
            }
            if let Ok(sink) = make("fakesink") {
                sink.set_property("sync", false);
                sink.set_property("async", false);
                let _ = pipeline.add(&sink);
                let _ = sink.sync_state_with_parent();
                if let Some(sink_pad) = sink.static_pad("sink") {
                    let _ = pad.link(&sink_pad);
                }
            }
        });
        pipeline
            .set_state(gst::State::Playing)
            .map_err(MediaError::pipeline)?;
        let channel = webrtcbin.emit_by_name::<Option<WebRTCDataChannel>>(
            "create-data-channel",
            &[&"data", &None::<gst::Structure>],
        );
        match channel {
            Some(channel) => wire_data_channel(&shared, channel),
            None => tracing::warn!(
                session = session_id,
                "webrtcbin could not create the data channel"
            ),
        }
        offer(&shared, false);
        Ok(RoomPeer { shared })
    }

    /// The inputs the room's encoders feed.
    pub fn inputs(&self) -> Arc<PeerInputs> {
        self.shared.inputs.clone()
    }

    /// Hands the peer to the control plane.
    pub fn into_handle(self) -> PeerHandle {
        PeerHandle {
            shared: self.shared,
        }
    }
}

fn wire_webrtcbin(shared: &Arc<Shared>) {
    let weak = Arc::downgrade(shared);
    shared
        .webrtcbin
        .connect("on-ice-candidate", false, move |values| {
            let shared = weak.upgrade()?;
            let candidate = values.get(2).and_then(|v| v.get::<String>().ok())?;
            // Pion v4.2 reports every bundled candidate against the first section.
            shared.send(ServerEvent::SignalCandidate(IceCandidate {
                candidate,
                sdp_mid: Some("0".into()),
                sdp_mline_index: Some(0),
                username_fragment: None,
                ..Default::default()
            }));
            None
        });
    let weak = Arc::downgrade(shared);
    shared.webrtcbin.connect_notify(Some("ice-connection-state"), move |webrtcbin, _| {
        let Some(shared) = weak.upgrade() else { return };
        match webrtcbin.property::<WebRTCICEConnectionState>("ice-connection-state") {
            WebRTCICEConnectionState::Connected | WebRTCICEConnectionState::Completed
                if !shared.connected.swap(true, Ordering::SeqCst) =>
            {
                tracing::info!(session = %shared.session_id, "peer connected");
                (shared.events.on_peer_state)(&shared.session_id, true);
                shared.inputs.wait_keyframe.store(true, Ordering::Relaxed);
                if let Some(media) = shared.media.upgrade() {
                    media.request_keyframe();
                }
            }
            WebRTCICEConnectionState::Failed | WebRTCICEConnectionState::Disconnected => {
                tracing::info!(session = %shared.session_id, "peer ICE failed or disconnected; closing it");
                shared.close_from_ice();
            }
            _ => {}
        }
    });
}

fn wire_data_channel(shared: &Arc<Shared>, channel: WebRTCDataChannel) {
    let link = RoomDataChannel::wire(
        channel,
        &shared.session_id,
        shared.events.clone(),
        shared.media.clone(),
    );
    if let Ok(mut slot) = shared.channel.lock() {
        *slot = Some(link);
    }
}

/// Creates an offer; the first one goes out as `signal/provide`, a restart as `signal/restart`.
fn offer(shared: &Arc<Shared>, ice_restart: bool) {
    let weak = Arc::downgrade(shared);
    let promise = gst::Promise::with_change_func(move |reply| {
        let Some(shared) = weak.upgrade() else { return };
        let description = reply
            .ok()
            .flatten()
            .and_then(|s| s.get::<WebRTCSessionDescription>("offer").ok());
        let Some(description) = description else {
            tracing::error!(session = %shared.session_id, "webrtcbin could not create an offer");
            return;
        };
        let mut sdp = description.sdp().to_owned();
        shared.offer_style.reshape(&mut sdp);
        let description = WebRTCSessionDescription::new(WebRTCSDPType::Offer, sdp);
        shared.webrtcbin.emit_by_name::<()>(
            "set-local-description",
            &[&description, &None::<gst::Promise>],
        );
        let Ok(sdp) = description.sdp().as_text() else {
            return;
        };
        tracing::debug!(session = %shared.session_id, %sdp, "offer");
        if ice_restart {
            shared.send(ServerEvent::SignalRestart(SignalDescription {
                sdp,
                ..Default::default()
            }));
            return;
        }
        // Like Neko, the audio/video state races the offer: one before, one after.
        if let Ok(audio) = shared.audio.lock() {
            shared.send(ServerEvent::SignalAudio(audio.clone()));
        }
        let provide = SignalProvide {
            sdp,
            iceservers: shared.ice_servers.clone(),
            video: shared.video.lock().map(|v| v.clone()).unwrap_or_default(),
            audio: shared.audio.lock().map(|a| a.clone()).unwrap_or_default(),
            ..Default::default()
        };
        shared.send(ServerEvent::SignalProvide(provide));
        if let Ok(video) = shared.video.lock() {
            shared.send(ServerEvent::SignalVideo(video.clone()));
        }
    });
    let options = gst::Structure::builder("offer-options")
        .field("ice-restart", ice_restart)
        .build();
    shared
        .webrtcbin
        .emit_by_name::<()>("create-offer", &[&options, &promise]);
}

impl PeerHandle {
    /// Applies the client's `signal/answer`.
    pub fn set_answer(&self, sdp: &str) {
        tracing::debug!(session = %self.shared.session_id, %sdp, "answer");
        let message = match gst_sdp::SDPMessage::parse_buffer(sdp.as_bytes()) {
            Ok(message) => message,
            Err(error) => {
                tracing::warn!(session = %self.shared.session_id, %error, "signal/answer with an unparseable SDP");
                return;
            }
        };
        if let Ok(mut declared) = self.shared.declared_audio.lock() {
            *declared = Some(DeclaredAudio::from_answer(&message));
        }
        let answer = WebRTCSessionDescription::new(WebRTCSDPType::Answer, message);
        self.shared
            .webrtcbin
            .emit_by_name::<()>("set-remote-description", &[&answer, &None::<gst::Promise>]);
        self.shared.answer_applied.store(true, Ordering::SeqCst);
    }

    /// Adds a client candidate; like Pion, one that arrives before the answer is rejected.
    pub fn add_candidate(&self, candidate: &IceCandidate) {
        if !self.shared.answer_applied.load(Ordering::SeqCst) {
            tracing::warn!(session = %self.shared.session_id, "candidate before the answer rejected: no remote description");
            return;
        }
        if candidate.candidate.is_empty() {
            return;
        }
        let mline = candidate.sdp_mline_index.unwrap_or(0);
        self.shared
            .webrtcbin
            .emit_by_name::<()>("add-ice-candidate", &[&mline, &candidate.candidate]);
    }

    /// Pauses or resumes video; replies `signal/video` only when the state changed.
    pub fn set_video_disabled(&self, disabled: bool) {
        let changed = self
            .shared
            .inputs
            .video_disabled
            .swap(disabled, Ordering::SeqCst)
            != disabled;
        if changed {
            if !disabled {
                self.shared
                    .inputs
                    .wait_keyframe
                    .store(true, Ordering::Relaxed);
                if let Some(media) = self.shared.media.upgrade() {
                    media.request_keyframe();
                }
            }
            if let Ok(mut video) = self.shared.video.lock() {
                video.disabled = disabled;
                self.shared.send(ServerEvent::SignalVideo(video.clone()));
            }
        }
    }

    /// Pauses or resumes audio; replies `signal/audio` only when the state changed.
    pub fn set_audio_disabled(&self, disabled: bool) {
        if self
            .shared
            .inputs
            .audio_disabled
            .swap(disabled, Ordering::SeqCst)
            != disabled
            && let Ok(mut audio) = self.shared.audio.lock()
        {
            audio.disabled = disabled;
            self.shared.send(ServerEvent::SignalAudio(audio.clone()));
        }
    }

    /// Starts an ICE restart: the new offer goes out as `signal/restart`.
    pub fn restart_ice(&self) {
        offer(&self.shared, true);
    }

    /// Closes the peer the way Neko does when ICE disconnects or fails: the session stops
    /// watching and the client gets `signal/close` (the sandbox uses it to test recovery).
    pub fn fail(&self) {
        self.shared.close_from_ice();
    }

    /// Tells a viewer where the host's pointer is now (§4.3 op `0x01`).
    pub fn send_cursor_position(&self, x: u16, y: u16) {
        let link = self
            .shared
            .channel
            .lock()
            .ok()
            .and_then(|slot| slot.clone());
        if let Some(link) = link {
            link.send_cursor_position(x, y);
        }
    }

    /// Whether the peer's ICE is connected.
    pub fn is_connected(&self) -> bool {
        self.shared.connected.load(Ordering::SeqCst)
    }

    /// Closes the peer silently, as Neko does when a newer `signal/request` replaces it: no
    /// `signal/close` and no state change.
    pub fn close(&self) {
        self.shared.inputs.close();
    }
}
