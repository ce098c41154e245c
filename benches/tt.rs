//! TT-SVD speed: a random 4^10 tensor and a 10-way 4^10 reshape of the 1024×1024 matrix
//! `1/(i + j + 1)` (fast-decaying spectrum), at max TT rank 16 and 64, with automatic parallelism
//! and on one thread. TT rounding speed: the sum `a + a` of random trains (ranks doubled, rounded
//! back), f64 of order 4 with modes 64 and ranks 32, and f32 of order 12 with modes 4 and ranks
//! 24 (a long train, whose partial products outgrow it enough to take rounding's exact
//! interface check).
//!
//! Run: `cargo bench --bench tt`.

// Test/bench code: a failed unwrap is a failed run, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use tensorize::decomp::TtSvd;
use tensorize::format::{tt, TtTensor};
use tensorize::par::Par;
use tensorize::{Scalar, Tensor};

fn inputs() -> Vec<(&'static str, Tensor<f64>)> {
    let shape = [4usize; 10];
    let random = Tensor::<f64>::random_normal(&shape, 42).expect("random tensor");
    let hilbert = Tensor::<f64>::from_fn(&[1024, 1024], |i| 1.0 / (i[0] + i[1] + 1) as f64)
        .and_then(|m| m.reshape(&shape))
        .expect("reshaped matrix");
    vec![("random_4^10", random), ("hilbert_1024^2_as_4^10", hilbert)]
}

fn tt_svd(c: &mut Criterion) {
    let mut group = c.benchmark_group("tt_svd");
    group.sample_size(10);
    for (name, x) in inputs() {
        for r in [16usize, 64] {
            group.bench_function(format!("{name}/max_rank_{r}"), |b| {
                b.iter(|| TtSvd::new().max_rank(r).fit(black_box(&x)).expect("tt_svd"))
            });
            // The same on one thread: shows the parallel speed-up (or, on a busy machine, the cost
            // of oversubscription).
            group.bench_function(format!("{name}/max_rank_{r}/seq"), |b| {
                b.iter(|| {
                    TtSvd::new().max_rank(r).par(Par::Seq).fit(black_box(&x)).expect("tt_svd")
                })
            });
        }
    }
    group.finish();
}

/// `a + a` for a random train `a` of order `d`, modes `n` and inner ranks `r` (capped by the
/// mode products at the ends).
fn doubled<T: Scalar>(d: usize, n: usize, r: usize) -> TtTensor<T> {
    let mut bonds = vec![1usize];
    for k in 1..d {
        let (left, right) = (n.saturating_pow(k as u32), n.saturating_pow((d - k) as u32));
        bonds.push(r.min(left).min(right));
    }
    bonds.push(1);
    let cores = (0..d)
        .map(|k| Tensor::<T>::random_normal(&[bonds[k], n, bonds[k + 1]], 7 + k as u64).unwrap())
        .collect();
    let a = TtTensor::new(cores).unwrap();
    tt::add(&a, &a).unwrap()
}

fn tt_round(c: &mut Criterion) {
    let mut group = c.benchmark_group("tt_round");
    group.sample_size(10);
    let wide = doubled::<f64>(4, 64, 32);
    group.bench_function("f64_64^4_rank_32", |b| {
        b.iter(|| black_box(&wide).round(1e-8, None).expect("round"))
    });
    let long = doubled::<f32>(12, 4, 24);
    group.bench_function("f32_4^12_rank_24", |b| {
        b.iter(|| black_box(&long).round(1e-4, None).expect("round"))
    });
    group.finish();
}

criterion_group!(benches, tt_svd, tt_round);
criterion_main!(benches);
