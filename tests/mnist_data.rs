//! The MNIST committed under data/mnist: both splits load with their documented sizes and label
//! counts, batches are seeded and normalized as the pretrained CNN expects, and the loader takes
//! any IDX folder (the other common file naming, uncompressed files) and refuses broken ones with
//! the file named.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "common/data.rs"]
mod data_files;

use std::path::{Path, PathBuf};

use tensorize::data::{Mnist, MnistSplit, MNIST_DIR, MNIST_NORMALIZATION};
use tensorize::Error;

fn mnist_dir() -> PathBuf {
    data_files::find_data_file(&format!("{MNIST_DIR}/t10k-labels.idx1-ubyte.gz"))
        .unwrap()
        .parent()
        .unwrap()
        .to_path_buf()
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tensorize-mnist-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn gunzip(path: &Path) -> Vec<u8> {
    use std::io::Read;
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(std::fs::File::open(path).unwrap()).read_to_end(&mut out).unwrap();
    out
}

#[test]
fn both_splits_load_with_their_documented_sizes() {
    let dir = mnist_dir();
    let train = Mnist::load(&dir, MnistSplit::Train).unwrap();
    let test = Mnist::load(&dir, MnistSplit::Test).unwrap();
    assert_eq!((train.len(), test.len()), (60_000, 10_000));
    assert_eq!((train.image_shape(), train.num_classes()), ([28, 28], 10));
    // The well-known first labels and class counts of the test set.
    assert_eq!(&test.labels()[..5], &[7, 2, 1, 0, 4]);
    assert_eq!(train.labels()[0], 5);
    let mut counts = [0usize; 10];
    test.labels().iter().for_each(|&l| counts[usize::from(l)] += 1);
    assert_eq!(counts, [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]);
    // The first-1000 cut is the test set's head.
    let images = dir.join("t10k-first1000-images.idx3-ubyte.gz");
    let labels = dir.join("t10k-first1000-labels.idx1-ubyte.gz");
    assert_eq!(Mnist::from_files(images, labels).unwrap(), test.take(1000));
}

#[test]
fn batches_are_seeded_normalized_nchw() {
    let test = Mnist::load(mnist_dir(), MnistSplit::Test).unwrap();
    let batches = test.batch_indices(256, Some(3)).unwrap();
    assert_eq!(batches.len(), 40);
    assert_eq!(batches, test.batch_indices(256, Some(3)).unwrap());
    assert_ne!(batches, test.batch_indices(256, Some(4)).unwrap());
    let mut seen: Vec<usize> = batches.concat();
    seen.sort_unstable();
    assert_eq!(seen, (0..10_000).collect::<Vec<_>>());
    let (x, y) = test.batch::<f32>(&batches[0], MNIST_NORMALIZATION).unwrap();
    assert_eq!(x.shape(), &[256, 1, 28, 28]);
    assert_eq!(y.len(), 256);
    // Background pixels map to -mean/std, ink to at most (1 - mean)/std.
    let (lo, hi) =
        x.as_slice().iter().fold((f32::MAX, f32::MIN), |(a, b), &v| (a.min(v), b.max(v)));
    assert!((lo + 0.1307 / 0.3081).abs() < 1e-5 && (hi - (1.0 - 0.1307) / 0.3081).abs() < 1e-5);
}

#[test]
fn any_idx_folder_loads_and_broken_files_are_named() {
    let dir = mnist_dir();
    // Fashion-MNIST style names (hyphens), uncompressed.
    let other = scratch("plain");
    let images = gunzip(&dir.join("t10k-first1000-images.idx3-ubyte.gz"));
    let labels = gunzip(&dir.join("t10k-first1000-labels.idx1-ubyte.gz"));
    std::fs::write(other.join("t10k-images-idx3-ubyte"), &images).unwrap();
    std::fs::write(other.join("t10k-labels-idx1-ubyte"), &labels).unwrap();
    let plain = Mnist::load(&other, MnistSplit::Test).unwrap();
    assert_eq!(plain.len(), 1000);
    let missing = Mnist::load(&other, MnistSplit::Train).unwrap_err();
    assert!(
        matches!(missing, Error::Io { .. }) && missing.to_string().contains("train"),
        "{missing}"
    );
    // A truncated gzip stream.
    let broken = scratch("broken");
    let gz = std::fs::read(dir.join("t10k-first1000-images.idx3-ubyte.gz")).unwrap();
    std::fs::write(broken.join("t10k-images.idx3-ubyte.gz"), &gz[..gz.len() / 2]).unwrap();
    std::fs::write(broken.join("t10k-labels.idx1-ubyte"), &labels).unwrap();
    let err = Mnist::load(&broken, MnistSplit::Test).unwrap_err();
    assert!(matches!(err, Error::Io { .. }) && err.to_string().contains("gzip"), "{err}");
    // Labels that do not match the images: the file is named.
    std::fs::write(broken.join("t10k-images.idx3-ubyte.gz"), &gz).unwrap();
    std::fs::write(broken.join("t10k-labels.idx1-ubyte"), &labels[..labels.len() - 1]).unwrap();
    let err = Mnist::load(&broken, MnistSplit::Test).unwrap_err();
    assert!(err.to_string().contains("t10k-labels.idx1-ubyte"), "{err}");
    // Images where labels belong: a wrong magic number.
    std::fs::write(broken.join("t10k-labels.idx1-ubyte"), &images).unwrap();
    let err = Mnist::load(&broken, MnistSplit::Test).unwrap_err();
    assert!(matches!(err, Error::Format { .. }) && err.to_string().contains("magic"), "{err}");
    for d in [other, broken] {
        std::fs::remove_dir_all(d).unwrap();
    }
}
