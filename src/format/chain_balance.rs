//! Chains of cores (trains and rings) balanced across their inner bonds by powers of two, for
//! cores whose entries lie so far from 1 that products along the chain leave the floating range
//! on the way to an ordinary tensor (a TT core of 5e-324 before one of 1e300: the fuzz targets
//! found the dense form, the norm and the error of such trains off by up to 100 %).

use crate::error::{checked_dense, try_filled_vec, Error, Result};
use crate::format::norm_guard::{binary_exponent, unit_exponent};
use crate::format::tt::core_dims;
use crate::scalar::{ldexp, Scalar};
use crate::tensor::Tensor;

/// The cores `r_{k-1} × n_k × r_k` in `f64`, each inner bond balanced: slice `b` of bond `k`
/// (the right index of core `k`, the left index of core `k + 1`) scaled by `2^-e` on the left
/// and `2^e` on the right, so that every right slice of every core but the last has its largest
/// magnitude in `[0.5, 1)`, and the last core scaled by `2^-top` to the same; the chain is
/// `2^top` times the balanced one (exactly, up to terms below the subnormal range). The ring
/// bond of a tensor ring (the last core's right index, the first core's left index) is left as
/// it is. `None` when no right slice lies beyond `2^±40`: the cores are fine as they are.
pub(crate) fn balanced_chain<T: Scalar>(cores: &[Tensor<T>]) -> Option<(Vec<Tensor<f64>>, i32)> {
    balance(cores).map(|(balanced, top, _)| (balanced, top))
}

/// The dense tensor of a chain [`is_extreme_chain`] flags: its [`balanced_chain`] densified in
/// `f64` by `dense_f64` (the format's own GEMM path) and scaled once, when every product of
/// one balanced entry per core is a normal `f64`, so that no term can fall out of the range;
/// else [`wide_chain_dense`]. The second is exact but scalar code with an exponent per term,
/// far slower: most such chains are ordinary tensors of an extreme scale (the TT-SVD of data of
/// norm 1e-15), which the first serves.
///
/// # Errors
/// [`Error::SizeOverflow`] / [`Error::OutOfMemory`] if the tensor or an intermediate cannot be
/// allocated; the errors of `dense_f64`.
pub(crate) fn extreme_chain_dense<T: Scalar>(
    shape: Vec<usize>,
    cores: &[Tensor<T>],
    dense_f64: impl FnOnce(Vec<Tensor<f64>>) -> Result<Tensor<f64>>,
) -> Result<Tensor<T>> {
    match balance(cores) {
        Some((balanced, top, lowest)) if gemm_safe(lowest, cores.len()) => {
            let dense = dense_f64(balanced)?;
            let data = dense.as_slice().iter().map(|&v| T::of(ldexp(v, top))).collect();
            Ok(Tensor::from_parts_unchecked(shape, data))
        }
        _ => wide_chain_dense(shape, cores),
    }
}

/// Whether every product of `d` balanced entries, each at least `2^(lowest − 1)`, is a normal
/// `f64`.
fn gemm_safe(lowest: i32, d: usize) -> bool {
    let d = i32::try_from(d).unwrap_or(i32::MAX);
    lowest.saturating_sub(1).saturating_mul(d) >= f64::MIN_EXP - 1
}

/// [`balanced_chain`], and the exponent of the smallest non-zero balanced entry (`v` lies in
/// `[2^(e−1), 2^e)`), which bounds how small a product along the chain can get.
fn balance<T: Scalar>(cores: &[Tensor<T>]) -> Option<(Vec<Tensor<f64>>, i32, i32)> {
    if !is_extreme_chain(cores) {
        return None;
    }
    let d = cores.len();
    let mut lowest = i32::MAX;
    // carry[a]: the exponent the left slice `a` of the next core takes over.
    let mut carry = vec![0i32; core_dims(&cores[0])[0]];
    let mut out = Vec::with_capacity(d);
    for (k, core) in cores.iter().enumerate() {
        let [ra, n, rb] = core_dims(core);
        let data = core.as_slice();
        let last = k + 1 == d;
        let slot = |j: usize| if last { 0 } else { j % rb };
        // The new exponent of each right slice (one for the whole last core): the largest
        // exponent of its entries once carried (v · 2^carry[a] lies below 2^(e(v) + carry[a])).
        let mut top = vec![i32::MIN; if last { 1 } else { rb }];
        for a in 0..ra {
            for j in 0..n * rb {
                let v = data[a * n * rb + j].as_f64().abs();
                if v != 0.0 {
                    top[slot(j)] = top[slot(j)].max(binary_exponent(v) + carry[a]);
                }
            }
        }
        let top: Vec<i32> = top.into_iter().map(|e| if e == i32::MIN { 0 } else { e }).collect();
        let mut balanced = vec![0.0f64; ra * n * rb];
        for a in 0..ra {
            for j in 0..n * rb {
                let v = data[a * n * rb + j].as_f64();
                let shift = carry[a] - top[slot(j)];
                balanced[a * n * rb + j] = ldexp(v, shift);
                if v != 0.0 {
                    lowest = lowest.min(binary_exponent(v.abs()).saturating_add(shift));
                }
            }
        }
        out.push(Tensor::from_parts_unchecked(vec![ra, n, rb], balanced));
        if last {
            return Some((out, top[0], lowest));
        }
        carry = top;
    }
    None
}

/// The cores of [`balanced_chain`] in `T` (each entry at most about 1, so no overflow; entries
/// below `T`'s range are negligible beside their slice's largest).
pub(crate) fn in_precision<T: Scalar>(cores: &[Tensor<f64>]) -> Vec<Tensor<T>> {
    cores
        .iter()
        .map(|c| {
            Tensor::from_parts_unchecked(
                c.shape().to_vec(),
                c.as_slice().iter().map(|&v| T::of(v)).collect(),
            )
        })
        .collect()
}

/// `trace(M_1 ⋯ M_d)` for the matrices `M_k` (`r_{k-1} × r_k`, row-major, each given with its
/// column count), `r_0` rows in the first: an element of a train (`r_0 = 1`) or a ring. Every
/// number is carried as an `f64` mantissa with its own `i32` exponent ([`Wide`]), so no partial
/// product over- or underflows: in `T`, products of f32 cores of 1e±30, or with an f64 slice of
/// 5e-324 beside one of 1e300, lost digits or the whole element (found by the formats fuzz
/// target: elements 16–100 % off). Only the result is rounded into `T`.
pub(crate) fn chain_trace<T: Scalar>(
    r0: usize,
    matrices: impl IntoIterator<Item = (usize, Vec<T>)>,
) -> T {
    let mut m: Vec<Wide> =
        (0..r0 * r0).map(|i| Wide::of(if i % (r0 + 1) == 0 { 1.0 } else { 0.0 })).collect();
    let mut cols = r0;
    let mut terms = Vec::new();
    for (r2, g) in matrices {
        let r1 = cols;
        let g: Vec<Wide> = g.iter().map(|v| Wide::of(v.as_f64())).collect();
        let mut next = Vec::with_capacity(r0 * r2);
        for a in 0..r0 {
            for c in 0..r2 {
                terms.clear();
                terms.extend((0..r1).map(|b| m[a * r1 + b].times(g[b * r2 + c])));
                next.push(Wide::sum(&terms));
            }
        }
        m = next;
        cols = r2;
    }
    terms.clear();
    terms.extend((0..r0).map(|a| m[a * cols + a]));
    T::of(Wide::sum(&terms).value())
}

/// The dense tensor of shape `shape` of a train (`r_0 = r_d = 1`) or ring of
/// `cores`, every partial product carried as a [`Wide`] number, so that no term is lost on the
/// way: the cores of [`balanced_chain`] still lost elements where a tiny entry of a slice of
/// moderate size meets a huge one in the next core, and across the ring bond, which it leaves as
/// it is (formats fuzz target: ordinary elements came out 0). Scalar code with an exponent per
/// term: for the chains [`extreme_chain_dense`] cannot densify by GEMM.
///
/// # Errors
/// [`Error::SizeOverflow`] / [`Error::OutOfMemory`] if an intermediate cannot be allocated.
fn wide_chain_dense<T: Scalar>(shape: Vec<usize>, cores: &[Tensor<T>]) -> Result<Tensor<T>> {
    let numel = checked_dense(&shape, std::mem::size_of::<T>())?;
    let wide: Vec<Vec<Wide>> =
        cores.iter().map(|c| c.as_slice().iter().map(|v| Wide::of(v.as_f64())).collect()).collect();
    let [r0, n1, r1] = core_dims(&cores[0]);
    let mut out = try_filled_vec(&shape, numel, Wide::ZERO)?;
    let mut terms = Vec::new();
    for a in 0..r0 {
        // w[row, b]: the product of the first cores for the index prefix `row`, starting
        // from row `a` of the ring bond.
        let mut w: Vec<Wide> = wide[0][a * n1 * r1..(a + 1) * n1 * r1].to_vec();
        let (mut rows, mut cols) = (n1, r1);
        for (core, g) in cores.iter().zip(&wide).skip(1) {
            let [ra, n, rb] = core_dims(core);
            let len = rows
                .checked_mul(n)
                .and_then(|x| x.checked_mul(rb))
                .ok_or_else(|| Error::SizeOverflow { shape: vec![rows, n, rb] })?;
            let mut next = try_filled_vec(&[rows, n, rb], len, Wide::ZERO)?;
            for row in 0..rows {
                for i in 0..n {
                    for c in 0..rb {
                        terms.clear();
                        terms.extend(
                            (0..ra).map(|b| w[row * ra + b].times(g[(b * n + i) * rb + c])),
                        );
                        next[(row * n + i) * rb + c] = Wide::sum(&terms);
                    }
                }
            }
            (w, rows, cols) = (next, rows * n, rb);
        }
        // Close the ring: the last bond index meets `a` again (a train has r_0 = 1).
        for (row, o) in out.iter_mut().enumerate() {
            *o = Wide::sum(&[*o, w[row * cols + a]]);
        }
    }
    let data = out.into_iter().map(|v| T::of(v.value())).collect();
    Ok(Tensor::from_parts_unchecked(shape, data))
}

/// A number `mantissa · 2^exponent` with the mantissa an `f64` in `[0.5, 1)` (or 0): products
/// and sums of such numbers never leave the range on the way.
#[derive(Clone, Copy, Debug)]
struct Wide {
    mantissa: f64,
    exponent: i32,
}

impl Wide {
    /// `v` (finite) split into mantissa and exponent, exactly.
    fn of(v: f64) -> Self {
        let exponent = binary_exponent(v.abs());
        Self { mantissa: ldexp(v, -exponent), exponent }
    }

    fn times(self, other: Self) -> Self {
        let product = Self::of(self.mantissa * other.mantissa);
        Self {
            mantissa: product.mantissa,
            exponent: product.exponent + self.exponent + other.exponent,
        }
    }

    const ZERO: Self = Self { mantissa: 0.0, exponent: 0 };

    /// The sum, each term brought to the largest exponent among the non-zero ones first.
    fn sum(terms: &[Self]) -> Self {
        let top = terms.iter().filter(|t| t.mantissa != 0.0).map(|t| t.exponent).max();
        let Some(top) = top else { return Self::ZERO };
        let total: f64 = terms.iter().map(|t| ldexp(t.mantissa, t.exponent - top)).sum();
        let scaled = Self::of(total);
        Self { mantissa: scaled.mantissa, exponent: scaled.exponent + top }
    }

    /// The number as an `f64` (∞ or 0 beyond its range).
    fn value(self) -> f64 {
        ldexp(self.mantissa, self.exponent)
    }
}

/// Whether some right slice of some core has its largest magnitude beyond `2^±40`: the chains
/// whose products may leave the range on the way ([`balanced_chain`], [`extreme_chain_dense`]).
pub(crate) fn is_extreme_chain<T: Scalar>(cores: &[Tensor<T>]) -> bool {
    cores.iter().any(has_extreme_right_slice)
}

/// Whether some right slice `core[:, :, b]` has its largest magnitude beyond `2^±40`.
fn has_extreme_right_slice<T: Scalar>(core: &Tensor<T>) -> bool {
    let [_, _, rb] = core_dims(core);
    let mut max = vec![0.0f64; rb];
    for (j, v) in core.as_slice().iter().enumerate() {
        let m = &mut max[j % rb];
        *m = m.max(v.as_f64().abs());
    }
    max.into_iter().any(|m| unit_exponent(m) != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The product of the chain's matrices for one index per core, in f64 (trace for a ring).
    fn entry(cores: &[Tensor<f64>], index: &[usize]) -> f64 {
        let r0 = cores[0].shape()[0];
        let mut m: Vec<f64> =
            (0..r0 * r0).map(|i| if i % (r0 + 1) == 0 { 1.0 } else { 0.0 }).collect();
        let mut cols = r0;
        for (core, &i) in cores.iter().zip(index) {
            let [ra, n, rb] = core_dims(core);
            let mut next = vec![0.0; r0 * rb];
            for row in 0..r0 {
                for b in 0..rb {
                    next[row * rb + b] = (0..ra)
                        .map(|a| m[row * cols + a] * core.as_slice()[(a * n + i) * rb + b])
                        .sum();
                }
            }
            m = next;
            cols = rb;
        }
        (0..r0).map(|a| m[a * cols + a]).sum()
    }

    /// A ring element whose product passes 1e330 on the way: trace([[0, 0], [1e30, 7.9375]] ·
    /// [[0, 0], [1e300, -4.5]]) = 7.9375 · -4.5 (a common scale for the product lost it: 0).
    /// An ordinary train of an extreme scale (orthonormal-like cores, the last one carrying a
    /// norm of about 1e-200) is densified by the GEMM path, and right.
    #[test]
    fn an_ordinary_chain_of_extreme_scale_takes_the_gemm_path() {
        let mut cores: Vec<Tensor<f64>> = [[1, 4, 3], [3, 5, 2], [2, 3, 1]]
            .iter()
            .enumerate()
            .map(|(k, s)| Tensor::random_normal(s, k as u64).unwrap())
            .collect();
        let plain = entry_dense(&cores);
        cores[2] = cores[2].scale(1e-200);
        let (_, _, lowest) = balance(&cores).expect("an extreme chain");
        assert!(gemm_safe(lowest, cores.len()), "lowest exponent {lowest}");
        let dense = extreme_chain_dense(vec![4, 5, 3], &cores, |b| {
            Ok(Tensor::from_vec(&[4, 5, 3], entry_dense(&b)).unwrap())
        })
        .unwrap();
        for (got, want) in dense.as_slice().iter().zip(&plain) {
            assert!((got - want * 1e-200).abs() <= 1e-13 * want.abs() * 1e-200 + 1e-300);
        }
        // A subnormal entry in a slice of moderate size is not: the exact path takes over.
        cores[0].as_mut_slice()[0] = 5e-324;
        let (_, _, lowest) = balance(&cores).expect("an extreme chain");
        assert!(!gemm_safe(lowest, cores.len()));
    }

    /// Every element of a train by [`entry`], row-major.
    fn entry_dense(cores: &[Tensor<f64>]) -> Vec<f64> {
        let shape: Vec<usize> = cores.iter().map(|c| c.shape()[1]).collect();
        let numel: usize = shape.iter().product();
        (0..numel)
            .map(|flat| {
                let mut rest = flat;
                let mut index = vec![0; shape.len()];
                for k in (0..shape.len()).rev() {
                    index[k] = rest % shape[k];
                    rest /= shape[k];
                }
                entry(cores, &index)
            })
            .collect()
    }

    #[test]
    fn chain_trace_keeps_every_exponent() {
        let got: f64 =
            chain_trace(2, [(2, vec![0.0, 0.0, 1e30, 7.9375]), (2, vec![0.0, 0.0, 1e300, -4.5])]);
        assert_eq!(got, 7.9375 * -4.5);
        let tiny = f64::from_bits(1);
        let train: f64 = chain_trace(1, [(2, vec![tiny, 1.0]), (1, vec![2f64.powi(1000), 0.5])]);
        assert_eq!(train, 2f64.powi(-74) + 0.5);
        let f32_chain: f32 = chain_trace(
            1,
            [(1, vec![1e-30f32]), (1, vec![1e-30]), (1, vec![1e30]), (1, vec![3e30])],
        );
        assert!((f32_chain - 3.0).abs() < 1e-6, "{f32_chain}");
    }

    #[test]
    fn a_tiny_core_before_a_huge_one_is_balanced_exactly() {
        let tiny = f64::from_bits(1);
        let cores = vec![
            Tensor::from_vec(&[1, 1, 2], vec![tiny, 3.0 * tiny]).unwrap(),
            Tensor::from_vec(&[2, 2, 1], vec![2f64.powi(1000), 5.0, 0.0, 2f64.powi(1001)]).unwrap(),
        ];
        let (balanced, top) = balanced_chain(&cores).unwrap();
        for c in &balanced[..1] {
            assert!(c.max_abs() < 1.0 && c.max_abs() >= 0.5);
        }
        for i in 0..2 {
            let want = entry(&cores, &[0, i]);
            let got = ldexp(entry(&balanced, &[0, i]), top);
            assert_eq!(got, want, "{i}");
        }
        // The exact values: 2^-74 and 3 · 2^-1074 · 2^1001 = 3 · 2^-73.
        assert_eq!(ldexp(entry(&balanced, &[0, 0]), top), 2f64.powi(-74));
        assert_eq!(ldexp(entry(&balanced, &[0, 1]), top), 3.0 * 2f64.powi(-73));
        let moderate = vec![Tensor::from_vec(&[1, 2, 1], vec![1.5f32, -2.0]).unwrap()];
        assert!(balanced_chain(&moderate).is_none());
    }
}
