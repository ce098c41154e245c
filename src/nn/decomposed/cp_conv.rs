//! The CP convolution (Lebedev et al. 2015): 1×1 → depthwise `kh × kw` → 1×1, from a rank-`R`
//! CP decomposition of the kernel as a 3-way `[out, in, kh·kw]` tensor.

use faer::Mat;

use super::chain::{chain_layer, Chain};
use crate::decomp::CpAls;
use crate::error::{Error, Result};
use crate::format::{CpTensor, Factorized};
use crate::nn::conv2d::Conv2d;
use crate::nn::layer::{Layer, ParamMut};
use crate::scalar::Scalar;
use crate::tensor::Tensor;

/// The CP-ALS ridge penalty ([`CpAls::l2`]) of [`CpConv::from_conv`]. Unpenalized CP fits of
/// real kernels find degenerate components: large weights of opposite signs that cancel. On
/// conv2 of the pretrained MNIST CNN (`‖K‖ = 36`) at rank 8 the largest weight is 234 without
/// the penalty and 22 with it, at the same relative error (0.813 vs 0.814), and a fine-tuning
/// pass of the unpenalized layer diverges within five steps (SGD, learning rate 0.01). The
/// penalty is scale-free: the updated factor carries the tensor's scale.
pub const CP_CONV_L2: f64 = 1e-3;

/// A convolution whose kernel `K[o, i, s] ≈ Σ_r λ_r A[o, r] B[i, r] C[s, r]` (`s` the flat
/// `kh × kw` position) runs as three: a 1×1 convolution `in → R` by `Bᵀ`, a depthwise
/// `kh × kw` convolution of the `R` channels by the columns of `C` (the original stride and
/// padding), and a 1×1 convolution `R → out` by `A·diag(λ)` with the original bias:
/// `R (in + kh·kw + out)` weights instead of `out · in · kh · kw`.
///
/// ```
/// use tensorize::nn::{Conv2d, CpConv, Layer};
/// use tensorize::Tensor;
/// let conv = Conv2d::new(Tensor::<f32>::random_normal(&[16, 8, 3, 3], 1)?, None)?.with_padding([1, 1])?;
/// let cp = CpConv::from_conv(&conv, 6)?;
/// assert_eq!(cp.num_params(), 6 * (8 + 9 + 16));
/// let x = Tensor::random_normal(&[2, 8, 10, 10], 2)?;
/// assert_eq!(cp.forward(&x)?.shape(), conv.forward(&x)?.shape());
/// # Ok::<(), tensorize::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct CpConv<T> {
    /// 1×1 `in → R`, depthwise `kh × kw` on `R` channels, 1×1 `R → out`.
    chain: Chain<Conv2d<T>>,
    rel_error: f64,
}

impl<T: Scalar> CpConv<T> {
    /// The rank-`rank` CP layer of `dense`, by CP-ALS from its SVD start (200 sweeps at most,
    /// tolerance 1e-8) with the ridge penalty [`CP_CONV_L2`]; [`CpConv::from_cp`] takes a
    /// decomposition made otherwise.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for a grouped convolution; [`Error::InvalidRank`] naming the
    /// layer for rank 0; errors of CP-ALS.
    pub fn from_conv(dense: &Conv2d<T>, rank: usize) -> Result<Self> {
        check_ungrouped(dense)?;
        if rank == 0 {
            return Err(Error::InvalidRank {
                op: "CpConv::from_conv",
                ranks: vec![rank],
                shape: dense.weight().shape().to_vec(),
                detail: format!("{}: the CP rank must be at least 1", dense.describe()),
            });
        }
        let kernel = dense.weight().clone().reshape(&kernel3(dense))?;
        let (cp, _) = CpAls::new(rank).l2(CP_CONV_L2).fit(&kernel)?;
        Self::from_cp(dense, &cp)
    }

    /// The layer of `dense` from a CP decomposition `cp` of its kernel reshaped to
    /// `[out, in, kh·kw]`.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for a grouped convolution; [`Error::ShapeMismatch`] naming
    /// the layer if `cp` has another shape.
    pub fn from_cp(dense: &Conv2d<T>, cp: &CpTensor<T>) -> Result<Self> {
        check_ungrouped(dense)?;
        let shape = kernel3(dense);
        if cp.shape() != shape {
            return Err(Error::ShapeMismatch {
                op: "CpConv::from_cp",
                left: shape.to_vec(),
                right: cp.shape(),
                detail: format!(
                    "{}: the CP tensor must be the kernel as [out, in, kh·kw]",
                    dense.describe()
                ),
            });
        }
        let [out, input, _] = shape;
        let (r, k) = (cp.rank(), dense.weight().shape());
        let [a, b, c] = balanced(cp);
        let reduce = Tensor::from_mat(b.transpose())?.reshape(&[r, input, 1, 1])?;
        let depthwise = Tensor::from_mat(c.transpose())?.reshape(&[r, 1, k[2], k[3]])?;
        let restore = Tensor::from_mat(a.as_ref())?.reshape(&[out, r, 1, 1])?;
        let parts = vec![
            Conv2d::new(reduce, None)?,
            Conv2d::new(depthwise, None)?
                .with_groups(r)?
                .with_stride(dense.stride())?
                .with_padding(dense.padding())?,
            Conv2d::new(restore, dense.bias().map(<[T]>::to_vec))?,
        ];
        let rel_error = cp.rel_error(&dense.weight().clone().reshape(&shape)?)?.as_f64();
        Ok(Self { chain: Chain { parts }, rel_error })
    }

    /// The CP rank `R`.
    pub fn rank(&self) -> usize {
        self.chain.parts[0].out_channels()
    }

    /// `‖K − K̂‖ / ‖K‖` of the kernel it replaced.
    pub fn rel_error(&self) -> f64 {
        self.rel_error
    }

    /// [`Layer::describe`].
    fn label(&self) -> String {
        let [reduce, depthwise, restore] =
            [&self.chain.parts[0], &self.chain.parts[1], &self.chain.parts[2]];
        let k = depthwise.weight().shape();
        format!(
            "cp-conv {}→{} {}×{} r{}",
            reduce.in_channels(),
            restore.out_channels(),
            k[2],
            k[3],
            self.rank()
        )
    }
}

chain_layer!(CpConv, Cp);

/// The three factors of `cp` with the weights folded in so that, in every component, the
/// three columns have the same norm `(|λ_r| ‖a_r‖ ‖b_r‖ ‖c_r‖)^{1/3}` (the sign goes to the
/// output factor). The kernel is unchanged; the three factors get the same scale, so that one
/// learning rate suits them all (fine-tuning conv2 of the MNIST CNN at rank 8 for 40 steps:
/// last mini-batch loss 0.17 balanced, 0.59 with λ in the output factor).
fn balanced<T: Scalar>(cp: &CpTensor<T>) -> [Mat<T>; 3] {
    let f = cp.factors();
    let norm = |m: &Mat<T>, j: usize| {
        (0..m.nrows()).map(|i| m[(i, j)].as_f64().powi(2)).sum::<f64>().sqrt()
    };
    let scales: Vec<[f64; 3]> = (0..cp.rank())
        .map(|j| {
            let n = [norm(&f[0], j), norm(&f[1], j), norm(&f[2], j)];
            let lambda = cp.weights()[j].as_f64();
            let total = (lambda.abs() * n[0] * n[1] * n[2]).cbrt();
            let per = |k: usize| if n[k] > 0.0 { total / n[k] } else { 0.0 };
            [lambda.signum() * per(0), per(1), per(2)]
        })
        .collect();
    [0, 1, 2]
        .map(|k| Mat::from_fn(f[k].nrows(), cp.rank(), |i, j| f[k][(i, j)] * T::of(scales[j][k])))
}

/// The kernel's shape as `[out, in, kh·kw]`.
fn kernel3<T: Scalar>(dense: &Conv2d<T>) -> [usize; 3] {
    let s = dense.weight().shape();
    [s[0], s[1], s[2] * s[3]]
}

/// CP, Tucker-2 and TT layers decompose an ungrouped kernel.
pub(super) fn check_ungrouped<T: Scalar>(dense: &Conv2d<T>) -> Result<()> {
    if dense.groups() == 1 {
        Ok(())
    } else {
        Err(Error::InvalidParameter {
            name: "groups",
            value: dense.groups().to_string(),
            expected: "an ungrouped convolution to decompose",
        })
    }
}
