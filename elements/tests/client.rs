//! The Neko client used on its own (no GStreamer media): login forms, events, host, reconnects.

use std::time::Duration;

use gstneko::client::{ClientConfig, ClientNotice, NekoClient, Target, wait_for_notice};
use gstneko::protocol::{ChatContent, ClientEvent, ServerEvent};
use neko_sandbox::CookieConfig;
use neko_sandbox::RoomConfig;
use neko_sandbox::testing::TestRoom;

fn connected(notice: &ClientNotice) -> Option<(String, bool)> {
    match notice {
        ClientNotice::Connected {
            session_id,
            reconnect,
        } => Some((session_id.clone(), *reconnect)),
        _ => None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_flow_both_ways_and_host_is_regained_after_a_reconnect() {
    let room = TestRoom::start(RoomConfig::signalling_only()).await;
    let target = Target::new(&room.base_url(), Some("agent"), Some("neko"), None).unwrap();
    let mut config = ClientConfig::new(target);
    config.want_host = true;
    let (client, mut notices) = NekoClient::start(config);
    let (session, reconnect) = wait_for_notice(&mut notices, Duration::from_secs(10), connected)
        .await
        .expect("connected");
    assert!(!reconnect);
    let host = wait_for_notice(&mut notices, Duration::from_secs(10), |n| match n {
        ClientNotice::Event(e) => match e.as_ref() {
            ServerEvent::ControlHost(host) if host.has_host => host.host_id.clone(),
            _ => None,
        },
        _ => None,
    })
    .await;
    assert_eq!(host.as_deref(), Some(session.as_str()));
    assert!(client.state().is_host());

    client
        .send(ClientEvent::ChatMessage(ChatContent {
            text: "hello room".into(),
            ..Default::default()
        }))
        .await
        .unwrap();
    let echoed = wait_for_notice(&mut notices, Duration::from_secs(10), |n| match n {
        ClientNotice::Event(e) => match e.as_ref() {
            ServerEvent::ChatMessage(m) if m.content.text == "hello room" => Some(m.id.clone()),
            _ => None,
        },
        _ => None,
    })
    .await;
    assert_eq!(echoed.as_deref(), Some(session.as_str()));
    client
        .send_json(r#"{"event":"custom/thing","payload":{"a":1}}"#)
        .await
        .unwrap();
    assert!(client.send_json("[1,2]").await.is_err());

    room.disconnect_all_websockets();
    let (again, reconnect) = wait_for_notice(&mut notices, Duration::from_secs(15), connected)
        .await
        .expect("reconnected");
    assert!(reconnect);
    assert_eq!(again, session, "merciful reconnect keeps the session");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(room.host().as_deref(), Some(session.as_str()));
    client.stop();
    room.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_and_cookie_logins_both_connect() {
    let room = TestRoom::start(RoomConfig {
        cookie: CookieConfig {
            enabled: true,
            ..CookieConfig::default()
        },
        ..RoomConfig::signalling_only()
    })
    .await;
    let target = Target::new(&room.base_url(), Some("cookie"), Some("neko"), None).unwrap();
    let login = gstneko::client::RestClient::new(target.clone())
        .login()
        .await
        .expect("cookie login");
    let (client, mut notices) = NekoClient::start(ClientConfig::new(target));
    assert!(
        wait_for_notice(&mut notices, Duration::from_secs(10), connected)
            .await
            .is_some()
    );
    client.stop();

    let by_token = Target::new(&room.base_url(), None, None, Some(&login.token)).unwrap();
    let ws_url = by_token.websocket_url(&login.token).to_string();
    for target in [by_token, Target::new(&ws_url, None, None, None).unwrap()] {
        let (client, mut notices) = NekoClient::start(ClientConfig::new(target));
        let (session, _) = wait_for_notice(&mut notices, Duration::from_secs(10), connected)
            .await
            .expect("token login");
        assert_eq!(session, login.session_id);
        client.stop();
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    room.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_disconnect_is_final_and_clear() {
    let room = TestRoom::start(RoomConfig::signalling_only()).await;
    let target = Target::new(&room.base_url(), Some("kicked"), Some("neko"), None).unwrap();
    let (_client, mut notices) = NekoClient::start(ClientConfig::new(target));
    let (session, _) = wait_for_notice(&mut notices, Duration::from_secs(10), connected)
        .await
        .unwrap();
    let admin = reqwest::Client::new();
    let login: serde_json::Value = admin
        .post(format!("{}/api/login", room.base_url()))
        .json(&serde_json::json!({"username": "boss", "password": "admin"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = login["token"].as_str().unwrap();
    let kicked = admin
        .post(format!(
            "{}/api/sessions/{session}/disconnect",
            room.base_url()
        ))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert!(kicked.status().is_success());
    let fatal = wait_for_notice(&mut notices, Duration::from_secs(10), |n| match n {
        ClientNotice::Fatal(e) => Some(e.to_string()),
        _ => None,
    })
    .await
    .expect("a fatal notice");
    assert!(
        fatal.contains("session disconnected") && fatal.contains(&room.base_url()),
        "{fatal}"
    );
    room.shutdown().await;
}
