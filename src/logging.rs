//! Logging set-up from `NEKO_LOGLEVEL`, `NEKO_LOG_FORMAT` (text|json) and `NEKO_LOGFILE`.

use std::fs::OpenOptions;
use std::path::PathBuf;
use std::sync::Mutex;

use tracing_subscriber::EnvFilter;

/// Logging settings.
#[derive(Debug, Clone, clap::Args)]
pub struct LogConfig {
    /// Log level or filter (error, warn, info, debug, trace, or a tracing filter).
    #[arg(
        long = "loglevel",
        env = "NEKO_LOGLEVEL",
        default_value = "info",
        global = true
    )]
    pub level: String,
    /// Log format.
    #[arg(long = "log-format", env = "NEKO_LOG_FORMAT", default_value = "text", value_parser = ["text", "json"], global = true)]
    pub format: String,
    /// Append logs to this file instead of standard error.
    #[arg(long = "logfile", env = "NEKO_LOGFILE", global = true)]
    pub file: Option<PathBuf>,
}

/// Errors setting up logging.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    /// The level is not a valid filter.
    #[error("NEKO_LOGLEVEL {0:?} is not a valid level or filter: {1}")]
    Level(String, String),
    /// The log file cannot be opened.
    #[error("cannot open the log file {0}: {1}")]
    File(PathBuf, std::io::Error),
}

/// Libraries that may put a session token or password into a log line at debug or trace (the
/// WebSocket request line, HTTP headers): they log at info at most, whatever the level.
const CAPPED_LIBRARIES: &[&str] = &[
    "tungstenite",
    "tokio_tungstenite",
    "hyper",
    "hyper_util",
    "reqwest",
    "rustls",
    "h2",
    "http",
    "axum",
    "tower",
    "tower_http",
];

/// The filter for `level`, with the libraries in [`CAPPED_LIBRARIES`] capped at info.
fn capped_filter(level: &str) -> Result<EnvFilter, tracing_subscriber::filter::ParseError> {
    let mut filter = EnvFilter::try_new(level)?;
    for library in CAPPED_LIBRARIES {
        filter = filter.add_directive(format!("{library}=info").parse()?);
    }
    Ok(filter)
}

/// Installs the global subscriber.
pub fn init(config: &LogConfig) -> Result<(), LogError> {
    let mut level = config.level.to_lowercase();
    // A bare level also applies to ONNX Runtime's own log, which is very chatty below warn;
    // an explicit filter (`info,ort=info`) is taken as it is.
    if !level.contains('=') && matches!(level.as_str(), "info" | "debug" | "trace") {
        level.push_str(",ort=warn");
    }
    let filter =
        capped_filter(&level).map_err(|e| LogError::Level(config.level.clone(), e.to_string()))?;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false);
    let json = config.format == "json";
    let result = match &config.file {
        Some(path) => {
            let file = OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .map_err(|e| LogError::File(path.clone(), e))?;
            let builder = builder.with_ansi(false).with_writer(Mutex::new(file));
            if json {
                builder.json().try_init()
            } else {
                builder.try_init()
            }
        }
        None => {
            let builder = builder.with_writer(std::io::stderr);
            if json {
                builder.json().try_init()
            } else {
                builder.try_init()
            }
        }
    };
    // A second initialisation (tests) keeps the first subscriber.
    let _ = result;
    Ok(())
}

#[cfg(test)]
mod tests {
    use tracing::Level;
    use tracing_subscriber::layer::SubscriberExt;

    use super::capped_filter;

    #[test]
    fn libraries_stay_at_info_even_when_asked_for_trace() {
        for level in ["trace", "trace,tungstenite=trace,hyper=trace"] {
            let subscriber = tracing_subscriber::registry().with(capped_filter(level).unwrap());
            tracing::subscriber::with_default(subscriber, || {
                assert!(tracing::enabled!(target: "neko_agent", Level::TRACE));
                assert!(tracing::enabled!(target: "tungstenite::handshake", Level::INFO));
                assert!(!tracing::enabled!(target: "tungstenite::handshake", Level::DEBUG));
                assert!(!tracing::enabled!(target: "hyper::proto", Level::TRACE));
            });
        }
    }
}
