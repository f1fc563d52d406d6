//! X11 keysyms the desktop reacts to, and how a keysym types a character.
//!
//! Typing follows X11 with a US layout: printable Latin-1 keysyms insert their
//! character, letters take their case from the Shift state alone (a bare `A`
//! types `a`), and `0x1000000 + codepoint` keysyms insert that Unicode character.

/// BackSpace.
pub const BACKSPACE: u32 = 0xff08;
/// Tab.
pub const TAB: u32 = 0xff09;
/// Return.
pub const RETURN: u32 = 0xff0d;
/// Enter on the keypad.
pub const KP_ENTER: u32 = 0xff8d;
/// Left Shift.
pub const SHIFT_L: u32 = 0xffe1;
/// Right Shift.
pub const SHIFT_R: u32 = 0xffe2;
/// Left Control.
pub const CONTROL_L: u32 = 0xffe3;
/// Right Control.
pub const CONTROL_R: u32 = 0xffe4;

/// Keysyms from here on carry a Unicode code point (`0x1000000 + codepoint`).
const UNICODE_BASE: u32 = 0x0100_0000;

/// Whether `keysym` is a Shift key.
pub fn is_shift(keysym: u32) -> bool {
    matches!(keysym, SHIFT_L | SHIFT_R)
}

/// Whether `keysym` is a Control key.
pub fn is_ctrl(keysym: u32) -> bool {
    matches!(keysym, CONTROL_L | CONTROL_R)
}

/// The lowercase ASCII letter a keysym stands for, whatever its case (for Ctrl shortcuts).
pub fn letter(keysym: u32) -> Option<char> {
    char::from_u32(keysym)
        .filter(char::is_ascii_alphabetic)
        .map(|c| c.to_ascii_lowercase())
}

/// The character typing `keysym` inserts, given whether Shift is held.
pub fn typed_char(keysym: u32, shift: bool) -> Option<char> {
    match keysym {
        0x20..=0x7e | 0xa0..=0xff => char::from_u32(with_case(keysym, shift)),
        UNICODE_BASE.. => char::from_u32(keysym - UNICODE_BASE).filter(|c| !c.is_control()),
        _ => None,
    }
}

/// Applies the Shift state to Latin-1 letters, which come in pairs 0x20 apart.
fn with_case(keysym: u32, shift: bool) -> u32 {
    let upper = matches!(keysym, 0x41..=0x5a | 0xc0..=0xd6 | 0xd8..=0xde);
    let lower = matches!(keysym, 0x61..=0x7a | 0xe0..=0xf6 | 0xf8..=0xfe);
    match (upper, lower, shift) {
        (true, _, false) => keysym + 0x20,
        (_, true, true) => keysym - 0x20,
        _ => keysym,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn letters_follow_shift_only() {
        assert_eq!(typed_char('A' as u32, false), Some('a'));
        assert_eq!(typed_char('a' as u32, false), Some('a'));
        assert_eq!(typed_char('a' as u32, true), Some('A'));
        assert_eq!(typed_char('A' as u32, true), Some('A'));
        assert_eq!(typed_char(0xc9, false), Some('é'));
        assert_eq!(typed_char(0xe9, true), Some('É'));
        assert_eq!(typed_char(0xdf, true), Some('ß'));
        assert_eq!(typed_char(0xd7, false), Some('×'));
    }

    #[test]
    fn symbols_insert_themselves() {
        assert_eq!(typed_char('!' as u32, false), Some('!'));
        assert_eq!(typed_char('1' as u32, true), Some('1'));
        assert_eq!(typed_char(' ' as u32, true), Some(' '));
    }

    #[test]
    fn unicode_keysyms_and_junk() {
        assert_eq!(typed_char(0x0100_20ac, false), Some('€'));
        assert_eq!(typed_char(0x0100_0007, false), None);
        assert_eq!(typed_char(0x0100_d800, false), None);
        assert_eq!(typed_char(u32::MAX, false), None);
        assert_eq!(typed_char(0x7f, false), None);
        assert_eq!(typed_char(BACKSPACE, false), None);
    }

    #[test]
    fn shortcut_letters() {
        assert_eq!(letter('V' as u32), Some('v'));
        assert_eq!(letter('1' as u32), None);
        assert_eq!(letter(0x0100_0061), None);
    }
}
