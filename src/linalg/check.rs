//! Input validation and small shared helpers for the faer adapter (crate-internal).

use faer::dyn_stack::{MemBuffer, StackReq};
use faer::MatRef;

use crate::error::{Error, Result};
use crate::scalar::{ldexp, Scalar};

/// The shape of `a` as a `Vec`, for error messages.
pub(crate) fn shape_of<T>(a: MatRef<'_, T>) -> Vec<usize> {
    vec![a.nrows(), a.ncols()]
}

/// Refuses empty matrices ([`Error::ZeroDimension`]) and NaN/Inf entries ([`Error::NonFinite`],
/// with the row-major position of the first offending entry).
pub(crate) fn check_matrix<T: Scalar>(op: &'static str, a: MatRef<'_, T>) -> Result<()> {
    let (m, n) = a.shape();
    if m == 0 || n == 0 {
        return Err(Error::ZeroDimension { shape: vec![m, n] });
    }
    if fold_slices(a, true, |ok, xs| ok && all_finite(xs)) {
        return Ok(());
    }
    // Slow path, only on failure: the first offending entry in row-major order.
    for i in 0..m {
        for j in 0..n {
            let x = a[(i, j)];
            if !x.is_finite() {
                return Err(Error::NonFinite { op, position: i * n + j, value: x.as_f64() });
            }
        }
    }
    Ok(())
}

/// Refuses non-square matrices.
pub(crate) fn check_square<T>(op: &'static str, a: MatRef<'_, T>) -> Result<()> {
    if a.nrows() != a.ncols() {
        return Err(Error::ShapeMismatch {
            op,
            left: shape_of(a),
            right: vec![a.ncols(), a.nrows()],
            detail: "the matrix must be square".to_string(),
        });
    }
    Ok(())
}

/// Allocates scratch memory for a faer kernel, reporting an absurd request as
/// [`Error::SizeOverflow`] instead of aborting.
pub(crate) fn scratch(req: StackReq, shape: &[usize]) -> Result<MemBuffer> {
    MemBuffer::try_new(req).map_err(|_| Error::SizeOverflow { shape: shape.to_vec() })
}

/// The largest absolute entry of `a` (0 for an empty matrix; NaN entries are skipped).
pub(crate) fn max_abs<T: Scalar>(a: MatRef<'_, T>) -> T {
    fold_slices(a, T::zero(), |m, xs| m.max(max_abs_slice(xs)))
}

/// Lanes of independent accumulators in the slice folds: without them each entry waits for
/// the previous comparison (a latency-bound chain, about 1.4 ms per 8 MB here); with them the
/// loop vectorizes.
const LANES: usize = 8;

/// Folds `f` over `xs` in [`LANES`] independent accumulators started at `init`, then folds the
/// lanes themselves with `f` (so `f` must accept its own results as entries).
fn fold_lanes<T: Scalar>(xs: &[T], init: T, f: impl Fn(T, T) -> T) -> T {
    let mut acc = [init; LANES];
    let chunks = xs.chunks_exact(LANES);
    let tail = chunks.remainder();
    for c in chunks {
        for (a, &x) in acc.iter_mut().zip(c) {
            *a = f(*a, x);
        }
    }
    acc.iter().chain(tail).fold(init, |a, &x| f(a, x))
}

fn max_abs_slice<T: Scalar>(xs: &[T]) -> T {
    fold_lanes(xs, T::zero(), |m, x| if x.abs() > m { x.abs() } else { m })
}

/// Whether every entry of `xs` is finite: `x · 0` is 0 for finite `x` and NaN for NaN or ±∞,
/// and a sum of them is NaN as soon as one is.
fn all_finite<T: Scalar>(xs: &[T]) -> bool {
    fold_lanes(xs, T::zero(), |s, x| s + x * T::zero()).is_finite()
}

/// Folds `f` over `a` one contiguous run of entries at a time (whole columns or rows when `a`
/// is column- or row-major; several times faster than indexing, or than faer's `norm_max`,
/// measured), single entries otherwise.
fn fold_slices<T: Scalar, A: Copy>(a: MatRef<'_, T>, init: A, f: impl Fn(A, &[T]) -> A) -> A {
    let mut acc = init;
    let (m, n) = a.shape();
    if m == 0 || n == 0 {
        return acc;
    }
    let (outer, by_cols) = if a.row_stride() == 1 {
        (n, true)
    } else if a.col_stride() == 1 {
        (m, false)
    } else {
        (0, true)
    };
    if outer == 0 {
        for j in 0..n {
            for i in 0..m {
                acc = f(acc, &[a[(i, j)]]);
            }
        }
        return acc;
    }
    for k in 0..outer {
        let slice = if by_cols {
            a.col(k).try_as_col_major().map(|c| c.as_slice())
        } else {
            a.row(k).try_as_row_major().map(|r| r.as_slice())
        };
        match slice {
            Some(xs) => acc = f(acc, xs),
            None => {
                let len = if by_cols { m } else { n };
                for l in 0..len {
                    let x = if by_cols { a[(l, k)] } else { a[(k, l)] };
                    acc = f(acc, &[x]);
                }
            }
        }
    }
    acc
}

/// The Frobenius norm of `a` as `f64`; faer's kernel scales internally, so it neither overflows
/// nor underflows for any finite input.
pub(crate) fn frob_norm<T: Scalar>(a: MatRef<'_, T>) -> f64 {
    if a.nrows() == 0 || a.ncols() == 0 {
        return 0.0;
    }
    a.norm_l2().as_f64()
}

/// A power of two `c` such that `a / c` has entries of magnitude about 1, when `a`'s largest
/// entry is so large or so small that faer's kernels (or a Gram product) could overflow or
/// underflow; `None` when `a` is safe as it is (or zero). Powers of two scale exactly.
pub(crate) fn safe_scale<T: Scalar>(a: MatRef<'_, T>) -> Option<T> {
    let amax = max_abs(a);
    if amax == T::zero() {
        return None;
    }
    // Safe range: squares of sums over the matrix stay finite and normal.
    let n = (a.nrows().max(a.ncols()) as f64).max(1.0);
    let hi = T::max_value().as_f64().sqrt() / (4.0 * n);
    let lo = T::min_positive_value().as_f64().sqrt() * (4.0 * n);
    let x = amax.as_f64();
    if x <= hi && x >= lo {
        return None;
    }
    // ldexp, not 2f64.powi(e): powi(-1074) is 1 / 2^1074 = 1 / ∞ = 0, and a / 0 is NaN (found
    // by the decompositions fuzz target, an SVD of 5e-324 entries). c ≤ amax keeps c finite
    // also near the largest value, where log2 rounds up to 1024.
    let mut e = x.log2().floor() as i32;
    if ldexp(1.0, e) > x {
        e -= 1;
    }
    Some(T::of(ldexp(1.0, e)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use faer::Mat;

    #[test]
    fn layouts_agree() {
        let data: Vec<f64> = (0..12).map(|x| x as f64 - 5.5).collect();
        let row = MatRef::from_row_major_slice(&data, 3, 4);
        let col = MatRef::from_column_major_slice(&data, 3, 4);
        let owned = Mat::from_fn(3, 4, |i, j| row[(i, j)]);
        let sub = owned.as_ref().submatrix(1, 1, 2, 3).reverse_rows();
        for m in [row, col, owned.as_ref(), row.transpose(), sub, sub.transpose()] {
            let want = (0..m.nrows())
                .flat_map(|i| (0..m.ncols()).map(move |j| (i, j)))
                .fold(0.0f64, |a, (i, j)| a.max(m[(i, j)].abs()));
            assert_eq!(max_abs(m), want);
            let sum = fold_slices(m, 0.0, |a, xs| a + xs.iter().sum::<f64>());
            let want_sum: f64 = (0..m.nrows())
                .flat_map(|i| (0..m.ncols()).map(move |j| (i, j)))
                .map(|(i, j)| m[(i, j)])
                .sum();
            assert!((sum - want_sum).abs() <= 1e-12 * 100.0);
        }
    }

    #[test]
    fn safe_scale_is_a_finite_nonzero_power_of_two_at_both_ends_of_the_range() {
        let cases: [(f64, f64); 4] =
            [(5e-324, 5e-324), (f64::MAX, 2f64.powi(1023)), (1e-300, 2f64.powi(-997)), (1.0, 0.0)];
        for (amax, want) in cases {
            let data = [amax, 0.0, -amax / 2.0, 0.0];
            let got = safe_scale(MatRef::from_row_major_slice(&data, 2, 2));
            assert_eq!(got.unwrap_or(0.0), want, "{amax:e}");
        }
        let tiny = [f32::from_bits(1), 0.0];
        assert_eq!(safe_scale(MatRef::from_row_major_slice(&tiny, 1, 2)), Some(tiny[0]));
        assert_eq!(
            safe_scale(MatRef::from_row_major_slice(&[f32::MAX], 1, 1)),
            Some(2f32.powi(127))
        );
    }

    #[test]
    fn lane_folds_see_every_entry_of_every_length() {
        // The largest entry and a non-finite one at every position, before, in and after the
        // 8-lane chunks.
        for len in 1..=20 {
            for at in 0..len {
                let mut xs: Vec<f64> = (0..len).map(|i| (i as f64 * 0.37).sin()).collect();
                xs[at] = -7.5;
                assert_eq!(max_abs_slice(&xs), 7.5, "len {len} at {at}");
                assert!(all_finite(&xs));
                for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
                    xs[at] = bad;
                    assert!(!all_finite(&xs), "len {len} at {at}: {bad}");
                }
                xs[at] = f64::NAN;
                assert!(max_abs_slice(&xs) < 1.0, "NaN is skipped");
            }
        }
        assert_eq!(max_abs_slice::<f32>(&[]), 0.0);
        assert!(all_finite::<f32>(&[]));
    }

    #[test]
    fn non_finite_position_is_row_major() {
        let mut data = vec![0.0f32; 12];
        data[6] = f32::NAN; // row 1, col 2 of a 3 × 4 row-major matrix
        data[9] = f32::INFINITY;
        let row = MatRef::from_row_major_slice(&data, 3, 4);
        assert!(matches!(check_matrix("t", row), Err(Error::NonFinite { position: 6, .. })));
        // The same buffer read column-major: entry 6 is (0, 2), entry 9 is (0, 3) → position 2.
        let col = MatRef::from_column_major_slice(&data, 3, 4);
        assert!(matches!(check_matrix("t", col), Err(Error::NonFinite { position: 2, .. })));
        assert!(matches!(
            check_matrix("t", row.transpose()),
            Err(Error::NonFinite { position: 5, .. })
        ));
        let empty = MatRef::from_row_major_slice(&data[..0], 0, 4);
        assert!(matches!(check_matrix("t", empty), Err(Error::ZeroDimension { .. })));
    }
}
