//! [`SharedTucker`]: one high-order weight tensor in Tucker form, `W = G ×₁ U₁ ⋯ ×_N U_N`, as
//! trainable parameters: its reconstruction, and the gradients of the core and the factors
//! from `∂L/∂W`.

use faer::linalg::matmul::matmul;
use faer::{Accum, MatRef};

use crate::error::{Error, Result};
use crate::linalg::qr_thin;
use crate::nn::layer::ParamMut;
use crate::par::{auto_par, Par};
use crate::scalar::Scalar;
use crate::tenalg::{multi_mode_product, unfold};
use crate::tensor::Tensor;

/// A tensor of shape `D_1 × … × D_N` parametrized by a Tucker core `G` (`R_1 × … × R_N`) and
/// factors `U_n` (`D_n × R_n`), with the gradients accumulated since the last optimizer step.
///
/// With `W = G ×₁ U₁ ⋯ ×_N U_N` and `Ĝ = ∂L/∂W`, the chain rule gives
/// `∂L/∂G = Ĝ ×₁ U₁ᵀ ⋯ ×_N U_Nᵀ` and `∂L/∂U_n = Ĝ_(n) · (G ×_{m≠n} U_m)_(n)ᵀ` (mode-`n`
/// unfoldings): the transpose of the reconstruction, mode by mode.
#[derive(Clone, Debug)]
pub(crate) struct SharedTucker<T> {
    core: Tensor<T>,
    /// `U_n` as `[D_n, R_n]` tensors (row-major), so that an optimizer sees plain slices.
    factors: Vec<Tensor<T>>,
    grad_core: Vec<T>,
    grad_factors: Vec<Vec<T>>,
}

impl<T: Scalar> SharedTucker<T> {
    /// Random parameters for a tensor of shape `dims` at Tucker ranks `ranks`: each factor
    /// `U_n` the orthonormal columns of a Gaussian `D_n × R_n` matrix (as HOSVD would give),
    /// and core entries `N(0, variance · ∏ D_n / R_n)`. A row of `U_n` then has squared norm
    /// `R_n / D_n` on average, so every entry of `W` has variance `variance` on average; at full
    /// ranks the factors are rotations and `W` is the core rotated, so training starts where a
    /// dense kernel with that variance would.
    pub(crate) fn random(
        dims: &[usize],
        ranks: &[usize],
        variance: f64,
        seed: u64,
    ) -> Result<Self> {
        const OP: &str = "TuckerConvBlock";
        if ranks.len() != dims.len() || ranks.iter().zip(dims).any(|(&r, &d)| r == 0 || r > d) {
            return Err(Error::InvalidRank {
                op: OP,
                ranks: ranks.to_vec(),
                shape: dims.to_vec(),
                detail: format!(
                    "need one Tucker rank 1 ≤ R_n ≤ D_n per mode of the shared tensor {dims:?}"
                ),
            });
        }
        let mix = |k: u64| seed.wrapping_mul(0x9E37_79B9_7F4A_7C15).wrapping_add(k);
        let spread: f64 = dims.iter().zip(ranks).map(|(&d, &r)| d as f64 / r as f64).product();
        let core =
            Tensor::<T>::random_normal(ranks, mix(0))?.scale(T::of((variance * spread).sqrt()));
        let factors = dims
            .iter()
            .zip(ranks)
            .enumerate()
            .map(|(n, (&d, &r))| {
                let g = Tensor::<T>::random_normal(&[d, r], mix(n as u64 + 1))?;
                let (q, _) = qr_thin(g.as_mat()?, Par::Seq)?;
                Tensor::from_mat(q.as_ref())
            })
            .collect::<Result<Vec<_>>>()?;
        let grad_core = vec![T::zero(); core.numel()];
        let grad_factors = factors.iter().map(|u| vec![T::zero(); u.numel()]).collect();
        Ok(Self { core, factors, grad_core, grad_factors })
    }

    /// The Tucker ranks `R_n`.
    pub(crate) fn ranks(&self) -> &[usize] {
        self.core.shape()
    }

    /// The core `G`.
    pub(crate) fn core(&self) -> &Tensor<T> {
        &self.core
    }

    /// The factor `U_n` as a `D_n × R_n` tensor.
    pub(crate) fn factors(&self) -> &[Tensor<T>] {
        &self.factors
    }

    /// `∏ R_n + Σ D_n R_n`.
    pub(crate) fn num_params(&self) -> usize {
        self.core.numel() + self.factors.iter().map(Tensor::numel).sum::<usize>()
    }

    fn mats(&self) -> Result<Vec<MatRef<'_, T>>> {
        self.factors.iter().map(Tensor::as_mat).collect()
    }

    /// `W = G ×₁ U₁ ⋯ ×_N U_N`.
    pub(crate) fn reconstruct(&self) -> Result<Tensor<T>> {
        multi_mode_product(&self.core, &self.mats()?, None)
    }

    /// Adds the gradients of the core and of every factor for `dw = ∂L/∂W` (of `W`'s shape).
    pub(crate) fn backward(&mut self, dw: &Tensor<T>) -> Result<()> {
        let mats = self.mats()?;
        let transposed: Vec<MatRef<'_, T>> = mats.iter().map(|m| m.transpose()).collect();
        let dcore = multi_mode_product(dw, &transposed, None)?;
        let mut dfactors = Vec::with_capacity(mats.len());
        for n in 0..mats.len() {
            // B = G ×_{m≠n} U_m has mode n of size R_n: dU_n = dW_(n) · B_(n)ᵀ.
            let b = unfold(&multi_mode_product(&self.core, &mats, Some(n))?, n)?;
            let g = unfold(dw, n)?;
            let mut du = Tensor::<T>::zeros(&[g.shape()[0], b.shape()[0]])?;
            let flops = 2.0 * (du.numel() * g.shape()[1]) as f64;
            matmul(
                du.as_mat_mut()?,
                Accum::Replace,
                g.as_mat()?,
                b.as_mat()?.transpose(),
                T::one(),
                auto_par(flops),
            );
            dfactors.push(du);
        }
        self.grad_core.iter_mut().zip(dcore.as_slice()).for_each(|(a, &v)| *a += v);
        for (acc, du) in self.grad_factors.iter_mut().zip(&dfactors) {
            acc.iter_mut().zip(du.as_slice()).for_each(|(a, &v)| *a += v);
        }
        Ok(())
    }

    /// The core, then the factors in mode order, each with its gradient.
    pub(crate) fn visit_params(&mut self, f: &mut dyn FnMut(ParamMut<'_, T>)) {
        f(ParamMut {
            name: "tucker_core",
            value: self.core.as_mut_slice(),
            grad: &mut self.grad_core,
        });
        for (u, g) in self.factors.iter_mut().zip(&mut self.grad_factors) {
            f(ParamMut { name: "tucker_factor", value: u.as_mut_slice(), grad: g });
        }
    }
}
