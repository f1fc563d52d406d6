//! Online mode: tasks arrive as chat messages; host control is held only while a task runs;
//! progress and answers go back to chat; a new task or `/stop` cancels the running one,
//! `/pause` and `/resume` hold it at a step boundary. While a person has taken host control the
//! agent says nothing in chat (replies go to the output instead) until control comes back.

use std::future::Future;
use std::pin::Pin;

use gstneko::client::ClientNotice;
use gstneko::protocol::ServerEvent;
use tokio::sync::broadcast;

use super::runner::{Agent, AgentError, TaskOutcome};
use super::steer::{PauseReason, Steering, TaskControl, ignore_events};
use crate::chat_prefix::AGENT as CHAT_PREFIX;

/// What a chat line asks of the agent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChatCommand {
    /// `/task <instruction>`: start it (cancelling the running task).
    Task(String),
    /// `/task` without an instruction.
    MissingTask,
    /// `/stop`: cancel the running task.
    Stop,
    /// `/status`: say what the agent is doing.
    Status,
    /// `/pause`: hold the running task at its next step boundary.
    Pause,
    /// `/resume`: let a paused task go on.
    Resume,
}

/// The command in a chat line, if it is one (`/task`, `/stop`, `/status`, `/pause`,
/// `/resume`, any case).
pub fn parse_chat(text: &str) -> Option<ChatCommand> {
    let text = text.trim();
    let (word, rest) = text.split_once(char::is_whitespace).unwrap_or((text, ""));
    match word.to_ascii_lowercase().as_str() {
        "/task" if rest.trim().is_empty() => Some(ChatCommand::MissingTask),
        "/task" => Some(ChatCommand::Task(rest.trim().to_owned())),
        "/stop" => Some(ChatCommand::Stop),
        "/status" => Some(ChatCommand::Status),
        "/pause" => Some(ChatCommand::Pause),
        "/resume" => Some(ChatCommand::Resume),
        _ => None,
    }
}

type TaskFuture<'a> = Pin<Box<dyn Future<Output = Result<TaskOutcome, AgentError>> + 'a>>;

/// The task being worked on.
struct Running<'a> {
    task: String,
    control: TaskControl,
    future: TaskFuture<'a>,
}

impl Running<'_> {
    /// Whether a person holds host control after taking it from this task.
    fn taken_over(&self) -> bool {
        self.control.state() == Steering::Paused(PauseReason::Takeover)
    }
}

/// Serves chat tasks until the session ends for good (the error says why).
pub async fn serve(
    agent: &Agent,
    mut notices: broadcast::Receiver<ClientNotice>,
) -> Result<(), AgentError> {
    let controller = agent.controller();
    controller.want_host(false);
    agent
        .say(&format!(
            "{CHAT_PREFIX} Ready. Send a task in chat to begin: /task <instruction>"
        ))
        .await;
    let mut running: Option<Running<'_>> = None;
    loop {
        tokio::select! {
            notice = notices.recv() => {
                let text = match notice {
                    Ok(ClientNotice::Event(event)) => match event.as_ref() {
                        ServerEvent::ChatMessage(message)
                            if controller.session_id().as_deref() != Some(message.id.as_str()) =>
                        {
                            message.content.text.clone()
                        }
                        _ => continue,
                    },
                    Ok(ClientNotice::Fatal(error)) => return Err(AgentError::SessionEnded(error)),
                    Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(broadcast::error::RecvError::Closed) => {
                        return Err(AgentError::SessionGone);
                    }
                };
                let Some(command) = parse_chat(&text) else { continue };
                // While a person has taken control, the agent stays out of the chat too.
                let quiet = running.as_ref().is_some_and(Running::taken_over);
                let reply = |text: String| async move {
                    if quiet {
                        agent.print(&text);
                    } else {
                        agent.say(&text).await;
                    }
                };
                match command {
                    ChatCommand::MissingTask => {
                        reply(format!("{CHAT_PREFIX} Usage: /task <instruction>")).await;
                    }
                    ChatCommand::Status => {
                        let status = match &running {
                            Some(current) => match current.control.state() {
                                Steering::Paused(reason) => format!(
                                    "{CHAT_PREFIX} Paused ({}): {}",
                                    reason.name(),
                                    current.task
                                ),
                                _ => format!("{CHAT_PREFIX} Working on: {}", current.task),
                            },
                            None => format!("{CHAT_PREFIX} Idle. Send /task <instruction>"),
                        };
                        reply(status).await;
                    }
                    ChatCommand::Pause => match &running {
                        Some(current) => {
                            current.control.pause(PauseReason::Requested);
                            reply(format!(
                                "{CHAT_PREFIX} Pausing after the current step: {}. Send /resume to go on",
                                current.task
                            ))
                            .await;
                        }
                        None => reply(format!("{CHAT_PREFIX} Nothing to pause.")).await,
                    },
                    ChatCommand::Resume => match &running {
                        Some(current) if matches!(current.control.state(), Steering::Paused(_)) => {
                            current.control.resume();
                            reply(format!("{CHAT_PREFIX} Resuming: {}", current.task)).await;
                        }
                        Some(current) => {
                            reply(format!("{CHAT_PREFIX} Not paused: {}", current.task)).await;
                        }
                        None => reply(format!("{CHAT_PREFIX} Nothing to resume.")).await,
                    },
                    ChatCommand::Stop => {
                        if let Some(stopped) = running.take() {
                            stopped.control.cancel();
                            release(agent).await;
                            reply(format!("{CHAT_PREFIX} Stopped: {}", stopped.task)).await;
                        } else {
                            reply(format!("{CHAT_PREFIX} Nothing to stop.")).await;
                        }
                    }
                    ChatCommand::Task(task) => {
                        if let Some(previous) = running.take() {
                            previous.control.cancel();
                            reply(format!("{CHAT_PREFIX} Cancelled: {}", previous.task)).await;
                        }
                        reply(format!("{CHAT_PREFIX} Starting task: {task}")).await;
                        tracing::info!(%task, "task from chat");
                        let control = TaskControl::new();
                        let steering = control.clone();
                        let owned = task.clone();
                        running = Some(Running {
                            task,
                            control,
                            future: Box::pin(async move {
                                agent.run_steered(&owned, &steering, ignore_events()).await
                            }),
                        });
                    }
                }
            }
            outcome = async {
                match running.as_mut() {
                    Some(current) => current.future.as_mut().await,
                    None => std::future::pending().await,
                }
            } => {
                let task = running.take().map(|current| current.task).unwrap_or_default();
                release(agent).await;
                match outcome {
                    Ok(TaskOutcome::Answered { steps, .. }) => {
                        agent.say(&format!("{CHAT_PREFIX} Completed task: {task} (steps={steps})")).await;
                    }
                    Ok(TaskOutcome::StepLimit { steps }) => {
                        agent.say(&format!("{CHAT_PREFIX} Task incomplete after {steps} steps: {task}")).await;
                    }
                    // Only `/stop` and `/task` cancel, and they drop the task and say so.
                    Ok(TaskOutcome::Cancelled { steps }) => {
                        tracing::info!(%task, steps, "task cancelled");
                    }
                    Err(error) if error.is_connection() => return Err(error),
                    Err(error) => {
                        tracing::warn!(%error, %task, "task failed");
                        agent.say(&format!("{CHAT_PREFIX} Task failed: {task}: {error}")).await;
                    }
                }
            }
        }
    }
}

/// Gives host control back while idle.
async fn release(agent: &Agent) {
    if let Err(error) = agent.controller().unhost().await {
        tracing::warn!(%error, "could not release host control");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chat_commands() {
        assert_eq!(
            parse_chat("  /TASK  open the red box "),
            Some(ChatCommand::Task("open the red box".into()))
        );
        assert_eq!(parse_chat("/task"), Some(ChatCommand::MissingTask));
        assert_eq!(parse_chat("/stop"), Some(ChatCommand::Stop));
        assert_eq!(parse_chat("/Status please"), Some(ChatCommand::Status));
        assert_eq!(parse_chat("/pause"), Some(ChatCommand::Pause));
        assert_eq!(parse_chat(" /RESUME "), Some(ChatCommand::Resume));
        assert_eq!(parse_chat("/tasks x"), None);
        assert_eq!(parse_chat("hello"), None);
        assert_eq!(parse_chat("Action: {\"action\": \"CLICK\"}"), None);
    }
}
