//! `f32` norms and inner products are accumulated in `f64`, so they stay right to about one `f32`
//! rounding (≈ 6e-8 relative) on millions of elements, where an `f32` running sum drifts by
//! ~1e-5. Every `f32` relative error is built on them.

// Test helpers panic on failure by design.
#![allow(clippy::unwrap_used)]

use proptest::prelude::*;
use tensorize::Tensor;

/// The reference: the same elements widened to `f64`, summed in `f64`.
fn wide(x: &Tensor<f32>) -> Tensor<f64> {
    x.cast::<f64>().unwrap()
}

/// The bound: two `f32` roundings of the result, independent of the length.
const F32_RESULT_TOL: f64 = 2.0 * f32::EPSILON as f64;

proptest! {
    #![proptest_config(ProptestConfig { cases: 6, ..ProptestConfig::default() })]

    #[test]
    fn norm_and_inner_of_a_million_f32s(seed in any::<u64>(), rows in 1000usize..1300, offset in 0.0f32..4.0) {
        let shape = [rows, 1024];
        // A non-zero mean makes every term positive, the case where an f32 sum drifts most.
        let x = Tensor::<f32>::random_normal(&shape, seed).unwrap().map(|v| v + offset);
        let y = Tensor::<f32>::random_uniform(&shape, -1.0, 3.0, seed ^ 1).unwrap();
        let (xw, yw) = (wide(&x), wide(&y));
        let norm = f64::from(x.norm());
        let norm_ref = xw.norm();
        prop_assert!((norm - norm_ref).abs() <= F32_RESULT_TOL * norm_ref, "norm {norm} vs {norm_ref}");
        let inner = f64::from(x.inner(&y).unwrap());
        let inner_ref = xw.inner(&yw).unwrap();
        prop_assert!(
            (inner - inner_ref).abs() <= F32_RESULT_TOL * xw.norm() * yw.norm(),
            "inner {inner} vs {inner_ref}"
        );
    }
}

/// One large element among many small ones: an `f32` sum of squares would drop the small ones
/// entirely once the running sum is large (1e6 terms of 1e-4 against 1e4).
#[test]
fn small_terms_after_a_large_one_are_kept() {
    let n = 1 << 20;
    let mut data = vec![1e-2f32; n];
    data[0] = 100.0;
    let x = Tensor::from_vec(&[n], data).unwrap();
    let small = f64::from(1e-2f32);
    let exact = (1e4f64 + (n - 1) as f64 * small * small).sqrt();
    let got = f64::from(x.norm());
    assert!((got - exact).abs() <= F32_RESULT_TOL * exact, "norm {got}, exact {exact}");
}
