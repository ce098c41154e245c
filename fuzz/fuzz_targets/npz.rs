#![no_main]
//! `.npz` parsing (a zip of `.npy` files, stored or deflated) on arbitrary bytes.

// Each target runs one of the shared entry points; the others are unused here.
#[allow(dead_code)]
#[path = "../entry_points.rs"]
mod entry_points;

libfuzzer_sys::fuzz_target!(|data: &[u8]| entry_points::npz(data));
