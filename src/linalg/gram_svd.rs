//! [`GramSvd`]: the SVD of a matrix with one short side, from that side's Gram matrix
//! accumulated in `f64`.

use faer::linalg::matmul::matmul;
use faer::{Accum, Mat, MatRef, Par};

use super::check::check_matrix;
use super::eigen::sym_eigen_desc_unchecked;
use super::svd::TruncatedSvd;
use crate::error::{Error, Result};
use crate::scalar::Scalar;

/// Elements of `a` widened to `f64` at a time while the Gram matrix is summed (16 MiB).
const BLOCK_ELEMS: usize = 1 << 21;

/// The SVD of an `m × n` matrix `A` from the Gram matrix of its short side (`AᵀA` for a tall
/// `A`, `AAᵀ` for a wide one), summed in `f64` over blocks of `A` widened to `f64` and
/// diagonalized in `f64`; the long side's vectors come from one product with `A`.
///
/// For a very tall or wide `f32` matrix this is the accurate route: faer's `f32` SVD of the
/// 50257 × 768 token embedding of GPT-2 returned left vectors whose rank-189 truncation was
/// `1.1e-4` (relative) worse than LAPACK's, while the Gram matrix in `f64` loses only
/// `eps_f64 · (σ_0/σ_i)²` of each `σ_i²`. It squares the condition number, so for `f64` data
/// whose kept singular values reach below `sqrt(eps_f64) · σ_0` the direct
/// [`svd_truncated`](super::svd_truncated) is the better choice.
///
/// ```
/// use faer::Mat;
/// use tensorize::linalg::{svd_truncated, GramSvd, Truncation};
/// use tensorize::par::Par;
/// let a = Mat::<f32>::from_fn(300, 12, |i, j| ((i * 7 + j * 3) % 11) as f32 - 5.0 + (i == j) as u8 as f32);
/// let gram = GramSvd::new(a.as_ref(), Par::Seq)?;
/// let direct = svd_truncated(a.as_ref(), &Truncation::full(), Par::Seq)?;
/// for (g, d) in gram.spectrum().iter().zip(&direct.full_spectrum) {
///     assert!((g - *d as f64).abs() <= 1e-5 * gram.spectrum()[0]);
/// }
/// let t = gram.truncate(a.as_ref(), 3, Par::Seq)?;
/// assert_eq!((t.u.ncols(), t.v.ncols(), t.s.len()), (3, 3, 3));
/// # Ok::<(), tensorize::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct GramSvd {
    /// All `min(m, n)` singular values, descending.
    spectrum: Vec<f64>,
    /// The short side's singular vectors, as columns in the same order.
    vectors: Mat<f64>,
    /// The shape of the matrix it was computed from.
    shape: (usize, usize),
}

impl GramSvd {
    /// The singular values and short-side singular vectors of `a`.
    ///
    /// # Errors
    /// [`Error::ZeroDimension`] for an empty matrix, [`Error::NonFinite`] for NaN/Inf entries,
    /// [`Error::NoConvergence`] if the eigensolver fails.
    pub fn new<T: Scalar>(a: MatRef<'_, T>, par: Par) -> Result<Self> {
        const OP: &str = "GramSvd::new";
        check_matrix(OP, a)?;
        let (m, n) = a.shape();
        // Rows of `b` are the long side: b = A (tall) or Aᵀ (wide), and the Gram matrix is bᵀb.
        let b = if m >= n { a } else { a.transpose() };
        let (long, short) = b.shape();
        // A power of two (exact) brings the largest entry near 1: squares of 1e200 stay finite.
        let max_abs = (0..long)
            .flat_map(|i| (0..short).map(move |j| (i, j)))
            .fold(0.0f64, |acc, (i, j)| acc.max(b[(i, j)].as_f64().abs()));
        let exponent =
            if max_abs > 0.0 { max_abs.log2().round().clamp(-1000.0, 1000.0) } else { 0.0 };
        let scale = (-exponent).exp2();
        let mut gram = Mat::<f64>::zeros(short, short);
        let rows = (BLOCK_ELEMS / short).clamp(1, long);
        for r0 in (0..long).step_by(rows) {
            let nr = rows.min(long - r0);
            let block = Mat::from_fn(nr, short, |i, j| b[(r0 + i, j)].as_f64() * scale);
            matmul(gram.as_mut(), Accum::Add, block.transpose(), block.as_ref(), 1.0, par);
        }
        let (lambda, vectors) = sym_eigen_desc_unchecked(OP, gram.as_ref(), par)?;
        let unscale = exponent.exp2();
        let spectrum = lambda.iter().map(|&l| l.max(0.0).sqrt() * unscale).collect();
        Ok(Self { spectrum, vectors, shape: (m, n) })
    }

    /// All `min(m, n)` singular values, descending.
    pub fn spectrum(&self) -> &[f64] {
        &self.spectrum
    }

    /// The leading `r` singular triplets of `a` (the matrix this was computed from), with
    /// `discarded_sq` and `full_spectrum` as [`svd_truncated`](super::svd_truncated) gives them.
    /// The long side's vectors are `A v_i / σ_i` (a zero column where `σ_i = 0`).
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] if `a` is not of the shape this was computed from;
    /// [`Error::InvalidRank`] for `r = 0` or `r > min(m, n)`.
    pub fn truncate<T: Scalar>(
        &self,
        a: MatRef<'_, T>,
        r: usize,
        par: Par,
    ) -> Result<TruncatedSvd<T>> {
        const OP: &str = "GramSvd::truncate";
        let (m, n) = self.shape;
        if a.shape() != self.shape {
            return Err(Error::ShapeMismatch {
                op: OP,
                left: vec![m, n],
                right: vec![a.nrows(), a.ncols()],
                detail: "truncate the matrix the Gram SVD was computed from".into(),
            });
        }
        let k = self.spectrum.len();
        if r == 0 || r > k {
            return Err(Error::InvalidRank {
                op: OP,
                ranks: vec![r],
                shape: vec![m, n],
                detail: format!("the rank must be between 1 and min(m, n) = {k}"),
            });
        }
        let short = Mat::<T>::from_fn(k, r, |i, j| T::of(self.vectors[(i, j)]));
        let b = if m >= n { a } else { a.transpose() };
        let mut long = Mat::<T>::zeros(b.nrows(), r);
        matmul(long.as_mut(), Accum::Replace, b, short.as_ref(), T::one(), par);
        for (j, &s) in self.spectrum[..r].iter().enumerate() {
            let inv = if s > 0.0 { T::of(1.0 / s) } else { T::zero() };
            long.col_mut(j).iter_mut().for_each(|x| *x *= inv);
        }
        let (u, v) = if m >= n { (long, short) } else { (short, long) };
        let discarded: f64 = self.spectrum[r..].iter().map(|s| s * s).sum();
        Ok(TruncatedSvd {
            u,
            s: self.spectrum[..r].iter().map(|&s| T::of(s)).collect(),
            v,
            discarded_sq: T::of(discarded),
            full_spectrum: self.spectrum.iter().map(|&s| T::of(s)).collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::linalg::{svd_truncated, Truncation};

    /// `‖A − U S Vᵀ‖_F / ‖A‖_F` in f64.
    fn rel_residual<T: Scalar>(a: MatRef<'_, T>, t: &TruncatedSvd<T>) -> f64 {
        let (mut diff, mut norm) = (0.0f64, 0.0f64);
        for i in 0..a.nrows() {
            for j in 0..a.ncols() {
                let approx: f64 = (0..t.s.len())
                    .map(|k| t.u[(i, k)].as_f64() * t.s[k].as_f64() * t.v[(j, k)].as_f64())
                    .sum();
                diff += (a[(i, j)].as_f64() - approx).powi(2);
                norm += a[(i, j)].as_f64().powi(2);
            }
        }
        (diff / norm).sqrt()
    }

    fn agrees_with_the_direct_svd<T: Scalar>() {
        for (m, n) in [(200, 9), (9, 200), (40, 40), (1, 5), (5, 1)] {
            let a = Mat::<T>::from_fn(m, n, |i, j| {
                T::of(((i * 31 + j * 17) % 23) as f64 / 23.0 - 0.5 + if i == j { 2.0 } else { 0.0 })
            });
            let gram = GramSvd::new(a.as_ref(), Par::Seq).unwrap();
            let direct = svd_truncated(a.as_ref(), &Truncation::full(), Par::Seq).unwrap();
            let s0 = gram.spectrum()[0];
            let eps = T::epsilon().as_f64();
            for (g, d) in gram.spectrum().iter().zip(&direct.full_spectrum) {
                assert!((g - d.as_f64()).abs() <= 1e3 * eps * s0, "{m}×{n}: {g} vs {d}");
            }
            for r in [1, m.min(n)] {
                let t = gram.truncate(a.as_ref(), r, Par::Seq).unwrap();
                let best =
                    (direct.full_spectrum[r..].iter().map(|s| s.as_f64().powi(2)).sum::<f64>()
                        / direct.full_spectrum.iter().map(|s| s.as_f64().powi(2)).sum::<f64>())
                    .sqrt();
                let got = rel_residual(a.as_ref(), &t);
                assert!(got <= best + 1e3 * eps, "{m}×{n} r{r}: {got} vs {best}");
                let reported = (t.discarded_sq.as_f64()).sqrt()
                    / gram.spectrum().iter().map(|s| s * s).sum::<f64>().sqrt();
                assert!((reported - best).abs() <= 1e3 * eps, "{m}×{n} r{r}: {reported} vs {best}");
            }
        }
    }

    #[test]
    fn agrees_with_the_direct_svd_f64() {
        agrees_with_the_direct_svd::<f64>();
    }

    #[test]
    fn agrees_with_the_direct_svd_f32() {
        agrees_with_the_direct_svd::<f32>();
    }

    #[test]
    fn the_thread_count_does_not_change_the_bits() {
        // Large enough for several Gram blocks and a parallel product.
        let a = Mat::<f32>::from_fn(40_000, 60, |i, j| ((i * 13 + j * 7) % 97) as f32 / 97.0 - 0.5);
        let run = |par| {
            let g = GramSvd::new(a.as_ref(), par).unwrap();
            let t = g.truncate(a.as_ref(), 10, par).unwrap();
            (g.spectrum().to_vec(), t.u, t.v)
        };
        assert_eq!(run(Par::Seq), run(Par::rayon(2)));
    }

    #[test]
    fn scales_extreme_entries_and_refuses_bad_input() {
        let a =
            Mat::<f64>::from_fn(30, 3, |i, j| if i == j { 1e200 * (j + 1) as f64 } else { 0.0 });
        let g = GramSvd::new(a.as_ref(), Par::Seq).unwrap();
        assert!((g.spectrum()[0] / 3e200 - 1.0).abs() < 1e-12, "{:?}", g.spectrum());
        let bad = Mat::<f64>::from_fn(4, 2, |i, _| if i == 1 { f64::NAN } else { 1.0 });
        assert!(matches!(GramSvd::new(bad.as_ref(), Par::Seq), Err(Error::NonFinite { .. })));
        assert!(matches!(g.truncate(a.as_ref(), 0, Par::Seq), Err(Error::InvalidRank { .. })));
        assert!(matches!(g.truncate(a.as_ref(), 4, Par::Seq), Err(Error::InvalidRank { .. })));
        let other = Mat::<f64>::zeros(3, 30);
        assert!(matches!(
            g.truncate(other.as_ref(), 1, Par::Seq),
            Err(Error::ShapeMismatch { .. })
        ));
    }
}
