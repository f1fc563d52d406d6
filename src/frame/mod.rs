//! Frames and pictures, shared by every capability that looks at the room: the decoded frame
//! as the pipeline delivered it ([`RawFrame`]), the one RGB picture type ([`RgbImage`]), saving
//! pictures atomically as PNG, encoding them as JPEG, and reading the sandbox room's time stamp from a frame.

mod error;
mod image;
mod jpeg;
mod raw;
mod save;
pub mod stamp;

pub use error::FrameError;
pub use image::RgbImage;
pub use jpeg::encode_jpeg;
pub use raw::{Fingerprint, RawFrame, fit_longest_edge};
pub use save::{PngError, PngFailure, write_png};
