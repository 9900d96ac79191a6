#![no_main]
//! `scripts/fuzz.sh transcript_jsonl`: see postscope::fuzz::transcript_jsonl.

libfuzzer_sys::fuzz_target!(|data: &[u8]| postscope::fuzz::transcript_jsonl(data));
