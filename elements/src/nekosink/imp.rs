//! nekosink implementation: settings, the sink pad and its send chain, and the bridge to the
//! signalling task.
//!
//! Locks: `settings`, `state` and `session` are mutexes, each taken alone (never two at once)
//! and never held across a call into GStreamer that can re-enter the element (adding, removing
//! or starting children, state changes, signal emission, posting messages). A poisoned lock is a
//! bug elsewhere and propagates as a panic (`lock().unwrap()`).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, Mutex};

use gst::glib;
use gst::prelude::*;
use gst::subclass::prelude::*;

use super::chain::{self, Encoding, FRAME_SIZES_MS, Head, Input, Tail};
use super::error::{ChainError, SinkSettingsError};
use crate::client::NekoClient;
use crate::protocol::{PeerAudioRequest, PeerVideoRequest, SignalRequest};
use crate::session_settings::{self, SessionSettings};
use crate::signalling::{SessionHandle, SessionParams};

pub(crate) static CAT: LazyLock<gst::DebugCategory> = LazyLock::new(|| {
    gst::DebugCategory::new(
        "nekosink",
        gst::DebugColorFlags::empty(),
        Some("Neko room audio sink"),
    )
});

const DEFAULT_FRAME_MS: u32 = 20;
const DEFAULT_BITRATE: i32 = 64_000;

#[derive(Debug, Clone)]
struct Settings {
    session: SessionSettings,
    frame_ms: u32,
    bitrate: i32,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            session: SessionSettings::default(),
            frame_ms: DEFAULT_FRAME_MS,
            bitrate: DEFAULT_BITRATE,
        }
    }
}

/// Counters readable through the `stats` property.
#[derive(Debug, Default)]
pub(super) struct Counters {
    pub bytes_sent: AtomicU64,
    pub packets_sent: AtomicU64,
    pub packets_dropped: AtomicU64,
    pub media_connected: AtomicBool,
}

#[derive(Default)]
struct State {
    tail: Option<Tail>,
    head: Option<Head>,
}

/// nekosink's private data.
pub struct NekoSink {
    settings: Mutex<Settings>,
    state: Mutex<State>,
    pub(super) session: Mutex<SessionHandle>,
    pub(super) counters: Arc<Counters>,
    sinkpad: gst::GhostPad,
}

#[glib::object_subclass]
impl ObjectSubclass for NekoSink {
    const NAME: &'static str = "GstNekoSink";
    type Type = super::NekoSink;
    type ParentType = gst::Bin;

    fn with_class(klass: &Self::Class) -> Self {
        let template = klass
            .pad_template("sink")
            .expect("nekosink has a sink pad template");
        let sinkpad = gst::GhostPad::builder_from_template(&template)
            .name("sink")
            .event_function(|pad, parent, event| {
                NekoSink::catch_panic_pad_function(
                    parent,
                    || false,
                    |sink| sink.sink_event(pad, parent, event),
                )
            })
            .query_function(|pad, parent, query| {
                NekoSink::catch_panic_pad_function(
                    parent,
                    || false,
                    |sink| sink.sink_query(pad, parent, query),
                )
            })
            .build();
        Self {
            settings: Mutex::new(Settings::default()),
            state: Mutex::new(State::default()),
            session: Mutex::default(),
            counters: Arc::new(Counters::default()),
            sinkpad,
        }
    }
}

impl NekoSink {
    fn encoding(&self) -> Result<Encoding, SinkSettingsError> {
        let settings = self.settings.lock().unwrap();
        if !FRAME_SIZES_MS.contains(&settings.frame_ms) {
            return Err(SinkSettingsError::FrameSize(settings.frame_ms));
        }
        Ok(Encoding {
            frame_ms: settings.frame_ms,
            bitrate: settings.bitrate,
        })
    }

    fn parse_settings(&self) -> Result<SessionParams, SinkSettingsError> {
        self.encoding()?;
        let settings = self.settings.lock().unwrap().clone();
        let (client, peer) = settings.session.resolve()?;
        // The room's own audio and video are not wanted: only the audio section is used, to send.
        let request = SignalRequest {
            video: PeerVideoRequest {
                disabled: Some(true),
                ..Default::default()
            },
            audio: PeerAudioRequest {
                disabled: Some(true),
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
        self.counters
            .media_connected
            .store(false, Ordering::Relaxed);
        SessionHandle::stop(&*self.obj());
    }

    /// The running session's client, if started.
    pub(super) fn client(&self) -> Option<NekoClient> {
        self.session.lock().unwrap().client()
    }

    /// The payloader every answer carries.
    pub(super) fn payloader(&self) -> Option<gst::Element> {
        let state = self.state.lock().unwrap();
        Some(state.tail.as_ref()?.payloader.clone())
    }

    /// Follows the peer's ICE state: posts a `neko-sink-sending` element message when the room
    /// starts taking our audio.
    pub(super) fn set_media_connected(&self, connected: bool) {
        let was = self
            .counters
            .media_connected
            .swap(connected, Ordering::Relaxed);
        if connected && !was {
            let element = self.obj();
            let _ = element.post_message(
                gst::message::Element::builder(gst::Structure::new_empty("neko-sink-sending"))
                    .src(&*element)
                    .build(),
            );
        }
    }

    /// Builds (or rebuilds, when the input kind changes) the head for new caps. Caps events are
    /// serialized on the sink pad, so the head is taken out of the state, replaced without the
    /// lock (adding and starting children re-enters the bin), and put back.
    fn on_caps(&self, caps: &gst::CapsRef) -> Result<(), ChainError> {
        let input = Input::of(caps)?;
        let (old, tail) = {
            let mut state = self.state.lock().unwrap();
            if state.head.as_ref().is_some_and(|h| h.input == input) {
                return Ok(());
            }
            (state.head.take(), state.tail.clone())
        };
        let bin = self.obj();
        if let Some(old) = old {
            let _ = self.sinkpad.set_target(None::<&gst::Pad>);
            chain::dismantle(bin.upcast_ref(), &old);
        }
        let tail = tail.ok_or(ChainError::NoTail)?;
        let head = chain::build_head(bin.upcast_ref(), &tail, input, self.encoding()?)?;
        self.sinkpad
            .set_target(Some(&head.sink))
            .map_err(ChainError::Target)?;
        gst::info!(CAT, imp = self, "sending {input:?} input from {caps}");
        self.state.lock().unwrap().head = Some(head);
        Ok(())
    }

    fn sink_event(
        &self,
        pad: &gst::GhostPad,
        parent: Option<&gst::Object>,
        event: gst::Event,
    ) -> bool {
        if let gst::EventView::Caps(caps) = event.view()
            && let Err(error) = self.on_caps(caps.caps())
        {
            gst::element_imp_error!(self, gst::StreamError::Format, ("{}", error));
            return false;
        }
        gst::Pad::event_default(pad, parent, event)
    }

    fn sink_query(
        &self,
        pad: &gst::GhostPad,
        parent: Option<&gst::Object>,
        query: &mut gst::QueryRef,
    ) -> bool {
        if pad.target().is_none() {
            // Before the first caps there is no chain to ask: answer from the template.
            match query.view_mut() {
                gst::QueryViewMut::Caps(query) => {
                    let template = pad.pad_template_caps();
                    let caps = match query.filter() {
                        Some(filter) => {
                            filter.intersect_with_mode(&template, gst::CapsIntersectMode::First)
                        }
                        None => template,
                    };
                    query.set_result(&caps);
                    return true;
                }
                gst::QueryViewMut::AcceptCaps(query) => {
                    let accepted = Input::of(query.caps()).is_ok();
                    query.set_result(accepted);
                    return true;
                }
                _ => {}
            }
        }
        gst::Pad::query_default(pad, parent, query)
    }

    /// Counts what is sent, drops packets while no peer is linked, and turns the stream's end
    /// into the element's EOS: the EOS event is consumed here, as webrtcbin's transport is shared
    /// with the data channel and never ends.
    fn watch_payloader(&self, payloader: &gst::Element) {
        let Some(src) = payloader.static_pad("src") else {
            return;
        };
        let counters = self.counters.clone();
        src.add_probe(
            gst::PadProbeType::BUFFER | gst::PadProbeType::BUFFER_LIST,
            move |pad, info| {
                let (bytes, packets) = match &info.data {
                    Some(gst::PadProbeData::Buffer(buffer)) => (buffer.size() as u64, 1),
                    Some(gst::PadProbeData::BufferList(list)) => {
                        (list.calculate_size() as u64, list.len() as u64)
                    }
                    _ => (0, 0),
                };
                if !pad.is_linked() {
                    counters
                        .packets_dropped
                        .fetch_add(packets, Ordering::Relaxed);
                    return gst::PadProbeReturn::Drop;
                }
                counters.bytes_sent.fetch_add(bytes, Ordering::Relaxed);
                counters.packets_sent.fetch_add(packets, Ordering::Relaxed);
                gst::PadProbeReturn::Ok
            },
        );
        let weak = self.obj().downgrade();
        src.add_probe(gst::PadProbeType::EVENT_DOWNSTREAM, move |_, info| {
            let is_eos = matches!(&info.data, Some(gst::PadProbeData::Event(e)) if e.type_() == gst::EventType::Eos);
            if !is_eos {
                return gst::PadProbeReturn::Ok;
            }
            let Some(event) = info.take_event() else {
                return gst::PadProbeReturn::Ok;
            };
            if let Some(sink) = weak.upgrade() {
                gst::info!(CAT, obj = sink, "all audio sent");
                let _ = sink.post_message(
                    gst::message::Eos::builder()
                        .src(&sink)
                        .seqnum(event.seqnum())
                        .build(),
                );
            }
            gst::PadProbeReturn::Handled
        });
    }

    fn stats(&self) -> gst::Structure {
        let (payloader, input) = {
            let state = self.state.lock().unwrap();
            (
                state.tail.as_ref().map(|t| t.payloader.clone()),
                state.head.as_ref().map(|h| h.input),
            )
        };
        let sending = self.counters.media_connected.load(Ordering::Relaxed)
            && payloader
                .and_then(|p| p.static_pad("src"))
                .is_some_and(|p| p.is_linked());
        let input = input
            .map(|input| format!("{input:?}").to_lowercase())
            .unwrap_or_default();
        let count = |c: &AtomicU64| c.load(Ordering::Relaxed);
        SessionHandle::stats(&*self.obj(), "neko-sink-stats")
            .field("sending", sending)
            .field("input", input)
            .field("bytes-sent", count(&self.counters.bytes_sent))
            .field("packets-sent", count(&self.counters.packets_sent))
            .field("packets-dropped", count(&self.counters.packets_dropped))
            .build()
    }
}

impl ObjectImpl for NekoSink {
    fn constructed(&self) {
        self.parent_constructed();
        let bin = self.obj();
        bin.add_pad(&self.sinkpad)
            .expect("nekosink adds its sink pad once");
        match chain::build_tail(bin.upcast_ref()) {
            Ok(tail) => {
                self.watch_payloader(&tail.payloader);
                self.state.lock().unwrap().tail = Some(tail);
            }
            Err(error) => gst::error!(CAT, imp = self, "{error}"),
        }
        bin.set_element_flags(gst::ElementFlags::SINK);
    }

    fn properties() -> &'static [glib::ParamSpec] {
        static PROPERTIES: LazyLock<Vec<glib::ParamSpec>> = LazyLock::new(|| {
            let ready = glib::ParamFlags::READWRITE | gst::PARAM_FLAG_MUTABLE_READY;
            let mut properties = session_settings::properties();
            properties.extend([
                glib::ParamSpecUInt::builder("frame-size")
                    .nick("Frame size")
                    .blurb("Opus frame duration in milliseconds for raw input: 10, 20, 40 or 60")
                    .minimum(10)
                    .maximum(60)
                    .default_value(DEFAULT_FRAME_MS)
                    .flags(ready)
                    .build(),
                glib::ParamSpecInt::builder("bitrate")
                    .nick("Bitrate")
                    .blurb("Opus bitrate in bits per second for raw input")
                    .minimum(4000)
                    .maximum(650_000)
                    .default_value(DEFAULT_BITRATE)
                    .flags(ready)
                    .build(),
                glib::ParamSpecBoxed::builder::<gst::Structure>("stats")
                    .nick("Statistics")
                    .blurb("Session id, connection state, whether a peer takes our audio, input kind, bytes and packets sent or dropped, peer connections and reconnects")
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
            "frame-size" => settings.frame_ms = value.get().unwrap_or(DEFAULT_FRAME_MS),
            "bitrate" => settings.bitrate = value.get().unwrap_or(DEFAULT_BITRATE),
            other => gst::warning!(CAT, imp = self, "unknown property {other}"),
        }
    }

    fn property(&self, _id: usize, pspec: &glib::ParamSpec) -> glib::Value {
        let settings = self.settings.lock().unwrap().clone();
        if let Some(value) = settings.session.get(pspec.name()) {
            return value;
        }
        match pspec.name() {
            "frame-size" => settings.frame_ms.to_value(),
            "bitrate" => settings.bitrate.to_value(),
            "stats" => self.stats().to_value(),
            _ => None::<String>.to_value(),
        }
    }

    fn signals() -> &'static [glib::subclass::Signal] {
        static SIGNALS: LazyLock<Vec<glib::subclass::Signal>> =
            LazyLock::new(|| session_settings::signals::<super::NekoSink>(super::NekoSink::client));
        SIGNALS.as_ref()
    }
}

impl GstObjectImpl for NekoSink {}

impl ElementImpl for NekoSink {
    fn metadata() -> Option<&'static gst::subclass::ElementMetadata> {
        static METADATA: LazyLock<gst::subclass::ElementMetadata> = LazyLock::new(|| {
            gst::subclass::ElementMetadata::new(
                "Neko room audio sink",
                "Sink/Network/WebRTC",
                "Joins a Neko v3 room over WebRTC and sends audio into it (the room's microphone), as Opus in real time",
                "neko-agent developers",
            )
        });
        Some(&*METADATA)
    }

    fn pad_templates() -> &'static [gst::PadTemplate] {
        static TEMPLATES: LazyLock<Vec<gst::PadTemplate>> = LazyLock::new(|| {
            let caps = gst::Caps::builder_full()
                .structure(gst::Structure::new_empty("audio/x-raw"))
                .structure(gst::Structure::new_empty("audio/x-opus"))
                .build();
            vec![
                gst::PadTemplate::new(
                    "sink",
                    gst::PadDirection::Sink,
                    gst::PadPresence::Always,
                    &caps,
                )
                .expect("valid sink template"),
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
        result
    }
}

impl BinImpl for NekoSink {
    fn remove_element(&self, element: &gst::Element) -> Result<(), gst::LoggableError> {
        self.parent_remove_element(element)?;
        // Removing a peer's webrtcbin must not turn the element into a non-sink.
        self.obj().set_element_flags(gst::ElementFlags::SINK);
        Ok(())
    }
}
