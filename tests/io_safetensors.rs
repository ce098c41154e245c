//! safetensors: round trips of every float dtype (half precision within its rounding bound),
//! integer/bool/exotic tensors carried through byte for byte, metadata, hand-written broken
//! files as typed errors naming the file, and atomic writes that never clobber.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use tensorize::io::{self, Dtype, RawTensor, SafetensorsFile, SafetensorsWriter};
use tensorize::{Error, Scalar, Tensor};

/// A fresh, empty folder for one test.
fn folder(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tensorize-io-st-{}-{tag}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

const SHAPES: [&[usize]; 6] = [&[], &[0], &[3, 0, 2], &[5], &[2, 3, 4], &[1, 70_000]];

/// Unit roundoff of a float dtype, and the spacing of its subnormals (absolute error floor).
fn roundoff(dtype: Dtype) -> (f64, f64) {
    match dtype {
        Dtype::F16 => (2f64.powi(-11), 2f64.powi(-25)),
        Dtype::BF16 => (2f64.powi(-8), 2f64.powi(-134)),
        Dtype::F32 => (2f64.powi(-24), 2f64.powi(-150)),
        _ => (0.0, 0.0),
    }
}

fn round_trip<T: Scalar>() {
    for (k, shape) in SHAPES.iter().enumerate() {
        let x = Tensor::<T>::random_normal(shape, k as u64).unwrap();
        for dtype in [Dtype::F16, Dtype::BF16, Dtype::F32, Dtype::F64] {
            let bytes = SafetensorsWriter::new().tensor_as("x", &x, dtype).to_bytes().unwrap();
            let file = SafetensorsFile::from_bytes(bytes).unwrap();
            let info = file.info("x").unwrap();
            assert_eq!((info.dtype, &info.shape[..]), (dtype, *shape));
            assert_eq!(info.byte_len, x.numel() * dtype.bits() / 8);
            {
                let back = file.read::<T>("x").unwrap();
                assert_eq!(back.shape(), x.shape());
                // Storage rounds once; a precision wider than T's is exact after that.
                let (u, floor) = roundoff(dtype);
                let u = u.max(T::epsilon().as_f64() / 2.0);
                for (a, b) in x.as_slice().iter().zip(back.as_slice()) {
                    let (a, b) = (a.as_f64(), b.as_f64());
                    assert!((a - b).abs() <= u * a.abs() + floor, "{dtype} {a} -> {b}");
                }
                if dtype == Dtype::of::<T>() {
                    assert_eq!(back, x, "stored in its own precision: exact");
                }
            }
        }
    }
}

#[test]
fn every_float_dtype_round_trips_within_its_precision() {
    round_trip::<f32>();
    round_trip::<f64>();
}

#[test]
fn half_precision_overflow_is_an_error_not_infinity() {
    let x = Tensor::from_vec(&[2], vec![1.0_f64, 7.0e4]).unwrap();
    let err = SafetensorsWriter::new().tensor_as("w", &x, Dtype::F16).to_bytes().unwrap_err();
    assert!(err.to_string().contains("\"w\"") && err.to_string().contains("F16"), "{err}");
    // BF16 has F32's range.
    assert!(SafetensorsWriter::new().tensor_as("w", &x, Dtype::BF16).to_bytes().is_ok());
    let asked_int = SafetensorsWriter::new().tensor_as("w", &x, Dtype::I32).to_bytes();
    assert!(matches!(asked_int, Err(Error::Format { .. })));
}

/// The raw tensors of a checkpoint that are not floats: ids, a mask, bytes, fp8, packed fp4.
fn raw_data() -> Vec<(&'static str, Dtype, Vec<usize>, Vec<u8>)> {
    vec![
        ("position_ids", Dtype::I64, vec![1, 6], (0..6_i64).flat_map(i64::to_le_bytes).collect()),
        ("mask", Dtype::Bool, vec![2, 2], vec![1, 0, 0, 1]),
        ("codes", Dtype::U8, vec![3], vec![7, 8, 255]),
        ("ints", Dtype::I32, vec![0, 4], vec![]),
        ("scale", Dtype::F8E4M3, vec![2], vec![0x38, 0xb8]),
        ("packed", Dtype::F4, vec![4], vec![0x12, 0x34]),
    ]
}

#[test]
fn integer_bool_and_exotic_tensors_are_carried_through_byte_for_byte() {
    let dir = folder("carry");
    let data = raw_data();
    let w = Tensor::<f32>::random_normal(&[4, 3], 1).unwrap();
    let writer = data.iter().fold(SafetensorsWriter::new().tensor("w", &w), |wr, (n, d, s, b)| {
        wr.raw(n, RawTensor::new(*d, s, b).unwrap())
    });
    let input = dir.join("in.safetensors");
    writer.metadata("format", "pt").write(&input).unwrap();

    let file = SafetensorsFile::open(&input).unwrap();
    assert_eq!(file.len(), data.len() + 1);
    let err = file.read::<f32>("position_ids").unwrap_err();
    assert!(matches!(err, Error::Format { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(msg.contains("position_ids") && msg.contains("I64") && msg.contains("in.safetensors"));
    // Reading a file that holds integers works tensor by tensor (it used to fail as a whole).
    assert_eq!(file.read::<f32>("w").unwrap(), w);

    // Carry everything through, the float tensor converted to BF16.
    let w_in = file.read::<f32>("w").unwrap();
    let out = dir.join("out.safetensors");
    let mut writer = SafetensorsWriter::new().tensor_as("w", &w_in, Dtype::BF16);
    for (name, ..) in &data {
        writer = writer.copy_from(&file, name).unwrap();
    }
    writer.metadata_map(file.metadata()).write(&out).unwrap();
    let back = SafetensorsFile::open(&out).unwrap();
    for (name, dtype, shape, bytes) in &data {
        let raw = back.raw(name).unwrap();
        assert_eq!((raw.dtype(), raw.shape(), raw.data()), (*dtype, &shape[..], &bytes[..]));
    }
    assert_eq!(back.info("w").unwrap().dtype, Dtype::BF16);
    assert_eq!(back.metadata(), file.metadata());
    assert!(matches!(
        SafetensorsWriter::new().copy_from(&file, "nope"),
        Err(Error::TensorNotFound { .. })
    ));
}

#[test]
fn metadata_round_trips_with_any_text() {
    let x = Tensor::<f64>::ones(&[2]).unwrap();
    let bytes = SafetensorsWriter::new()
        .tensor("x", &x)
        .metadata("format", "pt")
        .metadata("note", "quotes \" and \\ backslash, ünïcödé, {json}\n")
        .metadata("", "empty key")
        .to_bytes()
        .unwrap();
    let file = SafetensorsFile::from_bytes(bytes).unwrap();
    let meta = file.metadata();
    assert_eq!(meta.len(), 3);
    assert_eq!(meta["note"], "quotes \" and \\ backslash, ünïcödé, {json}\n");
    assert_eq!(meta[""], "empty key");
    // No metadata: an empty map, and no __metadata__ key written.
    let plain = io::safetensors_bytes(&[("x", &x)]).unwrap();
    assert!(SafetensorsFile::from_bytes(plain.clone()).unwrap().metadata().is_empty());
    assert!(!String::from_utf8_lossy(&plain).contains("__metadata__"));
    assert!(SafetensorsWriter::new().tensor("__metadata__", &x).to_bytes().is_err());
}

/// A safetensors file from a header given as text and `data_len` data bytes.
fn hand_written(header: &[u8], data_len: usize) -> Vec<u8> {
    let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
    bytes.extend_from_slice(header);
    bytes.resize(bytes.len() + data_len, 0);
    bytes
}

#[test]
fn broken_files_are_typed_errors_naming_the_file() {
    let dir = folder("broken");
    let good = hand_written(br#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#, 8);
    assert!(SafetensorsFile::from_bytes(good.clone()).is_ok());
    let mut beyond = good.clone();
    beyond[..8].copy_from_slice(&1000u64.to_le_bytes());
    let mut huge = good.clone();
    huge[..8].copy_from_slice(&(u64::MAX / 2).to_le_bytes());
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("empty", vec![], "too few"),
        ("short", vec![1, 2, 3], "too few"),
        ("truncated", good[..good.len() - 1].to_vec(), "do not end at the end"),
        ("trailing", [&good[..], &[0]].concat(), "do not end at the end"),
        ("header beyond the file", beyond, "beyond the end"),
        ("huge header", huge, "larger than 100 MB"),
        ("non-UTF-8", hand_written(b"{\"a\xff\xfe\":1}", 0), "not UTF-8"),
        ("not JSON", hand_written(b"{not json", 0), ""),
        (
            "overlapping",
            hand_written(
                br#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}"#,
                12,
            ),
            "overlaps",
        ),
        (
            "out of range",
            hand_written(br#"{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}"#, 8),
            "do not end at the end",
        ),
        (
            "shape vs bytes",
            hand_written(br#"{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#, 8),
            "does not match its dtype and shape",
        ),
        (
            "unknown dtype",
            hand_written(br#"{"a":{"dtype":"Q3","shape":[1],"data_offsets":[0,1]}}"#, 1),
            "",
        ),
        (
            "absurd shape",
            hand_written(
                br#"{"a":{"dtype":"F64","shape":[4294967296,4294967296,16],"data_offsets":[0,8]}}"#,
                8,
            ),
            "",
        ),
    ];
    for (k, (what, bytes, says)) in cases.into_iter().enumerate() {
        let path = dir.join(format!("case{k}.safetensors"));
        std::fs::write(&path, &bytes).unwrap();
        let err = SafetensorsFile::open(&path).unwrap_err();
        assert!(matches!(err, Error::Format { .. }), "{what}: {err:?}");
        let msg = err.to_string();
        assert!(msg.contains(&path.display().to_string()), "{what}: names the file: {msg}");
        assert!(msg.contains(says), "{what}: {msg}");
        assert!(SafetensorsFile::from_bytes(bytes).is_err(), "{what}");
    }
    let missing = SafetensorsFile::open(dir.join("missing.safetensors")).unwrap_err();
    assert!(matches!(missing, Error::Io { .. }), "{missing:?}");
}

/// A header over the 100 MB limit that does lie inside the file (a sparse file of 100 MB of
/// zeros: no disk is used): refused from its length alone, before any of it is parsed.
#[test]
fn a_header_over_the_limit_inside_the_file_is_refused() {
    let dir = folder("huge-header");
    let path = dir.join("huge.safetensors");
    let len: u64 = 100_000_000 + 8;
    let mut f = std::fs::File::create(&path).unwrap();
    std::io::Write::write_all(&mut f, &len.to_le_bytes()).unwrap();
    f.set_len(8 + len).unwrap();
    drop(f);
    let err = SafetensorsFile::open(&path).unwrap_err();
    assert!(matches!(err, Error::Format { .. }), "{err:?}");
    assert!(err.to_string().contains("larger than 100 MB"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_missing_tensor_name_lists_the_names_present() {
    let x = Tensor::<f32>::ones(&[1]).unwrap();
    let bytes = io::safetensors_bytes(&[("b", &x), ("a", &x)]).unwrap();
    let file = SafetensorsFile::from_bytes(bytes).unwrap();
    let err = file.read::<f32>("c").unwrap_err();
    match &err {
        Error::TensorNotFound { name, available, .. } => {
            assert_eq!((name.as_str(), &available[..]), ("c", &["a".to_string(), "b".into()][..]))
        }
        other => panic!("{other:?}"),
    }
    assert!(err.to_string().contains(r#"["a", "b"]"#), "{err}");
    assert!(matches!(file.info("c"), Err(Error::TensorNotFound { .. })));
    assert!(matches!(file.raw("c"), Err(Error::TensorNotFound { .. })));
}

#[test]
fn writes_are_atomic_and_never_clobber() {
    let dir = folder("atomic");
    let path = dir.join("model.safetensors");
    let old = Tensor::<f32>::ones(&[3]).unwrap();
    SafetensorsWriter::new().tensor("old", &old).write(&path).unwrap();
    let old_bytes = std::fs::read(&path).unwrap();
    let new = Tensor::<f32>::zeros(&[2]).unwrap();

    // An existing file is refused without overwrite, then replaced with it.
    let refused = SafetensorsWriter::new().tensor("new", &new).write(&path).unwrap_err();
    assert!(matches!(refused, Error::OutputExists { .. }), "{refused:?}");
    assert_eq!(std::fs::read(&path).unwrap(), old_bytes);

    // A failure midway through the data (the second tensor overflows F16 after the first
    // chunks of the file went to disk) leaves the old file and no temporary file.
    let big = Tensor::<f32>::ones(&[1_000_000]).unwrap();
    let mut values = vec![1.0_f32; 200_000];
    values[150_000] = 1e9;
    let bad = Tensor::from_vec(&[200_000], values).unwrap();
    let failed = SafetensorsWriter::new()
        .tensor_as("a", &big, Dtype::F16)
        .tensor_as("b", &bad, Dtype::F16)
        .overwrite(true)
        .write(&path)
        .unwrap_err();
    assert!(failed.to_string().contains("150000"), "{failed}");
    assert_eq!(std::fs::read(&path).unwrap(), old_bytes);
    assert_eq!(files_in(&dir), ["model.safetensors"]);

    // A folder that does not exist: an I/O error naming the path, nothing created.
    let nowhere = dir.join("no/such/folder/model.safetensors");
    let err = SafetensorsWriter::new().tensor("new", &new).write(&nowhere).unwrap_err();
    assert!(matches!(err, Error::Io { .. }) && err.to_string().contains("does not exist"));
    assert!(!dir.join("no").exists());

    // The output may not be the input being read, even with overwrite (also through another
    // spelling of the path).
    let file = SafetensorsFile::open(&path).unwrap();
    let same = dir.join(".").join("model.safetensors");
    let err = SafetensorsWriter::new()
        .copy_from(&file, "old")
        .unwrap()
        .overwrite(true)
        .write(&same)
        .unwrap_err();
    assert!(matches!(err, Error::OutputIsInput { .. }), "{err:?}");
    assert_eq!(std::fs::read(&path).unwrap(), old_bytes);

    SafetensorsWriter::new().tensor("new", &new).overwrite(true).write(&path).unwrap();
    assert_eq!(io::read_safetensor::<f32>(&path, "new").unwrap(), new);
    // The open map still sees the old file (a rename, never a write in place).
    assert_eq!(file.read::<f32>("old").unwrap(), old);
    assert_eq!(files_in(&dir), ["model.safetensors"]);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_short_forms_still_work() {
    let dir = folder("short");
    let path = dir.join("x.safetensors");
    let x = Tensor::<f64>::random_normal(&[3, 2], 5).unwrap();
    io::write_safetensors(&path, &[("x", &x)]).unwrap();
    io::write_safetensors(&path, &[("x", &x)]).unwrap(); // replaces, as it always did
    assert_eq!(io::read_safetensors::<f64>(&path).unwrap(), vec![("x".to_string(), x.clone())]);
    assert_eq!(io::read_safetensor::<f64>(&path, "x").unwrap(), x);
    let err = io::read_safetensor::<f64>(&path, "y").unwrap_err();
    assert!(matches!(err, Error::TensorNotFound { .. }));
    std::fs::remove_dir_all(&dir).unwrap();
}
