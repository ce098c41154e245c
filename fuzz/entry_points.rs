//! Entry points shared by the fuzz targets (`fuzz/fuzz_targets/`) and their replay test
//! (`tests/fuzz_replay.rs`), each of which includes this file with `#[path = ...] mod`: it uses
//! only tensorize's public API, so the library itself carries no fuzzing code.
//!
//! Each function decodes arbitrary bytes into arguments for the public API, calls it, and
//! asserts the invariants of every successful result. A panic here is a bug in the library:
//! bad input must come back as a `tensorize::Error`, never as a panic.

// Asserting invariants (and so panicking on a violation) is this module's job.
#![allow(clippy::expect_used)]

use faer::Mat;

use tensorize::io::{
    npy_bytes, npz_bytes, parse_npy, parse_npz, parse_safetensors, safetensors_bytes, Compression,
    SafetensorsFile, SafetensorsWriter,
};
use tensorize::{tenalg, Tensor};

// The targets added with issue 13, one file each (shared checks in `check.rs`).
#[path = "entry_points/check.rs"]
mod check;
#[path = "entry_points/decompositions.rs"]
mod decompositions;
#[path = "entry_points/formats.rs"]
mod formats;
#[path = "entry_points/readers.rs"]
mod readers;

// Each fuzz target calls one entry point; the re-exports it does not use are not dead code.
#[allow(unused_imports)]
pub use {check::strict, decompositions::decompositions, formats::formats, readers::readers};

/// Reads small integers from fuzz bytes; yields zeros once the bytes run out.
pub struct ByteReader<'a> {
    bytes: &'a [u8],
}

impl<'a> ByteReader<'a> {
    /// A reader over `bytes`.
    pub fn new(bytes: &'a [u8]) -> Self {
        Self { bytes }
    }

    /// The next byte (0 when exhausted).
    pub fn byte(&mut self) -> u8 {
        match self.bytes.split_first() {
            Some((&b, rest)) => {
                self.bytes = rest;
                b
            }
            None => 0,
        }
    }

    /// A number in `0..bound` (0 if `bound` is 0).
    pub fn below(&mut self, bound: usize) -> usize {
        if bound == 0 {
            0
        } else {
            self.byte() as usize % bound
        }
    }

    /// A dimension: mostly 0..=6, sometimes absurdly large to exercise overflow checks.
    pub fn dim(&mut self) -> usize {
        match self.byte() {
            255 => usize::MAX / 2,
            254 => 1 << 40,
            b => (b % 7) as usize,
        }
    }

    /// A shape of order 0..=5.
    pub fn shape(&mut self) -> Vec<usize> {
        let n = self.below(6);
        (0..n).map(|_| self.dim()).collect()
    }
}

/// Parses `data` as a `.npy` file in both precisions; a parsed tensor must survive a round trip.
pub fn npy(data: &[u8]) {
    if let Ok(x) = parse_npy::<f64>(data) {
        let back: Tensor<f64> = parse_npy(&npy_bytes(&x)).expect("round trip of a parsed .npy");
        assert_eq!(back.shape(), x.shape());
        assert!(back.as_slice().iter().zip(x.as_slice()).all(|(a, b)| a.to_bits() == b.to_bits()));
    }
    let _ = parse_npy::<f32>(data);
}

/// safetensors parsing on arbitrary bytes, through the short forms and through
/// `SafetensorsFile`: every listed tensor must give its info and raw bytes, float reads must not
/// panic, and whatever parses must survive a write/read round trip (raw tensors byte for byte,
/// metadata unchanged).
pub fn safetensors(data: &[u8]) {
    if let Ok(tensors) = parse_safetensors::<f64>(data) {
        let named: Vec<(&str, &Tensor<f64>)> =
            tensors.iter().map(|(n, t)| (n.as_str(), t)).collect();
        let bytes = safetensors_bytes(&named).expect("parsed tensors have distinct names");
        let back = parse_safetensors::<f64>(&bytes).expect("round trip of parsed safetensors");
        assert_eq!(back.len(), tensors.len());
        for ((n1, a), (n2, b)) in back.iter().zip(&tensors) {
            assert_eq!((n1, a.shape()), (n2, b.shape()));
            assert!(a.as_slice().iter().zip(b.as_slice()).all(|(x, y)| x.to_bits() == y.to_bits()));
        }
    }
    let _ = parse_safetensors::<f32>(data);
    let Ok(file) = SafetensorsFile::from_bytes(data.to_vec()) else { return };
    let mut writer = SafetensorsWriter::new().metadata_map(file.metadata());
    for name in file.names() {
        let info = file.info(name).expect("a listed tensor has info");
        let raw = file.raw(name).expect("a listed tensor has bytes");
        assert_eq!(
            (raw.dtype(), raw.shape(), raw.data().len()),
            (info.dtype, &info.shape[..], info.byte_len)
        );
        assert_eq!(file.read::<f32>(name).is_ok(), info.dtype.is_float());
        writer = writer.copy_from(&file, name).expect("a listed tensor");
    }
    let copy = SafetensorsFile::from_bytes(writer.to_bytes().expect("a parsed file re-encodes"))
        .expect("a written file parses");
    assert_eq!(copy.metadata(), file.metadata());
    assert!(copy.names().eq(file.names()));
    for name in file.names() {
        assert_eq!(copy.raw(name).expect("copied"), file.raw(name).expect("listed"));
    }
}

/// `.npz` parsing on arbitrary bytes; whatever parses must survive a round trip, stored and
/// deflated.
pub fn npz(data: &[u8]) {
    if let Ok(tensors) = parse_npz::<f64>(data) {
        let named: Vec<(&str, &Tensor<f64>)> =
            tensors.iter().map(|(n, t)| (n.as_str(), t)).collect();
        for compression in [Compression::Stored, Compression::Deflated] {
            let bytes = npz_bytes(&named, compression).expect("parsed arrays have distinct names");
            let back = parse_npz::<f64>(&bytes).expect("round trip of a parsed .npz");
            assert_eq!(back.len(), tensors.len());
            for ((n1, a), (n2, b)) in back.iter().zip(&tensors) {
                assert_eq!((n1, a.shape()), (n2, b.shape()));
                assert!(a
                    .as_slice()
                    .iter()
                    .zip(b.as_slice())
                    .all(|(x, y)| x.to_bits() == y.to_bits()));
            }
        }
    }
    let _ = parse_npz::<f32>(data);
}

/// Drives the shape-handling API (construction, reshape, permute, select, slice, indexing)
/// with arbitrary shapes, modes and indices.
pub fn shape_api(data: &[u8]) {
    let mut r = ByteReader::new(data);
    let shape = r.shape();
    let len_delta = r.below(3) as isize - 1;
    let numel: Option<usize> = shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d));
    let len = match numel {
        Some(n) if n <= 1 << 16 => (n as isize + len_delta).max(0) as usize,
        _ => 3,
    };
    let x = match Tensor::<f64>::from_vec(&shape, (0..len).map(|i| i as f64).collect()) {
        Ok(x) => x,
        Err(_) => {
            let _ = Tensor::<f32>::zeros(&shape);
            return;
        }
    };
    assert_eq!(x.shape(), &shape[..]);
    assert_eq!(x.numel(), len);

    let new_shape = r.shape();
    if let Ok(y) = x.clone().reshape(&new_shape) {
        assert_eq!(y.as_slice(), x.as_slice());
    }
    let perm: Vec<usize> = (0..r.below(6)).map(|_| r.below(6)).collect();
    if let Ok(p) = x.permute_modes(&perm) {
        let mut inverse = vec![0; perm.len()];
        perm.iter().enumerate().for_each(|(k, &pk)| inverse[pk] = k);
        assert_eq!(p.permute_modes(&inverse).expect("inverse permutation"), x);
    }
    let (mode, index) = (r.below(7), r.below(8));
    if let Ok(s) = x.select(mode, index) {
        assert_eq!(s.ndim() + 1, x.ndim());
    }
    let (start, end) = (r.below(8), r.below(8));
    if let Ok(s) = x.slice(mode, start..end) {
        assert_eq!(s.dim(mode).ok(), Some(end - start));
    }
    let index: Vec<usize> = (0..r.below(6)).map(|_| r.below(7)).collect();
    if let Ok(v) = x.get(&index) {
        assert_eq!(x.offset(&index).map(|k| k as f64).ok(), Some(v));
    }
    let _ = x.unfolding_view(mode);
    let _ = x.as_mat();
    tenalg_calls(&x, &mut r);
}

/// The largest operand `tenalg_calls` contracts with itself (result at most its square).
const MAX_CONTRACT_OPERAND: usize = 256;

/// Unfold/fold, mode products, Khatri–Rao and contraction with decoded (often mismatched) sizes.
fn tenalg_calls(x: &Tensor<f64>, r: &mut ByteReader<'_>) {
    let mode = r.below(7);
    if let Ok(m) = tenalg::unfold(x, mode) {
        assert_eq!(&tenalg::fold(&m, mode, x.shape()).expect("fold of an unfolding"), x);
    }
    let (rows, cols) = (r.dim().min(8), r.dim().min(8));
    let a = Mat::<f64>::from_fn(rows, cols, |i, j| (i + 2 * j) as f64);
    if let Ok(y) = tenalg::mode_product(x, a.as_ref(), mode) {
        assert_eq!(y.dim(mode).ok(), Some(rows));
    }
    let v: Vec<f64> = (0..r.dim().min(8)).map(|i| i as f64).collect();
    let _ = tenalg::mode_vector_product(x, &v, mode);
    let b = Mat::<f64>::from_fn(r.dim().min(8), cols, |i, j| (i * j) as f64);
    let _ = tenalg::khatri_rao(&[a.as_ref(), b.as_ref()]);
    let pairs: Vec<(usize, usize)> = (0..r.below(4)).map(|_| (r.below(6), r.below(6))).collect();
    // Contracting a tensor with itself over few pairs is quadratic in its size (no pairs: a
    // 6⁵ tensor's outer square has 6·10⁷ entries); keep the operand small so the fuzzer spends
    // its time on argument handling, not on one huge valid product.
    // An empty operand can still give a large (all-zero) result when the contraction runs over
    // its zero-length mode, so the bound is on the product of its non-zero dimensions.
    let extent: usize = x.shape().iter().filter(|&&d| d != 0).product();
    if extent <= MAX_CONTRACT_OPERAND {
        let _ = tenalg::contract(x, x, &pairs);
    }
}

/// The largest input a layer is run on (elements): bigger decoded shapes only go through the
/// shape and FLOP checks, which must refuse or answer without allocating.
const MAX_LAYER_INPUT: usize = 4096;

/// A layer built from decoded sizes, then run forward, in training and backward on a decoded
/// input shape (often one the layer cannot take): construction and every pass either work, with
/// the shapes they promise and finite results, or return an error.
pub fn nn_layers(data: &[u8]) {
    use tensorize::decomp::{TrSvd, TtSvd};
    use tensorize::nn::{
        AvgPool2d, BatchNorm2d, Conv2d, CpConv, Flatten, GlobalAvgPool, Layer, Linear, MaxPool2d,
        Relu, ShuffledTrLinear, ShuffledTtLinear, SvdConv, SvdLinear, Tensorized, TrLinear, TtConv,
        TtLinear, Tucker2Conv,
    };
    use tensorize::tensorization::{Compress, Method};
    let mut r = ByteReader::new(data);
    let seed = u64::from(r.byte());
    let small = |r: &mut ByteReader<'_>| r.below(5) + usize::from(r.byte() % 8 == 0) * 7;
    let conv = |r: &mut ByteReader<'_>| -> Option<Conv2d<f64>> {
        let (out, cin, kh, kw) = (small(r), small(r), small(r), small(r));
        let w = Tensor::random_normal(&[out, cin, kh, kw], seed).ok()?;
        let bias = (r.byte() % 2 == 0).then(|| vec![0.5; out]);
        Conv2d::new(w, bias)
            .ok()?
            .with_stride([r.below(3), r.below(3)])
            .ok()?
            .with_padding([r.below(3), r.below(3)])
            .ok()?
            .with_groups(r.below(4))
            .ok()
    };
    let linear = |r: &mut ByteReader<'_>| -> Option<Linear<f64>> {
        let out = small(r);
        let w = Tensor::random_normal(&[out, small(r)], seed).ok()?;
        Linear::new(w, Some(vec![0.25; out])).ok()
    };
    // A TT- or TR-layer's weight: d mode pairs of 1..4 each (a mode of 0 is refused).
    let mode_pairs = |r: &mut ByteReader<'_>| {
        let d = 1 + r.below(3);
        let rows: Vec<usize> = (0..d).map(|_| r.below(5)).collect();
        let cols: Vec<usize> = (0..d).map(|_| r.below(5)).collect();
        let w = Tensor::<f64>::random_normal(
            &[rows.iter().product::<usize>().max(1), cols.iter().product::<usize>().max(1)],
            seed,
        );
        (rows, cols, w, r.byte() % 2 == 0)
    };
    let rank = small(&mut r);
    let kind = r.below(17);
    let factors = 1 + r.below(3);
    let method =
        [Method::RCp { factors }, Method::RTucker { factors }, Method::RTt { factors }][r.below(3)];
    let layer: Option<Box<dyn Layer<f64>>> = match kind {
        0 => conv(&mut r).map(|l| Box::new(l) as Box<dyn Layer<f64>>),
        1 => linear(&mut r).map(|l| Box::new(l) as _),
        2 => MaxPool2d::new([r.below(4), r.below(4)], [r.below(3), r.below(3)])
            .ok()
            .map(|l| Box::new(l) as _),
        3 => AvgPool2d::new([r.below(4), r.below(4)], [r.below(3), r.below(3)])
            .ok()
            .map(|l| Box::new(l) as _),
        4 => Some(Box::new(GlobalAvgPool::new())),
        5 => BatchNorm2d::new(small(&mut r)).ok().map(|l| Box::new(l) as _),
        6 => Some(Box::new(Flatten::new())),
        7 => Some(Box::new(Relu::new())),
        8 => linear(&mut r)
            .and_then(|l| SvdLinear::from_linear(&l, rank).ok())
            .map(|l| Box::new(l) as _),
        9 => conv(&mut r).and_then(|l| SvdConv::from_conv(&l, rank).ok()).map(|l| Box::new(l) as _),
        10 => conv(&mut r)
            .and_then(|l| Tucker2Conv::from_conv(&l, rank, small(&mut r)).ok())
            .map(|l| Box::new(l) as _),
        11 => conv(&mut r).and_then(|l| CpConv::from_conv(&l, rank).ok()).map(|l| Box::new(l) as _),
        12 => conv(&mut r).and_then(|l| TtConv::from_conv(&l, rank).ok()).map(|l| Box::new(l) as _),
        13 => linear(&mut r)
            .and_then(|l| Tensorized::from_linear(&l, &Compress::new(method).ranks(&[rank])).ok())
            .map(|l| Box::new(l) as _),
        14 => conv(&mut r)
            .and_then(|l| Tensorized::from_conv(&l, &Compress::new(method).ranks(&[rank])).ok())
            .map(|l| Box::new(l) as _),
        15 => {
            let (rows, cols, w, shuffled) = mode_pairs(&mut r);
            let svd = TtSvd::new().max_rank(rank);
            w.ok().and_then(|w| {
                let bias = vec![0.5; w.shape()[0]];
                if shuffled {
                    let l = ShuffledTtLinear::from_dense(&w, &bias, &rows, &cols, &svd, seed);
                    l.ok().map(|l| Box::new(l.0) as _)
                } else {
                    let l = TtLinear::from_dense(&w, &bias, &rows, &cols, &svd);
                    l.ok().map(|l| Box::new(l.0) as _)
                }
            })
        }
        _ => {
            let (rows, cols, w, shuffled) = mode_pairs(&mut r);
            let svd = TrSvd::new().max_rank(rank);
            w.ok().and_then(|w| {
                let bias = vec![0.5; w.shape()[0]];
                if shuffled {
                    let l = ShuffledTrLinear::from_dense(&w, &bias, &rows, &cols, &svd, seed);
                    l.ok().map(|l| Box::new(l.0) as _)
                } else {
                    let l = TrLinear::from_dense(&w, &bias, &rows, &cols, &svd);
                    l.ok().map(|l| Box::new(l.0) as _)
                }
            })
        }
    };
    let Some(mut layer) = layer else { return };
    let shape = r.shape();
    let Ok(out) = layer.output_shape(&shape) else {
        let _ = layer.flops(&shape);
        return;
    };
    let _ = layer.flops(&shape);
    let fits = |s: &[usize]| {
        // As the crate counts a shape: the product of its non-zero dimensions.
        let mut nonzero = s.iter().filter(|&&d| d > 0);
        nonzero.try_fold(1usize, |a, &d| a.checked_mul(d)).is_some_and(|n| n <= MAX_LAYER_INPUT)
    };
    if !fits(&shape) || !fits(&out) {
        return;
    }
    let x = Tensor::<f64>::random_normal(&shape, seed).expect("a small input");
    let y = layer.forward(&x).expect("forward on an input whose output shape the layer gave");
    assert_eq!(y.shape(), &out[..], "{}", layer.describe());
    assert!(y.as_slice().iter().all(|v| v.is_finite()), "{}", layer.describe());
    let yt = layer.forward_train(&x).expect("training forward");
    assert_eq!(yt.shape(), &out[..]);
    let dy = Tensor::<f64>::random_normal(&out, seed + 1).expect("a small gradient");
    let dx = layer.backward(&dy).expect("backward after forward_train");
    assert_eq!(dx.shape(), x.shape(), "{}", layer.describe());
    assert!(dx.as_slice().iter().all(|v| v.is_finite()), "{}", layer.describe());
    layer.visit_params(&mut |p| {
        assert_eq!(p.value.len(), p.grad.len());
        assert!(p.grad.iter().all(|g| g.is_finite()), "{}", p.name);
    });
}
