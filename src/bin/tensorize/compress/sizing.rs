//! Turning `--eps / --ratio / --budget` and `--rank-select` into one [`Target`] per layer.

use tensorize::io::SafetensorsFile;
use tensorize::rank::{allocate, allocate_for_error, LayerSpectrum};
use tensorize::Budget;

use super::layer::Target;
use super::method::{CliMethod, RankSelect};
use crate::failure::{self, Failure};
use crate::{progress, spectrum};

/// The size asked for on the command line.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Size {
    /// `--eps E`: relative Frobenius error per layer (global: RMS over the layers).
    Eps(f64),
    /// `--ratio R`: each layer (global: the chosen layers together) `R` times smaller.
    Ratio(f64),
    /// `--budget P`: parameters of the whole output file.
    Budget(usize),
    /// Nothing (only with `--rank-select vbmf`).
    Unset,
}

/// A chosen layer: its name and shape.
pub struct Chosen {
    /// Tensor name.
    pub name: String,
    /// Shape.
    pub shape: Vec<usize>,
    /// Its dtype.
    pub dtype: tensorize::io::Dtype,
}

impl Chosen {
    /// Parameters.
    pub fn params(&self) -> usize {
        self.shape.iter().product()
    }
}

/// Checks that the flags go together (before any work).
pub fn check(size: Size, select: RankSelect, method: CliMethod) -> Result<(), Failure> {
    match (select, size) {
        (RankSelect::Vbmf, Size::Unset) => Ok(()),
        (RankSelect::Vbmf, _) => Err(Failure::usage(
            "--rank-select vbmf chooses every rank itself: drop --eps, --ratio and --budget",
        )),
        (_, Size::Unset) => Err(Failure::usage(
            "compress needs one of --eps E, --ratio R or --budget PARAMS (or --rank-select vbmf)",
        )),
        (RankSelect::Global, _) if method != CliMethod::Svd => Err(Failure::usage(format!(
            "--rank-select global allocates SVD ranks: use it with --method svd, not {}",
            method.name()
        ))),
        (_, Size::Eps(e)) if !(e.is_finite() && e >= 0.0) => {
            Err(Failure::usage(format!("--eps takes a finite error >= 0, got {e}")))
        }
        (_, Size::Ratio(r)) if !(r.is_finite() && r >= 1.0) => {
            Err(Failure::usage(format!("--ratio takes a factor >= 1, got {r}")))
        }
        _ => Ok(()),
    }
}

/// One target per chosen layer. `carried` is the parameter count of everything else in the file
/// (what `--budget` cannot shrink).
pub fn targets(
    file: &SafetensorsFile,
    path: &std::path::Path,
    chosen: &[Chosen],
    size: Size,
    select: RankSelect,
    carried: usize,
) -> Result<Vec<Target>, Failure> {
    let n = chosen.len();
    let layer_params: usize = chosen.iter().map(Chosen::params).sum();
    let per_layer = |t: Target| Ok(vec![t; n]);
    // A total budget shared by the chosen layers.
    let shared = |budget: usize| -> Result<usize, Failure> {
        budget.checked_sub(carried).filter(|&b| b > 0).ok_or_else(|| {
            Failure::usage(format!(
                "--budget {budget} leaves nothing for the chosen layers: the tensors carried \
                 through unchanged already hold {carried} parameters"
            ))
        })
    };
    match select {
        RankSelect::Vbmf => per_layer(Target::Vbmf),
        RankSelect::Energy => match size {
            Size::Eps(e) => per_layer(Target::Eps(e)),
            Size::Ratio(r) => per_layer(Target::Budget(Budget::CompressBy(r))),
            Size::Budget(b) => {
                let fraction = (shared(b)? as f64 / layer_params.max(1) as f64).min(1.0);
                per_layer(Target::Budget(Budget::KeepFraction(fraction)))
            }
            Size::Unset => per_layer(Target::Vbmf),
        },
        RankSelect::Global => {
            let bar = progress::bar(n as u64, "spectra");
            let mut spectra = Vec::with_capacity(n);
            for c in chosen {
                bar.set_message(c.name.clone());
                let s = spectrum::of_stored(file, &c.name, c.dtype)
                    .map_err(failure::decomposing(path, &c.name))?;
                let rows = c.shape[0];
                let cols = c.params() / rows;
                let full = s.len();
                // Below the break-even: a rank at which the factors hold as much as the weight
                // is never worth it.
                let below = ((c.params() - 1) / (rows + cols)).clamp(1, full);
                spectra.push(
                    LayerSpectrum::new(c.name.clone(), s, rows + cols, c.params()).max_rank(below),
                );
                bar.inc(1);
            }
            bar.finish_and_clear();
            let allocation = match size {
                Size::Eps(e) => allocate_for_error(&spectra, e * e * n as f64),
                Size::Ratio(r) => allocate(&spectra, Budget::CompressBy(r)),
                Size::Budget(b) => allocate(&spectra, Budget::Params(shared(b)?)),
                Size::Unset => return per_layer(Target::Vbmf),
            }
            .map_err(|e| Failure::new(failure::NUMERICAL, format!("{}: {e}", path.display())))?;
            Ok(allocation.ranks.into_iter().map(Target::Rank).collect())
        }
    }
}
