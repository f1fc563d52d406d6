//! The prefixes that mark which tool wrote a chat line, so that each tool can tell its own
//! lines and the others' from what people type.

/// Lines the agent writes (`neko-agent run --online`).
pub const AGENT: &str = "[agent]";
/// The agent's reasoning, when a step carries some.
pub const AGENT_THINKING: &str = "[agent] [thinking]";
/// Lines the recorder writes (`neko-agent capture`).
pub const CAPTURE: &str = "[capture]";
/// Lines the voice writes (`neko-agent yap`).
pub const YAP: &str = "[yap]";
