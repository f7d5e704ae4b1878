//! Google's Gemini API (`generateContent`) as a [`Model`].
//!
//! Google's Rust SDK does not cover the Gemini API; the third-party crates
//! each bring their own HTTP stack. What a tool-calling agent needs is a
//! request body, a reply and its SSE chunks, so this is a small typed
//! client over the shared HTTP stack (`providers/http.rs`), with the wire
//! shapes in `gemini/wire.rs`, checked against the simulator, which the
//! official `google-genai` Python SDK checks in turn.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use eventsource_stream::Eventsource;
use futures_util::stream::{self, Stream, StreamExt};
use reqwest::header::{CONTENT_TYPE, HeaderValue};

mod wire;

use self::wire::{Decoder, Signatures, WireError, WireResponse};
use super::http::{
    Failure, HttpFailure, HttpSettings, Provider, RetryPolicy, env_var, excerpt,
    http_builder_methods, open_then, with_retries,
};
use crate::message::{ChatRequest, ChatResponse};
use crate::model::{EventStream, Model, ModelError, StreamEvent};
use crate::telemetry::ModelEndpoint;
use crate::tool::BoxFuture;

const PROVIDER: Provider = Provider {
    base_url_var: "GEMINI_BASE_URL",
    api_key_var: "GEMINI_API_KEY",
    default_base_url: "https://generativelanguage.googleapis.com",
    default_model: "gemini-2.5-flash",
};

/// The API version in the path: the one the API reference and the SDKs use.
const API_VERSION: &str = "v1beta";

/// How many thought signatures a model keeps (the latest ones): a
/// signature matters only until the turn that got it is answered.
const KEPT_SIGNATURES: usize = 4096;

/// A model served by Google's Gemini API (or a server speaking it, such as
/// the simulator).
///
/// - Base URL (the root, without `/v1beta`) and key from the builder, else
///   `GEMINI_BASE_URL` (default `https://generativelanguage.googleapis.com`)
///   and `GEMINI_API_KEY` (or `GOOGLE_API_KEY`), sent as `x-goog-api-key`.
/// - The transcript is converted at the edge: system messages become
///   `systemInstruction`, a turn's calls `functionCall` parts of one `model`
///   content and their results `functionResponse` parts of one `user`
///   content, in call order; `tool_choice` becomes
///   `toolConfig.functionCallingConfig`. Gemini cannot be asked for one
///   call at a time: `parallel_tool_calls: false` is refused by name.
/// - Each `functionCall` part arrives whole, so a streamed call starts the
///   moment its part arrives. A call without an id gets
///   `gemini_call_{reply}_{position}` and is answered by name and position.
/// - A part's `thoughtSignature` goes back on that part: the model keeps the
///   signatures of the calls it received (the latest 4096), by call id.
/// - 429 `RESOURCE_EXHAUSTED` (honouring `RetryInfo.retryDelay`), 503
///   `UNAVAILABLE` and other 5xx answers are retried with the shared
///   bounded backoff. `MALFORMED_FUNCTION_CALL` and `UNEXPECTED_TOOL_CALL`
///   endings are [`ModelError::InvalidResponse`]; `MAX_TOKENS` is
///   [`FinishReason::Length`](crate::FinishReason::Length) and `SAFETY` (and
///   the other blocks) [`FinishReason::ContentFilter`](crate::FinishReason::ContentFilter).
pub struct GeminiModel {
    http: reqwest::Client,
    models_url: String,
    api_key: HeaderValue,
    default_model: String,
    timeout: Duration,
    retry: RetryPolicy,
    signatures: Arc<Mutex<SignatureCache>>,
    replies: AtomicU64,
}

impl fmt::Debug for GeminiModel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GeminiModel")
            .field("models_url", &self.models_url)
            .field("model", &self.default_model)
            .field("api_key", &"<redacted>")
            .field("timeout", &self.timeout)
            .field("retry", &self.retry)
            .finish()
    }
}

/// The thought signatures of the latest calls, by call id.
#[derive(Debug, Default)]
struct SignatureCache {
    by_id: HashMap<String, String>,
    order: VecDeque<String>,
}

impl SignatureCache {
    fn keep(&mut self, signatures: Vec<(String, String)>) {
        for (id, signature) in signatures {
            if self.by_id.insert(id.clone(), signature).is_none() {
                self.order.push_back(id);
            }
            while self.order.len() > KEPT_SIGNATURES {
                if let Some(old) = self.order.pop_front() {
                    self.by_id.remove(&old);
                }
            }
        }
    }
}

impl Signatures for SignatureCache {
    fn signature(&self, call_id: &str) -> Option<String> {
        self.by_id.signature(call_id)
    }
}

/// Builds a [`GeminiModel`]; every setting has a default.
#[derive(Clone, Debug, Default)]
pub struct GeminiModelBuilder {
    settings: HttpSettings,
}

impl GeminiModelBuilder {
    http_builder_methods!(
        "https://generativelanguage.googleapis.com",
        "GEMINI_BASE_URL",
        "GEMINI_API_KEY",
        "gemini-2.5-flash"
    );

    /// The model, or [`ModelError::Config`] when there is no API key (in
    /// the builder, `GEMINI_API_KEY` or `GOOGLE_API_KEY`) or the base URL is
    /// not an http(s) URL.
    pub fn build(mut self) -> Result<GeminiModel, ModelError> {
        if self.settings.api_key.is_none() && env_var(PROVIDER.api_key_var).is_none() {
            self.settings.api_key = env_var("GOOGLE_API_KEY");
        }
        let resolved = self.settings.resolve(&PROVIDER)?;
        let mut api_key = HeaderValue::from_str(&resolved.api_key).map_err(|_| {
            ModelError::Config("the API key has characters not allowed in an HTTP header".into())
        })?;
        api_key.set_sensitive(true);
        // The root; a base that already ends in a version is accepted too.
        let root = ["/v1beta", "/v1"]
            .iter()
            .find_map(|v| resolved.base_url.strip_suffix(v))
            .unwrap_or(&resolved.base_url);
        Ok(GeminiModel {
            http: resolved.http,
            models_url: format!("{root}/{API_VERSION}/models"),
            api_key,
            default_model: resolved.model,
            timeout: self.settings.timeout,
            retry: self.settings.retry,
            signatures: Arc::default(),
            replies: AtomicU64::new(0),
        })
    }
}

impl GeminiModel {
    /// Start building a model.
    pub fn builder() -> GeminiModelBuilder {
        GeminiModelBuilder::default()
    }

    /// A model configured from `GEMINI_BASE_URL` and `GEMINI_API_KEY` (or
    /// `GOOGLE_API_KEY`), with the default settings.
    pub fn from_env() -> Result<Self, ModelError> {
        Self::builder().build()
    }

    /// The URL of a model's method: `.../v1beta/models/{model}:{method}`.
    pub fn method_url(&self, model: &str, method: &str) -> String {
        // `models/gemini-2.5-flash` and `gemini-2.5-flash` name the same model.
        let model = model.strip_prefix("models/").unwrap_or(model);
        format!("{}/{model}:{method}", self.models_url)
    }

    /// The model name used when a request leaves its own empty.
    pub fn default_model(&self) -> &str {
        &self.default_model
    }

    fn model_of<'a>(&'a self, request: &'a ChatRequest) -> &'a str {
        if request.model.is_empty() {
            &self.default_model
        } else {
            &request.model
        }
    }

    fn body(&self, request: &ChatRequest) -> Result<Vec<u8>, ModelError> {
        let signatures = self
            .signatures
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let body = wire::request_body(request, &*signatures)?;
        // Serialising a `Value` cannot fail.
        Ok(serde_json::to_vec(&body).unwrap_or_default())
    }

    /// A decoder for the next reply: its assigned call ids are unique to it.
    fn decoder(&self) -> Decoder {
        Decoder::new(self.replies.fetch_add(1, Ordering::Relaxed).to_string())
    }

    fn keep_signatures(&self, decoder: &mut Decoder) {
        keep(&self.signatures, decoder);
    }

    /// Send the body with the shared retries; the response once its status
    /// is a success.
    async fn send(&self, url: String, body: Vec<u8>) -> Result<reqwest::Response, ModelError> {
        let timeout = self.timeout;
        with_retries(&self.retry, timeout, || {
            let request = self
                .http
                .post(&url)
                .header("x-goog-api-key", self.api_key.clone())
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

fn keep(cache: &Mutex<SignatureCache>, decoder: &mut Decoder) {
    if decoder.signatures.is_empty() {
        return;
    }
    cache
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .keep(std::mem::take(&mut decoder.signatures));
}

/// 429 (`RESOURCE_EXHAUSTED`, waiting what its `RetryInfo` asks), 408 and
/// 5xx (`UNAVAILABLE`, `INTERNAL`, `DEADLINE_EXCEEDED`) are retried.
fn classify(failure: &HttpFailure) -> Failure {
    let api = serde_json::from_str::<WireError>(&failure.body)
        .ok()
        .map(|e| e.error);
    let message = failure.message_or(api.as_ref().map(|a| a.message.as_str()));
    let status = failure.status;
    let retry_after = api
        .as_ref()
        .and_then(|a| a.retry_delay())
        .or(failure.retry_after);
    let error = if status == 429 {
        ModelError::RateLimited {
            retry_after,
            message,
        }
    } else {
        ModelError::Api {
            status,
            message,
            code: api.map(|a| a.status).filter(|s| !s.is_empty()),
        }
    };
    Failure {
        error,
        retryable: failure.retryable(matches!(status, 408 | 429 | 500..=599)),
        retry_after,
    }
}

impl Model for GeminiModel {
    fn endpoint(&self) -> ModelEndpoint {
        ModelEndpoint::at("gcp.gemini", &self.models_url)
    }

    fn complete<'a>(
        &'a self,
        request: &'a ChatRequest,
    ) -> BoxFuture<'a, Result<ChatResponse, ModelError>> {
        Box::pin(async move {
            let url = self.method_url(self.model_of(request), "generateContent");
            let response = self.send(url, self.body(request)?).await?;
            let bytes = tokio::time::timeout(self.timeout, response.bytes())
                .await
                .map_err(|_| ModelError::Timeout(self.timeout))?
                .map_err(ModelError::transport)?;
            let reply: WireResponse = serde_json::from_slice(&bytes).map_err(|e| {
                ModelError::InvalidResponse(format!(
                    "{e} in `{}`",
                    excerpt(&String::from_utf8_lossy(&bytes))
                ))
            })?;
            reply.tell_meta();
            let mut decoder = self.decoder();
            let response = wire::response(&mut decoder, reply);
            self.keep_signatures(&mut decoder);
            response
        })
    }

    fn stream<'a>(&'a self, request: &'a ChatRequest) -> EventStream<'a> {
        let idle = self.timeout;
        let url = self.method_url(self.model_of(request), "streamGenerateContent?alt=sse");
        let opened = async move { self.send(url, self.body(request)?).await };
        let decoder = self.decoder();
        let cache = self.signatures.clone();
        open_then(opened, move |response| {
            sse_events(response, idle, decoder, cache)
        })
    }
}

/// The events of an open stream: one `GenerateContentResponse` per `data:`
/// frame, no event names, no `[DONE]`. A frame that does not come within
/// `idle`, an error, or an end before a `finishReason` ends it with an error.
fn sse_events(
    response: reqwest::Response,
    idle: Duration,
    decoder: Decoder,
    cache: Arc<Mutex<SignatureCache>>,
) -> impl Stream<Item = Result<StreamEvent, ModelError>> + Send {
    let source = response.bytes_stream().eventsource();
    stream::unfold(Some((source, decoder, cache)), move |state| async move {
        let (mut source, mut decoder, cache) = state?;
        let batch = match tokio::time::timeout(idle, source.next()).await {
            Err(_) => Err(ModelError::Timeout(idle)),
            Ok(None) if decoder.is_complete() => {
                let usage = decoder.usage().map(|u| Ok(StreamEvent::Usage(u)));
                return usage.map(|u| (vec![u], None));
            }
            Ok(None) => Err(ModelError::transport_message(
                "the stream ended before a `finishReason`: the reply is incomplete",
            )),
            Ok(Some(Err(error))) => Err(ModelError::transport_message(error.to_string())),
            Ok(Some(Ok(event))) if event.data.trim().is_empty() => Ok(Vec::new()),
            Ok(Some(Ok(event))) => chunk_events(&mut decoder, &event.data),
        };
        keep(&cache, &mut decoder);
        match batch {
            Ok(events) => Some((
                events.into_iter().map(Ok).collect::<Vec<_>>(),
                Some((source, decoder, cache)),
            )),
            Err(error) => Some((vec![Err(error)], None)),
        }
    })
    .flat_map(stream::iter)
}

/// The events of one `data:` frame: a response chunk, or an error the
/// server sent in the stream.
fn chunk_events(decoder: &mut Decoder, data: &str) -> Result<Vec<StreamEvent>, ModelError> {
    let value: serde_json::Value = serde_json::from_str(data).map_err(|e| {
        ModelError::InvalidResponse(format!("a chunk that is not JSON ({e}): {}", excerpt(data)))
    })?;
    if let Ok(error) = serde_json::from_value::<WireError>(value.clone()) {
        let error = error.error;
        return Err(ModelError::Api {
            status: error.code.unwrap_or(500),
            message: error.message,
            code: Some(error.status).filter(|s| !s.is_empty()),
        });
    }
    let chunk: WireResponse = serde_json::from_value(value).map_err(|e| {
        ModelError::InvalidResponse(format!(
            "a chunk that cannot be read ({e}): {}",
            excerpt(data)
        ))
    })?;
    chunk.tell_meta();
    decoder.decode(chunk)
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
        let limited = classify(&failure(
            429,
            r#"{"error":{"code":429,"message":"quota","status":"RESOURCE_EXHAUSTED","details":[{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"7s"}]}}"#,
        ));
        assert!(limited.retryable);
        assert_eq!(limited.retry_after, Some(Duration::from_secs(7)));
        assert_eq!(
            limited.error,
            ModelError::RateLimited {
                retry_after: Some(Duration::from_secs(7)),
                message: "quota".into()
            }
        );
        let unavailable = classify(&failure(
            503,
            r#"{"error":{"code":503,"message":"The model is overloaded.","status":"UNAVAILABLE"}}"#,
        ));
        assert!(unavailable.retryable);
        assert_eq!(
            unavailable.error,
            ModelError::Api {
                status: 503,
                message: "The model is overloaded.".into(),
                code: Some("UNAVAILABLE".into())
            }
        );
        let bad = classify(&failure(
            400,
            r#"{"error":{"code":400,"message":"Please ensure that function response turn comes immediately after a function call turn.","status":"INVALID_ARGUMENT"}}"#,
        ));
        assert!(!bad.retryable);
        assert!(
            matches!(bad.error, ModelError::Api { status: 400, code: Some(ref c), .. } if c == "INVALID_ARGUMENT")
        );
    }

    #[test]
    fn configuration() {
        let model = GeminiModel::builder()
            .base_url("http://127.0.0.1:9/v1beta/")
            .api_key("secret-key")
            .build()
            .expect("a model");
        assert_eq!(
            model.method_url("models/gemini-2.5-pro", "generateContent"),
            "http://127.0.0.1:9/v1beta/models/gemini-2.5-pro:generateContent"
        );
        assert!(!format!("{model:?}").contains("secret-key"));
    }

    #[test]
    fn a_stream_chunk_with_an_error_is_an_api_error() {
        let mut decoder = Decoder::new("0");
        let error = chunk_events(
            &mut decoder,
            r#"{"error":{"code":503,"message":"overloaded","status":"UNAVAILABLE"}}"#,
        )
        .expect_err("an error");
        assert!(error.is_retryable());
        assert_eq!(error.status(), Some(503));
    }
}
