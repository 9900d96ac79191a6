#![no_main]
//! `scripts/fuzz.sh reply_parser`: see postscope::fuzz::reply_parser.

libfuzzer_sys::fuzz_target!(|data: &[u8]| postscope::fuzz::reply_parser(data));
