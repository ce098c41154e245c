#![no_main]
//! The IDX (MNIST, gzip or not) and digits CSV readers on arbitrary bytes.

// Each target runs one of the shared entry points; the others are unused here.
#[allow(dead_code)]
#[path = "../entry_points.rs"]
mod entry_points;

libfuzzer_sys::fuzz_target!(|data: &[u8]| entry_points::readers(data));
