//! Differential tests of the TR format against naive dense loops (trace of slice products).

use super::*;

fn random_tr<T: Scalar>(shape: &[usize], ranks: &[usize], seed: u64) -> TrTensor<T> {
    let d = shape.len();
    let cores = (0..d)
        .map(|k| {
            let r1 = ranks[(k + 1) % d];
            Tensor::random_normal(&[ranks[k], shape[k], r1], seed + k as u64).unwrap()
        })
        .collect();
    TrTensor::new(cores).unwrap()
}

/// X[i] = trace(G_1[i_1] ⋯ G_d[i_d]) by explicit matrix products (the definition).
fn naive_dense<T: Scalar>(tr: &TrTensor<T>) -> Tensor<T> {
    let shape = tr.shape();
    Tensor::from_fn(&shape, |idx| {
        let r0 = tr.cores()[0].shape()[0];
        let mut m: Vec<Vec<T>> = (0..r0)
            .map(|a| (0..r0).map(|b| if a == b { T::one() } else { T::zero() }).collect())
            .collect();
        for (core, &i) in tr.cores().iter().zip(idx) {
            let [ra, n, rb] = core_dims(core);
            let mut next = vec![vec![T::zero(); rb]; r0];
            for (row, nrow) in m.iter().zip(next.iter_mut()) {
                for (b, &mv) in row.iter().enumerate().take(ra) {
                    for (c, o) in nrow.iter_mut().enumerate() {
                        *o += mv * core.as_slice()[(b * n + i) * rb + c];
                    }
                }
            }
            m = next;
        }
        (0..r0).map(|a| m[a][a]).sum()
    })
    .unwrap()
}

fn tol<T: Scalar>(numel: usize, scale: T) -> T {
    T::of(64.0) * T::epsilon() * T::of_usize(numel).sqrt() * scale
}

fn close<T: Scalar>(a: &Tensor<T>, b: &Tensor<T>) {
    let diff = a.sub(b).unwrap().norm();
    assert!(diff <= tol::<T>(a.numel(), b.norm() + T::one()), "diff {diff}");
}

const CASES: &[(&[usize], &[usize])] = &[
    (&[5], &[3]),
    (&[5], &[1]),
    (&[3, 4], &[2, 3]),
    (&[3, 4, 2], &[1, 2, 3]),
    (&[2, 3, 4, 3], &[3, 2, 4, 2]),
    (&[2, 1, 3, 2, 2], &[2, 2, 1, 3, 2]),
];

fn differential<T: Scalar>() {
    for (s, (shape, ranks)) in CASES.iter().enumerate() {
        let tr = random_tr::<T>(shape, ranks, 10 * s as u64);
        let naive = naive_dense(&tr);
        let dense = tr.to_dense().unwrap();
        close(&dense, &naive);
        close(&tr.to_dense_with(Par::rayon(2)).unwrap(), &naive);
        let mut it = crate::tensor::MultiIndexIter::new(shape);
        while let Some(idx) = it.next_index() {
            let (g, e) = (tr.get(idx).unwrap(), naive.get(idx).unwrap());
            assert!((g - e).abs() <= tol::<T>(naive.numel(), naive.norm() + T::one()));
        }
        let n = tr.norm();
        assert!((n - naive.norm()).abs() <= tol::<T>(naive.numel(), naive.norm()), "{n}");
        let x = Tensor::<T>::random_normal(shape, 99 + s as u64).unwrap();
        let inner = tr.inner_dense(&x).unwrap();
        let want = naive.inner(&x).unwrap();
        assert!((inner - want).abs() <= tol::<T>(naive.numel(), naive.norm() * x.norm()));
        let rel = tr.rel_error(&x).unwrap();
        let want = x.sub(&naive).unwrap().norm() / x.norm();
        assert!((rel - want).abs() <= T::of(1e3) * tol::<T>(naive.numel(), want), "{rel} {want}");
        assert_eq!(tr.num_params(), tr.cores().iter().map(|c| c.numel()).sum::<usize>());
        assert_eq!(tr.ranks().len(), shape.len() + 1);
        assert_eq!(tr.ranks()[0], tr.ranks()[shape.len()]);
    }
}

#[test]
fn differential_f64() {
    differential::<f64>();
}

#[test]
fn differential_f32() {
    differential::<f32>();
}

#[test]
fn rel_error_of_itself_is_zero_by_fallback() {
    let tr = random_tr::<f64>(&[3, 4, 2], &[2, 3, 2], 4);
    let x = tr.to_dense().unwrap();
    assert!(tr.rel_error(&x).unwrap() <= tol::<f64>(x.numel(), 1.0));
}

#[test]
fn norm_survives_huge_and_tiny_cores() {
    // Scaling G_1 by s and G_2 by 1/s leaves the tensor unchanged, but the unscaled transfer
    // products would reach s² = 1e50, beyond f32.
    let tr = random_tr::<f32>(&[3, 3, 3], &[2, 2, 2], 7);
    let base = tr.norm();
    let mut cores = tr.cores().to_vec();
    cores[0] = cores[0].scale(1e25);
    cores[1] = cores[1].scale(1e-25);
    let moved = TrTensor::new(cores).unwrap();
    let got = moved.norm();
    assert!(((got - base) / base).abs() < 1e-4, "{got} {base}");
}

#[test]
fn from_tt_is_the_same_tensor() {
    let cores = [[1, 3, 2], [2, 2, 3], [3, 4, 1]]
        .iter()
        .enumerate()
        .map(|(k, s)| Tensor::<f64>::random_normal(s, k as u64).unwrap())
        .collect();
    let tt = crate::format::tt::TtTensor::new(cores).unwrap();
    let tr = TrTensor::from(tt.clone());
    close(&tr.to_dense().unwrap(), &tt.to_dense().unwrap());
    assert_eq!(tr.num_params(), tt.num_params());
}

#[test]
fn norm_ignores_huge_entries_that_never_close_the_ring() {
    // One core: X[i] = trace(G[:, i, :]). The 1e300 entry is off the diagonal, so it never
    // reaches X, but it dominates the transfer matrices; the norm must still be X's (found by
    // the `formats` fuzz target).
    let mut g = vec![0.0f64; 12];
    g[0] = -5.375; // G[0, 0, 0]
    g[2] = 0.1875; // G[0, 1, 0]
    g[10] = 1e300; // G[1, 2, 0]
    g[11] = 0.1875; // G[1, 2, 1]
    let tr = TrTensor::new(vec![Tensor::from_vec(&[2, 3, 2], g).unwrap()]).unwrap();
    let want = tr.to_dense().unwrap().norm();
    assert!((tr.norm() - want).abs() <= 1e-12 * want, "{} vs {want}", tr.norm());
}
