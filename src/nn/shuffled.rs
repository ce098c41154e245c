//! [`Shuffled`]: a linear layer whose weight's rows and columns pass through a seeded random
//! permutation (RsTD, Li et al. 2019, on the `[out, in]` matrix of a linear layer), over a
//! TT-layer ([`ShuffledTtLinear`]) or a TR-layer ([`ShuffledTrLinear`]).

use super::layer::{bad_input, Layer, ParamMut};
use super::tr_linear::TrLinear;
use super::tt_linear::TtLinear;
use crate::decomp::{TrSvd, TtSvd};
use crate::error::{Error, Result};
use crate::report::FitReport;
use crate::scalar::Scalar;
use crate::tensor::Tensor;
use crate::tensorization::Shuffle;

const OP: &str = "Shuffled";

/// A layer `y = W x + b` on `[batch, in]` inputs whose weight has a dense form: what
/// [`Shuffled`] permutes.
pub trait LinearLayer<T: Scalar>: Layer<T> {
    /// `N`, the input width.
    fn in_features(&self) -> usize;

    /// `M`, the output width.
    fn out_features(&self) -> usize;

    /// The weight `W` as a dense `[M, N]` matrix.
    ///
    /// # Errors
    /// [`Error::OutOfMemory`] if it cannot be allocated.
    fn dense_weight(&self) -> Result<Tensor<T>>;

    /// What [`LinearLayer::fit_dense`] decomposes with ([`TtSvd`], [`TrSvd`]).
    type Params;

    /// A random layer over the mode pairs `(m_k, n_k)` with `ranks`, Glorot-initialized from
    /// `seed` (the layer's own `glorot`).
    ///
    /// # Errors
    /// As the layer's own `glorot`.
    fn glorot(row_modes: &[usize], col_modes: &[usize], ranks: &[usize], seed: u64) -> Result<Self>
    where
        Self: Sized;

    /// A dense layer (`weight` `[out, in]`, `bias` of length `out`) compressed over the mode
    /// pairs with `params`, and the report of that fit (the layer's own `from_dense`).
    ///
    /// # Errors
    /// As the layer's own `from_dense`.
    fn fit_dense(
        weight: &Tensor<T>,
        bias: &[T],
        row_modes: &[usize],
        col_modes: &[usize],
        params: &Self::Params,
    ) -> Result<(Self, FitReport)>
    where
        Self: Sized;
}

impl<T: Scalar> LinearLayer<T> for TtLinear<T> {
    type Params = TtSvd;

    fn in_features(&self) -> usize {
        TtLinear::in_features(self)
    }

    fn out_features(&self) -> usize {
        TtLinear::out_features(self)
    }

    fn dense_weight(&self) -> Result<Tensor<T>> {
        self.weight().to_dense()
    }

    fn glorot(
        row_modes: &[usize],
        col_modes: &[usize],
        ranks: &[usize],
        seed: u64,
    ) -> Result<Self> {
        TtLinear::glorot(row_modes, col_modes, ranks, seed)
    }

    fn fit_dense(
        weight: &Tensor<T>,
        bias: &[T],
        row_modes: &[usize],
        col_modes: &[usize],
        params: &TtSvd,
    ) -> Result<(Self, FitReport)> {
        TtLinear::from_dense(weight, bias, row_modes, col_modes, params)
    }
}

impl<T: Scalar> LinearLayer<T> for TrLinear<T> {
    type Params = TrSvd;

    fn in_features(&self) -> usize {
        TrLinear::in_features(self)
    }

    fn out_features(&self) -> usize {
        TrLinear::out_features(self)
    }

    fn dense_weight(&self) -> Result<Tensor<T>> {
        self.to_dense()
    }

    fn glorot(
        row_modes: &[usize],
        col_modes: &[usize],
        ranks: &[usize],
        seed: u64,
    ) -> Result<Self> {
        TrLinear::glorot(row_modes, col_modes, ranks, seed)
    }

    fn fit_dense(
        weight: &Tensor<T>,
        bias: &[T],
        row_modes: &[usize],
        col_modes: &[usize],
        params: &TrSvd,
    ) -> Result<(Self, FitReport)> {
        TrLinear::from_dense(weight, bias, row_modes, col_modes, params)
    }
}

/// `y = W x + b` with `W = π⁻¹(V)`: `V` the weight of the inner layer `L` (a TT- or TR-layer)
/// and `π` a seeded [`Shuffle`] of kind [`ShuffleKind::WithinModes`](crate::tensorization::ShuffleKind)
/// of the `[out, in]` matrix, i.e. independent random permutations `σ_out` of the rows and
/// `σ_in` of the columns: `W[σ_out(i), σ_in(j)] = V[i, j]`. The low-rank structure then sits on
/// the shuffled index order instead of the natural one (RsTD's low-rank embedding after a
/// random shuffle).
///
/// The products stay those of the inner layer: forward `x'_j = x_{σ_in(j)}` (a gather),
/// `z = V x' + b'`, `y_{σ_out(i)} = z_i` (a scatter); backward the same maps transposed. Nothing is
/// approximated, and the permutation costs no parameters (it is regenerated from its seed).
///
/// ```
/// use tensorize::nn::{Layer, ShuffledTtLinear};
/// use tensorize::Tensor;
/// let layer = ShuffledTtLinear::<f64>::glorot(&[4, 4], &[4, 8], &[3], 1, 2019)?;   // 32 → 16
/// let x = Tensor::random_normal(&[5, 32], 3)?;
/// let w = layer.to_dense()?;                                         // [16, 32]
/// let dense = x.as_mat()? * w.as_mat()?.transpose();
/// let y = layer.forward(&x)?;
/// assert!((y.get(&[2, 7])? - dense[(2, 7)]).abs() < 1e-12);
/// # Ok::<(), tensorize::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct Shuffled<L> {
    /// The layer in the shuffled order: its weight is `V`, its bias `b'_i = b_{σ_out(i)}`.
    inner: L,
    shuffle: Shuffle,
    /// `σ_out`: shuffled row `i` is row `rows[i]` of `W`.
    rows: Vec<usize>,
    /// `σ_in`: shuffled column `j` is column `cols[j]` of `W`.
    cols: Vec<usize>,
}

/// RsTD over a TT-layer: [`Shuffled`] of a [`TtLinear`].
pub type ShuffledTtLinear<T> = Shuffled<TtLinear<T>>;

/// RsTD over a TR-layer: [`Shuffled`] of a [`TrLinear`].
///
/// ```
/// use tensorize::decomp::TrSvd;
/// use tensorize::nn::{Layer, ShuffledTrLinear};
/// use tensorize::Tensor;
/// let w = Tensor::<f64>::random_normal(&[8, 12], 1)?;
/// let (layer, report) =
///     ShuffledTrLinear::from_dense(&w, &[0.0; 8], &[2, 4], &[3, 4], &TrSvd::new(), 7)?;
/// assert!(report.rel_error < 1e-12);                  // full ranks: exact
/// let back = layer.to_dense()?;
/// assert!((back.get(&[5, 9])? - w.get(&[5, 9])?).abs() < 1e-12);
/// # Ok::<(), tensorize::Error>(())
/// ```
pub type ShuffledTrLinear<T> = Shuffled<TrLinear<T>>;

/// `weight` (`[out, in]`) and `bias` permuted by the within-modes shuffle of `seed`, with the
/// shuffle: the inner layer of a [`Shuffled`] fits the first two.
fn shuffled_dense<T: Scalar>(
    weight: &Tensor<T>,
    bias: &[T],
    seed: u64,
) -> Result<(Tensor<T>, Vec<T>)> {
    let [m, n] = match *weight.shape() {
        [m, n] if bias.len() == m => [m, n],
        _ => {
            return Err(Error::ShapeMismatch {
                op: OP,
                left: weight.shape().to_vec(),
                right: vec![bias.len()],
                detail: "the weight must be [out, in] with one bias entry per output".into(),
            });
        }
    };
    let shuffle = Shuffle::within_modes(&[m, n], seed)?;
    let shuffled = shuffle.apply(weight)?;
    let flat = shuffle.to_flat_permutation()?;
    let bias: Vec<T> = (0..m).map(|i| bias[flat[i * n] / n]).collect();
    Ok((shuffled, bias))
}

impl<L> Shuffled<L> {
    /// A random layer: the inner layer's Glorot cores ([`TtLinear::glorot`],
    /// [`TrLinear::glorot`]; `init_seed`, the permutation does not change the entries'
    /// distribution) behind the permutations of `shuffle_seed`.
    ///
    /// # Errors
    /// As the inner layer's `glorot` and [`Shuffled::new`].
    pub fn glorot<T: Scalar>(
        row_modes: &[usize],
        col_modes: &[usize],
        ranks: &[usize],
        init_seed: u64,
        shuffle_seed: u64,
    ) -> Result<Self>
    where
        L: LinearLayer<T>,
    {
        Self::new(L::glorot(row_modes, col_modes, ranks, init_seed)?, shuffle_seed)
    }

    /// Compresses a dense layer (`weight` `[out, in]`, `bias` of length `out`) the RsTD way:
    /// the matrix shuffled by the permutations of `shuffle_seed`, then the inner layer's
    /// `from_dense` with `params` ([`TtLinear::from_dense`] by [`TtSvd::fit_matrix`],
    /// [`TrLinear::from_dense`] by [`TrSvd`]); the report's error is the error of `W` too (the
    /// permutation is an isometry).
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] unless `weight` is 2-way and `bias` has one entry per row; as
    /// the inner layer's `from_dense`.
    pub fn from_dense<T: Scalar>(
        weight: &Tensor<T>,
        bias: &[T],
        row_modes: &[usize],
        col_modes: &[usize],
        params: &L::Params,
        shuffle_seed: u64,
    ) -> Result<(Self, FitReport)>
    where
        L: LinearLayer<T>,
    {
        let (shuffled, bias) = shuffled_dense(weight, bias, shuffle_seed)?;
        let (inner, report) = L::fit_dense(&shuffled, &bias, row_modes, col_modes, params)?;
        Ok((Self::new(inner, shuffle_seed)?, report))
    }
}

impl<L> Shuffled<L> {
    /// `inner` (in the shuffled order) with the row and column permutations drawn from `seed`.
    ///
    /// # Errors
    /// As [`Shuffle::within_modes`] on `[out, in]`.
    pub fn new<T: Scalar>(inner: L, seed: u64) -> Result<Self>
    where
        L: LinearLayer<T>,
    {
        let (m, n) = (inner.out_features(), inner.in_features());
        let shuffle = Shuffle::within_modes(&[m, n], seed)?;
        // Row-major source map of [M, N]: flat[i N + j] = σ_out(i) N + σ_in(j).
        let flat = shuffle.to_flat_permutation()?;
        let rows = (0..m).map(|i| flat[i * n] / n).collect();
        let cols = flat[..n].iter().map(|&f| f % n).collect();
        Ok(Self { inner, shuffle, rows, cols })
    }

    /// The layer in the shuffled order (its weight `V`, its bias `b'`).
    pub fn inner(&self) -> &L {
        &self.inner
    }

    /// The permutation `π` of the `[out, in]` weight.
    pub fn shuffle(&self) -> &Shuffle {
        &self.shuffle
    }

    /// The weight `W = π⁻¹(V)` as a dense `[out, in]` matrix.
    ///
    /// # Errors
    /// [`Error::OutOfMemory`] if it cannot be allocated.
    pub fn to_dense<T: Scalar>(&self) -> Result<Tensor<T>>
    where
        L: LinearLayer<T>,
    {
        self.shuffle.invert(&self.inner.dense_weight()?)
    }

    /// `"shuffled tt-linear 32→16 r[3] (seed 2019)"`.
    fn label<T: Scalar>(&self) -> String
    where
        L: LinearLayer<T>,
    {
        format!("shuffled {} (seed {})", self.inner.describe(), self.shuffle.seed())
    }

    fn check<T: Scalar>(&self, input: &[usize]) -> Result<()>
    where
        L: LinearLayer<T>,
    {
        match *input {
            [_, n] if n == self.inner.in_features() => Ok(()),
            _ => Err(bad_input(
                OP,
                &self.label::<T>(),
                input,
                &format!("a [batch, {}] input", self.inner.in_features()),
            )),
        }
    }
}

/// `out[b, j] = x[b, map[j]]` for every row `b`.
fn gather<T: Scalar>(x: &Tensor<T>, map: &[usize]) -> Result<Tensor<T>> {
    let (width, len) = (x.shape()[1], map.len());
    let mut out = Tensor::zeros(&[x.shape()[0], len])?;
    for (o, row) in out.as_mut_slice().chunks_exact_mut(len).zip(x.as_slice().chunks_exact(width)) {
        o.iter_mut().zip(map).for_each(|(v, &s)| *v = row[s]);
    }
    Ok(out)
}

/// `out[b, map[j]] = x[b, j]` for every row `b` (`map` a permutation).
fn scatter<T: Scalar>(x: &Tensor<T>, map: &[usize]) -> Result<Tensor<T>> {
    let len = map.len();
    let mut out = Tensor::zeros(x.shape())?;
    for (o, row) in out.as_mut_slice().chunks_exact_mut(len).zip(x.as_slice().chunks_exact(len)) {
        map.iter().zip(row).for_each(|(&d, &v)| o[d] = v);
    }
    Ok(out)
}

impl<T: Scalar, L: LinearLayer<T> + 'static> Layer<T> for Shuffled<L> {
    fn describe(&self) -> String {
        self.label::<T>()
    }

    fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>> {
        self.check::<T>(input)?;
        Layer::<T>::output_shape(&self.inner, input)
    }

    fn forward(&self, x: &Tensor<T>) -> Result<Tensor<T>> {
        self.check::<T>(x.shape())?;
        let z = Layer::forward(&self.inner, &gather(x, &self.cols)?)?;
        scatter(&z, &self.rows)
    }

    fn num_params(&self) -> usize {
        self.inner.num_params()
    }

    fn flops(&self, input: &[usize]) -> Result<f64> {
        self.check::<T>(input)?;
        Layer::<T>::flops(&self.inner, input)
    }

    fn forward_train(&mut self, x: &Tensor<T>) -> Result<Tensor<T>> {
        self.check::<T>(x.shape())?;
        let z = self.inner.forward_train(&gather(x, &self.cols)?)?;
        scatter(&z, &self.rows)
    }

    fn backward(&mut self, dy: &Tensor<T>) -> Result<Tensor<T>> {
        // dz_i = dy_{σ_out(i)}; the inner layer checks the shape against its forward pass.
        let m = self.inner.out_features();
        if dy.ndim() != 2 || dy.shape()[1] != m {
            return Err(Error::ShapeMismatch {
                op: OP,
                left: vec![dy.shape().first().copied().unwrap_or(0), m],
                right: dy.shape().to_vec(),
                detail: format!("{}: dY must be [batch, {m}]", self.describe()),
            });
        }
        let dx = self.inner.backward(&gather(dy, &self.rows)?)?;
        scatter(&dx, &self.cols)
    }

    fn visit_params(&mut self, f: &mut dyn FnMut(ParamMut<'_, T>)) {
        self.inner.visit_params(f);
    }
}
