//! The session task behind nekosrc: follows the client's notices, answers the room's offers,
//! trickles ICE, and asks for media again after a `signal/close`, an ICE failure or a reconnect.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use gst::glib;
use gst::prelude::*;
use gst::subclass::prelude::*;
use gst_webrtc::WebRTCICEConnectionState;
use tokio::sync::{broadcast, mpsc};
use tokio::time::Instant;

use super::NekoSrc;
use super::imp::CAT;
use crate::client::{ClientConfig, ClientError, ClientNotice, NekoClient};
use crate::protocol::{
    ClientEvent, IceCandidate, ServerEvent, SignalDescription, SignalProvide, SignalRequest,
};
use crate::webrtc::{Peer, PeerConfig, PeerEvent};

/// How long to wait for `signal/provide` before asking again (the server never reports failures).
const PROVIDE_TIMEOUT: Duration = Duration::from_secs(10);

/// How long webrtcbin may take to produce an answer before the peer is given up.
const NEGOTIATION_TIMEOUT: Duration = Duration::from_secs(10);

/// Everything the task needs, validated from the element's properties.
#[derive(Debug, Clone)]
pub struct SessionParams {
    /// Client settings.
    pub client: ClientConfig,
    /// WebRTC settings.
    pub peer: PeerConfig,
    /// The `signal/request` to send.
    pub request: SignalRequest,
}

/// Commands from the element.
#[derive(Debug)]
pub enum Command {
    /// Tear everything down.
    Stop,
}

struct Session {
    element: glib::WeakRef<NekoSrc>,
    client: NekoClient,
    params: SessionParams,
    peer_events: mpsc::UnboundedSender<PeerEvent>,
    peer: Option<Peer>,
    ice_state: WebRTCICEConnectionState,
    answer_sent: bool,
    held_local: Vec<IceCandidate>,
    early_remote: Vec<IceCandidate>,
    provide_deadline: Option<Instant>,
}

/// Runs until the element stops or the client fails for good.
pub async fn run(
    element: glib::WeakRef<NekoSrc>,
    client: NekoClient,
    mut notices: broadcast::Receiver<ClientNotice>,
    params: SessionParams,
    mut commands: mpsc::UnboundedReceiver<Command>,
) {
    let (peer_events, mut peer_rx) = mpsc::unbounded_channel();
    let mut session = Session {
        element,
        client,
        params,
        peer_events,
        peer: None,
        ice_state: WebRTCICEConnectionState::New,
        answer_sent: false,
        held_local: Vec::new(),
        early_remote: Vec::new(),
        provide_deadline: None,
    };
    loop {
        let deadline = session.provide_deadline;
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
                    tracing::warn!(missed, "nekosrc fell behind the event stream");
                }
                Err(broadcast::error::RecvError::Closed) => break,
            },
            Some(event) = peer_rx.recv() => session.on_peer_event(event).await,
            _ = async { tokio::time::sleep_until(deadline.unwrap_or_else(Instant::now)).await }, if deadline.is_some() => {
                tracing::warn!("no signal/provide within {} s; asking again", PROVIDE_TIMEOUT.as_secs());
                session.request_media().await;
            }
        }
    }
    session.close_peer();
}

impl Session {
    fn element(&self) -> Option<NekoSrc> {
        self.element.upgrade()
    }

    async fn request_media(&mut self) {
        self.provide_deadline = Some(Instant::now() + PROVIDE_TIMEOUT);
        let request = ClientEvent::SignalRequest(self.params.request.clone());
        if let Err(error) = self.client.send(request).await {
            tracing::debug!(%error, "signal/request not sent; will retry after reconnect");
        }
    }

    fn close_peer(&mut self) {
        if let Some(peer) = self.peer.take() {
            peer.close();
        }
        self.answer_sent = false;
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
                    element.imp().set_session_id(&session_id);
                    if reconnect {
                        element
                            .imp()
                            .counters
                            .reconnects
                            .fetch_add(1, Ordering::Relaxed);
                    }
                }
                let media_alive = matches!(
                    self.ice_state,
                    WebRTCICEConnectionState::Connected | WebRTCICEConnectionState::Completed
                );
                if media_alive {
                    tracing::info!("reconnected; the WebRTC peer survived, keeping it");
                } else {
                    self.request_media().await;
                }
            }
            ClientNotice::Event(event) => {
                self.publish(&event);
                self.on_event(&event).await;
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
                gst::info!(CAT, "WebSocket lost ({reason}); reconnecting: {will_retry}");
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

    async fn on_event(&mut self, event: &ServerEvent) {
        match event {
            ServerEvent::SignalProvide(provide) => self.on_provide(provide).await,
            ServerEvent::SignalOffer(offer) | ServerEvent::SignalRestart(offer) => {
                self.on_renegotiation(offer).await
            }
            ServerEvent::SignalCandidate(candidate) => match &self.peer {
                Some(peer) => peer.add_remote_candidate(candidate),
                None => self.early_remote.push(candidate.clone()),
            },
            ServerEvent::SignalClose if self.provide_deadline.is_none() => {
                tracing::info!("the room closed the WebRTC peer; asking for a new one");
                self.close_peer();
                self.request_media().await;
            }
            _ => {}
        }
    }

    async fn on_provide(&mut self, provide: &SignalProvide) {
        self.provide_deadline = None;
        self.close_peer();
        let Some(element) = self.element() else {
            return;
        };
        let weak = element.downgrade();
        let on_pad = Arc::new(move |pad: &gst::Pad| {
            if let Some(element) = weak.upgrade()
                && let Err(error) = element.imp().link_rtp_pad(pad)
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
                return;
            }
        };
        element.imp().counters.peers.fetch_add(1, Ordering::Relaxed);
        element.imp().adopt_webrtcbin(peer.webrtcbin());
        drop(element);
        for candidate in self.early_remote.drain(..) {
            peer.add_remote_candidate(&candidate);
        }
        let answer =
            match tokio::time::timeout(NEGOTIATION_TIMEOUT, peer.answer(&provide.sdp)).await {
                Ok(answer) => answer.map_err(|e| e.to_string()),
                Err(_) => Err(format!(
                    "webrtcbin did not answer within {} s",
                    NEGOTIATION_TIMEOUT.as_secs()
                )),
            };
        self.peer = Some(peer);
        match answer {
            Ok(sdp) => self.send_answer(sdp).await,
            Err(error) => {
                tracing::warn!(%error, "could not answer the room's offer; asking again");
                self.close_peer();
                self.request_media().await;
            }
        }
    }

    async fn on_renegotiation(&mut self, offer: &SignalDescription) {
        let Some(peer) = &self.peer else {
            tracing::warn!("renegotiation offer without a peer; ignored");
            return;
        };
        match peer.reanswer(&offer.sdp).await {
            Ok(sdp) => self.send_answer(sdp).await,
            Err(error) => tracing::warn!(%error, "could not answer the renegotiation"),
        }
    }

    async fn send_answer(&mut self, sdp: String) {
        let answer = ClientEvent::SignalAnswer(SignalDescription {
            sdp,
            ..Default::default()
        });
        if let Err(error) = self.client.send(answer).await {
            tracing::warn!(%error, "signal/answer not sent");
            return;
        }
        self.answer_sent = true;
        for candidate in std::mem::take(&mut self.held_local) {
            self.client
                .send_nowait(ClientEvent::SignalCandidate(candidate));
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
                tracing::debug!(?state, "ICE connection state");
                self.ice_state = state;
                if state == WebRTCICEConnectionState::Failed && self.peer.is_some() {
                    tracing::warn!("ICE failed; asking the room for a new peer");
                    self.close_peer();
                    self.request_media().await;
                }
            }
            PeerEvent::Datagram(datagram) => tracing::trace!(?datagram, "data channel"),
        }
    }
}
