//! The room's shared state, its lock, and the media work done after the lock is released.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError, Weak};
use std::time::Instant;

use gstneko::protocol::{MemberProfile, ScreenSize, ServerEvent, Settings};

use super::config::RoomConfig;
use super::desktop::DesktopInput;
use super::heard::Heard;
use super::keyboard::Keyboard;
use super::media::RoomMedia;
use super::peer::PeerHandle;
use super::recorder::InputRecorder;
use super::sessions::Sessions;

/// Mutable room state, guarded by one lock that is never held across an await or a media call.
pub(super) struct RoomState {
    /// Every session.
    pub sessions: Sessions,
    /// The current host.
    pub host: Option<String>,
    /// Room settings.
    pub settings: Settings,
    /// Current screen size.
    pub screen: ScreenSize,
    /// Keyboard layout and modifiers, as clients last set them.
    pub keyboard: Keyboard,
}

impl RoomState {
    /// Queues `event` for one session's socket.
    pub fn send(&self, id: &str, event: &ServerEvent) {
        if let Some(session) = self.sessions.get(id) {
            session.send(event);
        }
    }

    /// Queues `event` for every connected socket.
    pub fn broadcast(&self, event: &ServerEvent) {
        let text = event.to_json();
        for socket in self.sessions.iter().filter_map(|s| s.socket.as_ref()) {
            socket.send_text(text.clone());
        }
    }

    /// Queues `event` for every connected socket except `except`'s.
    pub fn broadcast_except(&self, except: &str, event: &ServerEvent) {
        let text = event.to_json();
        for session in self.sessions.iter().filter(|s| s.id != except) {
            if let Some(socket) = &session.socket {
                socket.send_text(text.clone());
            }
        }
    }

    /// Whether `id` is the host.
    pub fn is_host(&self, id: &str) -> bool {
        self.host.as_deref() == Some(id)
    }

    /// The WebRTC peers of every session but the host's: those shown the host's pointer.
    pub fn viewer_peers(&self) -> Vec<PeerHandle> {
        self.sessions
            .iter()
            .filter(|session| !self.is_host(&session.id))
            .filter_map(|session| session.peer.as_ref().map(|slot| slot.handle.clone()))
            .collect()
    }

    /// Whether private mode applies to `profile` (on, and not an admin).
    pub fn private_for(&self, profile: &MemberProfile) -> bool {
        self.settings.private_mode && !profile.is_admin
    }
}

/// Media work decided under the state lock and run after it is released
/// (media callbacks take the lock too, so calling media under it could deadlock).
#[derive(Default)]
pub(super) struct Effects {
    inputs: Vec<DesktopInput>,
    close_peers: Vec<PeerHandle>,
    cursor_position: Option<(Vec<PeerHandle>, u16, u16)>,
}

impl Effects {
    /// Applies desktop input.
    pub fn input(&mut self, input: DesktopInput) {
        self.inputs.push(input);
    }

    /// Applies several desktop inputs in order.
    pub fn inputs(&mut self, inputs: impl IntoIterator<Item = DesktopInput>) {
        self.inputs.extend(inputs);
    }

    /// Sends the host's pointer position `(x, y)` to `viewers`' data channels.
    pub fn cursor_position(&mut self, viewers: Vec<PeerHandle>, x: u16, y: u16) {
        self.cursor_position = Some((viewers, x, y));
    }

    /// Closes a peer silently.
    pub fn close_peer(&mut self, peer: PeerHandle) {
        self.close_peers.push(peer);
    }
}

/// Everything the room's tasks share.
pub(super) struct RoomShared {
    /// Start-up configuration.
    pub config: RoomConfig,
    /// Recorded input.
    pub recorder: InputRecorder,
    /// Audio clients sent up, and chat messages, as the room received them.
    pub heard: Heard,
    /// When the room started.
    pub started: Instant,
    state: Mutex<RoomState>,
    media: OnceLock<Arc<RoomMedia>>,
    next_conn: AtomicU64,
    /// `POST /api/login` requests received, successful or not.
    pub login_attempts: AtomicU64,
    self_ref: Weak<RoomShared>,
}

impl RoomShared {
    /// Shared state for a room about to start.
    pub fn new(config: RoomConfig) -> Arc<Self> {
        let mut settings = config.settings.clone();
        if settings.control_protection {
            settings.locked_controls = true;
        }
        let rate = i16::try_from(config.rate).unwrap_or(i16::MAX);
        let state = RoomState {
            sessions: Sessions::default(),
            host: None,
            settings,
            screen: ScreenSize::new(config.width, config.height, rate),
            keyboard: Keyboard::default(),
        };
        Arc::new_cyclic(|self_ref| Self {
            config,
            recorder: InputRecorder::default(),
            heard: Heard::default(),
            started: Instant::now(),
            state: Mutex::new(state),
            media: OnceLock::new(),
            next_conn: AtomicU64::new(1),
            login_attempts: AtomicU64::new(0),
            self_ref: self_ref.clone(),
        })
    }

    /// A weak reference for tasks and callbacks that must not keep the room alive.
    pub fn weak(&self) -> Weak<Self> {
        self.self_ref.clone()
    }

    /// The media side, when it runs.
    pub fn media(&self) -> Option<&Arc<RoomMedia>> {
        self.media.get()
    }

    /// Installs the media side once it started.
    pub fn set_media(&self, media: Arc<RoomMedia>) {
        // Only Room::start sets it, once.
        let _ = self.media.set(media);
    }

    /// A fresh socket id.
    pub fn next_conn_id(&self) -> u64 {
        self.next_conn.fetch_add(1, Ordering::Relaxed)
    }

    /// Reads the state.
    pub fn read<R>(&self, f: impl FnOnce(&RoomState) -> R) -> R {
        f(&self.state.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// Changes the state, then runs the media work `f` asked for.
    pub fn update<R>(&self, f: impl FnOnce(&mut RoomState, &mut Effects) -> R) -> R {
        let mut effects = Effects::default();
        let result = {
            let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
            f(&mut state, &mut effects)
        };
        self.run(effects);
        result
    }

    fn run(&self, effects: Effects) {
        if let Some(media) = self.media() {
            for input in effects.inputs {
                media.apply_input(input);
            }
        }
        if let Some((viewers, x, y)) = effects.cursor_position {
            for viewer in viewers {
                viewer.send_cursor_position(x, y);
            }
        }
        for peer in effects.close_peers {
            peer.close();
        }
    }
}
