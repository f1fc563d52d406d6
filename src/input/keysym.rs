//! X11 keysyms: named keys, characters, and a name table the caller can extend.

use std::collections::HashMap;
use std::fmt;
use std::sync::LazyLock;

/// An X11 keysym, the value Neko's `control/key*` events carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Keysym(pub u32);

impl Keysym {
    /// `Return` (Enter).
    pub const RETURN: Self = Self(0xff0d);
    /// `Tab`.
    pub const TAB: Self = Self(0xff09);
    /// `BackSpace`.
    pub const BACKSPACE: Self = Self(0xff08);
    /// `Escape`.
    pub const ESCAPE: Self = Self(0xff1b);
    /// `Delete`.
    pub const DELETE: Self = Self(0xffff);
    /// `Shift_L`, the Shift used to type shifted characters.
    pub const SHIFT_L: Self = Self(0xffe1);
    /// `Control_L`.
    pub const CONTROL_L: Self = Self(0xffe3);
    /// `Alt_L`.
    pub const ALT_L: Self = Self(0xffe9);
    /// `Super_L` (Windows / Command key).
    pub const SUPER_L: Self = Self(0xffeb);
    /// `F1`; `F2`…`F24` follow consecutively.
    pub const F1: Self = Self(0xffbe);

    /// Offset X adds to a Unicode code point that has no Latin-1 keysym.
    pub const UNICODE_OFFSET: u32 = 0x0100_0000;
}

impl fmt::Display for Keysym {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#06x}", self.0)
    }
}

/// The keysym a character types: Latin-1 maps to itself, other code points to `0x1000000 + cp`.
///
/// `'\n'`/`'\r'` give `Return`, `'\t'` `Tab`, `'\u{8}'` `BackSpace`, `'\u{1b}'` `Escape` and
/// `'\u{7f}'` `Delete`; other control characters have no keysym and give `None`.
pub fn keysym_for_char(c: char) -> Option<Keysym> {
    let cp = u32::from(c);
    match c {
        '\n' | '\r' => Some(Keysym::RETURN),
        '\t' => Some(Keysym::TAB),
        '\u{8}' => Some(Keysym::BACKSPACE),
        '\u{1b}' => Some(Keysym::ESCAPE),
        '\u{7f}' => Some(Keysym::DELETE),
        '\u{20}'..='\u{7e}' | '\u{a0}'..='\u{ff}' => Some(Keysym(cp)),
        _ if c.is_control() => None,
        _ => Some(Keysym(Keysym::UNICODE_OFFSET + cp)),
    }
}

/// Named keys: X11 names first, then the aliases people and models tend to write.
///
/// `Meta`, `Cmd` and `Win` mean the Super key, as in browsers and the Python tool; X's own
/// `Meta_L`/`Meta_R` keysyms stay reachable by their full names.
const NAMED: &[(&str, u32)] = &[
    ("BackSpace", 0xff08),
    ("Bksp", 0xff08),
    ("Tab", 0xff09),
    ("Return", 0xff0d),
    ("Enter", 0xff0d),
    ("Pause", 0xff13),
    ("Scroll_Lock", 0xff14),
    ("Sys_Req", 0xff15),
    ("Escape", 0xff1b),
    ("Esc", 0xff1b),
    ("Delete", 0xffff),
    ("Del", 0xffff),
    ("Insert", 0xff63),
    ("Ins", 0xff63),
    ("Home", 0xff50),
    ("End", 0xff57),
    ("Page_Up", 0xff55),
    ("Prior", 0xff55),
    ("PgUp", 0xff55),
    ("Page_Down", 0xff56),
    ("Next", 0xff56),
    ("PgDn", 0xff56),
    ("PgDown", 0xff56),
    ("Left", 0xff51),
    ("Up", 0xff52),
    ("Right", 0xff53),
    ("Down", 0xff54),
    ("ArrowLeft", 0xff51),
    ("ArrowUp", 0xff52),
    ("ArrowRight", 0xff53),
    ("ArrowDown", 0xff54),
    ("Print", 0xff61),
    ("PrintScreen", 0xff61),
    ("PrtSc", 0xff61),
    ("Menu", 0xff67),
    ("ContextMenu", 0xff67),
    ("Break", 0xff6b),
    ("Num_Lock", 0xff7f),
    ("Caps_Lock", 0xffe5),
    ("Shift_L", 0xffe1),
    ("Shift", 0xffe1),
    ("LShift", 0xffe1),
    ("Shift_R", 0xffe2),
    ("RShift", 0xffe2),
    ("Control_L", 0xffe3),
    ("Control", 0xffe3),
    ("Ctrl", 0xffe3),
    ("Ctrl_L", 0xffe3),
    ("LCtrl", 0xffe3),
    ("Control_R", 0xffe4),
    ("Ctrl_R", 0xffe4),
    ("RCtrl", 0xffe4),
    ("Meta_L", 0xffe7),
    ("Meta_R", 0xffe8),
    ("Alt_L", 0xffe9),
    ("Alt", 0xffe9),
    ("LAlt", 0xffe9),
    ("Option", 0xffe9),
    ("Alt_R", 0xffea),
    ("RAlt", 0xffea),
    ("AltGr", 0xfe03),
    ("ISO_Level3_Shift", 0xfe03),
    ("Super_L", 0xffeb),
    ("Super", 0xffeb),
    ("Win", 0xffeb),
    ("Windows", 0xffeb),
    ("Cmd", 0xffeb),
    ("Command", 0xffeb),
    ("Meta", 0xffeb),
    ("Super_R", 0xffec),
    ("Hyper_L", 0xffed),
    ("Hyper_R", 0xffee),
    ("space", 0x20),
    ("Spacebar", 0x20),
    ("exclam", 0x21),
    ("quotedbl", 0x22),
    ("numbersign", 0x23),
    ("dollar", 0x24),
    ("percent", 0x25),
    ("ampersand", 0x26),
    ("apostrophe", 0x27),
    ("parenleft", 0x28),
    ("parenright", 0x29),
    ("asterisk", 0x2a),
    ("plus", 0x2b),
    ("comma", 0x2c),
    ("minus", 0x2d),
    ("period", 0x2e),
    ("slash", 0x2f),
    ("colon", 0x3a),
    ("semicolon", 0x3b),
    ("less", 0x3c),
    ("equal", 0x3d),
    ("greater", 0x3e),
    ("question", 0x3f),
    ("at", 0x40),
    ("bracketleft", 0x5b),
    ("backslash", 0x5c),
    ("bracketright", 0x5d),
    ("asciicircum", 0x5e),
    ("underscore", 0x5f),
    ("grave", 0x60),
    ("braceleft", 0x7b),
    ("bar", 0x7c),
    ("braceright", 0x7d),
    ("asciitilde", 0x7e),
    ("KP_Space", 0xff80),
    ("KP_Tab", 0xff89),
    ("KP_Enter", 0xff8d),
    ("KP_Home", 0xff95),
    ("KP_Left", 0xff96),
    ("KP_Up", 0xff97),
    ("KP_Right", 0xff98),
    ("KP_Down", 0xff99),
    ("KP_Page_Up", 0xff9a),
    ("KP_Page_Down", 0xff9b),
    ("KP_End", 0xff9c),
    ("KP_Begin", 0xff9d),
    ("KP_Insert", 0xff9e),
    ("KP_Delete", 0xff9f),
    ("KP_Multiply", 0xffaa),
    ("KP_Add", 0xffab),
    ("KP_Separator", 0xffac),
    ("KP_Subtract", 0xffad),
    ("KP_Decimal", 0xffae),
    ("KP_Divide", 0xffaf),
    ("KP_Equal", 0xffbd),
];

/// Canonical form of a key name: case-folded; longer names also drop `_`, `-` and spaces.
fn normalize(name: &str) -> String {
    let lower = name.trim().to_lowercase();
    if lower.chars().count() <= 1 {
        return lower;
    }
    let stripped: String = lower
        .chars()
        .filter(|c| !matches!(c, '_' | '-' | ' '))
        .collect();
    if stripped.is_empty() { lower } else { stripped }
}

/// Key names → keysyms, case-insensitive; starts with the X11 names and aliases and can be extended.
#[derive(Debug, Clone)]
pub struct KeyTable {
    /// Normalised name → (name as given, keysym).
    names: HashMap<String, (String, Keysym)>,
}

impl Default for KeyTable {
    fn default() -> Self {
        let mut table = Self {
            names: HashMap::new(),
        };
        for (name, keysym) in NAMED {
            table.insert(name, Keysym(*keysym));
        }
        for n in 0..24u32 {
            table.insert(&format!("F{}", n + 1), Keysym(Keysym::F1.0 + n));
        }
        for n in 0..10u32 {
            table.insert(&format!("KP_{n}"), Keysym(0xffb0 + n));
        }
        table
    }
}

/// The built-in table, shared by parsers that are given no table of their own.
pub static DEFAULT_KEYS: LazyLock<KeyTable> = LazyLock::new(KeyTable::default);

impl KeyTable {
    /// Adds or replaces a name (e.g. from the server's keyboard layout); later lookups see it.
    pub fn insert(&mut self, name: &str, keysym: Keysym) {
        self.names
            .insert(normalize(name), (name.trim().to_owned(), keysym));
    }

    /// The keysym for a key name, a single character (letters fold to lower case) or `0x…` hex.
    pub fn lookup(&self, name: &str) -> Option<Keysym> {
        if let Some((_, keysym)) = self.names.get(&normalize(name)) {
            return Some(*keysym);
        }
        let mut chars = name.chars();
        if let (Some(c), None) = (chars.next(), chars.next()) {
            let mut lower = c.to_lowercase();
            let c = match (lower.next(), lower.next()) {
                (Some(l), None) => l,
                _ => c,
            };
            return keysym_for_char(c);
        }
        let hex = name
            .strip_prefix("0x")
            .or_else(|| name.strip_prefix("0X"))?;
        u32::from_str_radix(hex, 16).ok().map(Keysym)
    }

    /// The known name closest to `name` (small edit distance), to suggest after a typo.
    pub fn closest(&self, name: &str) -> Option<&str> {
        let wanted = normalize(name);
        let limit = wanted.chars().count().div_ceil(3).clamp(1, 3);
        self.names
            .iter()
            .filter(|(key, _)| key.chars().count() > 1)
            .map(|(key, (shown, _))| (edit_distance(&wanted, key), shown.as_str()))
            .filter(|(distance, _)| *distance <= limit)
            .min_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.cmp(b.1)))
            .map(|(_, shown)| shown)
    }
}

/// Edit distance over characters where an adjacent swap counts as one edit ("Ctlr" → "Ctrl").
pub(crate) fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let width = b.len() + 1;
    let mut d = vec![0usize; (a.len() + 1) * width];
    for (i, cell) in d.iter_mut().step_by(width).enumerate() {
        *cell = i;
    }
    for (j, cell) in d.iter_mut().take(width).enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[(i - 1) * width + j] + 1)
                .min(d[i * width + j - 1] + 1)
                .min(d[(i - 1) * width + j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[(i - 2) * width + j - 2] + 1);
            }
            d[i * width + j] = best;
        }
    }
    d[a.len() * width + b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(name: &str) -> Option<u32> {
        DEFAULT_KEYS.lookup(name).map(|k| k.0)
    }

    #[test]
    fn named_keys_have_x11_values() {
        assert_eq!(key("Return"), Some(0xff0d));
        assert_eq!(key("Enter"), Some(0xff0d));
        assert_eq!(key("Tab"), Some(0xff09));
        assert_eq!(key("BackSpace"), Some(0xff08));
        assert_eq!(key("Escape"), Some(0xff1b));
        assert_eq!(key("Delete"), Some(0xffff));
        assert_eq!(key("Insert"), Some(0xff63));
        assert_eq!(key("Home"), Some(0xff50));
        assert_eq!(key("End"), Some(0xff57));
        assert_eq!(key("Page_Up"), Some(0xff55));
        assert_eq!(key("Page_Down"), Some(0xff56));
        assert_eq!(key("Left"), Some(0xff51));
        assert_eq!(key("Up"), Some(0xff52));
        assert_eq!(key("Right"), Some(0xff53));
        assert_eq!(key("Down"), Some(0xff54));
        assert_eq!(key("F1"), Some(0xffbe));
        assert_eq!(key("F12"), Some(0xffc9));
        assert_eq!(key("F24"), Some(0xffd5));
        assert_eq!(key("F25"), None);
        assert_eq!(key("Shift_L"), Some(0xffe1));
        assert_eq!(key("Shift_R"), Some(0xffe2));
        assert_eq!(key("Control_L"), Some(0xffe3));
        assert_eq!(key("Control_R"), Some(0xffe4));
        assert_eq!(key("Alt_L"), Some(0xffe9));
        assert_eq!(key("Alt_R"), Some(0xffea));
        assert_eq!(key("Super_L"), Some(0xffeb));
        assert_eq!(key("Super_R"), Some(0xffec));
        assert_eq!(key("Caps_Lock"), Some(0xffe5));
        assert_eq!(key("Num_Lock"), Some(0xff7f));
        assert_eq!(key("space"), Some(0x20));
        assert_eq!(key("Print"), Some(0xff61));
        assert_eq!(key("Menu"), Some(0xff67));
        assert_eq!(key("KP_Enter"), Some(0xff8d));
        assert_eq!(key("KP_0"), Some(0xffb0));
        assert_eq!(key("KP_9"), Some(0xffb9));
        assert_eq!(key("KP_Add"), Some(0xffab));
    }

    #[test]
    fn names_are_case_insensitive_with_aliases() {
        assert_eq!(key("ctrl"), Some(0xffe3));
        assert_eq!(key("CONTROL"), Some(0xffe3));
        assert_eq!(key("alt"), Some(0xffe9));
        assert_eq!(key("Shift"), Some(0xffe1));
        assert_eq!(key("super"), Some(0xffeb));
        assert_eq!(key("Win"), Some(0xffeb));
        assert_eq!(key("cmd"), Some(0xffeb));
        assert_eq!(key("Meta"), Some(0xffeb));
        assert_eq!(key("esc"), Some(0xff1b));
        assert_eq!(key("DEL"), Some(0xffff));
        assert_eq!(key("enter"), Some(0xff0d));
        assert_eq!(key("PgUp"), Some(0xff55));
        assert_eq!(key("pgdn"), Some(0xff56));
        assert_eq!(key("PageDown"), Some(0xff56));
        assert_eq!(key("page-up"), Some(0xff55));
        assert_eq!(key("ArrowLeft"), Some(0xff51));
        assert_eq!(key("arrowdown"), Some(0xff54));
        assert_eq!(key("backspace"), Some(0xff08));
        assert_eq!(key("f5"), Some(0xffc2));
    }

    #[test]
    fn single_characters_and_hex() {
        assert_eq!(key("a"), Some(0x61));
        assert_eq!(key("A"), Some(0x61));
        assert_eq!(key("7"), Some(0x37));
        assert_eq!(key("+"), Some(0x2b));
        assert_eq!(key("_"), Some(0x5f));
        assert_eq!(key("-"), Some(0x2d));
        assert_eq!(key("é"), Some(0xe9));
        assert_eq!(key("É"), Some(0xe9));
        assert_eq!(key("€"), Some(0x0100_20ac));
        assert_eq!(key("0xff0d"), Some(0xff0d));
        assert_eq!(key("0XFFBE"), Some(0xffbe));
        assert_eq!(key("0xzz"), None);
        assert_eq!(key(""), None);
        assert_eq!(key("nosuchkey"), None);
    }

    #[test]
    fn char_keysyms_follow_the_x_unicode_rule() {
        let sym = |c| keysym_for_char(c).map(|k| k.0);
        assert_eq!(sym('a'), Some(0x61));
        assert_eq!(sym('~'), Some(0x7e));
        assert_eq!(sym(' '), Some(0x20));
        assert_eq!(sym('\u{a0}'), Some(0xa0));
        assert_eq!(sym('é'), Some(0xe9));
        assert_eq!(sym('ÿ'), Some(0xff));
        assert_eq!(sym('Ā'), Some(0x0100_0100));
        assert_eq!(sym('€'), Some(0x0100_20ac));
        assert_eq!(sym('日'), Some(0x0100_0000 + 0x65e5));
        assert_eq!(sym('\u{10ffff}'), Some(0x0110_ffff));
        assert_eq!(sym('\n'), Some(0xff0d));
        assert_eq!(sym('\r'), Some(0xff0d));
        assert_eq!(sym('\t'), Some(0xff09));
        assert_eq!(sym('\u{8}'), Some(0xff08));
        assert_eq!(sym('\u{0}'), None);
        assert_eq!(sym('\u{85}'), None);
    }

    #[test]
    fn table_can_be_extended_and_overridden() {
        let mut table = KeyTable::default();
        assert_eq!(table.lookup("dead_acute"), None);
        table.insert("dead_acute", Keysym(0xfe51));
        assert_eq!(table.lookup("Dead_Acute"), Some(Keysym(0xfe51)));
        table.insert("Meta", Keysym(0xffe7));
        assert_eq!(table.lookup("meta"), Some(Keysym(0xffe7)));
        table.insert("ß", Keysym(0xdf));
        assert_eq!(table.lookup("ß"), Some(Keysym(0xdf)));
    }

    #[test]
    fn closest_suggests_near_names_only() {
        assert_eq!(DEFAULT_KEYS.closest("Escpe"), Some("Escape"));
        assert_eq!(DEFAULT_KEYS.closest("Ctlr"), Some("Ctrl"));
        assert_eq!(DEFAULT_KEYS.closest("Retrun"), Some("Return"));
        assert_eq!(DEFAULT_KEYS.closest("completelyunrelated"), None);
    }

    #[test]
    fn display_is_hex() {
        assert_eq!(Keysym(0xff0d).to_string(), "0xff0d");
        assert_eq!(Keysym(0x61).to_string(), "0x0061");
    }

    #[test]
    fn edit_distance_basics() {
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("abc", "abc"), 0);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("ctlr", "ctrl"), 1);
        assert_eq!(edit_distance("abc", ""), 3);
    }
}
