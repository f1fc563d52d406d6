//! Opening a session: a pipeline file whose `nekosrc` (named `src`) carries the session and its
//! media, or a bare signalling client without WebRTC.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use gst::prelude::*;
use gstneko::client::{ClientConfig, ClientNotice, NekoClient};
use gstneko::nekosink::NekoSink;
use gstneko::nekosrc::NekoSrc;
use tokio::sync::broadcast;

use super::control::Controller;
use super::lock;
use crate::connection::{NoSessionElement, SessionSettings, TargetError};
use crate::pipeline_file::{PipelineFile, PipelineFileError, find_pipeline};

/// How long closing a signalling-only session waits for the WebSocket close.
const CLOSE_WAIT: Duration = Duration::from_secs(2);

/// Why the session could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    /// The server URL or credentials are unusable.
    #[error(transparent)]
    Target(#[from] TargetError),
    /// The pipeline file is wrong.
    #[error(transparent)]
    PipelineFile(#[from] PipelineFileError),
    /// The caller's preparation of the pipeline failed.
    #[error("{}: {source}", path.display())]
    Prepare {
        /// The pipeline file.
        path: PathBuf,
        /// What the preparation said.
        #[source]
        source: PrepareError,
    },
    /// The pipeline has no Neko element to carry the session.
    #[error("{}: {source}", path.display())]
    NoSessionElement {
        /// The pipeline file.
        path: PathBuf,
        /// Which elements were looked for.
        #[source]
        source: NoSessionElement,
    },
    /// The session element is of another kind.
    #[error("{}: the Neko element is neither nekosrc nor nekosink", path.display())]
    NotNeko {
        /// The pipeline file.
        path: PathBuf,
    },
    /// The pipeline has no bus to report its errors on.
    #[error("pipeline without a bus")]
    NoBus,
    /// The pipeline did not go to playing.
    #[error("the pipeline {} did not start: {source}", path.display())]
    NotStarted {
        /// The pipeline file.
        path: PathBuf,
        /// What GStreamer said.
        #[source]
        source: gst::StateChangeError,
    },
    /// The Neko element is playing but has no client.
    #[error("the Neko element started without a session")]
    NoClient,
}

/// Why a caller's preparation of a pipeline failed, in its own words.
pub type PrepareError = Box<dyn std::error::Error + Send + Sync>;

/// Why the server or credentials in the session settings were not accepted.
#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    /// The server URL or credentials are unusable.
    #[error(transparent)]
    Target(#[from] TargetError),
    /// The server refused the login or did not answer.
    #[error(transparent)]
    Login(#[from] gstneko::client::RestError),
}

/// Called with the text of a pipeline error (for example a refused login).
pub type ErrorSink = Arc<dyn Fn(String) + Send + Sync>;

/// Offered each pipeline error before the [`ErrorSink`]: the element that posted it and its
/// text; true when a part of the pipeline that can fail on its own (the live view) took it,
/// and the error is not the session's.
pub type ErrorTaker = Arc<dyn Fn(&gst::Object, &str) -> bool + Send + Sync>;

/// An open session.
pub struct Link {
    /// The client that carries events both ways.
    pub client: NekoClient,
    /// Notices from the client, from the moment the link was opened.
    pub notices: broadcast::Receiver<ClientNotice>,
    pipeline: Option<gst::Pipeline>,
    /// Takes errors before the sink, once set.
    taker: Arc<OnceLock<ErrorTaker>>,
}

/// The element of a pipeline that carries its Neko session.
enum SessionOf {
    Source(NekoSrc),
    Sink(NekoSink),
}

impl SessionOf {
    fn of(element: gst::Element) -> Option<Self> {
        match element.downcast::<NekoSrc>() {
            Ok(source) => Some(Self::Source(source)),
            Err(element) => element.downcast::<NekoSink>().ok().map(Self::Sink),
        }
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
    pub fn signalling(session: &SessionSettings) -> Result<Self, LinkError> {
        let target = session.target()?;
        let (client, notices) = NekoClient::start(ClientConfig::new(target));
        Ok(Self {
            client,
            notices,
            pipeline: None,
            taker: Arc::default(),
        })
    }

    /// A session with WebRTC, from a pipeline file with a `nekosrc` named `src` or a `nekosink`
    /// named `sink`, which gets the session settings as properties. Pipeline errors go to
    /// `on_error` as they happen.
    pub fn media(
        pipeline_name: &str,
        session: &SessionSettings,
        variables: &BTreeMap<String, String>,
        on_error: ErrorSink,
    ) -> Result<Self, LinkError> {
        Self::media_prepared(pipeline_name, session, variables, on_error, |_| Ok(()))
    }

    /// Like [`media`](Self::media), with `prepare` run on the pipeline before it starts (to wire
    /// appsrc callbacks, for instance); its error is a pipeline error.
    pub fn media_prepared(
        pipeline_name: &str,
        session: &SessionSettings,
        variables: &BTreeMap<String, String>,
        on_error: ErrorSink,
        prepare: impl FnOnce(&gst::Pipeline) -> Result<(), PrepareError>,
    ) -> Result<Self, LinkError> {
        let path = find_pipeline(pipeline_name);
        let file = PipelineFile::load(&path)?;
        let pipeline = file.instantiate(variables)?;
        prepare(&pipeline).map_err(|source| LinkError::Prepare {
            path: path.clone(),
            source,
        })?;
        let element =
            session
                .apply_to(&pipeline)
                .map_err(|source| LinkError::NoSessionElement {
                    path: path.clone(),
                    source,
                })?;
        let session =
            SessionOf::of(element).ok_or_else(|| LinkError::NotNeko { path: path.clone() })?;
        let taker = Arc::new(OnceLock::new());
        watch_bus(&pipeline, on_error, taker.clone())?;
        if let Err(source) = pipeline.set_state(gst::State::Playing) {
            let _ = pipeline.set_state(gst::State::Null);
            return Err(LinkError::NotStarted { path, source });
        }
        let client = session.client().ok_or(LinkError::NoClient)?;
        let notices = client.subscribe();
        Ok(Self {
            client,
            notices,
            pipeline: Some(pipeline),
            taker,
        })
    }

    /// The media pipeline, when the session has one.
    pub fn pipeline(&self) -> Option<&gst::Pipeline> {
        self.pipeline.as_ref()
    }

    /// From now on every pipeline error is offered to `taker` first; what it takes does not
    /// reach the error sink. Only the first taker is kept.
    pub fn offer_errors_to(&self, taker: ErrorTaker) {
        let _ = self.taker.set(taker);
    }

    /// Closes the session politely.
    pub fn close(self) {
        match self.pipeline {
            Some(pipeline) => {
                let _ = pipeline.set_state(gst::State::Null);
            }
            None => {
                // Waits for the close frame, so an exit right after leaves with a normal closure.
                self.client.stop_and_wait(CLOSE_WAIT);
            }
        }
    }
}

/// Forwards pipeline errors to `on_error` from the thread that posts them, unless the taker
/// (once there is one) takes them.
fn watch_bus(
    pipeline: &gst::Pipeline,
    on_error: ErrorSink,
    taker: Arc<OnceLock<ErrorTaker>>,
) -> Result<(), LinkError> {
    let bus = pipeline.bus().ok_or(LinkError::NoBus)?;
    bus.set_sync_handler(move |_, message| {
        if let gst::MessageView::Error(error) = message.view() {
            let text = error.error().to_string();
            let taken = match (taker.get(), message.src()) {
                (Some(taker), Some(source)) => taker(source, &text),
                _ => false,
            };
            if !taken {
                on_error(text);
            }
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

/// Logs in over REST (and out again) to prove the server and credentials in `session`.
pub async fn check_login(session: &SessionSettings) -> Result<(), LoginError> {
    let target = session.target()?;
    let rest = gstneko::client::RestClient::new(target);
    let login = rest.login().await?;
    if matches!(
        rest.target().credentials,
        gstneko::client::Credentials::Password { .. }
    ) {
        let _ = rest.logout(&login.token).await;
    }
    Ok(())
}
