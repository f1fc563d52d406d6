//! What the room bounds: message size, each socket's outgoing queue, names and profiles, and who
//! may use the sandbox routes.

use std::time::{Duration, Instant};

use serde_json::json;
use tokio_tungstenite::tungstenite::Message;

use super::support::{Client, call, login, start, start_with};
use crate::RoomConfig;
use crate::limits::{MAX_NAME_BYTES, MAX_PROFILE_BYTES};

#[tokio::test]
async fn an_oversized_message_is_refused_with_1009_and_the_connection_closed() {
    let room = start_with(RoomConfig {
        max_message_size: 4096,
        ..RoomConfig::signalling_only()
    })
    .await;
    let (mut client, _) = Client::join(&room, "big", "neko").await;
    let chat = json!({"event": "chat/message", "payload": {"text": "x".repeat(8192)}});
    client.send_text(&chat.to_string()).await;
    loop {
        match client.frame().await {
            Some(Message::Close(Some(frame))) => {
                assert_eq!(u16::from(frame.code), 1009);
                break;
            }
            Some(Message::Close(None)) | None => panic!("closed without code 1009"),
            Some(_) => {}
        }
    }
    assert!(room.chat_messages().is_empty());
    room.shutdown().await;
}

#[tokio::test]
async fn a_message_within_the_limit_passes() {
    let room = start_with(RoomConfig {
        max_message_size: 4096,
        ..RoomConfig::signalling_only()
    })
    .await;
    let (mut client, _) = Client::join(&room, "small", "neko").await;
    let chat = json!({"event": "chat/message", "payload": {"text": "x".repeat(3000)}});
    client.send_text(&chat.to_string()).await;
    client.expect("chat/message").await;
    room.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_socket_that_never_reads_is_disconnected() {
    let room = start_with(RoomConfig {
        outbox_bytes: 256 * 1024,
        delayed_disconnect: Duration::from_millis(100),
        ..RoomConfig::signalling_only()
    })
    .await;
    // Joins, then never reads again: everything the room sends piles up.
    let (_sleeper, sleeper_login) = Client::join(&room, "sleeper", "neko").await;
    let talker = login(&room, "talker", "admin").await;
    let text = "y".repeat(512 * 1024);
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut sent = 0;
    while room
        .session(&sleeper_login.id)
        .is_some_and(|s| s.state.is_connected)
    {
        assert!(
            Instant::now() < deadline,
            "still connected after {sent} chat messages of 512 KiB"
        );
        let answer = call(
            &room,
            "POST",
            "/api/chat",
            talker.token.as_deref(),
            Some(json!({"text": text})),
        )
        .await;
        assert!(answer.status < 300, "{}", answer.body);
        sent += 1;
    }
    // Socket buffers take some megabytes before the queue starts to fill; far fewer than
    // this many messages fit in buffers plus queue.
    assert!(sent < 100, "{sent}");
    room.shutdown().await;
}

#[tokio::test]
async fn oversized_usernames_and_profiles_are_refused() {
    let room = start().await;
    let long = "n".repeat(MAX_NAME_BYTES + 1);
    let answer = call(
        &room,
        "POST",
        "/api/login",
        None,
        Some(json!({"username": long, "password": "neko"})),
    )
    .await;
    assert_eq!(answer.status, 400);
    assert!(
        answer.body["message"]
            .as_str()
            .is_some_and(|m| m.contains("username")),
        "{}",
        answer.body
    );

    let user = login(&room, "user", "neko").await;
    let answer = call(
        &room,
        "POST",
        "/api/profile",
        user.token.as_deref(),
        Some(json!({"name": long})),
    )
    .await;
    assert_eq!(answer.status, 400, "{}", answer.body);

    let admin = login(&room, "root", "admin").await;
    let answer = call(
        &room,
        "POST",
        "/api/profile",
        admin.token.as_deref(),
        Some(json!({"plugins": {"blob": "b".repeat(MAX_PROFILE_BYTES)}})),
    )
    .await;
    assert_eq!(answer.status, 400, "{}", answer.body);
    let answer = call(
        &room,
        "POST",
        "/api/profile",
        admin.token.as_deref(),
        Some(json!({"name": "short enough"})),
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    room.shutdown().await;
}

#[tokio::test]
async fn sandbox_routes_need_an_admin() {
    let room = start().await;
    let user = login(&room, "user", "neko").await;
    let admin = login(&room, "root", "admin").await;
    for (method, path) in [
        ("GET", "/api/sandbox/inputs"),
        ("DELETE", "/api/sandbox/inputs"),
        ("GET", "/api/sandbox/microphone.wav"),
        ("DELETE", "/api/sandbox/microphone.wav"),
    ] {
        let anonymous = call(&room, method, path, None, None).await;
        assert_eq!(anonymous.status, 401, "{method} {path}");
        let as_user = call(&room, method, path, user.token.as_deref(), None).await;
        assert_eq!(as_user.status, 403, "{method} {path}");
        let as_admin = call(&room, method, path, admin.token.as_deref(), None).await;
        assert!(
            as_admin.status < 300,
            "{method} {path}: {}",
            as_admin.status
        );
    }
    room.shutdown().await;
}
