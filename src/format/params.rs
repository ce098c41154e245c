//! Parameter counts of the formats, and the TT ranks TT-SVD reaches, from a shape and ranks
//! alone (no data): planning a compression before decomposing. The one place for both; each
//! count equals `num_params()` of a decomposition of that size.

use super::{CpTensor, PartialTucker, TrTensor, TtTensor};
use crate::error::{checked_numel, Error, Result};

fn overflow(shape: &[usize]) -> Error {
    Error::SizeOverflow { shape: shape.to_vec() }
}

fn checked_sum_of_products<'a>(
    shape: &[usize],
    mut terms: impl Iterator<Item = &'a [usize]>,
) -> Result<usize> {
    terms.try_fold(0usize, |acc, t| {
        let p =
            t.iter().try_fold(1usize, |a, &x| a.checked_mul(x)).ok_or_else(|| overflow(shape))?;
        acc.checked_add(p).ok_or_else(|| overflow(shape))
    })
}

fn check_shape(op: &'static str, shape: &[usize]) -> Result<()> {
    if shape.is_empty() {
        return Err(Error::InvalidModes {
            op,
            modes: vec![],
            ndim: 0,
            detail: "the shape needs at least one mode".into(),
        });
    }
    if shape.contains(&0) {
        return Err(Error::ZeroDimension { shape: shape.to_vec() });
    }
    Ok(())
}

impl<T> CpTensor<T> {
    /// The parameters of a rank-`rank` CP tensor of shape `shape`: `Σ_k I_k · R + R`
    /// (factors plus weights), as [`Factorized::num_params`](super::Factorized::num_params).
    ///
    /// ```
    /// use tensorize::format::CpTensor;
    /// assert_eq!(CpTensor::<f64>::params_for(&[9, 16, 16], 5)?, 5 * 41 + 5);
    /// # Ok::<(), tensorize::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidModes`] for an empty shape, [`Error::ZeroDimension`],
    /// [`Error::InvalidRank`] for rank 0, [`Error::SizeOverflow`].
    pub fn params_for(shape: &[usize], rank: usize) -> Result<usize> {
        const OP: &str = "CpTensor::params_for";
        check_shape(OP, shape)?;
        if rank == 0 {
            return Err(Error::InvalidRank {
                op: OP,
                ranks: vec![0],
                shape: shape.to_vec(),
                detail: "the CP rank must be at least 1".into(),
            });
        }
        let rows = shape
            .iter()
            .try_fold(1usize, |a, &x| a.checked_add(x))
            .ok_or_else(|| overflow(shape))?;
        rows.checked_mul(rank).ok_or_else(|| overflow(shape))
    }
}

impl<T> PartialTucker<T> {
    /// The parameters of a partial Tucker tensor of shape `shape` decomposed on `modes` with
    /// `ranks[j]` for `modes[j]`: `∏_k c_k + Σ_j I_{m_j} r_{m_j}` where the core dimension
    /// `c_k` is `r_k` on decomposed modes and `I_k` elsewhere, as
    /// [`Factorized::num_params`](super::Factorized::num_params).
    ///
    /// ```
    /// use tensorize::format::PartialTucker;
    /// // Tucker-2 of a [16, 8, 3, 3] kernel with ranks (4, 2): core 4·2·3·3, factors 16·4 + 8·2.
    /// assert_eq!(PartialTucker::<f64>::params_for(&[16, 8, 3, 3], &[0, 1], &[4, 2])?, 72 + 80);
    /// # Ok::<(), tensorize::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidModes`] unless `modes` are distinct, increasing and in range;
    /// [`Error::InvalidRank`] unless there is one rank per mode with `1 ≤ r ≤ I`;
    /// [`Error::ZeroDimension`], [`Error::SizeOverflow`].
    pub fn params_for(shape: &[usize], modes: &[usize], ranks: &[usize]) -> Result<usize> {
        const OP: &str = "PartialTucker::params_for";
        check_shape(OP, shape)?;
        super::partial_tucker::check_modes(OP, modes, shape.len())?;
        if ranks.len() != modes.len()
            || modes.iter().zip(ranks).any(|(&m, &r)| r == 0 || r > shape[m])
        {
            return Err(Error::InvalidRank {
                op: OP,
                ranks: ranks.to_vec(),
                shape: shape.to_vec(),
                detail: format!("need one rank 1 ≤ r ≤ I per decomposed mode {modes:?}"),
            });
        }
        let mut core = shape.to_vec();
        for (&m, &r) in modes.iter().zip(ranks) {
            core[m] = r;
        }
        let factors: Vec<[usize; 2]> =
            modes.iter().zip(ranks).map(|(&m, &r)| [shape[m], r]).collect();
        let core_n = checked_sum_of_products(shape, std::iter::once(core.as_slice()))?;
        let fac_n = checked_sum_of_products(shape, factors.iter().map(|f| f.as_slice()))?;
        core_n.checked_add(fac_n).ok_or_else(|| overflow(shape))
    }
}

impl<T> TtTensor<T> {
    /// The parameters of a TT tensor of shape `n_1 × … × n_d` with internal ranks
    /// `ranks = [r_1, …, r_{d−1}]` (boundary ranks 1 implied): `Σ_k r_{k−1} n_k r_k`, as
    /// [`Factorized::num_params`](super::Factorized::num_params).
    ///
    /// ```
    /// use tensorize::format::TtTensor;
    /// // [16, 3, 3, 16] with ranks 4: 16·4 + 4·3·4 + 4·3·4 + 4·16.
    /// assert_eq!(TtTensor::<f64>::params_for(&[16, 3, 3, 16], &[4, 4, 4])?, 224);
    /// # Ok::<(), tensorize::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidModes`] for an empty shape, [`Error::ZeroDimension`],
    /// [`Error::InvalidRank`] unless there are `d − 1` ranks, all `≥ 1`;
    /// [`Error::SizeOverflow`].
    pub fn params_for(shape: &[usize], ranks: &[usize]) -> Result<usize> {
        const OP: &str = "TtTensor::params_for";
        check_shape(OP, shape)?;
        if ranks.len() + 1 != shape.len() || ranks.contains(&0) {
            return Err(Error::InvalidRank {
                op: OP,
                ranks: ranks.to_vec(),
                shape: shape.to_vec(),
                detail: format!(
                    "a {}-way train needs {} internal ranks, all ≥ 1",
                    shape.len(),
                    shape.len() - 1
                ),
            });
        }
        let full: Vec<usize> =
            std::iter::once(1).chain(ranks.iter().copied()).chain(std::iter::once(1)).collect();
        let cores: Vec<[usize; 3]> =
            (0..shape.len()).map(|k| [full[k], shape[k], full[k + 1]]).collect();
        checked_sum_of_products(shape, cores.iter().map(|c| c.as_slice()))
    }

    /// The internal ranks `[r_1, …, r_{d−1}]` TT-SVD produces on a tensor of shape
    /// `n_1 × … × n_d` with full-rank unfoldings (generic data, e.g. random) under per-bond caps
    /// `caps = [c_1, …, c_{d−1}]`: `r_k = min(c_k, r_{k−1} n_k, n_{k+1}⋯n_d)` with `r_0 = 1`
    /// (the sweep's `k`-th matrix is `(r_{k−1} n_k) × (n_{k+1}⋯n_d)`). Data with
    /// rank-deficient unfoldings can only come out smaller. Pass `usize::MAX` caps for
    /// [`TtTensor::max_ranks_for`].
    ///
    /// ```
    /// use tensorize::format::TtTensor;
    /// assert_eq!(TtTensor::<f64>::svd_ranks_for(&[4, 5, 6], &[3, 100])?, vec![3, 6]);
    /// assert_eq!(TtTensor::<f64>::svd_ranks_for(&[2, 3, 4, 5], &[9, 9, 9])?, vec![2, 6, 5]);
    /// # Ok::<(), tensorize::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidModes`] for an empty shape, [`Error::ZeroDimension`],
    /// [`Error::SizeOverflow`]; [`Error::InvalidRank`] unless there are `d − 1` caps, all `≥ 1`.
    pub fn svd_ranks_for(shape: &[usize], caps: &[usize]) -> Result<Vec<usize>> {
        const OP: &str = "TtTensor::svd_ranks_for";
        check_shape(OP, shape)?;
        // With the element count in range no product below can overflow: r_{k−1} n_k is at
        // most n_1⋯n_k, and every suffix product divides it.
        let rest = checked_numel(shape, 1)?;
        if caps.len() + 1 != shape.len() || caps.contains(&0) {
            return Err(Error::InvalidRank {
                op: OP,
                ranks: caps.to_vec(),
                shape: shape.to_vec(),
                detail: format!(
                    "a {}-way train needs {} rank caps, all ≥ 1",
                    shape.len(),
                    shape.len() - 1
                ),
            });
        }
        Ok(sweep_ranks(1, rest, shape, caps.iter().copied()))
    }

    /// The largest internal ranks a TT tensor of shape `n_1 × … × n_d` can need:
    /// `r_k = min(n_1⋯n_k, n_{k+1}⋯n_d)`, the ranks of the unfoldings of generic data (what
    /// [`TtTensor::svd_ranks_for`] gives without caps).
    ///
    /// ```
    /// use tensorize::format::TtTensor;
    /// assert_eq!(TtTensor::<f64>::max_ranks_for(&[2, 3, 4, 5])?, vec![2, 6, 5]);
    /// # Ok::<(), tensorize::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidModes`] for an empty shape, [`Error::ZeroDimension`],
    /// [`Error::SizeOverflow`].
    pub fn max_ranks_for(shape: &[usize]) -> Result<Vec<usize>> {
        check_shape("TtTensor::max_ranks_for", shape)?;
        Self::svd_ranks_for(shape, &vec![usize::MAX; shape.len() - 1])
    }
}

impl<T> TrTensor<T> {
    /// The parameters of a tensor ring of shape `n_1 × … × n_d` with ranks
    /// `ranks = [r_0, …, r_d]` (`r_d = r_0`, as [`TrTensor::ranks`]): `Σ_k r_{k−1} n_k r_k`, as
    /// [`Factorized::num_params`](super::Factorized::num_params).
    ///
    /// ```
    /// use tensorize::format::TrTensor;
    /// assert_eq!(TrTensor::<f64>::params_for(&[4, 5, 6], &[2, 2, 3, 2])?, 16 + 30 + 36);
    /// # Ok::<(), tensorize::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidModes`] for an empty shape, [`Error::ZeroDimension`],
    /// [`Error::InvalidRank`] unless there are `d + 1` ranks, all `≥ 1`, with `r_d = r_0`;
    /// [`Error::SizeOverflow`].
    pub fn params_for(shape: &[usize], ranks: &[usize]) -> Result<usize> {
        const OP: &str = "TrTensor::params_for";
        check_shape(OP, shape)?;
        if ranks.len() != shape.len() + 1 || ranks.contains(&0) || ranks.first() != ranks.last() {
            return Err(Error::InvalidRank {
                op: OP,
                ranks: ranks.to_vec(),
                shape: shape.to_vec(),
                detail: format!(
                    "a {}-way ring needs {} ranks, all ≥ 1, the last equal to the first",
                    shape.len(),
                    shape.len() + 1
                ),
            });
        }
        let cores: Vec<[usize; 3]> =
            (0..shape.len()).map(|k| [ranks[k], shape[k], ranks[k + 1]]).collect();
        checked_sum_of_products(shape, cores.iter().map(|c| c.as_slice()))
    }
}

/// The ranks a left-to-right SVD sweep keeps on generic data (full-rank unfoldings), one per
/// mode of `modes`: starting from rank `first` with `rest` elements still to split, each mode
/// `n` leaves `rest / n` and keeps `min(cap, previous rank · n, rest / n)`. TT-SVD
/// ([`TtTensor::svd_ranks_for`]) and TR-SVD's generic ranks both follow it.
pub(crate) fn sweep_ranks(
    first: usize,
    mut rest: usize,
    modes: &[usize],
    caps: impl IntoIterator<Item = usize>,
) -> Vec<usize> {
    let mut prev = first;
    modes
        .iter()
        .zip(caps)
        .map(|(&n, cap)| {
            rest /= n;
            prev = cap.min(prev.saturating_mul(n)).min(rest);
            prev
        })
        .collect()
}
