//! The actions a task has taken, kept between steps and written into the prompt the way the
//! Python agent writes them.
//!
//! The Python agent appends each step's parsed action dict and sends
//! `Action history: ` + `json.dumps(history)` as a text part of the prompt, so the model sees
//! `Action history: [{"action": "CLICK", "value": null, "position": [0.13, 0.24]}]`. That is
//! JSON with Python's spacing (`", "` and `": "`), non-ASCII escaped as `\uXXXX`, and floats as
//! Python prints them. Differences, all deliberate:
//! * keys are always `action`, `value`, `position`, then `amount` when SCROLL has one; Python
//!   keeps whatever keys and order the model wrote;
//! * positions are the refined whole-frame fractions, always written as floats (`1.0`, where
//!   Python would keep a model's integer `1`); a number the model gave as `value` is the string
//!   Python's executor would type (`"42"`).

use super::action::{Coord, ModelAction, Position};
use crate::pyjson::{float_json, string as json_string};

/// The prefix of the history's prompt text.
pub const HISTORY_PREFIX: &str = "Action history: ";

/// The actions performed so far in one task, oldest first.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct History {
    actions: Vec<ModelAction>,
}

impl History {
    /// An empty history, for a new task.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records a performed action.
    pub fn push(&mut self, action: ModelAction) {
        self.actions.push(action);
    }

    /// The actions so far, oldest first.
    pub fn actions(&self) -> &[ModelAction] {
        &self.actions
    }

    /// Whether no action has been performed yet.
    pub fn is_empty(&self) -> bool {
        self.actions.is_empty()
    }

    /// The prompt's `Action history: [...]` text, or None before the first action (Python then
    /// leaves the part out).
    pub fn prompt_text(&self) -> Option<String> {
        if self.is_empty() {
            return None;
        }
        let items: Vec<String> = self.actions.iter().map(action_json).collect();
        Some(format!("{HISTORY_PREFIX}[{}]", items.join(", ")))
    }
}

/// One action as Python's `json.dumps` writes its dict:
/// `{"action": "CLICK", "value": null, "position": [0.13, 0.24]}`.
pub fn action_json(action: &ModelAction) -> String {
    let value = action
        .value
        .as_deref()
        .map_or_else(|| "null".to_owned(), json_string);
    let position = match action.position {
        None => "null".to_owned(),
        Some(Position::Point(point)) => point_json(point),
        Some(Position::Range(from, to)) => format!("[{}, {}]", point_json(from), point_json(to)),
    };
    let amount = action
        .amount
        .map(|amount| format!(", \"amount\": {amount}"))
        .unwrap_or_default();
    format!(
        "{{\"action\": \"{}\", \"value\": {value}, \"position\": {position}{amount}}}",
        action.kind
    )
}

/// `[x, y]` with Python's float repr.
fn point_json(point: Coord) -> String {
    format!("[{}, {}]", float_json(point.x), float_json(point.y))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agent::action::ActionKind;
    use crate::agent::action::test_support::action;

    #[test]
    fn actions_render_like_json_dumps() {
        let point = |x, y| Some(Position::Point(Coord::new(x, y)));
        let cases: Vec<(ModelAction, &str)> = vec![
            (
                action(ActionKind::Click, None, point(0.13, 0.24)),
                r#"{"action": "CLICK", "value": null, "position": [0.13, 0.24]}"#,
            ),
            (
                action(ActionKind::Click, None, point(1.0, 0.0)),
                r#"{"action": "CLICK", "value": null, "position": [1.0, 0.0]}"#,
            ),
            (
                action(ActionKind::Input, Some("weather"), point(0.49, 0.42)),
                r#"{"action": "INPUT", "value": "weather", "position": [0.49, 0.42]}"#,
            ),
            (
                action(ActionKind::Enter, None, None),
                r#"{"action": "ENTER", "value": null, "position": null}"#,
            ),
            (
                action(
                    ActionKind::SelectText,
                    None,
                    Some(Position::Range(
                        Coord::new(0.1, 0.2),
                        Coord::new(0.3, 0.00001),
                    )),
                ),
                r#"{"action": "SELECT_TEXT", "value": null, "position": [[0.1, 0.2], [0.3, 1e-05]]}"#,
            ),
            (
                ModelAction {
                    amount: Some(3),
                    ..action(ActionKind::Scroll, Some("down"), None)
                },
                r#"{"action": "SCROLL", "value": "down", "position": null, "amount": 3}"#,
            ),
        ];
        for (action, expected) in cases {
            assert_eq!(action_json(&action), expected);
        }
    }

    #[test]
    fn strings_are_escaped_like_ensure_ascii() {
        let cases: &[(&str, &str)] = &[
            ("plain", r#""plain""#),
            ("say \"hi\"", r#""say \"hi\"""#),
            ("a\\b", r#""a\\b""#),
            ("l1\nl2\r\t", r#""l1\nl2\r\t""#),
            ("\u{8}\u{c}\u{1}\u{7f}", r#""\b\f\u0001\u007f""#),
            ("café", r#""caf\u00e9""#),
            ("日本", r#""\u65e5\u672c""#),
            ("😀", r#""\ud83d\ude00""#),
            ("it's", r#""it's""#),
        ];
        for (text, expected) in cases {
            assert_eq!(json_string(text), *expected, "{text:?}");
        }
    }

    #[test]
    fn prompt_text_lists_every_action() {
        let mut history = History::new();
        assert!(history.is_empty());
        assert_eq!(history.prompt_text(), None);
        let click = action(
            ActionKind::Click,
            None,
            Some(Position::Point(Coord::new(0.13, 0.24))),
        );
        history.push(click.clone());
        assert_eq!(
            history.prompt_text().as_deref(),
            Some(
                r#"Action history: [{"action": "CLICK", "value": null, "position": [0.13, 0.24]}]"#
            )
        );
        history.push(action(ActionKind::Enter, None, None));
        assert_eq!(
            history.prompt_text().as_deref(),
            Some(
                r#"Action history: [{"action": "CLICK", "value": null, "position": [0.13, 0.24]}, {"action": "ENTER", "value": null, "position": null}]"#
            )
        );
        assert_eq!(history.actions().len(), 2);
        assert_eq!(history.actions()[0], click);
    }
}
