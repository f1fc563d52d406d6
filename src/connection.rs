//! Connection settings shared by every subcommand: flags and the Python tool's variables.

use std::collections::BTreeMap;

/// Where the room is and who we are (`--ws`/`NEKO_WS`, or `--neko-url` + credentials).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ConnectionArgs {
    /// Direct WebSocket URL with a token: wss://host/api/ws?token=… (wins over --neko-url).
    #[arg(long, env = "NEKO_WS")]
    pub ws: Option<String>,
    /// Neko server base URL for REST login, e.g. https://neko.example.com.
    #[arg(long = "neko-url", env = "NEKO_URL")]
    pub neko_url: Option<String>,
    /// Username for REST login.
    #[arg(long, env = "NEKO_USER")]
    pub username: Option<String>,
    /// Password for REST login.
    #[arg(long, env = "NEKO_PASS", hide_env_values = true)]
    pub password: Option<String>,
    /// Local IP addresses ICE may use (comma-separated); empty for all interfaces.
    #[arg(long = "ice-addresses", env = "NEKO_ICE_ADDRESSES", default_value = "")]
    pub ice_addresses: String,
}

/// Problems with the connection settings, all reported together.
#[derive(Debug, thiserror::Error, PartialEq)]
#[error("connection settings are incomplete:\n  - {}", .0.join("\n  - "))]
pub struct ConnectionError(pub Vec<String>);

impl ConnectionArgs {
    /// Whether any server was configured.
    pub fn is_configured(&self) -> bool {
        self.ws.as_deref().is_some_and(|w| !w.is_empty())
            || self.neko_url.as_deref().is_some_and(|u| !u.is_empty())
    }

    /// Checks the settings and returns the pipeline variables `url`, `username`, `password`,
    /// `ice_addresses`.
    pub fn pipeline_variables(&self) -> Result<BTreeMap<String, String>, ConnectionError> {
        let mut problems = Vec::new();
        let mut vars = BTreeMap::new();
        let nonempty =
            |v: &Option<String>| v.as_deref().filter(|s| !s.is_empty()).map(str::to_owned);
        if let Some(ws) = nonempty(&self.ws) {
            if !ws.contains("token=") {
                problems.push(format!("--ws/NEKO_WS {ws:?} has no ?token=…; use --neko-url with --username/--password instead"));
            }
            vars.insert("url".to_owned(), ws);
            vars.insert("username".to_owned(), String::new());
            vars.insert("password".to_owned(), String::new());
        } else if let Some(url) = nonempty(&self.neko_url) {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                problems.push(format!(
                    "--neko-url/NEKO_URL {url:?} must start with http:// or https://"
                ));
            }
            match nonempty(&self.username) {
                Some(user) => vars.insert("username".to_owned(), user),
                None => {
                    problems.push("--username/NEKO_USER is required with --neko-url".into());
                    None
                }
            };
            match self.password.clone() {
                Some(pass) => vars.insert("password".to_owned(), pass),
                None => {
                    problems.push("--password/NEKO_PASS is required with --neko-url".into());
                    None
                }
            };
            vars.insert("url".to_owned(), url);
        } else {
            problems.push("no server: give --ws/NEKO_WS, or --neko-url/NEKO_URL with --username and --password".into());
        }
        vars.insert("ice_addresses".to_owned(), self.ice_addresses.clone());
        if problems.is_empty() {
            Ok(vars)
        } else {
            Err(ConnectionError(problems))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_every_problem_at_once() {
        let args = ConnectionArgs {
            neko_url: Some("ftp://x".into()),
            ..Default::default()
        };
        let err = args.pipeline_variables().unwrap_err();
        assert_eq!(err.0.len(), 3, "{err}");
        assert!(err.to_string().contains("NEKO_USER"));
    }

    #[test]
    fn ws_url_wins() {
        let args = ConnectionArgs {
            ws: Some("ws://h/api/ws?token=t".into()),
            neko_url: Some("http://other".into()),
            ..Default::default()
        };
        let vars = args.pipeline_variables().unwrap();
        assert_eq!(vars["url"], "ws://h/api/ws?token=t");
    }
}
