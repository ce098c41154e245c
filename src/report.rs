//! [`FitReport`]: how a fit went, returned by every decomposition and by format operations that
//! truncate (TT rounding). It sits below both, so formats never import algorithms.

/// How a fit went. Running out of iterations is not an error: `converged` says so.
#[derive(Clone, Debug, PartialEq)]
pub struct FitReport {
    /// Iterations run (1 for one-pass methods such as HOSVD and TT-SVD).
    pub iterations: usize,
    /// The final relative error `‖X − X̂‖_F / ‖X‖_F`.
    pub rel_error: f64,
    /// Whether the stopping tolerance was reached (always true for one-pass methods).
    pub converged: bool,
    /// The relative error after each iteration (one entry for one-pass methods).
    pub history: Vec<f64>,
}

impl FitReport {
    /// The report of a one-pass method with achieved relative error `rel_error`.
    pub fn one_pass(rel_error: f64) -> Self {
        Self { iterations: 1, rel_error, converged: true, history: vec![rel_error] }
    }
}
