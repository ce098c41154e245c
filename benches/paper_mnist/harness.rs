//! What every part of `cargo bench --bench paper_mnist` shares: the data and the pretrained
//! model it runs on ([`Ctx`]), what a part hands back ([`PartOutput`]), the list of parts, and
//! the timed loop over them. Included by `tests/paper_mnist_quick.rs` too, so the quick mode a
//! test runs is this code.

// The quick test uses part of this file.
#![allow(dead_code)]

use std::cell::Cell;
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

/// Training throughput (for [`Throughput`]) measured from the progress callback: images between the first and the
/// last step over the time between them.
#[derive(Default)]
pub struct Clock {
    first: Cell<Option<Instant>>,
    last: Cell<Option<Instant>>,
    images: Cell<usize>,
    run: Cell<usize>,
}

impl Clock {
    /// A step of the training run `run`: a new run starts the count afresh, so that the time
    /// between runs (decompositions, evaluations) is not counted.
    pub fn tick_in(&self, run: usize, batch: usize) {
        if run != self.run.get() {
            self.run.set(run);
            self.first.set(None);
            self.images.set(0);
        }
        self.tick(batch);
    }

    pub fn tick(&self, batch: usize) {
        let now = Instant::now();
        if self.first.get().is_none() {
            self.first.set(Some(now));
        } else {
            self.images.set(self.images.get() + batch);
        }
        self.last.set(Some(now));
    }

    pub fn images_per_s(&self) -> f64 {
        match (self.first.get(), self.last.get()) {
            (Some(a), Some(b)) if b > a => self.images.get() as f64 / (b - a).as_secs_f64(),
            _ => f64::NAN,
        }
    }
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
            name: "tspc",
            what: "TSPC: plain vs tensorized decompositions, sequential data reconstruction vs fine-tuning",
            run: crate::tspc::run,
        },
        Part {
            name: "rstd",
            what: "RsTD (Li et al. 2019): shuffled vs plain TT and TR layers across ratios, over seeds",
            run: crate::rstd::run,
        },
        Part {
            name: "musco",
            what: "MUSCO: iterative vs one-shot decomposition at the same compression",
            run: crate::musco::run,
        },
        Part {
            name: "tnet",
            what: "T-Net (Kossaifi et al. 2019): one shared Tucker tensor, parameters vs accuracy",
            run: crate::tnet::run,
        },
        Part {
            name: "allocation",
            what: "ours: whole-model rank allocation, weight-only vs data-aware vs uniform",
            run: crate::allocation::run,
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
