//! Plain factorizations as entries (what `tensorize compress --method tucker2|cp|tt|r-*`
//! writes of a reshaped weight): CP weights and factors, a Tucker core and factors, the cores
//! of TT, TR and TT-matrix chains.

use faer::Mat;

use crate::error::Result;
use crate::format::{
    CpTensor, Factorized, PartialTucker, TrTensor, TtMatrix, TtTensor, TuckerTensor,
};
use crate::io::layers::decomposed::{
    chain_shapes, load_tt_matrix, put_cores, take_cores, tt_matrix_modes,
};
use crate::io::layers::dense::built;
use crate::io::layers::keys;
use crate::io::layers::reader::LayerReader;
use crate::io::layers::stored::Stored;
use crate::io::layers::writer::LayerWriter;
use crate::scalar::Scalar;
use crate::tensor::Tensor;

/// Writes `shape` and `ranks`.
fn put_shape_ranks<T: Scalar>(
    out: &mut LayerWriter<T>,
    name: &str,
    shape: &[usize],
    ranks: &[usize],
) {
    out.put_metadata(name, "shape", keys::dims(shape));
    out.put_metadata(name, "ranks", keys::dims(ranks));
}

/// Reads `shape` (at least one mode, none zero) and `ranks` (`n_ranks(order)` entries).
fn take_shape_ranks(
    file: &LayerReader,
    name: &str,
    n_ranks: impl Fn(usize) -> usize,
) -> Result<(Vec<usize>, Vec<usize>)> {
    let shape = file.entry_dims(name, "shape")?;
    if shape.is_empty() || shape.contains(&0) {
        return Err(file.error(format!(
            "metadata \"{name}.shape\" = {shape:?} must have at least one mode, none of size 0"
        )));
    }
    let ranks = file.entry_dims_n(name, "ranks", n_ranks(shape.len()))?;
    Ok((shape, ranks))
}

/// Writes each matrix as `<name>.<prefix>.factor{k}`.
fn put_factors<T: Scalar>(
    out: &mut LayerWriter<T>,
    name: &str,
    prefix: &str,
    factors: &[Mat<T>],
) -> Result<()> {
    for (k, f) in factors.iter().enumerate() {
        out.put_tensor(format!("{name}.{prefix}.factor{k}"), Tensor::from_mat(f.as_ref())?)?;
    }
    Ok(())
}

/// Reads `<name>.<prefix>.factor{k}` of shape `[shape[k], ranks[k]]` as matrices.
fn take_factors<T: Scalar>(
    file: &LayerReader,
    name: &str,
    prefix: &str,
    shape: &[usize],
    ranks: &[usize],
) -> Result<Vec<Mat<T>>> {
    shape
        .iter()
        .zip(ranks)
        .enumerate()
        .map(|(k, (&n, &r))| {
            let f: Tensor<T> = file.tensor(&format!("{name}.{prefix}.factor{k}"), &[n, r])?;
            Ok(f.as_mat()?.to_owned())
        })
        .collect()
}

impl<T: Scalar> Stored<T> for CpTensor<T> {
    const FORMATS: &'static [&'static str] = &["cp"];

    fn save(&self, name: &str, out: &mut LayerWriter<T>) -> Result<()> {
        put_shape_ranks(out, name, &self.shape(), &[self.rank()]);
        let w = self.weights();
        out.put_tensor(format!("{name}.cp.weights"), Tensor::from_vec(&[w.len()], w.to_vec())?)?;
        put_factors(out, name, "cp", self.factors())
    }

    fn load(file: &LayerReader, name: &str) -> Result<Self> {
        let (shape, ranks) = take_shape_ranks(file, name, |_| 1)?;
        let r = ranks[0];
        let weights = file.tensor::<T>(&format!("{name}.cp.weights"), &[r])?.into_vec();
        let factors = take_factors(file, name, "cp", &shape, &vec![r; shape.len()])?;
        built(file, name, CpTensor::new(weights, factors))
    }
}

impl<T: Scalar> Stored<T> for TuckerTensor<T> {
    const FORMATS: &'static [&'static str] = &["tucker"];

    fn save(&self, name: &str, out: &mut LayerWriter<T>) -> Result<()> {
        put_shape_ranks(out, name, &self.shape(), &self.ranks());
        out.put_tensor(format!("{name}.tucker.core"), self.core().clone())?;
        put_factors(out, name, "tucker", self.factors())
    }

    fn load(file: &LayerReader, name: &str) -> Result<Self> {
        let (shape, ranks) = take_shape_ranks(file, name, |d| d)?;
        let core = file.tensor(&format!("{name}.tucker.core"), &ranks)?;
        let factors = take_factors(file, name, "tucker", &shape, &ranks)?;
        built(file, name, TuckerTensor::new(core, factors))
    }
}

impl<T: Scalar> Stored<T> for PartialTucker<T> {
    const FORMATS: &'static [&'static str] = &["partial-tucker"];

    fn save(&self, name: &str, out: &mut LayerWriter<T>) -> Result<()> {
        let ranks: Vec<usize> = self.factors().iter().map(|f| f.ncols()).collect();
        put_shape_ranks(out, name, &self.shape(), &ranks);
        out.put_metadata(name, "modes", keys::dims(self.modes()));
        out.put_tensor(format!("{name}.tucker.core"), self.core().clone())?;
        put_factors(out, name, "tucker", self.factors())
    }

    fn load(file: &LayerReader, name: &str) -> Result<Self> {
        let shape = file.entry_dims(name, "shape")?;
        let modes = file.entry_dims(name, "modes")?;
        let (_, ranks) = take_shape_ranks(file, name, |_| modes.len())?;
        if let Some(&m) = modes.iter().find(|&&m| m >= shape.len()) {
            return Err(file.error(format!(
                "metadata \"{name}.modes\" = {modes:?}: mode {m} of a tensor of order {}",
                shape.len()
            )));
        }
        let mut core_shape = shape.clone();
        for (&m, &r) in modes.iter().zip(&ranks) {
            core_shape[m] = r;
        }
        let core = file.tensor(&format!("{name}.tucker.core"), &core_shape)?;
        let sizes: Vec<usize> = modes.iter().map(|&m| shape[m]).collect();
        let factors = take_factors(file, name, "tucker", &sizes, &ranks)?;
        built(file, name, PartialTucker::new(core, factors, modes))
    }
}

/// The cores of a TT or TR chain of shape `shape` and ranks `ranks` (`d + 1` entries).
fn chain_cores<T: Scalar>(
    file: &LayerReader,
    name: &str,
    prefix: &str,
    shape: &[usize],
    ranks: &[usize],
) -> Result<Vec<Tensor<T>>> {
    let middle: Vec<Vec<usize>> = shape.iter().map(|&n| vec![n]).collect();
    take_cores(file, name, prefix, &chain_shapes(ranks, &middle))
}

impl<T: Scalar> Stored<T> for TtTensor<T> {
    const FORMATS: &'static [&'static str] = &["tt"];

    fn save(&self, name: &str, out: &mut LayerWriter<T>) -> Result<()> {
        put_shape_ranks(out, name, &self.shape(), &self.ranks());
        put_cores(out, name, "tt", self.cores())
    }

    fn load(file: &LayerReader, name: &str) -> Result<Self> {
        let (shape, ranks) = take_shape_ranks(file, name, |d| d + 1)?;
        built(file, name, TtTensor::new(chain_cores(file, name, "tt", &shape, &ranks)?))
    }
}

impl<T: Scalar> Stored<T> for TrTensor<T> {
    const FORMATS: &'static [&'static str] = &["tr"];

    fn save(&self, name: &str, out: &mut LayerWriter<T>) -> Result<()> {
        put_shape_ranks(out, name, &self.shape(), &self.ranks());
        put_cores(out, name, "tr", self.cores())
    }

    fn load(file: &LayerReader, name: &str) -> Result<Self> {
        let (shape, ranks) = take_shape_ranks(file, name, |d| d + 1)?;
        built(file, name, TrTensor::new(chain_cores(file, name, "tr", &shape, &ranks)?))
    }
}

impl<T: Scalar> Stored<T> for TtMatrix<T> {
    const FORMATS: &'static [&'static str] = &["tt-matrix"];

    fn save(&self, name: &str, out: &mut LayerWriter<T>) -> Result<()> {
        out.put_metadata(name, "shape", keys::dims(&[self.nrows(), self.ncols()]));
        out.put_metadata(name, "ranks", keys::dims(&self.ranks()));
        out.put_metadata(name, "tensorization", tt_matrix_modes(self));
        put_cores(out, name, "tt_matrix", self.cores())
    }

    fn load(file: &LayerReader, name: &str) -> Result<Self> {
        load_tt_matrix(file, name)
    }
}
