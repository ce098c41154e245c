//! CP-ALS on a 200×200×200 tensor of CP rank 10 plus 0.1% Gaussian noise: rank 10, 50 sweeps,
//! tol 0, SVD init, in f64 and f32; the same from given random factors (as the TensorLy peer
//! comparison runs it); and the fast MTTKRP kernel alone, per mode.
//!
//! Run: `cargo bench --bench cp`.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use faer::Mat;
use tensorize::decomp::{CpAls, CpInit};
use tensorize::format::CpTensor;
use tensorize::kernels::mttkrp_fast;
use tensorize::{Factorized, Scalar, Tensor};

const N: usize = 200;
const RANK: usize = 10;

/// `[[1; U_0, U_1, U_2]] + 0.001 · ‖X‖/sqrt(numel) · noise` with seeded normal factors.
fn workload<T: Scalar>() -> Tensor<T> {
    let factors: Vec<Mat<T>> = (0..3)
        .map(|k| {
            let t =
                Tensor::<T>::random_normal(&[N, RANK], 100 + k).unwrap_or_else(|e| panic!("{e}"));
            Mat::from_fn(N, RANK, |i, r| t.as_slice()[i * RANK + r])
        })
        .collect();
    let cp = CpTensor::from_factors(factors).unwrap_or_else(|e| panic!("{e}"));
    let mut x = cp.to_dense().unwrap_or_else(|e| panic!("{e}"));
    let noise = Tensor::<T>::random_normal(x.shape(), 7).unwrap_or_else(|e| panic!("{e}"));
    let level = T::of(1e-3) * x.norm() / T::of_usize(x.numel()).sqrt();
    x.axpy(level, &noise).unwrap_or_else(|e| panic!("{e}"));
    x
}

fn bench_precision<T: Scalar>(c: &mut Criterion) {
    let x = workload::<T>();
    let als = CpAls::<T>::new(RANK).max_iter(50).tol(0.0).init(CpInit::Svd);
    let (_, report) = als.fit(&x).unwrap_or_else(|e| panic!("{e}"));
    eprintln!(
        "cp_als_{}: rel_error {:.3e} after {} sweeps",
        T::NAME,
        report.rel_error,
        report.iterations
    );
    c.bench_function(&format!("cp_als_{}_200x200x200_r10_50it", T::NAME), |b| {
        b.iter(|| black_box(als.fit(black_box(&x)).unwrap_or_else(|e| panic!("{e}"))))
    });
    // The peer comparison (benches/peers/peers.py) starts TensorLy from given random factors.
    let given = CpTensor::from_factors(
        (0..3)
            .map(|k| {
                let t = Tensor::<T>::random_normal(&[N, RANK], 200 + k)
                    .unwrap_or_else(|e| panic!("{e}"));
                Mat::from_fn(N, RANK, |i, r| t.as_slice()[i * RANK + r])
            })
            .collect(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let als_given = als.clone().init(CpInit::Given(given));
    c.bench_function(&format!("cp_als_{}_200x200x200_r10_50it_given_init", T::NAME), |b| {
        b.iter(|| black_box(als_given.fit(black_box(&x)).unwrap_or_else(|e| panic!("{e}"))))
    });
    let factors: Vec<Mat<T>> =
        (0..3).map(|k| Mat::from_fn(N, RANK, |i, r| T::of((i * r + k) as f64).sin())).collect();
    let views: Vec<_> = factors.iter().map(|f| f.as_ref()).collect();
    for mode in 0..3 {
        c.bench_function(&format!("mttkrp_fast_{}_200x200x200_r10_mode{mode}", T::NAME), |b| {
            b.iter(|| {
                black_box(
                    mttkrp_fast(black_box(&x), &views, mode).unwrap_or_else(|e| panic!("{e}")),
                )
            })
        });
    }
}

fn benches(c: &mut Criterion) {
    bench_precision::<f64>(c);
    bench_precision::<f32>(c);
}

criterion_group! {
    name = cp;
    config = Criterion::default().sample_size(10);
    targets = benches
}
criterion_main!(cp);
