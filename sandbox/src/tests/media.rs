//! The control plane with the real media side: signalling reaches the peer, screenshots are JPEGs.
//! Skipped when the GStreamer elements the media side needs are not installed.

use gstneko::protocol::{ClientEvent, ServerEvent, SignalRequest};
use serde_json::json;

use super::support::{Client, call, media_available, start_with};
use crate::RoomConfig;

#[tokio::test]
async fn signal_request_gets_an_offer_and_shot_jpg_a_jpeg() {
    if !media_available() {
        eprintln!("skipped: GStreamer WebRTC elements are not installed");
        return;
    }
    let room = start_with(RoomConfig::default()).await;
    let (mut admin, admin_login) = Client::join(&room, "root", "admin").await;
    let request: SignalRequest = serde_json::from_value(json!({
        "video": {"disabled": false, "selector": {"type": "exact", "id": "main"}, "auto": false},
        "audio": {"disabled": false}
    }))
    .expect("request");
    admin
        .send(ClientEvent::SignalRequest(request.clone()))
        .await;
    let ServerEvent::SignalProvide(provide) = admin.expect("signal/provide").await else {
        panic!("wrong event");
    };
    assert!(
        provide.sdp.contains("m=video") && provide.sdp.contains("VP8/90000"),
        "{}",
        provide.sdp
    );
    assert_eq!(provide.video.id, "main");

    // A second request replaces the first peer silently: a new offer, no signal/close.
    admin.send(ClientEvent::SignalRequest(request)).await;
    loop {
        match admin.event().await {
            ServerEvent::SignalProvide(_) => break,
            ServerEvent::SignalClose => panic!("a replaced peer must close silently"),
            _ => {}
        }
    }

    let shot = reqwest::Client::new()
        .get(format!(
            "{}/api/room/screen/shot.jpg?quality=60",
            room.base_url()
        ))
        .bearer_auth(admin_login.token.as_deref().expect("token"))
        .send()
        .await
        .expect("sent");
    assert_eq!(shot.status().as_u16(), 200);
    assert_eq!(
        shot.headers()
            .get("cache-control")
            .and_then(|v| v.to_str().ok()),
        Some("no-cache, no-store, must-revalidate")
    );
    let bytes = shot.bytes().await.expect("body");
    assert_eq!(&bytes[..2], &[0xff, 0xd8], "JPEG magic");

    let resize = call(
        &room,
        "POST",
        "/api/room/screen",
        admin_login.token.as_deref(),
        Some(json!({"width": 1366, "height": 768, "rate": 30})),
    )
    .await;
    assert_eq!(resize.status, 200);
    assert_eq!(room.media().map(|m| m.size()), Some((1360, 768)));
    room.shutdown().await;
}

/// The offer and ICE servers of a fresh peer of a room started with `config`.
async fn first_offer(config: RoomConfig) -> gstneko::protocol::SignalProvide {
    let room = start_with(config).await;
    let (mut user, _) = Client::join(&room, "olga", "neko").await;
    user.send(ClientEvent::SignalRequest(SignalRequest::default()))
        .await;
    let ServerEvent::SignalProvide(provide) = user.expect("signal/provide").await else {
        panic!("wrong event");
    };
    room.shutdown().await;
    provide
}

/// The lines of one media section (`m=<kind> …` up to the next `m=`).
fn section<'a>(sdp: &'a str, kind: &str) -> Vec<&'a str> {
    sdp.lines()
        .skip_while(|line| !line.starts_with(&format!("m={kind} ")))
        .take_while({
            let mut first = true;
            move |line| std::mem::take(&mut first) || !line.starts_with("m=")
        })
        .collect()
}

#[tokio::test]
async fn the_default_offer_has_the_real_server_s_shape() {
    if !media_available() {
        eprintln!("skipped: GStreamer WebRTC elements are not installed");
        return;
    }
    let provide = first_offer(RoomConfig::default()).await;
    let sdp = provide.sdp.as_str();
    assert!(sdp.contains("a=group:BUNDLE 0 1 2\r\n"), "{sdp}");
    let audio = section(sdp, "audio");
    for line in [
        "m=audio 9 UDP/TLS/RTP/SAVPF 111",
        "a=mid:0",
        "a=sendrecv",
        "a=rtpmap:111 opus/48000/2",
        "a=fmtp:111 useinbandfec=1;stereo=1",
        "a=rtcp-fb:111 transport-cc",
        "a=extmap:4 http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01",
        "a=msid:stream audio",
    ] {
        assert!(audio.contains(&line), "{line:?} missing from {audio:#?}");
    }
    let video = section(sdp, "video");
    for line in [
        "m=video 9 UDP/TLS/RTP/SAVPF 96",
        "a=mid:1",
        "a=rtpmap:96 VP8/90000",
        "a=rtcp-fb:96 goog-remb",
        "a=rtcp-fb:96 transport-cc",
        "a=rtcp-fb:96 nack pli",
        "a=extmap:1 urn:ietf:params:rtp-hdrext:sdes:mid",
        "a=extmap:2 urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id",
        "a=extmap:3 urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id",
        "a=extmap:4 http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01",
        "a=msid:stream video",
    ] {
        assert!(video.contains(&line), "{line:?} missing from {video:#?}");
    }
    for (lines, track) in [(&audio, "audio"), (&video, "video")] {
        let ssrc: Vec<_> = lines.iter().filter(|l| l.starts_with("a=ssrc:")).collect();
        assert_eq!(ssrc.len(), 4, "{lines:#?}");
        assert!(
            ssrc.iter().any(|l| l.ends_with(" cname:stream")),
            "{ssrc:?}"
        );
        assert!(
            ssrc.iter()
                .any(|l| l.ends_with(&format!(" msid:stream {track}")))
        );
        assert!(
            !lines.iter().any(|l| l.contains("bundle-only")),
            "{lines:#?}"
        );
    }
    let data = section(sdp, "application");
    assert!(
        data.contains(&"m=application 9 UDP/DTLS/SCTP webrtc-datachannel"),
        "{data:#?}"
    );
    assert!(data.contains(&"a=mid:2"), "{data:#?}");
    // One STUN entry, the room's own, on the room's address.
    assert_eq!(provide.iceservers.len(), 1, "{:?}", provide.iceservers);
    let url = &provide.iceservers[0].urls[0];
    assert!(url.starts_with("stun:127.0.0.1:"), "{url}");
}

#[tokio::test]
async fn the_minimal_offer_and_configured_ice_servers() {
    if !media_available() {
        eprintln!("skipped: GStreamer WebRTC elements are not installed");
        return;
    }
    let turn: gstneko::protocol::IceServer = serde_json::from_value(json!({
        "urls": ["turn:192.0.2.1:3478"], "username": "u", "credential": "p"
    }))
    .unwrap();
    let provide = first_offer(RoomConfig {
        offer_style: crate::OfferStyle::Minimal,
        ice_servers: Some(vec![turn.clone()]),
        ..RoomConfig::default()
    })
    .await;
    let sdp = provide.sdp.as_str();
    assert!(!sdp.contains("a=extmap"), "{sdp}");
    assert!(!sdp.contains("a=msid:"), "{sdp}");
    assert!(sdp.contains("a=rtpmap:111 OPUS/48000/2\r\n"), "{sdp}");
    assert!(!sdp.contains("a=ssrc:"), "{sdp}");
    assert_eq!(provide.iceservers, vec![turn]);
}
