//! NumPy `.npy` files (format versions 1.0–3.0) holding little-endian `f4`/`f8` arrays.
//!
//! A `.npy` file is the magic `\x93NUMPY`, a version, a header length, an ASCII Python dict
//! `{'descr': '<f8', 'fortran_order': False, 'shape': (3, 4), }` padded with spaces, then the raw
//! data. Fortran-ordered arrays are transposed into row-major on reading.

use std::path::Path;

use crate::error::{checked_len, try_filled_vec, try_vec_with_capacity, Error, Result};
use crate::io::atomic::{write_atomic, write_error};
use crate::scalar::Scalar;
use crate::tensor::layout::permuted_copy;
use crate::tensor::row_major_strides;
use crate::tensor::Tensor;

const MAGIC: &[u8] = b"\x93NUMPY";

fn malformed(detail: impl Into<String>) -> Error {
    Error::Format { format: "npy", detail: detail.into() }
}

/// Reads a `.npy` file of `f4` or `f8` values into a tensor of `T` (converting if needed).
///
/// # Errors
/// [`Error::Io`] if the file cannot be read; [`Error::Format`] if it is not a float `.npy` array.
pub fn read_npy<T: Scalar>(path: impl AsRef<Path>) -> Result<Tensor<T>> {
    let path = path.as_ref();
    let bytes = std::fs::read(path)
        .map_err(|e| Error::Io { path: path.display().to_string(), detail: e.to_string() })?;
    parse_npy(&bytes)
}

/// Writes a tensor as a version-1.0 `.npy` file (`<f4` or `<f8`, C order), atomically (see
/// [`write_atomic`](crate::io::write_atomic)), replacing an existing file.
///
/// # Errors
/// [`Error::Io`] if the folder is missing or the file cannot be written (an existing file is
/// then left as it was).
pub fn write_npy<T: Scalar>(path: impl AsRef<Path>, x: &Tensor<T>) -> Result<()> {
    let path = path.as_ref();
    let bytes = npy_bytes(x);
    write_atomic(path, true, &[], |w| w.write_all(&bytes).map_err(write_error(path)))
}

/// The bytes of a version-1.0 `.npy` file holding `x`.
///
/// ```
/// use tensorize::{io, Tensor};
/// let x = Tensor::from_vec(&[2, 3], vec![1.0_f64, 2.0, 3.0, 4.0, 5.0, 6.0])?;
/// let back: Tensor<f64> = io::parse_npy(&io::npy_bytes(&x))?;
/// assert_eq!(back, x);
/// # Ok::<(), tensorize::Error>(())
/// ```
pub fn npy_bytes<T: Scalar>(x: &Tensor<T>) -> Vec<u8> {
    let descr = if std::mem::size_of::<T>() == 4 { "<f4" } else { "<f8" };
    let shape = match x.shape() {
        [] => "()".to_string(),
        [d] => format!("({d},)"),
        dims => format!("({})", dims.iter().map(|d| d.to_string()).collect::<Vec<_>>().join(", ")),
    };
    let mut header = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}");
    // Magic (6) + version (2) + length (2) + header + '\n' must be a multiple of 64.
    let unpadded = MAGIC.len() + 4 + header.len() + 1;
    header.push_str(&" ".repeat((64 - unpadded % 64) % 64));
    header.push('\n');
    let mut out = Vec::with_capacity(10 + header.len() + x.numel() * std::mem::size_of::<T>());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&[1, 0]);
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    for &v in x.as_slice() {
        if std::mem::size_of::<T>() == 4 {
            out.extend_from_slice(&(v.as_f64() as f32).to_le_bytes());
        } else {
            out.extend_from_slice(&v.as_f64().to_le_bytes());
        }
    }
    out
}

/// Parses the bytes of a `.npy` file holding `f4` or `f8` values (either byte order, C or
/// Fortran order) into a row-major tensor of `T`.
///
/// # Errors
/// [`Error::Format`] naming what is wrong (magic, version, header, dtype, shape, length).
pub fn parse_npy<T: Scalar>(bytes: &[u8]) -> Result<Tensor<T>> {
    if bytes.len() < 10 || &bytes[..6] != MAGIC {
        return Err(malformed("missing the \\x93NUMPY magic"));
    }
    let (header_len, header_start) = match bytes[6] {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10usize),
        2 | 3 if bytes.len() >= 12 => {
            (u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize, 12)
        }
        v => return Err(malformed(format!("unsupported format version {v}"))),
    };
    let data_start = header_start
        .checked_add(header_len)
        .filter(|&e| e <= bytes.len())
        .ok_or_else(|| malformed(format!("header length {header_len} exceeds the file")))?;
    let header = std::str::from_utf8(&bytes[header_start..data_start])
        .map_err(|_| malformed("header is not text"))?;
    let descr = dict_value(header, "descr")?;
    let fortran = dict_value(header, "fortran_order")?;
    let shape = parse_shape(dict_value(header, "shape")?)?;
    let (width, big_endian) = match descr.trim_matches(|c| c == '\'' || c == '"') {
        "<f4" | "=f4" | "f4" => (4, false),
        "<f8" | "=f8" | "f8" => (8, false),
        ">f4" => (4, true),
        ">f8" => (8, true),
        other => return Err(malformed(format!("dtype {other} is not a float32/float64 array"))),
    };
    let fortran = match fortran {
        "False" => false,
        "True" => true,
        other => return Err(malformed(format!("fortran_order is {other}"))),
    };
    let n = checked_len(&shape, width)?;
    let payload = &bytes[data_start..];
    if payload.len() != n * width {
        return Err(malformed(format!(
            "shape {shape:?} of {width}-byte values needs {} data bytes, found {}",
            n * width,
            payload.len()
        )));
    }
    let mut values: Vec<T> = try_vec_with_capacity(&shape, n)?;
    values.extend(payload.chunks_exact(width).map(|c| {
        let v = match (width, big_endian) {
            (4, false) => f32::from_le_bytes([c[0], c[1], c[2], c[3]]) as f64,
            (4, true) => f32::from_be_bytes([c[0], c[1], c[2], c[3]]) as f64,
            (_, false) => f64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]),
            (_, true) => f64::from_be_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]),
        };
        T::of(v)
    }));
    if !fortran || shape.len() < 2 {
        return Tensor::from_vec(&shape, values);
    }
    // Fortran order: element (i_0, …, i_{d-1}) sits at Σ i_k·∏_{j<k} n_j.
    let reversed: Vec<usize> = shape.iter().rev().copied().collect();
    let col_strides = row_major_strides(&reversed);
    let in_strides: Vec<usize> =
        (0..shape.len()).map(|k| col_strides[shape.len() - 1 - k]).collect();
    let mut out = try_filled_vec(&shape, n, T::zero())?;
    permuted_copy(&values, &shape, &in_strides, &mut out);
    Tensor::from_vec(&shape, out)
}

/// The raw text of `key`'s value in a `.npy` header dict.
fn dict_value<'a>(header: &'a str, key: &str) -> Result<&'a str> {
    let missing = || malformed(format!("header has no '{key}' entry: {header:?}"));
    let at = header.find(&format!("'{key}'")).ok_or_else(missing)?;
    let rest = header[at + key.len() + 2..].trim_start();
    let rest = rest.strip_prefix(':').ok_or_else(missing)?.trim_start();
    let end =
        if rest.starts_with('(') { rest.find(')').map(|e| e + 1) } else { rest.find([',', '}']) }
            .ok_or_else(missing)?;
    Ok(rest[..end].trim())
}

/// Parses a Python tuple of dimensions such as `(3, 4)`, `(5,)` or `()`.
fn parse_shape(text: &str) -> Result<Vec<usize>> {
    let inner = text
        .strip_prefix('(')
        .and_then(|t| t.strip_suffix(')'))
        .ok_or_else(|| malformed(format!("shape {text} is not a tuple")))?;
    inner
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<usize>().map_err(|_| malformed(format!("dimension {s:?} in shape {text}")))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_f32_and_f64_and_conversion() {
        let x = Tensor::<f64>::random_normal(&[3, 1, 4], 3).unwrap();
        let back: Tensor<f64> = parse_npy(&npy_bytes(&x)).unwrap();
        assert_eq!(back, x);
        let single: Tensor<f32> = parse_npy(&npy_bytes(&x)).unwrap();
        assert_eq!(single.shape(), x.shape());
        assert_eq!(single.as_slice()[5], x.as_slice()[5] as f32);
        let bytes = npy_bytes(&single);
        assert_eq!((bytes.len() - 3 * 4 * 4) % 64, 0, "header padded to 64 bytes");
    }

    #[test]
    fn reads_fortran_order() {
        // numpy.asfortranarray(numpy.arange(6.).reshape(2, 3)) stores 0, 3, 1, 4, 2, 5.
        let x = Tensor::<f64>::from_fn(&[2, 3], |i| (3 * i[0] + i[1]) as f64).unwrap();
        let mut bytes = npy_bytes(&x);
        let text = String::from_utf8_lossy(&bytes[10..]).into_owned();
        let start = 10 + text.find("False").unwrap();
        bytes.splice(start..start + 5, *b"True ");
        let data_at = bytes.len() - 48;
        for (k, v) in [0.0f64, 3.0, 1.0, 4.0, 2.0, 5.0].iter().enumerate() {
            bytes[data_at + 8 * k..data_at + 8 * k + 8].copy_from_slice(&v.to_le_bytes());
        }
        assert_eq!(parse_npy::<f64>(&bytes).unwrap(), x);
    }

    #[test]
    fn malformed_inputs_are_errors() {
        let x = Tensor::<f32>::ones(&[2, 2]).unwrap();
        let good = npy_bytes(&x);
        for bad in
            [&b"nope"[..], &good[..good.len() - 1], &good[..20], b"\x93NUMPY\x09\x00\x00\x00"]
        {
            assert!(matches!(parse_npy::<f32>(bad), Err(Error::Format { .. })), "{bad:?}");
        }
        let int_header = String::from_utf8_lossy(&good).replace("<f4", "<i4");
        assert!(parse_npy::<f32>(int_header.as_bytes()).is_err());
    }
}
