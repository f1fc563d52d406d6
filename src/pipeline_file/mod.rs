//! Declarative pipeline files: every pipeline the application runs is a
//! gst-launch description in a TOML file that users edit instead of code.
//!
//! ```toml
//! description = "Watch a Neko room: decoded video frames to an appsink"
//!
//! [variables.decoder]
//! description = "auto, nvdec or software"
//! default = "auto"
//! [variables.key]
//! default = ""
//! secret = true          # never printed in logs
//!
//! [pipeline]
//! launch = '''
//! nekosrc name=src decoder=${decoder}
//!   ! videoconvert ! video/x-raw,format=RGB ! appsink name=frames
//! '''
//! appsinks = ["frames"]  # checked after parsing
//! appsrcs = []           # same check for appsrc elements
//! ```
//!
//! The Neko session (server, credentials, ICE) is not a variable: the application sets it as
//! properties of the element named `src` (`nekosrc`) or `sink` (`nekosink`) after parsing
//! ([`SessionSettings::apply_to`](crate::connection::SessionSettings::apply_to)), so secrets
//! never appear in the launch text that GStreamer logs while parsing it.
//!
//! `${name}` inserts a variable's value as one double-quoted gst-launch
//! string (`\` and `"` escaped), so any value is safe; `$${` writes a literal
//! `${`. Since the value is a string, a variable cannot give a number inside
//! caps (`width=${w}` yields a string field).
//!
//! Every error names the file, line and column. Positions inside the launch
//! text are exact when it is written as a literal string (`'''…'''`, the
//! recommended form); in basic strings (`"""…"""`) escapes are followed as
//! well as possible, and a position falls back to the start of the value
//! when they cannot be.

mod build;
mod error;
mod find;
mod format;
mod locate;
mod position;
mod syntax;
mod template;
mod value_map;
mod variables;

use std::collections::BTreeMap;
use std::path::Path;

pub use error::{ErrorKind, PipelineFileError};
pub use find::{PIPELINES_DIR_ENV, find_pipeline};
pub use variables::Variable;

use build::{Required, Role};
use format::RawFile;
use position::{Problem, Source};
use template::{Rendered, Template};
use value_map::ValueMap;
use variables::{Values, Variables};

/// A loaded and checked pipeline file, ready to be instantiated.
#[derive(Debug, Clone)]
pub struct PipelineFile {
    name: String,
    source: Source,
    description: String,
    variables: Variables,
    template: Template,
    launch_map: ValueMap,
    appsinks: Vec<Required>,
    appsrcs: Vec<Required>,
}

impl PipelineFile {
    /// Reads and checks the file at `path`; messages name it as given.
    pub fn load(path: &Path) -> Result<PipelineFile, PipelineFileError> {
        let origin = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|error| {
            PipelineFileError::new(
                &origin,
                (1, 1),
                ErrorKind::Io,
                format!("cannot read the file: {error}"),
            )
        })?;
        PipelineFile::parse(&origin, &text)
    }

    /// Checks the text of a pipeline file; `origin` names the file in
    /// messages and its stem becomes the pipeline's [`name`](Self::name).
    ///
    /// Finds TOML and format errors, bad or undeclared `${…}` references and
    /// gst-launch syntax errors (quotes, links, parentheses). Whether the
    /// elements and properties exist is only known to
    /// [`instantiate`](Self::instantiate).
    pub fn parse(origin: &str, text: &str) -> Result<PipelineFile, PipelineFileError> {
        let source = Source::new(origin, text);
        let raw: RawFile = toml::from_str(text).map_err(|error| {
            let offset = error.span().map_or(0, |span| span.start);
            source.error(offset, ErrorKind::Format, error.message())
        })?;
        let Some(pipeline) = raw.pipeline else {
            return Err(source.error(
                0,
                ErrorKind::Format,
                "missing [pipeline] table with a `launch` key",
            ));
        };
        let pipeline_at = pipeline.span().start;
        let pipeline = pipeline.into_inner();
        let Some(launch) = pipeline.launch else {
            return Err(source.error(
                pipeline_at,
                ErrorKind::Format,
                "missing `launch` in the [pipeline] table",
            ));
        };
        let launch_map = ValueMap::new(text, launch.span(), launch.get_ref());
        let launch_at = launch_map.file_offset(0);
        let variables = Variables::from_raw(raw.variables, launch_at)
            .map_err(|problem| source.error(problem.offset, ErrorKind::Variable, problem.reason))?;
        let in_launch = |problem: Problem, kind| {
            source.error(launch_map.file_offset(problem.offset), kind, problem.reason)
        };
        let template = Template::parse(launch.get_ref())
            .map_err(|problem| in_launch(problem, ErrorKind::Variable))?;
        variables
            .check_references(&template)
            .map_err(|problem| in_launch(problem, ErrorKind::Variable))?;
        // The structure does not depend on the values, which are always
        // inserted as one quoted string: check it once with empty values.
        let rendered = template.render(|_| "");
        syntax::check(rendered.text()).map_err(|problem| {
            let offset = launch_map.file_offset(rendered.template_offset(problem.offset));
            source.error(offset, ErrorKind::Syntax, problem.reason)
        })?;
        let required = |list: Vec<toml::Spanned<String>>| {
            list.into_iter()
                .map(|name| Required {
                    at: name.span().start,
                    name: name.into_inner(),
                })
                .collect()
        };
        let name = Path::new(origin).file_stem().map_or_else(
            || origin.to_owned(),
            |stem| stem.to_string_lossy().into_owned(),
        );
        Ok(PipelineFile {
            name,
            description: raw.description,
            variables,
            template,
            launch_map,
            appsinks: required(pipeline.appsinks),
            appsrcs: required(pipeline.appsrcs),
            source,
        })
    }

    /// The pipeline's name: the file name without directory and extension.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The file name used in messages.
    pub fn origin(&self) -> &str {
        self.source.origin()
    }

    /// The file's `description`, empty when absent.
    pub fn description(&self) -> &str {
        &self.description
    }

    /// The declared variables, sorted by name.
    pub fn variables(&self) -> impl Iterator<Item = &Variable> {
        self.variables.list()
    }

    /// The launch text as written, with its `${…}` references.
    pub fn launch(&self) -> &str {
        self.template.text()
    }

    /// Names of the appsink elements the application needs.
    pub fn appsinks(&self) -> impl Iterator<Item = &str> {
        self.appsinks.iter().map(|entry| entry.name.as_str())
    }

    /// Names of the appsrc elements the application needs.
    pub fn appsrcs(&self) -> impl Iterator<Item = &str> {
        self.appsrcs.iter().map(|entry| entry.name.as_str())
    }

    /// The launch text with `values` substituted, for logs: secret values
    /// are shown as `***` (the pipeline itself gets the real values from
    /// [`instantiate`](Self::instantiate)).
    pub fn launch_with(
        &self,
        values: &BTreeMap<String, String>,
    ) -> Result<String, PipelineFileError> {
        let values = self.resolve(values)?;
        Ok(self
            .template
            .render(|name| values.masked(name))
            .text()
            .to_owned())
    }

    /// Substitutes `values` (declared defaults fill the gaps) and builds the
    /// pipeline, then checks the `appsinks` and `appsrcs` elements.
    ///
    /// The caller registers the plugins the description needs (GStreamer is
    /// initialised here if it is not yet). GStreamer's errors are mapped
    /// back to the offending place in the file, with secrets masked.
    pub fn instantiate(
        &self,
        values: &BTreeMap<String, String>,
    ) -> Result<gst::Pipeline, PipelineFileError> {
        let values = self.resolve(values)?;
        let rendered = self.template.render(|name| values.real(name));
        let pipeline = build::launch(rendered.text()).map_err(|error| {
            let message = error.to_string();
            let offset = locate::locate(
                error.kind(),
                error.missing_elements(),
                &message,
                rendered.text(),
            )
            .unwrap_or(0);
            self.launch_error(
                &rendered,
                Problem::new(offset, message),
                ErrorKind::Launch,
                &values,
            )
        })?;
        for (list, role) in [(&self.appsinks, Role::Sink), (&self.appsrcs, Role::Src)] {
            build::check_required(&pipeline, list, role).map_err(|(entry, reason)| {
                self.source.error(entry.at, ErrorKind::Element, reason)
            })?;
        }
        Ok(pipeline)
    }

    fn resolve<'a>(
        &'a self,
        values: &'a BTreeMap<String, String>,
    ) -> Result<Values<'a>, PipelineFileError> {
        self.variables.resolve(values).map_err(|problem| {
            self.source
                .error(problem.offset, ErrorKind::Variable, problem.reason)
        })
    }

    /// An error at an offset of the rendered launch text.
    fn launch_error(
        &self,
        rendered: &Rendered,
        problem: Problem,
        kind: ErrorKind,
        values: &Values<'_>,
    ) -> PipelineFileError {
        let offset = self
            .launch_map
            .file_offset(rendered.template_offset(problem.offset));
        self.source
            .error(offset, kind, values.mask_secrets(&problem.reason))
    }
}

#[cfg(test)]
mod tests;
