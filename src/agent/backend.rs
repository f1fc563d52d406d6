//! The model the agent asks: the local ShowUI engine or a remote chat-completions endpoint.
//! Both take the same chat and frame and return text for the same parser.

use std::sync::Arc;
use std::time::Duration;

use super::runner::AgentError;
use crate::frame::RgbImage;
use crate::model::{Message, ModelClient, Timings};
use crate::remote::{RemoteError, RemoteTimings, RemoteVlm};

/// Which model answers.
#[derive(Debug, Clone)]
pub enum Backend {
    /// ShowUI-2B on ONNX Runtime, in this process, behind the batching scheduler that every
    /// room of the process shares.
    Local(ModelClient),
    /// A remote model behind an OpenAI-compatible chat-completions endpoint.
    Remote(Arc<RemoteVlm>),
}

/// One model call's answer.
#[derive(Debug, Clone)]
pub struct Reply {
    /// The answer text, for the action parser.
    pub text: String,
    /// The model's reasoning, when the backend returns one (bounded).
    pub reasoning: Option<String>,
    /// Where the time went.
    pub cost: Cost,
}

/// Where a call's time went, per backend.
#[derive(Debug, Clone, Copy)]
pub enum Cost {
    /// The local engine's phases and the tokens it generated.
    Local {
        /// Phase timings.
        timings: Timings,
        /// Tokens generated.
        tokens: usize,
    },
    /// The remote call's preparation, round trip and parsing.
    Remote(RemoteTimings),
}

impl Reply {
    /// The whole call.
    pub fn total(&self) -> Duration {
        match &self.cost {
            Cost::Local { timings, .. } => timings.total,
            Cost::Remote(t) => t.prepare + t.round_trip + t.parse,
        }
    }

    /// The call's timings in words, for the step line.
    pub fn breakdown(&self) -> String {
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        match &self.cost {
            Cost::Local { timings, tokens } => {
                let batch = match timings.batch_rows {
                    0 | 1 => String::new(),
                    rows => format!(", in a batch of {rows} rooms"),
                };
                format!(
                    "preprocess {:.1}, vision {:.1}, prefill {:.1}, {tokens} tokens × {:.2} ms{batch}",
                    ms(timings.preprocess),
                    ms(timings.vision),
                    ms(timings.prefill),
                    ms(timings.decode_step_mean()),
                )
            }
            Cost::Remote(t) => format!(
                "encode and request {:.1}, round trip {:.1}, parse {:.2}, {} attempt(s)",
                ms(t.prepare),
                ms(t.round_trip),
                ms(t.parse),
                t.attempts
            ),
        }
    }
}

impl Backend {
    /// The same model for the steps of `room` (the batching scheduler keeps rooms apart in a
    /// batch and knows how many may be waiting).
    pub fn for_room(&self, room: &str) -> Backend {
        match self {
            Self::Local(client) => Self::Local(client.for_room(room)),
            Self::Remote(remote) => Self::Remote(remote.clone()),
        }
    }

    /// Asks the model about `image` with `messages`; the local engine generates at most
    /// `max_new_tokens` (a remote model's limit is its own setting).
    pub async fn reply(
        &self,
        image: Arc<RgbImage>,
        messages: Arc<Vec<Message>>,
        max_new_tokens: usize,
    ) -> Result<Reply, AgentError> {
        match self {
            Self::Local(model) => {
                let generation = model.generate(image, messages, max_new_tokens).await??;
                Ok(Reply {
                    text: generation.text,
                    reasoning: None,
                    cost: Cost::Local {
                        timings: generation.timings,
                        tokens: generation.tokens,
                    },
                })
            }
            Self::Remote(remote) => {
                let preparing = remote.clone();
                let request = tokio::task::spawn_blocking(move || -> Result<_, AgentError> {
                    Ok(preparing
                        .prepare(&image, &messages)
                        .map_err(RemoteError::from)?)
                })
                .await
                .map_err(AgentError::Worker)??;
                let reply = remote.complete(request).await?;
                Ok(Reply {
                    text: reply.answer.text,
                    reasoning: reply.answer.reasoning,
                    cost: Cost::Remote(reply.timings),
                })
            }
        }
    }

    /// What answers, for the start line: the model folder, or the remote model and endpoint.
    pub fn describe(&self) -> String {
        match self {
            Self::Local(client) => {
                let model = client.model();
                let batching = client.batcher().options();
                format!(
                    "{:?}, {}, up to {} rooms per call",
                    model.dtype(),
                    model.execution_provider(),
                    batching.max_batch
                )
            }
            Self::Remote(remote) => {
                let settings = remote.settings();
                format!("{} at {}", settings.model, settings.url)
            }
        }
    }
}
