#![no_main]
//! `scripts/fuzz.sh lint`: see postscope::fuzz::lint_message.

libfuzzer_sys::fuzz_target!(|data: &[u8]| postscope::fuzz::lint_message(data));
