//! Layers built from a pretrained dense layer by a decomposition and run from their factors,
//! never from a rebuilt dense weight: an SVD linear (two thin GEMMs), an SVD convolution
//! (k×k to `r` channels → 1×1) and a Tucker-2 convolution (1×1 → k×k core → 1×1). Each is a
//! chain of dense layers over the factors.

use super::conv2d::Conv2d;
use super::layer::{Layer, ParamMut};
use super::linear::Linear;
use crate::decomp::tucker2;
use crate::error::{Error, Result};
use crate::format::Factorized;
use crate::scalar::Scalar;
use crate::tensor::Tensor;
use crate::tensorization::LowRank;

/// The [`Layer`] methods of a layer that is two dense layers `project` then `expand` (its
/// `label` is its description).
macro_rules! two_step_layer {
    ($name:ident) => {
        impl<T: Scalar> Layer<T> for $name<T> {
            fn describe(&self) -> String {
                self.label()
            }

            fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>> {
                self.expand.output_shape(&self.project.output_shape(input)?)
            }

            fn forward(&self, x: &Tensor<T>) -> Result<Tensor<T>> {
                self.expand.forward(&self.project.forward(x)?)
            }

            fn num_params(&self) -> usize {
                self.project.num_params() + self.expand.num_params()
            }

            fn flops(&self, input: &[usize]) -> Result<f64> {
                let mid = self.project.output_shape(input)?;
                Ok(self.project.flops(input)? + self.expand.flops(&mid)?)
            }

            fn forward_train(&mut self, x: &Tensor<T>) -> Result<Tensor<T>> {
                let h = self.project.forward_train(x)?;
                self.expand.forward_train(&h)
            }

            fn backward(&mut self, dy: &Tensor<T>) -> Result<Tensor<T>> {
                let dh = self.expand.backward(dy)?;
                self.project.backward(&dh)
            }

            fn visit_params(&mut self, f: &mut dyn FnMut(ParamMut<'_, T>)) {
                self.project.visit_params(f);
                self.expand.visit_params(f);
            }
        }
    };
}

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
    /// `Rᵀ`: `in → r`, no bias.
    project: Linear<T>,
    /// `L`: `r → out`, with the dense layer's bias.
    expand: Linear<T>,
    rel_error: f64,
}

impl<T: Scalar> SvdLinear<T> {
    /// The rank-`rank` SVD layer of `dense`.
    ///
    /// # Errors
    /// [`Error::InvalidRank`] naming the layer unless `1 ≤ rank ≤ min(in, out)`; errors of the SVD.
    pub fn from_linear(dense: &Linear<T>, rank: usize) -> Result<Self> {
        let (m, n) = (dense.out_features(), dense.in_features());
        if rank == 0 || rank > m.min(n) {
            return Err(Error::InvalidRank {
                op: "SvdLinear::from_linear",
                ranks: vec![rank],
                shape: vec![m, n],
                detail: format!(
                    "{}: the rank must be between 1 and {}",
                    dense.describe(),
                    m.min(n)
                ),
            });
        }
        let lr = LowRank::from_matrix(dense.weight(), rank)?;
        let rel_error = lr.rel_error(dense.weight())?.as_f64();
        let project = Linear::new(Tensor::from_mat(lr.right().transpose())?, None)?;
        let expand =
            Linear::new(Tensor::from_mat(lr.left().as_ref())?, dense.bias().map(<[T]>::to_vec))?;
        Ok(Self { project, expand, rel_error })
    }

    /// The rank.
    pub fn rank(&self) -> usize {
        self.project.out_features()
    }

    /// `‖W − L Rᵀ‖ / ‖W‖` of the weight it replaced.
    pub fn rel_error(&self) -> f64 {
        self.rel_error
    }
}

impl<T: Scalar> SvdLinear<T> {
    /// [`Layer::describe`].
    fn label(&self) -> String {
        format!(
            "svd-linear {}→{} r{}",
            self.project.in_features(),
            self.expand.out_features(),
            self.rank()
        )
    }
}

two_step_layer!(SvdLinear);

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
    project: Conv2d<T>,
    expand: Conv2d<T>,
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
        if rank == 0 || rank > m.min(n) {
            return Err(Error::InvalidRank {
                op: "SvdConv::from_conv",
                ranks: vec![rank],
                shape,
                detail: format!(
                    "{}: the rank must be between 1 and {}",
                    dense.describe(),
                    m.min(n)
                ),
            });
        }
        let w = dense.weight().clone().reshape(&[m, n])?;
        let lr = LowRank::from_matrix(&w, rank)?;
        let rel_error = lr.rel_error(&w)?.as_f64();
        let first = Tensor::from_mat(lr.right().transpose())?
            .reshape(&[rank, shape[1], shape[2], shape[3]])?;
        let project =
            Conv2d::new(first, None)?.with_stride(dense.stride())?.with_padding(dense.padding())?;
        let last = Tensor::from_mat(lr.left().as_ref())?.reshape(&[m, rank, 1, 1])?;
        let expand = Conv2d::new(last, dense.bias().map(<[T]>::to_vec))?;
        Ok(Self { project, expand, rel_error })
    }

    /// The rank.
    pub fn rank(&self) -> usize {
        self.project.out_channels()
    }

    /// `‖K − L Rᵀ‖ / ‖K‖` of the kernel it replaced.
    pub fn rel_error(&self) -> f64 {
        self.rel_error
    }
}

impl<T: Scalar> SvdConv<T> {
    /// [`Layer::describe`].
    fn label(&self) -> String {
        let k = self.project.weight().shape();
        format!(
            "svd-conv {}→{} {}×{} r{}",
            self.project.in_channels(),
            self.expand.out_channels(),
            k[2],
            k[3],
            self.rank()
        )
    }
}

two_step_layer!(SvdConv);

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
    reduce: Conv2d<T>,
    core: Conv2d<T>,
    restore: Conv2d<T>,
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
        let (u_out, u_in) = (&t.factors()[0], &t.factors()[1]);
        let one_by_one = |m: faer::MatRef<'_, T>| -> Result<Tensor<T>> {
            let (rows, cols) = (m.nrows(), m.ncols());
            Tensor::from_mat(m)?.reshape(&[rows, cols, 1, 1])
        };
        let reduce = Conv2d::new(one_by_one(u_in.transpose())?, None)?;
        let core = Conv2d::new(t.core().clone(), None)?
            .with_stride(dense.stride())?
            .with_padding(dense.padding())?;
        let restore = Conv2d::new(one_by_one(u_out.as_ref())?, dense.bias().map(<[T]>::to_vec))?;
        Ok(Self { reduce, core, restore, rel_error: report.rel_error })
    }

    /// `(r_out, r_in)`.
    pub fn ranks(&self) -> (usize, usize) {
        (self.core.out_channels(), self.core.in_channels())
    }

    /// `‖K − K̂‖ / ‖K‖` of the kernel it replaced.
    pub fn rel_error(&self) -> f64 {
        self.rel_error
    }

    fn parts(&self) -> [&Conv2d<T>; 3] {
        [&self.reduce, &self.core, &self.restore]
    }
}

impl<T: Scalar> Layer<T> for Tucker2Conv<T> {
    fn describe(&self) -> String {
        let (r_out, r_in) = self.ranks();
        let k = self.core.weight().shape();
        format!(
            "tucker2-conv {}→{} {}×{} r{r_out}/{r_in}",
            self.reduce.in_channels(),
            self.restore.out_channels(),
            k[2],
            k[3]
        )
    }

    fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>> {
        self.parts().iter().try_fold(input.to_vec(), |s, l| l.output_shape(&s))
    }

    fn forward(&self, x: &Tensor<T>) -> Result<Tensor<T>> {
        let h = self.reduce.forward(x)?;
        self.restore.forward(&self.core.forward(&h)?)
    }

    fn num_params(&self) -> usize {
        self.parts().iter().map(|l| l.num_params()).sum()
    }

    fn flops(&self, input: &[usize]) -> Result<f64> {
        let mut shape = input.to_vec();
        let mut total = 0.0;
        for l in self.parts() {
            total += l.flops(&shape)?;
            shape = l.output_shape(&shape)?;
        }
        Ok(total)
    }

    fn forward_train(&mut self, x: &Tensor<T>) -> Result<Tensor<T>> {
        let h = self.reduce.forward_train(x)?;
        let h = self.core.forward_train(&h)?;
        self.restore.forward_train(&h)
    }

    fn backward(&mut self, dy: &Tensor<T>) -> Result<Tensor<T>> {
        let g = self.restore.backward(dy)?;
        let g = self.core.backward(&g)?;
        self.reduce.backward(&g)
    }

    fn visit_params(&mut self, f: &mut dyn FnMut(ParamMut<'_, T>)) {
        self.reduce.visit_params(f);
        self.core.visit_params(f);
        self.restore.visit_params(f);
    }
}
