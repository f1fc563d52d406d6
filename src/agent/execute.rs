//! A checked [`ModelAction`] → the input layer's [`Action`]s, as the Python agent's executor
//! maps them (python-reference §2.6).
//!
//! Normalised points go to the input layer as [`Point::normalized`], which scales them by the
//! remote **screen** size (not the video frame's, the legacy Python bug §8.20) and clamps them.
//!
//! | model action | input actions |
//! |---|---|
//! | CLICK / SELECT `[x, y]` | click (button from `value` when it is `left`/`middle`/`right`, else left) |
//! | TAP `[x, y]` | tap: move, then click (button as for CLICK) |
//! | HOVER `[x, y]` | hover (a move) |
//! | INPUT `[x, y]` + text | left click, then type the text (`\n` is Return); no clearing, no Enter |
//! | ENTER | the Return key |
//! | SCROLL + direction | scroll `amount` steps (default 1) at the pointer |
//! | SELECT_TEXT `[[x1, y1], [x2, y2]]` | left-button drag |
//! | SWIPE `[[x1, y1], [x2, y2]]`, or a direction | left-button drag |
//! | COPY | the server's copy (Ctrl+C) |
//! | ANSWER | nothing; the answer text is returned |
//!
//! Where the Python executor silently does nothing (a CLICK without a point, an INPUT without
//! text, an unknown scroll direction), this is an [`ExecuteError`]; the parser uses the same
//! check, so it only hands out actions that can be performed.
//!
//! Two extensions: SWIPE also takes a direction in `value` (`up` moves the finger up, from the
//! given point or the centre, by [`SWIPE_SPAN`]), and a SCROLL direction is trimmed and
//! case-insensitive (Python lower-cases it too).

use thiserror::Error;

use super::action::{ActionKind, Coord, ModelAction, Position};
use crate::input::{Action, Button, Chord, Keysym, Point, ScrollDirection};

/// How far a SWIPE given as a direction moves, as a fraction of the screen.
pub const SWIPE_SPAN: f64 = 0.4;

/// Why a model action cannot be performed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ExecuteError {
    /// The action needs a single point.
    #[error("{kind} needs position [x, y] (one point)")]
    NeedsPoint {
        /// The action.
        kind: ActionKind,
    },
    /// The action needs a start and an end point.
    #[error("{kind} needs position [[x1, y1], [x2, y2]] (a start and an end point)")]
    NeedsRange {
        /// The action.
        kind: ActionKind,
    },
    /// SWIPE needs two points or a direction.
    #[error(
        "{kind} needs position [[x1, y1], [x2, y2]], or value up, down, left or right with position [x, y] or None"
    )]
    NeedsRangeOrDirection {
        /// The action.
        kind: ActionKind,
    },
    /// The action needs non-empty text in `value`.
    #[error("{kind} needs the text to type as value")]
    NeedsText {
        /// The action.
        kind: ActionKind,
    },
    /// The action needs a direction in `value`.
    #[error("{kind} needs value up, down, left or right, not {value:?}")]
    NeedsDirection {
        /// The action.
        kind: ActionKind,
        /// What the model gave.
        value: Option<String>,
    },
}

/// What performing a model action takes.
#[derive(Debug, Clone, PartialEq)]
pub struct Execution {
    /// Input to perform, in order (empty for ANSWER).
    pub input: Vec<Action>,
    /// ANSWER's text (empty when the model gave none); the task is finished.
    pub answer: Option<String>,
}

impl Execution {
    fn input(input: Vec<Action>) -> Self {
        Self {
            input,
            answer: None,
        }
    }
}

/// The input that performs `action`, or why it cannot be performed.
pub fn to_input(action: &ModelAction) -> Result<Execution, ExecuteError> {
    let kind = action.kind;
    let point = || {
        action
            .point()
            .map(screen_point)
            .ok_or(ExecuteError::NeedsPoint { kind })
    };
    Ok(match kind {
        ActionKind::Click | ActionKind::Select => Execution::input(vec![Action::Click {
            at: point()?,
            button: button(action.value.as_deref()),
        }]),
        ActionKind::Tap => Execution::input(vec![Action::Tap {
            at: point()?,
            button: button(action.value.as_deref()),
        }]),
        ActionKind::Hover => Execution::input(vec![Action::Hover { at: point()? }]),
        ActionKind::Input => {
            let at = point()?;
            let text = action
                .value
                .clone()
                .filter(|text| !text.is_empty())
                .ok_or(ExecuteError::NeedsText { kind })?;
            Execution::input(vec![
                Action::Click {
                    at,
                    button: Button::Left,
                },
                Action::Type(text),
            ])
        }
        ActionKind::Enter => Execution::input(vec![Action::Key(Chord::single(Keysym::RETURN))]),
        ActionKind::Scroll => Execution::input(vec![Action::Scroll {
            direction: direction(action)?,
            amount: action.amount.unwrap_or(1),
        }]),
        ActionKind::SelectText => match action.position {
            Some(Position::Range(from, to)) => Execution::input(vec![drag(from, to)]),
            _ => return Err(ExecuteError::NeedsRange { kind }),
        },
        ActionKind::Swipe => Execution::input(vec![swipe(action)?]),
        ActionKind::Copy => Execution::input(vec![Action::Copy]),
        ActionKind::Answer => Execution {
            input: Vec::new(),
            answer: Some(action.value.clone().unwrap_or_default()),
        },
    })
}

/// A model point as a normalised screen point.
fn screen_point(coord: Coord) -> Point {
    Point::normalized(coord.x, coord.y)
}

/// A left-button drag between two model points.
fn drag(from: Coord, to: Coord) -> Action {
    Action::drag(screen_point(from), screen_point(to))
}

/// The button a click `value` names, as Python's `BUTTON_CODES` lookup: left, middle or right,
/// any case; anything else (often the element's text) is the left button.
fn button(value: Option<&str>) -> Button {
    match value.map(|v| v.trim().to_ascii_lowercase()).as_deref() {
        Some("middle") => Button::Middle,
        Some("right") => Button::Right,
        _ => Button::Left,
    }
}

/// The scroll direction in `value`.
fn direction(action: &ModelAction) -> Result<ScrollDirection, ExecuteError> {
    action
        .value
        .as_deref()
        .and_then(|value| value.parse().ok())
        .ok_or_else(|| ExecuteError::NeedsDirection {
            kind: action.kind,
            value: action.value.clone(),
        })
}

/// SWIPE from two points, or [`SWIPE_SPAN`] in a direction from a point or the centre.
fn swipe(action: &ModelAction) -> Result<Action, ExecuteError> {
    let start = match action.position {
        Some(Position::Range(from, to)) => return Ok(drag(from, to)),
        Some(Position::Point(start)) => start,
        None => Coord::new(0.5, 0.5),
    };
    let direction =
        direction(action).map_err(|_| ExecuteError::NeedsRangeOrDirection { kind: action.kind })?;
    let (dx, dy) = match direction {
        ScrollDirection::Up => (0.0, -SWIPE_SPAN),
        ScrollDirection::Down => (0.0, SWIPE_SPAN),
        ScrollDirection::Left => (-SWIPE_SPAN, 0.0),
        ScrollDirection::Right => (SWIPE_SPAN, 0.0),
    };
    let end = Coord::new(
        (start.x + dx).clamp(0.0, 1.0),
        (start.y + dy).clamp(0.0, 1.0),
    );
    Ok(drag(start, end))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agent::action::test_support::{action as act, pt, range};

    fn n(x: f64, y: f64) -> Point {
        Point::normalized(x, y)
    }

    fn input(action: &ModelAction) -> Vec<Action> {
        let execution = to_input(action).unwrap_or_else(|e| panic!("{action:?}: {e}"));
        assert_eq!(execution.answer, None);
        execution.input
    }

    #[test]
    fn actions_map_like_the_python_executor() {
        use ActionKind::*;
        let left = Button::Left;
        let cases: Vec<(ModelAction, Vec<Action>)> = vec![
            (
                act(Click, None, pt(0.13, 0.24)),
                vec![Action::Click {
                    at: n(0.13, 0.24),
                    button: left,
                }],
            ),
            (
                act(Click, Some("Right"), pt(0.5, 0.5)),
                vec![Action::Click {
                    at: n(0.5, 0.5),
                    button: Button::Right,
                }],
            ),
            (
                act(Click, Some("middle"), pt(0.5, 0.5)),
                vec![Action::Click {
                    at: n(0.5, 0.5),
                    button: Button::Middle,
                }],
            ),
            (
                act(Click, Some("Search button"), pt(0.5, 0.5)),
                vec![Action::Click {
                    at: n(0.5, 0.5),
                    button: left,
                }],
            ),
            (
                act(Select, None, pt(0.2, 0.3)),
                vec![Action::Click {
                    at: n(0.2, 0.3),
                    button: left,
                }],
            ),
            (
                act(Tap, None, pt(0.2, 0.3)),
                vec![Action::Tap {
                    at: n(0.2, 0.3),
                    button: left,
                }],
            ),
            (
                act(Hover, None, pt(0.2, 0.3)),
                vec![Action::Hover { at: n(0.2, 0.3) }],
            ),
            (
                act(Input, Some("weather\nin Paris"), pt(0.49, 0.42)),
                vec![
                    Action::Click {
                        at: n(0.49, 0.42),
                        button: left,
                    },
                    Action::Type("weather\nin Paris".into()),
                ],
            ),
            (
                act(Input, Some("right"), pt(0.49, 0.42)),
                vec![
                    Action::Click {
                        at: n(0.49, 0.42),
                        button: left,
                    },
                    Action::Type("right".into()),
                ],
            ),
            (
                act(Enter, None, None),
                vec![Action::Key(Chord::single(Keysym::RETURN))],
            ),
            (
                act(Enter, None, pt(0.5, 0.5)),
                vec![Action::Key(Chord::single(Keysym::RETURN))],
            ),
            (
                act(Scroll, Some(" Down "), None),
                vec![Action::Scroll {
                    direction: ScrollDirection::Down,
                    amount: 1,
                }],
            ),
            (
                act(SelectText, None, range((0.1, 0.2), (0.3, 0.4))),
                vec![Action::drag(n(0.1, 0.2), n(0.3, 0.4))],
            ),
            (
                act(Swipe, None, range((0.5, 0.8), (0.5, 0.2))),
                vec![Action::drag(n(0.5, 0.8), n(0.5, 0.2))],
            ),
            (
                act(Swipe, Some("up"), None),
                vec![Action::drag(n(0.5, 0.5), n(0.5, 0.09999999999999998))],
            ),
            (
                act(Swipe, Some("LEFT"), pt(0.3, 0.6)),
                vec![Action::drag(n(0.3, 0.6), n(0.0, 0.6))],
            ),
            (
                act(Swipe, Some("down"), pt(0.3, 0.9)),
                vec![Action::drag(n(0.3, 0.9), n(0.3, 1.0))],
            ),
            (
                act(Swipe, Some("right"), pt(0.1, 0.1)),
                vec![Action::drag(n(0.1, 0.1), n(0.5, 0.1))],
            ),
            (act(Copy, Some("the price"), None), vec![Action::Copy]),
        ];
        for (action, expected) in cases {
            assert_eq!(input(&action), expected, "{action:?}");
        }
    }

    #[test]
    fn scroll_uses_the_amount() {
        let mut action = act(ActionKind::Scroll, Some("up"), None);
        action.amount = Some(3);
        assert_eq!(
            input(&action),
            vec![Action::Scroll {
                direction: ScrollDirection::Up,
                amount: 3
            }]
        );
    }

    #[test]
    fn answer_sends_nothing_and_returns_the_text() {
        let done = to_input(&act(ActionKind::Answer, Some("done"), None)).unwrap();
        assert_eq!(
            done,
            Execution {
                input: vec![],
                answer: Some("done".into())
            }
        );
        let empty = to_input(&act(ActionKind::Answer, None, pt(0.1, 0.1))).unwrap();
        assert_eq!(empty.answer, Some(String::new()));
        assert!(empty.input.is_empty());
    }

    #[test]
    fn malformed_actions_are_errors() {
        use ActionKind::*;
        let cases: Vec<(ModelAction, ExecuteError, &str)> = vec![
            (
                act(Click, None, None),
                ExecuteError::NeedsPoint { kind: Click },
                "CLICK needs position [x, y] (one point)",
            ),
            (
                act(Tap, None, range((0.1, 0.1), (0.2, 0.2))),
                ExecuteError::NeedsPoint { kind: Tap },
                "TAP needs position [x, y] (one point)",
            ),
            (
                act(Hover, None, None),
                ExecuteError::NeedsPoint { kind: Hover },
                "HOVER needs position [x, y] (one point)",
            ),
            (
                act(Input, Some("text"), None),
                ExecuteError::NeedsPoint { kind: Input },
                "INPUT needs position [x, y] (one point)",
            ),
            (
                act(Input, None, pt(0.1, 0.1)),
                ExecuteError::NeedsText { kind: Input },
                "INPUT needs the text to type as value",
            ),
            (
                act(Input, Some(""), pt(0.1, 0.1)),
                ExecuteError::NeedsText { kind: Input },
                "INPUT needs the text to type as value",
            ),
            (
                act(Scroll, Some("sideways"), None),
                ExecuteError::NeedsDirection {
                    kind: Scroll,
                    value: Some("sideways".into()),
                },
                "SCROLL needs value up, down, left or right, not Some(\"sideways\")",
            ),
            (
                act(Scroll, None, None),
                ExecuteError::NeedsDirection {
                    kind: Scroll,
                    value: None,
                },
                "SCROLL needs value up, down, left or right, not None",
            ),
            (
                act(SelectText, None, pt(0.1, 0.1)),
                ExecuteError::NeedsRange { kind: SelectText },
                "SELECT_TEXT needs position [[x1, y1], [x2, y2]] (a start and an end point)",
            ),
            (
                act(Swipe, None, pt(0.1, 0.1)),
                ExecuteError::NeedsRangeOrDirection { kind: Swipe },
                "SWIPE needs position [[x1, y1], [x2, y2]], or value up, down, left or right \
                 with position [x, y] or None",
            ),
        ];
        for (action, error, message) in cases {
            assert_eq!(to_input(&action), Err(error), "{action:?}");
            assert_eq!(to_input(&action).unwrap_err().to_string(), message);
        }
    }
}
