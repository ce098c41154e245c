//! `tensorize inspect FILE [--json]`: every tensor of a safetensors file (name, shape, dtype,
//! parameters), a singular-value summary of each 2-D weight and 4-D kernel, and totals.

use std::path::Path;

use serde_json::json;
use tensorize::io::SafetensorsFile;

use crate::failure::{self, Failure};
use crate::progress;
use crate::spectrum::{self, Summary};

/// One tensor's line.
struct Entry {
    name: String,
    dtype: String,
    shape: Vec<usize>,
    params: usize,
    bytes: usize,
    summary: Option<Summary>,
}

/// Runs the command.
pub fn run(path: &Path, as_json: bool) -> Result<(), Failure> {
    let file = SafetensorsFile::open(path).map_err(failure::reading(path))?;
    let names: Vec<String> = file.names().map(str::to_string).collect();
    let bar = progress::bar(names.len() as u64, "inspecting");
    let mut entries = Vec::with_capacity(names.len());
    for name in names {
        bar.set_message(name.clone());
        let info = file.info(&name).map_err(failure::reading(path))?.clone();
        let params = info.shape.iter().product();
        let summary = if info.dtype.is_float() && matches!(info.shape.len(), 2 | 4) && params > 0 {
            let s = spectrum::of_stored(&file, &name, info.dtype)
                .map_err(failure::decomposing(path, &name))?;
            let cols = params / info.shape[0];
            Some(
                spectrum::summarize(&s, info.shape[0], cols)
                    .map_err(failure::decomposing(path, &name))?,
            )
        } else {
            None
        };
        entries.push(Entry {
            name,
            dtype: info.dtype.to_string(),
            shape: info.shape,
            params,
            bytes: info.byte_len,
            summary,
        });
        bar.inc(1);
    }
    bar.finish_and_clear();
    if as_json {
        println!("{}", to_json(path, &entries));
    } else {
        print_text(path, &entries);
    }
    Ok(())
}

fn to_json(path: &Path, entries: &[Entry]) -> serde_json::Value {
    let tensors: Vec<_> = entries
        .iter()
        .map(|e| {
            let mut v = json!({
                "name": e.name, "dtype": e.dtype, "shape": e.shape,
                "params": e.params, "bytes": e.bytes,
            });
            if let Some(s) = &e.summary {
                v["spectrum"] = json!({
                    "stable_rank": s.stable_rank,
                    "energy": s.energy.iter().map(|(r, f)| json!({"rank": r, "energy": f})).collect::<Vec<_>>(),
                    "evbmf_rank": s.evbmf_rank,
                });
            }
            v
        })
        .collect();
    json!({
        "file": path.display().to_string(),
        "tensors": tensors,
        "totals": {
            "tensors": entries.len(),
            "params": entries.iter().map(|e| e.params).sum::<usize>(),
            "bytes": entries.iter().map(|e| e.bytes).sum::<usize>(),
            "matrices": entries.iter().filter(|e| e.summary.is_some()).count(),
        }
    })
}

fn print_text(path: &Path, entries: &[Entry]) {
    println!("{}: {} tensors", path.display(), entries.len());
    println!(
        "| name | dtype | shape | parameters | stable rank | energy kept at rank | EVBMF rank |"
    );
    println!("|---|---|---|---|---|---|---|");
    for e in entries {
        let (stable, energy, evbmf) = match &e.summary {
            Some(s) => (
                format!("{:.1}", s.stable_rank),
                s.energy
                    .iter()
                    .map(|(r, f)| format!("{r}: {:.1}%", 100.0 * f))
                    .collect::<Vec<_>>()
                    .join(", "),
                s.evbmf_rank.to_string(),
            ),
            None => ("".into(), "".into(), "".into()),
        };
        println!(
            "| {} | {} | {:?} | {} | {stable} | {energy} | {evbmf} |",
            e.name, e.dtype, e.shape, e.params
        );
    }
    let params: usize = entries.iter().map(|e| e.params).sum();
    let bytes: usize = entries.iter().map(|e| e.bytes).sum();
    let matrices = entries.iter().filter(|e| e.summary.is_some()).count();
    println!(
        "total: {} tensors, {params} parameters, {bytes} bytes of data, {matrices} weight matrices or kernels",
        entries.len()
    );
}
