//! `--key value` arguments of the `/yap:voice` chat commands, read like the Python tool's
//! `_parse_kv_flags`: `--key=value` or `--key value`, the value `"double quoted"`, `'single
//! quoted'` or a bare token, keys lower-cased.
//!
//! Stricter than the Python tool: text that is not a flag, a flag without a value and an
//! unterminated quote are errors instead of being ignored.

/// The arguments cannot be read as flags.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FlagError {
    /// Text that is not part of a `--key value` pair.
    #[error("unexpected {0:?}: arguments are --key value or --key=value")]
    Stray(String),
    /// A flag with nothing after it, or followed by another flag.
    #[error("--{0} needs a value")]
    MissingValue(String),
    /// A quoted value that does not end.
    #[error("the value of --{0} opens a quote that is never closed")]
    UnclosedQuote(String),
}

/// Reads `args` into `(key, value)` pairs in order (keys lower-cased, without `--`; quotes
/// removed). A key given twice appears twice; the later one wins for callers that collect them.
pub fn parse_kv_flags(args: &str) -> Result<Vec<(String, String)>, FlagError> {
    let mut pairs = Vec::new();
    let mut rest = args.trim_start();
    while !rest.is_empty() {
        let Some(after_dashes) = rest.strip_prefix("--") else {
            let token = rest.split_whitespace().next().unwrap_or(rest);
            return Err(FlagError::Stray(token.to_owned()));
        };
        let key_end = after_dashes
            .find(|c: char| c == '=' || c.is_whitespace())
            .unwrap_or(after_dashes.len());
        let key = after_dashes[..key_end].to_lowercase();
        if key.is_empty() {
            return Err(FlagError::Stray("--".to_owned()));
        }
        let after_key = &after_dashes[key_end..];
        let (value, remaining) = match after_key.strip_prefix('=') {
            Some(value_start) => read_value(&key, value_start, true)?,
            None => {
                let value_start = after_key.trim_start();
                if value_start.is_empty() || value_start.starts_with("--") {
                    return Err(FlagError::MissingValue(key));
                }
                read_value(&key, value_start, false)?
            }
        };
        pairs.push((key, value));
        rest = remaining.trim_start();
    }
    Ok(pairs)
}

/// One value at the start of `text`: quoted, or up to the next whitespace. After `=` an empty
/// bare value is allowed (`--ref-text=`).
fn read_value<'a>(
    key: &str,
    text: &'a str,
    after_equals: bool,
) -> Result<(String, &'a str), FlagError> {
    if let Some(quote) = text.chars().next().filter(|c| *c == '"' || *c == '\'') {
        let body = &text[1..];
        let end = body
            .find(quote)
            .ok_or_else(|| FlagError::UnclosedQuote(key.to_owned()))?;
        let remaining = &body[end + 1..];
        if remaining.starts_with(|c: char| !c.is_whitespace()) {
            let token = remaining.split_whitespace().next().unwrap_or(remaining);
            return Err(FlagError::Stray(token.to_owned()));
        }
        return Ok((body[..end].to_owned(), remaining));
    }
    let end = text.find(char::is_whitespace).unwrap_or(text.len());
    if end == 0 && !after_equals {
        return Err(FlagError::MissingValue(key.to_owned()));
    }
    Ok((text[..end].to_owned(), &text[end..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(args: &str) -> Vec<(String, String)> {
        parse_kv_flags(args).unwrap()
    }

    fn kv(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn both_spellings_and_all_quotes() {
        assert_eq!(
            pairs(r#" --SPK=alice --ref "voices/a b.wav" --ref-text='Hi there.' --rate 1.5"#),
            kv(&[
                ("spk", "alice"),
                ("ref", "voices/a b.wav"),
                ("ref-text", "Hi there."),
                ("rate", "1.5"),
            ])
        );
    }

    #[test]
    fn empty_arguments_give_no_pairs() {
        assert!(pairs("").is_empty());
        assert!(pairs("   ").is_empty());
    }

    #[test]
    fn quotes_may_hold_the_other_quote_and_empty_values_need_equals_or_quotes() {
        assert_eq!(
            pairs(r#"--ref-text "It's fine" --styles="""#),
            kv(&[("ref-text", "It's fine"), ("styles", "")])
        );
        assert_eq!(pairs("--ref-text="), kv(&[("ref-text", "")]));
    }

    #[test]
    fn malformed_arguments_are_errors() {
        assert_eq!(
            parse_kv_flags("alice --rate 1"),
            Err(FlagError::Stray("alice".into()))
        );
        assert_eq!(
            parse_kv_flags("--rate"),
            Err(FlagError::MissingValue("rate".into()))
        );
        assert_eq!(
            parse_kv_flags("--rate --pitch 2"),
            Err(FlagError::MissingValue("rate".into()))
        );
        assert_eq!(
            parse_kv_flags("--ref-text \"open"),
            Err(FlagError::UnclosedQuote("ref-text".into()))
        );
        assert_eq!(
            parse_kv_flags("--ref-text \"a\"b"),
            Err(FlagError::Stray("b".into()))
        );
        assert_eq!(parse_kv_flags("-- x"), Err(FlagError::Stray("--".into())));
    }
}
