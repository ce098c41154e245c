//! Singular values and left singular vectors of a wide matrix through a QR of its transpose.
//!
//! For `A` (`m × n`, `n ≫ m`) faer's SVD bidiagonalizes `A` itself: `O(m² n)` work in
//! matrix–vector passes over all of `A`, memory-bound (64 × 16384 in f64 took 25–35 ms here,
//! about 10 GFLOP/s). LAPACK's drivers first reduce a wide matrix to a square one; so do we:
//! `Aᵀ = Q R`, and `A = Rᵀ Qᵀ` has the singular values and left singular vectors of the
//! `m × m` matrix `Rᵀ`. `Q` is never formed. `R` comes from a tall-skinny QR (TSQR): the
//! rows of `Aᵀ` are cut into cache-sized blocks, each block is factored on its own (in parallel),
//! and the stacked `R` factors are factored once more. faer's QR of the whole `16384 × 64`
//! panel ran at about 5 GFLOP/s; the blocked version, 2 threads, took 11 ms against the direct
//! SVD's 25–35 ms (and 6 ms against 18 ms for 16 × 65536). Householder QR, blocked or not, is
//! backward stable, so the result is as accurate as the direct SVD (absolute errors of order
//! `eps · ‖A‖`).

use faer::diag::Diag;
use faer::dyn_stack::MemStack;
use faer::linalg::qr::no_pivoting::factor::{
    qr_in_place, qr_in_place_scratch, recommended_block_size,
};
use faer::linalg::svd::{svd, svd_scratch, ComputeSvdVectors};
use faer::{Mat, MatRef, Par};
use rayon::prelude::*;

use super::check::scratch;
use crate::error::{Error, Result};
use crate::scalar::Scalar;

/// Use the QR route when `n ≥ WIDE_RATIO · m`: at `236 × 4096` (17×) it only broke even with
/// the direct SVD in the measurements above, at 256× and beyond it was 2.3–3× faster.
pub(crate) const WIDE_RATIO: usize = 16;

/// Rows of `Aᵀ` per TSQR block: at least this many, and at least `4m`.
const BLOCK_ROWS: usize = 2048;

/// The `m` singular values (as faer's SVD returns them) and the thin `U` (`m × m`) of a finite
/// `a` with `a.ncols() ≥ a.nrows()`.
pub(crate) fn wide_svd_u<T: Scalar>(
    op: &'static str,
    a: MatRef<'_, T>,
    par: Par,
) -> Result<(Diag<T>, Mat<T>)> {
    let (m, n) = a.shape();
    debug_assert!(n >= m);
    let r = tsqr_r(a.transpose(), par)?;
    let mut s = Diag::<T>::zeros(m);
    let mut u = Mat::<T>::zeros(m, m);
    let req = svd_scratch::<T>(
        m,
        m,
        ComputeSvdVectors::Thin,
        ComputeSvdVectors::No,
        Par::Seq,
        Default::default(),
    );
    let mut mem = scratch(req, &[m, m])?;
    svd(
        r.transpose(),
        s.as_mut(),
        Some(u.as_mut()),
        None,
        Par::Seq,
        MemStack::new(&mut mem),
        Default::default(),
    )
    .map_err(|_| Error::NoConvergence { op, shape: vec![m, n] })?;
    Ok((s, u))
}

/// The `R` factor (`m × m`, upper triangular) of a tall `at` (`n × m`, `n ≥ m`).
fn tsqr_r<T: Scalar>(at: MatRef<'_, T>, par: Par) -> Result<Mat<T>> {
    let (n, m) = at.shape();
    let rows = BLOCK_ROWS.max(4 * m);
    if n < 2 * rows {
        return r_factor(at.to_owned());
    }
    // The last block takes the remainder, so every block has at least `rows ≥ 4m` rows.
    let blocks = n / rows;
    let block_r = |b: usize| {
        let len = if b + 1 == blocks { n - b * rows } else { rows };
        r_factor(at.subrows(b * rows, len).to_owned())
    };
    let factors: Vec<Mat<T>> = if par.degree() > 1 {
        (0..blocks).into_par_iter().with_max_len(1).map(block_r).collect::<Result<_>>()?
    } else {
        (0..blocks).map(block_r).collect::<Result<_>>()?
    };
    let stacked = Mat::from_fn(blocks * m, m, |i, j| factors[i / m][(i % m, j)]);
    r_factor(stacked)
}

/// The upper triangular `R` (`m × m`) of a tall `a` (`rows ≥ m`), factored in place.
fn r_factor<T: Scalar>(mut a: Mat<T>) -> Result<Mat<T>> {
    let (rows, m) = a.shape();
    debug_assert!(rows >= m);
    let bs = recommended_block_size::<T>(rows, m);
    let mut coeff = Mat::<T>::zeros(bs, m);
    let req = qr_in_place_scratch::<T>(rows, m, bs, Par::Seq, Default::default());
    let mut mem = scratch(req, &[rows, m])?;
    qr_in_place(a.as_mut(), coeff.as_mut(), Par::Seq, MemStack::new(&mut mem), Default::default());
    Ok(Mat::from_fn(m, m, |i, j| if j >= i { a[(i, j)] } else { T::zero() }))
}
