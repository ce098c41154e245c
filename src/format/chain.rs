//! Validation of a chain of cores, shared by the tensor train, the tensor ring and the TT-matrix:
//! each core is `r_{k-1} × (mode sizes…) × r_k`, neighbouring ranks agree, the ends close as the
//! format requires, and every entry is finite.

use crate::error::{Error, Result};
use crate::scalar::Scalar;
use crate::tensor::Tensor;

/// How the two ends of a chain must meet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Ends {
    /// A train: `r_0 = r_d = 1`.
    Open,
    /// A ring: `r_0 = r_d`.
    Closed,
}

/// What a format asks of its chain.
pub(crate) struct Chain {
    /// The calling operation, for errors.
    pub op: &'static str,
    /// The format, for errors ("a tensor train").
    pub format: &'static str,
    /// The order of every core (3 for TT/TR, 4 for a TT-matrix).
    pub core_order: usize,
    /// The core layout, for errors ("r_{k-1} × n_k × r_k").
    pub layout: &'static str,
    /// How the ends meet.
    pub ends: Ends,
}

impl Chain {
    /// Checks `cores`: at least one, each of order `core_order`, the right rank of core `k` equal
    /// to the left rank of core `k + 1`, the ends as `ends` says, and no NaN or infinity.
    ///
    /// # Errors
    /// [`Error::InvalidModes`] for no core or a core of another order; [`Error::InvalidRank`]
    /// for ends that do not meet; [`Error::ShapeMismatch`] for neighbouring ranks that differ;
    /// [`Error::NonFinite`].
    pub(crate) fn check<T: Scalar>(&self, cores: &[Tensor<T>]) -> Result<()> {
        let op = self.op;
        if cores.is_empty() {
            return Err(Error::InvalidModes {
                op,
                modes: vec![],
                ndim: 0,
                detail: format!("{} needs at least one core", self.format),
            });
        }
        for (k, core) in cores.iter().enumerate() {
            if core.ndim() != self.core_order {
                return Err(Error::InvalidModes {
                    op,
                    modes: (0..core.ndim()).collect(),
                    ndim: core.ndim(),
                    detail: format!(
                        "core {k} has shape {:?}; the cores of {} must be {}-way ({})",
                        core.shape(),
                        self.format,
                        self.core_order,
                        self.layout
                    ),
                });
            }
        }
        let last = self.core_order - 1;
        let (first_rank, last_rank) = (cores[0].shape()[0], cores[cores.len() - 1].shape()[last]);
        let ends_meet = match self.ends {
            Ends::Open => first_rank == 1 && last_rank == 1,
            Ends::Closed => first_rank == last_rank,
        };
        if !ends_meet {
            let shapes: Vec<Vec<usize>> = cores.iter().map(|c| c.shape().to_vec()).collect();
            let rule = match self.ends {
                Ends::Open => "boundary ranks r_0 and r_d must be 1".to_string(),
                Ends::Closed => format!(
                    "the ring does not close: the last core's right rank r_d = {last_rank} \
                     must equal the first core's left rank r_0 = {first_rank}"
                ),
            };
            return Err(Error::InvalidRank {
                op,
                ranks: vec![first_rank, last_rank],
                shape: cores.iter().flat_map(|c| c.shape()[1..last].to_vec()).collect(),
                detail: format!("{rule}; core shapes are {shapes:?}"),
            });
        }
        for (k, pair) in cores.windows(2).enumerate() {
            let (a, b) = (pair[0].shape(), pair[1].shape());
            if a[last] != b[0] {
                return Err(Error::ShapeMismatch {
                    op,
                    left: a.to_vec(),
                    right: b.to_vec(),
                    detail: format!(
                        "right rank {} of core {k} must equal left rank {} of core {}",
                        a[last],
                        b[0],
                        k + 1
                    ),
                });
            }
        }
        for core in cores {
            core.check_nonempty()?;
            core.check_finite(op)?;
        }
        Ok(())
    }
}
