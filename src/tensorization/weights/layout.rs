//! [`Layout`]: how a weight is reshaped and permuted into the tensor a [`Method`] decomposes,
//! and back; [`Kind`]: which format that decomposition is.

use super::method::Method;
use super::shape::WeightShape;
use crate::error::Result;
use crate::tensorization::factorize::deal_round_robin;

/// Which format a method produces.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    LowRank,
    Cp,
    Tucker,
    Tt,
}

/// How a weight is turned into the tensor that is decomposed, and back:
/// `w.reshape(split).permute_modes(perm).reshape(shape)`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Layout {
    /// The weight's own shape.
    pub original: Vec<usize>,
    /// The weight reshaped (row-major) before permuting.
    pub split: Vec<usize>,
    /// Mode `k` of the permuted tensor is mode `perm[k]` of `split`.
    pub perm: Vec<usize>,
    /// The tensor that is decomposed (the permuted one with modes merged or dropped).
    pub shape: Vec<usize>,
    /// The decomposed modes of a Tucker method (empty otherwise).
    pub tucker_modes: Vec<usize>,
    /// Mode `k` of `shape` merges the modes `groups[k]` of `split` (row-major, the first
    /// slowest); what a layer running the decomposition needs to know each mode's role.
    pub groups: Vec<Vec<usize>>,
    /// The channel factors `(out_1 … out_L, in_1 … in_L)` of a tensorized method.
    pub out_factors: Vec<usize>,
    /// See `out_factors`.
    pub in_factors: Vec<usize>,
    pub kind: Kind,
}

impl Layout {
    /// The layout of `method` for a weight of shape `w`.
    pub(crate) fn new(w: &WeightShape, method: Method) -> Result<Self> {
        let (out, input) = (w.out(), w.input());
        let (kh, kw) = w.kernel();
        let k2 = kh * kw;
        let spatial = k2 > 1;
        let original = w.dims();
        let plain = |split: Vec<usize>, perm: Vec<usize>, kind, tucker_modes| {
            let shape = perm.iter().map(|&p: &usize| split[p]).collect();
            let groups = perm.iter().map(|&p: &usize| vec![p]).collect();
            Layout {
                original: original.clone(),
                split,
                perm,
                shape,
                tucker_modes,
                groups,
                out_factors: vec![],
                in_factors: vec![],
                kind,
            }
        };
        let kernel4 = if spatial { vec![out, input, kh, kw] } else { vec![out, input] };
        let id = |n: usize| (0..n).collect::<Vec<_>>();
        Ok(match method {
            Method::Svd => plain(vec![out, input * k2], id(2), Kind::LowRank, vec![]),
            Method::Cp => {
                let split = if spatial { vec![out, input, k2] } else { vec![out, input] };
                let n = split.len();
                plain(split, id(n), Kind::Cp, vec![])
            }
            Method::Tucker2 => {
                let n = kernel4.len();
                plain(kernel4, id(n), Kind::Tucker, vec![0, 1])
            }
            Method::Tt => {
                let perm = if spatial { vec![1, 2, 3, 0] } else { vec![1, 0] };
                plain(kernel4, perm, Kind::Tt, vec![])
            }
            Method::RCp { factors } | Method::RTucker { factors } | Method::RTt { factors } => {
                let l = factors;
                let out_f = deal_round_robin(out, l)?;
                let in_f = deal_round_robin(input, l)?;
                let mut split: Vec<usize> = out_f.iter().chain(&in_f).copied().collect();
                if spatial {
                    split.extend([kh, kw]);
                }
                // Groups of split modes, each group merged into one mode of the decomposed
                // tensor; `channel` marks the groups a Tucker method decomposes.
                let space = vec![2 * l, 2 * l + 1];
                let mut groups: Vec<(Vec<usize>, bool)> = Vec::new();
                let kind = match method {
                    Method::RCp { .. } => {
                        if spatial {
                            groups.push((space, false));
                        }
                        groups.extend((0..l).map(|j| (vec![l + j, j], true)));
                        Kind::Cp
                    }
                    Method::RTucker { .. } => {
                        if spatial {
                            groups.extend([(vec![2 * l], false), (vec![2 * l + 1], false)]);
                        }
                        groups.extend((0..l).map(|j| (vec![l + j], true)));
                        groups.extend((0..l).map(|j| (vec![j], true)));
                        Kind::Tucker
                    }
                    _ => {
                        groups.extend((0..l).map(|j| (vec![l + j, j], true)));
                        if spatial {
                            groups.push((space, false));
                        }
                        Kind::Tt
                    }
                };
                let size = |g: &[usize]| g.iter().map(|&m| split[m]).product::<usize>();
                let mut kept: Vec<(Vec<usize>, bool)> =
                    groups.iter().filter(|(g, _)| size(g) > 1).cloned().collect();
                if kind == Kind::Tucker && !kept.iter().any(|(_, channel)| *channel) {
                    // A Tucker method needs a mode to decompose: with every channel group of
                    // size 1 (one input and one output channel), keep the first, in its place.
                    if let Some(first) = groups.iter().position(|(_, channel)| *channel) {
                        let at = groups[..first].iter().filter(|(g, _)| size(g) > 1).count();
                        kept.insert(at, groups[first].clone());
                    }
                }
                if kept.is_empty() {
                    kept.push(groups[0].clone());
                }
                let perm: Vec<usize> = kept.iter().flat_map(|(g, _)| g.iter().copied()).collect();
                // Dropped groups have size 1: append their modes anywhere (at the end).
                let mut full_perm = perm.clone();
                full_perm.extend((0..split.len()).filter(|m| !perm.contains(m)));
                let shape: Vec<usize> = kept.iter().map(|(g, _)| size(g)).collect();
                let tucker_modes = if kind == Kind::Tucker {
                    kept.iter().enumerate().filter(|(_, (_, c))| *c).map(|(i, _)| i).collect()
                } else {
                    vec![]
                };
                Layout {
                    original,
                    split,
                    perm: full_perm,
                    shape,
                    tucker_modes,
                    groups: kept.into_iter().map(|(g, _)| g).collect(),
                    out_factors: out_f,
                    in_factors: in_f,
                    kind,
                }
            }
        })
    }

    /// The shape of the permuted (not yet merged) tensor.
    pub(crate) fn permuted_shape(&self) -> Vec<usize> {
        self.perm.iter().map(|&p| self.split[p]).collect()
    }

    /// The inverse of `perm`.
    pub(crate) fn inverse_perm(&self) -> Vec<usize> {
        let mut inv = vec![0; self.perm.len()];
        for (k, &p) in self.perm.iter().enumerate() {
            inv[p] = k;
        }
        inv
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tensor::Tensor;

    fn tensorized(w: &Tensor<f64>, method: Method) -> (Layout, Tensor<f64>) {
        let layout = Layout::new(&WeightShape::of(w).unwrap(), method).unwrap();
        let x = w
            .clone()
            .reshape(&layout.split)
            .unwrap()
            .permute_modes(&layout.perm)
            .unwrap()
            .reshape(&layout.shape)
            .unwrap();
        (layout, x)
    }

    /// r-CP and r-TK layouts against hand-written index maps (o = o_1·out_2 + o_2, i likewise).
    #[test]
    fn tensorized_layouts_match_naive_index_maps() {
        let w = Tensor::<f64>::random_normal(&[6, 4, 3, 2], 3).unwrap();
        let (l, x) = tensorized(&w, Method::RCp { factors: 2 });
        assert_eq!((l.out_factors.clone(), l.in_factors.clone()), (vec![2, 3], vec![2, 2]));
        assert_eq!(x.shape(), &[6, 4, 6]);
        assert_eq!(l.groups, vec![vec![4, 5], vec![2, 0], vec![3, 1]]);
        let (y_l, y) = tensorized(&w, Method::RTucker { factors: 2 });
        assert_eq!(y.shape(), &[3, 2, 2, 2, 2, 3]);
        assert_eq!(y_l.tucker_modes, vec![2, 3, 4, 5]);
        for o in 0..6 {
            for i in 0..4 {
                for h in 0..3 {
                    for v in 0..2 {
                        let want = w.get(&[o, i, h, v]).unwrap();
                        let (o1, o2, i1, i2) = (o / 3, o % 3, i / 2, i % 2);
                        let cp_ix = [h * 2 + v, i1 * 2 + o1, i2 * 3 + o2];
                        assert_eq!(x.get(&cp_ix).unwrap(), want);
                        assert_eq!(y.get(&[h, v, i1, i2, o1, o2]).unwrap(), want);
                    }
                }
            }
        }
    }

    /// One input and one output channel: every channel group has size 1, but r-TK keeps one
    /// to decompose (found by tests/tensorization_props.rs: out = in = 1, 2×2 kernel).
    #[test]
    fn tucker_keeps_a_channel_mode_of_a_single_channel_kernel() {
        let w = Tensor::<f64>::random_normal(&[1, 1, 2, 2], 4).unwrap();
        let (l, x) = tensorized(&w, Method::RTucker { factors: 1 });
        assert_eq!(x.shape(), &[2, 2, 1]);
        assert_eq!(l.tucker_modes, vec![2]);
    }

    #[test]
    fn size_one_modes_are_dropped_and_round_trip() {
        // 3 input channels over 3 factors: [3, 1, 1]; merged modes of size 1 disappear.
        let w = Tensor::<f64>::random_normal(&[2, 3, 3, 3], 1).unwrap();
        for method in Method::all(3) {
            let (l, x) = tensorized(&w, method);
            assert!(l.shape.iter().all(|&d| d > 1), "{method:?}: {:?}", l.shape);
            let back = x
                .reshape(&l.permuted_shape())
                .unwrap()
                .permute_modes(&l.inverse_perm())
                .unwrap()
                .reshape(&l.original)
                .unwrap();
            assert_eq!(back, w, "{method:?}");
        }
    }
}
