//! The compress report: one row per tensor of the input, and totals (JSON); the text form
//! has one row per chosen layer and one line per reason tensors were carried through.

use serde_json::json;

/// What happened to one tensor.
#[derive(Clone, Debug)]
pub struct Row {
    /// Tensor name.
    pub name: String,
    /// Shape.
    pub shape: Vec<usize>,
    /// Stored dtype.
    pub dtype: String,
    /// `"compressed"`, `"kept"` (chosen but left dense) or `"carried"` (not chosen).
    pub status: &'static str,
    /// Why it was kept or carried (empty when compressed).
    pub note: String,
    /// The ranks (compressed only).
    pub ranks: Vec<usize>,
    /// Parameters before and after.
    pub params: (usize, usize),
    /// FLOPs per input / output position before and after (weights only).
    pub flops: Option<(f64, f64)>,
    /// Relative Frobenius error (0 when not compressed).
    pub rel_error: f64,
    /// Relative spectral error (0 when not compressed).
    pub spectral_error: f64,
    /// Seconds spent on it.
    pub seconds: f64,
}

/// The whole report.
pub struct Report {
    /// Input and output paths.
    pub input: String,
    /// Output path.
    pub output: String,
    /// Method name.
    pub method: &'static str,
    /// Rows, in file order (sorted by name).
    pub rows: Vec<Row>,
    /// Seconds of the whole run (reading, compressing, writing).
    pub seconds: f64,
    /// Bytes of the input and output files.
    pub bytes: (u64, u64),
}

impl Report {
    fn totals(&self) -> (usize, usize, f64, f64) {
        let before = self.rows.iter().map(|r| r.params.0).sum();
        let after = self.rows.iter().map(|r| r.params.1).sum();
        let flops_before = self.rows.iter().filter_map(|r| r.flops.map(|f| f.0)).sum();
        let flops_after = self.rows.iter().filter_map(|r| r.flops.map(|f| f.1)).sum();
        (before, after, flops_before, flops_after)
    }

    fn count(&self, status: &str) -> usize {
        self.rows.iter().filter(|r| r.status == status).count()
    }

    /// The report as JSON.
    pub fn to_json(&self) -> serde_json::Value {
        let (before, after, fb, fa) = self.totals();
        let rows: Vec<_> = self
            .rows
            .iter()
            .map(|r| {
                json!({
                    "name": r.name, "shape": r.shape, "dtype": r.dtype, "status": r.status,
                    "note": r.note, "ranks": r.ranks,
                    "params_before": r.params.0, "params_after": r.params.1,
                    "flops_before": r.flops.map(|f| f.0), "flops_after": r.flops.map(|f| f.1),
                    "rel_error": r.rel_error, "spectral_error": r.spectral_error,
                    "seconds": r.seconds,
                })
            })
            .collect();
        json!({
            "input": self.input, "output": self.output, "method": self.method,
            "tensors": rows,
            "totals": {
                "params_before": before, "params_after": after,
                "compression": before as f64 / after.max(1) as f64,
                "flops_before": fb, "flops_after": fa,
                "compressed": self.count("compressed"), "kept": self.count("kept"),
                "carried": self.count("carried"),
                "bytes_before": self.bytes.0, "bytes_after": self.bytes.1,
                "seconds": self.seconds,
            }
        })
    }

    /// The report as a markdown table and a totals line.
    pub fn print_text(&self) {
        println!("{} -> {} ({})", self.input, self.output, self.method);
        println!(
            "| tensor | shape | status | ranks | parameters | FLOPs | rel. error (F) | rel. error (2) | time |"
        );
        println!("|---|---|---|---|---|---|---|---|---|");
        // Carried tensors (biases, norms, integer tensors: dozens in a real checkpoint) are
        // summed up below the table, by reason; `--json` lists each.
        for r in self.rows.iter().filter(|r| r.status != "carried") {
            let ranks = if r.ranks.is_empty() { String::new() } else { format!("{:?}", r.ranks) };
            let flops = r.flops.map_or(String::new(), |(a, b)| format!("{a:.3e} → {b:.3e}"));
            let status = if r.note.is_empty() {
                r.status.to_string()
            } else {
                format!("{}: {}", r.status, r.note)
            };
            println!(
                "| {} | {:?} {} | {status} | {ranks} | {} → {} | {flops} | {:.3e} | {:.3e} | {:.2} s |",
                r.name, r.shape, r.dtype, r.params.0, r.params.1, r.rel_error, r.spectral_error, r.seconds
            );
        }
        let mut reasons: Vec<(&str, usize, usize)> = Vec::new();
        for r in self.rows.iter().filter(|r| r.status == "carried") {
            match reasons.iter_mut().find(|(note, _, _)| *note == r.note) {
                Some((_, n, params)) => (*n, *params) = (*n + 1, *params + r.params.0),
                None => reasons.push((&r.note, 1, r.params.0)),
            }
        }
        for (note, n, params) in reasons {
            let noun = if n == 1 { "tensor" } else { "tensors" };
            println!("carried through unchanged: {n} {noun} ({params} parameters), {note}");
        }
        let (before, after, fb, fa) = self.totals();
        println!(
            "total: {before} → {after} parameters ({:.2}x), weight FLOPs {fb:.3e} → {fa:.3e}; \
             {} compressed, {} kept dense, {} carried through; {} → {} bytes; {:.1} s",
            before as f64 / after.max(1) as f64,
            self.count("compressed"),
            self.count("kept"),
            self.count("carried"),
            self.bytes.0,
            self.bytes.1,
            self.seconds
        );
    }
}
