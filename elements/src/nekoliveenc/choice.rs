//! Which encoder `nekoliveenc` wraps: the installed real-time encoders, hardware first, and the
//! settings that make each one fit for live WebRTC viewers (constant bit rate, no B-frames,
//! nothing held back for look-ahead).

use super::LiveCodec;

/// One encoder the element can wrap.
#[derive(Debug)]
pub(super) struct Candidate {
    /// GStreamer element factory.
    pub factory: &'static str,
    /// What it encodes to.
    pub codec: Codec,
    /// A GPU or other hardware block does the work.
    pub hardware: bool,
    /// Properties and how to set them, from the bit rate and key frame interval.
    settings: fn(&Rate) -> Vec<(&'static str, String)>,
}

/// A concrete codec (what `auto` resolves to).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Codec {
    Vp8,
    H264,
}

impl Codec {
    /// Caps the encoder's output is held to, or none: H.264 in the baseline profiles every
    /// browser decodes, as a byte stream of whole access units, which `rtph264pay` takes.
    pub fn output_caps(self) -> Option<gst::Caps> {
        match self {
            Codec::Vp8 => None,
            Codec::H264 => Some(
                gst::Caps::builder("video/x-h264")
                    .field("stream-format", "byte-stream")
                    .field("alignment", "au")
                    .field(
                        "profile",
                        gst::List::new(["constrained-baseline", "baseline"]),
                    )
                    .build(),
            ),
        }
    }
}

/// The rate settings every candidate is given.
#[derive(Debug, Clone, Copy)]
pub(super) struct Rate {
    /// Bits per second.
    pub bitrate: u32,
    /// Frames between key frames.
    pub keyframe_interval: u32,
}

impl Rate {
    fn kbps(&self) -> String {
        (self.bitrate / 1000).max(1).to_string()
    }
}

/// Every encoder the element knows, best first within a codec: hardware, then software.
pub(super) const CANDIDATES: &[Candidate] = &[
    Candidate {
        // NVIDIA NVENC (nvcodec plugin; registered only where the driver can encode).
        factory: "nvh264enc",
        codec: Codec::H264,
        hardware: true,
        settings: |rate| {
            vec![
                ("preset", "low-latency-hq".into()),
                ("rc-mode", "cbr".into()),
                ("bitrate", rate.kbps()),
                ("gop-size", rate.keyframe_interval.to_string()),
                ("bframes", "0".into()),
                ("zerolatency", "true".into()),
            ]
        },
    },
    Candidate {
        // VA-API (Intel and AMD GPUs), the va plugin.
        factory: "vah264enc",
        codec: Codec::H264,
        hardware: true,
        settings: |rate| {
            vec![
                ("rate-control", "cbr".into()),
                ("bitrate", rate.kbps()),
                ("key-int-max", rate.keyframe_interval.to_string()),
                ("b-frames", "0".into()),
                ("target-usage", "7".into()),
            ]
        },
    },
    Candidate {
        // Intel Quick Sync.
        factory: "qsvh264enc",
        codec: Codec::H264,
        hardware: true,
        settings: |rate| {
            vec![
                ("rate-control", "cbr".into()),
                ("bitrate", rate.kbps()),
                ("gop-size", rate.keyframe_interval.to_string()),
                ("b-frames", "0".into()),
                ("low-latency", "true".into()),
            ]
        },
    },
    Candidate {
        factory: "x264enc",
        codec: Codec::H264,
        hardware: false,
        settings: |rate| {
            vec![
                ("tune", "zerolatency".into()),
                ("speed-preset", "ultrafast".into()),
                ("bitrate", rate.kbps()),
                ("key-int-max", rate.keyframe_interval.to_string()),
                ("bframes", "0".into()),
            ]
        },
    },
    Candidate {
        factory: "openh264enc",
        codec: Codec::H264,
        hardware: false,
        settings: |rate| {
            vec![
                ("rate-control", "bitrate".into()),
                ("bitrate", rate.bitrate.to_string()),
                ("gop-size", rate.keyframe_interval.to_string()),
                ("complexity", "low".into()),
            ]
        },
    },
    Candidate {
        factory: "vp8enc",
        codec: Codec::Vp8,
        hardware: false,
        settings: |rate| {
            vec![
                ("deadline", "1".into()),
                ("cpu-used", "8".into()),
                ("end-usage", "cbr".into()),
                ("target-bitrate", rate.bitrate.to_string()),
                ("keyframe-max-dist", rate.keyframe_interval.to_string()),
                ("error-resilient", "partitions".into()),
                // Time stamps at the RTP clock's resolution, not rounded to the frame rate's
                // grid (frames thinned from a faster room do not sit on it).
                ("timebase", "1/90000".into()),
            ]
        },
    },
];

impl Candidate {
    /// The candidate's settings for `rate`, as property names and their string forms.
    pub fn settings(&self, rate: &Rate) -> Vec<(&'static str, String)> {
        (self.settings)(rate)
    }
}

/// Nothing installed encodes what was asked for.
#[derive(Debug, thiserror::Error)]
#[error("no {wanted} encoder is installed (looked for {looked_for}); install {install}")]
pub(super) struct NoEncoder {
    wanted: &'static str,
    looked_for: String,
    install: &'static str,
}

/// The encoder for `wanted` among those `installed` says are there.
///
/// `auto` takes H.264: on a hardware encoder when there is one (the GPU does the work and the
/// CPU stays with the agent), in software otherwise (every browser decodes it, often in
/// hardware, and a view looks the same from machines with and without a GPU; x264 at these
/// settings costs no more CPU than VP8, `docs/performance.md`), and VP8 only where no H.264
/// encoder is installed. A named codec takes its hardware encoder when there is one and its
/// software encoder otherwise.
pub(super) fn choose(
    wanted: LiveCodec,
    installed: impl Fn(&str) -> bool,
) -> Result<&'static Candidate, NoEncoder> {
    let of = |codec: Codec| CANDIDATES.iter().filter(move |c| c.codec == codec);
    let in_order: Vec<&'static Candidate> = match wanted {
        LiveCodec::Auto => of(Codec::H264).chain(of(Codec::Vp8)).collect(),
        LiveCodec::Vp8 => of(Codec::Vp8).collect(),
        LiveCodec::H264 => of(Codec::H264).collect(),
    };
    let found = in_order.iter().copied().find(|c| installed(c.factory));
    found.ok_or_else(|| {
        let (wanted_codec, install) = match wanted {
            LiveCodec::Auto => (
                "video",
                "gstreamer1.0-plugins-good (vp8enc) or gstreamer1.0-plugins-ugly (x264enc)",
            ),
            LiveCodec::Vp8 => ("VP8", "gstreamer1.0-plugins-good (vp8enc)"),
            LiveCodec::H264 => ("H.264", "gstreamer1.0-plugins-ugly (x264enc)"),
        };
        let looked_for: Vec<&str> = in_order.iter().map(|c| c.factory).collect();
        NoEncoder {
            wanted: wanted_codec,
            looked_for: looked_for.join(", "),
            install,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chosen(wanted: LiveCodec, installed: &[&str]) -> Option<&'static str> {
        choose(wanted, |name| installed.contains(&name))
            .ok()
            .map(|c| c.factory)
    }

    #[test]
    fn auto_takes_h264_hardware_first_and_vp8_without_an_h264_encoder() {
        let all = ["vp8enc", "x264enc", "nvh264enc", "vah264enc"];
        assert_eq!(chosen(LiveCodec::Auto, &all), Some("nvh264enc"));
        assert_eq!(chosen(LiveCodec::Auto, &all[..2]), Some("x264enc"));
        assert_eq!(chosen(LiveCodec::Auto, &["vp8enc"]), Some("vp8enc"));
        assert_eq!(
            chosen(LiveCodec::Auto, &["vp8enc", "openh264enc"]),
            Some("openh264enc")
        );
        assert_eq!(
            chosen(LiveCodec::Auto, &["vp8enc", "vah264enc"]),
            Some("vah264enc")
        );
    }

    #[test]
    fn a_named_codec_prefers_hardware_then_software() {
        assert_eq!(
            chosen(LiveCodec::H264, &["x264enc", "nvh264enc"]),
            Some("nvh264enc")
        );
        assert_eq!(
            chosen(LiveCodec::H264, &["vp8enc", "x264enc"]),
            Some("x264enc")
        );
        assert_eq!(
            chosen(LiveCodec::H264, &["openh264enc"]),
            Some("openh264enc")
        );
        assert_eq!(
            chosen(LiveCodec::Vp8, &["vp8enc", "nvh264enc"]),
            Some("vp8enc")
        );
    }

    #[test]
    fn a_missing_encoder_says_what_to_install() {
        let error = choose(LiveCodec::H264, |name| name == "vp8enc").unwrap_err();
        let text = error.to_string();
        assert!(text.contains("no H.264 encoder"), "{text}");
        assert!(text.contains("nvh264enc, vah264enc"), "{text}");
        assert!(text.contains("x264enc"), "{text}");
    }

    #[test]
    fn settings_carry_the_rate() {
        let rate = Rate {
            bitrate: 1_500_000,
            keyframe_interval: 60,
        };
        let x264 = CANDIDATES.iter().find(|c| c.factory == "x264enc").unwrap();
        let settings = x264.settings(&rate);
        assert!(settings.contains(&("bitrate", "1500".into())));
        assert!(settings.contains(&("key-int-max", "60".into())));
        let vp8 = CANDIDATES.iter().find(|c| c.factory == "vp8enc").unwrap();
        assert!(
            vp8.settings(&rate)
                .contains(&("target-bitrate", "1500000".into()))
        );
    }
}
