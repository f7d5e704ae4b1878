//! The OpenAI-compatible chat model over HTTP, on async-openai's client
//! (see `providers/openai_client.rs` for its transport and retries).

use std::fmt;
use std::time::Duration;

use async_openai::types::chat as oa;
use futures_util::stream::{self, Stream, StreamExt};

pub mod convert;

use self::convert::chunk_events;
use super::http::{HttpSettings, http_builder_methods, open_then};
use super::openai_client::{OpenAiClient, classify};
use crate::message::{ChatRequest, ChatResponse};
use crate::model::{EventStream, Model, ModelError, StreamEvent};
use crate::telemetry::ModelEndpoint;
use crate::telemetry::spans;
use crate::tool::BoxFuture;

/// A chat model served by the OpenAI Chat Completions API, or any server
/// speaking it (the simulator, vLLM, Ollama...), through async-openai.
///
/// - Base URL and key from the builder, else `OPENAI_BASE_URL` (default
///   `https://api.openai.com/v1`) and `OPENAI_API_KEY`.
/// - The model name is the request's [`ChatRequest::model`]; the builder's
///   [`model`](OpenAiModelBuilder::model) is used when that is empty.
/// - 429 and 5xx answers and failed connections are retried with bounded
///   exponential backoff (with jitter) that honours `Retry-After` /
///   `retry-after-ms`; a server asking to wait longer than
///   [`max_retry_after`](OpenAiModelBuilder::max_retry_after) gets no retry,
///   the wait is in the error.
/// - Each attempt has a timeout (for streams: until the response starts,
///   then between chunks). Timeouts are not retried.
/// - The API key is never printed by `Debug` nor logged.
pub struct OpenAiModel {
    inner: OpenAiClient,
}

impl fmt::Debug for OpenAiModel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut debug = f.debug_struct("OpenAiModel");
        self.inner.debug_fields(&mut debug);
        debug.finish()
    }
}

/// Builds an [`OpenAiModel`]; every setting has a default.
#[derive(Clone, Debug, Default)]
pub struct OpenAiModelBuilder {
    settings: HttpSettings,
}

impl OpenAiModelBuilder {
    http_builder_methods!(
        "https://api.openai.com/v1",
        "OPENAI_BASE_URL",
        "OPENAI_API_KEY",
        "gpt-4o-mini"
    );

    /// The model, or [`ModelError::Config`] when there is no API key, the
    /// base URL is not an http(s) URL, or a header value is not valid.
    pub fn build(self) -> Result<OpenAiModel, ModelError> {
        Ok(OpenAiModel {
            inner: OpenAiClient::build(&self.settings)?,
        })
    }
}

impl OpenAiModel {
    /// Start building a model.
    pub fn builder() -> OpenAiModelBuilder {
        OpenAiModelBuilder::default()
    }

    /// A model configured from `OPENAI_BASE_URL` and `OPENAI_API_KEY`, with
    /// the default settings.
    pub fn from_env() -> Result<Self, ModelError> {
        Self::builder().build()
    }

    /// The API's base URL.
    pub fn base_url(&self) -> &str {
        &self.inner.base_url
    }

    /// The model name used when a request leaves its own empty.
    pub fn default_model(&self) -> &str {
        &self.inner.default_model
    }

    /// The underlying async-openai client, for the API calls this type does
    /// not cover. Its requests go through the same transport but are not
    /// retried.
    pub fn client(&self) -> &async_openai::Client<async_openai::config::OpenAIConfig> {
        &self.inner.client
    }

    fn request_body(
        &self,
        request: &ChatRequest,
        stream: bool,
    ) -> Result<oa::CreateChatCompletionRequest, ModelError> {
        let (mut body, checked) = convert::request_body(request);
        checked?;
        if body.model.is_empty() {
            body.model.clone_from(&self.inner.default_model);
        }
        if stream {
            body.stream = Some(true);
            body.stream_options = Some(oa::ChatCompletionStreamOptions {
                include_usage: Some(true),
                include_obfuscation: None,
            });
        }
        Ok(body)
    }
}

impl Model for OpenAiModel {
    fn endpoint(&self) -> ModelEndpoint {
        ModelEndpoint::at("openai", &self.inner.base_url)
    }

    fn complete<'a>(
        &'a self,
        request: &'a ChatRequest,
    ) -> BoxFuture<'a, Result<ChatResponse, ModelError>> {
        Box::pin(async move {
            let body = self.request_body(request, false)?;
            let response = self
                .inner
                .send(|| {
                    let body = body.clone();
                    async move { self.inner.client.chat().create(body).await }
                })
                .await?;
            spans::response_meta(&response.id, &response.model);
            Ok(ChatResponse::try_from(response)?)
        })
    }

    fn stream<'a>(&'a self, request: &'a ChatRequest) -> EventStream<'a> {
        let body = self.request_body(request, true);
        let opened = async move {
            let body = body?;
            self.inner
                .send(|| {
                    let body = body.clone();
                    async move { self.inner.client.chat().create_stream(body).await }
                })
                .await
        };
        let timeout = self.inner.timeout;
        open_then(opened, move |chunks| chunk_stream(chunks, timeout))
    }
}

/// The events of an open stream; a chunk that does not come within `idle`,
/// or any error, ends it with that error. So does an end before any
/// `finish_reason`: a stream cut short (no finish, no `[DONE]`) is not an
/// answer, however much text it had.
fn chunk_stream(
    chunks: oa::ChatCompletionResponseStream,
    idle: Duration,
) -> impl Stream<Item = Result<StreamEvent, ModelError>> + Send {
    stream::unfold(Some((chunks, false)), move |state| async move {
        let (mut chunks, finished) = state?;
        match tokio::time::timeout(idle, chunks.next()).await {
            Err(_) => Some((vec![Err(ModelError::Timeout(idle))], None)),
            Ok(None) if finished => None,
            Ok(None) => Some((
                vec![Err(ModelError::transport_message(
                    "the stream ended before a finish_reason: the reply is incomplete",
                ))],
                None,
            )),
            Ok(Some(Err(error))) => Some((vec![Err(classify(error, idle).error)], None)),
            Ok(Some(Ok(chunk))) => {
                // Every chunk names them: told once, with the finish reason.
                if chunk.choices.iter().any(|c| c.finish_reason.is_some()) {
                    spans::response_meta(&chunk.id, &chunk.model);
                }
                let events = chunk_events(chunk);
                let finished =
                    finished || events.iter().any(|e| matches!(e, StreamEvent::Finish(_)));
                Some((
                    events.into_iter().map(Ok).collect::<Vec<_>>(),
                    Some((chunks, finished)),
                ))
            }
        }
    })
    .flat_map(stream::iter)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configuration_errors() {
        let bad_url = OpenAiModel::builder()
            .base_url("ftp://x")
            .api_key("k")
            .build();
        assert!(matches!(bad_url, Err(ModelError::Config(m)) if m.contains("ftp://x")));
        let bad_key = OpenAiModel::builder()
            .base_url("http://localhost")
            .api_key("sk-\nsecret")
            .build();
        assert!(
            matches!(bad_key, Err(ModelError::Config(ref m)) if !m.contains("secret")),
            "{bad_key:?}"
        );
        let model = OpenAiModel::builder()
            .base_url("http://localhost:1/v1/")
            .api_key("k")
            .build()
            .expect("a model");
        assert_eq!(model.base_url(), "http://localhost:1/v1");
    }
}
