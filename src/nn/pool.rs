//! Max pooling over windows of NCHW images (no padding; windows that would run past the edge
//! are dropped, PyTorch's default floor mode).

use super::layer::{bad_input, check_grad, count, nchw, no_forward, Layer};
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
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MaxPool2d {
    window: Window,
    /// Of the last training forward pass: its input shape and, per output entry, the flat
    /// input position of the maximum.
    argmax: Option<(Vec<usize>, Vec<usize>)>,
}

const OP: &str = "MaxPool2d";

impl MaxPool2d {
    /// Windows of `kernel` rows × columns stepping by `stride`.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for a zero kernel size or stride.
    pub fn new(kernel: [usize; 2], stride: [usize; 2]) -> Result<Self> {
        Ok(Self { window: pool_window(kernel, stride)?, argmax: None })
    }

    fn geometry(&self, input: &[usize]) -> Result<([usize; 4], [usize; 2])> {
        pool_geometry(OP, &self.describe_window(), &self.window, input)
    }

    fn describe_window(&self) -> String {
        describe_pool("maxpool", &self.window)
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
        self.pool(x, None)
    }

    fn num_params(&self) -> usize {
        0
    }

    fn flops(&self, input: &[usize]) -> Result<f64> {
        let ([_, c, _, _], [oh, ow]) = self.geometry(input)?;
        let [kh, kw] = self.window.kernel;
        Ok(count(&[c, oh, ow, kh, kw]))
    }

    fn forward_train(&mut self, x: &Tensor<T>) -> Result<Tensor<T>> {
        let mut argmax = Vec::new();
        let y = self.pool(x, Some(&mut argmax))?;
        self.argmax = Some((x.shape().to_vec(), argmax));
        Ok(y)
    }

    fn backward(&mut self, dy: &Tensor<T>) -> Result<Tensor<T>> {
        let layer = self.describe_window();
        let (shape, argmax) = self.argmax.as_ref().ok_or_else(|| no_forward(&layer))?;
        let out = Layer::<T>::output_shape(self, shape)?;
        check_grad(OP, &layer, dy, &out)?;
        let mut dx = Tensor::zeros(shape)?;
        let dxs = dx.as_mut_slice();
        // Each output's gradient goes to its window's maximum (overlapping windows add up).
        argmax.iter().zip(dy.as_slice()).for_each(|(&at, &g)| dxs[at] += g);
        Ok(dx)
    }
}

/// The window of a pool: `kernel` rows × columns stepping by `stride`, no padding.
pub(super) fn pool_window(kernel: [usize; 2], stride: [usize; 2]) -> Result<Window> {
    if kernel.contains(&0) || stride.contains(&0) {
        return Err(Error::InvalidParameter {
            name: "kernel/stride",
            value: format!("{kernel:?} / {stride:?}"),
            expected: "at least 1 along each axis",
        });
    }
    Ok(Window { kernel, stride, padding: [0, 0] })
}

/// `[batch, channels, h, w]` and `[out_h, out_w]` of a pool over `input`, or the error of the
/// pool `label`.
pub(super) fn pool_geometry(
    op: &'static str,
    label: &str,
    window: &Window,
    input: &[usize],
) -> Result<([usize; 4], [usize; 2])> {
    let dims = nchw(op, label, input)?;
    match (window.out_len(0, dims[2]), window.out_len(1, dims[3])) {
        (Some(oh), Some(ow)) => Ok((dims, [oh, ow])),
        _ => Err(bad_input(op, label, input, "images at least the window's size")),
    }
}

/// `"{kind} 2×2 s2×2"`.
pub(super) fn describe_pool(kind: &str, window: &Window) -> String {
    let Window { kernel: [kh, kw], stride: [sh, sw], .. } = *window;
    format!("{kind} {kh}×{kw} s{sh}×{sw}")
}

impl MaxPool2d {
    /// The pooled output; with `argmax`, also the flat input position of every maximum.
    fn pool<T: Scalar>(
        &self,
        x: &Tensor<T>,
        mut argmax: Option<&mut Vec<usize>>,
    ) -> Result<Tensor<T>> {
        let ([b, c, h, w], [oh, ow]) = self.geometry(x.shape())?;
        let Window { kernel: [kh, kw], stride: [sh, sw], .. } = self.window;
        let mut y = Tensor::zeros(&[b, c, oh, ow])?;
        let planes =
            x.as_slice().chunks_exact(h * w).zip(y.as_mut_slice().chunks_exact_mut(oh * ow));
        for (p, (src, dst)) in planes.enumerate() {
            for oy in 0..oh {
                for ox in 0..ow {
                    let (mut m, mut at) = (T::neg_infinity(), (oy * sh) * w + ox * sw);
                    for i in 0..kh {
                        let start = (oy * sh + i) * w + ox * sw;
                        for (j, &v) in src[start..start + kw].iter().enumerate() {
                            // A NaN anywhere in the window wins, as in PyTorch.
                            if (v > m || v.is_nan()) && !m.is_nan() {
                                (m, at) = (v, start + j);
                            }
                        }
                    }
                    dst[oy * ow + ox] = m;
                    if let Some(positions) = argmax.as_deref_mut() {
                        positions.push(p * h * w + at);
                    }
                }
            }
        }
        Ok(y)
    }
}
