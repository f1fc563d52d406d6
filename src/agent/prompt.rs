//! The prompts sent to the model, word for word, as [`Message`]s for the model engine.
//!
//! Two navigation prompt styles:
//! * [`PromptStyle::Agent`] (default): the Python agent's ShowUI prompt (`_NAV_SYSTEM` and
//!   `ACTION_SPACE_DESC` of the legacy `src/agent.py`, also `src/neko_comms/types.py`; the
//!   format instructions are part of its `_NAV_SYSTEM`). `train.py` fine-tunes on the same
//!   words, except that its action list lacks the blank line before and after.
//! * [`PromptStyle::ShowUi`]: ShowUI's own prompt from its `QUICK_START.md` (`_NAV_SYSTEM` +
//!   `action_map` + `_NAV_FORMAT`), the wording ShowUI-2B was trained with.
//!
//! Either way the request is one user message, as in the Python agent: the system text, then
//! `Task: <task>`, then (from the second step on) the history as `Action history: [...]` JSON
//! ([`History::prompt_text`]), then the image. There is no system message; Qwen2-VL's chat
//! template adds its default one. The JSON history is what tells the fixture model a later
//! step has come (the token pair `"action`), and neither system text contains that pair.
//!
//! Refinement passes in the Python agent send this same prompt with the crop as the image.
//! ShowUI's grounding prompt ([`GROUNDING_SYSTEM`], [`grounding_messages`]) asks instead where
//! an element described in words is, and its answer is a bare `[x, y]`
//! ([`parse_point`](super::parse::parse_point)); the Python agent never uses it.

use super::action::Mode;
use super::history::History;
use crate::model::{Message, Part, Role};

/// The Python agent's web action list (`ACTION_SPACE_DESC["web"]`), blank lines included.
pub const AGENT_WEB_ACTIONS: &str = "
1. CLICK: Click an element, value=None, position=[x, y].
2. INPUT: Type a string into an element, value=string, position=[x, y].
3. SELECT: Select a value for an element, value=None, position=[x, y].
4. HOVER: Hover on an element, value=None, position=[x, y].
5. ANSWER: Answer a question, value=string, position=None.
6. ENTER: Enter, value=None, position=None.
7. SCROLL: Scroll the screen, value=direction (e.g. \"down\"), position=None.
8. SELECT_TEXT: Select text, value=None, position=[[x1, y1], [x2, y2]].
9. COPY: Copy text, value=string, position=None.
";

/// The Python agent's phone action list (`ACTION_SPACE_DESC["phone"]`).
pub const AGENT_PHONE_ACTIONS: &str = "
1. INPUT: Type a string into an element, value=string, position=[x, y].
2. SWIPE: Swipe the screen, value=None, position=[[x1, y1], [x2, y2]].
3. TAP: Tap on an element, value=None, position=[x, y].
4. ANSWER: Answer a question, value=string, position=None.
5. ENTER: Enter, value=None, position=None.
";

/// The format instructions that end the Python agent's `_NAV_SYSTEM`.
pub const AGENT_NAV_FORMAT: &str = "Format the action as a dictionary with the following keys:
{'action': 'ACTION_TYPE', 'value': ..., 'position': ...}
If value or position is not applicable, set as None. \
Position might be [[x1,y1],[x2,y2]] for range actions. \
Do NOT output extra keys or commentary.";

/// ShowUI's web action list (`action_map['web']`; some lines end in a space, as there).
pub const SHOWUI_WEB_ACTIONS: &str = "\n\
1. `CLICK`: Click on an element, value is not applicable and the position [x,y] is required. \n\
2. `INPUT`: Type a string into an element, value is a string to type and the position [x,y] is required. \n\
3. `SELECT`: Select a value for an element, value is not applicable and the position [x,y] is required. \n\
4. `HOVER`: Hover on an element, value is not applicable and the position [x,y] is required.\n\
5. `ANSWER`: Answer the question, value is the answer and the position is not applicable.\n\
6. `ENTER`: Enter operation, value and position are not applicable.\n\
7. `SCROLL`: Scroll the screen, value is the direction to scroll and the position is not applicable.\n\
8. `SELECT_TEXT`: Select some text content, value is not applicable and position [[x1,y1], [x2,y2]] is the start and end position of the select operation.\n\
9. `COPY`: Copy the text, value is the text to copy and the position is not applicable.\n";

/// ShowUI's phone action list (`action_map['phone']`).
pub const SHOWUI_PHONE_ACTIONS: &str = "\n\
1. `INPUT`: Type a string into an element, value is a string to type and the position [x,y] is required. \n\
2. `SWIPE`: Swipe the screen, value is not applicable and the position [[x1,y1], [x2,y2]] is the start and end position of the swipe operation.\n\
3. `TAP`: Tap on an element, value is not applicable and the position [x,y] is required.\n\
4. `ANSWER`: Answer the question, value is the status (e.g., 'task complete') and the position is not applicable.\n\
5. `ENTER`: Enter operation, value and position are not applicable.\n";

/// ShowUI's `_NAV_FORMAT`, appended after its `_NAV_SYSTEM`.
pub const SHOWUI_NAV_FORMAT: &str = "
Format the action as a dictionary with the following keys:
{'action': 'ACTION_TYPE', 'value': 'element', 'position': [x,y]}

If value or position is not applicable, set it as `None`.
Position might be [[x1,y1], [x2,y2]] if the action requires a start and end position.
Position represents the relative coordinates on the screenshot and should be scaled to a range of 0-1.
";

/// ShowUI's grounding prompt (`_SYSTEM` in its `QUICK_START.md`).
pub const GROUNDING_SYSTEM: &str = "Based on the screenshot of the page, I give a text \
description and you give its corresponding location. The coordinate represents a clickable \
location [x, y] for an element, which is a relative coordinate on the screenshot, scaled from 0 \
to 1.";

/// Whose navigation prompt wording to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PromptStyle {
    /// The Python agent's (and its `train.py`'s) wording.
    #[default]
    Agent,
    /// ShowUI's published wording.
    ShowUi,
}

/// The navigation prompt for one mode in one style.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct NavPrompt {
    /// Which action space.
    pub mode: Mode,
    /// Whose wording.
    pub style: PromptStyle,
}

impl NavPrompt {
    /// The Python agent's prompt for `mode`.
    pub fn new(mode: Mode) -> Self {
        Self {
            mode,
            style: PromptStyle::Agent,
        }
    }

    /// The action list this prompt shows the model.
    pub fn action_space(&self) -> &'static str {
        match (self.style, self.mode) {
            (PromptStyle::Agent, Mode::Web) => AGENT_WEB_ACTIONS,
            (PromptStyle::Agent, Mode::Phone) => AGENT_PHONE_ACTIONS,
            (PromptStyle::ShowUi, Mode::Web) => SHOWUI_WEB_ACTIONS,
            (PromptStyle::ShowUi, Mode::Phone) => SHOWUI_PHONE_ACTIONS,
        }
    }

    /// The instructions that open the prompt: `_NAV_SYSTEM` formatted for the mode.
    pub fn system_text(&self) -> String {
        let app = self.mode.name();
        let actions = self.action_space();
        match self.style {
            PromptStyle::Agent => format!(
                "You are an assistant trained to navigate the {app} screen. \
                 Given a task instruction, a screen observation, and an action history \
                 sequence, output the next action and wait for the next observation. \
                 Here is the action space:\n{actions}\n{AGENT_NAV_FORMAT}"
            ),
            PromptStyle::ShowUi => format!(
                "You are an assistant trained to navigate the {app} screen. \n\
                 Given a task instruction, a screen observation, and an action history \
                 sequence, \noutput the next action and wait for the next observation. \n\
                 Here is the action space:\n{actions}\n{SHOWUI_NAV_FORMAT}"
            ),
        }
    }

    /// The request for one model call: system text, task, history when there is one, image.
    pub fn messages(&self, task: &str, history: &History) -> Vec<Message> {
        let mut content = vec![
            Part::Text(self.system_text()),
            Part::Text(format!("Task: {task}")),
        ];
        content.extend(history.prompt_text().map(Part::Text));
        content.push(Part::Image);
        vec![Message {
            role: Role::User,
            content,
        }]
    }
}

/// ShowUI's grounding request: where is the element `query` describes? (answer: `[x, y]`).
pub fn grounding_messages(query: &str) -> Vec<Message> {
    vec![Message {
        role: Role::User,
        content: vec![
            Part::Text(GROUNDING_SYSTEM.to_owned()),
            Part::Image,
            Part::Text(query.to_owned()),
        ],
    }]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agent::action::{ActionKind, Coord, ModelAction, Position};

    // Printed by Python from the sources: `_NAV_SYSTEM.format(_APP=m,
    // _ACTION_SPACE=ACTION_SPACE_DESC[m])` of the legacy agent, and
    // `_NAV_SYSTEM.format(_APP=m, _ACTION_SPACE=action_map[m]) + _NAV_FORMAT` of ShowUI.
    const AGENT_WEB: &str = "You are an assistant trained to navigate the web screen. Given a task instruction, a screen observation, and an action history sequence, output the next action and wait for the next observation. Here is the action space:\n\n1. CLICK: Click an element, value=None, position=[x, y].\n2. INPUT: Type a string into an element, value=string, position=[x, y].\n3. SELECT: Select a value for an element, value=None, position=[x, y].\n4. HOVER: Hover on an element, value=None, position=[x, y].\n5. ANSWER: Answer a question, value=string, position=None.\n6. ENTER: Enter, value=None, position=None.\n7. SCROLL: Scroll the screen, value=direction (e.g. \"down\"), position=None.\n8. SELECT_TEXT: Select text, value=None, position=[[x1, y1], [x2, y2]].\n9. COPY: Copy text, value=string, position=None.\n\nFormat the action as a dictionary with the following keys:\n{'action': 'ACTION_TYPE', 'value': ..., 'position': ...}\nIf value or position is not applicable, set as None. Position might be [[x1,y1],[x2,y2]] for range actions. Do NOT output extra keys or commentary.";
    const AGENT_PHONE: &str = "You are an assistant trained to navigate the phone screen. Given a task instruction, a screen observation, and an action history sequence, output the next action and wait for the next observation. Here is the action space:\n\n1. INPUT: Type a string into an element, value=string, position=[x, y].\n2. SWIPE: Swipe the screen, value=None, position=[[x1, y1], [x2, y2]].\n3. TAP: Tap on an element, value=None, position=[x, y].\n4. ANSWER: Answer a question, value=string, position=None.\n5. ENTER: Enter, value=None, position=None.\n\nFormat the action as a dictionary with the following keys:\n{'action': 'ACTION_TYPE', 'value': ..., 'position': ...}\nIf value or position is not applicable, set as None. Position might be [[x1,y1],[x2,y2]] for range actions. Do NOT output extra keys or commentary.";
    const SHOWUI_WEB: &str = "You are an assistant trained to navigate the web screen. \nGiven a task instruction, a screen observation, and an action history sequence, \noutput the next action and wait for the next observation. \nHere is the action space:\n\n1. `CLICK`: Click on an element, value is not applicable and the position [x,y] is required. \n2. `INPUT`: Type a string into an element, value is a string to type and the position [x,y] is required. \n3. `SELECT`: Select a value for an element, value is not applicable and the position [x,y] is required. \n4. `HOVER`: Hover on an element, value is not applicable and the position [x,y] is required.\n5. `ANSWER`: Answer the question, value is the answer and the position is not applicable.\n6. `ENTER`: Enter operation, value and position are not applicable.\n7. `SCROLL`: Scroll the screen, value is the direction to scroll and the position is not applicable.\n8. `SELECT_TEXT`: Select some text content, value is not applicable and position [[x1,y1], [x2,y2]] is the start and end position of the select operation.\n9. `COPY`: Copy the text, value is the text to copy and the position is not applicable.\n\n\nFormat the action as a dictionary with the following keys:\n{'action': 'ACTION_TYPE', 'value': 'element', 'position': [x,y]}\n\nIf value or position is not applicable, set it as `None`.\nPosition might be [[x1,y1], [x2,y2]] if the action requires a start and end position.\nPosition represents the relative coordinates on the screenshot and should be scaled to a range of 0-1.\n";
    const SHOWUI_PHONE: &str = "You are an assistant trained to navigate the phone screen. \nGiven a task instruction, a screen observation, and an action history sequence, \noutput the next action and wait for the next observation. \nHere is the action space:\n\n1. `INPUT`: Type a string into an element, value is a string to type and the position [x,y] is required. \n2. `SWIPE`: Swipe the screen, value is not applicable and the position [[x1,y1], [x2,y2]] is the start and end position of the swipe operation.\n3. `TAP`: Tap on an element, value is not applicable and the position [x,y] is required.\n4. `ANSWER`: Answer the question, value is the status (e.g., 'task complete') and the position is not applicable.\n5. `ENTER`: Enter operation, value and position are not applicable.\n\n\nFormat the action as a dictionary with the following keys:\n{'action': 'ACTION_TYPE', 'value': 'element', 'position': [x,y]}\n\nIf value or position is not applicable, set it as `None`.\nPosition might be [[x1,y1], [x2,y2]] if the action requires a start and end position.\nPosition represents the relative coordinates on the screenshot and should be scaled to a range of 0-1.\n";

    /// The fixture model's "later step" trigger (models/showui-fixture/fixture.json).
    const TRIGGER: &str = "\"action";

    fn prompt(mode: Mode, style: PromptStyle) -> NavPrompt {
        NavPrompt { mode, style }
    }

    fn text(part: &Part) -> &str {
        match part {
            Part::Text(text) => text,
            Part::Image => panic!("expected text, got the image"),
        }
    }

    #[test]
    fn system_texts_are_word_for_word() {
        let cases = [
            (Mode::Web, PromptStyle::Agent, AGENT_WEB),
            (Mode::Phone, PromptStyle::Agent, AGENT_PHONE),
            (Mode::Web, PromptStyle::ShowUi, SHOWUI_WEB),
            (Mode::Phone, PromptStyle::ShowUi, SHOWUI_PHONE),
        ];
        for (mode, style, expected) in cases {
            assert_eq!(
                prompt(mode, style).system_text(),
                expected,
                "{mode} {style:?}"
            );
            assert!(!expected.contains(TRIGGER), "{mode} {style:?}");
        }
        assert_eq!(NavPrompt::default(), NavPrompt::new(Mode::Web));
    }

    #[test]
    fn action_lists_name_exactly_the_whitelist() {
        for style in [PromptStyle::Agent, PromptStyle::ShowUi] {
            for mode in [Mode::Web, Mode::Phone] {
                let listed: Vec<&str> = prompt(mode, style)
                    .action_space()
                    .lines()
                    .filter_map(|line| line.split_once(": ").map(|(head, _)| head))
                    .map(|head| head.split_once(". ").map_or(head, |(_, name)| name))
                    .map(|name| name.trim_matches('`'))
                    .collect();
                let allowed: Vec<&str> = mode.actions().iter().map(|k| k.name()).collect();
                let mut sorted_listed = listed.clone();
                sorted_listed.sort_unstable();
                let mut sorted_allowed = allowed.clone();
                sorted_allowed.sort_unstable();
                assert_eq!(sorted_listed, sorted_allowed, "{mode} {style:?}");
            }
        }
    }

    #[test]
    fn first_step_is_system_task_image() {
        let messages = NavPrompt::new(Mode::Web).messages("Click the red box", &History::new());
        assert_eq!(
            messages,
            vec![Message {
                role: Role::User,
                content: vec![
                    Part::Text(AGENT_WEB.to_owned()),
                    Part::Text("Task: Click the red box".to_owned()),
                    Part::Image,
                ],
            }]
        );
        for part in &messages[0].content[..2] {
            assert!(!text(part).contains(TRIGGER));
        }
    }

    #[test]
    fn later_steps_add_the_json_history_before_the_image() {
        let mut history = History::new();
        history.push(ModelAction {
            position: Some(Position::Point(Coord::new(0.13, 0.24))),
            ..ModelAction::new(ActionKind::Click)
        });
        let messages = prompt(Mode::Phone, PromptStyle::ShowUi).messages("Open settings", &history);
        assert_eq!(messages.len(), 1);
        let content = &messages[0].content;
        assert_eq!(content.len(), 4);
        assert_eq!(text(&content[0]), SHOWUI_PHONE);
        assert_eq!(text(&content[1]), "Task: Open settings");
        assert_eq!(
            text(&content[2]),
            r#"Action history: [{"action": "CLICK", "value": null, "position": [0.13, 0.24]}]"#
        );
        assert!(text(&content[2]).contains(TRIGGER));
        assert_eq!(content[3], Part::Image);
    }

    #[test]
    fn fixture_trigger_is_the_one_in_fixture_json() {
        let fixture: serde_json::Value =
            serde_json::from_str(include_str!("../../models/showui-fixture/fixture.json"))
                .expect("fixture.json");
        assert_eq!(fixture["history_trigger"], TRIGGER);
    }

    #[test]
    fn grounding_is_system_image_query() {
        assert_eq!(
            grounding_messages("Nahant"),
            vec![Message {
                role: Role::User,
                content: vec![
                    Part::Text(
                        "Based on the screenshot of the page, I give a text description and you \
                         give its corresponding location. The coordinate represents a clickable \
                         location [x, y] for an element, which is a relative coordinate on the \
                         screenshot, scaled from 0 to 1."
                            .to_owned()
                    ),
                    Part::Image,
                    Part::Text("Nahant".to_owned()),
                ],
            }]
        );
    }
}
