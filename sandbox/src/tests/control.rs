//! Host control (§3.4, §5.1, §5.7).

use std::time::Duration;

use gstneko::protocol::{ClientDatagram, ClientEvent, ControlPos, MemberProfile, Settings};
use serde_json::json;

use super::support::{Client, call, start, start_with};
use crate::RoomConfig;

fn move_to(x: i32, y: i32) -> ClientEvent {
    ClientEvent::ControlMove(ControlPos {
        x,
        y,
        ..ControlPos::default()
    })
}

const SHORT: Duration = Duration::from_secs(5);

#[tokio::test]
async fn first_input_acquires_host_then_others_only_request() {
    let room = start().await;
    let (mut alice, alice_login) = Client::join(&room, "alice", "neko").await;
    let (mut bob, bob_login) = Client::join(&room, "bob", "neko").await;

    alice.send(move_to(10, 20)).await;
    let host = json!({"id": alice_login.id, "has_host": true, "host_id": alice_login.id});
    assert_eq!(alice.expect_payload("control/host").await, host);
    assert_eq!(bob.expect_payload("control/host").await, host);
    let accepted = room
        .wait_for_input(|i| i.event == "control/move", SHORT)
        .await
        .expect("recorded");
    assert!(accepted.accepted);
    assert_eq!(accepted.session_id, alice_login.id);
    assert_eq!(accepted.payload, json!({"x": 10, "y": 20}));

    room.clear_inputs();
    bob.send(move_to(1, 1)).await;
    assert_eq!(
        alice.expect_payload("control/request").await,
        json!({"id": bob_login.id})
    );
    let dropped = room
        .wait_for_input(|i| i.session_id == bob_login.id, SHORT)
        .await
        .expect("recorded");
    assert!(!dropped.accepted);
    assert_eq!(room.host().as_deref(), Some(alice_login.id.as_str()));

    bob.send(ClientEvent::ControlRequest).await;
    assert_eq!(
        alice.expect_payload("control/request").await,
        json!({"id": bob_login.id})
    );

    alice.send(ClientEvent::ControlRelease).await;
    assert_eq!(
        bob.expect_payload("control/host").await,
        json!({"id": alice_login.id, "has_host": false})
    );
    assert_eq!(room.host(), None);

    let admin = super::support::login(&room, "root", "admin").await;
    let sandbox = call(
        &room,
        "GET",
        "/api/sandbox/inputs",
        admin.token.as_deref(),
        None,
    )
    .await;
    let events: Vec<_> = sandbox
        .body
        .as_array()
        .expect("list")
        .iter()
        .map(|i| i["event"].clone())
        .collect();
    assert!(events.contains(&json!("control/move")) && events.contains(&json!("control/release")));
    room.shutdown().await;
}

#[tokio::test]
async fn implicit_hosting_steals_control() {
    let room = start_with(RoomConfig {
        settings: Settings {
            implicit_hosting: true,
            ..Settings::default()
        },
        ..RoomConfig::signalling_only()
    })
    .await;
    let (mut alice, alice_login) = Client::join(&room, "alice", "neko").await;
    let (mut bob, bob_login) = Client::join(&room, "bob", "neko").await;
    alice.send(move_to(1, 1)).await;
    alice.expect("control/host").await;
    bob.send(move_to(2, 2)).await;
    let host = alice.expect_payload("control/host").await;
    let host = if host["host_id"] == json!(alice_login.id) {
        alice.expect_payload("control/host").await
    } else {
        host
    };
    assert_eq!(
        host,
        json!({"id": bob_login.id, "has_host": true, "host_id": bob_login.id})
    );
    room.shutdown().await;
}

#[tokio::test]
async fn locked_controls_keep_users_out() {
    let room = start_with(RoomConfig {
        settings: Settings {
            locked_controls: true,
            ..Settings::default()
        },
        ..RoomConfig::signalling_only()
    })
    .await;
    let (mut alice, alice_login) = Client::join(&room, "alice", "neko").await;
    alice.send(move_to(1, 1)).await;
    let refused = room
        .wait_for_input(|i| i.session_id == alice_login.id, SHORT)
        .await
        .expect("recorded");
    assert!(!refused.accepted);
    assert!(room.host().is_none());
    let (mut admin, admin_login) = Client::join(&room, "root", "admin").await;
    admin.send(move_to(1, 1)).await;
    admin.expect("control/host").await;
    assert_eq!(room.host(), Some(admin_login.id));
    room.shutdown().await;
}

#[tokio::test]
async fn datachannel_input_needs_host() {
    let room = start().await;
    let (mut alice, alice_login) = Client::join(&room, "alice", "neko").await;
    let shared = room.shared().clone();
    shared.datachannel_input(&alice_login.id, ClientDatagram::KeyDown { keysym: 0x61 });
    shared.datachannel_input(&alice_login.id, ClientDatagram::Ping { timestamp_ms: 5 });
    alice.send(move_to(0, 0)).await;
    alice.expect("control/host").await;
    shared.datachannel_input(&alice_login.id, ClientDatagram::KeyUp { keysym: 0x61 });
    let inputs: Vec<_> = room
        .inputs()
        .into_iter()
        .filter(|i| i.event.starts_with("dc/"))
        .map(|i| (i.event, i.accepted))
        .collect();
    assert_eq!(
        inputs,
        [
            ("dc/keydown".to_owned(), false),
            ("dc/keyup".to_owned(), true)
        ]
    );
    room.shutdown().await;
}

#[tokio::test]
async fn host_only_events_never_acquire() {
    let room = start().await;
    let (mut alice, alice_login) = Client::join(&room, "alice", "neko").await;
    alice
        .send_text(r#"{"event":"keyboard/map","payload":{"layout":"de","variant":""}}"#)
        .await;
    alice
        .send_text(r#"{"event":"clipboard/set","payload":{"text":"x"}}"#)
        .await;
    let clipboard = room
        .wait_for_input(|i| i.event == "clipboard/set", SHORT)
        .await
        .expect("recorded");
    assert!(!clipboard.accepted);
    assert!(room.host().is_none());
    alice.send(ClientEvent::ControlRequest).await;
    alice.expect("control/host").await;
    alice
        .send_text(r#"{"event":"keyboard/modifiers","payload":{"numlock":true}}"#)
        .await;
    let modifiers = room
        .wait_for_input(|i| i.event == "keyboard/modifiers", SHORT)
        .await
        .expect("recorded");
    assert!(modifiers.accepted);
    assert_eq!(modifiers.session_id, alice_login.id);
    room.shutdown().await;
}

#[tokio::test]
async fn rest_control_routes() {
    let room = start().await;
    let (mut alice, alice_login) = Client::join(&room, "alice", "neko").await;
    let (_bob, bob_login) = Client::join(&room, "bob", "neko").await;
    let (_admin, admin_login) = Client::join(&room, "root", "admin").await;
    let alice_token = alice_login.token.as_deref();
    let bob_token = bob_login.token.as_deref();
    let admin_token = admin_login.token.as_deref();

    let status = call(&room, "GET", "/api/room/control", alice_token, None).await;
    assert_eq!(
        (status.status, status.body),
        (200, json!({"has_host": false}))
    );
    let request = call(
        &room,
        "POST",
        "/api/room/control/request",
        alice_token,
        None,
    )
    .await;
    assert_eq!(request.status, 204);
    let status = call(&room, "GET", "/api/room/control/", bob_token, None).await;
    assert_eq!(
        status.body,
        json!({"has_host": true, "host_id": alice_login.id})
    );

    let queued = call(&room, "POST", "/api/room/control/request", bob_token, None).await;
    assert_eq!(
        (queued.status, queued.body),
        (202, json!({"code": 202, "message": "control request sent"}))
    );
    assert_eq!(
        alice.expect_payload("control/request").await,
        json!({"id": bob_login.id})
    );

    let release = call(&room, "POST", "/api/room/control/release", bob_token, None).await;
    assert_eq!(
        (release.status, release.body),
        (
            422,
            json!({"code": 422, "message": "session is not the host"})
        )
    );
    let take = call(&room, "POST", "/api/room/control/take", bob_token, None).await;
    assert_eq!(
        (take.status, take.body),
        (403, json!({"code": 403, "message": "session is not admin"}))
    );
    let give = call(
        &room,
        "POST",
        &format!("/api/room/control/give/{}", alice_login.id),
        bob_token,
        None,
    )
    .await;
    assert_eq!(
        (give.status, give.body),
        (
            403,
            json!({"code": 403, "message": "session is not host or admin"})
        )
    );
    let missing = call(
        &room,
        "POST",
        "/api/room/control/give/nobody",
        alice_token,
        None,
    )
    .await;
    assert_eq!(
        (missing.status, missing.body),
        (
            404,
            json!({"code": 404, "message": "target session was not found"})
        )
    );
    let give = call(
        &room,
        "POST",
        &format!("/api/room/control/give/{}", bob_login.id),
        alice_token,
        None,
    )
    .await;
    assert_eq!(give.status, 204);
    assert_eq!(
        alice.expect_payload("control/host").await,
        json!({"id": alice_login.id, "has_host": true, "host_id": bob_login.id})
    );

    let reset = call(&room, "POST", "/api/room/control/reset", admin_token, None).await;
    assert_eq!(reset.status, 204);
    assert_eq!(
        alice.expect_payload("control/host").await,
        json!({"id": admin_login.id, "has_host": false})
    );
    let take = call(&room, "POST", "/api/room/control/take", admin_token, None).await;
    assert_eq!(take.status, 204);
    assert_eq!(room.host(), Some(admin_login.id.clone()));

    let settings = call(
        &room,
        "POST",
        "/api/room/settings",
        admin_token,
        Some(json!({"private_mode": true})),
    )
    .await;
    assert_eq!(settings.status, 204);
    let private = call(&room, "GET", "/api/room/control", alice_token, None).await;
    assert_eq!(
        (private.status, private.body),
        (
            422,
            json!({"code": 422, "message": "private mode is enabled"})
        )
    );
    room.shutdown().await;
}

#[tokio::test]
async fn sessions_that_cannot_host() {
    let room = start_with(RoomConfig {
        user_profile: MemberProfile {
            can_host: false,
            ..MemberProfile::user()
        },
        ..RoomConfig::signalling_only()
    })
    .await;
    let (mut viewer, viewer_login) = Client::join(&room, "viewer", "neko").await;
    let (_admin, admin_login) = Client::join(&room, "root", "admin").await;
    let status = call(
        &room,
        "GET",
        "/api/room/control",
        viewer_login.token.as_deref(),
        None,
    )
    .await;
    assert_eq!(
        (status.status, status.body),
        (403, json!({"code": 403, "message": "session cannot host"}))
    );
    let give = call(
        &room,
        "POST",
        &format!("/api/room/control/give/{}", viewer_login.id),
        admin_login.token.as_deref(),
        None,
    )
    .await;
    assert_eq!(
        (give.status, give.body),
        (
            400,
            json!({"code": 400, "message": "target session is not allowed to host"})
        )
    );
    viewer.send(move_to(5, 5)).await;
    let dropped = room
        .wait_for_input(|i| i.session_id == viewer_login.id, SHORT)
        .await
        .expect("recorded");
    assert!(!dropped.accepted);
    room.shutdown().await;
}
