#![no_main]
//! Every decomposition and rank-selection entry point on small decoded tensors and parameters.

// Each target runs one of the shared entry points; the others are unused here.
#[allow(dead_code)]
#[path = "../entry_points.rs"]
mod entry_points;

libfuzzer_sys::fuzz_target!(|data: &[u8]| entry_points::decompositions(data));
