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
        let bias = dense.bias().map(<[T]>::to_vec);
        Self::from_factors(tt, bias, dense.stride(), dense.padding(), rel_error)
    }

    /// The layer from the tensor train `tt` of its kernel permuted to `[in, kh, kw, out]`:
    /// `K[o, i, h, w] = Σ G₁[0, i, a] G₂[a, h, b] G₃[b, w, c] G₄[c, o, 0]`, run with `stride`
    /// and `padding` (a saved layer; `rel_error` is the error recorded when the kernel was
    /// decomposed).
    ///
    /// # Errors
    /// [`Error::InvalidModes`] unless `tt` has four cores; [`Error::ShapeMismatch`] if the
    /// bias has not one entry per output; [`Error::InvalidParameter`] for a zero stride.
    pub fn from_factors(
        tt: &TtTensor<T>,
        bias: Option<Vec<T>>,
        stride: [usize; 2],
        padding: [usize; 2],
        rel_error: f64,
    ) -> Result<Self> {
        let [g1, g2, g3, g4] = match tt.cores() {
            [g1, g2, g3, g4] => [g1, g2, g3, g4],
            cores => {
                return Err(Error::InvalidModes {
                    op: "TtConv::from_factors",
                    modes: (0..cores.len()).collect(),
                    ndim: cores.len(),
                    detail: format!(
                        "a TT convolution has four cores ([in, kh, kw, out]), got {}",
                        cores.len()
                    ),
                });
            }
        };
        let (input, out) = (g1.shape()[1], g4.shape()[1]);
        let (r1, r2, r3) = (g1.shape()[2], g2.shape()[2], g3.shape()[2]);
        let (kh, kw) = (g2.shape()[1], g3.shape()[1]);
        let [sh, sw] = stride;
        let [ph, pw] = padding;
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
            Conv2d::new(last, bias)?,
        ];
        Ok(Self { chain: Chain { parts }, rel_error })
    }

    /// The tensor train of the kernel permuted to `[in, kh, kw, out]` (see
    /// [`TtConv::from_factors`]).
    ///
    /// # Errors
    /// [`Error::OutOfMemory`] if the copies cannot be allocated.
    pub fn factors(&self) -> Result<TtTensor<T>> {
        let p = &self.chain.parts;
        let [r1, r2, r3] = self.ranks();
        let (input, out) = (p[0].in_channels(), p[3].out_channels());
        let (kh, kw) = (p[1].weight().shape()[2], p[2].weight().shape()[3]);
        let g1 = p[0].weight().clone().reshape(&[r1, input])?.permute_modes(&[1, 0])?;
        let g2 = p[1].weight().clone().reshape(&[r2, r1, kh])?.permute_modes(&[1, 2, 0])?;
        let g3 = p[2].weight().clone().reshape(&[r3, r2, kw])?.permute_modes(&[1, 2, 0])?;
        let g4 = p[3].weight().clone().reshape(&[out, r3])?.permute_modes(&[1, 0])?;
        TtTensor::new(vec![g1.reshape(&[1, input, r1])?, g2, g3, g4.reshape(&[r3, out, 1])?])
    }

    /// The bias of the convolution it replaced, if any.
    pub fn bias(&self) -> Option<&[T]> {
        self.chain.parts[3].bias()
    }

    /// The stride and padding of the convolution it replaced.
    pub fn window(&self) -> ([usize; 2], [usize; 2]) {
        let p = &self.chain.parts;
        ([p[1].stride()[0], p[2].stride()[1]], [p[1].padding()[0], p[2].padding()[1]])
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
