//! Per-parameter optimizer state (SGD's velocity, Adam's two moments): one or more buffers per
//! parameter, created at the first step and checked against the parameter's size afterwards.

use crate::error::{Error, Result};
use crate::nn::layer::{Layer, ParamMut};
use crate::scalar::Scalar;

/// `per_param[k][s]` is state buffer `s` of the model's `k`-th parameter.
#[derive(Clone, Debug, Default)]
pub(super) struct Slots<T> {
    per_param: Vec<Vec<Vec<T>>>,
}

impl<T: Scalar> Slots<T> {
    /// Calls `update(param, state)` for every parameter of `model`, with `count` zero-initialized
    /// state buffers of the parameter's length. A parameter whose size changed since the first
    /// call is skipped and reported as [`Error::ShapeMismatch`] naming `op`.
    pub(super) fn walk(
        &mut self,
        op: &'static str,
        count: usize,
        model: &mut dyn Layer<T>,
        mut update: impl FnMut(ParamMut<'_, T>, &mut [Vec<T>]),
    ) -> Result<()> {
        let per_param = &mut self.per_param;
        let mut k = 0;
        let mut mismatch = None;
        model.visit_params(&mut |p: ParamMut<'_, T>| {
            if per_param.len() == k {
                per_param.push(vec![vec![T::zero(); p.value.len()]; count]);
            }
            let state = &mut per_param[k];
            match state.first().map(Vec::len) {
                Some(len) if len != p.value.len() => {
                    mismatch.get_or_insert((k, len, p.value.len()));
                }
                _ => update(p, state),
            }
            k += 1;
        });
        match mismatch {
            None => Ok(()),
            Some((k, had, has)) => Err(Error::ShapeMismatch {
                op,
                left: vec![had],
                right: vec![has],
                detail: format!("parameter {k} changed size since the first step"),
            }),
        }
    }
}
