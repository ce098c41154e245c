//! NumPy `.npz` archives: a zip of `.npy` files, stored or deflated (`numpy.savez` /
//! `numpy.savez_compressed`), read and written through the `zip` crate.

use std::io::{Cursor, Read, Write};
use std::path::Path;

use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipArchive, ZipWriter};

use crate::error::{Error, Result};
use crate::io::atomic::{write_atomic, write_error};
use crate::io::npy::{npy_bytes, parse_npy};
use crate::scalar::Scalar;
use crate::tensor::Tensor;

fn malformed(detail: impl Into<String>) -> Error {
    Error::Format { format: "npz", detail: detail.into() }
}

/// How the `.npy` members of an `.npz` archive are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Compression {
    /// Stored as they are (`numpy.savez`).
    #[default]
    Stored,
    /// Deflated (`numpy.savez_compressed`).
    Deflated,
}

/// Reads every array of an `.npz` file as `T`, in archive order, named as NumPy names them (the
/// member name without its `.npy` suffix).
///
/// # Errors
/// [`Error::Io`] if the file cannot be read; [`Error::Format`] naming the file (and the member)
/// if it is not a zip archive, a member is not a float `.npy` array, or two members share a name.
pub fn read_npz<T: Scalar>(path: impl AsRef<Path>) -> Result<Vec<(String, Tensor<T>)>> {
    let path = path.as_ref();
    let bytes = std::fs::read(path)
        .map_err(|e| Error::Io { path: path.display().to_string(), detail: e.to_string() })?;
    parse_npz(&bytes).map_err(|e| match e {
        Error::Format { format, detail } => {
            Error::Format { format, detail: format!("{}: {detail}", path.display()) }
        }
        other => other,
    })
}

/// Parses the bytes of an `.npz` archive (stored or deflated members): every array as `T`, in
/// archive order.
///
/// ```
/// use tensorize::io::{npz_bytes, parse_npz, Compression};
/// use tensorize::Tensor;
/// let a = Tensor::from_vec(&[2, 2], vec![1.0_f64, 2.0, 3.0, 4.0])?;
/// let b = Tensor::<f64>::zeros(&[0, 3])?;
/// let bytes = npz_bytes(&[("a", &a), ("b", &b)], Compression::Deflated)?;
/// let back = parse_npz::<f64>(&bytes)?;
/// assert_eq!(back, vec![("a".to_string(), a), ("b".to_string(), b)]);
/// # Ok::<(), tensorize::Error>(())
/// ```
///
/// # Errors
/// As [`read_npz`].
pub fn parse_npz<T: Scalar>(bytes: &[u8]) -> Result<Vec<(String, Tensor<T>)>> {
    let mut archive = ZipArchive::new(Cursor::new(bytes))
        .map_err(|e| malformed(format!("not a zip archive: {e}")))?;
    let mut out: Vec<(String, Tensor<T>)> = Vec::with_capacity(archive.len().min(1 << 10));
    let mut names: Vec<String> = Vec::new();
    for k in 0..archive.len() {
        let mut member = archive.by_index(k).map_err(|e| malformed(format!("member {k}: {e}")))?;
        if member.is_dir() {
            continue;
        }
        let full = member.name().to_string();
        let name = full.strip_suffix(".npy").unwrap_or(&full).to_string();
        let size = member.size();
        let mut data = Vec::new();
        // The declared size bounds the read; the CRC is checked when the member ends.
        data.try_reserve(usize::try_from(size.min(1 << 24)).unwrap_or(0))
            .map_err(|_| malformed(format!("member {full:?}: cannot allocate {size} bytes")))?;
        (&mut member)
            .take(size)
            .read_to_end(&mut data)
            .map_err(|e| malformed(format!("member {full:?}: {e}")))?;
        if data.len() as u64 != size {
            return Err(malformed(format!(
                "member {full:?} holds {} bytes, its header says {size}",
                data.len()
            )));
        }
        // Drain to the end so that the CRC is checked.
        let mut rest = [0u8; 1];
        if member.read(&mut rest).map_err(|e| malformed(format!("member {full:?}: {e}")))? != 0 {
            return Err(malformed(format!("member {full:?} is longer than its header says")));
        }
        let x = parse_npy::<T>(&data).map_err(|e| match e {
            Error::Format { detail, .. } => malformed(format!("member {full:?}: {detail}")),
            other => other,
        })?;
        if names.contains(&name) {
            return Err(malformed(format!("two members are named {name:?}")));
        }
        names.push(name.clone());
        out.push((name, x));
    }
    Ok(out)
}

/// The bytes of an `.npz` archive holding each tensor as `NAME.npy` (version-1.0 `.npy`,
/// `<f4` or `<f8`), stored or deflated; members of 4 GiB or more use zip64.
///
/// # Errors
/// [`Error::Format`] if two tensors share a name or the archive cannot be built.
pub fn npz_bytes<T: Scalar>(
    tensors: &[(&str, &Tensor<T>)],
    compression: Compression,
) -> Result<Vec<u8>> {
    let mut names: Vec<&str> = tensors.iter().map(|(n, _)| *n).collect();
    names.sort_unstable();
    if let Some(w) = names.windows(2).find(|w| w[0] == w[1]) {
        return Err(malformed(format!("two tensors are named {:?}", w[0])));
    }
    let method = match compression {
        Compression::Stored => CompressionMethod::Stored,
        Compression::Deflated => CompressionMethod::Deflated,
    };
    let zip_error = |e: zip::result::ZipError| malformed(format!("writing the archive: {e}"));
    let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
    for (name, x) in tensors {
        let npy = npy_bytes(x);
        let options = SimpleFileOptions::default()
            .compression_method(method)
            .large_file(npy.len() as u64 >= u64::from(u32::MAX));
        zip.start_file(format!("{name}.npy"), options).map_err(zip_error)?;
        zip.write_all(&npy).map_err(|e| malformed(format!("writing member {name:?}: {e}")))?;
    }
    Ok(zip.finish().map_err(zip_error)?.into_inner())
}

/// Writes the tensors as an `.npz` archive at `path`, atomically (see
/// [`write_atomic`](crate::io::write_atomic)); an existing file is replaced only with
/// `overwrite`. The archive is built in memory, then written.
///
/// ```
/// use tensorize::io::{read_npz, write_npz, Compression};
/// use tensorize::Tensor;
/// let dir = std::env::temp_dir().join(format!("tensorize-doc-npz-{}", std::process::id()));
/// std::fs::create_dir_all(&dir).unwrap();
/// let x = Tensor::from_vec(&[3], vec![1.0_f32, 2.0, 3.0])?;
/// write_npz(dir.join("x.npz"), &[("x", &x)], Compression::Stored, false)?;
/// assert_eq!(read_npz::<f32>(dir.join("x.npz"))?, vec![("x".to_string(), x)]);
/// # std::fs::remove_dir_all(&dir).unwrap();
/// # Ok::<(), tensorize::Error>(())
/// ```
///
/// # Errors
/// As [`npz_bytes`] and [`write_atomic`](crate::io::write_atomic); the file at `path` is then
/// left as it was.
pub fn write_npz<T: Scalar>(
    path: impl AsRef<Path>,
    tensors: &[(&str, &Tensor<T>)],
    compression: Compression,
    overwrite: bool,
) -> Result<()> {
    let path = path.as_ref();
    let bytes = npz_bytes(tensors, compression)?;
    write_atomic(path, overwrite, &[], |w| w.write_all(&bytes).map_err(write_error(path)))
}
