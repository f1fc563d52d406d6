//! [`InOrder`]: results of parallel synthesis workers, numbered when the work was handed out,
//! released in that order however they finish, so chunks are spoken in sequence. A failed chunk
//! is released as its error, for the caller to report and skip.

use std::collections::BTreeMap;

/// A result could not be accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReorderError {
    /// The number was already released (or skipped past).
    #[error("chunk {seq} arrived after chunks up to {released} were released")]
    Late {
        /// The number given.
        seq: u64,
        /// The last number released.
        released: u64,
    },
    /// The number is already waiting.
    #[error("chunk {0} was delivered twice")]
    Duplicate(u64),
}

/// Reassembles numbered results in order, starting from a given number.
#[derive(Debug)]
pub struct InOrder<T, E> {
    next: u64,
    waiting: BTreeMap<u64, Result<T, E>>,
}

impl<T, E> InOrder<T, E> {
    /// Expects the numbers `first`, `first + 1`, …
    pub fn new(first: u64) -> Self {
        Self {
            next: first,
            waiting: BTreeMap::new(),
        }
    }

    /// The number the next release must have.
    pub fn next_seq(&self) -> u64 {
        self.next
    }

    /// Results received but not yet releasable (an earlier one is missing).
    pub fn waiting(&self) -> usize {
        self.waiting.len()
    }

    /// Accepts the result of chunk `seq`.
    pub fn insert(&mut self, seq: u64, result: Result<T, E>) -> Result<(), ReorderError> {
        if seq < self.next {
            return Err(ReorderError::Late {
                seq,
                released: self.next.saturating_sub(1),
            });
        }
        if self.waiting.contains_key(&seq) {
            return Err(ReorderError::Duplicate(seq));
        }
        self.waiting.insert(seq, result);
        Ok(())
    }

    /// The next result in order, if it has arrived: `(seq, result)`.
    pub fn pop(&mut self) -> Option<(u64, Result<T, E>)> {
        let result = self.waiting.remove(&self.next)?;
        let seq = self.next;
        self.next += 1;
        Some((seq, result))
    }

    /// Every result that can be released now, in order.
    pub fn drain_ready(&mut self) -> Vec<(u64, Result<T, E>)> {
        std::iter::from_fn(|| self.pop()).collect()
    }

    /// Forgets everything waiting and expects `next` from now on (after `/yap:stop`, with the
    /// numbering of the new work).
    pub fn reset(&mut self, next: u64) {
        self.waiting.clear();
        self.next = next;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_come_out_in_order_with_failures_in_place() {
        let mut order: InOrder<&str, String> = InOrder::new(0);
        order.insert(2, Ok("c")).unwrap();
        order.insert(1, Err("engine failed".into())).unwrap();
        assert!(order.drain_ready().is_empty());
        assert_eq!(order.waiting(), 2);
        order.insert(0, Ok("a")).unwrap();
        assert_eq!(
            order.drain_ready(),
            vec![(0, Ok("a")), (1, Err("engine failed".into())), (2, Ok("c"))]
        );
        assert_eq!(order.next_seq(), 3);
        assert_eq!(order.pop(), None);
    }

    #[test]
    fn late_and_duplicate_results_are_refused() {
        let mut order: InOrder<u8, ()> = InOrder::new(5);
        assert_eq!(
            order.insert(4, Ok(1)),
            Err(ReorderError::Late {
                seq: 4,
                released: 4
            })
        );
        order.insert(6, Ok(1)).unwrap();
        assert_eq!(order.insert(6, Ok(2)), Err(ReorderError::Duplicate(6)));
    }

    #[test]
    fn reset_starts_a_new_numbering() {
        let mut order: InOrder<u8, ()> = InOrder::new(0);
        order.insert(3, Ok(3)).unwrap();
        order.reset(10);
        assert_eq!(order.waiting(), 0);
        order.insert(10, Ok(1)).unwrap();
        assert_eq!(order.pop(), Some((10, Ok(1))));
    }
}
