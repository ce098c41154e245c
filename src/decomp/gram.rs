//! The Gram matrix of a mode unfolding, `X_(n) X_(n)ᵀ`, computed without materializing the
//! unfolding (GEMMs on views of the tensor's own buffer).

use faer::linalg::matmul::triangular::{matmul as tri_matmul, BlockStructure};
use faer::{Accum, Mat, MatRef};

use crate::error::Result;
use rayon::prelude::*;

use crate::par::{thread_count, Par};
use crate::scalar::Scalar;
use crate::tenalg;
use crate::tensor::Tensor;

/// Below this many trailing elements per slice, summing one GEMM per slice is slow: copy the
/// unfolding instead and run one GEMM.
const MIN_SLICE_WIDTH: usize = 32;

/// `G = X_(n) X_(n)ᵀ` (`I_n × I_n`, symmetric positive semi-definite), where `X_(n)` is the
/// mode-`mode` unfolding (TensorLy's convention).
///
/// With `X` viewed row-major as `(A, I_n, B)` (`A` = product of the dimensions before `mode`,
/// `B` = after), `G = Σ_a X[a] X[a]ᵀ` where `X[a]` is the contiguous `I_n × B` slice `a`: the
/// first and last modes are one GEMM on a view, middle modes a sum of `A` GEMMs on views
/// (or, when `B` is tiny, one GEMM on a copied unfolding). Only the lower triangle is
/// computed (half the flops), then mirrored.
pub(crate) fn mode_gram<T: Scalar>(x: &Tensor<T>, mode: usize, par: Par) -> Result<Mat<T>> {
    x.check_mode(mode)?;
    let shape = x.shape();
    let rows = shape[mode];
    let before: usize = shape[..mode].iter().product();
    let after: usize = shape[mode + 1..].iter().product();
    let mut g = Mat::<T>::zeros(rows, rows);
    if let Some(view) = x.unfolding_view(mode)? {
        gram_lower(&mut g, view, par);
    } else if after >= MIN_SLICE_WIDTH {
        let block = rows * after;
        let threads = thread_count(par);
        if threads > 1 && before >= 2 * threads {
            // One partial Gram per thread over contiguous runs of slices, summed at the end.
            let per = before.div_ceil(threads) * block;
            let partials: Vec<Mat<T>> = x
                .as_slice()
                .par_chunks(per)
                .map(|chunk| {
                    let mut gp = Mat::<T>::zeros(rows, rows);
                    sum_slice_grams(&mut gp, chunk, rows, after, Par::Seq);
                    gp
                })
                .collect();
            sum_lower(&mut g, &partials);
        } else {
            sum_slice_grams(&mut g, x.as_slice(), rows, after, par);
        }
    } else {
        let unfolded = tenalg::unfold(x, mode)?;
        gram_lower(&mut g, unfolded.as_mat()?, par);
    }
    for j in 0..rows {
        for i in 0..j {
            g[(i, j)] = g[(j, i)];
        }
    }
    Ok(g)
}

/// `lower(G) = A Aᵀ`. With several threads the columns of `A` are split into one run per
/// thread, each run's Gram computed sequentially and the partial Grams summed: faer's own
/// parallel GEMM splits the small `I_n × I_n` output instead, which was measured 2–4× slower
/// than one thread for `200 × 40000` operands (on a loaded machine).
fn gram_lower<T: Scalar>(g: &mut Mat<T>, a: MatRef<'_, T>, par: Par) {
    let threads = thread_count(par);
    let n = a.ncols();
    if threads < 2 || n < 2 * threads * MIN_SLICE_WIDTH {
        syrk_lower(g, a, Accum::Replace, par);
        return;
    }
    let chunk = n.div_ceil(threads);
    let partials: Vec<Mat<T>> = (0..threads)
        .into_par_iter()
        .filter(|t| t * chunk < n)
        .map(|t| {
            let start = t * chunk;
            let mut gp = Mat::<T>::zeros(a.nrows(), a.nrows());
            syrk_lower(&mut gp, a.subcols(start, chunk.min(n - start)), Accum::Replace, Par::Seq);
            gp
        })
        .collect();
    sum_lower(g, &partials);
}

/// `lower(G) = Σ lower(partials[t])`.
fn sum_lower<T: Scalar>(g: &mut Mat<T>, partials: &[Mat<T>]) {
    let rows = g.nrows();
    for j in 0..rows {
        for i in j..rows {
            g[(i, j)] = partials.iter().fold(T::zero(), |acc, gp| acc + gp[(i, j)]);
        }
    }
}

/// `lower(G) = Σ_a S_a S_aᵀ` over the consecutive row-major `rows × after` slices `S_a` of `data`.
fn sum_slice_grams<T: Scalar>(g: &mut Mat<T>, data: &[T], rows: usize, after: usize, par: Par) {
    for (a, slice) in data.chunks_exact(rows * after).enumerate() {
        let m = MatRef::from_row_major_slice(slice, rows, after);
        syrk_lower(g, m, if a == 0 { Accum::Replace } else { Accum::Add }, par);
    }
}

/// `lower(G) (+)= A Aᵀ`.
fn syrk_lower<T: Scalar>(g: &mut Mat<T>, a: MatRef<'_, T>, acc: Accum, par: Par) {
    tri_matmul(
        g.as_mut(),
        BlockStructure::TriangularLower,
        acc,
        a,
        BlockStructure::Rectangular,
        a.transpose(),
        BlockStructure::Rectangular,
        T::one(),
        par,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive_gram(x: &Tensor<f64>, mode: usize) -> Mat<f64> {
        let u = tenalg::unfold(x, mode).unwrap();
        let m = u.as_mat().unwrap();
        let mut g = Mat::zeros(m.nrows(), m.nrows());
        for i in 0..m.nrows() {
            for j in 0..m.nrows() {
                g[(i, j)] = (0..m.ncols()).map(|c| m[(i, c)] * m[(j, c)]).sum();
            }
        }
        g
    }

    #[test]
    fn matches_naive_gram_on_every_mode_and_path() {
        for shape in [
            vec![3, 4, 5],
            vec![2, 3, 40],
            vec![9, 3, 40],
            vec![5, 150],
            vec![150, 5],
            vec![4, 3, 2, 5],
            vec![7],
            vec![2, 1, 3],
        ] {
            let x = Tensor::<f64>::random_normal(&shape, 11).unwrap();
            for mode in 0..shape.len() {
                for par in [Par::Seq, Par::rayon(2)] {
                    let g = mode_gram(&x, mode, par).unwrap();
                    let n = naive_gram(&x, mode);
                    let tol = 32.0 * f64::EPSILON * x.numel() as f64;
                    for i in 0..g.nrows() {
                        for j in 0..g.ncols() {
                            assert!((g[(i, j)] - n[(i, j)]).abs() <= tol, "{shape:?} mode {mode}");
                        }
                    }
                }
            }
        }
    }
}
