//! The synthetic desktop of the sandbox Neko room.
//!
//! A pure-Rust stand-in for the X11 desktop that a real Neko server streams:
//! a calm background, a title bar, four clickable coloured [regions](RegionView),
//! a text box that follows X11 typing rules, a mouse cursor, a frame counter and a
//! machine-readable [timestamp strip](crate::stamp) in the top-left corner.
//!
//! [`Desktop::apply`] feeds it the [`DesktopInput`] events an agent sends, and
//! [`Desktop::render`] paints RGBx frames for the media pipeline. The static parts
//! are cached in a base image repainted only after a visible state change, so a
//! frame costs one buffer copy plus a few small overlays.

mod canvas;
mod clipboard;
mod cursor;
mod font;
mod held;
mod input;
mod keysym;
mod layout;
mod paint;
mod regions;
mod scene;
mod scroll;
mod textbox;

pub use clipboard::Clipboard;
pub use input::DesktopInput;
pub use layout::Rect;
pub use regions::RegionView;
pub use scene::Desktop;
pub use scroll::ScrollStats;
