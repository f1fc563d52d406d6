//! `GET /api/ws`: upgrade first, then authenticate, then pump frames both ways (§1.4, §2).

use std::sync::Arc;

use axum::extract::ws::{CloseFrame, Message, WebSocket};
use axum::extract::{RawQuery, State, WebSocketUpgrade};
use axum::http::HeaderMap;
use axum::response::Response;
use futures_util::SinkExt;
use gstneko::protocol::{ServerEvent, SystemDisconnect};
use tokio::sync::mpsc::{self, UnboundedReceiver};

use super::auth;
use super::outbox::{Ending, Outgoing, SocketLink};
use super::state::RoomShared;

/// Upgrades unconditionally; a bad token is answered inside the socket.
pub(super) async fn upgrade(
    State(room): State<Arc<RoomShared>>,
    ws: WebSocketUpgrade,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let token = auth::request_token(&headers, query.as_deref(), &room.config.cookie);
    ws.on_upgrade(move |socket| serve(room, socket, token))
}

async fn serve(room: Arc<RoomShared>, mut socket: WebSocket, token: Option<String>) {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let conn_id = room.next_conn_id();
    let id = match room.connect_socket(token.as_deref(), SocketLink::new(conn_id, tx)) {
        Ok(id) => id,
        Err(reason) => {
            tracing::info!(%reason, "websocket refused");
            let frame =
                ServerEvent::SystemDisconnect(SystemDisconnect::new(reason.to_string())).to_json();
            // Dropping the socket afterwards closes TCP without a close frame, like Neko.
            let _ = socket.send(Message::Text(frame.into())).await;
            return;
        }
    };
    tracing::info!(session = %id, "websocket connected");
    let ending = pump(&room, &id, &mut socket, &mut rx).await;
    room.socket_closed(&id, conn_id, ending);
}

/// How a close frame from the client ends the session: 1000/1001 at once, anything else delayed.
fn close_ending(frame: Option<&CloseFrame>) -> Ending {
    match frame.map(|f| f.code) {
        Some(1000 | 1001) => Ending::Normal,
        _ => Ending::Abnormal,
    }
}

async fn pump(
    room: &RoomShared,
    id: &str,
    socket: &mut WebSocket,
    rx: &mut UnboundedReceiver<Outgoing>,
) -> Ending {
    let period = room.config.heartbeat_period;
    let mut heartbeat = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    heartbeat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let beat = ServerEvent::SystemHeartbeat.to_json();
    loop {
        tokio::select! {
            outgoing = rx.recv() => match outgoing {
                Some(Outgoing::Text(text)) => {
                    if socket.send(Message::Text(text.into())).await.is_err() {
                        return Ending::Abnormal;
                    }
                }
                Some(Outgoing::Close(ending)) => return ending,
                None => return Ending::Server,
            },
            incoming = socket.recv() => match incoming {
                Some(Ok(Message::Text(text))) => room.handle_frame(id, text.as_str()),
                Some(Ok(Message::Close(frame))) => {
                    // Lets the library answer the close handshake before the socket is dropped.
                    let _ = socket.flush().await;
                    return close_ending(frame.as_ref());
                }
                Some(Ok(Message::Ping(_))) => {
                    let _ = socket.flush().await;
                }
                Some(Ok(Message::Binary(_) | Message::Pong(_))) => {}
                Some(Err(_)) | None => return Ending::Abnormal,
            },
            _ = heartbeat.tick() => {
                let sent = socket.send(Message::Text(beat.clone().into())).await.is_ok()
                    && socket.send(Message::Ping(Default::default())).await.is_ok();
                if !sent {
                    return Ending::Abnormal;
                }
            }
        }
    }
}
