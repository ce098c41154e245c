//! Decomposed layers as entries: the factors of the weight they replace (`<name>.svd.u`,
//! `<name>.tucker2.core`, …), the bias, the original shape, the ranks, the window.

use crate::error::Result;
use crate::format::{TtMatrix, TtTensor};
use crate::io::layers::dense::{built, put_bias, take_bias};
use crate::io::layers::keys;
use crate::io::layers::reader::LayerReader;
use crate::io::layers::stored::Stored;
use crate::io::layers::writer::LayerWriter;
use crate::nn::{CpConv, SvdConv, SvdLinear, TtConv, TtLinear, Tucker2Conv};
use crate::scalar::Scalar;
use crate::tensor::Tensor;

/// The metadata every decomposed layer has: the dense type it replaces, the original weight
/// shape, the ranks and the relative error of the decomposition.
fn put_common<T: Scalar>(
    out: &mut LayerWriter<T>,
    name: &str,
    replaces: &str,
    shape: &[usize],
    ranks: &[usize],
    rel_error: f64,
) {
    out.put_metadata(name, "replaces", replaces);
    out.put_metadata(name, "shape", keys::dims(shape));
    out.put_metadata(name, "ranks", keys::dims(ranks));
    out.put_metadata(name, "rel_error", rel_error.to_string());
}

/// Writes a convolution's stride and padding.
fn put_window<T: Scalar>(out: &mut LayerWriter<T>, name: &str, window: ([usize; 2], [usize; 2])) {
    out.put_metadata(name, "stride", keys::pair(window.0));
    out.put_metadata(name, "padding", keys::pair(window.1));
}

/// Reads a convolution's stride and padding.
fn take_window(file: &LayerReader, name: &str) -> Result<([usize; 2], [usize; 2])> {
    Ok((file.entry_pair(name, "stride")?, file.entry_pair(name, "padding")?))
}

/// The original shape (of `order` entries), the ranks (`n_ranks` entries, each at least 1)
/// and the relative error of the entry.
fn take_common(
    file: &LayerReader,
    name: &str,
    order: usize,
    n_ranks: usize,
) -> Result<(Vec<usize>, Vec<usize>, f64)> {
    let shape = file.entry_dims_n(name, "shape", order)?;
    let ranks = file.entry_dims_n(name, "ranks", n_ranks)?;
    if ranks.contains(&0) {
        return Err(file.error(format!("metadata \"{name}.ranks\" = {ranks:?} holds a zero rank")));
    }
    Ok((shape, ranks, file.entry_f64(name, "rel_error")?))
}

/// The factor `<name>.<part>` of shape `shape`.
fn factor<T: Scalar>(
    file: &LayerReader,
    name: &str,
    part: &str,
    shape: &[usize],
) -> Result<Tensor<T>> {
    file.tensor(&format!("{name}.{part}"), shape)
}

impl<T: Scalar> Stored<T> for SvdLinear<T> {
    const FORMATS: &'static [&'static str] = &["svd-linear"];

    fn save(&self, name: &str, out: &mut LayerWriter<T>) -> Result<()> {
        let [u, v] = self.factors();
        let shape = [u.shape()[0], v.shape()[1]];
        put_common(out, name, "linear", &shape, &[self.rank()], self.rel_error());
        out.put_tensor(format!("{name}.svd.u"), u.clone())?;
        out.put_tensor(format!("{name}.svd.v"), v.clone())?;
        put_bias(out, name, self.bias())
    }

    fn load(file: &LayerReader, name: &str) -> Result<Self> {
        let (shape, ranks, rel_error) = take_common(file, name, 2, 1)?;
        let ([out, input], r) = ([shape[0], shape[1]], ranks[0]);
        let u = factor(file, name, "svd.u", &[out, r])?;
        let v = factor(file, name, "svd.v", &[r, input])?;
        let bias = take_bias(file, name, out)?;
        built(file, name, SvdLinear::from_factors(u, v, bias, rel_error))
    }
}

impl<T: Scalar> Stored<T> for SvdConv<T> {
    const FORMATS: &'static [&'static str] = &["svd-conv"];

    fn save(&self, name: &str, out: &mut LayerWriter<T>) -> Result<()> {
        let [u, v] = self.factors()?;
        let k = v.shape();
        let shape = [u.shape()[0], k[1], k[2], k[3]];
        put_common(out, name, "conv2d", &shape, &[self.rank()], self.rel_error());
        put_window(out, name, self.window());
        out.put_tensor(format!("{name}.svd.u"), u)?;
        out.put_tensor(format!("{name}.svd.v"), v)?;
        put_bias(out, name, self.bias())
    }

    fn load(file: &LayerReader, name: &str) -> Result<Self> {
        let (s, ranks, rel_error) = take_common(file, name, 4, 1)?;
        let r = ranks[0];
        let u = factor(file, name, "svd.u", &[s[0], r])?;
        let v = factor(file, name, "svd.v", &[r, s[1], s[2], s[3]])?;
        let bias = take_bias(file, name, s[0])?;
        let (stride, padding) = take_window(file, name)?;
        built(file, name, SvdConv::from_factors(u, v, bias, stride, padding, rel_error))
    }
}

impl<T: Scalar> Stored<T> for Tucker2Conv<T> {
    const FORMATS: &'static [&'static str] = &["tucker2-conv"];

    fn save(&self, name: &str, out: &mut LayerWriter<T>) -> Result<()> {
        let [u_out, core, u_in] = self.factors()?;
        let k = core.shape();
        let shape = [u_out.shape()[0], u_in.shape()[0], k[2], k[3]];
        let (r_out, r_in) = self.ranks();
        put_common(out, name, "conv2d", &shape, &[r_out, r_in], self.rel_error());
        put_window(out, name, self.window());
        out.put_tensor(format!("{name}.tucker2.u_out"), u_out)?;
        out.put_tensor(format!("{name}.tucker2.core"), core)?;
        out.put_tensor(format!("{name}.tucker2.u_in"), u_in)?;
        put_bias(out, name, self.bias())
    }

    fn load(file: &LayerReader, name: &str) -> Result<Self> {
        let (s, ranks, rel_error) = take_common(file, name, 4, 2)?;
        let (r_out, r_in) = (ranks[0], ranks[1]);
        let u_out = factor(file, name, "tucker2.u_out", &[s[0], r_out])?;
        let core = factor(file, name, "tucker2.core", &[r_out, r_in, s[2], s[3]])?;
        let u_in = factor(file, name, "tucker2.u_in", &[s[1], r_in])?;
        let bias = take_bias(file, name, s[0])?;
        let (stride, padding) = take_window(file, name)?;
        let layer = Tucker2Conv::from_factors(u_out, core, u_in, bias, stride, padding, rel_error);
        built(file, name, layer)
    }
}

impl<T: Scalar> Stored<T> for CpConv<T> {
    const FORMATS: &'static [&'static str] = &["cp-conv"];

    fn save(&self, name: &str, out: &mut LayerWriter<T>) -> Result<()> {
        let [a, b, c] = self.factors()?;
        let shape = [a.shape()[0], b.shape()[0], c.shape()[0], c.shape()[1]];
        put_common(out, name, "conv2d", &shape, &[self.rank()], self.rel_error());
        put_window(out, name, self.window());
        out.put_tensor(format!("{name}.cp.out"), a)?;
        out.put_tensor(format!("{name}.cp.in"), b)?;
        out.put_tensor(format!("{name}.cp.kernel"), c)?;
        put_bias(out, name, self.bias())
    }

    fn load(file: &LayerReader, name: &str) -> Result<Self> {
        let (s, ranks, rel_error) = take_common(file, name, 4, 1)?;
        let r = ranks[0];
        let a = factor(file, name, "cp.out", &[s[0], r])?;
        let b = factor(file, name, "cp.in", &[s[1], r])?;
        let c = factor(file, name, "cp.kernel", &[s[2], s[3], r])?;
        let bias = take_bias(file, name, s[0])?;
        let (stride, padding) = take_window(file, name)?;
        built(file, name, CpConv::from_factors(a, b, c, bias, stride, padding, rel_error))
    }
}

/// Writes the cores of a chain as `<name>.<prefix>.core0`, `core1`, ….
pub(super) fn put_cores<T: Scalar>(
    out: &mut LayerWriter<T>,
    name: &str,
    prefix: &str,
    cores: &[Tensor<T>],
) -> Result<()> {
    for (k, core) in cores.iter().enumerate() {
        out.put_tensor(format!("{name}.{prefix}.core{k}"), core.clone())?;
    }
    Ok(())
}

/// Reads the cores `<name>.<prefix>.core{k}` of shapes `shapes`.
pub(super) fn take_cores<T: Scalar>(
    file: &LayerReader,
    name: &str,
    prefix: &str,
    shapes: &[Vec<usize>],
) -> Result<Vec<Tensor<T>>> {
    shapes
        .iter()
        .enumerate()
        .map(|(k, shape)| factor(file, name, &format!("{prefix}.core{k}"), shape))
        .collect()
}

/// The core shapes `[r_k, m_k, …, r_{k+1}]` of a chain with ranks `ranks` (`d + 1` entries)
/// and per-core middle dimensions `middle` (`d` lists).
pub(super) fn chain_shapes(ranks: &[usize], middle: &[Vec<usize>]) -> Vec<Vec<usize>> {
    middle
        .iter()
        .enumerate()
        .map(|(k, m)| {
            let mut s = vec![ranks[k]];
            s.extend_from_slice(m);
            s.push(ranks[k + 1]);
            s
        })
        .collect()
}

impl<T: Scalar> Stored<T> for TtConv<T> {
    const FORMATS: &'static [&'static str] = &["tt-conv"];

    fn save(&self, name: &str, out: &mut LayerWriter<T>) -> Result<()> {
        let tt = self.factors()?;
        let c = tt.cores();
        let [input, kh, kw, o] =
            [c[0].shape()[1], c[1].shape()[1], c[2].shape()[1], c[3].shape()[1]];
        put_common(out, name, "conv2d", &[o, input, kh, kw], &self.ranks(), self.rel_error());
        out.put_metadata(name, "tensorization", keys::dims(&[input, kh, kw, o]));
        put_window(out, name, self.window());
        put_cores(out, name, "tt", c)?;
        put_bias(out, name, self.bias())
    }

    fn load(file: &LayerReader, name: &str) -> Result<Self> {
        let (s, r, rel_error) = take_common(file, name, 4, 3)?;
        let modes = [s[1], s[2], s[3], s[0]].map(|m| vec![m]);
        let shapes = chain_shapes(&[1, r[0], r[1], r[2], 1], &modes);
        let tt = built(file, name, TtTensor::new(take_cores(file, name, "tt", &shapes)?))?;
        let bias = take_bias(file, name, s[0])?;
        let (stride, padding) = take_window(file, name)?;
        built(file, name, TtConv::from_factors(&tt, bias, stride, padding, rel_error))
    }
}

impl<T: Scalar> Stored<T> for TtLinear<T> {
    const FORMATS: &'static [&'static str] = &["tt-linear"];

    fn save(&self, name: &str, out: &mut LayerWriter<T>) -> Result<()> {
        let w = self.weight();
        out.put_metadata(name, "replaces", "linear");
        out.put_metadata(name, "shape", keys::dims(&[w.nrows(), w.ncols()]));
        out.put_metadata(name, "ranks", keys::dims(&w.ranks()));
        out.put_metadata(name, "tensorization", tt_matrix_modes(w));
        put_cores(out, name, "tt_matrix", w.cores())?;
        put_bias(out, name, Some(self.bias()))
    }

    fn load(file: &LayerReader, name: &str) -> Result<Self> {
        let w = load_tt_matrix(file, name)?;
        let bias = take_bias(file, name, w.nrows())?
            .ok_or_else(|| file.error(format!("entry {name:?}: a TT layer has a bias")))?;
        built(file, name, TtLinear::new(w, bias))
    }
}

/// `[[m_1, …, m_d], [n_1, …, n_d]]`: the row and column modes of a TT-matrix.
pub(super) fn tt_matrix_modes<T: Scalar>(w: &TtMatrix<T>) -> String {
    serde_json::Value::from(vec![w.row_modes(), w.col_modes()]).to_string()
}

/// The TT-matrix of the entry `name`: its `tensorization` (row and column modes), `ranks`
/// and cores `<name>.tt_matrix.core{k}`.
pub(super) fn load_tt_matrix<T: Scalar>(file: &LayerReader, name: &str) -> Result<TtMatrix<T>> {
    let text = file.entry_metadata(name, "tensorization")?;
    let modes: [Vec<usize>; 2] = serde_json::from_str(text).map_err(|_| {
        file.error(format!(
            "metadata \"{name}.tensorization\" = {text:?} is not [[row modes], [column modes]]"
        ))
    })?;
    let d = modes[0].len();
    if d == 0 || modes[1].len() != d {
        return Err(file.error(format!(
            "metadata \"{name}.tensorization\" = {text:?}: need as many row as column modes, at least one"
        )));
    }
    // The matrix shape is redundant with the modes; a file where they disagree was edited or
    // written by something else, and neither can be trusted.
    let shape = file.entry_dims_n(name, "shape", 2)?;
    let products: Vec<Option<usize>> =
        modes.iter().map(|m| m.iter().try_fold(1usize, |a, &b| a.checked_mul(b))).collect();
    if shape.iter().zip(&products).any(|(&n, &p)| p != Some(n)) {
        return Err(file.error(format!(
            "metadata \"{name}.shape\" = {shape:?} does not match \"{name}.tensorization\" = {text} \
             (products {products:?})"
        )));
    }
    let ranks = file.entry_dims_n(name, "ranks", d + 1)?;
    let middle: Vec<Vec<usize>> = (0..d).map(|k| vec![modes[0][k], modes[1][k]]).collect();
    let shapes = chain_shapes(&ranks, &middle);
    built(file, name, TtMatrix::new(take_cores(file, name, "tt_matrix", &shapes)?))
}
