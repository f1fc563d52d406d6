//! Transport-cc over a real connection on loopback: a plain webrtcbin offers Opus with the
//! transport-cc extension, as the real server does, and the receiver's peer answers it. The
//! offerer must then get transport-wide feedback (RTCP RTPFB, FMT 15) for the packets it sent.
//! GStreamer 1.22 sends that feedback with its regular RTCP (rtpsession's
//! `twcc-feedback-interval` is 0), about every 5 s, hence the long wait.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

use gst::prelude::*;
use gst_webrtc::{WebRTCSDPType, WebRTCSessionDescription};

use super::extensions::TRANSPORT_CC;
use super::ice::pin_local_addresses;
use super::peer::{Peer, PeerConfig, PeerEvent};
use super::sdp_matrix_tests::rtpbin_of;
use crate::protocol::IceCandidate;

/// The id the offer gives transport-cc (Pion's for audio when video registered four before it).
const TWCC_ID: u32 = 4;

/// RTCP transport-layer feedback.
const RTCP_RTPFB: u8 = 205;
/// The feedback message type of transport-wide congestion control.
const TWCC_FMT: u8 = 15;

/// Counts the transport-cc feedback packets in a compound RTCP packet.
fn twcc_feedback_in(mut compound: &[u8]) -> usize {
    let mut found = 0;
    while compound.len() >= 4 {
        let format = compound[0] & 0x1f;
        let packet_type = compound[1];
        let length = 4 * (usize::from(u16::from_be_bytes([compound[2], compound[3]])) + 1);
        if packet_type == RTCP_RTPFB && format == TWCC_FMT {
            found += 1;
        }
        compound = compound.get(length..).unwrap_or_default();
    }
    found
}

/// Counts transport-cc feedback arriving at the offerer's RTP session.
fn count_feedback(offerer: &gst::Element, feedback: &Arc<AtomicUsize>) {
    let rtpbin = rtpbin_of(offerer);
    let feedback = feedback.clone();
    rtpbin.connect_pad_added(move |_, pad| {
        if !pad.name().starts_with("recv_rtcp_sink_") {
            return;
        }
        let feedback = feedback.clone();
        pad.add_probe(gst::PadProbeType::BUFFER, move |_, info| {
            if let Some(gst::PadProbeData::Buffer(buffer)) = &info.data
                && let Ok(map) = buffer.map_readable()
            {
                feedback.fetch_add(twcc_feedback_in(&map), Ordering::Relaxed);
            }
            gst::PadProbeReturn::Ok
        });
    });
}

fn promise_reply(emit: impl FnOnce(&gst::Promise)) -> Option<gst::Structure> {
    let (tx, rx) = mpsc::channel();
    let promise = gst::Promise::with_change_func(move |reply| {
        let _ = tx.send(reply.ok().flatten().map(|s| s.to_owned()));
    });
    emit(&promise);
    rx.recv_timeout(Duration::from_secs(5)).ok().flatten()
}

#[test]
fn receiver_answers_transport_cc_with_feedback() {
    gst::init().unwrap();
    let loopback = [IpAddr::V4(Ipv4Addr::LOCALHOST)];

    let sending = gst::parse::launch(&format!(
        "audiotestsrc is-live=true ! opusenc ! rtpopuspay pt=111 ! \
         application/x-rtp,media=audio,encoding-name=OPUS,clock-rate=48000,payload=111,\
         extmap-{TWCC_ID}=(string){TRANSPORT_CC} ! \
         webrtcbin name=offerer bundle-policy=max-bundle"
    ))
    .unwrap()
    .downcast::<gst::Pipeline>()
    .unwrap();
    let offerer = sending.by_name("offerer").unwrap();
    pin_local_addresses(&offerer, &loopback).unwrap();
    let (offerer_candidates, candidates_for_peer) = mpsc::channel();
    offerer.connect("on-ice-candidate", false, move |values| {
        let mline = values[1].get::<u32>().unwrap();
        let candidate = values[2].get::<String>().unwrap();
        let _ = offerer_candidates.send((mline, candidate));
        None
    });
    let feedback = Arc::new(AtomicUsize::new(0));
    count_feedback(&offerer, &feedback);
    sending.set_state(gst::State::Playing).unwrap();

    let offer = promise_reply(|promise| {
        offerer.emit_by_name::<()>("create-offer", &[&None::<gst::Structure>, promise]);
    })
    .and_then(|reply| reply.get::<WebRTCSessionDescription>("offer").ok())
    .expect("webrtcbin offers");
    promise_reply(|promise| {
        offerer.emit_by_name::<()>("set-local-description", &[&offer, promise]);
    });
    let offer_text = offer.sdp().as_text().unwrap();
    assert!(offer_text.contains(TRANSPORT_CC), "{offer_text}");

    let receiving = gst::Pipeline::new();
    let sink_pipeline = receiving.clone();
    let on_pad = Arc::new(move |pad: &gst::Pad| {
        let sink = gst::ElementFactory::make("fakesink").build().unwrap();
        sink_pipeline.add(&sink).unwrap();
        sink.sync_state_with_parent().unwrap();
        pad.link(&sink.static_pad("sink").unwrap()).unwrap();
    });
    let (events, mut peer_events) = tokio::sync::mpsc::unbounded_channel();
    let config = PeerConfig {
        local_addresses: loopback.to_vec(),
        receive_audio: true,
        ..PeerConfig::default()
    };
    let peer = Peer::new(receiving.upcast_ref(), &config, &[], events, on_pad).unwrap();
    receiving.set_state(gst::State::Playing).unwrap();
    let answer_text = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(peer.answer(&offer_text, None))
        .unwrap();
    assert!(
        answer_text.contains(&format!("a=extmap:{TWCC_ID} {TRANSPORT_CC}")),
        "{answer_text}"
    );
    let answer = WebRTCSessionDescription::new(
        WebRTCSDPType::Answer,
        gst_sdp::SDPMessage::parse_buffer(answer_text.as_bytes()).unwrap(),
    );
    promise_reply(|promise| {
        offerer.emit_by_name::<()>("set-remote-description", &[&answer, promise]);
    });

    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline && feedback.load(Ordering::Relaxed) == 0 {
        while let Ok((mline, candidate)) = candidates_for_peer.try_recv() {
            peer.add_remote_candidate(&IceCandidate {
                candidate,
                sdp_mline_index: Some(mline),
                ..IceCandidate::default()
            });
        }
        while let Ok(event) = peer_events.try_recv() {
            if let PeerEvent::LocalCandidate(candidate) = event {
                offerer.emit_by_name::<()>(
                    "add-ice-candidate",
                    &[
                        &candidate.sdp_mline_index.unwrap_or(0),
                        &candidate.candidate,
                    ],
                );
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let received = feedback.load(Ordering::Relaxed);
    sending.set_state(gst::State::Null).unwrap();
    receiving.set_state(gst::State::Null).unwrap();
    peer.close();
    assert!(
        received > 0,
        "the offerer got no transport-cc feedback in 20 s"
    );
}
