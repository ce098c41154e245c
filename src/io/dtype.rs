//! The element types a safetensors file may hold, and the conversions of the float ones to and
//! from [`Scalar`] values (F16 and BF16 through the `half` crate).

use std::fmt;

use half::{bf16, f16};

use crate::error::{Error, Result};
use crate::scalar::Scalar;

/// The element type of a stored tensor, as safetensors names it.
///
/// The float types `F16`, `BF16`, `F32` and `F64` convert to and from [`Scalar`] values; every
/// other type is listed and can be carried through unchanged as raw bytes
/// ([`RawTensor`](crate::io::RawTensor)).
///
/// ```
/// use tensorize::io::Dtype;
/// assert_eq!(Dtype::BF16.name(), "BF16");
/// assert_eq!(Dtype::I64.bits(), 64);
/// assert!(Dtype::F16.is_float() && !Dtype::Bool.is_float());
/// assert_eq!("F32".parse::<Dtype>(), Ok(Dtype::F32));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Dtype {
    /// Boolean, one byte.
    Bool,
    /// 4-bit float (MX FP4), two per byte.
    F4,
    /// 6-bit float E2M3.
    F6E2M3,
    /// 6-bit float E3M2.
    F6E3M2,
    /// Unsigned 8-bit integer.
    U8,
    /// Signed 8-bit integer.
    I8,
    /// 8-bit float E5M2.
    F8E5M2,
    /// 8-bit float E4M3.
    F8E4M3,
    /// 8-bit exponent-only scale E8M0.
    F8E8M0,
    /// 8-bit float E4M3 (finite, unsigned zero).
    F8E4M3Fnuz,
    /// 8-bit float E5M2 (finite, unsigned zero).
    F8E5M2Fnuz,
    /// Signed 16-bit integer.
    I16,
    /// Unsigned 16-bit integer.
    U16,
    /// IEEE half precision (read with conversion, written on request).
    F16,
    /// bfloat16 (read with conversion, written on request).
    BF16,
    /// Signed 32-bit integer.
    I32,
    /// Unsigned 32-bit integer.
    U32,
    /// IEEE single precision.
    F32,
    /// Complex of two `F32`.
    C64,
    /// IEEE double precision.
    F64,
    /// Signed 64-bit integer.
    I64,
    /// Unsigned 64-bit integer.
    U64,
}

/// Every dtype with its safetensors name and width in bits.
const TABLE: [(Dtype, &str, usize); 22] = [
    (Dtype::Bool, "BOOL", 8),
    (Dtype::F4, "F4", 4),
    (Dtype::F6E2M3, "F6_E2M3", 6),
    (Dtype::F6E3M2, "F6_E3M2", 6),
    (Dtype::U8, "U8", 8),
    (Dtype::I8, "I8", 8),
    (Dtype::F8E5M2, "F8_E5M2", 8),
    (Dtype::F8E4M3, "F8_E4M3", 8),
    (Dtype::F8E8M0, "F8_E8M0", 8),
    (Dtype::F8E4M3Fnuz, "F8_E4M3FNUZ", 8),
    (Dtype::F8E5M2Fnuz, "F8_E5M2FNUZ", 8),
    (Dtype::I16, "I16", 16),
    (Dtype::U16, "U16", 16),
    (Dtype::F16, "F16", 16),
    (Dtype::BF16, "BF16", 16),
    (Dtype::I32, "I32", 32),
    (Dtype::U32, "U32", 32),
    (Dtype::F32, "F32", 32),
    (Dtype::C64, "C64", 64),
    (Dtype::F64, "F64", 64),
    (Dtype::I64, "I64", 64),
    (Dtype::U64, "U64", 64),
];

impl Dtype {
    fn entry(self) -> (Dtype, &'static str, usize) {
        TABLE.iter().copied().find(|e| e.0 == self).unwrap_or((self, "?", 8))
    }

    /// The name safetensors uses in its header (`"F32"`, `"BOOL"`, `"F8_E4M3"`, …).
    pub fn name(self) -> &'static str {
        self.entry().1
    }

    /// The width of one element in bits (4 for `F4`, 6 for the `F6` types).
    pub fn bits(self) -> usize {
        self.entry().2
    }

    /// Whether tensors of this type read into and write from a [`Tensor<T>`](crate::Tensor)
    /// (`F16`, `BF16`, `F32`, `F64`).
    pub fn is_float(self) -> bool {
        matches!(self, Dtype::F16 | Dtype::BF16 | Dtype::F32 | Dtype::F64)
    }

    /// The bytes `numel` elements take, `None` if that overflows or does not fill whole bytes.
    pub fn byte_len(self, numel: usize) -> Option<usize> {
        let bits = numel.checked_mul(self.bits())?;
        (bits % 8 == 0).then_some(bits / 8)
    }

    /// The dtype that stores a `T` without loss: `F32` for `f32`, `F64` for `f64`.
    pub fn of<T: Scalar>() -> Dtype {
        if std::mem::size_of::<T>() == 4 {
            Dtype::F32
        } else {
            Dtype::F64
        }
    }
}

impl fmt::Display for Dtype {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Dtype {
    type Err = Error;

    fn from_str(s: &str) -> Result<Dtype> {
        TABLE.iter().find(|e| e.1 == s).map(|e| e.0).ok_or_else(|| Error::Format {
            format: "safetensors",
            detail: format!("unknown dtype {s:?}"),
        })
    }
}

/// Decodes little-endian `bytes` of a float `dtype` into `T`s; `None` for a non-float dtype.
/// The caller has checked that `bytes` holds whole elements.
pub(crate) fn decode_into<T: Scalar>(dtype: Dtype, bytes: &[u8], out: &mut Vec<T>) -> Option<()> {
    match dtype {
        Dtype::F16 => out.extend(
            bytes.chunks_exact(2).map(|c| T::of(f16::from_le_bytes([c[0], c[1]]).to_f64())),
        ),
        Dtype::BF16 => out.extend(
            bytes.chunks_exact(2).map(|c| T::of(bf16::from_le_bytes([c[0], c[1]]).to_f64())),
        ),
        Dtype::F32 => out.extend(
            bytes
                .chunks_exact(4)
                .map(|c| T::of(f64::from(f32::from_le_bytes([c[0], c[1], c[2], c[3]])))),
        ),
        Dtype::F64 => {
            out.extend(bytes.chunks_exact(8).map(|c| {
                T::of(f64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]))
            }))
        }
        _ => return None,
    }
    Some(())
}

/// Encodes `values` (elements `first..` of a tensor) as little-endian `dtype` (a float type)
/// into `out`.
///
/// # Errors
/// A finite value that overflows to infinity in `dtype` (an `F16` above 65504), naming `name`
/// and the position; a non-float `dtype`.
pub(crate) fn encode_into<T: Scalar>(
    name: &str,
    dtype: Dtype,
    values: &[T],
    first: usize,
    out: &mut Vec<u8>,
) -> Result<()> {
    let overflow = |k: usize, v: f64| {
        let k = first + k;
        Error::Format {
            format: "safetensors",
            detail: format!(
                "tensor {name:?}: value {v} at row-major position {k} does not fit in {dtype}"
            ),
        }
    };
    for (k, v) in values.iter().map(|v| v.as_f64()).enumerate() {
        match dtype {
            Dtype::F16 => {
                let h = f16::from_f64(v);
                if h.is_infinite() && v.is_finite() {
                    return Err(overflow(k, v));
                }
                out.extend_from_slice(&h.to_le_bytes());
            }
            Dtype::BF16 => {
                let h = bf16::from_f64(v);
                if h.is_infinite() && v.is_finite() {
                    return Err(overflow(k, v));
                }
                out.extend_from_slice(&h.to_le_bytes());
            }
            Dtype::F32 => {
                let h = v as f32;
                if h.is_infinite() && v.is_finite() {
                    return Err(overflow(k, v));
                }
                out.extend_from_slice(&h.to_le_bytes());
            }
            Dtype::F64 => out.extend_from_slice(&v.to_le_bytes()),
            other => {
                return Err(Error::Format {
                    format: "safetensors",
                    detail: format!(
                        "tensor {name:?}: cannot store floats as {other}; use F16, BF16, F32 or F64"
                    ),
                });
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_back_and_widths_are_whole_bytes_where_expected() {
        for (d, name, bits) in TABLE {
            assert_eq!((d.name(), d.bits()), (name, bits));
            assert_eq!(name.parse::<Dtype>().unwrap(), d);
        }
        assert_eq!(Dtype::F4.byte_len(3), None);
        assert_eq!(Dtype::F4.byte_len(4), Some(2));
        assert_eq!(Dtype::I64.byte_len(usize::MAX), None);
    }

    #[test]
    fn half_precision_round_trips_and_overflow_is_an_error() {
        let mut bytes = Vec::new();
        encode_into("w", Dtype::BF16, &[1.0_f64, -2.5, 0.0], 0, &mut bytes).unwrap();
        let mut back: Vec<f32> = Vec::new();
        decode_into(Dtype::BF16, &bytes, &mut back).unwrap();
        assert_eq!(back, vec![1.0, -2.5, 0.0]);
        let err = encode_into("w", Dtype::F16, &[1.0_f32, 1e6], 0, &mut Vec::new()).unwrap_err();
        assert!(err.to_string().contains("position 1") && err.to_string().contains("F16"));
        assert!(encode_into("w", Dtype::I8, &[1.0_f32], 0, &mut Vec::new()).is_err());
        assert!(decode_into::<f32>(Dtype::I64, &[0; 8], &mut back).is_none());
    }
}
