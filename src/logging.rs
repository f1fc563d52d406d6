//! Logging set-up from `NEKO_LOGLEVEL`, `NEKO_LOG_FORMAT` (text|json) and `NEKO_LOGFILE`.

use std::fs::OpenOptions;
use std::path::PathBuf;
use std::sync::{Mutex, Once};

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
    /// GStreamer could not be initialised to forward the elements' log.
    #[error("cannot initialise GStreamer: {0}")]
    GStreamer(#[source] gst::glib::Error),
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
    forward_element_logs().map_err(LogError::GStreamer)
}

/// The GStreamer debug categories of the Neko elements (`nekosrc`, `nekosink`, `nekoclient`,
/// `nekowebrtc`), as a `GST_DEBUG` pattern.
const ELEMENT_CATEGORIES: &str = "neko*";

/// The `tracing` target of the forwarded messages, so filters such as `gstneko=debug` apply.
const ELEMENT_TARGET: &str = "gstneko";

/// Forwards what the Neko elements log on their GStreamer debug categories to `tracing`, at the
/// matching level, so it appears in the application's log. Call it after installing the
/// subscriber: the categories log from the subscriber's most verbose level on. When `GST_DEBUG`
/// is set, GStreamer's own thresholds and its printing to standard error stay as it says, and
/// the messages that pass them are forwarded too. Only the first call installs the forwarding.
pub fn forward_element_logs() -> Result<(), gst::glib::Error> {
    static FORWARDING: Once = Once::new();
    gst::init()?;
    FORWARDING.call_once(install_forwarding);
    Ok(())
}

fn install_forwarding() {
    if std::env::var_os("GST_DEBUG").is_none() {
        // GStreamer prints nothing by default; without this, its handler would print the
        // categories' messages a second time.
        gst::log::remove_default_log_function();
        gst::log::set_threshold_for_name(ELEMENT_CATEGORIES, gst_threshold());
    }
    gst::log::add_log_function(
        |category, level, _file, _function, _line, object, message| {
            if !category.name().starts_with("neko") {
                return;
            }
            let Some(text) = message.get() else {
                return;
            };
            let category = category.name();
            let object = object.map(|o| o.to_string()).unwrap_or_default();
            match level {
                gst::DebugLevel::Error => {
                    tracing::error!(target: ELEMENT_TARGET, category, object, "{text}")
                }
                gst::DebugLevel::Warning | gst::DebugLevel::Fixme => {
                    tracing::warn!(target: ELEMENT_TARGET, category, object, "{text}")
                }
                gst::DebugLevel::Info => {
                    tracing::info!(target: ELEMENT_TARGET, category, object, "{text}")
                }
                gst::DebugLevel::Debug => {
                    tracing::debug!(target: ELEMENT_TARGET, category, object, "{text}")
                }
                _ => tracing::trace!(target: ELEMENT_TARGET, category, object, "{text}"),
            }
        },
    );
}

/// The GStreamer threshold matching the subscriber's most verbose level.
fn gst_threshold() -> gst::DebugLevel {
    match tracing::level_filters::LevelFilter::current().into_level() {
        None => gst::DebugLevel::None,
        Some(tracing::Level::ERROR) => gst::DebugLevel::Error,
        Some(tracing::Level::WARN) => gst::DebugLevel::Warning,
        Some(tracing::Level::INFO) => gst::DebugLevel::Info,
        Some(tracing::Level::DEBUG) => gst::DebugLevel::Debug,
        Some(tracing::Level::TRACE) => gst::DebugLevel::Trace,
    }
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
