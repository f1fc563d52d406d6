//! WebSocket lifecycle (§1.4, §2): refusal, first messages, heartbeats, bad frames, reconnects.

use std::time::Duration;

use gstneko::protocol::{ChatContent, ClientEvent, ServerEvent, Settings};
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;

use super::support::{Client, call, login, start, start_with};
use crate::RoomConfig;

#[tokio::test]
async fn bad_token_gets_one_disconnect_then_an_abrupt_close() {
    let room = start().await;
    let mut client = Client::connect(&room, "not-a-token").await;
    assert_eq!(
        client.text().await,
        r#"{"event":"system/disconnect","payload":{"message":"session not found"}}"#
    );
    client.expect_abrupt_close().await;

    let url = format!("{}/api/ws", room.base_url().replacen("http", "ws", 1));
    let (mut ws, _) = tokio_tungstenite::connect_async(url)
        .await
        .expect("upgrade");
    let first = futures_util::StreamExt::next(&mut ws).await;
    let Some(Ok(Message::Text(text))) = first else {
        panic!("expected a text frame, got {first:?}");
    };
    assert_eq!(
        ServerEvent::from_json(text.as_str())
            .expect("event")
            .to_value()["payload"],
        json!({"message": "no authentication provided"})
    );
    room.shutdown().await;
}

#[tokio::test]
async fn first_messages_come_in_neko_order() {
    let room = start().await;
    let user = login(&room, "alice", "neko").await;
    let mut client = Client::connect(&room, user.token.as_deref().expect("token")).await;
    let names: Vec<String> = [
        client.event().await,
        client.event().await,
        client.event().await,
    ]
    .iter()
    .map(|e| e.name().to_owned())
    .collect();
    assert_eq!(names, ["system/init", "session/state", "chat/init"]);

    let admin = login(&room, "bob", "admin").await;
    let mut client = Client::connect(&room, admin.token.as_deref().expect("token")).await;
    let mut names = Vec::new();
    for _ in 0..4 {
        names.push(client.event().await.name().to_owned());
    }
    assert_eq!(
        names,
        ["system/init", "system/admin", "session/state", "chat/init"]
    );
    room.shutdown().await;
}

#[tokio::test]
async fn system_init_describes_the_whole_room() {
    let room = start().await;
    let carol = login(&room, "carol", "neko").await;
    let (mut bob, bob_login) = Client::join(&room, "bob", "admin").await;
    bob.send(ClientEvent::ControlRequest).await;
    bob.expect("control/host").await;

    let alice = login(&room, "alice", "neko").await;
    let mut client = Client::connect(&room, alice.token.as_deref().expect("token")).await;
    let ServerEvent::SystemInit(init) = client.event().await else {
        panic!("system/init must come first");
    };
    let raw = ServerEvent::SystemInit(init.clone()).to_value();
    assert_eq!(
        raw["payload"]["control_host"],
        json!({"id": "", "has_host": true, "host_id": bob_login.id})
    );
    assert_eq!(init.session_id, alice.id);
    assert_eq!(
        raw["payload"]["screen_size"],
        json!({"width": 1280, "height": 720, "rate": 30})
    );
    assert_eq!(init.sessions.len(), 3);
    assert!(!init.sessions[&carol.id].state.is_connected);
    assert!(init.sessions[&alice.id].state.is_connected);
    assert!(init.sessions[&alice.id].state.connected_since.is_some());
    assert_eq!(init.settings, Settings::default());
    assert!(init.touch_events && !init.screencast_enabled);
    assert_eq!(init.webrtc.videos, ["main"]);

    bob.send(ClientEvent::ControlRelease).await;
    bob.expect("control/host").await;
    let mut again = Client::connect(&room, alice.token.as_deref().expect("token")).await;
    let init = again.event().await.to_value();
    assert_eq!(
        init["payload"]["control_host"],
        json!({"id": "", "has_host": false})
    );
    room.shutdown().await;
}

#[tokio::test]
async fn heartbeat_text_then_ping() {
    let room = start_with(RoomConfig {
        heartbeat_period: Duration::from_millis(150),
        ..RoomConfig::signalling_only()
    })
    .await;
    let (mut client, _) = Client::join(&room, "alice", "neko").await;
    loop {
        match client.frame().await {
            Some(Message::Text(text)) if text.as_str() == r#"{"event":"system/heartbeat"}"# => {
                break;
            }
            Some(_) => {}
            None => panic!("connection ended"),
        }
    }
    assert!(matches!(client.frame().await, Some(Message::Ping(data)) if data.is_empty()));
    room.shutdown().await;
}

#[tokio::test]
async fn bad_frames_are_skipped_and_the_socket_stays_open() {
    let room = start().await;
    let (mut client, login) = Client::join(&room, "alice", "neko").await;
    client.send(ClientEvent::ClientHeartbeat).await;
    for junk in [
        "not json",
        r#"{"payload":{}}"#,
        r#"{"event":"future/thing","payload":1}"#,
        r#"{"event":"control/move","payload":{"x":"left"}}"#,
        r#"{"event":"control/paste"}"#,
    ] {
        client.send_text(junk).await;
    }
    client
        .send(ClientEvent::ChatMessage(ChatContent::new("still here")))
        .await;
    let echo = client.expect_payload("chat/message").await;
    assert_eq!(echo["content"], json!({"text": "still here"}));
    assert!(
        room.host().is_none(),
        "a malformed control/move must not acquire host"
    );

    assert!(room.send_raw_text(&login.id, "{broken"));
    assert_eq!(client.text().await, "{broken");
    assert!(!room.send_raw_text("nobody", "x"));
    room.shutdown().await;
}

#[tokio::test]
async fn merciful_reconnect_replaces_the_old_socket() {
    let room = start().await;
    let (mut first, login) = Client::join(&room, "alice", "neko").await;
    let mut second = Client::connect(&room, login.token.as_deref().expect("token")).await;
    assert_eq!(second.event().await.name(), "system/init");
    assert_eq!(
        first.expect_payload("system/disconnect").await,
        json!({"message": "connection replaced"})
    );
    first.expect_abrupt_close().await;
    assert!(room.session(&login.id).expect("session").state.is_connected);
    room.shutdown().await;
}

#[tokio::test]
async fn without_merciful_reconnect_a_second_socket_is_refused() {
    let room = start_with(RoomConfig {
        settings: Settings {
            merciful_reconnect: false,
            ..Settings::default()
        },
        ..RoomConfig::signalling_only()
    })
    .await;
    let (_first, login) = Client::join(&room, "alice", "neko").await;
    let mut second = Client::connect(&room, login.token.as_deref().expect("token")).await;
    assert_eq!(
        second.expect_payload("system/disconnect").await,
        json!({"message": "already connected"})
    );
    second.expect_abrupt_close().await;
    room.shutdown().await;
}

#[tokio::test]
async fn dropped_sockets_get_a_delayed_disconnect() {
    let room = start_with(RoomConfig {
        delayed_disconnect: Duration::from_millis(400),
        ..RoomConfig::signalling_only()
    })
    .await;
    let (mut alice, alice_login) = Client::join(&room, "alice", "neko").await;
    let (mut bob, bob_login) = Client::join(&room, "bob", "neko").await;
    room.disconnect_all_websockets();
    alice.expect_abrupt_close().await;
    bob.expect_abrupt_close().await;
    assert!(
        room.session(&alice_login.id)
            .expect("alice")
            .state
            .is_connected
    );

    // Bob comes back inside the window and stays connected; Alice does not.
    let mut bob = Client::connect(&room, bob_login.token.as_deref().expect("token")).await;
    assert_eq!(bob.event().await.name(), "system/init");
    let gone = bob.expect_payload("session/state").await;
    let gone = if gone["id"] == json!(bob_login.id) {
        bob.expect_payload("session/state").await
    } else {
        gone
    };
    assert_eq!(gone["id"], json!(alice_login.id));
    assert_eq!(gone["is_connected"], json!(false));
    assert!(gone.get("not_connected_since").is_some());
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(room.session(&bob_login.id).expect("bob").state.is_connected);
    room.shutdown().await;
}

#[tokio::test]
async fn a_normal_close_disconnects_at_once() {
    let room = start().await;
    let (mut alice, alice_login) = Client::join(&room, "alice", "neko").await;
    let (mut bob, _) = Client::join(&room, "bob", "neko").await;
    alice.close(1000).await;
    let state = bob.expect_payload("session/state").await;
    assert_eq!(
        (state["id"].clone(), state["is_connected"].clone()),
        (json!(alice_login.id), json!(false))
    );
    room.shutdown().await;
}

#[tokio::test]
async fn shutdown_says_goodbye() {
    let room = start().await;
    let (mut alice, _) = Client::join(&room, "alice", "neko").await;
    room.shutdown().await;
    assert_eq!(
        alice.expect_payload("system/disconnect").await,
        json!({"message": "connection shutdown"})
    );
}

#[tokio::test]
async fn relays_reach_the_right_sessions() {
    let room = start().await;
    let (mut alice, alice_login) = Client::join(&room, "alice", "neko").await;
    let (mut bob, bob_login) = Client::join(&room, "bob", "neko").await;
    alice
        .send_text(&json!({"event": "send/unicast", "payload": {"receiver": bob_login.id, "subject": "s", "body": {"n": 1}}}).to_string())
        .await;
    assert_eq!(
        bob.expect_payload("send/unicast").await,
        json!({"sender": alice_login.id, "receiver": bob_login.id, "subject": "s", "body": {"n": 1}})
    );
    bob.send_text(r#"{"event":"send/broadcast","payload":{"subject":"hi","body":[1]}}"#)
        .await;
    assert_eq!(
        alice.expect_payload("send/broadcast").await,
        json!({"sender": bob_login.id, "subject": "hi", "body": [1]})
    );
    // Bob does not get his own broadcast: the next thing he sees is his chat echo.
    bob.send(ClientEvent::ChatMessage(ChatContent::new("after")))
        .await;
    assert_eq!(bob.event().await.name(), "chat/message");
    let status = call(
        &room,
        "GET",
        "/api/whoami",
        bob_login.token.as_deref(),
        None,
    )
    .await;
    assert_eq!(status.status, 200);
    room.shutdown().await;
}
