//! The chat grammar of capture: `/start <task>`, `/stop` and `Action: {json}` lines (also the
//! agent's own, prefixed `[agent]`), read from chat messages and `send/*` bodies.

use gstneko::protocol::ServerEvent;
use serde_json::{Map, Number, Value};

use crate::chat_prefix::AGENT as AGENT_PREFIX;
use crate::pyliteral::{self, Value as Literal};

/// What a chat line asks of capture.
#[derive(Debug, Clone, PartialEq)]
pub enum ChatCommand {
    /// `/start <task>`: begin an episode.
    Start(String),
    /// `/start` without a task.
    StartWithoutTask,
    /// `/stop`: end the episode.
    Stop,
    /// `Action: {…}` with a readable object.
    Action(ChatAction),
    /// `Action: {…` that could not be read: why, and the text.
    BadAction {
        /// What is wrong, for the person who wrote it.
        reason: String,
        /// The text after `Action:`.
        raw: String,
    },
}

/// An action annotation read from chat.
#[derive(Debug, Clone, PartialEq)]
pub struct ChatAction {
    /// The action object as JSON.
    pub action: Map<String, Value>,
    /// The text it was read from (the episode keeps it as `raw`).
    pub raw: String,
}

/// The command in a chat line, or `None` for ordinary chat.
///
/// As in the Python tool, `/start` and `/stop` are case-insensitive and `/stop` takes nothing
/// after it. `Action:` lines whose text starts with `{` are actions (JSON, or a Python dict
/// literal as the legacy tool accepted); anything after `Action:` that is not an object is
/// ordinary chat. The agent's `[agent] ` prefix is allowed before `Action:`.
pub fn parse_line(text: &str) -> Option<ChatCommand> {
    let text = text.trim();
    let (word, rest) = text.split_once(char::is_whitespace).unwrap_or((text, ""));
    match word.to_ascii_lowercase().as_str() {
        "/start" if rest.trim().is_empty() => return Some(ChatCommand::StartWithoutTask),
        "/start" => return Some(ChatCommand::Start(rest.trim().to_owned())),
        "/stop" if rest.trim().is_empty() => return Some(ChatCommand::Stop),
        _ => {}
    }
    let unprefixed = text
        .strip_prefix(AGENT_PREFIX)
        .map(str::trim_start)
        .unwrap_or(text);
    let head = unprefixed.get(..7)?;
    if !head.eq_ignore_ascii_case("action:") {
        return None;
    }
    let raw = unprefixed[7..].trim();
    if !raw.starts_with('{') {
        return None;
    }
    Some(match parse_action(raw) {
        Ok(action) => ChatCommand::Action(ChatAction {
            action,
            raw: raw.to_owned(),
        }),
        Err(reason) => ChatCommand::BadAction {
            reason,
            raw: raw.to_owned(),
        },
    })
}

/// Reads an action object: JSON first, then a Python dict literal.
fn parse_action(raw: &str) -> Result<Map<String, Value>, String> {
    let json_error = match serde_json::from_str::<Value>(raw) {
        Ok(Value::Object(map)) => return Ok(map),
        Ok(_) => unreachable!("the text starts with '{{'"),
        Err(error) => error,
    };
    if let Ok((value, used)) = pyliteral::read_value(raw)
        && raw[used..].trim().is_empty()
        && let Value::Object(map) = to_json(value)
    {
        return Ok(map);
    }
    Err(format!(
        "not a JSON object ({json_error}); write e.g. Action: {{\"action\": \"CLICK\", \"position\": [0.5, 0.5]}}"
    ))
}

/// A Python literal as JSON (tuples become lists, non-finite floats null).
fn to_json(value: Literal) -> Value {
    match value {
        Literal::None => Value::Null,
        Literal::Bool(b) => Value::Bool(b),
        Literal::Int(i) => Value::Number(i.into()),
        Literal::Float(f) => Number::from_f64(f).map_or(Value::Null, Value::Number),
        Literal::Str(s) => Value::String(s),
        Literal::List(items) => Value::Array(items.into_iter().map(to_json).collect()),
        Literal::Dict(entries) => Value::Object(
            entries
                .into_iter()
                .map(|(key, value)| (key, to_json(value)))
                .collect(),
        ),
    }
}

/// The sender and text of a chat-like event: `chat/message`, or a `send/broadcast` /
/// `send/unicast` whose body is text or carries `text`/`message`.
pub fn chat_text(event: &ServerEvent) -> Option<(&str, String)> {
    let body_text = |body: &Value| match body {
        Value::String(text) => Some(text.clone()),
        Value::Object(map) => ["text", "message"]
            .iter()
            .find_map(|key| map.get(*key)?.as_str().map(str::to_owned)),
        _ => None,
    };
    match event {
        ServerEvent::ChatMessage(message) => {
            Some((message.id.as_str(), message.content.text.clone()))
        }
        ServerEvent::SendBroadcast(send) => Some((send.sender.as_str(), body_text(&send.body)?)),
        ServerEvent::SendUnicast(send) => Some((send.sender.as_str(), body_text(&send.body)?)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn action(text: &str) -> ChatAction {
        match parse_line(text) {
            Some(ChatCommand::Action(action)) => action,
            other => panic!("{text:?} gave {other:?}"),
        }
    }

    #[test]
    fn start_and_stop() {
        assert_eq!(
            parse_line("  /START   Fill out the form \n"),
            Some(ChatCommand::Start("Fill out the form".into()))
        );
        assert_eq!(parse_line("/start"), Some(ChatCommand::StartWithoutTask));
        assert_eq!(parse_line("/start   "), Some(ChatCommand::StartWithoutTask));
        assert_eq!(parse_line("/Stop"), Some(ChatCommand::Stop));
        assert_eq!(parse_line("/stop now"), None);
        assert_eq!(parse_line("/started x"), None);
        assert_eq!(parse_line("hello /start x"), None);
        assert_eq!(parse_line(""), None);
    }

    #[test]
    fn actions_from_people_and_from_the_agent() {
        let person = action(r#"Action: {"type": "click", "coordinate": [150, 200]}"#);
        assert_eq!(
            Value::Object(person.action),
            json!({"type": "click", "coordinate": [150, 200]})
        );
        assert_eq!(person.raw, r#"{"type": "click", "coordinate": [150, 200]}"#);
        let agent = action(
            r#"[agent] Action: {"action": "CLICK", "value": null, "position": [0.13, 0.24]}"#,
        );
        assert_eq!(agent.action["action"], json!("CLICK"));
        assert_eq!(agent.action["position"], json!([0.13, 0.24]));
        let keys: Vec<&str> = agent.action.keys().map(String::as_str).collect();
        assert_eq!(keys, ["action", "value", "position"], "key order is kept");
        let lower = action("action:{\"type\":\"scroll\"}");
        assert_eq!(lower.action["type"], json!("scroll"));
        let multiline = action("Action: {\"type\": \"type\",\n \"text\": \"a\\nb\"}");
        assert_eq!(multiline.action["text"], json!("a\nb"));
    }

    #[test]
    fn python_dict_literals_are_accepted() {
        let legacy = action(
            "Action: {'action': 'INPUT', 'value': 'hi', 'position': (0.5, 0.25), 'ok': True, 'x': None}",
        );
        assert_eq!(
            Value::Object(legacy.action),
            json!({"action": "INPUT", "value": "hi", "position": [0.5, 0.25], "ok": true, "x": null})
        );
    }

    #[test]
    fn malformed_actions_are_reported_not_recorded() {
        for text in [
            r#"Action: {type: "click"}"#,
            r#"Action: {"type": "click""#,
            r#"Action: {"type": "click"} and more"#,
        ] {
            match parse_line(text) {
                Some(ChatCommand::BadAction { reason, raw }) => {
                    assert!(reason.contains("not a JSON object"), "{reason}");
                    assert!(raw.starts_with('{'), "{raw}");
                }
                other => panic!("{text:?} gave {other:?}"),
            }
        }
        // Not an annotation attempt: ordinary chat.
        assert_eq!(parse_line("Action: I will click the button"), None);
        assert_eq!(parse_line("Action {\"type\": \"click\"}"), None);
        assert_eq!(parse_line("[agent] Starting task: x"), None);
    }

    #[test]
    fn text_comes_from_chat_and_send_events() {
        let chat = ServerEvent::from_json(
            r#"{"event":"chat/message","payload":{"id":"s1","created":"2026-01-01T00:00:00Z","content":{"text":"/stop"}}}"#,
        )
        .unwrap();
        assert_eq!(chat_text(&chat), Some(("s1", "/stop".to_owned())));
        let broadcast = ServerEvent::from_json(
            r#"{"event":"send/broadcast","payload":{"sender":"s2","subject":"x","body":{"message":"/start t"}}}"#,
        )
        .unwrap();
        assert_eq!(chat_text(&broadcast), Some(("s2", "/start t".to_owned())));
        let unicast = ServerEvent::from_json(
            r#"{"event":"send/unicast","payload":{"sender":"s3","receiver":"me","subject":"x","body":"Action: {}"}}"#,
        )
        .unwrap();
        assert_eq!(chat_text(&unicast), Some(("s3", "Action: {}".to_owned())));
        let numbers = ServerEvent::from_json(
            r#"{"event":"send/broadcast","payload":{"sender":"s2","subject":"x","body":42}}"#,
        )
        .unwrap();
        assert_eq!(chat_text(&numbers), None);
    }
}
