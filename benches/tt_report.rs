//! TT-matvec report: for each case (TT-matrix shape, rank, batch, dtype) the TT kernel's FLOPs
//! and GFLOP/s, the same run's dense faer GEMM (`Y = X · Wᵀ`, same `Par`) GFLOP/s, the wall-time
//! ratio dense/TT and the FLOP ratio, as a markdown table, then `GOAL` lines:
//! - `gflops`: at batch ≥ 32 and rank ≥ 8, TT GFLOP/s ≥ 50% of dense GEMM GFLOP/s;
//! - `bandwidth`: at batch ≥ 32 and rank < 8 (memory-bound), bytes touched by the kernel per
//!   second ≥ 50% of a plain `copy_from_slice` of the same bytes (`elements_touched`: the states
//!   each copy and GEMM reads and writes; a step whose copy is fused into the small-GEMM kernel
//!   reads its input once, so fusing lowers the bytes credited as well as the time);
//! - `speedup`: dense/TT wall time ≥ min(FLOP ratio / 2, 100).
//!
//! Times are medians of interleaved runs (TT, dense, copy, TT, dense, copy, …).
//! Run: `cargo bench --bench tt_report` (add `-- quick` for fewer repetitions,
//! `-- r16` or `-- FC6` for the cases whose name contains it).

// Test/bench code: a failed unwrap is a failed run, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::time::Instant;

use faer::{Accum, MatMut, MatRef};
use tensorize::format::TtMatrix;
use tensorize::kernels::{TtMatvecWorkspace, TtOp};
use tensorize::par::Par;
use tensorize::{Scalar, Tensor};

struct Case {
    name: &'static str,
    m: Vec<usize>,
    n: Vec<usize>,
    rank: usize,
}

fn cases() -> Vec<Case> {
    vec![
        Case { name: "4096² 8⁴×8⁴ r8", m: vec![8; 4], n: vec![8; 4], rank: 8 },
        Case { name: "4096² 8⁴×8⁴ r16", m: vec![8; 4], n: vec![8; 4], rank: 16 },
        Case { name: "1024² 4⁵×4⁵ r8", m: vec![4; 5], n: vec![4; 5], rank: 8 },
        Case { name: "FC6 25088×4096 r4", m: vec![2, 7, 8, 8, 7, 4], n: vec![4; 6], rank: 4 },
    ]
}

fn random_tt<T: Scalar>(m: &[usize], n: &[usize], rank: usize) -> TtMatrix<T> {
    let d = m.len();
    let r: Vec<usize> = (0..=d).map(|k| if k == 0 || k == d { 1 } else { rank }).collect();
    let cores = (0..d)
        .map(|k| Tensor::random_normal(&[r[k], m[k], n[k], r[k + 1]], k as u64).unwrap())
        .collect();
    TtMatrix::new(cores).unwrap()
}

/// Seconds per call: enough calls to last ~`target` seconds.
fn time(mut f: impl FnMut(), target: f64) -> f64 {
    let t0 = Instant::now();
    f();
    let once = t0.elapsed().as_secs_f64().max(1e-7);
    let iters = ((target / once).ceil() as usize).clamp(1, 10_000);
    let t0 = Instant::now();
    for _ in 0..iters {
        f();
    }
    t0.elapsed().as_secs_f64() / iters as f64
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

struct Row {
    label: String,
    tt_gflops: f64,
    dense_gflops: f64,
    wall_ratio: f64,
    flop_ratio: f64,
    bw_ratio: f64,
    rank: usize,
    batch: usize,
}

fn run_case<T: Scalar>(c: &Case, dense_w: &[T], batch: usize, reps: usize, par: Par) -> Row {
    let w = random_tt::<T>(&c.m, &c.n, c.rank);
    let (rows, cols) = (w.nrows(), w.ncols());
    let plan = w.plan(TtOp::Normal).unwrap();
    let x = Tensor::<T>::random_normal(&[batch, cols], 9).unwrap();
    let mut y = Tensor::<T>::zeros(&[batch, rows]).unwrap();
    let mut yd = vec![T::zero(); batch * rows];
    let mut ws = TtMatvecWorkspace::new();
    let elems = plan.elements_touched(batch);
    let half = (elems / 2.0) as usize;
    let (src, mut dst) = (vec![T::one(); half.max(1)], vec![T::zero(); half.max(1)]);
    let target = 0.05;
    let (mut t_tt, mut t_dense, mut t_copy) = (vec![], vec![], vec![]);
    for _ in 0..reps {
        t_tt.push(time(|| plan.apply_into(black_box(&x), &mut y, &mut ws, par).unwrap(), target));
        t_dense.push(time(
            || {
                faer::linalg::matmul::matmul(
                    MatMut::from_row_major_slice_mut(&mut yd, batch, rows),
                    Accum::Replace,
                    MatRef::from_row_major_slice(black_box(x.as_slice()), batch, cols),
                    MatRef::from_row_major_slice(dense_w, rows, cols).transpose(),
                    T::one(),
                    par,
                )
            },
            target,
        ));
        t_copy
            .push(time(|| black_box(dst.as_mut_slice()).copy_from_slice(black_box(&src)), target));
    }
    let (tt, dense, copy) = (median(t_tt), median(t_dense), median(t_copy));
    let dense_flops = 2.0 * batch as f64 * rows as f64 * cols as f64;
    let tt_flops = plan.flops(batch);
    let row = Row {
        label: format!("{} | {} | {}", c.name, T::NAME, batch),
        tt_gflops: tt_flops / tt / 1e9,
        dense_gflops: dense_flops / dense / 1e9,
        wall_ratio: dense / tt,
        flop_ratio: dense_flops / tt_flops,
        bw_ratio: copy / tt,
        rank: c.rank,
        batch,
    };
    println!(
        "| {} | {:.3e} | {:.1} | {:.1} | {:.1} | {:.0} | {:.2} ({:.1} GB/s) | {:.1} µs |",
        row.label,
        tt_flops,
        row.tt_gflops,
        row.dense_gflops,
        row.wall_ratio,
        row.flop_ratio,
        row.bw_ratio,
        elems * std::mem::size_of::<T>() as f64 / tt / 1e9,
        tt * 1e6
    );
    row
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with("--")).collect();
    let quick = args.iter().any(|a| a == "quick");
    // Any other argument keeps only the cases whose name contains it (e.g. `FC6`, `r16`).
    let filters: Vec<&String> = args.iter().filter(|a| *a != "quick").collect();
    let reps = if quick { 3 } else { 7 };
    let par = Par::rayon(0);
    println!(
        "threads: {}, repetitions: {reps} (median), Par::rayon(0) for TT and dense",
        rayon::current_num_threads()
    );
    println!();
    println!("| case | dtype | batch | TT FLOPs | TT GFLOP/s | dense GFLOP/s | dense/TT wall | FLOP ratio | copy/TT time (TT bytes/s) | TT time |");
    println!("|---|---|---|---|---|---|---|---|---|---|");
    let mut rows = Vec::new();
    for c in cases() {
        if !filters.is_empty() && !filters.iter().any(|f| c.name.contains(f.as_str())) {
            continue;
        }
        let (mm, nn): (usize, usize) = (c.m.iter().product(), c.n.iter().product());
        {
            let w32 = vec![0.01f32; mm * nn];
            for b in [1, 32, 256] {
                rows.push(run_case::<f32>(&c, &w32, b, reps, par));
            }
        }
        let w64 = vec![0.01f64; mm * nn];
        for b in [1, 32, 256] {
            rows.push(run_case::<f64>(&c, &w64, b, reps, par));
        }
    }
    println!();
    for r in &rows {
        let name = r.label.replace(" | ", "/").replace(' ', "_");
        let verdict = |ok: bool| if ok { "met" } else { "missed" };
        if r.batch >= 32 && r.rank >= 8 {
            let q = r.tt_gflops / r.dense_gflops;
            println!("GOAL gflops/{name} ratio={q:.2} target=0.50 {}", verdict(q >= 0.5));
        }
        if r.batch >= 32 && r.rank < 8 {
            println!(
                "GOAL bandwidth/{name} ratio={:.2} target=0.50 {}",
                r.bw_ratio,
                verdict(r.bw_ratio >= 0.5)
            );
        }
        let target = (r.flop_ratio / 2.0).min(100.0);
        println!(
            "GOAL speedup/{name} ratio={:.1} target={target:.1} {}",
            r.wall_ratio,
            verdict(r.wall_ratio >= target)
        );
    }
}
