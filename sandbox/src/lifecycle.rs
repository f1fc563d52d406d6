//! Session lifecycle: login, socket connect with its greetings, delayed disconnect, kick, delete (§1, §2.2, §2.4).

use gstneko::protocol::{
    BroadcastStatus, ChatInit, MemberProfile, ServerEvent, SessionData, SessionRef,
    SessionStateUpdate, SettingsUpdate, SystemAdmin, SystemInit, SystemWebRtc, Timestamp,
};

use super::auth::{self, AuthError};
use super::control;
use super::outbox::{Ending, SocketLink};
use super::peer::VIDEO_ID;
use super::screen;
use super::sessions::Session;
use super::state::{Effects, RoomShared, RoomState};

/// Why a login failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(super) enum LoginError {
    /// Wrong password.
    #[error("invalid password")]
    InvalidPassword,
    /// `locked_logins` and not an admin.
    #[error("logins are locked")]
    LoginsLocked,
}

/// Why a session operation failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(super) enum SessionError {
    /// No session with that id.
    #[error("session not found")]
    NotFound,
}

/// `session/state` for `session`.
pub(super) fn state_event(session: &Session) -> ServerEvent {
    ServerEvent::SessionState(SessionStateUpdate {
        id: session.id.clone(),
        state: session.state.clone(),
    })
}

/// `system/settings` caused by `by`.
pub(super) fn settings_event(state: &RoomState, by: &str) -> ServerEvent {
    ServerEvent::SystemSettings(SettingsUpdate {
        id: by.to_owned(),
        settings: state.settings.clone(),
    })
}

/// Whether an admin other than `except` is connected.
pub(super) fn admin_connected(state: &RoomState, except: &str) -> bool {
    state
        .sessions
        .iter()
        .any(|s| s.id != except && s.profile.is_admin && s.state.is_connected)
}

/// Marks the peer of `session` as gone (`is_watching` false) and hands it to `effects` for closing.
fn drop_peer(session: &mut Session, effects: &mut Effects) {
    if let Some(peer) = session.peer.take() {
        peer.forwarder.abort();
        effects.close_peer(peer.handle);
    }
    if session.state.is_watching {
        session.state.is_watching = false;
        session.state.watching_since = None;
        session.state.not_watching_since = Some(Timestamp::now());
    }
}

/// The session is disconnected for good: state broadcast, host released, controls locked if it was the last admin.
pub(super) fn mark_disconnected(state: &mut RoomState, effects: &mut Effects, id: &str) {
    let Some(session) = state.sessions.get_mut(id) else {
        return;
    };
    session.state.is_connected = false;
    session.state.connected_since = None;
    session.state.not_connected_since = Some(Timestamp::now());
    session.pending_disconnect = None;
    let was_admin = session.profile.is_admin;
    let event = state_event(session);
    state.broadcast(&event);
    if state.is_host(id) {
        control::set_host(state, effects, None, id);
    }
    if was_admin && state.settings.control_protection && !admin_connected(state, id) {
        state.settings.locked_controls = true;
        let event = settings_event(state, id);
        state.broadcast(&event);
    }
}

/// The first messages of a new socket, in Neko's order (§2.2).
fn greet(state: &mut RoomState, id: &str, chat_enabled: bool, touch_events: bool) {
    let Some(session) = state.sessions.get(id) else {
        return;
    };
    let is_admin = session.profile.is_admin;
    let init = SystemInit {
        session_id: id.to_owned(),
        control_host: control::status(state),
        screen_size: state.screen.clone(),
        sessions: state
            .sessions
            .iter()
            .map(|s| (s.id.clone(), s.data()))
            .collect(),
        settings: state.settings.clone(),
        touch_events,
        screencast_enabled: false,
        webrtc: SystemWebRtc {
            videos: vec![VIDEO_ID.to_owned()],
            ..SystemWebRtc::default()
        },
        ..SystemInit::default()
    };
    session.send(&ServerEvent::SystemInit(init));
    if is_admin {
        session.send(&ServerEvent::SystemAdmin(SystemAdmin {
            screen_sizes_list: screen::configurations(),
            broadcast_status: BroadcastStatus::default(),
            ..SystemAdmin::default()
        }));
        if state.settings.control_protection && state.settings.locked_controls {
            state.settings.locked_controls = false;
            let event = settings_event(state, id);
            state.broadcast(&event);
        }
    }
    if let Some(session) = state.sessions.get(id) {
        let event = state_event(session);
        state.broadcast(&event);
    }
    state.send(
        id,
        &ServerEvent::ChatInit(ChatInit {
            enabled: chat_enabled,
            ..ChatInit::default()
        }),
    );
}

impl RoomShared {
    /// `POST /api/login` with the multiuser provider: a brand-new session every time.
    pub(super) fn login(
        &self,
        username: &str,
        password: &str,
    ) -> Result<(SessionData, String), LoginError> {
        self.login_attempts
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let profile: MemberProfile = auth::profile_for(&self.config, username, password)
            .ok_or(LoginError::InvalidPassword)?;
        self.update(|state, _| {
            if state.settings.locked_logins && !profile.is_admin {
                return Err(LoginError::LoginsLocked);
            }
            let mut id = auth::new_session_id(username);
            while state.sessions.get(&id).is_some() {
                id = auth::new_session_id(username);
            }
            let token = auth::new_uid(auth::TOKEN_LENGTH);
            let session = Session::new(id, token.clone(), profile);
            let data = session.data();
            state.sessions.insert(session);
            state.broadcast(&ServerEvent::SessionCreated(data.clone()));
            tracing::info!(session = %data.id, admin = data.profile.is_admin, "session created");
            Ok((data, token))
        })
    }

    /// The session owning `token`, if it may log in.
    pub(super) fn authenticate(&self, token: &str) -> Result<SessionData, AuthError> {
        self.read(|state| {
            let id = state
                .sessions
                .id_for_token(token)
                .ok_or(AuthError::NotFound)?;
            let session = state.sessions.get(id).ok_or(AuthError::NotFound)?;
            if !session.profile.can_login {
                return Err(AuthError::LoginDisabled);
            }
            Ok(session.data())
        })
    }

    /// Authenticates a new socket and makes it the session's socket; the greetings are queued on `link`.
    pub(super) fn connect_socket(
        &self,
        token: Option<&str>,
        link: SocketLink,
    ) -> Result<String, AuthError> {
        let token = token.ok_or(AuthError::NoToken)?;
        let id = self.authenticate(token)?.id;
        let (chat, touch) = (self.config.chat_enabled, self.config.touch_events);
        self.update(|state, _| {
            let merciful = state.settings.merciful_reconnect;
            let session = state.sessions.get_mut(&id).ok_or(AuthError::NotFound)?;
            if !session.profile.can_connect {
                return Err(AuthError::ConnectionDisabled);
            }
            if session.state.is_connected && !merciful {
                return Err(AuthError::AlreadyConnected);
            }
            session.state.is_connected = true;
            session.state.connected_since = Some(Timestamp::now());
            session.state.not_connected_since = None;
            session.pending_disconnect = None;
            let replaced = session.socket.replace(link);
            greet(state, &id, chat, touch);
            if let Some(old) = replaced {
                old.disconnect("connection replaced");
            }
            Ok(id)
        })
    }

    /// A socket's read loop ended; decides between immediate and delayed disconnect.
    pub(super) fn socket_closed(&self, id: &str, conn_id: u64, ending: Ending) {
        let delay = self.config.delayed_disconnect;
        self.update(|state, effects| {
            let Some(session) = state.sessions.get_mut(id) else {
                return;
            };
            if session.socket.as_ref().map(|s| s.conn_id) != Some(conn_id) {
                return;
            }
            session.socket = None;
            if ending == Ending::Abnormal {
                session.pending_disconnect = Some(conn_id);
                let room = self.weak();
                let id = id.to_owned();
                tokio::spawn(async move {
                    tokio::time::sleep(delay).await;
                    if let Some(room) = room.upgrade() {
                        room.expire_disconnect(&id, conn_id);
                    }
                });
            } else {
                mark_disconnected(state, effects, id);
            }
        });
        tracing::info!(session = %id, ?ending, "websocket closed");
    }

    /// The delayed-disconnect window of socket `conn_id` ended; a no-op if the session reconnected.
    fn expire_disconnect(&self, id: &str, conn_id: u64) {
        self.update(|state, effects| {
            let expired = state
                .sessions
                .get(id)
                .is_some_and(|s| s.socket.is_none() && s.pending_disconnect == Some(conn_id));
            if expired {
                mark_disconnected(state, effects, id);
            }
        });
    }

    /// Admin kick: `system/disconnect {"message":"session disconnected"}`, peer destroyed, session disconnected.
    pub(super) fn kick(&self, id: &str) -> Result<(), SessionError> {
        self.update(|state, effects| {
            let session = state.sessions.get_mut(id).ok_or(SessionError::NotFound)?;
            if let Some(socket) = session.socket.take() {
                socket.disconnect("session disconnected");
            }
            drop_peer(session, effects);
            if session.state.is_connected {
                mark_disconnected(state, effects, id);
            }
            Ok(())
        })
    }

    /// Deletes a session (logout, admin delete): its socket gets `system/disconnect` with `reason`, everyone `session/deleted`.
    pub(super) fn delete_session(&self, id: &str, reason: &str) -> Result<(), SessionError> {
        self.update(|state, effects| {
            let mut session = state.sessions.remove(id).ok_or(SessionError::NotFound)?;
            if let Some(socket) = session.socket.take() {
                socket.disconnect(reason);
            }
            drop_peer(&mut session, effects);
            if state.is_host(id) {
                control::set_host(state, effects, None, id);
            }
            state.broadcast(&ServerEvent::SessionDeleted(SessionRef::new(id)));
            tracing::info!(session = %id, reason, "session deleted");
            Ok(())
        })
    }

    /// Replaces a profile, broadcasting `session/profile`; losing `can_login`/`can_connect` disconnects.
    pub(super) fn set_profile(&self, id: &str, profile: MemberProfile) -> Result<(), SessionError> {
        self.update(|state, effects| {
            let session = state.sessions.get_mut(id).ok_or(SessionError::NotFound)?;
            session.profile = profile.clone();
            let lost_connect = !profile.can_login || !profile.can_connect;
            if lost_connect || !profile.can_watch {
                drop_peer(session, effects);
            }
            let socket = if lost_connect {
                session.socket.take()
            } else {
                None
            };
            let connected = session.state.is_connected;
            state.broadcast(&ServerEvent::SessionProfile(
                gstneko::protocol::SessionProfileUpdate {
                    id: id.to_owned(),
                    profile,
                },
            ));
            if let Some(socket) = socket {
                socket.disconnect("profile changed");
            }
            if lost_connect && connected {
                mark_disconnected(state, effects, id);
            }
            Ok(())
        })
    }

    /// The media side reports a peer connected (`is_watching`) or closed.
    pub(super) fn peer_state(&self, id: &str, connected: bool) {
        self.update(|state, _| {
            let Some(session) = state.sessions.get_mut(id) else {
                return;
            };
            if session.state.is_watching == connected {
                return;
            }
            session.state.is_watching = connected;
            if connected {
                session.state.watching_since = Some(Timestamp::now());
                session.state.not_watching_since = None;
            } else {
                session.state.watching_since = None;
                session.state.not_watching_since = Some(Timestamp::now());
            }
            let event = state_event(session);
            state.broadcast(&event);
        });
    }

    /// Sends `system/disconnect {"message":"connection shutdown"}` to every socket and drops them.
    pub(super) fn close_all_sockets(&self) {
        self.update(|state, _| {
            for session in state.sessions.iter_mut() {
                if let Some(socket) = session.socket.take() {
                    socket.disconnect("connection shutdown");
                }
            }
        });
    }

    /// Drops every socket abruptly, as a network failure would (sessions enter delayed disconnect).
    pub(super) fn drop_all_sockets(&self) {
        self.read(|state| {
            for socket in state.sessions.iter().filter_map(|s| s.socket.as_ref()) {
                socket.close(Ending::Abnormal);
            }
        });
    }
}
