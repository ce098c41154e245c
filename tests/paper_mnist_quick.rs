//! The quick mode of `cargo bench --bench paper_mnist`: every part's own code on a few hundred
//! images and a handful of steps; each test checks its part's tables are complete and sane.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "common/data.rs"]
mod data_files;
#[path = "../benches/paper_mnist/harness.rs"]
mod harness;
#[path = "../benches/paper_mnist/plot.rs"]
mod plot;

use std::path::{Path, PathBuf};

use tensorize::data::{MNIST_CNN_FILE, MNIST_DIR};
use tensorize::Error;

fn mnist_dir() -> PathBuf {
    let labels =
        data_files::find_data_file(&format!("{MNIST_DIR}/train-labels.idx1-ubyte.gz")).unwrap();
    labels.parent().unwrap().to_path_buf()
}

fn quick_ctx() -> harness::Ctx {
    let cnn = data_files::find_data_file(MNIST_CNN_FILE).unwrap();
    harness::Ctx::load(&mnist_dir(), &cnn, true, 2019).unwrap()
}

/// Runs one part in the quick mode and returns its page.
#[allow(dead_code)] // used by the part tests as they are added
fn run_quick(name: &str) -> harness::Finished {
    let ctx = quick_ctx();
    let mut done = harness::run_parts(&ctx, &[name.to_string()], &mut |_| {}).unwrap();
    assert_eq!(done.len(), 1);
    done.pop().unwrap()
}

#[test]
fn a_missing_or_non_idx_data_folder_is_refused_before_any_part_runs() {
    let cnn = data_files::find_data_file(MNIST_CNN_FILE).unwrap();
    let missing = Path::new("/definitely/not/a/folder");
    let err = harness::Ctx::load(missing, &cnn, true, 1).err().unwrap();
    assert!(matches!(&err, Error::Io { path, .. } if path.contains("/definitely/not")), "{err}");
    // A folder that exists but holds no IDX files: the error names the file it looked for.
    let empty = std::env::temp_dir().join("tensorize-paper-mnist-not-idx");
    std::fs::create_dir_all(&empty).unwrap();
    std::fs::write(empty.join("train-images-idx3-ubyte"), b"not an IDX file").unwrap();
    let err = harness::Ctx::load(&empty, &cnn, true, 1).err().unwrap();
    assert!(err.to_string().contains("tensorize-paper-mnist-not-idx"), "{err}");
}

#[test]
fn an_unknown_part_is_refused_with_the_list_of_parts() {
    let ctx = quick_ctx();
    let mut ran = false;
    let err = harness::run_parts(&ctx, &["nope".to_string()], &mut |_| ran = true).err().unwrap();
    assert!(
        matches!(&err, Error::InvalidParameter { value, .. } if value.starts_with("nope")),
        "{err}"
    );
    assert!(!ran);
}

#[test]
fn a_plot_is_written_as_svg() {
    let path = std::env::temp_dir().join("tensorize-paper-mnist-plot-test.svg");
    let plot = harness::Plot {
        file: "x.svg".into(),
        title: "accuracy against parameters".into(),
        x_label: "parameters".into(),
        y_label: "accuracy (%)".into(),
        log_x: true,
        series: vec![
            harness::Series { name: "dense".into(), points: vec![(1e3, 97.0), (1e5, 99.0)] },
            harness::Series { name: "TT".into(), points: vec![(2e2, 90.0), (f64::NAN, 1.0)] },
        ],
    };
    plot::write_svg(&plot, &path).unwrap();
    let svg = std::fs::read_to_string(&path).unwrap();
    assert!(
        svg.starts_with("<svg")
            && svg.contains("accuracy against parameters")
            && svg.contains("TT")
    );
}
