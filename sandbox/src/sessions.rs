//! The session store: every login's id, token, profile, state, socket and WebRTC peer.

use std::collections::{BTreeMap, HashMap};

use gstneko::protocol::{MemberProfile, ServerEvent, SessionData, SessionState};

use super::outbox::SocketLink;
use super::peer::PeerHandle;

/// A session's WebRTC peer and the task that forwards its events to the session's socket.
pub(super) struct PeerSlot {
    /// The media side's handle.
    pub handle: PeerHandle,
    /// Forwards the peer's events; aborted when the peer is replaced so it stays silent.
    pub forwarder: tokio::task::AbortHandle,
}

/// One login.
pub(super) struct Session {
    /// Session id.
    pub id: String,
    /// Secret token.
    pub token: String,
    /// Member profile.
    pub profile: MemberProfile,
    /// Connection and watching state.
    pub state: SessionState,
    /// The live socket, if any.
    pub socket: Option<SocketLink>,
    /// The socket whose abnormal close started a delayed disconnect.
    pub pending_disconnect: Option<u64>,
    /// The WebRTC peer, which outlives sockets.
    pub peer: Option<PeerSlot>,
}

impl Session {
    /// A fresh, disconnected session.
    pub fn new(id: String, token: String, profile: MemberProfile) -> Self {
        Self {
            id,
            token,
            profile,
            state: SessionState::default(),
            socket: None,
            pending_disconnect: None,
            peer: None,
        }
    }

    /// The session as listed in `system/init` and the sessions API.
    pub fn data(&self) -> SessionData {
        SessionData {
            id: self.id.clone(),
            profile: self.profile.clone(),
            state: self.state.clone(),
            ..SessionData::default()
        }
    }

    /// Queues an event on the live socket; dropped when there is none.
    pub fn send(&self, event: &ServerEvent) {
        if let Some(socket) = &self.socket {
            socket.send(event);
        }
    }
}

/// All sessions, by id and by token.
#[derive(Default)]
pub(super) struct Sessions {
    by_id: BTreeMap<String, Session>,
    by_token: HashMap<String, String>,
}

impl Sessions {
    /// Adds a session.
    pub fn insert(&mut self, session: Session) {
        self.by_token
            .insert(session.token.clone(), session.id.clone());
        self.by_id.insert(session.id.clone(), session);
    }

    /// Removes a session.
    pub fn remove(&mut self, id: &str) -> Option<Session> {
        let session = self.by_id.remove(id)?;
        self.by_token.remove(&session.token);
        Some(session)
    }

    /// The session with this id.
    pub fn get(&self, id: &str) -> Option<&Session> {
        self.by_id.get(id)
    }

    /// The session with this id, mutably.
    pub fn get_mut(&mut self, id: &str) -> Option<&mut Session> {
        self.by_id.get_mut(id)
    }

    /// The id of the session owning `token`.
    pub fn id_for_token(&self, token: &str) -> Option<&str> {
        self.by_token.get(token).map(String::as_str)
    }

    /// Every session, ordered by id.
    pub fn iter(&self) -> impl Iterator<Item = &Session> {
        self.by_id.values()
    }

    /// Every session, mutably.
    pub fn iter_mut(&mut self) -> impl Iterator<Item = &mut Session> {
        self.by_id.values_mut()
    }
}
