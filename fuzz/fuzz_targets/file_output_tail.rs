//! Fuzz target: `logship::fuzzing::file_output_tail` (see src/fuzzing.rs for what it drives).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| logship::fuzzing::file_output_tail(data));
