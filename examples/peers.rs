//! tensorize's side of `scripts/compare-peers`: runs each workload on the inputs that
//! `benches/peers/peers.py inputs DIR` wrote and prints `RESULT <workload> median_s=<s> runs=<n>
//! rel_error=<e>` lines (the same lines the TensorLy side prints).
//!
//! Usage: `cargo run --release --example peers -- DIR [RUNS] [tt_matvec]`

use std::path::Path;
use std::time::Instant;

use faer::Mat;
use tensorize::decomp::{CpAls, CpInit, Hooi, Hosvd, TtSvd};
use tensorize::format::{CpTensor, TtMatrix};
use tensorize::io::read_npy;
use tensorize::{Factorized, Result, Scalar, Tensor};

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let Some(dir) = args.get(1) else {
        eprintln!("usage: peers DIR [RUNS]");
        std::process::exit(2);
    };
    let runs: usize = args.get(2).and_then(|r| r.parse().ok()).unwrap_or(3);
    let dir = Path::new(dir);
    // An optional third argument runs only that workload (e.g. `tt_matvec`).
    if args.get(3).map(String::as_str) == Some("tt_matvec") {
        return tt_matvec_workload(dir, runs);
    }

    // Memory first, while the process is fresh.
    cp_peak_memory(dir)?;

    let x64: Tensor<f64> = read_npy(dir.join("cp_x.npy"))?;
    cp_workload::<f64>("cp_als_f64", dir, &x64, runs)?;
    cp_workload::<f32>("cp_als_f32", dir, &x64, runs)?;

    let t: Tensor<f64> = read_npy(dir.join("tucker_x.npy"))?;
    let ranks = [20, 20, 20];
    let (secs, (tk, _)) = timed(runs, || Hosvd::new(&ranks).sequential(false).fit(&t))?;
    report("hosvd", secs, runs, tk.rel_error(&t)?);
    let (secs, (tk, _)) = timed(runs, || Hosvd::new(&ranks).sequential(true).fit(&t))?;
    report("st_hosvd", secs, runs, tk.rel_error(&t)?);
    let (secs, (tk, _)) = timed(runs, || Hooi::new(&ranks).max_iter(10).tol(0.0).fit(&t))?;
    report("hooi", secs, runs, tk.rel_error(&t)?);

    for src in ["random", "matrix"] {
        let y: Tensor<f64> = read_npy(dir.join(format!("tt_{src}.npy")))?;
        for r in [16, 64] {
            let (secs, (tt, _)) = timed(runs, || TtSvd::new().max_rank(r).fit(&y))?;
            report(&format!("tt_svd_{src}_r{r}"), secs, runs, tt.rel_error(&y)?);
        }
    }
    tt_matvec_workload(dir, runs)?;
    Ok(())
}

/// `y_b = W x_b` for a batch of 32 rows with a 4096 × 4096 TT-matrix (8⁴ × 8⁴, ranks 16), f32;
/// the timed call includes building the plan and allocating the output. The error is measured
/// in f64 against the dense product.
fn tt_matvec_workload(dir: &Path, runs: usize) -> Result<()> {
    let cores = (0..4)
        .map(|k| read_npy::<f32>(dir.join(format!("ttm_core{k}.npy"))))
        .collect::<Result<Vec<_>>>()?;
    let w = TtMatrix::new(cores)?;
    let x: Tensor<f32> = read_npy(dir.join("ttm_x.npy"))?;
    // More repetitions than the fits: one call takes milliseconds.
    let (secs, y) = timed(runs.max(1) * 10, || w.matvec_batch(&x))?;
    let to64 = |t: &Tensor<f32>| t.cast::<f64>();
    let w64 = TtMatrix::new(w.cores().iter().map(to64).collect::<Result<Vec<_>>>()?)?;
    let dense = w64.to_dense()?;
    let want = Tensor::from_mat((to64(&x)?.as_mat()? * dense.as_mat()?.transpose()).as_ref())?;
    report("tt_matvec", secs, runs.max(1) * 10, to64(&y)?.sub(&want)?.norm() / want.norm());
    Ok(())
}

/// CP-ALS, rank 10, 50 sweeps, tol 0, from the given initial factors; the error is measured
/// against the f64 input whatever precision the fit ran in.
fn cp_workload<T: Scalar>(name: &str, dir: &Path, x64: &Tensor<f64>, runs: usize) -> Result<()> {
    let x: Tensor<T> = x64.cast()?;
    let init = initial_cp::<T>(dir)?;
    let fit = || CpAls::new(10).max_iter(50).tol(0.0).init(CpInit::Given(init.clone())).fit(&x);
    let (secs, (cp, _)) = timed(runs, fit)?;
    let dense = cp.to_dense()?;
    let approx: Tensor<f64> = dense.cast()?;
    report(name, secs, runs, approx.sub(x64)?.norm() / x64.norm());
    Ok(())
}

fn initial_cp<T: Scalar>(dir: &Path) -> Result<CpTensor<T>> {
    let factors = (0..3)
        .map(|k| {
            let f: Tensor<T> = read_npy(dir.join(format!("cp_init{k}.npy")))?;
            Ok(f.as_mat()?.to_owned())
        })
        .collect::<Result<Vec<Mat<T>>>>()?;
    CpTensor::from_factors(factors)
}

/// Peak resident memory during a CP-ALS fit at 200³, rank 10, over the input tensor's bytes
/// (the input included), from Linux's VmHWM after resetting it.
fn cp_peak_memory(dir: &Path) -> Result<()> {
    let baseline = status_kib("VmRSS");
    let x: Tensor<f64> = read_npy(dir.join("cp_x.npy"))?;
    let init = initial_cp::<f64>(dir)?;
    let input_bytes = (x.numel() * std::mem::size_of::<f64>()) as f64;
    // Writing 5 to clear_refs resets the peak (VmHWM) to the current resident size.
    let reset = std::fs::write("/proc/self/clear_refs", "5").is_ok();
    CpAls::new(10).max_iter(5).tol(0.0).init(CpInit::Given(init)).fit(&x)?;
    match (reset, baseline, status_kib("VmHWM")) {
        (true, Some(base), Some(peak)) => {
            let ratio = (peak.saturating_sub(base) as f64 * 1024.0) / input_bytes;
            println!("RESULT cp_als_peak_memory median_s=0 runs=1 rel_error=0 peak_over_input={ratio:.3}");
        }
        _ => eprintln!("peak memory not measurable here (needs Linux /proc/self)"),
    }
    Ok(())
}

fn status_kib(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn timed<R>(runs: usize, mut f: impl FnMut() -> Result<R>) -> Result<(f64, R)> {
    let mut times = Vec::with_capacity(runs);
    let mut last = None;
    for _ in 0..runs.max(1) {
        let t0 = Instant::now();
        last = Some(f()?);
        times.push(t0.elapsed().as_secs_f64());
    }
    times.sort_by(f64::total_cmp);
    let result = last.ok_or_else(|| tensorize::Error::InvalidParameter {
        name: "runs",
        value: runs.to_string(),
        expected: "at least 1",
    })?;
    Ok((times[times.len() / 2], result))
}

fn report<T: Scalar>(name: &str, secs: f64, runs: usize, rel_error: T) {
    println!("RESULT {name} median_s={secs:.6} runs={runs} rel_error={:.6e}", rel_error.as_f64());
}
