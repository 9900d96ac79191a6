#![no_main]
//! `scripts/fuzz.sh sasl`: see postscope::fuzz::sasl_decoding.

libfuzzer_sys::fuzz_target!(|data: &[u8]| postscope::fuzz::sasl_decoding(data));
