//! The `ndarray[:dtype[:d0,d1,…]]` encoding: optional dtype code byte,
//! optional `(ndim << 2) | shape_dtype` byte and shape, then the raw values.

use super::cursor::Cursor;
use super::dtype::Dtype;
use super::value::NdArray;

/// Encodes `array` for a column whose dtype and shape may be fixed.
pub(crate) fn encode(
    array: &NdArray,
    dtype: Option<Dtype>,
    shape: Option<&[u64]>,
    out: &mut Vec<u8>,
) -> Result<(), String> {
    match dtype {
        None => out.push(array.dtype().code()),
        Some(d) if d == array.dtype() => {}
        Some(d) => {
            return Err(format!(
                "wrong dtype: expected {}, got {}",
                d.name(),
                array.dtype().name()
            ));
        }
    }
    if array.data().is_empty() {
        return Err("an array with 0 elements cannot be stored".to_owned());
    }
    match shape {
        None => {
            let dims = array.shape();
            if dims.is_empty() {
                return Err("a 0-dimensional array cannot be stored; use a scalar encoding".into());
            }
            if dims.len() >= 64 {
                return Err(format!("too many axes: at most 63, got {}", dims.len()));
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
            return Err(format!(
                "wrong shape: expected {s:?}, got {:?}",
                array.shape()
            ));
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
) -> Result<NdArray, String> {
    let mut cur = Cursor::new(data);
    let dtype = match dtype {
        Some(d) => d,
        None => {
            let code = cur.u8()?;
            Dtype::from_code(code).ok_or(format!("unknown dtype code {code}"))?
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
    NdArray::new(dtype, shape, cur.rest().to_vec())
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
        assert!(err.contains("wrong shape"), "{err}");
        let err = encode(&array, Some(Dtype::F64), None, &mut out).unwrap_err();
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
