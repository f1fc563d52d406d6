//! The codecs Neko can send, and the GStreamer elements that depayload, parse and decode them.

/// One RTP codec and the elements that handle it.
#[derive(Debug)]
pub struct Codec {
    /// `encoding-name` in RTP caps (upper case).
    pub encoding_name: &'static str,
    /// `audio` or `video`.
    pub media: &'static str,
    /// RTP depayloader.
    pub depayloader: &'static str,
    /// Parser between depayloader and decoder, if one is needed.
    pub parser: Option<&'static str>,
    /// Media type of the depayloaded stream.
    pub encoded_caps: &'static str,
    /// Software decoders, best first.
    pub software_decoders: &'static [&'static str],
    /// NVIDIA NVDEC decoder (registered by the nvcodec plugin when a GPU is present).
    pub nvdec: Option<&'static str>,
}

/// Every codec the Neko server can be configured with.
pub const CODECS: &[Codec] = &[
    Codec {
        encoding_name: "VP8",
        media: "video",
        depayloader: "rtpvp8depay",
        parser: None,
        encoded_caps: "video/x-vp8",
        software_decoders: &["vp8dec", "avdec_vp8"],
        nvdec: Some("nvvp8dec"),
    },
    Codec {
        encoding_name: "VP9",
        media: "video",
        depayloader: "rtpvp9depay",
        parser: None,
        encoded_caps: "video/x-vp9",
        software_decoders: &["vp9dec", "avdec_vp9"],
        nvdec: Some("nvvp9dec"),
    },
    Codec {
        encoding_name: "H264",
        media: "video",
        depayloader: "rtph264depay",
        parser: Some("h264parse"),
        encoded_caps: "video/x-h264",
        software_decoders: &["avdec_h264", "openh264dec"],
        nvdec: Some("nvh264dec"),
    },
    Codec {
        encoding_name: "H265",
        media: "video",
        depayloader: "rtph265depay",
        parser: Some("h265parse"),
        encoded_caps: "video/x-h265",
        software_decoders: &["avdec_h265"],
        nvdec: Some("nvh265dec"),
    },
    Codec {
        encoding_name: "AV1",
        media: "video",
        depayloader: "rtpav1depay",
        parser: Some("av1parse"),
        encoded_caps: "video/x-av1",
        software_decoders: &["dav1ddec", "av1dec", "avdec_av1"],
        nvdec: Some("nvav1dec"),
    },
    Codec {
        encoding_name: "OPUS",
        media: "audio",
        depayloader: "rtpopusdepay",
        parser: None,
        encoded_caps: "audio/x-opus",
        software_decoders: &["opusdec"],
        nvdec: None,
    },
    Codec {
        encoding_name: "G722",
        media: "audio",
        depayloader: "rtpg722depay",
        parser: None,
        encoded_caps: "audio/G722",
        software_decoders: &["avdec_g722"],
        nvdec: None,
    },
    Codec {
        encoding_name: "PCMU",
        media: "audio",
        depayloader: "rtppcmudepay",
        parser: None,
        encoded_caps: "audio/x-mulaw",
        software_decoders: &["mulawdec"],
        nvdec: None,
    },
    Codec {
        encoding_name: "PCMA",
        media: "audio",
        depayloader: "rtppcmadepay",
        parser: None,
        encoded_caps: "audio/x-alaw",
        software_decoders: &["alawdec"],
        nvdec: None,
    },
];

/// Which decoder family to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DecoderPreference {
    /// NVDEC when registered, software otherwise.
    #[default]
    Auto,
    /// NVDEC only; an error when it is not registered.
    Nvdec,
    /// Software only.
    Software,
}

/// Why no decoder could be chosen.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum CodecError {
    /// The room sends a codec we do not know.
    #[error("the room sends {0:?}, which nekosrc cannot handle")]
    Unsupported(String),
    /// NVDEC was forced but is not available.
    #[error(
        "decoder=nvdec but {0} is not registered (no NVIDIA GPU or driver, or gstreamer1.0-plugins-bad without nvcodec); use decoder=auto or decoder=software"
    )]
    NvdecMissing(&'static str),
    /// No software decoder is installed.
    #[error(
        "no decoder for {codec} is installed (tried {tried}); install gstreamer1.0-plugins-good/-bad/-libav"
    )]
    NoDecoder {
        /// Codec name.
        codec: &'static str,
        /// Factories looked for.
        tried: String,
    },
}

impl Codec {
    /// Looks a codec up by its RTP `encoding-name` (case-insensitive).
    pub fn by_encoding_name(name: &str) -> Result<&'static Codec, CodecError> {
        CODECS
            .iter()
            .find(|c| c.encoding_name.eq_ignore_ascii_case(name))
            .ok_or_else(|| CodecError::Unsupported(name.to_owned()))
    }

    /// Picks the decoder factory according to the preference and what is registered.
    pub fn decoder(&self, preference: DecoderPreference) -> Result<&'static str, CodecError> {
        let registered = |name: &&str| gst::ElementFactory::find(name).is_some();
        let nvdec = self.nvdec.filter(registered);
        match preference {
            DecoderPreference::Nvdec => {
                return nvdec.ok_or(CodecError::NvdecMissing(
                    self.nvdec.unwrap_or("an NVDEC decoder"),
                ));
            }
            DecoderPreference::Auto => {
                if let Some(nvdec) = nvdec {
                    return Ok(nvdec);
                }
            }
            DecoderPreference::Software => {}
        }
        self.software_decoders
            .iter()
            .copied()
            .find(registered)
            .ok_or_else(|| CodecError::NoDecoder {
                codec: self.encoding_name,
                tried: self.software_decoders.join(", "),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_installed_decoders() {
        gst::init().unwrap();
        let vp8 = Codec::by_encoding_name("vp8").unwrap();
        let auto = vp8.decoder(DecoderPreference::Auto).unwrap();
        assert!(auto == "vp8dec" || auto == "nvvp8dec");
        assert_eq!(vp8.decoder(DecoderPreference::Software).unwrap(), "vp8dec");
        if gst::ElementFactory::find("nvvp8dec").is_none() {
            assert_eq!(
                vp8.decoder(DecoderPreference::Nvdec),
                Err(CodecError::NvdecMissing("nvvp8dec"))
            );
        }
        assert!(matches!(
            Codec::by_encoding_name("THEORA"),
            Err(CodecError::Unsupported(_))
        ));
    }
}
