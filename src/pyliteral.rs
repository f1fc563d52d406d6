//! Python literals and JSON values as models print them: reading one, and Python's float repr.
//!
//! The reader accepts the union of what the Python agent's parser accepts (`json.loads`, then
//! `ast.literal_eval`): dicts with string keys, lists, tuples, strings in single or double
//! quotes with Python and JSON escapes, integers, floats, `None`/`True`/`False` and
//! `null`/`true`/`false`. Trailing commas are allowed, as in Python. It reads one value from the
//! start of the text and reports how far it got, so the caller can ignore what follows.

/// Deepest nesting read before giving up (keeps hostile output from exhausting the stack).
const MAX_DEPTH: usize = 32;

/// A value read from model output.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value {
    /// `None` / `null`.
    None,
    /// `True`/`False` or `true`/`false`.
    Bool(bool),
    /// A number written without a fraction or exponent that fits an `i64`.
    Int(i64),
    /// Any other number.
    Float(f64),
    /// A string.
    Str(String),
    /// A list or a tuple.
    List(Vec<Value>),
    /// A dict, keys in the order written (a repeated key keeps its last value on lookup).
    Dict(Vec<(String, Value)>),
}

impl Value {
    /// The value under `key` when this is a dict; the last one when the key repeats.
    pub(crate) fn get(&self, key: &str) -> Option<&Value> {
        match self {
            Self::Dict(entries) => entries.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// The number, for integers and floats.
    pub(crate) fn as_number(&self) -> Option<f64> {
        match *self {
            // Precision loss above 2^53 is irrelevant for coordinates and counts.
            Self::Int(n) => Some(n as f64),
            Self::Float(f) => Some(f),
            _ => None,
        }
    }
}

/// Where and why reading stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LiteralError {
    /// Byte offset into the text given to [`read_value`].
    pub(crate) at: usize,
    /// What would have been accepted there.
    pub(crate) expected: &'static str,
}

/// Reads one value at the start of `text` (after blanks); returns it and the bytes consumed.
pub(crate) fn read_value(text: &str) -> Result<(Value, usize), LiteralError> {
    let mut reader = Reader {
        text,
        pos: 0,
        depth: 0,
    };
    let value = reader.value()?;
    Ok((value, reader.pos))
}

/// A cursor over the text being read.
struct Reader<'a> {
    text: &'a str,
    pos: usize,
    depth: usize,
}

impl Reader<'_> {
    fn peek(&self) -> Option<char> {
        self.text[self.pos..].chars().next()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        Some(c)
    }

    fn fail<T>(&self, expected: &'static str) -> Result<T, LiteralError> {
        Err(LiteralError {
            at: self.pos,
            expected,
        })
    }

    fn skip_blank(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.bump();
        }
    }

    fn value(&mut self) -> Result<Value, LiteralError> {
        self.skip_blank();
        match self.peek() {
            Some('{') => self.nested(Self::dict),
            Some('[') => self.nested(|r| r.sequence(']').map(|(items, _)| Value::List(items))),
            Some('(') => self.nested(Self::tuple),
            Some(quote @ ('\'' | '"')) => {
                self.bump();
                self.string(quote).map(Value::Str)
            }
            Some(c) if c.is_ascii_digit() || matches!(c, '-' | '+' | '.') => self.number(),
            Some(c) if c.is_ascii_alphabetic() => self.word(),
            _ => self.fail("a value"),
        }
    }

    /// Runs `read` one nesting level deeper.
    fn nested(
        &mut self,
        read: impl FnOnce(&mut Self) -> Result<Value, LiteralError>,
    ) -> Result<Value, LiteralError> {
        if self.depth == MAX_DEPTH {
            return self.fail("less deeply nested brackets");
        }
        self.depth += 1;
        let value = read(self);
        self.depth -= 1;
        value
    }

    fn dict(&mut self) -> Result<Value, LiteralError> {
        self.bump(); // '{'
        let mut entries = Vec::new();
        loop {
            self.skip_blank();
            if self.peek() == Some('}') {
                self.bump();
                return Ok(Value::Dict(entries));
            }
            let key = match self.value()? {
                Value::Str(key) => key,
                _ => return self.fail("a string key"),
            };
            self.skip_blank();
            if self.peek() != Some(':') {
                return self.fail("':' after a dict key");
            }
            self.bump();
            let value = self.value()?;
            entries.push((key, value));
            self.skip_blank();
            match self.peek() {
                Some(',') => {
                    self.bump();
                }
                Some('}') => {}
                _ => return self.fail("',' or '}'"),
            }
        }
    }

    /// Items up to `close`; also says whether a comma followed the last item.
    fn sequence(&mut self, close: char) -> Result<(Vec<Value>, bool), LiteralError> {
        self.bump(); // opening bracket
        let mut items = Vec::new();
        let mut trailing_comma = false;
        loop {
            self.skip_blank();
            if self.peek() == Some(close) {
                self.bump();
                return Ok((items, trailing_comma));
            }
            items.push(self.value()?);
            self.skip_blank();
            trailing_comma = self.peek() == Some(',');
            if trailing_comma {
                self.bump();
            } else if self.peek() != Some(close) {
                return self.fail(if close == ']' {
                    "',' or ']'"
                } else {
                    "',' or ')'"
                });
            }
        }
    }

    /// `(a, b)` is a tuple, `(a)` is just `a`, as in Python.
    fn tuple(&mut self) -> Result<Value, LiteralError> {
        let (mut items, trailing_comma) = self.sequence(')')?;
        if items.len() == 1 && !trailing_comma {
            return Ok(items.remove(0));
        }
        Ok(Value::List(items))
    }

    /// The rest of a string whose opening `quote` has been read.
    fn string(&mut self, quote: char) -> Result<String, LiteralError> {
        let mut out = String::new();
        loop {
            match self.bump() {
                None => return self.fail("the closing quote"),
                Some(c) if c == quote => return Ok(out),
                Some('\\') => self.escape(&mut out)?,
                Some(c) => out.push(c),
            }
        }
    }

    /// One escape after a backslash, Python's and JSON's; unknown ones are kept as written.
    fn escape(&mut self, out: &mut String) -> Result<(), LiteralError> {
        let Some(c) = self.bump() else {
            return self.fail("an escaped character");
        };
        match c {
            'n' => out.push('\n'),
            't' => out.push('\t'),
            'r' => out.push('\r'),
            'b' => out.push('\u{8}'),
            'f' => out.push('\u{c}'),
            'v' => out.push('\u{b}'),
            'a' => out.push('\u{7}'),
            '0' => out.push('\0'),
            '\\' | '\'' | '"' | '/' => out.push(c),
            '\n' => {} // a line continuation
            'x' => {
                let code = self.hex(2)?;
                out.push(char::from_u32(code).unwrap_or(char::REPLACEMENT_CHARACTER));
            }
            'u' => {
                let code = self.hex(4)?;
                out.push(self.utf16(code)?);
            }
            'U' => {
                let code = self.hex(8)?;
                out.push(char::from_u32(code).unwrap_or(char::REPLACEMENT_CHARACTER));
            }
            other => {
                out.push('\\');
                out.push(other);
            }
        }
        Ok(())
    }

    /// A `\u` code unit, joined with a following `\uDC00`–`\uDFFF` when it is a high surrogate.
    fn utf16(&mut self, first: u32) -> Result<char, LiteralError> {
        if (0xD800..0xDC00).contains(&first) && self.text[self.pos..].starts_with("\\u") {
            let save = self.pos;
            self.pos += 2;
            let second = self.hex(4)?;
            if (0xDC00..0xE000).contains(&second) {
                let code = 0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00);
                return Ok(char::from_u32(code).unwrap_or(char::REPLACEMENT_CHARACTER));
            }
            self.pos = save;
        }
        Ok(char::from_u32(first).unwrap_or(char::REPLACEMENT_CHARACTER))
    }

    fn hex(&mut self, digits: usize) -> Result<u32, LiteralError> {
        let end = self.pos + digits;
        let code = self
            .text
            .get(self.pos..end)
            .filter(|s| s.bytes().all(|b| b.is_ascii_hexdigit()))
            .and_then(|s| u32::from_str_radix(s, 16).ok());
        match code {
            Some(code) => {
                self.pos = end;
                Ok(code)
            }
            None => self.fail("hexadecimal digits"),
        }
    }

    fn number(&mut self) -> Result<Value, LiteralError> {
        let start = self.pos;
        let bytes = self.text.as_bytes();
        let mut end = start;
        if matches!(bytes.get(end), Some(b'-' | b'+')) {
            end += 1;
        }
        let digits_from = end;
        while bytes.get(end).is_some_and(u8::is_ascii_digit) {
            end += 1;
        }
        let mut integer = true;
        if bytes.get(end) == Some(&b'.') {
            integer = false;
            end += 1;
            while bytes.get(end).is_some_and(u8::is_ascii_digit) {
                end += 1;
            }
        }
        let mantissa = &self.text[digits_from..end];
        if !mantissa.bytes().any(|b| b.is_ascii_digit()) {
            return self.fail("a number");
        }
        if matches!(bytes.get(end), Some(b'e' | b'E')) {
            let mut exp = end + 1;
            if matches!(bytes.get(exp), Some(b'-' | b'+')) {
                exp += 1;
            }
            if bytes.get(exp).is_some_and(u8::is_ascii_digit) {
                while bytes.get(exp).is_some_and(u8::is_ascii_digit) {
                    exp += 1;
                }
                integer = false;
                end = exp;
            }
        }
        let lexeme = &self.text[start..end];
        self.pos = end;
        if integer && let Ok(n) = lexeme.parse::<i64>() {
            return Ok(Value::Int(n));
        }
        match lexeme.parse::<f64>() {
            Ok(f) => Ok(Value::Float(f)),
            Err(_) => {
                self.pos = start;
                self.fail("a number")
            }
        }
    }

    fn word(&mut self) -> Result<Value, LiteralError> {
        let start = self.pos;
        while self
            .peek()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            self.bump();
        }
        match &self.text[start..self.pos] {
            "None" | "null" => Ok(Value::None),
            "True" | "true" => Ok(Value::Bool(true)),
            "False" | "false" => Ok(Value::Bool(false)),
            _ => {
                self.pos = start;
                self.fail("a value (a string, number, list, dict, None, True or False)")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Value {
        read_value(text)
            .unwrap_or_else(|e| panic!("{text:?}: {e:?}"))
            .0
    }

    fn s(text: &str) -> Value {
        Value::Str(text.to_owned())
    }

    #[test]
    fn scalars() {
        let cases: &[(&str, Value)] = &[
            ("None", Value::None),
            ("null", Value::None),
            ("True", Value::Bool(true)),
            ("false", Value::Bool(false)),
            ("0", Value::Int(0)),
            ("-12", Value::Int(-12)),
            ("+3", Value::Int(3)),
            ("0.13", Value::Float(0.13)),
            (".5", Value::Float(0.5)),
            ("5.", Value::Float(5.0)),
            ("1e3", Value::Float(1000.0)),
            ("-2.5E-1", Value::Float(-0.25)),
            ("99999999999999999999", Value::Float(1e20)),
            ("'it'", s("it")),
            ("\"it\"", s("it")),
            ("  'padded'", s("padded")),
        ];
        for (text, expected) in cases {
            assert_eq!(&read(text), expected, "{text:?}");
        }
    }

    #[test]
    fn strings_keep_other_quotes_and_keywords() {
        assert_eq!(read(r#""Joe's""#), s("Joe's"));
        assert_eq!(read(r#"'say "hi"'"#), s("say \"hi\""));
        assert_eq!(read("'True Detective'"), s("True Detective"));
        assert_eq!(read("'line\nbreak'"), s("line\nbreak"));
    }

    #[test]
    fn escapes() {
        let cases: &[(&str, &str)] = &[
            (r"'a\nb'", "a\nb"),
            (r"'tab\there'", "tab\there"),
            (r"'it\'s'", "it's"),
            (r#""q\"q""#, "q\"q"),
            (r"'back\\slash'", "back\\slash"),
            (r#""a\/b""#, "a/b"),
            (r"'caf\u00e9'", "café"),
            (r"'caf\xe9'", "café"),
            (r"'\U0001F600'", "😀"),
            (r"'\ud83d\ude00'", "😀"),
            (r"'\ud83d'", "\u{FFFD}"),
            (r"'\d'", "\\d"),
        ];
        for (text, expected) in cases {
            assert_eq!(read(text), s(expected), "{text:?}");
        }
    }

    #[test]
    fn containers() {
        assert_eq!(
            read("{'action': 'CLICK', 'value': None, 'position': [0.13, 0.24]}"),
            Value::Dict(vec![
                ("action".into(), s("CLICK")),
                ("value".into(), Value::None),
                (
                    "position".into(),
                    Value::List(vec![Value::Float(0.13), Value::Float(0.24)])
                ),
            ])
        );
        assert_eq!(
            read("[1, 2,]"),
            Value::List(vec![Value::Int(1), Value::Int(2)])
        );
        assert_eq!(
            read("(1, 2)"),
            Value::List(vec![Value::Int(1), Value::Int(2)])
        );
        assert_eq!(read("(1,)"), Value::List(vec![Value::Int(1)]));
        assert_eq!(read("(1)"), Value::Int(1));
        assert_eq!(read("()"), Value::List(vec![]));
        assert_eq!(read("{}"), Value::Dict(vec![]));
        assert_eq!(read("{'a': 1,}").get("a"), Some(&Value::Int(1)));
        assert_eq!(read("{'a': 1, 'a': 2}").get("a"), Some(&Value::Int(2)));
        assert_eq!(read("[1]").get("a"), None);
    }

    #[test]
    fn stops_after_one_value() {
        let text = "{'a': 1}, {'b': 2} trailing";
        let (value, used) = read_value(text).unwrap();
        assert_eq!(value.get("a"), Some(&Value::Int(1)));
        assert_eq!(&text[used..], ", {'b': 2} trailing");
    }

    #[test]
    fn errors_say_where_and_what() {
        let cases: &[(&str, usize, &str)] = &[
            ("", 0, "a value"),
            ("{'a' 1}", 5, "':' after a dict key"),
            ("{'a': 1 'b': 2}", 8, "',' or '}'"),
            ("{1: 2}", 2, "a string key"),
            ("[1 2]", 3, "',' or ']'"),
            ("'open", 5, "the closing quote"),
            (
                "{'a': nope}",
                6,
                "a value (a string, number, list, dict, None, True or False)",
            ),
            ("-", 0, "a number"),
            ("'\\u12'", 3, "hexadecimal digits"),
        ];
        for (text, at, expected) in cases {
            let err = read_value(text).unwrap_err();
            assert_eq!((err.at, err.expected), (*at, *expected), "{text:?}");
        }
    }

    #[test]
    fn deep_nesting_is_refused_not_overflowed() {
        let deep = "[".repeat(100_000);
        let err = read_value(&deep).unwrap_err();
        assert_eq!(err.expected, "less deeply nested brackets");
        assert_eq!(err.at, MAX_DEPTH);
        let ok = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        assert!(read_value(&ok).is_ok());
    }
}
