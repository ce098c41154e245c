//! The TT convolution: a TT-SVD of the kernel permuted to `[in, kh, kw, out]`, run as four
//! convolutions (1×1, `kh × 1`, `1 × kw`, 1×1).

use super::chain::{chain_layer, Chain};
use super::cp_conv::check_ungrouped;
use crate::decomp::TtSvd;
use crate::error::{Error, Result};
use crate::format::TtTensor;
use crate::nn::conv2d::Conv2d;
use crate::nn::layer::{Layer, ParamMut};
use crate::scalar::Scalar;
use crate::tensor::Tensor;

/// A convolution whose kernel, permuted to `[in, kh, kw, out]`, is the tensor train
/// `G₁[1, in, r₁] G₂[r₁, kh, r₂] G₃[r₂, kw, r₃] G₄[r₃, out, 1]`, run as a 1×1 convolution
/// `in → r₁` by `G₁`, a `kh × 1` convolution `r₁ → r₂` by `G₂` (the original row stride and
/// padding), a `1 × kw` convolution `r₂ → r₃` by `G₃` (the column stride and padding) and a
/// 1×1 convolution `r₃ → out` by `G₄` with the original bias. The kernel is separable in its
/// two spatial modes through the ranks, so the four steps compute exactly the convolution by
/// the reconstructed kernel, zero padding included.
///
/// ```
/// use tensorize::nn::{Conv2d, Layer, TtConv};
/// use tensorize::Tensor;
/// let conv = Conv2d::new(Tensor::<f64>::random_normal(&[16, 8, 3, 3], 1)?, None)?.with_padding([1, 1])?;
/// let tt = TtConv::from_conv(&conv, 4)?;
/// assert_eq!(tt.ranks(), [4, 4, 4]);
/// let x = Tensor::random_normal(&[2, 8, 10, 10], 2)?;
/// assert_eq!(tt.forward(&x)?.shape(), conv.forward(&x)?.shape());
/// # Ok::<(), tensorize::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct TtConv<T> {
    /// 1×1 `in → r₁`, `kh × 1` `r₁ → r₂`, `1 × kw` `r₂ → r₃`, 1×1 `r₃ → out`.
    chain: Chain<Conv2d<T>>,
    rel_error: f64,
}

impl<T: Scalar> TtConv<T> {
    /// The TT layer of `dense` with every TT rank at most `max_rank`.
    ///
    /// # Errors
    /// As [`TtConv::from_conv_with`].
    pub fn from_conv(dense: &Conv2d<T>, max_rank: usize) -> Result<Self> {
        if max_rank == 0 {
            return Err(Error::InvalidRank {
                op: "TtConv::from_conv",
                ranks: vec![max_rank],
                shape: dense.weight().shape().to_vec(),
                detail: format!("{}: the maximal TT rank must be at least 1", dense.describe()),
            });
        }
        Self::from_conv_with(dense, &TtSvd::new().max_rank(max_rank))
    }

    /// The TT layer of `dense` by the TT-SVD `svd` (ranks by ε and/or caps).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for a grouped convolution; errors of the TT-SVD.
    pub fn from_conv_with(dense: &Conv2d<T>, svd: &TtSvd) -> Result<Self> {
        check_ungrouped(dense)?;
        let kernel = dense.weight().permute_modes(&[1, 2, 3, 0])?;
        let (tt, report) = svd.fit(&kernel)?;
        Self::from_tt(dense, &tt, report.rel_error)
    }

    fn from_tt(dense: &Conv2d<T>, tt: &TtTensor<T>, rel_error: f64) -> Result<Self> {
        let [g1, g2, g3, g4] = [&tt.cores()[0], &tt.cores()[1], &tt.cores()[2], &tt.cores()[3]];
        let (input, out) = (g1.shape()[1], g4.shape()[1]);
        let (r1, r2, r3) = (g1.shape()[2], g2.shape()[2], g3.shape()[2]);
        let (kh, kw) = (g2.shape()[1], g3.shape()[1]);
        let [sh, sw] = dense.stride();
        let [ph, pw] = dense.padding();
        // Each core as a PyTorch [out, in, kh, kw] kernel of its step.
        let first = g1
            .clone()
            .reshape(&[input, r1])?
            .permute_modes(&[1, 0])?
            .reshape(&[r1, input, 1, 1])?;
        let rows = g2.permute_modes(&[2, 0, 1])?.reshape(&[r2, r1, kh, 1])?;
        let cols = g3.permute_modes(&[2, 0, 1])?.reshape(&[r3, r2, 1, kw])?;
        let last =
            g4.clone().reshape(&[r3, out])?.permute_modes(&[1, 0])?.reshape(&[out, r3, 1, 1])?;
        let parts = vec![
            Conv2d::new(first, None)?,
            Conv2d::new(rows, None)?.with_stride([sh, 1])?.with_padding([ph, 0])?,
            Conv2d::new(cols, None)?.with_stride([1, sw])?.with_padding([0, pw])?,
            Conv2d::new(last, dense.bias().map(<[T]>::to_vec))?,
        ];
        Ok(Self { chain: Chain { parts }, rel_error })
    }

    /// The TT ranks `[r₁, r₂, r₃]`.
    pub fn ranks(&self) -> [usize; 3] {
        let p = &self.chain.parts;
        [p[0].out_channels(), p[1].out_channels(), p[2].out_channels()]
    }

    /// `‖K − K̂‖ / ‖K‖` of the kernel it replaced.
    pub fn rel_error(&self) -> f64 {
        self.rel_error
    }

    /// [`Layer::describe`].
    fn label(&self) -> String {
        let p = &self.chain.parts;
        let [r1, r2, r3] = self.ranks();
        format!(
            "tt-conv {}→{} {}×{} r{r1}/{r2}/{r3}",
            p[0].in_channels(),
            p[3].out_channels(),
            p[1].weight().shape()[2],
            p[2].weight().shape()[3]
        )
    }
}

chain_layer!(TtConv, Tt);
