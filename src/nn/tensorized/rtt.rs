//! r-TT: the tensor-train cores of `[in_1·out_1, …, in_L·out_L, kh·kw]` regrouped as a
//! TT-matrix (`[r, out_j, in_j, r']` per channel group, the kernel core with one row) and run
//! on the patch rows by the batched TT-matvec plans, forward and backward.

use super::param::{core_name, Param};
use super::patches::{rows, rows_grad, rows_to_images};
use super::roles::out_first;
use super::source::{Geometry, Source};
use crate::error::{Error, Result};
use crate::format::{TtMatrix, TtTensor};
use crate::kernels::tt_matvec::{TtOp, TtTape, TtTrainingPlan};
use crate::nn::layer::ParamMut;
use crate::par::auto_par;
use crate::scalar::Scalar;
use crate::tensor::Tensor;
use crate::tensorization::weights::layout::Layout;

/// The TT-matrix cores (parameters `core0…`, each `[r_{k-1}, m_k, n_k, r_k]`) and the tape of
/// the last training pass.
#[derive(Clone, Debug)]
pub(super) struct TtEngine<T> {
    cores: Vec<Param<T>>,
    shapes: Vec<[usize; 4]>,
    tape: Option<(TtTrainingPlan<T>, TtTape<T>)>,
}

impl<T: Scalar> TtEngine<T> {
    /// The engine of the TT decomposition `tt` of a tensor laid out by `layout`.
    pub(super) fn new(tt: &TtTensor<T>, layout: &Layout) -> Result<Self> {
        let l = layout.out_factors.len();
        let (mut cores, mut shapes) = (Vec::new(), Vec::new());
        let (mut outs, mut rest) = (Vec::new(), Vec::new());
        for (k, (core, group)) in tt.cores().iter().zip(&layout.groups).enumerate() {
            let s = core.shape();
            let sizes: Vec<usize> = group.iter().map(|&m| layout.split[m]).collect();
            let dims: Vec<usize> = [s[0]].into_iter().chain(sizes).chain([s[2]]).collect();
            let order = out_first(layout, group);
            let perm: Vec<usize> = [0]
                .into_iter()
                .chain(order.iter().map(|&p| p + 1))
                .chain([group.len() + 1])
                .collect();
            let (mut m, mut n) = (1, 1);
            for &m_idx in group {
                if m_idx < l {
                    m *= layout.split[m_idx];
                    outs.push(m_idx);
                } else {
                    n *= layout.split[m_idx];
                    rest.push(m_idx);
                }
            }
            let t = core.clone().reshape(&dims)?.permute_modes(&perm)?;
            shapes.push([s[0], m, n, s[2]]);
            cores.push(Param::new(core_name(k), t.into_vec()));
        }
        // Row index (o_1 … o_L) and column index (i_1 … i_L, kh, kw) must be row-major over
        // the cores, in order: true of the r-TT layout; checked rather than assumed.
        if !outs.is_sorted() || !rest.is_sorted() {
            return Err(Error::InvalidParameter {
                name: "method",
                value: format!("{:?}", layout.groups),
                expected: "r-TT cores ordered by channel group, the kernel core last",
            });
        }
        Ok(Self { cores, shapes, tape: None })
    }

    /// The cores as they stand now, as the TT decomposition of the tensorized weight laid out
    /// by `layout`: the inverse of [`TtEngine::new`], bit for bit.
    pub(super) fn to_tt(&self, layout: &Layout) -> Result<TtTensor<T>> {
        let cores = self
            .cores
            .iter()
            .zip(&self.shapes)
            .zip(&layout.groups)
            .map(|((core, s), group)| {
                let order = out_first(layout, group);
                let sizes: Vec<usize> = order.iter().map(|&p| layout.split[group[p]]).collect();
                let dims: Vec<usize> = [s[0]].into_iter().chain(sizes).chain([s[3]]).collect();
                // Mode 1 + k of the stored core is mode 1 + order[k] of the TT core.
                let mut inverse = vec![0; dims.len()];
                inverse[dims.len() - 1] = dims.len() - 1;
                for (k, &p) in order.iter().enumerate() {
                    inverse[p + 1] = k + 1;
                }
                let size: usize = group.iter().map(|&m| layout.split[m]).product();
                Tensor::from_vec(&dims, core.value.clone())?
                    .permute_modes(&inverse)?
                    .reshape(&[s[0], size, s[3]])
            })
            .collect::<Result<Vec<_>>>()?;
        TtTensor::new(cores)
    }

    /// The cores as a TT-matrix `out × (in·kh·kw)`.
    fn matrix(&self) -> Result<TtMatrix<T>> {
        let cores = self
            .cores
            .iter()
            .zip(&self.shapes)
            .map(|(c, s)| Tensor::from_vec(s, c.value.clone()))
            .collect::<Result<Vec<_>>>()?;
        TtMatrix::new(cores)
    }

    /// `r_1, …, r_{d-1}`.
    pub(super) fn ranks(&self) -> Vec<usize> {
        self.shapes.iter().skip(1).map(|s| s[0]).collect()
    }

    /// `" (forward merges cores 0..2, 3..4)"` when the inference plan merges cores; empty
    /// otherwise (or if the plan cannot be built).
    pub(super) fn merge_note(&self) -> String {
        let Ok(plan) = self.matrix().and_then(|w| w.plan(TtOp::Normal)) else {
            return String::new();
        };
        let merged: Vec<String> =
            plan.groups().iter().filter(|g| g.len() > 1).map(|g| format!("{g:?}")).collect();
        if merged.is_empty() {
            String::new()
        } else {
            format!(" (forward merges cores {})", merged.join(", "))
        }
    }

    pub(super) fn num_params(&self) -> usize {
        self.cores.iter().map(|c| c.value.len()).sum()
    }

    /// The forward's flops for the batch of `g`: the cheapest plan on its patch rows.
    pub(super) fn flops(&self, g: &Geometry) -> Result<f64> {
        Ok(self.matrix()?.plan(TtOp::Normal)?.flops(g.batch * g.positions()))
    }

    /// The patch rows `[batch·positions, in·kh·kw]` of `x`.
    fn patch_rows(src: &Source, g: &Geometry, x: &[T]) -> Result<Tensor<T>> {
        let n = g.batch * g.positions();
        Tensor::from_vec(&[n, g.channels * src.kernel_len()], rows(src, g, x)?)
    }

    /// `[batch, out, positions]` without bias, by the cheapest plan.
    pub(super) fn forward(&self, src: &Source, g: &Geometry, x: &[T]) -> Result<Vec<T>> {
        let plan = self.matrix()?.plan(TtOp::Normal)?;
        let n = g.batch * g.positions();
        let y = plan.apply_with(&Self::patch_rows(src, g, x)?, auto_par(plan.flops(n)))?;
        rows_to_images(y.as_slice(), [g.batch, g.positions(), src.out], false)
    }

    /// [`TtEngine::forward`] by the training plan (one core per step), keeping its tape.
    pub(super) fn forward_train(&mut self, src: &Source, g: &Geometry, x: &[T]) -> Result<Vec<T>> {
        let plan = self.matrix()?.training_plan(TtOp::Normal)?;
        let n = g.batch * g.positions();
        let patches = Self::patch_rows(src, g, x)?;
        let (y, tape) = plan.forward(&patches, auto_par(plan.plan().flops(n)))?;
        self.tape = Some((plan, tape));
        rows_to_images(y.as_slice(), [g.batch, g.positions(), src.out], false)
    }

    /// The input gradient `[batch, in, h, w]` from `dy` (`[batch, out, positions]`); adds the
    /// core gradients.
    pub(super) fn backward(&mut self, src: &Source, g: &Geometry, dy: &[T]) -> Result<Vec<T>> {
        let Some((plan, tape)) = &self.tape else {
            return Err(Error::InvalidParameter {
                name: "backward",
                value: "r-TT".into(),
                expected: "a training forward pass first",
            });
        };
        let n = g.batch * g.positions();
        let d = rows_to_images(dy, [g.batch, g.positions(), src.out], true)?;
        let d = Tensor::from_vec(&[n, src.out], d)?;
        let (dx, dcores) = plan.backward(tape, &d, auto_par(3.0 * plan.plan().flops(n)))?;
        for (c, gc) in self.cores.iter_mut().zip(&dcores) {
            c.add_grad(gc.as_slice());
        }
        rows_grad(src, g, dx.as_slice())
    }

    pub(super) fn visit_params(&mut self, f: &mut dyn FnMut(ParamMut<'_, T>)) {
        self.cores.iter_mut().for_each(|c| c.lend(f));
    }
}
