//! Chat messages and the Qwen2-VL chat template, plus the `<|image_pad|>` expansion the processor
//! applies after it.

/// Who speaks a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Instructions before the conversation.
    System,
    /// The person (or agent) asking.
    User,
    /// The model's earlier replies.
    Assistant,
}

impl Role {
    /// The name the chat template writes after `<|im_start|>`.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::System => "system",
            Role::User => "user",
            Role::Assistant => "assistant",
        }
    }
}

/// One item of a message's content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part {
    /// Literal text.
    Text(String),
    /// The place of the frame passed to `generate`.
    Image,
}

/// One chat turn.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// Who speaks.
    pub role: Role,
    /// Text and image items, rendered in order with nothing between them.
    pub content: Vec<Part>,
}

impl Message {
    /// A message from `role` with `content`.
    pub fn new(role: Role, content: Vec<Part>) -> Self {
        Self { role, content }
    }

    /// A system message with one text item.
    pub fn system(text: impl Into<String>) -> Self {
        Self::new(Role::System, vec![Part::Text(text.into())])
    }

    /// A user message with the given items.
    pub fn user(content: Vec<Part>) -> Self {
        Self::new(Role::User, content)
    }

    /// An assistant message with one text item.
    pub fn assistant(text: impl Into<String>) -> Self {
        Self::new(Role::Assistant, vec![Part::Text(text.into())])
    }
}

/// The rendered image placeholder, before expansion.
pub const IMAGE_PLACEHOLDER: &str = "<|vision_start|><|image_pad|><|vision_end|>";

/// A prompt that does not fit the images given.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PromptError {
    /// The messages hold a different number of image items than images were given.
    #[error(
        "the messages contain {placeholders} image placeholder(s) (Part::Image, or a literal <|image_pad|> in text) but {images} image(s) were given; put exactly one Part::Image per image and keep <|image_pad|> out of text"
    )]
    ImageCount {
        /// `<|image_pad|>` tokens found after tokenizing.
        placeholders: usize,
        /// Images passed in.
        images: usize,
    },
}

/// Renders `messages` with the Qwen2-VL chat template and the generation prompt
/// (`add_generation_prompt=True`): a default system message when the first one is not a system
/// message, `<|im_start|>{role}\n…<|im_end|>\n` per turn, then `<|im_start|>assistant\n`.
pub fn render_chat(messages: &[Message]) -> String {
    let mut out = String::new();
    if messages.first().is_some_and(|m| m.role != Role::System) {
        out.push_str("<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n");
    }
    for message in messages {
        out.push_str("<|im_start|>");
        out.push_str(message.role.as_str());
        out.push('\n');
        for part in &message.content {
            match part {
                Part::Text(text) => out.push_str(text),
                Part::Image => out.push_str(IMAGE_PLACEHOLDER),
            }
        }
        out.push_str("<|im_end|>\n");
    }
    out.push_str("<|im_start|>assistant\n");
    out
}

/// Replaces the i-th `image_pad` token with `tokens_per_image[i]` copies of it, as the Qwen2-VL
/// processor does in text before tokenizing (equivalent, since the pad is a special token).
pub fn expand_image_pads(
    ids: &[u32],
    image_pad: u32,
    tokens_per_image: &[usize],
) -> Result<Vec<u32>, PromptError> {
    let placeholders = ids.iter().filter(|&&id| id == image_pad).count();
    if placeholders != tokens_per_image.len() {
        return Err(PromptError::ImageCount {
            placeholders,
            images: tokens_per_image.len(),
        });
    }
    let extra: usize = tokens_per_image.iter().sum::<usize>() - placeholders;
    let mut out = Vec::with_capacity(ids.len() + extra);
    let mut counts = tokens_per_image.iter();
    for &id in ids {
        if id == image_pad {
            let n = *counts.next().expect("counted above");
            out.extend(std::iter::repeat_n(image_pad, n));
        } else {
            out.push(id);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_system_message_is_inserted() {
        let text = render_chat(&[Message::user(vec![
            Part::Text("Find the ".into()),
            Part::Image,
            Part::Text("button".into()),
        ])]);
        assert_eq!(
            text,
            "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n\
             <|im_start|>user\nFind the <|vision_start|><|image_pad|><|vision_end|>button<|im_end|>\n\
             <|im_start|>assistant\n"
        );
    }

    #[test]
    fn an_explicit_system_message_replaces_the_default() {
        let text = render_chat(&[
            Message::system("Be brief."),
            Message::user(vec![Part::Image]),
            Message::assistant("ok"),
        ]);
        assert_eq!(
            text,
            "<|im_start|>system\nBe brief.<|im_end|>\n\
             <|im_start|>user\n<|vision_start|><|image_pad|><|vision_end|><|im_end|>\n\
             <|im_start|>assistant\nok<|im_end|>\n<|im_start|>assistant\n"
        );
    }

    #[test]
    fn no_messages_is_only_the_generation_prompt() {
        assert_eq!(render_chat(&[]), "<|im_start|>assistant\n");
    }

    #[test]
    fn pads_expand_per_image() {
        let ids = [1, 9, 2, 9, 3];
        assert_eq!(
            expand_image_pads(&ids, 9, &[2, 3]).unwrap(),
            vec![1, 9, 9, 2, 9, 9, 9, 3]
        );
        assert_eq!(
            expand_image_pads(&ids, 9, &[4]).unwrap_err(),
            PromptError::ImageCount {
                placeholders: 2,
                images: 1
            }
        );
    }
}
