//! Online mode: tasks arrive as chat messages; host control is held only while a task runs;
//! progress and answers go back to chat; a new task or `/stop` cancels the running one.

use std::future::Future;
use std::pin::Pin;

use gstneko::client::ClientNotice;
use gstneko::protocol::ServerEvent;
use tokio::sync::broadcast;

use super::runner::{Agent, AgentError, TaskOutcome};
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
}

/// The command in a chat line, if it is one (`/task`, `/stop`, `/status`, any case).
pub fn parse_chat(text: &str) -> Option<ChatCommand> {
    let text = text.trim();
    let (word, rest) = text.split_once(char::is_whitespace).unwrap_or((text, ""));
    match word.to_ascii_lowercase().as_str() {
        "/task" if rest.trim().is_empty() => Some(ChatCommand::MissingTask),
        "/task" => Some(ChatCommand::Task(rest.trim().to_owned())),
        "/stop" => Some(ChatCommand::Stop),
        "/status" => Some(ChatCommand::Status),
        _ => None,
    }
}

type Running<'a> = Pin<Box<dyn Future<Output = Result<TaskOutcome, AgentError>> + 'a>>;

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
    let mut running: Option<(String, Running<'_>)> = None;
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
                match command {
                    ChatCommand::MissingTask => {
                        agent.say(&format!("{CHAT_PREFIX} Usage: /task <instruction>")).await;
                    }
                    ChatCommand::Status => {
                        let status = match &running {
                            Some((task, _)) => format!("{CHAT_PREFIX} Working on: {task}"),
                            None => format!("{CHAT_PREFIX} Idle. Send /task <instruction>"),
                        };
                        agent.say(&status).await;
                    }
                    ChatCommand::Stop => {
                        if let Some((task, _)) = running.take() {
                            release(agent).await;
                            agent.say(&format!("{CHAT_PREFIX} Stopped: {task}")).await;
                        } else {
                            agent.say(&format!("{CHAT_PREFIX} Nothing to stop.")).await;
                        }
                    }
                    ChatCommand::Task(task) => {
                        if let Some((previous, _)) = running.take() {
                            agent.say(&format!("{CHAT_PREFIX} Cancelled: {previous}")).await;
                        }
                        agent.say(&format!("{CHAT_PREFIX} Starting task: {task}")).await;
                        tracing::info!(%task, "task from chat");
                        let owned = task.clone();
                        running = Some((task, Box::pin(async move { agent.run_task(&owned).await })));
                    }
                }
            }
            outcome = async {
                match running.as_mut() {
                    Some((_, future)) => future.as_mut().await,
                    None => std::future::pending().await,
                }
            } => {
                let task = running.take().map(|(task, _)| task).unwrap_or_default();
                release(agent).await;
                match outcome {
                    Ok(TaskOutcome::Answered { steps, .. }) => {
                        agent.say(&format!("{CHAT_PREFIX} Completed task: {task} (steps={steps})")).await;
                    }
                    Ok(TaskOutcome::StepLimit { steps }) => {
                        agent.say(&format!("{CHAT_PREFIX} Task incomplete after {steps} steps: {task}")).await;
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
        assert_eq!(parse_chat("/tasks x"), None);
        assert_eq!(parse_chat("hello"), None);
        assert_eq!(parse_chat("Action: {\"action\": \"CLICK\"}"), None);
    }
}
