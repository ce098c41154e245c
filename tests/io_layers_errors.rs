//! Broken layer files read back as typed errors naming the file and the key or tensor: absent
//! or malformed metadata, an unknown format, a missing factor, a factor of the wrong shape,
//! factors that do not fit together; a model file is never clobbered.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;

use tensorize::io::{LayerReader, LayerWriter, SafetensorsFile, SafetensorsWriter};
use tensorize::nn::{Linear, Sequential, SvdLinear};
use tensorize::{Error, Tensor};

/// Named tensors of a file.
type Tensors = Vec<(String, Tensor<f64>)>;

/// A file with one SVD layer `fc`: its tensors and metadata, to be edited.
fn parts() -> (Tensors, BTreeMap<String, String>) {
    let fc =
        Linear::new(Tensor::<f64>::random_normal(&[6, 5], 1).unwrap(), Some(vec![0.5; 6])).unwrap();
    let mut out = LayerWriter::new();
    out.add("fc", &SvdLinear::from_linear(&fc, 2).unwrap()).unwrap();
    let file = SafetensorsFile::from_bytes(out.to_bytes().unwrap()).unwrap();
    (file.read_all().unwrap(), file.metadata().clone())
}

fn file_of(tensors: &[(String, Tensor<f64>)], meta: &BTreeMap<String, String>) -> LayerReader {
    let w = tensors.iter().fold(SafetensorsWriter::new(), |w, (n, x)| w.tensor(n, x));
    LayerReader::from_bytes(w.metadata_map(meta).to_bytes().unwrap()).unwrap()
}

fn format_error(file: &LayerReader, needle: &str) {
    match file.load::<f64, SvdLinear<f64>>("fc") {
        Err(Error::Format { detail, .. }) => {
            assert!(detail.contains(needle), "{detail:?} should name {needle:?}");
            assert!(detail.starts_with("<safetensors bytes>"), "{detail:?} names the file");
        }
        other => panic!("expected a format error naming {needle:?}, got {other:?}"),
    }
}

#[test]
fn absent_or_malformed_metadata_is_named() {
    let (tensors, meta) = parts();
    for (key, value) in [
        ("fc.ranks", None),
        ("fc.ranks", Some("[two]")),
        ("fc.shape", Some("[6]")),
        ("fc.rel_error", Some("small")),
        ("fc.has_bias", Some("yes")),
        ("fc.ranks", Some("[0]")),
    ] {
        let mut m = meta.clone();
        match value {
            None => m.remove(key),
            Some(v) => m.insert(key.to_string(), v.to_string()),
        };
        format_error(&file_of(&tensors, &m), key);
    }
}

#[test]
fn an_unknown_or_other_format_is_named() {
    let (tensors, mut meta) = parts();
    meta.insert("fc.format".into(), "svd-quantum".into());
    let file = file_of(&tensors, &meta);
    format_error(&file, "svd-quantum");
    assert!(matches!(file.load_layer::<f64>("fc"), Err(Error::Format { .. })));
    assert!(matches!(file.load_layer::<f64>("nothing"), Err(Error::Format { .. })));
    assert!(matches!(file.load_model::<f64>(), Err(Error::Format { .. })), "no tensorize.layers");
}

#[test]
fn a_missing_factor_is_named() {
    let (mut tensors, meta) = parts();
    tensors.retain(|(n, _)| n != "fc.svd.v");
    match file_of(&tensors, &meta).load::<f64, SvdLinear<f64>>("fc") {
        Err(Error::TensorNotFound { path, name, .. }) => {
            assert_eq!((path.as_str(), name.as_str()), ("<safetensors bytes>", "fc.svd.v"));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_factor_of_the_wrong_shape_is_named() {
    let (mut tensors, meta) = parts();
    for (n, x) in &mut tensors {
        if n == "fc.svd.u" {
            *x = Tensor::zeros(&[6, 3]).unwrap();
        }
    }
    format_error(&file_of(&tensors, &meta), "fc.svd.u");
}

#[test]
fn factors_that_do_not_fit_together_are_refused() {
    // Each factor matches the (edited) metadata, but the bias does not.
    let (mut tensors, meta) = parts();
    for (n, x) in &mut tensors {
        if n == "fc.svd.u" {
            *x = Tensor::from_vec(&[6, 2], vec![f64::NAN; 12]).unwrap();
        }
    }
    format_error(&file_of(&tensors, &meta), "entry \"fc\"");
}

#[test]
fn a_model_file_is_not_clobbered_and_a_missing_folder_is_an_io_error() {
    let dir = std::env::temp_dir().join(format!("tensorize-io-layers-err-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("m.safetensors");
    std::fs::write(&path, b"keep me").unwrap();
    let model = Sequential::<f32>::new()
        .push_named("fc", Linear::new(Tensor::random_normal(&[2, 3], 1).unwrap(), None).unwrap());
    assert!(matches!(
        tensorize::io::save_model(&path, &model, false),
        Err(Error::OutputExists { .. })
    ));
    assert_eq!(std::fs::read(&path).unwrap(), b"keep me");
    let missing = dir.join("no/such/folder/m.safetensors");
    assert!(matches!(tensorize::io::save_model(&missing, &model, false), Err(Error::Io { .. })));
    tensorize::io::save_model(&path, &model, true).unwrap();
    let back: Sequential<f32> = tensorize::io::load_model(&path).unwrap();
    assert_eq!(back.names(), &["fc"]);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_tt_matrix_whose_shape_disagrees_with_its_modes_is_refused() {
    use tensorize::format::TtMatrix;
    use tensorize::nn::TtLinear;
    let cores = vec![
        Tensor::<f64>::random_normal(&[1, 2, 3, 2], 1).unwrap(),
        Tensor::random_normal(&[2, 3, 2, 1], 2).unwrap(),
    ];
    let layer = TtLinear::new(TtMatrix::new(cores).unwrap(), vec![0.0; 6]).unwrap();
    let mut out = LayerWriter::new();
    out.add("tt", &layer).unwrap();
    let file = SafetensorsFile::from_bytes(out.to_bytes().unwrap()).unwrap();
    let (tensors, mut meta) = (file.read_all().unwrap(), file.metadata().clone());
    assert!(file_of(&tensors, &meta).load::<f64, TtLinear<f64>>("tt").is_ok());
    for shape in ["[6, 7]", "[7, 6]", "[36, 1]"] {
        meta.insert("tt.shape".into(), shape.into());
        match file_of(&tensors, &meta).load::<f64, TtLinear<f64>>("tt") {
            Err(Error::Format { detail, .. }) => {
                assert!(
                    detail.contains("tt.shape") && detail.contains("tt.tensorization"),
                    "{detail}"
                );
            }
            other => panic!("{shape}: expected a format error, got {other:?}"),
        }
    }
}
