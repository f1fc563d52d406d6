//! Column encodings (`mds/encodings.py`): parsing their names, fixed sizes,
//! and turning [`Value`]s into bytes and back.

use std::num::{ParseFloatError, ParseIntError};
use std::str::Utf8Error;

use super::cursor::{Cursor, CursorError};
use super::dtype::{Dtype, f16_bits_to_f64, f64_to_f16_bits};
use super::ndarray::{self, ArrayError};
use super::value::{PilImage, Value};
use crate::pyjson;

/// The encodings this module reads and writes, for error messages.
pub const SUPPORTED_ENCODINGS: &str = "bytes, str, int, uint8, uint16, uint32, uint64, int8, int16, \
     int32, int64, float16, float32, float64, str_int, str_float, str_decimal, json, jpeg, png, \
     pil, list[jpeg], list[png], list[pil], jpeg_array, jpegarray, ndarray[:dtype[:d0,d1,…]]";

/// Why an encoding name was refused; shown after the name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EncodingError {
    /// `pkl`, which runs code when read.
    #[error("is Python pickle, which runs code when read; store the data as json or bytes instead")]
    Pickle,
    /// A name MDS does not have.
    #[error("is not an MDS encoding; supported: {SUPPORTED_ENCODINGS}")]
    Unknown,
    /// `ndarray:<dtype>` with a dtype NumPy names otherwise.
    #[error(
        "has unknown dtype `{0}`; use one of uint8, int8, uint16, int16, float16, uint32, \
         int32, float32, uint64, int64, float64"
    )]
    ArrayDtype(String),
    /// `ndarray:<dtype>:<shape>` with a shape that is not dimensions ≥ 1.
    #[error("has a bad shape `{0}`; write dimensions ≥ 1 separated by commas, e.g. 2,3")]
    ArrayShape(String),
    /// `ndarray:<dtype>:<shape>` whose arrays do not fit a shard.
    #[error("describes arrays larger than a shard can hold (4 GiB)")]
    ArrayTooLarge,
}

/// Why a value cannot be encoded in, or decoded from, its column.
#[derive(Debug, thiserror::Error)]
pub enum ValueError {
    /// A value of another kind than the encoding takes.
    #[error("expected {expected}, got {got}")]
    Expected {
        /// What the encoding takes.
        expected: &'static str,
        /// What the value is.
        got: &'static str,
    },
    /// A list element of another kind than the list takes.
    #[error("list element: expected {expected}, got {got}")]
    ListElement {
        /// What the list takes.
        expected: &'static str,
        /// What the element is.
        got: &'static str,
    },
    /// An integer outside the range of the column's dtype.
    #[error("{value} is out of range for {}", dtype.name())]
    OutOfRange {
        /// The integer given.
        value: i128,
        /// The column's dtype.
        dtype: Dtype,
    },
    /// A `str_decimal` value that Python's `Decimal` would refuse.
    #[error("`{0}` is not a decimal number")]
    NotDecimal(String),
    /// A `jpeg_array` with no images, which Python cannot read back.
    #[error("an empty jpeg_array cannot be read back; store at least one image")]
    EmptyJpegArray,
    /// A part longer than a 32-bit size can say.
    #[error("{0} bytes do not fit a 32-bit size")]
    TooLong(usize),
    /// An encoded value whose size differs from the encoding's fixed size.
    #[error("encoded to {len} bytes, but the encoding has a fixed size of {size}")]
    FixedSize {
        /// Bytes the value encoded to.
        len: usize,
        /// The encoding's fixed size.
        size: usize,
    },
    /// Stored text that is not UTF-8.
    #[error("invalid UTF-8: {0}")]
    Utf8(#[source] Utf8Error),
    /// A stored `str_int` that is not a 64-bit integer.
    #[error("`{text}` is not a 64-bit integer")]
    NotInteger {
        /// The stored text.
        text: String,
        /// Why it does not parse as an unsigned integer either.
        #[source]
        source: ParseIntError,
    },
    /// A stored `str_float` that is not a float.
    #[error("`{text}` is not a float")]
    NotFloat {
        /// The stored text.
        text: String,
        /// Why it does not parse.
        #[source]
        source: ParseFloatError,
    },
    /// A stored `json` value that does not parse.
    #[error("invalid JSON: {0}")]
    Json(#[source] serde_json::Error),
    /// A stored scalar of the wrong size.
    #[error("{len} bytes for a {} (needs {})", dtype.name(), dtype.size())]
    ScalarSize {
        /// Bytes stored.
        len: usize,
        /// The column's dtype.
        dtype: Dtype,
    },
    /// A stored `jpeg_array` with no images.
    #[error("jpeg_array holds no images")]
    NoImages,
    /// Stored bytes that end before the value does, or go on after it.
    #[error(transparent)]
    Cut(#[from] CursorError),
    /// An array that does not fit its `ndarray` column.
    #[error(transparent)]
    Array(#[from] ArrayError),
}

/// A column encoding, e.g. `str`, `int`, `json` or `ndarray:uint8:2,3`.
///
/// Values per encoding (any encoding also takes [`Value::Bytes`] as already
/// encoded data, as Python does):
/// - `bytes`, `jpeg`, `png`: [`Value::Bytes`] (file bytes for images).
/// - `str`: [`Value::Str`]; `json`: [`Value::Json`] (written like `json.dumps`).
/// - `int` and `int8`…`int64`, `uint8`…`uint64`: [`Value::Int`] or [`Value::UInt`]
///   in range; read back as `Int` (signed) or `UInt` (unsigned).
/// - `float16`/`float32`/`float64`: [`Value::Float`] (or an integer).
/// - `str_int`: an integer; `str_float`: [`Value::Float`] (Python `str()` text);
///   `str_decimal`: [`Value::Decimal`].
/// - `pil`: [`Value::Pil`]; `list[pil]`: a [`Value::List`] of them.
/// - `list[jpeg]`, `list[png]`, `jpeg_array`: a [`Value::List`] of `Bytes`
///   (`jpeg_array` must not be empty: Python cannot read an empty one back).
/// - `ndarray[:dtype[:shape]]`: [`Value::NdArray`].
///
/// `pkl` (Python pickle) is refused: reading it runs code.
#[derive(Debug, Clone, PartialEq)]
pub struct Encoding {
    text: String,
    kind: Kind,
}

#[derive(Debug, Clone, PartialEq)]
enum Kind {
    Bytes,
    Str,
    Int,
    Scalar(Dtype),
    StrInt,
    StrFloat,
    StrDecimal,
    Json,
    Jpeg,
    Png,
    Pil,
    List(Element),
    JpegArray,
    NdArray {
        dtype: Option<Dtype>,
        shape: Option<Vec<u64>>,
    },
}

/// What a `list[…]` holds.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Element {
    Pil,
    Jpeg,
    Png,
}

impl Encoding {
    /// Parses an encoding name as MDS writes it in `column_encodings`.
    ///
    /// The error is the reason, to be shown with the column name.
    pub fn parse(text: &str) -> Result<Encoding, EncodingError> {
        let kind = match text {
            "bytes" => Kind::Bytes,
            "str" => Kind::Str,
            "int" => Kind::Int,
            "str_int" => Kind::StrInt,
            "str_float" => Kind::StrFloat,
            "str_decimal" => Kind::StrDecimal,
            "json" => Kind::Json,
            "jpeg" => Kind::Jpeg,
            "png" => Kind::Png,
            "pil" => Kind::Pil,
            "list[pil]" => Kind::List(Element::Pil),
            "list[jpeg]" => Kind::List(Element::Jpeg),
            "list[png]" => Kind::List(Element::Png),
            "jpeg_array" | "jpegarray" => Kind::JpegArray,
            "ndarray" => Kind::NdArray {
                dtype: None,
                shape: None,
            },
            "pkl" => {
                return Err(EncodingError::Pickle);
            }
            _ => {
                if let Some(dtype) = Dtype::from_name(text) {
                    Kind::Scalar(dtype)
                } else if let Some(config) = text.strip_prefix("ndarray:") {
                    parse_ndarray(config)?
                } else {
                    return Err(EncodingError::Unknown);
                }
            }
        };
        Ok(Encoding {
            text: text.to_owned(),
            kind,
        })
    }

    /// The name as written in `column_encodings`.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The encoded size in bytes when it is the same for every value.
    pub fn fixed_size(&self) -> Option<usize> {
        match &self.kind {
            Kind::Int => Some(8),
            Kind::Scalar(d) => Some(d.size()),
            Kind::NdArray {
                dtype: Some(d),
                shape: Some(shape),
            } => Some(shape.iter().product::<u64>() as usize * d.size()),
            _ => None,
        }
    }

    /// Appends the encoding of `value` to `out`; the error is the reason.
    pub(crate) fn encode(&self, value: &Value, out: &mut Vec<u8>) -> Result<(), ValueError> {
        if let Value::Bytes(bytes) = value {
            out.extend_from_slice(bytes);
            return Ok(());
        }
        match (&self.kind, value) {
            (Kind::Str, Value::Str(s)) => out.extend_from_slice(s.as_bytes()),
            (Kind::Int, v) => scalar(Dtype::I64, v, out)?,
            (Kind::Scalar(d), v) => scalar(*d, v, out)?,
            (Kind::StrInt, Value::Int(i)) => out.extend_from_slice(i.to_string().as_bytes()),
            (Kind::StrInt, Value::UInt(u)) => out.extend_from_slice(u.to_string().as_bytes()),
            (Kind::StrFloat, Value::Float(f)) => {
                out.extend_from_slice(pyjson::float_repr(*f).as_bytes());
            }
            (Kind::StrDecimal, Value::Decimal(s)) => {
                if !is_decimal(s) {
                    return Err(ValueError::NotDecimal(s.clone()));
                }
                out.extend_from_slice(s.as_bytes());
            }
            (Kind::Json, Value::Json(j)) => {
                out.extend_from_slice(pyjson::dumps(j, false).as_bytes());
            }
            (Kind::Pil, Value::Pil(image)) => encode_pil(image, out)?,
            (Kind::List(element), Value::List(items)) => {
                out.extend_from_slice(&0u32.to_le_bytes());
                let parts = items
                    .iter()
                    .map(|item| encode_element(*element, item))
                    .collect::<Result<Vec<_>, _>>()?;
                encode_parts(&parts, out)?;
            }
            (Kind::JpegArray, Value::List(items)) => {
                if items.is_empty() {
                    return Err(ValueError::EmptyJpegArray);
                }
                let parts = items
                    .iter()
                    .map(|item| encode_element(Element::Jpeg, item))
                    .collect::<Result<Vec<_>, _>>()?;
                encode_parts(&parts, out)?;
            }
            (Kind::NdArray { dtype, shape }, Value::NdArray(array)) => {
                ndarray::encode(array, *dtype, shape.as_deref(), out)?;
            }
            (_, other) => {
                return Err(ValueError::Expected {
                    expected: self.expects(),
                    got: other.kind(),
                });
            }
        }
        Ok(())
    }

    /// Decodes one value; the error is the reason.
    pub(crate) fn decode(&self, data: &[u8]) -> Result<Value, ValueError> {
        let value = match &self.kind {
            Kind::Bytes | Kind::Jpeg | Kind::Png => Value::Bytes(data.to_vec()),
            Kind::Str => Value::Str(utf8(data)?.to_owned()),
            Kind::Int => decode_scalar(Dtype::I64, data)?,
            Kind::Scalar(d) => decode_scalar(*d, data)?,
            Kind::StrInt => {
                let text = utf8(data)?;
                text.parse::<i64>()
                    .map(Value::Int)
                    .or_else(|_| text.parse::<u64>().map(Value::UInt))
                    .map_err(|source| ValueError::NotInteger {
                        text: text.to_owned(),
                        source,
                    })?
            }
            Kind::StrFloat => {
                let text = utf8(data)?;
                Value::Float(text.parse().map_err(|source| ValueError::NotFloat {
                    text: text.to_owned(),
                    source,
                })?)
            }
            Kind::StrDecimal => Value::Decimal(utf8(data)?.to_owned()),
            Kind::Json => Value::Json(serde_json::from_slice(data).map_err(ValueError::Json)?),
            Kind::Pil => Value::Pil(decode_pil(data)?),
            Kind::List(element) => {
                let mut cur = Cursor::new(data);
                cur.u32()?; // placeholder
                Value::List(decode_parts(&mut cur, *element)?)
            }
            Kind::JpegArray => {
                let mut cur = Cursor::new(data);
                let items = decode_parts(&mut cur, Element::Jpeg)?;
                if items.is_empty() {
                    return Err(ValueError::NoImages);
                }
                Value::List(items)
            }
            Kind::NdArray { dtype, shape } => {
                Value::NdArray(ndarray::decode(data, *dtype, shape.as_deref())?)
            }
        };
        Ok(value)
    }

    /// What values this encoding takes, for error messages.
    fn expects(&self) -> &'static str {
        match &self.kind {
            Kind::Bytes | Kind::Jpeg | Kind::Png => "bytes",
            Kind::Str => "str",
            Kind::Int | Kind::StrInt => "an integer",
            Kind::Scalar(d) if d.is_float() => "a number",
            Kind::Scalar(_) => "an integer",
            Kind::StrFloat => "a float",
            Kind::StrDecimal => "a decimal",
            Kind::Json => "json",
            Kind::Pil => "a pil image",
            Kind::List(Element::Pil) => "a list of pil images",
            Kind::List(_) | Kind::JpegArray => "a list of bytes",
            Kind::NdArray { .. } => "an ndarray",
        }
    }
}

/// `dtype[:d0,d1,…]` after `ndarray:`.
fn parse_ndarray(config: &str) -> Result<Kind, EncodingError> {
    if config.is_empty() {
        return Ok(Kind::NdArray {
            dtype: None,
            shape: None,
        });
    }
    let (dtype, shape) = match config.split_once(':') {
        Some((dtype, shape)) => (dtype, Some(shape)),
        None => (config, None),
    };
    let dtype =
        Dtype::from_name(dtype).ok_or_else(|| EncodingError::ArrayDtype(dtype.to_owned()))?;
    let shape = shape
        .map(|s| {
            s.split(',')
                .map(|d| d.trim().parse::<u64>().ok().filter(|&d| d >= 1))
                .collect::<Option<Vec<u64>>>()
                .ok_or_else(|| EncodingError::ArrayShape(s.to_owned()))
        })
        .transpose()?;
    if let Some(shape) = &shape {
        let bytes = shape
            .iter()
            .try_fold(dtype.size() as u64, |n, &d| n.checked_mul(d));
        if bytes.is_none_or(|b| b > u64::from(u32::MAX)) {
            return Err(EncodingError::ArrayTooLarge);
        }
    }
    Ok(Kind::NdArray {
        dtype: Some(dtype),
        shape,
    })
}

fn utf8(data: &[u8]) -> Result<&str, ValueError> {
    std::str::from_utf8(data).map_err(ValueError::Utf8)
}

fn integer(value: &Value) -> Option<i128> {
    match value {
        Value::Int(i) => Some((*i).into()),
        Value::UInt(u) => Some((*u).into()),
        _ => None,
    }
}

/// Appends a NumPy scalar of type `dtype`.
fn scalar(dtype: Dtype, value: &Value, out: &mut Vec<u8>) -> Result<(), ValueError> {
    if let Some((lo, hi)) = dtype.int_range() {
        let Some(n) = integer(value) else {
            return Err(ValueError::Expected {
                expected: "an integer",
                got: value.kind(),
            });
        };
        if n < lo || n > hi {
            return Err(ValueError::OutOfRange { value: n, dtype });
        }
        // Two's complement little-endian, truncated to the type's width.
        out.extend_from_slice(&n.to_le_bytes()[..dtype.size()]);
        return Ok(());
    }
    let x = match value {
        Value::Float(f) => *f,
        Value::Int(i) => *i as f64,
        Value::UInt(u) => *u as f64,
        other => {
            return Err(ValueError::Expected {
                expected: "a number",
                got: other.kind(),
            });
        }
    };
    match dtype {
        Dtype::F16 => out.extend_from_slice(&f64_to_f16_bits(x).to_le_bytes()),
        Dtype::F32 => out.extend_from_slice(&(x as f32).to_le_bytes()),
        _ => out.extend_from_slice(&x.to_le_bytes()),
    }
    Ok(())
}

fn decode_scalar(dtype: Dtype, data: &[u8]) -> Result<Value, ValueError> {
    if data.len() != dtype.size() {
        return Err(ValueError::ScalarSize {
            len: data.len(),
            dtype,
        });
    }
    let mut le = [0u8; 8];
    le[..data.len()].copy_from_slice(data);
    let raw = u64::from_le_bytes(le);
    let bits = dtype.size() as u32 * 8;
    let value = match dtype {
        Dtype::F16 => Value::Float(f16_bits_to_f64(raw as u16)),
        Dtype::F32 => Value::Float(f32::from_bits(raw as u32).into()),
        Dtype::F64 => Value::Float(f64::from_bits(raw)),
        Dtype::U8 | Dtype::U16 | Dtype::U32 | Dtype::U64 => Value::UInt(raw),
        // Sign-extend from the type's width.
        _ => Value::Int(((raw << (64 - bits)) as i64) >> (64 - bits)),
    };
    Ok(value)
}

fn encode_element(element: Element, item: &Value) -> Result<Vec<u8>, ValueError> {
    match (element, item) {
        (Element::Jpeg | Element::Png, Value::Bytes(bytes)) => Ok(bytes.clone()),
        (Element::Pil, Value::Pil(image)) => {
            let mut out = Vec::new();
            encode_pil(image, &mut out)?;
            Ok(out)
        }
        (Element::Pil, other) => Err(ValueError::ListElement {
            expected: "a pil image",
            got: other.kind(),
        }),
        (_, other) => Err(ValueError::ListElement {
            expected: "bytes",
            got: other.kind(),
        }),
    }
}

/// `u32 n`, `u32 sizes[n]`, then the parts.
fn encode_parts(parts: &[Vec<u8>], out: &mut Vec<u8>) -> Result<(), ValueError> {
    out.extend_from_slice(&u32_len(parts.len())?.to_le_bytes());
    for part in parts {
        out.extend_from_slice(&u32_len(part.len())?.to_le_bytes());
    }
    for part in parts {
        out.extend_from_slice(part);
    }
    Ok(())
}

fn decode_parts(cur: &mut Cursor<'_>, element: Element) -> Result<Vec<Value>, ValueError> {
    let n = cur.u32()? as usize;
    let sizes = cur.u32s(n)?;
    let items = sizes
        .into_iter()
        .map(|size| {
            let part = cur.take(size as usize)?;
            match element {
                Element::Pil => decode_pil(part).map(Value::Pil),
                Element::Jpeg | Element::Png => Ok(Value::Bytes(part.to_vec())),
            }
        })
        .collect::<Result<Vec<_>, ValueError>>()?;
    cur.finish()?;
    Ok(items)
}

/// `u32 width, u32 height, u32 len(mode), mode, raw`.
fn encode_pil(image: &PilImage, out: &mut Vec<u8>) -> Result<(), ValueError> {
    out.extend_from_slice(&image.width.to_le_bytes());
    out.extend_from_slice(&image.height.to_le_bytes());
    out.extend_from_slice(&u32_len(image.mode.len())?.to_le_bytes());
    out.extend_from_slice(image.mode.as_bytes());
    out.extend_from_slice(&image.raw);
    Ok(())
}

fn decode_pil(data: &[u8]) -> Result<PilImage, ValueError> {
    let mut cur = Cursor::new(data);
    let width = cur.u32()?;
    let height = cur.u32()?;
    let mode_len = cur.u32()? as usize;
    let mode = utf8(cur.take(mode_len)?)?.to_owned();
    Ok(PilImage {
        width,
        height,
        mode,
        raw: cur.rest().to_vec(),
    })
}

fn u32_len(len: usize) -> Result<u32, ValueError> {
    u32::try_from(len).map_err(|_| ValueError::TooLong(len))
}

/// Whether Python's `Decimal(text)` accepts `text` (plain or exponent form,
/// or NaN/sNaN/Infinity).
fn is_decimal(text: &str) -> bool {
    let body = text.strip_prefix(['+', '-']).unwrap_or(text);
    let lower = body.to_ascii_lowercase();
    if ["nan", "snan", "inf", "infinity"].contains(&lower.as_str()) {
        return true;
    }
    let (mantissa, exponent) = match lower.split_once('e') {
        Some((m, e)) => (m, Some(e)),
        None => (lower.as_str(), None),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    let mantissa_ok = digits(int) && digits(frac) && !(int.is_empty() && frac.is_empty());
    let exponent_ok = exponent.is_none_or(|e| {
        let e = e.strip_prefix(['+', '-']).unwrap_or(e);
        !e.is_empty() && digits(e)
    });
    mantissa_ok && exponent_ok
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::mds::value::NdArray;

    fn enc(encoding: &str, value: Value) -> Vec<u8> {
        let mut out = Vec::new();
        Encoding::parse(encoding)
            .unwrap()
            .encode(&value, &mut out)
            .unwrap();
        out
    }

    fn round_trip(encoding: &str, value: Value) -> Value {
        let e = Encoding::parse(encoding).unwrap();
        let mut out = Vec::new();
        e.encode(&value, &mut out).unwrap();
        if let Some(size) = e.fixed_size() {
            assert_eq!(out.len(), size, "{encoding}");
        }
        e.decode(&out).unwrap()
    }

    #[test]
    fn bytes_match_python_encodings() {
        assert_eq!(enc("int", Value::Int(-2)), (-2i64).to_le_bytes());
        assert_eq!(enc("uint16", Value::Int(513)), [1, 2]);
        assert_eq!(enc("int8", Value::Int(-1)), [0xff]);
        assert_eq!(enc("float32", Value::Float(1.5)), 1.5f32.to_le_bytes());
        assert_eq!(enc("float16", Value::Float(1.0)), [0x00, 0x3c]);
        assert_eq!(enc("str", "héllo".into()), "héllo".as_bytes());
        assert_eq!(enc("str_int", Value::Int(-12)), b"-12");
        assert_eq!(enc("str_float", Value::Float(1e16)), b"1e+16");
        assert_eq!(enc("str_decimal", Value::Decimal("1.50".into())), b"1.50");
        assert_eq!(
            enc(
                "json",
                json!({"source": "neko+showui", "n": [1, 2.5]}).into()
            ),
            br#"{"source": "neko+showui", "n": [1, 2.5]}"#
        );
        assert_eq!(
            enc(
                "jpeg_array",
                Value::List(vec![vec![1u8, 2].into(), vec![3u8].into()])
            ),
            [2, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 1, 2, 3]
        );
        assert_eq!(
            enc("list[jpeg]", Value::List(vec![vec![9u8].into()])),
            [0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 9]
        );
        let image = PilImage {
            width: 1,
            height: 2,
            mode: "L".into(),
            raw: vec![5, 6],
        };
        assert_eq!(
            enc("pil", Value::Pil(image)),
            [1, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, b'L', 5, 6]
        );
        // Bytes pass through any encoding, as in Python's mds_encode.
        assert_eq!(enc("json", vec![1u8, 2].into()), [1, 2]);
    }

    #[test]
    fn values_round_trip() {
        let cases: Vec<(&str, Value)> = vec![
            ("bytes", vec![0u8, 255].into()),
            ("jpeg", vec![0xffu8, 0xd8].into()),
            ("str", "ünïcode 😀".into()),
            ("int", Value::Int(i64::MIN)),
            ("int16", Value::Int(-300)),
            ("uint64", Value::UInt(u64::MAX)),
            ("uint8", Value::UInt(200)),
            ("float64", Value::Float(0.1)),
            ("float16", Value::Float(-0.5)),
            ("str_int", Value::UInt(u64::MAX)),
            ("str_float", Value::Float(-2.5e-7)),
            ("str_decimal", Value::Decimal("-1.5E+3".into())),
            ("json", json!({"b": null, "a": [true, "x"]}).into()),
            (
                "list[pil]",
                Value::List(vec![Value::Pil(PilImage {
                    width: 1,
                    height: 1,
                    mode: "RGB".into(),
                    raw: vec![1, 2, 3],
                })]),
            ),
            ("list[png]", Value::List(vec![])),
            ("jpegarray", Value::List(vec![vec![1u8].into()])),
            (
                "ndarray:uint16:2",
                Value::NdArray(NdArray::new(Dtype::U16, vec![2], vec![1, 0, 2, 0]).unwrap()),
            ),
            (
                "ndarray",
                Value::NdArray(NdArray::new(Dtype::F64, vec![1], vec![0; 8]).unwrap()),
            ),
        ];
        for (encoding, value) in cases {
            assert_eq!(round_trip(encoding, value.clone()), value, "{encoding}");
        }
    }

    #[test]
    fn fixed_sizes() {
        let size = |e: &str| Encoding::parse(e).unwrap().fixed_size();
        assert_eq!(size("int"), Some(8));
        assert_eq!(size("uint8"), Some(1));
        assert_eq!(size("float16"), Some(2));
        assert_eq!(size("ndarray:int32:2,3"), Some(24));
        assert_eq!(size("ndarray:int32"), None);
        assert_eq!(size("str"), None);
    }

    #[test]
    fn bad_encodings_and_values_say_why() {
        let parse_err = |text: &str| Encoding::parse(text).unwrap_err().to_string();
        let err = parse_err("text");
        assert!(err.contains("supported: bytes, str"), "{err}");
        assert!(parse_err("pkl").contains("pickle"));
        assert!(parse_err("ndarray:bool").contains("dtype"));
        assert!(parse_err("ndarray:uint8:2,0").contains("shape"));
        assert!(Encoding::parse("str:x").is_err());
        let err = parse_err("ndarray:uint64:65536,65536");
        assert!(err.contains("larger than a shard"), "{err}");

        let fail = |encoding: &str, value: Value| {
            let mut out = Vec::new();
            Encoding::parse(encoding)
                .unwrap()
                .encode(&value, &mut out)
                .unwrap_err()
                .to_string()
        };
        assert_eq!(fail("int", "7".into()), "expected an integer, got str");
        assert!(fail("uint8", Value::Int(256)).contains("out of range"));
        assert!(fail("int", Value::UInt(u64::MAX)).contains("out of range for int64"));
        assert!(fail("str_decimal", Value::Decimal("1.2.3".into())).contains("decimal"));
        assert!(fail("jpeg_array", Value::List(vec![])).contains("empty"));
        assert!(fail("list[jpeg]", Value::List(vec![Value::Int(1)])).contains("list element"));
    }

    #[test]
    fn corrupt_values_are_errors_not_panics() {
        let decode = |encoding: &str, data: &[u8]| Encoding::parse(encoding).unwrap().decode(data);
        assert!(decode("int", &[1, 2, 3]).is_err());
        assert!(decode("str", &[0xff]).is_err());
        assert!(decode("json", b"{").is_err());
        assert!(decode("list[jpeg]", &[0, 0, 0, 0, 9, 0, 0, 0]).is_err());
        assert!(decode("jpeg_array", &[0, 0, 0, 0]).is_err());
        assert!(decode("pil", &[1, 0]).is_err());
        assert!(decode("str_int", b"12x").is_err());
    }

    #[test]
    fn decimal_syntax() {
        for ok in [
            "1",
            "-1.50",
            ".5",
            "5.",
            "1e3",
            "1E-3",
            "NaN",
            "-Infinity",
            "sNaN",
        ] {
            assert!(is_decimal(ok), "{ok}");
        }
        for bad in ["", ".", "1.2.3", "e3", "1e", "0x10", "1_000"] {
            assert!(!is_decimal(bad), "{bad}");
        }
    }
}
