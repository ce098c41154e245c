//! Ranks and parameter counts of a [`Layout`] from its shape alone: clipping a uniform rank to
//! what each format allows, and the largest uniform rank within a parameter limit.

use super::layout::{Kind, Layout};
use crate::error::Result;
use crate::format::{CpTensor, PartialTucker, TtTensor};
use crate::tensorization::low_rank::LowRank;

/// Tucker ranks `min(r_j, I_j)` on `modes`, further clipped so that no rank exceeds the
/// product of the other core dimensions (the largest rank an unfolding of the core allows).
pub(crate) fn tucker_ranks(shape: &[usize], modes: &[usize], wanted: &[usize]) -> Vec<usize> {
    let mut core = shape.to_vec();
    for (&m, &r) in modes.iter().zip(wanted) {
        core[m] = r.min(shape[m]).max(1);
    }
    loop {
        let mut changed = false;
        for &m in modes {
            let others = core
                .iter()
                .enumerate()
                .filter(|&(k, _)| k != m)
                .fold(1usize, |a, (_, &x)| a.saturating_mul(x));
            if core[m] > others {
                core[m] = others.max(1);
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    modes.iter().map(|&m| core[m]).collect()
}

/// The parameters of `layout`'s format with ranks `ranks` (the
/// [`Plan::ranks`](super::Plan::ranks) convention), counted by the formats' `params_for`.
pub(crate) fn params_of(layout: &Layout, ranks: &[usize]) -> Result<usize> {
    let s = &layout.shape;
    match layout.kind {
        Kind::LowRank => LowRank::<f64>::params_for(s[0], s[1], ranks[0]),
        Kind::Cp => CpTensor::<f64>::params_for(s, ranks[0]),
        Kind::Tucker => PartialTucker::<f64>::params_for(s, &layout.tucker_modes, ranks),
        Kind::Tt => TtTensor::<f64>::params_for(s, ranks),
    }
}

/// The ranks of `layout` for one uniform rank `r` (clipped to what the format allows; for TT
/// the ranks TT-SVD reaches under that cap, [`TtTensor::svd_ranks_for`]).
pub(crate) fn uniform_ranks(layout: &Layout, r: usize) -> Result<Vec<usize>> {
    let s = &layout.shape;
    Ok(match layout.kind {
        Kind::LowRank => vec![r.min(s[0]).min(s[1]).max(1)],
        Kind::Cp => vec![r.max(1)],
        Kind::Tucker => {
            let wanted = vec![r; layout.tucker_modes.len()];
            tucker_ranks(s, &layout.tucker_modes, &wanted)
        }
        Kind::Tt => TtTensor::<f64>::svd_ranks_for(s, &vec![r.max(1); s.len().saturating_sub(1)])?,
    })
}

/// The largest uniform rank whose parameters are at most `limit` (at least rank 1).
pub(crate) fn largest_uniform(layout: &Layout, limit: f64, max_r: usize) -> Result<Vec<usize>> {
    let (mut lo, mut hi) = (1usize, max_r.max(1));
    // Invariant: rank `lo` is feasible or lo = 1; the answer lies in [lo, hi].
    while lo < hi {
        let mid = lo + (hi - lo).div_ceil(2);
        if params_of(layout, &uniform_ranks(layout, mid)?)? as f64 <= limit {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    uniform_ranks(layout, lo)
}
