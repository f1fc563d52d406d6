//! Model output → a checked [`ModelAction`], tolerant of how ShowUI and chattier models print
//! actions, strict about what the action may be.
//!
//! The Python agent (`safe_parse_action`) tries `json.loads`, then the text with every `'`
//! replaced by `"` and `None`/`True`/`False` by `null`/`true`/`false`, then
//! `ast.literal_eval`; a list or tuple is reduced to its first element. This parser accepts
//! everything those accept, and more:
//!
//! * **Python literals** (`{'action': 'CLICK', 'value': None, ...}`) and JSON alike, read by
//!   one reader, so a string holding `None`, `True` or an apostrophe is kept as written (the
//!   Python replace step turns `'True Detective'` into `true Detective`; not copied).
//! * **Surrounding text**: prose before or after, Markdown code fences, and `<think>…</think>`
//!   blocks (removed first, as the Python agent does; text before a stray `</think>` is
//!   dropped too). The action is the first `{…}` that reads as a dict with an `action` key.
//! * **Several actions** (`{…},\n{…}` as ShowUI's own example prints, `[{…}, {…}]`, a tuple,
//!   or dicts one per line): the first one is taken, as Python takes the first element.
//! * **Names in any case**, trimmed (Python upper-cases them too).
//! * **Missing `value` or `position` keys** count as None (Python rejects the dict unless it is
//!   a completion action); whether the action is usable without them is checked after.
//! * **Numbers as values** become Python's `str()` of them (`42`, `0.5`, `True`), the text
//!   Python's executor would type.
//! * **0–1000 grids**: a position whose numbers are whole, at most 1000 and not all at most 1
//!   is read as Qwen's 0–1000 grid and divided by 1000 (the Python remote path does this for
//!   tool calls; the ShowUI path does not).
//!
//! It is strict where Python is silent:
//!
//! * an action outside the mode's whitelist, or an unknown name, is an error (Python logs and
//!   returns None; `DONE` is not accepted either, as in the legacy agent);
//! * coordinates must lie in 0..=1 after the 0–1000 rule; a negative number, one above 1000,
//!   or fractions mixed with numbers above 1 are errors. Python clamps such points onto the
//!   screen edge instead, which clicks somewhere the model did not mean;
//! * the action must be performable ([`to_input`]): CLICK needs a point, INPUT text and a
//!   point, SCROLL a direction, and so on. Python would skip it silently;
//! * `amount` (SCROLL only) must be a whole number of at least 1 (Python falls back to 1).
//!
//! Errors quote the output (the first [`QUOTE_LIMIT`] characters) and say what was expected.

use thiserror::Error;

use super::action::{ActionKind, Coord, Mode, ModelAction, Position};
use super::execute::{ExecuteError, to_input};
use crate::pyjson::float_repr;
use crate::pyliteral::{LiteralError, Value, read_value};

/// Characters of model output quoted in an error message.
pub const QUOTE_LIMIT: usize = 160;

/// Most `{` positions tried as the start of the action, so hostile output stays cheap.
const MAX_CANDIDATES: usize = 64;

/// What a usable action looks like, for error messages.
const ACTION_SHAPE: &str = "{'action': 'CLICK', 'value': None, 'position': [0.5, 0.5]}";

/// Why model output is not a usable action.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum ParseError {
    /// No dict could be read anywhere in the output.
    #[error("no action in model output {output}; expected a dict such as {ACTION_SHAPE}{detail}")]
    NoAction {
        /// The output, quoted and truncated.
        output: String,
        /// Why the first `{` did not read (byte offsets count after `<think>` blocks are cut).
        detail: String,
    },
    /// Dicts were found, but none has an `action` name.
    #[error("no 'action' name in model output {output}; expected a dict such as {ACTION_SHAPE}")]
    MissingAction {
        /// The output, quoted and truncated.
        output: String,
    },
    /// The action name is none of ShowUI's.
    #[error("unknown action {name:?} in model output {output}; expected one of {expected}")]
    UnknownAction {
        /// The name as written.
        name: String,
        /// The names the mode allows.
        expected: String,
        /// The output, quoted and truncated.
        output: String,
    },
    /// The action exists but not in this mode.
    #[error(
        "{kind} is not allowed in {mode} mode (model output {output}); expected one of {expected}"
    )]
    NotAllowed {
        /// The action.
        kind: ActionKind,
        /// The agent's mode.
        mode: Mode,
        /// The names the mode allows.
        expected: String,
        /// The output, quoted and truncated.
        output: String,
    },
    /// A key holds the wrong kind of value.
    #[error("{field} of {kind} in model output {output} is malformed; expected {expected}")]
    Malformed {
        /// The action.
        kind: ActionKind,
        /// `value`, `position` or `amount`.
        field: &'static str,
        /// What would have been accepted.
        expected: &'static str,
        /// The output, quoted and truncated.
        output: String,
    },
    /// A coordinate is not a fraction of the image (nor on a 0–1000 grid).
    #[error(
        "coordinate {value} in model output {output} is out of range; expected fractions 0..1 of the image (or whole numbers 0..1000 on a 0–1000 grid)"
    )]
    OutOfRange {
        /// The offending number.
        value: f64,
        /// The output, quoted and truncated.
        output: String,
    },
    /// The action is well-formed but lacks what performing it takes.
    #[error("model output {output} cannot be performed: {problem}")]
    Unusable {
        /// What is missing.
        problem: ExecuteError,
        /// The output, quoted and truncated.
        output: String,
    },
    /// Grounding output without a point.
    #[error("no point in model output {output}; expected [x, y] with fractions 0..1{detail}")]
    NoPoint {
        /// The output, quoted and truncated.
        output: String,
        /// Why the first `[` or `(` did not read, if one was there.
        detail: String,
    },
}

/// The action in `output`, checked against `mode`'s whitelist and normalised to 0..=1.
pub fn parse_action(output: &str, mode: Mode) -> Result<ModelAction, ParseError> {
    let text = strip_think(output);
    let mut first_error = None;
    let mut saw_dict = false;
    for start in text.match_indices('{').map(|(i, _)| i).take(MAX_CANDIDATES) {
        match read_value(&text[start..]) {
            Ok((dict, _)) if dict.get("action").is_some() => return to_action(&dict, mode, output),
            Ok(_) => saw_dict = true,
            Err(error) => {
                first_error.get_or_insert((start, error));
            }
        }
    }
    if saw_dict {
        return Err(ParseError::MissingAction {
            output: quote(output),
        });
    }
    Err(ParseError::NoAction {
        output: quote(output),
        detail: detail(&text, first_error),
    })
}

/// The point in grounding output such as `[0.73, 0.21]` (ShowUI's grounding prompt), 0..=1.
pub fn parse_point(output: &str) -> Result<Coord, ParseError> {
    let text = strip_think(output);
    let mut first_error = None;
    let openers = text.match_indices(['[', '(']);
    for start in openers.map(|(i, _)| i).take(MAX_CANDIDATES) {
        match read_value(&text[start..]) {
            Ok((value, _)) => {
                if let Some(mut coords) = numbers(&value)
                    && coords.len() == 2
                {
                    normalise(&mut coords, output)?;
                    return Ok(Coord::new(coords[0], coords[1]));
                }
            }
            Err(error) => {
                first_error.get_or_insert((start, error));
            }
        }
    }
    Err(ParseError::NoPoint {
        output: quote(output),
        detail: detail(&text, first_error),
    })
}

/// The output without `<think>…</think>` blocks, and without anything before a stray `</think>`.
fn strip_think(output: &str) -> String {
    const OPEN: &str = "<think>";
    const CLOSE: &str = "</think>";
    // ASCII lower-casing keeps byte offsets, so indices found in `lower` apply to `output`.
    let lower = output.to_ascii_lowercase();
    let mut kept = String::with_capacity(output.len());
    let mut pos = 0;
    while let Some(open) = lower[pos..].find(OPEN).map(|i| pos + i) {
        let Some(close) = lower[open..].find(CLOSE).map(|i| open + i) else {
            break;
        };
        kept.push_str(&output[pos..open]);
        pos = close + CLOSE.len();
    }
    kept.push_str(&output[pos..]);
    match kept.to_ascii_lowercase().rfind(CLOSE) {
        Some(close) => kept[close + CLOSE.len()..].to_owned(),
        None => kept,
    }
}

/// `; the first '{' (byte N) does not read: expected …` or nothing.
fn detail(text: &str, first_error: Option<(usize, LiteralError)>) -> String {
    let Some((start, error)) = first_error else {
        return String::new();
    };
    let bracket = text[start..].chars().next().unwrap_or('?');
    format!(
        "; the first {bracket:?} (byte {start}) does not read: expected {} at byte {}",
        error.expected,
        start + error.at
    )
}

/// `output` as a quoted string, cut after [`QUOTE_LIMIT`] characters.
fn quote(output: &str) -> String {
    let total = output.chars().count();
    if total <= QUOTE_LIMIT {
        return format!("{output:?}");
    }
    let cut: String = output.chars().take(QUOTE_LIMIT).collect();
    format!("{cut:?}… ({} more characters)", total - QUOTE_LIMIT)
}

/// A dict with an `action` key → the checked action.
fn to_action(dict: &Value, mode: Mode, output: &str) -> Result<ModelAction, ParseError> {
    let expected = || {
        mode.actions()
            .iter()
            .map(|kind| kind.name())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let Some(Value::Str(name)) = dict.get("action") else {
        return Err(ParseError::MissingAction {
            output: quote(output),
        });
    };
    let kind = ActionKind::from_name(&name.trim().to_ascii_uppercase()).ok_or_else(|| {
        ParseError::UnknownAction {
            name: name.clone(),
            expected: expected(),
            output: quote(output),
        }
    })?;
    if !mode.allows(kind) {
        return Err(ParseError::NotAllowed {
            kind,
            mode,
            expected: expected(),
            output: quote(output),
        });
    }
    let malformed = |field, expected| ParseError::Malformed {
        kind,
        field,
        expected,
        output: quote(output),
    };
    let value = match dict.get("value") {
        None | Some(Value::None) => None,
        Some(value) => {
            Some(scalar_text(value).ok_or_else(|| malformed("value", "a string or None"))?)
        }
    };
    let position = match dict.get("position") {
        None | Some(Value::None) => None,
        Some(value) => Some(
            position(value, output)?
                .ok_or_else(|| malformed("position", "[x, y], [[x1, y1], [x2, y2]] or None"))?,
        ),
    };
    let amount = match (kind, dict.get("amount")) {
        (ActionKind::Scroll, Some(value)) if *value != Value::None => Some(
            amount(value)
                .ok_or_else(|| malformed("amount", "a whole number of scroll steps, at least 1"))?,
        ),
        _ => None,
    };
    let action = ModelAction {
        kind,
        value,
        position,
        amount,
    };
    to_input(&action).map_err(|problem| ParseError::Unusable {
        problem,
        output: quote(output),
    })?;
    Ok(action)
}

/// Python's `str()` of a scalar value; None for lists and dicts.
fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::Str(text) => Some(text.clone()),
        Value::Int(n) => Some(n.to_string()),
        Value::Float(f) => Some(float_repr(*f)),
        Value::Bool(true) => Some("True".to_owned()),
        Value::Bool(false) => Some("False".to_owned()),
        Value::None | Value::List(_) | Value::Dict(_) => None,
    }
}

/// The numbers of a list holding only numbers.
fn numbers(value: &Value) -> Option<Vec<f64>> {
    match value {
        Value::List(items) => items.iter().map(Value::as_number).collect(),
        _ => None,
    }
}

/// `[x, y]` or `[[x1, y1], [x2, y2]]`, normalised; `Ok(None)` for any other shape.
fn position(value: &Value, output: &str) -> Result<Option<Position>, ParseError> {
    let mut coords = match value {
        Value::List(items) if items.len() == 2 => match (numbers(value), &items[..]) {
            (Some(point), _) => point,
            (None, [a, b]) => match (numbers(a), numbers(b)) {
                (Some(a), Some(b)) if a.len() == 2 && b.len() == 2 => [a, b].concat(),
                _ => return Ok(None),
            },
            _ => return Ok(None),
        },
        _ => return Ok(None),
    };
    normalise(&mut coords, output)?;
    Ok(Some(match coords[..] {
        [x, y] => Position::Point(Coord::new(x, y)),
        [x1, y1, x2, y2] => Position::Range(Coord::new(x1, y1), Coord::new(x2, y2)),
        _ => return Ok(None),
    }))
}

/// Checks `coords` are fractions, or rescales a 0–1000 grid; errors on anything else.
fn normalise(coords: &mut [f64], output: &str) -> Result<(), ParseError> {
    let out_of_range = |value| ParseError::OutOfRange {
        value,
        output: quote(output),
    };
    if let Some(&bad) = coords
        .iter()
        .find(|c| !c.is_finite() || **c < 0.0 || **c > 1000.0)
    {
        return Err(out_of_range(bad));
    }
    if coords.iter().all(|c| *c <= 1.0) {
        return Ok(());
    }
    if let Some(&fraction) = coords.iter().find(|c| c.fract() != 0.0) {
        return Err(out_of_range(fraction));
    }
    for c in coords.iter_mut() {
        *c /= 1000.0;
    }
    Ok(())
}

/// A SCROLL `amount`: a whole number of at least 1, also as a float or a numeric string.
fn amount(value: &Value) -> Option<u32> {
    let number = match value {
        Value::Int(n) => *n as f64,
        Value::Float(f) => *f,
        Value::Str(text) => text.trim().parse::<u32>().ok()? as f64,
        _ => return None,
    };
    let valid = number.fract() == 0.0 && (1.0..=f64::from(u32::MAX)).contains(&number);
    // Whole and in range, so the cast is exact.
    valid.then_some(number as u32)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agent::action::test_support::{action, pt, range};

    use ActionKind::*;

    /// The fixture model's scripted outputs (models/showui-fixture/fixture.json).
    const FIXTURE: &str = include_str!("../../models/showui-fixture/fixture.json");

    fn fixture(key: &str) -> String {
        let json: serde_json::Value = serde_json::from_str(FIXTURE).expect("fixture.json");
        json[key].as_str().expect(key).to_owned()
    }

    fn web(output: &str) -> Result<ModelAction, ParseError> {
        parse_action(output, Mode::Web)
    }

    fn click() -> ModelAction {
        action(Click, None, pt(0.13, 0.24))
    }

    #[test]
    fn fixture_outputs() {
        assert_eq!(web(&fixture("first_step")), Ok(click()));
        assert_eq!(
            web(&fixture("later_steps")),
            Ok(action(Answer, Some("done"), None))
        );
        assert_eq!(
            parse_action(&fixture("later_steps"), Mode::Phone),
            Ok(action(Answer, Some("done"), None))
        );
        let err = parse_action(&fixture("first_step"), Mode::Phone).unwrap_err();
        assert!(matches!(
            err,
            ParseError::NotAllowed {
                kind: Click,
                mode: Mode::Phone,
                ..
            }
        ));
    }

    #[test]
    fn tolerated_quirks() {
        let cases: &[(&str, &str)] = &[
            (
                "strict JSON",
                r#"{"action": "CLICK", "value": null, "position": [0.13, 0.24]}"#,
            ),
            (
                "Python dict",
                "{'action': 'CLICK', 'value': None, 'position': [0.13, 0.24]}",
            ),
            (
                "no spaces",
                "{'action':'CLICK','value':None,'position':[0.13,0.24]}",
            ),
            (
                "lower-case name",
                "{'action': 'click', 'value': None, 'position': [0.13, 0.24]}",
            ),
            (
                "padded name",
                "{'action': ' Click ', 'value': None, 'position': [0.13, 0.24]}",
            ),
            (
                "tuple position",
                "{'action': 'CLICK', 'value': None, 'position': (0.13, 0.24)}",
            ),
            (
                "missing value",
                "{'action': 'CLICK', 'position': [0.13, 0.24]}",
            ),
            (
                "extra keys",
                "{'action': 'CLICK', 'value': None, 'position': [0.13, 0.24], 'x': 1}",
            ),
            (
                "trailing comma",
                "{'action': 'CLICK', 'value': None, 'position': [0.13, 0.24],}",
            ),
            (
                "trailing text",
                "{'action': 'CLICK', 'value': None, 'position': [0.13, 0.24]} done.",
            ),
            (
                "leading prose",
                "Sure! I will click: {'action': 'CLICK', 'value': None, 'position': [0.13, 0.24]}",
            ),
            (
                "code fence",
                "```json\n{\"action\": \"CLICK\", \"value\": null, \"position\": [0.13, 0.24]}\n```",
            ),
            (
                "python fence",
                "```python\n{'action': 'CLICK', 'value': None, 'position': [0.13, 0.24]}\n```",
            ),
            (
                "think block",
                "<think>maybe {'action': 'ENTER'}?</think>{'action': 'CLICK', 'value': None, 'position': [0.13, 0.24]}",
            ),
            (
                "THINK upper case",
                "<THINK>hm</THINK> {'action': 'CLICK', 'value': None, 'position': [0.13, 0.24]}",
            ),
            (
                "stray close tag",
                "so {'action': 'ENTER'}</think>{'action': 'CLICK', 'value': None, 'position': [0.13, 0.24]}",
            ),
            (
                "ShowUI's own several",
                "{'action': 'CLICK', 'value': None, 'position': [0.13, 0.24]},\n{'action': 'INPUT', 'value': 'weather', 'position': [0.49, 0.42]},\n{'action': 'ENTER', 'value': None, 'position': None}",
            ),
            (
                "one per line",
                "{'action': 'CLICK', 'value': None, 'position': [0.13, 0.24]}\n{'action': 'ENTER', 'value': None, 'position': None}",
            ),
            (
                "list of actions",
                "[{'action': 'CLICK', 'value': None, 'position': [0.13, 0.24]}, {'action': 'ENTER', 'value': None, 'position': None}]",
            ),
            (
                "tuple of actions",
                "({'action': 'CLICK', 'value': None, 'position': [0.13, 0.24]},)",
            ),
            (
                "dict without action first",
                "{'thought': 'the red box'} {'action': 'CLICK', 'value': None, 'position': [0.13, 0.24]}",
            ),
            (
                "broken brace first",
                "Plan {step 1}: {'action': 'CLICK', 'value': None, 'position': [0.13, 0.24]}",
            ),
            (
                "0-1000 grid",
                "{'action': 'CLICK', 'value': None, 'position': [130, 240]}",
            ),
        ];
        for (label, output) in cases {
            assert_eq!(web(output), Ok(click()), "{label}: {output}");
        }
    }

    #[test]
    fn values_and_positions() {
        let cases: Vec<(&str, ModelAction)> = vec![
            (
                "{'action': 'INPUT', 'value': 'True Detective', 'position': [0.5, 0.1]}",
                action(Input, Some("True Detective"), pt(0.5, 0.1)),
            ),
            (
                r#"{'action': 'INPUT', 'value': "Joe's pizza", 'position': [0.5, 0.1]}"#,
                action(Input, Some("Joe's pizza"), pt(0.5, 0.1)),
            ),
            (
                r"{'action': 'INPUT', 'value': 'a\nb caf\u00e9', 'position': [0.5, 0.1]}",
                action(Input, Some("a\nb café"), pt(0.5, 0.1)),
            ),
            (
                "{'action': 'INPUT', 'value': 42, 'position': [0.5, 0.1]}",
                action(Input, Some("42"), pt(0.5, 0.1)),
            ),
            (
                "{'action': 'INPUT', 'value': 2.50, 'position': [0.5, 0.1]}",
                action(Input, Some("2.5"), pt(0.5, 0.1)),
            ),
            (
                "{'action': 'ANSWER', 'value': True, 'position': None}",
                action(Answer, Some("True"), None),
            ),
            ("{'action': 'ANSWER'}", action(Answer, None, None)),
            (
                "{'action': 'CLICK', 'value': 'right', 'position': [1, 0]}",
                action(Click, Some("right"), pt(1.0, 0.0)),
            ),
            (
                "{'action': 'CLICK', 'value': None, 'position': [0, 1000]}",
                action(Click, None, pt(0.0, 1.0)),
            ),
            (
                "{'action': 'SELECT_TEXT', 'value': None, 'position': [[0.1, 0.2], [0.3, 0.4]]}",
                action(SelectText, None, range((0.1, 0.2), (0.3, 0.4))),
            ),
            (
                "{'action': 'SELECT_TEXT', 'value': None, 'position': [[100, 200], [300, 400]]}",
                action(SelectText, None, range((0.1, 0.2), (0.3, 0.4))),
            ),
            (
                "{'action': 'ENTER', 'value': None, 'position': None}",
                action(Enter, None, None),
            ),
            (
                "{'action': 'COPY', 'value': 'the price', 'position': None}",
                action(Copy, Some("the price"), None),
            ),
            (
                "{'action': 'SCROLL', 'value': 'DOWN', 'position': None}",
                action(Scroll, Some("DOWN"), None),
            ),
        ];
        for (output, expected) in cases {
            assert_eq!(web(output), Ok(expected), "{output}");
        }
    }

    #[test]
    fn phone_actions() {
        let phone = |output| parse_action(output, Mode::Phone);
        assert_eq!(
            phone("{'action': 'TAP', 'value': None, 'position': [0.2, 0.8]}"),
            Ok(action(Tap, None, pt(0.2, 0.8)))
        );
        assert_eq!(
            phone("{'action': 'SWIPE', 'value': None, 'position': [[0.5, 0.8], [0.5, 0.2]]}"),
            Ok(action(Swipe, None, range((0.5, 0.8), (0.5, 0.2))))
        );
        assert_eq!(
            phone("{'action': 'SWIPE', 'value': 'up', 'position': None}"),
            Ok(action(Swipe, Some("up"), None))
        );
        assert_eq!(
            phone("{'action': 'INPUT', 'value': 'hi', 'position': [0.2, 0.8]}"),
            Ok(action(Input, Some("hi"), pt(0.2, 0.8)))
        );
    }

    #[test]
    fn scroll_amounts() {
        let amount_of = |output: &str| web(output).map(|a| a.amount);
        let base = "{'action': 'SCROLL', 'value': 'down', 'position': None";
        assert_eq!(amount_of(&format!("{base}}}")), Ok(None));
        assert_eq!(amount_of(&format!("{base}, 'amount': 3}}")), Ok(Some(3)));
        assert_eq!(amount_of(&format!("{base}, 'amount': 2.0}}")), Ok(Some(2)));
        assert_eq!(amount_of(&format!("{base}, 'amount': '4'}}")), Ok(Some(4)));
        assert_eq!(amount_of(&format!("{base}, 'amount': None}}")), Ok(None));
        for bad in ["0", "-2", "1.5", "'many'", "[1]", "True"] {
            let err = web(&format!("{base}, 'amount': {bad}}}")).unwrap_err();
            assert!(
                matches!(
                    err,
                    ParseError::Malformed {
                        kind: Scroll,
                        field: "amount",
                        ..
                    }
                ),
                "{bad}: {err}"
            );
        }
        // Only SCROLL reads it; Python ignores it elsewhere too.
        assert_eq!(
            web("{'action': 'ENTER', 'value': None, 'position': None, 'amount': 'x'}"),
            Ok(action(Enter, None, None))
        );
    }

    #[test]
    fn whitelist_errors() {
        let err = web("{'action': 'TAP', 'value': None, 'position': [0.2, 0.8]}").unwrap_err();
        assert_eq!(
            err.to_string(),
            "TAP is not allowed in web mode (model output \"{'action': 'TAP', 'value': None, \
             'position': [0.2, 0.8]}\"); expected one of CLICK, INPUT, SELECT, HOVER, ANSWER, \
             ENTER, SCROLL, SELECT_TEXT, COPY"
        );
        let err = parse_action(
            "{'action': 'SCROLL', 'value': 'down', 'position': None}",
            Mode::Phone,
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "SCROLL is not allowed in phone mode (model output \"{'action': 'SCROLL', 'value': \
             'down', 'position': None}\"); expected one of INPUT, SWIPE, TAP, ANSWER, ENTER"
        );
        let err = web("{'action': 'DONE', 'value': None, 'position': None}").unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown action \"DONE\" in model output \"{'action': 'DONE', 'value': None, \
             'position': None}\"; expected one of CLICK, INPUT, SELECT, HOVER, ANSWER, ENTER, \
             SCROLL, SELECT_TEXT, COPY"
        );
    }

    #[test]
    fn no_action_errors() {
        let garbage = "I cannot do that";
        assert_eq!(
            web(garbage).unwrap_err().to_string(),
            "no action in model output \"I cannot do that\"; expected a dict such as \
             {'action': 'CLICK', 'value': None, 'position': [0.5, 0.5]}"
        );
        assert!(matches!(web(""), Err(ParseError::NoAction { .. })));
        assert_eq!(
            web("{'action': 'CLICK', 'value': None, 'position': [0.1, 0.2]")
                .unwrap_err()
                .to_string(),
            "no action in model output \"{'action': 'CLICK', 'value': None, 'position': [0.1, \
             0.2]\"; expected a dict such as {'action': 'CLICK', 'value': None, 'position': \
             [0.5, 0.5]}; the first '{' (byte 0) does not read: expected ',' or '}' at byte 57"
        );
        assert_eq!(
            web("ok {'thought': 'none'}").unwrap_err().to_string(),
            "no 'action' name in model output \"ok {'thought': 'none'}\"; expected a dict \
             such as {'action': 'CLICK', 'value': None, 'position': [0.5, 0.5]}"
        );
        assert!(matches!(
            web("{'action': None, 'value': None}"),
            Err(ParseError::MissingAction { .. })
        ));
        assert!(matches!(
            web("<think>{'action': 'ENTER', 'value': None, 'position': None}</think>"),
            Err(ParseError::NoAction { .. })
        ));
    }

    #[test]
    fn malformed_fields() {
        let cases: &[(&str, &str, &str)] = &[
            (
                "{'action': 'INPUT', 'value': ['a'], 'position': [0.1, 0.1]}",
                "value",
                "value of INPUT in model output \"{'action': 'INPUT', 'value': ['a'], \
                 'position': [0.1, 0.1]}\" is malformed; expected a string or None",
            ),
            (
                "{'action': 'CLICK', 'value': None, 'position': [0.1]}",
                "position",
                "position of CLICK in model output \"{'action': 'CLICK', 'value': None, \
                 'position': [0.1]}\" is malformed; expected [x, y], [[x1, y1], [x2, y2]] or None",
            ),
            (
                "{'action': 'CLICK', 'value': None, 'position': [0.1, 0.2, 0.3, 0.4]}",
                "position",
                "",
            ),
            (
                "{'action': 'CLICK', 'value': None, 'position': '[0.1, 0.2]'}",
                "position",
                "",
            ),
            (
                "{'action': 'CLICK', 'value': None, 'position': [[0.1, 0.2]]}",
                "position",
                "",
            ),
            (
                "{'action': 'CLICK', 'value': None, 'position': [0.1, 'a']}",
                "position",
                "",
            ),
            (
                "{'action': 'SELECT_TEXT', 'value': None, 'position': [[0.1, 0.2], [0.3]]}",
                "position",
                "",
            ),
        ];
        for (output, field, message) in cases {
            let err = web(output).unwrap_err();
            assert!(
                matches!(err, ParseError::Malformed { field: f, .. } if f == *field),
                "{output}: {err}"
            );
            if !message.is_empty() {
                assert_eq!(err.to_string(), *message);
            }
        }
    }

    #[test]
    fn coordinates_out_of_range() {
        let cases: &[(&str, f64)] = &[
            ("[-0.1, 0.5]", -0.1),
            ("[0.5, 1001]", 1001.0),
            ("[0.5, 1.5]", 0.5),
            ("[500, 0.25]", 0.25),
            ("[[0.1, 0.2], [1.2, 0.4]]", 0.1),
            ("[1e400, 0.5]", f64::INFINITY),
        ];
        for (position, value) in cases {
            let output = format!("{{'action': 'CLICK', 'value': None, 'position': {position}}}");
            let kind = if position.starts_with("[[") {
                SelectText
            } else {
                Click
            };
            let output = output.replace("CLICK", kind.name());
            match web(&output) {
                Err(ParseError::OutOfRange { value: v, .. }) => assert_eq!(v, *value, "{output}"),
                other => panic!("{output}: {other:?}"),
            }
        }
        assert_eq!(
            web("{'action': 'CLICK', 'value': None, 'position': [0.5, 1.5]}")
                .unwrap_err()
                .to_string(),
            "coordinate 0.5 in model output \"{'action': 'CLICK', 'value': None, 'position': \
             [0.5, 1.5]}\" is out of range; expected fractions 0..1 of the image (or whole \
             numbers 0..1000 on a 0–1000 grid)"
        );
    }

    #[test]
    fn unusable_actions() {
        let cases: &[(&str, &str)] = &[
            (
                "{'action': 'CLICK', 'value': None, 'position': None}",
                "CLICK needs position [x, y] (one point)",
            ),
            (
                "{'action': 'INPUT', 'value': None, 'position': [0.1, 0.1]}",
                "INPUT needs the text to type as value",
            ),
            (
                "{'action': 'SCROLL', 'value': 'sideways', 'position': None}",
                "SCROLL needs value up, down, left or right, not Some(\"sideways\")",
            ),
            (
                "{'action': 'SELECT_TEXT', 'value': None, 'position': [0.1, 0.1]}",
                "SELECT_TEXT needs position [[x1, y1], [x2, y2]] (a start and an end point)",
            ),
        ];
        for (output, problem) in cases {
            let err = web(output).unwrap_err();
            assert_eq!(
                err.to_string(),
                format!("model output {output:?} cannot be performed: {problem}")
            );
        }
    }

    #[test]
    fn long_output_is_truncated_in_errors() {
        let long = format!("{}é", "x".repeat(300));
        let message = web(&long).unwrap_err().to_string();
        let expected_quote = format!("\"{}\"… (141 more characters)", "x".repeat(QUOTE_LIMIT));
        assert!(message.contains(&expected_quote), "{message}");
        assert!(!message.contains('é'));
    }

    #[test]
    fn hostile_output_stays_cheap() {
        let braces = "{".repeat(200_000);
        assert!(matches!(web(&braces), Err(ParseError::NoAction { .. })));
        let many = "{'a': [1, 2, 3]} ".repeat(10_000);
        assert!(matches!(web(&many), Err(ParseError::MissingAction { .. })));
    }

    #[test]
    fn strip_think_cases() {
        let cases: &[(&str, &str)] = &[
            ("plain", "plain"),
            ("a<think>x</think>b", "ab"),
            ("<Think>x</THINK>a<think>y</think>b", "ab"),
            ("a<think>unclosed", "a<think>unclosed"),
            ("reasoning</think>answer", "answer"),
            ("é<think>ü</think>ß", "éß"),
        ];
        for (input, expected) in cases {
            assert_eq!(strip_think(input), *expected, "{input}");
        }
    }

    #[test]
    fn grounding_points() {
        let cases: &[(&str, (f64, f64))] = &[
            ("[0.73, 0.21]", (0.73, 0.21)),
            ("(0.73, 0.21)", (0.73, 0.21)),
            ("The element is at [0.73, 0.21].", (0.73, 0.21)),
            ("[730, 210]", (0.73, 0.21)),
            ("<think>[0.1, 0.1]</think>[1, 1]", (1.0, 1.0)),
            ("[[0.73, 0.21]]", (0.73, 0.21)),
        ];
        for (output, (x, y)) in cases {
            assert_eq!(parse_point(output), Ok(Coord::new(*x, *y)), "{output}");
        }
        assert!(matches!(
            parse_point("[0.5, -0.2]"),
            Err(ParseError::OutOfRange { .. })
        ));
        assert_eq!(
            parse_point("[0.5, 0.2, 0.1] nope").unwrap_err().to_string(),
            "no point in model output \"[0.5, 0.2, 0.1] nope\"; expected [x, y] with fractions 0..1"
        );
        assert_eq!(
            parse_point("[0.5").unwrap_err().to_string(),
            "no point in model output \"[0.5\"; expected [x, y] with fractions 0..1; the first \
             '[' (byte 0) does not read: expected ',' or ']' at byte 4"
        );
    }
}
