//! The patches of a batch of images as one matrix, and back: `rows` (`[batch·positions,
//! in·kh·kw]`, one patch per row: what a TT-matvec plan and the r-CP steps take); the adjoint
//! goes through `col2im`. Also the move of an output between `[batch·positions, out]` and
//! `[batch, out, positions]`.

use rayon::prelude::*;

use super::source::{Geometry, Source};
use crate::error::{checked_len, Result};
use crate::kernels::im2col::{col2im, im2col};
use crate::scalar::Scalar;

/// A zeroed buffer of `dims` numbers, its size checked first.
pub(super) fn zeros<T: Scalar>(dims: &[usize]) -> Result<Vec<T>> {
    Ok(vec![T::zero(); checked_len(dims, std::mem::size_of::<T>())?])
}

/// `[rows, cols]` (row-major) → `[cols, rows]`.
fn transpose_into<T: Copy>(a: &[T], rows: usize, cols: usize, out: &mut [T]) {
    for (i, row) in a.chunks_exact(cols).take(rows).enumerate() {
        for (j, &v) in row.iter().enumerate() {
            out[j * rows + i] = v;
        }
    }
}

/// Whether im2col is the identity on each image (1×1, stride 1, no padding).
fn plain(src: &Source) -> bool {
    let w = src.window();
    w.kernel == [1, 1] && w.stride == [1, 1] && w.padding == [0, 0]
}

/// The patch matrix of image `image` (`[in·kh·kw, positions]`) in `cols`.
fn patches<T: Scalar>(src: &Source, g: &Geometry, image: &[T], cols: &mut [T]) {
    let c = [g.channels, g.hw[0], g.hw[1]];
    im2col(image, c, &src.window(), g.out_hw, cols);
}

/// The rows layout `[batch·positions, in·kh·kw]` of the batch `x` (`[batch, in, h, w]`).
pub(super) fn rows<T: Scalar>(src: &Source, g: &Geometry, x: &[T]) -> Result<Vec<T>> {
    let (p, k) = (g.positions(), g.channels * src.kernel_len());
    let mut out = zeros(&[g.batch, p, k])?;
    if plain(src) && p == 1 {
        out.copy_from_slice(x);
        return Ok(out);
    }
    let mut cols = zeros(&[k, p])?;
    for (image, block) in x.chunks_exact(g.image_len()).zip(out.chunks_exact_mut(p * k)) {
        patches(src, g, image, &mut cols);
        transpose_into(&cols, k, p, block);
    }
    Ok(out)
}

/// The adjoint of [`rows`]: the image gradient `[batch, in, h, w]` of a rows gradient.
pub(super) fn rows_grad<T: Scalar>(src: &Source, g: &Geometry, d: &[T]) -> Result<Vec<T>> {
    let (p, k) = (g.positions(), g.channels * src.kernel_len());
    let mut dx = zeros(&[g.batch, g.image_len()])?;
    if plain(src) && p == 1 {
        dx.copy_from_slice(d);
        return Ok(dx);
    }
    let c = [g.channels, g.hw[0], g.hw[1]];
    let win = src.window();
    dx.par_chunks_exact_mut(g.image_len()).zip(d.par_chunks_exact(p * k)).for_each_init(
        || vec![T::zero(); k * p],
        |cols, (image, block)| {
            transpose_into(block, p, k, cols);
            col2im(cols, c, &win, g.out_hw, image);
        },
    );
    Ok(dx)
}

/// `[batch·positions, out]` → `[batch, out, positions]` (and back with `inverse`).
pub(super) fn rows_to_images<T: Scalar>(
    y: &[T],
    [batch, p, out]: [usize; 3],
    inverse: bool,
) -> Result<Vec<T>> {
    let mut o = zeros(&[batch, p, out])?;
    let len = p * out;
    for (src, dst) in y.chunks_exact(len).zip(o.chunks_exact_mut(len)) {
        if inverse {
            transpose_into(src, out, p, dst);
        } else {
            transpose_into(src, p, out, dst);
        }
    }
    Ok(o)
}
