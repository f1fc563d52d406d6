//! What the model asks for: action names, the per-mode action spaces, and the checked action.

use std::fmt;
use std::str::FromStr;

use thiserror::Error;

/// A mode name that is neither `web` nor `phone`.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("unknown agent mode {0:?} (expected web or phone)")]
pub struct UnknownMode(pub String);

/// The action space the agent works in (`--mode` / `NEKO_MODE`), which picks prompt and whitelist.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// A desktop browser: CLICK, INPUT, SELECT, HOVER, ANSWER, ENTER, SCROLL, SELECT_TEXT, COPY.
    #[default]
    Web,
    /// A touch screen: INPUT, SWIPE, TAP, ANSWER, ENTER.
    Phone,
}

impl Mode {
    /// The actions this mode allows, in the order the Python agent lists them.
    pub fn actions(self) -> &'static [ActionKind] {
        use ActionKind::*;
        match self {
            Self::Web => &[
                Click, Input, Select, Hover, Answer, Enter, Scroll, SelectText, Copy,
            ],
            Self::Phone => &[Input, Swipe, Tap, Answer, Enter],
        }
    }

    /// Whether the model may use `kind` in this mode.
    pub fn allows(self, kind: ActionKind) -> bool {
        self.actions().contains(&kind)
    }

    /// The lower-case name the prompt and the command line use.
    pub fn name(self) -> &'static str {
        match self {
            Self::Web => "web",
            Self::Phone => "phone",
        }
    }
}

impl FromStr for Mode {
    type Err = UnknownMode;

    /// Case-insensitive `web` or `phone`.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.trim().to_ascii_lowercase().as_str() {
            "web" => Ok(Self::Web),
            "phone" => Ok(Self::Phone),
            _ => Err(UnknownMode(text.to_owned())),
        }
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An action name of ShowUI's web and phone action spaces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ActionKind {
    /// Click an element at a point.
    Click,
    /// Click an element, then type `value` into it.
    Input,
    /// Pick a value for an element (clicked, like CLICK).
    Select,
    /// Move the pointer over an element.
    Hover,
    /// Finish with an answer in `value`; no input.
    Answer,
    /// Press Return.
    Enter,
    /// Scroll in the direction named by `value`.
    Scroll,
    /// Drag from the first point to the second to select text.
    SelectText,
    /// Copy the selection to the clipboard.
    Copy,
    /// Drag across a touch screen.
    Swipe,
    /// Tap an element at a point.
    Tap,
}

impl ActionKind {
    /// Every action name, web actions first.
    pub const ALL: [Self; 11] = [
        Self::Click,
        Self::Input,
        Self::Select,
        Self::Hover,
        Self::Answer,
        Self::Enter,
        Self::Scroll,
        Self::SelectText,
        Self::Copy,
        Self::Swipe,
        Self::Tap,
    ];

    /// The upper-case name the model writes.
    pub fn name(self) -> &'static str {
        match self {
            Self::Click => "CLICK",
            Self::Input => "INPUT",
            Self::Select => "SELECT",
            Self::Hover => "HOVER",
            Self::Answer => "ANSWER",
            Self::Enter => "ENTER",
            Self::Scroll => "SCROLL",
            Self::SelectText => "SELECT_TEXT",
            Self::Copy => "COPY",
            Self::Swipe => "SWIPE",
            Self::Tap => "TAP",
        }
    }

    /// The kind with this exact upper-case name.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.name() == name)
    }
}

impl fmt::Display for ActionKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A point as fractions (0..=1) of the width and height of an image.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Coord {
    /// Fraction of the width, from the left.
    pub x: f64,
    /// Fraction of the height, from the top.
    pub y: f64,
}

impl Coord {
    /// A point at these fractions.
    pub fn new(x: f64, y: f64) -> Self {
        Self { x, y }
    }
}

/// Where an action applies: one point, or a start and an end point (SWIPE, SELECT_TEXT).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Position {
    /// `[x, y]`.
    Point(Coord),
    /// `[[x1, y1], [x2, y2]]`.
    Range(Coord, Coord),
}

/// One action the model asked for, with coordinates normalised to 0..=1.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelAction {
    /// The action name.
    pub kind: ActionKind,
    /// Text to type, answer, scroll direction or button, as the model wrote it.
    pub value: Option<String>,
    /// Where, as fractions of the image the model saw.
    pub position: Option<Position>,
    /// SCROLL only: the number of wheel steps (the optional `amount` key; 1 when absent).
    pub amount: Option<u32>,
}

impl ModelAction {
    /// An action with no value, position or amount.
    #[cfg(test)]
    pub(crate) fn new(kind: ActionKind) -> Self {
        Self {
            kind,
            value: None,
            position: None,
            amount: None,
        }
    }

    /// The position when it is a single point (the case click refinement works on).
    pub fn point(&self) -> Option<Coord> {
        match self.position {
            Some(Position::Point(point)) => Some(point),
            _ => None,
        }
    }
}

/// Builders the agent's unit tests share.
#[cfg(test)]
pub(crate) mod test_support {
    use super::{ActionKind, Coord, ModelAction, Position};

    /// An action with this value and position and no amount.
    pub(crate) fn action(
        kind: ActionKind,
        value: Option<&str>,
        position: Option<Position>,
    ) -> ModelAction {
        ModelAction {
            kind,
            value: value.map(str::to_owned),
            position,
            ..ModelAction::new(kind)
        }
    }

    /// `Some([x, y])`.
    pub(crate) fn pt(x: f64, y: f64) -> Option<Position> {
        Some(Position::Point(Coord::new(x, y)))
    }

    /// `Some([[x1, y1], [x2, y2]])`.
    pub(crate) fn range(a: (f64, f64), b: (f64, f64)) -> Option<Position> {
        Some(Position::Range(Coord::new(a.0, a.1), Coord::new(b.0, b.1)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whitelists_match_the_python_agent() {
        let names = |mode: Mode| -> Vec<&str> { mode.actions().iter().map(|k| k.name()).collect() };
        assert_eq!(
            names(Mode::Web),
            [
                "CLICK",
                "INPUT",
                "SELECT",
                "HOVER",
                "ANSWER",
                "ENTER",
                "SCROLL",
                "SELECT_TEXT",
                "COPY"
            ]
        );
        assert_eq!(
            names(Mode::Phone),
            ["INPUT", "SWIPE", "TAP", "ANSWER", "ENTER"]
        );
        assert!(Mode::Web.allows(ActionKind::Copy));
        assert!(!Mode::Web.allows(ActionKind::Tap));
        assert!(!Mode::Phone.allows(ActionKind::Scroll));
        assert!(!Mode::Phone.allows(ActionKind::Click));
    }

    #[test]
    fn every_kind_is_in_some_mode_and_names_round_trip() {
        for kind in ActionKind::ALL {
            assert!(Mode::Web.allows(kind) || Mode::Phone.allows(kind), "{kind}");
            assert_eq!(ActionKind::from_name(kind.name()), Some(kind));
            assert_eq!(kind.to_string(), kind.name());
        }
        assert_eq!(ActionKind::from_name("click"), None);
        assert_eq!(ActionKind::from_name("DONE"), None);
    }

    #[test]
    fn modes_parse_and_print() {
        assert_eq!("web".parse(), Ok(Mode::Web));
        assert_eq!(" PHONE ".parse(), Ok(Mode::Phone));
        assert_eq!(Mode::default(), Mode::Web);
        assert_eq!(Mode::Phone.to_string(), "phone");
        let err = "desktop".parse::<Mode>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown agent mode \"desktop\" (expected web or phone)"
        );
    }

    #[test]
    fn point_is_only_a_single_point() {
        let mut action = ModelAction::new(ActionKind::Click);
        assert_eq!(action.point(), None);
        action.position = Some(Position::Point(Coord::new(0.1, 0.2)));
        assert_eq!(action.point(), Some(Coord::new(0.1, 0.2)));
        action.position = Some(Position::Range(Coord::new(0.1, 0.2), Coord::new(0.3, 0.4)));
        assert_eq!(action.point(), None);
    }
}
