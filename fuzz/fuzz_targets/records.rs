#![no_main]
//! `scripts/fuzz.sh records`: see postscope::fuzz::records.

libfuzzer_sys::fuzz_target!(|data: &[u8]| postscope::fuzz::records(data));
