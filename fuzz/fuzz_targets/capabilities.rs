#![no_main]
//! `scripts/fuzz.sh capabilities`: see postscope::fuzz::capabilities.

libfuzzer_sys::fuzz_target!(|data: &[u8]| postscope::fuzz::capabilities(data));
