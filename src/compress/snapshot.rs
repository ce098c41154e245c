//! [`Snapshot`]: a copy of every parameter and buffer of a model, to put back after a step
//! that did not pay off (MUSCO below its accuracy floor).

use crate::error::{Error, Result};
use crate::nn::{Layer, ParamMut};
use crate::scalar::Scalar;

/// The values of every parameter and buffer of a model, in visiting order.
pub(crate) struct Snapshot<T> {
    params: Vec<Vec<T>>,
    buffers: Vec<Vec<T>>,
}

impl<T: Scalar> Snapshot<T> {
    /// Copies the parameters and buffers of `model`.
    pub(crate) fn take(model: &mut dyn Layer<T>) -> Self {
        let mut params = Vec::new();
        model.visit_params(&mut |p: ParamMut<'_, T>| params.push(p.value.to_vec()));
        let mut buffers = Vec::new();
        model.visit_buffers(&mut |_, b: &mut [T]| buffers.push(b.to_vec()));
        Self { params, buffers }
    }

    /// Writes the copied values back into `model`, which must have the same parameters and
    /// buffers (in number and size) as when they were taken.
    pub(crate) fn restore(&self, model: &mut dyn Layer<T>) -> Result<()> {
        let mut params = self.params.iter();
        let mut fits = true;
        model.visit_params(&mut |p: ParamMut<'_, T>| match params.next() {
            Some(v) if v.len() == p.value.len() => p.value.copy_from_slice(v),
            _ => fits = false,
        });
        let mut buffers = self.buffers.iter();
        model.visit_buffers(&mut |_, b: &mut [T]| match buffers.next() {
            Some(v) if v.len() == b.len() => b.copy_from_slice(v),
            _ => fits = false,
        });
        if fits && params.next().is_none() && buffers.next().is_none() {
            return Ok(());
        }
        Err(Error::ShapeMismatch {
            op: "Snapshot::restore",
            left: self.params.iter().map(Vec::len).collect(),
            right: vec![],
            detail: "the model's parameters changed since the snapshot".into(),
        })
    }
}
