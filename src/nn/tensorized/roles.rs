//! What each mode of a tensorized decomposition carries of the weight `[out, in, kh, kw]`:
//! which output-channel, input-channel and kernel factors are merged into it, read off the
//! tensorization layout (size-1 factors change no size, so where they sit does not matter).

use crate::tensorization::weights::layout::Layout;

/// The factors merged into one mode of the decomposed tensor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Role {
    /// The product of its output-channel factors (1 if none).
    pub(super) out: usize,
    /// The product of its input-channel factors.
    pub(super) input: usize,
    /// The product of its kernel factors (`kh`, `kw`).
    pub(super) kernel: usize,
    /// Whether an output-channel, an input-channel or a kernel factor is merged into it.
    pub(super) has: [bool; 3],
}

/// One role per mode of `layout.shape`.
pub(super) fn roles(layout: &Layout) -> Vec<Role> {
    let l = layout.out_factors.len();
    layout
        .groups
        .iter()
        .map(|group| {
            let mut role = Role { out: 1, input: 1, kernel: 1, has: [false; 3] };
            for &m in group {
                let size = layout.split[m];
                let part = if m < l {
                    0
                } else if m < 2 * l {
                    1
                } else {
                    2
                };
                role.has[part] = true;
                match part {
                    0 => role.out *= size,
                    1 => role.input *= size,
                    _ => role.kernel *= size,
                }
            }
            role
        })
        .collect()
}

/// The positions (within `group`) of the output-channel factors, then those of the others,
/// each in their order: the permutation that puts a merged mode in `[out part, in part]` order.
pub(super) fn out_first(layout: &Layout, group: &[usize]) -> Vec<usize> {
    let l = layout.out_factors.len();
    let outs = (0..group.len()).filter(|&k| group[k] < l);
    let rest = (0..group.len()).filter(|&k| group[k] >= l);
    outs.chain(rest).collect()
}
