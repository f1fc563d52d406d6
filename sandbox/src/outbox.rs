//! The queue between the room and one WebSocket: everything a socket writes goes through it, in
//! order. The queue is bounded in bytes: a client that stops reading fills it, and is then cut off
//! instead of growing the room's memory without end.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use gstneko::protocol::ServerEvent;
use tokio::sync::Notify;
use tokio::sync::mpsc::{self, UnboundedReceiver, UnboundedSender};

/// What one queued frame costs beyond its text (the queue entry and its allocation).
const FRAME_OVERHEAD: usize = 64;

/// Something for a socket's writer to do.
#[derive(Debug)]
pub(super) enum Outgoing {
    /// Write one text frame.
    Text(String),
    /// Drop the connection without a close frame.
    Close(Ending),
}

/// How a socket's life ended, which decides what happens to its session (§2.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Ending {
    /// The client sent close code 1000 or 1001: disconnected at once.
    Normal,
    /// Any other termination: delayed disconnect.
    Abnormal,
    /// The room closed it (kick, replace, delete, shutdown) and already updated the session.
    Server,
}

/// State shared by both ends of one queue.
#[derive(Debug)]
struct Shared {
    /// Bytes queued and not yet taken by the writer.
    queued: AtomicUsize,
    /// Most bytes that may wait.
    limit: usize,
    /// Set once the queue overflowed; later frames are dropped.
    overflowed: AtomicBool,
    /// Wakes the writer when the queue overflowed.
    overflow: Notify,
}

/// The room's end of one connected socket.
#[derive(Debug)]
pub(super) struct SocketLink {
    /// Distinguishes this socket from a later one of the same session.
    pub conn_id: u64,
    tx: UnboundedSender<Outgoing>,
    shared: Arc<Shared>,
}

/// The writer's end of one socket's queue.
#[derive(Debug)]
pub(super) struct Outbox {
    rx: UnboundedReceiver<Outgoing>,
    shared: Arc<Shared>,
}

/// A queue for connection `conn_id` holding at most `limit` bytes of frames.
pub(super) fn outbox(conn_id: u64, limit: usize) -> (SocketLink, Outbox) {
    let (tx, rx) = mpsc::unbounded_channel();
    let shared = Arc::new(Shared {
        queued: AtomicUsize::new(0),
        limit,
        overflowed: AtomicBool::new(false),
        overflow: Notify::new(),
    });
    let link = SocketLink {
        conn_id,
        tx,
        shared: shared.clone(),
    };
    (link, Outbox { rx, shared })
}

impl SocketLink {
    /// Queues an event.
    pub fn send(&self, event: &ServerEvent) {
        self.send_text(event.to_json());
    }

    /// Queues a raw text frame; when that would pass the byte limit, the frame is dropped and
    /// the writer told to cut the connection (a client that does not read).
    pub fn send_text(&self, text: String) {
        let shared = &self.shared;
        if shared.overflowed.load(Ordering::Relaxed) {
            return;
        }
        let cost = text.len() + FRAME_OVERHEAD;
        let queued = shared.queued.fetch_add(cost, Ordering::Relaxed) + cost;
        if queued > shared.limit {
            shared.queued.fetch_sub(cost, Ordering::Relaxed);
            shared.overflowed.store(true, Ordering::Relaxed);
            shared.overflow.notify_one();
            return;
        }
        // A closed queue means the socket is already gone; nothing to deliver to.
        if self.tx.send(Outgoing::Text(text)).is_err() {
            shared.queued.fetch_sub(cost, Ordering::Relaxed);
        }
    }

    /// Queues the end of the connection.
    pub fn close(&self, ending: Ending) {
        let _ = self.tx.send(Outgoing::Close(ending));
    }

    /// Sends `system/disconnect {"message": reason}` and drops the connection.
    pub fn disconnect(&self, reason: &str) {
        self.send(&ServerEvent::SystemDisconnect(
            gstneko::protocol::SystemDisconnect::new(reason),
        ));
        self.close(Ending::Server);
    }
}

impl Outbox {
    /// The next thing to write; `None` once every link is gone.
    pub async fn recv(&mut self) -> Option<Outgoing> {
        let outgoing = self.rx.recv().await;
        if let Some(Outgoing::Text(text)) = &outgoing {
            self.shared
                .queued
                .fetch_sub(text.len() + FRAME_OVERHEAD, Ordering::Relaxed);
        }
        outgoing
    }

    /// What tells the writer that the queue overflowed.
    pub fn overflow(&self) -> Overflow {
        Overflow(self.shared.clone())
    }
}

/// The overflow state of one queue, watched by its writer.
#[derive(Debug, Clone)]
pub(super) struct Overflow(Arc<Shared>);

impl Overflow {
    /// Resolves once the queue overflowed (at once when it already did).
    pub async fn happened(&self) {
        let notified = self.0.overflow.notified();
        if self.is_set() {
            return;
        }
        notified.await;
    }

    /// Whether the queue overflowed.
    pub fn is_set(&self) -> bool {
        self.0.overflowed.load(Ordering::Relaxed)
    }

    /// The byte limit, for the log line.
    pub fn limit(&self) -> usize {
        self.0.limit
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_full_queue_drops_frames_and_reports_the_overflow() {
        let (link, mut outbox) = outbox(1, 1000);
        for _ in 0..100 {
            link.send_text("x".repeat(100));
        }
        tokio::time::timeout(
            std::time::Duration::from_secs(1),
            outbox.overflow().happened(),
        )
        .await
        .expect("overflow reported");
        let mut delivered = 0;
        drop(link);
        while let Some(Outgoing::Text(_)) = outbox.recv().await {
            delivered += 1;
        }
        assert_eq!(delivered, 1000 / (100 + FRAME_OVERHEAD));
    }

    #[tokio::test]
    async fn a_reading_writer_never_overflows() {
        let (link, mut outbox) = outbox(1, 1000);
        for _ in 0..100 {
            link.send_text("x".repeat(100));
            assert!(matches!(outbox.recv().await, Some(Outgoing::Text(_))));
        }
        let overflow = outbox.overflow();
        let waited =
            tokio::time::timeout(std::time::Duration::from_millis(50), overflow.happened());
        assert!(waited.await.is_err());
    }
}
