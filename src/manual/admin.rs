//! Admin commands over Neko's REST API: list and kick sessions, take or reset host control.

use gstneko::client::{NekoClient, RestError};
use gstneko::protocol::SessionData;

/// Why an admin command failed, worded for the user.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// The session is not an admin (checked locally or refused by the server).
    #[error(
        "`{command}` needs an admin session, and this one is not an admin{detail}: log in with the room's admin password"
    )]
    NotAdmin {
        /// The REPL command.
        command: &'static str,
        /// The server's words, when it refused.
        detail: String,
    },
    /// Not logged in yet.
    #[error("`{0}` needs a session: not connected yet")]
    NoSession(&'static str),
    /// Any other failure.
    #[error("`{command}` failed: {source}")]
    Failed {
        /// The REPL command.
        command: &'static str,
        /// What went wrong.
        source: RestError,
    },
}

/// Admin calls made with the REPL session's token.
pub struct Admin<'a> {
    client: &'a NekoClient,
}

impl<'a> Admin<'a> {
    /// Admin calls through `client`'s session.
    pub fn new(client: &'a NekoClient) -> Self {
        Self { client }
    }

    /// `GET /api/sessions`, formatted one session per line.
    pub async fn sessions(&self) -> Result<String, AdminError> {
        let command = "sessions";
        let token = self.check(command)?;
        let value = self
            .client
            .rest()
            .get_json("api/sessions", &token)
            .await
            .map_err(|e| failure(command, e))?;
        let sessions: Vec<SessionData> =
            serde_json::from_value(value).map_err(|e| AdminError::Failed {
                command,
                source: RestError::BadResponse {
                    server: self.client.rest().target().display_server(),
                    what: "GET /api/sessions".into(),
                    reason: e.to_string(),
                },
            })?;
        let state = self.client.state();
        Ok(format_sessions(
            &sessions,
            state.host_id.as_deref(),
            state.session_id.as_deref(),
        ))
    }

    /// `POST /api/sessions/{id}/disconnect`.
    pub async fn kick(&self, id: &str) -> Result<String, AdminError> {
        self.post("kick", &format!("api/sessions/{id}/disconnect"))
            .await?;
        Ok(format!("session {id} disconnected"))
    }

    /// `POST /api/room/control/take`.
    pub async fn take(&self) -> Result<String, AdminError> {
        self.post("force-take", "api/room/control/take").await?;
        Ok("host control taken".into())
    }

    /// `POST /api/room/control/reset`.
    pub async fn reset(&self) -> Result<String, AdminError> {
        self.post("force-release", "api/room/control/reset").await?;
        Ok("host control reset: nobody is host".into())
    }

    async fn post(&self, command: &'static str, path: &str) -> Result<(), AdminError> {
        let token = self.check(command)?;
        self.client
            .rest()
            .post_json(path, &token, None)
            .await
            .map(drop)
            .map_err(|e| failure(command, e))
    }

    /// The token, after checking we are an admin as far as `system/init` told.
    fn check(&self, command: &'static str) -> Result<String, AdminError> {
        let state = self.client.state();
        let token = self.client.token().ok_or(AdminError::NoSession(command))?;
        if state.connected && !state.is_admin {
            return Err(AdminError::NotAdmin {
                command,
                detail: String::new(),
            });
        }
        Ok(token)
    }
}

fn failure(command: &'static str, error: RestError) -> AdminError {
    match error {
        RestError::Unauthorized {
            status: 403,
            message,
            ..
        } => AdminError::NotAdmin {
            command,
            detail: format!(" (the server answered 403 {message:?})"),
        },
        source => AdminError::Failed { command, source },
    }
}

/// A table: id, name, connected/watching, host and admin marks.
fn format_sessions(sessions: &[SessionData], host: Option<&str>, own: Option<&str>) -> String {
    if sessions.is_empty() {
        return "no sessions".into();
    }
    let mut sorted: Vec<&SessionData> = sessions.iter().collect();
    sorted.sort_by(|a, b| a.profile.name.cmp(&b.profile.name).then(a.id.cmp(&b.id)));
    let width = sorted.iter().map(|s| s.id.len()).max().unwrap_or(0);
    let lines: Vec<String> = sorted
        .iter()
        .map(|s| {
            let mut marks = vec![if s.state.is_connected {
                "connected"
            } else {
                "offline"
            }];
            if s.state.is_watching {
                marks.push("watching");
            }
            if host == Some(s.id.as_str()) {
                marks.push("HOST");
            }
            if s.profile.is_admin {
                marks.push("admin");
            }
            if own == Some(s.id.as_str()) {
                marks.push("you");
            }
            format!(
                "{:width$}  {:16}  {}",
                s.id,
                s.profile.name,
                marks.join(", ")
            )
        })
        .collect();
    lines.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_table_marks_host_admin_and_self() {
        let sessions: Vec<SessionData> = serde_json::from_str(
            r#"[{"id":"s2","profile":{"name":"zed","is_admin":true},"state":{"is_connected":true,"is_watching":true}},
                {"id":"s1","profile":{"name":"amy"},"state":{"is_connected":false,"is_watching":false}}]"#,
        )
        .unwrap();
        let table = format_sessions(&sessions, Some("s2"), Some("s1"));
        let lines: Vec<&str> = table.lines().collect();
        assert!(lines[0].starts_with("s1  amy"), "{table}");
        assert!(lines[0].ends_with("offline, you"), "{table}");
        assert!(
            lines[1].ends_with("connected, watching, HOST, admin"),
            "{table}"
        );
    }
}
