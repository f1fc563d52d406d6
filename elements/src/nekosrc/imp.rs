//! nekosrc implementation: settings, pads, and the bridge to the signalling task.
//!
//! Locks: `settings`, `state` and `session` are mutexes, each taken alone (never two at once)
//! and never held across a call into GStreamer that can re-enter the element (adding or removing
//! pads and children, state changes, linking, signal emission, posting messages). A poisoned
//! lock is a bug elsewhere and propagates as a panic (`lock().unwrap()`).

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, Mutex};

use gst::glib;
use gst::prelude::*;
use gst::subclass::prelude::*;

use super::NekoDecoder;
use super::error::{RtpLinkError, SrcSettingsError};
use super::output::{self, Output, OutputMode};
use crate::client::NekoClient;
use crate::codecs::{Codec, DecoderPreference};
use crate::protocol::{PeerAudioRequest, PeerVideoRequest, SignalRequest, StreamSelector};
use crate::session_settings::{self, SessionSettings};
use crate::signalling::{SessionHandle, SessionParams};

pub(crate) static CAT: LazyLock<gst::DebugCategory> = LazyLock::new(|| {
    gst::DebugCategory::new(
        "nekosrc",
        gst::DebugColorFlags::empty(),
        Some("Neko room source"),
    )
});

#[derive(Debug, Clone)]
struct Settings {
    session: SessionSettings,
    video: bool,
    audio: bool,
    video_id: Option<String>,
    decoder: NekoDecoder,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            session: SessionSettings::default(),
            video: true,
            audio: true,
            video_id: None,
            decoder: NekoDecoder::Auto,
        }
    }
}

/// Counters readable through the `stats` property.
#[derive(Debug, Default)]
pub(super) struct Counters {
    pub video_bytes: AtomicU64,
    pub audio_bytes: AtomicU64,
}

#[derive(Default)]
struct State {
    outputs: HashMap<&'static str, Output>,
}

/// What the state holds for a media kind when webrtcbin exposes a pad of that kind.
enum Existing {
    /// A chain for the same codec: the new pad links to its head.
    Same(gst::Pad),
    /// A chain for another codec, taken out of the state to be rebuilt.
    OtherCodec(Output),
    /// No chain yet.
    None,
}

/// What `stats` reports about one output chain.
#[derive(Clone, Copy)]
struct OutputSummary {
    codec: &'static str,
    decoder: Option<&'static str>,
    mode: OutputMode,
}

impl OutputSummary {
    fn of(output: &Output) -> Self {
        Self {
            codec: output.codec.encoding_name,
            decoder: output.decoder,
            mode: output.mode,
        }
    }
}

/// nekosrc's private data.
#[derive(Default)]
pub struct NekoSrc {
    settings: Mutex<Settings>,
    state: Mutex<State>,
    pub(super) session: Mutex<SessionHandle>,
    pub(super) counters: Arc<Counters>,
}

#[glib::object_subclass]
impl ObjectSubclass for NekoSrc {
    const NAME: &'static str = "GstNekoSrc";
    type Type = super::NekoSrc;
    type ParentType = gst::Bin;
}

impl NekoSrc {
    fn parse_settings(&self) -> Result<SessionParams, SrcSettingsError> {
        let settings = self.settings.lock().unwrap().clone();
        let (client, mut peer) = settings.session.resolve()?;
        if !settings.video && !settings.audio {
            return Err(SrcSettingsError::NothingToReceive);
        }
        peer.receive_video = settings.video;
        peer.receive_audio = settings.audio;
        let selector = settings
            .video_id
            .filter(|id| !id.is_empty())
            .map(|id| StreamSelector {
                id,
                ..Default::default()
            });
        let request = SignalRequest {
            video: PeerVideoRequest {
                disabled: Some(!settings.video),
                selector,
                ..Default::default()
            },
            audio: PeerAudioRequest {
                disabled: Some(!settings.audio),
                ..Default::default()
            },
            ..Default::default()
        };
        Ok(SessionParams {
            client,
            peer,
            request,
        })
    }

    fn start(&self) -> Result<(), gst::ErrorMessage> {
        let params = self
            .parse_settings()
            .map_err(|e| gst::error_msg!(gst::ResourceError::Settings, ("{}", e)))?;
        gst::info!(
            CAT,
            imp = self,
            "connecting to {}",
            params.client.target.display_server()
        );
        SessionHandle::start(&*self.obj(), params);
        Ok(())
    }

    fn stop(&self) {
        let bin = self.obj();
        SessionHandle::stop(&*bin);
        let outputs = std::mem::take(&mut self.state.lock().unwrap().outputs);
        for output in outputs.values() {
            output::dismantle(bin.upcast_ref(), output);
            let _ = bin.remove_pad(&output.ghost);
        }
    }

    /// The running session's client, if started.
    pub(super) fn client(&self) -> Option<NekoClient> {
        self.session.lock().unwrap().client()
    }

    fn decoder_preference(&self) -> DecoderPreference {
        let decoder = self.settings.lock().unwrap().decoder;
        match decoder {
            NekoDecoder::Auto => DecoderPreference::Auto,
            NekoDecoder::Nvdec => DecoderPreference::Nvdec,
            NekoDecoder::Software => DecoderPreference::Software,
        }
    }

    /// Links a new RTP pad of webrtcbin to the output chain of its kind, creating the source pad
    /// and the chain on first use. Runs on a streaming thread.
    pub(super) fn link_rtp_pad(&self, pad: &gst::Pad) -> Result<(), RtpLinkError> {
        let caps = pad.current_caps().unwrap_or_else(|| pad.query_caps(None));
        let structure = caps.structure(0).ok_or(RtpLinkError::NoCaps)?;
        let encoding = structure
            .get::<&str>("encoding-name")
            .map_err(|_| RtpLinkError::NoEncodingName)?;
        let codec = Codec::by_encoding_name(encoding)?;
        let counter = self.counters.clone();
        let video = codec.media == "video";
        pad.add_probe(
            gst::PadProbeType::BUFFER | gst::PadProbeType::BUFFER_LIST,
            move |_, info| {
                let bytes = match &info.data {
                    Some(gst::PadProbeData::Buffer(buffer)) => buffer.size() as u64,
                    Some(gst::PadProbeData::BufferList(list)) => list.calculate_size() as u64,
                    _ => 0,
                };
                let total = if video {
                    &counter.video_bytes
                } else {
                    &counter.audio_bytes
                };
                total.fetch_add(bytes, Ordering::Relaxed);
                gst::PadProbeReturn::Ok
            },
        );

        // One look at the state decides: the chain of this kind is reused, or taken out to be
        // rebuilt for the new codec, or there is none yet.
        let existing = match self.state.lock().unwrap().outputs.entry(codec.media) {
            Entry::Occupied(entry) if std::ptr::eq(entry.get().codec, codec) => {
                Existing::Same(entry.get().head.clone())
            }
            Entry::Occupied(entry) => Existing::OtherCodec(entry.remove()),
            Entry::Vacant(_) => Existing::None,
        };
        let bin = self.obj();
        let head = match existing {
            Existing::Same(head) => head,
            Existing::OtherCodec(old) => {
                // The room changed codec: rebuild the chain behind the same pad.
                output::dismantle(bin.upcast_ref(), &old);
                let mode = if old.mode == OutputMode::Discard {
                    OutputMode::Discard
                } else {
                    output::choose_mode(&old.ghost.peer_query_caps(None), codec)
                };
                self.build_output(old.ghost, codec, mode)?
            }
            Existing::None => {
                let template = bin
                    .pad_template(codec.media)
                    .ok_or(RtpLinkError::NoTemplate)?;
                let ghost = gst::GhostPad::builder_from_template(&template)
                    .name(codec.media)
                    .build();
                ghost.set_active(true).map_err(RtpLinkError::Activate)?;
                bin.add_pad(&ghost).map_err(RtpLinkError::AddPad)?;
                let mode = if ghost.is_linked() {
                    output::choose_mode(&ghost.peer_query_caps(None), codec)
                } else {
                    gst::info!(
                        CAT,
                        imp = self,
                        "nothing linked to the {} pad: dropping that stream",
                        codec.media
                    );
                    OutputMode::Discard
                };
                self.build_output(ghost, codec, mode)?
            }
        };
        pad.link(&head).map_err(|source| RtpLinkError::Link {
            media: codec.media,
            source,
        })?;
        let _ = bin.post_message(gst::message::Latency::builder().src(&*bin).build());
        Ok(())
    }

    fn build_output(
        &self,
        ghost: gst::GhostPad,
        codec: &'static Codec,
        mode: OutputMode,
    ) -> Result<gst::Pad, RtpLinkError> {
        let bin = self.obj();
        let built = output::build(
            bin.upcast_ref(),
            ghost,
            codec,
            mode,
            self.decoder_preference(),
        )?;
        gst::info!(
            CAT,
            imp = self,
            "{} pad: {} as {:?} (decoder {:?})",
            codec.media,
            codec.encoding_name,
            mode,
            built.decoder
        );
        let head = built.head.clone();
        self.state
            .lock()
            .unwrap()
            .outputs
            .insert(codec.media, built);
        Ok(head)
    }

    fn stats(&self) -> gst::Structure {
        let (video, audio) = {
            let state = self.state.lock().unwrap();
            let summary = |kind: &str| state.outputs.get(kind).map(OutputSummary::of);
            (summary("video"), summary("audio"))
        };
        SessionHandle::stats(&*self.obj(), "neko-stats")
            .field("video-codec", video.map(|o| o.codec).unwrap_or_default())
            .field(
                "video-decoder",
                video.and_then(|o| o.decoder).unwrap_or_default(),
            )
            .field(
                "video-output",
                video
                    .map(|o| format!("{:?}", o.mode).to_lowercase())
                    .unwrap_or_default(),
            )
            .field("audio-codec", audio.map(|o| o.codec).unwrap_or_default())
            .field(
                "audio-decoder",
                audio.and_then(|o| o.decoder).unwrap_or_default(),
            )
            .field(
                "video-bytes",
                self.counters.video_bytes.load(Ordering::Relaxed),
            )
            .field(
                "audio-bytes",
                self.counters.audio_bytes.load(Ordering::Relaxed),
            )
            .build()
    }
}

impl ObjectImpl for NekoSrc {
    fn properties() -> &'static [glib::ParamSpec] {
        static PROPERTIES: LazyLock<Vec<glib::ParamSpec>> = LazyLock::new(|| {
            let ready = glib::ParamFlags::READWRITE | gst::PARAM_FLAG_MUTABLE_READY;
            let mut properties = session_settings::properties();
            properties.extend([
                glib::ParamSpecBoolean::builder("video")
                    .nick("Video")
                    .blurb("Receive the room's video")
                    .default_value(true)
                    .flags(ready)
                    .build(),
                glib::ParamSpecBoolean::builder("audio")
                    .nick("Audio")
                    .blurb("Receive the room's audio")
                    .default_value(true)
                    .flags(ready)
                    .build(),
                glib::ParamSpecString::builder("video-id")
                    .nick("Video stream id")
                    .blurb("Which of the room's video streams to receive (system/init webrtc.videos); empty for the server's default")
                    .flags(ready)
                    .build(),
                glib::ParamSpecEnum::builder_with_default("decoder", NekoDecoder::Auto)
                    .nick("Decoder")
                    .blurb("Decoders for raw output: auto picks NVDEC when the NVIDIA decoders are registered")
                    .flags(ready)
                    .build(),
                glib::ParamSpecBoxed::builder::<gst::Structure>("stats")
                    .nick("Statistics")
                    .blurb("Session id, connection state, codec and decoder per pad, bytes received, peer connections and reconnects")
                    .read_only()
                    .build(),
            ]);
            properties
        });
        PROPERTIES.as_ref()
    }

    fn set_property(&self, _id: usize, value: &glib::Value, pspec: &glib::ParamSpec) {
        let mut settings = self.settings.lock().unwrap();
        if settings.session.set(pspec.name(), value) {
            return;
        }
        match pspec.name() {
            "video" => settings.video = value.get().unwrap_or(true),
            "audio" => settings.audio = value.get().unwrap_or(true),
            "video-id" => settings.video_id = value.get::<Option<String>>().ok().flatten(),
            "decoder" => settings.decoder = value.get().unwrap_or_default(),
            other => gst::warning!(CAT, imp = self, "unknown property {other}"),
        }
    }

    fn property(&self, _id: usize, pspec: &glib::ParamSpec) -> glib::Value {
        let settings = self.settings.lock().unwrap().clone();
        if let Some(value) = settings.session.get(pspec.name()) {
            return value;
        }
        match pspec.name() {
            "video" => settings.video.to_value(),
            "audio" => settings.audio.to_value(),
            "video-id" => settings.video_id.to_value(),
            "decoder" => settings.decoder.to_value(),
            "stats" => self.stats().to_value(),
            _ => None::<String>.to_value(),
        }
    }

    fn signals() -> &'static [glib::subclass::Signal] {
        static SIGNALS: LazyLock<Vec<glib::subclass::Signal>> =
            LazyLock::new(|| session_settings::signals::<super::NekoSrc>(super::NekoSrc::client));
        SIGNALS.as_ref()
    }
}

impl GstObjectImpl for NekoSrc {}

impl ElementImpl for NekoSrc {
    fn metadata() -> Option<&'static gst::subclass::ElementMetadata> {
        static METADATA: LazyLock<gst::subclass::ElementMetadata> = LazyLock::new(|| {
            gst::subclass::ElementMetadata::new(
                "Neko room source",
                "Source/Network/WebRTC",
                "Joins a Neko v3 room over WebRTC and outputs its video and audio",
                "neko-agent developers",
            )
        });
        Some(&*METADATA)
    }

    fn pad_templates() -> &'static [gst::PadTemplate] {
        static TEMPLATES: LazyLock<Vec<gst::PadTemplate>> = LazyLock::new(|| {
            let caps = |raw: &str, media: &str| {
                let mut builder = gst::Caps::builder_full()
                    .structure_with_any_features(gst::Structure::new_empty(raw));
                for codec in crate::codecs::CODECS.iter().filter(|c| c.media == media) {
                    builder = builder.structure(gst::Structure::new_empty(codec.encoded_caps));
                }
                builder
                    .structure(
                        gst::Structure::builder("application/x-rtp")
                            .field("media", media)
                            .build(),
                    )
                    .build()
            };
            vec![
                gst::PadTemplate::new(
                    "video",
                    gst::PadDirection::Src,
                    gst::PadPresence::Sometimes,
                    &caps("video/x-raw", "video"),
                )
                .expect("valid video template"),
                gst::PadTemplate::new(
                    "audio",
                    gst::PadDirection::Src,
                    gst::PadPresence::Sometimes,
                    &caps("audio/x-raw", "audio"),
                )
                .expect("valid audio template"),
            ]
        });
        TEMPLATES.as_ref()
    }

    fn change_state(
        &self,
        transition: gst::StateChange,
    ) -> Result<gst::StateChangeSuccess, gst::StateChangeError> {
        if transition == gst::StateChange::ReadyToPaused
            && let Err(error) = self.start()
        {
            self.post_error_message(error);
            return Err(gst::StateChangeError);
        }
        let result = self.parent_change_state(transition);
        if transition == gst::StateChange::PausedToReady {
            self.stop();
        }
        match (transition, result) {
            (gst::StateChange::ReadyToPaused | gst::StateChange::PlayingToPaused, Ok(_)) => {
                Ok(gst::StateChangeSuccess::NoPreroll)
            }
            (_, result) => result,
        }
    }
}

impl BinImpl for NekoSrc {}
