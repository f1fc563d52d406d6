//! Offers in every shape the real server (Pion) can send, answered by a real webrtcbin on the
//! receiver's path (`nekosrc`: audio and video received) and on the sender's (`nekosink`: audio
//! sent on the offer's `sendrecv` audio section).
//!
//! The offers are generated from small builders. One axis is enumerated completely (which header
//! extensions each section carries, and how their ids are assigned); the others (encoding-name
//! case, fmtp, RTCP feedback, msid/ssrc lines, candidates, data channel, ICE lite) rotate across
//! the variants so that every value of every axis is answered several times.

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr, UdpSocket};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use gst::prelude::*;
use gst_sdp::{SDPMediaRef, SDPMessage};

use super::extensions::{ONE_BYTE_IDS, SDES_MID, TRANSPORT_CC, is_supported};
use super::peer::{Peer, PeerConfig};

const AUDIO_LEVEL: &str = "urn:ietf:params:rtp-hdrext:ssrc-audio-level";
const ABS_SEND_TIME: &str = "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time";
const RTP_STREAM_ID: &str = "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id";
const REPAIRED_RTP_STREAM_ID: &str = "urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id";

/// Every extension URI an offer may carry, in Pion's registration order (the order that decides
/// its ids).
const ALL_EXTENSIONS: [&str; 6] = [
    SDES_MID,
    RTP_STREAM_ID,
    REPAIRED_RTP_STREAM_ID,
    TRANSPORT_CC,
    AUDIO_LEVEL,
    ABS_SEND_TIME,
];

/// Which extensions the audio section carries.
const AUDIO_EXTENSION_SETS: [&[&str]; 7] = [
    &[],
    &[TRANSPORT_CC],
    &[SDES_MID],
    &[AUDIO_LEVEL],
    &[ABS_SEND_TIME],
    &[SDES_MID, AUDIO_LEVEL],
    &ALL_EXTENSIONS,
];

/// Which extensions the video section carries (the second is current Pion's default set).
const VIDEO_EXTENSION_SETS: [&[&str]; 5] = [
    &[],
    &[
        SDES_MID,
        RTP_STREAM_ID,
        REPAIRED_RTP_STREAM_ID,
        TRANSPORT_CC,
    ],
    &[TRANSPORT_CC],
    &[ABS_SEND_TIME, TRANSPORT_CC],
    &ALL_EXTENSIONS,
];

/// How an offer numbers its extensions. One number per URI for the whole offer, as BUNDLE
/// requires.
#[derive(Debug, Clone, Copy)]
enum IdScheme {
    /// 1, 2, 3… in registration order (Pion).
    Sequential,
    /// Reverse order, starting high in the one-byte range: 14, 13, 12…
    ReversedHigh,
    /// Gaps between the ids: 2, 5, 8…
    Sparse,
    /// Ids from 15 up, which need two-byte headers, with `a=extmap-allow-mixed`.
    TwoByte,
    /// Ids near the top of the two-byte range: 250, 241, 232…
    TwoByteHigh,
}

const ID_SCHEMES: [IdScheme; 5] = [
    IdScheme::Sequential,
    IdScheme::ReversedHigh,
    IdScheme::Sparse,
    IdScheme::TwoByte,
    IdScheme::TwoByteHigh,
];

impl IdScheme {
    fn id_of(self, uri: &str) -> u8 {
        let rank = ALL_EXTENSIONS
            .iter()
            .position(|known| *known == uri)
            .expect("a known extension") as u8;
        match self {
            Self::Sequential => rank + 1,
            Self::ReversedHigh => 14 - rank,
            Self::Sparse => 2 + 3 * rank,
            Self::TwoByte => 15 + 7 * rank,
            Self::TwoByteHigh => 250 - 9 * rank,
        }
    }

    fn needs_two_bytes(self) -> bool {
        matches!(self, Self::TwoByte | Self::TwoByteHigh)
    }
}

/// One codec on an audio or video section.
#[derive(Debug, Clone, Copy)]
struct Codec {
    payload: u8,
    /// As written in `a=rtpmap`, in the offer's case.
    name: &'static str,
    /// Clock rate, and `/channels` for audio.
    rate: &'static str,
    fmtp: Option<&'static str>,
}

const OPUS_NAMES: [&str; 3] = ["opus", "OPUS", "Opus"];
const OPUS_FMTPS: [Option<&str>; 4] = [
    Some("minptime=10;useinbandfec=1"),
    Some("useinbandfec=1;stereo=1"),
    Some("stereo=1;sprop-stereo=1"),
    None,
];

const VIDEO_CODECS: [Codec; 7] = [
    Codec {
        payload: 96,
        name: "VP8",
        rate: "90000",
        fmtp: None,
    },
    Codec {
        payload: 96,
        name: "vp8",
        rate: "90000",
        fmtp: None,
    },
    Codec {
        payload: 102,
        name: "H264",
        rate: "90000",
        fmtp: Some("level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"),
    },
    Codec {
        payload: 102,
        name: "h264",
        rate: "90000",
        fmtp: Some("profile-level-id=42001f;packetization-mode=0"),
    },
    Codec {
        payload: 125,
        name: "H264",
        rate: "90000",
        fmtp: Some("profile-level-id=640c1f;packetization-mode=1"),
    },
    Codec {
        payload: 102,
        name: "H264",
        rate: "90000",
        fmtp: None,
    },
    Codec {
        payload: 98,
        name: "VP9",
        rate: "90000",
        fmtp: Some("profile-id=0"),
    },
];

const AUDIO_FEEDBACK: [&[&str]; 3] = [&[], &["transport-cc"], &["nack"]];
const VIDEO_FEEDBACK: [&[&str]; 7] = [
    &["transport-cc", "goog-remb", "ccm fir", "nack pli", "nack"],
    &[],
    &["nack"],
    &["nack", "nack pli"],
    &["ccm fir"],
    &["goog-remb"],
    &["transport-cc"],
];

/// One audio or video section of an offer.
#[derive(Debug, Clone)]
struct Section {
    kind: &'static str,
    mid: &'static str,
    codec: Codec,
    feedback: &'static [&'static str],
    extensions: &'static [&'static str],
}

/// An offer as the real server could send it.
#[derive(Debug, Clone)]
struct OfferShape {
    audio: Section,
    video: Section,
    ids: IdScheme,
    /// `a=msid-semantic`, `a=msid` and `a=ssrc … cname/msid` lines (Pion writes all of them).
    msid: bool,
    /// Non-trickle: the real address in `c=` and every candidate in the body. Otherwise
    /// `c=IN IP4 0.0.0.0`, port 9 and `a=ice-options:trickle`.
    inline_candidates: bool,
    data_channel: bool,
    /// `a=ice-lite` at session level (the server's `webrtc.icelite`).
    ice_lite: bool,
    /// Where the inline candidate points: a loopback socket the test holds.
    port: u16,
    /// 0 for the first offer, 1 for the server's ICE-restart offer (`signal/restart`): new ICE
    /// credentials and session version, the same media.
    generation: u8,
}

const FINGERPRINT: &str = "sha-256 6B:8B:F0:65:5F:78:E2:51:3B:AC:6F:F3:3F:46:1B:35:DC:B8:5F:64:1A:24:C2:43:F0:A1:58:D0:A1:2C:19:08";

impl OfferShape {
    /// The `n`-th variant for one combination of extension sets and id scheme; the other axes
    /// rotate with `n` at co-prime periods, so every pair of their values occurs.
    fn variant(
        n: usize,
        audio_extensions: &'static [&'static str],
        video_extensions: &'static [&'static str],
        ids: IdScheme,
        port: u16,
    ) -> Self {
        Self {
            audio: Section {
                kind: "audio",
                mid: "0",
                codec: Codec {
                    payload: 111,
                    name: OPUS_NAMES[n % OPUS_NAMES.len()],
                    rate: "48000/2",
                    fmtp: OPUS_FMTPS[n % OPUS_FMTPS.len()],
                },
                feedback: AUDIO_FEEDBACK[n % AUDIO_FEEDBACK.len()],
                extensions: audio_extensions,
            },
            video: Section {
                kind: "video",
                mid: "1",
                codec: VIDEO_CODECS[n % VIDEO_CODECS.len()],
                feedback: VIDEO_FEEDBACK[(n / 2) % VIDEO_FEEDBACK.len()],
                extensions: video_extensions,
            },
            ids,
            msid: n.is_multiple_of(2),
            inline_candidates: (n / 3).is_multiple_of(2),
            data_channel: n % 5 != 4,
            ice_lite: n % 7 == 3,
            port,
            generation: 0,
        }
    }

    /// The same offer after an ICE restart.
    fn restarted(&self) -> Self {
        Self {
            generation: self.generation + 1,
            ..self.clone()
        }
    }

    fn sections(&self) -> [&Section; 2] {
        [&self.audio, &self.video]
    }

    /// The offer's SDP text.
    fn sdp(&self) -> String {
        let mut mids: Vec<&str> = self.sections().iter().map(|s| s.mid).collect();
        if self.data_channel {
            mids.push("2");
        }
        let mut lines = vec![
            "v=0".to_owned(),
            format!(
                "o=- 4215775240449105457 {} IN IP4 0.0.0.0",
                1_733_000_000 + u32::from(self.generation)
            ),
            "s=-".to_owned(),
            "t=0 0".to_owned(),
            format!("a=fingerprint:{FINGERPRINT}"),
        ];
        if self.ice_lite {
            lines.push("a=ice-lite".to_owned());
        }
        if self.ids.needs_two_bytes() {
            lines.push("a=extmap-allow-mixed".to_owned());
        }
        lines.push(format!("a=group:BUNDLE {}", mids.join(" ")));
        if self.msid {
            lines.push("a=msid-semantic:WMS stream".to_owned());
        }
        for (index, section) in self.sections().into_iter().enumerate() {
            let codec = section.codec;
            lines.push(format!(
                "m={} {} UDP/TLS/RTP/SAVPF {}",
                section.kind,
                self.media_port(),
                codec.payload
            ));
            self.push_transport(&mut lines, section.mid);
            lines.push("a=rtcp-mux".to_owned());
            lines.push("a=rtcp-rsize".to_owned());
            lines.push(format!(
                "a=rtpmap:{} {}/{}",
                codec.payload, codec.name, codec.rate
            ));
            if let Some(fmtp) = codec.fmtp {
                lines.push(format!("a=fmtp:{} {fmtp}", codec.payload));
            }
            for feedback in section.feedback {
                lines.push(format!("a=rtcp-fb:{} {feedback}", codec.payload));
            }
            for uri in section.extensions {
                lines.push(format!("a=extmap:{} {uri}", self.ids.id_of(uri)));
            }
            if self.msid {
                let ssrc = 1_000_000 + index as u32;
                let track = section.kind;
                lines.push(format!("a=ssrc:{ssrc} cname:stream"));
                lines.push(format!("a=ssrc:{ssrc} msid:stream {track}"));
                lines.push(format!("a=ssrc:{ssrc} mslabel:stream"));
                lines.push(format!("a=ssrc:{ssrc} label:{track}"));
                lines.push(format!("a=msid:stream {track}"));
            }
            lines.push("a=sendrecv".to_owned());
            self.push_candidates(&mut lines);
        }
        if self.data_channel {
            lines.push(format!(
                "m=application {} UDP/DTLS/SCTP webrtc-datachannel",
                self.media_port()
            ));
            self.push_transport(&mut lines, "2");
            lines.push("a=sendrecv".to_owned());
            lines.push("a=sctp-port:5000".to_owned());
            self.push_candidates(&mut lines);
        }
        lines.iter().map(|line| format!("{line}\r\n")).collect()
    }

    fn media_port(&self) -> u16 {
        if self.inline_candidates { self.port } else { 9 }
    }

    fn push_transport(&self, lines: &mut Vec<String>, mid: &str) {
        let address = if self.inline_candidates {
            "127.0.0.1"
        } else {
            "0.0.0.0"
        };
        lines.push(format!("c=IN IP4 {address}"));
        lines.push("a=setup:actpass".to_owned());
        lines.push(format!("a=mid:{mid}"));
        lines.push(format!("a=ice-ufrag:HhSSHVjNbMxGqWb{}", self.generation));
        lines.push(format!(
            "a=ice-pwd:qUVEpNBVSTaLdOwYGXDNvdkzrxWgnHy{}",
            self.generation
        ));
        if !self.inline_candidates {
            lines.push("a=ice-options:trickle".to_owned());
        }
    }

    fn push_candidates(&self, lines: &mut Vec<String>) {
        if self.inline_candidates {
            lines.push(format!(
                "a=candidate:2130706431 1 udp 2130706431 127.0.0.1 {} typ host",
                self.port
            ));
            lines.push("a=end-of-candidates".to_owned());
        }
    }

    /// The `(id, uri)` pairs an answer to `section` must carry: the supported extensions with
    /// the offer's ids, when those fit the one-byte header (the only form GStreamer 1.22 writes).
    fn expected_extensions(&self, section: &Section) -> BTreeSet<(u8, String)> {
        section
            .extensions
            .iter()
            .filter(|uri| is_supported(uri))
            .map(|uri| (self.ids.id_of(uri), (*uri).to_owned()))
            .filter(|(id, _)| ONE_BYTE_IDS.contains(id))
            .collect()
    }
}

/// Every offer of the matrix, with a label for failure messages.
fn matrix(port: u16) -> Vec<(String, OfferShape)> {
    let mut variants = Vec::new();
    for audio in AUDIO_EXTENSION_SETS {
        for video in VIDEO_EXTENSION_SETS {
            for ids in ID_SCHEMES {
                let n = variants.len();
                let shape = OfferShape::variant(n, audio, video, ids, port);
                variants.push((format!("variant {n}"), shape));
            }
        }
    }
    variants
}

/// The offers for the sender: every audio extension set with every id scheme, and the other
/// axes rotating.
fn sender_matrix(port: u16) -> Vec<(String, OfferShape)> {
    let mut variants = Vec::new();
    for audio in AUDIO_EXTENSION_SETS {
        for ids in ID_SCHEMES {
            let n = variants.len();
            let video = VIDEO_EXTENSION_SETS[n % VIDEO_EXTENSION_SETS.len()];
            let shape = OfferShape::variant(n, audio, video, ids, port);
            variants.push((format!("sender variant {n}"), shape));
        }
    }
    variants
}

/// A UDP socket on loopback that absorbs the ICE checks sent to the offer's inline candidate, so
/// that no check leaves this machine.
fn candidate_sink() -> UdpSocket {
    UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).expect("a loopback UDP port")
}

fn loopback_config(receive: bool) -> PeerConfig {
    PeerConfig {
        local_addresses: vec![IpAddr::V4(Ipv4Addr::LOCALHOST)],
        receive_video: receive,
        receive_audio: receive,
        ..PeerConfig::default()
    }
}

fn block_on<F: Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("a runtime")
        .block_on(future)
}

/// The `(id, uri)` of every `a=extmap` of an answer section (`id/direction` reads as `id`).
fn answered_extensions(section: &SDPMediaRef) -> BTreeSet<(u8, String)> {
    section
        .attributes()
        .filter(|attribute| attribute.key() == "extmap")
        .filter_map(|attribute| {
            let mut words = attribute.value()?.split_whitespace();
            let id = words.next()?.split('/').next()?.parse().ok()?;
            Some((id, words.next()?.to_owned()))
        })
        .collect()
}

fn direction(section: &SDPMediaRef) -> Option<&str> {
    section
        .attributes()
        .map(|a| a.key())
        .find(|key| matches!(*key, "sendrecv" | "sendonly" | "recvonly" | "inactive"))
}

/// Checks an answer section against its offered section: the offer's payload type and codec,
/// the direction, and exactly the supported extensions with the offer's ids.
fn check_section(
    label: &str,
    shape: &OfferShape,
    offered: &Section,
    answered: &SDPMediaRef,
    expected_direction: &str,
    answer: &str,
) {
    let codec = offered.codec;
    assert_eq!(
        answered.media(),
        Some(offered.kind),
        "{label}: m-line order\n{answer}"
    );
    assert_eq!(
        answered.format(0),
        Some(codec.payload.to_string().as_str()),
        "{label}: {} payload type\n{answer}",
        offered.kind
    );
    let rtpmap = answered.attribute_val("rtpmap").unwrap_or_else(|| {
        panic!(
            "{label}: no rtpmap in the {} answer\n{answer}",
            offered.kind
        )
    });
    let (payload, encoding) = rtpmap.split_once(' ').expect("rtpmap has two words");
    assert_eq!(payload, codec.payload.to_string(), "{label}\n{answer}");
    let (name, rate) = encoding.split_once('/').expect("rtpmap has a clock rate");
    assert!(
        name.eq_ignore_ascii_case(codec.name),
        "{label}: codec {name} answered to {}\n{answer}",
        codec.name
    );
    let offered_rate = codec.rate.split('/').next().expect("a clock rate");
    assert_eq!(
        rate.split('/').next(),
        Some(offered_rate),
        "{label}: clock rate\n{answer}"
    );
    assert_eq!(
        direction(answered),
        Some(expected_direction),
        "{label}: {} direction\n{answer}",
        offered.kind
    );
    assert_eq!(
        answered_extensions(answered),
        shape.expected_extensions(offered),
        "{label}: {} header extensions\noffer:\n{}\nanswer:\n{answer}",
        offered.kind,
        shape.sdp()
    );
}

/// Checks the data channel section of the answer, when the offer had one.
fn check_data_channel(label: &str, shape: &OfferShape, message: &SDPMessage, answer: &str) {
    let application = message
        .medias()
        .find(|section| section.media() == Some("application"));
    match (shape.data_channel, application) {
        (true, Some(section)) => {
            assert_eq!(
                section.format(0),
                Some("webrtc-datachannel"),
                "{label}\n{answer}"
            );
            assert!(
                section.attribute_val("sctp-port").is_some(),
                "{label}: no sctp-port\n{answer}"
            );
        }
        (true, None) => panic!("{label}: the data channel is missing from the answer\n{answer}"),
        (false, Some(_)) => panic!("{label}: a data channel nobody offered\n{answer}"),
        (false, None) => {}
    }
}

/// Answers `shape` on the receiver's path (both sections received), then its ICE-restart offer
/// on the same peer, and returns both answers.
fn receiver_answers(shape: &OfferShape) -> Result<[String; 2], super::peer::PeerError> {
    let pipeline = gst::Pipeline::new();
    let (events, _rx) = tokio::sync::mpsc::unbounded_channel();
    let peer = Peer::new(
        pipeline.upcast_ref(),
        &loopback_config(true),
        &[],
        events,
        Arc::new(|_| {}),
    )
    .expect("a peer");
    pipeline
        .set_state(gst::State::Ready)
        .expect("webrtcbin starts");
    let answers = block_on(async {
        let first = peer.answer(&shape.sdp(), None).await?;
        let restarted = peer.reanswer(&shape.restarted().sdp(), None).await?;
        Ok([first, restarted])
    });
    peer.close();
    answers
}

/// Runs `check` on every variant and fails with the list of the variants that failed (each
/// failure's message is printed as it happens).
fn run_matrix(variants: Vec<(String, OfferShape)>, check: impl Fn(&str, &OfferShape)) {
    let total = variants.len();
    let failed: Vec<String> = variants
        .into_iter()
        .filter(|(label, shape)| {
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| check(label, shape))).is_err()
        })
        .map(|(label, _)| label)
        .collect();
    assert!(
        failed.is_empty(),
        "{} of {total} offer shapes failed: {failed:?}",
        failed.len()
    );
}

#[test]
fn receiver_answers_every_offer_shape() {
    gst::init().unwrap();
    let sink = candidate_sink();
    let port = sink.local_addr().unwrap().port();
    run_matrix(matrix(port), |label, shape| {
        let answers = receiver_answers(shape)
            .unwrap_or_else(|e| panic!("{label}: {e}\noffer:\n{}", shape.sdp()));
        for (answer, which) in answers.iter().zip(["first answer", "ICE-restart answer"]) {
            let label = format!("{label}, {which}");
            let message = SDPMessage::parse_buffer(answer.as_bytes()).expect("the answer parses");
            let sections: Vec<&SDPMediaRef> = message.medias().collect();
            check_section(&label, shape, &shape.audio, sections[0], "recvonly", answer);
            check_section(&label, shape, &shape.video, sections[1], "recvonly", answer);
            check_data_channel(&label, shape, &message, answer);
        }
    });
}

/// The header extensions of an RTP packet as `(id, data)`, from its one-byte (`0xBEDE`) or
/// two-byte (`0x100X`) extension block; empty when it has none.
fn header_extensions(packet: &[u8]) -> Vec<(u8, Vec<u8>)> {
    let mut found = Vec::new();
    if packet.len() < 12 || packet[0] & 0x10 == 0 {
        return found;
    }
    let start = 12 + 4 * usize::from(packet[0] & 0x0f);
    let Some(header) = packet.get(start..start + 4) else {
        return found;
    };
    let profile = u16::from_be_bytes([header[0], header[1]]);
    let words = usize::from(u16::from_be_bytes([header[2], header[3]]));
    let Some(mut block) = packet.get(start + 4..start + 4 + 4 * words) else {
        return found;
    };
    let two_byte = profile & 0xfff0 == 0x1000;
    if profile != 0xbede && !two_byte {
        return found;
    }
    while let Some((&first, rest)) = block.split_first() {
        if first == 0 {
            block = rest;
            continue;
        }
        let (id, length, rest) = if two_byte {
            let Some((&length, rest)) = rest.split_first() else {
                break;
            };
            (first, usize::from(length), rest)
        } else if first >> 4 == 15 {
            break;
        } else {
            (first >> 4, usize::from(first & 0x0f) + 1, rest)
        };
        let Some(data) = rest.get(..length) else {
            break;
        };
        found.push((id, data.to_vec()));
        block = &rest[length..];
    }
    found
}

/// What the sender produced for one offer.
struct Sent {
    answer: String,
    /// The answer to the ICE-restart offer, made while sending.
    restart_answer: Result<String, super::peer::PeerError>,
    /// RTP packets as they left the RTP session, before SRTP.
    packets: Vec<Vec<u8>>,
    error: Option<String>,
    payloader_caps: Option<gst::Caps>,
    payloader_flow: Result<gst::FlowSuccess, gst::FlowError>,
}

const PACKETS_WANTED: usize = 10;

/// The rtpbin inside a webrtcbin, whose pads carry the RTP and RTCP of its sessions.
pub(super) fn rtpbin_of(webrtcbin: &gst::Element) -> gst::Element {
    webrtcbin
        .downcast_ref::<gst::Bin>()
        .expect("webrtcbin is a bin")
        .iterate_recurse()
        .into_iter()
        .flatten()
        .find(|element| {
            element
                .factory()
                .is_some_and(|factory| factory.name() == "rtpbin")
        })
        .expect("webrtcbin has an rtpbin")
}

/// Copies every RTP packet leaving one of rtpbin's `send_rtp_src_*` pads into `packets` and
/// drops it there.
fn capture_sent_rtp(webrtcbin: &gst::Element, packets: &Arc<Mutex<Vec<Vec<u8>>>>) {
    let rtpbin = rtpbin_of(webrtcbin);
    let packets = packets.clone();
    rtpbin.connect_pad_added(move |_, pad| {
        if !pad.name().starts_with("send_rtp_src_") {
            return;
        }
        let packets = packets.clone();
        pad.add_probe(
            gst::PadProbeType::BUFFER | gst::PadProbeType::BUFFER_LIST,
            move |_, info| {
                let store = |buffer: &gst::BufferRef| {
                    if let (Ok(map), Ok(mut packets)) = (buffer.map_readable(), packets.lock()) {
                        packets.push(map.to_vec());
                    }
                };
                match &info.data {
                    Some(gst::PadProbeData::Buffer(buffer)) => store(buffer),
                    Some(gst::PadProbeData::BufferList(list)) => list.iter().for_each(store),
                    _ => {}
                }
                // Until DTLS connects, webrtcbin holds the first packet downstream of here and
                // with it the stream; the packets only need to be seen, not sent anywhere.
                gst::PadProbeReturn::Drop
            },
        );
    });
}

/// Drops the payloader's packets while it is linked to nothing, as `nekosink` does before its
/// first answer.
fn drop_while_unlinked(payloader: &gst::Element) {
    payloader
        .static_pad("src")
        .expect("the payloader's src pad")
        .add_probe(
            gst::PadProbeType::BUFFER | gst::PadProbeType::BUFFER_LIST,
            |pad, _| {
                if pad.is_linked() {
                    gst::PadProbeReturn::Ok
                } else {
                    gst::PadProbeReturn::Drop
                }
            },
        );
}

/// The SSRC of an RTP packet.
fn ssrc_of(packet: &[u8]) -> Option<u32> {
    Some(u32::from_be_bytes(packet.get(8..12)?.try_into().ok()?))
}

/// Checks that the answer's audio section declares the SSRC every sent packet carries, with a
/// cname (what a server that maps streams by `a=ssrc` needs).
fn check_declared_ssrc(label: &str, audio: &SDPMediaRef, sent: &Sent) {
    let declared: BTreeSet<u32> = audio
        .attributes()
        .filter(|attribute| attribute.key() == "ssrc")
        .filter_map(|attribute| {
            let (ssrc, rest) = attribute.value()?.split_once(' ')?;
            rest.starts_with("cname:").then(|| ssrc.parse().ok())?
        })
        .collect();
    let sent_ssrcs: BTreeSet<u32> = sent.packets.iter().filter_map(|p| ssrc_of(p)).collect();
    assert_eq!(
        declared, sent_ssrcs,
        "{label}: SSRCs declared with a cname in the answer vs sent\n{}",
        sent.answer
    );
}

/// Answers `shape` on the sender's path, with the audio already playing as in `nekosink`, and plays until [`PACKETS_WANTED`] RTP packets were
/// sent, an error is posted or 10 s pass; then answers the ICE-restart offer.
fn sender_run(shape: &OfferShape) -> Result<Sent, super::peer::PeerError> {
    let pipeline = gst::parse::launch("audiotestsrc is-live=true ! opusenc ! rtpopuspay name=pay")
        .expect("the send chain parses")
        .downcast::<gst::Pipeline>()
        .expect("a pipeline");
    let payloader = pipeline.by_name("pay").expect("the payloader");
    let (events, _rx) = tokio::sync::mpsc::unbounded_channel();
    let peer = Peer::new(
        pipeline.upcast_ref(),
        &loopback_config(false),
        &[],
        events,
        Arc::new(|_| {}),
    )
    .expect("a peer");
    let packets = Arc::new(Mutex::new(Vec::new()));
    capture_sent_rtp(peer.webrtcbin(), &packets);
    drop_while_unlinked(&payloader);
    pipeline
        .set_state(gst::State::Playing)
        .expect("the pipeline plays");
    let answer = match block_on(peer.answer(&shape.sdp(), Some(&payloader))) {
        Ok(answer) => answer,
        Err(error) => {
            let _ = pipeline.set_state(gst::State::Null);
            return Err(error);
        }
    };
    let bus = pipeline.bus().expect("a bus");
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut error = None;
    while Instant::now() < deadline && packets.lock().map(|p| p.len()).unwrap_or(0) < PACKETS_WANTED
    {
        if let Some(message) = bus.timed_pop_filtered(
            gst::ClockTime::from_mseconds(20),
            &[gst::MessageType::Error],
        ) && let gst::MessageView::Error(failure) = message.view()
        {
            error = Some(format!("{} ({:?})", failure.error(), failure.debug()));
            break;
        }
    }
    let source = payloader
        .static_pad("src")
        .expect("the payloader's src pad");
    let restart_answer = block_on(peer.reanswer(&shape.restarted().sdp(), Some(&payloader)));
    let sent = Sent {
        answer,
        restart_answer,
        packets: packets.lock().map(|p| p.clone()).unwrap_or_default(),
        error,
        payloader_caps: source.current_caps(),
        payloader_flow: source.last_flow_result(),
    };
    pipeline
        .set_state(gst::State::Null)
        .expect("the pipeline stops");
    peer.close();
    Ok(sent)
}

/// Checks the header extensions of the sent packets against the answer: nothing that was not
/// answered, transport-cc (when answered) on every packet with consecutive sequence numbers, and
/// the section's mid in any mid extension. The first packet may lack transport-cc: on 1.22 the
/// packet the payloader sends while it renegotiates with the newly linked send pad sometimes
/// goes out before the extension is set up. GStreamer 1.22 leaves the mid out (its payloader
/// enables `rtphdrextmid` but nothing gives it the mid), which the answer allows.
fn check_sent_extensions(label: &str, shape: &OfferShape, sent: &Sent) {
    let answered = shape.expected_extensions(&shape.audio);
    let twcc_id = answered
        .iter()
        .find(|(_, uri)| uri == TRANSPORT_CC)
        .map(|(id, _)| *id);
    let mut last_twcc: Option<u16> = None;
    for (index, packet) in sent.packets.iter().enumerate() {
        let extensions = header_extensions(packet);
        for (id, data) in &extensions {
            let Some((_, uri)) = answered.iter().find(|(answered_id, _)| answered_id == id) else {
                panic!("{label}: extension {id} sent but not answered ({answered:?})");
            };
            if uri == SDES_MID {
                assert_eq!(data.as_slice(), shape.audio.mid.as_bytes(), "{label}: mid");
            }
        }
        let Some(twcc_id) = twcc_id else { continue };
        let sequence = extensions
            .iter()
            .find(|(id, _)| *id == twcc_id)
            .and_then(|(_, data)| <[u8; 2]>::try_from(data.as_slice()).ok())
            .map(u16::from_be_bytes);
        if index == 0 && sequence.is_none() {
            continue;
        }
        let sequence = sequence.unwrap_or_else(|| {
            panic!(
                "{label}: no transport-cc in packet {index} of {}: {extensions:?}",
                sent.packets.len()
            )
        });
        if let Some(last) = last_twcc {
            assert_eq!(sequence, last.wrapping_add(1), "{label}: transport-cc gap");
        }
        last_twcc = Some(sequence);
    }
}

#[test]
fn sender_negotiates_and_sends_against_every_offer_shape() {
    gst::init().unwrap();
    let sink = candidate_sink();
    let port = sink.local_addr().unwrap().port();
    run_matrix(sender_matrix(port), |label, shape| {
        let sent =
            sender_run(shape).unwrap_or_else(|e| panic!("{label}: {e}\noffer:\n{}", shape.sdp()));
        let answer = &sent.answer;
        assert!(sent.error.is_none(), "{label}: {:?}\n{answer}", sent.error);
        assert!(
            sent.payloader_caps.is_some(),
            "{label}: the payloader never negotiated"
        );
        assert!(
            sent.payloader_flow.is_ok(),
            "{label}: the payloader's last push: {:?}",
            sent.payloader_flow
        );
        assert!(
            sent.packets.len() >= PACKETS_WANTED,
            "{label}: only {} RTP packets sent",
            sent.packets.len()
        );
        let message = SDPMessage::parse_buffer(answer.as_bytes()).expect("the answer parses");
        let audio = message.media(0).expect("an audio answer");
        check_section(label, shape, &shape.audio, audio, "sendrecv", answer);
        check_declared_ssrc(label, audio, &sent);
        check_data_channel(label, shape, &message, answer);
        check_sent_extensions(label, shape, &sent);
        let restart_answer = sent
            .restart_answer
            .as_ref()
            .unwrap_or_else(|e| panic!("{label}: ICE restart: {e}"));
        let message =
            SDPMessage::parse_buffer(restart_answer.as_bytes()).expect("the answer parses");
        let audio = message.media(0).expect("an audio answer");
        let label = format!("{label}, ICE-restart answer");
        check_section(
            &label,
            shape,
            &shape.audio,
            audio,
            "sendrecv",
            restart_answer,
        );
    });
}
