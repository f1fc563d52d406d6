//! Opening a session: a pipeline file whose `nekosrc` (named `src`) carries the session and its
//! media, or a bare signalling client without WebRTC.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use gst::prelude::*;
use gstneko::client::{ClientConfig, ClientNotice, NekoClient, Target};
use gstneko::nekosink::NekoSink;
use gstneko::nekosrc::NekoSrc;
use tokio::sync::broadcast;

use super::control::Controller;
use super::lock;
use crate::pipeline_file::{PipelineFile, PipelineFileError, find_pipeline};

/// Why the session could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    /// The server URL or credentials are unusable.
    #[error("{0}")]
    Target(String),
    /// The pipeline file is wrong.
    #[error(transparent)]
    PipelineFile(#[from] PipelineFileError),
    /// The pipeline could not start or lacks its `nekosrc`.
    #[error("{0}")]
    Pipeline(String),
}

/// Called with the text of a pipeline error (for example a refused login).
pub type ErrorSink = Arc<dyn Fn(String) + Send + Sync>;

/// An open session.
pub struct Link {
    /// The client that carries events both ways.
    pub client: NekoClient,
    /// Notices from the client, from the moment the link was opened.
    pub notices: broadcast::Receiver<ClientNotice>,
    pipeline: Option<gst::Pipeline>,
}

/// The server and credentials in pipeline variables (`url`, `username`, `password`).
pub fn target(variables: &BTreeMap<String, String>) -> Result<Target, LinkError> {
    let get = |name: &str| {
        variables
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    };
    Target::new(
        get("url").unwrap_or_default(),
        get("username"),
        get("password"),
        None,
    )
    .map_err(|e| LinkError::Target(e.to_string()))
}

/// The element of a pipeline that carries its Neko session.
enum SessionOf {
    Source(NekoSrc),
    Sink(NekoSink),
}

impl SessionOf {
    fn find(pipeline: &gst::Pipeline) -> Option<Self> {
        let by_name = |name| pipeline.by_name(name);
        by_name("src")
            .and_then(|e| e.downcast::<NekoSrc>().ok())
            .map(Self::Source)
            .or_else(|| {
                by_name("sink")
                    .and_then(|e| e.downcast::<NekoSink>().ok())
                    .map(Self::Sink)
            })
    }

    fn client(&self) -> Option<NekoClient> {
        match self {
            Self::Source(source) => source.client(),
            Self::Sink(sink) => sink.client(),
        }
    }
}

impl Link {
    /// A bare signalling session (`--no-media`).
    pub fn signalling(variables: &BTreeMap<String, String>) -> Result<Self, LinkError> {
        let target = target(variables)?;
        let (client, notices) = NekoClient::start(ClientConfig::new(target));
        Ok(Self {
            client,
            notices,
            pipeline: None,
        })
    }

    /// A session with WebRTC, from a pipeline file with a `nekosrc` named `src` or a `nekosink`
    /// named `sink`. Pipeline errors go to `on_error` as they happen.
    pub fn media(
        pipeline_name: &str,
        variables: &BTreeMap<String, String>,
        on_error: ErrorSink,
    ) -> Result<Self, LinkError> {
        Self::media_prepared(pipeline_name, variables, on_error, |_| Ok(()))
    }

    /// Like [`media`](Self::media), with `prepare` run on the pipeline before it starts (to wire
    /// appsrc callbacks, for instance); its error is a pipeline error.
    pub fn media_prepared(
        pipeline_name: &str,
        variables: &BTreeMap<String, String>,
        on_error: ErrorSink,
        prepare: impl FnOnce(&gst::Pipeline) -> Result<(), String>,
    ) -> Result<Self, LinkError> {
        let path = find_pipeline(pipeline_name);
        let file = PipelineFile::load(&path)?;
        let pipeline = file.instantiate(variables)?;
        prepare(&pipeline)
            .map_err(|reason| LinkError::Pipeline(format!("{}: {reason}", path.display())))?;
        let session = SessionOf::find(&pipeline).ok_or_else(|| {
            LinkError::Pipeline(format!(
                "{}: no nekosrc element named \"src\" and no nekosink named \"sink\"",
                path.display()
            ))
        })?;
        watch_bus(&pipeline, on_error)?;
        if let Err(error) = pipeline.set_state(gst::State::Playing) {
            let _ = pipeline.set_state(gst::State::Null);
            return Err(LinkError::Pipeline(format!(
                "the pipeline {} did not start: {error}",
                path.display()
            )));
        }
        let client = session.client().ok_or_else(|| {
            LinkError::Pipeline("the Neko element started without a session".into())
        })?;
        let notices = client.subscribe();
        Ok(Self {
            client,
            notices,
            pipeline: Some(pipeline),
        })
    }

    /// The media pipeline, when the session has one.
    pub fn pipeline(&self) -> Option<&gst::Pipeline> {
        self.pipeline.as_ref()
    }

    /// Closes the session politely.
    pub fn close(self) {
        match self.pipeline {
            Some(pipeline) => {
                let _ = pipeline.set_state(gst::State::Null);
            }
            None => self.client.stop(),
        }
    }
}

/// Forwards pipeline errors to `on_error` from GStreamer's bus thread.
fn watch_bus(pipeline: &gst::Pipeline, on_error: ErrorSink) -> Result<(), LinkError> {
    let bus = pipeline
        .bus()
        .ok_or_else(|| LinkError::Pipeline("pipeline without a bus".into()))?;
    bus.set_sync_handler(move |_, message| {
        if let gst::MessageView::Error(error) = message.view() {
            on_error(error.error().to_string());
        }
        gst::BusSyncReply::Drop
    });
    Ok(())
}

/// Pipeline errors, kept until the controller exists and then handed to it.
#[derive(Default, Clone)]
pub struct Failures(Arc<Mutex<(Option<Controller>, Vec<String>)>>);

impl Failures {
    /// Hands `message` to the controller, or keeps it until one is attached.
    pub fn report(&self, message: String) {
        let mut inner = lock(&self.0);
        match &inner.0 {
            Some(controller) => controller.fail(message),
            None => inner.1.push(message),
        }
    }

    /// From now on failures go to `controller`; kept ones are handed over at once.
    pub fn attach(&self, controller: &Controller) {
        let mut inner = lock(&self.0);
        for message in inner.1.drain(..) {
            controller.fail(message);
        }
        inner.0 = Some(controller.clone());
    }
}

/// Logs in over REST (and out again) to prove the server and credentials in `variables`.
pub async fn check_login(variables: &BTreeMap<String, String>) -> Result<(), String> {
    let target = target(variables).map_err(|e| e.to_string())?;
    let rest = gstneko::client::RestClient::new(target);
    let login = rest.login().await.map_err(|e| e.to_string())?;
    if matches!(
        rest.target().credentials,
        gstneko::client::Credentials::Password { .. }
    ) {
        let _ = rest.logout(&login.token).await;
    }
    Ok(())
}
