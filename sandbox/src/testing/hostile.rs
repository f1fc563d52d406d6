//! A scripted, hostile Neko server: logs anyone in, then answers on `/api/ws` with what the test
//! scripts (a huge heartbeat interval, a flood of malformed frames, unusable offers, an early
//! disconnect) and records what the client sent.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::response::Response;
use axum::routing::{get, post};
use gstneko::protocol::{
    ClientEvent, LoginResponse, MemberProfile, ServerEvent, Settings, SignalProvide,
    SystemDisconnect, SystemInit,
};

/// The session id and token every login gets.
pub const SESSION: &str = "hostile-session";

/// Reads as SDP with a video section, but webrtcbin refuses it: no ICE credentials.
pub const UNUSABLE_OFFER: &str = "v=0\r\n\
o=- 1 1 IN IP4 127.0.0.1\r\n\
s=-\r\n\
t=0 0\r\n\
a=group:BUNDLE 0\r\n\
m=video 9 UDP/TLS/RTP/SAVPF 96\r\n\
c=IN IP4 127.0.0.1\r\n\
a=mid:0\r\n\
a=sendonly\r\n\
a=rtcp-mux\r\n\
a=rtpmap:96 VP8/90000\r\n\
a=setup:actpass\r\n\
a=fingerprint:sha-256 00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF\r\n";

/// What the server does.
#[derive(Debug, Clone, Default)]
pub struct Script {
    /// `settings.heartbeat_interval` in `system/init`.
    pub heartbeat_interval: i64,
    /// Malformed text frames sent right after `system/init`.
    pub malformed_frames: usize,
    /// The SDP of the `signal/provide` answering each `signal/request` (none when `None`).
    pub offer: Option<String>,
    /// Ends the session with `system/disconnect` this long after `system/init`.
    pub disconnect_after: Option<std::time::Duration>,
}

/// What the client did.
#[derive(Debug, Default)]
pub struct Seen {
    /// `signal/request` events received.
    pub requests: AtomicUsize,
    /// `client/heartbeat` events received.
    pub heartbeats: AtomicUsize,
    /// How each socket ended: the close code, or `None` when it ended without a close frame.
    pub endings: Mutex<Vec<Option<u16>>>,
}

struct Shared {
    script: Script,
    seen: Arc<Seen>,
}

/// A running scripted server on loopback.
pub struct HostileServer {
    addr: SocketAddr,
    /// What the client did so far.
    pub seen: Arc<Seen>,
    task: tokio::task::JoinHandle<()>,
}

impl HostileServer {
    /// Starts the server on a free loopback port, on the current runtime.
    pub async fn start(script: Script) -> Self {
        let seen = Arc::new(Seen::default());
        let shared = Arc::new(Shared {
            script,
            seen: seen.clone(),
        });
        let app = Router::new()
            .route("/api/login", post(login))
            .route("/api/ws", get(upgrade))
            .with_state(shared);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("address");
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { addr, seen, task }
    }

    /// The base URL to log in at.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for HostileServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn login() -> Json<LoginResponse> {
    Json(LoginResponse {
        id: SESSION.into(),
        token: Some(SESSION.into()),
        profile: MemberProfile::admin().with_name("hostile"),
        ..LoginResponse::default()
    })
}

async fn upgrade(State(shared): State<Arc<Shared>>, ws: WebSocketUpgrade) -> Response {
    ws.on_upgrade(move |socket| serve(shared, socket))
}

async fn serve(shared: Arc<Shared>, mut socket: WebSocket) {
    let script = &shared.script;
    let init = ServerEvent::SystemInit(SystemInit {
        session_id: SESSION.into(),
        settings: Settings {
            heartbeat_interval: script.heartbeat_interval,
            ..Settings::default()
        },
        ..SystemInit::default()
    });
    if socket
        .send(Message::Text(init.to_json().into()))
        .await
        .is_err()
    {
        return;
    }
    for n in 0..script.malformed_frames {
        let frame = format!("{{\"event\": 42, \"n\": {n}");
        if socket.send(Message::Text(frame.into())).await.is_err() {
            return;
        }
    }
    let disconnect_at = script
        .disconnect_after
        .map(|after| tokio::time::Instant::now() + after);
    let ending = loop {
        let disconnect = async {
            match disconnect_at {
                Some(at) => tokio::time::sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        let received = tokio::select! {
            received = socket.recv() => received,
            () = disconnect => {
                let bye = ServerEvent::SystemDisconnect(SystemDisconnect::new("session deleted"));
                let _ = socket.send(Message::Text(bye.to_json().into())).await;
                break None;
            }
        };
        let text = match received {
            Some(Ok(Message::Text(text))) => text,
            Some(Ok(Message::Close(frame))) => break frame.map(|f| f.code),
            Some(Ok(_)) => continue,
            Some(Err(_)) | None => break None,
        };
        match ClientEvent::from_json(text.as_str()) {
            Ok(ClientEvent::SignalRequest(_)) => {
                shared.seen.requests.fetch_add(1, Ordering::SeqCst);
                if let Some(sdp) = &script.offer {
                    let provide = ServerEvent::SignalProvide(SignalProvide {
                        sdp: sdp.clone(),
                        ..SignalProvide::default()
                    });
                    if socket
                        .send(Message::Text(provide.to_json().into()))
                        .await
                        .is_err()
                    {
                        break None;
                    }
                }
            }
            Ok(ClientEvent::ClientHeartbeat) => {
                shared.seen.heartbeats.fetch_add(1, Ordering::SeqCst);
            }
            _ => {}
        }
    };
    shared.seen.endings.lock().expect("endings").push(ending);
}
