//! `GET /api/ws`: upgrade first, then authenticate, then pump frames both ways (§1.4, §2).

use std::sync::Arc;

use axum::extract::ws::{CloseFrame, Message, WebSocket, close_code};
use axum::extract::{RawQuery, State, WebSocketUpgrade};
use axum::http::HeaderMap;
use axum::response::Response;
use futures_util::SinkExt;
use gstneko::log_limit::{LogLimiter, Verdict};
use gstneko::protocol::{ServerEvent, SystemDisconnect};

use super::auth;
use super::outbox::{Ending, Outbox, Outgoing, Overflow, outbox};
use super::state::RoomShared;

/// Upgrades unconditionally; a bad token is answered inside the socket. Messages (and frames)
/// above the configured size end the connection.
pub(super) async fn upgrade(
    State(room): State<Arc<RoomShared>>,
    ws: WebSocketUpgrade,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let token = auth::request_token(&headers, query.as_deref(), &room.config.cookie);
    let limit = room.config.max_message_size;
    ws.max_message_size(limit)
        .max_frame_size(limit)
        .on_upgrade(move |socket| serve(room, socket, token))
}

async fn serve(room: Arc<RoomShared>, mut socket: WebSocket, token: Option<String>) {
    let conn_id = room.next_conn_id();
    let (link, mut rx) = outbox(conn_id, room.config.outbox_bytes);
    let id = match room.connect_socket(token.as_deref(), link) {
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

async fn pump(room: &RoomShared, id: &str, socket: &mut WebSocket, rx: &mut Outbox) -> Ending {
    let mut complaints = LogLimiter::default();
    let ending = pump_frames(room, id, socket, rx, &mut complaints).await;
    let suppressed = complaints.take_suppressed();
    if suppressed > 0 {
        tracing::warn!(session = %id, suppressed, "… {suppressed} more bad messages from this session were skipped without a log line");
    }
    ending
}

/// Logs a skipped frame unless the session already had its share of log lines this window.
fn complain(complaints: &mut LogLimiter, id: &str, error: &super::dispatch::FrameError) {
    match complaints.check() {
        Verdict::Log { suppressed: 0 } => tracing::warn!(session = %id, "{error}"),
        Verdict::Log { suppressed } => tracing::warn!(
            session = %id,
            suppressed,
            "{error} (and {suppressed} more bad messages in the last {} s without a log line)",
            complaints.window().as_secs()
        ),
        Verdict::Suppress => {}
    }
}

async fn pump_frames(
    room: &RoomShared,
    id: &str,
    socket: &mut WebSocket,
    rx: &mut Outbox,
    complaints: &mut LogLimiter,
) -> Ending {
    let period = room.config.heartbeat_period;
    let mut heartbeat = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    heartbeat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let beat = ServerEvent::SystemHeartbeat.to_json();
    let overflow = rx.overflow();
    loop {
        tokio::select! {
            outgoing = rx.recv() => match outgoing {
                Some(Outgoing::Text(text)) => {
                    // A client that does not read blocks this write; the overflow of its
                    // queue ends the wait.
                    let sent = tokio::select! {
                        sent = socket.send(Message::Text(text.into())) => sent.is_ok(),
                        () = overflow.happened() => false,
                    };
                    if !sent {
                        return not_sent(id, &overflow);
                    }
                }
                Some(Outgoing::Close(ending)) => return ending,
                None => return Ending::Server,
            },
            () = overflow.happened() => return not_sent(id, &overflow),
            incoming = socket.recv() => match incoming {
                Some(Ok(Message::Text(text))) => {
                    if let Err(error) = room.handle_frame(id, text.as_str()) {
                        complain(complaints, id, &error);
                    }
                }
                Some(Ok(Message::Close(frame))) => {
                    // Lets the library answer the close handshake before the socket is dropped.
                    let _ = socket.flush().await;
                    return close_ending(frame.as_ref());
                }
                Some(Ok(Message::Ping(_))) => {
                    let _ = socket.flush().await;
                }
                Some(Ok(Message::Binary(_) | Message::Pong(_))) => {}
                Some(Err(error)) => return read_failed(id, socket, error).await,
                None => return Ending::Abnormal,
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

/// A frame could not be written: the socket broke, or its queue overflowed because the client
/// does not read (then it is cut off; Neko has no such bound and would block instead).
fn not_sent(id: &str, overflow: &Overflow) -> Ending {
    if overflow.is_set() {
        tracing::warn!(
            session = %id,
            limit_bytes = overflow.limit(),
            "the client does not read its WebSocket: more than {} bytes are waiting for it; disconnecting",
            overflow.limit()
        );
    }
    Ending::Abnormal
}

/// A read failed. A message above the size limit is answered with close code 1009 ("message too
/// big"), as gorilla/websocket does when a read limit is set; anything else just ends the socket.
async fn read_failed(id: &str, socket: &mut WebSocket, error: axum::Error) -> Ending {
    let too_big = error
        .into_inner()
        .downcast_ref::<tungstenite::Error>()
        .is_some_and(|e| matches!(e, tungstenite::Error::Capacity(_)));
    if too_big {
        tracing::warn!(session = %id, "message above the size limit; closing the connection");
        let frame = CloseFrame {
            code: close_code::SIZE,
            reason: "message too big".into(),
        };
        let _ = tokio::time::timeout(
            std::time::Duration::from_secs(1),
            socket.send(Message::Close(Some(frame))),
        )
        .await;
    }
    Ending::Abnormal
}
