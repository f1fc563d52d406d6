//! Connection settings shared by every subcommand: flags and the Python tool's variables.

use std::path::PathBuf;

use gst::prelude::*;
use gstneko::client::Trust;

use crate::ice::{IceArgs, IceSettings};

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
    /// PEM file of CA certificates to trust for https/wss besides the system's (a room with
    /// its own CA or a self-signed certificate).
    #[arg(long = "ca-file", env = "NEKO_CA_FILE")]
    pub ca_file: Option<PathBuf>,
    /// Local IP addresses ICE may use (comma-separated); empty for all interfaces.
    #[arg(long = "ice-addresses", env = "NEKO_ICE_ADDRESSES", default_value = "")]
    pub ice_addresses: String,
    /// NAT traversal: ICE policy, STUN and TURN servers.
    #[command(flatten)]
    pub ice: IceArgs,
}

/// Problems with the connection settings, all reported together.
#[derive(Debug, thiserror::Error, PartialEq)]
#[error("connection settings are incomplete:\n  - {}", .0.join("\n  - "))]
pub struct ConnectionError(pub Vec<String>);

/// The checked session settings the app gives a `nekosrc`/`nekosink` as properties, after the
/// pipeline file is parsed: secrets never pass through the launch text.
#[derive(Clone, Default, PartialEq)]
pub struct SessionSettings {
    /// Base URL for REST login, or a WebSocket URL with `?token=`.
    pub url: String,
    /// Username for REST login (empty with a token URL).
    pub username: String,
    /// Password for REST login (empty with a token URL).
    pub password: String,
    /// CA certificates to trust for https/wss besides the system's.
    pub ca_file: Option<PathBuf>,
    /// Local IP addresses ICE may use, comma-separated (empty: all interfaces).
    pub ice_addresses: String,
    /// ICE policy and our STUN/TURN servers.
    pub ice: IceSettings,
}

impl std::fmt::Debug for SessionSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionSettings")
            .field("url", &gstneko::client::redact_token(&self.url))
            .field("username", &self.username)
            .field("ca_file", &self.ca_file)
            .field("ice_addresses", &self.ice_addresses)
            .field("ice_policy", &self.ice.policy)
            .finish_non_exhaustive()
    }
}

/// The server or the CA file in the session settings cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    /// The URL or credentials.
    #[error(transparent)]
    Server(#[from] gstneko::client::TargetError),
    /// The CA file.
    #[error("--ca-file/NEKO_CA_FILE: {0}")]
    CaFile(#[from] gstneko::client::TrustError),
}

/// The pipeline has no Neko element to give the session settings to.
#[derive(Debug, thiserror::Error)]
#[error("no nekosrc element named \"src\" and no nekosink named \"sink\" in the pipeline")]
pub struct NoSessionElement;

impl SessionSettings {
    /// Sets the session properties of a `nekosrc` or `nekosink`.
    pub fn apply(&self, element: &gst::Element) {
        element.set_property("url", &self.url);
        element.set_property("username", &self.username);
        element.set_property("password", &self.password);
        let ca_file = self.ca_file.as_ref().map(|path| path.display().to_string());
        element.set_property("ca-file", ca_file.as_deref());
        element.set_property("ice-local-addresses", &self.ice_addresses);
        element.set_property("stun-server", self.ice.stun_server.as_deref());
        element.set_property(
            "turn-servers",
            gst::Array::new(self.ice.turn_servers.clone()),
        );
        element.set_property_from_str("ice-transport-policy", self.ice.transport_policy());
    }

    /// Applies the settings to the pipeline's Neko element: `src`, else `sink`; returns it.
    pub fn apply_to(&self, pipeline: &gst::Pipeline) -> Result<gst::Element, NoSessionElement> {
        let is_neko = |element: &gst::Element| {
            element
                .factory()
                .is_some_and(|f| matches!(f.name().as_str(), "nekosrc" | "nekosink"))
        };
        let element = pipeline
            .by_name("src")
            .filter(is_neko)
            .or_else(|| pipeline.by_name("sink").filter(is_neko))
            .ok_or(NoSessionElement)?;
        self.apply(&element);
        Ok(element)
    }

    /// The server, credentials and extra CA as the client's target.
    pub fn target(&self) -> Result<gstneko::client::Target, TargetError> {
        let nonempty = |s: &str| (!s.is_empty()).then(|| s.to_owned());
        let target = gstneko::client::Target::new(
            &self.url,
            nonempty(&self.username).as_deref(),
            nonempty(&self.password).as_deref(),
            None,
        )?;
        Ok(match &self.ca_file {
            Some(path) => target.with_ca_file(path)?,
            None => target,
        })
    }
}

impl ConnectionArgs {
    /// Whether any server was configured.
    pub fn is_configured(&self) -> bool {
        self.ws.as_deref().is_some_and(|w| !w.is_empty())
            || self.neko_url.as_deref().is_some_and(|u| !u.is_empty())
    }

    /// Checks the settings (every problem at once) into the session settings.
    pub fn session(&self) -> Result<SessionSettings, ConnectionError> {
        self.session_with(&self.ice)
    }

    /// Like [`session`](Self::session), with other ICE flags (yap's, which fall back to the
    /// Python tool's `YAP_*` names).
    pub fn session_with(&self, ice: &IceArgs) -> Result<SessionSettings, ConnectionError> {
        let mut problems = Vec::new();
        let mut session = SessionSettings {
            ice_addresses: self.ice_addresses.clone(),
            ..SessionSettings::default()
        };
        let nonempty =
            |v: &Option<String>| v.as_deref().filter(|s| !s.is_empty()).map(str::to_owned);
        if let Some(ws) = nonempty(&self.ws) {
            if !ws.contains("token=") {
                problems.push(format!("--ws/NEKO_WS {:?} has no ?token=…; use --neko-url with --username/--password instead", gstneko::client::redact_token(&ws)));
            }
            session.url = ws;
        } else if let Some(url) = nonempty(&self.neko_url) {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                problems.push(format!(
                    "--neko-url/NEKO_URL {url:?} must start with http:// or https://"
                ));
            }
            match nonempty(&self.username) {
                Some(user) => session.username = user,
                None => problems.push("--username/NEKO_USER is required with --neko-url".into()),
            }
            match self.password.clone() {
                Some(pass) => session.password = pass,
                None => problems.push("--password/NEKO_PASS is required with --neko-url".into()),
            }
            session.url = url;
        } else {
            problems.push("no server: give --ws/NEKO_WS, or --neko-url/NEKO_URL with --username and --password".into());
        }
        let ca_file = self.ca_file.as_ref().filter(|p| !p.as_os_str().is_empty());
        if let Some(path) = ca_file
            && let Err(error) = Trust::with_ca_file(path)
        {
            problems.push(format!("--ca-file/NEKO_CA_FILE: {error}"));
        }
        session.ca_file = ca_file.cloned();
        match ice.resolve() {
            Ok(ice) => session.ice = ice,
            Err(ice_problems) => problems.extend(ice_problems),
        }
        if problems.is_empty() {
            Ok(session)
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
        let err = args.session().unwrap_err();
        assert_eq!(err.0.len(), 3, "{err}");
        assert!(err.to_string().contains("NEKO_USER"));
    }

    #[test]
    fn an_unreadable_ca_file_is_a_settings_problem() {
        let args = ConnectionArgs {
            neko_url: Some("https://h".into()),
            username: Some("u".into()),
            password: Some("p".into()),
            ca_file: Some("/nonexistent/ca.pem".into()),
            ..Default::default()
        };
        let err = args.session().unwrap_err();
        assert_eq!(err.0.len(), 1, "{err}");
        assert!(err.to_string().contains("NEKO_CA_FILE"), "{err}");
        assert!(err.to_string().contains("/nonexistent/ca.pem"), "{err}");
    }

    #[test]
    fn ws_url_wins() {
        let args = ConnectionArgs {
            ws: Some("ws://h/api/ws?token=t".into()),
            neko_url: Some("http://other".into()),
            ..Default::default()
        };
        let session = args.session().unwrap();
        assert_eq!(session.url, "ws://h/api/ws?token=t");
        assert!(!format!("{session:?}").contains("token=t"));
    }
}
