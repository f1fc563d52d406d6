//! Turns an [`Action`] into the exact, timed sequence of Neko control events.

use std::time::Duration;

use gstneko::protocol::{
    ClientEvent, ClipboardText, ControlButton, ControlKey, ControlPaste, ControlPos, ControlScroll,
};
use thiserror::Error;

use super::action::{Action, Button, ScrollDirection};
use super::chord::Chord;
use super::coords::{CoordError, Point, Screen};
use super::keysym::{Keysym, keysym_for_char};

/// Pause between the two presses of a double click (inside the usual 50–100 ms window).
pub const DOUBLE_CLICK_GAP: Duration = Duration::from_millis(80);

/// Pause after each event of a drag, about one 60 Hz frame.
pub const DRAG_STEP_GAP: Duration = Duration::from_millis(16);

/// Most moves a drag may make: Neko releases buttons held longer than 10 s.
pub const MAX_DRAG_STEPS: u32 = 500;

/// Why an action cannot be sent.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum PlanError {
    /// A point could not be placed on the screen.
    #[error(transparent)]
    Coord(#[from] CoordError),
    /// Zero notches would make the server read the legacy `x`/`y` fields as deltas.
    #[error("scroll amount must be at least 1")]
    ZeroScroll,
    /// More notches than the protocol's `i32` delta holds.
    #[error("scroll amount {0} is too large")]
    ScrollTooLarge(u32),
    /// A drag needs between 1 and [`MAX_DRAG_STEPS`] moves.
    #[error("drag steps must be between 1 and {MAX_DRAG_STEPS}, got {0}")]
    DragSteps(u32),
    /// A control character with no key to type it.
    #[error("cannot type control character U+{:04X} at position {index}", u32::from(*.character))]
    Untypeable {
        /// The character.
        character: char,
        /// Its 0-based character index in the text.
        index: usize,
    },
}

/// One event to send, and how long to wait before sending the next.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    /// The WebSocket event.
    pub event: ClientEvent,
    /// Pause after sending it.
    pub delay_after: Duration,
}

impl Step {
    /// An event followed immediately by the next.
    fn now(event: ClientEvent) -> Self {
        Self::then_wait(event, Duration::ZERO)
    }

    /// An event followed by a pause.
    fn then_wait(event: ClientEvent, delay_after: Duration) -> Self {
        Self { event, delay_after }
    }
}

/// The events that perform `action` on a screen of the given size, in order.
pub fn plan(action: &Action, screen: &Screen) -> Result<Vec<Step>, PlanError> {
    Ok(match action {
        Action::Move { at } | Action::Hover { at } => {
            vec![Step::now(move_to(screen.resolve(*at)?))]
        }
        Action::Click { at, button } => {
            let (x, y) = screen.resolve(*at)?;
            vec![Step::now(button_press(*button, x, y))]
        }
        Action::DoubleClick { at, button } => {
            let (x, y) = screen.resolve(*at)?;
            vec![
                Step::then_wait(button_press(*button, x, y), DOUBLE_CLICK_GAP),
                Step::now(button_press(*button, x, y)),
            ]
        }
        Action::Tap { at, button } => {
            let (x, y) = screen.resolve(*at)?;
            vec![
                Step::now(move_to((x, y))),
                Step::now(button_press(*button, x, y)),
            ]
        }
        Action::Drag { from, to, steps } => drag(screen, *from, *to, *steps)?,
        Action::Scroll { direction, amount } => vec![Step::now(scroll(*direction, *amount)?)],
        Action::Key(chord) => key_chord(chord),
        Action::Type(text) => type_text(text)?,
        Action::Paste(text) => vec![Step::now(ClientEvent::ControlPaste(ControlPaste {
            text: text.clone(),
            ..Default::default()
        }))],
        Action::Copy => vec![Step::now(ClientEvent::ControlCopy)],
        Action::Cut => vec![Step::now(ClientEvent::ControlCut)],
        Action::SelectAll => vec![Step::now(ClientEvent::ControlSelectAll)],
        Action::SetClipboard(text) => vec![Step::now(ClientEvent::ClipboardSet(ClipboardText {
            text: text.clone(),
            ..Default::default()
        }))],
    })
}

/// `control/move {x, y}`.
fn move_to((x, y): (i32, i32)) -> ClientEvent {
    ClientEvent::ControlMove(ControlPos {
        x,
        y,
        ..Default::default()
    })
}

/// `control/buttonpress {code, x, y}`: move there, then click.
fn button_press(button: Button, x: i32, y: i32) -> ClientEvent {
    ClientEvent::ControlButtonPress(ControlButton {
        code: button.code(),
        x: Some(x),
        y: Some(y),
        ..Default::default()
    })
}

/// `control/buttondown|buttonup {code}` payload without a move.
fn button_only(button: Button) -> ControlButton {
    ControlButton {
        code: button.code(),
        ..Default::default()
    }
}

/// `control/key* {keysym}` payload without a move.
fn key(keysym: Keysym) -> ControlKey {
    ControlKey {
        keysym: keysym.0,
        ..Default::default()
    }
}

/// Move to `from`, hold the left button, move in `steps` even steps to `to`, release.
fn drag(screen: &Screen, from: Point, to: Point, steps: u32) -> Result<Vec<Step>, PlanError> {
    if !(1..=MAX_DRAG_STEPS).contains(&steps) {
        return Err(PlanError::DragSteps(steps));
    }
    let start = screen.resolve(from)?;
    let end = screen.resolve(to)?;
    let mut events = Vec::with_capacity(steps as usize + 3);
    events.push(Step::then_wait(move_to(start), DRAG_STEP_GAP));
    events.push(Step::then_wait(
        ClientEvent::ControlButtonDown(button_only(Button::Left)),
        DRAG_STEP_GAP,
    ));
    for step in 1..=steps {
        let fraction = f64::from(step) / f64::from(steps);
        let point = (
            interpolate(start.0, end.0, fraction),
            interpolate(start.1, end.1, fraction),
        );
        events.push(Step::then_wait(move_to(point), DRAG_STEP_GAP));
    }
    events.push(Step::now(ClientEvent::ControlButtonUp(button_only(
        Button::Left,
    ))));
    Ok(events)
}

/// The pixel `fraction` of the way from `a` to `b`, rounded.
fn interpolate(a: i32, b: i32, fraction: f64) -> i32 {
    let (a, b) = (f64::from(a), f64::from(b));
    // Between a and b, both i32, so the cast is in range.
    (a + (b - a) * fraction).round() as i32
}

/// `control/scroll` with Neko's signs: positive `delta_y` is up, positive `delta_x` is left.
fn scroll(direction: ScrollDirection, amount: u32) -> Result<ClientEvent, PlanError> {
    if amount == 0 {
        return Err(PlanError::ZeroScroll);
    }
    let notches = i32::try_from(amount).map_err(|_| PlanError::ScrollTooLarge(amount))?;
    let (delta_x, delta_y) = match direction {
        ScrollDirection::Up => (0, notches),
        ScrollDirection::Down => (0, -notches),
        ScrollDirection::Left => (notches, 0),
        ScrollDirection::Right => (-notches, 0),
    };
    Ok(ClientEvent::ControlScroll(ControlScroll {
        delta_x,
        delta_y,
        control_key: false,
        ..Default::default()
    }))
}

/// A lone key is one `keypress`; a chord is `keydown`s, the key down and up, `keyup`s reversed.
fn key_chord(chord: &Chord) -> Vec<Step> {
    if chord.held.is_empty() {
        return vec![Step::now(ClientEvent::ControlKeyPress(key(chord.key)))];
    }
    hold_around(&chord.held, chord.key)
}

/// Holds `held` in order, taps `main` with down/up, releases `held` in reverse order.
fn hold_around(held: &[Keysym], main: Keysym) -> Vec<Step> {
    let downs = held
        .iter()
        .chain([&main])
        .map(|k| ClientEvent::ControlKeyDown(key(*k)));
    let ups = held
        .iter()
        .rev()
        .map(|k| ClientEvent::ControlKeyUp(key(*k)));
    downs
        .chain([ClientEvent::ControlKeyUp(key(main))])
        .chain(ups)
        .map(Step::now)
        .collect()
}

/// Characters a US layout types with Shift held.
fn needs_shift(c: char) -> bool {
    c.is_ascii_uppercase() || "~!@#$%^&*()_+{}|:\"<>?".contains(c)
}

/// One `keypress` per character, or Shift held around down/up for shifted US characters.
///
/// `\r\n` counts as one line break.
fn type_text(text: &str) -> Result<Vec<Step>, PlanError> {
    let mut steps = Vec::with_capacity(text.len());
    let mut chars = text.chars().enumerate().peekable();
    while let Some((index, character)) = chars.next() {
        if character == '\r' && chars.peek().is_some_and(|(_, next)| *next == '\n') {
            continue;
        }
        let keysym =
            keysym_for_char(character).ok_or(PlanError::Untypeable { character, index })?;
        if needs_shift(character) {
            steps.extend(hold_around(&[Keysym::SHIFT_L], keysym));
        } else {
            steps.push(Step::now(ClientEvent::ControlKeyPress(key(keysym))));
        }
    }
    Ok(steps)
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    const SCREEN: Screen = Screen {
        width: 1280,
        height: 720,
    };

    /// The planned events as JSON envelopes.
    fn events(action: &Action) -> Vec<Value> {
        plan(action, &SCREEN)
            .expect("plans")
            .iter()
            .map(|step| step.event.to_value())
            .collect()
    }

    fn delays(action: &Action) -> Vec<Duration> {
        plan(action, &SCREEN)
            .expect("plans")
            .iter()
            .map(|step| step.delay_after)
            .collect()
    }

    fn down(keysym: u32) -> Value {
        json!({"event": "control/keydown", "payload": {"keysym": keysym}})
    }

    fn up(keysym: u32) -> Value {
        json!({"event": "control/keyup", "payload": {"keysym": keysym}})
    }

    fn press(keysym: u32) -> Value {
        json!({"event": "control/keypress", "payload": {"keysym": keysym}})
    }

    fn chord(text: &str) -> Action {
        Action::Key(text.parse().expect("chord parses"))
    }

    #[test]
    fn move_and_hover_are_one_move() {
        let expected = vec![json!({"event": "control/move", "payload": {"x": 10, "y": 20}})];
        assert_eq!(
            events(&Action::Move {
                at: Point::pixels(10, 20)
            }),
            expected
        );
        assert_eq!(
            events(&Action::Hover {
                at: Point::pixels(10, 20)
            }),
            expected
        );
    }

    #[test]
    fn click_is_one_buttonpress_with_position() {
        let action = Action::Click {
            at: Point::normalized(0.5, 0.5),
            button: Button::Right,
        };
        assert_eq!(
            events(&action),
            vec![
                json!({"event": "control/buttonpress", "payload": {"code": 3, "x": 640, "y": 360}})
            ]
        );
    }

    #[test]
    fn tap_moves_then_presses() {
        let action = Action::Tap {
            at: Point::pixels(5, 6),
            button: Button::Left,
        };
        assert_eq!(
            events(&action),
            vec![
                json!({"event": "control/move", "payload": {"x": 5, "y": 6}}),
                json!({"event": "control/buttonpress", "payload": {"code": 1, "x": 5, "y": 6}}),
            ]
        );
    }

    #[test]
    fn double_click_is_two_presses_80ms_apart() {
        let action = Action::DoubleClick {
            at: Point::pixels(100, 200),
            button: Button::Left,
        };
        let one =
            json!({"event": "control/buttonpress", "payload": {"code": 1, "x": 100, "y": 200}});
        assert_eq!(events(&action), vec![one.clone(), one]);
        let gaps = delays(&action);
        assert_eq!(gaps[0], Duration::from_millis(80));
        assert!((Duration::from_millis(50)..=Duration::from_millis(100)).contains(&gaps[0]));
        assert_eq!(gaps[1], Duration::ZERO);
    }

    #[test]
    fn drag_moves_holds_interpolates_and_releases() {
        let action = Action::drag(Point::pixels(0, 0), Point::pixels(100, 50));
        let sent = events(&action);
        assert_eq!(sent.len(), 1 + 1 + 10 + 1);
        assert_eq!(
            sent[0],
            json!({"event": "control/move", "payload": {"x": 0, "y": 0}})
        );
        assert_eq!(
            sent[1],
            json!({"event": "control/buttondown", "payload": {"code": 1}})
        );
        assert_eq!(
            sent[2],
            json!({"event": "control/move", "payload": {"x": 10, "y": 5}})
        );
        assert_eq!(
            sent[6],
            json!({"event": "control/move", "payload": {"x": 50, "y": 25}})
        );
        assert_eq!(
            sent[11],
            json!({"event": "control/move", "payload": {"x": 100, "y": 50}})
        );
        assert_eq!(
            sent[12],
            json!({"event": "control/buttonup", "payload": {"code": 1}})
        );
        let gaps = delays(&action);
        assert!(gaps[..12].iter().all(|gap| *gap == DRAG_STEP_GAP));
        assert_eq!(gaps[12], Duration::ZERO);
    }

    #[test]
    fn drag_steps_are_counted_and_bounded() {
        let custom = Action::Drag {
            from: Point::pixels(10, 10),
            to: Point::pixels(0, 0),
            steps: 3,
        };
        let sent = events(&custom);
        assert_eq!(sent.len(), 6);
        assert_eq!(
            sent[2],
            json!({"event": "control/move", "payload": {"x": 7, "y": 7}})
        );
        assert_eq!(
            sent[4],
            json!({"event": "control/move", "payload": {"x": 0, "y": 0}})
        );
        for steps in [0, MAX_DRAG_STEPS + 1, u32::MAX] {
            let action = Action::Drag {
                from: Point::pixels(0, 0),
                to: Point::pixels(1, 1),
                steps,
            };
            assert_eq!(plan(&action, &SCREEN), Err(PlanError::DragSteps(steps)));
        }
    }

    #[test]
    fn drag_clamps_its_endpoints() {
        let action = Action::Drag {
            from: Point::pixels(-50, -50),
            to: Point::pixels(5000, 5000),
            steps: 1,
        };
        let sent = events(&action);
        assert_eq!(
            sent[0],
            json!({"event": "control/move", "payload": {"x": 0, "y": 0}})
        );
        assert_eq!(
            sent[2],
            json!({"event": "control/move", "payload": {"x": 1279, "y": 719}})
        );
    }

    #[test]
    fn scroll_signs_follow_neko() {
        let scroll =
            |direction, amount| events(&Action::Scroll { direction, amount })[0]["payload"].clone();
        assert_eq!(
            scroll(ScrollDirection::Up, 3),
            json!({"delta_x": 0, "delta_y": 3, "control_key": false})
        );
        assert_eq!(
            scroll(ScrollDirection::Down, 3),
            json!({"delta_x": 0, "delta_y": -3, "control_key": false})
        );
        assert_eq!(
            scroll(ScrollDirection::Left, 2),
            json!({"delta_x": 2, "delta_y": 0, "control_key": false})
        );
        assert_eq!(
            scroll(ScrollDirection::Right, 2),
            json!({"delta_x": -2, "delta_y": 0, "control_key": false})
        );
        assert_eq!(
            events(&Action::Scroll {
                direction: ScrollDirection::Up,
                amount: 1
            })[0]["event"],
            "control/scroll"
        );
    }

    #[test]
    fn scroll_never_sends_zero_deltas() {
        let zero = Action::Scroll {
            direction: ScrollDirection::Down,
            amount: 0,
        };
        assert_eq!(plan(&zero, &SCREEN), Err(PlanError::ZeroScroll));
        let huge = Action::Scroll {
            direction: ScrollDirection::Down,
            amount: u32::MAX,
        };
        assert_eq!(
            plan(&huge, &SCREEN),
            Err(PlanError::ScrollTooLarge(u32::MAX))
        );
    }

    #[test]
    fn ctrl_alt_t_holds_modifiers_around_the_key() {
        assert_eq!(
            events(&chord("Ctrl+Alt+t")),
            vec![
                down(0xffe3),
                down(0xffe9),
                down(0x74),
                up(0x74),
                up(0xffe9),
                up(0xffe3),
            ]
        );
    }

    #[test]
    fn shift_tab_uses_keydown_keyup_only() {
        let sent = events(&chord("Shift+Tab"));
        assert_eq!(
            sent,
            vec![down(0xffe1), down(0xff09), up(0xff09), up(0xffe1)]
        );
        assert!(
            sent.iter()
                .all(|event| event["event"] != "control/keypress")
        );
    }

    #[test]
    fn single_key_is_one_keypress() {
        assert_eq!(events(&chord("F5")), vec![press(0xffc2)]);
        assert_eq!(events(&chord("Return")), vec![press(0xff0d)]);
    }

    #[test]
    fn typing_shifts_capitals_and_symbols() {
        assert_eq!(
            events(&Action::Type("Hi!\n".into())),
            vec![
                down(0xffe1),
                down(0x48),
                up(0x48),
                up(0xffe1),
                press(0x69),
                down(0xffe1),
                down(0x21),
                up(0x21),
                up(0xffe1),
                press(0xff0d),
            ]
        );
    }

    #[test]
    fn typing_unshifted_ascii_is_keypresses() {
        assert_eq!(
            events(&Action::Type("a 1-\t".into())),
            vec![
                press(0x61),
                press(0x20),
                press(0x31),
                press(0x2d),
                press(0xff09)
            ]
        );
        assert_eq!(events(&Action::Type("\r\n".into())), vec![press(0xff0d)]);
        assert_eq!(events(&Action::Type(String::new())), Vec::<Value>::new());
    }

    #[test]
    fn typing_beyond_ascii_uses_latin1_or_unicode_keysyms() {
        assert_eq!(events(&Action::Type("é".into())), vec![press(0xe9)]);
        assert_eq!(events(&Action::Type("É".into())), vec![press(0xc9)]);
        assert_eq!(events(&Action::Type("€".into())), vec![press(0x0100_20ac)]);
        assert_eq!(
            events(&Action::Type("日".into())),
            vec![press(0x0100_0000 + 0x65e5)]
        );
    }

    #[test]
    fn typing_control_characters_is_an_error() {
        assert_eq!(
            plan(&Action::Type("ab\u{7}".into()), &SCREEN),
            Err(PlanError::Untypeable {
                character: '\u{7}',
                index: 2
            })
        );
        let message = PlanError::Untypeable {
            character: '\u{7}',
            index: 2,
        }
        .to_string();
        assert_eq!(
            message,
            "cannot type control character U+0007 at position 2"
        );
    }

    #[test]
    fn paste_always_carries_a_payload_object() {
        assert_eq!(
            events(&Action::Paste(Some("hello".into()))),
            vec![json!({"event": "control/paste", "payload": {"text": "hello"}})]
        );
        let bare = plan(&Action::Paste(None), &SCREEN).expect("plans");
        assert_eq!(
            bare[0].event.to_json(),
            r#"{"event":"control/paste","payload":{}}"#
        );
    }

    #[test]
    fn clipboard_actions() {
        assert_eq!(
            events(&Action::Copy),
            vec![json!({"event": "control/copy"})]
        );
        assert_eq!(events(&Action::Cut), vec![json!({"event": "control/cut"})]);
        assert_eq!(
            events(&Action::SelectAll),
            vec![json!({"event": "control/select_all"})]
        );
        assert_eq!(
            events(&Action::SetClipboard("x".into())),
            vec![json!({"event": "clipboard/set", "payload": {"text": "x"}})]
        );
    }

    #[test]
    fn pointer_actions_need_a_known_screen() {
        let action = Action::Click {
            at: Point::pixels(1, 1),
            button: Button::Left,
        };
        assert!(matches!(
            plan(&action, &Screen::default()),
            Err(PlanError::Coord(CoordError::UnknownScreen { .. }))
        ));
        assert!(plan(&Action::Copy, &Screen::default()).is_ok());
    }

    #[test]
    fn bad_normalised_points_are_errors() {
        let action = Action::Move {
            at: Point::normalized(f64::NAN, 0.0),
        };
        assert_eq!(
            plan(&action, &SCREEN),
            Err(PlanError::Coord(CoordError::NotANumber { axis: 'x' }))
        );
    }
}
