//! r-TK: the partial Tucker decomposition of `[kh, kw, in_1, …, in_L, out_1, …, out_L]` run as
//! three linear maps: the input-channel factors as mode products on the input images (a
//! Kronecker-structured 1×1 convolution, before im2col: it commutes with it and is `kh·kw`
//! times cheaper there), the core as a dense `R_in → R_out` convolution with the original
//! window, and the output-channel factors as mode products on its output.

use faer::linalg::matmul::matmul;
use faer::{Accum, MatMut, MatRef};

use super::param::{factor_name, row_major, Param};
use super::roles::Role;
use super::source::{Geometry, Source};
use crate::error::{Error, Result};
use crate::format::PartialTucker;
use crate::nn::conv2d::Conv2d;
use crate::nn::layer::{Layer, ParamMut};
use crate::nn::linear::Linear;
use crate::par::auto_par;
use crate::scalar::Scalar;
use crate::tenalg::{mode_product_with, unfold};
use crate::tensor::Tensor;
use crate::tensorization::weights::layout::Layout;

/// A channel factor `U` (`[size, rank]`, row-major).
#[derive(Clone, Debug)]
struct Factor<T> {
    u: Param<T>,
    size: usize,
    rank: usize,
}

/// The core as a dense layer over the rank channels (no bias).
#[derive(Clone, Debug)]
enum Core<T> {
    Linear(Linear<T>),
    Conv(Conv2d<T>),
}

impl<T: Scalar> Core<T> {
    fn layer(&self) -> &dyn Layer<T> {
        match self {
            Core::Linear(l) => l,
            Core::Conv(c) => c,
        }
    }

    fn layer_mut(&mut self) -> &mut dyn Layer<T> {
        match self {
            Core::Linear(l) => l,
            Core::Conv(c) => c,
        }
    }
}

/// The inputs of the mode products of a training pass: input side, output side.
type Tape<T> = (Vec<Tensor<T>>, Vec<Tensor<T>>);

/// The factors (parameters `factor0…` over the input then the output modes), the core
/// (parameter `core`, laid out `[R_out, R_in, kh, kw]`, or `[R_out, R_in]` for a linear
/// layer) and the tape of the last training pass.
#[derive(Clone, Debug)]
pub(super) struct TuckerEngine<T> {
    inputs: Vec<Factor<T>>,
    outputs: Vec<Factor<T>>,
    core: Core<T>,
    /// The input of every mode product of the last training pass.
    tape: Option<Tape<T>>,
}

impl<T: Scalar> TuckerEngine<T> {
    /// The engine of the partial Tucker decomposition `t` whose modes carry `roles`.
    pub(super) fn new(t: &PartialTucker<T>, roles: &[Role], src: &Source) -> Result<Self> {
        let core = t.core();
        let (mut inputs, mut outputs) = (Vec::new(), Vec::new());
        let (mut in_modes, mut out_modes, mut kernel_modes) = (Vec::new(), Vec::new(), Vec::new());
        for (k, role) in roles.iter().enumerate() {
            match role.has {
                [false, false, true] => kernel_modes.push(k),
                [false, true, false] => in_modes.push(k),
                [true, false, false] => out_modes.push(k),
                _ => {
                    return Err(Error::InvalidParameter {
                        name: "method",
                        value: format!("{roles:?}"),
                        expected: "r-TK modes that are each a kernel, input or output factor",
                    })
                }
            }
        }
        for (j, (&mode, f)) in t.modes().iter().zip(t.factors()).enumerate() {
            let factor = Factor {
                u: Param::new(factor_name(j), row_major(f.as_ref())),
                size: f.nrows(),
                rank: f.ncols(),
            };
            if in_modes.contains(&mode) {
                inputs.push(factor);
            } else if out_modes.contains(&mode) {
                outputs.push(factor);
            }
        }
        if inputs.len() != in_modes.len() || outputs.len() != out_modes.len() {
            return Err(Error::InvalidParameter {
                name: "method",
                value: format!("{:?}", t.modes()),
                expected: "an r-TK decomposition with a factor on every channel mode",
            });
        }
        let r_in: usize = inputs.iter().map(|f| f.rank).product();
        let r_out: usize = outputs.iter().map(|f| f.rank).product();
        let perm: Vec<usize> =
            out_modes.iter().chain(&in_modes).chain(&kernel_modes).copied().collect();
        let w = core.permute_modes(&perm)?;
        let core = match src.window {
            None => Core::Linear(Linear::new(w.reshape(&[r_out, r_in])?, None)?),
            Some(win) => {
                let w = w.reshape(&[r_out, r_in, win.kernel[0], win.kernel[1]])?;
                let conv =
                    Conv2d::new(w, None)?.with_stride(win.stride)?.with_padding(win.padding)?;
                Core::Conv(conv)
            }
        };
        Ok(Self { inputs, outputs, core, tape: None })
    }

    /// The factors and core as they stand now, as the partial Tucker decomposition of the
    /// tensorized weight laid out by `layout` (modes carrying `roles`): the inverse of
    /// [`TuckerEngine::new`], bit for bit.
    pub(super) fn to_tucker(&self, layout: &Layout, roles: &[Role]) -> Result<PartialTucker<T>> {
        let modes = &layout.tucker_modes;
        let (mut inputs, mut outputs) = (self.inputs.iter(), self.outputs.iter());
        let mut factors = Vec::with_capacity(modes.len());
        let mut core_shape = layout.shape.clone();
        for &mode in modes {
            let next = if roles[mode].has[1] { inputs.next() } else { outputs.next() };
            let f = next.ok_or_else(|| Error::InvalidParameter {
                name: "method",
                value: format!("{modes:?}"),
                expected: "an r-TK layout with a factor on every decomposed mode",
            })?;
            core_shape[mode] = f.rank;
            factors.push(faer::Mat::from_fn(f.size, f.rank, |i, j| f.u.value[i * f.rank + j]));
        }
        let group = |has: usize| (0..roles.len()).filter(move |&k| roles[k].has[has]);
        let perm: Vec<usize> = group(0).chain(group(1)).chain(group(2)).collect();
        let mut inverse = vec![0; perm.len()];
        for (k, &p) in perm.iter().enumerate() {
            inverse[p] = k;
        }
        let permuted: Vec<usize> = perm.iter().map(|&p| core_shape[p]).collect();
        let weight = match &self.core {
            Core::Linear(l) => l.weight(),
            Core::Conv(c) => c.weight(),
        };
        let core = weight.clone().reshape(&permuted)?.permute_modes(&inverse)?;
        PartialTucker::new(core, factors, modes.clone())
    }

    /// The ranks of the input factors, then of the output factors.
    pub(super) fn ranks(&self) -> Vec<usize> {
        self.inputs.iter().chain(&self.outputs).map(|f| f.rank).collect()
    }

    pub(super) fn num_params(&self) -> usize {
        let factors: usize = self.inputs.iter().chain(&self.outputs).map(|f| f.u.value.len()).sum();
        factors + self.core.layer().num_params()
    }

    /// `[batch, sizes…, positions]` of a state between mode products.
    fn state_shape(
        batch: usize,
        sizes: impl Iterator<Item = usize>,
        positions: usize,
    ) -> Vec<usize> {
        std::iter::once(batch).chain(sizes).chain([positions]).collect()
    }

    /// The core's input shape for the batch of `g`.
    fn core_input(&self, g: &Geometry) -> Vec<usize> {
        let r_in = self.inputs.iter().map(|f| f.rank).product();
        match self.core {
            Core::Linear(_) => vec![g.batch, r_in],
            Core::Conv(_) => vec![g.batch, r_in, g.hw[0], g.hw[1]],
        }
    }

    /// The forward's flops for the batch of `g`: `2·J·(numel of the state)` per mode product.
    pub(super) fn flops(&self, g: &Geometry) -> Result<f64> {
        let chain = |factors: &[Factor<T>], mut numel: f64, into_rank: bool| {
            let mut total = 0.0;
            for f in factors {
                let (from, to) = if into_rank { (f.size, f.rank) } else { (f.rank, f.size) };
                total += 2.0 * numel * to as f64;
                numel = numel / from as f64 * to as f64;
            }
            total
        };
        let hw = (g.hw[0] * g.hw[1]) as f64;
        let r_out: usize = self.outputs.iter().map(|f| f.rank).product();
        let first = chain(&self.inputs, g.batch as f64 * g.channels as f64 * hw, true);
        let core = self.core.layer().flops(&self.core_input(g))? * g.batch as f64;
        let pos = (g.batch * g.positions()) as f64;
        Ok(first + core + chain(&self.outputs, r_out as f64 * pos, false))
    }

    /// The input-side mode products: `[batch, in, h, w]` → the core's input; each product's
    /// input is pushed on `tape`.
    fn reduce(
        &self,
        g: &Geometry,
        x: &[T],
        mut tape: Option<&mut Vec<Tensor<T>>>,
    ) -> Result<Tensor<T>> {
        let par = auto_par(self.flops(g)?);
        let shape =
            Self::state_shape(g.batch, self.inputs.iter().map(|f| f.size), g.hw[0] * g.hw[1]);
        let mut t = Tensor::from_vec(&shape, x.to_vec())?;
        for (k, f) in self.inputs.iter().enumerate() {
            let u = MatRef::from_row_major_slice(&f.u.value, f.size, f.rank);
            let next = mode_product_with(&t, u.transpose(), 1 + k, par)?;
            let prev = std::mem::replace(&mut t, next);
            if let Some(tape) = tape.as_deref_mut() {
                tape.push(prev);
            }
        }
        t.reshape(&self.core_input(g))
    }

    /// The output-side mode products: the core's output → `[batch, out, positions]`.
    fn restore(
        &self,
        g: &Geometry,
        h: Tensor<T>,
        mut tape: Option<&mut Vec<Tensor<T>>>,
    ) -> Result<Vec<T>> {
        let par = auto_par(self.flops(g)?);
        let shape = Self::state_shape(g.batch, self.outputs.iter().map(|f| f.rank), g.positions());
        let mut t = h.reshape(&shape)?;
        for (k, f) in self.outputs.iter().enumerate() {
            let u = MatRef::from_row_major_slice(&f.u.value, f.size, f.rank);
            let next = mode_product_with(&t, u, 1 + k, par)?;
            let prev = std::mem::replace(&mut t, next);
            if let Some(tape) = tape.as_deref_mut() {
                tape.push(prev);
            }
        }
        Ok(t.into_vec())
    }

    /// `[batch, out, positions]` without bias.
    pub(super) fn forward(&self, _src: &Source, g: &Geometry, x: &[T]) -> Result<Vec<T>> {
        let h = self.core.layer().forward(&self.reduce(g, x, None)?)?;
        self.restore(g, h, None)
    }

    /// [`TuckerEngine::forward`], keeping the input of every step for the backward pass.
    pub(super) fn forward_train(&mut self, _src: &Source, g: &Geometry, x: &[T]) -> Result<Vec<T>> {
        let (mut tape_in, mut tape_out) = (Vec::new(), Vec::new());
        let h = self.reduce(g, x, Some(&mut tape_in))?;
        let h = self.core.layer_mut().forward_train(&h)?;
        let y = self.restore(g, h, Some(&mut tape_out))?;
        self.tape = Some((tape_in, tape_out));
        Ok(y)
    }

    /// The input gradient `[batch, in, h, w]` from `dy` (`[batch, out, positions]`); adds the
    /// factor and core gradients.
    pub(super) fn backward(&mut self, _src: &Source, g: &Geometry, dy: &[T]) -> Result<Vec<T>> {
        let Some((tape_in, tape_out)) = self.tape.take() else {
            return Err(Error::InvalidParameter {
                name: "backward",
                value: "r-TK".into(),
                expected: "a training forward pass first",
            });
        };
        let result = self.backward_from(&tape_in, &tape_out, g, dy);
        self.tape = Some((tape_in, tape_out));
        result
    }

    fn backward_from(
        &mut self,
        tape_in: &[Tensor<T>],
        tape_out: &[Tensor<T>],
        g: &Geometry,
        dy: &[T],
    ) -> Result<Vec<T>> {
        let par = auto_par(2.0 * self.flops(g)?);
        let shape = Self::state_shape(g.batch, self.outputs.iter().map(|f| f.size), g.positions());
        let mut d = Tensor::from_vec(&shape, dy.to_vec())?;
        // Y = X ×ₖ U: ∂U += ∂Y₍ₖ₎ X₍ₖ₎ᵀ, ∂X = ∂Y ×ₖ Uᵀ.
        for (k, (f, x)) in self.outputs.iter_mut().zip(tape_out).enumerate().rev() {
            let (dm, xm) = (unfold(&d, 1 + k)?, unfold(x, 1 + k)?);
            let cols = xm.shape()[1];
            let (dv, xv) = (
                MatRef::from_row_major_slice(dm.as_slice(), f.size, cols),
                MatRef::from_row_major_slice(xm.as_slice(), f.rank, cols),
            );
            let gu = MatMut::from_row_major_slice_mut(&mut f.u.grad, f.size, f.rank);
            matmul(gu, Accum::Add, dv, xv.transpose(), T::one(), par);
            let u = MatRef::from_row_major_slice(&f.u.value, f.size, f.rank);
            d = mode_product_with(&d, u.transpose(), 1 + k, par)?;
        }
        let r_out: usize = self.outputs.iter().map(|f| f.rank).product();
        let out_shape = match self.core {
            Core::Linear(_) => vec![g.batch, r_out],
            Core::Conv(_) => vec![g.batch, r_out, g.out_hw[0], g.out_hw[1]],
        };
        let dh = self.core.layer_mut().backward(&d.reshape(&out_shape)?)?;
        let hw = g.hw[0] * g.hw[1];
        let shape = Self::state_shape(g.batch, self.inputs.iter().map(|f| f.rank), hw);
        let mut d = dh.reshape(&shape)?;
        // Y = X ×ₖ Uᵀ: ∂U += X₍ₖ₎ ∂Y₍ₖ₎ᵀ, ∂X = ∂Y ×ₖ U.
        for (k, (f, x)) in self.inputs.iter_mut().zip(tape_in).enumerate().rev() {
            let (dm, xm) = (unfold(&d, 1 + k)?, unfold(x, 1 + k)?);
            let cols = xm.shape()[1];
            let (dv, xv) = (
                MatRef::from_row_major_slice(dm.as_slice(), f.rank, cols),
                MatRef::from_row_major_slice(xm.as_slice(), f.size, cols),
            );
            let gu = MatMut::from_row_major_slice_mut(&mut f.u.grad, f.size, f.rank);
            matmul(gu, Accum::Add, xv, dv.transpose(), T::one(), par);
            let u = MatRef::from_row_major_slice(&f.u.value, f.size, f.rank);
            d = mode_product_with(&d, u, 1 + k, par)?;
        }
        Ok(d.into_vec())
    }

    pub(super) fn visit_params(&mut self, f: &mut dyn FnMut(ParamMut<'_, T>)) {
        for factor in self.inputs.iter_mut().chain(&mut self.outputs) {
            factor.u.lend(f);
        }
        self.core.layer_mut().visit_params(&mut |p| f(ParamMut { name: "core", ..p }));
    }
}
