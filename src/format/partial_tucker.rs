//! Partial Tucker: a Tucker decomposition over a chosen subset of modes ([`PartialTucker`]),
//! the format of Tucker-2 compressed convolution kernels.

use faer::{Mat, MatRef};

use crate::error::{checked_dense, Error, Result};
use crate::format::tucker::{check_tucker_parts, reconstruct, tucker_norm, tucker_rel_error};
use crate::format::{Factorized, TuckerTensor};
use crate::scalar::Scalar;
use crate::tensor::Tensor;

/// A Tucker decomposition over the modes `modes = (m₀, …, m_{p−1})` only:
///
/// `X̂ = G ×_{m₀} U₀ ×_{m₁} U₁ ⋯ ×_{m_{p−1}} U_{p−1}`,
///
/// where `G` keeps the full dimension `I_k` on every mode `k` not in `modes`, and `U_j` is
/// `I_{m_j} × r_{m_j}`. Like TensorLy's `partial_tucker`, only the factors of the chosen
/// modes are stored (no identity matrices for the others).
///
/// For a convolution kernel `[out, in, kh, kw]` decomposed on modes `(0, 1)` (Tucker-2),
/// the core is `[r_out, r_in, kh, kw]`, `U₀` (`out × r_out`) is a 1×1 convolution
/// `r_out → out` and `U₁` (`in × r_in`) transposed is a 1×1 convolution `in → r_in`.
///
/// ```
/// use faer::Mat;
/// use tensorize::format::PartialTucker;
/// use tensorize::{Factorized, Tensor};
/// let core = Tensor::<f64>::random_normal(&[2, 3, 3], 0)?;
/// let t = PartialTucker::new(core, vec![Mat::identity(4, 2)], vec![0])?;
/// assert_eq!(t.shape(), vec![4, 3, 3]);
/// assert_eq!(t.num_params(), 18 + 8);
/// # Ok::<(), tensorize::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct PartialTucker<T> {
    core: Tensor<T>,
    factors: Vec<Mat<T>>,
    modes: Vec<usize>,
}

impl<T: Scalar> PartialTucker<T> {
    /// Builds `G ×_{modes[j]} factors[j]` for every `j`.
    ///
    /// # Errors
    /// - [`Error::InvalidModes`] unless `modes` are distinct, increasing and `< core.ndim()`;
    /// - [`Error::ShapeMismatch`] unless `factors.len() == modes.len()` and
    ///   `factors[j].ncols() == core.shape()[modes[j]]`;
    /// - [`Error::ZeroDimension`] / [`Error::NonFinite`] for an empty or non-finite part.
    pub fn new(core: Tensor<T>, factors: Vec<Mat<T>>, modes: Vec<usize>) -> Result<Self> {
        check_modes("PartialTucker::new", &modes, core.ndim())?;
        check_tucker_parts("PartialTucker::new", &core, &factors, Some(&modes))?;
        Ok(Self { core, factors, modes })
    }

    /// Internal constructor for parts already known to agree.
    pub(crate) fn from_parts_unchecked(
        core: Tensor<T>,
        factors: Vec<Mat<T>>,
        modes: Vec<usize>,
    ) -> Self {
        Self { core, factors, modes }
    }

    /// The core `G`: rank `r_k` on decomposed modes, the full dimension `I_k` on the others.
    pub fn core(&self) -> &Tensor<T> {
        &self.core
    }

    /// The factors, one per entry of [`modes`](Self::modes), in that order.
    pub fn factors(&self) -> &[Mat<T>] {
        &self.factors
    }

    /// The decomposed modes, increasing.
    pub fn modes(&self) -> &[usize] {
        &self.modes
    }

    /// The factor of mode `mode`, if that mode is decomposed.
    pub fn factor(&self, mode: usize) -> Option<&Mat<T>> {
        self.modes.iter().position(|&m| m == mode).map(|j| &self.factors[j])
    }

    /// Consumes the decomposition, returning `(core, factors, modes)`.
    pub fn into_parts(self) -> (Tensor<T>, Vec<Mat<T>>, Vec<usize>) {
        (self.core, self.factors, self.modes)
    }

    /// The same tensor as a full [`TuckerTensor`], with identity factors on the modes that
    /// were not decomposed.
    ///
    /// # Errors
    /// None in practice (the parts were validated); kept for uniformity.
    pub fn to_tucker(&self) -> Result<TuckerTensor<T>> {
        let factors = (0..self.core.ndim())
            .map(|k| match self.factor(k) {
                Some(u) => u.clone(),
                None => Mat::identity(self.core.shape()[k], self.core.shape()[k]),
            })
            .collect();
        TuckerTensor::new(self.core.clone(), factors)
    }

    /// One entry per mode: the factor where decomposed, `None` elsewhere.
    pub(crate) fn factor_refs(&self) -> Vec<Option<MatRef<'_, T>>> {
        (0..self.core.ndim()).map(|k| self.factor(k).map(|u| u.as_ref())).collect()
    }
}

impl<T: Scalar> Factorized<T> for PartialTucker<T> {
    fn shape(&self) -> Vec<usize> {
        (0..self.core.ndim())
            .map(|k| self.factor(k).map_or(self.core.shape()[k], |u| u.nrows()))
            .collect()
    }

    /// `G ×_{m_j} U_j`, the decomposed modes only.
    fn to_dense(&self) -> Result<Tensor<T>> {
        checked_dense(&self.shape(), std::mem::size_of::<T>())?;
        reconstruct(&self.core, &self.factor_refs(), None)
    }

    /// `numel(G) + Σ_j I_{m_j} · r_{m_j}`.
    fn num_params(&self) -> usize {
        self.core.numel() + self.factors.iter().map(|u| u.nrows() * u.ncols()).sum::<usize>()
    }

    /// `‖X̂‖_F² = ⟨G, G ×_{m_j} U_jᵀU_j⟩`, which is `‖G‖_F²` for orthonormal factors.
    fn norm(&self) -> T {
        tucker_norm(&self.core, &self.factor_refs())
    }

    /// `‖X − X̂‖_F / ‖X‖_F` without densifying, with the same cancellation fallback as
    /// [`TuckerTensor`]'s `rel_error`.
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] for another shape; [`Error::NonFinite`] for NaN/infinite input.
    fn rel_error(&self, dense: &Tensor<T>) -> Result<T> {
        tucker_rel_error("PartialTucker::rel_error", dense, &self.core, &self.factor_refs(), None)
    }
}

/// [`Error::InvalidModes`] unless `modes` is non-empty, strictly increasing and `< ndim`.
pub(crate) fn check_modes(op: &'static str, modes: &[usize], ndim: usize) -> Result<()> {
    let fail = |detail: &str| Error::InvalidModes {
        op,
        modes: modes.to_vec(),
        ndim,
        detail: detail.into(),
    };
    if modes.is_empty() {
        return Err(fail("at least one mode must be decomposed"));
    }
    if let Some(&m) = modes.iter().find(|&&m| m >= ndim) {
        return Err(fail(&format!("mode {m} is out of range")));
    }
    if modes.windows(2).any(|w| w[0] >= w[1]) {
        return Err(fail("modes must be distinct and increasing"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_params_and_tucker_view_agree() {
        let core = Tensor::<f64>::random_normal(&[2, 3, 3, 2], 1).unwrap();
        let u0 = Mat::from_fn(5, 2, |i, j| (i + 2 * j) as f64 * 0.1);
        let u3 = Mat::from_fn(4, 2, |i, j| ((i * j) as f64).sin());
        let p = PartialTucker::new(core, vec![u0, u3], vec![0, 3]).unwrap();
        assert_eq!(p.shape(), vec![5, 3, 3, 4]);
        assert_eq!(p.num_params(), 36 + 10 + 8);
        let full = p.to_tucker().unwrap();
        let (a, b) = (p.to_dense().unwrap(), full.to_dense().unwrap());
        assert!(a.sub(&b).unwrap().norm() <= 64.0 * f64::EPSILON * a.norm());
        assert!((p.norm() - a.norm()).abs() <= 64.0 * f64::EPSILON * a.norm());
        let x = Tensor::<f64>::random_normal(&[5, 3, 3, 4], 2).unwrap();
        let explicit = x.sub(&a).unwrap().norm() / x.norm();
        assert!((p.rel_error(&x).unwrap() - explicit).abs() <= 1e3 * f64::EPSILON);
    }

    #[test]
    fn modes_are_validated() {
        let core = Tensor::<f32>::zeros(&[2, 3]).unwrap();
        for modes in [vec![], vec![2], vec![1, 0], vec![0, 0]] {
            let n = modes.len();
            let factors = vec![Mat::<f32>::zeros(3, 2); n];
            let err = PartialTucker::new(core.clone(), factors, modes).unwrap_err();
            assert!(matches!(err, Error::InvalidModes { .. }), "{err}");
        }
    }
}
