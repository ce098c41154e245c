//! Formats whose parts lie far beyond the square root of the range but whose tensors are
//! ordinary: the dense form, the norm and TT rounding keep every term (each case is a class the
//! formats fuzz target found with its extreme-input skip off; docs/reliability.md).

// Test helpers panic on failure by design.
#![allow(clippy::unwrap_used)]

use faer::Mat;
use tensorize::format::{CpTensor, TrTensor, TtTensor, TuckerTensor};
use tensorize::{Factorized, Tensor};

/// The smallest positive subnormal, 2^-1074.
const TINY: f64 = 5e-324;

fn close(a: f64, b: f64, rel: f64) -> bool {
    (a - b).abs() <= rel * b.abs()
}

/// A tiny entry in a right slice of moderate size meets a huge entry of the next core: the
/// element `2^-1074 · 1e300 ≈ 4.9e-24` is ordinary, but balancing the slice by its largest
/// entry (1) halved the tiny one out of the range and the dense form gave 0.
#[test]
fn a_tiny_entry_of_a_moderate_slice_meeting_a_huge_one_is_kept() {
    let g1 = Tensor::from_vec(&[1, 2, 2], vec![1.0, 0.0, TINY, 0.0]).unwrap();
    let g2 = Tensor::from_vec(&[2, 2, 1], vec![1e300, 1.0, 1.0, 1.0]).unwrap();
    let tt = TtTensor::new(vec![g1, g2]).unwrap();
    let dense = tt.to_dense().unwrap();
    let exact = TINY * 1e300; // one rounding: the product itself
    assert!(close(dense.get(&[1, 0]).unwrap(), exact, 1e-15), "{:?}", dense.as_slice());
    assert!(close(tt.get(&[1, 0]).unwrap(), exact, 1e-15));
    assert_eq!(dense.get(&[0, 0]).unwrap(), 1e300);
    assert_eq!(dense.get(&[0, 1]).unwrap(), 1.0);
}

/// The ring bond carries 1e300 on one index and 1e-300 on the other: each of the two terms of
/// the trace is 1, and the dense form lost one of them (balancing leaves the ring bond as it is).
#[test]
fn a_ring_bond_far_from_one_keeps_both_terms() {
    let g1 = Tensor::from_vec(&[2, 1, 1], vec![1e300, 1e-300]).unwrap();
    let g2 = Tensor::from_vec(&[1, 1, 2], vec![1e-300, 1e300]).unwrap();
    let tr = TrTensor::new(vec![g1, g2]).unwrap();
    let dense = tr.to_dense().unwrap();
    assert!(close(dense.as_slice()[0], 2.0, 1e-15), "{:?}", dense.as_slice());
    assert!(close(tr.get(&[0, 0]).unwrap(), 2.0, 1e-15));
    // In f32, with 1e±30 parts.
    let g1 = Tensor::from_vec(&[2, 1, 1], vec![1e30f32, 1e-30]).unwrap();
    let g2 = Tensor::from_vec(&[1, 1, 2], vec![1e-30f32, 1e30]).unwrap();
    let dense = TrTensor::new(vec![g1, g2]).unwrap().to_dense().unwrap();
    assert!((dense.as_slice()[0] - 2.0).abs() <= 4.0 * f32::EPSILON, "{:?}", dense.as_slice());
}

/// One bond slice of subnormal entries meets 1e300 in the next core, beside a slice of 1e30
/// that meets 1e-53: both halves of the tensor are about 1e-23. Scaling the whole first core
/// by its largest entry flushed the subnormal slice to zero, and rounding reported error 0
/// for a result 70 % off.
#[test]
fn rounding_keeps_a_subnormal_slice_that_meets_a_huge_one() {
    let g1 = Tensor::from_vec(&[1, 2, 2], vec![TINY, 0.0, 0.0, 1e30]).unwrap();
    let g2 = Tensor::from_vec(&[2, 2, 1], vec![1e300, 2e300, 1e-53, -1e-53]).unwrap();
    let tt = TtTensor::new(vec![g1, g2]).unwrap();
    let dense = tt.to_dense().unwrap();
    assert!(dense.as_slice().iter().all(|v| v.abs() > 1e-25), "{:?}", dense.as_slice());
    let (rounded, report) = tt.round(0.0, None).unwrap();
    let truth = rounded.rel_error(&dense).unwrap();
    assert!(truth <= 1e-12, "rounded {:?} against {:?}", rounded.to_dense().unwrap(), dense);
    assert!(report.rel_error <= 1e-12);
    // Truncated to rank 1 the error is that of the smaller half, and reported as such.
    let (one, report) = tt.round(0.9, Some(1)).unwrap();
    let truth = one.rel_error(&dense).unwrap();
    assert!(close(report.rel_error, truth, 1e-9), "reported {}, true {truth}", report.rel_error);
}

/// A 1e300 factor column meets a core entry whose other column is all zero: that entry adds
/// nothing, but it set the common scale of the balanced core, and the entries that matter fell
/// to the subnormal range (a dense form 2 % off).
#[test]
fn a_core_entry_meeting_a_zero_column_does_not_set_the_scale() {
    let core = Tensor::from_vec(&[1, 2, 3], vec![-5.1875, 7.9375, 7.9375, 7.9375, 7.9375, 7.9375])
        .unwrap();
    let mat = |r: usize, c: usize, d: Vec<f64>| Mat::from_fn(r, c, |i, j| d[i * c + j]);
    let factors = vec![
        mat(2, 1, vec![7.9375, 7.9375]),
        mat(4, 2, vec![-5.5625, 7.9375, -5.5625, 7.9375, -5.4375, 0.0, 7.9375, 1e300]),
        mat(3, 3, vec![TINY, TINY, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]),
    ];
    let t = TuckerTensor::new(core, factors).unwrap();
    let dense = t.to_dense().unwrap();
    // The element [i, 3, 0]: U0[i] · (G[0,0,:] · U1[3,0] + G[0,1,:] · U1[3,1]) · U2[0,:], whose
    // 1e300 term is 7.9375 · 1e300 · 2^-1074 · (7.9375 + 7.9375) and the rest below 1e-320.
    let exact = 7.9375 * (1e300 * TINY * 15.875);
    assert!(close(dense.get(&[0, 3, 0]).unwrap(), exact, 1e-12), "{:?}", dense.as_slice());
    assert!(close(t.norm(), dense.norm(), 1e-12), "norm {} dense {}", t.norm(), dense.norm());
}

/// The same for CP: a 1e300 weight whose component has an all-zero column set the common scale,
/// and the 1e-300 component that makes up the whole tensor fell below the range.
#[test]
fn a_cp_component_with_a_zero_column_does_not_set_the_scale() {
    let factors = vec![
        Mat::from_fn(2, 2, |i, c| if c == 0 { 0.0 } else { [1.0, 2.0][i] }),
        Mat::from_fn(2, 2, |i, c| if c == 0 { 1.0 } else { [3.0, 1.0][i] }),
    ];
    let cp = CpTensor::new(vec![1e300, 1e-300], factors).unwrap();
    let dense = cp.to_dense().unwrap();
    let exact = [3e-300, 1e-300, 6e-300, 2e-300];
    for (got, want) in dense.as_slice().iter().zip(exact) {
        assert!(close(*got, want, 1e-15), "{:?}", dense.as_slice());
    }
    assert!(close(cp.norm(), dense.norm(), 1e-14), "norm {} dense {}", cp.norm(), dense.norm());
    assert!(cp.rel_error(&dense).unwrap() <= 1e-15);
}

/// Terms of 1e33 that cancel exactly (the last factor's row sums to 0 against a constant core)
/// to a tensor of norm 228: the error formula's `‖X̂‖²` is summed from the same cancelling terms,
/// so measuring the cancellation against it missed it, and the Tucker tensor reported a self
/// error of 9e22 against its own dense form (formats fuzz target, in f64).
#[test]
fn a_tucker_whose_terms_cancel_measures_its_own_error() {
    let mut entries = vec![7.9375f64; 27];
    entries[0] = 6.625;
    let core = Tensor::from_vec(&[3, 3, 3], entries).unwrap();
    let mat = |r: usize, c: usize, d: Vec<f64>| Mat::from_fn(r, c, |i, j| d[i * c + j]);
    let factors = vec![
        mat(4, 3, vec![7.9375; 12]),
        mat(3, 3, vec![3.5, 3.4375, 1.25, 1.25, 1e30, 7.9375, 7.9375, 7.9375, 1.25]),
        mat(1, 3, vec![-1.25, 6.5, -5.25]),
    ];
    let t = TuckerTensor::new(core, factors).unwrap();
    let dense = t.to_dense().unwrap();
    assert!(close(t.norm(), dense.norm(), 1e-12), "norm {} dense {}", t.norm(), dense.norm());
    let own = t.rel_error(&dense).unwrap();
    assert!(own <= 1e-12, "self error {own:e}");
}
