//! WebRTC signalling: `signal/*` events routed to the session's peer on the media side (§4).

use gstneko::protocol::{ClientEvent, SignalRequest};
use tokio::sync::mpsc;

use super::media::MediaError;
use super::peer::{PeerHandle, VIDEO_ID};
use super::sessions::PeerSlot;
use super::state::RoomShared;

/// Why a signalling event was dropped (only logged, as in Neko).
#[derive(Debug, thiserror::Error)]
pub(super) enum SignalError {
    /// The profile lacks `can_watch`.
    #[error("is not allowed to watch")]
    CannotWatch,
    /// The room runs without media.
    #[error("room media is disabled")]
    MediaDisabled,
    /// The event needs a peer and there is none.
    #[error("no WebRTC peer")]
    NoPeer,
    /// The session vanished.
    #[error("session not found")]
    UnknownSession,
    /// A stream id other than the room's only one.
    #[error("stream {0:?} not found")]
    UnknownStream(String),
    /// Client-initiated renegotiation, which the sandbox's peers do not offer.
    #[error("client renegotiation (signal/offer) is not supported by the sandbox room")]
    OfferUnsupported,
    /// The media side failed.
    #[error(transparent)]
    Media(#[from] MediaError),
}

impl RoomShared {
    /// Handles one `signal/*` event from `id`.
    pub(super) fn signal(&self, id: &str, event: ClientEvent) -> Result<(), SignalError> {
        if let ClientEvent::SignalRequest(request) = event {
            return self.create_peer(id, &request);
        }
        let peer = self.peer(id)?;
        match event {
            ClientEvent::SignalAnswer(answer) => peer.set_answer(&answer.sdp),
            ClientEvent::SignalCandidate(candidate) => peer.add_candidate(&candidate),
            ClientEvent::SignalVideo(video) => {
                if let Some(selector) = video.selector.filter(|s| s.id != VIDEO_ID) {
                    return Err(SignalError::UnknownStream(selector.id));
                }
                if let Some(disabled) = video.disabled {
                    peer.set_video_disabled(disabled);
                }
            }
            ClientEvent::SignalAudio(audio) => {
                if let Some(disabled) = audio.disabled {
                    peer.set_audio_disabled(disabled);
                }
            }
            ClientEvent::SignalRestart => peer.restart_ice(),
            ClientEvent::SignalOffer(_) => return Err(SignalError::OfferUnsupported),
            other => tracing::debug!(event = other.name(), "not a signal event"),
        }
        Ok(())
    }

    fn peer(&self, id: &str) -> Result<PeerHandle, SignalError> {
        self.read(|state| {
            let session = state.sessions.get(id).ok_or(SignalError::UnknownSession)?;
            session
                .peer
                .as_ref()
                .map(|slot| slot.handle.clone())
                .ok_or(SignalError::NoPeer)
        })
    }

    /// `signal/request`: a new peer replaces the previous one silently.
    fn create_peer(&self, id: &str, request: &SignalRequest) -> Result<(), SignalError> {
        let profile = self.read(|state| {
            state
                .sessions
                .get(id)
                .map(|s| (s.profile.can_watch, s.profile.can_share_media))
        });
        let can_share_media = match profile {
            None => return Err(SignalError::UnknownSession),
            Some((false, _)) => return Err(SignalError::CannotWatch),
            Some((true, can_share_media)) => can_share_media,
        };
        if let Some(selector) = request.video.selector.as_ref().filter(|s| s.id != VIDEO_ID) {
            return Err(SignalError::UnknownStream(selector.id.clone()));
        }
        let media = self.media().ok_or(SignalError::MediaDisabled)?.clone();
        let (to_client, mut from_peer) = mpsc::unbounded_channel();
        // Like Neko, media from a session that may not share it is not received (§4.9).
        let microphone = can_share_media.then(|| self.heard.microphone.clone());
        let handle = media.create_peer(id, request, to_client, microphone)?;
        let room = self.weak();
        let session_id = id.to_owned();
        let forwarder = tokio::spawn(async move {
            while let Some(event) = from_peer.recv().await {
                let Some(room) = room.upgrade() else { break };
                room.read(|state| state.send(&session_id, &event));
            }
        })
        .abort_handle();
        self.update(|state, effects| match state.sessions.get_mut(id) {
            Some(session) => {
                if let Some(old) = session.peer.replace(PeerSlot { handle, forwarder }) {
                    old.forwarder.abort();
                    effects.close_peer(old.handle);
                }
            }
            None => {
                forwarder.abort();
                effects.close_peer(handle);
            }
        });
        Ok(())
    }
}
