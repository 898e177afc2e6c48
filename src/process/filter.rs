//! `drop` (records matching the condition go) and `include` (only matching records stay). A
//! record that goes still moves its source's checkpoint forward (it becomes ack-only).

use super::condition::Condition;

pub struct Filter {
    pub when: Condition,
    /// true for `include`: keep matching records; false for `drop`: drop them.
    pub keep_matching: bool,
}

impl Filter {
    pub fn keeps(&self, e: &crate::event::Event) -> bool {
        self.when.matches(e) == self.keep_matching
    }
}
