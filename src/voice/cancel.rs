//! [`CancelFlag`]: how `/yap:stop` reaches synthesis already under way.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// A flag shared between whoever may stop the work (the chat handler) and the work itself (a
/// synthesis call), which checks it between steps. Clones share the flag; once cancelled it stays
/// cancelled, so give each batch of work a fresh one.
#[derive(Debug, Clone, Default)]
pub struct CancelFlag(Arc<AtomicBool>);

impl CancelFlag {
    /// A flag that is not cancelled.
    pub fn new() -> Self {
        Self::default()
    }

    /// Asks the work holding a clone of this flag to stop.
    pub fn cancel(&self) {
        self.0.store(true, Ordering::Release);
    }

    /// Whether [`cancel`](Self::cancel) was called on this flag or a clone.
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clones_share_the_flag() {
        let flag = CancelFlag::new();
        let worker = flag.clone();
        assert!(!worker.is_cancelled());
        flag.cancel();
        assert!(worker.is_cancelled());
        assert!(!CancelFlag::new().is_cancelled());
    }
}
