//! Where REPL lines come from: an editable prompt with history on a terminal, stdin lines when
//! piped, or `--command` arguments. Lines are read on their own thread, one at a time: the next
//! is read only after the previous command finished.

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use rustyline::config::Configurer;
use rustyline::error::ReadlineError;
use rustyline::{DefaultEditor, ExternalPrinter};
use tokio::sync::{mpsc, oneshot};

use crate::session::Printer;

/// The prompt shown on a terminal.
const PROMPT: &str = "neko> ";

/// Most lines kept in the history file.
const HISTORY_SIZE: usize = 1000;

/// Where lines come from.
pub enum Source {
    /// An interactive terminal: line editing and history.
    Terminal,
    /// Lines piped on stdin: a script.
    Piped,
    /// Lines given on the command line.
    Given(Vec<String>),
}

impl Source {
    /// `Given` when there are command-line lines, else a terminal or a pipe depending on stdin.
    pub fn detect(given: Vec<String>) -> Self {
        if !given.is_empty() {
            Self::Given(given)
        } else if std::io::stdin().is_terminal() {
            Self::Terminal
        } else {
            Self::Piped
        }
    }

    /// Whether lines come from a person typing (errors do not end the session).
    pub fn is_interactive(&self) -> bool {
        matches!(self, Self::Terminal)
    }
}

/// One line, with a way to say whether to read the next.
pub struct Line {
    /// The text, without the newline.
    pub text: String,
    /// 1-based line number.
    pub number: usize,
    next: oneshot::Sender<bool>,
}

impl Line {
    /// Lets the reader go on to the next line (`true`) or stop reading (`false`).
    pub fn finish(self, go_on: bool) {
        let _ = self.next.send(go_on);
    }
}

/// Lines in order, and printers that keep messages off the line being edited.
pub struct Lines {
    /// Receives lines; closed at end of input.
    pub receiver: mpsc::Receiver<Line>,
    /// For normal output.
    pub print: Printer,
    /// For error output.
    pub eprint: Printer,
}

/// Starts reading from `source` on a thread of its own.
pub fn start(source: Source) -> Lines {
    let (sender, receiver) = mpsc::channel(1);
    match source {
        Source::Terminal => {
            let (printer_tx, printer_rx) = std::sync::mpsc::channel();
            std::thread::spawn(move || read_terminal(&sender, printer_tx));
            match printer_rx.recv() {
                Ok(Some(printer)) => Lines {
                    receiver,
                    eprint: printer.clone(),
                    print: printer,
                },
                _ => Lines {
                    receiver,
                    print: stdout_printer(),
                    eprint: stderr_printer(),
                },
            }
        }
        Source::Piped => {
            std::thread::spawn(move || {
                let stdin = std::io::stdin();
                let lines = stdin.lock().lines().map_while(Result::ok);
                feed(&sender, lines);
            });
            plain(receiver)
        }
        Source::Given(lines) => {
            std::thread::spawn(move || feed(&sender, lines.into_iter()));
            plain(receiver)
        }
    }
}

fn plain(receiver: mpsc::Receiver<Line>) -> Lines {
    Lines {
        receiver,
        print: stdout_printer(),
        eprint: stderr_printer(),
    }
}

fn stdout_printer() -> Printer {
    Arc::new(|text: &str| {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{text}");
        let _ = out.flush();
    })
}

fn stderr_printer() -> Printer {
    Arc::new(|text: &str| eprintln!("{text}"))
}

/// Hands lines over one at a time, waiting for each to be finished.
fn feed(sender: &mpsc::Sender<Line>, lines: impl Iterator<Item = String>) {
    for (index, text) in lines.enumerate() {
        if !hand_over(sender, text, index + 1) {
            break;
        }
    }
}

/// Sends one line and waits until the command is done; false when reading should stop.
fn hand_over(sender: &mpsc::Sender<Line>, text: String, number: usize) -> bool {
    let (next, done) = oneshot::channel();
    let line = Line { text, number, next };
    sender.blocking_send(line).is_ok() && done.blocking_recv().unwrap_or(false)
}

/// The editable prompt: history in `~/.neko_agent_history`, Ctrl-C clears the line, Ctrl-D ends.
fn read_terminal(sender: &mpsc::Sender<Line>, printer: std::sync::mpsc::Sender<Option<Printer>>) {
    let mut editor = match DefaultEditor::new() {
        Ok(editor) => editor,
        Err(error) => {
            stderr_printer()(&format!(
                "line editing is unavailable ({error}); reading plain lines"
            ));
            let _ = printer.send(None);
            let stdin = std::io::stdin();
            feed(sender, stdin.lock().lines().map_while(Result::ok));
            return;
        }
    };
    let _ = editor.set_max_history_size(HISTORY_SIZE);
    let history = history_file();
    if let Some(path) = &history {
        let _ = editor.load_history(path);
    }
    let external = editor.create_external_printer().ok().map(|external| {
        let external = Mutex::new(external);
        Arc::new(move |text: &str| {
            if let Ok(mut external) = external.lock() {
                let _ = external.print(format!("{text}\n"));
            }
        }) as Printer
    });
    let _ = printer.send(external);
    let mut number = 0;
    loop {
        match editor.readline(PROMPT) {
            Ok(text) => {
                number += 1;
                if !text.trim().is_empty() {
                    let _ = editor.add_history_entry(text.as_str());
                    // Saved at once: the process may end right after this line runs.
                    if let Some(path) = &history {
                        let _ = editor.save_history(path);
                    }
                }
                if !hand_over(sender, text, number) {
                    break;
                }
            }
            Err(ReadlineError::Interrupted) => continue,
            Err(_) => break,
        }
    }
}

/// `$NEKO_HISTORY_FILE`, or `.neko_agent_history` in the home directory.
fn history_file() -> Option<PathBuf> {
    std::env::var_os("NEKO_HISTORY_FILE")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".neko_agent_history"))
        })
}
