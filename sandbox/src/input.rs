//! Input events: host checks, translation to desktop input, and recording.
//!
//! Neko's scroll sign is the opposite of the desktop's: a positive protocol `delta_y` scrolls up
//! (X button 4) while the desktop scrolls up for a negative one, so deltas are negated here.

use gstneko::protocol::{ClientDatagram, ClientEvent, TouchPoint};
use serde_json::{Value, json};

use super::control;
use super::desktop::{Clipboard, DesktopInput};
use super::state::{Effects, RoomShared, RoomState};

const CONTROL_L: u32 = 0xffe3;
const KEY_A: u32 = 0x61;
const KEY_C: u32 = 0x63;
const KEY_V: u32 = 0x76;
const KEY_X: u32 = 0x78;
const LEFT_BUTTON: u32 = 1;

/// The optional move before a button or key event: present when `x` or `y` is (missing one = 0).
fn optional_move(x: Option<i32>, y: Option<i32>) -> Option<DesktopInput> {
    (x.is_some() || y.is_some()).then(|| DesktopInput::Move {
        x: x.unwrap_or(0),
        y: y.unwrap_or(0),
    })
}

/// A scroll, with Control held around it when asked.
fn scroll(delta_x: i32, delta_y: i32, control_key: bool) -> Vec<DesktopInput> {
    if delta_x == 0 && delta_y == 0 {
        return Vec::new();
    }
    let wheel = DesktopInput::Scroll {
        delta_x: delta_x.saturating_neg(),
        delta_y: delta_y.saturating_neg(),
    };
    if control_key {
        vec![
            DesktopInput::KeyDown { keysym: CONTROL_L },
            wheel,
            DesktopInput::KeyUp { keysym: CONTROL_L },
        ]
    } else {
        vec![wheel]
    }
}

/// Ctrl + `key`.
fn with_control(key: u32) -> Vec<DesktopInput> {
    vec![
        DesktopInput::KeyDown { keysym: CONTROL_L },
        DesktopInput::KeyPress { keysym: key },
        DesktopInput::KeyUp { keysym: CONTROL_L },
    ]
}

/// Touch as pointer emulation: begin presses, update moves, end releases the left button.
fn touch(point: &TouchPoint, phase: Option<DesktopInput>) -> Vec<DesktopInput> {
    let mut inputs = vec![DesktopInput::Move {
        x: point.x,
        y: point.y,
    }];
    inputs.extend(phase);
    inputs
}

/// Desktop input for a WebSocket input event that passed the host rule; `None` for other events.
pub(super) fn ws_inputs(event: &ClientEvent) -> Option<Vec<DesktopInput>> {
    let mut inputs = Vec::new();
    match event {
        ClientEvent::ControlMove(pos) => inputs.push(DesktopInput::Move { x: pos.x, y: pos.y }),
        ClientEvent::ControlScroll(s) => {
            let (dx, dy) = if s.delta_x == 0 && s.delta_y == 0 {
                (s.x.unwrap_or(0), s.y.unwrap_or(0))
            } else {
                (s.delta_x, s.delta_y)
            };
            inputs.extend(scroll(dx, dy, s.control_key));
        }
        ClientEvent::ControlButtonPress(b) => {
            inputs.extend(optional_move(b.x, b.y));
            if b.code != 0 {
                inputs.extend([
                    DesktopInput::ReleaseAll,
                    DesktopInput::Click { code: b.code },
                    DesktopInput::ReleaseAll,
                ]);
            }
        }
        ClientEvent::ControlButtonDown(b) => {
            inputs.extend(optional_move(b.x, b.y));
            if b.code != 0 {
                inputs.push(DesktopInput::ButtonDown { code: b.code });
            }
        }
        ClientEvent::ControlButtonUp(b) => {
            inputs.extend(optional_move(b.x, b.y));
            if b.code != 0 {
                inputs.push(DesktopInput::ButtonUp { code: b.code });
            }
        }
        ClientEvent::ControlKeyPress(k) => {
            inputs.extend(optional_move(k.x, k.y));
            inputs.extend([
                DesktopInput::ReleaseAll,
                DesktopInput::KeyPress { keysym: k.keysym },
                DesktopInput::ReleaseAll,
            ]);
        }
        ClientEvent::ControlKeyDown(k) => {
            inputs.extend(optional_move(k.x, k.y));
            inputs.push(DesktopInput::KeyDown { keysym: k.keysym });
        }
        ClientEvent::ControlKeyUp(k) => {
            inputs.extend(optional_move(k.x, k.y));
            inputs.push(DesktopInput::KeyUp { keysym: k.keysym });
        }
        ClientEvent::ControlTouchBegin(t)
        | ClientEvent::ControlTouchUpdate(t)
        | ClientEvent::ControlTouchEnd(t) => {
            let point = TouchPoint {
                touch_id: t.touch_id,
                x: t.x,
                y: t.y,
                pressure: t.pressure,
            };
            let phase = match event {
                ClientEvent::ControlTouchBegin(_) => {
                    Some(DesktopInput::ButtonDown { code: LEFT_BUTTON })
                }
                ClientEvent::ControlTouchEnd(_) => {
                    Some(DesktopInput::ButtonUp { code: LEFT_BUTTON })
                }
                _ => None,
            };
            inputs.extend(touch(&point, phase));
        }
        ClientEvent::ControlCut => inputs.extend(with_control(KEY_X)),
        ClientEvent::ControlCopy => inputs.extend(with_control(KEY_C)),
        ClientEvent::ControlSelectAll => inputs.extend(with_control(KEY_A)),
        ClientEvent::ControlPaste(p) => match p.text.as_deref() {
            Some(text) if !text.is_empty() => inputs.push(DesktopInput::Paste {
                text: text.to_owned(),
            }),
            _ => inputs.extend(with_control(KEY_V)),
        },
        _ => return None,
    }
    Some(inputs)
}

/// Desktop input for a data-channel datagram from the host.
pub(super) fn datagram_inputs(datagram: &ClientDatagram) -> Vec<DesktopInput> {
    match datagram {
        ClientDatagram::Move { x, y } => vec![DesktopInput::Move {
            x: i32::from(*x),
            y: i32::from(*y),
        }],
        ClientDatagram::Scroll {
            delta_x,
            delta_y,
            control_key,
        } => scroll(i32::from(*delta_x), i32::from(*delta_y), *control_key),
        ClientDatagram::ScrollLegacy { delta_x, delta_y } => {
            scroll(i32::from(*delta_x), i32::from(*delta_y), false)
        }
        ClientDatagram::KeyDown { keysym } => vec![DesktopInput::KeyDown { keysym: *keysym }],
        ClientDatagram::KeyUp { keysym } => vec![DesktopInput::KeyUp { keysym: *keysym }],
        ClientDatagram::ButtonDown { button } => vec![DesktopInput::ButtonDown { code: *button }],
        ClientDatagram::ButtonUp { button } => vec![DesktopInput::ButtonUp { code: *button }],
        ClientDatagram::TouchBegin(point) => {
            touch(point, Some(DesktopInput::ButtonDown { code: LEFT_BUTTON }))
        }
        ClientDatagram::TouchUpdate(point) => touch(point, None),
        ClientDatagram::TouchEnd(point) => {
            touch(point, Some(DesktopInput::ButtonUp { code: LEFT_BUTTON }))
        }
        ClientDatagram::Ping { .. } => Vec::new(),
    }
}

/// The host moved the pointer to `(x, y)`: every other session's peer is told (§4.3 op `0x01`),
/// with the coordinates cut to 16 bits as Neko's `uint16(x)` does.
fn announce_pointer(state: &RoomState, effects: &mut Effects, x: i32, y: i32) {
    let viewers = state.viewer_peers();
    if !viewers.is_empty() {
        effects.cursor_position(viewers, x as u16, y as u16);
    }
}

fn touch_json(point: &TouchPoint) -> Value {
    json!({"touch_id": point.touch_id, "x": point.x, "y": point.y, "pressure": point.pressure})
}

/// The recorded name (`dc/…`) and payload of a datagram; `None` for PING, which is not input.
pub(super) fn datagram_record(datagram: &ClientDatagram) -> Option<(&'static str, Value)> {
    Some(match datagram {
        ClientDatagram::Move { x, y } => ("dc/move", json!({"x": x, "y": y})),
        ClientDatagram::Scroll {
            delta_x,
            delta_y,
            control_key,
        } => (
            "dc/scroll",
            json!({"delta_x": delta_x, "delta_y": delta_y, "control_key": control_key}),
        ),
        ClientDatagram::ScrollLegacy { delta_x, delta_y } => {
            ("dc/scroll", json!({"delta_x": delta_x, "delta_y": delta_y}))
        }
        ClientDatagram::KeyDown { keysym } => ("dc/keydown", json!({"keysym": keysym})),
        ClientDatagram::KeyUp { keysym } => ("dc/keyup", json!({"keysym": keysym})),
        ClientDatagram::ButtonDown { button } => ("dc/buttondown", json!({"code": button})),
        ClientDatagram::ButtonUp { button } => ("dc/buttonup", json!({"code": button})),
        ClientDatagram::TouchBegin(point) => ("dc/touchbegin", touch_json(point)),
        ClientDatagram::TouchUpdate(point) => ("dc/touchupdate", touch_json(point)),
        ClientDatagram::TouchEnd(point) => ("dc/touchend", touch_json(point)),
        ClientDatagram::Ping { .. } => return None,
    })
}

impl RoomShared {
    /// A WebSocket input event: `control/*` input (host rule), `clipboard/set` and `keyboard/*` (host only).
    pub(super) fn ws_input(&self, id: &str, event: &ClientEvent) {
        let accepted = self.update(|state, effects| {
            let Some(profile) = state.sessions.get(id).map(|s| s.profile.clone()) else {
                return false;
            };
            match event {
                ClientEvent::ClipboardSet(clipboard) => {
                    let allowed = state.is_host(id) && profile.can_access_clipboard;
                    if allowed {
                        effects.input(DesktopInput::SetClipboard(Clipboard::plain(
                            &clipboard.text,
                        )));
                    }
                    allowed
                }
                ClientEvent::KeyboardMap(map) => {
                    let allowed = state.is_host(id);
                    if allowed {
                        state.keyboard.set_map(map);
                    }
                    allowed
                }
                ClientEvent::KeyboardModifiers(modifiers) => {
                    let allowed = state.is_host(id);
                    if allowed {
                        state.keyboard.set_modifiers(modifiers);
                    }
                    allowed
                }
                _ => {
                    if let Err(error) = control::acquire(state, effects, id, true) {
                        tracing::debug!(session = %id, event = event.name(), %error, "input dropped");
                        return false;
                    }
                    if let ClientEvent::ControlPaste(paste) = event
                        && paste.text.as_deref().is_some_and(|t| !t.is_empty())
                        && !profile.can_access_clipboard
                    {
                        tracing::debug!(session = %id, "paste refused: no clipboard access");
                        return false;
                    }
                    effects.inputs(ws_inputs(event).unwrap_or_default());
                    if let ClientEvent::ControlMove(pos) = event {
                        announce_pointer(state, effects, pos.x, pos.y);
                    }
                    true
                }
            }
        });
        let payload = event
            .to_value()
            .get("payload")
            .cloned()
            .unwrap_or(Value::Null);
        self.recorder.record(id, event.name(), payload, accepted);
    }

    /// A data-channel datagram reported by the media side: applied only when `id` hosts (§5.1).
    pub(super) fn datachannel_input(&self, id: &str, datagram: ClientDatagram) {
        let Some((name, payload)) = datagram_record(&datagram) else {
            return;
        };
        let accepted = self.update(|state, effects| {
            if !state.is_host(id) {
                return false;
            }
            effects.inputs(datagram_inputs(&datagram));
            if let ClientDatagram::Move { x, y } = datagram {
                announce_pointer(state, effects, i32::from(x), i32::from(y));
            }
            true
        });
        self.recorder.record(id, name, payload, accepted);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gstneko::protocol::{ControlButton, ControlPaste, ControlScroll};

    #[test]
    fn button_press_moves_then_clicks() {
        let event = ClientEvent::ControlButtonPress(ControlButton {
            code: 1,
            x: Some(100),
            ..ControlButton::default()
        });
        assert_eq!(
            ws_inputs(&event),
            Some(vec![
                DesktopInput::Move { x: 100, y: 0 },
                DesktopInput::ReleaseAll,
                DesktopInput::Click { code: 1 },
                DesktopInput::ReleaseAll,
            ])
        );
        let zero = ClientEvent::ControlButtonDown(ControlButton::default());
        assert_eq!(ws_inputs(&zero), Some(Vec::new()));
    }

    #[test]
    fn scroll_uses_legacy_fields_and_flips_sign() {
        let legacy = ClientEvent::ControlScroll(ControlScroll {
            x: Some(2),
            y: Some(-3),
            ..ControlScroll::default()
        });
        assert_eq!(
            ws_inputs(&legacy),
            Some(vec![DesktopInput::Scroll {
                delta_x: -2,
                delta_y: 3
            }])
        );
        let zoom = ClientEvent::ControlScroll(ControlScroll {
            delta_y: 1,
            control_key: true,
            ..ControlScroll::default()
        });
        assert_eq!(
            ws_inputs(&zoom),
            Some(vec![
                DesktopInput::KeyDown { keysym: CONTROL_L },
                DesktopInput::Scroll {
                    delta_x: 0,
                    delta_y: -1
                },
                DesktopInput::KeyUp { keysym: CONTROL_L },
            ])
        );
    }

    #[test]
    fn paste_and_shortcuts() {
        let text = ClientEvent::ControlPaste(ControlPaste {
            text: Some("hi".into()),
            ..ControlPaste::default()
        });
        assert_eq!(
            ws_inputs(&text),
            Some(vec![DesktopInput::Paste { text: "hi".into() }])
        );
        let empty = ClientEvent::ControlPaste(ControlPaste::default());
        assert_eq!(ws_inputs(&empty), Some(with_control(KEY_V)));
        assert_eq!(
            ws_inputs(&ClientEvent::ControlCopy),
            Some(with_control(KEY_C))
        );
        assert_eq!(ws_inputs(&ClientEvent::ControlRequest), None);
    }

    #[test]
    fn datagrams() {
        let legacy = ClientDatagram::ScrollLegacy {
            delta_x: 0,
            delta_y: 1,
        };
        assert_eq!(
            datagram_inputs(&legacy),
            vec![DesktopInput::Scroll {
                delta_x: 0,
                delta_y: -1
            }]
        );
        let point = TouchPoint {
            touch_id: 1,
            x: 5,
            y: 6,
            pressure: 9,
        };
        assert_eq!(
            datagram_inputs(&ClientDatagram::TouchEnd(point)),
            vec![
                DesktopInput::Move { x: 5, y: 6 },
                DesktopInput::ButtonUp { code: 1 }
            ]
        );
        assert_eq!(
            datagram_record(&ClientDatagram::KeyDown { keysym: 97 }),
            Some(("dc/keydown", json!({"keysym": 97})))
        );
        assert_eq!(
            datagram_record(&ClientDatagram::Ping { timestamp_ms: 1 }),
            None
        );
    }
}
