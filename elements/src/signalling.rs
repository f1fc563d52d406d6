//! The session task behind the elements: follows the client's notices, answers the room's
//! offers (with our outgoing audio when the element sends), trickles ICE, and asks for media
//! again after a `signal/close`, an ICE failure or a reconnect.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use gst::glib;
use gst::prelude::*;
use gst_webrtc::WebRTCICEConnectionState;
use tokio::sync::{broadcast, mpsc};
use tokio::time::Instant;

use crate::client::{Backoff, ClientConfig, ClientError, ClientNotice, NekoClient, RoomState};
use crate::protocol::{
    ClientEvent, IceCandidate, ServerEvent, SignalDescription, SignalProvide, SignalRequest,
};
use crate::webrtc::{Peer, PeerConfig, PeerError, PeerEvent};

/// What an element running a Neko session does for the signalling task.
///
/// The element must have the `event-received` signal (name, JSON), like `nekosrc`.
pub(crate) trait SessionElement:
    IsA<gst::Bin> + IsA<gst::Element> + IsA<gst::Object> + Send + Sync + 'static
{
    /// The element's debug category, which the session's log lines use too.
    fn debug_category() -> gst::DebugCategory;

    /// The element's running session.
    fn session(&self) -> &Mutex<SessionHandle>;

    /// Why an RTP pad could not be linked.
    type LinkError: std::error::Error;

    /// Links an RTP pad webrtcbin exposed (runs on a streaming thread).
    fn link_rtp_pad(&self, pad: &gst::Pad) -> Result<(), Self::LinkError>;

    /// The peer's ICE connection came up (`true`) or went away (`false`).
    fn media_connected(&self, _connected: bool) {}

    /// The RTP payloader whose stream every answer carries, for elements that send.
    fn sender(&self) -> Option<gst::Element> {
        None
    }

    /// Checks that the session may do what the element needs; an error ends the session.
    fn check_permissions(&self, _state: &RoomState) -> Result<(), MissingPermission> {
        Ok(())
    }
}

/// What the session's profile does not allow although the element needs it.
#[derive(Debug, thiserror::Error)]
pub(crate) enum MissingPermission {
    /// The member may not share media, so the room would not take our audio.
    #[error(
        "the room does not let {member:?} share media (its profile has can_share_media=false), so it would not hear this audio: log in as a member allowed to share media, or ask an admin to allow it"
    )]
    ShareMedia {
        /// The member's name.
        member: String,
    },
}

/// An element's running session: the client, the task's command line, the current peer's
/// webrtcbin, and what `stats` reports about them.
///
/// The handle lives in a mutex of the element. Its critical sections only read or swap fields:
/// starting, stopping and reading the statistics take what they need out of the lock and talk
/// to GStreamer and the client after releasing it.
#[derive(Default)]
pub(crate) struct SessionHandle {
    client: Option<NekoClient>,
    commands: Option<mpsc::UnboundedSender<Command>>,
    webrtcbin: Option<gst::Element>,
    session_id: Option<String>,
    peers: u32,
    reconnects: u32,
}

impl SessionHandle {
    /// Starts the session of `element`: the client, and the task that follows it.
    pub(crate) fn start<E: SessionElement>(element: &E, params: SessionParams) {
        let (client, notices) = NekoClient::start(params.client.clone());
        let (commands, command_rx) = mpsc::unbounded_channel();
        let running = crate::runtime::RUNTIME.spawn(run(
            element.downgrade(),
            client.clone(),
            notices,
            params,
            command_rx,
        ));
        // A task that dies by panicking must not leave the element silently without a session.
        let weak = element.downgrade();
        crate::runtime::RUNTIME.spawn(async move {
            if let Err(error) = running.await
                && let Some(reason) = crate::runtime::panic_message(error)
                && let Some(element) = weak.upgrade()
            {
                gst::element_error!(
                    element,
                    gst::LibraryError::Failed,
                    ("the Neko signalling task crashed: {}", reason)
                );
            }
        });
        let mut session = element.session().lock().unwrap();
        session.client = Some(client);
        session.commands = Some(commands);
    }

    /// Stops the task, the client and the current webrtcbin (removed from the element). The
    /// task closes its peer too, but asynchronously: webrtcbin is stopped here so the element
    /// reaches NULL with no child left running.
    pub(crate) fn stop<E: SessionElement>(element: &E) {
        let (webrtcbin, commands, client) = {
            let mut session = element.session().lock().unwrap();
            (
                session.webrtcbin.take(),
                session.commands.take(),
                session.client.take(),
            )
        };
        if let Some(webrtcbin) = webrtcbin {
            let _ = webrtcbin.set_state(gst::State::Null);
            let _ = element.upcast_ref::<gst::Bin>().remove(&webrtcbin);
        }
        if let Some(commands) = commands {
            let _ = commands.send(Command::Stop);
        }
        if let Some(client) = client {
            // Waits for the close frame, so a process exiting right after still leaves the room
            // with a normal closure.
            client.stop_and_wait(STOP_WAIT);
        }
    }

    /// The running session's client.
    pub(crate) fn client(&self) -> Option<NekoClient> {
        self.client.clone()
    }

    /// A `stats` structure named `name`, started with the session's fields of `element`:
    /// `session-id`, `connected`, `peer-connections`, `reconnects` and the candidate types of the
    /// selected ICE pair.
    pub(crate) fn stats<E: SessionElement>(element: &E, name: &str) -> gst::structure::Builder {
        let (client, webrtcbin, session_id, peers, reconnects) = {
            let session = element.session().lock().unwrap();
            (
                session.client.clone(),
                session.webrtcbin.clone(),
                session.session_id.clone(),
                session.peers,
                session.reconnects,
            )
        };
        let connected = client.is_some_and(|c| c.state().connected);
        // The candidate types of the selected ICE pair while connected (empty strings otherwise).
        let (local_candidate, remote_candidate) = webrtcbin
            .as_ref()
            .filter(|_| connected)
            .and_then(crate::webrtc::selected_candidate_types)
            .unwrap_or_default();
        gst::Structure::builder(name)
            .field("session-id", session_id.unwrap_or_default())
            .field("connected", connected)
            .field("peer-connections", peers)
            .field("reconnects", reconnects)
            .field("ice-local-candidate-type", local_candidate)
            .field("ice-remote-candidate-type", remote_candidate)
    }

    fn joined(&mut self, session_id: &str, reconnect: bool) {
        self.session_id = Some(session_id.to_owned());
        if reconnect {
            self.reconnects += 1;
        }
    }

    fn peer_created(&mut self, webrtcbin: &gst::Element) {
        self.peers += 1;
        self.webrtcbin = Some(webrtcbin.clone());
    }
}

/// The session of `element`, locked.
fn session_of<E: SessionElement>(element: &E) -> MutexGuard<'_, SessionHandle> {
    element.session().lock().unwrap()
}

/// Whether ICE carries media in `state`.
fn ice_is_up(state: WebRTCICEConnectionState) -> bool {
    matches!(
        state,
        WebRTCICEConnectionState::Connected | WebRTCICEConnectionState::Completed
    )
}

/// How long to wait for `signal/provide` before asking again (the server never reports failures).
const PROVIDE_TIMEOUT: Duration = Duration::from_secs(10);

/// How long relay-only ICE may take to connect after the answer before the session fails.
const RELAY_CONNECT_TIMEOUT: Duration = Duration::from_secs(20);

/// How long webrtcbin may take to produce an answer before the peer is given up.
const NEGOTIATION_TIMEOUT: Duration = Duration::from_secs(10);

/// How long stopping waits for the client to close its WebSocket.
const STOP_WAIT: Duration = Duration::from_secs(2);

/// Everything the task needs, validated from the element's properties.
#[derive(Debug, Clone)]
pub(crate) struct SessionParams {
    /// Client settings.
    pub(crate) client: ClientConfig,
    /// WebRTC settings.
    pub(crate) peer: PeerConfig,
    /// The `signal/request` to send.
    pub(crate) request: SignalRequest,
}

/// Commands from the element.
#[derive(Debug)]
enum Command {
    /// Tear everything down.
    Stop,
}

struct Session<E: SessionElement> {
    element: glib::WeakRef<E>,
    client: NekoClient,
    params: SessionParams,
    peer_events: mpsc::UnboundedSender<PeerEvent>,
    peer: Option<Peer>,
    ice_state: WebRTCICEConnectionState,
    answer_sent: bool,
    held_local: Vec<IceCandidate>,
    early_remote: Vec<IceCandidate>,
    provide_deadline: Option<Instant>,
    /// Offers in a row that could not be answered, and the wait before asking again.
    failed_offers: u32,
    offer_backoff: Backoff,
    retry_at: Option<Instant>,
    relay_deadline: Option<Instant>,
    /// The session the current peer belongs to.
    session_id: Option<String>,
}

/// Runs until the element stops or the client fails for good.
async fn run<E: SessionElement>(
    element: glib::WeakRef<E>,
    client: NekoClient,
    mut notices: broadcast::Receiver<ClientNotice>,
    params: SessionParams,
    mut commands: mpsc::UnboundedReceiver<Command>,
) {
    let (peer_events, mut peer_rx) = mpsc::unbounded_channel();
    let offer_backoff = Backoff::new(params.client.backoff_initial, params.client.backoff_max);
    let mut session = Session {
        element,
        client,
        params,
        peer_events,
        peer: None,
        ice_state: WebRTCICEConnectionState::New,
        session_id: None,
        answer_sent: false,
        held_local: Vec::new(),
        early_remote: Vec::new(),
        provide_deadline: None,
        failed_offers: 0,
        offer_backoff,
        retry_at: None,
        relay_deadline: None,
    };
    loop {
        let deadline = session.provide_deadline;
        let retry_at = session.retry_at;
        let relay_deadline = session.relay_deadline;
        tokio::select! {
            command = commands.recv() => match command {
                None | Some(Command::Stop) => break,
            },
            notice = notices.recv() => match notice {
                Ok(notice) => {
                    if !session.on_notice(notice).await {
                        break;
                    }
                }
                Err(broadcast::error::RecvError::Lagged(missed)) => {
                    gst::warning!(E::debug_category(), "fell behind the event stream: {missed} events missed");
                }
                Err(broadcast::error::RecvError::Closed) => break,
            },
            Some(event) = peer_rx.recv() => session.on_peer_event(event).await,
            _ = async { tokio::time::sleep_until(deadline.unwrap_or_else(Instant::now)).await }, if deadline.is_some() => {
                gst::warning!(E::debug_category(), "no signal/provide within {} s; asking again", PROVIDE_TIMEOUT.as_secs());
                session.request_media().await;
            }
            _ = async { tokio::time::sleep_until(retry_at.unwrap_or_else(Instant::now)).await }, if retry_at.is_some() => {
                session.retry_at = None;
                session.request_media().await;
            }
            _ = async { tokio::time::sleep_until(relay_deadline.unwrap_or_else(Instant::now)).await }, if relay_deadline.is_some() => {
                session.relay_failed(&format!("not connected within {} s", RELAY_CONNECT_TIMEOUT.as_secs()));
                break;
            }
        }
    }
    session.close_peer();
}

impl<E: SessionElement> Session<E> {
    fn element(&self) -> Option<E> {
        self.element.upgrade()
    }

    /// Ends the session with an element error when the element's permission check fails.
    fn permitted(&self) -> bool {
        let Some(element) = self.element() else {
            return false;
        };
        match element.check_permissions(&self.client.state()) {
            Ok(()) => true,
            Err(reason) => {
                gst::element_error!(element, gst::ResourceError::NotAuthorized, ("{}", reason));
                false
            }
        }
    }

    async fn request_media(&mut self) {
        self.provide_deadline = Some(Instant::now() + PROVIDE_TIMEOUT);
        let request = ClientEvent::SignalRequest(self.params.request.clone());
        if let Err(error) = self.client.send(request).await {
            gst::debug!(
                E::debug_category(),
                "signal/request not sent ({error}); will retry after reconnect"
            );
        }
    }

    fn close_peer(&mut self) {
        if let Some(peer) = self.peer.take() {
            peer.close();
        }
        self.answer_sent = false;
        self.relay_deadline = None;
        self.held_local.clear();
        self.ice_state = WebRTCICEConnectionState::New;
    }

    /// Returns false when the session is over.
    async fn on_notice(&mut self, notice: ClientNotice) -> bool {
        match notice {
            ClientNotice::Connected {
                session_id,
                reconnect,
            } => {
                if let Some(element) = self.element() {
                    session_of(&element).joined(&session_id, reconnect);
                }
                if !self.permitted() {
                    return false;
                }
                // A new session (the server restarted or forgot ours) has no peer on the
                // server's side, whatever ICE still says about the old one.
                let same_session = self.session_id.as_deref() == Some(session_id.as_str());
                self.session_id = Some(session_id);
                let media_alive = ice_is_up(self.ice_state);
                if reconnect && !same_session {
                    gst::info!(
                        E::debug_category(),
                        "reconnected as a new session; replacing the WebRTC peer"
                    );
                    self.close_peer();
                    self.request_media().await;
                } else if media_alive {
                    gst::info!(
                        E::debug_category(),
                        "reconnected; the WebRTC peer survived, keeping it"
                    );
                } else {
                    self.request_media().await;
                }
            }
            ClientNotice::Event(event) => {
                self.publish(&event);
                if matches!(*event, ServerEvent::SessionProfile(_)) && !self.permitted() {
                    return false;
                }
                return self.on_event(&event).await;
            }
            ClientNotice::Retrying {
                attempt,
                delay,
                error,
            } => {
                if let Some(element) = self.element() {
                    gst::element_warning!(
                        element,
                        gst::ResourceError::OpenRead,
                        (
                            "{} (attempt {}, next try in {:.1} s)",
                            error,
                            attempt,
                            delay.as_secs_f64()
                        )
                    );
                }
            }
            ClientNotice::Disconnected { reason, will_retry } => {
                gst::info!(
                    E::debug_category(),
                    "WebSocket lost: {reason} (will retry: {will_retry})"
                );
            }
            ClientNotice::Fatal(error) => {
                if let Some(element) = self.element() {
                    let kind = match error {
                        ClientError::Login(_) => gst::ResourceError::NotAuthorized,
                        _ => gst::ResourceError::Read,
                    };
                    gst::element_error!(element, kind, ("{}", error));
                }
                return false;
            }
        }
        true
    }

    fn publish(&self, event: &Arc<ServerEvent>) {
        let Some(element) = self.element() else {
            return;
        };
        let name = event.name().to_owned();
        let json = event.to_json();
        let structure = gst::Structure::builder("neko-event")
            .field("name", &name)
            .field("json", &json)
            .build();
        let _ = element.post_message(
            gst::message::Element::builder(structure)
                .src(&element)
                .build(),
        );
        element.emit_by_name::<()>("event-received", &[&name, &json]);
    }

    /// Returns false when the session is over.
    async fn on_event(&mut self, event: &ServerEvent) -> bool {
        match event {
            ServerEvent::SignalProvide(provide) => return self.on_provide(provide).await,
            ServerEvent::SignalOffer(offer) | ServerEvent::SignalRestart(offer) => {
                return self.on_renegotiation(offer).await;
            }
            ServerEvent::SignalCandidate(candidate) => match &self.peer {
                Some(peer) => peer.add_remote_candidate(candidate),
                None => self.early_remote.push(candidate.clone()),
            },
            ServerEvent::SignalClose if self.provide_deadline.is_none() => {
                gst::info!(
                    E::debug_category(),
                    "the room closed the WebRTC peer; asking for a new one"
                );
                self.close_peer();
                self.request_media().await;
            }
            _ => {}
        }
        true
    }

    /// Reports a negotiation error: fatal when the room does not take our audio.
    fn negotiation_failed(&self, error: &PeerError) -> bool {
        if let PeerError::NotReceiving(_) = error {
            if let Some(element) = self.element() {
                gst::element_error!(element, gst::ResourceError::Write, ("{}", error));
            }
            return false;
        }
        true
    }

    /// Returns false when the session is over.
    async fn on_provide(&mut self, provide: &SignalProvide) -> bool {
        self.provide_deadline = None;
        self.close_peer();
        let Some(element) = self.element() else {
            return false;
        };
        let weak = element.downgrade();
        let on_pad = Arc::new(move |pad: &gst::Pad| {
            if let Some(element) = weak.upgrade()
                && let Err(error) = element.link_rtp_pad(pad)
            {
                gst::element_error!(element, gst::StreamError::Failed, ("{}", error));
            }
        });
        let peer = match Peer::new(
            element.upcast_ref(),
            &self.params.peer,
            &provide.iceservers,
            self.peer_events.clone(),
            on_pad,
        ) {
            Ok(peer) => peer,
            Err(error) => {
                gst::element_error!(element, gst::LibraryError::Init, ("{}", error));
                return false;
            }
        };
        session_of(&element).peer_created(peer.webrtcbin());
        let sender = element.sender();
        drop(element);
        for candidate in self.early_remote.drain(..) {
            peer.add_remote_candidate(&candidate);
        }
        let answer = tokio::time::timeout(
            NEGOTIATION_TIMEOUT,
            peer.answer(&provide.sdp, sender.as_ref()),
        )
        .await;
        self.peer = Some(peer);
        match answer {
            Ok(Ok(sdp)) => self.send_answer(sdp).await,
            Ok(Err(error)) if !self.negotiation_failed(&error) => return false,
            Ok(Err(error)) => return self.offer_failed(&error.to_string()),
            Err(_) => {
                return self.offer_failed(&format!(
                    "webrtcbin did not answer within {} s",
                    NEGOTIATION_TIMEOUT.as_secs()
                ));
            }
        }
        true
    }

    /// Counts an offer that could not be answered: asks for a new one after the next backoff
    /// delay, or ends the session with an element error after `max_failed_offers` in a row.
    /// Returns false when the session is over.
    fn offer_failed(&mut self, reason: &str) -> bool {
        self.close_peer();
        self.failed_offers += 1;
        let limit = self.params.client.max_failed_offers;
        if self.failed_offers >= limit {
            if let Some(element) = self.element() {
                gst::element_error!(
                    element,
                    gst::StreamError::Failed,
                    (
                        "gave up after {} offers in a row from the Neko server at {} could not be answered; the last one: {}",
                        self.failed_offers,
                        self.params.client.target.display_server(),
                        reason
                    )
                );
            }
            return false;
        }
        let delay = self.offer_backoff.next_delay();
        gst::warning!(
            E::debug_category(),
            "could not answer the room's offer ({} of {limit} in a row: {reason}); asking again in {} ms",
            self.failed_offers,
            delay.as_millis()
        );
        self.retry_at = Some(Instant::now() + delay);
        true
    }

    /// Returns false when the session is over.
    async fn on_renegotiation(&mut self, offer: &SignalDescription) -> bool {
        let Some(peer) = &self.peer else {
            gst::warning!(
                E::debug_category(),
                "renegotiation offer without a peer; ignored"
            );
            return true;
        };
        let sender = self.element().and_then(|e| e.sender());
        match peer.reanswer(&offer.sdp, sender.as_ref()).await {
            Ok(sdp) => self.send_answer(sdp).await,
            Err(error) if !self.negotiation_failed(&error) => return false,
            Err(error) => gst::warning!(
                E::debug_category(),
                "could not answer the renegotiation: {error}"
            ),
        }
        true
    }

    async fn send_answer(&mut self, sdp: String) {
        let answer = ClientEvent::SignalAnswer(SignalDescription {
            sdp,
            ..Default::default()
        });
        if let Err(error) = self.client.send(answer).await {
            gst::warning!(E::debug_category(), "signal/answer not sent: {error}");
            return;
        }
        self.answer_sent = true;
        if self.params.peer.relay_only {
            self.relay_deadline = Some(Instant::now() + RELAY_CONNECT_TIMEOUT);
        }
        for candidate in std::mem::take(&mut self.held_local) {
            self.client
                .send_nowait(ClientEvent::SignalCandidate(candidate));
        }
    }

    /// Ends the session with an element error: relay-only ICE did not connect, which asking the
    /// room again would not change.
    fn relay_failed(&mut self, what: &str) {
        self.relay_deadline = None;
        if let Some(element) = self.element() {
            gst::element_error!(
                element,
                gst::ResourceError::OpenRead,
                (
                    "relay-only ICE ({}): no media path through the TURN server; check its URL, user and password, and that it can reach the room",
                    what
                )
            );
        }
    }

    async fn on_peer_event(&mut self, event: PeerEvent) {
        match event {
            PeerEvent::LocalCandidate(candidate) => {
                if self.answer_sent {
                    self.client
                        .send_nowait(ClientEvent::SignalCandidate(candidate));
                } else {
                    self.held_local.push(candidate);
                }
            }
            PeerEvent::IceState(state) => {
                gst::debug!(E::debug_category(), "ICE connection state {state:?}");
                self.ice_state = state;
                let connected = ice_is_up(state);
                if connected {
                    self.relay_deadline = None;
                    self.failed_offers = 0;
                    self.offer_backoff.reset();
                }
                if let Some(element) = self.element() {
                    element.media_connected(connected);
                }
                if state == WebRTCICEConnectionState::Failed
                    && self.peer.is_some()
                    && self.params.peer.relay_only
                {
                    self.relay_failed("ICE failed");
                    self.close_peer();
                } else if state == WebRTCICEConnectionState::Failed && self.peer.is_some() {
                    gst::warning!(
                        E::debug_category(),
                        "ICE failed; asking the room for a new peer"
                    );
                    self.close_peer();
                    self.request_media().await;
                }
            }
            PeerEvent::Datagram(datagram) => {
                gst::trace!(E::debug_category(), "data channel: {datagram:?}")
            }
        }
    }
}
