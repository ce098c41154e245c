//! Mode product (TTM) of a 200×200×200 f64 tensor by a 20×200 matrix in each mode, against a
//! plain faer GEMM with the same FLOPs (20×200 · 200×40000).
//!
//! Run: `cargo bench --bench tenalg`. After criterion's report, prints a table: mode, median
//! time, GFLOP/s and the fraction of the GEMM's GFLOP/s (for all threads and for one thread).

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, Criterion};
use faer::linalg::matmul::matmul;
use faer::{Accum, Mat, MatMut, MatRef, Par};
use tensorize::{tenalg, Tensor};

const N: usize = 200;
const J: usize = 20;
const FLOPS: f64 = 2.0 * (J * N * N * N) as f64;

struct Inputs {
    x: Tensor<f64>,
    a: Mat<f64>,
}

fn inputs() -> Inputs {
    let x = Tensor::<f64>::random_normal(&[N, N, N], 1).unwrap_or_else(|e| panic!("{e}"));
    let a = Mat::<f64>::from_fn(J, N, |i, j| ((i * 31 + j * 17) % 13) as f64 / 13.0 - 0.5);
    Inputs { x, a }
}

/// The reference: Y (20 × 40000) = A (20 × 200) · X (200 × 40000), row-major like mode 0.
fn gemm(inp: &Inputs, out: &mut [f64], par: Par) {
    let xm = MatRef::from_row_major_slice(inp.x.as_slice(), N, N * N);
    let ym = MatMut::from_row_major_slice_mut(out, J, N * N);
    matmul(ym, Accum::Replace, inp.a.as_ref(), xm, 1.0, par);
}

fn ttm(inp: &Inputs, mode: usize, par: Par) -> Tensor<f64> {
    tenalg::mode_product_with(&inp.x, inp.a.as_ref(), mode, par).unwrap_or_else(|e| panic!("{e}"))
}

fn bench(c: &mut Criterion) {
    let inp = inputs();
    let mut out = vec![0.0; J * N * N];
    let par = Par::rayon(0);
    let mut g = c.benchmark_group("mode_product_200x200x200_by_20x200");
    g.sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    g.bench_function("gemm_20x200x40000", |b| b.iter(|| gemm(&inp, black_box(&mut out), par)));
    for mode in 0..3 {
        g.bench_function(format!("mode_{mode}"), |b| b.iter(|| black_box(ttm(&inp, mode, par))));
    }
    g.finish();
}

/// Wall time of one call of `f`.
fn time(f: impl FnOnce()) -> Duration {
    let t = Instant::now();
    f();
    t.elapsed()
}

/// Median of `times`.
fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

/// The table. The four operations run interleaved, round after round, so that load from other
/// processes on a shared machine hits all of them alike; each row is the median over the rounds.
fn table() {
    let inp = inputs();
    let mut out = vec![0.0; J * N * N];
    let rounds = 31;
    println!("\n## Mode product (tenalg): 200×200×200 f64 ×ₙ 20×200, {FLOPS:.3e} flop per call");
    let cases =
        [("all threads (Par::rayon(0))", Par::rayon(0)), ("one thread (Par::Seq)", Par::Seq)];
    for (label, par) in cases {
        let mut times = vec![Vec::new(); 4];
        for round in 0..rounds + 2 {
            let t = [
                time(|| gemm(&inp, black_box(&mut out), par)),
                time(|| drop(black_box(ttm(&inp, 0, par)))),
                time(|| drop(black_box(ttm(&inp, 1, par)))),
                time(|| drop(black_box(ttm(&inp, 2, par)))),
            ];
            if round >= 2 {
                for (v, t) in times.iter_mut().zip(t) {
                    v.push(t);
                }
            }
        }
        let med: Vec<Duration> = times.into_iter().map(median).collect();
        let gflops = |d: Duration| FLOPS / d.as_secs_f64() / 1e9;
        let g_gemm = gflops(med[0]);
        println!(
            "\n{label}, {} rayon threads, median of {rounds} interleaved rounds",
            rayon::current_num_threads()
        );
        println!("| op | median time | GFLOP/s | fraction of GEMM |");
        println!("|---|---|---|---|");
        println!(
            "| GEMM 20×200 · 200×40000 | {:.2} ms | {g_gemm:.1} | 1.00 |",
            med[0].as_secs_f64() * 1e3
        );
        for mode in 0..3 {
            let d = med[mode + 1];
            let g = gflops(d);
            println!(
                "| mode {mode} | {:.2} ms | {g:.1} | {:.2} |",
                d.as_secs_f64() * 1e3,
                g / g_gemm
            );
        }
    }
}

criterion_group!(benches, bench);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
    table();
}
