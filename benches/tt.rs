//! TT-SVD speed: a random 4^10 tensor and a 10-way 4^10 reshape of the 1024×1024 matrix
//! `1/(i + j + 1)` (fast-decaying spectrum), at max TT rank 16 and 64, with automatic parallelism
//! and on one thread.
//!
//! Run: `cargo bench --bench tt`.

// Test/bench code: a failed unwrap is a failed run, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use tensorize::decomp::TtSvd;
use tensorize::par::Par;
use tensorize::Tensor;

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

criterion_group!(benches, tt_svd);
criterion_main!(benches);
