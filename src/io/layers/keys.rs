//! The metadata keys of a saved entry and of the file, and the encoding of their values
//! (lists as JSON arrays, numbers in Rust's shortest round-trip form).

/// The key of the whole file naming the library version that wrote it.
pub(crate) const VERSION: &str = "tensorize.version";
/// The key of the whole file naming the dtype the factors were written as (`F32`, `F64`, …).
pub(crate) const DTYPE: &str = "tensorize.dtype";
/// The key of a model file listing its layers' names, in order (a JSON array of strings).
pub(crate) const LAYERS: &str = "tensorize.layers";

/// The metadata key `key` of the entry `name`: `"<name>.<key>"`.
pub(crate) fn entry_key(name: &str, key: &str) -> String {
    format!("{name}.{key}")
}

/// A list of sizes as a JSON array, `[3,4]`.
pub(crate) fn dims(values: &[usize]) -> String {
    serde_json::Value::from(values.to_vec()).to_string()
}

/// A pair of sizes (`stride`, `padding`, `kernel`) as a JSON array.
pub(crate) fn pair(values: [usize; 2]) -> String {
    dims(&values)
}
