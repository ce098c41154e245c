#![no_main]
//! Layer constructors and forward/backward passes with arbitrary sizes and input shapes.

// Each target runs one of the shared entry points; the others are unused here.
#[allow(dead_code)]
#[path = "../entry_points.rs"]
mod entry_points;

libfuzzer_sys::fuzz_target!(|data: &[u8]| entry_points::nn_layers(data));
