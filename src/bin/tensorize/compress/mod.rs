//! `tensorize compress FILE -o OUT --method M (--eps E | --ratio R | --budget P)`: every chosen
//! 2-D weight and 4-D kernel of a safetensors file decomposed, everything else carried through
//! unchanged, OUT written atomically, and a per-tensor report.

mod layer;
pub mod method;
mod report;
pub mod sizing;
mod write;

use std::path::{Path, PathBuf};
use std::time::Instant;

use rayon::prelude::*;

use tensorize::io::{Dtype, SafetensorsFile};
use tensorize::{Scalar, Tensor};

use self::layer::{dense_flops, LayerFit};
use self::method::{CliMethod, RankSelect};
use self::report::{Report, Row};
use self::sizing::{Chosen, Size};
use crate::failure::{self, Failure};
use crate::glob::Patterns;
use crate::{interrupt, progress};

pub use self::layer::Fitted;
pub use self::write::check_output as check_output_path;

/// Everything `compress` was asked.
pub struct Options {
    /// The safetensors file read.
    pub input: PathBuf,
    /// The file written.
    pub output: PathBuf,
    /// The decomposition.
    pub method: CliMethod,
    /// Channel factors of the tensorized methods / modes of TT-matrix.
    pub factors: usize,
    /// The size asked for.
    pub size: Size,
    /// Which tensors (all 2-D and 4-D float tensors when `None`).
    pub layers: Option<String>,
    /// How ranks are chosen.
    pub rank_select: RankSelect,
    /// Replace an existing OUT.
    pub force: bool,
    /// Print the report as JSON.
    pub json: bool,
}

/// A compressed layer on its way to the writer.
pub struct Compressed<T> {
    /// Tensor name in the input.
    pub name: String,
    /// The dtype the input stored it in (the factors are written in it).
    pub dtype: Dtype,
    /// The original shape.
    pub shape: Vec<usize>,
    /// The factors and numbers.
    pub fitted: Fitted<T>,
}

/// Runs the command.
pub fn run(options: &Options) -> Result<(), Failure> {
    let t0 = Instant::now();
    sizing::check(options.size, options.rank_select, options.method)?;
    if options.factors == 0 {
        return Err(Failure::usage("--factors takes a count >= 1"));
    }
    // Refuse a bad OUT before any work (the writer checks again when it writes).
    write::check_output(&options.input, &options.output, options.force)?;
    let file = SafetensorsFile::open(&options.input).map_err(failure::reading(&options.input))?;
    let patterns = options.layers.as_deref().map(Patterns::parse);
    let mut chosen = Vec::new();
    let mut carried = Vec::new();
    let mut matched = 0usize;
    for name in file.names() {
        let info = file.info(name).map_err(failure::reading(&options.input))?;
        let wanted = patterns.as_ref().is_none_or(|p| p.matches(name));
        matched += usize::from(wanted);
        let numel: usize = info.shape.iter().product();
        let fits =
            info.dtype.is_float() && options.method.applies_to(info.shape.len()) && numel > 0;
        if wanted && fits {
            chosen.push(Chosen {
                name: name.to_string(),
                shape: info.shape.clone(),
                dtype: info.dtype,
            });
        } else {
            let why = if !wanted {
                "not matched by --layers"
            } else if !info.dtype.is_float() {
                "not a float tensor"
            } else if matches!(info.shape.len(), 2 | 4) && numel > 0 {
                "a kernel this method does not apply to"
            } else {
                "not a 2-D weight or 4-D kernel"
            };
            carried.push((name.to_string(), why));
        }
    }
    if let Some(list) = &options.layers {
        if matched == 0 {
            return Err(Failure::usage(format!(
                "{}: --layers {list:?} matches no tensor (the file holds {} tensors, e.g. {:?})",
                options.input.display(),
                file.len(),
                file.names().take(3).collect::<Vec<_>>()
            )));
        }
        if chosen.is_empty() {
            return Err(Failure::usage(format!(
                "{}: --layers {list:?} matches only tensors that {} cannot compress",
                options.input.display(),
                options.method.name()
            )));
        }
    }
    if chosen.iter().any(|c| c.dtype == Dtype::F64) {
        run_typed::<f64>(options, &file, &chosen, &carried, t0)
    } else {
        run_typed::<f32>(options, &file, &chosen, &carried, t0)
    }
}

/// The work in precision `T` (f64 if any chosen weight is stored as F64, else f32).
fn run_typed<T: Scalar>(
    options: &Options,
    file: &SafetensorsFile,
    chosen: &[Chosen],
    carried: &[(String, &'static str)],
    t0: Instant,
) -> Result<(), Failure> {
    let path = options.input.as_path();
    let mut rows = Vec::new();
    let mut carried_params = 0usize;
    for (name, why) in carried {
        let info = file.info(name).map_err(failure::reading(path))?;
        let params = info.shape.iter().product();
        carried_params += params;
        rows.push(Row {
            name: name.clone(),
            shape: info.shape.clone(),
            dtype: info.dtype.to_string(),
            status: "carried",
            note: why.to_string(),
            ranks: vec![],
            params: (params, params),
            flops: None,
            rel_error: 0.0,
            spectral_error: 0.0,
            seconds: 0.0,
        });
    }
    let targets =
        sizing::targets(file, path, chosen, options.size, options.rank_select, carried_params)?;
    let bar = progress::bar(chosen.len() as u64, "compressing");
    // The layers are independent: several are decomposed at once, each with the library's own
    // parallelism inside (a lone SVD keeps about one core busy), and a layer's result does not
    // depend on which thread ran it. The report keeps the file's order.
    let fits: Vec<Result<(LayerFit<T>, f64), Failure>> = chosen
        .par_iter()
        .zip(targets.into_par_iter())
        .map(|(c, target)| {
            let t = Instant::now();
            let w: Tensor<T> = file.read(&c.name).map_err(failure::reading(path))?;
            let fit = layer::fit(&w, options.method, options.factors, target)
                .map_err(failure::decomposing(path, &c.name))?;
            bar.set_message(c.name.clone());
            bar.inc(1);
            Ok((fit, t.elapsed().as_secs_f64()))
        })
        .collect();
    bar.finish_and_clear();
    let mut compressed = Vec::new();
    for (c, fit) in chosen.iter().zip(fits) {
        let (fit, seconds) = fit?;
        let params = c.params();
        let mut row = Row {
            name: c.name.clone(),
            shape: c.shape.clone(),
            dtype: c.dtype.to_string(),
            status: "kept",
            note: String::new(),
            ranks: vec![],
            params: (params, params),
            flops: Some((dense_flops(params), dense_flops(params))),
            rel_error: 0.0,
            spectral_error: 0.0,
            seconds: 0.0,
        };
        match fit {
            LayerFit::Kept(why) => row.note = why,
            LayerFit::Fitted(f) => {
                row.status = "compressed";
                row.ranks = f.ranks.clone();
                row.params.1 = f.params;
                row.flops = Some((dense_flops(params), f.flops));
                row.rel_error = f.rel_error;
                row.spectral_error = f.spectral_error;
                compressed.push(Compressed {
                    name: c.name.clone(),
                    dtype: c.dtype,
                    shape: c.shape.clone(),
                    fitted: *f,
                });
            }
        }
        row.seconds = seconds;
        rows.push(row);
    }
    let kept: Vec<&str> =
        rows.iter().filter(|r| r.status != "compressed").map(|r| r.name.as_str()).collect();
    interrupt::while_writing(|| write::write_output(file, path, &kept, &compressed, options))?;
    rows.sort_by(|a, b| a.name.cmp(&b.name));
    let size = |p: &Path| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
    let report = Report {
        input: path.display().to_string(),
        output: options.output.display().to_string(),
        method: options.method.name(),
        rows,
        seconds: t0.elapsed().as_secs_f64(),
        bytes: (size(path), size(&options.output)),
    };
    if options.json {
        println!("{}", report.to_json());
    } else {
        report.print_text();
    }
    Ok(())
}
