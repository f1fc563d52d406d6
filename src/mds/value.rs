//! Typed column values: what samples hold before encoding and after decoding.

use std::collections::BTreeMap;

use super::dtype::Dtype;

/// One sample: a value for every column, keyed by column name.
pub type Sample = BTreeMap<String, Value>;

/// One column value of a sample.
///
/// Which variant fits which encoding is listed on [`Encoding`](super::Encoding).
/// Like Python's `mds_encode`, [`Value::Bytes`] is accepted by every encoding
/// as already-encoded data (e.g. JPEG file bytes for `jpeg`).
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// Raw bytes: `bytes`, `jpeg`, `png`, or pre-encoded data for any encoding.
    Bytes(Vec<u8>),
    /// Text: `str`.
    Str(String),
    /// A signed integer: `int`, `int8`…`int64`, `str_int`.
    Int(i64),
    /// An unsigned integer: `uint8`…`uint64` (and integers above `i64::MAX`).
    UInt(u64),
    /// A float: `float16`, `float32`, `float64`, `str_float`.
    Float(f64),
    /// A decimal number as text: `str_decimal`.
    Decimal(String),
    /// Any JSON value: `json`.
    Json(serde_json::Value),
    /// An n-dimensional array: `ndarray[:dtype[:shape]]`.
    NdArray(NdArray),
    /// An uncompressed image: `pil`.
    Pil(PilImage),
    /// A list: `list[jpeg]`/`list[png]`/`jpeg_array` (of bytes), `list[pil]` (of images).
    List(Vec<Value>),
}

impl Value {
    /// A short name of the variant, for error messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Bytes(_) => "bytes",
            Value::Str(_) => "str",
            Value::Int(_) => "int",
            Value::UInt(_) => "uint",
            Value::Float(_) => "float",
            Value::Decimal(_) => "decimal",
            Value::Json(_) => "json",
            Value::NdArray(_) => "ndarray",
            Value::Pil(_) => "pil image",
            Value::List(_) => "list",
        }
    }
}

impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::Str(v.to_owned())
    }
}

impl From<String> for Value {
    fn from(v: String) -> Self {
        Value::Str(v)
    }
}

impl From<Vec<u8>> for Value {
    fn from(v: Vec<u8>) -> Self {
        Value::Bytes(v)
    }
}

impl From<&[u8]> for Value {
    fn from(v: &[u8]) -> Self {
        Value::Bytes(v.to_vec())
    }
}

impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::Int(v)
    }
}

impl From<i32> for Value {
    fn from(v: i32) -> Self {
        Value::Int(v.into())
    }
}

impl From<u32> for Value {
    fn from(v: u32) -> Self {
        Value::Int(v.into())
    }
}

impl From<u64> for Value {
    fn from(v: u64) -> Self {
        Value::UInt(v)
    }
}

impl From<f64> for Value {
    fn from(v: f64) -> Self {
        Value::Float(v)
    }
}

impl From<serde_json::Value> for Value {
    fn from(v: serde_json::Value) -> Self {
        Value::Json(v)
    }
}

/// Why [`NdArray::new`] refused its parts.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NdArrayError {
    /// The byte size of the shape does not fit 64 bits.
    #[error("shape overflows")]
    ShapeOverflows,
    /// The data is not as long as the shape and dtype need.
    #[error("{given} bytes given for shape {shape:?} of {} (needs {needed})", dtype.name())]
    DataSize {
        /// Bytes given.
        given: usize,
        /// The shape asked for.
        shape: Vec<u64>,
        /// The element type.
        dtype: Dtype,
        /// Bytes the shape and dtype need.
        needed: u64,
    },
}

/// An n-dimensional array stored as little-endian element bytes, row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct NdArray {
    dtype: Dtype,
    shape: Vec<u64>,
    data: Vec<u8>,
}

impl NdArray {
    /// An array of `shape` whose raw little-endian elements are `data`.
    ///
    /// Fails when `data` is not `product(shape) × dtype size` bytes long.
    pub fn new(dtype: Dtype, shape: Vec<u64>, data: Vec<u8>) -> Result<Self, NdArrayError> {
        let elements = shape
            .iter()
            .try_fold(1u64, |n, &d| n.checked_mul(d))
            .ok_or(NdArrayError::ShapeOverflows)?;
        let needed = elements
            .checked_mul(dtype.size() as u64)
            .ok_or(NdArrayError::ShapeOverflows)?;
        if data.len() as u64 != needed {
            return Err(NdArrayError::DataSize {
                given: data.len(),
                shape,
                dtype,
                needed,
            });
        }
        Ok(NdArray { dtype, shape, data })
    }

    /// The element type.
    pub fn dtype(&self) -> Dtype {
        self.dtype
    }

    /// The dimensions.
    pub fn shape(&self) -> &[u64] {
        &self.shape
    }

    /// The raw little-endian element bytes.
    pub fn data(&self) -> &[u8] {
        &self.data
    }
}

/// An uncompressed image as PIL stores it: size, mode (e.g. `RGB`) and raw pixels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PilImage {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// PIL mode name, e.g. `RGB` or `L`.
    pub mode: String,
    /// Raw pixel bytes in PIL's `tobytes()` layout.
    pub raw: Vec<u8>,
}
