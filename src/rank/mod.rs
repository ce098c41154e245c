//! Rank selection: EVBMF and MUSCO's weakened rule, ranks by error ε and under a
//! [`crate::budget::Budget`] (TSPC's formulas in [`tspc`]), and whole-model allocation of one
//! global budget across layers.

mod allocation;
mod budget;
mod by_error;
mod evbmf;
mod minimize;
mod musco;
mod spectra;
pub mod tspc;

pub use allocation::{allocate, allocate_for_error, Allocation, LayerSpectrum};
pub use budget::{
    cp_rank_for_budget, tt_for_budget, tt_for_budget_with, tt_ranks_for_budget, tucker_for_budget,
    tucker_for_budget_with, tucker_ranks_for_budget,
};
pub use by_error::{
    cp_rank_for_error, cp_rank_for_error_with, matrix_rank_for_error, matrix_rank_for_error_with,
    svd_rank_for_error, CpRankSearch,
};
pub use evbmf::{
    evbmf, evbmf_from_spectrum, evbmf_from_spectrum_known_noise, evbmf_tau_bar, evbmf_with,
    weakened_rank, Evbmf,
};
pub use musco::{musco_ranks, MuscoRanks};
pub use spectra::{
    tt_bond_spectra, tt_bond_spectra_of, tt_bond_spectra_with, tucker_spectra, tucker_spectra_with,
};
