//! The control plane with the real media side: signalling reaches the peer, screenshots are JPEGs.
//! Skipped when the GStreamer elements the media side needs are not installed.

use gstneko::protocol::{ClientEvent, ServerEvent, SignalRequest};
use serde_json::json;

use super::support::{Client, call, config, start_with};
use crate::room::RoomConfig;

fn media_available() -> bool {
    gst::init().is_ok()
        && ["webrtcbin", "vp8enc", "opusenc", "appsrc"]
            .iter()
            .all(|name| gst::ElementFactory::find(name).is_some())
}

#[tokio::test]
async fn signal_request_gets_an_offer_and_shot_jpg_a_jpeg() {
    if !media_available() {
        eprintln!("skipped: GStreamer WebRTC elements are not installed");
        return;
    }
    let room = start_with(RoomConfig {
        media: true,
        ..config()
    })
    .await;
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
