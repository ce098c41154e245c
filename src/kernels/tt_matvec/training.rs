//! Training through a TT-matrix product: a forward pass that keeps every GEMM input, and the
//! backward pass that turns `∂L/∂Y` into `∂L/∂X` and the gradient of every core.
//!
//! Only a plan with one core per step can do this (a merged core has no gradient of its own), so
//! training has its own type, [`TtTrainingPlan`], that is unmerged by construction.

use faer::{Accum, MatMut, MatRef};

use super::cores::unpermute_core;
use super::plan::TtMatvecPlan;
use super::state::permute_batch;
use super::TtOp;
use crate::error::{checked_len, Error, Result};
use crate::par::Par;
use crate::scalar::Scalar;
use crate::tensor::Tensor;

/// A TT-matrix product prepared for training: one core per step, so that the backward pass can
/// give the gradient of every core. Built by
/// [`TtMatrix::training_plan`](crate::format::TtMatrix::training_plan).
///
/// ```
/// use tensorize::format::TtMatrix;
/// use tensorize::kernels::TtOp;
/// use tensorize::par::Par;
/// use tensorize::Tensor;
/// let cores = vec![
///     Tensor::<f64>::random_normal(&[1, 2, 3, 2], 1)?,
///     Tensor::random_normal(&[2, 3, 2, 1], 2)?,
/// ];
/// let w = TtMatrix::new(cores)?;
/// let plan = w.training_plan(TtOp::Normal)?;
/// let x = Tensor::<f64>::random_normal(&[4, 6], 3)?;
/// let (y, tape) = plan.forward(&x, Par::Seq)?;
/// let (dx, dcores) = plan.backward(&tape, &y, Par::Seq)?; // L = ½‖Y‖², so dY = Y
/// assert_eq!(dx.shape(), x.shape());
/// assert_eq!(dcores[1].shape(), w.cores()[1].shape());
/// # Ok::<(), tensorize::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct TtTrainingPlan<T> {
    /// Unmerged: every group is one core.
    pub(super) plan: TtMatvecPlan<T>,
}

/// What [`TtTrainingPlan::backward`] needs from the forward pass: the batch size and the input
/// `P_k` of every core's GEMM (about `Σ_k B · rows_k · cin_k` numbers).
#[derive(Clone, Debug)]
pub struct TtTape<T> {
    batch: usize,
    recorded: Vec<Vec<T>>,
}

impl<T> TtTape<T> {
    /// The batch size of the forward pass that recorded this tape.
    pub fn batch(&self) -> usize {
        self.batch
    }
}

impl<T: Scalar> TtTrainingPlan<T> {
    /// The unmerged plan for `op` with `cores` (a valid chain), in the cheaper order.
    ///
    /// # Errors
    /// As [`TtMatvecPlan::unmerged`].
    pub(crate) fn new(cores: &[Tensor<T>], op: TtOp) -> Result<Self> {
        let plan = TtMatvecPlan::unmerged(cores, op)?;
        debug_assert!(plan.groups.iter().all(|g| g.len() == 1));
        Ok(Self { plan })
    }

    /// The plan itself, for plain products (no tape) with the same cores.
    pub fn plan(&self) -> &TtMatvecPlan<T> {
        &self.plan
    }

    /// `Y = op(W)` applied to every row of `x` (`B × input_len` → `B × output_len`), with the
    /// GEMMs run with `par`, and the tape [`TtTrainingPlan::backward`] needs.
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] if `x` is not `B × input_len`; [`Error::NonFinite`] for NaN/Inf
    /// input; [`Error::SizeOverflow`] / [`Error::OutOfMemory`] if the states do not fit.
    pub fn forward(&self, x: &Tensor<T>, par: Par) -> Result<(Tensor<T>, TtTape<T>)> {
        let p = &self.plan;
        p.check_input(x)?;
        x.check_finite("TtTrainingPlan::forward")?;
        let batch = x.shape()[0];
        let need = checked_len(&[batch, p.max_len], std::mem::size_of::<T>())?;
        let (mut a, mut b) = (vec![T::zero(); need], vec![T::zero(); need]);
        let mut out = Tensor::zeros(&[batch, p.len_out])?;
        let mut recorded = Vec::with_capacity(p.steps.len());
        p.run(x.as_slice(), batch, out.as_mut_slice(), &mut a, &mut b, par, Some(&mut recorded));
        Ok((out, TtTape { batch, recorded }))
    }

    /// From `dy = ∂L/∂Y` (`B × output_len`, the batch of `tape`), the input gradient `∂L/∂X`
    /// (`B × input_len`) and `∂L/∂G_k` for every core, each of its `r_{k-1} × m_k × n_k × r_k`
    /// shape. Each step is a GEMM `S_k = P_k C_k`, so `∂L/∂C_k = P_kᵀ ∂L/∂S_k` and
    /// `∂L/∂P_k = ∂L/∂S_k C_kᵀ`; the copies between steps are undone.
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] if `dy` is not `B × output_len` or `tape` was not recorded by a
    /// plan of this shape; [`Error::NonFinite`] for NaN/Inf in `dy`.
    pub fn backward(
        &self,
        tape: &TtTape<T>,
        dy: &Tensor<T>,
        par: Par,
    ) -> Result<(Tensor<T>, Vec<Tensor<T>>)> {
        const OP: &str = "TtTrainingPlan::backward";
        let p = &self.plan;
        let batch = tape.batch;
        let tape_fits = tape.recorded.len() == p.steps.len()
            && p.steps.iter().zip(&tape.recorded).all(|(s, r)| r.len() == batch * s.len_in);
        if dy.shape() != [batch, p.len_out] || !tape_fits {
            return Err(Error::ShapeMismatch {
                op: OP,
                left: vec![batch, p.len_out],
                right: dy.shape().to_vec(),
                detail: "dY must be batch × output_len of the forward pass that recorded the tape"
                    .into(),
            });
        }
        dy.check_finite(OP)?;
        let mut g: Vec<T> = match &p.final_perm {
            None => dy.as_slice().to_vec(),
            Some(perm) => {
                let mut v = vec![T::zero(); dy.numel()];
                permute_batch(
                    dy.as_slice(),
                    batch,
                    p.len_out,
                    &perm.inv_dims,
                    &perm.inv_strides,
                    &mut v,
                );
                v
            }
        };
        // (core, gradient), in the reverse step order; sorted by core at the end.
        let mut core_grads: Vec<(usize, Tensor<T>)> = Vec::with_capacity(p.steps.len());
        for (step, p_k) in p.steps.iter().zip(&tape.recorded).rev() {
            let rows = batch * step.len_in / step.cin;
            let gm = MatRef::from_row_major_slice(&g, rows, step.cout);
            let pm = MatRef::from_row_major_slice(p_k, rows, step.cin);
            let mut dc = vec![T::zero(); step.cin * step.cout];
            faer::linalg::matmul::matmul(
                MatMut::from_row_major_slice_mut(&mut dc, step.cin, step.cout),
                Accum::Replace,
                pm.transpose(),
                gm,
                T::one(),
                par,
            );
            let mut dp = vec![T::zero(); rows * step.cin];
            faer::linalg::matmul::matmul(
                MatMut::from_row_major_slice_mut(&mut dp, rows, step.cin),
                Accum::Replace,
                gm,
                MatRef::from_row_major_slice(&step.core, step.cin, step.cout).transpose(),
                T::one(),
                par,
            );
            g = match &step.perm {
                None => dp,
                Some(perm) => {
                    let mut v = vec![T::zero(); dp.len()];
                    permute_batch(
                        &dp,
                        batch,
                        step.len_in,
                        &perm.inv_dims,
                        &perm.inv_strides,
                        &mut v,
                    );
                    v
                }
            };
            let shape = p.core_shapes[step.k];
            let grad = unpermute_core(&dc, shape, p.op, p.direction);
            core_grads.push((step.k, Tensor::from_parts_unchecked(shape.to_vec(), grad)));
        }
        core_grads.sort_by_key(|&(k, _)| k);
        let core_grads = core_grads.into_iter().map(|(_, grad)| grad).collect();
        Ok((Tensor::from_parts_unchecked(vec![batch, p.len_in], g), core_grads))
    }
}
