//! ONNX Runtime for the engines built on it (ShowUI in [`crate::model`], F5-TTS in
//! [`crate::voice`]): loading the library once per process, choosing the execution provider,
//! opening sessions (with TensorRT shape ranges where shapes grow), checking a graph's inputs
//! and outputs, float16/float32 tensors, and why a run failed.

mod float;
mod interface;
mod profile;
mod run;
mod runtime;
mod session;

pub use float::{FloatKind, float_tensor, read_floats, to_float_kind};
pub use interface::{Direction, Interface, InterfaceError};
pub use profile::ShapeProfile;
pub use run::RunError;
pub use runtime::{
    ExecutionProvider, ORT_DYLIB_ENV, ORT_LIB_ENV, ProviderChoice, Runtime, RuntimeError,
    Unavailable, find_library,
};
pub use session::{OpenError, Profiled, open, open_profiled};
