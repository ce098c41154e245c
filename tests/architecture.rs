//! The layer rule of docs/architecture.md, checked on the source: a module imports only from its
//! own layer's module or from lower layers, and inside the crate every item is named through the
//! module that defines it, never through the crate-root re-exports.
//!
//! Code lines are scanned (comments and doc comments are not: a doc link may point anywhere),
//! including `#[cfg(test)]` modules, which obey the same rule.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::path::{Path, PathBuf};

/// The layers from the bottom up; a module may import from its own top-level module and from
/// modules of lower layers. Keep in step with docs/architecture.md.
const LAYERS: &[&[&str]] = &[
    &["hugepages"],
    &["memory"],
    &["error"],
    &["scalar"],
    &["par"],
    &["report", "budget"],
    &["tensor"],
    &["linalg", "tenalg"],
    &["kernels"],
    &["format"],
    &["decomp"],
    &["rank"],
    &["tensorization"],
    &["nn"],
    &["compress"],
    &["io"],
    &["data"],
];

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|layer| layer.contains(&module))
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("readable src folder") {
        let path = entry.expect("readable entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The top-level module a file of `src/` belongs to (`src/format/tt/mod.rs` → `format`).
fn module_of(src: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(src).expect("file under src");
    let first = rel.components().next().expect("a component").as_os_str().to_string_lossy();
    first.trim_end_matches(".rs").to_string()
}

/// The code of a line: empty for comments, the part before a trailing `//` comment otherwise.
fn code(line: &str) -> &str {
    let t = line.trim_start();
    if t.starts_with("//") {
        return "";
    }
    match t.find("//") {
        Some(i) => &t[..i],
        None => t,
    }
}

/// Every `crate::name` a line of code names, with `name` the first path segment after `crate::`
/// (`{` for a grouped import).
fn crate_paths(code: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = code;
    while let Some(i) = rest.find("crate::") {
        // `crate::` inside an identifier (e.g. `my_crate::`) is not ours.
        let before = rest[..i].chars().next_back();
        let tail = &rest[i + "crate::".len()..];
        if !before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            let name: String = tail
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == '{')
                .collect();
            out.push(if name.starts_with('{') { "{".to_string() } else { name });
        }
        rest = tail;
    }
    out
}

fn violations() -> (Vec<String>, Vec<String>) {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    let (mut upward, mut root) = (Vec::new(), Vec::new());
    for file in files {
        let module = module_of(&src, &file);
        if module == "lib" || module == "bin" {
            continue; // the crate root re-exports; the binary is a user of the library
        }
        let own = layer_of(&module)
            .unwrap_or_else(|| panic!("module {module} is in no layer: add it to LAYERS"));
        let text = std::fs::read_to_string(&file).expect("readable source");
        for (n, line) in text.lines().enumerate() {
            for name in crate_paths(code(line)) {
                let at = format!("{}:{}: {}", file.display(), n + 1, line.trim());
                match layer_of(&name) {
                    Some(l) if l > own || (l == own && name != module) => upward.push(at),
                    Some(_) => {}
                    None => root.push(at),
                }
            }
        }
    }
    (upward, root)
}

#[test]
fn lower_layers_never_import_higher_ones() {
    let (upward, _) = violations();
    assert!(
        upward.is_empty(),
        "imports from a higher layer (or a sibling) — see docs/architecture.md:\n{}",
        upward.join("\n")
    );
}

#[test]
fn items_are_imported_from_their_defining_module() {
    let (_, root) = violations();
    assert!(
        root.is_empty(),
        "names taken through the crate root (import them from their module instead):\n{}",
        root.join("\n")
    );
}

#[test]
fn the_scanner_sees_what_it_should() {
    assert_eq!(crate_paths("use crate::format::TtMatrix;"), ["format"]);
    assert_eq!(crate_paths("use crate::{Scalar, Tensor};"), ["{"]);
    assert_eq!(crate_paths("let x = crate::Tensor::zeros(&[1])?;"), ["Tensor"]);
    assert!(crate_paths("use my_crate::x;").is_empty());
    assert_eq!(code("/// see [`crate::nn`]"), "");
    assert_eq!(code("use crate::x; // crate::y"), "use crate::x; ");
    assert_eq!(layer_of("tensor"), Some(6));
    assert!(layer_of("format") > layer_of("kernels"));
}
