//! Input events the synthetic desktop understands.

/// One input event for the desktop, mirroring Neko's control messages.
///
/// Button codes follow X11 (1 left, 2 middle, 3 right); keys are X11 keysyms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DesktopInput {
    /// The pointer moved to an absolute position (clamped to the screen).
    Move {
        /// Horizontal position in pixels.
        x: i32,
        /// Vertical position in pixels.
        y: i32,
    },
    /// A mouse button was pressed at the pointer position.
    ButtonDown {
        /// X11 button number.
        code: u32,
    },
    /// A mouse button was released.
    ButtonUp {
        /// X11 button number.
        code: u32,
    },
    /// A button press immediately followed by its release.
    Click {
        /// X11 button number.
        code: u32,
    },
    /// A key was pressed.
    KeyDown {
        /// X11 keysym.
        keysym: u32,
    },
    /// A key was released.
    KeyUp {
        /// X11 keysym.
        keysym: u32,
    },
    /// A key press immediately followed by its release.
    KeyPress {
        /// X11 keysym.
        keysym: u32,
    },
    /// The wheel turned; negative `delta_y` scrolls up (towards older text).
    Scroll {
        /// Horizontal wheel movement.
        delta_x: i32,
        /// Vertical wheel movement.
        delta_y: i32,
    },
    /// Text pasted from the client: it becomes the clipboard and is typed in.
    Paste {
        /// The pasted text.
        text: String,
    },
    /// The clipboard is replaced; nothing is typed (Neko's `clipboard/set` and
    /// `POST /api/room/clipboard`).
    SetClipboard(super::Clipboard),
    /// Every held key and button is released.
    ReleaseAll,
}
