//! Fuzz target: `logship::fuzzing::migrate` (see src/fuzzing.rs for what it drives).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| logship::fuzzing::migrate(data));
