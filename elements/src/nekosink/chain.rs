//! The send chain inside nekosink. A head chosen by the input caps (raw audio is converted,
//! resampled to 48 kHz and encoded as Opus; Opus is only parsed) feeds a permanent tail:
//! `clocksync` paces the stream in real time and `rtpopuspay` hands RTP to whichever webrtcbin
//! is current. The tail outlives peer connections, so it exists before the first answer.

use gst::prelude::*;

use super::error::ChainError;

/// Opus frame durations (ms) that opusenc can produce and the 10–60 ms range allows.
pub(crate) const FRAME_SIZES_MS: [u32; 4] = [10, 20, 40, 60];

/// What the sink pad receives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Input {
    /// `audio/x-raw`: encoded here.
    Raw,
    /// `audio/x-opus`: sent as it is.
    Opus,
}

impl Input {
    /// The input kind for caps, or an error naming what is accepted.
    pub(crate) fn of(caps: &gst::CapsRef) -> Result<Self, ChainError> {
        match caps.structure(0).map(|s| s.name().as_str()) {
            Some("audio/x-raw") => Ok(Self::Raw),
            Some("audio/x-opus") => Ok(Self::Opus),
            _ => Err(ChainError::UnsupportedCaps(caps.to_owned())),
        }
    }
}

/// Encoder settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Encoding {
    /// Opus frame duration in milliseconds (one of [`FRAME_SIZES_MS`]).
    pub frame_ms: u32,
    /// Opus bitrate in bits per second.
    pub bitrate: i32,
}

/// The input-specific head of the chain, built when caps arrive.
#[derive(Debug)]
pub(crate) struct Head {
    /// What it was built for.
    pub input: Input,
    /// Its first element's sink pad (the ghost pad's target).
    pub sink: gst::Pad,
    /// Its elements, upstream first.
    pub elements: Vec<gst::Element>,
}

/// The permanent tail: the pacer and the payloader that webrtcbin is linked to.
#[derive(Debug, Clone)]
pub(crate) struct Tail {
    /// `clocksync`: releases each buffer at its running time.
    pub pacer: gst::Element,
    /// `rtpopuspay`: its src pad links to the current webrtcbin.
    pub payloader: gst::Element,
}

fn make(factory: &str) -> Result<gst::Element, ChainError> {
    gst::ElementFactory::make(factory)
        .build()
        .map_err(|source| ChainError::MissingElement {
            factory: factory.to_owned(),
            source,
        })
}

/// Builds the tail inside `bin`.
pub(crate) fn build_tail(bin: &gst::Bin) -> Result<Tail, ChainError> {
    let pacer = make("clocksync")?;
    pacer.set_property("sync", true);
    let payloader = make("rtpopuspay")?;
    payloader.set_property("pt", 111u32);
    bin.add_many([&pacer, &payloader])
        .map_err(ChainError::Add)?;
    pacer.link(&payloader).map_err(ChainError::Link)?;
    Ok(Tail { pacer, payloader })
}

/// Builds the head for `input` inside `bin`, links it to the tail and starts it.
pub(crate) fn build_head(
    bin: &gst::Bin,
    tail: &Tail,
    input: Input,
    encoding: Encoding,
) -> Result<Head, ChainError> {
    let mut elements = Vec::new();
    match input {
        Input::Raw => {
            let convert = make("audioconvert")?;
            let resample = make("audioresample")?;
            let filter = make("capsfilter")?;
            filter.set_property(
                "caps",
                gst::Caps::builder("audio/x-raw")
                    .field("rate", 48_000i32)
                    .field("channels", gst::IntRange::new(1i32, 2))
                    .build(),
            );
            let encoder = make("opusenc")?;
            encoder.set_property_from_str("frame-size", &encoding.frame_ms.to_string());
            encoder.set_property("bitrate", encoding.bitrate);
            encoder.set_property_from_str("audio-type", "voice");
            elements.extend([convert, resample, filter, encoder]);
        }
        Input::Opus => elements.push(make("opusparse")?),
    }
    bin.add_many(&elements).map_err(ChainError::Add)?;
    let mut chain = elements.clone();
    chain.push(tail.pacer.clone());
    gst::Element::link_many(&chain).map_err(ChainError::Link)?;
    for element in &elements {
        element
            .sync_state_with_parent()
            .map_err(ChainError::Start)?;
    }
    let sink = elements[0]
        .static_pad("sink")
        .ok_or(ChainError::NoSinkPad)?;
    Ok(Head {
        input,
        sink,
        elements,
    })
}

/// Stops and removes a head (the tail stays).
pub(crate) fn dismantle(bin: &gst::Bin, head: &Head) {
    for element in head.elements.iter().rev() {
        let _ = element.set_state(gst::State::Null);
        let _ = bin.remove(element);
    }
}
