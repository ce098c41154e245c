//! Decomposed layers, dense layers, models and plain factorizations saved with
//! `io::LayerWriter` and read back: bit-identical factors, identical forward outputs, in `f32`
//! and `f64`; the pretrained MNIST CNN with decomposed layers round-trips with identical logits.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "common/data.rs"]
mod data_files;

use std::path::PathBuf;

use tensorize::data::{MnistCnn, MNIST_CNN_FILE};
use tensorize::decomp::{CpAls, Hosvd, TrSvd, TtSvd};
use tensorize::format::{CpTensor, PartialTucker, TrTensor, TtMatrix, TtTensor, TuckerTensor};
use tensorize::io::{load_model, save_model, LayerReader, LayerWriter, Stored};
use tensorize::nn::{
    AvgPool2d, BatchNorm2d, Conv2d, CpConv, Flatten, GlobalAvgPool, Layer, Linear, MaxPool2d, Relu,
    Sequential, SvdConv, SvdLinear, Tensorized, TtConv, TtLinear, Tucker2Conv,
};
use tensorize::tensorization::{Compress, Method};
use tensorize::{Scalar, Tensor};

/// A fresh, empty folder for one test.
fn folder(tag: &str) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("tensorize-io-layers-{}-{tag}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Writes `item` as the entry `name` to bytes and reads it back as the same type.
fn round_trip<T: Scalar, S: Stored<T>>(name: &str, item: &S) -> (S, LayerReader) {
    let mut out = LayerWriter::new();
    out.add(name, item).unwrap();
    let file = LayerReader::from_bytes(out.to_bytes().unwrap()).unwrap();
    (file.load::<T, S>(name).unwrap(), file)
}

/// The layer read back (as its own type and through `load_layer`) gives bit-identical outputs
/// and the same parameter count.
fn same_layer<T: Scalar, L: Layer<T> + Stored<T>>(name: &str, layer: &L, x: &Tensor<T>) {
    let (back, file) = round_trip::<T, L>(name, layer);
    let y = layer.forward(x).unwrap();
    assert_eq!(back.forward(x).unwrap(), y, "{name}");
    assert_eq!(back.num_params(), layer.num_params());
    assert_eq!(back.describe(), layer.describe());
    let dynamic = file.load_layer::<T>(name).unwrap();
    assert_eq!(dynamic.forward(x).unwrap(), y);
    assert_eq!(
        file.metadata("tensorize.dtype").unwrap(),
        if T::NAME == "f64" { "F64" } else { "F32" }
    );
}

fn conv<T: Scalar>(seed: u64, bias: bool) -> Conv2d<T> {
    let w = Tensor::random_normal(&[6, 4, 3, 3], seed).unwrap();
    let b = bias.then(|| (0..6).map(|i| T::of(0.1 * i as f64)).collect());
    Conv2d::new(w, b).unwrap().with_stride([2, 1]).unwrap().with_padding([1, 0]).unwrap()
}

fn every_layer<T: Scalar>() {
    let fc =
        Linear::new(Tensor::<T>::random_normal(&[7, 9], 1).unwrap(), Some(vec![T::of(0.5); 7]))
            .unwrap();
    let x_fc = Tensor::<T>::random_normal(&[3, 9], 2).unwrap();
    let x_img = Tensor::<T>::random_normal(&[2, 4, 7, 6], 3).unwrap();
    same_layer("fc", &fc, &x_fc);
    same_layer("fc.nobias", &Linear::new(fc.weight().clone(), None).unwrap(), &x_fc);
    same_layer("svd", &SvdLinear::from_linear(&fc, 3).unwrap(), &x_fc);
    let tt_fc = TtLinear::glorot(&[2, 3], &[3, 3], &[2], 4).unwrap();
    let x_tt = Tensor::<T>::random_normal(&[3, 9], 5).unwrap();
    same_layer("tt_fc", &tt_fc, &x_tt);
    for bias in [true, false] {
        let c = conv::<T>(6, bias);
        same_layer("conv", &c, &x_img);
        same_layer("svd_conv", &SvdConv::from_conv(&c, 3).unwrap(), &x_img);
        same_layer("tucker2", &Tucker2Conv::from_conv(&c, 3, 2).unwrap(), &x_img);
        same_layer("cp", &CpConv::from_conv(&c, 4).unwrap(), &x_img);
        same_layer("tt", &TtConv::from_conv(&c, 2).unwrap(), &x_img);
    }
    let grouped = Conv2d::new(Tensor::<T>::random_normal(&[6, 2, 3, 3], 7).unwrap(), None)
        .unwrap()
        .with_groups(2)
        .unwrap();
    same_layer("grouped", &grouped, &x_img);
    let c = |v: f64| vec![T::of(v); 4];
    let bn =
        BatchNorm2d::from_parts(c(1.5), c(-0.25), c(0.1), c(2.0)).unwrap().with_eps(1e-3).unwrap();
    same_layer("bn", &bn, &x_img);
    same_layer("relu", &Relu::<T>::new(), &x_img);
    same_layer("flatten", &Flatten::new(), &x_img);
    same_layer("max", &MaxPool2d::new([2, 3], [2, 1]).unwrap(), &x_img);
    same_layer("avg", &AvgPool2d::new([3, 2], [1, 2]).unwrap(), &x_img);
    same_layer("gap", &GlobalAvgPool::new(), &x_img);
}

/// r-CP, r-TK and r-TT layers of a linear layer and of a strided, padded convolution, as
/// fitted and after their parameters moved (as training moves them): the factors written are
/// the ones the layer runs.
fn tensorized<T: Scalar>() {
    let fc =
        Linear::new(Tensor::<T>::random_normal(&[12, 18], 21).unwrap(), Some(vec![T::of(0.1); 12]))
            .unwrap();
    let c = Conv2d::new(Tensor::<T>::random_normal(&[8, 6, 3, 3], 22).unwrap(), None)
        .unwrap()
        .with_stride([2, 1])
        .unwrap()
        .with_padding([1, 1])
        .unwrap();
    let x_fc = Tensor::<T>::random_normal(&[3, 18], 23).unwrap();
    let x_img = Tensor::<T>::random_normal(&[2, 6, 7, 5], 24).unwrap();
    for method in
        [Method::RCp { factors: 2 }, Method::RTucker { factors: 2 }, Method::RTt { factors: 2 }]
    {
        let compress = Compress::new(method).ranks(&[3]);
        let mut lin = Tensorized::from_linear(&fc, &compress).unwrap();
        let mut conv = Tensorized::from_conv(&c, &compress).unwrap();
        same_layer("t_fc", &lin, &x_fc);
        same_layer("t_conv", &conv, &x_img);
        for layer in [&mut lin, &mut conv] {
            let mut k = 0;
            layer.visit_params(&mut |p| {
                for v in p.value.iter_mut() {
                    k += 1;
                    *v += T::of(0.01 * ((k % 7) as f64 - 3.0));
                }
            });
        }
        same_layer("t_fc", &lin, &x_fc);
        same_layer("t_conv", &conv, &x_img);
    }
}

#[test]
fn tensorized_layers_round_trip_f32() {
    tensorized::<f32>();
}

#[test]
fn tensorized_layers_round_trip_f64() {
    tensorized::<f64>();
}

#[test]
fn every_layer_round_trips_f32() {
    every_layer::<f32>();
}

#[test]
fn every_layer_round_trips_f64() {
    every_layer::<f64>();
}

fn every_format<T: Scalar>() {
    let x = Tensor::<T>::random_normal(&[4, 5, 3], 11).unwrap();
    let (cp, _) = CpAls::new(3).fit(&x).unwrap();
    assert_eq!(round_trip::<T, CpTensor<T>>("x", &cp).0, cp);
    let (tucker, _) = Hosvd::new(&[2, 3, 2]).fit(&x).unwrap();
    let back = round_trip::<T, TuckerTensor<T>>("x", &tucker).0;
    assert_eq!(back.core(), tucker.core());
    assert_eq!(back.factors(), tucker.factors());
    let partial = PartialTucker::new(
        Tensor::<T>::random_normal(&[2, 5, 3], 13).unwrap(),
        vec![
            faer::Mat::from_fn(4, 2, |i, j| T::of((i + 2 * j) as f64)),
            faer::Mat::from_fn(3, 3, |i, j| T::of(i as f64 - j as f64)),
        ],
        vec![0, 2],
    )
    .unwrap();
    let back = round_trip::<T, PartialTucker<T>>("p", &partial).0;
    assert_eq!(
        (back.core(), back.factors(), back.modes()),
        (partial.core(), partial.factors(), partial.modes())
    );
    let (tt, _) = TtSvd::new().max_rank(3).fit(&x).unwrap();
    assert_eq!(round_trip::<T, TtTensor<T>>("x", &tt).0, tt);
    let (tr, _) = TrSvd::new().max_rank(4).fit(&x).unwrap();
    assert_eq!(round_trip::<T, TrTensor<T>>("x", &tr).0, tr);
    let w = TtLinear::<T>::glorot(&[2, 3], &[4, 2], &[3], 12).unwrap().weight().clone();
    let (back, file) = round_trip::<T, TtMatrix<T>>("w", &w);
    assert_eq!(back, w);
    assert_eq!(file.metadata("w.tensorization").unwrap(), "[[2,3],[4,2]]");
}

#[test]
fn every_format_round_trips_f32() {
    every_format::<f32>();
}

#[test]
fn every_format_round_trips_f64() {
    every_format::<f64>();
}

/// The pretrained MNIST CNN with its four weight layers decomposed (four methods) is saved
/// as one file and loaded back: same names, same logits bit for bit.
#[test]
fn the_mnist_cnn_with_decomposed_layers_round_trips() {
    let Ok(path) = data_files::find_data_file(MNIST_CNN_FILE) else {
        println!("skipped: {MNIST_CNN_FILE} not found");
        return;
    };
    let cnn = MnistCnn::<f32>::load(path).unwrap();
    let mut model = cnn.model().unwrap();
    let conv2 = model.index_of("conv2").unwrap();
    let fc1 = model.index_of("fc1").unwrap();
    let dense_conv2 =
        Conv2d::new(cnn.conv2_weight.clone(), Some(cnn.conv2_bias.as_slice().to_vec()))
            .unwrap()
            .with_padding([1, 1])
            .unwrap();
    let dense_fc1 =
        Linear::new(cnn.fc1_weight.clone(), Some(cnn.fc1_bias.as_slice().to_vec())).unwrap();
    model.replace(conv2, Box::new(Tucker2Conv::from_conv(&dense_conv2, 16, 8).unwrap())).unwrap();
    model.replace(fc1, Box::new(SvdLinear::from_linear(&dense_fc1, 16).unwrap())).unwrap();
    let fc2 = model.index_of("fc2").unwrap();
    let dense_fc2 =
        Linear::new(cnn.fc2_weight.clone(), Some(cnn.fc2_bias.as_slice().to_vec())).unwrap();
    let rtt = Compress::new(Method::RTt { factors: 2 }).ranks(&[4]);
    model.replace(fc2, Box::new(Tensorized::from_linear(&dense_fc2, &rtt).unwrap())).unwrap();

    let dir = folder("mnist");
    let file = dir.join("compressed.safetensors");
    save_model(&file, &model, false).unwrap();
    assert!(save_model(&file, &model, false).is_err(), "an existing file is not clobbered");
    let back: Sequential<f32> = load_model(&file).unwrap();
    assert_eq!(back.names(), model.names());
    let x = Tensor::<f32>::random_normal(&[4, 1, 28, 28], 9).unwrap();
    assert_eq!(back.forward(&x).unwrap(), model.forward(&x).unwrap());
    assert_eq!(back.num_params(), model.num_params());
    // Read as f64, the same model up to the f32 rounding of the forward pass.
    let wide: Sequential<f64> = load_model(&file).unwrap();
    let y64 = wide
        .forward(&Tensor::from_fn(x.shape(), |i| f64::from(x.get(i).unwrap())).unwrap())
        .unwrap();
    let y32 = model.forward(&x).unwrap();
    for (a, b) in y64.as_slice().iter().zip(y32.as_slice()) {
        assert!((a - f64::from(*b)).abs() <= 1e-4 * (1.0 + a.abs()), "{a} vs {b}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
