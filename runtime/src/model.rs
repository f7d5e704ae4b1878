//! The model trait: the agent loop runs the same against the real API and the simulator.

use std::sync::Arc;
use std::time::Duration;

use futures_util::stream::{self, Stream, StreamExt};

use crate::message::{ChatRequest, ChatResponse, FinishReason, Usage};
use crate::telemetry::ModelEndpoint;
use crate::tool::BoxFuture;

/// A fragment of a streamed tool call, as the Chat Completions API sends it:
/// the first fragment of a call carries its `id` and `name`, later ones only
/// more `arguments` text, split anywhere.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ToolCallDelta {
    /// Which call of the message this fragment belongs to.
    pub index: u32,
    /// The call id, on the call's first fragment.
    pub id: Option<String>,
    /// The tool name, on the call's first fragment.
    pub name: Option<String>,
    /// More argument text.
    pub arguments: Option<String>,
}

/// One event of a streamed reply.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum StreamEvent {
    /// More text of the answer.
    Text(String),
    /// A fragment of a tool call.
    ToolCall(ToolCallDelta),
    /// The format says the arguments of the call at this index are complete
    /// (Anthropic `content_block_stop`, Responses
    /// `function_call_arguments.done`): it may start now.
    ToolCallDone(u32),
    /// Why the model stopped.
    Finish(FinishReason),
    /// Token counts (with `stream_options.include_usage`).
    Usage(Usage),
}

/// A streamed reply.
pub type EventStream<'a> =
    std::pin::Pin<Box<dyn Stream<Item = Result<StreamEvent, ModelError>> + Send + 'a>>;

/// The events that stream a whole reply at once: what [`Model::stream`]
/// yields for models that do not stream.
pub fn response_events(response: ChatResponse) -> Vec<StreamEvent> {
    let mut events = Vec::new();
    if let Some(text) = response.content {
        events.push(StreamEvent::Text(text));
    }
    for (index, call) in response.tool_calls.into_iter().enumerate() {
        events.push(StreamEvent::ToolCall(ToolCallDelta {
            index: index as u32,
            id: Some(call.id.to_string()),
            name: Some(call.name.to_string()),
            arguments: Some(call.arguments),
        }));
    }
    if let Some(reason) = response.finish_reason {
        events.push(StreamEvent::Finish(reason));
    }
    if let Some(usage) = response.usage {
        events.push(StreamEvent::Usage(usage));
    }
    events
}

/// Why a model request failed.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum ModelError {
    /// The API answered with an error status.
    Api {
        /// The HTTP status.
        status: u16,
        /// The API's message.
        message: String,
        /// The API's error code or type, when it gives one.
        code: Option<String>,
    },
    /// Too many requests, after the retries ran out.
    RateLimited {
        /// How long the API asked to wait.
        retry_after: Option<Duration>,
        /// The API's message.
        message: String,
    },
    /// The request did not get an answer within its timeout.
    Timeout(Duration),
    /// The connection failed, or broke in the middle of a reply.
    Transport {
        /// What failed, with its causes.
        message: String,
        /// The underlying error, when there is one.
        source: Option<Arc<dyn std::error::Error + Send + Sync>>,
    },
    /// The reply could not be understood.
    InvalidResponse(String),
    /// A configuration problem (no API key, a bad base URL).
    Config(String),
    /// The request asks for a setting, a feature or a content part this
    /// provider does not have: refused before sending, never dropped silently.
    Unsupported {
        /// The setting as [`Settings`](crate::Settings) names it, or the
        /// content part as [`ContentPart::kind`](crate::ContentPart::kind)
        /// names it (`tool_result.image_url` for one in a tool result).
        setting: &'static str,
        /// The provider (wire format).
        provider: &'static str,
    },
}

impl ModelError {
    /// A connection failure caused by `error`, which [`source`](std::error::Error::source) returns.
    pub fn transport(error: impl std::error::Error + Send + Sync + 'static) -> Self {
        ModelError::Transport {
            message: error_chain(&error),
            source: Some(Arc::new(error)),
        }
    }

    /// A connection failure described by `message` alone.
    pub fn transport_message(message: impl Into<String>) -> Self {
        ModelError::Transport {
            message: message.into(),
            source: None,
        }
    }

    /// The HTTP status of an API error (429 for [`ModelError::RateLimited`]).
    pub fn status(&self) -> Option<u16> {
        match self {
            ModelError::Api { status, .. } => Some(*status),
            ModelError::RateLimited { .. } => Some(429),
            _ => None,
        }
    }

    /// Whether the same request may succeed later: rate limits, overload,
    /// server errors, timeouts and broken connections. The clients already
    /// retried these within their limits; this is for the program above them.
    pub fn is_retryable(&self) -> bool {
        match self {
            ModelError::Api { status, .. } => matches!(status, 408 | 409 | 500..=599),
            ModelError::RateLimited { .. } | ModelError::Timeout(_) => true,
            ModelError::Transport { .. } => true,
            ModelError::InvalidResponse(_)
            | ModelError::Config(_)
            | ModelError::Unsupported { .. } => false,
        }
    }
}

/// Equal when the kind and the texts are; a transport error's cause is not compared.
impl PartialEq for ModelError {
    fn eq(&self, other: &Self) -> bool {
        use ModelError as E;
        match (self, other) {
            (
                E::Api {
                    status: a,
                    message: am,
                    code: ac,
                },
                E::Api {
                    status: b,
                    message: bm,
                    code: bc,
                },
            ) => a == b && am == bm && ac == bc,
            (
                E::RateLimited {
                    retry_after: a,
                    message: am,
                },
                E::RateLimited {
                    retry_after: b,
                    message: bm,
                },
            ) => a == b && am == bm,
            (E::Timeout(a), E::Timeout(b)) => a == b,
            (E::Transport { message: a, .. }, E::Transport { message: b, .. }) => a == b,
            (E::InvalidResponse(a), E::InvalidResponse(b)) | (E::Config(a), E::Config(b)) => a == b,
            (
                E::Unsupported {
                    setting: a,
                    provider: ap,
                },
                E::Unsupported {
                    setting: b,
                    provider: bp,
                },
            ) => a == b && ap == bp,
            _ => false,
        }
    }
}

impl Eq for ModelError {}

impl std::fmt::Display for ModelError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ModelError::Api {
                status,
                message,
                code: Some(code),
            } => {
                write!(f, "the API answered {status} ({code}): {message}")
            }
            ModelError::Api {
                status,
                message,
                code: None,
            } => {
                write!(f, "the API answered {status}: {message}")
            }
            ModelError::RateLimited {
                retry_after: Some(wait),
                message,
            } => {
                write!(f, "rate limited (retry after {wait:?}): {message}")
            }
            ModelError::RateLimited {
                retry_after: None,
                message,
            } => write!(f, "rate limited: {message}"),
            ModelError::Timeout(limit) => write!(f, "the model did not answer within {limit:?}"),
            ModelError::Transport { message, .. } => write!(f, "connection failed: {message}"),
            ModelError::InvalidResponse(msg) => {
                write!(f, "the model's reply could not be read: {msg}")
            }
            ModelError::Config(msg) => write!(f, "model configuration: {msg}"),
            ModelError::Unsupported { setting, provider } => {
                write!(f, "{provider} does not support `{setting}`")
            }
        }
    }
}

impl std::error::Error for ModelError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ModelError::Transport {
                source: Some(source),
                ..
            } => Some(&**source),
            _ => None,
        }
    }
}

/// An error and its causes on one line, each cause once.
pub(crate) fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// A chat model: one request in, one reply out. The agent loop runs the
/// same against any implementation: the HTTP clients of each wire format,
/// the simulator, or a test double like this one.
///
/// ```
/// use toolcall_runtime::{BoxFuture, ChatRequest, ChatResponse, Model, ModelError};
///
/// /// Answers every request with the last user message, shouted.
/// struct Echo;
///
/// impl Model for Echo {
///     fn complete<'a>(
///         &'a self,
///         request: &'a ChatRequest,
///     ) -> BoxFuture<'a, Result<ChatResponse, ModelError>> {
///         let last = request.messages.iter().rev().find_map(|m| match m {
///             toolcall_runtime::Message::User { content, .. } => Some(content.to_text().to_uppercase()),
///             _ => None,
///         });
///         Box::pin(async move { Ok(ChatResponse::text(last.unwrap_or_default())) })
///     }
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let request = ChatRequest::new("any", vec![toolcall_runtime::Message::user("hi")]);
/// let reply = Echo.complete(&request).await.expect("a reply");
/// assert_eq!(reply.content.as_deref(), Some("HI"));
/// # }
/// ```
pub trait Model: Send + Sync {
    /// Answer one request.
    fn complete<'a>(
        &'a self,
        request: &'a ChatRequest,
    ) -> BoxFuture<'a, Result<ChatResponse, ModelError>>;

    /// Answer one request as a stream of events. The default streams the
    /// whole reply of [`Model::complete`] at once.
    fn stream<'a>(&'a self, request: &'a ChatRequest) -> EventStream<'a> {
        Box::pin(
            stream::once(self.complete(request)).flat_map(|reply| match reply {
                Ok(response) => {
                    stream::iter(response_events(response).into_iter().map(Ok)).left_stream()
                }
                Err(error) => stream::iter([Err(error)]).right_stream(),
            }),
        )
    }

    /// Who answers the requests, for the GenAI spans and metrics
    /// (`gen_ai.provider.name`, `server.address`, `server.port`). The
    /// default names no provider (`_OTHER`) and no server.
    fn endpoint(&self) -> ModelEndpoint {
        ModelEndpoint::default()
    }
}

/// Models behind a pointer are models.
macro_rules! forward_model {
    ($($pointer:ty),*) => {$(
        impl<M: Model + ?Sized> Model for $pointer {
            fn complete<'a>(
                &'a self,
                request: &'a ChatRequest,
            ) -> BoxFuture<'a, Result<ChatResponse, ModelError>> {
                (**self).complete(request)
            }
            fn stream<'a>(&'a self, request: &'a ChatRequest) -> EventStream<'a> {
                (**self).stream(request)
            }
            fn endpoint(&self) -> ModelEndpoint {
                (**self).endpoint()
            }
        }
    )*};
}

forward_model!(Arc<M>, Box<M>, &M);
