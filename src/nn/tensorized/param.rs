//! One trainable array of a tensorized layer (a factor, a core): its values, the gradient
//! accumulated since the optimizer last cleared it, and the name it is lent under.

use crate::nn::layer::ParamMut;

/// A trainable array and its gradient (same length).
#[derive(Clone, Debug)]
pub(super) struct Param<T> {
    pub(super) name: &'static str,
    pub(super) value: Vec<T>,
    pub(super) grad: Vec<T>,
}

impl<T: Copy + Default + std::ops::AddAssign> Param<T> {
    /// A parameter with zero gradient.
    pub(super) fn new(name: &'static str, value: Vec<T>) -> Self {
        let grad = vec![T::default(); value.len()];
        Self { name, value, grad }
    }

    /// Adds `g` (same length) to the gradient.
    pub(super) fn add_grad(&mut self, g: &[T]) {
        self.grad.iter_mut().zip(g).for_each(|(a, &b)| *a += b);
    }

    /// Lends the parameter to `f`.
    pub(super) fn lend(&mut self, f: &mut dyn FnMut(ParamMut<'_, T>)) {
        f(ParamMut { name: self.name, value: &mut self.value, grad: &mut self.grad });
    }
}

const FACTORS: [&str; 16] = [
    "factor0", "factor1", "factor2", "factor3", "factor4", "factor5", "factor6", "factor7",
    "factor8", "factor9", "factor10", "factor11", "factor12", "factor13", "factor14", "factor15",
];
const CORES: [&str; 16] = [
    "core0", "core1", "core2", "core3", "core4", "core5", "core6", "core7", "core8", "core9",
    "core10", "core11", "core12", "core13", "core14", "core15",
];

/// `"factor{k}"` (`"factor"` from 16 on: names are `'static`).
pub(super) fn factor_name(k: usize) -> &'static str {
    FACTORS.get(k).copied().unwrap_or("factor")
}

/// `"core{k}"` (`"core"` from 16 on).
pub(super) fn core_name(k: usize) -> &'static str {
    CORES.get(k).copied().unwrap_or("core")
}

/// The row-major values of a faer matrix.
pub(super) fn row_major<T: Copy>(m: faer::MatRef<'_, T>) -> Vec<T> {
    let mut v = Vec::with_capacity(m.nrows() * m.ncols());
    for i in 0..m.nrows() {
        for j in 0..m.ncols() {
            v.push(m[(i, j)]);
        }
    }
    v
}
