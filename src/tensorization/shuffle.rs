//! Random-shuffle embedding (RsTD, Li et al. 2019): a seeded permutation of a tensor's entries,
//! its inverse, and factorizations of the shuffled tensor ([`Shuffled`], [`rstd_tt`], [`rstd_tr`]).

use rand::seq::SliceRandom;
use rand::SeedableRng;

use crate::decomp::{TrSvd, TtSvd};
use crate::error::{checked_numel, try_filled_vec, Error, Result};
use crate::format::{Factorized, TrTensor, TtTensor};
use crate::report::FitReport;
use crate::scalar::Scalar;
use crate::tensor::row_major_strides;
use crate::tensor::Tensor;

/// Which entries a [`Shuffle`] mixes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum ShuffleKind {
    /// One permutation `π` of all `N = ∏ n_k` entries of the flattened (row-major) tensor:
    /// `Y.flat[j] = X.flat[π(j)]`. Destroys every low-rank structure of `X`.
    #[default]
    Whole,
    /// An independent permutation `σ_k` of the index set `{0, …, n_k − 1}` of each mode:
    /// `Y[i_1, …, i_d] = X[σ_1(i_1), …, σ_d(i_d)]`. This is our reading of "within-mode"
    /// shuffling (the paper's granularity could not be established): it reorders the slices of
    /// every mode, i.e. applies a permutation matrix `P_k` in each mode. Unfolding ranks and
    /// singular values are unchanged, and TT-SVD (like HOSVD) is equivariant under such
    /// per-mode orthogonal maps, so **the TT-SVD error of a within-mode shuffle equals the
    /// unshuffled one exactly** (measured on a real 64×32×3×3 kernel: identical to 4 digits at
    /// every budget). TR-SVD differs slightly, because its split of the first SVD's columns into
    /// `(r_0, r_1)` pairs is not invariant to the signs of singular vectors. The option matters
    /// when the tensor is later reshaped so that modes are split or merged.
    WithinModes,
}

/// A seeded permutation of the entries of tensors of one shape (RsTD, Li, Sun, Yu, Hou, Zhao
/// 2019): decompose `π(X)` instead of `X` and represent `X ≈ π⁻¹(TD(cores))`.
///
/// The permutation is a pure function of `(shape, kind, seed)`: it is drawn by the Fisher–Yates
/// shuffle of rand's [`SliceRandom::shuffle`] driven by `rand::rngs::StdRng::seed_from_u64(seed)`
/// (ChaCha12, the generator behind [`Tensor::random_normal`]); for
/// [`ShuffleKind::WithinModes`] one generator draws the modes' permutations in mode order. So it
/// costs no parameters: storing the seed is enough to regenerate it (with the same rand major
/// version).
///
/// ```
/// use tensorize::tensorization::{Shuffle, ShuffleKind};
/// use tensorize::Tensor;
/// let x = Tensor::<f64>::from_fn(&[2, 3], |i| (3 * i[0] + i[1]) as f64)?;
/// let s = Shuffle::new(&[2, 3], ShuffleKind::Whole, 7)?;
/// let y = s.apply(&x)?;
/// let mut sorted = y.as_slice().to_vec();
/// sorted.sort_by(f64::total_cmp);
/// assert_eq!(sorted, x.as_slice());                 // the same entries, reordered
/// assert_eq!(s.invert(&y)?, x);                     // π⁻¹(π(X)) = X
/// assert_eq!(Shuffle::whole(&[2, 3], 7)?, s);       // same seed, same permutation
/// # Ok::<(), tensorize::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Shuffle {
    shape: Vec<usize>,
    kind: ShuffleKind,
    seed: u64,
    /// Whole: one permutation of `0..N`; WithinModes: one permutation of `0..n_k` per mode.
    perms: Vec<Vec<usize>>,
}

impl Shuffle {
    /// The permutation of kind `kind` for tensors of shape `shape`, drawn from `seed`.
    ///
    /// # Errors
    /// [`Error::ZeroDimension`] / [`Error::SizeOverflow`] for a shape with a zero dimension or
    /// too many elements; [`Error::OutOfMemory`] if the permutation cannot be allocated.
    pub fn new(shape: &[usize], kind: ShuffleKind, seed: u64) -> Result<Self> {
        let numel = checked_numel(shape, std::mem::size_of::<usize>())?;
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        let mut draw = |n: usize| -> Result<Vec<usize>> {
            let mut p = try_filled_vec(shape, n, 0usize)?;
            p.iter_mut().enumerate().for_each(|(i, v)| *v = i);
            p.shuffle(&mut rng);
            Ok(p)
        };
        let perms = match kind {
            ShuffleKind::Whole => vec![draw(numel)?],
            ShuffleKind::WithinModes => shape.iter().map(|&n| draw(n)).collect::<Result<_>>()?,
        };
        Ok(Self { shape: shape.to_vec(), kind, seed, perms })
    }

    /// [`Shuffle::new`] with [`ShuffleKind::Whole`]: all entries permuted.
    ///
    /// # Errors
    /// As [`Shuffle::new`].
    pub fn whole(shape: &[usize], seed: u64) -> Result<Self> {
        Self::new(shape, ShuffleKind::Whole, seed)
    }

    /// [`Shuffle::new`] with [`ShuffleKind::WithinModes`]: each mode's indices permuted.
    ///
    /// # Errors
    /// As [`Shuffle::new`].
    pub fn within_modes(shape: &[usize], seed: u64) -> Result<Self> {
        Self::new(shape, ShuffleKind::WithinModes, seed)
    }

    /// The seed the permutation was drawn from.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// The kind of shuffle.
    pub fn kind(&self) -> ShuffleKind {
        self.kind
    }

    /// The shape of the tensors this permutation acts on.
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    /// The permutation as a flat source map `π`: `apply(X).flat[j] = X.flat[π[j]]` (row-major
    /// positions), for either kind.
    ///
    /// # Errors
    /// [`Error::OutOfMemory`] if the map cannot be allocated.
    pub fn to_flat_permutation(&self) -> Result<Vec<usize>> {
        match self.kind {
            ShuffleKind::Whole => Ok(self.perms[0].clone()),
            ShuffleKind::WithinModes => {
                let n = self.shape.iter().product();
                let mut out = crate::error::try_vec_with_capacity(&self.shape, n)?;
                self.for_each_source(|_, src| out.push(src));
                Ok(out)
            }
        }
    }

    /// `Y = π(X)`: `Y.flat[j] = X.flat[π(j)]` (see [`ShuffleKind`] for `π` of each kind).
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] if `x` does not have the shuffle's shape.
    pub fn apply<T: Scalar>(&self, x: &Tensor<T>) -> Result<Tensor<T>> {
        self.check("Shuffle::apply", x)?;
        let xs = x.as_slice();
        let mut out = try_filled_vec(&self.shape, xs.len(), T::zero())?;
        match self.kind {
            ShuffleKind::Whole => {
                for (o, &p) in out.iter_mut().zip(&self.perms[0]) {
                    *o = xs[p];
                }
            }
            ShuffleKind::WithinModes => self.for_each_source(|j, src| out[j] = xs[src]),
        }
        Ok(Tensor::from_parts_unchecked(self.shape.clone(), out))
    }

    /// `X = π⁻¹(Y)`: `X.flat[π(j)] = Y.flat[j]`, so that `invert(apply(X)) = X` exactly.
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] if `y` does not have the shuffle's shape.
    pub fn invert<T: Scalar>(&self, y: &Tensor<T>) -> Result<Tensor<T>> {
        self.check("Shuffle::invert", y)?;
        let ys = y.as_slice();
        let mut out = try_filled_vec(&self.shape, ys.len(), T::zero())?;
        match self.kind {
            ShuffleKind::Whole => {
                for (&v, &p) in ys.iter().zip(&self.perms[0]) {
                    out[p] = v;
                }
            }
            ShuffleKind::WithinModes => self.for_each_source(|j, src| out[src] = ys[j]),
        }
        Ok(Tensor::from_parts_unchecked(self.shape.clone(), out))
    }

    /// Calls `f(j, π(j))` for every row-major position `j` in order (within-mode kind).
    fn for_each_source(&self, mut f: impl FnMut(usize, usize)) {
        let d = self.shape.len();
        let strides = row_major_strides(&self.shape);
        let mut idx = vec![0usize; d];
        let n: usize = self.shape.iter().product();
        for j in 0..n {
            let src = (0..d).map(|k| self.perms[k][idx[k]] * strides[k]).sum();
            f(j, src);
            for k in (0..d).rev() {
                idx[k] += 1;
                if idx[k] < self.shape[k] {
                    break;
                }
                idx[k] = 0;
            }
        }
    }

    fn check<T: Scalar>(&self, op: &'static str, x: &Tensor<T>) -> Result<()> {
        if x.shape() != self.shape.as_slice() {
            return Err(Error::ShapeMismatch {
                op,
                left: self.shape.clone(),
                right: x.shape().to_vec(),
                detail: "the tensor must have the shape the permutation was drawn for".into(),
            });
        }
        Ok(())
    }
}

/// A factorization of a shuffled tensor: represents `X = π⁻¹(F)` where `F` is the factorized
/// `inner` (RsTD's `vec(K) = π⁻¹(vec(TD(cores)))`).
///
/// Since `π` is regenerated from its seed, [`Factorized::num_params`] is the inner format's:
/// the permutation costs no parameters, and the compression ratio does not depend on `π`.
/// `π` is an isometry, so `‖X‖ = ‖F‖` and `‖X − π⁻¹(F)‖ = ‖π(X) − F‖`: the error is the inner
/// format's error against the shuffled tensor, computed without densifying `F` where the inner
/// format can (TT, TR).
///
/// ```
/// use tensorize::decomp::TtSvd;
/// use tensorize::tensorization::{rstd_tt, ShuffleKind};
/// use tensorize::{Factorized, Tensor};
/// let x = Tensor::<f64>::random_normal(&[4, 4, 4], 1)?;
/// let (f, report) = rstd_tt(&x, ShuffleKind::Whole, 3, &TtSvd::new().max_rank(3))?;
/// assert_eq!(f.num_params(), f.inner().num_params());
/// let dense_err = x.sub(&f.to_dense()?)?.norm() / x.norm();
/// assert!((f.rel_error(&x)? - dense_err).abs() < 1e-10);
/// assert!((report.rel_error - dense_err).abs() < 1e-10);
/// # Ok::<(), tensorize::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Shuffled<F> {
    inner: F,
    shuffle: Shuffle,
}

impl<F> Shuffled<F> {
    /// `π⁻¹(inner)` for the permutation `shuffle`.
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] if `inner`'s shape is not the shuffle's.
    pub fn new<T: Scalar>(inner: F, shuffle: Shuffle) -> Result<Self>
    where
        F: Factorized<T>,
    {
        let shape = inner.shape();
        if shape != shuffle.shape {
            return Err(Error::ShapeMismatch {
                op: "Shuffled::new",
                left: shape,
                right: shuffle.shape.clone(),
                detail: "the factorization and the permutation must have the same shape".into(),
            });
        }
        Ok(Self { inner, shuffle })
    }

    /// The factorization of the shuffled tensor `π(X)`.
    pub fn inner(&self) -> &F {
        &self.inner
    }

    /// The permutation `π`.
    pub fn shuffle(&self) -> &Shuffle {
        &self.shuffle
    }

    /// Consumes `self`, returning the inner factorization and the permutation.
    pub fn into_parts(self) -> (F, Shuffle) {
        (self.inner, self.shuffle)
    }
}

impl<T: Scalar, F: Factorized<T>> Factorized<T> for Shuffled<F> {
    fn shape(&self) -> Vec<usize> {
        self.shuffle.shape.clone()
    }

    /// `π⁻¹(inner.to_dense())`.
    fn to_dense(&self) -> Result<Tensor<T>> {
        self.shuffle.invert(&self.inner.to_dense()?)
    }

    /// The inner format's count: the permutation is regenerated from its seed.
    fn num_params(&self) -> usize {
        self.inner.num_params()
    }

    /// `‖π⁻¹(F)‖ = ‖F‖`.
    fn norm(&self) -> T {
        self.inner.norm()
    }

    /// `inner.rel_error(π(X))`: exact, since `π` is an isometry. Costs one permuted copy of `X`;
    /// the inner factorization is not densified where its format avoids it.
    fn rel_error(&self, dense: &Tensor<T>) -> Result<T> {
        self.inner.rel_error(&self.shuffle.apply(dense)?)
    }
}

/// RsTD with a tensor train: shuffles `x` with the permutation `(x.shape(), kind, seed)` and
/// runs `params` (TT-SVD) on `π(X)`. The report's `rel_error` is also the error of
/// `π⁻¹(TT)` against `X`.
///
/// # Errors
/// As [`Shuffle::new`] and [`TtSvd::fit`].
pub fn rstd_tt<T: Scalar>(
    x: &Tensor<T>,
    kind: ShuffleKind,
    seed: u64,
    params: &TtSvd,
) -> Result<(Shuffled<TtTensor<T>>, FitReport)> {
    let shuffle = Shuffle::new(x.shape(), kind, seed)?;
    let (tt, report) = params.fit(&shuffle.apply(x)?)?;
    Ok((Shuffled::new(tt, shuffle)?, report))
}

/// RsTD with a tensor ring: as [`rstd_tt`] with TR-SVD (`params`) on `π(X)`.
///
/// ```
/// use tensorize::decomp::TrSvd;
/// use tensorize::tensorization::{rstd_tr, ShuffleKind};
/// use tensorize::{Factorized, Tensor};
/// let x = Tensor::<f32>::random_normal(&[3, 4, 5], 2)?;
/// let (f, report) = rstd_tr(&x, ShuffleKind::WithinModes, 9, &TrSvd::new())?;
/// assert!(report.rel_error < 1e-5 && f.rel_error(&x)? < 1e-5);   // exact at full rank
/// # Ok::<(), tensorize::Error>(())
/// ```
///
/// # Errors
/// As [`Shuffle::new`] and [`TrSvd::fit`].
pub fn rstd_tr<T: Scalar>(
    x: &Tensor<T>,
    kind: ShuffleKind,
    seed: u64,
    params: &TrSvd,
) -> Result<(Shuffled<TrTensor<T>>, FitReport)> {
    let shuffle = Shuffle::new(x.shape(), kind, seed)?;
    let (tr, report) = params.fit(&shuffle.apply(x)?)?;
    Ok((Shuffled::new(tr, shuffle)?, report))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Within-mode shuffle against the definition Y[i] = X[σ_1(i_1), …, σ_d(i_d)].
    #[test]
    fn within_modes_matches_definition() {
        let shape = [3usize, 4, 2];
        let x = Tensor::<f64>::random_normal(&shape, 1).unwrap();
        let s = Shuffle::within_modes(&shape, 5).unwrap();
        let y = s.apply(&x).unwrap();
        let mut it = crate::tensor::MultiIndexIter::new(&shape);
        while let Some(i) = it.next_index() {
            let src: Vec<usize> = (0..3).map(|k| s.perms[k][i[k]]).collect();
            assert_eq!(y.get(i).unwrap(), x.get(&src).unwrap());
        }
        assert_eq!(s.invert(&y).unwrap(), x);
        let flat = s.to_flat_permutation().unwrap();
        for (j, &p) in flat.iter().enumerate() {
            assert_eq!(y.as_slice()[j], x.as_slice()[p]);
        }
    }

    #[test]
    fn whole_matches_definition() {
        let x = Tensor::<f32>::random_normal(&[5, 3], 2).unwrap();
        let s = Shuffle::whole(&[5, 3], 11).unwrap();
        let y = s.apply(&x).unwrap();
        let p = s.to_flat_permutation().unwrap();
        for (&yj, &pj) in y.as_slice().iter().zip(&p) {
            assert_eq!(yj, x.as_slice()[pj]);
        }
        assert_ne!(p, (0..15).collect::<Vec<_>>());
    }
}
