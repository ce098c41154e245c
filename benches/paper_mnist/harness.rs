//! What every part of `cargo bench --bench paper_mnist` shares: the data and the pretrained
//! model it runs on ([`Ctx`]), what a part hands back ([`PartOutput`]), the list of parts, and
//! the timed loop over them. Included by `tests/paper_mnist_quick.rs` too, so the quick mode a
//! test runs is this code.

// The quick test uses part of this file.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::time::Instant;

use tensorize::data::{Mnist, MnistCnn, MnistSplit};
use tensorize::{Error, Result};

/// What a part runs on.
pub struct Ctx {
    /// The quick mode: a subset (a few hundred images, a handful of steps) that runs in seconds.
    pub quick: bool,
    /// The training split of the data folder.
    pub train: Mnist,
    /// The test split of the data folder.
    pub test: Mnist,
    /// The pretrained MNIST CNN (from `data/models/`).
    pub cnn: MnistCnn<f32>,
    /// The seed every part derives its randomness from.
    pub seed: u64,
}

impl Ctx {
    /// Loads both splits of the MNIST-format IDX folder `data` and the pretrained CNN at `cnn`.
    ///
    /// # Errors
    /// As [`Mnist::load`] (a missing folder or files that are not IDX name the file) and
    /// [`MnistCnn::load`]; both before any part starts.
    pub fn load(data: &Path, cnn: &Path, quick: bool, seed: u64) -> Result<Self> {
        if !data.is_dir() {
            return Err(Error::Io {
                path: data.display().to_string(),
                detail: "not a folder: --data takes a folder with MNIST-format IDX files".into(),
            });
        }
        let train = Mnist::load(data, MnistSplit::Train)?;
        let test = Mnist::load(data, MnistSplit::Test)?;
        Ok(Self { quick, train, test, cnn: MnistCnn::load(cnn)?, seed })
    }
}

/// One curve of a plot.
pub struct Series {
    /// Its name in the legend.
    pub name: String,
    /// `(x, y)` points, drawn in this order.
    pub points: Vec<(f64, f64)>,
}

/// A line plot written as SVG next to the part's markdown.
pub struct Plot {
    /// The file name, e.g. `paper_mnist_musco.svg`.
    pub file: String,
    /// The title above the plot.
    pub title: String,
    /// The x-axis label.
    pub x_label: String,
    /// The y-axis label.
    pub y_label: String,
    /// Draw the x axis on a log scale (parameter counts).
    pub log_x: bool,
    /// The curves.
    pub series: Vec<Series>,
}

/// Training throughput of one model, measured in the run.
pub struct Throughput {
    /// Which model.
    pub model: String,
    /// Its trainable parameters.
    pub params: usize,
    /// Training images per second (forward, backward and optimizer step).
    pub images_per_s: f64,
}

/// What a part hands back.
pub struct PartOutput {
    /// The part's page: a title, the tables, and what the paper claims against what this run
    /// found.
    pub markdown: String,
    /// Plots to write beside the page.
    pub plots: Vec<Plot>,
    /// Training throughput of the models the part trained.
    pub throughput: Vec<Throughput>,
}

/// A part: its name (`--only NAME`, the file `paper_mnist_NAME.md`) and the function that runs it.
pub struct Part {
    /// The name.
    pub name: &'static str,
    /// What it reproduces, for the summary table.
    pub what: &'static str,
    /// Runs it.
    pub run: fn(&Ctx) -> Result<PartOutput>,
}

/// Every part, in the order the issue lists them.
pub fn parts() -> Vec<Part> {
    vec![
        Part {
            name: "novikov",
            what: "Novikov et al. 2015 §6.1: TT-layer nets from scratch, error vs parameters",
            run: crate::novikov::run,
        },
        Part {
            name: "rstd",
            what: "RsTD (Li et al. 2019): shuffled vs plain TT layers across ratios, over seeds",
            run: crate::rstd::run,
        },
        Part {
            name: "tnet",
            what: "T-Net (Kossaifi et al. 2019): one shared Tucker tensor, parameters vs accuracy",
            run: crate::tnet::run,
        },
    ]
}

/// A finished part with its wall time.
pub struct Finished {
    /// Which part.
    pub name: &'static str,
    /// What it reproduces.
    pub what: &'static str,
    /// Its output.
    pub output: PartOutput,
    /// Wall-clock seconds.
    pub seconds: f64,
}

/// Runs the parts named in `only` (all when empty), timing each.
///
/// # Errors
/// [`Error::InvalidParameter`] for a name in `only` that is no part (listing the parts), before
/// any part runs; the first error of a part.
pub fn run_parts(
    ctx: &Ctx,
    only: &[String],
    progress: &mut dyn FnMut(&str),
) -> Result<Vec<Finished>> {
    let all = parts();
    if let Some(unknown) = only.iter().find(|o| !all.iter().any(|p| p.name == o.as_str())) {
        let names: Vec<_> = all.iter().map(|p| p.name).collect();
        return Err(Error::InvalidParameter {
            name: "--only",
            value: format!("{unknown} (the parts: {})", names.join(", ")),
            expected: "the name of a part",
        });
    }
    let mut done = Vec::new();
    for part in all.into_iter().filter(|p| only.is_empty() || only.iter().any(|o| o == p.name)) {
        progress(part.name);
        let t0 = Instant::now();
        let output = (part.run)(ctx)?;
        done.push(Finished {
            name: part.name,
            what: part.what,
            output,
            seconds: t0.elapsed().as_secs_f64(),
        });
    }
    Ok(done)
}

/// The summary page: time per part and the training throughput of every model, relative to
/// the dense model of the same part where the part measured one.
pub fn summary(done: &[Finished], quick: bool, total_seconds: f64) -> String {
    let mut md = String::from("# Paper reproductions on MNIST: summary\n\n");
    md += "Generated by `cargo bench --bench paper_mnist` (benches/paper_mnist/); do not edit.\n\n";
    if quick {
        md += "**Quick mode**: a subset of every part; the numbers are not the reproductions.\n\n";
    }
    md += "| part | reproduces | time (s) |\n|---|---|---|\n";
    for d in done {
        md += &format!("| [{0}](paper_mnist_{0}.md) | {1} | {2:.1} |\n", d.name, d.what, d.seconds);
    }
    md += &format!("| **total** | | {total_seconds:.1} |\n\n");
    let rows: Vec<_> =
        done.iter().flat_map(|d| d.output.throughput.iter().map(move |t| (d.name, t))).collect();
    if !rows.is_empty() {
        md += "## Training throughput\n\nImages per second of a training step (forward, backward, optimizer), \
               measured in this run; the ratio is against the fastest dense model of the same part.\n\n";
        md += "| part | model | params | images/s | vs dense |\n|---|---|---|---|---|\n";
        for (part, t) in rows {
            let dense = done
                .iter()
                .filter(|d| d.name == part)
                .flat_map(|d| d.output.throughput.iter())
                .filter(|t| t.model.starts_with("dense"))
                .map(|t| t.images_per_s)
                .fold(f64::NAN, f64::max);
            let ratio = if dense.is_finite() {
                format!("{:.2}", t.images_per_s / dense)
            } else {
                "–".into()
            };
            md += &format!(
                "| {part} | {} | {} | {:.0} | {ratio} |\n",
                t.model, t.params, t.images_per_s
            );
        }
        md.push('\n');
    }
    md
}

/// Where a part's page and plots go: `docs/reproductions/` of this repository in the full mode,
/// a folder under the target directory in the quick mode (so a quick run never overwrites the
/// committed pages).
pub fn output_dir(quick: bool) -> PathBuf {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    if quick {
        std::env::temp_dir().join("tensorize-paper-mnist-quick")
    } else {
        repo.join("docs").join("reproductions")
    }
}
