#![no_main]
//! Shapes, modes, ranks and indices from arbitrary bytes, through the public API.
libfuzzer_sys::fuzz_target!(|data: &[u8]| tensorize::fuzzing::shape_api(data));
