//! The chain behind each nekosrc source pad: depayloader, parser and decoder as downstream asks.
//! A chain outlives peer connections, so a reconnect only relinks webrtcbin's new pad to it.

use gst::prelude::*;

use crate::codecs::{Codec, CodecError, DecoderPreference};

/// What a source pad carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OutputMode {
    /// RTP packets as received.
    Rtp,
    /// Depayloaded (and parsed) compressed media.
    Encoded,
    /// Decoded raw video or audio.
    Decoded,
    /// Nobody linked the pad: packets are dropped inside the element.
    Discard,
}

/// A built chain.
#[derive(Debug)]
pub(crate) struct Output {
    /// The element's source pad.
    pub ghost: gst::GhostPad,
    /// Where webrtcbin's RTP pad links.
    pub head: gst::Pad,
    /// The chain's elements, upstream first.
    pub elements: Vec<gst::Element>,
    /// Codec of the stream.
    pub codec: &'static Codec,
    /// Decoder factory in use, when decoding.
    pub decoder: Option<&'static str>,
    /// What the pad carries.
    pub mode: OutputMode,
}

/// Errors while building a chain.
#[derive(Debug, thiserror::Error)]
pub(crate) enum OutputError {
    /// Codec or decoder problem.
    #[error(transparent)]
    Codec(#[from] CodecError),
    /// An element is not installed.
    #[error(
        "GStreamer element {factory:?} is missing; install the GStreamer plugin packages listed in the README"
    )]
    MissingElement {
        /// The element's factory name.
        factory: String,
        /// GStreamer's reason.
        #[source]
        source: gst::glib::BoolError,
    },
    /// GStreamer refused to add, link or start the chain's elements.
    #[error("could not link the {media} chain: {source}")]
    Link {
        /// `video` or `audio`.
        media: &'static str,
        /// GStreamer's reason.
        #[source]
        source: gst::glib::BoolError,
    },
    /// The chain lacks a pad it needs.
    #[error("could not link the {media} chain: {missing}")]
    Incomplete {
        /// `video` or `audio`.
        media: &'static str,
        /// What is missing.
        missing: &'static str,
    },
}

/// Decides what to output from the caps the downstream peer accepts.
pub(crate) fn choose_mode(downstream: &gst::Caps, codec: &Codec) -> OutputMode {
    let raw = gst::Caps::builder_full()
        .structure_with_any_features(gst::Structure::new_empty(if codec.media == "video" {
            "video/x-raw"
        } else {
            "audio/x-raw"
        }))
        .build();
    if downstream.is_any() || downstream.can_intersect(&raw) {
        return OutputMode::Decoded;
    }
    let encoded = gst::Caps::new_empty_simple(codec.encoded_caps);
    if downstream.can_intersect(&encoded) {
        return OutputMode::Encoded;
    }
    OutputMode::Rtp
}

fn make(factory: &str) -> Result<gst::Element, OutputError> {
    gst::ElementFactory::make(factory)
        .build()
        .map_err(|source| OutputError::MissingElement {
            factory: factory.to_owned(),
            source,
        })
}

/// Builds the chain inside `bin` and points `ghost` at its end.
pub(crate) fn build(
    bin: &gst::Bin,
    ghost: gst::GhostPad,
    codec: &'static Codec,
    mode: OutputMode,
    preference: DecoderPreference,
) -> Result<Output, OutputError> {
    let link_error = |source| OutputError::Link {
        media: codec.media,
        source,
    };
    let mut factories: Vec<&str> = Vec::new();
    let mut decoder = None;
    match mode {
        OutputMode::Discard => factories.push("fakesink"),
        OutputMode::Rtp => factories.push("identity"),
        OutputMode::Encoded | OutputMode::Decoded => {
            factories.push(codec.depayloader);
            factories.extend(codec.parser);
            if mode == OutputMode::Decoded {
                let chosen = codec.decoder(preference)?;
                decoder = Some(chosen);
                factories.push(chosen);
            }
        }
    }
    let elements = factories
        .iter()
        .map(|f| make(f))
        .collect::<Result<Vec<_>, _>>()?;
    if mode == OutputMode::Discard {
        for sink in &elements {
            sink.set_property("sync", false);
            sink.set_property("async", false);
        }
    }
    bin.add_many(&elements).map_err(link_error)?;
    gst::Element::link_many(&elements).map_err(link_error)?;
    for element in &elements {
        element.sync_state_with_parent().map_err(link_error)?;
    }
    let first = elements.first().ok_or(OutputError::Incomplete {
        media: codec.media,
        missing: "empty chain",
    })?;
    let last = elements.last().ok_or(OutputError::Incomplete {
        media: codec.media,
        missing: "empty chain",
    })?;
    let head = first.static_pad("sink").ok_or(OutputError::Incomplete {
        media: codec.media,
        missing: "no sink pad",
    })?;
    if mode != OutputMode::Discard {
        let tail = last.static_pad("src").ok_or(OutputError::Incomplete {
            media: codec.media,
            missing: "no src pad",
        })?;
        ghost.set_target(Some(&tail)).map_err(link_error)?;
    }
    Ok(Output {
        ghost,
        head,
        elements,
        codec,
        decoder,
        mode,
    })
}

/// Removes a chain's elements from the bin (the ghost pad stays).
pub(crate) fn dismantle(bin: &gst::Bin, output: &Output) {
    let _ = output.ghost.set_target(None::<&gst::Pad>);
    for element in &output.elements {
        let _ = element.set_state(gst::State::Null);
        let _ = bin.remove(element);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mode_follows_downstream_caps() {
        gst::init().unwrap();
        let vp8 = Codec::by_encoding_name("VP8").unwrap();
        assert_eq!(choose_mode(&gst::Caps::new_any(), vp8), OutputMode::Decoded);
        assert_eq!(
            choose_mode(&gst::Caps::builder("video/x-raw").build(), vp8),
            OutputMode::Decoded
        );
        assert_eq!(
            choose_mode(&gst::Caps::builder("video/x-vp8").build(), vp8),
            OutputMode::Encoded
        );
        assert_eq!(
            choose_mode(&gst::Caps::builder("application/x-rtp").build(), vp8),
            OutputMode::Rtp
        );
    }
}
