//! The Tucker-2 convolution (Kim et al. 2016): 1×1 → `kh × kw` core → 1×1, from a partial
//! Tucker decomposition of the kernel over its output and input channels.

use super::chain::{bad_part, chain_layer, check_link, check_pointwise, Chain};
use super::cp_conv::check_ungrouped;
use crate::decomp::tucker2;
use crate::error::{Error, Result};
use crate::format::{Factorized, PartialTucker};
use crate::nn::conv2d::Conv2d;
use crate::nn::layer::{Layer, ParamMut};
use crate::scalar::Scalar;
use crate::tensor::Tensor;

/// A convolution `K ≈ G ×₀ U_out ×₁ U_in` (Tucker-2, Kim et al. 2016) run as three: a 1×1
/// convolution `in → r_in` by `U_inᵀ`, the `kh × kw` core `r_in → r_out` with the original
/// stride and padding, and a 1×1 convolution `r_out → out` by `U_out` with the original bias.
///
/// ```
/// use tensorize::nn::{Conv2d, Layer, Tucker2Conv};
/// use tensorize::Tensor;
/// let conv = Conv2d::new(Tensor::<f32>::random_normal(&[16, 8, 3, 3], 1)?, None)?.with_padding([1, 1])?;
/// let t2 = Tucker2Conv::from_conv(&conv, 6, 4)?;
/// assert_eq!(t2.num_params(), 8 * 4 + 6 * 4 * 9 + 6 * 16);
/// let x = Tensor::random_normal(&[2, 8, 10, 10], 2)?;
/// assert_eq!(t2.forward(&x)?.shape(), conv.forward(&x)?.shape());
/// # Ok::<(), tensorize::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct Tucker2Conv<T> {
    /// 1×1 `in → r_in`, the `kh × kw` core `r_in → r_out`, 1×1 `r_out → out`.
    chain: Chain<Conv2d<T>>,
    rel_error: f64,
}

impl<T: Scalar> Tucker2Conv<T> {
    /// The Tucker-2 layer of `dense` with output rank `r_out` and input rank `r_in`
    /// ([`tucker2`]: HOOI from the HOSVD start).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for a grouped convolution; [`Error::InvalidRank`] naming the
    /// layer unless `1 ≤ r_out ≤ out` and `1 ≤ r_in ≤ in`; errors of the decomposition.
    pub fn from_conv(dense: &Conv2d<T>, r_out: usize, r_in: usize) -> Result<Self> {
        if dense.groups() != 1 {
            return Err(Error::InvalidParameter {
                name: "groups",
                value: dense.groups().to_string(),
                expected: "an ungrouped convolution for Tucker-2",
            });
        }
        let (out, input) = (dense.out_channels(), dense.in_channels());
        if r_out == 0 || r_in == 0 || r_out > out || r_in > input {
            return Err(Error::InvalidRank {
                op: "Tucker2Conv::from_conv",
                ranks: vec![r_out, r_in],
                shape: dense.weight().shape().to_vec(),
                detail: format!(
                    "{}: need 1 ≤ r_out ≤ {out} and 1 ≤ r_in ≤ {input}",
                    dense.describe()
                ),
            });
        }
        let (t, report) = tucker2(dense.weight(), r_out, r_in)?;
        let (u_out, u_in) = (t.factors()[0].as_ref(), t.factors()[1].as_ref());
        Self::from_factors(dense, u_out, t.core().clone(), u_in, report.rel_error)
    }

    /// The layer of `dense` from a partial Tucker decomposition `t` of its kernel over the
    /// output and input channels (modes 0 and 1, as [`tucker2`] makes it; e.g. one with a
    /// data-aware output factor); [`Tucker2Conv::rel_error`] is measured against the kernel.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for a grouped convolution; [`Error::ShapeMismatch`] naming
    /// the layer unless `t` decomposes modes `[0, 1]` of a tensor of the kernel's shape.
    pub fn from_partial_tucker(dense: &Conv2d<T>, t: &PartialTucker<T>) -> Result<Self> {
        check_ungrouped(dense)?;
        let k = dense.weight().shape();
        let (u_out, u_in) = match t.factors() {
            [u_out, u_in] if t.modes() == [0, 1] => (u_out, u_in),
            _ => return Err(Self::bad_tucker(dense, t)),
        };
        let core = t.core().shape();
        if u_out.nrows() != k[0] || u_in.nrows() != k[1] || core[2..] != k[2..] {
            return Err(Self::bad_tucker(dense, t));
        }
        let rel_error = t.rel_error(dense.weight())?.as_f64();
        Self::from_factors(dense, u_out.as_ref(), t.core().clone(), u_in.as_ref(), rel_error)
    }

    fn bad_tucker(dense: &Conv2d<T>, t: &PartialTucker<T>) -> Error {
        Error::ShapeMismatch {
            op: "Tucker2Conv::from_partial_tucker",
            left: dense.weight().shape().to_vec(),
            right: t.core().shape().to_vec(),
            detail: format!(
                "{}: a partial Tucker decomposition of the kernel over modes [0, 1], got modes {:?}",
                dense.describe(),
                t.modes()
            ),
        }
    }

    /// The three convolutions of `dense` from its factors `U_out` (`out × r_out`), the core
    /// (`[r_out, r_in, kh, kw]`) and `U_in` (`in × r_in`).
    fn from_factors(
        dense: &Conv2d<T>,
        u_out: faer::MatRef<'_, T>,
        core: Tensor<T>,
        u_in: faer::MatRef<'_, T>,
        rel_error: f64,
    ) -> Result<Self> {
        let one_by_one = |m: faer::MatRef<'_, T>| -> Result<Tensor<T>> {
            let (rows, cols) = (m.nrows(), m.ncols());
            Tensor::from_mat(m)?.reshape(&[rows, cols, 1, 1])
        };
        let reduce = Conv2d::new(one_by_one(u_in.transpose())?, None)?;
        let core =
            Conv2d::new(core, None)?.with_stride(dense.stride())?.with_padding(dense.padding())?;
        let restore = Conv2d::new(one_by_one(u_out)?, dense.bias().map(<[T]>::to_vec))?;
        Ok(Self { chain: Chain { parts: vec![reduce, core, restore] }, rel_error })
    }

    /// The three factor layers: `reduce` (1×1 `in → r_in`, no bias), the `core`
    /// (`kh × kw`, `r_in → r_out`, the original stride and padding, no bias) and `restore`
    /// (1×1 `r_out → out`, with the dense layer's bias).
    pub fn parts(&self) -> [&Conv2d<T>; 3] {
        [&self.chain.parts[0], &self.chain.parts[1], &self.chain.parts[2]]
    }

    /// The layer run as `reduce` (1×1, no bias), `core` (ungrouped, no bias) and `restore`
    /// (1×1): factors made otherwise than from a dense kernel (MUSCO folds the factors of a
    /// decomposed core into the outer ones), with `rel_error` the kernel error the caller
    /// measured ([`Tucker2Conv::rel_error`]).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] unless `reduce` and `restore` are plain 1×1 convolutions
    /// (stride 1, no padding, one group; `reduce` without bias) and `core` is ungrouped without
    /// bias; [`Error::ShapeMismatch`] unless each part's outputs are the next one's inputs.
    pub fn from_parts(
        reduce: Conv2d<T>,
        core: Conv2d<T>,
        restore: Conv2d<T>,
        rel_error: f64,
    ) -> Result<Self> {
        const OP: &str = "Tucker2Conv::from_parts";
        check_pointwise(OP, "reduce", &reduce, false)?;
        if core.bias().is_some() || core.groups() != 1 {
            let wants = "an ungrouped convolution without bias";
            return Err(bad_part(OP, "core", &core.describe(), wants));
        }
        check_pointwise(OP, "restore", &restore, true)?;
        check_link(OP, reduce.out_channels(), core.in_channels())?;
        check_link(OP, core.out_channels(), restore.in_channels())?;
        Ok(Self { chain: Chain { parts: vec![reduce, core, restore] }, rel_error })
    }

    /// `(r_out, r_in)`.
    pub fn ranks(&self) -> (usize, usize) {
        let core = &self.chain.parts[1];
        (core.out_channels(), core.in_channels())
    }

    /// `‖K − K̂‖ / ‖K‖` of the kernel it replaced.
    pub fn rel_error(&self) -> f64 {
        self.rel_error
    }

    /// [`Layer::describe`].
    fn label(&self) -> String {
        let (r_out, r_in) = self.ranks();
        let [reduce, core, restore] =
            [&self.chain.parts[0], &self.chain.parts[1], &self.chain.parts[2]];
        let k = core.weight().shape();
        format!(
            "tucker2-conv {}→{} {}×{} r{r_out}/{r_in}",
            reduce.in_channels(),
            restore.out_channels(),
            k[2],
            k[3]
        )
    }
}

chain_layer!(Tucker2Conv, Tucker2);
