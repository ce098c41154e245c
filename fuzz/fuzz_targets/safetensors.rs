#![no_main]
//! safetensors parsing on arbitrary bytes.
libfuzzer_sys::fuzz_target!(|data: &[u8]| tensorize::fuzzing::safetensors(data));
