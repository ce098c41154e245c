#![no_main]
//! `.npy` parsing on arbitrary bytes.
libfuzzer_sys::fuzz_target!(|data: &[u8]| tensorize::fuzzing::npy(data));
