//! Reading the server's SDP offer: media sections, their mids, and receive caps for webrtcbin.

use gst_sdp::SDPMessage;

use super::CAT;

/// One audio or video section of an offer.
#[derive(Debug, Clone)]
pub struct OfferedMedia {
    /// Index of the m-line in the offer.
    pub mline: u32,
    /// `audio` or `video`.
    pub kind: String,
    /// RTP caps for a transceiver: codec fields, RTCP feedback and header extensions only.
    pub caps: gst::Caps,
    /// The server's direction for this section (`a=sendrecv` when none is given).
    pub direction: MediaDirection,
}

/// An offered section's direction, from the server's point of view.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaDirection {
    /// The server sends and receives.
    SendRecv,
    /// The server only sends.
    SendOnly,
    /// The server only receives.
    RecvOnly,
    /// Neither.
    Inactive,
}

impl MediaDirection {
    /// Whether the server accepts media from us on this section.
    pub fn server_receives(self) -> bool {
        matches!(self, Self::SendRecv | Self::RecvOnly)
    }

    fn of(section: &gst_sdp::SDPMediaRef) -> Self {
        section
            .attributes()
            .find_map(|attribute| match attribute.key() {
                "sendonly" => Some(Self::SendOnly),
                "recvonly" => Some(Self::RecvOnly),
                "inactive" => Some(Self::Inactive),
                "sendrecv" => Some(Self::SendRecv),
                _ => None,
            })
            .unwrap_or(Self::SendRecv)
    }
}

/// A parsed offer.
#[derive(Debug, Clone)]
pub struct Offer {
    /// The parsed SDP.
    pub message: SDPMessage,
    /// Audio and video sections, in m-line order.
    pub media: Vec<OfferedMedia>,
    /// mid of every m-line (data channel included), by index.
    pub mids: Vec<String>,
}

/// Errors in the offer.
#[derive(Debug, thiserror::Error)]
pub enum SdpError {
    /// Not parseable as SDP.
    #[error("the server's SDP offer does not parse: {0}")]
    Parse(#[source] gst::glib::BoolError),
    /// Parsed, but nothing in it can carry media (SDP parsing is lenient: any text reads as an
    /// empty description).
    #[error("the server's SDP offer has no audio or video section")]
    NoMedia,
}

impl Offer {
    /// Parses an offer and derives the per-section caps.
    pub fn parse(sdp: &str) -> Result<Self, SdpError> {
        let message = SDPMessage::parse_buffer(sdp.as_bytes()).map_err(SdpError::Parse)?;
        let mut media = Vec::new();
        let mut mids = Vec::new();
        for (index, section) in message.medias().enumerate() {
            let mid = section.attribute_val("mid").unwrap_or_default().to_owned();
            mids.push(mid);
            let kind = section.media().unwrap_or_default();
            if kind != "audio" && kind != "video" {
                continue;
            }
            let Some(payload) = section.format(0).and_then(|f| f.parse::<i32>().ok()) else {
                continue;
            };
            let Some(mut caps) = section.caps_from_media(payload) else {
                continue;
            };
            if section.attributes_to_caps(caps.make_mut()).is_err() {
                gst::debug!(
                    CAT,
                    "could not read the attributes of the offered section at m-line {index}"
                );
            }
            let caps = codec_caps(&caps);
            media.push(OfferedMedia {
                mline: index as u32,
                kind: kind.to_owned(),
                caps,
                direction: MediaDirection::of(section),
            });
        }
        if media.is_empty() {
            return Err(SdpError::NoMedia);
        }
        Ok(Self {
            message,
            media,
            mids,
        })
    }
}

/// Keeps only what describes the codec: SDP attributes like the fingerprint or ICE credentials
/// must not end up in our answer.
fn codec_caps(caps: &gst::Caps) -> gst::Caps {
    let mut out = gst::Caps::new_empty();
    {
        let out = out.get_mut().expect("new caps are writable");
        for structure in caps.iter() {
            let mut filtered = gst::Structure::new_empty("application/x-rtp");
            for (field, value) in structure.iter() {
                let field = field.as_str();
                if field.starts_with("a-") || field.starts_with("ssrc-") || field == "ssrc" {
                    continue;
                }
                filtered.set_value(field, value.clone());
            }
            super::extensions::retain_supported(&mut filtered);
            out.append_structure(filtered);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const OFFER: &str = "v=0\r\no=- 1 2 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0 1 2\r\n\
m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\na=setup:actpass\r\na=ice-ufrag:abc\r\na=ice-pwd:abcdefabcdefabcdefabcdef\r\n\
a=fingerprint:sha-256 00:11\r\na=rtpmap:111 opus/48000/2\r\na=fmtp:111 useinbandfec=1;stereo=1\r\na=sendrecv\r\n\
m=video 9 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 0.0.0.0\r\na=mid:1\r\na=rtpmap:96 VP8/90000\r\na=rtcp-fb:96 nack pli\r\n\
a=extmap:1 http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01\r\na=sendrecv\r\n\
m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 0.0.0.0\r\na=mid:2\r\na=sctp-port:5000\r\n";

    #[test]
    fn reads_sections_and_filters_caps() {
        gst::init().unwrap();
        let offer = Offer::parse(OFFER).unwrap();
        assert_eq!(offer.mids, vec!["0", "1", "2"]);
        assert_eq!(offer.media.len(), 2);
        let video = &offer.media[1];
        assert_eq!((video.kind.as_str(), video.mline), ("video", 1));
        let s = video.caps.structure(0).unwrap();
        assert_eq!(s.get::<&str>("encoding-name").unwrap(), "VP8");
        assert!(s.has_field("rtcp-fb-nack-pli"));
        assert!(s.has_field("extmap-1"));
        assert!(!s.iter().any(|(f, _)| f.starts_with("a-")), "{s}");
        let audio = offer.media[0].caps.structure(0).unwrap();
        assert_eq!(audio.get::<&str>("encoding-name").unwrap(), "OPUS");
        assert_eq!(offer.media[0].direction, MediaDirection::SendRecv);
        let recvonly = OFFER.replacen("a=sendrecv", "a=sendonly", 1);
        let offer = Offer::parse(&recvonly).unwrap();
        assert_eq!(offer.media[0].direction, MediaDirection::SendOnly);
        assert!(!offer.media[0].direction.server_receives());
    }

    #[test]
    fn garbage_is_an_error() {
        gst::init().unwrap();
        assert!(Offer::parse("not sdp").is_err());
    }
}
