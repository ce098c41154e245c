//! What the layers over mode pairs (`TtLinear`, `TrLinear`: a weight `[M, N]` seen as the
//! tensor of pairs `(m_k, n_k)`) share: the sizes their modes give, and Glorot-initialized cores.

use crate::error::{Error, Result};
use crate::format::tt_matrix::check_modes;
use crate::scalar::Scalar;
use crate::tensor::Tensor;

/// `(M, N) = (Π m_k, Π n_k)` after checking that the modes pair up (same length ≥ 1, none 0).
///
/// # Errors
/// [`Error::SizeOverflow`] if a product overflows; [`Error::ShapeMismatch`] as
/// [`crate::format::tt_matrix`]'s mode check.
pub(crate) fn mode_sizes(
    op: &'static str,
    row_modes: &[usize],
    col_modes: &[usize],
) -> Result<(usize, usize)> {
    let overflow =
        || Error::SizeOverflow { shape: row_modes.iter().chain(col_modes).copied().collect() };
    let prod = |m: &[usize]| m.iter().try_fold(1usize, |a, &x| a.checked_mul(x));
    let rows = prod(row_modes).ok_or_else(overflow)?;
    let cols = prod(col_modes).ok_or_else(overflow)?;
    check_modes(op, rows, cols, row_modes, col_modes)?;
    Ok((rows, cols))
}

/// Cores `[bonds[k], m_k, n_k, bonds[k + 1]]` (`bonds` has `d + 1` entries: `[1, r_1, …, 1]`
/// for a train, `[r_0, …, r_{d−1}, r_0]` for a ring) of i.i.d. normal entries whose variance
/// gives every entry of `W` Glorot's `2 / (M + N)`: an entry sums `Π_{k<d} bonds[k]` products of
/// `d` core entries, so each core takes `(2 / ((M + N) Π bonds))^(1/d)`. Core `k` draws from
/// its own seed derived from `seed`.
///
/// # Errors
/// [`Error::OutOfMemory`] if a core cannot be allocated.
pub(crate) fn glorot_cores<T: Scalar>(
    (rows, cols): (usize, usize),
    row_modes: &[usize],
    col_modes: &[usize],
    bonds: &[usize],
    seed: u64,
) -> Result<Vec<Tensor<T>>> {
    let d = row_modes.len();
    let paths: f64 = bonds[..d].iter().map(|&r| r as f64).product();
    let target = 2.0 / (rows as f64 + cols as f64);
    let std = (target / paths).powf(1.0 / d as f64).sqrt();
    (0..d)
        .map(|k| {
            let s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15).wrapping_add(k as u64);
            let dims = [bonds[k], row_modes[k], col_modes[k], bonds[k + 1]];
            Ok(Tensor::<T>::random_normal(&dims, s)?.scale(T::of(std)))
        })
        .collect()
}
