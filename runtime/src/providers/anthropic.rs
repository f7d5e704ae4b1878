//! The Anthropic Messages API as a [`Model`].
//!
//! There is no official Rust SDK. The third-party crates each bring their
//! own HTTP stack and types that trail the API; what a tool-calling agent
//! needs of the API is a request body, a reply and eight stream events. So
//! this is a small typed client over the reqwest client and the bounded
//! retries every provider here shares (`providers/http.rs`), with the wire
//! shapes in `anthropic/wire.rs`, checked against the simulator, which the
//! official Python SDK checks in turn.

use std::fmt;
use std::time::Duration;

use eventsource_stream::Eventsource;
use futures_util::stream::{self, Stream, StreamExt};
use reqwest::header::{CONTENT_TYPE, HeaderValue};

mod wire;

use self::wire::{StreamDecoder, WireError, WireMessage};
use super::http::{
    Failure, HttpFailure, HttpSettings, Provider, RetryPolicy, excerpt, http_builder_methods,
    open_then, with_retries,
};
use crate::message::{ChatRequest, ChatResponse};
use crate::model::{EventStream, Model, ModelError, StreamEvent};
use crate::telemetry::ModelEndpoint;
use crate::telemetry::spans;
use crate::tool::BoxFuture;

const PROVIDER: Provider = Provider {
    base_url_var: "ANTHROPIC_BASE_URL",
    api_key_var: "ANTHROPIC_API_KEY",
    default_base_url: "https://api.anthropic.com",
    default_model: "claude-sonnet-5-5",
};

/// The API version this client speaks (`anthropic-version`).
const API_VERSION: &str = "2023-06-01";
const DEFAULT_MAX_TOKENS: u32 = 4096;

/// A model served by Anthropic's Messages API (or a server speaking it,
/// such as the simulator).
///
/// - Base URL (the root, without `/v1`) and key from the builder, else
///   `ANTHROPIC_BASE_URL` (default `https://api.anthropic.com`) and
///   `ANTHROPIC_API_KEY`, sent as `x-api-key` with `anthropic-version`.
/// - The transcript is converted at the edge: system messages become
///   `system`, each turn's results one user message of `tool_result` blocks
///   in call order, `parallel_tool_calls: false` becomes
///   `disable_parallel_tool_use`.
/// - Streams start each call at its `content_block_stop`.
/// - 429, 529 (`overloaded_error`) and other 5xx answers are retried with
///   the shared bounded backoff honouring `retry-after`.
pub struct AnthropicModel {
    http: reqwest::Client,
    messages_url: String,
    api_key: HeaderValue,
    default_model: String,
    max_tokens: u32,
    timeout: Duration,
    retry: RetryPolicy,
}

impl fmt::Debug for AnthropicModel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AnthropicModel")
            .field("messages_url", &self.messages_url)
            .field("model", &self.default_model)
            .field("api_key", &"<redacted>")
            .field("max_tokens", &self.max_tokens)
            .field("timeout", &self.timeout)
            .field("retry", &self.retry)
            .finish()
    }
}

/// Builds an [`AnthropicModel`]; every setting has a default.
#[derive(Clone, Debug)]
pub struct AnthropicModelBuilder {
    settings: HttpSettings,
    max_tokens: u32,
}

impl Default for AnthropicModelBuilder {
    fn default() -> Self {
        AnthropicModelBuilder {
            settings: HttpSettings::default(),
            max_tokens: DEFAULT_MAX_TOKENS,
        }
    }
}

impl AnthropicModelBuilder {
    http_builder_methods!(
        "https://api.anthropic.com",
        "ANTHROPIC_BASE_URL",
        "ANTHROPIC_API_KEY",
        "claude-sonnet-5-5"
    );

    /// The most tokens a reply may have (`max_tokens`, which the API
    /// requires). Default: 4096.
    pub fn max_tokens(mut self, tokens: u32) -> Self {
        self.max_tokens = tokens;
        self
    }

    /// The model, or [`ModelError::Config`] when there is no API key, the
    /// base URL is not an http(s) URL, or `max_tokens` is 0.
    pub fn build(self) -> Result<AnthropicModel, ModelError> {
        let resolved = self.settings.resolve(&PROVIDER)?;
        if self.max_tokens == 0 {
            return Err(ModelError::Config("`max_tokens` must be at least 1".into()));
        }
        let mut api_key = HeaderValue::from_str(&resolved.api_key).map_err(|_| {
            ModelError::Config("the API key has characters not allowed in an HTTP header".into())
        })?;
        api_key.set_sensitive(true);
        // The root, as ANTHROPIC_BASE_URL is; a base that already ends in
        // the version is accepted too.
        let root = resolved
            .base_url
            .strip_suffix("/v1")
            .unwrap_or(&resolved.base_url);
        Ok(AnthropicModel {
            http: resolved.http,
            messages_url: format!("{root}/v1/messages"),
            api_key,
            default_model: resolved.model,
            max_tokens: self.max_tokens,
            timeout: self.settings.timeout,
            retry: self.settings.retry,
        })
    }
}

impl AnthropicModel {
    /// Start building a model.
    pub fn builder() -> AnthropicModelBuilder {
        AnthropicModelBuilder::default()
    }

    /// A model configured from `ANTHROPIC_BASE_URL` and `ANTHROPIC_API_KEY`,
    /// with the default settings.
    pub fn from_env() -> Result<Self, ModelError> {
        Self::builder().build()
    }

    /// The URL requests go to (`.../v1/messages`).
    pub fn messages_url(&self) -> &str {
        &self.messages_url
    }

    /// The model name used when a request leaves its own empty.
    pub fn default_model(&self) -> &str {
        &self.default_model
    }

    fn body(&self, request: &ChatRequest, stream: bool) -> Result<Vec<u8>, ModelError> {
        let model = if request.model.is_empty() {
            &self.default_model
        } else {
            &request.model
        };
        let mut body = wire::request_body(request, model, self.max_tokens, stream)?;
        wire::settings_into(request, &mut body)?;
        // Serialising a `Value` cannot fail.
        Ok(serde_json::to_vec(&body).unwrap_or_default())
    }

    /// Send the body with the shared retries; the response once its status
    /// is a success.
    async fn send(&self, body: Vec<u8>) -> Result<reqwest::Response, ModelError> {
        let timeout = self.timeout;
        with_retries(&self.retry, timeout, || {
            let request = self
                .http
                .post(&self.messages_url)
                .header("x-api-key", self.api_key.clone())
                .header("anthropic-version", API_VERSION)
                .header(CONTENT_TYPE, "application/json")
                .body(body.clone());
            async move {
                let response = request
                    .send()
                    .await
                    .map_err(|e| Failure::transport(e, timeout))?;
                if response.status().is_success() {
                    return Ok(response);
                }
                let failure = HttpFailure::read(response)
                    .await
                    .map_err(|e| Failure::transport(e, timeout))?;
                Err(classify(&failure))
            }
        })
        .await
    }
}

/// 429, 529 and other 5xx are retried (unless `x-should-retry: false`).
fn classify(failure: &HttpFailure) -> Failure {
    let api = serde_json::from_str::<WireError>(&failure.body)
        .ok()
        .map(|e| e.error);
    let message = failure.message_or(api.as_ref().map(|a| a.message.as_str()));
    let status = failure.status;
    let retry_after = failure.retry_after;
    let error = if status == 429 {
        ModelError::RateLimited {
            retry_after,
            message,
        }
    } else {
        ModelError::Api {
            status,
            message,
            code: api.map(|a| a.kind).filter(|k| !k.is_empty()),
        }
    };
    Failure {
        error,
        retryable: failure.retryable(matches!(status, 408 | 409 | 429 | 500..=599)),
        retry_after,
    }
}

impl Model for AnthropicModel {
    fn endpoint(&self) -> ModelEndpoint {
        ModelEndpoint::at("anthropic", &self.messages_url)
    }

    fn complete<'a>(
        &'a self,
        request: &'a ChatRequest,
    ) -> BoxFuture<'a, Result<ChatResponse, ModelError>> {
        Box::pin(async move {
            let response = self.send(self.body(request, false)?).await?;
            let bytes = tokio::time::timeout(self.timeout, response.bytes())
                .await
                .map_err(|_| ModelError::Timeout(self.timeout))?
                .map_err(ModelError::transport)?;
            let message: WireMessage = serde_json::from_slice(&bytes).map_err(|e| {
                ModelError::InvalidResponse(format!(
                    "{e} in `{}`",
                    excerpt(&String::from_utf8_lossy(&bytes))
                ))
            })?;
            spans::response_meta(&message.id, &message.model);
            Ok(message.into())
        })
    }

    fn stream<'a>(&'a self, request: &'a ChatRequest) -> EventStream<'a> {
        let idle = self.timeout;
        let body = self.body(request, true);
        let opened = async move { self.send(body?).await };
        open_then(opened, move |response| sse_events(response, idle))
    }
}

/// The events of an open stream. An event that does not come within
/// `idle`, an error, or an end before `message_stop` ends it with an error.
fn sse_events(
    response: reqwest::Response,
    idle: Duration,
) -> impl Stream<Item = Result<StreamEvent, ModelError>> + Send {
    let source = response.bytes_stream().eventsource();
    stream::unfold(
        Some((source, StreamDecoder::default())),
        move |state| async move {
            let (mut source, mut decoder) = state?;
            let batch = match tokio::time::timeout(idle, source.next()).await {
                Err(_) => Err(ModelError::Timeout(idle)),
                Ok(None) if decoder.is_complete() => return None,
                Ok(None) => Err(ModelError::transport_message(
                    "the stream ended before `message_stop`: the reply is incomplete",
                )),
                Ok(Some(Err(error))) => Err(ModelError::transport_message(error.to_string())),
                Ok(Some(Ok(event))) => decoder.decode(&event.event, &event.data),
            };
            match batch {
                Ok(events) => Some((
                    events.into_iter().map(Ok).collect::<Vec<_>>(),
                    Some((source, decoder)),
                )),
                Err(error) => Some((vec![Err(error)], None)),
            }
        },
    )
    .flat_map(stream::iter)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failure(status: u16, body: &str) -> HttpFailure {
        HttpFailure {
            status,
            retry_after: Some(Duration::from_secs(2)),
            should_retry: None,
            body: body.to_owned(),
        }
    }

    #[test]
    fn statuses_are_classified() {
        let overloaded = classify(&failure(
            529,
            r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#,
        ));
        assert!(overloaded.retryable);
        assert_eq!(
            overloaded.error,
            ModelError::Api {
                status: 529,
                message: "Overloaded".into(),
                code: Some("overloaded_error".into())
            }
        );
        let limited = classify(&failure(
            429,
            r#"{"type":"error","error":{"type":"rate_limit_error","message":"slow down"}}"#,
        ));
        assert!(limited.retryable);
        assert_eq!(
            limited.error,
            ModelError::RateLimited {
                retry_after: Some(Duration::from_secs(2)),
                message: "slow down".into()
            }
        );
        let bad = classify(&failure(
            400,
            r#"{"type":"error","error":{"type":"invalid_request_error","message":"max_tokens: Field required"}}"#,
        ));
        assert!(!bad.retryable);
        assert!(
            matches!(bad.error, ModelError::Api { status: 400, ref message, .. } if message == "max_tokens: Field required")
        );
    }

    #[test]
    fn configuration() {
        let model = AnthropicModel::builder()
            .base_url("http://127.0.0.1:9/v1/")
            .api_key("sk-secret")
            .build()
            .expect("a model");
        assert_eq!(model.messages_url(), "http://127.0.0.1:9/v1/messages");
        assert!(!format!("{model:?}").contains("sk-secret"));
        let zero = AnthropicModel::builder()
            .base_url("http://x")
            .api_key("k")
            .max_tokens(0)
            .build();
        assert!(matches!(zero, Err(ModelError::Config(_))));
    }
}
