//! The shape of the room's SDP offer. By default it is the real server's (Pion with its default
//! interceptors, `neko-protocol.md` §4.2): header extensions on both media sections, `a=msid`
//! and Pion's four `a=ssrc` lines per track, `opus` in lower case, the data channel at mid `2`
//! and every section on port 9. webrtcbin writes most of it from the codec preferences; what it
//! words differently is rewritten here before the offer becomes the local description.

use gst_sdp::{SDPAttribute, SDPMessage};

/// The stream id of both tracks, as the real server's `NewTrack` names it.
const STREAM_ID: &str = "stream";

/// Pion's transport-wide congestion control extension (the TWCC sender interceptor).
const TRANSPORT_CC: &str =
    "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01";

/// Pion's simulcast extensions, registered for video before transport-cc (sdes:mid is also what
/// lets Pion route a stream whose SSRC the answer does not declare).
pub(super) const SDES_MID: &str = "urn:ietf:params:rtp-hdrext:sdes:mid";
const RTP_STREAM_ID: &str = "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id";
const REPAIRED_RTP_STREAM_ID: &str = "urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id";

/// The header extensions Pion offers on video, with the ids its registration order gives them.
const VIDEO_EXTENSIONS: [(u32, &str); 4] = [
    (1, SDES_MID),
    (2, RTP_STREAM_ID),
    (3, REPAIRED_RTP_STREAM_ID),
    (4, TRANSPORT_CC),
];

/// The header extensions Pion offers on audio (transport-cc keeps the id video gave it).
const AUDIO_EXTENSIONS: [(u32, &str); 1] = [(4, TRANSPORT_CC)];

/// How the room words its offers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum OfferStyle {
    /// As the real server: Pion's header extensions, msid/ssrc lines, `opus`, mid 2.
    #[default]
    Pion,
    /// The room's first shape, kept for comparison: no header extensions, no msid, webrtcbin's
    /// wording (`OPUS`, data channel mid `application0`).
    Minimal,
}

/// Which media section a track is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrackKind {
    /// mid 0, Opus.
    Audio,
    /// mid 1, VP8 or H.264.
    Video,
}

impl TrackKind {
    /// The track id the real server gives the track (`a=msid:stream audio`).
    fn track_id(self) -> &'static str {
        match self {
            TrackKind::Audio => "audio",
            TrackKind::Video => "video",
        }
    }
}

impl OfferStyle {
    /// The `(id, uri)` header extensions offered on a section, for its codec preferences
    /// (`extmap-<id>` fields).
    pub fn header_extensions(self, kind: TrackKind) -> &'static [(u32, &'static str)] {
        match (self, kind) {
            (OfferStyle::Minimal, _) => &[],
            (OfferStyle::Pion, TrackKind::Audio) => &AUDIO_EXTENSIONS,
            (OfferStyle::Pion, TrackKind::Video) => &VIDEO_EXTENSIONS,
        }
    }

    /// Rewrites webrtcbin's offer into this style; the minimal style leaves it as it is.
    pub fn reshape(self, offer: &mut SDPMessage) {
        if self == OfferStyle::Minimal {
            return;
        }
        let mut data_mid = None;
        for media in offer.medias_mut() {
            let kind = match media.media() {
                Some("audio") => Some(TrackKind::Audio),
                Some("video") => Some(TrackKind::Video),
                _ => None,
            };
            let attributes: Vec<(String, Option<String>)> = media
                .attributes()
                .map(|a| (a.key().to_owned(), a.value().map(str::to_owned)))
                .collect();
            let reshaped = match kind {
                Some(kind) => track_attributes(kind, attributes),
                None => {
                    data_mid = attributes
                        .iter()
                        .find(|(key, _)| key == "mid")
                        .and_then(|(_, value)| value.clone());
                    data_channel_attributes(attributes)
                }
            };
            while media.attributes_len() > 0 {
                let _ = media.remove_attribute(0);
            }
            for (key, value) in &reshaped {
                media.add_attribute(key, value.as_deref());
            }
            // Pion puts every bundled section on the discard port; webrtcbin marks all but the
            // first `bundle-only` with port 0.
            if media.port() == 0 {
                media.set_port_info(9, media.num_ports());
            }
        }
        if let Some(old) = data_mid {
            rename_in_bundle(offer, &old, DATA_CHANNEL_MID);
        }
    }
}

/// The real server's data channel mid.
const DATA_CHANNEL_MID: &str = "2";

/// One audio or video section's attributes in Pion's wording.
fn track_attributes(
    kind: TrackKind,
    attributes: Vec<(String, Option<String>)>,
) -> Vec<(String, Option<String>)> {
    let track = kind.track_id();
    let mut out = Vec::with_capacity(attributes.len() + 4);
    let mut ssrcs = Vec::new();
    let mut feedback_pt = None;
    let mut has_remb = false;
    for (key, value) in attributes {
        match (key.as_str(), value) {
            ("bundle-only", _) => {}
            ("rtpmap", Some(value)) => out.push((key, Some(lower_case_opus(&value)))),
            ("ssrc", Some(value)) => {
                // webrtcbin writes `<ssrc> msid:…` and `<ssrc> cname:…`; Pion writes four lines
                // per ssrc, naming the stream and the track.
                if let Some(ssrc) = value.split_whitespace().next()
                    && !ssrcs.iter().any(|s| s == ssrc)
                {
                    ssrcs.push(ssrc.to_owned());
                }
            }
            ("rtcp-fb", Some(value)) => {
                has_remb |= value.ends_with(" goog-remb");
                feedback_pt.get_or_insert_with(|| {
                    value
                        .split_whitespace()
                        .next()
                        .unwrap_or_default()
                        .to_owned()
                });
                out.push((key, Some(value)));
            }
            (_, value) => out.push((key, value)),
        }
    }
    if kind == TrackKind::Video
        && !has_remb
        && let Some(pt) = feedback_pt
    {
        out.push(("rtcp-fb".into(), Some(format!("{pt} goog-remb"))));
    }
    for ssrc in ssrcs {
        for line in [
            format!("{ssrc} cname:{STREAM_ID}"),
            format!("{ssrc} msid:{STREAM_ID} {track}"),
            format!("{ssrc} mslabel:{STREAM_ID}"),
            format!("{ssrc} label:{track}"),
        ] {
            out.push(("ssrc".into(), Some(line)));
        }
    }
    out.push(("msid".into(), Some(format!("{STREAM_ID} {track}"))));
    out
}

/// The data channel section's attributes, with the real server's mid.
fn data_channel_attributes(
    attributes: Vec<(String, Option<String>)>,
) -> Vec<(String, Option<String>)> {
    attributes
        .into_iter()
        .filter(|(key, _)| key != "bundle-only")
        .map(|(key, value)| match key.as_str() {
            "mid" => (key, Some(DATA_CHANNEL_MID.to_owned())),
            _ => (key, value),
        })
        .collect()
}

/// `111 OPUS/48000/2` → `111 opus/48000/2` (Pion's MIME type is `audio/opus`); other codecs
/// keep their case (`VP8`, `H264`, as Pion writes them).
fn lower_case_opus(rtpmap: &str) -> String {
    match rtpmap.split_once(' ') {
        Some((pt, encoding)) if encoding.to_ascii_lowercase().starts_with("opus/") => {
            format!("{pt} opus{}", &encoding[4..])
        }
        _ => rtpmap.to_owned(),
    }
}

/// Renames mid `old` to `new` in the session's `a=group:BUNDLE` line.
fn rename_in_bundle(offer: &mut SDPMessage, old: &str, new: &str) {
    let position = offer
        .attributes()
        .position(|a| a.key() == "group" && a.value().is_some_and(|v| v.starts_with("BUNDLE")));
    let Some(index) = position else { return };
    let Some(value) = offer.attribute(index as u32).and_then(|a| a.value()) else {
        return;
    };
    let renamed: Vec<String> = value
        .split_whitespace()
        .map(|token| if token == old { new } else { token }.to_owned())
        .collect();
    let _ = offer.replace_attribute(
        index as u32,
        SDPAttribute::new("group", Some(&renamed.join(" "))),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An offer as webrtcbin 1.22 writes it from the room's Pion-style codec preferences
    /// (candidates, ICE credentials and the fingerprint left out).
    const WEBRTCBIN_OFFER: &str = "v=0\r\n\
o=- 5593499552395550012 0 IN IP4 0.0.0.0\r\n\
s=-\r\n\
t=0 0\r\n\
a=ice-options:trickle\r\n\
a=group:BUNDLE 0 1 application0\r\n\
m=audio 9 UDP/TLS/RTP/SAVPF 111\r\n\
c=IN IP4 0.0.0.0\r\n\
a=setup:actpass\r\n\
a=rtcp-mux\r\n\
a=sendrecv\r\n\
a=rtpmap:111 OPUS/48000/2\r\n\
a=rtcp-fb:111 transport-cc\r\n\
a=mid:0\r\n\
a=extmap:4 http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01\r\n\
a=fmtp:111 useinbandfec=1;stereo=1\r\n\
a=ssrc:1111 msid:stream webrtctransceiver0\r\n\
a=ssrc:1111 cname:user2041142595@host-1e57f6c2\r\n\
m=video 0 UDP/TLS/RTP/SAVPF 96\r\n\
c=IN IP4 0.0.0.0\r\n\
a=setup:actpass\r\n\
a=bundle-only\r\n\
a=sendrecv\r\n\
a=rtpmap:96 VP8/90000\r\n\
a=rtcp-fb:96 nack\r\n\
a=rtcp-fb:96 nack pli\r\n\
a=rtcp-fb:96 ccm fir\r\n\
a=rtcp-fb:96 transport-cc\r\n\
a=mid:1\r\n\
a=extmap:1 urn:ietf:params:rtp-hdrext:sdes:mid\r\n\
a=ssrc:2222 msid:stream webrtctransceiver1\r\n\
a=ssrc:2222 cname:user2041142595@host-1e57f6c2\r\n\
m=application 0 UDP/DTLS/SCTP webrtc-datachannel\r\n\
c=IN IP4 0.0.0.0\r\n\
a=bundle-only\r\n\
a=mid:application0\r\n\
a=sctp-port:5000\r\n";

    fn reshaped(style: OfferStyle) -> String {
        gst::init().unwrap();
        let mut offer = SDPMessage::parse_buffer(WEBRTCBIN_OFFER.as_bytes()).unwrap();
        style.reshape(&mut offer);
        offer.as_text().unwrap()
    }

    fn section<'a>(sdp: &'a str, media: &str) -> &'a str {
        let start = sdp.find(&format!("m={media} ")).unwrap();
        let rest = &sdp[start..];
        let end = rest[2..].find("\r\nm=").map_or(rest.len(), |i| i + 4);
        &rest[..end]
    }

    #[test]
    fn the_pion_style_names_the_stream_and_tracks_as_the_real_server() {
        let sdp = reshaped(OfferStyle::Pion);
        let audio = section(&sdp, "audio");
        assert!(audio.contains("a=rtpmap:111 opus/48000/2\r\n"), "{audio}");
        assert!(audio.contains("a=msid:stream audio\r\n"), "{audio}");
        for line in [
            "a=ssrc:1111 cname:stream",
            "a=ssrc:1111 msid:stream audio",
            "a=ssrc:1111 mslabel:stream",
            "a=ssrc:1111 label:audio",
        ] {
            assert!(audio.contains(&format!("{line}\r\n")), "{line} in {audio}");
        }
        assert!(!audio.contains("webrtctransceiver"), "{audio}");
        assert!(!audio.contains("cname:user"), "{audio}");
        let video = section(&sdp, "video");
        assert!(video.starts_with("m=video 9 "), "{video}");
        assert!(!video.contains("bundle-only"), "{video}");
        assert!(video.contains("a=msid:stream video\r\n"), "{video}");
        assert!(video.contains("a=ssrc:2222 label:video\r\n"), "{video}");
        assert!(video.contains("a=rtcp-fb:96 goog-remb\r\n"), "{video}");
        assert!(video.contains("a=rtpmap:96 VP8/90000\r\n"), "{video}");
    }

    #[test]
    fn the_pion_style_puts_the_data_channel_at_mid_2_on_port_9() {
        let sdp = reshaped(OfferStyle::Pion);
        assert!(sdp.contains("a=group:BUNDLE 0 1 2\r\n"), "{sdp}");
        let data = section(&sdp, "application");
        assert!(data.starts_with("m=application 9 "), "{data}");
        assert!(data.contains("a=mid:2\r\n"), "{data}");
        assert!(data.contains("a=sctp-port:5000\r\n"), "{data}");
        assert!(!data.contains("bundle-only"), "{data}");
    }

    #[test]
    fn the_minimal_style_leaves_webrtcbin_s_offer_alone() {
        let sdp = reshaped(OfferStyle::Minimal);
        assert!(sdp.contains("a=rtpmap:111 OPUS/48000/2\r\n"), "{sdp}");
        assert!(sdp.contains("a=mid:application0\r\n"), "{sdp}");
        assert!(!sdp.contains("a=msid:"), "{sdp}");
    }

    #[test]
    fn header_extensions_follow_pion_s_registration_order() {
        let video = OfferStyle::Pion.header_extensions(TrackKind::Video);
        assert_eq!(
            video.iter().map(|(id, _)| *id).collect::<Vec<_>>(),
            [1, 2, 3, 4]
        );
        assert_eq!(video[0].1, SDES_MID);
        assert_eq!(
            OfferStyle::Pion.header_extensions(TrackKind::Audio),
            [(4, TRANSPORT_CC)]
        );
        assert!(
            OfferStyle::Minimal
                .header_extensions(TrackKind::Video)
                .is_empty()
        );
    }

    #[test]
    fn only_opus_changes_case() {
        assert_eq!(lower_case_opus("111 OPUS/48000/2"), "111 opus/48000/2");
        assert_eq!(lower_case_opus("111 Opus/48000/2"), "111 opus/48000/2");
        assert_eq!(lower_case_opus("102 H264/90000"), "102 H264/90000");
    }
}
