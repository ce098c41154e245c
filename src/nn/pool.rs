//! Max pooling over windows of NCHW images (no padding; windows that would run past the edge
//! are dropped, PyTorch's default floor mode).

use super::layer::{bad_input, nchw, Layer};
use crate::error::{Error, Result};
use crate::kernels::im2col::Window;
use crate::scalar::Scalar;
use crate::tensor::Tensor;

/// The maximum of each `kh × kw` window, stepping by the stride, per image and channel.
///
/// ```
/// use tensorize::nn::{Layer, MaxPool2d};
/// use tensorize::Tensor;
/// let pool = MaxPool2d::new([2, 2], [2, 2])?;
/// let x = Tensor::from_fn(&[1, 1, 4, 4], |i| (4 * i[2] + i[3]) as f32)?;
/// assert_eq!(pool.forward(&x)?.as_slice(), &[5.0, 7.0, 13.0, 15.0]);
/// # Ok::<(), tensorize::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MaxPool2d {
    window: Window,
}

const OP: &str = "MaxPool2d";

impl MaxPool2d {
    /// Windows of `kernel` rows × columns stepping by `stride`.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for a zero kernel size or stride.
    pub fn new(kernel: [usize; 2], stride: [usize; 2]) -> Result<Self> {
        if kernel.contains(&0) || stride.contains(&0) {
            return Err(Error::InvalidParameter {
                name: "kernel/stride",
                value: format!("{kernel:?} / {stride:?}"),
                expected: "at least 1 along each axis",
            });
        }
        Ok(Self { window: Window { kernel, stride, padding: [0, 0] } })
    }

    fn geometry(&self, input: &[usize]) -> Result<([usize; 4], [usize; 2])> {
        let dims = nchw(OP, &self.describe_window(), input)?;
        match (self.window.out_len(0, dims[2]), self.window.out_len(1, dims[3])) {
            (Some(oh), Some(ow)) => Ok((dims, [oh, ow])),
            _ => Err(bad_input(
                OP,
                &self.describe_window(),
                input,
                "images at least the window's size",
            )),
        }
    }

    fn describe_window(&self) -> String {
        let Window { kernel: [kh, kw], stride: [sh, sw], .. } = self.window;
        format!("maxpool {kh}×{kw} s{sh}×{sw}")
    }
}

impl<T: Scalar> Layer<T> for MaxPool2d {
    fn describe(&self) -> String {
        self.describe_window()
    }

    fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>> {
        let ([b, c, _, _], [oh, ow]) = self.geometry(input)?;
        Ok(vec![b, c, oh, ow])
    }

    fn forward(&self, x: &Tensor<T>) -> Result<Tensor<T>> {
        let ([b, c, h, w], [oh, ow]) = self.geometry(x.shape())?;
        let Window { kernel: [kh, kw], stride: [sh, sw], .. } = self.window;
        let mut y = Tensor::zeros(&[b, c, oh, ow])?;
        let planes =
            x.as_slice().chunks_exact(h * w).zip(y.as_mut_slice().chunks_exact_mut(oh * ow));
        for (src, dst) in planes {
            for oy in 0..oh {
                for ox in 0..ow {
                    let mut m = T::neg_infinity();
                    for i in 0..kh {
                        let row = &src[(oy * sh + i) * w + ox * sw..][..kw];
                        // A NaN anywhere in the window wins, as in PyTorch.
                        m = row.iter().fold(m, |m, &v| if v > m || v.is_nan() { v } else { m });
                    }
                    dst[oy * ow + ox] = m;
                }
            }
        }
        Ok(y)
    }

    fn num_params(&self) -> usize {
        0
    }

    fn flops(&self, input: &[usize]) -> Result<f64> {
        let ([_, c, _, _], [oh, ow]) = self.geometry(input)?;
        let [kh, kw] = self.window.kernel;
        Ok((c * oh * ow * kh * kw) as f64)
    }
}
