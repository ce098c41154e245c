//! The quick mode of `cargo bench --bench paper_mnist`: every part's own code on a few hundred
//! images and a handful of steps; each test checks its part's tables are complete and sane.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../benches/paper_mnist/allocation.rs"]
mod allocation;
#[path = "common/data.rs"]
mod data_files;
#[path = "../benches/paper_mnist/harness.rs"]
mod harness;
#[path = "../benches/paper_mnist/musco.rs"]
mod musco;
#[path = "../benches/paper_mnist/nets_train.rs"]
mod nets_train;
#[path = "../benches/paper_mnist/novikov.rs"]
mod novikov;
#[path = "../benches/paper_mnist/plot.rs"]
mod plot;
#[path = "../benches/paper_mnist/rstd.rs"]
mod rstd;
#[path = "../benches/paper_mnist/runs.rs"]
mod runs;
#[path = "../benches/paper_mnist/tnet.rs"]
mod tnet;
#[path = "../benches/paper_mnist/tspc.rs"]
mod tspc;

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
fn first_table_rows(page: &str) -> Vec<Vec<String>> {
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
    let rows = first_table_rows(md);
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
    let rows = first_table_rows(md);
    // TT and TR × two ratios × plain and shuffled.
    assert_eq!(rows.len(), 8, "{md}");
    for (k, pair) in rows.chunks(2).enumerate() {
        let format = if k < 2 { "TT" } else { "TR" };
        assert_eq!((pair[0][0].as_str(), pair[1][0].as_str()), (format, format));
        assert_eq!((pair[0][4].as_str(), pair[1][4].as_str()), ("plain", "shuffled"));
        // Same rank and parameters for both: the permutation costs nothing.
        assert_eq!((&pair[0][2], &pair[0][3]), (&pair[1][2], &pair[1][3]));
        for r in pair {
            let err: f64 = r[5].parse().unwrap();
            assert!((0.0..=1.0).contains(&err), "{r:?}");
            for cell in [&r[6], &r[7]] {
                assert!(cell.contains('±'), "{r:?}");
                assert!((0.0..=100.0).contains(&percent(cell)), "{r:?}");
            }
        }
        // The shuffle destroys the weight's structure: the shuffled fit is worse at the same rank.
        assert!(pair[1][5].parse::<f64>().unwrap() > pair[0][5].parse::<f64>().unwrap());
    }
    // At the same ratio the TT and TR cores stay within the same budget (fc1's 128 biases aside).
    let budget = |r: &Vec<String>| 401_408.0 / r[1].parse::<f64>().unwrap();
    assert!(rows.iter().all(|r| r[3].parse::<f64>().unwrap() - 128.0 <= budget(r)), "{md}");
    assert!(md.contains("**Paper:**") && md.contains("**Here:**"));
    assert_eq!(done.output.plots[0].series.len(), 4);
}

#[test]
fn tnet_quick_table_is_complete_and_sane() {
    let done = run_quick("tnet");
    let md = &done.output.markdown;
    let rows = first_table_rows(md);
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

#[test]
fn the_run_record_keeps_other_parts_and_dates_each_run() {
    assert_eq!(runs::date_of(0), "1970-01-01");
    assert_eq!(runs::date_of(951_782_400), "2000-02-29");
    assert_eq!(runs::date_of(1_796_493_600), "2026-12-05");
    let row = |part: &str, seconds: f64, model: &str| runs::RunRow {
        part: part.into(),
        date: "2026-12-05".into(),
        seconds,
        model: model.into(),
        params: 10,
        images_per_s: if model.is_empty() { f64::NAN } else { 100.0 },
    };
    let parts = harness::parts();
    assert_eq!(parts.len(), 6, "the six parts of the issue");
    let (a, b) = (parts[0].name, parts[1].name);
    let old = vec![row(a, 1.0, "dense"), row(a, 1.0, "tt"), row(b, 2.0, "")];
    let merged = runs::merge(old, vec![row(a, 5.0, "dense"), row("gone", 1.0, "")]);
    assert_eq!(merged.len(), 2, "{merged:?}");
    assert_eq!((merged[0].part.as_str(), merged[0].seconds), (a, 5.0));
    assert_eq!(merged[1].part, b);
    let path = std::env::temp_dir().join("tensorize-paper-mnist-runs-test.tsv");
    runs::write(&path, &merged).unwrap();
    let back = runs::read(&path).unwrap();
    assert_eq!(back.len(), 2);
    assert_eq!((back[0].model.as_str(), back[1].model.as_str()), ("dense", ""));
    assert!(back[1].images_per_s.is_nan());
    let page = runs::summary(&back, false);
    assert!(
        page.contains(&format!("[{a}](paper_mnist_{a}.md)"))
            && page.contains("| **all parts** | | | 7 |"),
        "{page}"
    );
    std::fs::write(&path, "part\tdate\nnot a row\n").unwrap();
    assert!(runs::read(&path).is_err());
}

/// The rows of the markdown table that follows the heading `heading`.
fn table_rows<'a>(page: &'a str, heading: &str) -> Vec<&'a str> {
    let start = page.find(heading).unwrap_or_else(|| panic!("no {heading:?} in\n{page}"));
    page[start..]
        .lines()
        .skip_while(|l| !l.starts_with('|'))
        .take_while(|l| l.starts_with('|'))
        .skip(2)
        .collect()
}

/// The percentages in a table row (accuracies), each in [0, 100].
fn percents(row: &str) -> Vec<f64> {
    row.split('|')
        .filter_map(|c| c.trim().split('%').next().filter(|_| c.contains('%')))
        .filter_map(|c| c.split_whitespace().next()?.parse().ok())
        .collect()
}

#[test]
fn musco_quick_tables_are_complete() {
    let done = run_quick("musco");
    let page = &done.output.markdown;
    let iterations = table_rows(page, "## MUSCO, iteration by iteration");
    assert!(iterations.len() >= 2, "{page}"); // the dense row and at least one iteration
    let compared = table_rows(page, "## Same final compression");
    assert_eq!(compared.len(), 3, "{page}");
    assert!(compared[1].starts_with("| one-shot") && compared[2].starts_with("| MUSCO"));
    for row in iterations.iter().chain(&compared) {
        for p in percents(row) {
            assert!((0.0..=100.0).contains(&p), "{row}");
        }
    }
    // One-shot and MUSCO end at the same ranks, parameters and FLOPs.
    let cells = |row: &str| {
        row.split('|').map(str::trim).skip(2).take(4).map(String::from).collect::<Vec<_>>()
    };
    assert_eq!(cells(compared[1]), cells(compared[2]));
    assert!(page.contains("**Paper:**") && page.contains("**Here:**"));
    assert_eq!(done.output.plots.len(), 1);
    assert_eq!(done.output.throughput.len(), 3);
    assert!(done.output.throughput.iter().all(|t| t.images_per_s > 0.0));
}

#[test]
fn allocation_quick_table_is_complete_at_equal_parameters() {
    let done = run_quick("allocation");
    let page = &done.output.markdown;
    let rows = table_rows(page, "| ρ | split");
    assert_eq!(rows.len(), 3, "{page}"); // one fraction, three splits
    let cell = |row: &str, k: usize| row.split('|').map(str::trim).nth(k).unwrap().to_string();
    // Equal parameters: the allocators stay within the uniform split's factor parameters.
    let budget: usize = cell(rows[0], 4).parse().unwrap();
    for row in &rows {
        let params: usize = cell(row, 4).parse().unwrap();
        assert!(params <= budget && params > 0, "{row}");
        assert_eq!(cell(row, 3).split('/').count(), 4, "{row}");
        for k in [7, 8] {
            let a: f64 = cell(row, k).trim_end_matches('%').parse().unwrap();
            assert!((0.0..=100.0).contains(&a), "{row}");
        }
    }
    // The data-aware split has the smallest output error: the allocator minimizes it.
    let output_err = |row: &str| cell(row, 6).parse::<f64>().unwrap();
    assert!(output_err(rows[2]) <= output_err(rows[1]), "{page}");
    assert!(page.contains("**Claim**") && page.contains("**Here**"));
    assert_eq!(done.output.plots.len(), 2);
}

#[test]
fn tspc_quick_table_is_complete() {
    let done = run_quick("tspc");
    let page = &done.output.markdown;
    let rows = table_rows(page, "| method | ρ");
    assert_eq!(rows.len(), 2, "{page}"); // TK and r-TT at 10%
    let cell = |row: &str, k: usize| row.split('|').map(str::trim).nth(k).unwrap().to_string();
    assert!(rows[0].starts_with("| TK | 10%") && rows[1].starts_with("| r-TT | 10%"), "{page}");
    for row in &rows {
        // Near the asked fraction of conv2 + fc1, and every accuracy a percentage.
        let kept: f64 = cell(row, 3).trim_end_matches('%').parse().unwrap();
        assert!((5.0..=12.0).contains(&kept), "{row}");
        for k in 5..=7 {
            let a: f64 = cell(row, k).trim_end_matches('%').parse().unwrap();
            assert!((0.0..=100.0).contains(&a), "{row}");
        }
        // Both stages trained and report an error before and after.
        for k in [8, 9] {
            let (a, b) = cell(row, k)
                .split_once(" → ")
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .unwrap();
            assert!(a.parse::<f64>().unwrap() >= 0.0 && b.parse::<f64>().unwrap() >= 0.0, "{row}");
        }
    }
    assert!(page.contains("**Paper:**") && page.contains("**Here**"));
    assert_eq!(done.output.plots.len(), 3);
    assert!(done.output.plots.iter().all(|p| p.series.len() == 2));
}
