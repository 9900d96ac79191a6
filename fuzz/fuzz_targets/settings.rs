#![no_main]
//! `scripts/fuzz.sh settings`: see postscope::fuzz::settings.

libfuzzer_sys::fuzz_target!(|data: &[u8]| postscope::fuzz::settings(data));
