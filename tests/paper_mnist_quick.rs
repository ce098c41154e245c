//! The quick mode of `cargo bench --bench paper_mnist`: every part's own code on a few hundred
//! images and a handful of steps; each test checks its part's tables are complete and sane.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "common/data.rs"]
mod data_files;
#[path = "../benches/paper_mnist/harness.rs"]
mod harness;
#[path = "../benches/paper_mnist/nets_train.rs"]
mod nets_train;
#[path = "../benches/paper_mnist/novikov.rs"]
mod novikov;
#[path = "../benches/paper_mnist/plot.rs"]
mod plot;
#[path = "../benches/paper_mnist/rstd.rs"]
mod rstd;
#[path = "../benches/paper_mnist/tnet.rs"]
mod tnet;

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

/// The rows of the first markdown table of `page` (after its header and separator).
fn table_rows(page: &str) -> Vec<Vec<String>> {
    let lines: Vec<&str> = page
        .lines()
        .skip_while(|l| !l.starts_with('|'))
        .take_while(|l| l.starts_with('|'))
        .collect();
    lines
        .iter()
        .skip(2)
        .map(|l| l.trim_matches('|').split('|').map(|c| c.trim().to_string()).collect())
        .collect()
}

fn percent(cell: &str) -> f64 {
    cell.split_whitespace().next().unwrap().parse::<f64>().unwrap()
}

#[test]
fn novikov_quick_table_is_complete_and_sane() {
    let done = run_quick("novikov");
    let md = &done.output.markdown;
    let rows = table_rows(md);
    // dense, one matrix rank, two TT shapes at one rank.
    assert_eq!(rows.len(), 4, "{md}");
    for r in &rows {
        let error = percent(&r[6]);
        assert!((0.0..=100.0).contains(&error), "{r:?}");
        assert!(r[3].parse::<usize>().unwrap() > 0);
    }
    // The TT rows carry both counts: 2¹⁰ at rank 8 builds 2112 core entries, capped 1824.
    let tt: Vec<_> = rows.iter().filter(|r| r[0] == "TT").collect();
    assert_eq!(tt.len(), 2);
    let pow = tt.iter().find(|r| r[1] == "2×2×2×2×2×2×2×2×2×2").unwrap();
    assert_eq!(pow[3].parse::<usize>().unwrap(), 2112 + 1024);
    assert_eq!(pow[4].parse::<usize>().unwrap(), 1824 + 1024);
    assert!(md.contains("**Paper:**") && md.contains("**Here:**"));
    assert_eq!(done.output.plots.len(), 1);
    assert!(done.output.plots[0].log_x);
    assert!(done
        .output
        .throughput
        .iter()
        .any(|t| t.model.starts_with("dense") && t.images_per_s > 0.0));
}

#[test]
fn rstd_quick_table_is_complete_and_sane() {
    let done = run_quick("rstd");
    let md = &done.output.markdown;
    let rows = table_rows(md);
    // Two ratios × plain and shuffled.
    assert_eq!(rows.len(), 4, "{md}");
    for pair in rows.chunks(2) {
        assert_eq!((pair[0][3].as_str(), pair[1][3].as_str()), ("plain", "shuffled"));
        // Same rank and parameters for both: the permutation costs nothing.
        assert_eq!((&pair[0][1], &pair[0][2]), (&pair[1][1], &pair[1][2]));
        for r in pair {
            let err: f64 = r[4].parse().unwrap();
            assert!((0.0..=1.0).contains(&err), "{r:?}");
            for cell in [&r[5], &r[6]] {
                assert!(cell.contains('±'), "{r:?}");
                assert!((0.0..=100.0).contains(&percent(cell)), "{r:?}");
            }
        }
        // The shuffle destroys the weight's structure: the shuffled fit is worse at the same rank.
        assert!(pair[1][4].parse::<f64>().unwrap() > pair[0][4].parse::<f64>().unwrap());
    }
    assert!(md.contains("**Paper:**") && md.contains("**Here:**"));
    assert_eq!(done.output.plots[0].series.len(), 2);
}

#[test]
fn tnet_quick_table_is_complete_and_sane() {
    let done = run_quick("tnet");
    let md = &done.output.markdown;
    let rows = table_rows(md);
    assert_eq!(rows.len(), 2, "{md}");
    assert_eq!(rows[0][0], "uncompressed twin");
    let twin_block: usize = rows[0][2].parse().unwrap();
    let tnet_block: usize = rows[1][2].parse().unwrap();
    assert_eq!(twin_block, 4 * 16 * 16 * 9 + 2 * 4 * 16);
    assert!(tnet_block < twin_block);
    // The networks differ by the block only.
    let nets: Vec<usize> = rows.iter().map(|r| r[4].parse().unwrap()).collect();
    assert_eq!(nets[0] - nets[1], twin_block - tnet_block);
    for r in &rows {
        assert!((0.0..=100.0).contains(&percent(&r[5])), "{r:?}");
    }
    assert!(md.contains("**Paper:**") && md.contains("**Here:**"));
}
