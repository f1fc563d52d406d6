//! The backend choice and the remote endpoint's settings: flags and the Python agent's
//! `NEKO_AGENT_TYPE` / `OPENROUTER_*` variables, validated all at once.

use std::time::Duration;

use clap::builder::BoolishValueParser;
use url::Url;

/// The host whose endpoint needs an API key and `vendor/model` names.
pub const OPENROUTER_HOST: &str = "openrouter.ai";

/// Longest `OPENROUTER_TIMEOUT` accepted (an hour).
const MAX_TIMEOUT_S: f64 = 3600.0;
/// Most `OPENROUTER_MAX_RETRIES` accepted.
const MAX_RETRIES: u32 = 20;
/// Longest first backoff accepted.
const MAX_BACKOFF_S: f64 = 60.0;
/// Backoffs double up to this (or the first backoff, when that is longer).
const BACKOFF_CAP: Duration = Duration::from_secs(10);
/// Longest `Retry-After` honoured; a longer one is cut to this.
pub(crate) const RETRY_AFTER_CAP: Duration = Duration::from_secs(60);

/// Which model drives the agent (`NEKO_AGENT_TYPE`, as in the Python agent).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum AgentType {
    /// The local ShowUI-2B engine (ONNX Runtime).
    #[default]
    Showui,
    /// A remote model through the chat-completions endpoint, named by `OPENROUTER_MODEL`.
    Qwen3vl,
    /// A remote model through the chat-completions endpoint, named by `CLAUDE_MODEL`.
    Claude,
}

/// How the frame is encoded in the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum ImageFormat {
    /// JPEG, quality 95 (as the Python agent).
    #[default]
    Jpeg,
    /// PNG (lossless, larger).
    Png,
}

impl ImageFormat {
    /// The MIME type in the data URL.
    pub fn mime(self) -> &'static str {
        match self {
            Self::Jpeg => "image/jpeg",
            Self::Png => "image/png",
        }
    }
}

/// The backend flags of `neko-agent run`.
#[derive(Clone, PartialEq, clap::Args)]
pub struct RemoteArgs {
    /// Model backend: showui (local engine), qwen3vl or claude (a remote OpenAI-compatible
    /// chat-completions endpoint).
    #[arg(
        long = "agent-type",
        env = "NEKO_AGENT_TYPE",
        value_enum,
        default_value_t
    )]
    pub agent_type: AgentType,
    /// API key sent as `Authorization: Bearer …` (required for openrouter.ai).
    #[arg(
        long = "remote-api-key",
        env = "OPENROUTER_API_KEY",
        hide_env_values = true
    )]
    pub api_key: Option<String>,
    /// Remote model name (qwen3vl); `vendor/model` on OpenRouter.
    #[arg(
        long = "remote-model",
        env = "OPENROUTER_MODEL",
        default_value = "qwen/qwen2.5-vl-72b-instruct"
    )]
    pub model: String,
    /// Remote model name when the agent type is claude.
    #[arg(
        long = "claude-model",
        env = "CLAUDE_MODEL",
        default_value = "anthropic/claude-3.5-sonnet"
    )]
    pub claude_model: String,
    /// The endpoint: a base URL (`http://localhost:11434/v1`) or the full
    /// `…/chat/completions` URL.
    #[arg(
        long = "remote-url",
        env = "OPENROUTER_BASE_URL",
        default_value = "https://openrouter.ai/api/v1/chat/completions"
    )]
    pub base_url: String,
    /// Sent as the `HTTP-Referer` header.
    #[arg(long = "remote-site-url", env = "OPENROUTER_SITE_URL")]
    pub site_url: Option<String>,
    /// Sent as the `X-Title` header.
    #[arg(
        long = "remote-app-name",
        env = "OPENROUTER_APP_NAME",
        default_value = "Neko Agent"
    )]
    pub app_name: String,
    /// `max_tokens` of each request.
    #[arg(
        long = "remote-max-tokens",
        env = "OPENROUTER_MAX_TOKENS",
        default_value_t = 512
    )]
    pub max_tokens: u32,
    /// `temperature` of each request (0–2).
    #[arg(
        long = "remote-temperature",
        env = "OPENROUTER_TEMPERATURE",
        default_value_t = 0.0
    )]
    pub temperature: f64,
    /// `top_p` of each request (0–1).
    #[arg(long = "remote-top-p", env = "OPENROUTER_TOP_P", default_value_t = 1.0)]
    pub top_p: f64,
    /// Retries after a failed attempt (429, 5xx, timeout, refused connection).
    #[arg(
        long = "remote-max-retries",
        env = "OPENROUTER_MAX_RETRIES",
        default_value_t = 3
    )]
    pub max_retries: u32,
    /// Seconds one attempt may take (connect, send, answer).
    #[arg(
        long = "remote-timeout",
        env = "OPENROUTER_TIMEOUT",
        default_value_t = 60.0
    )]
    pub timeout: f64,
    /// Seconds before the first retry; each later one waits twice as long (up to 10 s).
    #[arg(
        long = "remote-backoff",
        env = "NEKO_REMOTE_BACKOFF",
        default_value_t = 2.0
    )]
    pub backoff: f64,
    /// Ask for the model's reasoning (`reasoning: {enabled: true}`).
    #[arg(
        long = "remote-reasoning",
        env = "OPENROUTER_REASONING_ENABLED",
        default_value = "true",
        value_parser = BoolishValueParser::new(),
        action = clap::ArgAction::Set
    )]
    pub reasoning: bool,
    /// Reasoning effort: minimal, low, medium or high.
    #[arg(long = "remote-reasoning-effort", env = "OPENROUTER_REASONING_EFFORT")]
    pub reasoning_effort: Option<String>,
    /// Longest edge of the image sent; larger frames and crops are scaled down (bicubic).
    #[arg(
        long = "remote-image-edge",
        env = "NEKO_REMOTE_IMAGE_EDGE",
        default_value_t = 1280
    )]
    pub image_edge: u32,
    /// Image encoding: jpeg or png.
    #[arg(
        long = "remote-image-format",
        env = "NEKO_REMOTE_IMAGE_FORMAT",
        value_enum,
        default_value_t
    )]
    pub image_format: ImageFormat,
}

/// A checked remote endpoint configuration.
#[derive(Clone, PartialEq)]
pub struct RemoteSettings {
    /// The full chat-completions URL requests are posted to.
    pub url: Url,
    /// Bearer token, if any.
    pub api_key: Option<String>,
    /// The `model` field.
    pub model: String,
    /// `HTTP-Referer`, if any.
    pub site_url: Option<String>,
    /// `X-Title`.
    pub app_name: String,
    /// `max_tokens`.
    pub max_tokens: u32,
    /// `temperature`.
    pub temperature: f64,
    /// `top_p`.
    pub top_p: f64,
    /// `reasoning.enabled`.
    pub reasoning: bool,
    /// `reasoning.effort`, if any.
    pub reasoning_effort: Option<String>,
    /// Retries after the first attempt.
    pub max_retries: u32,
    /// Limit of one attempt.
    pub timeout: Duration,
    /// Wait before the first retry.
    pub backoff: Duration,
    /// Longest edge of the image sent.
    pub image_edge: u32,
    /// Encoding of the image sent.
    pub image_format: ImageFormat,
}

/// `Some("***")` for a key that is set: keys never reach logs.
fn redacted(key: Option<&str>) -> Option<&'static str> {
    key.map(|_| "***")
}

impl std::fmt::Debug for RemoteArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemoteArgs")
            .field("agent_type", &self.agent_type)
            .field("api_key", &redacted(self.api_key.as_deref()))
            .field("model", &self.model)
            .field("claude_model", &self.claude_model)
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for RemoteSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemoteSettings")
            .field("url", &self.url.as_str())
            .field("api_key", &redacted(self.api_key.as_deref()))
            .field("model", &self.model)
            .field("max_retries", &self.max_retries)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl RemoteSettings {
    /// The endpoint as `scheme://host:port` (for messages).
    pub fn server(&self) -> String {
        let host = self.url.host_str().unwrap_or("?");
        match self.url.port_or_known_default() {
            Some(port) => format!("{}://{host}:{port}", self.url.scheme()),
            None => format!("{}://{host}", self.url.scheme()),
        }
    }

    /// The wait before retry number `retry` (1 = the first retry) when the server gave none.
    pub fn backoff_before(&self, retry: u32) -> Duration {
        let cap = BACKOFF_CAP.max(self.backoff);
        let factor = 2u32.saturating_pow(retry.saturating_sub(1).min(16));
        self.backoff.saturating_mul(factor).min(cap)
    }

    /// The longest a call can take with every attempt timing out after the longest waits
    /// (`Retry-After` included): a bound for the agent's own limit on one model call.
    pub fn worst_case(&self) -> Duration {
        (1..=self.max_retries).fold(self.timeout, |total, retry| {
            total + self.timeout + self.backoff_before(retry).max(RETRY_AFTER_CAP)
        })
    }
}

impl RemoteArgs {
    /// Whether a remote backend is selected.
    pub fn is_remote(&self) -> bool {
        self.agent_type != AgentType::Showui
    }

    /// The checked settings (None for the local engine), or every problem found.
    pub fn settings(&self) -> Result<Option<RemoteSettings>, Vec<String>> {
        if !self.is_remote() {
            return Ok(None);
        }
        let mut problems = Vec::new();
        let url = match chat_completions_url(&self.base_url) {
            Ok(url) => Some(url),
            Err(problem) => {
                problems.push(format!("--remote-url/OPENROUTER_BASE_URL: {problem}"));
                None
            }
        };
        let openrouter = url
            .as_ref()
            .and_then(|url| url.host_str())
            .is_some_and(|host| host == OPENROUTER_HOST || host.ends_with(".openrouter.ai"));
        let api_key = self
            .api_key
            .as_deref()
            .map(str::trim)
            .filter(|key| !key.is_empty())
            .map(str::to_owned);
        if openrouter && api_key.is_none() {
            problems.push(
                "OPENROUTER_API_KEY/--remote-api-key is required for openrouter.ai (get one at https://openrouter.ai/keys), or point OPENROUTER_BASE_URL at your own server".into(),
            );
        }
        if api_key
            .as_deref()
            .is_some_and(|key| key.chars().any(|c| c.is_control()))
        {
            problems.push("OPENROUTER_API_KEY contains control characters".into());
        }
        let (model, model_variable) = match self.agent_type {
            AgentType::Claude => (self.claude_model.trim(), "CLAUDE_MODEL/--claude-model"),
            _ => (self.model.trim(), "OPENROUTER_MODEL/--remote-model"),
        };
        if model.is_empty() {
            problems.push(format!("{model_variable} is empty"));
        } else if openrouter && !model.contains('/') {
            problems.push(format!(
                "{model_variable} must name the vendor on openrouter.ai, as vendor/model (e.g. qwen/qwen2.5-vl-72b-instruct), not {model:?}"
            ));
        }
        if self.max_tokens == 0 {
            problems.push("OPENROUTER_MAX_TOKENS/--remote-max-tokens must be at least 1".into());
        }
        if !(0.0..=2.0).contains(&self.temperature) {
            problems
                .push("OPENROUTER_TEMPERATURE/--remote-temperature must be between 0 and 2".into());
        }
        if !(0.0..=1.0).contains(&self.top_p) {
            problems.push("OPENROUTER_TOP_P/--remote-top-p must be between 0 and 1".into());
        }
        if self.max_retries > MAX_RETRIES {
            problems.push(format!(
                "OPENROUTER_MAX_RETRIES/--remote-max-retries must be at most {MAX_RETRIES}"
            ));
        }
        if !(self.timeout > 0.0 && self.timeout <= MAX_TIMEOUT_S) {
            problems.push(format!(
                "OPENROUTER_TIMEOUT/--remote-timeout must be a positive number of seconds (at most {MAX_TIMEOUT_S:.0})"
            ));
        }
        if !(0.0..=MAX_BACKOFF_S).contains(&self.backoff) {
            problems.push(format!(
                "NEKO_REMOTE_BACKOFF/--remote-backoff must be between 0 and {MAX_BACKOFF_S:.0} seconds"
            ));
        }
        let reasoning_effort = self
            .reasoning_effort
            .as_deref()
            .map(str::trim)
            .filter(|effort| !effort.is_empty())
            .map(str::to_ascii_lowercase);
        if let Some(effort) = &reasoning_effort
            && !["minimal", "low", "medium", "high"].contains(&effort.as_str())
        {
            problems.push(format!(
                "OPENROUTER_REASONING_EFFORT/--remote-reasoning-effort must be minimal, low, medium or high, not {effort:?}"
            ));
        }
        if !(28..=8192).contains(&self.image_edge) {
            problems.push(
                "NEKO_REMOTE_IMAGE_EDGE/--remote-image-edge must be between 28 and 8192 pixels"
                    .into(),
            );
        }
        let site_url = self
            .site_url
            .as_deref()
            .map(str::trim)
            .filter(|site| !site.is_empty())
            .map(str::to_owned);
        for (value, name) in [
            (site_url.as_deref(), "OPENROUTER_SITE_URL"),
            (Some(self.app_name.as_str()), "OPENROUTER_APP_NAME"),
        ] {
            if value.is_some_and(|v| reqwest::header::HeaderValue::from_str(v).is_err()) {
                problems.push(format!(
                    "{name} cannot be sent as an HTTP header (printable ASCII only)"
                ));
            }
        }
        match url {
            Some(url) if problems.is_empty() => Ok(Some(RemoteSettings {
                url,
                api_key,
                model: model.to_owned(),
                site_url,
                app_name: self.app_name.clone(),
                max_tokens: self.max_tokens,
                temperature: self.temperature,
                top_p: self.top_p,
                reasoning: self.reasoning,
                reasoning_effort,
                max_retries: self.max_retries,
                timeout: Duration::from_secs_f64(self.timeout),
                backoff: Duration::from_secs_f64(self.backoff),
                image_edge: self.image_edge,
                image_format: self.image_format,
            })),
            _ => Err(problems),
        }
    }
}

/// Why a text is not a chat-completions server URL.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ServerUrlError {
    /// The text does not parse as a URL.
    #[error("{text:?} is not a URL ({source}); e.g. http://localhost:11434/v1")]
    NotUrl {
        /// The text given.
        text: String,
        /// Why it does not parse.
        #[source]
        source: url::ParseError,
    },
    /// Another scheme than http(s), or no host.
    #[error("{0:?} must start with http:// or https:// and name a host")]
    NotHttp(String),
    /// A query or fragment, which the requests would drop.
    #[error("{0:?} must not have a query or fragment")]
    QueryOrFragment(String),
}

/// The chat-completions URL for `text`: used as it is when its path ends in
/// `/chat/completions`, else `/chat/completions` is appended to it (so both
/// `http://host:8000/v1` and `http://host:8000/v1/chat/completions` work).
pub fn chat_completions_url(text: &str) -> Result<Url, ServerUrlError> {
    let mut url = Url::parse(text.trim()).map_err(|source| ServerUrlError::NotUrl {
        text: text.to_owned(),
        source,
    })?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none_or(str::is_empty) {
        return Err(ServerUrlError::NotHttp(text.to_owned()));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(ServerUrlError::QueryOrFragment(text.to_owned()));
    }
    let path = url.path().trim_end_matches('/').to_owned();
    if !path.ends_with("/chat/completions") {
        url.set_path(&format!("{path}/chat/completions"));
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        remote: RemoteArgs,
    }

    fn args(flags: &[&str]) -> RemoteArgs {
        let mut all = vec!["x"];
        all.extend_from_slice(flags);
        Cli::try_parse_from(all).unwrap().remote
    }

    #[test]
    fn base_urls_and_full_endpoints_give_the_same_url() {
        for text in [
            "http://127.0.0.1:8000/v1",
            "http://127.0.0.1:8000/v1/",
            "http://127.0.0.1:8000/v1/chat/completions",
        ] {
            assert_eq!(
                chat_completions_url(text).unwrap().as_str(),
                "http://127.0.0.1:8000/v1/chat/completions",
                "{text}"
            );
        }
        assert!(chat_completions_url("ftp://x/v1").is_err());
        assert!(chat_completions_url("localhost:8000").is_err());
        assert!(chat_completions_url("http://x/v1?a=b").is_err());
    }

    #[test]
    fn showui_needs_no_remote_settings() {
        assert_eq!(args(&[]).settings(), Ok(None));
    }

    #[test]
    fn every_remote_problem_is_reported_at_once() {
        let problems = args(&[
            "--agent-type",
            "qwen3vl",
            "--remote-model",
            "qwen-vl",
            "--remote-temperature",
            "3",
            "--remote-top-p",
            "1.5",
            "--remote-max-tokens",
            "0",
            "--remote-timeout",
            "0",
            "--remote-max-retries",
            "99",
            "--remote-reasoning-effort",
            "extreme",
            "--remote-image-edge",
            "10",
        ])
        .settings()
        .unwrap_err();
        for expected in [
            "OPENROUTER_API_KEY",
            "vendor/model",
            "OPENROUTER_TEMPERATURE",
            "OPENROUTER_TOP_P",
            "OPENROUTER_MAX_TOKENS",
            "OPENROUTER_TIMEOUT",
            "OPENROUTER_MAX_RETRIES",
            "OPENROUTER_REASONING_EFFORT",
            "NEKO_REMOTE_IMAGE_EDGE",
        ] {
            assert!(
                problems.iter().any(|p| p.contains(expected)),
                "{expected}: {problems:?}"
            );
        }
    }

    #[test]
    fn a_local_server_needs_no_key_and_takes_any_model_name() {
        let settings = args(&[
            "--agent-type",
            "claude",
            "--remote-url",
            "http://127.0.0.1:11434/v1",
            "--claude-model",
            "llava",
            "--remote-reasoning",
            "0",
        ])
        .settings()
        .unwrap()
        .unwrap();
        assert_eq!(settings.model, "llava");
        assert_eq!(settings.api_key, None);
        assert!(!settings.reasoning);
        assert_eq!(settings.server(), "http://127.0.0.1:11434");
    }

    #[test]
    fn keys_are_redacted_in_debug_output() {
        let args = args(&["--agent-type", "qwen3vl", "--remote-api-key", "sk-secret"]);
        let settings = args.settings().unwrap().unwrap();
        for text in [format!("{args:?}"), format!("{settings:?}")] {
            assert!(
                !text.contains("sk-secret") && text.contains("***"),
                "{text}"
            );
        }
    }

    #[test]
    fn backoff_doubles_up_to_its_cap_and_the_worst_case_bounds_every_wait() {
        let settings = args(&["--agent-type", "qwen3vl", "--remote-url", "http://h/v1"])
            .settings()
            .unwrap()
            .unwrap();
        let waits: Vec<u64> = (1..=5)
            .map(|r| settings.backoff_before(r).as_secs())
            .collect();
        assert_eq!(waits, [2, 4, 8, 10, 10]);
        // 4 attempts of 60 s and 3 waits of at most 60 s (Retry-After's cap).
        assert_eq!(settings.worst_case(), Duration::from_secs(4 * 60 + 3 * 60));
    }
}
