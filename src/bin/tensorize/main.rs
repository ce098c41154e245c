//! The `tensorize` command line.
//!
//! ```text
//! tensorize [mnist [--compress-by F] [--images N]]  the pretrained CNN on MNIST, dense and compressed
//! tensorize demo                       decompose the embedded digits data with every method
//! tensorize decompose FILE.npy METHOD  decompose a float .npy tensor; METHOD is one of
//!     hosvd|st-hosvd|hooi|cp|tt, with --eps E (relative error) and/or --rank R
//! ```

// Where the repository's data folders are: shared with the tests and benches, and kept out of
// the library so that only this repository's programs carry its paths.
#[path = "../../../tests/common/data.rs"]
mod data_files;
mod mnist_job;

use std::time::Instant;

use tensorize::data::{load_digits, DIGITS_FILE};
use tensorize::decomp::{CpAls, Hooi, Hosvd, TtSvd};
use tensorize::io::read_npy;
use tensorize::{Error, Factorized, FitReport, Result, Tensor};

const USAGE: &str = "usage:
  tensorize [mnist] [--compress-by F] [--images N]
                                         the pretrained CNN on the 10,000 MNIST test images (or the first N), dense and
                                         with conv2 + fc1 compressed F times (default 5) by SVD at the
                                         ranks the whole-model allocator picks
  tensorize demo                         decompose the embedded digits data (1797 x 8 x 8) with every method
  tensorize decompose FILE.npy METHOD [--eps E] [--rank R] [--iters N]
      METHOD: hosvd | st-hosvd | hooi | cp | tt
      --eps E   target relative error (hosvd, st-hosvd, tt)
      --rank R  rank per mode (hosvd, st-hosvd, hooi), CP rank (cp), max TT rank (tt)";

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let outcome = match args.first().map(String::as_str) {
        None => mnist_options(&[]).and_then(mnist_job::run),
        Some("mnist") => mnist_options(&args[1..]).and_then(mnist_job::run),
        Some("demo") => demo(),
        Some("decompose") => decompose(&args[1..]),
        Some("-h" | "--help" | "help") => {
            println!("{USAGE}");
            Ok(())
        }
        Some(other) => Err(format!("unknown command {other:?}\n{USAGE}")),
    };
    if let Err(message) = outcome {
        eprintln!("error: {message}");
        std::process::exit(1);
    }
}

/// The main job's default: conv2 + fc1 weights compressed five times (at ten, the allocator,
/// minimizing the summed relative weight errors, leaves fc1 at rank 7 and the accuracy falls by
/// 12 points without fine-tuning).
const DEFAULT_COMPRESSION: f64 = 5.0;

/// The main job's options: `--compress-by F` (default [`DEFAULT_COMPRESSION`]) and
/// `--images N` (the first `N` test images only, for a quick run; default all).
fn mnist_options(mut args: &[String]) -> std::result::Result<mnist_job::Options, String> {
    let mut options = mnist_job::Options { factor: DEFAULT_COMPRESSION, images: None };
    while let [flag, value, rest @ ..] = args {
        match flag.as_str() {
            "--compress-by" => match value.parse::<f64>() {
                Ok(f) if f.is_finite() && f >= 1.0 => options.factor = f,
                _ => return Err(format!("--compress-by takes a factor >= 1, got {value:?}")),
            },
            "--images" => match value.parse::<usize>() {
                Ok(n) if n >= 1 => options.images = Some(n),
                _ => return Err(format!("--images takes a count >= 1, got {value:?}")),
            },
            _ => return Err(format!("unknown option {flag:?}\n{USAGE}")),
        }
        args = rest;
    }
    if args.is_empty() {
        Ok(options)
    } else {
        Err(format!("unexpected arguments {args:?}\n{USAGE}"))
    }
}

/// One row of a results table.
struct Row {
    method: &'static str,
    setting: String,
    ranks: String,
    params: usize,
    compression: f64,
    rel_error: f64,
    iterations: usize,
    seconds: f64,
}

fn print_table(rows: &[Row]) {
    println!(
        "| method | setting | ranks | parameters | compression | rel. error | iterations | time |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for r in rows {
        println!(
            "| {} | {} | {} | {} | {:.1}x | {:.4} | {} | {:.1} ms |",
            r.method,
            r.setting,
            r.ranks,
            r.params,
            r.compression,
            r.rel_error,
            r.iterations,
            r.seconds * 1e3
        );
    }
}

fn row<F: Factorized<f64>>(
    method: &'static str,
    setting: String,
    ranks: String,
    fitted: Result<(F, FitReport)>,
    seconds: f64,
) -> Result<Row> {
    let (f, report) = fitted?;
    Ok(Row {
        method,
        setting,
        ranks,
        params: f.num_params(),
        compression: f.compression_ratio(),
        rel_error: report.rel_error,
        iterations: report.iterations,
        seconds,
    })
}

fn timed<R>(f: impl FnOnce() -> R) -> (R, f64) {
    let t0 = Instant::now();
    let out = f();
    (out, t0.elapsed().as_secs_f64())
}

fn demo() -> std::result::Result<(), String> {
    let digits = data_files::find_data_file(DIGITS_FILE)
        .and_then(load_digits::<f64>)
        .map_err(|e| e.to_string())?;
    let x = &digits.images;
    println!(
        "digits: {} images of 8 x 8 pixels (values 0..16), tensor {:?}, {} entries, norm {:.1}\n",
        digits.labels.len(),
        x.shape(),
        x.numel(),
        x.norm()
    );
    demo_rows(x).map(|rows| print_table(&rows)).map_err(|e| e.to_string())?;
    println!(
        "\nHOSVD, ST-HOSVD and TT-SVD guarantee rel. error <= eps; CP-ALS and HOOI report what they reach."
    );
    Ok(())
}

fn demo_rows(x: &Tensor<f64>) -> Result<Vec<Row>> {
    let mut rows = Vec::new();
    for eps in [0.3, 0.2, 0.1, 0.05] {
        for (method, sequential) in [("HOSVD", false), ("ST-HOSVD", true)] {
            let (fit, secs) = timed(|| Hosvd::with_error(eps).sequential(sequential).fit(x));
            let ranks = fit.as_ref().map(|(t, _)| format!("{:?}", t.ranks())).unwrap_or_default();
            rows.push(row(method, format!("eps {eps}"), ranks, fit, secs)?);
        }
        let (fit, secs) = timed(|| TtSvd::new().eps(eps).fit(x));
        let ranks = fit.as_ref().map(|(t, _)| format!("{:?}", t.ranks())).unwrap_or_default();
        rows.push(row("TT-SVD", format!("eps {eps}"), ranks, fit, secs)?);
    }
    for ranks in [[16, 4, 4], [36, 6, 6]] {
        let (fit, secs) = timed(|| Hooi::new(&ranks).max_iter(50).tol(1e-8).fit(x));
        rows.push(row("HOOI", "tol 1e-8".into(), format!("{ranks:?}"), fit, secs)?);
    }
    for rank in [5, 10, 20, 40] {
        let (fit, secs) = timed(|| CpAls::new(rank).max_iter(100).tol(1e-7).fit(x));
        rows.push(row("CP-ALS", "tol 1e-7".into(), format!("{rank}"), fit, secs)?);
    }
    Ok(rows)
}

fn decompose(args: &[String]) -> std::result::Result<(), String> {
    let (Some(file), Some(method)) = (args.first(), args.get(1)) else {
        return Err(format!("decompose needs a file and a method\n{USAGE}"));
    };
    let mut eps = None;
    let mut rank = None;
    let mut iters = 100usize;
    let mut rest = args[2..].iter();
    while let Some(flag) = rest.next() {
        let value = rest.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let bad = |e: &dyn std::fmt::Display| format!("{flag} {value}: {e}");
        match flag.as_str() {
            "--eps" => eps = Some(value.parse::<f64>().map_err(|e| bad(&e))?),
            "--rank" => rank = Some(value.parse::<usize>().map_err(|e| bad(&e))?),
            "--iters" => iters = value.parse::<usize>().map_err(|e| bad(&e))?,
            _ => return Err(format!("unknown option {flag}\n{USAGE}")),
        }
    }
    let x: Tensor<f64> = read_npy(file).map_err(|e| e.to_string())?;
    println!("{file}: shape {:?}, norm {:.6e}", x.shape(), x.norm());
    let need_rank = || rank.ok_or_else(|| format!("{method} needs --rank"));
    let per_mode = |r: usize| vec![r; x.ndim()];
    let setting = format!("eps {eps:?}, rank {rank:?}");
    let r = match method.as_str() {
        "hosvd" | "st-hosvd" => {
            let sequential = method == "st-hosvd";
            let params = match (eps, rank) {
                (Some(e), Some(r)) => Hosvd::with_error(e).max_ranks(&per_mode(r)),
                (Some(e), None) => Hosvd::with_error(e),
                (None, Some(r)) => Hosvd::new(&per_mode(r)),
                (None, None) => return Err(format!("{method} needs --eps and/or --rank")),
            };
            let (fit, secs) = timed(|| params.sequential(sequential).fit(&x));
            let ranks = fit.as_ref().map(|(t, _)| format!("{:?}", t.ranks())).unwrap_or_default();
            row("HOSVD", setting, ranks, fit, secs)
        }
        "hooi" => {
            let ranks = per_mode(need_rank()?);
            let (fit, secs) = timed(|| Hooi::new(&ranks).max_iter(iters).fit(&x));
            row("HOOI", setting, format!("{ranks:?}"), fit, secs)
        }
        "cp" => {
            let r = need_rank()?;
            let (fit, secs) = timed(|| CpAls::new(r).max_iter(iters).fit(&x));
            row("CP-ALS", setting, r.to_string(), fit, secs)
        }
        "tt" => {
            let mut params = TtSvd::new();
            if let Some(e) = eps {
                params = params.eps(e);
            }
            if let Some(r) = rank {
                params = params.max_rank(r);
            }
            let (fit, secs) = timed(|| params.fit(&x));
            let ranks = fit.as_ref().map(|(t, _)| format!("{:?}", t.ranks())).unwrap_or_default();
            row("TT-SVD", setting, ranks, fit, secs)
        }
        other => Err(Error::InvalidParameter {
            name: "method",
            value: other.to_string(),
            expected: "hosvd, st-hosvd, hooi, cp or tt",
        }),
    }
    .map_err(|e| e.to_string())?;
    print_table(&[r]);
    Ok(())
}
