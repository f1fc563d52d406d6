//! Neko's members, clipboard and keyboard routes (`server/internal/api/members`,
//! `server/internal/api/room/{clipboard,keyboard}.go`), their permission chains and status codes.

use std::time::Duration;

use gstneko::protocol::{ClientEvent, ControlPos, MemberProfile};
use serde_json::{Value, json};

use super::support::{Answer, Client, call, login, media_available, start, start_with};
use crate::{Room, RoomConfig};

const SHORT: Duration = Duration::from_secs(5);

fn assert_error(answer: &Answer, status: u16, message: &str) {
    assert_eq!(
        (answer.status, &answer.body),
        (status, &json!({"code": status, "message": message}))
    );
}

async fn token(room: &Room, username: &str, password: &str) -> String {
    login(room, username, password)
        .await
        .token
        .expect("token in the login answer")
}

async fn raw_post(room: &Room, path: &str, token: &str, body: &'static str) -> Answer {
    let response = reqwest::Client::new()
        .post(format!("{}{path}", room.base_url()))
        .bearer_auth(token)
        .body(body)
        .send()
        .await
        .expect("sent");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let bytes = response.bytes().await.expect("body");
    Answer {
        status,
        body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        headers,
    }
}

#[tokio::test]
async fn members_list_is_empty_as_on_a_multiuser_server() {
    let room = start().await;
    assert_error(
        &call(&room, "GET", "/api/members", None, None).await,
        401,
        "Unauthorized",
    );
    let user = token(&room, "alice", "neko").await;
    for path in [
        "/api/members",
        "/api/members/",
        "/api/members?limit=10&offset=2",
        "/api/members?limit=x&offset=-1",
    ] {
        let answer = call(&room, "GET", path, Some(&user), None).await;
        assert_eq!((answer.status, &answer.body), (200, &json!([])), "{path}");
    }
    room.shutdown().await;
}

#[tokio::test]
async fn keyboard_routes_need_can_host_and_host_to_change() {
    let room = start_with(RoomConfig {
        user_profile: MemberProfile {
            can_host: false,
            ..MemberProfile::user()
        },
        ..RoomConfig::signalling_only()
    })
    .await;
    let user = token(&room, "bob", "neko").await;
    let admin = token(&room, "root", "admin").await;
    for path in ["/api/room/keyboard/map", "/api/room/keyboard/modifiers"] {
        let get = call(&room, "GET", path, Some(&user), None).await;
        assert_error(&get, 403, "session cannot host");
        let post = call(&room, "POST", path, Some(&user), Some(json!({}))).await;
        assert_error(&post, 403, "session cannot host");
        let post = call(&room, "POST", path, Some(&admin), Some(json!({}))).await;
        assert_error(&post, 403, "session is not host");
    }

    let map = call(&room, "GET", "/api/room/keyboard/map", Some(&admin), None).await;
    assert_eq!(
        (map.status, map.body),
        (200, json!({"layout": "us", "variant": ""}))
    );
    let modifiers = call(
        &room,
        "GET",
        "/api/room/keyboard/modifiers",
        Some(&admin),
        None,
    )
    .await;
    let all_off = json!({"shift": false, "capslock": false, "control": false, "alt": false,
                         "numlock": false, "meta": false, "super": false, "altgr": false});
    assert_eq!((modifiers.status, &modifiers.body), (200, &all_off));

    let take = call(&room, "POST", "/api/room/control/take", Some(&admin), None).await;
    assert_eq!(take.status, 204);
    let set = call(
        &room,
        "POST",
        "/api/room/keyboard/map",
        Some(&admin),
        Some(json!({"layout": "de", "variant": "nodeadkeys"})),
    )
    .await;
    assert_eq!(set.status, 204);
    let map = call(&room, "GET", "/api/room/keyboard/map", Some(&admin), None).await;
    assert_eq!(map.body, json!({"layout": "de", "variant": "nodeadkeys"}));

    for update in [
        json!({"capslock": true, "super": true}),
        json!({"super": false}),
    ] {
        let set = call(
            &room,
            "POST",
            "/api/room/keyboard/modifiers",
            Some(&admin),
            Some(update),
        )
        .await;
        assert_eq!(set.status, 204);
    }
    let modifiers = call(
        &room,
        "GET",
        "/api/room/keyboard/modifiers",
        Some(&admin),
        None,
    )
    .await;
    let mut expected = all_off.clone();
    expected["capslock"] = json!(true);
    assert_eq!(
        modifiers.body, expected,
        "omitted modifiers stay as they were"
    );

    for path in ["/api/room/keyboard/map", "/api/room/keyboard/modifiers"] {
        assert_error(
            &raw_post(&room, path, &admin, "").await,
            400,
            "no data provided",
        );
        assert_error(
            &raw_post(&room, path, &admin, "{").await,
            400,
            "unable to parse provided data",
        );
    }
    room.shutdown().await;
}

#[tokio::test]
async fn websocket_keyboard_events_change_what_the_routes_answer() {
    let room = start().await;
    let (mut alice, alice_login) = Client::join(&room, "alice", "neko").await;
    let (mut bob, _) = Client::join(&room, "bob", "neko").await;
    let alice_token = alice_login.token.clone().expect("token");
    alice
        .send(ClientEvent::ControlMove(ControlPos {
            x: 1,
            y: 1,
            ..ControlPos::default()
        }))
        .await;
    alice.expect("control/host").await;
    bob.send_text(r#"{"event":"keyboard/map","payload":{"layout":"xx","variant":""}}"#)
        .await;
    alice
        .send_text(r#"{"event":"keyboard/map","payload":{"layout":"fr","variant":"azerty"}}"#)
        .await;
    alice
        .send_text(r#"{"event":"keyboard/modifiers","payload":{"numlock":true}}"#)
        .await;
    room.wait_for_input(|i| i.event == "keyboard/modifiers", SHORT)
        .await
        .expect("modifiers recorded");
    let map = call(
        &room,
        "GET",
        "/api/room/keyboard/map",
        Some(&alice_token),
        None,
    )
    .await;
    assert_eq!(map.body, json!({"layout": "fr", "variant": "azerty"}));
    let modifiers = call(
        &room,
        "GET",
        "/api/room/keyboard/modifiers",
        Some(&alice_token),
        None,
    )
    .await;
    assert_eq!(modifiers.body["numlock"], json!(true));
    assert_eq!(modifiers.body["capslock"], json!(false));
    room.shutdown().await;
}

#[tokio::test]
async fn clipboard_routes_need_clipboard_access_then_host() {
    let room = start_with(RoomConfig {
        user_profile: MemberProfile {
            can_access_clipboard: false,
            ..MemberProfile::user()
        },
        ..RoomConfig::signalling_only()
    })
    .await;
    let user = token(&room, "bob", "neko").await;
    let admin = token(&room, "root", "admin").await;
    let take = call(&room, "POST", "/api/room/control/take", Some(&user), None).await;
    assert_error(&take, 403, "session is not admin");
    for (method, path) in [
        ("GET", "/api/room/clipboard"),
        ("GET", "/api/room/clipboard/"),
        ("POST", "/api/room/clipboard"),
        ("GET", "/api/room/clipboard/image.png"),
    ] {
        let body = (method == "POST").then(|| json!({"text": "x"}));
        assert_error(
            &call(&room, method, path, None, body.clone()).await,
            401,
            "Unauthorized",
        );
        assert_error(
            &call(&room, method, path, Some(&user), body.clone()).await,
            403,
            "session cannot access clipboard",
        );
        assert_error(
            &call(&room, method, path, Some(&admin), body).await,
            403,
            "session is not host",
        );
    }
    // The host of a room without a desktop gets what Neko answers when xclip fails.
    let take = call(&room, "POST", "/api/room/control/take", Some(&admin), None).await;
    assert_eq!(take.status, 204);
    let get = call(&room, "GET", "/api/room/clipboard", Some(&admin), None).await;
    assert_error(&get, 500, "Internal Server Error");
    assert_error(
        &raw_post(&room, "/api/room/clipboard", &admin, "").await,
        400,
        "no data provided",
    );
    room.shutdown().await;
}

#[tokio::test]
async fn clipboard_set_over_rest_is_what_ctrl_v_types() {
    if !media_available() {
        eprintln!("skipped: GStreamer WebRTC elements are not installed");
        return;
    }
    let room = start_with(RoomConfig {
        width: 320,
        height: 240,
        rate: 10,
        ..RoomConfig::default()
    })
    .await;
    let (mut host, host_login) = Client::join(&room, "alice", "neko").await;
    let token = host_login.token.clone().expect("token");
    host.send(ClientEvent::ControlMove(ControlPos {
        x: 1,
        y: 1,
        ..ControlPos::default()
    }))
    .await;
    host.expect("control/host").await;

    let empty = call(&room, "GET", "/api/room/clipboard", Some(&token), None).await;
    assert_eq!((empty.status, empty.body), (200, json!({})));
    let set = call(
        &room,
        "POST",
        "/api/room/clipboard",
        Some(&token),
        Some(json!({"text": "pasted over REST", "html": "<b>pasted</b>"})),
    )
    .await;
    assert_eq!(set.status, 204);
    let get = call(&room, "GET", "/api/room/clipboard", Some(&token), None).await;
    assert_eq!(
        (get.status, get.body),
        (
            200,
            json!({"text": "pasted over REST", "html": "<b>pasted</b>"})
        )
    );
    let image = call(
        &room,
        "GET",
        "/api/room/clipboard/image.png",
        Some(&token),
        None,
    )
    .await;
    assert_error(&image, 500, "Internal Server Error");

    host.send_text(r#"{"event":"control/paste","payload":{}}"#)
        .await;
    room.wait_for_input(|i| i.event == "control/paste", SHORT)
        .await
        .expect("paste recorded");
    let desktop = room.media().expect("media").desktop();
    assert_eq!(desktop.lock().expect("desktop").text(), "pasted over REST");

    host.send_text(r#"{"event":"clipboard/set","payload":{"text":"set over the socket"}}"#)
        .await;
    room.wait_for_input(|i| i.event == "clipboard/set", SHORT)
        .await
        .expect("clipboard/set recorded");
    let get = call(&room, "GET", "/api/room/clipboard", Some(&token), None).await;
    assert_eq!(get.body, json!({"text": "set over the socket"}));
    room.shutdown().await;
}
