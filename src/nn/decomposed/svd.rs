//! Low-rank layers from the truncated SVD of a dense layer's weight: [`SvdLinear`] (two thin
//! GEMMs) and [`SvdConv`] (a `kh × kw` convolution to `r` channels, then a 1×1 one).

use super::chain::{bad_part, chain_layer, check_link, check_pointwise, Chain};
use crate::error::{Error, Result};
use crate::format::Factorized;
use crate::linalg::Truncation;
use crate::nn::conv2d::Conv2d;
use crate::nn::layer::{Layer, ParamMut};
use crate::nn::linear::Linear;
use crate::par::auto_par;
use crate::scalar::Scalar;
use crate::tensor::Tensor;
use crate::tensorization::LowRank;

/// `y = L (Rᵀ x) + b` from the rank-`r` truncated SVD `W ≈ L Rᵀ` of a dense [`Linear`]:
/// `r (in + out)` weights instead of `in · out`.
///
/// ```
/// use tensorize::nn::{Layer, Linear, SvdLinear};
/// use tensorize::Tensor;
/// let fc = Linear::new(Tensor::<f32>::random_normal(&[64, 100], 1)?, Some(vec![0.1; 64]))?;
/// let low = SvdLinear::from_linear(&fc, 8)?;
/// assert_eq!(low.num_params(), 8 * (100 + 64) + 64);
/// let x = Tensor::random_normal(&[4, 100], 2)?;
/// assert_eq!(low.forward(&x)?.shape(), &[4, 64]);
/// # Ok::<(), tensorize::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct SvdLinear<T> {
    /// `Rᵀ`: `in → r`, no bias; then `L`: `r → out`, with the dense layer's bias.
    chain: Chain<Linear<T>>,
    rel_error: f64,
}

impl<T: Scalar> SvdLinear<T> {
    /// The rank-`rank` SVD layer of `dense`.
    ///
    /// # Errors
    /// [`Error::InvalidRank`] naming the layer unless `1 ≤ rank ≤ min(in, out)`; errors of the SVD.
    pub fn from_linear(dense: &Linear<T>, rank: usize) -> Result<Self> {
        let (m, n) = (dense.out_features(), dense.in_features());
        check_rank("SvdLinear::from_linear", &dense.describe(), rank, vec![m, n], m.min(n))?;
        Self::from_low_rank(dense, LowRank::from_matrix(dense.weight(), rank)?)
    }

    /// A rank-`rank` layer `in_features → out_features` trained from scratch (Novikov et al.'s
    /// matrix-rank baseline): `W = L Rᵀ` with `L` (`out × r`) and `R` (`in × r`) drawn
    /// `N(0, v)`, `v = sqrt(2 / ((in + out) r))`, so that every entry of `W` (a sum of `r`
    /// products of two independent entries) has the Glorot variance `2 / (in + out)`; the bias
    /// (if `bias`) starts at zero. Its [`SvdLinear::rel_error`] is 0: it replaced no weight.
    ///
    /// ```
    /// use tensorize::nn::{Layer, SvdLinear};
    /// let layer = SvdLinear::<f32>::random(1024, 10, 4, true, 7)?;
    /// assert_eq!(layer.num_params(), 4 * (1024 + 10) + 10);
    /// # Ok::<(), tensorize::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidRank`] unless `1 ≤ rank ≤ min(in, out)`; [`Error::ZeroDimension`] for a
    /// size 0.
    pub fn random(
        in_features: usize,
        out_features: usize,
        rank: usize,
        bias: bool,
        seed: u64,
    ) -> Result<Self> {
        let shape = vec![out_features, in_features];
        if in_features == 0 || out_features == 0 {
            return Err(Error::ZeroDimension { shape });
        }
        let max = in_features.min(out_features);
        check_rank("SvdLinear::random", "svd-linear", rank, shape, max)?;
        // Var W = r v² with v the variance of each factor entry.
        let std = (2.0 / ((in_features + out_features) as f64 * rank as f64)).sqrt().sqrt();
        let draw = |rows: usize, cols: usize, s: u64| -> Result<Tensor<T>> {
            Ok(Tensor::<T>::random_normal(&[rows, cols], s)?.scale(T::of(std)))
        };
        let project = Linear::new(draw(rank, in_features, seed)?, None)?;
        let bias = bias.then(|| vec![T::zero(); out_features]);
        let expand = Linear::new(draw(out_features, rank, seed.wrapping_add(1))?, bias)?;
        Ok(Self { chain: Chain { parts: vec![project, expand] }, rel_error: 0.0 })
    }

    /// The layer of `dense` from the factors `lr` of its weight.
    fn from_low_rank(dense: &Linear<T>, lr: LowRank<T>) -> Result<Self> {
        let rel_error = lr.rel_error(dense.weight())?.as_f64();
        let project = Linear::new(Tensor::from_mat(lr.right().transpose())?, None)?;
        let expand =
            Linear::new(Tensor::from_mat(lr.left().as_ref())?, dense.bias().map(<[T]>::to_vec))?;
        Ok(Self { chain: Chain { parts: vec![project, expand] }, rel_error })
    }

    /// The SVD layer of `dense` at the smallest rank whose weight error is at most `eps`:
    /// `‖W − L Rᵀ‖_F ≤ eps ‖W‖_F` (one truncated SVD; at least rank 1).
    ///
    /// ```
    /// use tensorize::nn::{Linear, SvdLinear};
    /// use tensorize::Tensor;
    /// let fc = Linear::new(Tensor::<f64>::random_normal(&[20, 30], 1)?, None)?;
    /// let low = SvdLinear::from_linear_eps(&fc, 0.5)?;
    /// assert!(low.rel_error() <= 0.5 && low.rank() < 20);
    /// # Ok::<(), tensorize::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] unless `0 ≤ eps` is finite; errors of the SVD.
    pub fn from_linear_eps(dense: &Linear<T>, eps: f64) -> Result<Self> {
        let lr = by_error(dense.weight(), eps)?;
        match lr.rank() {
            0 => Self::from_linear(dense, 1),
            _ => Self::from_low_rank(dense, lr),
        }
    }

    /// The layer `y = u (v x) + b` from the factors of its weight `W ≈ u · v`: `u` is
    /// `[out, r]`, `v` is `[r, in]` (a saved layer; `rel_error` is the error recorded when the
    /// weight was decomposed).
    ///
    /// ```
    /// use tensorize::nn::{Layer, Linear, SvdLinear};
    /// use tensorize::Tensor;
    /// let fc = Linear::new(Tensor::<f64>::random_normal(&[6, 5], 1)?, Some(vec![0.5; 6]))?;
    /// let low = SvdLinear::from_linear(&fc, 2)?;
    /// let [u, v] = low.factors();
    /// let back = SvdLinear::from_factors(u.clone(), v.clone(), low.bias().map(<[f64]>::to_vec), low.rel_error())?;
    /// let x = Tensor::random_normal(&[3, 5], 2)?;
    /// assert_eq!(back.forward(&x)?, low.forward(&x)?);
    /// # Ok::<(), tensorize::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidModes`] unless both are matrices; [`Error::ShapeMismatch`] if the
    /// columns of `u` are not the rows of `v` or the bias has not one entry per output;
    /// [`Error::NonFinite`].
    pub fn from_factors(
        u: Tensor<T>,
        v: Tensor<T>,
        bias: Option<Vec<T>>,
        rel_error: f64,
    ) -> Result<Self> {
        let parts = vec![Linear::new(v, None)?, Linear::new(u, bias)?];
        let chain = Chain::linked("SvdLinear::from_factors", parts, |l| {
            (l.in_features(), l.out_features())
        })?;
        Ok(Self { chain, rel_error })
    }

    /// The factors `[u, v]` of the weight `W ≈ u · v`: `u` `[out, r]`, `v` `[r, in]`.
    pub fn factors(&self) -> [&Tensor<T>; 2] {
        [self.chain.parts[1].weight(), self.chain.parts[0].weight()]
    }

    /// The bias of the dense layer it replaced, if any.
    pub fn bias(&self) -> Option<&[T]> {
        self.chain.parts[1].bias()
    }

    /// The rank.
    pub fn rank(&self) -> usize {
        self.chain.parts[0].out_features()
    }

    /// `‖W − L Rᵀ‖ / ‖W‖` of the weight it replaced.
    pub fn rel_error(&self) -> f64 {
        self.rel_error
    }

    /// The two factor layers: `project` = `Rᵀ` (`in → r`, no bias), then `expand` = `L`
    /// (`r → out`, with the dense layer's bias).
    pub fn parts(&self) -> [&Linear<T>; 2] {
        [&self.chain.parts[0], &self.chain.parts[1]]
    }

    /// The layer run as `project` (`in → r`, no bias) then `expand` (`r → out`): factors made
    /// otherwise than by the SVD of the weight (data-aware, or re-truncated by MUSCO), with
    /// `rel_error` the weight error the caller measured ([`SvdLinear::rel_error`]).
    ///
    /// ```
    /// use tensorize::nn::{Layer, Linear, SvdLinear};
    /// use tensorize::Tensor;
    /// let project = Linear::new(Tensor::<f32>::random_normal(&[3, 10], 1)?, None)?;
    /// let expand = Linear::new(Tensor::random_normal(&[6, 3], 2)?, Some(vec![0.0; 6]))?;
    /// let low = SvdLinear::from_parts(project, expand, 0.5)?;
    /// assert_eq!((low.rank(), low.num_params()), (3, 30 + 18 + 6));
    /// # Ok::<(), tensorize::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] if `project` has a bias; [`Error::ShapeMismatch`] unless
    /// `project`'s outputs are `expand`'s inputs.
    pub fn from_parts(project: Linear<T>, expand: Linear<T>, rel_error: f64) -> Result<Self> {
        const OP: &str = "SvdLinear::from_parts";
        if project.bias().is_some() {
            return Err(bad_part(
                OP,
                "project",
                &project.describe(),
                "a linear layer without bias",
            ));
        }
        check_link(OP, project.out_features(), expand.in_features())?;
        Ok(Self { chain: Chain { parts: vec![project, expand] }, rel_error })
    }
}

impl<T: Scalar> SvdLinear<T> {
    /// [`Layer::describe`].
    fn label(&self) -> String {
        let [project, expand] = [&self.chain.parts[0], &self.chain.parts[1]];
        format!("svd-linear {}→{} r{}", project.in_features(), expand.out_features(), self.rank())
    }
}

chain_layer!(SvdLinear, SvdLinear);

/// A convolution whose kernel, as an `out × (in·kh·kw)` matrix, is replaced by its rank-`r`
/// SVD `L Rᵀ`: a `kh × kw` convolution `in → r` by `Rᵀ` (original stride and padding) then a
/// 1×1 convolution `r → out` by `L` with the original bias; `r (in·kh·kw + out)` weights. The
/// form [`crate::rank::LayerSpectrum::from_conv_kernel`] allocates ranks for.
///
/// ```
/// use tensorize::nn::{Conv2d, Layer, SvdConv};
/// use tensorize::Tensor;
/// let conv = Conv2d::new(Tensor::<f32>::random_normal(&[16, 8, 3, 3], 1)?, None)?.with_padding([1, 1])?;
/// let low = SvdConv::from_conv(&conv, 5)?;
/// assert_eq!(low.num_params(), 5 * (8 * 9 + 16));
/// let x = Tensor::random_normal(&[2, 8, 10, 10], 2)?;
/// assert_eq!(low.forward(&x)?.shape(), &[2, 16, 10, 10]);
/// # Ok::<(), tensorize::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct SvdConv<T> {
    /// `kh × kw` convolution `in → r`, then 1×1 `r → out`.
    chain: Chain<Conv2d<T>>,
    rel_error: f64,
}

impl<T: Scalar> SvdConv<T> {
    /// The rank-`rank` SVD layer of `dense`.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for a grouped convolution; [`Error::InvalidRank`] naming the
    /// layer unless `1 ≤ rank ≤ min(out, in·kh·kw)`; errors of the SVD.
    pub fn from_conv(dense: &Conv2d<T>, rank: usize) -> Result<Self> {
        if dense.groups() != 1 {
            return Err(Error::InvalidParameter {
                name: "groups",
                value: dense.groups().to_string(),
                expected: "an ungrouped convolution for an SVD",
            });
        }
        let shape = dense.weight().shape().to_vec();
        let (m, n) = (shape[0], shape[1] * shape[2] * shape[3]);
        check_rank("SvdConv::from_conv", &dense.describe(), rank, shape, m.min(n))?;
        let w = dense.weight().clone().reshape(&[m, n])?;
        Self::from_low_rank(dense, &w, LowRank::from_matrix(&w, rank)?)
    }

    /// The layer of `dense` (ungrouped) from the factors `lr` of its kernel as the matrix `w`.
    fn from_low_rank(dense: &Conv2d<T>, w: &Tensor<T>, lr: LowRank<T>) -> Result<Self> {
        let (s, rank) = (dense.weight().shape(), lr.rank());
        let rel_error = lr.rel_error(w)?.as_f64();
        let first = Tensor::from_mat(lr.right().transpose())?.reshape(&[rank, s[1], s[2], s[3]])?;
        let project =
            Conv2d::new(first, None)?.with_stride(dense.stride())?.with_padding(dense.padding())?;
        let last = Tensor::from_mat(lr.left().as_ref())?.reshape(&[s[0], rank, 1, 1])?;
        let expand = Conv2d::new(last, dense.bias().map(<[T]>::to_vec))?;
        Ok(Self { chain: Chain { parts: vec![project, expand] }, rel_error })
    }

    /// The SVD layer of `dense` at the smallest rank whose kernel error is at most `eps`
    /// (`‖K − L Rᵀ‖_F ≤ eps ‖K‖_F`, at least rank 1).
    ///
    /// # Errors
    /// As [`SvdConv::from_conv`]; [`Error::InvalidParameter`] unless `0 ≤ eps` is finite.
    pub fn from_conv_eps(dense: &Conv2d<T>, eps: f64) -> Result<Self> {
        let s = dense.weight().shape();
        let w = dense.weight().clone().reshape(&[s[0], s[1] * s[2] * s[3]])?;
        let lr = by_error(&w, eps)?;
        match lr.rank() {
            0 => Self::from_conv(dense, 1),
            _ if dense.groups() != 1 => Self::from_conv(dense, lr.rank()),
            _ => Self::from_low_rank(dense, &w, lr),
        }
    }

    /// The layer from the factors of its kernel `K[o, i, h, w] = Σ_r u[o, r] v[r, i, h, w]`:
    /// `u` is `[out, r]`, `v` is `[r, in, kh, kw]`, run with `stride` and `padding` (a saved
    /// layer; `rel_error` is the error recorded when the kernel was decomposed).
    ///
    /// # Errors
    /// [`Error::InvalidModes`] unless `u` is a matrix and `v` 4-way; [`Error::ShapeMismatch`]
    /// if the columns of `u` are not the first dimension of `v` or the bias has not one entry
    /// per output; [`Error::InvalidParameter`] for a zero stride; [`Error::NonFinite`].
    pub fn from_factors(
        u: Tensor<T>,
        v: Tensor<T>,
        bias: Option<Vec<T>>,
        stride: [usize; 2],
        padding: [usize; 2],
        rel_error: f64,
    ) -> Result<Self> {
        let (out, rank) = matrix_dims("SvdConv::from_factors", "u", &u)?;
        let project = Conv2d::new(v, None)?.with_stride(stride)?.with_padding(padding)?;
        let expand = Conv2d::new(u.reshape(&[out, rank, 1, 1])?, bias)?;
        let chain = Chain::linked("SvdConv::from_factors", vec![project, expand], |c| {
            (c.in_channels(), c.out_channels())
        })?;
        Ok(Self { chain, rel_error })
    }

    /// The factors `[u, v]` of the kernel, `K[o, i, h, w] = Σ_r u[o, r] v[r, i, h, w]`: `u`
    /// `[out, r]`, `v` `[r, in, kh, kw]`.
    ///
    /// # Errors
    /// [`Error::OutOfMemory`] if the copy of `u` cannot be allocated.
    pub fn factors(&self) -> Result<[Tensor<T>; 2]> {
        let [project, expand] = [&self.chain.parts[0], &self.chain.parts[1]];
        let u = expand.weight().clone().reshape(&[expand.out_channels(), self.rank()])?;
        Ok([u, project.weight().clone()])
    }

    /// The bias of the convolution it replaced, if any.
    pub fn bias(&self) -> Option<&[T]> {
        self.chain.parts[1].bias()
    }

    /// The stride and padding of the convolution it replaced (of its first factor).
    pub fn window(&self) -> ([usize; 2], [usize; 2]) {
        (self.chain.parts[0].stride(), self.chain.parts[0].padding())
    }

    /// The rank.
    pub fn rank(&self) -> usize {
        self.chain.parts[0].out_channels()
    }

    /// `‖K − L Rᵀ‖ / ‖K‖` of the kernel it replaced.
    pub fn rel_error(&self) -> f64 {
        self.rel_error
    }

    /// The two factor layers: `project` (`kh × kw`, `in → r`, the original stride and
    /// padding, no bias), then `expand` (1×1, `r → out`, with the dense layer's bias).
    pub fn parts(&self) -> [&Conv2d<T>; 2] {
        [&self.chain.parts[0], &self.chain.parts[1]]
    }

    /// The layer run as `project` (`kh × kw`, `in → r`, ungrouped, no bias) then `expand`
    /// (1×1 `r → out`): factors made otherwise than by the SVD of the kernel, with
    /// `rel_error` the kernel error the caller measured ([`SvdConv::rel_error`]).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] if `project` is grouped or has a bias, or `expand` is not a
    /// plain 1×1 convolution; [`Error::ShapeMismatch`] unless `project`'s outputs are
    /// `expand`'s inputs.
    pub fn from_parts(project: Conv2d<T>, expand: Conv2d<T>, rel_error: f64) -> Result<Self> {
        const OP: &str = "SvdConv::from_parts";
        if project.bias().is_some() || project.groups() != 1 {
            let wants = "an ungrouped convolution without bias";
            return Err(bad_part(OP, "project", &project.describe(), wants));
        }
        check_pointwise(OP, "expand", &expand, true)?;
        check_link(OP, project.out_channels(), expand.in_channels())?;
        Ok(Self { chain: Chain { parts: vec![project, expand] }, rel_error })
    }
}

impl<T: Scalar> SvdConv<T> {
    /// [`Layer::describe`].
    fn label(&self) -> String {
        let [project, expand] = [&self.chain.parts[0], &self.chain.parts[1]];
        let k = project.weight().shape();
        format!(
            "svd-conv {}→{} {}×{} r{}",
            project.in_channels(),
            expand.out_channels(),
            k[2],
            k[3],
            self.rank()
        )
    }
}

chain_layer!(SvdConv, SvdConv);

/// The truncated SVD of the matrix `w` at the smallest rank with `‖W − L Rᵀ‖_F ≤ eps ‖W‖_F`,
/// from one SVD.
fn by_error<T: Scalar>(w: &Tensor<T>, eps: f64) -> Result<LowRank<T>> {
    crate::error::check_non_negative("eps", eps)?;
    let n = w.numel() as f64 * w.shape().iter().min().copied().unwrap_or(1) as f64;
    LowRank::from_truncation(w, &Truncation::error(eps * w.norm().as_f64()), auto_par(4.0 * n))
}

/// `(rows, cols)` of the factor `name` of `op`, which must be a matrix.
pub(super) fn matrix_dims<T: Scalar>(
    op: &'static str,
    name: &str,
    m: &Tensor<T>,
) -> Result<(usize, usize)> {
    match *m.shape() {
        [r, c] => Ok((r, c)),
        _ => Err(Error::InvalidModes {
            op,
            modes: (0..m.ndim()).collect(),
            ndim: m.ndim(),
            detail: format!("the factor {name} must be a matrix, got shape {:?}", m.shape()),
        }),
    }
}

/// The error of a rank outside `1..=max` for the layer `layer` of weight shape `shape`.
fn check_rank(
    op: &'static str,
    layer: &str,
    rank: usize,
    shape: Vec<usize>,
    max: usize,
) -> Result<()> {
    if rank == 0 || rank > max {
        return Err(Error::InvalidRank {
            op,
            ranks: vec![rank],
            shape,
            detail: format!("{layer}: the rank must be between 1 and {max}"),
        });
    }
    Ok(())
}
