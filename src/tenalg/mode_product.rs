//! Mode products: tensor times matrix (TTM, also several modes at once) and tensor times vector
//! (TTV), computed as GEMMs on strided views of the row-major data — no unfolding copies.

use faer::linalg::matmul::matmul;
use faer::{Accum, MatMut, MatRef, Par};
use rayon::prelude::*;

use super::check::{mat_shape, non_empty};
use crate::error::{checked_len, try_filled_vec, Error, Result};
use crate::par::{auto_par, thread_count};
use crate::scalar::Scalar;
use crate::tensor::Tensor;

/// The mode-`n` product `Y = X ×ₙ A` of `x` with a `J × I_n` matrix `a`, using
/// [`auto_par`] parallelism; see [`mode_product_with`].
///
/// `Y[i_0, …, i_{n-1}, j, i_{n+1}, …] = Σ_{i_n} A[j, i_n] · X[i_0, …, i_n, …]`, equivalently
/// `unfold(Y, n) = A · unfold(X, n)`. `Y` has the shape of `X` with `I_n` replaced by `J`.
///
/// ```
/// use faer::mat;
/// use tensorize::{tenalg, Tensor};
/// let x = Tensor::from_fn(&[2, 3, 2], |i| (i[0] + i[1] + i[2]) as f64)?;
/// let a = mat![[1.0, 1.0, 1.0]]; // 1 × 3: sums mode 1
/// let y = tenalg::mode_product(&x, a.as_ref(), 1)?;
/// assert_eq!(y.shape(), &[2, 1, 2]);
/// assert_eq!(y.as_slice(), &[3.0, 6.0, 6.0, 9.0]);
/// # Ok::<(), tensorize::Error>(())
/// ```
///
/// # Errors
/// [`Error::ModeOutOfRange`]; [`Error::ShapeMismatch`] unless `a.ncols() == I_n`;
/// [`Error::ZeroDimension`] if `J` is 0; [`Error::SizeOverflow`] if the result is too large.
/// An empty `x` (an empty batch) gives an empty result.
pub fn mode_product<T: Scalar>(x: &Tensor<T>, a: MatRef<'_, T>, mode: usize) -> Result<Tensor<T>> {
    let flops = 2.0 * a.nrows() as f64 * x.numel() as f64;
    mode_product_with(x, a, mode, auto_par(flops))
}

/// [`mode_product`] with explicit parallelism `par`.
///
/// Viewing `X` as `(P, I_n, Q)` with `P = ∏_{k<n} I_k` and `Q = ∏_{k>n} I_k`, each block
/// `Y[p] (J × Q) = A · X[p] (I_n × Q)` is one GEMM on a row-major view of the data. For the first
/// mode (`P = 1`) that is a single GEMM; for the last mode (`Q = 1`) it is the single GEMM
/// `Y (P × J) = X (P × I_n) · Aᵀ`. When `Q` is tiny (≤ 4) and `Q < P`, the product runs over
/// the `Q` strided slices `Y[:, :, q] (P × J) = X[:, :, q] (P × I_n) · Aᵀ` instead (fewer,
/// larger GEMMs). With `Par::Rayon` and many blocks, the blocks are distributed over threads
/// (each GEMM sequential); otherwise faer parallelizes each GEMM.
///
/// ```
/// use faer::Mat;
/// use tensorize::{par::Par, tenalg, Tensor};
/// let x = Tensor::<f32>::random_normal(&[4, 5, 6], 1)?;
/// let a = Mat::<f32>::from_fn(2, 6, |j, i| (j + i) as f32);
/// let y = tenalg::mode_product_with(&x, a.as_ref(), 2, Par::Seq)?;
/// assert_eq!(y.shape(), &[4, 5, 2]);
/// # Ok::<(), tensorize::Error>(())
/// ```
///
/// # Errors
/// As [`mode_product`].
pub fn mode_product_with<T: Scalar>(
    x: &Tensor<T>,
    a: MatRef<'_, T>,
    mode: usize,
    par: Par,
) -> Result<Tensor<T>> {
    let out_shape = mode_product_shape(x, a, mode, "mode_product")?;
    let numel = checked_len(&out_shape, std::mem::size_of::<T>())?;
    let mut out = Tensor::from_parts_unchecked(
        out_shape.clone(),
        try_filled_vec(&out_shape, numel, T::zero())?,
    );
    write_mode_product(x, a, mode, &mut out, par);
    Ok(out)
}

/// [`mode_product`] written into `out` (the caller's buffer, of the product's shape), with
/// explicit parallelism `par`.
///
/// ```
/// use faer::Mat;
/// use tensorize::{par::Par, tenalg, Tensor};
/// let x = Tensor::<f64>::random_normal(&[8, 5], 1)?; // a batch of 8 vectors
/// let a = Mat::<f64>::from_fn(3, 5, |j, i| (j * i) as f64);
/// let mut y = Tensor::zeros(&[8, 3])?;
/// tenalg::mode_product_into(&x, a.as_ref(), 1, &mut y, Par::Seq)?;
/// assert_eq!(y, tenalg::mode_product(&x, a.as_ref(), 1)?);
/// # Ok::<(), tensorize::Error>(())
/// ```
///
/// # Errors
/// As [`mode_product`], and [`Error::ShapeMismatch`] if `out` does not have the product's shape.
pub fn mode_product_into<T: Scalar>(
    x: &Tensor<T>,
    a: MatRef<'_, T>,
    mode: usize,
    out: &mut Tensor<T>,
    par: Par,
) -> Result<()> {
    let out_shape = mode_product_shape(x, a, mode, "mode_product_into")?;
    if out.shape() != out_shape.as_slice() {
        return Err(Error::ShapeMismatch {
            op: "mode_product_into",
            left: out_shape,
            right: out.shape().to_vec(),
            detail: "the output must have the shape of the product".into(),
        });
    }
    write_mode_product(x, a, mode, out, par);
    Ok(())
}

/// The shape of `x ×_mode a`, after checking the mode and that `a` has `I_mode` columns.
fn mode_product_shape<T: Scalar>(
    x: &Tensor<T>,
    a: MatRef<'_, T>,
    mode: usize,
    op: &'static str,
) -> Result<Vec<usize>> {
    x.check_mode(mode)?;
    let shape = x.shape();
    let i_n = shape[mode];
    if a.ncols() != i_n {
        return Err(Error::ShapeMismatch {
            op,
            left: shape.to_vec(),
            right: mat_shape(a),
            detail: format!("matrix has {} columns but mode {mode} has dimension {i_n}", a.ncols()),
        });
    }
    let mut out_shape = shape.to_vec();
    out_shape[mode] = a.nrows();
    if a.nrows() == 0 {
        return Err(Error::ZeroDimension { shape: out_shape });
    }
    Ok(out_shape)
}

/// `out = x ×_mode a` for shapes already checked; nothing to do for an empty output.
fn write_mode_product<T: Scalar>(
    x: &Tensor<T>,
    a: MatRef<'_, T>,
    mode: usize,
    out: &mut Tensor<T>,
    par: Par,
) {
    if out.is_empty() {
        return;
    }
    if x.is_empty() {
        // Only the contracted mode is empty: every output entry is an empty sum.
        out.fill(T::zero());
        return;
    }
    let shape = x.shape();
    let before: usize = shape[..mode].iter().product();
    let after: usize = shape[mode + 1..].iter().product();
    ttm_into(x.as_slice(), a, before, after, out.as_mut_slice(), par);
}

/// Up to this many trailing elements `Q` per fibre, [`ttm_slices`] (Q strided GEMMs of P rows)
/// beats P tiny block GEMMs of Q columns; above it the strided reads waste cache lines (measured
/// on the 2-core dev machine: at Q = 2 slices were ~1.8× faster, at Q = 8 and Q = 40 ~4–5× slower).
const SLICE_MAX_AFTER: usize = 4;

/// `out (P × J × Q) = x (P × I × Q) ×₁ a (J × I)`, all row-major; sizes already checked.
fn ttm_into<T: Scalar>(
    x: &[T],
    a: MatRef<'_, T>,
    before: usize,
    after: usize,
    out: &mut [T],
    par: Par,
) {
    let (j, i_n) = (a.nrows(), a.ncols());
    let one = T::one();
    if after == 1 {
        let xm = MatRef::from_row_major_slice(x, before, i_n);
        let ym = MatMut::from_row_major_slice_mut(out, before, j);
        matmul(ym, Accum::Replace, xm, a.transpose(), one, par);
    } else if before == 1 {
        let xm = MatRef::from_row_major_slice(x, i_n, after);
        let ym = MatMut::from_row_major_slice_mut(out, j, after);
        matmul(ym, Accum::Replace, a, xm, one, par);
    } else if after <= SLICE_MAX_AFTER && after < before {
        ttm_slices(x, a, before, after, out, par);
    } else if thread_count(par) > 1 && before >= 2 * thread_count(par) {
        out.par_chunks_mut(j * after).zip(x.par_chunks(i_n * after)).for_each(|(yb, xb)| {
            let xm = MatRef::from_row_major_slice(xb, i_n, after);
            let ym = MatMut::from_row_major_slice_mut(yb, j, after);
            matmul(ym, Accum::Replace, a, xm, one, Par::Seq);
        });
    } else {
        for (yb, xb) in out.chunks_mut(j * after).zip(x.chunks(i_n * after)) {
            let xm = MatRef::from_row_major_slice(xb, i_n, after);
            let ym = MatMut::from_row_major_slice_mut(yb, j, after);
            matmul(ym, Accum::Replace, a, xm, one, par);
        }
    }
}

/// The `Q` GEMMs `Y[:, :, q] (P × J) = X[:, :, q] (P × I) · Aᵀ` on strided views.
fn ttm_slices<T: Scalar>(
    x: &[T],
    a: MatRef<'_, T>,
    before: usize,
    after: usize,
    out: &mut [T],
    par: Par,
) {
    let (j, i_n) = (a.nrows(), a.ncols());
    assert!(x.len() == before * i_n * after && out.len() == before * j * after);
    // Strides fit in isize: the buffers' lengths do (Vec guarantees it).
    let (xs_row, ys_row, cs) = ((i_n * after) as isize, (j * after) as isize, after as isize);
    for q in 0..after {
        // SAFETY: element (p, i) of the view sits at q + p·I·Q + i·Q ≤ (P·I·Q) − 1 < x.len(), and
        // (p, j) at q + p·J·Q + j·Q < out.len() (checked above). The views live only for this
        // iteration, and `out` is borrowed mutably by nothing else meanwhile.
        let (xm, ym) = unsafe {
            (
                MatRef::from_raw_parts(x.as_ptr().add(q), before, i_n, xs_row, cs),
                MatMut::from_raw_parts_mut(out.as_mut_ptr().add(q), before, j, ys_row, cs),
            )
        };
        matmul(ym, Accum::Replace, xm, a.transpose(), T::one(), par);
    }
}

/// The multi-mode product `X ×_{k} A_k` over every mode `k ≠ skip`, with [`auto_par`]
/// parallelism; see [`multi_mode_product_with`].
///
/// `mats.len()` must equal `x.ndim()`; `mats[k]` (`J_k × I_k`) acts on mode `k`; `mats[skip]` is
/// ignored (pass any matrix there). Typical uses: a Tucker reconstruction
/// `G ×₀ U_0 ×₁ U_1 ⋯` and HOOI's projections `X ×_{k≠n} U_kᵀ` (with `skip = Some(n)`).
///
/// ```
/// use faer::Mat;
/// use tensorize::{tenalg, Tensor};
/// let x = Tensor::<f64>::random_normal(&[3, 4, 5], 0)?;
/// let mats = [Mat::<f64>::identity(2, 3), Mat::identity(4, 4), Mat::identity(1, 5)];
/// let refs: Vec<_> = mats.iter().map(|m| m.as_ref()).collect();
/// let y = tenalg::multi_mode_product(&x, &refs, Some(1))?;
/// assert_eq!(y.shape(), &[2, 4, 1]);
/// assert_eq!(y.get(&[1, 2, 0])?, x.get(&[1, 2, 0])?);
/// # Ok::<(), tensorize::Error>(())
/// ```
///
/// # Errors
/// [`Error::ShapeMismatch`] if `mats.len() != x.ndim()` or a used matrix's column count differs
/// from its mode's dimension; [`Error::ModeOutOfRange`] if `skip` is out of range; the errors of
/// [`mode_product`].
pub fn multi_mode_product<T: Scalar>(
    x: &Tensor<T>,
    mats: &[MatRef<'_, T>],
    skip: Option<usize>,
) -> Result<Tensor<T>> {
    let order = product_order(x, mats, skip)?;
    let (mut numel, mut flops) = (x.numel() as f64, 0.0);
    for &k in &order {
        flops += 2.0 * mats[k].nrows() as f64 * numel;
        numel = numel / mats[k].ncols() as f64 * mats[k].nrows() as f64;
    }
    multi_mode_product_with(x, mats, skip, auto_par(flops))
}

/// [`multi_mode_product`] with explicit parallelism `par`.
///
/// The modes are applied cheapest-first: in increasing order of the ratio `J_k / I_k`, so the
/// modes that shrink the tensor most go first and every later product works on a smaller
/// tensor (with that order, no intermediate is larger than the input or the result).
///
/// ```
/// use faer::Mat;
/// use tensorize::{par::Par, tenalg, Tensor};
/// let x = Tensor::<f32>::ones(&[2, 3])?;
/// let mats = [Mat::<f32>::ones(1, 2), Mat::ones(1, 3)];
/// let refs: Vec<_> = mats.iter().map(|m| m.as_ref()).collect();
/// let y = tenalg::multi_mode_product_with(&x, &refs, None, Par::Seq)?;
/// assert_eq!(y.as_slice(), &[6.0]);
/// # Ok::<(), tensorize::Error>(())
/// ```
///
/// # Errors
/// As [`multi_mode_product`].
pub fn multi_mode_product_with<T: Scalar>(
    x: &Tensor<T>,
    mats: &[MatRef<'_, T>],
    skip: Option<usize>,
    par: Par,
) -> Result<Tensor<T>> {
    let order = product_order(x, mats, skip)?;
    let mut current: Option<Tensor<T>> = None;
    for k in order {
        let next = mode_product_with(current.as_ref().unwrap_or(x), mats[k], k, par)?;
        current = Some(next);
    }
    Ok(current.unwrap_or_else(|| x.clone()))
}

/// Checks the arguments of a multi-mode product and returns the modes in application order.
fn product_order<T: Scalar>(
    x: &Tensor<T>,
    mats: &[MatRef<'_, T>],
    skip: Option<usize>,
) -> Result<Vec<usize>> {
    let shape = x.shape();
    if mats.len() != shape.len() {
        return Err(Error::ShapeMismatch {
            op: "multi_mode_product",
            left: shape.to_vec(),
            right: vec![mats.len()],
            detail: format!(
                "expected one matrix per mode ({}), got {} matrices",
                shape.len(),
                mats.len()
            ),
        });
    }
    if let Some(s) = skip {
        x.check_mode(s)?;
    }
    let mut order: Vec<usize> = (0..shape.len()).filter(|&k| Some(k) != skip).collect();
    for &k in &order {
        if mats[k].ncols() != shape[k] {
            return Err(Error::ShapeMismatch {
                op: "multi_mode_product",
                left: shape.to_vec(),
                right: mat_shape(mats[k]),
                detail: format!(
                    "matrix {k} has {} columns but mode {k} has dimension {}",
                    mats[k].ncols(),
                    shape[k]
                ),
            });
        }
    }
    // Ascending J_k / I_k, compared exactly as J_a·I_b < J_b·I_a; ties keep mode order.
    order.sort_by_key(|&k| k);
    order.sort_by(|&p, &q| {
        let lhs = mats[p].nrows() as u128 * shape[q] as u128;
        let rhs = mats[q].nrows() as u128 * shape[p] as u128;
        lhs.cmp(&rhs)
    });
    Ok(order)
}

/// The mode-`n` tensor–vector product (TTV) `y = X ×ₙ vᵀ`, of order one less than `x`:
/// `y[i_0, …, i_{n-1}, i_{n+1}, …] = Σ_{i_n} v[i_n] · X[i_0, …, i_n, …]`.
///
/// A vector (order 1) gives an order-0 tensor (shape `[]`) holding the dot product.
///
/// ```
/// use tensorize::{tenalg, Tensor};
/// let x = Tensor::from_fn(&[2, 3], |i| (3 * i[0] + i[1]) as f64)?; // [[0,1,2],[3,4,5]]
/// let y = tenalg::mode_vector_product(&x, &[1.0, 0.0, -1.0], 1)?;
/// assert_eq!(y.shape(), &[2]);
/// assert_eq!(y.as_slice(), &[-2.0, -2.0]);
/// let z = tenalg::mode_vector_product(&x, &[1.0, 1.0], 0)?;
/// assert_eq!(z.as_slice(), &[3.0, 5.0, 7.0]);
/// # Ok::<(), tensorize::Error>(())
/// ```
///
/// An empty `x` (a zero dimension on another mode) gives an empty result.
///
/// # Errors
/// [`Error::ModeOutOfRange`]; [`Error::ShapeMismatch`] unless `v.len() == I_n`.
pub fn mode_vector_product<T: Scalar>(x: &Tensor<T>, v: &[T], mode: usize) -> Result<Tensor<T>> {
    x.check_mode(mode)?;
    non_empty("v", v)?;
    let shape = x.shape();
    let i_n = shape[mode];
    if v.len() != i_n {
        return Err(Error::ShapeMismatch {
            op: "mode_vector_product",
            left: shape.to_vec(),
            right: vec![v.len()],
            detail: format!("vector has length {} but mode {mode} has dimension {i_n}", v.len()),
        });
    }
    let before: usize = shape[..mode].iter().product();
    let after: usize = shape[mode + 1..].iter().product();
    let mut out = vec![T::zero(); before * after];
    if out.is_empty() {
        // An empty tensor (another mode of dimension 0) gives an empty result.
        return Ok(Tensor::from_parts_unchecked(out_shape_of(shape, mode), out));
    }
    let data = x.as_slice();
    for (p, yp) in out.chunks_mut(after).enumerate() {
        let block = &data[p * i_n * after..(p + 1) * i_n * after];
        for (&vi, row) in v.iter().zip(block.chunks(after)) {
            for (y, &xv) in yp.iter_mut().zip(row) {
                *y += vi * xv;
            }
        }
    }
    Ok(Tensor::from_parts_unchecked(out_shape_of(shape, mode), out))
}

/// `shape` without mode `mode`.
fn out_shape_of(shape: &[usize], mode: usize) -> Vec<usize> {
    let mut out = shape.to_vec();
    out.remove(mode);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tenalg::testutil::{assert_close, linear, multi_index};
    use faer::Mat;

    fn naive_ttm<T: Scalar>(x: &Tensor<T>, a: MatRef<'_, T>, n: usize) -> Vec<T> {
        let mut out_shape = x.shape().to_vec();
        out_shape[n] = a.nrows();
        let numel: usize = out_shape.iter().product();
        let mut out = vec![T::zero(); numel];
        for (p, o) in out.iter_mut().enumerate() {
            let mut idx = multi_index(p, &out_shape);
            let j = idx[n];
            let mut s = T::zero();
            for i in 0..x.shape()[n] {
                idx[n] = i;
                s += a[(j, i)] * x.as_slice()[linear(&idx, x.shape())];
            }
            *o = s;
        }
        out
    }

    fn check<T: Scalar>(shape: &[usize]) {
        let x = Tensor::<T>::random_normal(shape, 11).unwrap();
        for n in 0..shape.len() {
            for j in [1, 3] {
                let a = Mat::<T>::from_fn(j, shape[n], |r, c| T::of((r as f64 - c as f64) / 3.0));
                let want = naive_ttm(&x, a.as_ref(), n);
                for par in [Par::Seq, Par::rayon(2)] {
                    let y = mode_product_with(&x, a.as_ref(), n, par).unwrap();
                    assert_close(y.as_slice(), &want, &format!("ttm {shape:?} mode {n} j {j}"));
                }
                let v: Vec<T> = (0..shape[n]).map(|i| T::of(i as f64 - 0.5)).collect();
                let vm = Mat::<T>::from_fn(1, shape[n], |_, c| v[c]);
                let want = naive_ttm(&x, vm.as_ref(), n);
                let y = mode_vector_product(&x, &v, n).unwrap();
                assert_eq!(y.ndim(), shape.len() - 1);
                assert_close(y.as_slice(), &want, &format!("ttv {shape:?} mode {n}"));
            }
        }
    }

    #[test]
    fn matches_naive() {
        let shapes: [&[usize]; 8] = [
            &[5],
            &[3, 4],
            &[3, 4, 2],
            &[2, 7, 3],
            &[9, 2, 2],
            &[2, 3, 2, 3, 2],
            &[1, 4, 1],
            &[8, 3, 5],
        ];
        for shape in shapes {
            check::<f32>(shape);
            check::<f64>(shape);
        }
    }

    #[test]
    fn multi_matches_sequential() {
        let x = Tensor::<f64>::random_normal(&[3, 4, 5, 2], 5).unwrap();
        let mats: Vec<Mat<f64>> = [(6, 3), (2, 4), (5, 5), (1, 2)]
            .iter()
            .map(|&(j, i)| Mat::from_fn(j, i, |r, c| ((r * 7 + c * 3) % 5) as f64 - 2.0))
            .collect();
        let refs: Vec<_> = mats.iter().map(|m| m.as_ref()).collect();
        for skip in [None, Some(0), Some(2), Some(3)] {
            let mut want = x.clone();
            for k in (0..4).filter(|&k| Some(k) != skip) {
                want = Tensor::from_vec(
                    &{
                        let mut s = want.shape().to_vec();
                        s[k] = mats[k].nrows();
                        s
                    },
                    naive_ttm(&want, refs[k], k),
                )
                .unwrap();
            }
            let got = multi_mode_product(&x, &refs, skip).unwrap();
            assert_eq!(got.shape(), want.shape());
            assert_close(got.as_slice(), want.as_slice(), "multi");
        }
    }

    #[test]
    fn order_is_cheapest_first() {
        let x = Tensor::<f64>::zeros(&[4, 4, 4]).unwrap();
        let mats = [Mat::<f64>::zeros(8, 4), Mat::zeros(1, 4), Mat::zeros(2, 4)];
        let refs: Vec<_> = mats.iter().map(|m| m.as_ref()).collect();
        assert_eq!(product_order(&x, &refs, None).unwrap(), vec![1, 2, 0]);
    }
}
