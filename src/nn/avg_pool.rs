//! Average pooling of NCHW images: over `kh × kw` windows ([`AvgPool2d`], no padding, floor
//! mode, as PyTorch's defaults) and over the whole image ([`GlobalAvgPool`]).

use super::layer::{bad_input, check_grad, count, nchw, no_forward, Layer};
use super::pool::{describe_pool, pool_geometry, pool_window};
use crate::error::Result;
use crate::kernels::im2col::Window;
use crate::scalar::Scalar;
use crate::tensor::Tensor;

/// The mean of each `kh × kw` window, stepping by the stride, per image and channel.
///
/// ```
/// use tensorize::nn::{AvgPool2d, Layer};
/// use tensorize::Tensor;
/// let pool = AvgPool2d::new([2, 2], [2, 2])?;
/// let x = Tensor::from_fn(&[1, 1, 2, 4], |i| (4 * i[2] + i[3]) as f32)?;
/// assert_eq!(pool.forward(&x)?.as_slice(), &[2.5, 4.5]);
/// # Ok::<(), tensorize::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AvgPool2d {
    window: Window,
    /// The input shape of the last training forward pass.
    input: Option<Vec<usize>>,
}

const OP: &str = "AvgPool2d";

impl AvgPool2d {
    /// Windows of `kernel` rows × columns stepping by `stride`.
    ///
    /// # Errors
    /// [`crate::Error::InvalidParameter`] for a zero kernel size or stride.
    pub fn new(kernel: [usize; 2], stride: [usize; 2]) -> Result<Self> {
        Ok(Self { window: pool_window(kernel, stride)?, input: None })
    }

    /// The window's rows and columns.
    pub fn kernel(&self) -> [usize; 2] {
        self.window.kernel
    }

    /// The step between windows, rows and columns.
    pub fn stride(&self) -> [usize; 2] {
        self.window.stride
    }

    fn label(&self) -> String {
        describe_pool("avgpool", &self.window)
    }

    fn geometry(&self, input: &[usize]) -> Result<([usize; 4], [usize; 2])> {
        pool_geometry(OP, &self.label(), &self.window, input)
    }

    /// Calls `visit(window start, output index)` (flat positions in the input and the output)
    /// for every window: the one loop both passes share.
    fn windows(
        &self,
        [b, c, h, w]: [usize; 4],
        [oh, ow]: [usize; 2],
        mut visit: impl FnMut(usize, usize),
    ) {
        let Window { stride: [sh, sw], .. } = self.window;
        for p in 0..b * c {
            for oy in 0..oh {
                for ox in 0..ow {
                    visit(p * h * w + oy * sh * w + ox * sw, (p * oh + oy) * ow + ox);
                }
            }
        }
    }
}

impl<T: Scalar> Layer<T> for AvgPool2d {
    fn describe(&self) -> String {
        self.label()
    }

    fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>> {
        let ([b, c, _, _], [oh, ow]) = self.geometry(input)?;
        Ok(vec![b, c, oh, ow])
    }

    fn forward(&self, x: &Tensor<T>) -> Result<Tensor<T>> {
        let (dims, out) = self.geometry(x.shape())?;
        let [kh, kw] = self.window.kernel;
        let w = dims[3];
        let scale = T::of(1.0 / (kh * kw) as f64);
        let mut y = Tensor::zeros(&[dims[0], dims[1], out[0], out[1]])?;
        let (xs, ys) = (x.as_slice(), y.as_mut_slice());
        self.windows(dims, out, |start, at| {
            let sum = (0..kh)
                .map(|i| {
                    xs[start + i * w..start + i * w + kw].iter().fold(T::zero(), |a, &v| a + v)
                })
                .fold(T::zero(), |a, v| a + v);
            ys[at] = sum * scale;
        });
        Ok(y)
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
        let y = Layer::<T>::forward(self, x)?;
        self.input = Some(x.shape().to_vec());
        Ok(y)
    }

    fn backward(&mut self, dy: &Tensor<T>) -> Result<Tensor<T>> {
        let layer = self.label();
        let shape = self.input.clone().ok_or_else(|| no_forward(&layer))?;
        let (dims, out) = self.geometry(&shape)?;
        check_grad(OP, &layer, dy, &[dims[0], dims[1], out[0], out[1]])?;
        let [kh, kw] = self.window.kernel;
        let w = dims[3];
        let scale = T::of(1.0 / (kh * kw) as f64);
        let mut dx = Tensor::zeros(&shape)?;
        let (dxs, dys) = (dx.as_mut_slice(), dy.as_slice());
        // Every input of a window receives the window's gradient / (kh·kw); overlaps add up.
        self.windows(dims, out, |start, at| {
            let g = dys[at] * scale;
            for i in 0..kh {
                dxs[start + i * w..start + i * w + kw].iter_mut().for_each(|v| *v += g);
            }
        });
        Ok(dx)
    }
}

/// The mean over each image plane: `[batch, channels, h, w] → [batch, channels]` (PyTorch's
/// `AdaptiveAvgPool2d(1)` followed by a flatten), the head of most modern CNNs.
///
/// ```
/// use tensorize::nn::{GlobalAvgPool, Layer};
/// use tensorize::Tensor;
/// let x = Tensor::from_fn(&[1, 2, 2, 2], |i| (i[1] * 10 + i[2] * 2 + i[3]) as f64)?;
/// assert_eq!(GlobalAvgPool::new().forward(&x)?.as_slice(), &[1.5, 11.5]);
/// # Ok::<(), tensorize::Error>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GlobalAvgPool {
    /// The input shape of the last training forward pass.
    input: Option<Vec<usize>>,
}

impl GlobalAvgPool {
    /// A global average pool.
    pub fn new() -> Self {
        Self::default()
    }
}

impl<T: Scalar> Layer<T> for GlobalAvgPool {
    fn describe(&self) -> String {
        "global-avgpool".into()
    }

    fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>> {
        let [b, c, h, w] = nchw("GlobalAvgPool", "global-avgpool", input)?;
        if h * w == 0 {
            return Err(bad_input("GlobalAvgPool", "global-avgpool", input, "non-empty images"));
        }
        Ok(vec![b, c])
    }

    fn forward(&self, x: &Tensor<T>) -> Result<Tensor<T>> {
        let out = Layer::<T>::output_shape(self, x.shape())?;
        let plane = x.shape()[2] * x.shape()[3];
        let scale = 1.0 / plane as f64;
        let means = x
            .as_slice()
            .chunks_exact(plane)
            .map(|p| T::of(p.iter().map(|v| v.as_f64()).sum::<f64>() * scale));
        Tensor::from_vec(&out, means.collect())
    }

    fn num_params(&self) -> usize {
        0
    }

    fn flops(&self, input: &[usize]) -> Result<f64> {
        Layer::<T>::output_shape(self, input)?;
        Ok(count(&input[1..]))
    }

    fn forward_train(&mut self, x: &Tensor<T>) -> Result<Tensor<T>> {
        let y = Layer::<T>::forward(self, x)?;
        self.input = Some(x.shape().to_vec());
        Ok(y)
    }

    fn backward(&mut self, dy: &Tensor<T>) -> Result<Tensor<T>> {
        let shape = self.input.clone().ok_or_else(|| no_forward("global-avgpool"))?;
        let out = Layer::<T>::output_shape(self, &shape)?;
        check_grad("GlobalAvgPool", "global-avgpool", dy, &out)?;
        let plane = shape[2] * shape[3];
        let scale = T::of(1.0 / plane as f64);
        let mut dx = Tensor::zeros(&shape)?;
        for (p, &g) in dx.as_mut_slice().chunks_exact_mut(plane).zip(dy.as_slice()) {
            p.fill(g * scale);
        }
        Ok(dx)
    }
}
