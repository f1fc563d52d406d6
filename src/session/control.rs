//! Drives a room through one Neko session: holds input back until host, keeps host control
//! when wanted, follows the screen size and the server's key names, and performs commands.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use gstneko::client::{ClientError, ClientNotice, NekoClient};
use gstneko::protocol::{ClientEvent, KeyboardMap, ServerEvent};
use tokio::sync::{broadcast, watch};
use tokio::time::{Instant, sleep, timeout_at};

use super::events::Roster;
use super::lock;
use crate::input::{Action, KeyTable, Keysym, Point, Screen, plan};

/// Pause between the actions of one command (`input` = click, pause, type), as the Python tool.
const ACTION_GAP: Duration = Duration::from_millis(50);

/// Fewest time between two automatic `control/request`s.
const REQUEST_GAP: Duration = Duration::from_millis(500);

/// How often input waiting for control asks again while nobody is host.
const REQUEST_RETRY: Duration = Duration::from_secs(1);

/// How long `host`/`unhost` wait to see the change before reporting what they know.
const HOST_CHANGE_WAIT: Duration = Duration::from_secs(2);

/// Where messages for the person go (stdout, or above the line being edited).
pub type Printer = Arc<dyn Fn(&str) + Send + Sync>;

/// How the controller behaves.
#[derive(Debug, Clone)]
pub struct ControlOptions {
    /// Ask for host control before input when not host.
    pub auto_host: bool,
    /// Also ask for it from the start, and again whenever it is lost.
    pub keep_host: bool,
    /// How long input waits for host control before the command fails.
    pub host_timeout: Duration,
    /// Screen size used until the server reports one.
    pub default_screen: Screen,
}

impl ControlOptions {
    /// A session that only watches the room (capture): it never asks for control.
    pub fn watch_only() -> Self {
        Self {
            auto_host: false,
            keep_host: false,
            host_timeout: Duration::from_secs(10),
            default_screen: Screen::new(0, 0),
        }
    }
}

/// Why a command could not be carried out.
#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    /// The command was wrong for the current state (message for the user).
    #[error("{0}")]
    Refused(String),
    /// The connection to the server is gone.
    #[error("{0}")]
    Connection(String),
    /// The connection the input was planned in dropped; the rest of it was not sent.
    #[error("the connection dropped before the input was sent; it was not sent")]
    Outage,
}

impl From<ClientError> for ControlError {
    fn from(error: ClientError) -> Self {
        match error {
            ClientError::InvalidEvent(reason) => Self::Refused(format!("invalid event: {reason}")),
            other => Self::Connection(other.to_string()),
        }
    }
}

struct Shared {
    want_host: AtomicBool,
    /// Never ask for control while another session hosts (see [`Controller::step_aside`]).
    step_aside: AtomicBool,
    keys: RwLock<KeyTable>,
    screen_override: Mutex<Option<Screen>>,
    last_point: Mutex<Option<Point>>,
    last_request: Mutex<Option<Instant>>,
    /// Bumped after every server event, so waiters re-check the room state.
    changes: watch::Sender<u64>,
    /// Set when the session ended for good, with the reason.
    fatal: Mutex<Option<String>>,
    /// The latest connection problem, for a clear message if connecting times out.
    last_problem: Mutex<Option<String>>,
}

/// A REPL's or script's handle on the room.
#[derive(Clone)]
pub struct Controller {
    client: NekoClient,
    options: ControlOptions,
    shared: Arc<Shared>,
}

impl Controller {
    /// Starts following `notices` (printing what happens) and returns the controller.
    pub fn start(
        client: NekoClient,
        notices: broadcast::Receiver<ClientNotice>,
        options: ControlOptions,
        printer: Printer,
    ) -> Self {
        let controller = Self {
            client,
            shared: Arc::new(Shared {
                want_host: AtomicBool::new(options.keep_host),
                step_aside: AtomicBool::new(false),
                keys: RwLock::new(KeyTable::default()),
                screen_override: Mutex::new(None),
                last_point: Mutex::new(None),
                last_request: Mutex::new(None),
                changes: watch::Sender::new(0),
                fatal: Mutex::new(None),
                last_problem: Mutex::new(None),
            }),
            options,
        };
        tokio::spawn(controller.clone().follow(notices, printer));
        controller
    }

    /// The underlying client.
    pub fn client(&self) -> &NekoClient {
        &self.client
    }

    /// Waits until the session is live (`system/init` seen) or the client gave up.
    pub async fn wait_connected(&self, limit: Duration) -> Result<(), ControlError> {
        self.wait_until(limit, |state| state.connected)
            .await
            .map_err(|error| match error {
                ControlError::Refused(_) => ControlError::Connection(format!(
                    "could not join the room at {} within {:.0} s{}",
                    self.client.rest().target().display_server(),
                    limit.as_secs_f64(),
                    lock(&self.shared.last_problem)
                        .as_ref()
                        .map(|p| format!(": {p}"))
                        .unwrap_or_default()
                )),
                other => other,
            })?;
        if self.shared.want_host.load(Ordering::Relaxed) && !self.client.state().is_host() {
            self.request_host();
        }
        Ok(())
    }

    /// The screen size coordinates are resolved against.
    pub fn screen(&self) -> Screen {
        if let Some(screen) = *lock(&self.shared.screen_override) {
            return screen;
        }
        self.client
            .state()
            .screen
            .map(|s| Screen::new(s.width, s.height))
            .unwrap_or(self.options.default_screen)
    }

    /// Overrides the screen size until the server reports a new one.
    pub fn set_screen(&self, width: u32, height: u32) {
        *lock(&self.shared.screen_override) = Some(Screen::new(width, height));
    }

    /// Where the pointer was last sent.
    pub fn last_point(&self) -> Option<Point> {
        *lock(&self.shared.last_point)
    }

    /// A copy of the key table (built-in names plus any the server sent).
    pub fn keys(&self) -> KeyTable {
        self.shared
            .keys
            .read()
            .map(|k| k.clone())
            .unwrap_or_default()
    }

    /// Performs actions in order, each once this session is host.
    pub async fn perform(&self, actions: &[Action]) -> Result<(), ControlError> {
        self.perform_while(actions, &|| true).await
    }

    /// As [`Controller::perform`], checking `still_valid` before every event: once it says no
    /// (the connection the input was planned in dropped), nothing more is sent and the result
    /// is [`ControlError::Outage`].
    pub async fn perform_while(
        &self,
        actions: &[Action],
        still_valid: &(dyn Fn() -> bool + Sync),
    ) -> Result<(), ControlError> {
        for (index, action) in actions.iter().enumerate() {
            if index > 0 {
                sleep(ACTION_GAP).await;
            }
            if !still_valid() {
                return Err(ControlError::Outage);
            }
            self.ensure_host().await?;
            let steps =
                plan(action, &self.screen()).map_err(|e| ControlError::Refused(e.to_string()))?;
            for step in steps {
                if !still_valid() {
                    return Err(ControlError::Outage);
                }
                self.send(step.event).await?;
                if !step.delay_after.is_zero() {
                    sleep(step.delay_after).await;
                }
            }
            if let Some(point) = end_point(action) {
                *lock(&self.shared.last_point) = Some(point);
            }
        }
        Ok(())
    }

    /// Sets the server's keyboard layout (`keyboard/map`, host only).
    pub async fn set_layout(&self, layout: &str, variant: &str) -> Result<(), ControlError> {
        self.ensure_host().await?;
        self.send(ClientEvent::KeyboardMap(KeyboardMap {
            layout: layout.to_owned(),
            variant: variant.to_owned(),
            ..Default::default()
        }))
        .await
    }

    /// Sends raw event JSON as it is.
    pub async fn send_raw(&self, json: &str) -> Result<(), ControlError> {
        self.ensure_connected().await?;
        Ok(self.client.send_json(json).await?)
    }

    /// Asks for host control and keeps asking; says who holds it when it is not granted soon.
    pub async fn host(&self) -> Result<String, ControlError> {
        self.shared.want_host.store(true, Ordering::Relaxed);
        if self.client.state().is_host() {
            return Ok("you are already the host".into());
        }
        self.send(ClientEvent::ControlRequest).await?;
        *lock(&self.shared.last_request) = Some(Instant::now());
        if self
            .wait_until(HOST_CHANGE_WAIT, |s| s.is_host())
            .await
            .is_ok()
        {
            return Ok("you are the host".into());
        }
        Ok(match self.client.state().host_id {
            Some(host) => format!(
                "control requested; {host} is the host and was asked to give it (input waits for it)"
            ),
            None => "control requested; no answer yet".into(),
        })
    }

    /// Releases host control and stops asking for it.
    pub async fn unhost(&self) -> Result<String, ControlError> {
        self.shared.want_host.store(false, Ordering::Relaxed);
        if !self.client.state().is_host() {
            return Ok("you are not the host".into());
        }
        self.send(ClientEvent::ControlRelease).await?;
        let _ = self.wait_until(HOST_CHANGE_WAIT, |s| !s.is_host()).await;
        Ok("host control released".into())
    }

    /// Records whether this session should keep host control (after admin take/reset).
    pub fn want_host(&self, want: bool) {
        self.shared.want_host.store(want, Ordering::Relaxed);
    }

    /// While `on`, this session steps aside for a person: it never asks for host control while
    /// another session hosts (someone took it, or was given it), only once control is released
    /// (and at the start, as [`Controller::wait_connected`] does).
    pub fn step_aside(&self, on: bool) {
        self.shared.step_aside.store(on, Ordering::Relaxed);
    }

    /// Our session id, once known.
    pub fn session_id(&self) -> Option<String> {
        self.client.state().session_id
    }

    /// The host's session id as the room last reported it (None: nobody hosts).
    pub fn host_id(&self) -> Option<String> {
        self.client.state().host_id
    }

    /// Whether the room last reported another session as host. The client updates its room
    /// state before it passes the event on, so this is true from the moment the report arrived.
    pub fn someone_else_hosts(&self) -> bool {
        let state = self.client.state();
        state.host_id.is_some() && !state.is_host()
    }

    /// Whether the session ended for good (wrong password, kicked, pipeline error…).
    pub fn check_alive(&self) -> Result<(), ControlError> {
        match &*lock(&self.shared.fatal) {
            Some(reason) => Err(ControlError::Connection(reason.clone())),
            None => Ok(()),
        }
    }

    /// Ends the session for good with `reason` (a pipeline error, for example); waiting
    /// commands fail with it.
    pub fn fail(&self, reason: String) {
        lock(&self.shared.fatal).get_or_insert(reason);
        self.shared.changes.send_modify(|n| *n += 1);
    }

    async fn send(&self, event: ClientEvent) -> Result<(), ControlError> {
        self.ensure_connected().await?;
        Ok(self.client.send(event).await?)
    }

    /// Returns once the WebSocket is up, waiting out a reconnect for up to the host timeout.
    async fn ensure_connected(&self) -> Result<(), ControlError> {
        self.check_alive()?;
        let limit = self.options.host_timeout;
        self.wait_until(limit, |s| s.connected)
            .await
            .map_err(|error| match error {
                ControlError::Refused(_) => ControlError::Connection(format!(
                    "lost the connection to {} and it did not come back within {:.0} s{}",
                    self.client.rest().target().display_server(),
                    limit.as_secs_f64(),
                    lock(&self.shared.last_problem)
                        .as_ref()
                        .map(|p| format!(" ({p})"))
                        .unwrap_or_default()
                )),
                other => other,
            })
    }

    /// Returns once host; asks for control when allowed, holding the input meanwhile.
    async fn ensure_host(&self) -> Result<(), ControlError> {
        self.ensure_connected().await?;
        if self.client.state().is_host() {
            return Ok(());
        }
        if !self.options.auto_host {
            let holder = self
                .client
                .state()
                .host_id
                .map_or_else(|| "nobody".to_owned(), |id| format!("session {id}"));
            return Err(ControlError::Refused(format!(
                "not the host ({holder} is): run `host` first (auto-host is off)"
            )));
        }
        self.shared.want_host.store(true, Ordering::Relaxed);
        let limit = self.options.host_timeout;
        let deadline = Instant::now() + limit;
        loop {
            // Ask again now and then while nobody holds control (a request can be lost
            // across a reconnect); never pester another host more than once per change.
            if self.client.state().host_id.is_none() {
                self.request_host();
            }
            let slice = REQUEST_RETRY.min(deadline.saturating_duration_since(Instant::now()));
            match self.wait_until(slice, |s| s.is_host()).await {
                Ok(()) => return Ok(()),
                Err(ControlError::Refused(_)) if Instant::now() < deadline => {}
                Err(ControlError::Refused(_)) => break,
                Err(other) => return Err(other),
            }
        }
        let holder = self
            .client
            .state()
            .host_id
            .unwrap_or_else(|| "nobody".into());
        Err(ControlError::Refused(format!(
            "host control was not granted within {:.0} s (host: {holder}); the input was not sent",
            limit.as_secs_f64()
        )))
    }

    /// Sends `control/request` unless one went out less than [`REQUEST_GAP`] ago.
    fn request_host(&self) {
        let mut last = lock(&self.shared.last_request);
        if last.is_some_and(|at| at.elapsed() < REQUEST_GAP) {
            return;
        }
        *last = Some(Instant::now());
        self.client.send_nowait(ClientEvent::ControlRequest);
    }

    /// Waits until `check` accepts the room state, the client dies, or `limit` passes.
    async fn wait_until(
        &self,
        limit: Duration,
        check: impl Fn(&gstneko::client::RoomState) -> bool,
    ) -> Result<(), ControlError> {
        let deadline = Instant::now() + limit;
        let mut changes = self.shared.changes.subscribe();
        loop {
            self.check_alive()?;
            if check(&self.client.state()) {
                return Ok(());
            }
            match timeout_at(deadline, changes.changed()).await {
                Ok(Ok(())) => {}
                _ => return Err(ControlError::Refused("timed out".into())),
            }
        }
    }

    /// Prints events, re-requests host control when lost, and learns screen and key changes.
    async fn follow(self, mut notices: broadcast::Receiver<ClientNotice>, printer: Printer) {
        let mut roster = Roster::default();
        if let Some(session_id) = self.client.state().session_id {
            // Subscribed after connecting: announce what an early subscriber would have seen.
            let connected = ClientNotice::Connected {
                session_id,
                reconnect: false,
            };
            if let Some(line) = roster.describe(&connected) {
                printer(&line);
            }
        }
        loop {
            let notice = match notices.recv().await {
                Ok(notice) => notice,
                Err(broadcast::error::RecvError::Lagged(_)) => continue,
                Err(broadcast::error::RecvError::Closed) => break,
            };
            if let ClientNotice::Event(event) = &notice {
                roster.learn(event);
                self.on_event(event, &printer);
            }
            match &notice {
                ClientNotice::Fatal(error) => {
                    lock(&self.shared.fatal).get_or_insert(error.to_string());
                }
                ClientNotice::Disconnected { reason, .. } => {
                    *lock(&self.shared.last_problem) = Some(reason.clone());
                }
                ClientNotice::Retrying { error, .. } => {
                    *lock(&self.shared.last_problem) = Some(error.clone());
                }
                _ => {}
            }
            if let Some(line) = roster.describe(&notice) {
                printer(&line);
            }
            self.shared.changes.send_modify(|n| *n += 1);
            if matches!(notice, ClientNotice::Fatal(_)) {
                break;
            }
        }
    }

    fn on_event(&self, event: &ServerEvent, printer: &Printer) {
        match event {
            ServerEvent::ControlHost(_) | ServerEvent::SystemInit(_) => {
                let state = self.client.state();
                if !self.shared.want_host.load(Ordering::Relaxed)
                    || !state.connected
                    || state.is_host()
                {
                    return;
                }
                if self.shared.step_aside.load(Ordering::Relaxed) && state.host_id.is_some() {
                    // A person holds control: wait for it to be released or given back.
                    return;
                }
                if matches!(event, ServerEvent::ControlHost(_)) {
                    // Host changes are broadcast once each, so answering every one cannot loop.
                    *lock(&self.shared.last_request) = Some(Instant::now());
                    self.client.send_nowait(ClientEvent::ControlRequest);
                } else {
                    // On (re)connect `wait_connected` may have asked already: ask only once.
                    self.request_host();
                }
            }
            ServerEvent::ScreenUpdated(_) => *lock(&self.shared.screen_override) = None,
            ServerEvent::Unknown { event, payload } if event == "keyboard/map" => {
                let learnt = payload.as_ref().map_or(0, |p| self.learn_keys(p));
                printer(&format!(
                    "the server sent {learnt} key name(s); the key table is updated"
                ));
            }
            _ => {}
        }
    }

    /// Merges a server-sent key map (`{"map": {name: keysym}}` or `{name: keysym}`, as legacy
    /// servers send it; v3 servers never do) into the key table; returns how many names it had.
    fn learn_keys(&self, payload: &serde_json::Value) -> usize {
        let map = payload.get("map").unwrap_or(payload);
        let Some(entries) = map.as_object() else {
            return 0;
        };
        let Ok(mut keys) = self.shared.keys.write() else {
            return 0;
        };
        let mut learnt = 0;
        for (name, value) in entries {
            if let Some(keysym) = value.as_u64().and_then(|v| u32::try_from(v).ok()) {
                keys.insert(name, Keysym(keysym));
                learnt += 1;
            }
        }
        learnt
    }
}

/// Where the pointer is after an action, if it moved.
fn end_point(action: &Action) -> Option<Point> {
    match action {
        Action::Move { at }
        | Action::Hover { at }
        | Action::Click { at, .. }
        | Action::DoubleClick { at, .. }
        | Action::Tap { at, .. } => Some(*at),
        Action::Drag { to, .. } => Some(*to),
        _ => None,
    }
}
