//! Shared argument checks of the tensor-algebra functions (typed errors naming the shapes).

use crate::error::{Error, Result};

/// `[nrows, ncols]` of a matrix, for error messages.
pub(crate) fn mat_shape<T>(m: faer::MatRef<'_, T>) -> Vec<usize> {
    vec![m.nrows(), m.ncols()]
}

/// [`Error::InvalidParameter`] for an empty list argument.
pub(crate) fn non_empty<U>(name: &'static str, list: &[U]) -> Result<()> {
    if list.is_empty() {
        Err(Error::InvalidParameter { name, value: "[]".into(), expected: "a non-empty list" })
    } else {
        Ok(())
    }
}

/// Product of `dims` with checked arithmetic (no zero-dimension or byte check; see
/// [`crate::error::checked_numel`] for that).
pub(crate) fn checked_product(dims: &[usize]) -> Result<usize> {
    dims.iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .ok_or_else(|| Error::SizeOverflow { shape: dims.to_vec() })
}
