//! Leading left singular subspace of a mode unfolding, with the rank chosen by a fixed rank or
//! by a discarded-energy budget: Gram + symmetric eigensolver where accurate, SVD otherwise.

use faer::Mat;

use crate::decomp::gram::mode_gram;
use crate::error::Result;
use crate::linalg::{left_subspace, sym_eigen_desc, SubspaceMethod, Truncation};
use crate::par::Par;
use crate::scalar::Scalar;
use crate::tenalg;
use crate::tensor::Tensor;

/// How many leading vectors to keep.
#[derive(Clone, Copy, Debug)]
pub(crate) enum RankRule {
    /// Exactly this many (`1 ≤ r ≤ I_n`).
    Rank(usize),
    /// The fewest `r ≥ 1` whose discarded energy `Σ_{i≥r} σ_i²` is at most `budget_sq`,
    /// then capped by `max_rank`.
    Energy { budget_sq: f64, max_rank: Option<usize> },
}

/// An orthonormal basis `U` (`I_n × r`) of the leading mode-`n` subspace.
pub(crate) struct ModeBasis<T> {
    /// The basis, orthonormal columns.
    pub u: Mat<T>,
}

/// Eigenproblems smaller than this run on one thread whatever `par` says.
const EIGEN_PARALLEL_MIN: usize = 512;

/// Gram eigenvalues below `GRAM_FLOOR · eps · σ_max²` (singular values below
/// `10·sqrt(eps)·σ_max`, the rule of [`SubspaceMethod::Auto`]) are not trusted.
const GRAM_FLOOR: f64 = 100.0;

/// The rounding error of Gram eigenvalues, in units of `I_n · eps · σ_max²`, subtracted from
/// an energy budget so that the bound survives it.
const GRAM_MARGIN: f64 = 4.0;

/// The leading `r` left singular vectors of the mode-`mode` unfolding of `x`.
///
/// `Auto`/`Gram`: eigenvectors of `G = X_(n) X_(n)ᵀ` ([`mode_gram`], no unfolding copy),
/// `σ_i² = λ_i`. The eigenvalues carry an absolute error of about `eps · σ_max²` (times a
/// modest multiple of `I_n`), so `Auto` recomputes with an SVD of the unfolding when a kept
/// `σ_r` lies below `10·sqrt(eps)·σ_max` (as [`SubspaceMethod::Auto`] does) or the energy
/// budget below `100·eps·σ_max²`, and uses the
/// SVD directly for tall unfoldings (`I_n` larger than the column count). `Svd`:
/// always the SVD of the unfolding (a view for the first/last mode, a copy otherwise).
/// When `r` exceeds the unfolding's column count only the Gram path can supply `r`
/// orthonormal vectors, and it is used whatever `method` says.
pub(crate) fn leading_basis<T: Scalar>(
    x: &Tensor<T>,
    mode: usize,
    rule: RankRule,
    method: SubspaceMethod,
    par: Par,
) -> Result<ModeBasis<T>> {
    x.check_mode(mode)?;
    let rows = x.shape()[mode];
    let cols = x.numel() / rows;
    let eps = T::epsilon().as_f64();
    // Tall unfoldings: the SVD (rows·cols²) beats an I_n × I_n eigenproblem.
    let wants_svd = match method {
        SubspaceMethod::Svd => true,
        SubspaceMethod::Gram => false,
        _ => rows > cols,
    };
    if !wants_svd {
        let g = mode_gram(x, mode, par)?;
        // Small dense eigenproblems do not gain from threads (faer's own measurements agree).
        let eig_par = if rows < EIGEN_PARALLEL_MIN { Par::Seq } else { par };
        let (vals, vecs) = sym_eigen_desc(g.as_ref(), eig_par)?;
        let spectrum: Vec<f64> = vals.iter().map(|v| v.as_f64().max(0.0)).collect();
        let top = spectrum.first().copied().unwrap_or(0.0);
        let floor = GRAM_FLOOR * eps * top;
        let margin = GRAM_MARGIN * rows as f64 * eps * top;
        let (r, _) = choose_rank(&spectrum, rule, margin);
        let unreliable = spectrum[r - 1] < floor
            || matches!(rule, RankRule::Energy { budget_sq, .. } if budget_sq < floor && r < rows);
        let svd_can = r < rows && r <= cols;
        if !(matches!(method, SubspaceMethod::Auto) && unreliable && svd_can) {
            let u = Mat::from_fn(rows, r, |i, j| vecs[(i, j)]);
            return Ok(ModeBasis { u });
        }
    }
    svd_basis(x, mode, rule, par)
}

/// Extends the orthonormal columns of `u` (`rows × k`) to `r` orthonormal columns.
///
/// A rank above the unfolding's column count asks for directions that hold no energy (their
/// core slices are zero), so any orthonormal completion serves. This one is deterministic:
/// standard basis vectors, projected off the columns so far (twice, for stability), taken
/// when at least half their norm survives — at most `rows` candidates, `O(rows · r²)` work,
/// instead of a `rows × rows` eigenproblem.
fn complete_basis<T: Scalar>(u: Mat<T>, r: usize) -> Mat<T> {
    let rows = u.nrows();
    let mut cols: Vec<Vec<T>> =
        (0..u.ncols()).map(|j| (0..rows).map(|i| u[(i, j)]).collect()).collect();
    for e in 0..rows {
        if cols.len() >= r {
            break;
        }
        let mut v = vec![T::zero(); rows];
        v[e] = T::one();
        for _ in 0..2 {
            for c in &cols {
                let d: T = c.iter().zip(&v).map(|(&a, &b)| a * b).sum();
                v.iter_mut().zip(c).for_each(|(x, &a)| *x -= d * a);
            }
        }
        let norm = v.iter().map(|&x| x * x).sum::<T>().sqrt();
        if norm > T::of(0.5) {
            v.iter_mut().for_each(|x| *x /= norm);
            cols.push(v);
        }
    }
    Mat::from_fn(rows, cols.len(), |i, j| cols[j][i])
}

/// `(r, Σ_{i≥r} s_i)` for squared singular values `sq` (descending): by rank, or the fewest
/// vectors whose discarded energy stays within the budget less a rounding `margin`.
fn choose_rank(sq: &[f64], rule: RankRule, margin: f64) -> (usize, f64) {
    let n = sq.len();
    // tail[r] = Σ_{i≥r} sq[i]
    let mut tail = vec![0.0; n + 1];
    for i in (0..n).rev() {
        tail[i] = tail[i + 1] + sq[i];
    }
    let r = match rule {
        RankRule::Rank(r) => r.clamp(1, n),
        RankRule::Energy { budget_sq, max_rank } => {
            let budget = budget_sq - margin;
            let smallest = (1..=n).find(|&r| tail[r] <= budget).unwrap_or(n);
            smallest.min(max_rank.unwrap_or(n)).clamp(1, n)
        }
    };
    (r, tail[r])
}

/// The SVD path: left singular vectors of the unfolding (view when possible).
fn svd_basis<T: Scalar>(
    x: &Tensor<T>,
    mode: usize,
    rule: RankRule,
    par: Par,
) -> Result<ModeBasis<T>> {
    let copied;
    let view = match x.unfolding_view(mode)? {
        Some(v) => v,
        None => {
            copied = tenalg::unfold(x, mode)?;
            copied.as_mat()?
        }
    };
    let full = Truncation { max_rank: None, max_error: None };
    let sub = left_subspace(view, &full, SubspaceMethod::Svd, par)?;
    let spectrum: Vec<f64> = sub.full_spectrum.iter().map(|s| s.as_f64() * s.as_f64()).collect();
    let top = spectrum.first().copied().unwrap_or(0.0);
    let (r, _) = choose_rank(&spectrum, rule, 8.0 * T::epsilon().as_f64() * top);
    let kept = r.min(sub.u.ncols());
    let u = Mat::from_fn(view.nrows(), kept, |i, j| sub.u[(i, j)]);
    // A fixed rank above the column count: complete the basis (see `complete_basis`).
    let wanted = match rule {
        RankRule::Rank(want) => want.min(view.nrows()),
        RankRule::Energy { .. } => kept,
    };
    let u = if wanted > kept { complete_basis(u, wanted) } else { u };
    Ok(ModeBasis { u })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn completed_basis_is_orthonormal_and_keeps_the_given_columns() {
        let x = Tensor::<f64>::random_normal(&[30, 2, 3], 5).unwrap();
        let basis =
            leading_basis(&x, 0, RankRule::Rank(10), SubspaceMethod::Auto, Par::Seq).unwrap();
        let u = basis.u;
        assert_eq!((u.nrows(), u.ncols()), (30, 10));
        let gram = u.transpose() * &u;
        for i in 0..10 {
            for j in 0..10 {
                let want = if i == j { 1.0 } else { 0.0 };
                assert!((gram[(i, j)] - want).abs() < 64.0 * f64::EPSILON * 30.0, "({i},{j})");
            }
        }
        // The first six columns span the unfolding's column space: projecting it loses nothing.
        let unf = tenalg::unfold(&x, 0).unwrap();
        let a = unf.as_mat().unwrap();
        let u6 = u.subcols(0, 6);
        let residual = a - u6 * (u6.transpose() * a);
        assert!(residual.norm_l2() < 1e-12 * a.norm_l2());
    }

    #[test]
    fn energy_rule_picks_fewest_vectors_within_budget() {
        let sq = [9.0, 4.0, 1.0, 0.25];
        assert_eq!(
            choose_rank(&sq, RankRule::Energy { budget_sq: 1.25, max_rank: None }, 0.0),
            (2, 1.25)
        );
        assert_eq!(
            choose_rank(&sq, RankRule::Energy { budget_sq: 1.2, max_rank: None }, 0.0),
            (3, 0.25)
        );
        assert_eq!(choose_rank(&sq, RankRule::Energy { budget_sq: 1e9, max_rank: None }, 0.0).0, 1);
        assert_eq!(
            choose_rank(&sq, RankRule::Energy { budget_sq: 0.0, max_rank: Some(2) }, 0.0),
            (2, 1.25)
        );
        assert_eq!(choose_rank(&sq, RankRule::Rank(3), 0.0), (3, 0.25));
    }
}
