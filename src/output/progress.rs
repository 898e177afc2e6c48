//! What of a batch an output still owes: the records neither accepted by the destination nor
//! written to the dead-letter file. The worker (`worker.rs`) keeps the one `Todo` of each batch
//! across attempts; an output's `send` narrows it as the destination accepts records (per-item
//! bulk results, partial beats ACKs, CloudWatch calls), so a retry sends only the rest.

/// Indices into `Batch::events`, in batch order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Todo {
    left: Vec<usize>,
    /// The batch's place in its output's stream (0, 1, 2, … in the order the worker took the
    /// batches), the same on every attempt: an output sending several batches at once that must
    /// keep their order (`file`) writes by it. None when a caller sends without a worker.
    turn: Option<u64>,
}

impl Todo {
    /// Every record of a batch of `n`.
    pub fn all(n: usize) -> Todo {
        Todo {
            left: (0..n).collect(),
            turn: None,
        }
    }

    /// Every record of a batch of `n`, the worker's `turn`-th batch.
    pub fn in_turn(n: usize, turn: u64) -> Todo {
        Todo {
            turn: Some(turn),
            ..Todo::all(n)
        }
    }

    /// The batch's place in its output's stream, if the worker gave it one.
    pub fn turn(&self) -> Option<u64> {
        self.turn
    }

    /// Gives the batch its place (an output called without a worker numbers its batches).
    pub fn set_turn(&mut self, turn: u64) {
        self.turn = Some(turn);
    }

    /// The records still owed, in batch order.
    pub fn indices(&self) -> &[usize] {
        &self.left
    }

    pub fn len(&self) -> usize {
        self.left.len()
    }

    pub fn is_empty(&self) -> bool {
        self.left.is_empty()
    }

    /// Keeps only the records `still_owed` says are; the order stays.
    pub fn retain(&mut self, mut still_owed: impl FnMut(usize) -> bool) {
        self.left.retain(|&i| still_owed(i));
    }

    /// The first `n` owed records were accepted (an ordered protocol's partial ACK).
    pub fn accepted_first(&mut self, n: usize) {
        self.left.drain(..n.min(self.left.len()));
    }

    /// Everything was accepted.
    pub fn clear(&mut self) {
        self.left.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn narrows_in_order() {
        let mut t = Todo::all(6);
        t.accepted_first(2);
        assert_eq!(t.indices(), &[2, 3, 4, 5]);
        t.retain(|i| i % 2 == 1);
        assert_eq!(t.indices(), &[3, 5]);
        t.accepted_first(9);
        assert!(t.is_empty());
        assert_eq!(Todo::all(0).len(), 0);
    }
}
