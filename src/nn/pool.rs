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

    /// The window's rows and columns.
    pub fn kernel(&self) -> [usize; 2] {
        self.window.kernel
    }

    /// The step between windows, rows and columns.
    pub fn stride(&self) -> [usize; 2] {
        self.window.stride
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
    /// The pooled output; with `argmax`, also the flat input position of every maximum. Planes
    /// (image × channel) run over threads when the input is large; every window is a
    /// branch-free max (selects), and only a window holding a NaN is scanned again so that its
    /// first NaN wins, as in PyTorch.
    fn pool<T: Scalar>(&self, x: &Tensor<T>, argmax: Option<&mut Vec<usize>>) -> Result<Tensor<T>> {
        let ([b, c, h, w], [oh, ow]) = self.geometry(x.shape())?;
        let mut y = Tensor::zeros(&[b, c, oh, ow])?;
        let (plane, out_plane) = (h * w, oh * ow);
        if y.is_empty() {
            if let Some(a) = argmax {
                a.clear();
            }
            return Ok(y);
        }
        let mut positions = vec![0usize; if argmax.is_some() { y.numel() } else { 0 }];
        let run = |p: usize, src: &[T], dst: &mut [T], at: &mut [usize]| {
            self.pool_plane(src, [h, w], [oh, ow], dst, at, p * plane);
        };
        let keep = !positions.is_empty();
        let planes =
            x.as_slice().chunks_exact(plane).zip(y.as_mut_slice().chunks_exact_mut(out_plane));
        if x.numel() >= 1 << 16 && rayon::current_num_threads() > 1 {
            use rayon::prelude::*;
            let planes: Vec<_> = planes.collect();
            let mut at: Vec<&mut [usize]> = if keep {
                positions.chunks_exact_mut(out_plane).collect()
            } else {
                planes.iter().map(|_| &mut [][..]).collect()
            };
            planes
                .into_par_iter()
                .zip(at.par_iter_mut())
                .enumerate()
                .for_each(|(p, ((src, dst), at))| run(p, src, dst, at));
        } else {
            let mut chunks = positions.chunks_exact_mut(out_plane.max(1));
            for (p, (src, dst)) in planes.enumerate() {
                let at: &mut [usize] =
                    if keep { chunks.next().unwrap_or(&mut []) } else { &mut [] };
                run(p, src, dst, at);
            }
        }
        if let Some(a) = argmax {
            *a = positions;
        }
        Ok(y)
    }

    /// One plane: `dst[o]` the maximum of window `o`, and (if `at` is not empty) `at[o]` its flat
    /// position, `offset` plus its place in the plane.
    fn pool_plane<T: Scalar>(
        &self,
        src: &[T],
        [_, w]: [usize; 2],
        [oh, ow]: [usize; 2],
        dst: &mut [T],
        at: &mut [usize],
        offset: usize,
    ) {
        let Window { kernel: [kh, kw], stride: [sh, sw], .. } = self.window;
        for oy in 0..oh {
            for ox in 0..ow {
                let first = (oy * sh) * w + ox * sw;
                let (mut m, mut arg, mut nan) = (T::neg_infinity(), first, false);
                for i in 0..kh {
                    let start = first + i * w;
                    for (j, &v) in src[start..start + kw].iter().enumerate() {
                        let better = v > m;
                        m = if better { v } else { m };
                        arg = if better { start + j } else { arg };
                        nan |= v.is_nan();
                    }
                }
                if nan {
                    // The first NaN of the window, in row-major order.
                    let found = (0..kh)
                        .flat_map(|i| (0..kw).map(move |j| first + i * w + j))
                        .find(|&k| src[k].is_nan());
                    if let Some(k) = found {
                        (m, arg) = (src[k], k);
                    }
                }
                let o = oy * ow + ox;
                dst[o] = m;
                if let Some(slot) = at.get_mut(o) {
                    *slot = offset + arg;
                }
            }
        }
    }
}
