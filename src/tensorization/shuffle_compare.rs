//! Shuffled vs unshuffled decomposition at the same parameter budget (the RsTD comparison):
//! [`compare_shuffled`] returns one [`CompareRow`] per variant.

use crate::budget::Budget;
use crate::decomp::{TrSvd, TtSvd};
use crate::error::{checked_numel, Error, Result};
use crate::format::{Factorized, TrTensor, TtTensor};
use crate::scalar::Scalar;
use crate::tensor::Tensor;
use crate::tensorization::shuffle::{rstd_tr, rstd_tt, ShuffleKind, Shuffled};

/// The tensor format the comparison decomposes into.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RstdFormat {
    /// Tensor train by TT-SVD ([`TtSvd`]).
    Tt,
    /// Tensor ring by TR-SVD ([`TrSvd`], `r_0` chosen automatically).
    Tr,
}

/// One line of [`compare_shuffled`]: a decomposition of `X` (or of its shuffle `π(X)`).
#[derive(Clone, Debug, PartialEq)]
pub struct CompareRow {
    /// The format.
    pub format: RstdFormat,
    /// `None` for the plain decomposition of `X`, else the kind of shuffle applied.
    pub shuffle: Option<ShuffleKind>,
    /// The uniform rank cap used (the same for every row of a comparison).
    pub max_rank: usize,
    /// The ranks obtained (`d + 1` numbers, as [`crate::format::TtTensor::ranks`]).
    pub ranks: Vec<usize>,
    /// The number of parameters (the permutation costs none).
    pub params: usize,
    /// `N / params`.
    pub compression_ratio: f64,
    /// `‖X − X̂‖_F / ‖X‖_F` against the unshuffled `X`.
    pub rel_error: f64,
}

/// Decomposes `x` in `format` with and without a random shuffle (`kind`, `seed`) at the same
/// parameter budget, and reports both: `[plain, shuffled]`.
///
/// The budget allows [`Budget::max_params`] of the `N` entries of `x` (e.g. `⌊N / c⌋` for
/// [`Budget::CompressBy`] `c`). "Same budget" is a uniform rank cap `r`: the largest `r` whose
/// predicted parameter count (the ranks the SVD sweep yields on a tensor with full-rank
/// unfoldings: [`TtTensor::svd_ranks_for`] for TT, [`TrSvd::generic_ranks`] for TR) fits it.
/// Both variants run with that cap and `eps = 0`; a tensor with rank-deficient unfoldings can
/// only come out smaller. The claim to test (Li et al. 2019) is that the shuffled error varies
/// more smoothly with the budget than the plain one.
///
/// ```
/// use tensorize::tensorization::{compare_shuffled, RstdFormat, ShuffleKind};
/// use tensorize::{Budget, Tensor};
/// let x = Tensor::<f64>::from_fn(&[4, 4, 4, 4], |i| ((i[0] + 2 * i[1]) as f64).sin() + i[3] as f64)?;
/// let rows = compare_shuffled(&x, Budget::CompressBy(2.0), RstdFormat::Tt, ShuffleKind::Whole, 1)?;
/// assert_eq!(rows.len(), 2);
/// assert!(rows.iter().all(|r| r.params <= 128 && r.max_rank == rows[0].max_rank));
/// // This tensor is smooth and low-rank: shuffling destroys that structure.
/// assert!(rows[0].rel_error < rows[1].rel_error);
/// # Ok::<(), tensorize::Error>(())
/// ```
///
/// # Errors
/// - [`Error::InvalidParameter`] for a bad budget value or a FLOP budget
///   ([`Budget::max_params`]);
/// - [`Error::InvalidRank`] if even rank 1 exceeds the budget (the error names both counts);
/// - as [`TtSvd::fit`] / [`TrSvd::fit`] and [`crate::tensorization::Shuffle::new`].
pub fn compare_shuffled<T: Scalar>(
    x: &Tensor<T>,
    budget: Budget,
    format: RstdFormat,
    kind: ShuffleKind,
    seed: u64,
) -> Result<Vec<CompareRow>> {
    let shape = x.shape().to_vec();
    let numel = checked_numel(&shape, 1)?;
    let budget = budget.max_params(numel)?;
    let cap = uniform_rank_for_budget(&shape, budget, format)?;
    let mut rows = Vec::with_capacity(2);
    for shuffle in [None, Some(kind)] {
        let (tt, tr) = (TtSvd::new().max_rank(cap), TrSvd::new().max_rank(cap));
        let fitted = match (format, shuffle) {
            (RstdFormat::Tt, None) => Variant::Tt(tt.fit(x)?.0),
            (RstdFormat::Tt, Some(k)) => Variant::ShuffledTt(rstd_tt(x, k, seed, &tt)?.0),
            (RstdFormat::Tr, None) => Variant::Tr(tr.fit(x)?.0),
            (RstdFormat::Tr, Some(k)) => Variant::ShuffledTr(rstd_tr(x, k, seed, &tr)?.0),
        };
        rows.push(fitted.row(x, format, shuffle, cap)?);
    }
    Ok(rows)
}

/// The fitted variants, so that one function fills the row.
enum Variant<T> {
    Tt(TtTensor<T>),
    ShuffledTt(Shuffled<TtTensor<T>>),
    Tr(TrTensor<T>),
    ShuffledTr(Shuffled<TrTensor<T>>),
}

impl<T: Scalar> Variant<T> {
    fn row(
        &self,
        x: &Tensor<T>,
        format: RstdFormat,
        shuffle: Option<ShuffleKind>,
        max_rank: usize,
    ) -> Result<CompareRow> {
        let (ranks, f): (Vec<usize>, &dyn Factorized<T>) = match self {
            Variant::Tt(t) => (t.ranks(), t),
            Variant::ShuffledTt(s) => (s.inner().ranks(), s),
            Variant::Tr(t) => (t.ranks(), t),
            Variant::ShuffledTr(s) => (s.inner().ranks(), s),
        };
        Ok(CompareRow {
            format,
            shuffle,
            max_rank,
            ranks,
            params: f.num_params(),
            compression_ratio: f.compression_ratio(),
            rel_error: f.rel_error(x)?.as_f64(),
        })
    }
}

/// The predicted parameter count of `format` at uniform rank cap `r` on `shape` (counted by
/// the formats' `params_for`).
fn predicted_params(shape: &[usize], r: usize, format: RstdFormat) -> Result<usize> {
    match format {
        RstdFormat::Tt => {
            let caps = vec![r; shape.len().saturating_sub(1)];
            TtTensor::<f64>::params_for(shape, &TtTensor::<f64>::svd_ranks_for(shape, &caps)?)
        }
        RstdFormat::Tr => {
            TrTensor::<f64>::params_for(shape, &TrSvd::new().max_rank(r).generic_ranks(shape)?)
        }
    }
}

/// The largest uniform rank cap whose predicted parameter count is at most `budget`.
fn uniform_rank_for_budget(shape: &[usize], budget: usize, format: RstdFormat) -> Result<usize> {
    let p1 = predicted_params(shape, 1, format)?;
    if p1 > budget {
        return Err(Error::InvalidRank {
            op: "compare_shuffled",
            ranks: vec![1],
            shape: shape.to_vec(),
            detail: format!("the budget of {budget} parameters is below the {p1} of rank 1"),
        });
    }
    // TT and TR-SVD ranks never exceed sqrt(N) (r_k² ≤ (n_1⋯n_k)(n_{k+1}⋯n_d)); scan up to it.
    let top = shape.iter().product::<usize>().isqrt().max(1);
    let mut best = 1;
    for r in 2..=top {
        if predicted_params(shape, r, format)? <= budget {
            best = r;
        }
    }
    Ok(best)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// On random data the predicted count is the actual one, and the chosen cap is the largest
    /// that fits: one more would exceed the budget.
    #[test]
    fn predicted_params_are_actual_and_cap_is_tight() {
        for shape in [vec![4usize, 5, 6], vec![3, 3, 3, 3], vec![8, 2, 5]] {
            let x = Tensor::<f64>::random_normal(&shape, 1).unwrap();
            for r in 1..=6 {
                let tt = TtSvd::new().max_rank(r).fit(&x).unwrap().0;
                assert_eq!(predicted_params(&shape, r, RstdFormat::Tt).unwrap(), tt.num_params());
                let tr = TrSvd::new().max_rank(r).fit(&x).unwrap().0;
                assert_eq!(predicted_params(&shape, r, RstdFormat::Tr).unwrap(), tr.num_params());
            }
            for format in [RstdFormat::Tt, RstdFormat::Tr] {
                let budget = x.numel() / 3;
                let cap = uniform_rank_for_budget(&shape, budget, format).unwrap();
                assert!(predicted_params(&shape, cap, format).unwrap() <= budget);
                let next = predicted_params(&shape, cap + 1, format).unwrap();
                let top = predicted_params(&shape, x.numel(), format).unwrap();
                assert!(next > budget || next == top, "{shape:?} {format:?} cap {cap}");
            }
        }
    }
}
