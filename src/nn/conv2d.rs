//! A dense 2-D convolution (PyTorch's cross-correlation: no kernel flip) with stride, zero
//! padding and groups (depthwise when every group has one input channel), computed per image
//! and group as `im2col` + one faer GEMM, images spread over threads.

use faer::linalg::matmul::matmul;
use faer::{Accum, MatMut, MatRef};
use rayon::prelude::*;

use super::layer::{
    bad_input, check_dense_params, check_grad, count, nchw, no_forward, DenseLayer, Layer, ParamMut,
};
use crate::error::{checked_len, Error, Result};
use crate::kernels::im2col::{col2im, im2col, Window};
use crate::par::{auto_par, thread_count, Par};
use crate::scalar::Scalar;
use crate::tensor::Tensor;

/// `y[b, o] = bias[o] + Σ_{c in o's group} w[o, c] ⋆ x[b, c]` over `[batch, in, h, w]` images.
///
/// ```
/// use tensorize::nn::{Conv2d, Layer};
/// use tensorize::Tensor;
/// // 2 → 4 channels, 3 × 3, padding 1: the spatial size is kept.
/// let conv = Conv2d::new(Tensor::<f32>::random_normal(&[4, 2, 3, 3], 1)?, Some(vec![0.5; 4]))?
///     .with_padding([1, 1])?;
/// let y = conv.forward(&Tensor::random_normal(&[8, 2, 10, 12], 2)?)?;
/// assert_eq!(y.shape(), &[8, 4, 10, 12]);
/// # Ok::<(), tensorize::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct Conv2d<T> {
    /// `[out, in / groups, kh, kw]`.
    weight: Tensor<T>,
    /// One per output channel, or none.
    bias: Option<Vec<T>>,
    stride: [usize; 2],
    padding: [usize; 2],
    groups: usize,
    grad_weight: Vec<T>,
    grad_bias: Vec<T>,
    /// The input of the last training forward pass.
    input: Option<Tensor<T>>,
}

const OP: &str = "Conv2d";

/// Images per group of the backward pass: each group sums its gradients in its own buffers.
/// Fixed, so that the sum's order (and rounding) does not depend on the number of threads.
const BACKWARD_GROUP: usize = 8;

/// The per-group sizes of a convolution's GEMMs.
struct Groups {
    /// Number of groups.
    g: usize,
    /// Output channels per group (rows of `W_g`).
    o_g: usize,
    /// Input channels per group.
    c_g: usize,
    /// `c_g · kh · kw`: columns of `W_g`, rows of the patch matrix.
    k: usize,
}

impl<T: Scalar> Conv2d<T> {
    /// A convolution with weight `[out, in, kh, kw]` (PyTorch's layout), stride 1, no padding,
    /// one group.
    ///
    /// # Errors
    /// [`Error::InvalidModes`] unless the weight is 4-way; [`Error::ZeroDimension`] for an
    /// empty weight; [`Error::ShapeMismatch`] unless the bias has one entry per output channel;
    /// [`Error::NonFinite`].
    pub fn new(weight: Tensor<T>, bias: Option<Vec<T>>) -> Result<Self> {
        check_dense_params(OP, &weight, bias.as_deref(), 4, "[out, in, kh, kw]")?;
        let grad_weight = vec![T::zero(); weight.numel()];
        let grad_bias = vec![T::zero(); bias.as_ref().map_or(0, Vec::len)];
        Ok(Self {
            weight,
            bias,
            stride: [1, 1],
            padding: [0, 0],
            groups: 1,
            grad_weight,
            grad_bias,
            input: None,
        })
    }

    /// The same convolution with stride `[rows, cols]`.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for a stride of 0.
    pub fn with_stride(mut self, stride: [usize; 2]) -> Result<Self> {
        if stride.contains(&0) {
            return Err(Error::InvalidParameter {
                name: "stride",
                value: format!("{stride:?}"),
                expected: "at least 1 along each axis",
            });
        }
        self.stride = stride;
        Ok(self)
    }

    /// The same convolution with `padding[axis]` zeros on each side (infallible; returns a
    /// `Result` to chain like the others).
    ///
    /// # Errors
    /// None today.
    pub fn with_padding(mut self, padding: [usize; 2]) -> Result<Self> {
        self.padding = padding;
        Ok(self)
    }

    /// The same convolution split into `groups` groups: output channel `o` sees only the
    /// `in / groups` input channels of its group (the weight's second dimension). Depthwise is
    /// `groups = in = out`.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] unless `groups ≥ 1` divides the output channels.
    pub fn with_groups(mut self, groups: usize) -> Result<Self> {
        let out = self.weight.shape()[0];
        if groups == 0 || out % groups != 0 {
            return Err(Error::InvalidParameter {
                name: "groups",
                value: groups.to_string(),
                expected: "a positive divisor of the output channels",
            });
        }
        self.groups = groups;
        Ok(self)
    }

    /// The weight, `[out, in / groups, kh, kw]`.
    pub fn weight(&self) -> &Tensor<T> {
        &self.weight
    }

    /// The bias, one per output channel, if any.
    pub fn bias(&self) -> Option<&[T]> {
        self.bias.as_deref()
    }

    /// The stride, rows and columns.
    pub fn stride(&self) -> [usize; 2] {
        self.stride
    }

    /// The zero padding on each side, rows and columns.
    pub fn padding(&self) -> [usize; 2] {
        self.padding
    }

    /// The number of groups.
    pub fn groups(&self) -> usize {
        self.groups
    }

    /// Input channels (`in / groups` per group times `groups`).
    pub fn in_channels(&self) -> usize {
        self.weight.shape()[1] * self.groups
    }

    /// Output channels.
    pub fn out_channels(&self) -> usize {
        self.weight.shape()[0]
    }

    fn window(&self) -> Window {
        let s = self.weight.shape();
        Window { kernel: [s[2], s[3]], stride: self.stride, padding: self.padding }
    }

    /// `[batch, in, h, w]` and `[out_h, out_w]` for an input of shape `input`.
    fn geometry(&self, input: &[usize]) -> Result<([usize; 4], [usize; 2])> {
        let dims = nchw(OP, &self.describe(), input)?;
        let win = self.window();
        let wants =
            || format!("{} input channels and at least the kernel's size", self.in_channels());
        if dims[1] != self.in_channels() {
            return Err(bad_input(OP, &self.describe(), input, &wants()));
        }
        match (win.out_len(0, dims[2]), win.out_len(1, dims[3])) {
            (Some(oh), Some(ow)) => {
                // Padding can make the output far larger than the input.
                checked_len(&[dims[0], self.out_channels(), oh, ow], 1)?;
                Ok((dims, [oh, ow]))
            }
            _ => Err(bad_input(OP, &self.describe(), input, &wants())),
        }
    }

    /// How `c` input channels split into the groups of the GEMMs.
    fn groups_for(&self, c: usize) -> Groups {
        let (g, s) = (self.groups, self.weight.shape());
        let c_g = c / g;
        Groups { g, o_g: self.out_channels() / g, c_g, k: c_g * s[2] * s[3] }
    }

    /// One image: `out [out, oh·ow] = W_g · im2col(x_g)` per group, plus the bias.
    fn image(
        &self,
        x: &[T],
        [c, h, w]: [usize; 3],
        [oh, ow]: [usize; 2],
        cols: &mut [T],
        y: &mut [T],
        par: Par,
    ) {
        let Groups { g, o_g, c_g, k } = self.groups_for(c);
        let plane = oh * ow;
        let win = self.window();
        for group in 0..g {
            let xg = &x[group * c_g * h * w..(group + 1) * c_g * h * w];
            im2col(xg, [c_g, h, w], &win, [oh, ow], cols);
            let wg = &self.weight.as_slice()[group * o_g * k..(group + 1) * o_g * k];
            let yg = &mut y[group * o_g * plane..(group + 1) * o_g * plane];
            if o_g == 1 {
                // One output row per group (depthwise, CP's middle step): a weighted sum of
                // the patch rows; a GEMM call per group would cost more than its work.
                yg.fill(T::zero());
                for (&wr, row) in wg.iter().zip(cols.chunks_exact(plane)) {
                    yg.iter_mut().zip(row).for_each(|(v, &c)| *v += wr * c);
                }
                continue;
            }
            let (wm, cm) = (
                MatRef::from_row_major_slice(wg, o_g, k),
                MatRef::from_row_major_slice(cols, k, plane),
            );
            matmul(
                MatMut::from_row_major_slice_mut(yg, o_g, plane),
                Accum::Replace,
                wm,
                cm,
                T::one(),
                par,
            );
        }
        if let Some(bias) = &self.bias {
            for (row, &b) in y.chunks_exact_mut(plane).zip(bias) {
                row.iter_mut().for_each(|v| *v += b);
            }
        }
    }
}

impl<T: Scalar> Conv2d<T> {
    /// [`Layer::backward`] with the cached input `x` lent out. Images run in fixed groups of
    /// [`BACKWARD_GROUP`], over threads when the work is large: each group sums its weight and
    /// bias gradients in its own buffers, and the groups' sums are added in group order, so the
    /// result does not depend on the number of threads.
    fn backward_from(&mut self, x: &Tensor<T>, dy: &Tensor<T>, layer: &str) -> Result<Tensor<T>> {
        let ([b, c, h, w], [oh, ow]) = self.geometry(x.shape())?;
        check_grad(OP, layer, dy, &[b, self.out_channels(), oh, ow])?;
        let mut dx = Tensor::zeros(&[b, c, h, w])?;
        if dx.is_empty() || dy.is_empty() {
            // Empty images padded to a non-empty output: only the bias saw the output.
            let channels = self.grad_bias.len();
            if channels > 0 && oh * ow > 0 {
                for (k, plane) in dy.as_slice().chunks_exact(oh * ow).enumerate() {
                    self.grad_bias[k % channels] += plane.iter().fold(T::zero(), |a, &v| a + v);
                }
            }
            return Ok(dx);
        }
        let s = self.weight.shape();
        let cols_len =
            checked_len(&[c / self.groups, s[2], s[3], oh, ow], std::mem::size_of::<T>())?;
        let (in_len, out_len) = (c * h * w, self.out_channels() * oh * ow);
        let work = 2.0 * self.flops(x.shape())? * b as f64;
        let threads = thread_count(auto_par(work));
        let geometry = ([c, h, w], [oh, ow]);
        let this = &*self;
        let group = |(xs, dys, dxs): (&[T], &[T], &mut [T]), par: Par| -> (Vec<T>, Vec<T>) {
            let mut grads =
                (vec![T::zero(); this.weight.numel()], vec![T::zero(); this.grad_bias.len()]);
            let (mut cols, mut dcols) = (vec![T::zero(); cols_len], vec![T::zero(); cols_len]);
            let images = xs.chunks(in_len).zip(dys.chunks(out_len)).zip(dxs.chunks_mut(in_len));
            for ((xi, dyi), dxi) in images {
                let buffers = (&mut cols[..], &mut dcols[..], &mut grads.0[..], &mut grads.1[..]);
                this.image_backward(xi, dyi, dxi, geometry, buffers, par);
            }
            grads
        };
        let n = BACKWARD_GROUP;
        let chunks = x
            .as_slice()
            .chunks(n * in_len)
            .zip(dy.as_slice().chunks(n * out_len))
            .zip(dx.as_mut_slice().chunks_mut(n * in_len))
            .map(|((a, b), c)| (a, b, c));
        let sums: Vec<(Vec<T>, Vec<T>)> = if threads > 1 && b > n {
            chunks.collect::<Vec<_>>().into_par_iter().map(|g| group(g, Par::Seq)).collect()
        } else {
            let par = auto_par(work / b as f64);
            chunks.map(|g| group(g, par)).collect()
        };
        for (gw, gb) in &sums {
            self.grad_weight.iter_mut().zip(gw).for_each(|(a, &v)| *a += v);
            self.grad_bias.iter_mut().zip(gb).for_each(|(a, &v)| *a += v);
        }
        Ok(dx)
    }

    /// The backward pass of one image: per group, `∂W_g += dY_g · colsᵀ` and
    /// `∂x_g = col2im(W_gᵀ · dY_g)`, with the patches recomputed from the input; the weight and
    /// bias gradients go to the caller's buffers `gw`, `gb`.
    fn image_backward(
        &self,
        x: &[T],
        dy: &[T],
        dx: &mut [T],
        ([c, h, w], [oh, ow]): ([usize; 3], [usize; 2]),
        (cols, dcols, gw, gb): (&mut [T], &mut [T], &mut [T], &mut [T]),
        par: Par,
    ) {
        let Groups { g, o_g, c_g, k } = self.groups_for(c);
        let plane = oh * ow;
        let win = self.window();
        for group in 0..g {
            let (xs, xe) = (group * c_g * h * w, (group + 1) * c_g * h * w);
            im2col(&x[xs..xe], [c_g, h, w], &win, [oh, ow], cols);
            let (ws, we) = (group * o_g * k, (group + 1) * o_g * k);
            if o_g == 1 {
                // Depthwise: ∂w_r += ⟨dy, cols_r⟩ and dcols_r = w_r dy, without GEMM calls.
                let dyg = &dy[group * plane..(group + 1) * plane];
                let wg = &self.weight.as_slice()[ws..we];
                for (r, row) in cols.chunks_exact(plane).enumerate() {
                    gw[ws + r] += row.iter().zip(dyg).fold(T::zero(), |a, (&c, &d)| a + c * d);
                }
                for (&wr, drow) in wg.iter().zip(dcols.chunks_exact_mut(plane)) {
                    drow.iter_mut().zip(dyg).for_each(|(v, &d)| *v = wr * d);
                }
                col2im(dcols, [c_g, h, w], &win, [oh, ow], &mut dx[xs..xe]);
                continue;
            }
            let dyg = MatRef::from_row_major_slice(
                &dy[group * o_g * plane..(group + 1) * o_g * plane],
                o_g,
                plane,
            );
            let cm = MatRef::from_row_major_slice(&*cols, k, plane);
            let gwm = MatMut::from_row_major_slice_mut(&mut gw[ws..we], o_g, k);
            matmul(gwm, Accum::Add, dyg, cm.transpose(), T::one(), par);
            let wg = MatRef::from_row_major_slice(&self.weight.as_slice()[ws..we], o_g, k);
            let dc = MatMut::from_row_major_slice_mut(&mut *dcols, k, plane);
            matmul(dc, Accum::Replace, wg.transpose(), dyg, T::one(), par);
            col2im(dcols, [c_g, h, w], &win, [oh, ow], &mut dx[xs..xe]);
        }
        for (g_b, row) in gb.iter_mut().zip(dy.chunks_exact(plane)) {
            *g_b += row.iter().fold(T::zero(), |a, &v| a + v);
        }
    }
}

impl<T: Scalar> Layer<T> for Conv2d<T> {
    fn describe(&self) -> String {
        let s = self.weight.shape();
        let mut d = format!(
            "conv2d {}→{} {}×{} s{} p{}",
            self.in_channels(),
            s[0],
            s[2],
            s[3],
            self.stride[0],
            self.padding[0]
        );
        if self.groups > 1 {
            d.push_str(&format!(" g{}", self.groups));
        }
        d
    }

    fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>> {
        let (dims, [oh, ow]) = self.geometry(input)?;
        Ok(vec![dims[0], self.out_channels(), oh, ow])
    }

    fn forward(&self, x: &Tensor<T>) -> Result<Tensor<T>> {
        let ([b, c, h, w], [oh, ow]) = self.geometry(x.shape())?;
        x.check_finite(OP)?;
        let out_shape = [b, self.out_channels(), oh, ow];
        let mut y = Tensor::zeros(&out_shape)?;
        if y.is_empty() {
            return Ok(y);
        }
        if x.is_empty() {
            // Empty images padded to a non-empty output: every window sees only zeros.
            if let Some(bias) = &self.bias {
                for (plane, &v) in
                    y.as_mut_slice().chunks_exact_mut(oh * ow).zip(bias.iter().cycle())
                {
                    plane.fill(v);
                }
            }
            return Ok(y);
        }
        let s = self.weight.shape();
        let cols_len =
            checked_len(&[c / self.groups, s[2], s[3], oh, ow], std::mem::size_of::<T>())?;
        let (in_len, out_len) = (c * h * w, self.out_channels() * oh * ow);
        let threads = thread_count(auto_par(self.flops(x.shape())? * b as f64));
        if threads > 1 && b > 1 {
            // Images over threads, each with its own patch buffer and a sequential GEMM.
            y.as_mut_slice()
                .par_chunks_mut(out_len)
                .zip(x.as_slice().par_chunks(in_len))
                .for_each_init(
                    || vec![T::zero(); cols_len],
                    |cols, (yi, xi)| self.image(xi, [c, h, w], [oh, ow], cols, yi, Par::Seq),
                );
        } else {
            let par = auto_par(self.flops(x.shape())?);
            let mut cols = vec![T::zero(); cols_len];
            for (yi, xi) in y.as_mut_slice().chunks_mut(out_len).zip(x.as_slice().chunks(in_len)) {
                self.image(xi, [c, h, w], [oh, ow], &mut cols, yi, par);
            }
        }
        Ok(y)
    }

    fn num_params(&self) -> usize {
        self.weight.numel() + self.bias.as_ref().map_or(0, Vec::len)
    }

    fn flops(&self, input: &[usize]) -> Result<f64> {
        let (_, [oh, ow]) = self.geometry(input)?;
        Ok(2.0 * self.weight.numel() as f64 * count(&[oh, ow]))
    }

    fn forward_train(&mut self, x: &Tensor<T>) -> Result<Tensor<T>> {
        let y = self.forward(x)?;
        self.input = Some(x.clone());
        Ok(y)
    }

    fn backward(&mut self, dy: &Tensor<T>) -> Result<Tensor<T>> {
        let layer = self.describe();
        let x = self.input.take().ok_or_else(|| no_forward(&layer))?;
        let result = self.backward_from(&x, dy, &layer);
        self.input = Some(x);
        result
    }

    fn as_dense(&self) -> Option<DenseLayer<'_, T>> {
        Some(DenseLayer::Conv2d(self))
    }

    fn visit_params(&mut self, f: &mut dyn FnMut(ParamMut<'_, T>)) {
        f(ParamMut {
            name: "weight",
            value: self.weight.as_mut_slice(),
            grad: &mut self.grad_weight,
        });
        if let Some(bias) = &mut self.bias {
            f(ParamMut { name: "bias", value: bias, grad: &mut self.grad_bias });
        }
    }
}
