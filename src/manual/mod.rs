//! `neko-agent manual`: drive a room by hand, or run a script of the same commands.
//!
//! On a terminal it is a REPL with line editing and history; with stdin piped (or `-c` lines)
//! it runs the lines in order, waits for each command's events to be sent, and stops at the
//! first failing line. Exit status: [`EXIT_OK`], [`EXIT_COMMAND_FAILED`], [`EXIT_USAGE`] or
//! [`EXIT_CONNECTION`].

mod admin;
mod args;
mod command;
mod help;
mod lines;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

pub use args::ManualArgs;
pub use command::{ArgumentError, Command, ParseContext, ParseError, parse};
pub use help::UnknownCommand;
pub use lines::Source;

use crate::connection::{ConnectionError, SessionSettings};
use crate::input::Screen;
use crate::session::{ControlError, ControlOptions, Controller, Failures, Link, Printer};
use admin::Admin;

/// Every line ran (or `quit`).
pub const EXIT_OK: u8 = 0;
/// A command failed: bad command or arguments, not host in time, not an admin…
pub const EXIT_COMMAND_FAILED: u8 = 1;
/// The settings are wrong (no server, bad pipeline file…).
pub const EXIT_USAGE: u8 = 2;
/// The room could not be joined, or the connection was lost for good.
pub const EXIT_CONNECTION: u8 = 3;

/// Runs the REPL or script until end of input, `quit`, or (in a script) the first failure.
pub async fn run(args: ManualArgs, source: Source) -> u8 {
    let interactive = source.is_interactive();
    let lines = lines::start(source);
    let eprint = lines.eprint.clone();
    let (session, variables) = match variables(&args) {
        Ok(checked) => checked,
        Err(message) => {
            eprint(&format!("error: {message}"));
            return EXIT_USAGE;
        }
    };
    let failures = Failures::default();
    let link = if args.no_media {
        Link::signalling(&session)
    } else {
        let failures = failures.clone();
        Link::media(
            &args.pipeline,
            &session,
            &variables,
            Arc::new(move |message| failures.report(message)),
        )
    };
    let link = match link {
        Ok(link) => link,
        Err(error) => {
            eprint(&format!("error: {error}"));
            return EXIT_USAGE;
        }
    };
    let Link {
        client, notices, ..
    } = &link;
    let controller = Controller::start(
        client.clone(),
        notices.resubscribe(),
        ControlOptions {
            auto_host: !args.no_auto_host,
            keep_host: !args.no_auto_host,
            host_timeout: Duration::from_secs_f64(args.host_timeout.max(0.1)),
            default_screen: Screen::new(args.size.0, args.size.1),
        },
        lines.print.clone(),
    );
    failures.attach(&controller);
    let status = match controller
        .wait_connected(Duration::from_secs_f64(args.connect_timeout.max(0.1)))
        .await
    {
        Ok(()) => {
            if interactive {
                (lines.print)(
                    "Neko manual control. `help` lists commands; Ctrl-D or `quit` leaves.",
                );
            }
            Repl {
                controller: &controller,
                normalized: args.norm,
                interactive,
                print: lines.print.clone(),
                eprint: lines.eprint.clone(),
            }
            .run(lines.receiver)
            .await
        }
        Err(error) => {
            eprint(&format!("error: {error}"));
            EXIT_CONNECTION
        }
    };
    link.close();
    status
}

/// The session settings, and the pipeline variables from the media flags.
fn variables(
    args: &ManualArgs,
) -> Result<(SessionSettings, BTreeMap<String, String>), ConnectionError> {
    let session = args.connection.session()?;
    let variables = BTreeMap::from([("audio".to_owned(), (!args.no_audio).to_string())]);
    Ok((session, variables))
}

/// Why a line failed.
#[derive(Debug, thiserror::Error)]
enum LineError {
    /// The line is not a command.
    #[error(transparent)]
    Parse(#[from] ParseError),
    /// `help` for a command that does not exist.
    #[error(transparent)]
    Help(#[from] UnknownCommand),
    /// The controller could not carry the command out.
    #[error(transparent)]
    Control(#[from] ControlError),
    /// An admin request failed.
    #[error(transparent)]
    Admin(#[from] admin::AdminError),
}

impl LineError {
    /// Whether the session is gone; otherwise the line itself failed: fix it and go on.
    fn is_connection_lost(&self) -> bool {
        match self {
            Self::Control(ControlError::Connection(_) | ControlError::Outage) => true,
            Self::Admin(admin::AdminError::Failed { source, .. }) => source.is_transient(),
            _ => false,
        }
    }
}

struct Repl<'a> {
    controller: &'a Controller,
    normalized: bool,
    interactive: bool,
    print: Printer,
    eprint: Printer,
}

impl Repl<'_> {
    async fn run(&self, mut receiver: tokio::sync::mpsc::Receiver<lines::Line>) -> u8 {
        while let Some(line) = receiver.recv().await {
            let outcome = self.execute(&line.text).await;
            let (go_on, status) = match outcome {
                Ok(true) => (true, EXIT_OK),
                Ok(false) => (false, EXIT_OK),
                Err(error) if error.is_connection_lost() => {
                    let message = error.to_string();
                    (self.eprint)(&self.located("connection error", line.number, &message));
                    (false, EXIT_CONNECTION)
                }
                Err(error) => {
                    let message = error.to_string();
                    (self.eprint)(&self.located("error", line.number, &message));
                    (self.interactive, EXIT_COMMAND_FAILED)
                }
            };
            line.finish(go_on);
            if !go_on {
                return status;
            }
        }
        EXIT_OK
    }

    fn located(&self, what: &str, number: usize, message: &str) -> String {
        if self.interactive {
            format!("{what}: {message}")
        } else {
            format!("{what} at line {number}: {message}")
        }
    }

    /// Runs one line; false means quit.
    async fn execute(&self, text: &str) -> Result<bool, LineError> {
        let controller = self.controller;
        let keys = controller.keys();
        let context = ParseContext {
            normalized: self.normalized,
            last_point: controller.last_point(),
            keys: &keys,
        };
        let command = parse(text, &context)?;
        let admin = Admin::new(controller.client());
        let message = match command {
            Command::Nothing => None,
            Command::Quit => return Ok(false),
            Command::Input(actions) => {
                controller.perform(&actions).await?;
                None
            }
            Command::Layout { layout, variant } => {
                controller.set_layout(&layout, &variant).await?;
                None
            }
            Command::Host => Some(controller.host().await?),
            Command::Unhost => Some(controller.unhost().await?),
            Command::ForceTake => {
                let message = admin.take().await?;
                controller.want_host(true);
                Some(message)
            }
            Command::ForceRelease => {
                let message = admin.reset().await?;
                controller.want_host(false);
                Some(message)
            }
            Command::Kick(id) => Some(admin.kick(&id).await?),
            Command::Sessions => Some(admin.sessions().await?),
            Command::Size(None) => {
                let screen = controller.screen();
                Some(format!("screen size: {}x{}", screen.width, screen.height))
            }
            Command::Size(Some((width, height))) => {
                controller.set_screen(width, height);
                Some(format!(
                    "screen size set to {width}x{height} (until the server reports a new one)"
                ))
            }
            Command::Raw(json) => {
                controller.send_raw(&json).await?;
                None
            }
            Command::Sleep(duration) => {
                tokio::time::sleep(duration).await;
                controller.check_alive()?;
                None
            }
            Command::Help(None) => Some(help::overview(self.normalized)),
            Command::Help(Some(name)) => Some(help::explain(&name)?),
        };
        if let Some(message) = message {
            (self.print)(&message);
        }
        Ok(true)
    }
}
