//! The quick mode of `cargo bench --bench cnn_layers`: the same code on a few hundred images,
//! one rank per method; checks the tables are complete and the numbers sane.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "common/data.rs"]
mod data_files;
#[path = "../benches/cnn_layers/table.rs"]
mod table;

use tensorize::data::{Mnist, MnistCnn, MnistSplit, MNIST_CNN_FILE, MNIST_DIR};

#[test]
fn the_quick_decomposed_layer_tables() {
    let cnn = data_files::find_data_file(MNIST_CNN_FILE).and_then(MnistCnn::<f32>::load).unwrap();
    let labels =
        data_files::find_data_file(&format!("{MNIST_DIR}/train-labels.idx1-ubyte.gz")).unwrap();
    let dir = labels.parent().unwrap();
    let train = Mnist::load(dir, MnistSplit::Train).unwrap();
    let test = Mnist::load(dir, MnistSplit::Test).unwrap();
    let (md, rows) = table::run(&cnn, &train, &test, &table::Options::quick()).unwrap();
    // Per table the dense control row, then one row per method.
    assert_eq!(rows.len(), 6, "{md}");
    assert!(rows[0].layer == "linear 3136→128" && rows[0].rel_error == 0.0, "{md}");
    for prefix in ["svd-linear 3136→128 r8", "tucker2-conv 32→64", "cp-conv 32→64", "tt-conv 32→64"]
    {
        assert!(rows.iter().any(|r| r.layer.starts_with(prefix)), "{prefix} missing:\n{md}");
    }
    for row in rows.iter().filter(|r| r.rel_error > 0.0) {
        assert!(row.layer_params < 401_536 && row.model_params < 421_642, "{md}");
        assert!(row.rel_error < 1.0, "{md}");
        assert_eq!(row.tuned.len(), 1, "{md}");
        let tuned = row.tuned[0].expect("a short fine-tuning pass at learning rate 0.01 converges");
        assert!((0.0..=1.0).contains(&row.accuracy) && (0.0..=1.0).contains(&tuned), "{md}");
    }
    // The dense control row is the pretrained model; rank 8 of fc1 keeps most of its accuracy
    // on these images even before fine-tuning.
    assert!(rows[0].accuracy > 0.97 && rows[1].accuracy > 0.5, "{md}");
    assert_eq!(rows.iter().filter(|r| r.rel_error == 0.0).count(), 2, "{md}");
    assert!(md.contains("| layer | layer params |") && md.contains("conv2 (64 × 32 × 3 × 3)"));
    // The full mode runs the ranks the tables are meant to show.
    let full = table::Options::full();
    assert_eq!((full.fc1_ranks, full.test_images), (vec![8, 16, 32, 64], 10_000));
    assert_eq!(full.lrs.len(), 2);
}
