//! The chat messages handed to the model engine, before its chat template renders them.
//!
//! Plain data: the engine turns each [`Part::Image`] into the image it was given for this call
//! (`<|vision_start|><|image_pad|><|vision_end|>` in Qwen2-VL's template) and concatenates the
//! parts of a message with no separator, as `apply_chat_template` does.

/// Who speaks a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The system turn (Qwen2-VL's template adds a default one when the first turn is not this).
    System,
    /// The user turn: prompt text and the screenshot.
    User,
    /// A model turn.
    Assistant,
}

/// One item of a message's content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part {
    /// Text, inserted verbatim.
    Text(String),
    /// The image of this call (a frame or a crop of it).
    Image,
}

/// One turn of the conversation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// Who speaks.
    pub role: Role,
    /// What is said, in order.
    pub content: Vec<Part>,
}
