//! Atomic file writes: everything is written to a temporary file in the target's folder, synced,
//! then renamed over the target, so a failure midway (a full disk, a bad tensor) leaves the old
//! file as it was and no half-written file behind.

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::error::{Error, Result};

fn io_error(path: &Path, detail: impl ToString) -> Error {
    Error::Io { path: path.display().to_string(), detail: detail.to_string() }
}

/// Writes a file atomically: `write` fills a buffered writer over a temporary file in the folder
/// of `path`, which is then synced and renamed onto `path`.
///
/// Refused before anything is written: `path` in a folder that does not exist ([`Error::Io`]),
/// `path` already there without `overwrite` ([`Error::OutputExists`]), `path` the same file as one
/// of `inputs` ([`Error::OutputIsInput`], whatever `overwrite` says). If `write` fails — an error
/// of its own or of the disk — the temporary file is removed and the old `path` is untouched.
///
/// ```
/// use std::io::Write;
/// let dir = std::env::temp_dir().join(format!("tensorize-doc-atomic-{}", std::process::id()));
/// std::fs::create_dir_all(&dir).unwrap();
/// let path = dir.join("note.txt");
/// tensorize::io::write_atomic(&path, true, &[], |w| {
///     w.write_all(b"old").map_err(|e| tensorize::Error::Io { path: "note.txt".into(), detail: e.to_string() })
/// })?;
/// // A write that fails midway leaves the old file intact.
/// let failed = tensorize::io::write_atomic(&path, true, &[], |w| {
///     let _ = w.write_all(b"half of the new con");
///     Err(tensorize::Error::Io { path: "note.txt".into(), detail: "disk full".into() })
/// });
/// assert!(failed.is_err());
/// assert_eq!(std::fs::read(&path).unwrap(), b"old");
/// // Without `overwrite`, an existing file is refused.
/// assert!(matches!(
///     tensorize::io::write_atomic(&path, false, &[], |_| Ok(())),
///     Err(tensorize::Error::OutputExists { .. })
/// ));
/// # std::fs::remove_dir_all(&dir).unwrap();
/// # Ok::<(), tensorize::Error>(())
/// ```
///
/// # Errors
/// As above; [`Error::Io`] naming `path` for a failure to create, write, sync or rename the file.
pub fn write_atomic(
    path: impl AsRef<Path>,
    overwrite: bool,
    inputs: &[&Path],
    write: impl FnOnce(&mut dyn Write) -> Result<()>,
) -> Result<()> {
    let path = path.as_ref();
    let file_name = path.file_name().ok_or_else(|| io_error(path, "not a file name"))?;
    let folder = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    if !folder.is_dir() {
        return Err(io_error(path, format!("folder {} does not exist", folder.display())));
    }
    if let Ok(out) = path.canonicalize() {
        for input in inputs {
            if input.canonicalize().is_ok_and(|i| i == out) {
                return Err(Error::OutputIsInput { path: path.display().to_string() });
            }
        }
    }
    if !overwrite && path.exists() {
        return Err(Error::OutputExists { path: path.display().to_string() });
    }
    let (temp_path, file) = create_temp(path, &folder, file_name)?;
    let result = fill(path, file, write).and_then(|()| {
        std::fs::rename(&temp_path, path).map_err(|e| io_error(path, e))?;
        // The rename itself is durable once the folder is synced; not every platform can.
        if let Ok(dir) = File::open(&folder) {
            let _ = dir.sync_all();
        }
        Ok(())
    });
    if result.is_err() {
        let _ = std::fs::remove_file(&temp_path);
    }
    result
}

/// A fresh temporary file `.NAME.tmp-PID-N` beside the target `path`. Errors name `path`: the
/// temporary file is ours, the target is what the user asked for.
fn create_temp(path: &Path, folder: &Path, file_name: &std::ffi::OsStr) -> Result<(PathBuf, File)> {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    loop {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let mut name = std::ffi::OsString::from(".");
        name.push(file_name);
        name.push(format!(".tmp-{}-{n}", std::process::id()));
        let temp = folder.join(name);
        match OpenOptions::new().write(true).create_new(true).open(&temp) {
            Ok(file) => return Ok((temp, file)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => {
                return Err(io_error(
                    path,
                    format!("cannot create a temporary file beside it: {e}"),
                ))
            }
        }
    }
}

/// Runs `write` over a buffer on `file` (the temporary file), flushes and syncs it; a failure of
/// the disk names the target `path`.
fn fill(path: &Path, file: File, write: impl FnOnce(&mut dyn Write) -> Result<()>) -> Result<()> {
    let mut out = BufWriter::with_capacity(1 << 20, file);
    write(&mut out)?;
    let file = out.into_inner().map_err(|e| write_failed(path, e.error()))?;
    file.sync_all().map_err(|e| write_failed(path, &e))
}

/// The error for a write to the temporary file of target `path` that the disk refused.
fn write_failed(path: &Path, e: &std::io::Error) -> Error {
    io_error(path, format!("write failed ({e}); the old file, if any, is kept"))
}

/// An [`Error::Io`] for a failed write to `path` (for `write_atomic` callbacks).
pub(crate) fn write_error(path: &Path) -> impl Fn(std::io::Error) -> Error + '_ {
    move |e| write_failed(path, &e)
}
