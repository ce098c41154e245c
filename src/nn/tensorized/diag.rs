//! The rank-diagonal contraction of r-CP, `y[p, t, q, :] = Σ_f c[f, t, :] ⊙ x[p, f, q, :]`
//! (the rank index innermost and contiguous in `x`, `y` and `c`, so each term is one
//! vectorized multiply-add over the rank), and the gradient of its coefficients. Rows `p`
//! (positions × finished output factors) are independent: with `parallel`, they are spread
//! over threads.

use rayon::prelude::*;

use crate::scalar::Scalar;

/// The sizes `[p, from, to, q, rank]` of one contraction.
pub(super) type Dims = [usize; 5];

/// Rows of `p` per task: the partial gradients are summed in this fixed chunking, so the
/// result does not depend on the number of threads.
const ROWS: usize = 64;

/// `y[p, t, q, :] = Σ_f c[f·sf + t·st + :] ⊙ x[p, f, q, :]` (`y` is overwritten).
pub(super) fn apply<T: Scalar>(
    x: &[T],
    y: &mut [T],
    dims: Dims,
    c: &[T],
    [sf, st]: [usize; 2],
    parallel: bool,
) {
    let [p, nf, nt, q, rank] = dims;
    let (xb, yb) = (nf * q * rank, nt * q * rank);
    if yb == 0 || p == 0 {
        return;
    }
    let rows = |(k, out): (usize, &mut [T])| {
        for (j, yp) in out.chunks_exact_mut(yb).enumerate() {
            let xp = &x[(k * ROWS + j) * xb..][..xb];
            for t in 0..nt {
                for qq in 0..q {
                    let yr = &mut yp[(t * q + qq) * rank..][..rank];
                    yr.fill(T::zero());
                    for f in 0..nf {
                        let cr = &c[f * sf + t * st..][..rank];
                        let xr = &xp[(f * q + qq) * rank..][..rank];
                        for ((a, &u), &v) in yr.iter_mut().zip(cr).zip(xr) {
                            *a += u * v;
                        }
                    }
                }
            }
        }
    };
    let y = &mut y[..p * yb];
    if parallel {
        y.par_chunks_mut(ROWS * yb).enumerate().for_each(rows);
    } else {
        y.chunks_mut(ROWS * yb).enumerate().for_each(rows);
    }
}

/// `g[f·sf + t·st + :] += Σ_{p, q} x[p, f, q, :] ⊙ d[p, t, q, :]`.
pub(super) fn grad<T: Scalar>(
    x: &[T],
    d: &[T],
    dims: Dims,
    g: &mut [T],
    [sf, st]: [usize; 2],
    parallel: bool,
) {
    let [p, nf, nt, q, rank] = dims;
    let (xb, db) = (nf * q * rank, nt * q * rank);
    if xb == 0 || db == 0 || p == 0 {
        return;
    }
    // Partial sums over ROWS rows each, laid out [f, t, rank].
    let part = |k: usize| -> Vec<T> {
        let mut acc = vec![T::zero(); nf * nt * rank];
        for j in k * ROWS..((k + 1) * ROWS).min(p) {
            let (xp, dp) = (&x[j * xb..][..xb], &d[j * db..][..db]);
            for f in 0..nf {
                for t in 0..nt {
                    let ar = &mut acc[(f * nt + t) * rank..][..rank];
                    for qq in 0..q {
                        let xr = &xp[(f * q + qq) * rank..][..rank];
                        let dr = &dp[(t * q + qq) * rank..][..rank];
                        for ((a, &u), &v) in ar.iter_mut().zip(xr).zip(dr) {
                            *a += u * v;
                        }
                    }
                }
            }
        }
        acc
    };
    let chunks = p.div_ceil(ROWS);
    let parts: Vec<Vec<T>> = if parallel {
        (0..chunks).into_par_iter().map(part).collect()
    } else {
        (0..chunks).map(part).collect()
    };
    for acc in &parts {
        for f in 0..nf {
            for t in 0..nt {
                let src = &acc[(f * nt + t) * rank..][..rank];
                let dst = &mut g[f * sf + t * st..][..rank];
                dst.iter_mut().zip(src).for_each(|(a, &b)| *a += b);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Against the sums written out, for the forward map and the gradient (more rows than one
    /// task takes, so that the chunking is exercised).
    #[test]
    fn matches_the_naive_sums() {
        let dims = [150, 3, 4, 2, 5];
        let [p, nf, nt, q, rank] = dims;
        let x: Vec<f64> = (0..p * nf * q * rank).map(|v| ((v * 7) % 11) as f64 - 5.0).collect();
        let c: Vec<f64> = (0..nf * nt * rank).map(|v| ((v * 5) % 13) as f64 - 6.0).collect();
        let d: Vec<f64> = (0..p * nt * q * rank).map(|v| ((v * 3) % 7) as f64 - 3.0).collect();
        let (sf, st) = (nt * rank, rank);
        let mut y = vec![f64::NAN; p * nt * q * rank];
        apply(&x, &mut y, dims, &c, [sf, st], true);
        let mut y_seq = vec![f64::NAN; y.len()];
        apply(&x, &mut y_seq, dims, &c, [sf, st], false);
        assert_eq!(y, y_seq);
        let mut g = vec![1.0; c.len()];
        grad(&x, &d, dims, &mut g, [sf, st], true);
        let mut g_seq = vec![1.0; c.len()];
        grad(&x, &d, dims, &mut g_seq, [sf, st], false);
        assert_eq!(g, g_seq);
        let xi = |a, f, b, r| x[((a * nf + f) * q + b) * rank + r];
        let di = |a, t, b, r| d[((a * nt + t) * q + b) * rank + r];
        for a in 0..p {
            for t in 0..nt {
                for b in 0..q {
                    for r in 0..rank {
                        let want: f64 =
                            (0..nf).map(|f| c[f * sf + t * st + r] * xi(a, f, b, r)).sum();
                        assert_eq!(y[((a * nt + t) * q + b) * rank + r], want);
                    }
                }
            }
        }
        for f in 0..nf {
            for t in 0..nt {
                for r in 0..rank {
                    let mut want = 1.0;
                    for a in 0..p {
                        for b in 0..q {
                            want += xi(a, f, b, r) * di(a, t, b, r);
                        }
                    }
                    assert_eq!(g[f * sf + t * st + r], want);
                }
            }
        }
    }
}
