//! High-level input actions an operator or agent asks for.

use std::fmt;
use std::str::FromStr;

use thiserror::Error;

use super::chord::Chord;
use super::coords::Point;

/// Interpolated moves a drag makes when none are asked for.
pub const DEFAULT_DRAG_STEPS: u32 = 10;

/// Why a button or scroll direction name was not understood.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ActionError {
    /// Not one of left, middle, right, back, forward.
    #[error("unknown mouse button {0:?} (expected left, middle, right, back or forward)")]
    UnknownButton(String),
    /// Not one of up, down, left, right.
    #[error("unknown scroll direction {0:?} (expected up, down, left or right)")]
    UnknownDirection(String),
}

/// A mouse button, by its X button number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Button {
    /// Button 1.
    #[default]
    Left,
    /// Button 2.
    Middle,
    /// Button 3.
    Right,
    /// Button 8 (browser back).
    Back,
    /// Button 9 (browser forward).
    Forward,
}

impl Button {
    /// The X button number Neko's `code` field carries.
    pub fn code(self) -> u32 {
        match self {
            Self::Left => 1,
            Self::Middle => 2,
            Self::Right => 3,
            Self::Back => 8,
            Self::Forward => 9,
        }
    }
}

impl FromStr for Button {
    type Err = ActionError;

    /// Case-insensitive `left`/`middle`/`right`/`back`/`forward`, or the X number 1, 2, 3, 8, 9.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.trim().to_ascii_lowercase().as_str() {
            "left" | "l" | "1" => Ok(Self::Left),
            "middle" | "m" | "2" => Ok(Self::Middle),
            "right" | "r" | "3" => Ok(Self::Right),
            "back" | "8" => Ok(Self::Back),
            "forward" | "9" => Ok(Self::Forward),
            _ => Err(ActionError::UnknownButton(text.to_owned())),
        }
    }
}

impl fmt::Display for Button {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Left => "left",
            Self::Middle => "middle",
            Self::Right => "right",
            Self::Back => "back",
            Self::Forward => "forward",
        })
    }
}

/// Which way content should move under a scroll.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScrollDirection {
    /// Towards the top (X button 4).
    Up,
    /// Towards the bottom (X button 5).
    Down,
    /// Towards the left (X button 6).
    Left,
    /// Towards the right (X button 7).
    Right,
}

impl FromStr for ScrollDirection {
    type Err = ActionError;

    /// Case-insensitive `up`/`down`/`left`/`right`.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.trim().to_ascii_lowercase().as_str() {
            "up" => Ok(Self::Up),
            "down" => Ok(Self::Down),
            "left" => Ok(Self::Left),
            "right" => Ok(Self::Right),
            _ => Err(ActionError::UnknownDirection(text.to_owned())),
        }
    }
}

impl fmt::Display for ScrollDirection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Up => "up",
            Self::Down => "down",
            Self::Left => "left",
            Self::Right => "right",
        })
    }
}

/// One thing to do on the remote desktop; `plan` turns it into Neko control events.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Warp the pointer.
    Move {
        /// Where to.
        at: Point,
    },
    /// Click a button at a point (a press also releases any held keys).
    Click {
        /// Where.
        at: Point,
        /// Which button.
        button: Button,
    },
    /// Two clicks in quick succession.
    DoubleClick {
        /// Where.
        at: Point,
        /// Which button.
        button: Button,
    },
    /// Move the pointer only (same events as `Move`).
    Hover {
        /// Where to.
        at: Point,
    },
    /// Move, then click: the touch-screen style tap.
    Tap {
        /// Where.
        at: Point,
        /// Which button.
        button: Button,
    },
    /// Press the left button at `from`, move in `steps` moves to `to`, release (drag / swipe).
    Drag {
        /// Start point.
        from: Point,
        /// End point.
        to: Point,
        /// Number of interpolated moves, at least 1.
        steps: u32,
    },
    /// Scroll by `amount` notches, at least 1, at the current pointer position.
    Scroll {
        /// Which way.
        direction: ScrollDirection,
        /// Number of wheel notches.
        amount: u32,
    },
    /// Press a key chord.
    Key(Chord),
    /// Type text character by character.
    Type(String),
    /// Paste: with text, set the clipboard first; then Ctrl+V.
    Paste(Option<String>),
    /// Ctrl+C on the server.
    Copy,
    /// Ctrl+X on the server.
    Cut,
    /// Ctrl+A on the server.
    SelectAll,
    /// Write the remote clipboard without pasting.
    SetClipboard(String),
}

impl Action {
    /// A left-button drag with the default number of steps.
    pub fn drag(from: Point, to: Point) -> Self {
        Self::Drag {
            from,
            to,
            steps: DEFAULT_DRAG_STEPS,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn button_codes_are_x_numbers() {
        assert_eq!(Button::Left.code(), 1);
        assert_eq!(Button::Middle.code(), 2);
        assert_eq!(Button::Right.code(), 3);
        assert_eq!(Button::Back.code(), 8);
        assert_eq!(Button::Forward.code(), 9);
        assert_eq!(Button::default(), Button::Left);
    }

    #[test]
    fn buttons_parse_and_print() {
        for button in [
            Button::Left,
            Button::Middle,
            Button::Right,
            Button::Back,
            Button::Forward,
        ] {
            assert_eq!(button.to_string().parse(), Ok(button));
            assert_eq!(button.code().to_string().parse(), Ok(button));
        }
        assert_eq!("RIGHT".parse(), Ok(Button::Right));
        assert_eq!(
            "wheel".parse::<Button>(),
            Err(ActionError::UnknownButton("wheel".into()))
        );
    }

    #[test]
    fn directions_parse_and_print() {
        for direction in [
            ScrollDirection::Up,
            ScrollDirection::Down,
            ScrollDirection::Left,
            ScrollDirection::Right,
        ] {
            assert_eq!(direction.to_string().parse(), Ok(direction));
        }
        assert_eq!("Down".parse(), Ok(ScrollDirection::Down));
        assert!("sideways".parse::<ScrollDirection>().is_err());
    }

    #[test]
    fn drag_uses_default_steps() {
        let action = Action::drag(Point::pixels(0, 0), Point::pixels(10, 10));
        assert!(matches!(
            action,
            Action::Drag {
                steps: DEFAULT_DRAG_STEPS,
                ..
            }
        ));
    }
}
