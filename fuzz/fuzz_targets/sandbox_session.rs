#![no_main]
//! `scripts/fuzz.sh sandbox_session`: see postscope::fuzz::sandbox_session.

libfuzzer_sys::fuzz_target!(|data: &[u8]| postscope::fuzz::sandbox_session(data));
