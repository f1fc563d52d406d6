//! The input layer: high-level actions → the exact sequence of Neko v3 control events.
//!
//! Pure and synchronous: nothing here touches the network. A caller keeps a [`Screen`] up to
//! date from `system/init` / `screen/updated`, builds an [`Action`] (from a REPL line or an
//! agent's output), calls [`plan`] and sends each [`Step`]'s event, waiting `delay_after`.
//!
//! Choices, following the server's behaviour (protocol notes §5):
//!
//! * **Chords use `keydown`/`keyup`, never `keypress`.** `control/keypress` and
//!   `control/buttonpress` release every held key and button before and after, so a
//!   keypress inside a held modifier would drop the modifier. `Ctrl+Alt+t` is therefore
//!   down Ctrl, down Alt, down t, up t, up Alt, up Ctrl. A key without modifiers is one
//!   `keypress`; a plain click is one `buttonpress`.
//! * **Typing sends what a US keyboard would.** Capitals and shifted symbols are Shift held
//!   around the character's keysym (down/up, for the same reason); other Latin-1 characters
//!   are their own keysym, and anything beyond U+00FF is `0x1000000 + codepoint`, which the
//!   server maps onto a spare keycode. Newline is `Return`.
//! * **Scroll sign is Neko's, not the DOM's.** Positive `delta_y` scrolls up (X button 4),
//!   positive `delta_x` scrolls left (button 6); the magnitude is the number of notches. A
//!   zero amount is refused because all-zero deltas make the server read `x`/`y` as deltas.
//! * **Coordinates are X screen pixels**, not video pixels: normalised points are scaled by
//!   the screen size and everything is clamped onto the screen.
//! * `control/paste` always carries a payload object (`{}` without text); the server
//!   rejects it otherwise.
#![warn(missing_docs)]

pub mod action;
pub mod chord;
pub mod coords;
pub mod keysym;
pub mod plan;

pub use action::{Action, ActionError, Button, DEFAULT_DRAG_STEPS, ScrollDirection};
pub use chord::{Chord, ChordError};
pub use coords::{CoordError, Point, Screen};
pub use keysym::{DEFAULT_KEYS, KeyTable, Keysym, keysym_for_char};
pub use plan::{DOUBLE_CLICK_GAP, DRAG_STEP_GAP, MAX_DRAG_STEPS, PlanError, Step, plan};
