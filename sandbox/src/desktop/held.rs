//! Which keys and mouse buttons are currently held down.

use super::keysym;

/// At most this many keys or buttons are tracked; further presses are ignored.
const MAX_HELD: usize = 256;

/// The held keys (keysyms) and buttons (X11 codes), in press order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Held {
    keys: Vec<u32>,
    buttons: Vec<u32>,
}

/// Adds `value` to `list` unless present or the list is full.
fn press(list: &mut Vec<u32>, value: u32) {
    if list.len() < MAX_HELD && !list.contains(&value) {
        list.push(value);
    }
}

impl Held {
    /// Records a key press.
    pub fn press_key(&mut self, keysym: u32) {
        press(&mut self.keys, keysym);
    }

    /// Records a key release.
    pub fn release_key(&mut self, keysym: u32) {
        self.keys.retain(|&k| k != keysym);
    }

    /// Records a button press.
    pub fn press_button(&mut self, code: u32) {
        press(&mut self.buttons, code);
    }

    /// Records a button release.
    pub fn release_button(&mut self, code: u32) {
        self.buttons.retain(|&b| b != code);
    }

    /// Releases everything.
    pub fn clear(&mut self) {
        self.keys.clear();
        self.buttons.clear();
    }

    /// The held keysyms.
    pub fn keys(&self) -> &[u32] {
        &self.keys
    }

    /// The held button codes.
    pub fn buttons(&self) -> &[u32] {
        &self.buttons
    }

    /// Whether either Shift key is held.
    pub fn shift(&self) -> bool {
        self.keys.iter().any(|&k| keysym::is_shift(k))
    }

    /// Whether either Control key is held.
    pub fn ctrl(&self) -> bool {
        self.keys.iter().any(|&k| keysym::is_ctrl(k))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn press_release_and_clear() {
        let mut held = Held::default();
        held.press_key(keysym::SHIFT_R);
        held.press_key(keysym::SHIFT_R);
        held.press_button(1);
        assert!(held.shift() && !held.ctrl());
        assert_eq!(held.keys(), &[keysym::SHIFT_R]);
        held.release_key(keysym::SHIFT_R);
        assert!(!held.shift());
        held.press_key(keysym::CONTROL_L);
        held.clear();
        assert!(!held.ctrl());
        assert!(held.buttons().is_empty());
    }

    #[test]
    fn tracking_is_bounded() {
        let mut held = Held::default();
        for k in 0..10_000 {
            held.press_key(k);
        }
        assert_eq!(held.keys().len(), MAX_HELD);
    }
}
