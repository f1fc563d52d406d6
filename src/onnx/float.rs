//! Float tensors of either width: graphs may be exported in float32 or float16, and the engines
//! compute in float32.

use half::f16;
use ort::value::{DynValue, Tensor, TensorElementType};

/// Floating-point element type of a tensor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FloatKind {
    /// float32.
    F32,
    /// float16.
    F16,
}

impl FloatKind {
    /// The float kind of `element`, `None` for any other element type.
    pub fn of(element: Option<TensorElementType>) -> Option<Self> {
        match element {
            Some(TensorElementType::Float32) => Some(FloatKind::F32),
            Some(TensorElementType::Float16) => Some(FloatKind::F16),
            _ => None,
        }
    }
}

/// A float tensor of `kind` holding `data` (converted to float16 if needed).
pub fn float_tensor(kind: FloatKind, shape: Vec<i64>, data: Vec<f32>) -> ort::Result<DynValue> {
    Ok(match kind {
        FloatKind::F32 => Tensor::from_array((shape, data))?.into_dyn(),
        FloatKind::F16 => {
            let half: Vec<f16> = data.iter().map(|v| f16::from_f32(*v)).collect();
            Tensor::from_array((shape, half))?.into_dyn()
        }
    })
}

/// The shape and float32 copy of a float tensor.
pub fn read_floats(value: &DynValue) -> ort::Result<(Vec<i64>, Vec<f32>)> {
    if let Ok((shape, data)) = value.try_extract_tensor::<f32>() {
        return Ok((shape.to_vec(), data.to_vec()));
    }
    let (shape, data) = value.try_extract_tensor::<f16>()?;
    Ok((shape.to_vec(), data.iter().map(|v| v.to_f32()).collect()))
}

/// `value` as a float tensor of `kind` (unchanged when it already is one, or is no float tensor).
pub fn to_float_kind(value: DynValue, kind: FloatKind) -> ort::Result<DynValue> {
    match kind {
        FloatKind::F16 => {
            if let Ok((shape, data)) = value.try_extract_tensor::<f32>() {
                let half: Vec<f16> = data.iter().map(|v| f16::from_f32(*v)).collect();
                return Ok(Tensor::from_array((shape.clone(), half))?.into_dyn());
            }
            Ok(value)
        }
        FloatKind::F32 => {
            if let Ok((shape, data)) = value.try_extract_tensor::<f16>() {
                let full: Vec<f32> = data.iter().map(|v| v.to_f32()).collect();
                return Ok(Tensor::from_array((shape.clone(), full))?.into_dyn());
            }
            Ok(value)
        }
    }
}
