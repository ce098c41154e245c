//! The one strided-copy engine: a row-major output written from a source read through arbitrary
//! strides. Mode permutations, unfoldings, views and the TT-matvec state copies all go through it.

use super::row_major_strides;

/// Axes an odometer keeps on the stack; more (rare after [`simplify`]) go to the heap.
const INLINE_AXES: usize = 16;

/// Drops unit axes and merges neighbours that are contiguous in the source (`strides[k] ==
/// strides[k + 1] · dims[k + 1]`), so a copy runs over as few, as long axes as possible. Always
/// returns at least one axis.
pub(crate) fn simplify(dims: &[usize], strides: &[usize]) -> (Vec<usize>, Vec<usize>) {
    let mut d: Vec<usize> = Vec::with_capacity(dims.len());
    let mut s: Vec<usize> = Vec::with_capacity(dims.len());
    for (&n, &st) in dims.iter().zip(strides) {
        if n == 1 {
            continue;
        }
        match (d.last_mut(), s.last_mut()) {
            (Some(ld), Some(ls)) if *ls == st * n => {
                *ld *= n;
                *ls = st;
            }
            _ => {
                d.push(n);
                s.push(st);
            }
        }
    }
    if d.is_empty() {
        d.push(1);
        s.push(1);
    }
    (d, s)
}

/// Writes into `out` (row-major, shape `dims`) the elements of `src` read with `strides` (one per
/// output axis): `out[i] = src[Σ_k i_k · strides[k]]`. The caller guarantees that every read is in
/// bounds and that `out.len() = ∏ dims`.
///
/// The axes are simplified first. When the source's contiguous axis is not the output's last
/// one (a transposition), the copy runs over square tiles of those two axes so that both sides
/// stay in cache; otherwise the two innermost axes are plain loops under an odometer.
pub(crate) fn strided_copy<T: Copy>(src: &[T], dims: &[usize], strides: &[usize], out: &mut [T]) {
    debug_assert_eq!(out.len(), dims.iter().product::<usize>());
    if out.is_empty() {
        return;
    }
    let (dims, strides) = simplify(dims, strides);
    let last = dims.len() - 1;
    match (0..last).find(|&k| strides[k] == 1 && strides[last] != 1) {
        Some(p) => tiled_copy(src, &dims, &strides, p, out),
        None => odometer_copy(src, &dims, &strides, out),
    }
}

/// [`strided_copy`] without simplification or tiling, for axes that are already simplified and
/// copies small enough to stay in cache (the TT-matvec states): the two innermost axes are plain
/// loops (the last one often a short rank axis), an odometer runs over the others.
pub(crate) fn odometer_copy<T: Copy>(src: &[T], dims: &[usize], strides: &[usize], out: &mut [T]) {
    if out.is_empty() {
        return;
    }
    if dims.len() == 1 {
        let (n, s) = (dims[0], strides[0]);
        for (j, v) in out[..n].iter_mut().enumerate() {
            *v = src[j * s];
        }
        return;
    }
    let last = dims.len() - 1;
    let (nl, sl) = (dims[last], strides[last]);
    let (n2, s2) = (dims[last - 1], strides[last - 1]);
    let outer = last - 1;
    let mut odometer = Odometer::new(outer);
    let (mut ibase, mut o) = (0usize, 0usize);
    loop {
        let block = &mut out[o..o + n2 * nl];
        if sl == 1 {
            for (i2, dst) in block.chunks_exact_mut(nl).enumerate() {
                let from = ibase + i2 * s2;
                dst.copy_from_slice(&src[from..from + nl]);
            }
        } else {
            for (i2, dst) in block.chunks_exact_mut(nl).enumerate() {
                let from = ibase + i2 * s2;
                for (j, v) in dst.iter_mut().enumerate() {
                    *v = src[from + j * sl];
                }
            }
        }
        o += n2 * nl;
        if !odometer.advance(&dims[..outer], |k, steps| {
            ibase = step_offset(ibase, strides[k], steps);
        }) {
            return;
        }
    }
}

/// Calls `f(a, b)` for every multi-index `i` of `dims` in row-major order, with the offsets
/// `a = Σ_k i_k · a_strides[k]` and `b = Σ_k i_k · b_strides[k]`: the walk behind writes through
/// a mutable view, where the destination is strided too. Nothing is called if a dimension is 0;
/// an order-0 shape is one call at `(0, 0)`.
pub(crate) fn for_each_offset_pair(
    dims: &[usize],
    a_strides: &[usize],
    b_strides: &[usize],
    mut f: impl FnMut(usize, usize),
) {
    if dims.contains(&0) {
        return;
    }
    let Some(last) = dims.len().checked_sub(1) else {
        f(0, 0);
        return;
    };
    let (n, sa, sb) = (dims[last], a_strides[last], b_strides[last]);
    let mut odometer = Odometer::new(last);
    let (mut a, mut b) = (0usize, 0usize);
    loop {
        for j in 0..n {
            f(a + j * sa, b + j * sb);
        }
        if !odometer.advance(&dims[..last], |k, steps| {
            a = step_offset(a, a_strides[k], steps);
            b = step_offset(b, b_strides[k], steps);
        }) {
            return;
        }
    }
}

/// The transposing copy: tiles of the source's contiguous axis `p` and the output's last axis,
/// under an odometer over the remaining axes.
fn tiled_copy<T: Copy>(src: &[T], dims: &[usize], strides: &[usize], p: usize, out: &mut [T]) {
    /// Side of the square tiles.
    const TILE: usize = 32;
    let last = dims.len() - 1;
    let out_strides = row_major_strides(dims);
    let outer: Vec<usize> = (0..last).filter(|&k| k != p).collect();
    let outer_dims: Vec<usize> = outer.iter().map(|&k| dims[k]).collect();
    let (n_last, s_last) = (dims[last], strides[last]);
    let (n_p, os_p) = (dims[p], out_strides[p]);
    let mut odometer = Odometer::new(outer.len());
    let (mut ibase, mut obase) = (0usize, 0usize);
    loop {
        for p0 in (0..n_p).step_by(TILE) {
            for l0 in (0..n_last).step_by(TILE) {
                for ip in p0..(p0 + TILE).min(n_p) {
                    let (o, i) = (obase + ip * os_p, ibase + ip);
                    for il in l0..(l0 + TILE).min(n_last) {
                        out[o + il] = src[i + il * s_last];
                    }
                }
            }
        }
        if !odometer.advance(&outer_dims, |k, steps| {
            ibase = step_offset(ibase, strides[outer[k]], steps);
            obase = step_offset(obase, out_strides[outer[k]], steps);
        }) {
            return;
        }
    }
}

/// The offset after an axis of stride `stride` moved by `step`.
fn step_offset(base: usize, stride: usize, step: Step) -> usize {
    match step {
        Step::Forward => base + stride,
        Step::Back(n) => base - stride * n,
    }
}

/// How an odometer axis moved.
#[derive(Clone, Copy)]
enum Step {
    /// One forward.
    Forward,
    /// Back to 0 from index `n` (a wrap): the offset falls by `n` strides.
    Back(usize),
}

/// A multi-index over the first `n` axes, last axis fastest, stack-allocated for up to
/// [`INLINE_AXES`] axes.
struct Odometer {
    inline: [usize; INLINE_AXES],
    heap: Vec<usize>,
    n: usize,
}

impl Odometer {
    fn new(n: usize) -> Self {
        let heap = if n > INLINE_AXES { vec![0; n] } else { Vec::new() };
        Self { inline: [0; INLINE_AXES], heap, n }
    }

    /// Advances by one, telling `moved(axis, step)` every axis that changed; false once every
    /// index has wrapped (the iteration is over).
    fn advance(&mut self, dims: &[usize], mut moved: impl FnMut(usize, Step)) -> bool {
        let idx: &mut [usize] =
            if self.n > INLINE_AXES { &mut self.heap } else { &mut self.inline[..self.n] };
        let mut k = idx.len();
        loop {
            if k == 0 {
                return false;
            }
            k -= 1;
            if idx[k] + 1 < dims[k] {
                idx[k] += 1;
                moved(k, Step::Forward);
                return true;
            }
            moved(k, Step::Back(idx[k]));
            idx[k] = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The definition: `out[i] = src[Σ i_k strides_k]`, by a naive multi-index loop.
    fn naive(src: &[f64], dims: &[usize], strides: &[usize]) -> Vec<f64> {
        let n: usize = dims.iter().product();
        let mut out = Vec::with_capacity(n);
        let mut idx = vec![0; dims.len()];
        for _ in 0..n {
            out.push(src[idx.iter().zip(strides).map(|(i, s)| i * s).sum::<usize>()]);
            for k in (0..dims.len()).rev() {
                idx[k] += 1;
                if idx[k] < dims[k] {
                    break;
                }
                idx[k] = 0;
            }
        }
        out
    }

    fn permutations(n: usize) -> Vec<Vec<usize>> {
        if n == 0 {
            return vec![vec![]];
        }
        let mut all = Vec::new();
        for p in permutations(n - 1) {
            for at in 0..=p.len() {
                let mut q = p.clone();
                q.insert(at, n - 1);
                all.push(q);
            }
        }
        all
    }

    #[test]
    fn every_permutation_of_a_few_shapes_matches_the_definition() {
        for shape in [vec![3, 1, 4, 2], vec![40, 3, 35], vec![1, 1, 5], vec![7], vec![2, 33, 2, 34]]
        {
            let n: usize = shape.iter().product();
            let src: Vec<f64> = (0..n).map(|v| v as f64).collect();
            let st = row_major_strides(&shape);
            for perm in permutations(shape.len()) {
                let dims: Vec<usize> = perm.iter().map(|&p| shape[p]).collect();
                let strides: Vec<usize> = perm.iter().map(|&p| st[p]).collect();
                let want = naive(&src, &dims, &strides);
                let mut got = vec![f64::NAN; n];
                strided_copy(&src, &dims, &strides, &mut got);
                assert_eq!(got, want, "shape {shape:?} perm {perm:?}");
                if dims.len() > 1 {
                    let mut plain = vec![f64::NAN; n];
                    odometer_copy(&src, &dims, &strides, &mut plain);
                    assert_eq!(plain, want, "odometer, shape {shape:?} perm {perm:?}");
                }
            }
        }
    }

    #[test]
    fn strided_sub_blocks_and_many_axes_match_the_definition() {
        // A 3 × 4 block of a 5 × 6 matrix starting at (1, 2), read column by column.
        let src: Vec<f64> = (0..30).map(|v| v as f64).collect();
        let (dims, strides) = ([4, 3], [1, 6]);
        let mut got = vec![0.0; 12];
        strided_copy(&src[8..], &dims, &strides, &mut got);
        assert_eq!(got, naive(&src[8..], &dims, &strides));
        // More axes than the odometer keeps on the stack.
        let shape = vec![2; 20];
        let src: Vec<f64> = (0..1 << 20).map(|v| v as f64).collect();
        let mut rev = row_major_strides(&shape);
        rev.reverse();
        let mut got = vec![0.0; 1 << 20];
        strided_copy(&src, &shape, &rev, &mut got);
        assert_eq!(got, naive(&src, &shape, &rev));
    }

    #[test]
    fn simplify_merges_contiguous_axes_and_drops_units() {
        assert_eq!(simplify(&[2, 1, 3, 4], &[12, 99, 4, 1]), (vec![24], vec![1]));
        assert_eq!(simplify(&[3, 4], &[1, 3]), (vec![3, 4], vec![1, 3]));
        assert_eq!(simplify(&[1, 1], &[1, 1]), (vec![1], vec![1]));
    }

    #[test]
    fn offset_pairs_walk_row_major_order() {
        let mut seen = vec![];
        for_each_offset_pair(&[2, 3], &[3, 1], &[1, 2], |a, b| seen.push((a, b)));
        assert_eq!(seen, [(0, 0), (1, 2), (2, 4), (3, 1), (4, 3), (5, 5)]);
        let mut calls = 0;
        for_each_offset_pair(&[], &[], &[], |a, b| {
            assert_eq!((a, b), (0, 0));
            calls += 1;
        });
        for_each_offset_pair(&[4, 0], &[1, 1], &[1, 1], |_, _| calls += 10);
        assert_eq!(calls, 1);
    }

    #[test]
    fn an_empty_copy_writes_nothing() {
        let mut out: [f64; 0] = [];
        strided_copy(&[], &[0, 3], &[3, 1], &mut out);
        odometer_copy(&[], &[3, 0], &[1, 3], &mut out);
    }
}
