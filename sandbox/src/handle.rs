//! [`Room`]: a running sandbox room and what tests can ask of it.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use gstneko::protocol::{IceServer, ScreenSize, SessionData, Settings};

use super::config::RoomConfig;
use super::error::RoomError;
use super::media::{MediaConfig, MediaEvents, RoomMedia};
use super::recorder::RecordedInput;
use super::server::Server;
use super::state::RoomShared;
use super::stun::StunResponder;

/// A running Neko-v3-compatible room on loopback.
pub struct Room {
    shared: Arc<RoomShared>,
    server: Server,
    /// The STUN server announced to clients, when the configuration names none.
    _stun: Option<StunResponder>,
}

/// Starts the media side with callbacks into the control plane.
async fn start_media(
    shared: &Arc<RoomShared>,
    ice_servers: Vec<IceServer>,
) -> Result<Arc<RoomMedia>, RoomError> {
    let config = &shared.config;
    let media_config = MediaConfig {
        width: config.width,
        height: config.height,
        rate: config.rate,
        codec: config.codec,
        ice_addresses: config.ice_addresses.clone(),
        offer_style: config.offer_style,
        ice_servers,
    };
    let on_state = shared.weak();
    let on_input = shared.weak();
    let host_query = shared.weak();
    let events = MediaEvents {
        on_peer_state: Box::new(move |session, connected| {
            if let Some(room) = on_state.upgrade() {
                room.peer_state(session, connected);
            }
        }),
        on_datachannel_input: Box::new(move |session, datagram| {
            if let Some(room) = on_input.upgrade() {
                room.datachannel_input(session, datagram);
            }
        }),
        is_host: Box::new(move |session| {
            host_query
                .upgrade()
                .is_some_and(|room| room.read(|state| state.is_host(session)))
        }),
    };
    let media =
        tokio::task::spawn_blocking(move || RoomMedia::new(&media_config, events)).await??;
    Ok(media)
}

/// Where the room's STUN server listens: the bind address, or when that is unspecified the
/// first ICE address (clients on other machines need `ice_servers` naming a reachable one).
fn stun_address(config: &RoomConfig) -> IpAddr {
    let bind = config.bind.ip();
    if !bind.is_unspecified() {
        return bind;
    }
    config
        .ice_addresses
        .first()
        .copied()
        .unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST))
}

impl Room {
    /// Starts the media side (when enabled) and the HTTP server; returns once listening.
    pub async fn start(config: RoomConfig) -> Result<Room, RoomError> {
        let shared = RoomShared::new(config);
        let mut stun = None;
        if shared.config.media {
            let ice_servers = match &shared.config.ice_servers {
                Some(servers) => servers.clone(),
                None => {
                    let responder = StunResponder::start(stun_address(&shared.config))
                        .await
                        .map_err(RoomError::Stun)?;
                    let servers = vec![IceServer {
                        urls: vec![responder.url()],
                        ..Default::default()
                    }];
                    stun = Some(responder);
                    servers
                }
            };
            let media = start_media(&shared, ice_servers).await?;
            shared.set_media(media);
        }
        let server = match Server::start(shared.clone()).await {
            Ok(server) => server,
            Err(error) => {
                if let Some(media) = shared.media() {
                    media.shutdown();
                }
                return Err(error);
            }
        };
        tracing::info!(addr = %server.addr, media = shared.config.media, "sandbox room listening");
        Ok(Room {
            shared,
            server,
            _stun: stun,
        })
    }

    /// `http://127.0.0.1:PORT` (the bound address), `https://…` when serving TLS.
    pub fn base_url(&self) -> String {
        let scheme = if self.server.tls { "https" } else { "http" };
        format!("{scheme}://{}", self.server.addr)
    }

    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.server.addr
    }

    /// Sends `system/disconnect {"message":"connection shutdown"}` to every socket, stops serving and the media.
    pub async fn shutdown(self) {
        self.shared.close_all_sockets();
        self.server.stop().await;
        if let Some(media) = self.shared.media().cloned() {
            // Stopping GStreamer pipelines blocks; keep it off the async workers.
            let _ = tokio::task::spawn_blocking(move || media.shutdown()).await;
        }
        tracing::info!("sandbox room stopped");
    }

    /// Stops without awaiting, best effort, for a guard dropped inside its caller's runtime:
    /// sends `system/disconnect` to every socket, stops serving at once and shuts the media
    /// pipelines down on this thread.
    #[cfg(any(test, feature = "testing"))]
    pub(crate) fn stop_now(self) {
        self.shared.close_all_sockets();
        self.server.stop_now();
        if let Some(media) = self.shared.media() {
            media.shutdown();
        }
        tracing::info!("sandbox room stopped without waiting");
    }

    /// Stops as a killed server would: every socket dropped without `system/disconnect`, then
    /// the HTTP server and the media stopped, so clients see a lost connection and retry (a new
    /// room can be started on the same address).
    pub async fn crash(self) {
        self.shared.drop_all_sockets();
        self.server.stop().await;
        if let Some(media) = self.shared.media().cloned() {
            let _ = tokio::task::spawn_blocking(move || media.shutdown()).await;
        }
        tracing::info!("sandbox room crashed on purpose");
    }

    /// Every input event received so far (WebSocket `control/*`, `clipboard/set`, `keyboard/*`, data channel `dc/*`).
    pub fn inputs(&self) -> Vec<RecordedInput> {
        self.shared.recorder.all()
    }

    /// How many `POST /api/login` requests arrived (a client must not storm a wrong password).
    pub fn login_attempts(&self) -> u64 {
        self.shared
            .login_attempts
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Forgets the recorded inputs.
    pub fn clear_inputs(&self) {
        self.shared.recorder.clear();
    }

    /// The first recorded input matching `pred`, waiting up to `timeout`.
    pub async fn wait_for_input(
        &self,
        pred: impl Fn(&RecordedInput) -> bool,
        timeout: Duration,
    ) -> Option<RecordedInput> {
        self.shared.recorder.wait_for(pred, timeout).await
    }

    /// What clients sent up to the room's microphone.
    pub fn microphone(&self) -> Arc<super::Microphone> {
        self.shared.heard.microphone.clone()
    }

    /// Every chat message the room received, with arrival times.
    pub fn chat_messages(&self) -> Vec<super::HeardChat> {
        self.shared.heard.chat_messages()
    }

    /// Every session, connected or not.
    pub fn sessions(&self) -> Vec<SessionData> {
        self.shared
            .read(|state| state.sessions.iter().map(|s| s.data()).collect())
    }

    /// One session.
    pub fn session(&self, id: &str) -> Option<SessionData> {
        self.shared
            .read(|state| state.sessions.get(id).map(|s| s.data()))
    }

    /// The current host's session id.
    pub fn host(&self) -> Option<String> {
        self.shared.read(|state| state.host.clone())
    }

    /// Current room settings.
    pub fn settings(&self) -> Settings {
        self.shared.read(|state| state.settings.clone())
    }

    /// Current screen size.
    pub fn screen_size(&self) -> ScreenSize {
        self.shared.read(|state| state.screen.clone())
    }

    /// The media side, when it runs.
    pub fn media(&self) -> Option<Arc<RoomMedia>> {
        self.shared.media().cloned()
    }

    /// Drops every WebSocket without a close frame, as if the network failed; sessions enter the delayed disconnect.
    pub fn disconnect_all_websockets(&self) {
        self.shared.drop_all_sockets();
    }

    /// The shared state, for tests that play the media side.
    #[cfg(test)]
    pub(super) fn shared(&self) -> &Arc<RoomShared> {
        &self.shared
    }

    /// Fails the session's WebRTC peer as a lost ICE connection would (`signal/close` follows);
    /// false when the session has no peer.
    pub fn fail_peer(&self, session_id: &str) -> bool {
        let peer = self.shared.read(|state| {
            state
                .sessions
                .get(session_id)
                .and_then(|s| s.peer.as_ref())
                .map(|slot| slot.handle.clone())
        });
        match peer {
            Some(peer) => {
                peer.fail();
                true
            }
            None => false,
        }
    }

    /// Writes `text` verbatim as a text frame to the session's socket; false when it has none.
    pub fn send_raw_text(&self, session_id: &str, text: &str) -> bool {
        self.shared.read(|state| {
            match state
                .sessions
                .get(session_id)
                .and_then(|s| s.socket.as_ref())
            {
                Some(socket) => {
                    socket.send_text(text.to_owned());
                    true
                }
                None => false,
            }
        })
    }
}
