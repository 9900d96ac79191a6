#![no_main]
//! `scripts/fuzz.sh dot_stuffing`: see postscope::fuzz::dot_stuffing.

libfuzzer_sys::fuzz_target!(|data: &[u8]| postscope::fuzz::dot_stuffing(data));
