#![allow(clippy::unwrap_used)]
//! Tucker decompositions on a 200³ f64 tensor of multilinear rank (20, 20, 20) plus noise of
//! relative size 1e-3: HOSVD, ST-HOSVD and HOOI (10 sweeps, tol 0), ranks (20, 20, 20).
//!
//! Each runs with the default parallelism and with `Par::Seq`.
//!
//! `cargo bench --bench tucker`

use criterion::{criterion_group, criterion_main, Criterion};
use faer::Mat;
use std::hint::black_box;
use std::time::Duration;
use tensorize::decomp::{Hooi, Hosvd};
use tensorize::format::TuckerTensor;
use tensorize::par::Par;
use tensorize::{Factorized, Tensor};

const N: usize = 200;
const R: usize = 20;

fn low_rank_plus_noise() -> Tensor<f64> {
    let core = Tensor::<f64>::random_normal(&[R, R, R], 1).unwrap();
    let factors: Vec<Mat<f64>> = (0..3)
        .map(|k| {
            let t = Tensor::<f64>::random_normal(&[N, R], 10 + k).unwrap();
            Mat::from_fn(N, R, |i, j| t.as_slice()[i * R + j])
        })
        .collect();
    let x = TuckerTensor::new(core, factors).unwrap().to_dense().unwrap();
    let noise = Tensor::<f64>::random_normal(&[N, N, N], 2).unwrap();
    let sigma = 1e-3 * x.norm() / (x.numel() as f64).sqrt();
    let mut y = x;
    y.axpy(sigma, &noise).unwrap();
    y
}

fn bench(c: &mut Criterion) {
    let x = low_rank_plus_noise();
    let ranks = [R, R, R];
    let mut g = c.benchmark_group("tucker_200cube_rank20");
    g.sample_size(10).warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(8));
    g.bench_function("hosvd", |b| b.iter(|| black_box(Hosvd::new(&ranks).fit(&x).unwrap())));
    g.bench_function("st_hosvd", |b| {
        b.iter(|| black_box(Hosvd::new(&ranks).sequential(true).fit(&x).unwrap()))
    });
    g.bench_function("hooi_10", |b| {
        b.iter(|| black_box(Hooi::new(&ranks).max_iter(10).tol(0.0).fit(&x).unwrap()))
    });
    // The same with one thread (`Par::Seq`), for comparison on a busy machine.
    g.bench_function("hosvd_seq", |b| {
        b.iter(|| black_box(Hosvd::new(&ranks).par(Par::Seq).fit(&x).unwrap()))
    });
    g.bench_function("st_hosvd_seq", |b| {
        b.iter(|| black_box(Hosvd::new(&ranks).sequential(true).par(Par::Seq).fit(&x).unwrap()))
    });
    g.bench_function("hooi_10_seq", |b| {
        b.iter(|| black_box(Hooi::new(&ranks).max_iter(10).tol(0.0).par(Par::Seq).fit(&x).unwrap()))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
