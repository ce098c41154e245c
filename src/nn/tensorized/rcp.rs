//! r-CP: the CP factors of `[kh·kw, in_1·out_1, …, in_L·out_L]` applied to the patch rows
//! `[n, in, kh·kw]`: the kernel factor first (one GEMM `[n·in, kh·kw] · A`; it creates the
//! rank index), then per channel group the rank-diagonal contraction of `diag` on the state
//! `[n · out_1 ⋯ out_{j-1}, in_j, in_{j+1} ⋯ in_L, R]`, the last group folding the sum over
//! the rank into one GEMM over the merged `(in_L, R)` index. The CP weights live in factor 0.

use faer::linalg::matmul::matmul;
use faer::{Accum, MatMut, MatRef};

use super::diag;
use super::param::{factor_name, row_major, Param};
use super::patches::{rows, rows_grad, rows_to_images, zeros};
use super::roles::Role;
use super::source::{Geometry, Source};
use crate::error::{Error, Result};
use crate::format::CpTensor;
use crate::nn::layer::ParamMut;
use crate::par::{auto_par, Par};
use crate::scalar::Scalar;

/// A channel group: its factor `[in_j · out_j, R]` (`in_j` slowest) and sizes.
#[derive(Clone, Debug)]
struct Group<T> {
    factor: Param<T>,
    input: usize,
    out: usize,
}

/// The factors (parameters in mode order, `factor0…`) and the tape of the last training pass.
#[derive(Clone, Debug)]
pub(super) struct CpEngine<T> {
    rank: usize,
    /// `[kh·kw, R]`; none without kernel modes (linear layers, 1×1 convolutions).
    kernel: Option<Param<T>>,
    /// In channel order.
    groups: Vec<Group<T>>,
    /// Whether the kernel factor comes first in the parameter order (its mode order).
    kernel_first: bool,
    /// The input of every step of the last training pass.
    tape: Option<Vec<Vec<T>>>,
}

/// The sizes of one channel step: `[p, in_j, out_j, q]`.
type Step = [usize; 4];

impl<T: Scalar> CpEngine<T> {
    /// The engine of the CP decomposition `cp` whose modes carry `roles`.
    pub(super) fn new(cp: &CpTensor<T>, roles: &[Role]) -> Result<Self> {
        let rank = cp.rank();
        let (mut kernel, mut groups) = (None, Vec::new());
        for (k, (f, role)) in cp.factors().iter().zip(roles).enumerate() {
            let mut value = row_major(f.as_ref());
            if k == 0 {
                for row in value.chunks_exact_mut(rank) {
                    row.iter_mut().zip(cp.weights()).for_each(|(v, &w)| *v *= w);
                }
            }
            let param = Param::new(factor_name(k), value);
            if role.has[2] {
                if kernel.is_some() || role.has[0] || role.has[1] {
                    return Err(Error::InvalidParameter {
                        name: "method",
                        value: format!("{roles:?}"),
                        expected: "r-CP modes: one kernel mode, then channel groups",
                    });
                }
                kernel = Some(param);
            } else {
                groups.push(Group { factor: param, input: role.input, out: role.out });
            }
        }
        let kernel_first = roles.first().is_some_and(|r| r.has[2]);
        Ok(Self { rank, kernel, groups, kernel_first, tape: None })
    }

    /// The CP rank.
    pub(super) fn rank(&self) -> usize {
        self.rank
    }

    pub(super) fn num_params(&self) -> usize {
        self.kernel.as_ref().map_or(0, |k| k.value.len())
            + self.groups.iter().map(|g| g.factor.value.len()).sum::<usize>()
    }

    /// The channel steps before the last group: `[p, in_j, out_j, q]` per position.
    fn steps(&self) -> Vec<Step> {
        let c = self.groups.len();
        (0..c.saturating_sub(1))
            .map(|j| {
                let p = self.groups[..j].iter().map(|g| g.out).product();
                let q = self.groups[j + 1..].iter().map(|g| g.input).product();
                [p, self.groups[j].input, self.groups[j].out, q]
            })
            .collect()
    }

    /// `[p, in_L, out_L]` of the final GEMM per position (`[1, 1, 1]` without channel groups).
    fn last(&self) -> [usize; 3] {
        match self.groups.split_last() {
            None => [1, 1, 1],
            Some((g, rest)) => [rest.iter().map(|h| h.out).product(), g.input, g.out],
        }
    }

    /// The last group's factor as `B''[(i, r), o]` (all ones without channel groups).
    fn last_matrix(&self) -> Vec<T> {
        let r = self.rank;
        let Some(g) = self.groups.last() else {
            return vec![T::one(); r];
        };
        let mut b = vec![T::zero(); g.input * g.out * r];
        for i in 0..g.input {
            for o in 0..g.out {
                for k in 0..r {
                    b[(i * r + k) * g.out + o] = g.factor.value[(i * g.out + o) * r + k];
                }
            }
        }
        b
    }

    /// The forward's flops for the batch of `g`.
    pub(super) fn flops(&self, src: &Source, g: &Geometry) -> f64 {
        let (n, r) = ((g.batch * g.positions()) as f64, self.rank as f64);
        let first = match self.kernel {
            Some(_) => 2.0 * (src.input * src.kernel_len()) as f64 * r * n,
            None => 0.0,
        };
        let mid: f64 =
            self.steps().iter().map(|&[p, i, o, q]| 2.0 * (p * i * o * q) as f64 * r * n).sum();
        let [p, i, o] = self.last();
        first + mid + 2.0 * (p * i * o) as f64 * r * n
    }

    /// `[batch, out, positions]` without bias.
    pub(super) fn forward(&self, src: &Source, g: &Geometry, x: &[T]) -> Result<Vec<T>> {
        Ok(self.run(src, g, x)?.0)
    }

    /// [`CpEngine::forward`], keeping the input of every step for the backward pass.
    pub(super) fn forward_train(&mut self, src: &Source, g: &Geometry, x: &[T]) -> Result<Vec<T>> {
        let (y, tape) = self.run(src, g, x)?;
        self.tape = Some(tape);
        Ok(y)
    }

    /// The output and the input of every step (patch rows, channel steps, final GEMM).
    fn run(&self, src: &Source, g: &Geometry, x: &[T]) -> Result<(Vec<T>, Vec<Vec<T>>)> {
        let (n, r, c) = (g.batch * g.positions(), self.rank, src.input);
        let kk = src.kernel_len();
        let par = auto_par(self.flops(src, g));
        let patches = rows(src, g, x)?;
        let mut u = zeros(&[n, c, r])?;
        match &self.kernel {
            Some(a) => {
                let am = MatRef::from_row_major_slice(&a.value, kk, r);
                let xm = MatRef::from_row_major_slice(&patches, n * c, kk);
                let um = MatMut::from_row_major_slice_mut(&mut u, n * c, r);
                matmul(um, Accum::Replace, xm, am, T::one(), par);
            }
            None => {
                for (&v, ur) in patches.iter().zip(u.chunks_exact_mut(r)) {
                    ur.fill(v);
                }
            }
        }
        let mut tape = vec![patches];
        let mut state = u;
        for (j, [p, i, o, q]) in self.steps().into_iter().enumerate() {
            let mut next = zeros(&[n, p, o, q, r])?;
            let b = &self.groups[j].factor.value;
            diag::apply(&state, &mut next, [n * p, i, o, q, r], b, [o * r, r]);
            tape.push(std::mem::replace(&mut state, next));
        }
        let [p, i, o] = self.last();
        let bm = self.last_matrix();
        let mut y = zeros(&[n, p, o])?;
        let (xm, bv) = (
            MatRef::from_row_major_slice(&state, n * p, i * r),
            MatRef::from_row_major_slice(&bm, i * r, o),
        );
        let ym = MatMut::from_row_major_slice_mut(&mut y, n * p, o);
        matmul(ym, Accum::Replace, xm, bv, T::one(), par);
        tape.push(state);
        Ok((rows_to_images(&y, [g.batch, g.positions(), src.out], false)?, tape))
    }

    /// The input gradient `[batch, in, h, w]` from `dy` (`[batch, out, positions]`); adds the
    /// factor gradients.
    pub(super) fn backward(&mut self, src: &Source, g: &Geometry, dy: &[T]) -> Result<Vec<T>> {
        let Some(tape) = self.tape.take() else {
            return Err(Error::InvalidParameter {
                name: "backward",
                value: "r-CP".into(),
                expected: "a training forward pass first",
            });
        };
        let result = self.backward_from(&tape, src, g, dy);
        self.tape = Some(tape);
        result
    }

    fn backward_from(
        &mut self,
        tape: &[Vec<T>],
        src: &Source,
        g: &Geometry,
        dy: &[T],
    ) -> Result<Vec<T>> {
        let (n, r, c) = (g.batch * g.positions(), self.rank, src.input);
        let kk = src.kernel_len();
        let par: Par = auto_par(2.0 * self.flops(src, g));
        let d = rows_to_images(dy, [g.batch, g.positions(), src.out], true)?;
        // The final GEMM Y = X B'': ∂B'' = Xᵀ ∂Y, ∂X = ∂Y B''ᵀ.
        let [p, i, o] = self.last();
        let bm = self.last_matrix();
        let (xm, dm, bv) = (
            MatRef::from_row_major_slice(&tape[tape.len() - 1], n * p, i * r),
            MatRef::from_row_major_slice(&d, n * p, o),
            MatRef::from_row_major_slice(&bm, i * r, o),
        );
        let mut db = zeros::<T>(&[i * r, o])?;
        matmul(
            MatMut::from_row_major_slice_mut(&mut db, i * r, o),
            Accum::Replace,
            xm.transpose(),
            dm,
            T::one(),
            par,
        );
        let mut dstate = zeros(&[n * p, i * r])?;
        let dsm = MatMut::from_row_major_slice_mut(&mut dstate, n * p, i * r);
        matmul(dsm, Accum::Replace, dm, bv.transpose(), T::one(), par);
        if let Some(last) = self.groups.last_mut() {
            for ii in 0..i {
                for oo in 0..o {
                    for k in 0..r {
                        last.factor.grad[(ii * o + oo) * r + k] += db[(ii * r + k) * o + oo];
                    }
                }
            }
        }
        // The diagonal steps, last first.
        for (j, [p, i, o, q]) in self.steps().into_iter().enumerate().rev() {
            let dims = [n * p, i, o, q, r];
            let grp = &mut self.groups[j];
            diag::grad(&tape[j + 1], &dstate, dims, &mut grp.factor.grad, [o * r, r]);
            let mut dx = zeros(&[n * p, i, q, r])?;
            diag::apply(&dstate, &mut dx, [n * p, o, i, q, r], &grp.factor.value, [r, o * r]);
            dstate = dx;
        }
        // The kernel factor: U = X A.
        let patches = &tape[0];
        let mut dpatches = zeros(&[n, c, kk])?;
        match &mut self.kernel {
            Some(a) => {
                let (xm, um, am) = (
                    MatRef::from_row_major_slice(patches, n * c, kk),
                    MatRef::from_row_major_slice(&dstate, n * c, r),
                    MatRef::from_row_major_slice(&a.value, kk, r),
                );
                let mut da = zeros::<T>(&[kk, r])?;
                let dam = MatMut::from_row_major_slice_mut(&mut da, kk, r);
                matmul(dam, Accum::Replace, xm.transpose(), um, T::one(), par);
                let dxm = MatMut::from_row_major_slice_mut(&mut dpatches, n * c, kk);
                matmul(dxm, Accum::Replace, um, am.transpose(), T::one(), par);
                a.add_grad(&da);
            }
            None => {
                for (dv, ur) in dpatches.iter_mut().zip(dstate.chunks_exact(r)) {
                    *dv = ur.iter().fold(T::zero(), |s, &v| s + v);
                }
            }
        }
        rows_grad(src, g, &dpatches)
    }

    pub(super) fn visit_params(&mut self, f: &mut dyn FnMut(ParamMut<'_, T>)) {
        if self.kernel_first {
            if let Some(k) = &mut self.kernel {
                k.lend(f);
            }
        }
        self.groups.iter_mut().for_each(|g| g.factor.lend(f));
        if !self.kernel_first {
            if let Some(k) = &mut self.kernel {
                k.lend(f);
            }
        }
    }
}
