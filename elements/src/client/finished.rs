//! A flag that a task has ended, which threads outside the runtime can wait for with a timeout.

use std::sync::{Condvar, Mutex};
use std::time::Duration;

/// Set once when the task ends; [`Finished::wait`] blocks until then.
#[derive(Debug, Default)]
pub struct Finished {
    done: Mutex<bool>,
    changed: Condvar,
}

impl Finished {
    /// Marks the task ended and wakes every waiter.
    pub fn set(&self) {
        *self.done.lock().unwrap() = true;
        self.changed.notify_all();
    }

    /// Blocks until the task ended or `timeout` passed; true when it ended.
    pub fn wait(&self, timeout: Duration) -> bool {
        let done = self.done.lock().unwrap();
        let (done, _) = self
            .changed
            .wait_timeout_while(done, timeout, |done| !*done)
            .unwrap();
        *done
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn waits_for_the_flag_or_the_timeout() {
        let finished = Arc::new(Finished::default());
        assert!(!finished.wait(Duration::from_millis(10)));
        let setter = finished.clone();
        let thread = std::thread::spawn(move || setter.set());
        assert!(finished.wait(Duration::from_secs(5)));
        thread.join().expect("setter thread");
    }
}
