#![no_main]
//! TT / TR / TT-matrix / CP / Tucker from decoded cores: dense, norm, error, rounding, elements.

// Each target runs one of the shared entry points; the others are unused here.
#[allow(dead_code)]
#[path = "../entry_points.rs"]
mod entry_points;

libfuzzer_sys::fuzz_target!(|data: &[u8]| entry_points::formats(data));
