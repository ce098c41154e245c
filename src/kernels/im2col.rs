//! `im2col`: the patches of one image laid out as the columns of a matrix, so that a 2-D
//! convolution is one GEMM (`W [out, c·kh·kw] · cols [c·kh·kw, out_h·out_w]`).

/// The geometry of a 2-D convolution or pooling window over one `channels × height × width`
/// image: kernel size, stride and zero padding, per axis (rows, columns).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    /// Kernel rows and columns.
    pub kernel: [usize; 2],
    /// Step between windows, rows and columns (each at least 1).
    pub stride: [usize; 2],
    /// Zeros added on each side, rows and columns.
    pub padding: [usize; 2],
}

impl Window {
    /// The output size along one axis of input size `n`: `⌊(n + 2p − k) / s⌋ + 1`, or `None`
    /// when the padded input is smaller than the kernel.
    pub fn out_len(&self, axis: usize, n: usize) -> Option<usize> {
        let padded = n.checked_add(2 * self.padding[axis])?;
        padded.checked_sub(self.kernel[axis]).map(|span| span / self.stride[axis] + 1)
    }
}

/// Writes the patches of `image` (`channels × h × w`, row-major) into `cols`, a row-major
/// `(channels · kh · kw) × (out_h · out_w)` matrix: row `(c, i, j)`, column `(y, x)` holds
/// `image[c, y·sh + i − ph, x·sw + j − pw]`, or 0 where that falls in the padding. The caller
/// guarantees the sizes (`out_h`, `out_w` from [`Window::out_len`]).
pub(crate) fn im2col<T: Copy + Default>(
    image: &[T],
    [channels, h, w]: [usize; 3],
    win: &Window,
    [out_h, out_w]: [usize; 2],
    cols: &mut [T],
) {
    let ([kh, kw], [sh, sw], [ph, pw]) = (win.kernel, win.stride, win.padding);
    let plane = out_h * out_w;
    debug_assert_eq!(cols.len(), channels * kh * kw * plane);
    for c in 0..channels {
        let src = &image[c * h * w..(c + 1) * h * w];
        for i in 0..kh {
            for j in 0..kw {
                let row = &mut cols[((c * kh + i) * kw + j) * plane..][..plane];
                for y in 0..out_h {
                    let dst = &mut row[y * out_w..(y + 1) * out_w];
                    // The input row this output row reads, if it is not padding.
                    let iy = (y * sh + i).wrapping_sub(ph);
                    if iy >= h {
                        dst.fill(T::default());
                        continue;
                    }
                    let line = &src[iy * w..(iy + 1) * w];
                    if sw == 1 && pw <= j && j - pw + out_w <= w {
                        // Unit stride, no padding on this row: one contiguous copy.
                        dst.copy_from_slice(&line[j - pw..j - pw + out_w]);
                        continue;
                    }
                    for (x, v) in dst.iter_mut().enumerate() {
                        let ix = (x * sw + j).wrapping_sub(pw);
                        *v = if ix < w { line[ix] } else { T::default() };
                    }
                }
            }
        }
    }
}

/// The adjoint of [`im2col`]: adds every entry of `cols` (laid out as [`im2col`] writes it)
/// back onto the image position it was read from, so that `grad_image += col2im(grad_cols)`
/// (positions in the padding are dropped; overlapping windows add up).
pub(crate) fn col2im<T: Copy + std::ops::AddAssign>(
    cols: &[T],
    [channels, h, w]: [usize; 3],
    win: &Window,
    [out_h, out_w]: [usize; 2],
    image: &mut [T],
) {
    let ([kh, kw], [sh, sw], [ph, pw]) = (win.kernel, win.stride, win.padding);
    let plane = out_h * out_w;
    debug_assert_eq!(cols.len(), channels * kh * kw * plane);
    for c in 0..channels {
        let dst = &mut image[c * h * w..(c + 1) * h * w];
        for i in 0..kh {
            for j in 0..kw {
                let row = &cols[((c * kh + i) * kw + j) * plane..][..plane];
                for y in 0..out_h {
                    let iy = (y * sh + i).wrapping_sub(ph);
                    if iy >= h {
                        continue;
                    }
                    let line = &mut dst[iy * w..(iy + 1) * w];
                    for (x, &v) in row[y * out_w..(y + 1) * out_w].iter().enumerate() {
                        let ix = (x * sw + j).wrapping_sub(pw);
                        if ix < w {
                            line[ix] += v;
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patches_match_the_definition() {
        let (c, h, w) = (2, 5, 4);
        let image: Vec<f64> = (0..c * h * w).map(|v| v as f64 + 1.0).collect();
        for (kernel, stride, padding) in
            [([3, 3], [1, 1], [1, 1]), ([2, 3], [2, 1], [0, 2]), ([1, 1], [3, 2], [0, 0])]
        {
            let win = Window { kernel, stride, padding };
            let (oh, ow) = (win.out_len(0, h).unwrap(), win.out_len(1, w).unwrap());
            let mut cols = vec![f64::NAN; c * kernel[0] * kernel[1] * oh * ow];
            im2col(&image, [c, h, w], &win, [oh, ow], &mut cols);
            for ch in 0..c {
                for i in 0..kernel[0] {
                    for j in 0..kernel[1] {
                        for y in 0..oh {
                            for x in 0..ow {
                                let iy = (y * stride[0] + i) as isize - padding[0] as isize;
                                let ix = (x * stride[1] + j) as isize - padding[1] as isize;
                                let inside =
                                    (0..h as isize).contains(&iy) && (0..w as isize).contains(&ix);
                                let want = if inside {
                                    image[(ch * h + iy as usize) * w + ix as usize]
                                } else {
                                    0.0
                                };
                                let row = (ch * kernel[0] + i) * kernel[1] + j;
                                assert_eq!(cols[row * oh * ow + y * ow + x], want);
                            }
                        }
                    }
                }
            }
        }
        let win = Window { kernel: [6, 1], stride: [1, 1], padding: [0, 0] };
        assert_eq!(win.out_len(0, 5), None);
    }

    /// `⟨im2col(x), g⟩ = ⟨x, col2im(g)⟩` for every geometry: col2im is the adjoint.
    #[test]
    fn col2im_is_the_adjoint_of_im2col() {
        let (c, h, w) = (3, 6, 5);
        let image: Vec<f64> = (0..c * h * w).map(|v| ((v * 7) % 11) as f64 - 5.0).collect();
        for (kernel, stride, padding) in [([3, 3], [1, 1], [1, 1]), ([2, 3], [2, 2], [1, 0])] {
            let win = Window { kernel, stride, padding };
            let (oh, ow) = (win.out_len(0, h).unwrap(), win.out_len(1, w).unwrap());
            let n = c * kernel[0] * kernel[1] * oh * ow;
            let g: Vec<f64> = (0..n).map(|v| ((v * 5) % 13) as f64 - 6.0).collect();
            let mut cols = vec![0.0; n];
            im2col(&image, [c, h, w], &win, [oh, ow], &mut cols);
            let mut back = vec![0.0; c * h * w];
            col2im(&g, [c, h, w], &win, [oh, ow], &mut back);
            let lhs: f64 = cols.iter().zip(&g).map(|(a, b)| a * b).sum();
            let rhs: f64 = image.iter().zip(&back).map(|(a, b)| a * b).sum();
            assert_eq!(lhs, rhs);
        }
    }
}
