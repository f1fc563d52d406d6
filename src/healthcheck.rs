//! `neko-agent healthcheck`: asks a running subcommand's `/readyz` (or any probe URL) and turns
//! the answer into an exit status, for container healthchecks that have no HTTP client.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The most of the answer that is read: the status line is all that matters.
const MAX_RESPONSE_BYTES: u64 = 4096;

/// `neko-agent healthcheck`.
#[derive(Debug, Clone, clap::Args)]
pub struct HealthcheckArgs {
    /// Probe URL (plain http). Default: `/readyz` on 127.0.0.1 at $NEKO_METRICS_PORT, else 9000.
    #[arg(long)]
    pub url: Option<String>,
    /// Seconds to wait for the answer.
    #[arg(long, default_value_t = 3.0)]
    pub timeout: f64,
}

/// Why the probe failed.
#[derive(Debug, thiserror::Error)]
pub enum HealthcheckError {
    /// The URL is not an `http://host:port/path` URL.
    #[error("{url:?} is not a plain http URL (http://host:port/path): {reason}")]
    BadUrl {
        /// The URL given.
        url: String,
        /// What is wrong with it.
        #[source]
        reason: UrlProblem,
    },
    /// Nothing answered in time, or the connection failed.
    #[error("no answer from {url}: {reason}")]
    Unreachable {
        /// The probe URL.
        url: String,
        /// The failure.
        #[source]
        reason: NoAnswer,
    },
    /// The probe answered, but not 200.
    #[error("{url} answered {status_line:?}")]
    NotReady {
        /// The probe URL.
        url: String,
        /// The HTTP status line.
        status_line: String,
    },
}

/// What is wrong with a probe URL.
#[derive(Debug, thiserror::Error)]
pub enum UrlProblem {
    /// It does not parse.
    #[error("{0}")]
    Parse(#[source] url::ParseError),
    /// Another scheme than http.
    #[error("only http is supported")]
    NotHttp,
    /// No host.
    #[error("no host")]
    NoHost,
    /// No port, and none known for the scheme.
    #[error("no port")]
    NoPort,
}

/// Why the probe got no answer.
#[derive(Debug, thiserror::Error)]
pub enum NoAnswer {
    /// Nothing within the timeout.
    #[error("nothing within {0:?}")]
    Timeout(Duration),
    /// The connection or the exchange failed.
    #[error("{0}")]
    Io(#[source] std::io::Error),
}

/// `neko-agent healthcheck`: probes the URL the arguments name once; what answered (URL and
/// status line) when it is healthy.
pub async fn run(args: &HealthcheckArgs) -> Result<String, HealthcheckError> {
    let url = probe_url(args);
    let timeout = Duration::from_secs_f64(args.timeout.clamp(0.1, 60.0));
    let status = probe(&url, timeout).await?;
    Ok(format!("{url} answered {status:?}"))
}

/// The probe URL: `--url`, else `/readyz` on the local metrics port.
pub fn probe_url(args: &HealthcheckArgs) -> String {
    args.url.clone().unwrap_or_else(|| {
        let port = std::env::var("NEKO_METRICS_PORT")
            .ok()
            .and_then(|value| value.trim().parse::<u16>().ok())
            .unwrap_or(9000);
        format!("http://127.0.0.1:{port}/readyz")
    })
}

/// Asks `url`; Ok with the status line when it answered 200.
pub async fn probe(url: &str, timeout: Duration) -> Result<String, HealthcheckError> {
    let bad = |reason: UrlProblem| HealthcheckError::BadUrl {
        url: url.to_owned(),
        reason,
    };
    let parsed = url::Url::parse(url).map_err(|error| bad(UrlProblem::Parse(error)))?;
    if parsed.scheme() != "http" {
        return Err(bad(UrlProblem::NotHttp));
    }
    let host = parsed
        .host_str()
        .ok_or_else(|| bad(UrlProblem::NoHost))?
        .to_owned();
    let port = parsed
        .port_or_known_default()
        .ok_or_else(|| bad(UrlProblem::NoPort))?;
    let unreachable = |reason: NoAnswer| HealthcheckError::Unreachable {
        url: url.to_owned(),
        reason,
    };
    let exchange = async {
        let mut stream = TcpStream::connect((host.as_str(), port)).await?;
        let request = format!(
            "GET {} HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\n\r\n",
            parsed.path()
        );
        stream.write_all(request.as_bytes()).await?;
        let mut response = Vec::new();
        stream
            .take(MAX_RESPONSE_BYTES)
            .read_to_end(&mut response)
            .await?;
        Ok::<_, std::io::Error>(response)
    };
    let response = tokio::time::timeout(timeout, exchange)
        .await
        .map_err(|_| unreachable(NoAnswer::Timeout(timeout)))?
        .map_err(|error| unreachable(NoAnswer::Io(error)))?;
    let text = String::from_utf8_lossy(&response);
    let status_line = text.lines().next().unwrap_or_default().trim().to_owned();
    let status = status_line.split_whitespace().nth(1);
    if status == Some("200") {
        Ok(status_line)
    } else {
        Err(HealthcheckError::NotReady {
            url: url.to_owned(),
            status_line,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics_server::{Readiness, serve};

    #[tokio::test]
    async fn healthz_passes_and_readyz_fails_until_a_session_is_connected() {
        let bound = serve("127.0.0.1:0".parse().unwrap(), None, Readiness::default())
            .await
            .unwrap();
        let wait = Duration::from_secs(3);
        let live = probe(&format!("http://{bound}/healthz"), wait)
            .await
            .unwrap();
        assert!(live.contains("200"), "{live}");
        let error = probe(&format!("http://{bound}/readyz"), wait)
            .await
            .unwrap_err();
        assert!(error.to_string().contains("503"), "{error}");
        let missing = probe(&format!("http://{bound}/metrics"), wait)
            .await
            .unwrap_err();
        assert!(missing.to_string().contains("404"), "{missing}");
    }

    #[tokio::test]
    async fn nothing_listening_and_bad_urls_are_clear_errors() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let error = probe(
            &format!("http://127.0.0.1:{port}/readyz"),
            Duration::from_secs(2),
        )
        .await
        .unwrap_err();
        assert!(error.to_string().starts_with("no answer from"), "{error}");
        let error = probe("https://127.0.0.1/readyz", Duration::from_secs(1))
            .await
            .unwrap_err();
        assert!(error.to_string().contains("only http"), "{error}");
    }

    #[test]
    fn the_default_url_is_readyz_on_the_metrics_port() {
        let args = HealthcheckArgs {
            url: None,
            timeout: 1.0,
        };
        assert!(probe_url(&args).ends_with("/readyz"));
    }
}
