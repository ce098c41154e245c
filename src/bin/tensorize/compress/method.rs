//! The `--method` values and what each one is in the library.

use clap::ValueEnum;
use tensorize::tensorization::Method;

/// How every chosen weight is decomposed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum CliMethod {
    /// Truncated SVD of the [out, in·kh·kw] matrix (two factors U√Σ, V√Σ).
    Svd,
    /// Tucker-2: partial Tucker on the out and in modes.
    Tucker2,
    /// CP of [out, in, kh·kw].
    Cp,
    /// TT-SVD of the kernel as [in, kh, kw, out].
    Tt,
    /// TT-matrix of a 2-D weight (Novikov et al.): rows and columns each split into --factors modes.
    TtMatrix,
    /// TSPC r-CP: CP of the tensorized weight.
    RCp,
    /// TSPC r-TK: partial Tucker of the tensorized weight.
    RTk,
    /// TSPC r-TT: TT-SVD of the tensorized weight.
    RTt,
}

impl CliMethod {
    /// The library's method (`None` for TT-matrix, which is not a [`Method`]).
    pub fn method(self, factors: usize) -> Option<Method> {
        Some(match self {
            CliMethod::Svd => Method::Svd,
            CliMethod::Tucker2 => Method::Tucker2,
            CliMethod::Cp => Method::Cp,
            CliMethod::Tt => Method::Tt,
            CliMethod::TtMatrix => return None,
            CliMethod::RCp => Method::RCp { factors },
            CliMethod::RTk => Method::RTucker { factors },
            CliMethod::RTt => Method::RTt { factors },
        })
    }

    /// The name used on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            CliMethod::Svd => "svd",
            CliMethod::Tucker2 => "tucker2",
            CliMethod::Cp => "cp",
            CliMethod::Tt => "tt",
            CliMethod::TtMatrix => "tt-matrix",
            CliMethod::RCp => "r-cp",
            CliMethod::RTk => "r-tk",
            CliMethod::RTt => "r-tt",
        }
    }

    /// Whether the method applies to a weight of `ndim` modes (2: linear, 4: conv kernel).
    pub fn applies_to(self, ndim: usize) -> bool {
        match self {
            CliMethod::TtMatrix => ndim == 2,
            _ => ndim == 2 || ndim == 4,
        }
    }
}

/// How ranks are chosen (`--rank-select`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum RankSelect {
    /// Each layer on its own: the smallest rank within ε, or the rank its share of the budget allows.
    Energy,
    /// Each layer at the rank EVBMF finds in its spectrum (no --eps/--ratio/--budget).
    Vbmf,
    /// One allocation over all chosen layers (SVD): the smallest summed squared errors within
    /// the budget or ratio, or the fewest parameters within an RMS error ε.
    Global,
}
