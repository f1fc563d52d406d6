//! The `ndarray[:dtype[:d0,d1,…]]` encoding: optional dtype code byte,
//! optional `(ndim << 2) | shape_dtype` byte and shape, then the raw values.

use super::cursor::{Cursor, CursorError};
use super::dtype::Dtype;
use super::value::{NdArray, NdArrayError};

/// Why an array cannot be stored in or read from an `ndarray` column.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ArrayError {
    /// The column's dtype differs from the array's.
    #[error("wrong dtype: expected {}, got {}", expected.name(), got.name())]
    WrongDtype {
        /// The column's dtype.
        expected: Dtype,
        /// The array's dtype.
        got: Dtype,
    },
    /// The array has no elements, which Python cannot store either.
    #[error("an array with 0 elements cannot be stored")]
    Empty,
    /// The array has no axes.
    #[error("a 0-dimensional array cannot be stored; use a scalar encoding")]
    NoAxes,
    /// The array has more axes than the shape byte can count.
    #[error("too many axes: at most 63, got {0}")]
    TooManyAxes(usize),
    /// The column's shape differs from the array's.
    #[error("wrong shape: expected {expected:?}, got {got:?}")]
    WrongShape {
        /// The column's shape.
        expected: Vec<u64>,
        /// The array's shape.
        got: Vec<u64>,
    },
    /// A stored dtype code that names no dtype.
    #[error("unknown dtype code {0}")]
    UnknownDtype(u8),
    /// The stored header is cut short.
    #[error(transparent)]
    Cut(#[from] CursorError),
    /// The stored values do not fill the stored shape.
    #[error(transparent)]
    Shape(#[from] NdArrayError),
}

/// Encodes `array` for a column whose dtype and shape may be fixed.
pub(crate) fn encode(
    array: &NdArray,
    dtype: Option<Dtype>,
    shape: Option<&[u64]>,
    out: &mut Vec<u8>,
) -> Result<(), ArrayError> {
    match dtype {
        None => out.push(array.dtype().code()),
        Some(d) if d == array.dtype() => {}
        Some(d) => {
            return Err(ArrayError::WrongDtype {
                expected: d,
                got: array.dtype(),
            });
        }
    }
    if array.data().is_empty() {
        return Err(ArrayError::Empty);
    }
    match shape {
        None => {
            let dims = array.shape();
            if dims.is_empty() {
                return Err(ArrayError::NoAxes);
            }
            if dims.len() >= 64 {
                return Err(ArrayError::TooManyAxes(dims.len()));
            }
            let max = dims.iter().copied().max().unwrap_or(0);
            let (code, width) = match max {
                m if m < 1 << 8 => (0u8, 1),
                m if m < 1 << 16 => (1, 2),
                m if m < 1 << 32 => (2, 4),
                _ => (3, 8),
            };
            out.push(((dims.len() as u8) << 2) | code);
            for &d in dims {
                out.extend_from_slice(&d.to_le_bytes()[..width]);
            }
        }
        Some(s) if s == array.shape() => {}
        Some(s) => {
            return Err(ArrayError::WrongShape {
                expected: s.to_vec(),
                got: array.shape().to_vec(),
            });
        }
    }
    out.extend_from_slice(array.data());
    Ok(())
}

/// Decodes a value of a column whose dtype and shape may be fixed.
pub(crate) fn decode(
    data: &[u8],
    dtype: Option<Dtype>,
    shape: Option<&[u64]>,
) -> Result<NdArray, ArrayError> {
    let mut cur = Cursor::new(data);
    let dtype = match dtype {
        Some(d) => d,
        None => {
            let code = cur.u8()?;
            Dtype::from_code(code).ok_or(ArrayError::UnknownDtype(code))?
        }
    };
    let shape = match shape {
        Some(s) => s.to_vec(),
        None => {
            let byte = cur.u8()?;
            let width = 1usize << (byte & 3);
            let ndim = usize::from(byte >> 2);
            let raw = cur.take(ndim * width)?;
            raw.chunks_exact(width)
                .map(|c| {
                    let mut le = [0u8; 8];
                    le[..width].copy_from_slice(c);
                    u64::from_le_bytes(le)
                })
                .collect()
        }
    };
    Ok(NdArray::new(dtype, shape, cur.rest().to_vec())?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dynamic_form_matches_python_layout() {
        // NDArray().encode(np.arange(6, dtype=np.int16).reshape(2, 3))
        let data: Vec<u8> = (0..6i16).flat_map(|v| v.to_le_bytes()).collect();
        let array = NdArray::new(Dtype::I16, vec![2, 3], data.clone()).unwrap();
        let mut out = Vec::new();
        encode(&array, None, None, &mut out).unwrap();
        let mut want = vec![17, 2 << 2, 2, 3];
        want.extend_from_slice(&data);
        assert_eq!(out, want);
        assert_eq!(decode(&out, None, None).unwrap(), array);
    }

    #[test]
    fn shape_dtype_grows_with_the_largest_dimension() {
        let array = NdArray::new(Dtype::U8, vec![1, 300], vec![7; 300]).unwrap();
        let mut out = Vec::new();
        encode(&array, Some(Dtype::U8), None, &mut out).unwrap();
        assert_eq!(&out[..5], &[(2 << 2) | 1, 1, 0, 0x2c, 0x01]);
        assert_eq!(decode(&out, Some(Dtype::U8), None).unwrap(), array);
    }

    #[test]
    fn fixed_form_is_only_the_values() {
        let array = NdArray::new(Dtype::F32, vec![2], vec![0; 8]).unwrap();
        let mut out = Vec::new();
        encode(&array, Some(Dtype::F32), Some(&[2]), &mut out).unwrap();
        assert_eq!(out, vec![0; 8]);
        let err = encode(&array, Some(Dtype::F32), Some(&[3]), &mut out).unwrap_err();
        let err = err.to_string();
        assert!(err.contains("wrong shape"), "{err}");
        let err = encode(&array, Some(Dtype::F64), None, &mut out)
            .unwrap_err()
            .to_string();
        assert!(err.contains("wrong dtype"), "{err}");
    }

    #[test]
    fn refuses_what_python_refuses() {
        let empty = NdArray::new(Dtype::U8, vec![0], vec![]).unwrap();
        assert!(encode(&empty, None, None, &mut Vec::new()).is_err());
        let scalar = NdArray::new(Dtype::U8, vec![], vec![1]).unwrap();
        assert!(encode(&scalar, None, None, &mut Vec::new()).is_err());
        assert!(decode(&[99, 4, 1, 0], None, None).is_err());
        assert!(decode(&[8, 4, 2, 0], None, None).is_err());
    }
}
