//! Answers to offers shaped like the real server's, applied to a real webrtcbin.

use std::time::Duration;

use gst::prelude::*;

use super::peer::{Peer, PeerConfig};

const PION_AUDIO: &str = "v=0\r\no=- 7421 1733 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n\
a=fingerprint:sha-256 6B:8B:F0:65:5F:78:E2:51:3B:AC:6F:F3:3F:46:1B:35:DC:B8:5F:64:1A:24:C2:43:F0:A1:58:D0:A1:2C:19:08\r\n\
a=extmap-allow-mixed\r\na=group:BUNDLE 0 1 2\r\n\
m=audio 59001 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 127.0.0.1\r\na=setup:actpass\r\na=mid:0\r\n\
a=ice-ufrag:HhSSHVjNbMxGqWbA\r\na=ice-pwd:qUVEpNBVSTaLdOwYGXDNvdkzrxWgnHyG\r\na=rtcp-mux\r\na=rtcp-rsize\r\n\
a=rtpmap:111 opus/48000/2\r\na=fmtp:111 minptime=10;useinbandfec=1\r\n\
a=extmap:1 urn:ietf:params:rtp-hdrext:sdes:mid\r\na=extmap:2 urn:ietf:params:rtp-hdrext:ssrc-audio-level\r\n\
a=ssrc:3735928559 cname:stream\r\na=ssrc:3735928559 msid:stream audio\r\na=ssrc:3735928559 mslabel:stream\r\na=ssrc:3735928559 label:audio\r\n\
a=msid:stream audio\r\na=sendrecv\r\n\
a=candidate:1 1 udp 2130706431 127.0.0.1 59001 typ host\r\na=end-of-candidates\r\n\
m=video 59001 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 127.0.0.1\r\na=setup:actpass\r\na=mid:1\r\n\
a=ice-ufrag:HhSSHVjNbMxGqWbA\r\na=ice-pwd:qUVEpNBVSTaLdOwYGXDNvdkzrxWgnHyG\r\na=rtcp-mux\r\na=rtcp-rsize\r\n\
a=rtpmap:96 VP8/90000\r\na=rtcp-fb:96 nack\r\na=rtcp-fb:96 nack pli\r\n\
a=extmap:1 urn:ietf:params:rtp-hdrext:sdes:mid\r\n\
a=ssrc:1234 cname:stream\r\na=msid:stream video\r\na=sendrecv\r\n\
m=application 59001 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 127.0.0.1\r\na=setup:actpass\r\na=mid:2\r\n\
a=sendrecv\r\na=sctp-port:5000\r\na=ice-ufrag:HhSSHVjNbMxGqWbA\r\na=ice-pwd:qUVEpNBVSTaLdOwYGXDNvdkzrxWgnHyG\r\n";

#[test]
fn sender_negotiates_against_a_pion_offer() {
    gst::init().unwrap();
    let pipeline =
        gst::parse::launch("audiotestsrc is-live=true ! opusenc ! rtpopuspay name=pay pt=111")
            .unwrap()
            .downcast::<gst::Pipeline>()
            .unwrap();
    let payloader = pipeline.by_name("pay").unwrap();
    let (events, _rx) = tokio::sync::mpsc::unbounded_channel();
    let peer = Peer::new(
        pipeline.upcast_ref(),
        &PeerConfig::default(),
        &[],
        events,
        std::sync::Arc::new(|_| {}),
    )
    .unwrap();
    pipeline.set_state(gst::State::Ready).unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let answer = runtime
        .block_on(peer.answer(PION_AUDIO, Some(&payloader)))
        .unwrap();
    assert!(!answer.contains("ssrc-audio-level"), "{answer}");
    pipeline.set_state(gst::State::Playing).unwrap();
    let bus = pipeline.bus().unwrap();
    let error = bus.timed_pop_filtered(gst::ClockTime::from_seconds(2), &[gst::MessageType::Error]);
    let caps = payloader.static_pad("src").unwrap().current_caps();
    pipeline.set_state(gst::State::Null).unwrap();
    std::thread::sleep(Duration::from_millis(10));
    assert!(error.is_none(), "{error:?}");
    assert!(caps.is_some(), "the payloader never negotiated");
}
