//! Control, clipboard and keyboard payloads sent by the client.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Payload of `control/move`: a pointer position in screen pixels.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ControlPos {
    /// Horizontal position.
    pub x: i32,
    /// Vertical position.
    pub y: i32,
    /// Fields this crate does not know, kept for re-serialisation.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Payload of `control/scroll`; when both deltas are 0 the server uses `x`/`y` as deltas.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ControlScroll {
    /// Horizontal notches (positive = X button 6).
    pub delta_x: i32,
    /// Vertical notches (positive = X button 4, scroll up).
    pub delta_y: i32,
    /// Hold Control during the scroll.
    pub control_key: bool,
    /// Legacy horizontal delta.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub x: Option<i32>,
    /// Legacy vertical delta.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub y: Option<i32>,
    /// Fields this crate does not know, kept for re-serialisation.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Payload of `control/buttonpress|buttondown|buttonup`; a present `x` or `y` moves first.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ControlButton {
    /// X button number (1 left, 2 middle, 3 right…).
    pub code: u32,
    /// Optional pointer x.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub x: Option<i32>,
    /// Optional pointer y.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub y: Option<i32>,
    /// Fields this crate does not know, kept for re-serialisation.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Payload of `control/keypress|keydown|keyup`; a present `x` or `y` moves first.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ControlKey {
    /// X11 keysym.
    pub keysym: u32,
    /// Optional pointer x.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub x: Option<i32>,
    /// Optional pointer y.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub y: Option<i32>,
    /// Fields this crate does not know, kept for re-serialisation.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Payload of `control/touchbegin|touchupdate|touchend`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ControlTouch {
    /// Contact id.
    pub touch_id: u32,
    /// Horizontal position.
    pub x: i32,
    /// Vertical position.
    pub y: i32,
    /// Pressure 0–255.
    pub pressure: u8,
    /// Fields this crate does not know, kept for re-serialisation.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Payload of `control/paste` (required, at least `{}`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ControlPaste {
    /// Text to put on the clipboard before Ctrl+V.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// Fields this crate does not know, kept for re-serialisation.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Payload `{"text"}` of `clipboard/set` and `clipboard/updated`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ClipboardText {
    /// Clipboard text.
    pub text: String,
    /// Fields this crate does not know, kept for re-serialisation.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Payload of `keyboard/map`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct KeyboardMap {
    /// XKB layout, e.g. `us`.
    pub layout: String,
    /// XKB variant.
    pub variant: String,
    /// Fields this crate does not know, kept for re-serialisation.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Payload of `keyboard/modifiers`; omitted fields are left untouched.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct KeyboardModifiers {
    /// Shift.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shift: Option<bool>,
    /// Caps Lock.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub capslock: Option<bool>,
    /// Control.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub control: Option<bool>,
    /// Alt.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alt: Option<bool>,
    /// Num Lock.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub numlock: Option<bool>,
    /// Meta.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub meta: Option<bool>,
    /// Super.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[serde(rename = "super")]
    pub super_key: Option<bool>,
    /// AltGr.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub altgr: Option<bool>,
    /// Fields this crate does not know, kept for re-serialisation.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}
