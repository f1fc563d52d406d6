//! A peer's data channel `data` (§4.3): the cursor image then, for viewers, the pointer position
//! on open; PONG for PING; host input handed to the control plane; and the host's pointer
//! position pushed to every other session as it moves.
//!
//! Cursor positions are state, not events: while a viewer's channel has more than
//! [`CURSOR_QUEUE_BYTES`] waiting (a slow or stalled reader, a host flooding moves), new
//! positions replace one held-back position instead of queueing, and that newest position goes
//! out once the queue has drained to half the limit.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};

use gst::glib;
use gst_webrtc::{WebRTCDataChannel, WebRTCDataChannelState};
use gstneko::protocol::{ClientDatagram, ServerDatagram};

use super::media::{MediaEvents, RoomMedia};
use crate::stamp;

/// Bytes a data channel may have waiting before cursor positions are held back.
const CURSOR_QUEUE_BYTES: u64 = 16 * 1024;

/// Side of the square cursor image sent on open.
const CURSOR_SIZE: u16 = 16;

/// A pointer position on the wire, `(x, y)`.
type Position = (u16, u16);

/// Decides whether a cursor position goes out now or waits, newest only, for a full queue to
/// drain.
#[derive(Debug, Default)]
struct PositionGate {
    held: Option<Position>,
}

impl PositionGate {
    /// The position to send now with `waiting` bytes queued; `None` holds it back instead,
    /// replacing any older held-back one. Sending now forgets an older held-back position.
    fn offer(&mut self, waiting: u64, position: Position) -> Option<Position> {
        if waiting > CURSOR_QUEUE_BYTES {
            self.held = Some(position);
            None
        } else {
            self.held = None;
            Some(position)
        }
    }

    /// The held-back position, once the queue has drained.
    fn drained(&mut self) -> Option<Position> {
        self.held.take()
    }
}

/// The room's end of one peer's data channel.
pub(super) struct RoomDataChannel {
    channel: WebRTCDataChannel,
    gate: Mutex<PositionGate>,
}

impl RoomDataChannel {
    /// Wires `channel` of `session_id`'s peer: open, messages and the drained-queue signal.
    pub fn wire(
        channel: WebRTCDataChannel,
        session_id: &str,
        events: Arc<MediaEvents>,
        media: Weak<RoomMedia>,
    ) -> Arc<Self> {
        channel.set_buffered_amount_low_threshold(CURSOR_QUEUE_BYTES / 2);
        let link = Arc::new(Self {
            channel: channel.clone(),
            gate: Mutex::new(PositionGate::default()),
        });

        let weak = Arc::downgrade(&link);
        let session = session_id.to_owned();
        let open_events = events.clone();
        channel.connect_on_open(move |_| {
            let Some(link) = weak.upgrade() else { return };
            link.send(&ServerDatagram::CursorImage {
                width: CURSOR_SIZE,
                height: CURSOR_SIZE,
                x_hot: 0,
                y_hot: 0,
                png: cursor_png(),
            });
            if (open_events.is_host)(&session) {
                return;
            }
            let pointer = media
                .upgrade()
                .and_then(|media| media.desktop().lock().ok().map(|d| d.cursor()));
            if let Some((x, y)) = pointer {
                let clamp = |v: i32| u16::try_from(v.max(0)).unwrap_or(u16::MAX);
                link.send(&ServerDatagram::CursorPosition {
                    x: clamp(x),
                    y: clamp(y),
                });
            }
        });

        let weak = Arc::downgrade(&link);
        channel.connect_on_buffered_amount_low(move |_| {
            let Some(link) = weak.upgrade() else { return };
            let held = link.gate().drained();
            if let Some((x, y)) = held {
                link.send(&ServerDatagram::CursorPosition { x, y });
            }
        });

        let weak = Arc::downgrade(&link);
        let session = session_id.to_owned();
        channel.connect_on_message_data(move |_, data| {
            let (Some(link), Some(data)) = (weak.upgrade(), data) else {
                return;
            };
            match ClientDatagram::decode(data) {
                Ok(ClientDatagram::Ping { timestamp_ms }) => link.send(&ServerDatagram::Pong {
                    client_ms: timestamp_ms,
                    server_ms: stamp::now_ms(),
                }),
                Ok(datagram) => (events.on_datachannel_input)(&session, datagram),
                Err(error) => tracing::debug!(%error, "unreadable data-channel message"),
            }
        });
        link
    }

    /// Sends the host's pointer position (op `0x01`); held back while the queue is full, and
    /// dropped before the channel opens (opening sends the position of that moment).
    pub fn send_cursor_position(&self, x: u16, y: u16) {
        if self.channel.ready_state() != WebRTCDataChannelState::Open {
            return;
        }
        let waiting = self.channel.buffered_amount();
        let now = self.gate().offer(waiting, (x, y));
        if let Some((x, y)) = now {
            self.send(&ServerDatagram::CursorPosition { x, y });
        }
    }

    fn gate(&self) -> MutexGuard<'_, PositionGate> {
        self.gate.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn send(&self, datagram: &ServerDatagram) {
        let bytes = glib::Bytes::from_owned(datagram.encode());
        if let Err(error) = self.channel.send_data_full(Some(&bytes)) {
            tracing::debug!(error = %error.message(), "data-channel send failed");
        }
    }
}

/// The 16 × 16 black arrow the room shows as its cursor image.
fn cursor_png() -> Vec<u8> {
    let size = u32::from(CURSOR_SIZE);
    let mut rgba = vec![0u8; (size * size * 4) as usize];
    for y in 0..size {
        for x in 0..=y.min(size - 1) / 2 + y / 2 {
            if x < size {
                let i = ((y * size + x) * 4) as usize;
                rgba[i..i + 4].copy_from_slice(&[0, 0, 0, 255]);
            }
        }
    }
    let mut png = Vec::new();
    let mut encoder = png::Encoder::new(&mut png, size, size);
    encoder.set_color(png::ColorType::Rgba);
    encoder.set_depth(png::BitDepth::Eight);
    let written = encoder
        .write_header()
        .and_then(|mut w| w.write_image_data(&rgba));
    if written.is_err() {
        return Vec::new();
    }
    png
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_queue_holds_back_only_the_newest_position() {
        let mut gate = PositionGate::default();
        assert_eq!(gate.offer(0, (1, 1)), Some((1, 1)));
        assert_eq!(gate.drained(), None);
        let full = CURSOR_QUEUE_BYTES + 1;
        for x in 0..10_000u16 {
            assert_eq!(gate.offer(full, (x, 5)), None);
        }
        assert_eq!(gate.drained(), Some((9_999, 5)), "only the newest is kept");
        assert_eq!(gate.drained(), None);
    }

    #[test]
    fn sending_now_forgets_an_older_held_position() {
        let mut gate = PositionGate::default();
        assert_eq!(gate.offer(CURSOR_QUEUE_BYTES + 1, (1, 2)), None);
        assert_eq!(gate.offer(CURSOR_QUEUE_BYTES, (3, 4)), Some((3, 4)));
        assert_eq!(gate.drained(), None);
    }
}
