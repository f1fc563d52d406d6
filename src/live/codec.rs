//! The codec the live branch encodes to, as the viewers' side needs it: found from the
//! encoder's output caps, matched against a WHEP offer, and payloaded for RTP.

use gst::prelude::*;

/// What the branch's `live` tee carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ViewCodec {
    /// VP8.
    Vp8,
    /// H.264 (baseline profiles).
    H264,
}

/// An offered payload type the live view can answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Offered {
    /// The RTP payload type.
    pub payload: u32,
    /// The codec it carries.
    pub codec: ViewCodec,
}

impl ViewCodec {
    /// The codec of encoded video caps (`video/x-vp8`, `video/x-h264`), or none.
    pub fn of_caps(caps: &gst::CapsRef) -> Option<Self> {
        caps.iter().find_map(|s| match s.name().as_str() {
            "video/x-vp8" => Some(ViewCodec::Vp8),
            "video/x-h264" => Some(ViewCodec::H264),
            _ => None,
        })
    }

    /// The codec the element feeding `tee`'s sink pad encodes to: its current caps once video
    /// flows, what it can produce before.
    pub fn feeding(tee: &gst::Element) -> Option<Self> {
        let pad = tee.static_pad("sink")?;
        let caps = pad
            .current_caps()
            .unwrap_or_else(|| pad.peer_query_caps(None));
        Self::of_caps(&caps)
    }

    /// Name in SDP and RTP caps.
    pub fn encoding_name(self) -> &'static str {
        match self {
            ViewCodec::Vp8 => "VP8",
            ViewCodec::H264 => "H264",
        }
    }

    /// The payload type `offer`'s first video section gives this codec. For H.264 only
    /// `packetization-mode=1` (fragmented units, which `rtph264pay` sends) is taken, constrained
    /// baseline preferred, then baseline, then any profile (they all decode a baseline stream).
    pub fn offered(self, offer: &gst_sdp::SDPMessage) -> Option<Offered> {
        let video = offer.medias().find(|m| m.media() == Some("video"))?;
        let mut candidates: Vec<(u32, u8)> = video
            .attributes()
            .filter(|a| a.key() == "rtpmap")
            .filter_map(|a| {
                let (payload, codec) = a.value()?.split_once(' ')?;
                let name = codec.split('/').next()?;
                name.eq_ignore_ascii_case(self.encoding_name())
                    .then(|| payload.parse().ok())
                    .flatten()
            })
            .filter_map(|payload: u32| {
                let rank = match self {
                    ViewCodec::Vp8 => 0,
                    ViewCodec::H264 => h264_rank(&fmtp(video, payload))?,
                };
                Some((payload, rank))
            })
            .collect();
        candidates.sort_by_key(|&(_, rank)| rank);
        candidates.first().map(|&(payload, _)| Offered {
            payload,
            codec: self,
        })
    }

    /// Why an offer without this codec cannot be answered, for the viewer.
    pub fn missing_from_offer(self) -> String {
        match self {
            ViewCodec::Vp8 => "it offers no VP8 video (this live view sends VP8)".into(),
            ViewCodec::H264 => "it offers no H.264 video with packetization-mode=1 (this live view sends H.264; run with --live-codec vp8 for VP8)".into(),
        }
    }
}

impl Offered {
    /// The RTP payloader for this payload type.
    pub fn payloader(&self) -> Result<gst::Element, gst::glib::BoolError> {
        match self.codec {
            ViewCodec::Vp8 => gst::ElementFactory::make("rtpvp8pay")
                .property("pt", self.payload)
                .property_from_str("picture-id-mode", "15-bit")
                .build(),
            ViewCodec::H264 => gst::ElementFactory::make("rtph264pay")
                .property("pt", self.payload)
                // Parameter sets before every key frame, so a viewer can start at any of them.
                .property("config-interval", -1i32)
                .property_from_str("aggregate-mode", "zero-latency")
                .build(),
        }
    }

    /// The codec preferences of the viewer's transceiver: only this payload type is answered.
    pub fn rtp_caps(&self) -> gst::Caps {
        let builder = gst::Caps::builder("application/x-rtp")
            .field("media", "video")
            .field("encoding-name", self.codec.encoding_name())
            .field("payload", self.payload as i32)
            .field("clock-rate", 90000i32);
        match self.codec {
            ViewCodec::Vp8 => builder.build(),
            ViewCodec::H264 => builder.field("packetization-mode", "1").build(),
        }
    }
}

/// The `a=fmtp` parameters of `payload` in `media` (empty when it has none).
fn fmtp(media: &gst_sdp::SDPMediaRef, payload: u32) -> String {
    let prefix = format!("{payload} ");
    media
        .attributes()
        .filter(|a| a.key() == "fmtp")
        .find_map(|a| a.value()?.strip_prefix(&prefix).map(str::to_owned))
        .unwrap_or_default()
}

/// How well an offered H.264 format fits a baseline stream sent in fragmentation units (lower
/// is better); none for formats that cannot carry it.
fn h264_rank(fmtp: &str) -> Option<u8> {
    let parameter = |name: &str| {
        fmtp.split(';').find_map(|p| {
            let (key, value) = p.trim().split_once('=')?;
            key.eq_ignore_ascii_case(name)
                .then(|| value.trim().to_ascii_lowercase())
        })
    };
    if parameter("packetization-mode").as_deref() != Some("1") {
        return None;
    }
    let profile = parameter("profile-level-id").unwrap_or_default();
    Some(if profile.starts_with("42e0") {
        0
    } else if profile.starts_with("42") {
        1
    } else {
        2
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A browser-like offer: VP8, and H.264 in several profiles and packetization modes.
    const OFFER: &str = "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n\
        m=video 9 UDP/TLS/RTP/SAVPF 96 102 103 106 127\r\nc=IN IP4 0.0.0.0\r\n\
        a=rtpmap:96 VP8/90000\r\n\
        a=rtpmap:102 H264/90000\r\na=fmtp:102 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42001f\r\n\
        a=rtpmap:103 H264/90000\r\na=fmtp:103 level-asymmetry-allowed=1;packetization-mode=0;profile-level-id=42e01f\r\n\
        a=rtpmap:106 H264/90000\r\na=fmtp:106 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f\r\n\
        a=rtpmap:127 H264/90000\r\na=fmtp:127 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=4d001f\r\n\
        a=recvonly\r\n";

    fn parse(sdp: &str) -> gst_sdp::SDPMessage {
        gst::init().unwrap();
        gst_sdp::SDPMessage::parse_buffer(sdp.as_bytes()).unwrap()
    }

    #[test]
    fn vp8_takes_its_payload_type() {
        let offered = ViewCodec::Vp8.offered(&parse(OFFER)).unwrap();
        assert_eq!(offered.payload, 96);
    }

    #[test]
    fn h264_takes_constrained_baseline_in_fragmentation_units() {
        let offered = ViewCodec::H264.offered(&parse(OFFER)).unwrap();
        assert_eq!(offered.payload, 106);
        // Without it: baseline, then any profile, never packetization-mode 0.
        let without = OFFER.replace("profile-level-id=42e01f\r\n", "profile-level-id=640c1f\r\n");
        assert_eq!(
            ViewCodec::H264.offered(&parse(&without)).unwrap().payload,
            102
        );
        let single_nal_only = "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n\
            m=video 9 UDP/TLS/RTP/SAVPF 103\r\nc=IN IP4 0.0.0.0\r\n\
            a=rtpmap:103 H264/90000\r\na=fmtp:103 packetization-mode=0;profile-level-id=42e01f\r\n";
        assert_eq!(ViewCodec::H264.offered(&parse(single_nal_only)), None);
    }

    #[test]
    fn an_offer_without_video_has_nothing() {
        let audio_only = "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n\
                          m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=rtpmap:111 opus/48000/2\r\n";
        assert_eq!(ViewCodec::Vp8.offered(&parse(audio_only)), None);
        assert_eq!(ViewCodec::H264.offered(&parse(audio_only)), None);
    }

    #[test]
    fn the_codec_is_read_from_encoded_caps() {
        gst::init().unwrap();
        let h264 = gst::Caps::builder("video/x-h264").build();
        assert_eq!(ViewCodec::of_caps(&h264), Some(ViewCodec::H264));
        let raw = gst::Caps::builder("video/x-raw").build();
        assert_eq!(ViewCodec::of_caps(&raw), None);
    }
}
