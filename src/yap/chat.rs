//! The chat commands of `neko-agent yap`, recognised like the Python tool: case-insensitive on
//! the trimmed text, in the same order.

/// Replies are sent with this prefix, and messages starting with it are never spoken.
pub use crate::chat_prefix::YAP as REPLY_PREFIX;

/// One chat message, read as a yap command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum YapCommand {
    /// `/yap:begin`: stream mode on.
    Begin,
    /// `/yap:end`: speak what the stream left, stream mode off.
    End,
    /// `/yap:stop`: silence now and forget the queue.
    Stop,
    /// `/yap <text>`: speak the text.
    Say(String),
    /// `/yap:voice reload`.
    VoiceReload,
    /// `/yap:voice add …` with its flags.
    VoiceAdd(String),
    /// `/yap:voice set …` with its flags.
    VoiceSet(String),
    /// Something starting with `/yap` that is none of the above.
    Unknown(String),
    /// Anything else: spoken only in stream mode.
    Text(String),
}

/// What a command line does, with the help line for unknown ones.
pub const HELP: &str = "commands: /yap <text>, /yap:begin … /yap:end, /yap:stop, /yap:voice add --spk <id> --ref <wav> [--ref-text \"…\"] [--styles \"a,b\"] [--rate 1.0] [--pitch 0.0], /yap:voice set [--spk <id>] [--rate r] [--pitch semitones], /yap:voice reload";

/// Reads one chat message.
pub fn parse(text: &str) -> YapCommand {
    let trimmed = text.trim();
    let lower = trimmed.to_lowercase();
    match lower.as_str() {
        "/yap:begin" => return YapCommand::Begin,
        "/yap:end" => return YapCommand::End,
        "/yap:stop" => return YapCommand::Stop,
        _ => {}
    }
    if let Some(rest) = strip_word(trimmed, &lower, "/yap") {
        return match rest.is_empty() {
            true => YapCommand::Unknown(trimmed.to_owned()),
            false => YapCommand::Say(rest.to_owned()),
        };
    }
    if let Some(rest) = strip_word(trimmed, &lower, "/yap:voice") {
        let rest_lower = rest.to_lowercase();
        if rest_lower == "reload" {
            return YapCommand::VoiceReload;
        }
        if let Some(flags) = strip_word(rest, &rest_lower, "add") {
            return YapCommand::VoiceAdd(flags.to_owned());
        }
        if let Some(flags) = strip_word(rest, &rest_lower, "set") {
            return YapCommand::VoiceSet(flags.to_owned());
        }
        return YapCommand::Unknown(trimmed.to_owned());
    }
    if lower.starts_with("/yap") {
        return YapCommand::Unknown(trimmed.to_owned());
    }
    YapCommand::Text(trimmed.to_owned())
}

/// `text` after the word `word` (matched on `lower`, the lowercased `text`), trimmed; `None` when
/// `text` does not start with that whole word.
fn strip_word<'a>(text: &'a str, lower: &str, word: &str) -> Option<&'a str> {
    let rest_lower = lower.strip_prefix(word)?;
    if !(rest_lower.is_empty() || rest_lower.starts_with(char::is_whitespace)) {
        return None;
    }
    Some(text[word.len()..].trim())
}

/// Whether a chat message is one of yap's own replies (never spoken back).
pub fn is_reply(text: &str) -> bool {
    text.trim_start().starts_with(REPLY_PREFIX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_match_case_insensitively_and_keep_the_text() {
        assert_eq!(parse(" /YAP:Begin "), YapCommand::Begin);
        assert_eq!(parse("/yap:end"), YapCommand::End);
        assert_eq!(parse("/yap:STOP"), YapCommand::Stop);
        assert_eq!(
            parse("/Yap Hello World. This is a test"),
            YapCommand::Say("Hello World. This is a test".into())
        );
        assert_eq!(parse("/yap:voice RELOAD"), YapCommand::VoiceReload);
        assert_eq!(
            parse("/yap:voice add --spk Ann --ref 'a b.wav'"),
            YapCommand::VoiceAdd("--spk Ann --ref 'a b.wav'".into())
        );
        assert_eq!(
            parse("/yap:voice set --rate 1.2"),
            YapCommand::VoiceSet("--rate 1.2".into())
        );
        assert_eq!(parse("/yap:voice set"), YapCommand::VoiceSet(String::new()));
    }

    #[test]
    fn near_misses_are_unknown_not_spoken() {
        for text in [
            "/yap",
            "/yap:begins",
            "/yapper hi",
            "/yap:voice list",
            "/yap:pause",
        ] {
            assert!(
                matches!(parse(text), YapCommand::Unknown(_)),
                "{text}: {:?}",
                parse(text)
            );
        }
        assert_eq!(parse("hello there"), YapCommand::Text("hello there".into()));
    }

    #[test]
    fn replies_are_recognised() {
        assert!(is_reply("[yap] stopped / queue flushed"));
        assert!(!is_reply("yap"));
    }
}
