//! Which of a client's RTP streams the real server would take. Pion routes an incoming SSRC to
//! a track only when the client's answer declares it in an `a=ssrc` line, or when the
//! description has a single media section, or when the section negotiated `sdes:mid` (it then
//! reads the mid from the packets). Anything else is dropped ("incoming unhandled RTP ssrc"),
//! so the room drops it too: a client that forgets to declare its microphone is not heard.

use gst_sdp::SDPMessageRef;

use super::offer_style::SDES_MID;

/// What a client's answer declares for its upstream audio.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeclaredAudio {
    ssrcs: Vec<u32>,
    any_ssrc: bool,
}

impl DeclaredAudio {
    /// Reads the answer's audio section (its `a=ssrc` lines and `a=extmap`s).
    pub fn from_answer(answer: &SDPMessageRef) -> DeclaredAudio {
        let single_section = answer.medias_len() == 1;
        let audio = answer.medias().find(|m| m.media() == Some("audio"));
        let ssrcs = audio
            .map(|media| {
                media
                    .attributes()
                    .filter(|a| a.key() == "ssrc")
                    .filter_map(|a| a.value()?.split_whitespace().next()?.parse().ok())
                    .collect()
            })
            .unwrap_or_default();
        let mid_negotiated = audio.is_some_and(|media| {
            media.attributes().filter(|a| a.key() == "extmap").any(|a| {
                a.value()
                    .is_some_and(|v| v.split_whitespace().nth(1) == Some(SDES_MID))
            })
        });
        DeclaredAudio {
            ssrcs,
            any_ssrc: single_section || mid_negotiated,
        }
    }

    /// Whether audio arriving with `ssrc` would be routed to the session's microphone track.
    pub fn accepts(&self, ssrc: u32) -> bool {
        self.any_ssrc || self.ssrcs.contains(&ssrc)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gst_sdp::SDPMessage;

    fn answer(audio_lines: &str, sections: &[&str]) -> SDPMessage {
        gst::init().unwrap();
        let mut text = String::from("v=0\r\no=- 1 0 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n");
        for section in sections {
            match *section {
                "audio" => text.push_str(&format!(
                    "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\na=sendrecv\r\n{audio_lines}"
                )),
                "video" => {
                    text.push_str("m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:1\r\na=recvonly\r\n")
                }
                _ => {
                    text.push_str("m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\na=mid:2\r\n")
                }
            }
        }
        SDPMessage::parse_buffer(text.as_bytes()).unwrap()
    }

    #[test]
    fn only_declared_ssrcs_are_taken_from_a_bundled_answer() {
        let declared = DeclaredAudio::from_answer(&answer(
            "a=ssrc:1234 cname:me\r\n",
            &["audio", "video", "data"],
        ));
        assert!(declared.accepts(1234));
        assert!(!declared.accepts(99));
        let undeclared = DeclaredAudio::from_answer(&answer("", &["audio", "video", "data"]));
        assert!(!undeclared.accepts(1234));
    }

    #[test]
    fn a_negotiated_mid_or_a_single_section_routes_any_ssrc() {
        let with_mid = DeclaredAudio::from_answer(&answer(
            "a=extmap:1 urn:ietf:params:rtp-hdrext:sdes:mid\r\n",
            &["audio", "video", "data"],
        ));
        assert!(with_mid.accepts(7));
        let single = DeclaredAudio::from_answer(&answer("", &["audio"]));
        assert!(single.accepts(7));
    }
}
