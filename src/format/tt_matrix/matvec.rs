//! Batched products with a TT-matrix: the plans of `kernels::tt_matvec` built from this
//! matrix's cores, and one-call products.

use std::ops::Range;

use super::TtMatrix;
use crate::error::Result;
use crate::kernels::tt_matvec::{
    TtDirection, TtMatvecPlan, TtMatvecWorkspace, TtOp, TtTrainingPlan,
};
use crate::par::Par;
use crate::scalar::Scalar;
use crate::tensor::Tensor;

impl<T: Scalar> TtMatrix<T> {
    /// A plan for `op` with this matrix, the cheapest the kernel knows (see [`TtMatvecPlan::flops`]): the
    /// cheaper order, with neighbouring cores merged into one ([`TtMatrix::merge_cores`]) where
    /// that at least halves the flops. Merging pays when the ranks are large next to the
    /// modes: 4096² as 8⁴ × 8⁴ at rank 16 merges cores 1–2 and 3–4 and needs 2.1× fewer flops.
    /// The merged cores (at most 2¹⁸ numbers each) are built once, here.
    ///
    /// ```
    /// use tensorize::format::TtMatrix;
    /// use tensorize::kernels::TtOp;
    /// use tensorize::Tensor;
    /// let r = [1, 16, 16, 16, 1];
    /// let cores = (0..4)
    ///     .map(|k| Tensor::<f32>::random_normal(&[r[k], 8, 8, r[k + 1]], k as u64))
    ///     .collect::<Result<Vec<_>, _>>()?;
    /// let w = TtMatrix::new(cores)?;
    /// let plan = w.plan(TtOp::Normal)?;
    /// assert_eq!(plan.groups(), &[0..2, 2..4]);
    /// let per_core = w.unmerged_plan(TtOp::Normal)?;
    /// assert!(plan.flops(1) * 2.0 <= per_core.flops(1));
    /// # Ok::<(), tensorize::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::SizeOverflow`](crate::error::Error::SizeOverflow) if an intermediate state (`rows_k · m_k r_k` numbers per batch
    /// row) does not fit in memory addressing.
    pub fn plan(&self, op: TtOp) -> Result<TtMatvecPlan<T>> {
        TtMatvecPlan::cheapest(self.cores(), op)
    }

    /// A plan for `op` with one core per step (no merging), in the cheaper order.
    ///
    /// # Errors
    /// As [`TtMatrix::plan`].
    pub fn unmerged_plan(&self, op: TtOp) -> Result<TtMatvecPlan<T>> {
        TtMatvecPlan::unmerged(self.cores(), op)
    }

    /// A plan for `op` with one core per step, contracted in the given order.
    ///
    /// # Errors
    /// As [`TtMatrix::plan`].
    pub fn plan_with_direction(&self, op: TtOp, direction: TtDirection) -> Result<TtMatvecPlan<T>> {
        TtMatvecPlan::with_direction(self.cores(), op, direction)
    }

    /// A plan for `op` contracting in the given order, the cores of each of `groups` merged into
    /// one ([`TtMatrix::merge_cores`]); `groups` are consecutive ranges covering all cores, in
    /// core order.
    ///
    /// # Errors
    /// [`Error::InvalidModes`](crate::error::Error::InvalidModes) if `groups` do not split `0..d` into consecutive non-empty
    /// ranges; otherwise as [`TtMatrix::merge_cores`] and [`TtMatrix::plan`].
    pub fn plan_with_groups(
        &self,
        op: TtOp,
        direction: TtDirection,
        groups: &[Range<usize>],
    ) -> Result<TtMatvecPlan<T>> {
        TtMatvecPlan::with_groups(self.cores(), op, direction, groups)
    }

    /// A plan for `op` that can also run backwards (gradients of the input and of every core):
    /// one core per step, in the cheaper order. See [`TtTrainingPlan`].
    ///
    /// # Errors
    /// As [`TtMatrix::plan`].
    pub fn training_plan(&self, op: TtOp) -> Result<TtTrainingPlan<T>> {
        TtTrainingPlan::new(self.cores(), op)
    }

    /// A prepared plan for `Y = X · Wᵀ` (row `b`: `y_b = W x_b`); see [`TtMatvecPlan`].
    ///
    /// # Errors
    /// As [`TtMatrix::plan`].
    pub fn matvec_plan(&self) -> Result<TtMatvecPlan<T>> {
        self.plan(TtOp::Normal)
    }

    /// A prepared plan for `X · W` (row `b`: `Wᵀ y_b`); see [`TtMatvecPlan`].
    ///
    /// # Errors
    /// As [`TtMatrix::plan`].
    pub fn rmatvec_plan(&self) -> Result<TtMatvecPlan<T>> {
        self.plan(TtOp::Transpose)
    }

    /// `y_b = W x_b` for every row of the batch `x` (`B × N` → `B × M`), by the batched
    /// sequential contraction of [`TtMatvecPlan`] (a few large GEMMs per core, neighbouring
    /// cores merged where that halves the flops).
    ///
    /// ```
    /// use tensorize::decomp::TtSvd;
    /// use tensorize::Tensor;
    /// let w = Tensor::<f32>::random_normal(&[16, 16], 1)?;
    /// let (tt, _) = TtSvd::new().fit_matrix(&w, &[4, 4], &[4, 4])?;
    /// let x = Tensor::<f32>::random_normal(&[3, 16], 2)?;
    /// let y = tt.matvec_batch(&x)?;
    /// let dense = x.as_mat()? * w.as_mat()?.transpose();
    /// assert!((y.as_mat()? - &dense).norm_l2() < 1e-5 * dense.norm_l2());
    /// # Ok::<(), tensorize::Error>(())
    /// ```
    ///
    /// # Errors
    /// As [`TtMatvecPlan::apply_into`].
    pub fn matvec_batch(&self, x: &Tensor<T>) -> Result<Tensor<T>> {
        self.matvec_plan()?.apply(x)
    }

    /// `z_b = Wᵀ y_b` for every row of `y` (`B × M` → `B × N`); see [`TtMatrix::matvec_batch`].
    ///
    /// # Errors
    /// As [`TtMatvecPlan::apply_into`].
    pub fn rmatvec_batch(&self, y: &Tensor<T>) -> Result<Tensor<T>> {
        self.rmatvec_plan()?.apply(y)
    }

    /// [`TtMatrix::matvec_batch`] into a caller buffer `out` (`B × M`) with explicit parallelism;
    /// builds the plan (permutes the cores) on each call: hold a [`TtMatvecPlan`] to avoid that.
    ///
    /// # Errors
    /// As [`TtMatvecPlan::apply_into`].
    pub fn matvec_batch_into(
        &self,
        x: &Tensor<T>,
        out: &mut Tensor<T>,
        ws: &mut TtMatvecWorkspace<T>,
        par: Par,
    ) -> Result<()> {
        self.matvec_plan()?.apply_into(x, out, ws, par)
    }
}
