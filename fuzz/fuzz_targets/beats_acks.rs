//! Fuzz target: `logship::fuzzing::beats_acks` (see src/fuzzing.rs for what it drives).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| logship::fuzzing::beats_acks(data));
