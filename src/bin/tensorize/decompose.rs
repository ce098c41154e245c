//! `tensorize decompose FILE.npy METHOD [--eps E] [--rank R] [--iters N] [-o OUT [--force]]`
//! and `tensorize demo`: one tensor (or the embedded digits data) decomposed, a results table,
//! and with `-o` the factors written as `.npz` or `.safetensors` (by OUT's extension).

use std::path::{Path, PathBuf};
use std::time::Instant;

use faer::Mat;
use tensorize::data::{load_digits, DIGITS_FILE};
use tensorize::decomp::{CpAls, Hooi, Hosvd, TtSvd};
use tensorize::io::{read_npy, write_npz, Compression, SafetensorsWriter};
use tensorize::{Factorized, FitReport, Result, Scalar, Tensor};

use crate::data_files;
use crate::failure::{self, Failure};

/// The methods of `decompose`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum TensorMethod {
    /// Truncated HOSVD (Tucker), by --eps and/or --rank per mode.
    Hosvd,
    /// Sequentially truncated HOSVD.
    StHosvd,
    /// HOOI (Tucker), --rank per mode.
    Hooi,
    /// CP-ALS, --rank.
    Cp,
    /// TT-SVD, by --eps and/or max rank --rank.
    Tt,
}

/// What `decompose` was asked.
pub struct Options {
    /// The `.npy` file.
    pub file: PathBuf,
    /// The method.
    pub method: TensorMethod,
    /// Target relative error.
    pub eps: Option<f64>,
    /// Rank (per mode, CP rank or max TT rank).
    pub rank: Option<usize>,
    /// Iterations of HOOI / CP-ALS.
    pub iters: usize,
    /// Where to write the factors.
    pub output: Option<PathBuf>,
    /// Replace an existing output.
    pub force: bool,
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
    fitted: &(F, FitReport),
    seconds: f64,
) -> Row {
    let (f, report) = fitted;
    Row {
        method,
        setting,
        ranks,
        params: f.num_params(),
        compression: f.compression_ratio(),
        rel_error: report.rel_error,
        iterations: report.iterations,
        seconds,
    }
}

fn timed<R>(f: impl FnOnce() -> R) -> (R, f64) {
    let t0 = Instant::now();
    let out = f();
    (out, t0.elapsed().as_secs_f64())
}

/// `tensorize demo`.
pub fn demo() -> std::result::Result<(), Failure> {
    let path =
        data_files::find_data_file(DIGITS_FILE).map_err(|e| Failure::new(failure::INPUT, e))?;
    let digits = load_digits::<f64>(&path).map_err(failure::reading(&path))?;
    let x = &digits.images;
    println!(
        "digits: {} images of 8 x 8 pixels (values 0..16), tensor {:?}, {} entries, norm {:.1}\n",
        digits.labels.len(),
        x.shape(),
        x.numel(),
        x.norm()
    );
    let rows =
        demo_rows(x).map_err(|e| Failure::new(failure::NUMERICAL, format!("digits: {e}")))?;
    print_table(&rows);
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
            let fit = fit?;
            rows.push(row(
                method,
                format!("eps {eps}"),
                format!("{:?}", fit.0.ranks()),
                &fit,
                secs,
            ));
        }
        let (fit, secs) = timed(|| TtSvd::new().eps(eps).fit(x));
        let fit = fit?;
        rows.push(row("TT-SVD", format!("eps {eps}"), format!("{:?}", fit.0.ranks()), &fit, secs));
    }
    for ranks in [[16, 4, 4], [36, 6, 6]] {
        let (fit, secs) = timed(|| Hooi::new(&ranks).max_iter(50).tol(1e-8).fit(x));
        rows.push(row("HOOI", "tol 1e-8".into(), format!("{ranks:?}"), &fit?, secs));
    }
    for rank in [5, 10, 20, 40] {
        let (fit, secs) = timed(|| CpAls::new(rank).max_iter(100).tol(1e-7).fit(x));
        rows.push(row("CP-ALS", "tol 1e-7".into(), format!("{rank}"), &fit?, secs));
    }
    Ok(rows)
}

/// A matrix as a row-major tensor.
fn tensor_of<T: Scalar>(m: &Mat<T>) -> Result<Tensor<T>> {
    Tensor::from_fn(&[m.nrows(), m.ncols()], |i| m[(i[0], i[1])])
}

/// Writes `tensors` to `out`: `.npz` (stored) or `.safetensors`, by extension.
fn write_factors(
    out: &Path,
    tensors: &[(String, Tensor<f64>)],
    force: bool,
) -> std::result::Result<(), Failure> {
    let named: Vec<(&str, &Tensor<f64>)> = tensors.iter().map(|(n, t)| (n.as_str(), t)).collect();
    let written = match out.extension().and_then(|e| e.to_str()) {
        Some("npz") => write_npz(out, &named, Compression::Stored, force),
        Some("safetensors") => named
            .iter()
            .fold(SafetensorsWriter::new(), |w, (n, t)| w.tensor(n, t))
            .overwrite(force)
            .write(out),
        _ => {
            return Err(Failure::usage(format!(
                "{}: -o takes a .npz or .safetensors file",
                out.display()
            )))
        }
    };
    written.map_err(failure::writing(out))
}

/// `tensorize decompose`.
pub fn run(o: &Options) -> std::result::Result<(), Failure> {
    if let Some(out) = &o.output {
        if !matches!(out.extension().and_then(|e| e.to_str()), Some("npz" | "safetensors")) {
            return Err(Failure::usage(format!(
                "{}: -o takes a .npz or .safetensors file",
                out.display()
            )));
        }
        crate::compress::check_output_path(&o.file, out, o.force)?;
    }
    let file = o.file.display().to_string();
    let x: Tensor<f64> = read_npy(&o.file).map_err(failure::reading(&o.file))?;
    println!("{file}: shape {:?}, norm {:.6e}", x.shape(), x.norm());
    let numerical = |e: tensorize::Error| Failure::new(failure::NUMERICAL, format!("{file}: {e}"));
    let need_rank = || o.rank.ok_or_else(|| Failure::usage(format!("{:?} needs --rank", o.method)));
    let per_mode = |r: usize| vec![r; x.ndim()];
    let setting = format!("eps {:?}, rank {:?}", o.eps, o.rank);
    let (r, factors): (Row, Vec<(String, Tensor<f64>)>) = match o.method {
        TensorMethod::Hosvd | TensorMethod::StHosvd => {
            let params = match (o.eps, o.rank) {
                (Some(e), Some(r)) => Hosvd::with_error(e).max_ranks(&per_mode(r)),
                (Some(e), None) => Hosvd::with_error(e),
                (None, Some(r)) => Hosvd::new(&per_mode(r)),
                (None, None) => return Err(Failure::usage("hosvd needs --eps and/or --rank")),
            };
            let sequential = o.method == TensorMethod::StHosvd;
            let (fit, secs) = timed(|| params.sequential(sequential).fit(&x));
            let fit = fit.map_err(numerical)?;
            let mut f = vec![("core".to_string(), fit.0.core().clone())];
            for (k, u) in fit.0.factors().iter().enumerate() {
                f.push((format!("factor{k}"), tensor_of(u).map_err(numerical)?));
            }
            let name = if sequential { "ST-HOSVD" } else { "HOSVD" };
            (row(name, setting, format!("{:?}", fit.0.ranks()), &fit, secs), f)
        }
        TensorMethod::Hooi => {
            let ranks = per_mode(need_rank()?);
            let (fit, secs) = timed(|| Hooi::new(&ranks).max_iter(o.iters).fit(&x));
            let fit = fit.map_err(numerical)?;
            let mut f = vec![("core".to_string(), fit.0.core().clone())];
            for (k, u) in fit.0.factors().iter().enumerate() {
                f.push((format!("factor{k}"), tensor_of(u).map_err(numerical)?));
            }
            (row("HOOI", setting, format!("{ranks:?}"), &fit, secs), f)
        }
        TensorMethod::Cp => {
            let rank = need_rank()?;
            let (fit, secs) = timed(|| CpAls::new(rank).max_iter(o.iters).fit(&x));
            let fit = fit.map_err(numerical)?;
            let w = fit.0.weights().to_vec();
            let mut f =
                vec![("weights".to_string(), Tensor::from_vec(&[w.len()], w).map_err(numerical)?)];
            for (k, u) in fit.0.factors().iter().enumerate() {
                f.push((format!("factor{k}"), tensor_of(u).map_err(numerical)?));
            }
            (row("CP-ALS", setting, rank.to_string(), &fit, secs), f)
        }
        TensorMethod::Tt => {
            let mut params = TtSvd::new();
            if let Some(e) = o.eps {
                params = params.eps(e);
            }
            if let Some(r) = o.rank {
                params = params.max_rank(r);
            }
            let (fit, secs) = timed(|| params.fit(&x));
            let fit = fit.map_err(numerical)?;
            let f = fit
                .0
                .cores()
                .iter()
                .enumerate()
                .map(|(k, g)| (format!("core{k}"), g.clone()))
                .collect();
            (row("TT-SVD", setting, format!("{:?}", fit.0.ranks()), &fit, secs), f)
        }
    };
    print_table(&[r]);
    if let Some(out) = &o.output {
        crate::interrupt::while_writing(|| write_factors(out, &factors, o.force))?;
        println!(
            "factors written to {}: {}",
            out.display(),
            factors.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>().join(", ")
        );
    }
    Ok(())
}
