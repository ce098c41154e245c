//! The norm of a chain of cores (a tensor ring, or a train: a ring of end rank 1) by transfer
//! matrices, in `f64`, with the guard of [`crate::format::norm_guard`].

use faer::{Accum, MatMut, MatRef};

use crate::error::Result;
use crate::format::chain_balance::balanced_chain;
use crate::format::norm_guard::{binary_exponent, trusted_norm};
use crate::format::tt::core_dims;
use crate::kernels::gemm::gemm;
use crate::par::Par;
use crate::scalar::{ldexp, Scalar};
use crate::tensor::Tensor;

/// The norm of the ring (or, with end ranks 1, the train) of `cores` by [`transfer_norm`] in
/// `f64`, trusted or taken from `dense()` by [`trusted_norm`], and the growth of its terms
/// (the contraction on absolute values over the contraction; ∞ or NaN where it underflowed).
pub(crate) fn chain_norm_and_growth<T: Scalar>(
    cores: &[Tensor<T>],
    par: Par,
    dense: impl FnOnce() -> Result<Tensor<T>>,
) -> (T, f64) {
    // Cores far from 1 are balanced across their bonds first: each core enters the transfer
    // matrices normalized as a whole, which squared a slice of 5e-324 beside one of 1 to 0.
    let (signed, top) = balanced_chain(cores).unwrap_or_else(|| {
        let widen = |c: &Tensor<T>| c.as_slice().iter().map(|v| v.as_f64()).collect();
        (
            cores
                .iter()
                .map(|c| Tensor::from_parts_unchecked(c.shape().to_vec(), widen(c)))
                .collect(),
            0,
        )
    });
    let absolute: Vec<Tensor<f64>> = signed.iter().map(|c| c.map(f64::abs)).collect();
    let value = transfer_norm(&signed, par);
    let growth = transfer_norm(&absolute, par) / value;
    let r0 = cores[0].shape()[0];
    let terms = r0 * r0 + cores.iter().map(Tensor::numel).sum::<usize>();
    (trusted_norm(ldexp(value, top), growth, terms, dense), growth)
}

/// The transfer-matrix contraction of
/// [`TrTensor::norm_with`](crate::format::TrTensor::norm_with) on `cores`, in `f64`.
fn transfer_norm(cores: &[Tensor<f64>], par: Par) -> f64 {
    let r0 = cores[0].shape()[0];
    let pairs = r0 * r0;
    // m holds B_p for p = (a, a') row-major: pairs blocks of r × r, initially e_a e_{a'}ᵀ.
    let mut m = vec![0.0; pairs * r0 * r0];
    for a in 0..r0 {
        for b in 0..r0 {
            m[(a * r0 + b) * r0 * r0 + a * r0 + b] = 1.0;
        }
    }
    let mut log2_scale = 0i32;
    for core in cores {
        let [ra, n, rb] = core_dims(core);
        // Each core enters quadratically: normalize it by its largest entry first.
        // By a power of two, so moderate cores are scaled exactly.
        let e = binary_exponent(core.max_abs());
        let scaled;
        let data = if e != 0 {
            log2_scale += 2 * e;
            scaled = core.map(|v| ldexp(v, -e));
            scaled.as_slice()
        } else {
            core.as_slice()
        };
        // T[(p, b), (i, c')] = Σ_{b'} B_p[b, b'] G[b', i, c'].
        let mut t = vec![0.0; pairs * ra * n * rb];
        gemm(
            MatMut::from_row_major_slice_mut(&mut t, pairs * ra, n * rb),
            MatRef::from_row_major_slice(&m, pairs * ra, ra),
            MatRef::from_row_major_slice(data, ra, n * rb),
            Accum::Replace,
            par,
        );
        // B_p ← G^{L}ᵀ · T_p with T_p viewed as (r_{k-1} n) × r_k.
        let gl = MatRef::from_row_major_slice(data, ra * n, rb);
        let mut next = vec![0.0; pairs * rb * rb];
        for p in 0..pairs {
            let tp = &t[p * ra * n * rb..(p + 1) * ra * n * rb];
            gemm(
                MatMut::from_row_major_slice_mut(&mut next[p * rb * rb..(p + 1) * rb * rb], rb, rb),
                gl.transpose(),
                MatRef::from_row_major_slice(tp, ra * n, rb),
                Accum::Replace,
                Par::Seq,
            );
        }
        let e = binary_exponent(next.iter().fold(0.0f64, |acc, v| acc.max(v.abs())));
        if e != 0 {
            next.iter_mut().for_each(|v| *v = ldexp(*v, -e));
            log2_scale += e;
        }
        m = next;
    }
    let mut sum = 0.0f64;
    for a in 0..r0 {
        for b in 0..r0 {
            sum += m[(a * r0 + b) * r0 * r0 + a * r0 + b];
        }
    }
    // sqrt(sum · 2^E) with an even exponent, so sqrt is applied to the mantissa only.
    let (sum, e) =
        if log2_scale % 2 == 0 { (sum, log2_scale) } else { (2.0 * sum, log2_scale - 1) };
    ldexp(sum.max(0.0).sqrt(), e / 2)
}
