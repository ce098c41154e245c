//! Running a plan: the batch split over threads and sub-batches, and the sequence of copies
//! (or fused gathers) and GEMMs over one sub-batch.

use faer::{Accum, MatMut, MatRef};
use rayon::prelude::*;

use super::plan::TtMatvecPlan;
use super::state::permute_batch;
use crate::error::{checked_numel, refill, Error, Result};
use crate::kernels::small_gemm;
use crate::par::{auto_par, thread_count, Par, PARALLEL_FLOP_THRESHOLD};
use crate::scalar::Scalar;
use crate::tensor::Tensor;

/// Reusable buffers for [`TtMatvecPlan::apply_into`]: they grow to the largest batch seen and are
/// then reused, so repeated products allocate nothing.
#[derive(Clone, Debug, Default)]
pub struct TtMatvecWorkspace<T> {
    pub(super) chunks: Vec<(Vec<T>, Vec<T>)>,
}

impl<T: Scalar> TtMatvecWorkspace<T> {
    /// An empty workspace.
    pub fn new() -> Self {
        Self { chunks: Vec::new() }
    }
}

impl<T: Scalar> TtMatvecPlan<T> {
    /// `Y = op(W) applied to every row of x`: `x` is `B × input_len`, the result
    /// `B × output_len`; parallelism from [`auto_par`].
    ///
    /// # Errors
    /// As [`TtMatvecPlan::apply_into`].
    pub fn apply(&self, x: &Tensor<T>) -> Result<Tensor<T>> {
        let b = x.shape().first().copied().unwrap_or(0);
        self.apply_with(x, auto_par(self.flops(b)))
    }

    /// [`TtMatvecPlan::apply`] with explicit parallelism.
    ///
    /// # Errors
    /// As [`TtMatvecPlan::apply_into`].
    pub fn apply_with(&self, x: &Tensor<T>, par: Par) -> Result<Tensor<T>> {
        self.check_input(x)?;
        let mut out = Tensor::zeros(&[x.shape()[0], self.len_out])?;
        self.apply_into(x, &mut out, &mut TtMatvecWorkspace::new(), par)?;
        Ok(out)
    }

    /// Writes `op(W) x_b` into row `b` of `out` for every row `x_b` of `x`, reusing `ws`.
    ///
    /// With `t = thread_count(par) > 1` and at least `t` rows, the batch is split into `t`
    /// chunks computed in parallel with sequential GEMMs; otherwise the GEMMs get `par`.
    ///
    /// # Errors
    /// - [`Error::ShapeMismatch`] if `x` is not `B × input_len` or `out` not `B × output_len`;
    /// - [`Error::NonFinite`] if `x` holds NaN or infinity;
    /// - [`Error::SizeOverflow`] / [`Error::OutOfMemory`] if the workspace cannot grow.
    pub fn apply_into(
        &self,
        x: &Tensor<T>,
        out: &mut Tensor<T>,
        ws: &mut TtMatvecWorkspace<T>,
        par: Par,
    ) -> Result<()> {
        self.check_input(x)?;
        let batch = x.shape()[0];
        if out.shape() != [batch, self.len_out] {
            return Err(Error::ShapeMismatch {
                op: "TtMatvecPlan::apply_into",
                left: vec![batch, self.len_out],
                right: out.shape().to_vec(),
                detail: "the output must be batch × output_len".into(),
            });
        }
        x.check_finite("TtMatvecPlan::apply_into")?;
        let threads = thread_count(par);
        let chunks = if threads > 1 && batch >= threads { threads } else { 1 };
        let per = batch.div_ceil(chunks);
        let sub = self.sub_batch(per);
        let need = checked_numel(&[sub, self.max_len], std::mem::size_of::<T>())?;
        if ws.chunks.len() < chunks {
            ws.chunks.resize_with(chunks, || (Vec::new(), Vec::new()));
        }
        for (a, b) in ws.chunks.iter_mut().take(chunks) {
            for v in [a, b] {
                if v.len() < need {
                    refill(v, &[per, self.max_len], need, T::zero())?;
                }
            }
        }
        let (xs, ys) = (x.as_slice(), out.as_mut_slice());
        if chunks == 1 {
            let (a, b) = &mut ws.chunks[0];
            // Threads inside tiny GEMMs cost more than they save.
            let gemm_par = if self.flops(batch) < PARALLEL_FLOP_THRESHOLD { Par::Seq } else { par };
            self.run_blocked(xs, ys, sub, a, b, gemm_par);
        } else {
            xs.par_chunks(per * self.len_in)
                .zip(ys.par_chunks_mut(per * self.len_out))
                .zip(ws.chunks[..chunks].par_iter_mut())
                .for_each(|((xc, yc), (a, b))| self.run_blocked(xc, yc, sub, a, b, Par::Seq));
        }
        Ok(())
    }

    /// Rows per sub-batch for `rows` rows: as many as keep a state buffer within
    /// [`STATE_BYTES`] (at least one).
    pub(super) fn sub_batch(&self, rows: usize) -> usize {
        let per_row = self.max_len.saturating_mul(std::mem::size_of::<T>()).max(1);
        (self.state_bytes / per_row).clamp(1, rows.max(1))
    }

    /// [`Self::run`] over consecutive sub-batches of `sub` rows.
    fn run_blocked(&self, x: &[T], y: &mut [T], sub: usize, a: &mut [T], b: &mut [T], par: Par) {
        for (xc, yc) in x.chunks(sub * self.len_in).zip(y.chunks_mut(sub * self.len_out)) {
            self.run(xc, xc.len() / self.len_in, yc, a, b, par, None);
        }
    }

    pub(super) fn check_input(&self, x: &Tensor<T>) -> Result<()> {
        if x.ndim() != 2 || x.shape()[1] != self.len_in {
            return Err(Error::ShapeMismatch {
                op: "TtMatvecPlan::apply",
                left: vec![self.len_in],
                right: x.shape().to_vec(),
                detail: format!(
                    "the input must be a batch × {} matrix (one row per sample)",
                    self.len_in
                ),
            });
        }
        Ok(())
    }

    /// The sequential pipeline on `batch` rows; `record` receives every GEMM input `P_k`.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn run(
        &self,
        x: &[T],
        batch: usize,
        out: &mut [T],
        a: &mut [T],
        b: &mut [T],
        par: Par,
        mut record: Option<&mut Vec<Vec<T>>>,
    ) {
        // Where the current state lives: None = x, Some(0) = a, Some(1) = b.
        let mut cur: Option<usize> = None;
        let last = self.steps.len() - 1;
        for (s, step) in self.steps.iter().enumerate() {
            let n_in = batch * step.len_in;
            let direct = s == last && self.final_perm.is_none();
            // The fused path: P_k gathered from the state by the kernel, no copy. Recording
            // needs P_k itself, so it takes the copy.
            if let (Some(g), None) = (&step.gather, record.as_deref()) {
                if let Some(rows) = g.rows.with_outer(batch, step.len_in) {
                    let to = if cur == Some(0) { 1 } else { 0 };
                    let (src, dst): (&[T], &mut [T]) = if direct {
                        (pick(x, a, b, cur, to).0, &mut *out)
                    } else {
                        pick(x, a, b, cur, to)
                    };
                    debug_assert_eq!(rows.rows() * step.cin, n_in);
                    let n_out = rows.rows() * step.cout;
                    small_gemm::gather_gemm(
                        &src[..n_in],
                        &rows,
                        &g.col_off,
                        &g.core,
                        &mut dst[..n_out],
                        par,
                    );
                    cur = if direct { None } else { Some(to) };
                    continue;
                }
            }
            // The copy, into the buffer not holding the state.
            let gin: Option<usize> = match &step.perm {
                None => cur,
                Some(p) => {
                    let to = if cur == Some(0) { 1 } else { 0 };
                    let (src, dst) = pick(x, a, b, cur, to);
                    permute_batch(
                        &src[..n_in],
                        batch,
                        step.len_in,
                        &p.dims,
                        &p.strides,
                        &mut dst[..n_in],
                    );
                    Some(to)
                }
            };
            let rows = n_in / step.cin;
            let n_out = rows * step.cout;
            let to = if gin == Some(0) { 1 } else { 0 };
            let (src, dst): (&[T], &mut [T]) = if direct {
                let src: &[T] = match gin {
                    None => x,
                    Some(0) => a,
                    Some(_) => b,
                };
                (src, &mut *out)
            } else {
                pick(x, a, b, gin, to)
            };
            if let Some(rec) = record.as_deref_mut() {
                rec.push(src[..n_in].to_vec());
            }
            faer::linalg::matmul::matmul(
                MatMut::from_row_major_slice_mut(&mut dst[..n_out], rows, step.cout),
                Accum::Replace,
                MatRef::from_row_major_slice(&src[..n_in], rows, step.cin),
                MatRef::from_row_major_slice(&step.core, step.cin, step.cout),
                T::one(),
                par,
            );
            cur = if direct { None } else { Some(to) };
        }
        if let Some(p) = &self.final_perm {
            let src: &[T] = if cur == Some(0) { a } else { b };
            let n = batch * self.len_out;
            permute_batch(&src[..n], batch, self.len_out, &p.dims, &p.strides, &mut out[..n]);
        }
    }
}

/// `(source, destination)` buffers: the state `cur` (None = `x`) and buffer `to`.
fn pick<'a, T>(
    x: &'a [T],
    a: &'a mut [T],
    b: &'a mut [T],
    cur: Option<usize>,
    to: usize,
) -> (&'a [T], &'a mut [T]) {
    match (cur, to) {
        (None, 0) => (x, a),
        (None, _) => (x, b),
        (Some(0), _) => (a, b),
        (Some(_), _) => (b, a),
    }
}
