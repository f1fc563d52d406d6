//! One REPL line → a [`Command`]: shell-style splitting, argument checks, clear errors.

use std::time::Duration;

use crate::input::{
    Action, ActionError, Button, Chord, ChordError, DEFAULT_DRAG_STEPS, KeyTable, Keysym, Point,
};

use super::help::{self, UnknownCommand};

/// Longest `sleep` a script may ask for.
const MAX_SLEEP: Duration = Duration::from_secs(3600);

/// What a line asks for.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// Blank line or `# comment`.
    Nothing,
    /// Input actions, performed in order while host.
    Input(Vec<Action>),
    /// `keyboard/map` with a layout and variant.
    Layout {
        /// XKB layout, e.g. `de`.
        layout: String,
        /// XKB variant, possibly empty.
        variant: String,
    },
    /// Ask for host control and keep it.
    Host,
    /// Release host control and stop asking.
    Unhost,
    /// Admin: take host control.
    ForceTake,
    /// Admin: clear host control.
    ForceRelease,
    /// Admin: disconnect a session.
    Kick(String),
    /// Admin: list sessions.
    Sessions,
    /// Show (None) or override the screen size.
    Size(Option<(u32, u32)>),
    /// Send this JSON event as it is.
    Raw(String),
    /// Pause.
    Sleep(Duration),
    /// Command list or one command's help.
    Help(Option<String>),
    /// Leave.
    Quit,
}

/// Why a line is not a command.
#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    /// Quotes that are not closed.
    #[error("cannot split the line: {0} (close your quotes)")]
    Split(#[source] shell_words::ParseError),
    /// A command name that is not in the table.
    #[error(transparent)]
    Unknown(#[from] UnknownCommand),
    /// Arguments the command does not take.
    #[error("{command}: {source}\n  usage: {usage}")]
    Arguments {
        /// The command's name.
        command: &'static str,
        /// The command's usage line.
        usage: &'static str,
        /// What is wrong with the arguments.
        #[source]
        source: ArgumentError,
    },
}

/// What is wrong with a command's arguments.
#[derive(Debug, thiserror::Error)]
pub enum ArgumentError {
    /// Fewer arguments than the command needs.
    #[error("missing arguments (got {got})")]
    Missing {
        /// How many were given.
        got: usize,
    },
    /// More arguments than the command takes.
    #[error("too many arguments (got {got})")]
    TooMany {
        /// How many were given.
        got: usize,
    },
    /// More than a button and a point given to a click.
    #[error("too many arguments ({0})")]
    TooManyForClick(usize),
    /// A number argument that is not a number.
    #[error("{what} {text:?} is not a number")]
    NotNumber {
        /// What the number is, e.g. `x` or `steps`.
        what: &'static str,
        /// The argument as given.
        text: String,
        /// Why it does not parse.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A pixel coordinate with a fraction.
    #[error("{axis} {text:?} is not a whole pixel (use --norm for 0..1 fractions)")]
    NotWholePixel {
        /// `x` or `y`.
        axis: &'static str,
        /// The argument as given.
        text: String,
    },
    /// A `--norm` coordinate outside 0..1.
    #[error("{axis} = {value} is outside 0..1 (--norm takes fractions of the screen)")]
    OutsideScreen {
        /// `x` or `y`.
        axis: &'static str,
        /// The fraction given.
        value: f64,
    },
    /// A command without coordinates before any pointer position is known.
    #[error("no pointer position yet: give X Y")]
    NoPointer,
    /// One or more than two coordinates.
    #[error("expected X Y or nothing, got {0} coordinate(s)")]
    Coordinates(usize),
    /// `scroll … 0`.
    #[error("the number of notches must be at least 1")]
    NoNotches,
    /// A `sleep` that is negative or too long.
    #[error("{0} is not a number of seconds from 0 to 3600")]
    SleepRange(f64),
    /// `size` with more than two arguments.
    #[error("expected WxH or W H")]
    SizeArguments,
    /// A `size` that is not a screen size.
    #[error(transparent)]
    Size(neko_sandbox::cli::ArgError),
    /// A mouse button or scroll direction that does not exist.
    #[error(transparent)]
    Action(#[from] ActionError),
    /// A key chord that does not parse.
    #[error(transparent)]
    Chord(#[from] ChordError),
}

/// What parsing needs to know besides the line.
#[derive(Debug, Clone, Copy)]
pub struct ParseContext<'a> {
    /// Coordinates are 0..1 fractions instead of pixels.
    pub normalized: bool,
    /// Where the pointer was last sent, for commands given without coordinates.
    pub last_point: Option<Point>,
    /// Key names.
    pub keys: &'a KeyTable,
}

/// Parses one line.
pub fn parse(line: &str, context: &ParseContext<'_>) -> Result<Command, ParseError> {
    let trimmed = line.trim();
    if trimmed.is_empty() || trimmed.starts_with('#') {
        return Ok(Command::Nothing);
    }
    let words = shell_words::split(trimmed).map_err(ParseError::Split)?;
    let Some((name, args)) = words.split_first() else {
        return Ok(Command::Nothing);
    };
    let command = help::find(name).ok_or_else(|| UnknownCommand::new(name))?;
    Arguments {
        command: command.name,
        args,
        context,
    }
    .parse()
    .map_err(|source| ParseError::Arguments {
        command: command.name,
        usage: command.usage,
        source,
    })
}

struct Arguments<'a> {
    command: &'static str,
    args: &'a [String],
    context: &'a ParseContext<'a>,
}

impl Arguments<'_> {
    fn parse(&self) -> Result<Command, ArgumentError> {
        let args = self.args;
        Ok(match self.command {
            "move" | "hover" => {
                self.count(2, 2)?;
                let at = self.point(0)?;
                Command::Input(vec![if self.command == "move" {
                    Action::Move { at }
                } else {
                    Action::Hover { at }
                }])
            }
            "click" => self.click()?,
            "lclick" | "rclick" | "mclick" => {
                self.count(0, 2)?;
                let button = match self.command {
                    "lclick" => Button::Left,
                    "rclick" => Button::Right,
                    _ => Button::Middle,
                };
                let at = self.optional_point(0)?;
                Command::Input(vec![Action::Click { at, button }])
            }
            "dblclick" => {
                let (button, rest) = self.split_button()?;
                let at = self.optional_point_in(&rest)?;
                Command::Input(vec![Action::DoubleClick { at, button }])
            }
            "tap" => {
                self.count(2, 3)?;
                let at = self.point(0)?;
                let button = match args.get(2) {
                    Some(name) => name.parse()?,
                    None => Button::Left,
                };
                Command::Input(vec![Action::Tap { at, button }])
            }
            "swipe" => {
                self.count(4, 5)?;
                let steps = match args.get(4) {
                    Some(text) => self.number::<u32>(text, "steps")?,
                    None => DEFAULT_DRAG_STEPS,
                };
                Command::Input(vec![Action::Drag {
                    from: self.point(0)?,
                    to: self.point(2)?,
                    steps,
                }])
            }
            "scroll" => {
                self.count(1, 2)?;
                let direction = args[0].parse()?;
                let amount = match args.get(1) {
                    Some(text) => self.number::<u32>(text, "notches")?,
                    None => 1,
                };
                if amount == 0 {
                    return Err(ArgumentError::NoNotches);
                }
                Command::Input(vec![Action::Scroll { direction, amount }])
            }
            "key" => {
                self.count(1, usize::MAX)?;
                let chords = args
                    .iter()
                    .map(|text| Chord::parse(text, self.context.keys).map(Action::Key))
                    .collect::<Result<Vec<_>, _>>()?;
                Command::Input(chords)
            }
            "text" => {
                self.count(1, usize::MAX)?;
                Command::Input(vec![Action::Type(self.text_from(0))])
            }
            "input" => {
                self.count(3, usize::MAX)?;
                let at = self.point(0)?;
                Command::Input(vec![
                    Action::Click {
                        at,
                        button: Button::Left,
                    },
                    Action::Type(self.text_from(2)),
                ])
            }
            "enter" => self.bare(Command::Input(vec![Action::Key(Chord::single(
                Keysym::RETURN,
            ))]))?,
            "copy" => self.bare(Command::Input(vec![Action::Copy]))?,
            "cut" => self.bare(Command::Input(vec![Action::Cut]))?,
            "select_all" => self.bare(Command::Input(vec![Action::SelectAll]))?,
            "paste" => Command::Input(vec![Action::Paste(
                (!args.is_empty()).then(|| self.text_from(0)),
            )]),
            "clipboard" => {
                self.count(1, usize::MAX)?;
                Command::Input(vec![Action::SetClipboard(self.text_from(0))])
            }
            "layout" => {
                self.count(1, 2)?;
                Command::Layout {
                    layout: args[0].clone(),
                    variant: args.get(1).cloned().unwrap_or_default(),
                }
            }
            "host" => self.bare(Command::Host)?,
            "unhost" => self.bare(Command::Unhost)?,
            "force-take" => self.bare(Command::ForceTake)?,
            "force-release" => self.bare(Command::ForceRelease)?,
            "kick" => {
                self.count(1, 1)?;
                Command::Kick(args[0].clone())
            }
            "sessions" => self.bare(Command::Sessions)?,
            "size" => self.size()?,
            "raw" => {
                self.count(1, usize::MAX)?;
                Command::Raw(args.join(" "))
            }
            "sleep" => {
                self.count(1, 1)?;
                let seconds = self.number::<f64>(&args[0], "seconds")?;
                let duration = Duration::try_from_secs_f64(seconds)
                    .ok()
                    .filter(|d| *d <= MAX_SLEEP)
                    .ok_or(ArgumentError::SleepRange(seconds))?;
                Command::Sleep(duration)
            }
            "help" => {
                self.count(0, 1)?;
                Command::Help(args.first().cloned())
            }
            "quit" => self.bare(Command::Quit)?,
            other => unreachable!("command {other} is in the help table but not parsed"),
        })
    }

    /// `click [button] [X Y]` or `click [X Y] [button]`.
    fn click(&self) -> Result<Command, ArgumentError> {
        let (button, rest) = self.split_button()?;
        let at = self.optional_point_in(&rest)?;
        Ok(Command::Input(vec![Action::Click { at, button }]))
    }

    /// Takes a button name from the first or last argument (left when none), returning the rest.
    fn split_button(&self) -> Result<(Button, Vec<String>), ArgumentError> {
        let args = self.args;
        if args.len() > 3 {
            return Err(ArgumentError::TooManyForClick(args.len()));
        }
        // A name that is not a number is a button when it is one, or when the count of the
        // other arguments says it must be (`click purple`, `click purple 1 2`).
        let is_button = |text: &String| {
            text.parse::<f64>().is_err() && (text.parse::<Button>().is_ok() || args.len() % 2 == 1)
        };
        let mut rest = args.to_vec();
        let button = if args.first().is_some_and(is_button) {
            rest.remove(0)
        } else if args.len() == 3 && args.last().is_some_and(is_button) {
            rest.pop().unwrap_or_default()
        } else {
            return Ok((Button::Left, rest));
        };
        Ok((button.parse()?, rest))
    }

    /// Arguments from `index` on, joined by spaces, with `\n`, `\t` and `\\` unescaped.
    fn text_from(&self, index: usize) -> String {
        unescape(&self.args[index..].join(" "))
    }

    fn bare(&self, command: Command) -> Result<Command, ArgumentError> {
        self.count(0, 0)?;
        Ok(command)
    }

    fn count(&self, min: usize, max: usize) -> Result<(), ArgumentError> {
        let n = self.args.len();
        if n < min {
            return Err(ArgumentError::Missing { got: n });
        }
        if n > max {
            return Err(ArgumentError::TooMany { got: n });
        }
        Ok(())
    }

    fn number<T>(&self, text: &str, what: &'static str) -> Result<T, ArgumentError>
    where
        T: std::str::FromStr,
        T::Err: std::error::Error + Send + Sync + 'static,
    {
        text.trim()
            .parse()
            .map_err(|source| ArgumentError::NotNumber {
                what,
                text: text.to_owned(),
                source: Box::new(source),
            })
    }

    /// The point made of arguments `index` and `index + 1`.
    fn point(&self, index: usize) -> Result<Point, ArgumentError> {
        self.point_from(&self.args[index], &self.args[index + 1])
    }

    fn point_from(&self, x: &str, y: &str) -> Result<Point, ArgumentError> {
        if self.context.normalized {
            let x = self.number::<f64>(x, "x")?;
            let y = self.number::<f64>(y, "y")?;
            for (axis, value) in [("x", x), ("y", y)] {
                if !(0.0..=1.0).contains(&value) {
                    return Err(ArgumentError::OutsideScreen { axis, value });
                }
            }
            Ok(Point::normalized(x, y))
        } else {
            let parse = |text: &str, axis: &'static str| {
                text.trim().parse::<i32>().map_err(|source| {
                    if text.trim().parse::<f64>().is_ok() {
                        ArgumentError::NotWholePixel {
                            axis,
                            text: text.to_owned(),
                        }
                    } else {
                        ArgumentError::NotNumber {
                            what: axis,
                            text: text.to_owned(),
                            source: Box::new(source),
                        }
                    }
                })
            };
            Ok(Point::pixels(parse(x, "x")?, parse(y, "y")?))
        }
    }

    /// `X Y` at `index`, or the last pointer position when there are no more arguments.
    fn optional_point(&self, index: usize) -> Result<Point, ArgumentError> {
        self.optional_point_in(&self.args[index.min(self.args.len())..])
    }

    fn optional_point_in(&self, args: &[String]) -> Result<Point, ArgumentError> {
        match args {
            [] => self.context.last_point.ok_or(ArgumentError::NoPointer),
            [x, y] => self.point_from(x, y),
            _ => Err(ArgumentError::Coordinates(args.len())),
        }
    }

    /// `WxH`, `W H`, or nothing.
    fn size(&self) -> Result<Command, ArgumentError> {
        let text = match self.args {
            [] => return Ok(Command::Size(None)),
            [one] => one.clone(),
            [w, h] => format!("{w}x{h}"),
            _ => return Err(ArgumentError::SizeArguments),
        };
        neko_sandbox::cli::parse_size(&text)
            .map(|size| Command::Size(Some(size)))
            .map_err(ArgumentError::Size)
    }
}

/// Turns `\n` into a newline, `\t` into a tab and `\\` into one backslash; other
/// backslashes stay as they are.
fn unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('\\') => out.push('\\'),
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::{DEFAULT_KEYS, ScrollDirection};

    fn context(normalized: bool) -> ParseContext<'static> {
        ParseContext {
            normalized,
            last_point: Some(Point::pixels(5, 6)),
            keys: &DEFAULT_KEYS,
        }
    }

    fn parse_px(line: &str) -> Result<Command, ParseError> {
        parse(line, &context(false))
    }

    fn single(line: &str) -> Action {
        match parse_px(line).unwrap() {
            Command::Input(mut actions) if actions.len() == 1 => actions.remove(0),
            other => panic!("{line}: {other:?}"),
        }
    }

    #[test]
    fn comments_and_blank_lines_do_nothing() {
        assert_eq!(parse_px("   ").unwrap(), Command::Nothing);
        assert_eq!(parse_px("# click 1 2").unwrap(), Command::Nothing);
    }

    #[test]
    fn click_takes_the_button_first_or_last_and_defaults_to_the_last_point() {
        let left_at = |x, y| Action::Click {
            at: Point::pixels(x, y),
            button: Button::Left,
        };
        assert_eq!(single("click 10 20"), left_at(10, 20));
        assert_eq!(single("click"), left_at(5, 6));
        assert_eq!(
            single("click right 10 20"),
            Action::Click {
                at: Point::pixels(10, 20),
                button: Button::Right
            }
        );
        assert_eq!(single("click 10 20 middle"), single("click middle 10 20"));
        assert_eq!(single("rclick"), single("click right"));
        assert!(
            parse_px("click purple 1 2")
                .unwrap_err()
                .to_string()
                .contains("unknown mouse button")
        );
    }

    #[test]
    fn coordinates_are_checked() {
        let error = parse_px("move ten 20").unwrap_err().to_string();
        assert!(error.contains("x \"ten\" is not a number"), "{error}");
        assert!(error.contains("usage: move X Y"), "{error}");
        assert!(
            parse_px("move 1.5 2")
                .unwrap_err()
                .to_string()
                .contains("--norm")
        );
        assert!(
            parse_px("move 1")
                .unwrap_err()
                .to_string()
                .contains("missing arguments")
        );
        let norm = parse("move 0.5 1.5", &context(true))
            .unwrap_err()
            .to_string();
        assert!(norm.contains("y = 1.5 is outside 0..1"), "{norm}");
        assert_eq!(
            parse("hover 0.25 0.75", &context(true)).unwrap(),
            Command::Input(vec![Action::Hover {
                at: Point::normalized(0.25, 0.75)
            }])
        );
        let no_point = ParseContext {
            last_point: None,
            ..context(false)
        };
        assert!(
            parse("click", &no_point)
                .unwrap_err()
                .to_string()
                .contains("give X Y")
        );
    }

    #[test]
    fn quoting_works_like_a_shell() {
        assert_eq!(
            single(r#"text "hello  world""#),
            Action::Type("hello  world".into())
        );
        assert_eq!(single("text 'it''s fine'"), Action::Type("its fine".into()));
        assert_eq!(single("type a b"), Action::Type("a b".into()));
        assert!(
            parse_px("text \"open")
                .unwrap_err()
                .to_string()
                .contains("close your quotes")
        );
        assert_eq!(single(r#"text "a\nb""#), Action::Type("a\nb".into()));
        assert_eq!(single(r#"text 'a\\nb\x'"#), Action::Type("a\\nb\\x".into()));
        assert_eq!(
            parse_px(r#"input 3 4 "naïve café""#).unwrap(),
            Command::Input(vec![
                Action::Click {
                    at: Point::pixels(3, 4),
                    button: Button::Left
                },
                Action::Type("naïve café".into())
            ])
        );
    }

    #[test]
    fn keys_and_chords() {
        let Command::Input(actions) = parse_px("key Ctrl+Alt+t Tab").unwrap() else {
            panic!()
        };
        assert_eq!(actions.len(), 2);
        assert_eq!(actions[1], Action::Key(Chord::single(Keysym::TAB)));
        let error = parse_px("key Ctlr+c").unwrap_err().to_string();
        assert!(error.contains("did you mean"), "{error}");
        assert_eq!(single("enter"), Action::Key(Chord::single(Keysym::RETURN)));
    }

    #[test]
    fn scroll_swipe_tap() {
        assert_eq!(
            single("scroll down 3"),
            Action::Scroll {
                direction: ScrollDirection::Down,
                amount: 3
            }
        );
        assert!(
            parse_px("scroll sideways")
                .unwrap_err()
                .to_string()
                .contains("unknown scroll direction")
        );
        assert!(
            parse_px("scroll up 0")
                .unwrap_err()
                .to_string()
                .contains("at least 1")
        );
        assert_eq!(
            single("swipe 1 2 3 4 7"),
            Action::Drag {
                from: Point::pixels(1, 2),
                to: Point::pixels(3, 4),
                steps: 7
            }
        );
        assert_eq!(
            single("tap 1 2 right"),
            Action::Tap {
                at: Point::pixels(1, 2),
                button: Button::Right
            }
        );
    }

    #[test]
    fn admin_session_and_misc() {
        assert_eq!(parse_px("kick abc").unwrap(), Command::Kick("abc".into()));
        assert!(parse_px("kick").is_err());
        assert_eq!(parse_px("size").unwrap(), Command::Size(None));
        assert_eq!(
            parse_px("size 800x600").unwrap(),
            Command::Size(Some((800, 600)))
        );
        assert_eq!(
            parse_px("size 800 600").unwrap(),
            Command::Size(Some((800, 600)))
        );
        assert!(parse_px("size big").is_err());
        assert_eq!(
            parse_px("sleep 0.25").unwrap(),
            Command::Sleep(Duration::from_millis(250))
        );
        assert!(parse_px("sleep -1").is_err());
        assert_eq!(
            parse_px(r#"raw '{"event":"control/release"}'"#).unwrap(),
            Command::Raw(r#"{"event":"control/release"}"#.into())
        );
        assert_eq!(parse_px("exit").unwrap(), Command::Quit);
        assert_eq!(
            parse_px("paste").unwrap(),
            Command::Input(vec![Action::Paste(None)])
        );
        assert_eq!(
            parse_px("layout de nodeadkeys").unwrap(),
            Command::Layout {
                layout: "de".into(),
                variant: "nodeadkeys".into()
            }
        );
        assert!(
            parse_px("enter now")
                .unwrap_err()
                .to_string()
                .contains("too many")
        );
        assert!(
            parse_px("frobnicate")
                .unwrap_err()
                .to_string()
                .contains("unknown command")
        );
    }
}
