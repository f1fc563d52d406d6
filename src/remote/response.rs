//! Reading a chat-completions response: the answer text of `choices[0].message.content` (a
//! string or a list of content parts) and the model's reasoning, wherever the server put it
//! (`reasoning`, `reasoning_content`, `reasoning_details`, or `<think>` in the text).

use serde_json::Value;

/// Longest reasoning kept (characters); the rest is cut with `…`.
pub const MAX_REASONING_CHARS: usize = 2000;
/// Longest server message quoted in an error (characters).
const MAX_QUOTE_CHARS: usize = 300;

/// What the model answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// The answer text (may be empty, and may still hold `<think>` blocks: the action parser
    /// removes them).
    pub text: String,
    /// The model's reasoning, `<think>` tags removed, at most [`MAX_REASONING_CHARS`].
    pub reasoning: Option<String>,
}

/// A 2xx response that is not a usable chat completion.
#[derive(Debug, thiserror::Error)]
pub enum ResponseError {
    /// The body is not JSON.
    #[error("the answer is not JSON ({source}); it starts with {excerpt:?}")]
    NotJson {
        /// The JSON parser's error.
        source: serde_json::Error,
        /// The start of the body.
        excerpt: String,
    },
    /// The body is an error object.
    #[error("the answer is an error: {0}")]
    Error(String),
    /// `choices` is missing or empty.
    #[error("the answer has no choices[0] (not an OpenAI chat-completions response)")]
    NoChoices,
    /// `choices[0].message` is missing.
    #[error("choices[0] has no message (not an OpenAI chat-completions response)")]
    NoMessage,
    /// `content` is neither a string, a list of parts nor null.
    #[error("choices[0].message.content is neither text nor a list of content parts")]
    BadContent,
}

/// Reads a chat-completions response body.
pub fn parse_response(body: &[u8]) -> Result<Answer, ResponseError> {
    let value: Value = serde_json::from_slice(body).map_err(|source| ResponseError::NotJson {
        source,
        excerpt: quote(&String::from_utf8_lossy(&body[..body.len().min(200)])),
    })?;
    if let Some(error) = value.get("error").filter(|e| !e.is_null()) {
        return Err(ResponseError::Error(error_text(error)));
    }
    let choice = value
        .get("choices")
        .and_then(Value::as_array)
        .and_then(|choices| choices.first())
        .ok_or(ResponseError::NoChoices)?;
    let message = choice
        .get("message")
        .filter(|m| m.is_object())
        .ok_or(ResponseError::NoMessage)?;
    let text = match message.get("content") {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(text)) => text.clone(),
        Some(Value::Array(parts)) => parts
            .iter()
            .filter_map(|part| part.get("text").and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join(""),
        Some(_) => return Err(ResponseError::BadContent),
    };
    let reasoning = ["reasoning", "reasoning_content"]
        .iter()
        .find_map(|key| message.get(*key).and_then(Value::as_str))
        .map(str::to_owned)
        .or_else(|| details_text(message.get("reasoning_details")))
        .or_else(|| details_text(choice.get("reasoning_details")))
        .or_else(|| think_text(&text))
        .map(|reasoning| bounded(strip_think_tags(&reasoning).trim(), MAX_REASONING_CHARS))
        .filter(|reasoning| !reasoning.is_empty());
    Ok(Answer { text, reasoning })
}

/// What an error response says, for a message: its `error.message` (or `message`, `detail`),
/// else the body itself, bounded.
pub(crate) fn error_message(body: &[u8]) -> String {
    match serde_json::from_slice::<Value>(body) {
        Ok(value) => value
            .get("error")
            .map(error_text)
            .or_else(|| {
                ["message", "detail"]
                    .iter()
                    .find_map(|key| value.get(*key).and_then(Value::as_str))
                    .map(quote)
            })
            .unwrap_or_else(|| quote(&value.to_string())),
        Err(_) => quote(String::from_utf8_lossy(body).trim()),
    }
}

fn error_text(error: &Value) -> String {
    match error {
        Value::String(text) => quote(text),
        other => other
            .get("message")
            .and_then(Value::as_str)
            .map_or_else(|| quote(&other.to_string()), quote),
    }
}

/// The texts of a `reasoning_details` list, one per line.
fn details_text(details: Option<&Value>) -> Option<String> {
    let texts: Vec<&str> = details?
        .as_array()?
        .iter()
        .filter_map(|detail| {
            ["text", "content", "summary"]
                .iter()
                .find_map(|key| detail.get(*key).and_then(Value::as_str))
        })
        .collect();
    (!texts.is_empty()).then(|| texts.join("\n"))
}

/// The inside of the `<think>…</think>` blocks of `text`.
fn think_text(text: &str) -> Option<String> {
    let mut found = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("<think>") {
        let inner = &rest[start + "<think>".len()..];
        let Some(end) = inner.find("</think>") else {
            break;
        };
        found.push(&inner[..end]);
        rest = &inner[end + "</think>".len()..];
    }
    (!found.is_empty()).then(|| found.join("\n"))
}

fn strip_think_tags(text: &str) -> String {
    text.replace("<think>", "").replace("</think>", "")
}

/// `text` cut to `limit` characters (with `…`).
fn bounded(text: &str, limit: usize) -> String {
    match text.char_indices().nth(limit) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

/// `text` on one line, control characters replaced, at most [`MAX_QUOTE_CHARS`].
fn quote(text: &str) -> String {
    let line: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    bounded(&line, MAX_QUOTE_CHARS)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> Result<Answer, ResponseError> {
        parse_response(json.as_bytes())
    }

    #[test]
    fn content_is_a_string_or_a_list_of_parts() {
        let answer = parse(
            r#"{"choices":[{"message":{"role":"assistant","content":"{'action': 'ENTER'}"}}]}"#,
        )
        .unwrap();
        assert_eq!(answer.text, "{'action': 'ENTER'}");
        assert_eq!(answer.reasoning, None);
        let answer = parse(
            r#"{"choices":[{"message":{"content":[{"type":"text","text":"{'action': "},{"type":"text","text":"'ENTER'}"}]}}]}"#,
        )
        .unwrap();
        assert_eq!(answer.text, "{'action': 'ENTER'}");
        let answer = parse(r#"{"choices":[{"message":{"content":null}}]}"#).unwrap();
        assert_eq!(answer.text, "");
    }

    #[test]
    fn reasoning_is_found_wherever_the_server_put_it() {
        for (json, expected) in [
            (
                r#"{"choices":[{"message":{"content":"x","reasoning":"<think>look left</think>"}}]}"#,
                "look left",
            ),
            (
                r#"{"choices":[{"message":{"content":"x","reasoning_content":"vllm style"}}]}"#,
                "vllm style",
            ),
            (
                r#"{"choices":[{"message":{"content":"x","reasoning_details":[{"type":"reasoning.text","text":"a"},{"type":"reasoning.summary","summary":"b"}]}}]}"#,
                "a\nb",
            ),
            (
                r#"{"choices":[{"reasoning_details":[{"content":"on the choice"}],"message":{"content":"x"}}]}"#,
                "on the choice",
            ),
            (
                r#"{"choices":[{"message":{"content":"<think>red is top left</think>{'action': 'ENTER'}"}}]}"#,
                "red is top left",
            ),
        ] {
            assert_eq!(
                parse(json).unwrap().reasoning.as_deref(),
                Some(expected),
                "{json}"
            );
        }
        let long = format!(
            r#"{{"choices":[{{"message":{{"content":"x","reasoning":"{}"}}}}]}}"#,
            "r".repeat(5000)
        );
        let reasoning = parse(&long).unwrap().reasoning.unwrap();
        assert_eq!(reasoning.chars().count(), MAX_REASONING_CHARS + 1);
    }

    #[test]
    fn bodies_that_are_not_completions_are_named() {
        assert!(matches!(
            parse("<html>bad gateway"),
            Err(ResponseError::NotJson { .. })
        ));
        assert!(matches!(
            parse(r#"{"choices":[]}"#),
            Err(ResponseError::NoChoices)
        ));
        assert!(matches!(
            parse(r#"{"object":"list"}"#),
            Err(ResponseError::NoChoices)
        ));
        assert!(matches!(
            parse(r#"{"choices":[{"text":"legacy"}]}"#),
            Err(ResponseError::NoMessage)
        ));
        assert!(matches!(
            parse(r#"{"choices":[{"message":{"content":7}}]}"#),
            Err(ResponseError::BadContent)
        ));
        let error = parse(r#"{"error":{"message":"model is overloaded","code":502}}"#).unwrap_err();
        assert_eq!(
            error.to_string(),
            "the answer is an error: model is overloaded"
        );
    }

    #[test]
    fn error_messages_are_quoted_from_the_body_and_bounded() {
        assert_eq!(
            error_message(br#"{"error":{"message":"No auth credentials found"}}"#),
            "No auth credentials found"
        );
        assert_eq!(error_message(br#"{"detail":"Not Found"}"#), "Not Found");
        assert_eq!(error_message(b"plain\ntext"), "plain text");
        assert_eq!(
            error_message(&[b'x'; 1000]).chars().count(),
            MAX_QUOTE_CHARS + 1
        );
    }
}
