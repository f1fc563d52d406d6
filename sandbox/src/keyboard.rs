//! The room's keyboard layout and modifier state (`keyboard/map`, `keyboard/modifiers`, §5.4).
//!
//! A real server runs `setxkbmap` and sets X's modifier locks; the sandbox records both and
//! answers them back, while its desktop keeps typing with a US layout and only the keys held
//! down as modifiers.

use gstneko::protocol::{KeyboardMap, KeyboardModifiers};

/// The layout and the eight modifier flags, as the REST routes and WebSocket events set them.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Keyboard {
    map: KeyboardMap,
    modifiers: KeyboardModifiers,
}

impl Default for Keyboard {
    /// The layout a fresh Neko desktop reports (`us`, no variant) and every modifier off.
    fn default() -> Self {
        let off = Some(false);
        Self {
            map: KeyboardMap {
                layout: "us".into(),
                ..KeyboardMap::default()
            },
            modifiers: KeyboardModifiers {
                shift: off,
                capslock: off,
                control: off,
                alt: off,
                numlock: off,
                meta: off,
                super_key: off,
                altgr: off,
                ..KeyboardModifiers::default()
            },
        }
    }
}

impl Keyboard {
    /// The current layout and variant.
    pub fn map(&self) -> &KeyboardMap {
        &self.map
    }

    /// Every modifier, each present as a boolean.
    pub fn modifiers(&self) -> &KeyboardModifiers {
        &self.modifiers
    }

    /// Switches the layout; fields the client sent beyond `layout`/`variant` are not kept.
    pub fn set_map(&mut self, map: &KeyboardMap) {
        self.map = KeyboardMap {
            layout: map.layout.clone(),
            variant: map.variant.clone(),
            ..KeyboardMap::default()
        };
    }

    /// Sets the modifiers `update` names; omitted (`None`) ones stay as they are.
    pub fn set_modifiers(&mut self, update: &KeyboardModifiers) {
        let current = &mut self.modifiers;
        for (slot, value) in [
            (&mut current.shift, update.shift),
            (&mut current.capslock, update.capslock),
            (&mut current.control, update.control),
            (&mut current.alt, update.alt),
            (&mut current.numlock, update.numlock),
            (&mut current.meta, update.meta),
            (&mut current.super_key, update.super_key),
            (&mut current.altgr, update.altgr),
        ] {
            if value.is_some() {
                *slot = value;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn starts_us_with_every_modifier_off() {
        let keyboard = Keyboard::default();
        assert_eq!(
            serde_json::to_value(keyboard.map()).expect("json"),
            json!({"layout": "us", "variant": ""})
        );
        assert_eq!(
            serde_json::to_value(keyboard.modifiers()).expect("json"),
            json!({"shift": false, "capslock": false, "control": false, "alt": false,
                   "numlock": false, "meta": false, "super": false, "altgr": false})
        );
    }

    #[test]
    fn omitted_modifiers_are_untouched() {
        let mut keyboard = Keyboard::default();
        let set = |value: serde_json::Value| -> KeyboardModifiers {
            serde_json::from_value(value).expect("modifiers")
        };
        keyboard.set_modifiers(&set(json!({"capslock": true, "super": true})));
        keyboard.set_modifiers(&set(json!({"super": false, "numlock": null})));
        let modifiers = keyboard.modifiers();
        assert_eq!(modifiers.capslock, Some(true));
        assert_eq!(modifiers.super_key, Some(false));
        assert_eq!(modifiers.numlock, Some(false));
        assert_eq!(modifiers.shift, Some(false));
    }

    #[test]
    fn map_drops_unknown_fields() {
        let mut keyboard = Keyboard::default();
        let map: KeyboardMap =
            serde_json::from_value(json!({"layout": "de", "variant": "nodeadkeys", "x": 1}))
                .expect("map");
        keyboard.set_map(&map);
        assert_eq!(
            serde_json::to_value(keyboard.map()).expect("json"),
            json!({"layout": "de", "variant": "nodeadkeys"})
        );
    }
}
