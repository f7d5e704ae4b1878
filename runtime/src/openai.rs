//! The OpenAI-compatible chat model over HTTP, on async-openai's client.
//!
//! async-openai's default client retries on its own (3 times, `Retry-After`
//! in seconds only, unbounded) and its errors drop the response headers. So
//! the client here runs on our own transport ([`Transport`], a tower service
//! installed with `Client::with_http_service`): it does no retries, and turns
//! an error status into an [`HttpFailure`] that keeps the status, the
//! `Retry-After` and the body. [`OpenAiModel::send`] retries on that.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime};

use async_openai::Client;
use async_openai::config::OpenAIConfig;
use async_openai::error::{OpenAIError, StreamError, WrappedError};
use async_openai::middleware::HttpRequestFactory;
use async_openai::types::chat as oa;
use futures_util::stream::{self, Stream, StreamExt};
use reqwest::header::{HeaderMap, HeaderValue};

use crate::convert::chunk_events;
use crate::message::{ChatRequest, ChatResponse};
use crate::model::{EventStream, Model, ModelError, StreamEvent};
use crate::tool::BoxFuture;

const DEFAULT_BASE_URL: &str = "https://api.openai.com/v1";
const DEFAULT_MODEL: &str = "gpt-4o-mini";
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(120);
const DEFAULT_MAX_RETRIES: u32 = 3;
const DEFAULT_BACKOFF_BASE: Duration = Duration::from_millis(500);
const DEFAULT_BACKOFF_CAP: Duration = Duration::from_secs(8);
const DEFAULT_MAX_RETRY_AFTER: Duration = Duration::from_secs(60);
/// Error bodies are read up to this size: enough for any API message.
const MAX_ERROR_BODY: usize = 64 * 1024;

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
    client: Client<OpenAIConfig>,
    base_url: String,
    default_model: String,
    timeout: Duration,
    retry: RetryPolicy,
}

impl fmt::Debug for OpenAiModel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpenAiModel")
            .field("base_url", &self.base_url)
            .field("model", &self.default_model)
            .field("api_key", &"<redacted>")
            .field("timeout", &self.timeout)
            .field("retry", &self.retry)
            .finish()
    }
}

/// Builds an [`OpenAiModel`]; every setting has a default.
#[derive(Clone)]
pub struct OpenAiModelBuilder {
    base_url: Option<String>,
    api_key: Option<String>,
    model: Option<String>,
    timeout: Duration,
    retry: RetryPolicy,
}

impl fmt::Debug for OpenAiModelBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpenAiModelBuilder")
            .field("base_url", &self.base_url)
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("model", &self.model)
            .field("timeout", &self.timeout)
            .field("retry", &self.retry)
            .finish()
    }
}

impl Default for OpenAiModelBuilder {
    fn default() -> Self {
        OpenAiModelBuilder {
            base_url: None,
            api_key: None,
            model: None,
            timeout: DEFAULT_TIMEOUT,
            retry: RetryPolicy {
                max_retries: DEFAULT_MAX_RETRIES,
                base: DEFAULT_BACKOFF_BASE,
                cap: DEFAULT_BACKOFF_CAP,
                max_retry_after: DEFAULT_MAX_RETRY_AFTER,
            },
        }
    }
}

impl OpenAiModelBuilder {
    /// The API's base URL, up to and including the version (`https://api.openai.com/v1`).
    /// Default: `OPENAI_BASE_URL`, else OpenAI's.
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(url.into());
        self
    }

    /// The API key. Default: `OPENAI_API_KEY`.
    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = Some(key.into());
        self
    }

    /// The model name used when a request leaves its own empty. Default: `gpt-4o-mini`.
    pub fn model(mut self, name: impl Into<String>) -> Self {
        self.model = Some(name.into());
        self
    }

    /// The timeout of one attempt: the whole reply, or for a stream the wait
    /// for the response and then for each chunk. Default: 120 s.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// How many times a failed request is retried (so at most `n + 1`
    /// requests). Default: 3.
    pub fn max_retries(mut self, n: u32) -> Self {
        self.retry.max_retries = n;
        self
    }

    /// The backoff between retries when the server gives no `Retry-After`:
    /// `base * 2^retry`, at most `cap`, of which the upper half is random.
    /// Default: 500 ms and 8 s.
    pub fn backoff(mut self, base: Duration, cap: Duration) -> Self {
        self.retry.base = base;
        self.retry.cap = cap.max(base);
        self
    }

    /// The longest `Retry-After` honoured; a longer one ends the retries
    /// with [`ModelError::RateLimited`] carrying the wait. Default: 60 s.
    pub fn max_retry_after(mut self, limit: Duration) -> Self {
        self.retry.max_retry_after = limit;
        self
    }

    /// The model, or [`ModelError::Config`] when there is no API key, the
    /// base URL is not an http(s) URL, or a header value is not valid.
    pub fn build(self) -> Result<OpenAiModel, ModelError> {
        let base_url = self
            .base_url
            .or_else(|| env_var("OPENAI_BASE_URL"))
            .unwrap_or_else(|| DEFAULT_BASE_URL.to_owned());
        // async-openai appends `/chat/completions` to the base as is.
        let base_url = base_url.trim().trim_end_matches('/').to_owned();
        match reqwest::Url::parse(&base_url) {
            Ok(url) if matches!(url.scheme(), "http" | "https") => {}
            Ok(_) | Err(_) => {
                return Err(ModelError::Config(format!(
                    "base URL `{base_url}` is not an http(s) URL"
                )));
            }
        }
        let api_key = self
            .api_key
            .or_else(|| env_var("OPENAI_API_KEY"))
            .ok_or_else(|| {
                ModelError::Config("no API key: set `OPENAI_API_KEY` or call `.api_key(..)`".into())
            })?;
        // async-openai unwraps these header values when it sends a request:
        // refuse them here rather than panic there (and never echo the key).
        if HeaderValue::from_str(&format!("Bearer {api_key}")).is_err() {
            return Err(ModelError::Config(
                "the API key has characters not allowed in an HTTP header".into(),
            ));
        }
        for name in ["OPENAI_ORG_ID", "OPENAI_PROJECT_ID"] {
            if env_var(name).is_some_and(|v| HeaderValue::from_str(&v).is_err()) {
                return Err(ModelError::Config(format!(
                    "`{name}` has characters not allowed in an HTTP header"
                )));
            }
        }
        if self.timeout.is_zero() {
            return Err(ModelError::Config(
                "the timeout must be more than zero".into(),
            ));
        }

        // reqwest is built with `rustls-no-provider`: pick ring, once per
        // process (a provider installed by the application wins).
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .connect_timeout(self.timeout)
            .build()
            .map_err(|e| {
                ModelError::Config(format!(
                    "the HTTP client could not be built: {}",
                    error_chain(&e)
                ))
            })?;
        let config = OpenAIConfig::new()
            .with_api_base(&base_url)
            .with_api_key(api_key);
        let client = Client::build(http.clone(), config).with_http_service(Transport { http });

        Ok(OpenAiModel {
            client,
            base_url,
            default_model: self.model.unwrap_or_else(|| DEFAULT_MODEL.to_owned()),
            timeout: self.timeout,
            retry: self.retry,
        })
    }
}

fn env_var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
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
        &self.base_url
    }

    /// The model name used when a request leaves its own empty.
    pub fn default_model(&self) -> &str {
        &self.default_model
    }

    /// The underlying async-openai client, for the API calls this type does
    /// not cover. Its requests go through the same transport but are not
    /// retried.
    pub fn client(&self) -> &Client<OpenAIConfig> {
        &self.client
    }

    fn request_body(&self, request: &ChatRequest, stream: bool) -> oa::CreateChatCompletionRequest {
        let mut body = oa::CreateChatCompletionRequest::from(request);
        if body.model.is_empty() {
            body.model.clone_from(&self.default_model);
        }
        if stream {
            body.stream = Some(true);
            body.stream_options = Some(oa::ChatCompletionStreamOptions {
                include_usage: Some(true),
                include_obfuscation: None,
            });
        }
        body
    }

    /// Runs `attempt` until it succeeds, fails for good, or the retries run out.
    async fn send<T, F, Fut>(&self, mut attempt: F) -> Result<T, ModelError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, OpenAIError>>,
    {
        let mut retries = 0;
        loop {
            let failure = match tokio::time::timeout(self.timeout, attempt()).await {
                Ok(Ok(value)) => return Ok(value),
                Ok(Err(error)) => Failure::classify(error, self.timeout),
                Err(_) => Failure::fatal(ModelError::Timeout(self.timeout)),
            };
            let wait = match failure.retry_after {
                Some(wait) if wait > self.retry.max_retry_after => None,
                Some(wait) => Some(wait),
                None => Some(self.retry.backoff(retries)),
            };
            match wait {
                Some(wait) if failure.retryable && retries < self.retry.max_retries => {
                    retries += 1;
                    tracing::warn!(
                        retry = retries,
                        max_retries = self.retry.max_retries,
                        wait_ms = wait.as_millis() as u64,
                        error = %failure.error,
                        "model request failed, retrying"
                    );
                    tokio::time::sleep(wait).await;
                }
                _ => return Err(failure.error),
            }
        }
    }
}

impl Model for OpenAiModel {
    fn complete<'a>(
        &'a self,
        request: &'a ChatRequest,
    ) -> BoxFuture<'a, Result<ChatResponse, ModelError>> {
        Box::pin(async move {
            let body = self.request_body(request, false);
            let response = self
                .send(|| {
                    let body = body.clone();
                    async move { self.client.chat().create(body).await }
                })
                .await?;
            Ok(ChatResponse::try_from(response)?)
        })
    }

    fn stream<'a>(&'a self, request: &'a ChatRequest) -> EventStream<'a> {
        let body = self.request_body(request, true);
        let opened = async move {
            self.send(|| {
                let body = body.clone();
                async move { self.client.chat().create_stream(body).await }
            })
            .await
        };
        let timeout = self.timeout;
        Box::pin(stream::once(opened).flat_map(move |opened| match opened {
            Ok(chunks) => chunk_stream(chunks, timeout).left_stream(),
            Err(error) => stream::iter([Err(error)]).right_stream(),
        }))
    }
}

/// The events of an open stream; a chunk that does not come within `idle`,
/// or any error, ends it with that error.
fn chunk_stream(
    chunks: oa::ChatCompletionResponseStream,
    idle: Duration,
) -> impl Stream<Item = Result<StreamEvent, ModelError>> + Send {
    stream::unfold(Some(chunks), move |chunks| async move {
        let mut chunks = chunks?;
        match tokio::time::timeout(idle, chunks.next()).await {
            Err(_) => Some((vec![Err(ModelError::Timeout(idle))], None)),
            Ok(None) => None,
            Ok(Some(Err(error))) => Some((vec![Err(Failure::classify(error, idle).error)], None)),
            Ok(Some(Ok(chunk))) => Some((
                chunk_events(chunk).into_iter().map(Ok).collect::<Vec<_>>(),
                Some(chunks),
            )),
        }
    })
    .flat_map(stream::iter)
}

// ---- retries ----------------------------------------------------------------

#[derive(Debug, Clone, Copy)]
struct RetryPolicy {
    max_retries: u32,
    base: Duration,
    cap: Duration,
    max_retry_after: Duration,
}

impl RetryPolicy {
    /// `base * 2^retry` capped, with "equal jitter" (half fixed, half random)
    /// so clients that failed together do not all retry together.
    fn backoff(&self, retry: u32) -> Duration {
        let full = self
            .base
            .saturating_mul(2u32.saturating_pow(retry))
            .min(self.cap);
        let half = full / 2;
        half + half.mul_f64(random_unit())
    }
}

/// A number in [0, 1) from std's randomly keyed hasher: enough for jitter,
/// without a dependency on `rand`.
fn random_unit() -> f64 {
    use std::hash::BuildHasher;
    let bits = std::collections::hash_map::RandomState::new().hash_one(0u8);
    (bits >> 11) as f64 / (1u64 << 53) as f64
}

/// A failed attempt: the error to report and whether to try again.
struct Failure {
    error: ModelError,
    retryable: bool,
    retry_after: Option<Duration>,
}

impl Failure {
    fn fatal(error: ModelError) -> Self {
        Failure {
            error,
            retryable: false,
            retry_after: None,
        }
    }

    fn classify(error: OpenAIError, timeout: Duration) -> Self {
        match error {
            OpenAIError::Boxed(boxed) => match boxed.downcast::<HttpFailure>() {
                Ok(failure) => {
                    Failure::from_status(failure.status, &failure.body, failure.retry_after)
                }
                Err(other) => Failure::fatal(ModelError::Transport(error_chain(&*other))),
            },
            OpenAIError::Reqwest(e) if e.is_timeout() => {
                Failure::fatal(ModelError::Timeout(timeout))
            }
            // Nothing was sent when the connection failed: safe to retry.
            OpenAIError::Reqwest(e) => Failure {
                retryable: e.is_connect(),
                error: ModelError::Transport(error_chain(&e)),
                retry_after: None,
            },
            // Only when a status bypassed our transport; there are no headers.
            OpenAIError::ApiError(response) => {
                let body = serde_json::to_string(&WrappedError {
                    error: response.api_error,
                })
                .unwrap_or_default();
                Failure::from_status(response.status_code.as_u16(), &body, None)
            }
            OpenAIError::JSONDeserialize(e, content) => {
                // An error event inside a stream reads as a chunk that does not parse.
                let error = match serde_json::from_str::<WrappedError>(&content) {
                    Ok(wrapped) => format!("the API reported an error: {}", wrapped.error.message),
                    Err(_) => format!("{e} in `{}`", excerpt(&content)),
                };
                Failure::fatal(ModelError::InvalidResponse(error))
            }
            OpenAIError::StreamError(e) => Failure::fatal(match *e {
                StreamError::EventStream(msg) => ModelError::Transport(msg),
                other => ModelError::InvalidResponse(other.to_string()),
            }),
            OpenAIError::InvalidArgument(msg) => Failure::fatal(ModelError::Config(msg)),
            other => Failure::fatal(ModelError::Transport(other.to_string())),
        }
    }

    /// 429 and 5xx are retried, except a 429 for an exhausted quota, which
    /// waiting does not fix.
    fn from_status(status: u16, body: &str, retry_after: Option<Duration>) -> Self {
        let api = serde_json::from_str::<WrappedError>(body)
            .ok()
            .map(|w| w.error);
        let message = match &api {
            Some(api) if !api.message.is_empty() => api.message.clone(),
            _ if !body.trim().is_empty() => excerpt(body.trim()),
            _ => reqwest::StatusCode::from_u16(status)
                .ok()
                .and_then(|s| s.canonical_reason())
                .unwrap_or("no message")
                .to_owned(),
        };
        let code = api.and_then(|api| api.code.or(api.r#type));
        let api_error = |code| ModelError::Api {
            status,
            message: message.clone(),
            code,
        };
        match status {
            429 if code.as_deref() == Some("insufficient_quota") => Failure::fatal(api_error(code)),
            429 => Failure {
                error: ModelError::RateLimited {
                    retry_after,
                    message: message.clone(),
                },
                retryable: true,
                retry_after,
            },
            500..=599 => Failure {
                error: api_error(code),
                retryable: true,
                retry_after,
            },
            _ => Failure::fatal(api_error(code)),
        }
    }
}

/// The first 500 characters of a body, for error messages.
fn excerpt(text: &str) -> String {
    match text.char_indices().nth(500) {
        Some((at, _)) => format!("{}...", &text[..at]),
        None => text.to_owned(),
    }
}

fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
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

/// How long the server asks to wait: `retry-after-ms` (OpenAI's), else
/// `Retry-After` in seconds or as an HTTP date.
fn retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    if let Some(ms) = header("retry-after-ms").and_then(|v| v.parse::<f64>().ok())
        && let Ok(wait) = Duration::try_from_secs_f64(ms / 1000.0)
    {
        return Some(wait);
    }
    let value = header(reqwest::header::RETRY_AFTER.as_str())?;
    if let Ok(secs) = value.parse::<f64>() {
        return Duration::try_from_secs_f64(secs).ok();
    }
    let date = httpdate::parse_http_date(value).ok()?;
    Some(date.duration_since(now).unwrap_or(Duration::ZERO))
}

// ---- transport ----------------------------------------------------------------

/// An error status, as our transport reports it to async-openai (boxed in
/// `OpenAIError::Boxed`), with what async-openai's own error would drop.
#[derive(Debug)]
struct HttpFailure {
    status: u16,
    retry_after: Option<Duration>,
    body: String,
}

impl fmt::Display for HttpFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the API answered {}", self.status)
    }
}

impl std::error::Error for HttpFailure {}

/// Sends each request once with reqwest; an error status becomes an
/// [`HttpFailure`].
#[derive(Clone)]
struct Transport {
    http: reqwest::Client,
}

type TransportFuture = Pin<Box<dyn Future<Output = Result<reqwest::Response, OpenAIError>> + Send>>;

impl tower_service::Service<HttpRequestFactory> for Transport {
    type Response = reqwest::Response;
    type Error = OpenAIError;
    type Future = TransportFuture;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), OpenAIError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, factory: HttpRequestFactory) -> TransportFuture {
        let http = self.http.clone();
        Box::pin(async move {
            let request = factory.build().await?;
            let mut response = http.execute(request).await.map_err(OpenAIError::Reqwest)?;
            let status = response.status();
            if status.is_success() {
                return Ok(response);
            }
            let retry_after = retry_after(response.headers(), SystemTime::now());
            let mut body = Vec::new();
            while let Some(chunk) = response.chunk().await.map_err(OpenAIError::Reqwest)? {
                body.extend_from_slice(&chunk[..chunk.len().min(MAX_ERROR_BODY - body.len())]);
                if body.len() >= MAX_ERROR_BODY {
                    break;
                }
            }
            Err(OpenAIError::Boxed(Box::new(HttpFailure {
                status: status.as_u16(),
                retry_after,
                body: String::from_utf8_lossy(&body).into_owned(),
            })))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_str(value).expect("a header value"));
        }
        map
    }

    #[test]
    fn retry_after_forms() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        assert_eq!(
            retry_after(&headers(&[("retry-after", "3")]), now),
            Some(Duration::from_secs(3))
        );
        assert_eq!(
            retry_after(&headers(&[("retry-after", "0.5")]), now),
            Some(Duration::from_millis(500))
        );
        assert_eq!(
            retry_after(
                &headers(&[("retry-after", "2"), ("retry-after-ms", "250")]),
                now
            ),
            Some(Duration::from_millis(250))
        );
        let in_ten = httpdate::fmt_http_date(now + Duration::from_secs(10));
        assert_eq!(
            retry_after(&headers(&[("retry-after", &in_ten)]), now),
            Some(Duration::from_secs(10))
        );
        let past = httpdate::fmt_http_date(now - Duration::from_secs(10));
        assert_eq!(
            retry_after(&headers(&[("retry-after", &past)]), now),
            Some(Duration::ZERO)
        );
        assert_eq!(retry_after(&headers(&[("retry-after", "-1")]), now), None);
        assert_eq!(retry_after(&headers(&[("retry-after", "soon")]), now), None);
        assert_eq!(retry_after(&HeaderMap::new(), now), None);
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        let policy = RetryPolicy {
            max_retries: 10,
            base: Duration::from_millis(500),
            cap: Duration::from_secs(8),
            max_retry_after: Duration::from_secs(60),
        };
        for retry in 0..10 {
            let full = Duration::from_millis(500)
                .saturating_mul(1 << retry)
                .min(Duration::from_secs(8));
            let wait = policy.backoff(retry);
            assert!(
                wait >= full / 2 && wait <= full,
                "retry {retry}: {wait:?} not in [{:?}, {full:?}]",
                full / 2
            );
        }
    }

    #[test]
    fn statuses_are_classified() {
        let body = r#"{"error": {"message": "slow down", "type": "requests", "param": null, "code": "rate_limit_exceeded"}}"#;
        let f = Failure::from_status(429, body, Some(Duration::from_secs(1)));
        assert!(f.retryable);
        assert_eq!(
            f.error,
            ModelError::RateLimited {
                retry_after: Some(Duration::from_secs(1)),
                message: "slow down".into()
            }
        );

        let quota = r#"{"error": {"message": "no money", "type": "insufficient_quota", "param": null, "code": null}}"#;
        let f = Failure::from_status(429, quota, None);
        assert!(!f.retryable);
        assert!(
            matches!(f.error, ModelError::Api { status: 429, ref code, .. } if code.as_deref() == Some("insufficient_quota"))
        );

        let f = Failure::from_status(503, "upstream down", None);
        assert!(f.retryable);
        assert_eq!(
            f.error,
            ModelError::Api {
                status: 503,
                message: "upstream down".into(),
                code: None
            }
        );

        let f = Failure::from_status(404, "", None);
        assert!(!f.retryable);
        assert_eq!(
            f.error,
            ModelError::Api {
                status: 404,
                message: "Not Found".into(),
                code: None
            }
        );
    }

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
