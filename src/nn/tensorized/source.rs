//! What a tensorized layer replaces: a linear layer (`[batch, in]` inputs) or an ungrouped
//! convolution (`[batch, in, h, w]`), and the geometry of one input batch. A linear layer is
//! run as a 1×1 convolution of 1×1 images (same memory layout).

use crate::error::Result;
use crate::kernels::im2col::Window;
use crate::nn::layer::{bad_input, nchw};

/// The dense layer's shape: input and output channels and, for a convolution, its window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Source {
    pub(super) input: usize,
    pub(super) out: usize,
    /// `None` for a linear layer.
    pub(super) window: Option<Window>,
}

/// One batch: `[batch, channels, h, w]` in, `[batch, out, out_h, out_w]` out (all 1 for a
/// linear layer's spatial sizes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Geometry {
    pub(super) batch: usize,
    pub(super) channels: usize,
    pub(super) hw: [usize; 2],
    pub(super) out_hw: [usize; 2],
}

impl Geometry {
    /// Output positions per image.
    pub(super) fn positions(&self) -> usize {
        self.out_hw[0] * self.out_hw[1]
    }

    /// Input numbers per image.
    pub(super) fn image_len(&self) -> usize {
        self.channels * self.hw[0] * self.hw[1]
    }

    /// The geometry of one sample.
    pub(super) fn one(&self) -> Self {
        Self { batch: 1, ..*self }
    }
}

impl Source {
    /// The window im2col uses (1×1, stride 1, no padding for a linear layer).
    pub(super) fn window(&self) -> Window {
        self.window.unwrap_or(Window { kernel: [1, 1], stride: [1, 1], padding: [0, 0] })
    }

    /// `kh · kw` (1 for a linear layer).
    pub(super) fn kernel_len(&self) -> usize {
        let k = self.window().kernel;
        k[0] * k[1]
    }

    /// `"12→18"` or `"6→8 3×3 s1 p1"`.
    pub(super) fn label(&self) -> String {
        match self.window {
            None => format!("{}→{}", self.input, self.out),
            Some(w) => format!(
                "{}→{} {}×{} s{} p{}",
                self.input, self.out, w.kernel[0], w.kernel[1], w.stride[0], w.padding[0]
            ),
        }
    }

    /// The geometry of an input of shape `input`, or the error naming the layer (`layer` is
    /// called only then).
    pub(super) fn geometry(
        &self,
        op: &'static str,
        layer: &dyn Fn() -> String,
        input: &[usize],
    ) -> Result<Geometry> {
        match self.window {
            None => match *input {
                [batch, n] if n == self.input => {
                    Ok(Geometry { batch, channels: n, hw: [1, 1], out_hw: [1, 1] })
                }
                _ => {
                    Err(bad_input(op, &layer(), input, &format!("a [batch, {}] input", self.input)))
                }
            },
            Some(win) => {
                // (The name only for the error: a 4-way shape never is one.)
                let name = if input.len() == 4 { String::new() } else { layer() };
                let [batch, c, h, w] = nchw(op, &name, input)?;
                let wants =
                    || format!("{} input channels and at least the kernel's size", self.input);
                if c != self.input {
                    return Err(bad_input(op, &layer(), input, &wants()));
                }
                match (win.out_len(0, h), win.out_len(1, w)) {
                    (Some(oh), Some(ow)) => {
                        // Padding can make the output far larger than the input.
                        crate::error::checked_len(&[batch, self.out, oh, ow], 1)?;
                        Ok(Geometry { batch, channels: c, hw: [h, w], out_hw: [oh, ow] })
                    }
                    _ => Err(bad_input(op, &layer(), input, &wants())),
                }
            }
        }
    }

    /// The output shape for geometry `g`.
    pub(super) fn output_shape(&self, g: &Geometry) -> Vec<usize> {
        match self.window {
            None => vec![g.batch, self.out],
            Some(_) => vec![g.batch, self.out, g.out_hw[0], g.out_hw[1]],
        }
    }
}
