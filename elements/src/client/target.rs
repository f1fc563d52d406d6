//! Where and as whom to connect: base URL + credentials, a full WebSocket URL, or a token.

use std::path::Path;

use url::Url;

use super::tls::{Trust, TrustError};

/// Errors in the connection settings, reported before anything touches the network.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum TargetError {
    /// No URL was configured at all.
    #[error(
        "no Neko server configured: set a base URL (http[s]://host:port) or a ws[s]://…/api/ws?token=… URL"
    )]
    MissingUrl,
    /// The URL did not parse.
    #[error("invalid Neko URL {url:?}: {source}")]
    UnparsableUrl {
        /// The URL as given (its token redacted).
        url: String,
        /// The parser's reason.
        #[source]
        source: url::ParseError,
    },
    /// The URL has no host or an unsupported scheme.
    #[error("invalid Neko URL {url:?}: {reason}")]
    InvalidUrl {
        /// The URL as given.
        url: String,
        /// Why it was refused.
        reason: String,
    },
    /// A base URL without a token needs a username and password.
    #[error("no credentials for {url}: give a username and password, or a token")]
    MissingCredentials {
        /// The server's base URL.
        url: String,
    },
}

/// How the client authenticates.
#[derive(Clone, PartialEq)]
pub enum Credentials {
    /// Log in over REST with these, then use the returned token.
    Password {
        /// Neko username.
        username: String,
        /// Neko password (never logged).
        password: String,
    },
    /// Use this session token directly.
    Token(String),
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Password { username, .. } => {
                write!(f, "Password {{ username: {username:?}, password: *** }}")
            }
            Self::Token(_) => write!(f, "Token(***)"),
        }
    }
}

/// A resolved connection target: the HTTP base for REST and the WebSocket endpoint.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    /// `http(s)://host:port[/prefix]` without a trailing slash.
    pub base: Url,
    /// How to authenticate.
    pub credentials: Credentials,
    /// Which certificates `https`/`wss` accepts.
    pub trust: Trust,
}

impl Target {
    /// Builds a target from a URL (http(s) base or ws(s) `/api/ws` URL) and optional credentials/token.
    pub fn new(
        url: &str,
        username: Option<&str>,
        password: Option<&str>,
        token: Option<&str>,
    ) -> Result<Self, TargetError> {
        let url = url.trim();
        if url.is_empty() {
            return Err(TargetError::MissingUrl);
        }
        let invalid = |reason: &str| TargetError::InvalidUrl {
            url: redact_token(url),
            reason: reason.to_owned(),
        };
        let parsed = Url::parse(url).map_err(|source| TargetError::UnparsableUrl {
            url: redact_token(url),
            source,
        })?;
        if parsed.host_str().is_none() {
            return Err(invalid("it has no host"));
        }
        let mut url_token = None;
        let base = match parsed.scheme() {
            "http" | "https" => {
                let mut base = parsed.clone();
                base.set_query(None);
                base.set_fragment(None);
                let path = base.path().trim_end_matches('/').to_owned();
                base.set_path(&path);
                base
            }
            "ws" | "wss" => {
                url_token = parsed
                    .query_pairs()
                    .find(|(k, _)| k == "token")
                    .map(|(_, v)| v.into_owned());
                let path = parsed.path().trim_end_matches('/');
                let prefix = path.strip_suffix("/api/ws").unwrap_or(path).to_owned();
                let scheme = if parsed.scheme() == "wss" {
                    "https"
                } else {
                    "http"
                };
                let mut base = parsed.clone();
                base.set_query(None);
                base.set_fragment(None);
                base.set_path(&prefix);
                base.set_scheme(scheme)
                    .map_err(|_| invalid("cannot map the WebSocket scheme to HTTP"))?;
                base
            }
            other => {
                return Err(invalid(&format!(
                    "unsupported scheme {other:?}; use http, https, ws or wss"
                )));
            }
        };
        let nonempty = |v: Option<&str>| {
            v.map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
        };
        let credentials = match (nonempty(token).or(url_token), nonempty(username), password) {
            (Some(token), _, _) => Credentials::Token(token),
            (None, Some(username), Some(password)) => Credentials::Password {
                username,
                password: password.to_owned(),
            },
            _ => {
                return Err(TargetError::MissingCredentials {
                    url: base.to_string(),
                });
            }
        };
        Ok(Self {
            base,
            credentials,
            trust: Trust::system(),
        })
    }

    /// Also trusts the CA certificates in the PEM file at `path` (besides the system's roots).
    pub fn with_ca_file(mut self, path: &Path) -> Result<Self, TrustError> {
        self.trust = Trust::with_ca_file(path)?;
        Ok(self)
    }

    /// `host:port` of the server, as TLS errors name it.
    pub fn host_port(&self) -> String {
        let host = self.base.host_str().unwrap_or_default();
        match self.base.port_or_known_default() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_owned(),
        }
    }

    /// REST endpoint under the base, e.g. `api/login`.
    pub fn rest_url(&self, path: &str) -> Url {
        let mut url = self.base.clone();
        let joined = format!(
            "{}/{}",
            url.path().trim_end_matches('/'),
            path.trim_start_matches('/')
        );
        url.set_path(&joined);
        url
    }

    /// The `/api/ws?token=…` URL for a token.
    pub fn websocket_url(&self, token: &str) -> Url {
        let mut url = self.rest_url("api/ws");
        let scheme = if url.scheme() == "https" { "wss" } else { "ws" };
        // Both schemes are special, so this cannot fail.
        let _ = url.set_scheme(scheme);
        url.query_pairs_mut().clear().append_pair("token", token);
        url
    }

    /// The server as shown in messages: scheme, host and port, never a token.
    pub fn display_server(&self) -> String {
        self.base.to_string().trim_end_matches('/').to_owned()
    }

    /// The username, when logging in with a password.
    pub fn username(&self) -> Option<&str> {
        match &self.credentials {
            Credentials::Password { username, .. } => Some(username),
            Credentials::Token(_) => None,
        }
    }
}

/// `url` with the value of its `token` query parameter replaced by `***`, for messages and logs.
pub fn redact_token(url: &str) -> String {
    let Some(start) = url.find("token=").map(|at| at + "token=".len()) else {
        return url.to_owned();
    };
    let end = url[start..]
        .find(['&', '#'])
        .map_or(url.len(), |length| start + length);
    format!("{}***{}", &url[..start], &url[end..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_redacted() {
        assert_eq!(
            redact_token("ws://h/api/ws?token=s3cret&x=1"),
            "ws://h/api/ws?token=***&x=1"
        );
        assert_eq!(redact_token("http://h"), "http://h");
        let error = Target::new("ws:/?token=s3cret", None, None, None).unwrap_err();
        assert!(!error.to_string().contains("s3cret"), "{error}");
    }

    #[test]
    fn base_url_with_credentials() {
        let t = Target::new("http://127.0.0.1:8080/", Some("alice"), Some("neko"), None).unwrap();
        assert_eq!(
            t.rest_url("api/login").as_str(),
            "http://127.0.0.1:8080/api/login"
        );
        assert_eq!(
            t.websocket_url("a b").as_str(),
            "ws://127.0.0.1:8080/api/ws?token=a+b"
        );
        assert_eq!(t.username(), Some("alice"));
    }

    #[test]
    fn websocket_url_with_token_and_prefix() {
        let t = Target::new(
            "wss://neko.example.com/room1/api/ws?token=abc",
            None,
            None,
            None,
        )
        .unwrap();
        assert_eq!(t.credentials, Credentials::Token("abc".into()));
        assert_eq!(
            t.rest_url("api/whoami").as_str(),
            "https://neko.example.com/room1/api/whoami"
        );
        assert_eq!(
            t.websocket_url("abc").as_str(),
            "wss://neko.example.com/room1/api/ws?token=abc"
        );
    }

    #[test]
    fn a_reverse_proxy_prefix_is_kept_with_or_without_trailing_slash() {
        for url in [
            "https://h:8443/neko",
            "https://h:8443/neko/",
            "https://h:8443/neko//",
            "wss://h:8443/neko/api/ws?token=t",
            "wss://h:8443/neko/api/ws/?token=t",
            "wss://h:8443/neko/?token=t",
        ] {
            let t = Target::new(url, Some("u"), Some("p"), None).unwrap();
            assert_eq!(t.base.as_str(), "https://h:8443/neko", "{url}");
            assert_eq!(
                t.rest_url("api/login").as_str(),
                "https://h:8443/neko/api/login",
                "{url}"
            );
            assert_eq!(
                t.rest_url("/api/room/screen/shot.jpg").as_str(),
                "https://h:8443/neko/api/room/screen/shot.jpg",
                "{url}"
            );
            assert_eq!(
                t.websocket_url("t").as_str(),
                "wss://h:8443/neko/api/ws?token=t",
                "{url}"
            );
            assert_eq!(t.host_port(), "h:8443", "{url}");
        }
        let nested = Target::new("http://h/a/b/", Some("u"), Some("p"), None).unwrap();
        assert_eq!(
            nested.websocket_url("t").as_str(),
            "ws://h/a/b/api/ws?token=t"
        );
        let root = Target::new("https://h", Some("u"), Some("p"), None).unwrap();
        assert_eq!(root.rest_url("api/login").as_str(), "https://h/api/login");
        assert_eq!(root.host_port(), "h:443");
    }

    #[test]
    fn explicit_token_wins_and_errors_are_clear() {
        let t = Target::new("https://h", Some("u"), Some("p"), Some("tok")).unwrap();
        assert_eq!(t.credentials, Credentials::Token("tok".into()));
        assert_eq!(
            Target::new("", None, None, None),
            Err(TargetError::MissingUrl)
        );
        assert!(matches!(
            Target::new("ftp://h", None, None, Some("t")),
            Err(TargetError::InvalidUrl { .. })
        ));
        let err = Target::new("http://h:1", Some("u"), None, None).unwrap_err();
        assert!(err.to_string().contains("username and password"), "{err}");
    }

    #[test]
    fn debug_never_shows_secrets() {
        let t = Target::new("http://h", Some("u"), Some("hunter2"), None).unwrap();
        assert!(!format!("{t:?}").contains("hunter2"));
    }
}
