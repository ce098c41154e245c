//! The TT-layer (Novikov et al. 2015): a fully connected layer `y = W x + b` whose weight is a
//! TT-matrix, with a forward pass, a backward pass for the input, every core and the bias, a
//! Glorot-style initialization and compression of pretrained dense weights.

mod ranks;

pub use ranks::TtRankRule;

use super::layer::{bad_input, no_forward, Layer, ParamMut};
use super::mode_pairs::{glorot_cores, mode_sizes};
use crate::decomp::TtSvd;
use crate::error::{Error, Result};
use crate::format::TtMatrix;
use crate::kernels::tt_matvec::{TtOp, TtTape, TtTrainingPlan};
use crate::par::{auto_par, Par};
use crate::report::FitReport;
use crate::scalar::Scalar;
use crate::tensor::arith::check_finite_slice;
use crate::tensor::Tensor;

/// A fully connected layer `y_b = W x_b + b` for a batch `X` (`B × N`, one sample per row) with
/// `W ∈ R^{M×N}` a [`TtMatrix`] (`in_features = N`, `out_features = M`) and bias `b ∈ R^M`.
///
/// Only the cores and the bias are parameters: `Σ_k r_{k-1} m_k n_k r_k + M` numbers instead
/// of `M·N + M`. The products run through the batched kernel [`TtMatvecPlan`](crate::kernels::TtMatvecPlan).
///
/// ```
/// use tensorize::nn::TtLinear;
/// use tensorize::Tensor;
/// let layer = TtLinear::<f32>::glorot(&[4, 4, 4], &[4, 8, 4], &[4, 4], 7)?;   // 128 → 64
/// assert_eq!((layer.in_features(), layer.out_features()), (128, 64));
/// let x = Tensor::<f32>::random_normal(&[32, 128], 1)?;
/// let y = layer.forward(&x)?;
/// assert_eq!(y.shape(), &[32, 64]);
/// # Ok::<(), tensorize::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct TtLinear<T> {
    weight: TtMatrix<T>,
    bias: Vec<T>,
    /// As a [`Layer`]: the last training forward pass, and the gradients accumulated since the
    /// last optimizer step (one per core, then the bias).
    train: Option<TtLinearCache<T>>,
    grad_cores: Vec<Vec<T>>,
    grad_bias: Vec<T>,
}

/// Two layers are equal when their weights and biases are (training state aside).
impl<T: Scalar> PartialEq for TtLinear<T> {
    fn eq(&self, other: &Self) -> bool {
        self.weight == other.weight && self.bias == other.bias
    }
}

/// What [`TtLinear::gradients`] needs from the forward pass: the training plan (with the cores
/// it used) and its tape (the input of every core contraction).
#[derive(Clone, Debug)]
pub struct TtLinearCache<T> {
    plan: TtTrainingPlan<T>,
    tape: TtTape<T>,
}

/// The gradients of a scalar loss `L` with respect to the layer's input and parameters.
#[derive(Clone, Debug, PartialEq)]
pub struct TtLinearGrads<T> {
    /// `∂L/∂X = dY · W` (`B × N`).
    pub input: Tensor<T>,
    /// `∂L/∂G_k`, each of the core's shape `r_{k-1} × m_k × n_k × r_k`.
    pub cores: Vec<Tensor<T>>,
    /// `∂L/∂b = Σ_b dY[b, :]` (length `M`).
    pub bias: Vec<T>,
}

impl<T: Scalar> TtLinear<T> {
    /// A layer from its weight and bias.
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] if `bias.len() ≠ M`; [`Error::NonFinite`] for a NaN/Inf bias.
    pub fn new(weight: TtMatrix<T>, bias: Vec<T>) -> Result<Self> {
        if bias.len() != weight.nrows() {
            return Err(Error::ShapeMismatch {
                op: "TtLinear::new",
                left: vec![weight.nrows(), weight.ncols()],
                right: vec![bias.len()],
                detail: "the bias needs one entry per output feature (M)".into(),
            });
        }
        check_finite_slice("TtLinear::new", &bias)?;
        let grad_cores = weight.cores().iter().map(|c| vec![T::zero(); c.numel()]).collect();
        let grad_bias = vec![T::zero(); bias.len()];
        Ok(Self { weight, bias, train: None, grad_cores, grad_bias })
    }

    /// A layer with random cores and zero bias, scaled so that every entry of the reconstructed
    /// `W` has variance `2 / (M + N)` (Glorot).
    ///
    /// An entry `W[i, j] = Σ_{a_1…a_{d-1}} G_1[1, i_1, j_1, a_1] ⋯ G_d[a_{d-1}, i_d, j_d, 1]` is a
    /// sum of `∏_{k=1}^{d-1} r_k` products of `d` independent zero-mean core entries of variance
    /// `v`, uncorrelated with each other, so `Var W[i, j] = v^d ∏ r_k`; the cores are drawn
    /// `N(0, v)` with `v = (2 / ((M + N) ∏ r_k))^{1/d}`. `ranks` lists the `d − 1` inner ranks.
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] for modes of different lengths or containing 0;
    /// [`Error::InvalidRank`] unless `ranks` has `d − 1` entries, all `≥ 1`;
    /// [`Error::SizeOverflow`] if the sizes overflow.
    pub fn glorot(
        row_modes: &[usize],
        col_modes: &[usize],
        ranks: &[usize],
        seed: u64,
    ) -> Result<Self> {
        const OP: &str = "TtLinear::glorot";
        let (rows, cols) = mode_sizes(OP, row_modes, col_modes)?;
        let d = row_modes.len();
        if ranks.len() != d - 1 || ranks.contains(&0) {
            return Err(Error::InvalidRank {
                op: OP,
                ranks: ranks.to_vec(),
                shape: row_modes.iter().chain(col_modes).copied().collect(),
                detail: format!("give the {} inner TT ranks r_1..r_{{d-1}}, each >= 1", d - 1),
            });
        }
        let bonds: Vec<usize> = [1].iter().chain(ranks).chain(&[1]).copied().collect();
        let cores = glorot_cores((rows, cols), row_modes, col_modes, &bonds, seed)?;
        Self::new(TtMatrix::new(cores)?, vec![T::zero(); rows])
    }

    /// [`TtLinear::glorot`] with the inner ranks a uniform rank `rank` gives under `rule`
    /// ([`TtRankRule::Uniform`]: every inner rank `rank`, as Novikov et al.'s code builds the
    /// cores; [`TtRankRule::Capped`]: the minimal ranks).
    ///
    /// ```
    /// use tensorize::nn::{TtLinear, TtRankRule};
    /// let paper = TtLinear::<f32>::glorot_rank(&[2; 10], &[2; 10], 8, TtRankRule::Uniform, 1)?;
    /// let capped = TtLinear::<f32>::glorot_rank(&[2; 10], &[2; 10], 8, TtRankRule::Capped, 1)?;
    /// assert_eq!((paper.num_params(), capped.num_params()), (2112 + 1024, 1824 + 1024));
    /// # Ok::<(), tensorize::Error>(())
    /// ```
    ///
    /// # Errors
    /// As [`TtRankRule::ranks`] and [`TtLinear::glorot`].
    pub fn glorot_rank(
        row_modes: &[usize],
        col_modes: &[usize],
        rank: usize,
        rule: TtRankRule,
        seed: u64,
    ) -> Result<Self> {
        let ranks = rule.ranks(row_modes, col_modes, rank)?;
        Self::glorot(row_modes, col_modes, &ranks, seed)
    }

    /// Compresses a pretrained dense layer: `weight` is `[out, in] = M × N` (PyTorch layout),
    /// `bias` has length `M`; the weight goes through [`TtSvd::fit_matrix`] with `params`.
    ///
    /// ```
    /// use tensorize::decomp::TtSvd;
    /// use tensorize::nn::TtLinear;
    /// use tensorize::Tensor;
    /// let w = Tensor::<f64>::random_normal(&[6, 8], 1)?;
    /// let (layer, report) = TtLinear::from_dense(&w, &[0.5; 6], &[2, 3], &[2, 4], &TtSvd::new())?;
    /// assert!(report.rel_error < 1e-12);
    /// let x = Tensor::<f64>::random_normal(&[2, 8], 2)?;
    /// let dense = x.as_mat()? * w.as_mat()?.transpose();
    /// let y = layer.forward(&x)?;
    /// assert!((y.get(&[1, 4])? - dense[(1, 4)] - 0.5).abs() < 1e-12);
    /// # Ok::<(), tensorize::Error>(())
    /// ```
    ///
    /// # Errors
    /// As [`TtSvd::fit_matrix`] and [`TtLinear::new`].
    pub fn from_dense(
        weight: &Tensor<T>,
        bias: &[T],
        row_modes: &[usize],
        col_modes: &[usize],
        params: &TtSvd,
    ) -> Result<(Self, FitReport)> {
        let (w, report) = params.fit_matrix(weight, row_modes, col_modes)?;
        Ok((Self::new(w, bias.to_vec())?, report))
    }

    /// The TT-matrix weight `W` (`M × N`).
    pub fn weight(&self) -> &TtMatrix<T> {
        &self.weight
    }

    /// The bias `b` (length `M`).
    pub fn bias(&self) -> &[T] {
        &self.bias
    }

    /// `N`.
    pub fn in_features(&self) -> usize {
        self.weight.ncols()
    }

    /// `M`.
    pub fn out_features(&self) -> usize {
        self.weight.nrows()
    }

    /// The number of trainable numbers: the cores plus the bias.
    pub fn num_params(&self) -> usize {
        self.weight.num_params() + self.bias.len()
    }

    /// Consumes the layer, returning `(W, b)`.
    pub fn into_parts(self) -> (TtMatrix<T>, Vec<T>) {
        (self.weight, self.bias)
    }

    /// `Y = X Wᵀ + 1 bᵀ`: `y_b = W x_b + b` for every row of `x` (`B × N` → `B × M`).
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] if `x` is not `B × N`; [`Error::NonFinite`] for NaN/Inf input.
    pub fn forward(&self, x: &Tensor<T>) -> Result<Tensor<T>> {
        let plan = self.weight.matvec_plan()?;
        let b = x.shape().first().copied().unwrap_or(0);
        let mut y = plan.apply_with(x, auto_par(plan.flops(b)))?;
        self.add_bias(&mut y);
        Ok(y)
    }

    /// [`TtLinear::forward`] that also returns what [`TtLinear::gradients`] needs (the input of
    /// every core contraction: about `Σ_k B · rows_k · cin_k` numbers).
    ///
    /// # Errors
    /// As [`TtLinear::forward`].
    pub fn forward_with_cache(&self, x: &Tensor<T>) -> Result<(Tensor<T>, TtLinearCache<T>)> {
        // One step per core: the backward pass needs every core's gradient.
        let plan = self.weight.training_plan(TtOp::Normal)?;
        let batch = x.shape().first().copied().unwrap_or(0);
        let (mut y, tape) = plan.forward(x, auto_par(plan.plan().flops(batch)))?;
        self.add_bias(&mut y);
        Ok((y, TtLinearCache { plan, tape }))
    }

    /// Gradients from `dy = ∂L/∂Y` (`B × M`), by running the contraction steps backwards: each
    /// step is a GEMM `S_k = P_k C_k`, so `∂L/∂C_k = P_kᵀ ∂L/∂S_k` and
    /// `∂L/∂P_k = ∂L/∂S_k C_kᵀ`, and the copies between steps are undone.
    ///
    /// ```
    /// use tensorize::nn::TtLinear;
    /// use tensorize::Tensor;
    /// let layer = TtLinear::<f64>::glorot(&[2, 3], &[3, 2], &[2], 1)?;
    /// let x = Tensor::<f64>::random_normal(&[4, 6], 2)?;
    /// let (y, cache) = layer.forward_with_cache(&x)?;
    /// let grads = layer.gradients(&cache, &y)?;        // L = ½‖Y‖², so dY = Y
    /// assert_eq!(grads.input.shape(), &[4, 6]);
    /// assert_eq!(grads.cores[1].shape(), layer.weight().cores()[1].shape());
    /// # Ok::<(), tensorize::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] if `dy` is not `B × M` for the batch of the cached forward pass;
    /// [`Error::NonFinite`] for NaN/Inf in `dy`.
    pub fn gradients(&self, cache: &TtLinearCache<T>, dy: &Tensor<T>) -> Result<TtLinearGrads<T>> {
        self.gradients_with(cache, dy, auto_par(3.0 * cache.plan.plan().flops(cache.tape.batch())))
    }

    /// [`TtLinear::gradients`] with explicit parallelism.
    ///
    /// # Errors
    /// As [`TtLinear::gradients`].
    pub fn gradients_with(
        &self,
        cache: &TtLinearCache<T>,
        dy: &Tensor<T>,
        par: Par,
    ) -> Result<TtLinearGrads<T>> {
        let (b, m) = (cache.tape.batch(), cache.plan.plan().output_len());
        if dy.shape() != [b, m] || m != self.out_features() {
            return Err(Error::ShapeMismatch {
                op: "TtLinear::gradients",
                left: vec![b, m],
                right: dy.shape().to_vec(),
                detail: "dY must be batch × out_features of the cached forward pass".into(),
            });
        }
        dy.check_finite("TtLinear::gradients")?;
        let (input, cores) = cache.plan.backward(&cache.tape, dy, par)?;
        let mut bias = vec![T::zero(); m];
        for row in dy.as_slice().chunks_exact(m) {
            for (g, &v) in bias.iter_mut().zip(row) {
                *g += v;
            }
        }
        Ok(TtLinearGrads { input, cores, bias })
    }

    /// Plain gradient descent: `G_k ← G_k − lr ∂L/∂G_k`, `b ← b − lr ∂L/∂b`.
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] if the gradients do not fit the layer; [`Error::NonFinite`] if
    /// `lr` or the updated parameters are not finite (the layer is then left unchanged).
    pub fn sgd_step(&mut self, grads: &TtLinearGrads<T>, lr: T) -> Result<()> {
        let fits = grads.bias.len() == self.bias.len()
            && grads.cores.len() == self.weight.ndim()
            && grads.cores.iter().zip(self.weight.cores()).all(|(g, c)| g.shape() == c.shape());
        if !fits {
            return Err(Error::ShapeMismatch {
                op: "TtLinear::sgd_step",
                left: self.weight.cores().iter().flat_map(|c| c.shape().to_vec()).collect(),
                right: grads.cores.iter().flat_map(|c| c.shape().to_vec()).collect(),
                detail: "one gradient per core, of the core's shape, and one per bias entry".into(),
            });
        }
        if !lr.is_finite() {
            return Err(Error::NonFinite {
                op: "TtLinear::sgd_step",
                position: 0,
                value: lr.as_f64(),
            });
        }
        let mut cores = self.weight.cores().to_vec();
        for (c, g) in cores.iter_mut().zip(&grads.cores) {
            c.axpy(-lr, g)?;
        }
        let bias: Vec<T> = self.bias.iter().zip(&grads.bias).map(|(&b, &g)| b - lr * g).collect();
        check_finite_slice("TtLinear::sgd_step", &bias)?;
        self.weight = TtMatrix::new(cores)?;
        self.bias = bias;
        Ok(())
    }

    fn add_bias(&self, y: &mut Tensor<T>) {
        let m = self.bias.len();
        for row in y.as_mut_slice().chunks_exact_mut(m) {
            for (v, &b) in row.iter_mut().zip(&self.bias) {
                *v += b;
            }
        }
    }
}

/// As a [`Layer`], the training pass keeps its cache inside the layer and the gradients
/// accumulate in it until an optimizer step; [`TtLinear::forward_with_cache`] and
/// [`TtLinear::gradients`] are the same passes without state.
impl<T: Scalar> Layer<T> for TtLinear<T> {
    fn describe(&self) -> String {
        let ranks = self.weight.ranks();
        format!(
            "tt-linear {}→{} r{:?}",
            self.in_features(),
            self.out_features(),
            &ranks[1..ranks.len() - 1]
        )
    }

    fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>> {
        match *input {
            [b, n] if n == self.in_features() => Ok(vec![b, self.out_features()]),
            _ => Err(bad_input(
                "TtLinear",
                &Layer::<T>::describe(self),
                input,
                &format!("a [batch, {}] input", self.in_features()),
            )),
        }
    }

    fn forward(&self, x: &Tensor<T>) -> Result<Tensor<T>> {
        Layer::<T>::output_shape(self, x.shape())?;
        TtLinear::forward(self, x)
    }

    fn num_params(&self) -> usize {
        TtLinear::num_params(self)
    }

    fn flops(&self, input: &[usize]) -> Result<f64> {
        Layer::<T>::output_shape(self, input)?;
        Ok(self.weight.matvec_plan()?.flops(1) + self.out_features() as f64)
    }

    fn forward_train(&mut self, x: &Tensor<T>) -> Result<Tensor<T>> {
        Layer::<T>::output_shape(self, x.shape())?;
        let (y, cache) = self.forward_with_cache(x)?;
        self.train = Some(cache);
        Ok(y)
    }

    fn backward(&mut self, dy: &Tensor<T>) -> Result<Tensor<T>> {
        let layer = Layer::<T>::describe(self);
        let cache = self.train.as_ref().ok_or_else(|| no_forward(&layer))?;
        let grads = self.gradients(cache, dy)?;
        for (acc, g) in self.grad_cores.iter_mut().zip(&grads.cores) {
            acc.iter_mut().zip(g.as_slice()).for_each(|(a, &v)| *a += v);
        }
        self.grad_bias.iter_mut().zip(&grads.bias).for_each(|(a, &v)| *a += v);
        Ok(grads.input)
    }

    fn visit_params(&mut self, f: &mut dyn FnMut(ParamMut<'_, T>)) {
        for (value, grad) in self.weight.core_values_mut().zip(&mut self.grad_cores) {
            f(ParamMut { name: "core", value, grad });
        }
        f(ParamMut { name: "bias", value: &mut self.bias, grad: &mut self.grad_bias });
    }
}

#[cfg(test)]
mod tests;
