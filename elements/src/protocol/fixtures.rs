//! The JSON fixtures of §9 parse into the expected variants and re-serialise field for field.

use serde_json::{Value, json};

use super::*;

fn fixture(text: &str) -> Value {
    serde_json::from_str(text).expect("fixture is valid JSON")
}

fn server(text: &str) -> ServerEvent {
    let event = ServerEvent::from_json(text).expect("server event parses");
    assert_eq!(
        event.to_value(),
        fixture(text),
        "{} re-serialises",
        event.name()
    );
    let again = ServerEvent::from_json(&event.to_json()).expect("re-parses");
    assert_eq!(again, event);
    event
}

fn client(text: &str) -> ClientEvent {
    let event = ClientEvent::from_json(text).expect("client event parses");
    assert_eq!(
        event.to_value(),
        fixture(text),
        "{} re-serialises",
        event.name()
    );
    let again = ClientEvent::from_json(&event.to_json()).expect("re-parses");
    assert_eq!(again, event);
    event
}

macro_rules! load {
    ($name:literal) => {
        include_str!(concat!("../../tests/fixtures/protocol/", $name, ".json"))
    };
}

#[test]
fn system_init() {
    let ServerEvent::SystemInit(init) = server(load!("system_init")) else {
        panic!("wrong variant");
    };
    assert_eq!(init.session_id, "alice-Xa9_k");
    assert_eq!(init.control_host.host_id.as_deref(), Some("bob-3kQ2z"));
    assert_eq!(init.screen_size, ScreenSize::new(1280, 720, 30));
    assert_eq!(init.sessions.len(), 3);
    let carol = &init.sessions["carol-a1B-c"];
    assert!(!carol.state.is_connected);
    assert_eq!(
        carol
            .state
            .not_connected_since
            .as_ref()
            .and_then(Timestamp::parse),
        chrono::DateTime::parse_from_rfc3339("2025-06-01T09:40:00Z")
            .ok()
            .map(|at| at.with_timezone(&chrono::Utc))
    );
    assert!(init.sessions["bob-3kQ2z"].profile.is_admin);
    assert_eq!(init.settings, Settings::default());
    assert!(init.touch_events && !init.screencast_enabled);
    assert_eq!(init.webrtc.videos, ["main"]);
}

#[test]
fn signalling() {
    let ClientEvent::SignalRequest(request) = client(load!("signal_request")) else {
        panic!("wrong variant");
    };
    let selector = request.video.selector.expect("selector");
    assert_eq!(selector.kind, StreamSelectorType::Exact);
    assert_eq!(selector.id, "main");
    assert_eq!(request.audio.disabled, Some(false));
    assert_eq!(request.auto, None);

    let ServerEvent::SignalProvide(provide) = server(load!("signal_provide")) else {
        panic!("wrong variant");
    };
    assert!(provide.sdp.starts_with("v=0\r\n"));
    assert_eq!(provide.iceservers[0].urls, ["stun:stun.l.google.com:19302"]);
    assert_eq!(provide.iceservers[0].username, None);
    assert_eq!(provide.video.id, "main");

    let ClientEvent::SignalAnswer(answer) = client(load!("signal_answer")) else {
        panic!("wrong variant");
    };
    assert!(answer.sdp.contains("a=setup:active"));

    let ClientEvent::SignalVideo(video) = client(load!("signal_video_client")) else {
        panic!("wrong variant");
    };
    assert_eq!(
        video.selector.map(|s| s.kind),
        Some(StreamSelectorType::Lower)
    );
    let ServerEvent::SignalVideo(video) = server(load!("signal_video_server")) else {
        panic!("wrong variant");
    };
    assert_eq!((video.id.as_str(), video.video.as_str()), ("lq", "lq"));

    assert_eq!(server(load!("signal_close")), ServerEvent::SignalClose);
    assert_eq!(
        ServerEvent::SignalClose.to_json(),
        r#"{"event":"signal/close","payload":null}"#
    );
}

#[test]
fn candidates_both_ways() {
    for text in [
        load!("signal_candidate_server"),
        load!("signal_candidate_client"),
    ] {
        let ServerEvent::SignalCandidate(candidate) = server(text) else {
            panic!("wrong variant");
        };
        assert_eq!(candidate.sdp_mid.as_deref(), Some("0"));
        assert_eq!(candidate.sdp_mline_index, Some(0));
        let ClientEvent::SignalCandidate(same) = client(text) else {
            panic!("wrong variant");
        };
        assert_eq!(same, candidate);
    }
    let ServerEvent::SignalCandidate(server_candidate) = server(load!("signal_candidate_server"))
    else {
        panic!("wrong variant");
    };
    assert_eq!(server_candidate.username_fragment, None);
    let bare = IceCandidate {
        candidate: "candidate:1 1 udp 1 127.0.0.1 9 typ host".into(),
        ..IceCandidate::default()
    };
    assert_eq!(
        serde_json::to_value(&bare).expect("serialise"),
        json!({
            "candidate": "candidate:1 1 udp 1 127.0.0.1 9 typ host",
            "sdpMid": null, "sdpMLineIndex": null, "usernameFragment": null
        })
    );
}

#[test]
fn control() {
    let ServerEvent::ControlHost(host) = server(load!("control_host_acquired")) else {
        panic!("wrong variant");
    };
    assert!(host.has_host);
    let ServerEvent::ControlHost(host) = server(load!("control_host_released")) else {
        panic!("wrong variant");
    };
    assert_eq!((host.has_host, host.host_id), (false, None));
    let ServerEvent::ControlRequest(requester) = server(load!("control_request_to_host")) else {
        panic!("wrong variant");
    };
    assert_eq!(requester.id, "carol-a1B-c");

    let ClientEvent::ControlButtonDown(button) = client(load!("control_buttondown")) else {
        panic!("wrong variant");
    };
    assert_eq!((button.code, button.x, button.y), (1, Some(640), Some(360)));
    let ClientEvent::ControlScroll(scroll) = client(load!("control_scroll")) else {
        panic!("wrong variant");
    };
    assert_eq!((scroll.delta_x, scroll.delta_y, scroll.x), (0, -1, None));
    let ClientEvent::ControlPaste(paste) = client(load!("control_paste")) else {
        panic!("wrong variant");
    };
    assert_eq!(paste.text.as_deref(), Some("hello world"));
}

#[test]
fn sessions() {
    let ServerEvent::SessionCreated(created) = server(load!("session_created")) else {
        panic!("wrong variant");
    };
    assert_eq!(created.profile, MemberProfile::user().with_name("dave"));
    assert_eq!(created.state, SessionState::default());
    let ServerEvent::SessionState(update) = server(load!("session_state")) else {
        panic!("wrong variant");
    };
    assert_eq!(update.id, "dave-9Zp_Q");
    assert!(update.state.is_connected && update.state.is_watching);
    assert_eq!(
        update.state.connected_since.as_ref().map(Timestamp::as_str),
        Some("2025-06-01T10:20:01.000000001Z")
    );
}

#[test]
fn screen() {
    let ClientEvent::ScreenSet(size) = client(load!("screen_set")) else {
        panic!("wrong variant");
    };
    assert_eq!(size, ScreenSize::new(1366, 768, 30));
    let ServerEvent::ScreenUpdated(update) = server(load!("screen_updated")) else {
        panic!("wrong variant");
    };
    assert_eq!((update.id.as_str(), update.size.width), ("bob-3kQ2z", 1360));
}

#[test]
fn chat() {
    let ClientEvent::ChatMessage(content) = client(load!("chat_message_client")) else {
        panic!("wrong variant");
    };
    assert_eq!(content.text, "hi everyone");
    let ServerEvent::ChatMessage(message) = server(load!("chat_message_server")) else {
        panic!("wrong variant");
    };
    assert_eq!(message.created.as_str(), "2025-06-01T10:21:44.987654321Z");
    assert_eq!(message.content.text, "hi everyone");
    let ServerEvent::ChatInit(init) = server(load!("chat_init")) else {
        panic!("wrong variant");
    };
    assert!(init.enabled);
}

#[test]
fn keyboard() {
    let ClientEvent::KeyboardMap(map) = client(load!("keyboard_map")) else {
        panic!("wrong variant");
    };
    assert_eq!(
        (map.layout.as_str(), map.variant.as_str()),
        ("de", "nodeadkeys")
    );
    let ClientEvent::KeyboardModifiers(modifiers) = client(load!("keyboard_modifiers")) else {
        panic!("wrong variant");
    };
    assert_eq!(
        (modifiers.capslock, modifiers.numlock, modifiers.shift),
        (Some(false), Some(true), None)
    );
}

#[test]
fn system() {
    let ServerEvent::SystemSettings(update) = server(load!("system_settings")) else {
        panic!("wrong variant");
    };
    assert_eq!(update.id, "bob-3kQ2z");
    assert!(update.settings.implicit_hosting);
    assert_eq!(
        server(load!("system_heartbeat")),
        ServerEvent::SystemHeartbeat
    );
    assert_eq!(
        ServerEvent::SystemHeartbeat.to_json(),
        r#"{"event":"system/heartbeat"}"#
    );
    let ServerEvent::SystemDisconnect(disconnect) = server(load!("system_disconnect")) else {
        panic!("wrong variant");
    };
    assert_eq!(disconnect.message, "connection replaced");
}

#[test]
fn unknown_event_is_kept() {
    let text = r#"{"event":"future/thing","payload":{"a":[1,2,{"b":null}]}}"#;
    for value in [
        ClientEvent::from_json(text).expect("client").to_value(),
        ServerEvent::from_json(text).expect("server").to_value(),
    ] {
        assert_eq!(value, fixture(text));
    }
    let event = ServerEvent::from_json(r#"{"event":"future/ping"}"#).expect("parse");
    assert_eq!(event.name(), "future/ping");
    assert_eq!(event.to_json(), r#"{"event":"future/ping"}"#);
}

#[test]
fn unknown_fields_are_kept_even_when_flattened() {
    let text =
        r#"{"event":"system/settings","payload":{"id":"x","private_mode":true,"new_flag":7}}"#;
    let ServerEvent::SystemSettings(update) = ServerEvent::from_json(text).expect("parse") else {
        panic!("wrong variant");
    };
    assert_eq!(update.settings.extra.get("new_flag"), Some(&json!(7)));
    let out = ServerEvent::SystemSettings(update).to_value();
    assert_eq!(out["payload"]["new_flag"], json!(7));
    assert_eq!(out["payload"]["id"], json!("x"));

    let text = r#"{"event":"control/move","payload":{"x":1,"y":2,"pressure_hint":0.5}}"#;
    let event = ClientEvent::from_json(text).expect("parse");
    assert_eq!(event.to_value(), fixture(text));

    let text = r#"{"event":"session/state","payload":{"id":"a","is_connected":true,"is_watching":false,"sharing":true}}"#;
    let event = ServerEvent::from_json(text).expect("parse");
    assert_eq!(event.to_value(), fixture(text));

    let text = r#"{"event":"system/init","payload":{"session_id":"a","sessions":{"a":{"id":"a","profile":{"name":"a","x":1},"state":{"is_connected":true,"is_watching":false,"y":2}}},"extra_top":true}}"#;
    let event = ServerEvent::from_json(text).expect("parse");
    let out = event.to_value();
    assert_eq!(out["payload"]["extra_top"], json!(true));
    assert_eq!(out["payload"]["sessions"]["a"]["profile"]["x"], json!(1));
    assert_eq!(out["payload"]["sessions"]["a"]["state"]["y"], json!(2));
}

#[test]
fn malformed_json_is_an_error() {
    let error = ClientEvent::from_json("{\"event\": ").expect_err("must fail");
    assert!(matches!(error, ProtocolError::Json(_)));
    assert!(error.to_string().starts_with("malformed JSON: "));
    assert!(error.to_string().contains("EOF"), "{error}");
    assert!(matches!(
        ServerEvent::from_json("[1]"),
        Err(ProtocolError::NotAnObject)
    ));
    assert!(matches!(
        ServerEvent::from_json(r#"{"payload":{}}"#),
        Err(ProtocolError::MissingEvent)
    ));
    assert!(matches!(
        ServerEvent::from_json(r#"{"event":3}"#),
        Err(ProtocolError::MissingEvent)
    ));
}

#[test]
fn wrong_payload_shape_names_the_event() {
    let error = ClientEvent::from_json(r#"{"event":"control/move","payload":{"x":"left"}}"#)
        .expect_err("must fail");
    assert!(
        matches!(&error, ProtocolError::Payload { event, .. } if event == "control/move"),
        "{error}"
    );
    assert!(error.to_string().contains("control/move"));
    let error =
        ServerEvent::from_json(r#"{"event":"system/init","payload":"nope"}"#).expect_err("fail");
    assert!(matches!(error, ProtocolError::Payload { ref event, .. } if event == "system/init"));
    assert!(
        ClientEvent::from_json(
            r#"{"event":"signal/video","payload":{"selector":{"type":"sideways","id":"x"}}}"#
        )
        .is_err()
    );
}

#[test]
fn payload_rules_for_events_without_payload() {
    let error = ClientEvent::from_json(r#"{"event":"control/paste"}"#).expect_err("must fail");
    assert!(
        matches!(error, ProtocolError::MissingPayload { ref event } if event == "control/paste")
    );
    let paste = ClientEvent::from_json(r#"{"event":"control/paste","payload":{}}"#).expect("ok");
    assert_eq!(paste.to_json(), r#"{"event":"control/paste","payload":{}}"#);

    assert_eq!(
        ClientEvent::from_json(r#"{"event":"control/request"}"#).expect("ok"),
        ClientEvent::ControlRequest
    );
    assert_eq!(
        ClientEvent::from_json(r#"{"event":"client/heartbeat","payload":{}}"#).expect("ok"),
        ClientEvent::ClientHeartbeat
    );
    assert_eq!(
        ClientEvent::ControlRelease.to_json(),
        r#"{"event":"control/release"}"#
    );
    assert_eq!(
        ServerEvent::from_json(r#"{"event":"signal/close"}"#).expect("ok"),
        ServerEvent::SignalClose
    );
}

#[test]
fn selector_type_is_case_insensitive() {
    let selector: StreamSelector =
        serde_json::from_value(json!({"type": "HIGHER", "id": "a"})).expect("parse");
    assert_eq!(selector.kind, StreamSelectorType::Higher);
    let selector: StreamSelector =
        serde_json::from_value(json!({"type": "", "id": "a"})).expect("parse");
    assert_eq!(selector.kind, StreamSelectorType::Exact);
}

#[test]
fn payload_arrays() {
    let text =
        r#"{"event":"system/logs","payload":[{"level":"warn","fields":{"k":1},"message":"m"}]}"#;
    let ClientEvent::SystemLogs(entries) = client(text) else {
        panic!("wrong variant");
    };
    assert_eq!(entries[0].level, "warn");
    let text = r#"{"event":"session/cursors","payload":[{"id":"a","cursors":[{"x":1,"y":2}]}]}"#;
    let ServerEvent::SessionCursors(cursors) = server(text) else {
        panic!("wrong variant");
    };
    assert_eq!(cursors[0].cursors[0].y, 2);
}

#[test]
fn relays_and_plugins() {
    client(r#"{"event":"send/unicast","payload":{"receiver":"b","subject":"s","body":{"n":1}}}"#);
    client(r#"{"event":"send/broadcast","payload":{"subject":"s","body":null}}"#);
    server(
        r#"{"event":"send/unicast","payload":{"sender":"a","receiver":"b","subject":"s","body":[1]}}"#,
    );
    server(r#"{"event":"send/broadcast","payload":{"sender":"a","subject":"s","body":"x"}}"#);
    server(r#"{"event":"broadcast/status","payload":{"is_active":false}}"#);
    server(r#"{"event":"file_chooser_dialog/opened","payload":{"id":"a"}}"#);
    server(r#"{"event":"file_chooser_dialog/closed","payload":{"id":""}}"#);
    server(r#"{"event":"openinapp/init","payload":{"enabled":false}}"#);
    server(
        r#"{"event":"filetransfer/update","payload":{"enabled":true,"root_dir":"/d","user_download":true,"user_upload":false,"user_delete":false,"files":[{"name":"a","type":"file","size":3},{"name":"b","type":"dir"}]}}"#,
    );
    server(
        r#"{"event":"system/admin","payload":{"screen_sizes_list":[{"width":800,"height":600,"rate":60}],"broadcast_status":{"is_active":true,"url":"rtmp://x"}}}"#,
    );
    server(r#"{"event":"clipboard/updated","payload":{"text":"t"}}"#);
    server(r#"{"event":"session/deleted","payload":{"id":"a"}}"#);
    server(r#"{"event":"signal/restart","payload":{"sdp":"v=0"}}"#);
    server(r#"{"event":"signal/audio","payload":{"disabled":true}}"#);
    let profile = r#"{"event":"session/profile","payload":{"id":"a","name":"a","is_admin":false,"can_login":true,"can_connect":true,"can_watch":true,"can_host":true,"can_share_media":true,"can_access_clipboard":true,"sends_inactive_cursor":true,"can_see_inactive_cursors":false,"plugins":{"chat.can_send":false}}}"#;
    server(profile);
    client(r#"{"event":"control/touchbegin","payload":{"touch_id":1,"x":2,"y":3,"pressure":255}}"#);
    client(r#"{"event":"control/keypress","payload":{"keysym":65}}"#);
    client(r#"{"event":"clipboard/set","payload":{"text":"t"}}"#);
    client(r#"{"event":"signal/restart"}"#);
    client(r#"{"event":"filetransfer/update"}"#);
}
