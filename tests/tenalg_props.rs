//! Property tests of the tensor algebra (src/tenalg): unfold/fold, mode products, Khatri–Rao,
//! norms, reshape/permute round trips, MTTKRP and contraction, in f32 and f64.

// Test helpers outside #[test] fns unwrap too: a failure is a test failure.
#![allow(clippy::unwrap_used)]

use faer::linalg::matmul::matmul;
use faer::{Accum, Mat, MatRef, Par};
use proptest::prelude::*;
use tensorize::{tenalg, Scalar, Tensor};

const CASES: u32 = 64;

/// A shape of order 1–5 with dimensions 1–6.
fn shape() -> impl Strategy<Value = Vec<usize>> {
    prop::collection::vec(1usize..=6, 1..=5)
}

fn multi_is_sequential<T: Scalar>(
    s: &[usize],
    js: &[usize],
    skip: Option<usize>,
    seed: u64,
) -> Result<(), TestCaseError> {
    let x = Tensor::<T>::random_normal(s, seed).unwrap();
    let mats: Vec<Mat<T>> = s
        .iter()
        .zip(js)
        .enumerate()
        .map(|(k, (&i, &j))| rand_mat::<T>(j, i, seed + 1 + k as u64))
        .collect();
    let refs: Vec<_> = mats.iter().map(|m| m.as_ref()).collect();
    let got = tenalg::multi_mode_product(&x, &refs, skip).unwrap();
    let mut want = x.clone();
    let mut scale = x.norm().as_f64();
    for k in (0..s.len()).filter(|&k| Some(k) != skip) {
        want = tenalg::mode_product_with(&want, refs[k], k, Par::Seq).unwrap();
        scale *= norm(&mat_vec(refs[k]));
    }
    prop_assert_eq!(got.shape(), want.shape());
    let size = x.numel().max(want.numel()) * 6 * s.len();
    close(got.as_slice(), want.as_slice(), size, scale)
}

fn ttv_is_ttm_with_a_row<T: Scalar>(s: &[usize], n: usize, seed: u64) -> Result<(), TestCaseError> {
    let x = Tensor::<T>::random_normal(s, seed).unwrap();
    let v = rand_mat::<T>(1, s[n], seed + 1);
    let vs = mat_vec(v.as_ref());
    let y = tenalg::mode_vector_product(&x, &vs, n).unwrap();
    let z = tenalg::mode_product(&x, v.as_ref(), n).unwrap();
    let mut squeezed = s.to_vec();
    squeezed.remove(n);
    prop_assert_eq!(y.shape(), &squeezed[..]);
    close(y.as_slice(), z.as_slice(), x.numel(), norm(&vs) * x.norm().as_f64())
}

/// A shape with a mode of it.
fn shape_and_mode() -> impl Strategy<Value = (Vec<usize>, usize)> {
    shape().prop_flat_map(|s| {
        let n = s.len();
        (Just(s), 0..n)
    })
}

fn rand_mat<T: Scalar>(r: usize, c: usize, seed: u64) -> Mat<T> {
    let t = Tensor::<T>::random_normal(&[r, c], seed).unwrap();
    t.as_mat().unwrap().to_owned()
}

fn mat_vec<T: Scalar>(m: MatRef<'_, T>) -> Vec<T> {
    (0..m.nrows()).flat_map(|i| (0..m.ncols()).map(move |j| m[(i, j)])).collect()
}

fn norm<T: Scalar>(v: &[T]) -> f64 {
    v.iter().map(|x| x.as_f64().powi(2)).sum::<f64>().sqrt()
}

/// ‖got − want‖ ≤ c·eps·sqrt(size)·scale, with `scale` a bound on the magnitudes involved.
fn close<T: Scalar>(got: &[T], want: &[T], size: usize, scale: f64) -> Result<(), TestCaseError> {
    prop_assert_eq!(got.len(), want.len());
    let diff: Vec<f64> = got.iter().zip(want).map(|(a, b)| a.as_f64() - b.as_f64()).collect();
    let err = diff.iter().map(|d| d * d).sum::<f64>().sqrt();
    let tol = 16.0 * T::epsilon().as_f64() * (size as f64).sqrt() * scale.max(f64::MIN_POSITIVE);
    prop_assert!(err <= tol, "error {} > tolerance {}", err, tol);
    Ok(())
}

fn matmul_seq<T: Scalar>(a: MatRef<'_, T>, b: MatRef<'_, T>) -> Mat<T> {
    let mut out = Mat::zeros(a.nrows(), b.ncols());
    matmul(out.as_mut(), Accum::Replace, a, b, T::one(), Par::Seq);
    out
}

fn fold_unfold<T: Scalar>(s: &[usize], n: usize, seed: u64) -> Result<(), TestCaseError> {
    let x = Tensor::<T>::random_normal(s, seed).unwrap();
    let u = tenalg::unfold(&x, n).unwrap();
    prop_assert_eq!(u.shape(), &[s[n], x.numel() / s[n]][..]);
    prop_assert_eq!(tenalg::fold(&u, n, s).unwrap(), x);
    Ok(())
}

fn unfold_of_product<T: Scalar>(
    s: &[usize],
    n: usize,
    j: usize,
    seed: u64,
) -> Result<(), TestCaseError> {
    let x = Tensor::<T>::random_normal(s, seed).unwrap();
    let a = rand_mat::<T>(j, s[n], seed + 1);
    for par in [Par::Seq, Par::rayon(2)] {
        let y = tenalg::mode_product_with(&x, a.as_ref(), n, par).unwrap();
        let uy = tenalg::unfold(&y, n).unwrap();
        let ux = tenalg::unfold(&x, n).unwrap();
        let want = matmul_seq(a.as_ref(), ux.as_mat().unwrap());
        let scale = norm(&mat_vec(a.as_ref())) * x.norm().as_f64();
        close(uy.as_slice(), &mat_vec(want.as_ref()), y.numel() * s[n], scale)?;
    }
    Ok(())
}

fn modes_commute<T: Scalar>(
    s: &[usize],
    m: usize,
    n: usize,
    seed: u64,
) -> Result<(), TestCaseError> {
    let x = Tensor::<T>::random_normal(s, seed).unwrap();
    let a = rand_mat::<T>(3, s[m], seed + 1);
    let b = rand_mat::<T>(2, s[n], seed + 2);
    let ab = tenalg::mode_product(&tenalg::mode_product(&x, a.as_ref(), m).unwrap(), b.as_ref(), n)
        .unwrap();
    let ba = tenalg::mode_product(&tenalg::mode_product(&x, b.as_ref(), n).unwrap(), a.as_ref(), m)
        .unwrap();
    prop_assert_eq!(ab.shape(), ba.shape());
    let scale = norm(&mat_vec(a.as_ref())) * norm(&mat_vec(b.as_ref())) * x.norm().as_f64();
    close(ab.as_slice(), ba.as_slice(), x.numel() * 6, scale)
}

fn same_mode_composes<T: Scalar>(s: &[usize], n: usize, seed: u64) -> Result<(), TestCaseError> {
    let x = Tensor::<T>::random_normal(s, seed).unwrap();
    let a = rand_mat::<T>(4, s[n], seed + 1);
    let b = rand_mat::<T>(3, 4, seed + 2);
    let twice =
        tenalg::mode_product(&tenalg::mode_product(&x, a.as_ref(), n).unwrap(), b.as_ref(), n)
            .unwrap();
    let ba = matmul_seq(b.as_ref(), a.as_ref());
    let once = tenalg::mode_product(&x, ba.as_ref(), n).unwrap();
    let scale = norm(&mat_vec(a.as_ref())) * norm(&mat_vec(b.as_ref())) * x.norm().as_f64();
    close(twice.as_slice(), once.as_slice(), x.numel() * 4, scale)
}

fn khatri_rao_columns<T: Scalar>(rows: &[usize], r: usize, seed: u64) -> Result<(), TestCaseError> {
    let mats: Vec<Mat<T>> =
        rows.iter().enumerate().map(|(k, &d)| rand_mat::<T>(d, r, seed + k as u64)).collect();
    let refs: Vec<_> = mats.iter().map(|m| m.as_ref()).collect();
    let kr = tenalg::khatri_rao(&refs).unwrap();
    prop_assert_eq!(kr.nrows(), rows.iter().product::<usize>());
    for c in 0..r {
        let cols: Vec<Mat<T>> =
            mats.iter().map(|m| Mat::from_fn(m.nrows(), 1, |i, _| m[(i, c)])).collect();
        let crefs: Vec<_> = cols.iter().map(|m| m.as_ref()).collect();
        let k = tenalg::kronecker(&crefs).unwrap();
        prop_assert_eq!(mat_vec(k.as_ref()), mat_vec(kr.as_ref().subcols(c, 1)));
    }
    Ok(())
}

fn norm_is_inner<T: Scalar>(s: &[usize], seed: u64) -> Result<(), TestCaseError> {
    let x = Tensor::<T>::random_normal(s, seed).unwrap();
    let n2 = x.norm() * x.norm();
    let inner = x.inner(&x).unwrap();
    let all: Vec<(usize, usize)> = (0..s.len()).map(|k| (k, k)).collect();
    let c = tenalg::contract(&x, &x, &all).unwrap();
    prop_assert_eq!(c.shape(), &[] as &[usize]);
    let scale = n2.as_f64();
    close(&[inner, c.as_slice()[0]], &[n2, n2], x.numel(), scale)
}

fn reshape_permute_round_trip<T: Scalar>(
    s: &[usize],
    perm: &[usize],
    seed: u64,
) -> Result<(), TestCaseError> {
    let x = Tensor::<T>::random_normal(s, seed).unwrap();
    let flat = x.clone().reshape(&[x.numel()]).unwrap();
    prop_assert_eq!(&flat.reshape(s).unwrap(), &x);
    let mut inv = vec![0; perm.len()];
    for (k, &p) in perm.iter().enumerate() {
        inv[p] = k;
    }
    let y = x.permute_modes(perm).unwrap();
    prop_assert_eq!(y.permute_modes(&inv).unwrap(), x);
    Ok(())
}

fn mttkrp_is_unfold_times_kr<T: Scalar>(
    s: &[usize],
    n: usize,
    r: usize,
    seed: u64,
) -> Result<(), TestCaseError> {
    let x = Tensor::<T>::random_normal(s, seed).unwrap();
    let fs: Vec<Mat<T>> =
        s.iter().enumerate().map(|(k, &d)| rand_mat::<T>(d, r, seed + 1 + k as u64)).collect();
    let refs: Vec<_> = fs.iter().map(|f| f.as_ref()).collect();
    let got = tenalg::mttkrp(&x, &refs, n).unwrap();
    let others: Vec<_> = (0..s.len()).filter(|&k| k != n).map(|k| refs[k]).collect();
    let ux = tenalg::unfold(&x, n).unwrap();
    let want = if others.is_empty() {
        Mat::from_fn(s[n], r, |i, _| ux.as_slice()[i])
    } else {
        matmul_seq(ux.as_mat().unwrap(), tenalg::khatri_rao(&others).unwrap().as_ref())
    };
    let scale = x.norm().as_f64() * fs.iter().map(|f| norm(&mat_vec(f.as_ref()))).product::<f64>();
    close(&mat_vec(got.as_ref()), &mat_vec(want.as_ref()), x.numel() * r, scale)
}

/// C = contract(X, Y, pairs) with Y = X permuted by `perm` and `pairs` the first `nc` modes of X
/// paired with their position in Y; compared with a naive sum.
fn contract_naive<T: Scalar>(
    s: &[usize],
    perm: &[usize],
    nc: usize,
    seed: u64,
) -> Result<(), TestCaseError> {
    let x = Tensor::<T>::random_normal(s, seed).unwrap();
    let y = Tensor::<T>::random_normal(&perm.iter().map(|&p| s[p]).collect::<Vec<_>>(), seed + 1)
        .unwrap();
    let sy = y.shape().to_vec();
    let pairs: Vec<(usize, usize)> =
        (0..nc).map(|k| (k, perm.iter().position(|&p| p == k).unwrap())).collect();
    let c = tenalg::contract(&x, &y, &pairs).unwrap();
    let free_x: Vec<usize> = (nc..s.len()).collect();
    let free_y: Vec<usize> = (0..sy.len()).filter(|q| !pairs.iter().any(|p| p.1 == *q)).collect();
    let out_shape: Vec<usize> =
        free_x.iter().map(|&k| s[k]).chain(free_y.iter().map(|&k| sy[k])).collect();
    prop_assert_eq!(c.shape(), &out_shape[..]);
    let cshape: Vec<usize> = s[..nc].to_vec();
    let n_c: usize = cshape.iter().product();
    let n_out: usize = out_shape.iter().product();
    let mut want = vec![T::zero(); n_out];
    let mut oi = vec![0; out_shape.len()];
    for w in want.iter_mut() {
        let mut ci = vec![0; nc];
        for _ in 0..n_c {
            let mut ix = vec![0; s.len()];
            let mut iy = vec![0; sy.len()];
            for (t, &k) in free_x.iter().enumerate() {
                ix[k] = oi[t];
            }
            for (t, &k) in free_y.iter().enumerate() {
                iy[k] = oi[free_x.len() + t];
            }
            for (t, &(p, q)) in pairs.iter().enumerate() {
                ix[p] = ci[t];
                iy[q] = ci[t];
            }
            *w += x.get(&ix).unwrap() * y.get(&iy).unwrap();
            advance(&mut ci, &cshape);
        }
        advance(&mut oi, &out_shape);
    }
    let scale = x.norm().as_f64() * y.norm().as_f64();
    close(c.as_slice(), &want, n_out.max(1) * n_c, scale)
}

/// Row-major odometer step.
fn advance(idx: &mut [usize], shape: &[usize]) {
    for k in (0..idx.len()).rev() {
        idx[k] += 1;
        if idx[k] < shape[k] {
            return;
        }
        idx[k] = 0;
    }
}

/// A shape with a permutation of its modes.
fn shape_and_perm() -> impl Strategy<Value = (Vec<usize>, Vec<usize>)> {
    shape().prop_flat_map(|s| {
        let n = s.len();
        (Just(s), Just((0..n).collect::<Vec<_>>()).prop_shuffle())
    })
}

/// A shape with two different modes (order ≥ 2).
fn shape_and_two_modes() -> impl Strategy<Value = (Vec<usize>, usize, usize)> {
    prop::collection::vec(1usize..=6, 2..=5).prop_flat_map(|s| {
        let n = s.len();
        (Just(s), 0..n, 1..n).prop_map(|(s, m, d)| {
            let n = (m + d) % s.len();
            (s, m, n)
        })
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(CASES))]

    #[test]
    fn fold_inverts_unfold((s, n) in shape_and_mode(), seed in 0u64..1000) {
        fold_unfold::<f32>(&s, n, seed)?;
        fold_unfold::<f64>(&s, n, seed)?;
    }

    #[test]
    fn unfold_of_mode_product_is_matrix_product((s, n) in shape_and_mode(), j in 1usize..=6, seed in 0u64..1000) {
        unfold_of_product::<f32>(&s, n, j, seed)?;
        unfold_of_product::<f64>(&s, n, j, seed)?;
    }

    #[test]
    fn products_in_different_modes_commute((s, m, n) in shape_and_two_modes(), seed in 0u64..1000) {
        modes_commute::<f32>(&s, m, n, seed)?;
        modes_commute::<f64>(&s, m, n, seed)?;
    }

    #[test]
    fn products_in_one_mode_compose((s, n) in shape_and_mode(), seed in 0u64..1000) {
        same_mode_composes::<f32>(&s, n, seed)?;
        same_mode_composes::<f64>(&s, n, seed)?;
    }

    #[test]
    fn khatri_rao_columns_are_kronecker_products(rows in shape(), r in 1usize..=4, seed in 0u64..1000) {
        khatri_rao_columns::<f32>(&rows, r, seed)?;
        khatri_rao_columns::<f64>(&rows, r, seed)?;
    }

    #[test]
    fn norm_squared_is_inner_product(s in shape(), seed in 0u64..1000) {
        norm_is_inner::<f32>(&s, seed)?;
        norm_is_inner::<f64>(&s, seed)?;
    }

    #[test]
    fn reshape_and_permute_round_trip((s, p) in shape_and_perm(), seed in 0u64..1000) {
        reshape_permute_round_trip::<f32>(&s, &p, seed)?;
        reshape_permute_round_trip::<f64>(&s, &p, seed)?;
    }

    #[test]
    fn mttkrp_is_unfold_times_khatri_rao((s, n) in shape_and_mode(), r in 1usize..=4, seed in 0u64..1000) {
        mttkrp_is_unfold_times_kr::<f32>(&s, n, r, seed)?;
        mttkrp_is_unfold_times_kr::<f64>(&s, n, r, seed)?;
    }

    #[test]
    fn contract_matches_naive_sum(
        (s, p, nc) in prop::collection::vec(1usize..=4, 1..=4).prop_flat_map(|s| {
            let n = s.len();
            (Just(s), Just((0..n).collect::<Vec<_>>()).prop_shuffle(), 0..=n)
        }),
        seed in 0u64..1000,
    ) {
        contract_naive::<f32>(&s, &p, nc, seed)?;
        contract_naive::<f64>(&s, &p, nc, seed)?;
    }

    #[test]
    fn multi_mode_product_is_sequential_application(
        (s, js, skip) in shape().prop_flat_map(|s| {
            let n = s.len();
            (Just(s), prop::collection::vec(1usize..=6, n), prop::option::of(0..n))
        }),
        seed in 0u64..1000,
    ) {
        multi_is_sequential::<f32>(&s, &js, skip, seed)?;
        multi_is_sequential::<f64>(&s, &js, skip, seed)?;
    }

    #[test]
    fn mode_vector_product_is_mode_product_with_a_row((s, n) in shape_and_mode(), seed in 0u64..1000) {
        ttv_is_ttm_with_a_row::<f32>(&s, n, seed)?;
        ttv_is_ttm_with_a_row::<f64>(&s, n, seed)?;
    }
}
