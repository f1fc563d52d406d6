//! Hands the substituted launch text to GStreamer and checks the elements
//! the application needs.

use gst::prelude::*;

/// An element the application needs, named in `appsinks` or `appsrcs`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Required {
    /// The element's name in the launch text.
    pub name: String,
    /// File offset of the name in the `appsinks`/`appsrcs` list.
    pub at: usize,
}

/// The kind of element a [`Required`] name must be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Role {
    /// An `appsink`.
    Sink,
    /// An `appsrc`.
    Src,
}

impl Role {
    fn factory(self) -> &'static str {
        match self {
            Role::Sink => "appsink",
            Role::Src => "appsrc",
        }
    }

    fn list(self) -> &'static str {
        match self {
            Role::Sink => "appsinks",
            Role::Src => "appsrcs",
        }
    }

    fn fits(self, element: &gst::Element) -> bool {
        match self {
            Role::Sink => element.is::<gst_app::AppSink>(),
            Role::Src => element.is::<gst_app::AppSrc>(),
        }
    }
}

/// GStreamer could not build a pipeline from a launch description.
#[derive(Debug, thiserror::Error)]
pub(super) enum LaunchError {
    /// GStreamer itself cannot start.
    #[error("cannot initialise GStreamer: {0}")]
    Init(#[source] gst::glib::Error),
    /// The parser refused the description; the message is GStreamer's.
    #[error("{}", .error.message())]
    Parse {
        /// GStreamer's error (its kind is a [`gst::ParseError`]).
        #[source]
        error: gst::glib::Error,
        /// The element factories that do not exist.
        missing: Vec<String>,
    },
    /// The single element described could not be put in a pipeline.
    #[error("cannot wrap the element in a pipeline: {0}")]
    Wrap(#[source] gst::glib::BoolError),
}

impl LaunchError {
    /// The parse error's kind, if the parser failed.
    pub(super) fn kind(&self) -> Option<gst::ParseError> {
        match self {
            LaunchError::Parse { error, .. } => error.kind::<gst::ParseError>(),
            _ => None,
        }
    }

    /// The element factories the parser did not find.
    pub(super) fn missing_elements(&self) -> &[String] {
        match self {
            LaunchError::Parse { missing, .. } => missing,
            _ => &[],
        }
    }
}

/// Builds a pipeline from a gst-launch description. A description that yields a single element
/// or a bin gets wrapped in a new pipeline.
pub(super) fn launch(description: &str) -> Result<gst::Pipeline, LaunchError> {
    gst::init().map_err(LaunchError::Init)?;
    let mut context = gst::ParseContext::new();
    let element = gst::parse::launch_full(
        description,
        Some(&mut context),
        gst::ParseFlags::FATAL_ERRORS,
    )
    .map_err(|error| LaunchError::Parse {
        error,
        missing: context.missing_elements(),
    })?;
    match element.downcast::<gst::Pipeline>() {
        Ok(pipeline) => Ok(pipeline),
        Err(element) => {
            let pipeline = gst::Pipeline::new();
            pipeline.add(&element).map_err(LaunchError::Wrap)?;
            Ok(pipeline)
        }
    }
}

/// Checks that every required name is an element of the right kind; the
/// error carries the offending entry and the reason.
pub(super) fn check_required<'r>(
    pipeline: &gst::Pipeline,
    required: &'r [Required],
    role: Role,
) -> Result<(), (&'r Required, String)> {
    for entry in required {
        let Some(element) = pipeline.by_name(&entry.name) else {
            return Err((
                entry,
                format!(
                    "no element named \"{}\" in the pipeline (listed in {})",
                    entry.name,
                    role.list()
                ),
            ));
        };
        if !role.fits(&element) {
            let actual = element.factory().map_or_else(
                || element.type_().name().to_owned(),
                |f| f.name().to_string(),
            );
            return Err((
                entry,
                format!(
                    "element \"{}\" is a {actual}, not an {} (listed in {})",
                    entry.name,
                    role.factory(),
                    role.list()
                ),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn required(names: &[&str]) -> Vec<Required> {
        names
            .iter()
            .enumerate()
            .map(|(at, name)| Required {
                name: (*name).to_owned(),
                at,
            })
            .collect()
    }

    #[test]
    fn single_elements_and_bins_are_wrapped_in_a_pipeline() {
        let pipeline = launch("appsink name=only").unwrap();
        assert!(pipeline.by_name("only").is_some());
        let pipeline = launch("( fakesink name=inner )").unwrap();
        assert!(pipeline.by_name("inner").is_some());
    }

    #[test]
    fn gstreamer_messages_are_passed_on() {
        let error = launch("videotestsrc ! nosuchelement").unwrap_err();
        assert_eq!(error.to_string(), "no element \"nosuchelement\"");
        assert_eq!(error.kind(), Some(gst::ParseError::NoSuchElement));
        assert_eq!(error.missing_elements(), ["nosuchelement"]);
    }

    #[test]
    fn required_elements_must_exist_with_the_right_type() {
        let pipeline =
            launch("appsrc name=in ! fakesink name=fake  videotestsrc ! appsink name=out").unwrap();
        assert!(check_required(&pipeline, &required(&["out"]), Role::Sink).is_ok());
        assert!(check_required(&pipeline, &required(&["in"]), Role::Src).is_ok());
        let list = required(&["out", "fake"]);
        let (entry, reason) = check_required(&pipeline, &list, Role::Sink).unwrap_err();
        assert_eq!(entry.at, 1);
        assert_eq!(
            reason,
            "element \"fake\" is a fakesink, not an appsink (listed in appsinks)"
        );
        let list = required(&["nope"]);
        let (_, reason) = check_required(&pipeline, &list, Role::Src).unwrap_err();
        assert!(reason.starts_with("no element named \"nope\""), "{reason}");
    }
}
