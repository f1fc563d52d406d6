//! The chat-completions request body: the agent's messages with the frame as an `image_url`
//! part, and the sampling settings.

use serde::Serialize;

use super::settings::RemoteSettings;
use crate::model::{Message, Part};

#[derive(Serialize)]
struct ChatRequest<'a> {
    model: &'a str,
    messages: Vec<ChatMessage<'a>>,
    max_tokens: u32,
    temperature: f64,
    top_p: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    reasoning: Option<Reasoning<'a>>,
}

#[derive(Serialize)]
struct ChatMessage<'a> {
    role: &'static str,
    content: Vec<ContentPart<'a>>,
}

#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum ContentPart<'a> {
    Text { text: &'a str },
    ImageUrl { image_url: ImageUrl<'a> },
}

#[derive(Serialize)]
struct ImageUrl<'a> {
    url: &'a str,
}

#[derive(Serialize)]
struct Reasoning<'a> {
    enabled: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    effort: Option<&'a str>,
}

/// The JSON body posting `messages`, each [`Part::Image`] becoming an `image_url` part with
/// `data_url`.
pub fn request_body(settings: &RemoteSettings, messages: &[Message], data_url: &str) -> Vec<u8> {
    let request = ChatRequest {
        model: &settings.model,
        messages: messages
            .iter()
            .map(|message| ChatMessage {
                role: message.role.as_str(),
                content: message
                    .content
                    .iter()
                    .map(|part| match part {
                        Part::Text(text) => ContentPart::Text { text },
                        Part::Image => ContentPart::ImageUrl {
                            image_url: ImageUrl { url: data_url },
                        },
                    })
                    .collect(),
            })
            .collect(),
        max_tokens: settings.max_tokens,
        temperature: settings.temperature,
        top_p: settings.top_p,
        reasoning: settings.reasoning.then_some(Reasoning {
            enabled: true,
            effort: settings.reasoning_effort.as_deref(),
        }),
    };
    serde_json::to_vec(&request).expect("the request serialises")
}
