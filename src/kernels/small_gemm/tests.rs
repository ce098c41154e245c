//! The gathered small GEMM against the plain triple loop: output widths below, at and above
//! every register and panel boundary (f32 and f64), row counts that leave every row-block
//! remainder, `cin = 1`, contiguous and permuted gathers, and several threads.

use super::*;
use crate::tensor::Tensor;

fn random<T: Scalar>(n: usize, seed: u64) -> Vec<T> {
    Tensor::<T>::random_normal(&[n.max(1)], seed).unwrap().as_slice()[..n].to_vec()
}

/// Checks `dst` against `Σ_q P[i, q] C[q, j]` computed in f64, each entry within the
/// dot-product rounding bound `2 · (cin + 2) · eps · Σ_q |P[i, q] C[q, j]|`.
fn check<T: Scalar>(
    src: &[T],
    starts: &[usize],
    col_off: &[usize],
    c: &[T],
    cout: usize,
    dst: &[T],
    what: &str,
) {
    let (cin, eps) = (col_off.len(), T::epsilon().as_f64());
    assert_eq!(dst.len(), starts.len() * cout, "{what}: output length");
    for (i, &s) in starts.iter().enumerate() {
        for j in 0..cout {
            let (mut exact, mut abs) = (0.0, 0.0);
            for (q, &o) in col_off.iter().enumerate() {
                let p = src[s + o].as_f64() * c[q * cout + j].as_f64();
                exact += p;
                abs += p.abs();
            }
            let got = dst[i * cout + j].as_f64();
            let tol = 2.0 * (cin as f64 + 2.0) * eps * abs + f64::MIN_POSITIVE;
            assert!((got - exact).abs() <= tol, "{what}: ({i}, {j}) {got} vs {exact} (tol {tol})");
        }
    }
}

/// Row starts of `map` by its definition (row-major multi-index, `Σ i_t · stride_t`).
fn starts_of(dims: &[usize], strides: &[usize]) -> Vec<usize> {
    let rows: usize = dims.iter().product();
    (0..rows)
        .map(|mut r| {
            let mut s = 0;
            for (&n, &st) in dims.iter().zip(strides).rev() {
                s += (r % n) * st;
                r /= n;
            }
            s
        })
        .collect()
}

/// A contiguous `rows × cin` `P` times `C`.
fn check_contiguous<T: Scalar>(rows: usize, cin: usize, cout: usize, par: Par) {
    if !covers(cin, cout) {
        return; // no AVX2/FMA here: callers take the faer path
    }
    let p = random::<T>(rows * cin, 1);
    let c = random::<T>(cin * cout, 2);
    let col_off: Vec<usize> = (0..cin).collect();
    // NaN everywhere: any element the kernel forgets to write fails the check.
    let mut dst = vec![T::nan(); rows * cout];
    gather_gemm(
        &p,
        &RowMap::contiguous(rows, cin),
        &col_off,
        &PackedCore::new(&c, cin, cout),
        &mut dst,
        par,
    );
    let starts: Vec<usize> = (0..rows).map(|i| i * cin).collect();
    let what = format!("{} contiguous rows={rows} cin={cin} cout={cout} {par:?}", T::NAME);
    check(&p, &starts, &col_off, &c, cout, &dst, &what);
}

/// The TT-matvec gather: a state `[b, j, rest, a]` read as `P[(b, rest), (j, a)]`.
fn check_tt_gather<T: Scalar>(
    batch: usize,
    n: usize,
    rest: usize,
    r: usize,
    cout: usize,
    par: Par,
) {
    if !covers(n * r, cout) {
        return;
    }
    let len = n * rest * r;
    let state = random::<T>(batch * len, 3);
    let c = random::<T>(n * r * cout, 4);
    let (dims, strides) = ([batch, rest], [len, r]);
    let col_off: Vec<usize> = (0..n).flat_map(|j| (0..r).map(move |a| j * rest * r + a)).collect();
    let rows = RowMap::new(&dims, &strides);
    assert_eq!(rows.rows(), batch * rest);
    let mut dst = vec![T::nan(); batch * rest * cout];
    gather_gemm(&state, &rows, &col_off, &PackedCore::new(&c, n * r, cout), &mut dst, par);
    let what = format!("{} gather B={batch} n={n} rest={rest} r={r} cout={cout} {par:?}", T::NAME);
    check(&state, &starts_of(&dims, &strides), &col_off, &c, cout, &dst, &what);
}

fn widths<T>() -> Vec<usize> {
    let w = lanes_of::<T>();
    // Around one register, one panel, two and more panels, and the limit.
    let mut v = vec![1, 2, w - 1, w, w + 1, 2 * w + 3, 3 * w, 4 * w - 1, 4 * w, 4 * w + 1];
    v.extend([5 * w + 2, 7 * w, 28, 32, MAX_COUT - 1, MAX_COUT]);
    v.retain(|&c| c <= MAX_COUT);
    v.sort_unstable();
    v.dedup();
    v
}

fn all_contiguous<T: Scalar>() {
    for cout in widths::<T>() {
        for cin in [1, 2, 3, 4, 7, 16, 17, 32, MAX_CIN] {
            // Every remainder of the row blocks (3, 4, 6 or 8 rows) and a long run.
            for rows in [1, 2, 3, 5, 7, 8, 9, 13, 25, 100] {
                check_contiguous::<T>(rows, cin, cout, Par::Seq);
            }
        }
    }
}

#[test]
fn contiguous_f32() {
    all_contiguous::<f32>();
}

#[test]
fn contiguous_f64() {
    all_contiguous::<f64>();
}

#[test]
fn tt_gather_both_precisions() {
    for (batch, n, rest, r) in
        [(1, 4, 64, 8), (3, 4, 7, 4), (2, 7, 5, 3), (5, 1, 9, 1), (1, 3, 1, 2)]
    {
        for cout in [1, 4, 7, 8, 28, 32, 33, 64] {
            check_tt_gather::<f32>(batch, n, rest, r, cout, Par::Seq);
            check_tt_gather::<f64>(batch, n, rest, r, cout, Par::Seq);
        }
    }
}

#[test]
fn threads_split_rows() {
    // Enough rows for several threads, with a row count no split divides evenly and output
    // widths whose last register spills over a thread's last row.
    for cout in [3, 9, 28, 36] {
        for par in [Par::rayon(2), Par::rayon(3)] {
            check_contiguous::<f32>(MIN_ROWS_PER_THREAD * 3 + 5, 16, cout, par);
            check_contiguous::<f64>(MIN_ROWS_PER_THREAD * 3 + 5, 16, cout, par);
            check_tt_gather::<f32>(7, 4, 151, 4, cout, par);
            check_tt_gather::<f64>(7, 4, 151, 4, cout, par);
        }
    }
}

#[test]
fn row_map_merges_and_drops_axes() {
    // [2, 1, 3, 4] with strides that make the last two axes contiguous: one axis of 12 rows.
    let m = RowMap::new(&[2, 1, 3, 4], &[100, 7, 4, 1]);
    assert_eq!((m.nd, m.rows()), (2, 24));
    assert_eq!(&m.dims[..2], &[2, 12]);
    let mut cur = RowCursor::at(&m, 0);
    let got: Vec<usize> = (0..24).map(|_| cur.next_start()).collect();
    assert_eq!(got, starts_of(&[2, 3, 4], &[100, 4, 1]));
    // A cursor started mid-way continues the same sequence.
    let mut cur = RowCursor::at(&m, 13);
    assert_eq!(cur.next_start(), got[13]);
    assert_eq!(cur.next_start(), got[14]);
}

#[test]
fn covers_limits() {
    if !covers(1, 1) {
        return; // no AVX2/FMA: nothing is covered
    }
    assert!(covers(1, 1) && covers(MAX_CIN, MAX_COUT));
    assert!(!covers(0, 4) && !covers(4, 0));
    assert!(!covers(MAX_CIN + 1, 4) && !covers(4, MAX_COUT + 1));
}

#[test]
#[should_panic(expected = "gather reaches")]
fn gather_out_of_source_panics() {
    if !covers(2, 2) {
        panic!("gather reaches (no AVX2 here: nothing to check)");
    }
    let src = [1.0f32; 8];
    let mut dst = [0.0f32; 8];
    // Rows start at 0, 2, 4, 6 and read offsets 0 and 2: the last row reads src[8].
    let c = PackedCore::new(&[1.0f32; 4], 2, 2);
    gather_gemm(&src, &RowMap::contiguous(4, 2), &[0, 2], &c, &mut dst, Par::Seq);
}
