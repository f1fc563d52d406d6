//! nekoliveenc implementation: settings, and the chain (encoder, then caps for H.264) built
//! inside the bin when the element gets READY.

use std::sync::{LazyLock, Mutex};

use gst::glib;
use gst::prelude::*;
use gst::subclass::prelude::*;

use super::LiveCodec;
use super::choice::{self, Candidate, Rate};

pub(crate) static CAT: LazyLock<gst::DebugCategory> = LazyLock::new(|| {
    gst::DebugCategory::new(
        "nekoliveenc",
        gst::DebugColorFlags::empty(),
        Some("Real-time encoder for live viewers"),
    )
});

const DEFAULT_BITRATE: u32 = 1_500_000;
const DEFAULT_KEYFRAME_INTERVAL: u32 = 60;

#[derive(Debug, Clone, Copy)]
struct Settings {
    codec: LiveCodec,
    rate: Rate,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            codec: LiveCodec::Auto,
            rate: Rate {
                bitrate: DEFAULT_BITRATE,
                keyframe_interval: DEFAULT_KEYFRAME_INTERVAL,
            },
        }
    }
}

/// nekoliveenc's private data.
pub struct NekoLiveEnc {
    settings: Mutex<Settings>,
    /// The chosen encoder's factory name, once READY.
    chosen: Mutex<Option<&'static str>>,
    /// The elements built inside the bin, first to last.
    chain: Mutex<Vec<gst::Element>>,
    sinkpad: gst::GhostPad,
    srcpad: gst::GhostPad,
}

#[glib::object_subclass]
impl ObjectSubclass for NekoLiveEnc {
    const NAME: &'static str = "GstNekoLiveEnc";
    type Type = super::NekoLiveEnc;
    type ParentType = gst::Bin;

    fn with_class(klass: &Self::Class) -> Self {
        let pad = |name: &str| {
            let template = klass
                .pad_template(name)
                .expect("nekoliveenc has sink and src templates");
            gst::GhostPad::builder_from_template(&template)
                .name(name)
                .build()
        };
        Self {
            settings: Mutex::new(Settings::default()),
            chosen: Mutex::new(None),
            chain: Mutex::new(Vec::new()),
            sinkpad: pad("sink"),
            srcpad: pad("src"),
        }
    }
}

impl NekoLiveEnc {
    /// Chooses the encoder and links it between the ghost pads.
    fn build(&self) -> Result<(), gst::ErrorMessage> {
        let settings = *self.settings.lock().unwrap();
        let candidate = choice::choose(settings.codec, |name| {
            gst::ElementFactory::find(name).is_some()
        })
        .map_err(|error| gst::error_msg!(gst::CoreError::MissingPlugin, ["{error}"]))?;
        let chain = self.make_chain(candidate, &settings.rate)?;
        let obj = self.obj();
        obj.add_many(&chain).map_err(|e| failed(&e))?;
        gst::Element::link_many(&chain).map_err(|e| failed(&e))?;
        let first = chain.first().expect("a chain has an encoder");
        let last = chain.last().expect("a chain has an encoder");
        self.sinkpad
            .set_target(first.static_pad("sink").as_ref())
            .map_err(|e| failed(&e))?;
        self.srcpad
            .set_target(last.static_pad("src").as_ref())
            .map_err(|e| failed(&e))?;
        for element in &chain {
            element.sync_state_with_parent().map_err(|e| failed(&e))?;
        }
        gst::info!(
            CAT,
            imp = self,
            "encoding {:?} with {} ({}), {} bit/s, a key frame at least every {} frames",
            candidate.codec,
            candidate.factory,
            if candidate.hardware {
                "hardware"
            } else {
                "software"
            },
            settings.rate.bitrate,
            settings.rate.keyframe_interval
        );
        *self.chosen.lock().unwrap() = Some(candidate.factory);
        *self.chain.lock().unwrap() = chain;
        Ok(())
    }

    /// The candidate's encoder with its live settings, and the caps its output is held to.
    fn make_chain(
        &self,
        candidate: &Candidate,
        rate: &Rate,
    ) -> Result<Vec<gst::Element>, gst::ErrorMessage> {
        let encoder = gst::ElementFactory::make(candidate.factory)
            .build()
            .map_err(|e| failed(&e))?;
        for (name, value) in candidate.settings(rate) {
            // Versions differ in what they offer: a setting an encoder lacks, or a value it does
            // not take, is left at the encoder's default.
            let Some(pspec) = encoder.find_property(name) else {
                gst::debug!(
                    CAT,
                    imp = self,
                    "{} has no property {name}",
                    candidate.factory
                );
                continue;
            };
            match glib::Value::deserialize_with_pspec(&value, &pspec) {
                Ok(parsed) => encoder.set_property_from_value(name, &parsed),
                Err(_) => gst::warning!(
                    CAT,
                    imp = self,
                    "{} does not take {name}={value}; left at its default",
                    candidate.factory
                ),
            }
        }
        let mut chain = vec![encoder];
        if let Some(caps) = candidate.codec.output_caps() {
            let filter = gst::ElementFactory::make("capsfilter")
                .property("caps", caps)
                .build()
                .map_err(|e| failed(&e))?;
            chain.push(filter);
        }
        Ok(chain)
    }

    /// Takes the chain out of the bin again (back to NULL), so new settings apply next time.
    fn tear_down(&self) {
        let chain = std::mem::take(&mut *self.chain.lock().unwrap());
        let _ = self.sinkpad.set_target(None::<&gst::Pad>);
        let _ = self.srcpad.set_target(None::<&gst::Pad>);
        for element in chain {
            let _ = element.set_state(gst::State::Null);
            let _ = self.obj().remove(&element);
        }
        *self.chosen.lock().unwrap() = None;
    }
}

fn failed(error: &dyn std::fmt::Display) -> gst::ErrorMessage {
    gst::error_msg!(
        gst::CoreError::Negotiation,
        ["could not set up the encoder: {error}"]
    )
}

impl ObjectImpl for NekoLiveEnc {
    fn constructed(&self) {
        self.parent_constructed();
        let obj = self.obj();
        obj.add_pad(&self.sinkpad)
            .expect("a new bin takes its sink pad");
        obj.add_pad(&self.srcpad)
            .expect("a new bin takes its src pad");
    }

    fn properties() -> &'static [glib::ParamSpec] {
        static PROPERTIES: LazyLock<Vec<glib::ParamSpec>> = LazyLock::new(|| {
            let null_only = glib::ParamFlags::READWRITE;
            vec![
                glib::ParamSpecEnum::builder_with_default("codec", LiveCodec::Auto)
                    .nick("Codec")
                    .blurb("auto: H.264 (hardware encoder first), VP8 without an H.264 encoder; h264 (hardware when present); vp8")
                    .flags(null_only)
                    .build(),
                glib::ParamSpecUInt::builder("bitrate")
                    .nick("Bit rate")
                    .blurb("Target bit rate in bits per second")
                    .minimum(100_000)
                    .maximum(50_000_000)
                    .default_value(DEFAULT_BITRATE)
                    .flags(null_only)
                    .build(),
                glib::ParamSpecUInt::builder("keyframe-interval")
                    .nick("Key frame interval")
                    .blurb("Most frames between key frames")
                    .minimum(1)
                    .maximum(10_000)
                    .default_value(DEFAULT_KEYFRAME_INTERVAL)
                    .flags(null_only)
                    .build(),
                glib::ParamSpecString::builder("encoder")
                    .nick("Encoder")
                    .blurb("The element chosen to encode (from READY on)")
                    .read_only()
                    .build(),
            ]
        });
        PROPERTIES.as_ref()
    }

    fn set_property(&self, _id: usize, value: &glib::Value, pspec: &glib::ParamSpec) {
        if !self.chain.lock().unwrap().is_empty() {
            gst::warning!(
                CAT,
                imp = self,
                "{} changed while the element runs; it applies from its next start",
                pspec.name()
            );
        }
        let mut settings = self.settings.lock().unwrap();
        match pspec.name() {
            "codec" => settings.codec = value.get().unwrap_or_default(),
            "bitrate" => settings.rate.bitrate = value.get().unwrap_or(DEFAULT_BITRATE),
            "keyframe-interval" => {
                settings.rate.keyframe_interval = value.get().unwrap_or(DEFAULT_KEYFRAME_INTERVAL)
            }
            other => gst::warning!(CAT, imp = self, "unknown property {other}"),
        }
    }

    fn property(&self, _id: usize, pspec: &glib::ParamSpec) -> glib::Value {
        let settings = *self.settings.lock().unwrap();
        match pspec.name() {
            "codec" => settings.codec.to_value(),
            "bitrate" => settings.rate.bitrate.to_value(),
            "keyframe-interval" => settings.rate.keyframe_interval.to_value(),
            "encoder" => self.chosen.lock().unwrap().to_value(),
            _ => None::<String>.to_value(),
        }
    }
}

impl GstObjectImpl for NekoLiveEnc {}

impl ElementImpl for NekoLiveEnc {
    fn metadata() -> Option<&'static gst::subclass::ElementMetadata> {
        static METADATA: LazyLock<gst::subclass::ElementMetadata> = LazyLock::new(|| {
            gst::subclass::ElementMetadata::new(
                "Live view encoder",
                "Codec/Encoder/Video",
                "Encodes video for live WebRTC viewers (H.264 or VP8) on the best encoder present, hardware first",
                "neko-agent developers",
            )
        });
        Some(&*METADATA)
    }

    fn pad_templates() -> &'static [gst::PadTemplate] {
        static TEMPLATES: LazyLock<Vec<gst::PadTemplate>> = LazyLock::new(|| {
            let encoded = gst::Caps::builder_full()
                .structure(gst::Structure::new_empty("video/x-h264"))
                .structure(gst::Structure::new_empty("video/x-vp8"))
                .build();
            vec![
                gst::PadTemplate::new(
                    "sink",
                    gst::PadDirection::Sink,
                    gst::PadPresence::Always,
                    &gst::Caps::builder("video/x-raw").build(),
                )
                .expect("valid sink template"),
                gst::PadTemplate::new(
                    "src",
                    gst::PadDirection::Src,
                    gst::PadPresence::Always,
                    &encoded,
                )
                .expect("valid src template"),
            ]
        });
        TEMPLATES.as_ref()
    }

    fn change_state(
        &self,
        transition: gst::StateChange,
    ) -> Result<gst::StateChangeSuccess, gst::StateChangeError> {
        if transition == gst::StateChange::NullToReady
            && let Err(error) = self.build()
        {
            self.post_error_message(error);
            self.tear_down();
            return Err(gst::StateChangeError);
        }
        let result = self.parent_change_state(transition);
        if transition == gst::StateChange::ReadyToNull {
            self.tear_down();
        }
        result
    }
}

impl BinImpl for NekoLiveEnc {}
