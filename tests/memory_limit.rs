//! Requests over the memory limit are refused with `Error::MemoryLimit` naming the bytes, before
//! anything is allocated (the process would otherwise abort, or be killed by the kernel).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Mutex, MutexGuard};

use faer::Mat;
use tensorize::format::{CpTensor, TtTensor};
use tensorize::memory::{self, MemoryLimit};
use tensorize::{tenalg, Error, Factorized, Tensor};

/// The limit is process-wide and one test here changes it: every test holds this lock, so none
/// runs while another has lifted or lowered the limit.
static LIMIT: Mutex<()> = Mutex::new(());

fn exclusive() -> MutexGuard<'static, ()> {
    LIMIT.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The error of a request for `bytes`: a memory-limit refusal naming them, the limit below them.
fn assert_refused(err: Error, bytes: u64) {
    match &err {
        Error::MemoryLimit { bytes: b, limit, .. } => {
            assert_eq!(*b, bytes, "{err}");
            assert!(*limit < bytes, "{err}");
            assert!(err.to_string().contains(&bytes.to_string()), "{err}");
        }
        other => panic!("expected a memory-limit error, got {other:?}"),
    }
}

#[test]
fn a_tensor_of_ten_to_the_fifteen_bytes_is_refused_before_allocation() {
    let _guard = exclusive();
    // 10^5 × 10^5 × 12 500 f64 = 1.25·10^14 elements = 10^15 bytes: addressable, but no machine
    // this runs on has it.
    let shape = [100_000, 100_000, 12_500];
    assert_refused(Tensor::<f64>::zeros(&shape).unwrap_err(), 1_000_000_000_000_000);
    assert_refused(Tensor::<f64>::random_normal(&shape, 1).unwrap_err(), 1_000_000_000_000_000);
    assert_refused(
        Tensor::<f32>::zeros(&[250_000, 1_000_000, 1000]).unwrap_err(),
        1_000_000_000_000_000,
    );
}

#[test]
fn small_formats_with_huge_dense_shapes_refuse_to_densify_naming_the_full_shape() {
    let _guard = exclusive();
    // A rank-1 TT of five modes of 1000: 5000 parameters, 8·10^15 dense bytes.
    let cores: Vec<Tensor<f64>> = (0..5).map(|_| Tensor::ones(&[1, 1000, 1]).unwrap()).collect();
    let tt = TtTensor::new(cores).unwrap();
    let err = tt.to_dense().unwrap_err();
    assert!(matches!(&err, Error::MemoryLimit { shape, .. } if shape == &[1000; 5]), "{err}");
    assert_refused(err, 8_000_000_000_000_000);
    let factors: Vec<Mat<f64>> =
        (0..5).map(|_| Mat::from_fn(1000, 2, |i, j| (i + j) as f64)).collect();
    let cp = CpTensor::new(vec![1.0, 1.0], factors).unwrap();
    assert_refused(cp.to_dense().unwrap_err(), 8_000_000_000_000_000);
}

#[test]
fn products_of_small_matrices_with_huge_results_are_refused() {
    let _guard = exclusive();
    // Four 100 × 100 factors (80 KB each): a 10^8 × 10^8 result.
    let a = Mat::<f64>::from_fn(100, 100, |i, j| (i * j) as f64);
    let err = tenalg::kronecker(&[a.as_ref(); 4]).unwrap_err();
    assert_refused(err, 100_000_000u64 * 100_000_000 * 8);
    let v = vec![1.0f64; 100_000];
    assert_refused(
        tenalg::outer(&[&v[..], &v[..], &v[..12_500]]).unwrap_err(),
        1_000_000_000_000_000,
    );
}

#[test]
fn a_limit_set_by_the_caller_applies_to_every_buffer_and_can_be_lifted() {
    let _guard = exclusive();
    // The only test here that changes the process-wide limit; it restores it.
    let before = memory::limit();
    memory::set_limit(MemoryLimit::Bytes(1 << 20));
    let refused = Tensor::<f64>::zeros(&[512, 512]); // 2 MiB
    let fits = Tensor::<f64>::zeros(&[256, 256]); // 512 KiB
    memory::set_limit(MemoryLimit::Unlimited);
    let unlimited = Tensor::<f64>::zeros(&[512, 512]);
    memory::set_limit(before);
    let err = refused.unwrap_err();
    assert!(matches!(err, Error::MemoryLimit { bytes: 2_097_152, limit: 1_048_576, .. }), "{err}");
    assert!(fits.is_ok() && unlimited.is_ok());
}
