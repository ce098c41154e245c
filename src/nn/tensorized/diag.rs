//! The rank-diagonal contraction of r-CP, `y[p, t, q, r, n] = Σ_f c[f·s_f + t·s_t + r] ·
//! x[p, f, q, r, n]`, and the gradient of its coefficients; the position index `n` is
//! innermost, so each term is one vectorized `axpy` over the batch's positions.

use rayon::prelude::*;

use crate::par::{auto_par, thread_count};
use crate::scalar::Scalar;

/// The sizes `[p, from, to, q, rank, n]` of one contraction.
pub(super) type Dims = [usize; 6];

/// `y[p, t, q, r, :] = Σ_f c[f·sf + t·st + r] · x[p, f, q, r, :]` (`y` is overwritten).
pub(super) fn apply<T: Scalar>(x: &[T], y: &mut [T], dims: Dims, c: &[T], [sf, st]: [usize; 2]) {
    let [p, nf, nt, q, rank, n] = dims;
    let block = q * rank * n;
    if block == 0 {
        return;
    }
    let one = |(pt, out): (usize, &mut [T])| {
        let (pp, t) = (pt / nt, pt % nt);
        out.fill(T::zero());
        for f in 0..nf {
            let xb = &x[(pp * nf + f) * block..][..block];
            for qq in 0..q {
                for r in 0..rank {
                    let coef = c[f * sf + t * st + r];
                    let at = (qq * rank + r) * n;
                    for (a, &b) in out[at..at + n].iter_mut().zip(&xb[at..at + n]) {
                        *a += coef * b;
                    }
                }
            }
        }
    };
    let flops = 2.0 * (p * nf * nt) as f64 * block as f64;
    if thread_count(auto_par(flops)) > 1 {
        y[..p * nt * block].par_chunks_mut(block).enumerate().for_each(one);
    } else {
        y[..p * nt * block].chunks_mut(block).enumerate().for_each(one);
    }
}

/// `g[f·sf + t·st + r] += Σ_{p, q, n} x[p, f, q, r, n] · d[p, t, q, r, n]`.
pub(super) fn grad<T: Scalar>(x: &[T], d: &[T], dims: Dims, g: &mut [T], [sf, st]: [usize; 2]) {
    let [p, nf, nt, q, rank, n] = dims;
    let block = q * rank * n;
    let pair = |ft: usize| -> Vec<T> {
        let (f, t) = (ft / nt, ft % nt);
        let mut acc = vec![T::zero(); rank];
        for pp in 0..p {
            let xb = &x[(pp * nf + f) * block..][..block];
            let db = &d[(pp * nt + t) * block..][..block];
            for qq in 0..q {
                for (r, a) in acc.iter_mut().enumerate() {
                    let at = (qq * rank + r) * n;
                    *a += xb[at..at + n]
                        .iter()
                        .zip(&db[at..at + n])
                        .fold(T::zero(), |s, (&u, &v)| s + u * v);
                }
            }
        }
        acc
    };
    let flops = 2.0 * (p * nf * nt) as f64 * block as f64;
    let sums: Vec<Vec<T>> = if thread_count(auto_par(flops)) > 1 {
        (0..nf * nt).into_par_iter().map(pair).collect()
    } else {
        (0..nf * nt).map(pair).collect()
    };
    for (ft, acc) in sums.iter().enumerate() {
        let (f, t) = (ft / nt, ft % nt);
        for (r, &v) in acc.iter().enumerate() {
            g[f * sf + t * st + r] += v;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Against the sum written out, for the forward map, its transpose and the gradient.
    #[test]
    fn matches_the_naive_sums() {
        let dims = [2, 3, 4, 2, 3, 5];
        let [p, nf, nt, q, rank, n] = dims;
        let x: Vec<f64> = (0..p * nf * q * rank * n).map(|v| ((v * 7) % 11) as f64 - 5.0).collect();
        let c: Vec<f64> = (0..nf * nt * rank).map(|v| ((v * 5) % 13) as f64 - 6.0).collect();
        let d: Vec<f64> = (0..p * nt * q * rank * n).map(|v| ((v * 3) % 7) as f64 - 3.0).collect();
        let (sf, st) = (nt * rank, rank);
        let mut y = vec![f64::NAN; p * nt * q * rank * n];
        apply(&x, &mut y, dims, &c, [sf, st]);
        let mut g = vec![1.0; c.len()];
        grad(&x, &d, dims, &mut g, [sf, st]);
        let xi = |a, f, b, r, m| x[(((a * nf + f) * q + b) * rank + r) * n + m];
        let di = |a, t, b, r, m| d[(((a * nt + t) * q + b) * rank + r) * n + m];
        for a in 0..p {
            for t in 0..nt {
                for b in 0..q {
                    for r in 0..rank {
                        for m in 0..n {
                            let want: f64 =
                                (0..nf).map(|f| c[f * sf + t * st + r] * xi(a, f, b, r, m)).sum();
                            assert_eq!(y[(((a * nt + t) * q + b) * rank + r) * n + m], want);
                        }
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
                            for m in 0..n {
                                want += xi(a, f, b, r, m) * di(a, t, b, r, m);
                            }
                        }
                    }
                    assert_eq!(g[f * sf + t * st + r], want);
                }
            }
        }
    }
}
