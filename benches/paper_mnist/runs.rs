//! The record of every part's last run (`paper_mnist_runs.tsv` beside the pages), from which
//! the summary page is built. A part rerun alone (`--only NAME`) replaces its own rows and
//! keeps the other parts', so the summary always shows each part's time and training
//! throughput as measured by a real run, with the date of that run.

// The quick test uses part of this file.
#![allow(dead_code)]

use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use tensorize::{Error, Result};

use crate::harness::{parts, Finished};

/// One row: a part's run, and one model whose training throughput it measured (`model` empty
/// for a part that measured none).
#[derive(Clone, Debug, PartialEq)]
pub struct RunRow {
    /// The part.
    pub part: String,
    /// The UTC date of the run (`YYYY-MM-DD`).
    pub date: String,
    /// The part's wall-clock seconds.
    pub seconds: f64,
    /// The model, or empty.
    pub model: String,
    /// Its trainable parameters.
    pub params: usize,
    /// Its training images per second.
    pub images_per_s: f64,
}

const HEADER: &str = "part\tdate\tseconds\tmodel\tparams\timages_per_s";

/// The rows of the parts just run, dated `date`.
pub fn rows_of(done: &[Finished], date: &str) -> Vec<RunRow> {
    let mut rows = Vec::new();
    for d in done {
        let row = |model: &str, params, ips| RunRow {
            part: d.name.to_string(),
            date: date.to_string(),
            seconds: d.seconds,
            model: model.to_string(),
            params,
            images_per_s: ips,
        };
        if d.output.throughput.is_empty() {
            rows.push(row("", 0, f64::NAN));
        }
        for t in &d.output.throughput {
            rows.push(row(&t.model, t.params, t.images_per_s));
        }
    }
    rows
}

/// The rows recorded at `path` (none if the file does not exist).
///
/// # Errors
/// [`Error::Io`] naming the file if it cannot be read or a line is not a row.
pub fn read(path: &Path) -> Result<Vec<RunRow>> {
    let bad = |detail: String| Error::Io { path: path.display().to_string(), detail };
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(bad(e.to_string())),
    };
    let mut rows = Vec::new();
    for (i, line) in text.lines().enumerate().filter(|(_, l)| !l.is_empty() && *l != HEADER) {
        let f: Vec<&str> = line.split('\t').collect();
        let parsed = (f.len() == 6)
            .then(|| {
                Some(RunRow {
                    part: f[0].to_string(),
                    date: f[1].to_string(),
                    seconds: f[2].parse().ok()?,
                    model: f[3].to_string(),
                    params: f[4].parse().ok()?,
                    images_per_s: f[5].parse().ok()?,
                })
            })
            .flatten();
        rows.push(parsed.ok_or_else(|| bad(format!("line {} is not a run row: {line:?}", i + 1)))?);
    }
    Ok(rows)
}

/// `old` with the rows of every part in `new` replaced by `new`'s, in the order of the parts.
pub fn merge(old: Vec<RunRow>, new: Vec<RunRow>) -> Vec<RunRow> {
    let mut rows: Vec<RunRow> =
        old.into_iter().filter(|o| !new.iter().any(|n| n.part == o.part)).collect();
    rows.extend(new);
    let order: Vec<&str> = parts().iter().map(|p| p.name).collect();
    // Rows of parts that no longer exist are dropped.
    rows.retain(|r| order.contains(&r.part.as_str()));
    rows.sort_by_key(|r| order.iter().position(|p| *p == r.part));
    rows
}

/// Writes `rows` to `path`.
///
/// # Errors
/// [`Error::Io`] naming the file.
pub fn write(path: &Path, rows: &[RunRow]) -> Result<()> {
    let mut text = format!("{HEADER}\n");
    for r in rows {
        text += &format!(
            "{}\t{}\t{:.1}\t{}\t{}\t{}\n",
            r.part, r.date, r.seconds, r.model, r.params, r.images_per_s
        );
    }
    std::fs::write(path, text)
        .map_err(|e| Error::Io { path: path.display().to_string(), detail: e.to_string() })
}

/// Today's UTC date, `YYYY-MM-DD`.
pub fn today_utc() -> String {
    date_of(SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0))
}

/// The UTC date `secs` seconds after the epoch (days to a civil date, Hinnant's algorithm).
pub fn date_of(secs: u64) -> String {
    let z = (secs / 86_400) as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

/// The summary page from the recorded rows: the time of each part's last run and the training
/// throughput of every model it measured, relative to the fastest dense model of that part.
pub fn summary(rows: &[RunRow], quick: bool) -> String {
    let mut md = String::from("# Paper reproductions on MNIST: summary\n\n");
    md += "Generated by `cargo bench --bench paper_mnist` (benches/paper_mnist/) from each part's \
           last run (`paper_mnist_runs.tsv`); do not edit.\n\n";
    if quick {
        md += "**Quick mode**: a subset of every part; the numbers are not the reproductions.\n\n";
    }
    md += "| part | reproduces | run on | time (s) |\n|---|---|---|---|\n";
    let mut total = 0.0;
    for p in parts() {
        let Some(r) = rows.iter().find(|r| r.part == p.name) else {
            md += &format!("| {} | {} | not run | |\n", p.name, p.what);
            continue;
        };
        total += r.seconds;
        md += &format!(
            "| [{0}](paper_mnist_{0}.md) | {1} | {2} | {3:.0} |\n",
            p.name, p.what, r.date, r.seconds
        );
    }
    md += &format!("| **all parts** | | | {total:.0} |\n\n");
    let measured: Vec<&RunRow> = rows.iter().filter(|r| !r.model.is_empty()).collect();
    if !measured.is_empty() {
        md += "## Training throughput\n\nImages per second of a training step (forward, backward, optimizer \
               step) as each part measured it; the ratio is against the fastest dense model of the same \
               part, measured in the same run.\n\n";
        md += "| part | model | params | images/s | vs dense |\n|---|---|---|---|---|\n";
        for r in &measured {
            let dense = measured
                .iter()
                .filter(|d| d.part == r.part && d.model.starts_with("dense"))
                .map(|d| d.images_per_s)
                .fold(f64::NAN, f64::max);
            let ratio = if dense.is_finite() {
                format!("{:.2}", r.images_per_s / dense)
            } else {
                "–".into()
            };
            md += &format!(
                "| {} | {} | {} | {:.0} | {ratio} |\n",
                r.part, r.model, r.params, r.images_per_s
            );
        }
        md.push('\n');
    }
    md
}
