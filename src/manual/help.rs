//! The REPL's command table: names, aliases, usage lines and help text.

use crate::input::keysym::edit_distance;

/// One REPL command as documented to the user.
#[derive(Debug, Clone, Copy)]
pub struct CommandHelp {
    /// The command's name.
    pub name: &'static str,
    /// Other names that run it.
    pub aliases: &'static [&'static str],
    /// Arguments, shell-style (`[optional]`, `<required>`).
    pub usage: &'static str,
    /// One line on what it does.
    pub summary: &'static str,
}

/// Every command, in the order `help` lists them.
pub static COMMANDS: &[CommandHelp] = &[
    CommandHelp {
        name: "move",
        aliases: &[],
        usage: "move X Y",
        summary: "move the pointer (control/move)",
    },
    CommandHelp {
        name: "click",
        aliases: &[],
        usage: "click [left|middle|right|back|forward] [X Y]",
        summary: "click a button at X Y, or where the pointer last was (the button may also come last)",
    },
    CommandHelp {
        name: "lclick",
        aliases: &[],
        usage: "lclick [X Y]",
        summary: "left click",
    },
    CommandHelp {
        name: "rclick",
        aliases: &[],
        usage: "rclick [X Y]",
        summary: "right click",
    },
    CommandHelp {
        name: "mclick",
        aliases: &[],
        usage: "mclick [X Y]",
        summary: "middle click",
    },
    CommandHelp {
        name: "dblclick",
        aliases: &["doubleclick"],
        usage: "dblclick [X Y] [button]",
        summary: "double click: two presses 80 ms apart",
    },
    CommandHelp {
        name: "hover",
        aliases: &[],
        usage: "hover X Y",
        summary: "move the pointer without clicking",
    },
    CommandHelp {
        name: "tap",
        aliases: &[],
        usage: "tap X Y [button]",
        summary: "move, then click (touch-screen style)",
    },
    CommandHelp {
        name: "swipe",
        aliases: &["drag"],
        usage: "swipe X1 Y1 X2 Y2 [steps]",
        summary: "press the left button at X1 Y1, move to X2 Y2 in steps (default 10), release",
    },
    CommandHelp {
        name: "scroll",
        aliases: &[],
        usage: "scroll up|down|left|right [notches]",
        summary: "scroll at the pointer by a number of wheel notches (default 1)",
    },
    CommandHelp {
        name: "key",
        aliases: &["press"],
        usage: "key <Name|Chord>...",
        summary: "press keys or chords in order: Return, Tab, F5, Ctrl+Alt+t, Shift+Tab, Super, 0xff0d",
    },
    CommandHelp {
        name: "text",
        aliases: &["type"],
        usage: "text <text>",
        summary: "type text (any Unicode; \\n in quotes is a newline, sent as Return)",
    },
    CommandHelp {
        name: "input",
        aliases: &[],
        usage: "input X Y <text>",
        summary: "click at X Y, then type text",
    },
    CommandHelp {
        name: "enter",
        aliases: &[],
        usage: "enter",
        summary: "press Return",
    },
    CommandHelp {
        name: "copy",
        aliases: &[],
        usage: "copy",
        summary: "copy the selection (control/copy)",
    },
    CommandHelp {
        name: "cut",
        aliases: &[],
        usage: "cut",
        summary: "cut the selection (control/cut)",
    },
    CommandHelp {
        name: "select_all",
        aliases: &["selectall"],
        usage: "select_all",
        summary: "select everything (control/select_all)",
    },
    CommandHelp {
        name: "paste",
        aliases: &[],
        usage: "paste [text]",
        summary: "paste the remote clipboard, or set it to text first (control/paste)",
    },
    CommandHelp {
        name: "clipboard",
        aliases: &[],
        usage: "clipboard <text>",
        summary: "set the remote clipboard without pasting (clipboard/set; needs host)",
    },
    CommandHelp {
        name: "layout",
        aliases: &[],
        usage: "layout <layout> [variant]",
        summary: "set the server's keyboard layout (keyboard/map, e.g. `layout de nodeadkeys`; needs host)",
    },
    CommandHelp {
        name: "host",
        aliases: &[],
        usage: "host",
        summary: "ask for host control (control/request) and keep asking when it is lost",
    },
    CommandHelp {
        name: "unhost",
        aliases: &[],
        usage: "unhost",
        summary: "give host control back (control/release) and stop asking for it",
    },
    CommandHelp {
        name: "force-take",
        aliases: &["take"],
        usage: "force-take",
        summary: "admin: take host control whoever has it (POST /api/room/control/take)",
    },
    CommandHelp {
        name: "force-release",
        aliases: &["reset"],
        usage: "force-release",
        summary: "admin: clear host control for everyone (POST /api/room/control/reset)",
    },
    CommandHelp {
        name: "kick",
        aliases: &[],
        usage: "kick <session-id>",
        summary: "admin: disconnect a session (POST /api/sessions/{id}/disconnect)",
    },
    CommandHelp {
        name: "sessions",
        aliases: &[],
        usage: "sessions",
        summary: "admin: list the room's sessions (GET /api/sessions)",
    },
    CommandHelp {
        name: "size",
        aliases: &[],
        usage: "size [WxH | W H]",
        summary: "show the screen size used for coordinates, or override it until the server reports a new one",
    },
    CommandHelp {
        name: "raw",
        aliases: &[],
        usage: "raw '<json>'",
        summary: "send any event: '{\"event\":\"control/move\",\"payload\":{\"x\":1,\"y\":2}}'",
    },
    CommandHelp {
        name: "sleep",
        aliases: &["wait"],
        usage: "sleep <seconds>",
        summary: "pause (useful in scripts)",
    },
    CommandHelp {
        name: "help",
        aliases: &["?"],
        usage: "help [command]",
        summary: "list commands, or explain one",
    },
    CommandHelp {
        name: "quit",
        aliases: &["exit", "q"],
        usage: "quit",
        summary: "leave (Ctrl-D does too)",
    },
];

/// The command called `name` or with `name` as an alias (case-insensitive).
pub fn find(name: &str) -> Option<&'static CommandHelp> {
    let name = name.to_ascii_lowercase();
    COMMANDS
        .iter()
        .find(|c| c.name == name || c.aliases.contains(&name.as_str()))
}

/// The command name closest to a mistyped one, if any is close.
pub fn suggest(name: &str) -> Option<&'static str> {
    let name = name.to_ascii_lowercase();
    let limit = name.chars().count().div_ceil(3).clamp(1, 2);
    COMMANDS
        .iter()
        .flat_map(|c| std::iter::once(c.name).chain(c.aliases.iter().copied()))
        .map(|candidate| (edit_distance(&name, candidate), candidate))
        .filter(|(distance, _)| *distance <= limit)
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| find(candidate).map_or(candidate, |c| c.name))
}

/// The full command list, one line each.
pub fn overview(normalized: bool) -> String {
    let width = COMMANDS.iter().map(|c| c.usage.len()).max().unwrap_or(0);
    let mut text =
        String::from("Commands (quote arguments like a shell; `help <command>` for one):\n");
    for command in COMMANDS {
        text.push_str(&format!(
            "  {:width$}  {}\n",
            command.usage, command.summary
        ));
    }
    text.push_str(if normalized {
        "Coordinates are fractions of the screen, 0..1 (--norm).\n"
    } else {
        "Coordinates are screen pixels, clamped to the screen (--norm for 0..1 fractions).\n"
    });
    text.push_str("Input waits for host control; lines starting with # are comments.");
    text
}

/// Help for one command, or an error naming the closest command.
pub fn explain(name: &str) -> Result<String, UnknownCommand> {
    let command = find(name).ok_or_else(|| UnknownCommand::new(name))?;
    let mut text = format!("{}\n  {}", command.usage, command.summary);
    if !command.aliases.is_empty() {
        text.push_str(&format!("\n  also: {}", command.aliases.join(", ")));
    }
    Ok(text)
}

/// A command name that is not in the table; says the closest one when one is close.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown command {name:?}{} (`help` lists all)", did_you_mean(*.suggestion))]
pub struct UnknownCommand {
    /// The name as given.
    pub name: String,
    /// The command name closest to it, if any is close.
    pub suggestion: Option<&'static str>,
}

impl UnknownCommand {
    /// The error for `name`, with a suggestion when one is close.
    pub fn new(name: &str) -> Self {
        Self {
            name: name.to_owned(),
            suggestion: suggest(name),
        }
    }
}

/// `; did you mean "…"?` for a suggestion, nothing without one.
fn did_you_mean(suggestion: Option<&str>) -> String {
    suggestion
        .map(|close| format!("; did you mean {close:?}?"))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_and_alias_is_unique() {
        let mut seen = std::collections::HashSet::new();
        for command in COMMANDS {
            for name in std::iter::once(command.name).chain(command.aliases.iter().copied()) {
                assert!(seen.insert(name), "{name} appears twice");
                assert!(std::ptr::eq(find(name).unwrap(), command));
            }
            assert!(command.usage.starts_with(command.name));
        }
    }

    #[test]
    fn typos_get_suggestions() {
        assert_eq!(suggest("clik"), Some("click"));
        assert_eq!(suggest("scrol"), Some("scroll"));
        assert_eq!(suggest("exti"), Some("quit"));
        assert_eq!(suggest("frobnicate"), None);
        assert!(
            UnknownCommand::new("sesions")
                .to_string()
                .contains("\"sessions\"")
        );
    }

    #[test]
    fn unknown_commands_read_the_same_with_and_without_a_suggestion() {
        assert_eq!(
            UnknownCommand::new("clik").to_string(),
            "unknown command \"clik\"; did you mean \"click\"? (`help` lists all)"
        );
        assert_eq!(
            UnknownCommand::new("frobnicate").to_string(),
            "unknown command \"frobnicate\" (`help` lists all)"
        );
    }

    #[test]
    fn help_for_one_command() {
        let text = explain("drag").unwrap();
        assert!(text.starts_with("swipe X1 Y1 X2 Y2"), "{text}");
        assert!(explain("nope").is_err());
        assert!(overview(false).contains("kick <session-id>"));
    }
}
