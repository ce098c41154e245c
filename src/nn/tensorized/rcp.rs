//! r-CP: the CP factors of `[kh·kw, in_1·out_1, …, in_L·out_L]` applied to the patch rows
//! `[n, in, kh·kw]`: the kernel factor first (one GEMM `[n·in, kh·kw] · A`; it creates the
//! rank index), then per channel group the rank-diagonal contraction of `diag` on the state
//! `[n · out_1 ⋯ out_{j-1}, in_j, in_{j+1} ⋯ in_L, R]`, the last group folding the sum over
//! the rank into one GEMM over the merged `(in_L, R)` index. The CP weights live in factor 0.
//! The rows run in tiles, each through the whole sequence in cache, tiles over threads.

use faer::linalg::matmul::matmul;
use faer::{Accum, MatMut, MatRef};
use rayon::prelude::*;

use super::diag;
use super::param::{factor_name, row_major, Param};
use super::patches::{rows, rows_grad, rows_to_images, zeros};
use super::roles::Role;
use super::source::{Geometry, Source};
use crate::error::{Error, Result};
use crate::format::CpTensor;
use crate::nn::layer::ParamMut;
use crate::par::{auto_par, thread_count, Par};
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
    /// What the last training pass kept for the backward pass.
    tape: Option<Tape<T>>,
}

/// One tile's patch rows, output gradient, patch gradient and states, as zipped iterators
/// hand them out.
type TileArgs<'a, T> = (((&'a [T], &'a [T]), &'a mut [T]), &'a Vec<Vec<T>>);

/// Numbers in the largest intermediate state of one tile (about 256 KiB of `f32`).
const TILE_NUMBERS: usize = 1 << 16;

/// A training pass's patch rows and, per tile of `rows` patch rows, the input of every step
/// after the kernel step.
#[derive(Clone, Debug)]
struct Tape<T> {
    patches: Vec<T>,
    tiles: Vec<Vec<Vec<T>>>,
    rows: usize,
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

    /// The factors as they stand now, as a CP decomposition of the tensorized weight in its
    /// mode order (the kernel factor first, if any; unit weights, λ stays in factor 0): the
    /// inverse of [`CpEngine::new`], bit for bit.
    pub(super) fn to_cp(&self) -> Result<CpTensor<T>> {
        let r = self.rank;
        let matrix = |p: &Param<T>| {
            faer::Mat::from_fn(p.value.len() / r.max(1), r, |i, j| p.value[i * r + j])
        };
        let groups = self.groups.iter().map(|g| matrix(&g.factor));
        let kernel = self.kernel.iter().map(matrix);
        let factors: Vec<faer::Mat<T>> = if self.kernel_first {
            kernel.chain(groups).collect()
        } else {
            groups.chain(kernel).collect()
        };
        CpTensor::new(vec![T::one(); r], factors)
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

    /// Patch rows per tile: the largest intermediate state of a tile holds about
    /// [`TILE_NUMBERS`] numbers, so that a tile runs in cache from its patches to its outputs.
    fn tile_rows(&self, c: usize) -> usize {
        let r = self.rank;
        let widest = self.steps().iter().map(|&[p, _, o, q]| p * o * q * r).fold(c * r, usize::max);
        (TILE_NUMBERS / widest.max(1)).max(1)
    }

    /// `[batch, out, positions]` without bias.
    pub(super) fn forward(&self, src: &Source, g: &Geometry, x: &[T]) -> Result<Vec<T>> {
        Ok(self.run(src, g, x, false)?.0)
    }

    /// [`CpEngine::forward`], keeping the input of every step for the backward pass.
    pub(super) fn forward_train(&mut self, src: &Source, g: &Geometry, x: &[T]) -> Result<Vec<T>> {
        let (y, tape) = self.run(src, g, x, true)?;
        self.tape = Some(tape);
        Ok(y)
    }

    /// The output and the tape (the tiles' states only if `keep`). Tiles of patch rows run
    /// the whole sequence each, spread over threads.
    fn run(&self, src: &Source, g: &Geometry, x: &[T], keep: bool) -> Result<(Vec<T>, Tape<T>)> {
        let (n, c, kk) = (g.batch * g.positions(), src.input, src.kernel_len());
        let patches = rows(src, g, x)?;
        let rows_per = self.tile_rows(c);
        let bm = self.last_matrix();
        let mut y = zeros(&[n, src.out])?;
        let work = |(pt, yt): (&[T], &mut [T])| self.tile_forward(c, kk, &bm, pt, yt, keep);
        let chunks = (rows_per * c * kk, rows_per * src.out);
        let tiles = if thread_count(auto_par(self.flops(src, g))) > 1 {
            patches.par_chunks(chunks.0).zip(y.par_chunks_mut(chunks.1)).map(work).collect()
        } else {
            patches
                .chunks(chunks.0)
                .zip(y.chunks_mut(chunks.1))
                .map(work)
                .collect::<Result<Vec<_>>>()
        }?;
        let y = rows_to_images(&y, [g.batch, g.positions(), src.out], false)?;
        Ok((y, Tape { patches, tiles, rows: rows_per }))
    }

    /// One tile: patch rows `pt` (`[rows, in·kh·kw]`) to outputs `yt` (`[rows, out]`);
    /// returns the input of every step after the first if `keep`.
    fn tile_forward(
        &self,
        c: usize,
        kk: usize,
        bm: &[T],
        pt: &[T],
        yt: &mut [T],
        keep: bool,
    ) -> Result<Vec<Vec<T>>> {
        let (rows, r) = (pt.len() / (c * kk), self.rank);
        let mut state = zeros(&[rows, c, r])?;
        match &self.kernel {
            Some(a) => {
                let am = MatRef::from_row_major_slice(&a.value, kk, r);
                let xm = MatRef::from_row_major_slice(pt, rows * c, kk);
                let um = MatMut::from_row_major_slice_mut(&mut state, rows * c, r);
                matmul(um, Accum::Replace, xm, am, T::one(), Par::Seq);
            }
            None => {
                for (&v, ur) in pt.iter().zip(state.chunks_exact_mut(r)) {
                    ur.fill(v);
                }
            }
        }
        let mut kept = Vec::new();
        for (j, [p, i, o, q]) in self.steps().into_iter().enumerate() {
            let mut next = zeros(&[rows, p, o, q, r])?;
            let b = &self.groups[j].factor.value;
            diag::apply(&state, &mut next, [rows * p, i, o, q, r], b, [o * r, r], false);
            let prev = std::mem::replace(&mut state, next);
            if keep {
                kept.push(prev);
            }
        }
        let [p, i, o] = self.last();
        let (xm, bv) = (
            MatRef::from_row_major_slice(&state, rows * p, i * r),
            MatRef::from_row_major_slice(bm, i * r, o),
        );
        let ym = MatMut::from_row_major_slice_mut(yt, rows * p, o);
        matmul(ym, Accum::Replace, xm, bv, T::one(), Par::Seq);
        if keep {
            kept.push(state);
        }
        Ok(kept)
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
        tape: &Tape<T>,
        src: &Source,
        g: &Geometry,
        dy: &[T],
    ) -> Result<Vec<T>> {
        let (n, c, kk) = (g.batch * g.positions(), src.input, src.kernel_len());
        let d = rows_to_images(dy, [g.batch, g.positions(), src.out], true)?;
        let mut dpatches = zeros(&[n, c * kk])?;
        let bm = self.last_matrix();
        let (pl, dl) = (tape.rows * c * kk, tape.rows * src.out);
        let this = &*self;
        let work = |(((pt, dt), dpt), states): TileArgs<'_, T>| {
            this.tile_backward(c, kk, &bm, states, pt, dt, dpt)
        };
        let grads: Vec<Vec<Vec<T>>> = if thread_count(auto_par(2.0 * self.flops(src, g))) > 1 {
            let it =
                tape.patches.par_chunks(pl).zip(d.par_chunks(dl)).zip(dpatches.par_chunks_mut(pl));
            it.zip(tape.tiles.par_iter()).map(work).collect::<Result<_>>()?
        } else {
            let it = tape.patches.chunks(pl).zip(d.chunks(dl)).zip(dpatches.chunks_mut(pl));
            it.zip(tape.tiles.iter()).map(work).collect::<Result<_>>()?
        };
        // Summed in tile order: the same result for any number of threads.
        for tile in &grads {
            let mut parts = tile.iter();
            if let Some(k) = &mut self.kernel {
                k.add_grad(parts.next().map_or(&[][..], Vec::as_slice));
            }
            for (grp, gg) in self.groups.iter_mut().zip(parts) {
                grp.factor.add_grad(gg);
            }
        }
        rows_grad(src, g, &dpatches)
    }

    /// One tile's backward pass: writes `∂L/∂patches` into `dpt` and returns the tile's
    /// gradient of every factor (the kernel factor first, if any, then the groups).
    #[allow(clippy::too_many_arguments)]
    fn tile_backward(
        &self,
        c: usize,
        kk: usize,
        bm: &[T],
        states: &[Vec<T>],
        pt: &[T],
        dt: &[T],
        dpt: &mut [T],
    ) -> Result<Vec<Vec<T>>> {
        let (rows, r) = (pt.len() / (c * kk), self.rank);
        let mut grads: Vec<Vec<T>> = Vec::new();
        let mut group_grads: Vec<Vec<T>> =
            self.groups.iter().map(|grp| vec![T::zero(); grp.factor.value.len()]).collect();
        // The final GEMM Y = X B'': ∂B'' = Xᵀ ∂Y, ∂X = ∂Y B''ᵀ.
        let [p, i, o] = self.last();
        let last_state = states.last().map_or(&[][..], Vec::as_slice);
        let (xm, dm, bv) = (
            MatRef::from_row_major_slice(last_state, rows * p, i * r),
            MatRef::from_row_major_slice(dt, rows * p, o),
            MatRef::from_row_major_slice(bm, i * r, o),
        );
        let mut db = zeros::<T>(&[i * r, o])?;
        let dbm = MatMut::from_row_major_slice_mut(&mut db, i * r, o);
        matmul(dbm, Accum::Replace, xm.transpose(), dm, T::one(), Par::Seq);
        let mut dstate = zeros(&[rows * p, i * r])?;
        let dsm = MatMut::from_row_major_slice_mut(&mut dstate, rows * p, i * r);
        matmul(dsm, Accum::Replace, dm, bv.transpose(), T::one(), Par::Seq);
        if let Some(gl) = group_grads.last_mut() {
            for ii in 0..i {
                for oo in 0..o {
                    for k in 0..r {
                        gl[(ii * o + oo) * r + k] = db[(ii * r + k) * o + oo];
                    }
                }
            }
        }
        // The diagonal steps, last first.
        for (j, [p, i, o, q]) in self.steps().into_iter().enumerate().rev() {
            let dims = [rows * p, i, o, q, r];
            diag::grad(&states[j], &dstate, dims, &mut group_grads[j], [o * r, r], false);
            let mut dx = zeros(&[rows * p, i, q, r])?;
            let b = &self.groups[j].factor.value;
            diag::apply(&dstate, &mut dx, [rows * p, o, i, q, r], b, [r, o * r], false);
            dstate = dx;
        }
        // The kernel factor: U = X A.
        match &self.kernel {
            Some(a) => {
                let (xm, um, am) = (
                    MatRef::from_row_major_slice(pt, rows * c, kk),
                    MatRef::from_row_major_slice(&dstate, rows * c, r),
                    MatRef::from_row_major_slice(&a.value, kk, r),
                );
                let mut da = zeros::<T>(&[kk, r])?;
                let dam = MatMut::from_row_major_slice_mut(&mut da, kk, r);
                matmul(dam, Accum::Replace, xm.transpose(), um, T::one(), Par::Seq);
                let dxm = MatMut::from_row_major_slice_mut(dpt, rows * c, kk);
                matmul(dxm, Accum::Replace, um, am.transpose(), T::one(), Par::Seq);
                grads.push(da);
            }
            None => {
                for (dv, ur) in dpt.iter_mut().zip(dstate.chunks_exact(r)) {
                    *dv = ur.iter().fold(T::zero(), |s, &v| s + v);
                }
            }
        }
        grads.extend(group_grads);
        Ok(grads)
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
