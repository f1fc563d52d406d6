//! The long-lived client: logs in, keeps `/api/ws` open with reconnects and heartbeats, and
//! publishes every event to subscribers.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{broadcast, mpsc, oneshot};
use tokio::time::{Instant, sleep};

use super::CAT;
use super::backoff::Backoff;
use super::connection::{Connection, Incoming, OpenError};
use super::finished::Finished;
use super::rest::{Login, RestClient, RestError};
use super::state::RoomState;
use super::target::{Credentials, Target};
use super::tls::TlsFailure;
use crate::log_limit::{LogLimiter, Verdict};
use crate::protocol::{ClientEvent, ServerEvent};
use crate::runtime::{RUNTIME, panic_message};

/// Disconnect reasons after which a session token is useless, so a password login is retried once.
const TOKEN_GONE: [&str; 2] = ["session not found", "session deleted"];

/// Default of [`ClientConfig::max_failed_offers`].
pub const DEFAULT_MAX_FAILED_OFFERS: u32 = 5;

/// How the client behaves.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// Server and credentials.
    pub target: Target,
    /// Reconnect after failures (with backoff) instead of giving up.
    pub reconnect: bool,
    /// First reconnect delay.
    pub backoff_initial: Duration,
    /// Longest reconnect delay.
    pub backoff_max: Duration,
    /// Reconnect when no frame arrived for this long (the server sends one every 10 s).
    pub stale_after: Duration,
    /// Ask for host control on connect and after every reconnect.
    pub want_host: bool,
    /// Elements' signalling gives up (element error) after this many offers in a row that could
    /// not be answered; between them it waits like reconnects do (`backoff_initial` …
    /// `backoff_max`).
    pub max_failed_offers: u32,
}

impl ClientConfig {
    /// Defaults for a target: reconnect 1 s → 30 s, stale after 25 s, no host request, give up
    /// after 5 failed offers.
    pub fn new(target: Target) -> Self {
        Self {
            target,
            reconnect: true,
            backoff_initial: Duration::from_secs(1),
            backoff_max: Duration::from_secs(30),
            stale_after: Duration::from_secs(25),
            want_host: false,
            max_failed_offers: DEFAULT_MAX_FAILED_OFFERS,
        }
    }
}

/// Errors that end the client or refuse a request.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ClientError {
    /// Login failed for a reason retrying cannot fix.
    #[error("{0}")]
    Login(String),
    /// The server ended the session with `system/disconnect`.
    #[error("the Neko server at {server} ended the session: {message}")]
    Disconnected {
        /// Server base URL.
        server: String,
        /// The server's reason.
        message: String,
    },
    /// The server could not be reached and reconnecting is off.
    #[error("lost the connection to {server}: {reason}")]
    ConnectionLost {
        /// Server base URL.
        server: String,
        /// What happened.
        reason: String,
    },
    /// The server's TLS certificate was refused; never retried.
    #[error(transparent)]
    Tls(TlsFailure),
    /// A send was attempted while the WebSocket is down.
    #[error("not connected to the Neko server; the event was not sent")]
    NotConnected,
    /// The client was stopped.
    #[error("the Neko client was stopped")]
    Stopped,
    /// An application-supplied event was not valid JSON with an `event` field.
    #[error("invalid event JSON: {0}")]
    InvalidEvent(String),
    /// The client's task died (a bug); the session is gone.
    #[error("the Neko client for {server} crashed: {reason}")]
    Crashed {
        /// Server base URL.
        server: String,
        /// The panic's message.
        reason: String,
    },
}

/// Something that happened to the client, published to every subscriber.
#[derive(Debug, Clone)]
pub enum ClientNotice {
    /// `system/init` arrived: the session is live. `reconnect` is true after a drop.
    Connected {
        /// Our session id.
        session_id: String,
        /// Whether this follows an earlier connection of the same client.
        reconnect: bool,
    },
    /// An event from the server.
    Event(Arc<ServerEvent>),
    /// The WebSocket dropped; a reconnect follows when `will_retry`.
    Disconnected {
        /// What happened.
        reason: String,
        /// Whether the client will reconnect.
        will_retry: bool,
    },
    /// Waiting before the next connection attempt.
    Retrying {
        /// Attempt number (1-based).
        attempt: u32,
        /// Delay before it.
        delay: Duration,
        /// Why the last attempt failed.
        error: String,
    },
    /// The client stopped for good.
    Fatal(ClientError),
}

enum Command {
    Send(Box<ClientEvent>, oneshot::Sender<Result<(), ClientError>>),
    SendRaw(String, oneshot::Sender<Result<(), ClientError>>),
    Stop,
}

/// Handle to a running client; cheap to clone. The task stops when [`NekoClient::stop`] is called.
#[derive(Clone)]
pub struct NekoClient {
    commands: mpsc::UnboundedSender<Command>,
    notices: broadcast::Sender<ClientNotice>,
    state: Arc<Mutex<RoomState>>,
    rest: RestClient,
    token: Arc<Mutex<Option<String>>>,
    finished: Arc<Finished>,
}

impl std::fmt::Debug for NekoClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NekoClient")
            .field("server", &self.rest.target().display_server())
            .finish()
    }
}

impl NekoClient {
    /// Starts the client on the shared runtime. The receiver sees every notice from the first
    /// on; [`NekoClient::subscribe`] gives more receivers that see notices from then on.
    pub fn start(config: ClientConfig) -> (Self, broadcast::Receiver<ClientNotice>) {
        let (commands, command_rx) = mpsc::unbounded_channel();
        let (notices, first_receiver) = broadcast::channel(1024);
        let client = Self {
            commands,
            notices: notices.clone(),
            state: Arc::default(),
            rest: RestClient::new(config.target.clone()),
            token: Arc::default(),
            finished: Arc::default(),
        };
        let server = config.target.display_server();
        let task = Task {
            config,
            rest: client.rest.clone(),
            notices,
            state: client.state.clone(),
            token: client.token.clone(),
            commands: command_rx,
            ever_connected: false,
            was_host: false,
        };
        let running = RUNTIME.spawn(task.run());
        RUNTIME.spawn(supervise(
            running,
            server,
            client.notices.clone(),
            client.state.clone(),
            client.finished.clone(),
        ));
        (client, first_receiver)
    }

    /// Receives every notice published from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<ClientNotice> {
        self.notices.subscribe()
    }

    /// A snapshot of the room state.
    pub fn state(&self) -> RoomState {
        self.state.lock().unwrap().clone()
    }

    /// REST client for the same server.
    pub fn rest(&self) -> &RestClient {
        &self.rest
    }

    /// The current session token, once logged in.
    pub fn token(&self) -> Option<String> {
        self.token.lock().unwrap().clone()
    }

    /// Sends an event; resolves once it was written to the socket.
    pub async fn send(&self, event: ClientEvent) -> Result<(), ClientError> {
        let (tx, rx) = oneshot::channel();
        self.commands
            .send(Command::Send(Box::new(event), tx))
            .map_err(|_| ClientError::Stopped)?;
        rx.await.unwrap_or(Err(ClientError::Stopped))
    }

    /// Queues an event without waiting for it to be written (errors are logged).
    pub fn send_nowait(&self, event: ClientEvent) {
        let (tx, _rx) = oneshot::channel();
        let _ = self.commands.send(Command::Send(Box::new(event), tx));
    }

    /// Sends arbitrary JSON (`{"event": …, "payload": …}`), checked to be an object with an `event`.
    pub async fn send_json(&self, json: &str) -> Result<(), ClientError> {
        let value: serde_json::Value =
            serde_json::from_str(json).map_err(|e| ClientError::InvalidEvent(e.to_string()))?;
        if !value.get("event").is_some_and(|e| e.is_string()) {
            return Err(ClientError::InvalidEvent(
                "an object with a string \"event\" field is required".into(),
            ));
        }
        let (tx, rx) = oneshot::channel();
        self.commands
            .send(Command::SendRaw(value.to_string(), tx))
            .map_err(|_| ClientError::Stopped)?;
        rx.await.unwrap_or(Err(ClientError::Stopped))
    }

    /// Stops the client: closes the WebSocket politely (close code 1000); reconnects stop.
    /// Returns at once; see [`NekoClient::stop_and_wait`] before the process exits.
    pub fn stop(&self) {
        let _ = self.commands.send(Command::Stop);
    }

    /// Stops the client and blocks until its task has ended (the close frame is written) or
    /// `timeout` passed; true when it ended. Call it from a thread outside the client's runtime.
    pub fn stop_and_wait(&self, timeout: Duration) -> bool {
        self.stop();
        self.finished.wait(timeout)
    }
}

/// Waits for the client's task and turns its death by panic into [`ClientNotice::Fatal`], so a
/// session never vanishes silently; marks the client finished either way.
async fn supervise(
    running: tokio::task::JoinHandle<()>,
    server: String,
    notices: broadcast::Sender<ClientNotice>,
    state: Arc<Mutex<RoomState>>,
    finished: Arc<Finished>,
) {
    if let Err(error) = running.await
        && let Some(reason) = panic_message(error)
    {
        let error = ClientError::Crashed { server, reason };
        gst::error!(CAT, "Neko client stopped: {error}");
        state.lock().unwrap().connected = false;
        let _ = notices.send(ClientNotice::Fatal(error));
    }
    finished.set();
}

enum Outcome {
    Stopped,
    ServerDisconnect(String),
    Lost(String),
}

struct Task {
    config: ClientConfig,
    rest: RestClient,
    notices: broadcast::Sender<ClientNotice>,
    state: Arc<Mutex<RoomState>>,
    token: Arc<Mutex<Option<String>>>,
    commands: mpsc::UnboundedReceiver<Command>,
    ever_connected: bool,
    was_host: bool,
}

impl Task {
    fn server(&self) -> String {
        self.config.target.display_server()
    }

    fn notify(&self, notice: ClientNotice) {
        let _ = self.notices.send(notice);
    }

    fn fatal(&self, error: ClientError) {
        gst::error!(CAT, "Neko client stopped: {error}");
        self.set_connected(false);
        self.notify(ClientNotice::Fatal(error));
    }

    fn set_connected(&self, connected: bool) {
        self.state.lock().unwrap().connected = connected;
    }

    /// Waits `delay` while still answering commands; returns false when stopped.
    async fn pause(&mut self, delay: Duration) -> bool {
        let deadline = Instant::now() + delay;
        loop {
            tokio::select! {
                _ = tokio::time::sleep_until(deadline) => return true,
                command = self.commands.recv() => match command {
                    None | Some(Command::Stop) => return false,
                    Some(Command::Send(_, done) | Command::SendRaw(_, done)) => {
                        let _ = done.send(Err(ClientError::NotConnected));
                    }
                },
            }
        }
    }

    async fn retry_after(&mut self, backoff: &mut Backoff, error: String) -> bool {
        let delay = backoff.next_delay();
        gst::warning!(
            CAT,
            "Neko connection failed; retrying: {error} (server {}, attempt {}, next try in {} ms)",
            self.server(),
            backoff.attempt(),
            delay.as_millis()
        );
        self.notify(ClientNotice::Retrying {
            attempt: backoff.attempt(),
            delay,
            error,
        });
        self.pause(delay).await
    }

    async fn run(mut self) {
        let mut backoff = Backoff::new(self.config.backoff_initial, self.config.backoff_max);
        let mut login: Option<Login> = None;
        let mut relogged = false;
        loop {
            let current = match &login {
                Some(current) => current.clone(),
                None => match self.rest.login().await {
                    Ok(fresh) => {
                        gst::info!(
                            CAT,
                            "logged in to {} as session {}",
                            self.server(),
                            fresh.session_id
                        );
                        *self.token.lock().unwrap() = Some(fresh.token.clone());
                        login = Some(fresh.clone());
                        fresh
                    }
                    Err(error) if error.is_transient() && self.config.reconnect => {
                        if !self.retry_after(&mut backoff, error.to_string()).await {
                            return;
                        }
                        continue;
                    }
                    Err(error) => return self.fatal(login_error(error)),
                },
            };
            let url = self.config.target.websocket_url(&current.token);
            let target = &self.config.target;
            let opened = Connection::open(
                &url,
                &target.trust,
                &target.host_port(),
                Duration::from_secs(10),
            )
            .await;
            let mut connection = match opened {
                Ok(connection) => connection,
                Err(OpenError::Tls(failure)) => return self.fatal(ClientError::Tls(failure)),
                Err(error) => {
                    let reason = error.to_string();
                    let error = format!("cannot open the WebSocket to {}: {reason}", self.server());
                    if !self.config.reconnect {
                        return self.fatal(ClientError::ConnectionLost {
                            server: self.server(),
                            reason,
                        });
                    }
                    if !self.retry_after(&mut backoff, error).await {
                        return;
                    }
                    continue;
                }
            };
            let outcome = self.drive(&mut connection, &mut backoff).await;
            connection.close().await;
            match outcome {
                Outcome::Stopped => {
                    self.set_connected(false);
                    return;
                }
                Outcome::ServerDisconnect(message) => {
                    self.set_connected(false);
                    let password_login =
                        matches!(self.config.target.credentials, Credentials::Password { .. });
                    if TOKEN_GONE.contains(&message.as_str()) && password_login && !relogged {
                        gst::info!(
                            CAT,
                            "session token is no longer valid ({message}); logging in again to {}",
                            self.server()
                        );
                        relogged = true;
                        login = None;
                        continue;
                    }
                    return self.fatal(ClientError::Disconnected {
                        server: self.server(),
                        message,
                    });
                }
                Outcome::Lost(reason) => {
                    self.set_connected(false);
                    relogged = false;
                    gst::warning!(
                        CAT,
                        "WebSocket to the Neko server {} lost: {reason}",
                        self.server()
                    );
                    self.notify(ClientNotice::Disconnected {
                        reason: reason.clone(),
                        will_retry: self.config.reconnect,
                    });
                    if !self.config.reconnect {
                        return self.fatal(ClientError::ConnectionLost {
                            server: self.server(),
                            reason,
                        });
                    }
                    if !self.retry_after(&mut backoff, reason).await {
                        return;
                    }
                }
            }
        }
    }

    async fn drive(&mut self, connection: &mut Connection, backoff: &mut Backoff) -> Outcome {
        let mut malformed = LogLimiter::default();
        let outcome = self.pump(connection, backoff, &mut malformed).await;
        let suppressed = malformed.take_suppressed();
        if suppressed > 0 {
            gst::warning!(
                CAT,
                "… {suppressed} more malformed events from the server were skipped without a log line"
            );
        }
        outcome
    }

    async fn pump(
        &mut self,
        connection: &mut Connection,
        backoff: &mut Backoff,
        malformed: &mut LogLimiter,
    ) -> Outcome {
        let mut last_frame = Instant::now();
        let mut heartbeat_every = Duration::from_secs(10);
        let mut next_heartbeat = Instant::now() + heartbeat_every;
        loop {
            let stale_at = last_frame + self.config.stale_after;
            tokio::select! {
                incoming = connection.next() => {
                    last_frame = Instant::now();
                    match incoming {
                        Incoming::Event(event) => {
                            if let Some(outcome) = self.on_event(connection, *event, backoff, &mut heartbeat_every).await {
                                return outcome;
                            }
                        }
                        Incoming::Malformed { reason, excerpt } => match malformed.check() {
                            Verdict::Log { suppressed: 0 } => {
                                gst::warning!(CAT, "skipped a malformed event from the server: {reason} (frame {excerpt})");
                            }
                            Verdict::Log { suppressed } => {
                                gst::warning!(CAT, "skipped a malformed event from the server (and {suppressed} more in the last {} s without a log line): {reason} (frame {excerpt})", malformed.window().as_secs());
                            }
                            Verdict::Suppress => {}
                        },
                        Incoming::Alive => {}
                        Incoming::Closed(reason) => return Outcome::Lost(reason),
                    }
                }
                command = self.commands.recv() => match command {
                    None | Some(Command::Stop) => return Outcome::Stopped,
                    Some(Command::Send(event, done)) => {
                        let result = connection.send(&event).await;
                        let failed = result.is_err();
                        let _ = done.send(result.map_err(|_| ClientError::NotConnected));
                        if failed {
                            return Outcome::Lost("sending failed".into());
                        }
                    }
                    Some(Command::SendRaw(text, done)) => {
                        let result = connection.send_text(text).await;
                        let failed = result.is_err();
                        let _ = done.send(result.map_err(|_| ClientError::NotConnected));
                        if failed {
                            return Outcome::Lost("sending failed".into());
                        }
                    }
                },
                _ = tokio::time::sleep_until(next_heartbeat) => {
                    next_heartbeat = Instant::now() + heartbeat_every;
                    if connection.send(&ClientEvent::ClientHeartbeat).await.is_err() {
                        return Outcome::Lost("sending the heartbeat failed".into());
                    }
                }
                _ = tokio::time::sleep_until(stale_at) => {
                    return Outcome::Lost(format!("no frame from the server for {} s", self.config.stale_after.as_secs()));
                }
            }
        }
    }

    async fn on_event(
        &mut self,
        connection: &mut Connection,
        event: ServerEvent,
        backoff: &mut Backoff,
        heartbeat_every: &mut Duration,
    ) -> Option<Outcome> {
        gst::trace!(CAT, "event from the server: {}", event.name());
        if let ServerEvent::SystemDisconnect(disconnect) = &event {
            return Some(Outcome::ServerDisconnect(disconnect.message.clone()));
        }
        if let ServerEvent::Unknown { event: name, .. } = &event {
            gst::debug!(CAT, "unknown event passed through: {name}");
        }
        let (is_host, session_id) = {
            let mut state = self.state.lock().unwrap();
            state.apply(&event);
            (state.is_host(), state.session_id.clone())
        };
        let init = matches!(event, ServerEvent::SystemInit(_));
        if let ServerEvent::SystemInit(init) = &event {
            backoff.reset();
            if let Some(period) = init.settings.heartbeat_period() {
                *heartbeat_every = period;
            }
        }
        if !init && session_id.is_some() {
            self.was_host = is_host;
        }
        self.notify(ClientNotice::Event(Arc::new(event)));
        if init {
            let session_id = session_id.unwrap_or_default();
            gst::info!(
                CAT,
                "connected to the room at {} as session {session_id} (reconnect: {})",
                self.server(),
                self.ever_connected
            );
            self.notify(ClientNotice::Connected {
                session_id,
                reconnect: self.ever_connected,
            });
            let wants_host = self.config.want_host || self.was_host;
            self.ever_connected = true;
            if wants_host
                && !is_host
                && connection.send(&ClientEvent::ControlRequest).await.is_err()
            {
                return Some(Outcome::Lost("sending control/request failed".into()));
            }
        }
        None
    }
}

fn login_error(error: RestError) -> ClientError {
    match error {
        RestError::Tls(failure) => ClientError::Tls(failure),
        other => ClientError::Login(other.to_string()),
    }
}

/// Waits until `f` accepts a notice or `timeout` passes; a helper for applications and tests.
pub async fn wait_for_notice<T>(
    notices: &mut broadcast::Receiver<ClientNotice>,
    timeout: Duration,
    mut f: impl FnMut(&ClientNotice) -> Option<T>,
) -> Option<T> {
    let deadline = Instant::now() + timeout;
    loop {
        let notice = tokio::select! {
            notice = notices.recv() => notice,
            _ = sleep(deadline.saturating_duration_since(Instant::now())) => return None,
        };
        match notice {
            Ok(notice) => {
                if let Some(found) = f(&notice) {
                    return Some(found);
                }
            }
            Err(broadcast::error::RecvError::Lagged(_)) => continue,
            Err(broadcast::error::RecvError::Closed) => return None,
        }
    }
}
