//! `.npz`: round trips stored and deflated, archives laid out as numpy.savez writes them
//! (zip64 local headers), corrupt archives as typed errors, atomic writes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use tensorize::io::{self, npz_bytes, parse_npz, read_npz, write_npz, Compression};
use tensorize::{Error, Scalar, Tensor};

fn folder(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tensorize-io-npz-{}-{tag}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

fn round_trip<T: Scalar>() {
    let shapes: [&[usize]; 5] = [&[], &[0], &[2, 0, 3], &[7], &[3, 4, 5]];
    let tensors: Vec<(String, Tensor<T>)> = shapes
        .iter()
        .enumerate()
        .map(|(k, s)| (format!("t{k}/x"), Tensor::random_normal(s, k as u64).unwrap()))
        .collect();
    let named: Vec<(&str, &Tensor<T>)> = tensors.iter().map(|(n, t)| (n.as_str(), t)).collect();
    for compression in [Compression::Stored, Compression::Deflated] {
        let bytes = npz_bytes(&named, compression).unwrap();
        assert_eq!(parse_npz::<T>(&bytes).unwrap(), tensors, "{compression:?}");
    }
    let zeros = Tensor::<T>::zeros(&[100, 100]).unwrap();
    let stored = npz_bytes(&[("z", &zeros)], Compression::Stored).unwrap();
    let deflated = npz_bytes(&[("z", &zeros)], Compression::Deflated).unwrap();
    assert!(deflated.len() * 10 < stored.len(), "deflate compresses zeros");
}

#[test]
fn round_trips_stored_and_deflated() {
    round_trip::<f32>();
    round_trip::<f64>();
}

#[test]
fn reads_archives_as_numpy_writes_them() {
    let kr_in0: Tensor<f64> = io::read_npy(fixture("kr_in0.npy")).unwrap();
    let weights: Tensor<f64> = io::read_npy(fixture("cp_weights.npy")).unwrap();
    let expected = vec![("kr_in0".to_string(), kr_in0), ("weights".to_string(), weights)];
    for name in ["savez.npz", "savez_compressed.npz"] {
        assert_eq!(read_npz::<f64>(fixture(name)).unwrap(), expected, "{name}");
    }
}

#[test]
fn corrupt_archives_are_typed_errors() {
    let x = Tensor::from_vec(&[4], vec![1.0_f64, 2.0, 3.0, 4.0]).unwrap();
    let good = npz_bytes(&[("x", &x)], Compression::Stored).unwrap();
    let mut flipped = good.clone();
    // The last data byte of the member (the archive ends with the central directory).
    let at = good.windows(8).position(|w| w == 4.0_f64.to_le_bytes()).unwrap();
    flipped[at + 7] ^= 0x40;
    let mut int_member = good.clone();
    let d = good.windows(3).position(|w| w == b"<f8").unwrap();
    int_member[d + 1..d + 3].copy_from_slice(b"i8");
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("empty", vec![]),
        ("garbage", b"PK\x05\x06 not really".to_vec()),
        ("truncated", good[..good.len() - 10].to_vec()),
        ("cut in the data", good[..at].to_vec()),
        ("bad CRC", flipped),
        ("integer member", int_member),
    ];
    let dir = folder("corrupt");
    for (what, bytes) in cases {
        let err = parse_npz::<f64>(&bytes).unwrap_err();
        assert!(matches!(err, Error::Format { format: "npz", .. }), "{what}: {err:?}");
        let path = dir.join("bad.npz");
        std::fs::write(&path, &bytes).unwrap();
        let msg = read_npz::<f64>(&path).unwrap_err().to_string();
        assert!(msg.contains("bad.npz"), "{what}: names the file: {msg}");
    }
    let dup = npz_bytes(&[("x", &x), ("x", &x)], Compression::Stored).unwrap_err();
    assert!(matches!(dup, Error::Format { .. }));
}

#[test]
fn writes_are_atomic_and_never_clobber() {
    let dir = folder("atomic");
    let path = dir.join("x.npz");
    let x = Tensor::<f32>::ones(&[2, 2]).unwrap();
    write_npz(&path, &[("x", &x)], Compression::Deflated, false).unwrap();
    let old = std::fs::read(&path).unwrap();
    let y = Tensor::<f32>::zeros(&[3]).unwrap();
    let err = write_npz(&path, &[("y", &y)], Compression::Stored, false).unwrap_err();
    assert!(matches!(err, Error::OutputExists { .. }), "{err:?}");
    assert_eq!(std::fs::read(&path).unwrap(), old);
    let err = write_npz(&path, &[("y", &y), ("y", &y)], Compression::Stored, true).unwrap_err();
    assert!(matches!(err, Error::Format { .. }));
    assert_eq!(std::fs::read(&path).unwrap(), old);
    let err = write_npz(dir.join("missing/x.npz"), &[("y", &y)], Compression::Stored, true);
    assert!(matches!(err, Err(Error::Io { .. })));
    write_npz(&path, &[("y", &y)], Compression::Stored, true).unwrap();
    assert_eq!(read_npz::<f32>(&path).unwrap(), vec![("y".to_string(), y)]);
    let left: Vec<_> = std::fs::read_dir(&dir).unwrap().collect();
    assert_eq!(left.len(), 1, "no temporary file left behind");
    std::fs::remove_dir_all(&dir).unwrap();
}
