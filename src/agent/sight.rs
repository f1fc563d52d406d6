//! Whether the agent can see: the connection's state, counted in connections (one per
//! `system/init`), and fresh frames — ones that arrived after the last action and after the
//! current connection was made. A step only looks at a fresh frame, and its action is only sent
//! while the connection it was planned in is still up.

use std::time::Duration;

use gstneko::client::{ClientNotice, NekoClient};
use tokio::sync::{broadcast, watch};
use tokio::time::{Instant, sleep_until, timeout_at};

use super::frames::FrameSource;
use crate::frame::RawFrame;

/// How long the agent waits before it calls itself blind.
#[derive(Debug, Clone, Copy)]
pub struct SightLimits {
    /// Longest wait for a fresh frame while connected (`NEKO_FRAME_TIMEOUT`).
    pub frame_timeout: Duration,
    /// Longest wait for a lost connection to come back (`NEKO_RECONNECT_TIMEOUT`).
    pub reconnect_timeout: Duration,
}

/// Why the agent cannot see the screen.
#[derive(Debug, Clone, thiserror::Error)]
pub enum BlindError {
    /// The connection dropped and did not come back in time.
    #[error(
        "lost the connection to {server} and it did not come back within {limit_s:.0} s (NEKO_RECONNECT_TIMEOUT){problem}; the task is not finished"
    )]
    ConnectionLost {
        /// The server.
        server: String,
        /// The limit, in seconds.
        limit_s: f64,
        /// `: <the last problem>` when one is known.
        problem: String,
    },
    /// Connected, but no new frame arrived in time.
    #[error(
        "no fresh video frame from {server} within {limit_s:.0} s although the connection is up (NEKO_FRAME_TIMEOUT); the agent cannot see the screen"
    )]
    NoFreshFrame {
        /// The server.
        server: String,
        /// The limit, in seconds.
        limit_s: f64,
    },
    /// The client stopped for good.
    #[error("{0}")]
    Ended(String),
}

/// The connection as the agent sees it.
#[derive(Debug, Clone, PartialEq)]
struct LinkState {
    connected: bool,
    /// Counts connections: 1 for the first, up by one at every reconnect.
    connection: u64,
    /// How many frames had arrived when the current connection was made.
    frames_at_connect: u64,
    /// When the connection was lost (while not connected).
    lost_at: Option<Instant>,
    /// Why the client stopped for good.
    ended: Option<String>,
    /// The latest connection problem.
    problem: Option<String>,
}

/// A fresh frame and the connection it arrived in.
#[derive(Debug, Clone)]
pub struct View {
    /// The frame.
    pub frame: RawFrame,
    /// The connection (see [`Sight::is_current`]).
    pub connection: u64,
}

/// Follows the client's connection and the frames, and hands out fresh frames.
#[derive(Clone)]
pub struct Sight {
    frames: FrameSource,
    link: watch::Receiver<LinkState>,
    limits: SightLimits,
    server: String,
}

impl Sight {
    /// Starts following `client` (connected or not) and `frames`.
    pub fn follow(client: &NekoClient, frames: FrameSource, limits: SightLimits) -> Self {
        let notices = client.subscribe();
        let (sender, link) = watch::channel(LinkState::new(client.state().connected));
        tokio::spawn(follow_notices(notices, sender, frames.clone()));
        Self {
            frames,
            link,
            limits,
            server: client.rest().target().display_server(),
        }
    }

    /// Whether connection number `connection` is still the live one (no drop since).
    pub fn is_current(&self, connection: u64) -> bool {
        let state = self.link.borrow();
        state.connected && state.connection == connection
    }

    /// Waits for a frame newer than frame number `after` that arrived in the live connection:
    /// through a drop for up to the reconnect timeout, then for up to the frame timeout.
    pub async fn fresh_frame(&self, after: u64) -> Result<View, BlindError> {
        self.wait_fresh(after, self.limits.frame_timeout).await
    }

    /// The first frame of a session: as [`Sight::fresh_frame`], waiting at least `patience`
    /// for it (a session's first frame takes longer than the next ones).
    pub async fn first_frame(&self, patience: Duration) -> Result<View, BlindError> {
        self.wait_fresh(0, patience.max(self.limits.frame_timeout))
            .await
    }

    async fn wait_fresh(&self, after: u64, frame_timeout: Duration) -> Result<View, BlindError> {
        let mut link = self.link.clone();
        let mut arrivals = self.frames.arrivals();
        let mut waiting_in: Option<(u64, Instant)> = None;
        loop {
            let state = link.borrow_and_update().clone();
            if let Some(reason) = state.ended {
                return Err(BlindError::Ended(reason));
            }
            if !state.connected {
                let deadline =
                    state.lost_at.unwrap_or_else(Instant::now) + self.limits.reconnect_timeout;
                match timeout_at(deadline, link.changed()).await {
                    Ok(Ok(())) => continue,
                    _ => return Err(self.connection_lost(&link.borrow())),
                }
            }
            let started = match waiting_in {
                Some((connection, started)) if connection == state.connection => started,
                _ => {
                    let now = Instant::now();
                    waiting_in = Some((state.connection, now));
                    now
                }
            };
            let needed = after.max(state.frames_at_connect);
            tokio::select! {
                arrived = async { arrivals.wait_for(|n| *n > needed).await.is_ok() } => {
                    if !arrived {
                        return Err(BlindError::Ended("the video pipeline stopped".into()));
                    }
                    if let Some(frame) = self.frames.latest().filter(|f| f.number > needed)
                        && self.is_current(state.connection)
                    {
                        return Ok(View { frame, connection: state.connection });
                    }
                    // The connection changed meanwhile: look again.
                    let _ = link.changed().await;
                }
                changed = link.changed() => {
                    if changed.is_err() {
                        return Err(BlindError::Ended("the Neko client stopped".into()));
                    }
                }
                () = sleep_until(started + frame_timeout) => {
                    return Err(BlindError::NoFreshFrame {
                        server: self.server.clone(),
                        limit_s: frame_timeout.as_secs_f64(),
                    });
                }
            }
        }
    }

    fn connection_lost(&self, state: &LinkState) -> BlindError {
        if let Some(reason) = &state.ended {
            return BlindError::Ended(reason.clone());
        }
        BlindError::ConnectionLost {
            server: self.server.clone(),
            limit_s: self.limits.reconnect_timeout.as_secs_f64(),
            problem: state
                .problem
                .as_ref()
                .map(|p| format!(": {p}"))
                .unwrap_or_default(),
        }
    }
}

impl LinkState {
    fn new(connected: bool) -> Self {
        Self {
            connected,
            connection: u64::from(connected),
            frames_at_connect: 0,
            lost_at: (!connected).then(Instant::now),
            ended: None,
            problem: None,
        }
    }

    /// Takes in one notice (`frames_received` frames had arrived by then); false once the
    /// client stopped for good.
    fn apply(&mut self, notice: &ClientNotice, frames_received: u64) -> bool {
        match notice {
            ClientNotice::Connected { .. } => {
                self.connected = true;
                self.connection += 1;
                self.frames_at_connect = frames_received;
                self.lost_at = None;
            }
            ClientNotice::Disconnected { reason, .. } => {
                if self.connected {
                    self.lost_at = Some(Instant::now());
                }
                self.connected = false;
                self.problem = Some(reason.clone());
            }
            ClientNotice::Retrying { error, .. } => self.problem = Some(error.clone()),
            ClientNotice::Fatal(error) => {
                self.connected = false;
                self.ended = Some(error.to_string());
                return false;
            }
            ClientNotice::Event(_) => {}
        }
        true
    }
}

/// Keeps `link` up to date from the client's notices until the client stops.
async fn follow_notices(
    mut notices: broadcast::Receiver<ClientNotice>,
    link: watch::Sender<LinkState>,
    frames: FrameSource,
) {
    loop {
        let notice = match notices.recv().await {
            Ok(notice) => notice,
            Err(broadcast::error::RecvError::Lagged(_)) => continue,
            Err(broadcast::error::RecvError::Closed) => {
                link.send_modify(|state| {
                    state.connected = false;
                    state
                        .ended
                        .get_or_insert_with(|| "the Neko client stopped".into());
                });
                return;
            }
        };
        let mut going = true;
        link.send_modify(|state| going = state.apply(&notice, frames.received()));
        if !going {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gst::prelude::*;

    const LIMITS: SightLimits = SightLimits {
        frame_timeout: Duration::from_secs(5),
        reconnect_timeout: Duration::from_secs(1),
    };

    /// Live test video into an appsink named `frames`, and a sight whose connection the test
    /// drives with notices.
    fn playing() -> (gst::Pipeline, Sight, watch::Sender<LinkState>) {
        gst::init().unwrap();
        let pipeline = gst::parse::launch(
            "videotestsrc is-live=true ! video/x-raw,width=64,height=48,framerate=30/1 ! appsink name=frames",
        )
        .unwrap()
        .downcast::<gst::Pipeline>()
        .unwrap();
        let frames = FrameSource::attach(&pipeline).unwrap();
        pipeline.set_state(gst::State::Playing).unwrap();
        let (sender, link) = watch::channel(LinkState::new(true));
        let sight = Sight {
            frames,
            link,
            limits: LIMITS,
            server: "http://127.0.0.1:1".into(),
        };
        (pipeline, sight, sender)
    }

    fn notify(link: &watch::Sender<LinkState>, sight: &Sight, notice: ClientNotice) {
        let received = sight.frames.received();
        link.send_modify(|state| {
            state.apply(&notice, received);
        });
    }

    fn dropped() -> ClientNotice {
        ClientNotice::Disconnected {
            reason: "connection reset".into(),
            will_retry: true,
        }
    }

    #[tokio::test]
    async fn a_frame_planned_before_a_drop_is_stale_and_the_next_one_comes_after_the_reconnect() {
        let (pipeline, sight, link) = playing();
        let before = sight.fresh_frame(0).await.unwrap();
        assert_eq!(before.connection, 1);
        assert!(sight.is_current(1));

        notify(&link, &sight, dropped());
        assert!(!sight.is_current(1), "an action planned before the drop");
        let waiting = tokio::spawn({
            let sight = sight.clone();
            async move { sight.fresh_frame(before.frame.number).await }
        });
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(
            !waiting.is_finished(),
            "frames alone do not make the agent see"
        );
        let reconnected_after = sight.frames.received();
        notify(
            &link,
            &sight,
            ClientNotice::Connected {
                session_id: "a".into(),
                reconnect: true,
            },
        );
        let after = waiting.await.unwrap().unwrap();
        assert_eq!(after.connection, 2);
        assert!(after.frame.number > reconnected_after);
        assert!(!sight.is_current(1) && sight.is_current(2));
        pipeline.set_state(gst::State::Null).unwrap();
    }

    #[tokio::test]
    async fn a_drop_that_lasts_past_the_limit_is_a_lost_connection() {
        let (pipeline, sight, link) = playing();
        notify(&link, &sight, dropped());
        let started = Instant::now();
        let error = sight.fresh_frame(0).await.unwrap_err();
        assert!(started.elapsed() >= LIMITS.reconnect_timeout);
        assert!(
            matches!(error, BlindError::ConnectionLost { .. }),
            "{error}"
        );
        let text = error.to_string();
        assert!(
            text.contains("within 1 s (NEKO_RECONNECT_TIMEOUT): connection reset"),
            "{text}"
        );
        pipeline.set_state(gst::State::Null).unwrap();
    }

    #[tokio::test]
    async fn connected_without_new_frames_is_blind_after_the_frame_timeout() {
        let (pipeline, sight, _link) = playing();
        pipeline.set_state(gst::State::Paused).unwrap();
        let newest = sight.frames.received();
        let error = sight.fresh_frame(newest + 1_000_000).await.unwrap_err();
        assert!(matches!(error, BlindError::NoFreshFrame { .. }), "{error}");
        assert!(error.to_string().contains("NEKO_FRAME_TIMEOUT"), "{error}");
        pipeline.set_state(gst::State::Null).unwrap();
    }
}
