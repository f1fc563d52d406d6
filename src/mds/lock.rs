//! Exclusive locks on a dataset (or a workspace) so that two writers never share it.

use std::fs::{File, TryLockError};
use std::time::{Duration, Instant};

/// How long a taken lock is waited for before another writer is assumed.
const PATIENCE: Duration = Duration::from_secs(1);

/// Takes an exclusive `flock` on `file`: `Ok(false)` when another writer holds it.
///
/// A process this one forks holds a copy of the descriptor until it execs, so the lock can look
/// taken for a moment while another thread starts a child process; only a lock that stays taken
/// for a second means another writer.
pub fn lock_exclusive(file: &File) -> std::io::Result<bool> {
    let deadline = Instant::now() + PATIENCE;
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(true),
            Err(TryLockError::WouldBlock) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(10));
            }
            Err(TryLockError::WouldBlock) => return Ok(false),
            Err(TryLockError::Error(error)) => return Err(error),
        }
    }
}
