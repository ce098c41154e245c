//! [`ShuffledTtLinear`]: a TT-layer whose weight's rows and columns pass through a seeded
//! random permutation (RsTD, Li et al. 2019, on the `[out, in]` matrix of a linear layer).

use super::layer::{bad_input, Layer, ParamMut};
use super::tt_linear::TtLinear;
use crate::decomp::TtSvd;
use crate::error::{Error, Result};
use crate::report::FitReport;
use crate::scalar::Scalar;
use crate::tensor::Tensor;
use crate::tensorization::Shuffle;

const OP: &str = "ShuffledTtLinear";

/// `y = W x + b` with `W = π⁻¹(V)`: `V` a TT-matrix (a [`TtLinear`]'s weight) and `π` a seeded
/// [`Shuffle`] of kind [`ShuffleKind::WithinModes`](crate::tensorization::ShuffleKind) of the
/// `[out, in]` matrix, i.e. independent random permutations `σ_out` of the rows and `σ_in` of
/// the columns: `W[σ_out(i), σ_in(j)] = V[i, j]`. The TT structure then sits on the shuffled
/// index order instead of the natural one (RsTD's low-rank embedding after a random shuffle).
///
/// The products stay those of the TT-layer: forward `x'_j = x_{σ_in(j)}` (a gather),
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
pub struct ShuffledTtLinear<T> {
    /// The layer in the shuffled order: its weight is `V`, its bias `b'_i = b_{σ_out(i)}`.
    inner: TtLinear<T>,
    shuffle: Shuffle,
    /// `σ_out`: shuffled row `i` is row `rows[i]` of `W`.
    rows: Vec<usize>,
    /// `σ_in`: shuffled column `j` is column `cols[j]` of `W`.
    cols: Vec<usize>,
}

impl<T: Scalar> ShuffledTtLinear<T> {
    /// `inner` (in the shuffled order) with the row and column permutations drawn from `seed`.
    ///
    /// # Errors
    /// As [`Shuffle::within_modes`] on `[out, in]`.
    pub fn new(inner: TtLinear<T>, seed: u64) -> Result<Self> {
        let (m, n) = (inner.out_features(), inner.in_features());
        let shuffle = Shuffle::within_modes(&[m, n], seed)?;
        // Row-major source map of [M, N]: flat[i N + j] = σ_out(i) N + σ_in(j).
        let flat = shuffle.to_flat_permutation()?;
        let rows = (0..m).map(|i| flat[i * n] / n).collect();
        let cols = flat[..n].iter().map(|&f| f % n).collect();
        Ok(Self { inner, shuffle, rows, cols })
    }

    /// A random layer: [`TtLinear::glorot`] cores (`init_seed`; the permutation does not change
    /// the entries' distribution) behind the permutations of `shuffle_seed`.
    ///
    /// # Errors
    /// As [`TtLinear::glorot`] and [`ShuffledTtLinear::new`].
    pub fn glorot(
        row_modes: &[usize],
        col_modes: &[usize],
        ranks: &[usize],
        init_seed: u64,
        shuffle_seed: u64,
    ) -> Result<Self> {
        Self::new(TtLinear::glorot(row_modes, col_modes, ranks, init_seed)?, shuffle_seed)
    }

    /// Compresses a dense layer (`weight` `[out, in]`, `bias` of length `out`) the RsTD way:
    /// the matrix shuffled by the permutations of `shuffle_seed`, then
    /// [`TtSvd::fit_matrix`] with `params`; the report's error is the error of `W` too (the
    /// permutation is an isometry).
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] unless `weight` is 2-way and `bias` has one entry per row; as
    /// [`TtLinear::from_dense`].
    pub fn from_dense(
        weight: &Tensor<T>,
        bias: &[T],
        row_modes: &[usize],
        col_modes: &[usize],
        params: &TtSvd,
        shuffle_seed: u64,
    ) -> Result<(Self, FitReport)> {
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
        let shuffle = Shuffle::within_modes(&[m, n], shuffle_seed)?;
        let shuffled = shuffle.apply(weight)?;
        let flat = shuffle.to_flat_permutation()?;
        let bias: Vec<T> = (0..m).map(|i| bias[flat[i * n] / n]).collect();
        let (inner, report) = TtLinear::from_dense(&shuffled, &bias, row_modes, col_modes, params)?;
        Ok((Self::new(inner, shuffle_seed)?, report))
    }

    /// The layer in the shuffled order (its weight `V`, its bias `b'`).
    pub fn inner(&self) -> &TtLinear<T> {
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
    pub fn to_dense(&self) -> Result<Tensor<T>> {
        self.shuffle.invert(&self.inner.weight().to_dense()?)
    }

    /// `out[b, j] = x[b, map[j]]` for every row `b`.
    fn gather(x: &Tensor<T>, map: &[usize]) -> Result<Tensor<T>> {
        let (width, len) = (x.shape()[1], map.len());
        let mut out = Tensor::zeros(&[x.shape()[0], len])?;
        for (o, row) in
            out.as_mut_slice().chunks_exact_mut(len).zip(x.as_slice().chunks_exact(width))
        {
            o.iter_mut().zip(map).for_each(|(v, &s)| *v = row[s]);
        }
        Ok(out)
    }

    /// `out[b, map[j]] = x[b, j]` for every row `b` (`map` a permutation).
    fn scatter(x: &Tensor<T>, map: &[usize]) -> Result<Tensor<T>> {
        let len = map.len();
        let mut out = Tensor::zeros(x.shape())?;
        for (o, row) in out.as_mut_slice().chunks_exact_mut(len).zip(x.as_slice().chunks_exact(len))
        {
            map.iter().zip(row).for_each(|(&d, &v)| o[d] = v);
        }
        Ok(out)
    }

    fn check(&self, input: &[usize]) -> Result<()> {
        match *input {
            [_, n] if n == self.inner.in_features() => Ok(()),
            _ => Err(bad_input(
                OP,
                &self.describe(),
                input,
                &format!("a [batch, {}] input", self.inner.in_features()),
            )),
        }
    }
}

impl<T: Scalar> Layer<T> for ShuffledTtLinear<T> {
    fn describe(&self) -> String {
        format!("shuffled {} (seed {})", Layer::<T>::describe(&self.inner), self.shuffle.seed())
    }

    fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>> {
        self.check(input)?;
        Layer::<T>::output_shape(&self.inner, input)
    }

    fn forward(&self, x: &Tensor<T>) -> Result<Tensor<T>> {
        self.check(x.shape())?;
        let z = Layer::forward(&self.inner, &Self::gather(x, &self.cols)?)?;
        Self::scatter(&z, &self.rows)
    }

    fn num_params(&self) -> usize {
        self.inner.num_params()
    }

    fn flops(&self, input: &[usize]) -> Result<f64> {
        self.check(input)?;
        Layer::<T>::flops(&self.inner, input)
    }

    fn forward_train(&mut self, x: &Tensor<T>) -> Result<Tensor<T>> {
        self.check(x.shape())?;
        let z = self.inner.forward_train(&Self::gather(x, &self.cols)?)?;
        Self::scatter(&z, &self.rows)
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
        let dx = self.inner.backward(&Self::gather(dy, &self.rows)?)?;
        Self::scatter(&dx, &self.cols)
    }

    fn visit_params(&mut self, f: &mut dyn FnMut(ParamMut<'_, T>)) {
        self.inner.visit_params(f);
    }
}
