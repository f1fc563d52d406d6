//! REST authentication (§1).

use gstneko::protocol::{MemberProfile, SessionState, Settings};
use reqwest::header::{COOKIE, SET_COOKIE};
use serde_json::json;

use super::support::{Client, call, login, start, start_with};
use crate::{CookieConfig, RoomConfig};

#[tokio::test]
async fn user_and_admin_logins_create_new_sessions() {
    let room = start().await;
    let alice = login(&room, "alice", "neko").await;
    assert!(
        alice.id.starts_with("alice-") && alice.id.len() == 11,
        "{}",
        alice.id
    );
    let token = alice.token.clone().expect("token when cookies are off");
    assert_eq!(token.len(), 64);
    assert!(
        token
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    );
    assert_eq!(alice.profile, MemberProfile::user().with_name("alice"));
    assert_eq!(alice.state, SessionState::default());

    let bob = login(&room, "bob", "admin").await;
    assert_eq!(bob.profile, MemberProfile::admin().with_name("bob"));

    let again = login(&room, "alice", "neko").await;
    assert_ne!(again.id, alice.id);
    assert_eq!(room.sessions().len(), 3);
    room.shutdown().await;
}

#[tokio::test]
async fn login_errors_match_neko() {
    let room = start().await;
    let wrong = call(
        &room,
        "POST",
        "/api/login",
        None,
        Some(json!({"username": "a", "password": "x"})),
    )
    .await;
    assert_eq!(
        (wrong.status, wrong.body),
        (401, json!({"code": 401, "message": "Unauthorized"}))
    );

    let client = reqwest::Client::new();
    let url = format!("{}/api/login", room.base_url());
    let empty = client.post(&url).send().await.expect("sent");
    assert_eq!(empty.status().as_u16(), 400);
    let body: serde_json::Value = empty.json().await.expect("json");
    assert_eq!(body, json!({"code": 400, "message": "no data provided"}));
    let bad = client.post(&url).body("{nope").send().await.expect("sent");
    assert_eq!(bad.status().as_u16(), 400);
    let body: serde_json::Value = bad.json().await.expect("json");
    assert_eq!(
        body,
        json!({"code": 400, "message": "unable to parse provided data"})
    );
    room.shutdown().await;
}

#[tokio::test]
async fn locked_logins_keep_users_out() {
    let room = start_with(RoomConfig {
        settings: Settings {
            locked_logins: true,
            ..Settings::default()
        },
        ..RoomConfig::signalling_only()
    })
    .await;
    let user = call(
        &room,
        "POST",
        "/api/login",
        None,
        Some(json!({"username": "a", "password": "neko"})),
    )
    .await;
    assert_eq!(
        (user.status, user.body),
        (403, json!({"code": 403, "message": "logins are locked"}))
    );
    login(&room, "root", "admin").await;
    room.shutdown().await;
}

#[tokio::test]
async fn token_sources_whoami_and_logout() {
    let room = start().await;
    let (mut alice, login_alice) = Client::join(&room, "alice", "neko").await;
    let (mut bob, _) = Client::join(&room, "bob", "neko").await;
    let token = login_alice.token.clone().expect("token");

    let whoami = call(&room, "GET", "/api/whoami", Some(&token), None).await;
    assert_eq!(whoami.status, 200);
    assert_eq!(whoami.body["id"], json!(login_alice.id));
    assert!(whoami.body.get("token").is_none());
    assert_eq!(whoami.body["state"]["is_connected"], json!(true));

    let by_query = call(
        &room,
        "GET",
        &format!("/api/whoami?token={token}"),
        None,
        None,
    )
    .await;
    assert_eq!(by_query.body["id"], json!(login_alice.id));
    let nobody = call(&room, "GET", "/api/whoami", None, None).await;
    assert_eq!(
        (nobody.status, nobody.body),
        (401, json!({"code": 401, "message": "Unauthorized"}))
    );

    let logout = call(&room, "POST", "/api/logout", Some(&token), None).await;
    assert_eq!((logout.status, logout.body), (200, json!(true)));
    assert_eq!(
        alice.expect_payload("system/disconnect").await,
        json!({"message": "session deleted"})
    );
    alice.expect_abrupt_close().await;
    assert_eq!(
        bob.expect_payload("session/deleted").await,
        json!({"id": login_alice.id})
    );
    let gone = call(&room, "GET", "/api/whoami", Some(&token), None).await;
    assert_eq!(gone.status, 401);
    room.shutdown().await;
}

#[tokio::test]
async fn cookie_auth_hides_the_token_and_wins_over_bearer() {
    let room = start_with(RoomConfig {
        cookie: CookieConfig {
            enabled: true,
            ..CookieConfig::default()
        },
        ..RoomConfig::signalling_only()
    })
    .await;
    let answer = call(
        &room,
        "POST",
        "/api/login",
        None,
        Some(json!({"username": "c", "password": "neko"})),
    )
    .await;
    assert_eq!(answer.status, 200);
    assert!(answer.body.get("token").is_none(), "{}", answer.body);
    let set_cookie = answer
        .headers
        .get(SET_COOKIE)
        .and_then(|v| v.to_str().ok())
        .expect("Set-Cookie");
    assert!(set_cookie.starts_with("NEKO_SESSION="), "{set_cookie}");
    assert!(
        set_cookie.contains("; Expires=")
            && set_cookie.ends_with("; HttpOnly; Secure; SameSite=None")
    );
    let token = set_cookie["NEKO_SESSION=".len()..]
        .split(';')
        .next()
        .expect("value")
        .to_owned();

    let client = reqwest::Client::new();
    let whoami = format!("{}/api/whoami", room.base_url());
    let ok = client
        .get(&whoami)
        .header(COOKIE, format!("NEKO_SESSION={token}"))
        .send()
        .await
        .expect("sent");
    assert_eq!(ok.status().as_u16(), 200);

    let stale = client
        .get(&whoami)
        .header(COOKIE, "NEKO_SESSION=stale")
        .bearer_auth(&token)
        .send()
        .await
        .expect("sent");
    assert_eq!(stale.status().as_u16(), 401);
    let cleared = stale
        .headers()
        .get(SET_COOKIE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    assert_eq!(
        cleared.as_deref(),
        Some("NEKO_SESSION=; Expires=Thu, 01 Jan 1970 00:00:00 GMT")
    );
    room.shutdown().await;
}

#[tokio::test]
async fn profile_updates_are_broadcast() {
    let room = start().await;
    let (mut alice, login_alice) = Client::join(&room, "alice", "neko").await;
    let token = login_alice.token.expect("token");
    let answer = call(
        &room,
        "POST",
        "/api/profile",
        Some(&token),
        Some(json!({"name": "Al", "is_admin": true})),
    )
    .await;
    assert_eq!((answer.status, answer.body), (200, json!(true)));
    let update = alice.expect_payload("session/profile").await;
    assert_eq!(update["id"], json!(login_alice.id));
    assert_eq!(update["name"], json!("Al"));
    assert_eq!(update["is_admin"], json!(false));
    room.shutdown().await;
}
