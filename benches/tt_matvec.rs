//! Criterion timings of the batched TT-matvec kernel (`y_b = W x_b` for a batch, prepared plan and
//! reused workspace): 4096² as 8⁴×8⁴ (ranks 8, 16), 1024² as 4⁵×4⁵ (rank 8) and VGG FC6
//! 25088×4096 as (2,7,8,8,7,4)×(4,4,4,4,4,4) (rank 4); batches 1, 32, 256; f32 and f64.
//! The comparison with dense GEMM is in `benches/tt_report.rs`.
//!
//! Run: `cargo bench --bench tt_matvec`.

// Test/bench code: a failed unwrap is a failed run, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use tensorize::format::TtMatrix;
use tensorize::kernels::{TtMatvecWorkspace, TtOp};
use tensorize::par::Par;
use tensorize::{Scalar, Tensor};

fn random_tt<T: Scalar>(m: &[usize], n: &[usize], rank: usize) -> TtMatrix<T> {
    let d = m.len();
    let r: Vec<usize> = (0..=d).map(|k| if k == 0 || k == d { 1 } else { rank }).collect();
    let cores = (0..d)
        .map(|k| Tensor::random_normal(&[r[k], m[k], n[k], r[k + 1]], k as u64).unwrap())
        .collect();
    TtMatrix::new(cores).unwrap()
}

fn bench_type<T: Scalar>(c: &mut Criterion) {
    let cases: [(&str, Vec<usize>, Vec<usize>, usize); 4] = [
        ("4096_8^4_r8", vec![8; 4], vec![8; 4], 8),
        ("4096_8^4_r16", vec![8; 4], vec![8; 4], 16),
        ("1024_4^5_r8", vec![4; 5], vec![4; 5], 8),
        ("fc6_25088x4096_r4", vec![2, 7, 8, 8, 7, 4], vec![4; 6], 4),
    ];
    let mut group = c.benchmark_group(format!("tt_matvec_{}", T::NAME));
    group
        .sample_size(10)
        .measurement_time(Duration::from_millis(1500))
        .warm_up_time(Duration::from_millis(300));
    for (name, m, n, r) in cases {
        let w = random_tt::<T>(&m, &n, r);
        let plan = w.plan(TtOp::Normal).unwrap();
        for batch in [1usize, 32, 256] {
            let x = Tensor::<T>::random_normal(&[batch, w.ncols()], 1).unwrap();
            let mut y = Tensor::<T>::zeros(&[batch, w.nrows()]).unwrap();
            let mut ws = TtMatvecWorkspace::new();
            group.bench_function(format!("{name}/b{batch}"), |b| {
                b.iter(|| plan.apply_into(black_box(&x), &mut y, &mut ws, Par::rayon(0)).unwrap())
            });
        }
    }
    group.finish();
}

fn tt_matvec(c: &mut Criterion) {
    bench_type::<f32>(c);
    bench_type::<f64>(c);
}

criterion_group!(benches, tt_matvec);
criterion_main!(benches);
