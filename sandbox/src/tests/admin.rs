//! Admin APIs, kick, settings, screen and chat (§1, §3.7, §6, §7.2).

use gstneko::protocol::{ChatContent, ClientEvent, ScreenSize, ServerEvent};
use serde_json::json;

use super::support::{Client, call, start};

#[tokio::test]
async fn sessions_api_and_delete() {
    let room = start().await;
    let (mut alice, alice_login) = Client::join(&room, "alice", "neko").await;
    let (mut admin, admin_login) = Client::join(&room, "root", "admin").await;
    let admin_token = admin_login.token.as_deref();

    let list = call(&room, "GET", "/api/sessions", admin_token, None).await;
    assert_eq!(list.status, 200);
    assert_eq!(list.body.as_array().map(Vec::len), Some(2));
    let denied = call(
        &room,
        "GET",
        "/api/sessions",
        alice_login.token.as_deref(),
        None,
    )
    .await;
    assert_eq!(
        (denied.status, denied.body),
        (403, json!({"code": 403, "message": "session is not admin"}))
    );
    let one = call(
        &room,
        "GET",
        &format!("/api/sessions/{}", alice_login.id),
        admin_token,
        None,
    )
    .await;
    assert_eq!(one.body["profile"]["name"], json!("alice"));
    let missing = call(&room, "GET", "/api/sessions/nobody", admin_token, None).await;
    assert_eq!(
        (missing.status, missing.body),
        (404, json!({"code": 404, "message": "session not found"}))
    );
    let own = call(
        &room,
        "DELETE",
        &format!("/api/sessions/{}", admin_login.id),
        admin_token,
        None,
    )
    .await;
    assert_eq!(
        (own.status, own.body),
        (
            400,
            json!({"code": 400, "message": "cannot delete own session"})
        )
    );
    let gone = call(&room, "DELETE", "/api/sessions/nobody", admin_token, None).await;
    assert_eq!(
        (gone.status, gone.body),
        (400, json!({"code": 400, "message": "session not found"}))
    );

    let delete = call(
        &room,
        "DELETE",
        &format!("/api/sessions/{}", alice_login.id),
        admin_token,
        None,
    )
    .await;
    assert_eq!(delete.status, 204);
    assert_eq!(
        alice.expect_payload("system/disconnect").await,
        json!({"message": "session deleted"})
    );
    alice.expect_abrupt_close().await;
    assert_eq!(
        admin.expect_payload("session/deleted").await,
        json!({"id": alice_login.id})
    );
    room.shutdown().await;
}

#[tokio::test]
async fn kick_disconnects_but_keeps_the_session() {
    let room = start().await;
    let (mut alice, alice_login) = Client::join(&room, "alice", "neko").await;
    let (mut admin, admin_login) = Client::join(&room, "root", "admin").await;
    alice.send(ClientEvent::ControlRequest).await;
    admin.expect("control/host").await;

    let path = format!("/api/sessions/{}/disconnect", alice_login.id);
    let kick = call(&room, "POST", &path, admin_login.token.as_deref(), None).await;
    assert_eq!(kick.status, 204);
    assert_eq!(
        alice.expect_payload("system/disconnect").await,
        json!({"message": "session disconnected"})
    );
    alice.expect_abrupt_close().await;
    let state = admin.expect_payload("session/state").await;
    assert_eq!(
        (state["id"].clone(), state["is_connected"].clone()),
        (json!(alice_login.id), json!(false))
    );
    assert_eq!(
        admin.expect_payload("control/host").await,
        json!({"id": alice_login.id, "has_host": false})
    );
    assert!(room.session(&alice_login.id).is_some());
    room.shutdown().await;
}

#[tokio::test]
async fn settings_changes_are_broadcast() {
    let room = start().await;
    let (mut alice, alice_login) = Client::join(&room, "alice", "neko").await;
    let (_admin, admin_login) = Client::join(&room, "root", "admin").await;
    let admin_token = admin_login.token.as_deref();
    let current = call(&room, "GET", "/api/room/settings", admin_token, None).await;
    assert_eq!(current.body["heartbeat_interval"], json!(10));
    let change = call(
        &room,
        "POST",
        "/api/room/settings/",
        admin_token,
        Some(json!({"implicit_hosting": true})),
    )
    .await;
    assert_eq!(change.status, 204);
    let ServerEvent::SystemSettings(update) = alice.expect("system/settings").await else {
        panic!("wrong event");
    };
    assert_eq!(update.id, admin_login.id);
    assert!(update.settings.implicit_hosting && update.settings.merciful_reconnect);
    assert!(room.settings().implicit_hosting);
    let bad = call(
        &room,
        "POST",
        "/api/room/settings",
        admin_token,
        Some(json!({"heartbeat_interval": "x"})),
    )
    .await;
    assert_eq!(bad.status, 400);
    let user = call(
        &room,
        "GET",
        "/api/room/settings",
        alice_login.token.as_deref(),
        None,
    )
    .await;
    assert_eq!(user.status, 403);
    room.shutdown().await;
}

#[tokio::test]
async fn screen_changes_round_the_width_and_default_the_rate() {
    let room = start().await;
    let (mut alice, alice_login) = Client::join(&room, "alice", "neko").await;
    let (mut admin, admin_login) = Client::join(&room, "root", "admin").await;
    let admin_token = admin_login.token.as_deref();

    alice
        .send(ClientEvent::ScreenSet(ScreenSize::new(800, 600, 30)))
        .await;
    admin
        .send(ClientEvent::ScreenSet(ScreenSize::new(1366, 768, 30)))
        .await;
    let update = alice.expect_payload("screen/updated").await;
    assert_eq!(
        update,
        json!({"id": admin_login.id, "width": 1360, "height": 768, "rate": 30})
    );

    let answer = call(
        &room,
        "POST",
        "/api/room/screen",
        admin_token,
        Some(json!({"width": 1023, "height": 700, "rate": 0})),
    )
    .await;
    assert_eq!(
        (answer.status, answer.body),
        (200, json!({"width": 1023, "height": 700, "rate": 0}))
    );
    assert_eq!(
        alice.expect_payload("screen/updated").await,
        json!({"id": admin_login.id, "width": 1016, "height": 700, "rate": 60})
    );
    let current = call(
        &room,
        "GET",
        "/api/room/screen",
        alice_login.token.as_deref(),
        None,
    )
    .await;
    assert_eq!(
        current.body,
        json!({"width": 1016, "height": 700, "rate": 60})
    );
    let invalid = call(
        &room,
        "POST",
        "/api/room/screen",
        admin_token,
        Some(json!({"width": 4, "height": 700})),
    )
    .await;
    assert_eq!(
        (invalid.status, invalid.body),
        (
            422,
            json!({"code": 422, "message": "cannot set screen size"})
        )
    );
    let user = call(
        &room,
        "POST",
        "/api/room/screen",
        alice_login.token.as_deref(),
        Some(json!({"width": 800})),
    )
    .await;
    assert_eq!(user.status, 403);

    let modes = call(
        &room,
        "GET",
        "/api/room/screen/configurations",
        admin_token,
        None,
    )
    .await;
    assert!(
        modes
            .body
            .as_array()
            .is_some_and(|m| m.contains(&json!({"width": 1280, "height": 720, "rate": 30})))
    );
    let shot = call(
        &room,
        "GET",
        "/api/room/screen/shot.jpg?quality=50",
        admin_token,
        None,
    )
    .await;
    assert_eq!(shot.status, 500, "no media, no screenshot");
    let cast = call(&room, "GET", "/api/room/screen/cast.jpg", admin_token, None).await;
    assert_eq!(
        (cast.status, cast.body),
        (
            400,
            json!({"code": 400, "message": "screencast pipeline is not enabled"})
        )
    );
    room.shutdown().await;
}

#[tokio::test]
async fn chat_is_echoed_to_everyone() {
    let room = start().await;
    let (mut alice, alice_login) = Client::join(&room, "alice", "neko").await;
    let (mut admin, admin_login) = Client::join(&room, "root", "admin").await;
    alice
        .send(ClientEvent::ChatMessage(ChatContent::new("hi everyone")))
        .await;
    for client in [&mut alice, &mut admin] {
        let ServerEvent::ChatMessage(message) = client.expect("chat/message").await else {
            panic!("wrong event");
        };
        assert_eq!(message.id, alice_login.id);
        assert_eq!(message.content.text, "hi everyone");
        assert!(message.created.parse().is_some());
    }
    let sent = call(
        &room,
        "POST",
        "/api/chat",
        admin_login.token.as_deref(),
        Some(json!({"text": "from rest"})),
    )
    .await;
    assert_eq!(sent.status, 204);
    let message = alice.expect_payload("chat/message").await;
    assert_eq!(
        (message["id"].clone(), message["content"].clone()),
        (json!(admin_login.id), json!({"text": "from rest"}))
    );
    let user = call(
        &room,
        "POST",
        "/api/chat",
        alice_login.token.as_deref(),
        Some(json!({"text": "x"})),
    )
    .await;
    assert_eq!(
        (user.status, user.body),
        (403, json!({"code": 403, "message": "session is not admin"}))
    );
    room.shutdown().await;
}
