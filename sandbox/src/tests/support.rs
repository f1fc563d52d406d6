//! A room without media, plus small REST and WebSocket clients for the tests.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use gstneko::protocol::{ClientEvent, LoginResponse, ServerEvent};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::testing::TestRoom;
use crate::{Room, RoomConfig};

/// How long a test waits for any one frame.
pub const WAIT: Duration = Duration::from_secs(5);

/// Whether the GStreamer elements the media side needs are installed.
pub fn media_available() -> bool {
    gst::init().is_ok()
        && ["webrtcbin", "vp8enc", "opusenc", "appsrc"]
            .iter()
            .all(|name| gst::ElementFactory::find(name).is_some())
}

/// Starts a room with `config`.
pub async fn start_with(config: RoomConfig) -> TestRoom {
    TestRoom::start(config).await
}

/// Starts a control-plane-only room.
pub async fn start() -> TestRoom {
    start_with(RoomConfig::signalling_only()).await
}

/// A REST answer: status and JSON body (`Null` when empty or not JSON).
pub struct Answer {
    pub status: u16,
    pub body: Value,
    pub headers: reqwest::header::HeaderMap,
}

/// Sends a REST request with an optional bearer token and JSON body.
pub async fn call(
    room: &Room,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> Answer {
    let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
    let mut request = reqwest::Client::new().request(method, format!("{}{path}", room.base_url()));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.expect("request sent");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let bytes = response.bytes().await.expect("body");
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Answer {
        status,
        body,
        headers,
    }
}

/// Logs in, expecting success.
pub async fn login(room: &Room, username: &str, password: &str) -> LoginResponse {
    let answer = call(
        room,
        "POST",
        "/api/login",
        None,
        Some(json!({"username": username, "password": password})),
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    serde_json::from_value(answer.body).expect("login response")
}

/// A WebSocket client.
pub struct Client {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

impl Client {
    /// Opens `/api/ws?token=…` without reading anything.
    pub async fn connect(room: &Room, token: &str) -> Self {
        let url = format!(
            "{}/api/ws?token={token}",
            room.base_url().replacen("http", "ws", 1)
        );
        let (ws, response) = tokio_tungstenite::connect_async(url)
            .await
            .expect("websocket upgrade");
        assert_eq!(response.status().as_u16(), 101);
        Self { ws }
    }

    /// Logs in, connects and reads the greetings up to `chat/init`.
    pub async fn join(room: &Room, username: &str, password: &str) -> (Self, LoginResponse) {
        let login = login(room, username, password).await;
        let mut client = Self::connect(room, login.token.as_deref().expect("token")).await;
        client.expect("chat/init").await;
        (client, login)
    }

    /// Sends an event.
    pub async fn send(&mut self, event: ClientEvent) {
        self.send_text(&event.to_json()).await;
    }

    /// Sends a raw text frame.
    pub async fn send_text(&mut self, text: &str) {
        self.ws.send(Message::text(text)).await.expect("frame sent");
    }

    /// Closes with `code`.
    pub async fn close(&mut self, code: u16) {
        let frame = tokio_tungstenite::tungstenite::protocol::CloseFrame {
            code: code.into(),
            reason: "".into(),
        };
        let _ = self.ws.close(Some(frame)).await;
    }

    /// The next frame of any kind; `None` when the stream ended or failed.
    pub async fn frame(&mut self) -> Option<Message> {
        match tokio::time::timeout(WAIT, self.ws.next()).await {
            Ok(Some(Ok(message))) => Some(message),
            Ok(_) => None,
            Err(_) => panic!("no frame within {WAIT:?}"),
        }
    }

    /// The next text frame, skipping control frames.
    pub async fn text(&mut self) -> String {
        loop {
            match self.frame().await {
                Some(Message::Text(text)) => return text.as_str().to_owned(),
                Some(Message::Ping(_) | Message::Pong(_)) => {}
                other => panic!("expected a text frame, got {other:?}"),
            }
        }
    }

    /// The next event, skipping heartbeats.
    pub async fn event(&mut self) -> ServerEvent {
        loop {
            let event = ServerEvent::from_json(&self.text().await).expect("server event");
            if event != ServerEvent::SystemHeartbeat {
                return event;
            }
        }
    }

    /// Skips events until one called `name` arrives.
    pub async fn expect(&mut self, name: &str) -> ServerEvent {
        loop {
            let event = self.event().await;
            if event.name() == name {
                return event;
            }
        }
    }

    /// The payload of the next `name` event, as JSON.
    pub async fn expect_payload(&mut self, name: &str) -> Value {
        self.expect(name).await.to_value()["payload"].clone()
    }

    /// Asserts the connection ends without a close frame.
    pub async fn expect_abrupt_close(&mut self) {
        loop {
            match self.frame().await {
                None => return,
                Some(Message::Close(frame)) => panic!("got a close frame {frame:?}"),
                Some(_) => {}
            }
        }
    }
}
