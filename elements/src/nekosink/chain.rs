//! The send chain inside nekosink. A head chosen by the input caps (raw audio is converted,
//! resampled to 48 kHz and encoded as Opus; Opus is only parsed) feeds a permanent tail:
//! `clocksync` paces the stream in real time and `rtpopuspay` hands RTP to whichever webrtcbin
//! is current. The tail outlives peer connections, so it exists before the first answer.

use gst::prelude::*;

/// Opus frame durations (ms) that opusenc can produce and the 10–60 ms range allows.
pub const FRAME_SIZES_MS: [u32; 4] = [10, 20, 40, 60];

/// What the sink pad receives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Input {
    /// `audio/x-raw`: encoded here.
    Raw,
    /// `audio/x-opus`: sent as it is.
    Opus,
}

impl Input {
    /// The input kind for caps, or an error naming what is accepted.
    pub fn of(caps: &gst::CapsRef) -> Result<Self, String> {
        match caps.structure(0).map(|s| s.name().as_str()) {
            Some("audio/x-raw") => Ok(Self::Raw),
            Some("audio/x-opus") => Ok(Self::Opus),
            _ => Err(format!(
                "nekosink takes audio/x-raw or audio/x-opus, not {caps}"
            )),
        }
    }
}

/// Encoder settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Encoding {
    /// Opus frame duration in milliseconds (one of [`FRAME_SIZES_MS`]).
    pub frame_ms: u32,
    /// Opus bitrate in bits per second.
    pub bitrate: i32,
}

/// The input-specific head of the chain, built when caps arrive.
#[derive(Debug)]
pub struct Head {
    /// What it was built for.
    pub input: Input,
    /// Its first element's sink pad (the ghost pad's target).
    pub sink: gst::Pad,
    /// Its elements, upstream first.
    pub elements: Vec<gst::Element>,
}

/// The permanent tail: the pacer and the payloader that webrtcbin is linked to.
#[derive(Debug, Clone)]
pub struct Tail {
    /// `clocksync`: releases each buffer at its running time.
    pub pacer: gst::Element,
    /// `rtpopuspay`: its src pad links to the current webrtcbin.
    pub payloader: gst::Element,
}

fn make(factory: &str) -> Result<gst::Element, String> {
    gst::ElementFactory::make(factory).build().map_err(|_| {
        format!("GStreamer element {factory:?} is missing; install gstreamer1.0-plugins-base, -good and -bad")
    })
}

/// Builds the tail inside `bin`.
pub fn build_tail(bin: &gst::Bin) -> Result<Tail, String> {
    let pacer = make("clocksync")?;
    pacer.set_property("sync", true);
    let payloader = make("rtpopuspay")?;
    payloader.set_property("pt", 111u32);
    bin.add_many([&pacer, &payloader])
        .map_err(|e| e.to_string())?;
    pacer
        .link(&payloader)
        .map_err(|e| format!("linking the send chain: {e}"))?;
    Ok(Tail { pacer, payloader })
}

/// Builds the head for `input` inside `bin`, links it to the tail and starts it.
pub fn build_head(
    bin: &gst::Bin,
    tail: &Tail,
    input: Input,
    encoding: Encoding,
) -> Result<Head, String> {
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
    bin.add_many(&elements).map_err(|e| e.to_string())?;
    let mut chain = elements.clone();
    chain.push(tail.pacer.clone());
    gst::Element::link_many(&chain).map_err(|e| format!("linking the send chain: {e}"))?;
    for element in &elements {
        element
            .sync_state_with_parent()
            .map_err(|e| format!("starting the send chain: {e}"))?;
    }
    let sink = elements[0]
        .static_pad("sink")
        .ok_or("the send chain has no sink pad")?;
    Ok(Head {
        input,
        sink,
        elements,
    })
}

/// Stops and removes a head (the tail stays).
pub fn dismantle(bin: &gst::Bin, head: &Head) {
    for element in head.elements.iter().rev() {
        let _ = element.set_state(gst::State::Null);
        let _ = bin.remove(element);
    }
}
