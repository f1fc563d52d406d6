//! Key chords such as `Ctrl+Alt+t`: held keys plus one main key.

use std::fmt;
use std::str::FromStr;

use thiserror::Error;

use super::keysym::{DEFAULT_KEYS, KeyTable, Keysym};

/// Why a chord string could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ChordError {
    /// The chord string is empty or blank.
    #[error("empty key chord")]
    Empty,
    /// A `+`-separated part is empty, as in `Ctrl+` or `Ctrl++a`.
    #[error(
        "empty key name at part {position} of {chord:?} (write the plus key as \"plus\" or a trailing \"++\")"
    )]
    EmptyPart {
        /// 1-based index of the empty part.
        position: usize,
        /// The whole chord as given.
        chord: String,
    },
    /// A part names no known key.
    #[error("unknown key {name:?} in {chord:?}{}", suggestion_text(.suggestion))]
    UnknownKey {
        /// The unknown part.
        name: String,
        /// The whole chord as given.
        chord: String,
        /// The closest known key name, if one is near.
        suggestion: Option<String>,
    },
    /// The same key appears twice.
    #[error("key {name:?} appears twice in {chord:?}")]
    Duplicate {
        /// The repeated part.
        name: String,
        /// The whole chord as given.
        chord: String,
    },
}

/// `; did you mean "X"?` or nothing.
fn suggestion_text(suggestion: &Option<String>) -> String {
    suggestion
        .as_ref()
        .map(|name| format!("; did you mean {name:?}?"))
        .unwrap_or_default()
}

/// Keys held down in order (usually modifiers), then one main key pressed and released.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chord {
    /// Keys pressed first and released last, in reverse order.
    pub held: Vec<Keysym>,
    /// The key pressed and released while the others are held.
    pub key: Keysym,
}

impl Chord {
    /// A single key with nothing held.
    pub fn single(key: Keysym) -> Self {
        Self {
            held: Vec::new(),
            key,
        }
    }

    /// Parses `Ctrl+Alt+t`, `Shift+Tab`, `F5`, `+`, `Ctrl++` with names from `table`.
    ///
    /// Parts are separated by `+`; the last part is the main key and the others are held.
    /// A lone `+` or a trailing `++` stands for the plus key. Single letters name the key, so
    /// `Ctrl+A` is Control with the `a` key (add `Shift` for a capital).
    pub fn parse(text: &str, table: &KeyTable) -> Result<Self, ChordError> {
        let chord = text.trim();
        if chord.is_empty() {
            return Err(ChordError::Empty);
        }
        let (held_part, key_part) = if chord == "+" {
            (None, "+")
        } else if let Some(prefix) = chord.strip_suffix("++") {
            (Some(prefix), "+")
        } else {
            match chord.rsplit_once('+') {
                Some((prefix, key)) => (Some(prefix), key),
                None => (None, chord),
            }
        };
        let mut names: Vec<&str> = held_part
            .map(|part| part.split('+').map(str::trim).collect())
            .unwrap_or_default();
        names.push(key_part.trim());

        let mut keys = Vec::with_capacity(names.len());
        for (index, name) in names.iter().enumerate() {
            if name.is_empty() {
                return Err(ChordError::EmptyPart {
                    position: index + 1,
                    chord: chord.to_owned(),
                });
            }
            let Some(keysym) = table.lookup(name) else {
                return Err(ChordError::UnknownKey {
                    name: (*name).to_owned(),
                    chord: chord.to_owned(),
                    suggestion: table.closest(name).map(str::to_owned),
                });
            };
            if keys.contains(&keysym) {
                return Err(ChordError::Duplicate {
                    name: (*name).to_owned(),
                    chord: chord.to_owned(),
                });
            }
            keys.push(keysym);
        }
        match keys.pop() {
            Some(key) => Ok(Self { held: keys, key }),
            None => Err(ChordError::Empty),
        }
    }
}

impl FromStr for Chord {
    type Err = ChordError;

    /// Parses with the built-in key table.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::parse(text, &DEFAULT_KEYS)
    }
}

impl fmt::Display for Chord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for held in &self.held {
            write!(f, "{held}+")?;
        }
        write!(f, "{}", self.key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chord(text: &str) -> (Vec<u32>, u32) {
        let chord: Chord = text.parse().expect("chord parses");
        (chord.held.iter().map(|k| k.0).collect(), chord.key.0)
    }

    #[test]
    fn modifiers_then_key() {
        assert_eq!(chord("Ctrl+Alt+t"), (vec![0xffe3, 0xffe9], 0x74));
        assert_eq!(chord("Shift+Tab"), (vec![0xffe1], 0xff09));
        assert_eq!(chord("Alt+Left"), (vec![0xffe9], 0xff51));
        assert_eq!(chord("ctrl+shift+ESC"), (vec![0xffe3, 0xffe1], 0xff1b));
        assert_eq!(chord("Ctrl + Alt + Delete"), (vec![0xffe3, 0xffe9], 0xffff));
    }

    #[test]
    fn single_keys() {
        assert_eq!(chord("F5"), (vec![], 0xffc2));
        assert_eq!(chord("Super"), (vec![], 0xffeb));
        assert_eq!(chord("a"), (vec![], 0x61));
        assert_eq!(chord("A"), (vec![], 0x61));
        assert_eq!(chord(" Return "), (vec![], 0xff0d));
    }

    #[test]
    fn the_plus_key() {
        assert_eq!(chord("+"), (vec![], 0x2b));
        assert_eq!(chord("Ctrl++"), (vec![0xffe3], 0x2b));
        assert_eq!(chord("Ctrl+Shift++"), (vec![0xffe3, 0xffe1], 0x2b));
        assert_eq!(chord("Ctrl+plus"), (vec![0xffe3], 0x2b));
        assert_eq!(chord("Ctrl+-"), (vec![0xffe3], 0x2d));
    }

    #[test]
    fn empty_parts_are_errors() {
        assert_eq!("".parse::<Chord>(), Err(ChordError::Empty));
        assert_eq!("   ".parse::<Chord>(), Err(ChordError::Empty));
        assert_eq!(
            "Ctrl+".parse::<Chord>(),
            Err(ChordError::EmptyPart {
                position: 2,
                chord: "Ctrl+".into()
            })
        );
        assert_eq!(
            "+a".parse::<Chord>(),
            Err(ChordError::EmptyPart {
                position: 1,
                chord: "+a".into()
            })
        );
        assert_eq!(
            "Ctrl++a".parse::<Chord>(),
            Err(ChordError::EmptyPart {
                position: 2,
                chord: "Ctrl++a".into()
            })
        );
        assert!(matches!(
            "++".parse::<Chord>(),
            Err(ChordError::EmptyPart { position: 1, .. })
        ));
        assert!(matches!(
            "Ctrl+++".parse::<Chord>(),
            Err(ChordError::EmptyPart { position: 2, .. })
        ));
    }

    #[test]
    fn unknown_names_suggest_the_closest() {
        let err = "Ctrl+Escpe".parse::<Chord>().unwrap_err();
        assert_eq!(
            err,
            ChordError::UnknownKey {
                name: "Escpe".into(),
                chord: "Ctrl+Escpe".into(),
                suggestion: Some("Escape".into()),
            }
        );
        assert_eq!(
            err.to_string(),
            r#"unknown key "Escpe" in "Ctrl+Escpe"; did you mean "Escape"?"#
        );
        let err = "Ctlr+c".parse::<Chord>().unwrap_err();
        assert!(err.to_string().contains(r#"did you mean "Ctrl"?"#), "{err}");
        let err = "Hyperdrive+x".parse::<Chord>().unwrap_err();
        assert_eq!(
            err.to_string(),
            r#"unknown key "Hyperdrive" in "Hyperdrive+x""#
        );
    }

    #[test]
    fn duplicates_are_errors() {
        assert!(matches!(
            "Ctrl+Control+a".parse::<Chord>(),
            Err(ChordError::Duplicate { .. })
        ));
        assert!(matches!(
            "Shift+Shift".parse::<Chord>(),
            Err(ChordError::Duplicate { .. })
        ));
    }

    #[test]
    fn custom_tables_are_used() {
        let mut table = KeyTable::default();
        table.insert("Compose", Keysym(0xff20));
        let chord = Chord::parse("Shift+Compose", &table).expect("parses");
        assert_eq!(
            chord,
            Chord {
                held: vec![Keysym::SHIFT_L],
                key: Keysym(0xff20),
            }
        );
        assert!("Shift+Compose".parse::<Chord>().is_err());
    }

    #[test]
    fn odd_inputs_give_errors_not_panics() {
        let long = "Ctrl+".repeat(1000) + "a";
        for text in [
            "+++",
            "++++",
            "\u{0}",
            "a+\u{0}",
            "0x",
            "0xffffffffff",
            "é+日",
            "\u{1b}",
            &long,
        ] {
            let _ = text.parse::<Chord>();
        }
        assert_eq!(chord("é+日"), (vec![0xe9], 0x0100_65e5));
        assert!(matches!(
            "a+\u{0}".parse::<Chord>(),
            Err(ChordError::UnknownKey { .. })
        ));
    }

    #[test]
    fn display_lists_keysyms() {
        let chord: Chord = "Ctrl+t".parse().expect("parses");
        assert_eq!(chord.to_string(), "0xffe3+0x0074");
        assert_eq!(Chord::single(Keysym::RETURN).to_string(), "0xff0d");
    }
}
