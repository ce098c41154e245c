//! Rank selection: EVBMF and MUSCO's weakened rule, ranks by error ε and by parameter budget,
//! and whole-model allocation of one global budget across many layers.

mod allocation;
mod evbmf;
mod minimize;

pub use allocation::{allocate, Allocation, Budget, LayerSpectrum};
pub use evbmf::{
    evbmf, evbmf_from_spectrum, evbmf_from_spectrum_known_noise, evbmf_tau_bar, evbmf_with,
    weakened_rank, Evbmf,
};
