//! The TR-layer: a fully connected layer `y = W x + b` whose weight is a tensor ring over the
//! row/column mode pairs, the ring counterpart of the TT-layer ([`super::TtLinear`]) that RsTD
//! (Li et al. 2019) names beside it.

use faer::linalg::matmul::matmul;
use faer::{Accum, MatMut, MatRef};

use super::layer::{bad_input, check_grad, no_forward, Layer, ParamMut};
use super::mode_pairs::{glorot_cores, mode_sizes};
use crate::decomp::TrSvd;
use crate::error::{Error, Result};
use crate::format::tt_matrix::check_modes;
use crate::format::{Factorized, TrTensor};
use crate::par::auto_par;
use crate::report::FitReport;
use crate::scalar::Scalar;
use crate::tensor::arith::check_finite_slice;
use crate::tensor::Tensor;

const OP: &str = "TrLinear";

/// `y_b = W x_b + b` for a batch `X` (`B × N`, one sample per row), with `W ∈ R^{M×N}`
/// (`M = ∏ m_k`, `N = ∏ n_k`) a tensor ring over the mode pairs `(m_k, n_k)`:
///
/// `W[(i_1…i_d), (j_1…j_d)] = trace( G_1[:, i_1, j_1, :] ⋯ G_d[:, i_d, j_d, :] )`,
///
/// with cores `G_k ∈ R^{r_{k-1} × m_k × n_k × r_k}` and `r_d = r_0` (the ring closes; with
/// `r_0 = 1` it is the TT-layer's weight). Only the cores and the bias are parameters.
///
/// A batch runs through the dense `W`, rebuilt from the cores once per call (about
/// `M N r²` operations, shared by the whole batch), then one GEMM; the backward pass
/// contracts `∂L/∂W = dYᵀ X` with the product of the other cores around the ring for each
/// core. The layer trades speed for the ring's closed ranks; [`Layer::flops`] counts the GEMM
/// per sample.
///
/// ```
/// use tensorize::nn::{Layer, TrLinear};
/// use tensorize::Tensor;
/// let layer = TrLinear::<f64>::glorot(&[4, 4], &[4, 8], &[2, 3], 7)?;   // 32 → 16
/// assert_eq!(layer.ranks(), vec![2, 3]);
/// let x = Tensor::random_normal(&[5, 32], 1)?;
/// let w = layer.to_dense()?;                                            // [16, 32]
/// let dense = x.as_mat()? * w.as_mat()?.transpose();
/// assert!((layer.forward(&x)?.get(&[2, 7])? - dense[(2, 7)]).abs() < 1e-12);
/// # Ok::<(), tensorize::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct TrLinear<T> {
    /// Core `k`: `[r_{k-1}, m_k, n_k, r_k]`, row-major.
    cores: Vec<Tensor<T>>,
    row_modes: Vec<usize>,
    col_modes: Vec<usize>,
    bias: Vec<T>,
    grad_cores: Vec<Vec<T>>,
    grad_bias: Vec<T>,
    /// The last training pass: its input and the dense weight it used.
    cache: Option<(Tensor<T>, Tensor<T>)>,
}

impl<T: Scalar> TrLinear<T> {
    /// A layer from its cores (`[r_{k-1}, m_k, n_k, r_k]`, the last right rank equal to the
    /// first left rank) and bias (length `M = ∏ m_k`).
    ///
    /// # Errors
    /// [`Error::InvalidModes`] for no cores or a core that is not 4-way; the errors of
    /// [`TrTensor::new`] for ranks that do not chain or close; [`Error::ShapeMismatch`] for a
    /// bias of another length; [`Error::NonFinite`] for NaN/Inf in a core or the bias.
    pub fn new(cores: Vec<Tensor<T>>, bias: Vec<T>) -> Result<Self> {
        if cores.is_empty() || cores.iter().any(|c| c.ndim() != 4) {
            return Err(Error::InvalidModes {
                op: OP,
                modes: cores.iter().map(Tensor::ndim).collect(),
                ndim: 4,
                detail: "give at least one core, each [r_{k-1}, m_k, n_k, r_k]".into(),
            });
        }
        let row_modes: Vec<usize> = cores.iter().map(|c| c.shape()[1]).collect();
        let col_modes: Vec<usize> = cores.iter().map(|c| c.shape()[2]).collect();
        // The ring checks (ranks chain and close, sizes, finite values) of the 3-way cores.
        TrTensor::new(merged(&cores)?)?;
        let rows = row_modes.iter().product::<usize>();
        if bias.len() != rows {
            return Err(Error::ShapeMismatch {
                op: OP,
                left: vec![rows, col_modes.iter().product()],
                right: vec![bias.len()],
                detail: "the bias needs one entry per output feature (M)".into(),
            });
        }
        check_finite_slice(OP, &bias)?;
        let grad_cores = cores.iter().map(|c| vec![T::zero(); c.numel()]).collect();
        let grad_bias = vec![T::zero(); bias.len()];
        Ok(Self { cores, row_modes, col_modes, bias, grad_cores, grad_bias, cache: None })
    }

    /// A layer with random cores and zero bias, scaled so that every entry of `W` has variance
    /// `2 / (M + N)` (Glorot). `ranks` lists the `d` ring ranks `r_0, …, r_{d-1}`.
    ///
    /// An entry of `W` is a trace: a sum of `∏_k r_k` products of `d` independent zero-mean
    /// core entries of variance `v`, uncorrelated with each other, so `Var W = v^d ∏_k r_k` and
    /// the cores are drawn `N(0, v)` with `v = (2 / ((M + N) ∏_k r_k))^{1/d}`.
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] for modes of different lengths or containing 0;
    /// [`Error::InvalidRank`] unless `ranks` has `d` entries, all `≥ 1`;
    /// [`Error::SizeOverflow`] if the sizes overflow.
    pub fn glorot(
        row_modes: &[usize],
        col_modes: &[usize],
        ranks: &[usize],
        seed: u64,
    ) -> Result<Self> {
        const GLOROT: &str = "TrLinear::glorot";
        let (rows, cols) = mode_sizes(GLOROT, row_modes, col_modes)?;
        let d = row_modes.len();
        if ranks.len() != d || ranks.contains(&0) {
            return Err(Error::InvalidRank {
                op: GLOROT,
                ranks: ranks.to_vec(),
                shape: row_modes.iter().chain(col_modes).copied().collect(),
                detail: format!("give the {d} ring ranks r_0..r_{{d-1}}, each >= 1"),
            });
        }
        let bonds: Vec<usize> = ranks.iter().chain(&ranks[..1]).copied().collect();
        let cores = glorot_cores((rows, cols), row_modes, col_modes, &bonds, seed)?;
        Self::new(cores, vec![T::zero(); rows])
    }

    /// Compresses a pretrained dense layer: `weight` is `[out, in] = M × N`, `bias` has length
    /// `M`; the weight, as the tensor `[m_1 n_1, …, m_d n_d]` of its mode pairs, goes through
    /// [`TrSvd::fit`] with `params`. The report's error is the error of `W`.
    ///
    /// ```
    /// use tensorize::decomp::TrSvd;
    /// use tensorize::nn::{Layer, TrLinear};
    /// use tensorize::Tensor;
    /// let w = Tensor::<f64>::random_normal(&[6, 8], 1)?;
    /// let (layer, report) = TrLinear::from_dense(&w, &[0.5; 6], &[2, 3], &[2, 4], &TrSvd::new())?;
    /// assert!(report.rel_error < 1e-12);
    /// let x = Tensor::<f64>::random_normal(&[2, 8], 2)?;
    /// let dense = x.as_mat()? * w.as_mat()?.transpose();
    /// assert!((layer.forward(&x)?.get(&[1, 4])? - dense[(1, 4)] - 0.5).abs() < 1e-12);
    /// # Ok::<(), tensorize::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] unless `weight` is `[∏ m_k, ∏ n_k]` with modes of equal
    /// lengths; as [`TrSvd::fit`] and [`TrLinear::new`].
    pub fn from_dense(
        weight: &Tensor<T>,
        bias: &[T],
        row_modes: &[usize],
        col_modes: &[usize],
        params: &TrSvd,
    ) -> Result<(Self, FitReport)> {
        let (rows, cols) = match *weight.shape() {
            [m, n] => (m, n),
            _ => {
                return Err(Error::ShapeMismatch {
                    op: OP,
                    left: weight.shape().to_vec(),
                    right: row_modes.iter().chain(col_modes).copied().collect(),
                    detail: "the weight must be [out, in]".into(),
                })
            }
        };
        check_modes(OP, rows, cols, row_modes, col_modes)?;
        let d = row_modes.len();
        let pairs: Vec<usize> = row_modes.iter().zip(col_modes).map(|(m, n)| m * n).collect();
        let split: Vec<usize> = row_modes.iter().chain(col_modes).copied().collect();
        let x = weight.clone().reshape(&split)?.permute_modes(&interleave(d))?.reshape(&pairs)?;
        let (ring, report) = params.fit(&x)?;
        let cores = ring
            .into_cores()
            .into_iter()
            .zip(row_modes.iter().zip(col_modes))
            .map(|(c, (&m, &n))| {
                let (r0, r1) = (c.shape()[0], c.shape()[2]);
                c.reshape(&[r0, m, n, r1])
            })
            .collect::<Result<Vec<_>>>()?;
        Ok((Self::new(cores, bias.to_vec())?, report))
    }

    /// The cores `G_k`, each `[r_{k-1}, m_k, n_k, r_k]`.
    pub fn cores(&self) -> &[Tensor<T>] {
        &self.cores
    }

    /// The bias `b` (length `M`).
    pub fn bias(&self) -> &[T] {
        &self.bias
    }

    /// The ring ranks `r_0, …, r_{d-1}` (`r_d = r_0`).
    pub fn ranks(&self) -> Vec<usize> {
        self.cores.iter().map(|c| c.shape()[0]).collect()
    }

    /// `N`.
    pub fn in_features(&self) -> usize {
        self.col_modes.iter().product()
    }

    /// `M`.
    pub fn out_features(&self) -> usize {
        self.row_modes.iter().product()
    }

    /// The number of trainable numbers: the cores plus the bias.
    pub fn num_params(&self) -> usize {
        self.cores.iter().map(Tensor::numel).sum::<usize>() + self.bias.len()
    }

    /// The weight as a tensor ring over the merged mode pairs `[m_1 n_1, …, m_d n_d]` (`i_k`
    /// the slower index of pair `k`).
    ///
    /// # Errors
    /// As [`TrTensor::new`] (not for a layer built by this type's constructors).
    pub fn ring(&self) -> Result<TrTensor<T>> {
        TrTensor::new(merged(&self.cores)?)
    }

    /// The weight `W` as a dense `[M, N]` matrix.
    ///
    /// # Errors
    /// [`Error::OutOfMemory`] if it cannot be allocated.
    pub fn to_dense(&self) -> Result<Tensor<T>> {
        let d = self.cores.len();
        let pairs: Vec<usize> =
            self.row_modes.iter().zip(&self.col_modes).flat_map(|(&m, &n)| [m, n]).collect();
        let by_pairs = self.ring()?.to_dense()?.reshape(&pairs)?;
        by_pairs
            .permute_modes(&deinterleave(d))?
            .reshape(&[self.out_features(), self.in_features()])
    }

    fn batch_of(&self, input: &[usize]) -> Result<usize> {
        match *input {
            [b, n] if n == self.in_features() => Ok(b),
            _ => Err(bad_input(
                OP,
                &Layer::<T>::describe(self),
                input,
                &format!("a [batch, {}] input", self.in_features()),
            )),
        }
    }

    /// `X Wᵀ + 1 bᵀ` with the dense weight `w`.
    fn apply(&self, x: &Tensor<T>, w: &Tensor<T>) -> Result<Tensor<T>> {
        let (b, n, m) = (x.shape()[0], self.in_features(), self.out_features());
        let mut y = Tensor::zeros(&[b, m])?;
        if b > 0 {
            matmul(
                MatMut::from_row_major_slice_mut(y.as_mut_slice(), b, m),
                Accum::Replace,
                MatRef::from_row_major_slice(x.as_slice(), b, n),
                MatRef::from_row_major_slice(w.as_slice(), m, n).transpose(),
                T::one(),
                auto_par(2.0 * (b * n * m) as f64),
            );
        }
        for row in y.as_mut_slice().chunks_exact_mut(m) {
            row.iter_mut().zip(&self.bias).for_each(|(v, &c)| *v += c);
        }
        Ok(y)
    }

    /// `∂L/∂G_k` for every core from `∂L/∂W` (`[M, N]`): with `E_k = G_{k+1} ⋯ G_d G_1 ⋯ G_{k-1}`
    /// (the rest of the ring, `[r_k, (pairs after k, then before k), r_{k-1}]`),
    /// `∂L/∂G_k[a, x, b] = Σ_R Z[x, R] E_k[b, R, a]` for `Z` the gradient with pair `k` first.
    fn core_grads(&self, dw: &Tensor<T>) -> Result<Vec<Tensor<T>>> {
        let d = self.cores.len();
        let pairs: Vec<usize> =
            self.row_modes.iter().zip(&self.col_modes).map(|(m, n)| m * n).collect();
        let split: Vec<usize> = self.row_modes.iter().chain(&self.col_modes).copied().collect();
        let z = dw.clone().reshape(&split)?.permute_modes(&interleave(d))?.reshape(&pairs)?;
        let merged = merged(&self.cores)?;
        let mut grads = Vec::with_capacity(d);
        for k in 0..d {
            let (r_left, s, r_right) = (merged[k].shape()[0], pairs[k], merged[k].shape()[2]);
            let rotation: Vec<usize> = (0..d).map(|i| (k + i) % d).collect();
            let zk = z.permute_modes(&rotation)?;
            let rest = zk.numel() / s;
            // E_k as [r_k, rest, r_{k-1}], built left to right from the identity.
            let mut env = Tensor::from_fn(&[r_right, r_right], |i| {
                if i[0] == i[1] {
                    T::one()
                } else {
                    T::zero()
                }
            })?;
            for i in 1..d {
                env = chain_step(&env, &merged[(k + i) % d])?;
            }
            // [r_k, rest, r_{k-1}] → [rest, r_{k-1}, r_k], then Z_k · E = [s, r_{k-1} r_k].
            let env = env.reshape(&[r_right, rest, r_left])?.permute_modes(&[1, 2, 0])?;
            let mut g = Tensor::zeros(&[s, r_left, r_right])?;
            matmul(
                MatMut::from_row_major_slice_mut(g.as_mut_slice(), s, r_left * r_right),
                Accum::Replace,
                MatRef::from_row_major_slice(zk.as_slice(), s, rest),
                MatRef::from_row_major_slice(env.as_slice(), rest, r_left * r_right),
                T::one(),
                auto_par(2.0 * (s * rest * r_left * r_right) as f64),
            );
            grads.push(g.permute_modes(&[1, 0, 2])?.reshape(self.cores[k].shape())?);
        }
        Ok(grads)
    }
}

/// The 4-way cores `[r, m, n, r']` as the 3-way `[r, m n, r']` of the ring over mode pairs.
fn merged<T: Scalar>(cores: &[Tensor<T>]) -> Result<Vec<Tensor<T>>> {
    cores
        .iter()
        .map(|c| {
            let s = c.shape();
            c.clone().reshape(&[s[0], s[1] * s[2], s[3]])
        })
        .collect()
}

/// `[m_1, …, m_d, n_1, …, n_d]` → `[m_1, n_1, …, m_d, n_d]`.
fn interleave(d: usize) -> Vec<usize> {
    (0..d).flat_map(|k| [k, d + k]).collect()
}

/// `[m_1, n_1, …, m_d, n_d]` → `[m_1, …, m_d, n_1, …, n_d]`.
fn deinterleave(d: usize) -> Vec<usize> {
    (0..d).map(|k| 2 * k).chain((0..d).map(|k| 2 * k + 1)).collect()
}

/// `[a, …, r]` (as `[a·…, r]`) times the core `[r, s, r']`: `[a, …, s, r']` as `[a·…·s, r']`.
fn chain_step<T: Scalar>(env: &Tensor<T>, core: &Tensor<T>) -> Result<Tensor<T>> {
    let (r, s, r_next) = (core.shape()[0], core.shape()[1], core.shape()[2]);
    let rows = env.numel() / r;
    let mut out = Tensor::zeros(&[rows * s, r_next])?;
    matmul(
        MatMut::from_row_major_slice_mut(out.as_mut_slice(), rows, s * r_next),
        Accum::Replace,
        MatRef::from_row_major_slice(env.as_slice(), rows, r),
        MatRef::from_row_major_slice(core.as_slice(), r, s * r_next),
        T::one(),
        auto_par(2.0 * (rows * r * s * r_next) as f64),
    );
    Ok(out)
}

impl<T: Scalar> Layer<T> for TrLinear<T> {
    fn describe(&self) -> String {
        format!("tr-linear {}→{} r{:?}", self.in_features(), self.out_features(), self.ranks())
    }

    fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>> {
        Ok(vec![self.batch_of(input)?, self.out_features()])
    }

    fn forward(&self, x: &Tensor<T>) -> Result<Tensor<T>> {
        self.batch_of(x.shape())?;
        x.check_finite(OP)?;
        self.apply(x, &self.to_dense()?)
    }

    fn num_params(&self) -> usize {
        TrLinear::num_params(self)
    }

    fn flops(&self, input: &[usize]) -> Result<f64> {
        self.batch_of(input)?;
        Ok(2.0 * (self.in_features() * self.out_features()) as f64 + self.out_features() as f64)
    }

    fn forward_train(&mut self, x: &Tensor<T>) -> Result<Tensor<T>> {
        self.batch_of(x.shape())?;
        x.check_finite(OP)?;
        let w = self.to_dense()?;
        let y = self.apply(x, &w)?;
        self.cache = Some((x.clone(), w));
        Ok(y)
    }

    fn backward(&mut self, dy: &Tensor<T>) -> Result<Tensor<T>> {
        let layer = Layer::<T>::describe(self);
        let (x, w) = self.cache.as_ref().ok_or_else(|| no_forward(&layer))?;
        let (b, n, m) = (x.shape()[0], self.in_features(), self.out_features());
        check_grad(OP, &layer, dy, &[b, m])?;
        let mut dx = Tensor::zeros(&[b, n])?;
        let mut dw = Tensor::zeros(&[m, n])?;
        if b > 0 {
            let par = auto_par(4.0 * (b * n * m) as f64);
            let dym = MatRef::from_row_major_slice(dy.as_slice(), b, m);
            // ∂L/∂X = dY · W;  ∂L/∂W = dYᵀ · X.
            matmul(
                MatMut::from_row_major_slice_mut(dx.as_mut_slice(), b, n),
                Accum::Replace,
                dym,
                MatRef::from_row_major_slice(w.as_slice(), m, n),
                T::one(),
                par,
            );
            matmul(
                MatMut::from_row_major_slice_mut(dw.as_mut_slice(), m, n),
                Accum::Replace,
                dym.transpose(),
                MatRef::from_row_major_slice(x.as_slice(), b, n),
                T::one(),
                par,
            );
        }
        let grads = self.core_grads(&dw)?;
        for (acc, g) in self.grad_cores.iter_mut().zip(&grads) {
            acc.iter_mut().zip(g.as_slice()).for_each(|(a, &v)| *a += v);
        }
        for row in dy.as_slice().chunks_exact(m) {
            self.grad_bias.iter_mut().zip(row).for_each(|(g, &v)| *g += v);
        }
        Ok(dx)
    }

    fn visit_params(&mut self, f: &mut dyn FnMut(ParamMut<'_, T>)) {
        for (core, grad) in self.cores.iter_mut().zip(&mut self.grad_cores) {
            f(ParamMut { name: "core", value: core.as_mut_slice(), grad });
        }
        f(ParamMut { name: "bias", value: &mut self.bias, grad: &mut self.grad_bias });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The dense weight against the trace written out (the order of the mode pairs and of
    /// rows and columns); gradients are checked in tests/nn_nets.rs.
    #[test]
    fn dense_form_is_the_ring_trace() {
        let layer = TrLinear::<f64>::glorot(&[2, 3], &[2, 2], &[2, 3], 9).unwrap();
        let w = layer.to_dense().unwrap();
        let [g1, g2] = [&layer.cores[0], &layer.cores[1]];
        for (i1, i2, j1, j2) in [(0, 0, 0, 0), (1, 2, 0, 1), (1, 1, 1, 0)] {
            let mut trace = 0.0;
            for a in 0..2 {
                for b in 0..3 {
                    trace += g1.get(&[a, i1, j1, b]).unwrap() * g2.get(&[b, i2, j2, a]).unwrap();
                }
            }
            let got = w.get(&[i1 * 3 + i2, j1 * 2 + j2]).unwrap();
            assert!((got - trace).abs() < 1e-14, "{got} vs {trace}");
        }
    }
}
