//! The TOML layout of a pipeline file, as serde reads it.
//!
//! Unknown keys are rejected everywhere so that a misspelt key is an error
//! rather than a silently ignored setting. Values whose position matters for
//! later messages are kept with their byte span in the file.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

/// The whole file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawFile {
    /// One line saying what the pipeline is for.
    #[serde(default)]
    pub description: String,
    /// `[variables.<name>]` tables.
    pub variables: Option<Spanned<BTreeMap<String, Spanned<RawVariable>>>>,
    /// The `[pipeline]` table.
    pub pipeline: Option<Spanned<RawPipeline>>,
}

/// One `[variables.<name>]` table.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawVariable {
    /// What the value means.
    #[serde(default)]
    pub description: String,
    /// Whether a value must be given when instantiating.
    #[serde(default)]
    pub required: bool,
    /// Value used when none is given.
    pub default: Option<String>,
    /// Whether the value must be kept out of logs.
    #[serde(default)]
    pub secret: bool,
}

/// The `[pipeline]` table.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPipeline {
    /// gst-launch description with `${name}` references.
    pub launch: Option<Spanned<String>>,
    /// Names of appsink elements the application needs.
    #[serde(default)]
    pub appsinks: Vec<Spanned<String>>,
    /// Names of appsrc elements the application needs.
    #[serde(default)]
    pub appsrcs: Vec<Spanned<String>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_documented_layout() {
        let text = "description = \"d\"\n[variables.url]\nrequired = true\n\
                    [pipeline]\nlaunch = 'fakesink'\nappsinks = [\"a\"]\n";
        let file: RawFile = toml::from_str(text).unwrap();
        assert_eq!(file.description, "d");
        let variables = file.variables.unwrap();
        let url = &variables.get_ref()["url"];
        assert!(url.get_ref().required);
        assert_eq!(&text[url.span()], "[variables.url]");
        let pipeline = file.pipeline.unwrap().into_inner();
        assert_eq!(pipeline.launch.unwrap().into_inner(), "fakesink");
        assert_eq!(pipeline.appsinks[0].get_ref(), "a");
        assert!(pipeline.appsrcs.is_empty());
    }

    #[test]
    fn rejects_unknown_keys() {
        assert!(toml::from_str::<RawFile>("lanch = 'x'").is_err());
        assert!(toml::from_str::<RawFile>("[pipeline]\nlaunch = 'x'\nsinks = []").is_err());
        assert!(toml::from_str::<RawFile>("[variables.a]\nrequire = true").is_err());
    }
}
