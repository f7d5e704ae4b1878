//! What every HTTP model client shares: the settings a builder takes, the
//! reqwest client, bounded retries honouring `Retry-After`, and the reading
//! of error responses. Each wire format keeps only its own shapes.

// Without a model client (toolcall-otel needs only the TLS provider, MCP
// only reqwest) the rest is unused.
#![cfg_attr(
    not(any(feature = "openai-client", feature = "anthropic", feature = "gemini")),
    allow(dead_code, unused_macros, unused_imports)
)]

use std::fmt;
use std::future::Future;
use std::time::{Duration, SystemTime};

use reqwest::header::{HeaderMap, HeaderValue};

use futures_util::stream::{self, Stream, StreamExt};

use crate::model::{EventStream, ModelError, StreamEvent, error_chain};

const DEFAULT_TIMEOUT: Duration = Duration::from_secs(120);
const DEFAULT_MAX_RETRIES: u32 = 3;
const DEFAULT_BACKOFF_BASE: Duration = Duration::from_millis(500);
const DEFAULT_BACKOFF_CAP: Duration = Duration::from_secs(8);
const DEFAULT_MAX_RETRY_AFTER: Duration = Duration::from_secs(60);
/// Error bodies are read up to this size: enough for any API message.
const MAX_ERROR_BODY: usize = 64 * 1024;

/// The settings every HTTP model builder takes; the environment fills what
/// the builder leaves unset.
#[derive(Clone)]
pub(crate) struct HttpSettings {
    pub base_url: Option<String>,
    pub api_key: Option<String>,
    pub model: Option<String>,
    pub timeout: Duration,
    pub retry: RetryPolicy,
}

impl Default for HttpSettings {
    fn default() -> Self {
        HttpSettings {
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

impl fmt::Debug for HttpSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpSettings")
            .field("base_url", &self.base_url)
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("model", &self.model)
            .field("timeout", &self.timeout)
            .field("retry", &self.retry)
            .finish()
    }
}

/// What a provider calls its environment variables and defaults.
pub(crate) struct Provider {
    pub base_url_var: &'static str,
    pub api_key_var: &'static str,
    pub default_base_url: &'static str,
    pub default_model: &'static str,
}

/// The settings checked and resolved against the environment.
pub(crate) struct Resolved {
    pub base_url: String,
    pub api_key: String,
    pub model: String,
    pub http: reqwest::Client,
}

impl HttpSettings {
    /// Check the settings, fill them from the environment, and build the
    /// HTTP client; every problem is a [`ModelError::Config`] that never
    /// echoes the key.
    pub fn resolve(&self, provider: &Provider) -> Result<Resolved, ModelError> {
        let base_url = self
            .base_url
            .clone()
            .or_else(|| env_var(provider.base_url_var))
            .unwrap_or_else(|| provider.default_base_url.to_owned());
        // Paths are appended to the base as is.
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
            .clone()
            .or_else(|| env_var(provider.api_key_var))
            .ok_or_else(|| {
                ModelError::Config(format!(
                    "no API key: set `{}` or call `.api_key(..)`",
                    provider.api_key_var
                ))
            })?;
        if HeaderValue::from_str(&format!("Bearer {api_key}")).is_err() {
            return Err(ModelError::Config(
                "the API key has characters not allowed in an HTTP header".into(),
            ));
        }
        if self.timeout.is_zero() {
            return Err(ModelError::Config(
                "the timeout must be more than zero".into(),
            ));
        }
        // reqwest is built with `rustls-no-provider`: pick ring, once per
        // process (a provider installed by the application wins).
        install_ring();
        let http = reqwest::Client::builder()
            .connect_timeout(self.timeout)
            .build()
            .map_err(|e| {
                ModelError::Config(format!(
                    "the HTTP client could not be built: {}",
                    error_chain(&e)
                ))
            })?;
        Ok(Resolved {
            base_url,
            api_key,
            model: self
                .model
                .clone()
                .unwrap_or_else(|| provider.default_model.to_owned()),
            http,
        })
    }
}

/// The builder methods every HTTP model shares, for a builder with a
/// `settings: HttpSettings` field.
macro_rules! http_builder_methods {
    ($default_base:literal, $base_var:literal, $key_var:literal, $default_model:literal) => {
        #[doc = concat!("The API's base URL (`", $default_base, "`). Default: `", $base_var, "`, else that.")]
        pub fn base_url(mut self, url: impl Into<String>) -> Self {
            self.settings.base_url = Some(url.into());
            self
        }

        #[doc = concat!("The API key. Default: `", $key_var, "`.")]
        pub fn api_key(mut self, key: impl Into<String>) -> Self {
            self.settings.api_key = Some(key.into());
            self
        }

        #[doc = concat!("The model name used when a request leaves its own empty. Default: `", $default_model, "`.")]
        pub fn model(mut self, name: impl Into<String>) -> Self {
            self.settings.model = Some(name.into());
            self
        }

        /// The timeout of one attempt: the whole reply, or for a stream the
        /// wait for the response and then for each event. Default: 120 s.
        pub fn timeout(mut self, timeout: std::time::Duration) -> Self {
            self.settings.timeout = timeout;
            self
        }

        /// How many times a failed request is retried (so at most `n + 1`
        /// requests). Default: 3.
        pub fn max_retries(mut self, n: u32) -> Self {
            self.settings.retry.max_retries = n;
            self
        }

        /// The backoff between retries when the server gives no
        /// `Retry-After`: `base * 2^retry`, at most `cap`, of which the upper
        /// half is random. Default: 500 ms and 8 s.
        pub fn backoff(mut self, base: std::time::Duration, cap: std::time::Duration) -> Self {
            self.settings.retry.base = base;
            self.settings.retry.cap = cap.max(base);
            self
        }

        /// The longest `Retry-After` honoured; a longer one ends the retries
        /// with the error carrying the wait. Default: 60 s.
        pub fn max_retry_after(mut self, limit: std::time::Duration) -> Self {
            self.settings.retry.max_retry_after = limit;
            self
        }
    };
}
pub(crate) use http_builder_methods;

pub(crate) fn env_var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

// ---- retries ----------------------------------------------------------------

#[derive(Debug, Clone, Copy)]
pub(crate) struct RetryPolicy {
    pub max_retries: u32,
    pub base: Duration,
    pub cap: Duration,
    pub max_retry_after: Duration,
}

impl RetryPolicy {
    /// `base * 2^retry` capped, with "equal jitter" (half fixed, half random)
    /// so clients that failed together do not all retry together.
    pub fn backoff(&self, retry: u32) -> Duration {
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
#[derive(Debug)]
pub(crate) struct Failure {
    pub error: ModelError,
    pub retryable: bool,
    pub retry_after: Option<Duration>,
}

impl Failure {
    pub fn fatal(error: ModelError) -> Self {
        Failure {
            error,
            retryable: false,
            retry_after: None,
        }
    }

    /// A connection failure: retried only when nothing was sent.
    pub fn transport(error: reqwest::Error, timeout: Duration) -> Self {
        if error.is_timeout() {
            return Failure::fatal(ModelError::Timeout(timeout));
        }
        Failure {
            retryable: error.is_connect(),
            error: ModelError::transport(error),
            retry_after: None,
        }
    }
}

/// A reply stream: first `opened` (the request, with its retries), then
/// what `events` reads off the open response; a failure to open is the
/// stream's one item.
pub(crate) fn open_then<'a, T, S>(
    opened: impl Future<Output = Result<T, ModelError>> + Send + 'a,
    events: impl FnOnce(T) -> S + Send + 'a,
) -> EventStream<'a>
where
    S: Stream<Item = Result<StreamEvent, ModelError>> + Send + 'a,
{
    Box::pin(
        stream::once(async move {
            match opened.await {
                Ok(open) => events(open).left_stream(),
                Err(error) => stream::iter([Err(error)]).right_stream(),
            }
        })
        .flatten(),
    )
}

/// Runs `attempt` until it succeeds, fails for good, or the retries run out;
/// each attempt has `timeout`, and timeouts are not retried.
pub(crate) async fn with_retries<T, F, Fut>(
    policy: &RetryPolicy,
    timeout: Duration,
    mut attempt: F,
) -> Result<T, ModelError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, Failure>>,
{
    let mut retries = 0;
    loop {
        let failure = match tokio::time::timeout(timeout, attempt()).await {
            Ok(Ok(value)) => return Ok(value),
            Ok(Err(failure)) => failure,
            Err(_) => Failure::fatal(ModelError::Timeout(timeout)),
        };
        let wait = match failure.retry_after {
            Some(wait) if wait > policy.max_retry_after => None,
            Some(wait) => Some(wait),
            None => Some(policy.backoff(retries)),
        };
        match wait {
            Some(wait) if failure.retryable && retries < policy.max_retries => {
                retries += 1;
                tracing::warn!(
                    retry = retries,
                    max_retries = policy.max_retries,
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

// ---- error responses ----------------------------------------------------------

/// An error status with what a client needs to decide: the status, how long
/// the server asks to wait, and the start of the body.
#[derive(Debug)]
pub(crate) struct HttpFailure {
    pub status: u16,
    pub retry_after: Option<Duration>,
    /// What the server says of retrying (`x-should-retry`), when it says.
    pub should_retry: Option<bool>,
    pub body: String,
}

impl fmt::Display for HttpFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the API answered {}", self.status)
    }
}

impl std::error::Error for HttpFailure {}

impl HttpFailure {
    /// Read a response with an error status (its body up to a limit).
    pub async fn read(mut response: reqwest::Response) -> Result<Self, reqwest::Error> {
        let status = response.status().as_u16();
        let headers = response.headers();
        let retry_after = retry_after(headers, SystemTime::now());
        let should_retry = match headers.get("x-should-retry").map(HeaderValue::as_bytes) {
            Some(b"true") => Some(true),
            Some(b"false") => Some(false),
            _ => None,
        };
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await? {
            body.extend_from_slice(&chunk[..chunk.len().min(MAX_ERROR_BODY - body.len())]);
            if body.len() >= MAX_ERROR_BODY {
                break;
            }
        }
        Ok(HttpFailure {
            status,
            retry_after,
            should_retry,
            body: String::from_utf8_lossy(&body).into_owned(),
        })
    }

    /// Whether to retry: what the server says in `x-should-retry`, else the
    /// client's own rule for this status.
    pub fn retryable(&self, by_status: bool) -> bool {
        self.should_retry.unwrap_or(by_status)
    }

    /// The message to report: the API's own, else the body, else the
    /// status's name.
    pub fn message_or(&self, api_message: Option<&str>) -> String {
        match api_message {
            Some(message) if !message.is_empty() => message.to_owned(),
            _ if !self.body.trim().is_empty() => excerpt(self.body.trim()),
            _ => reqwest::StatusCode::from_u16(self.status)
                .ok()
                .and_then(|s| s.canonical_reason())
                .unwrap_or("no message")
                .to_owned(),
        }
    }
}

/// The first 500 characters of a body, for error messages.
pub(crate) fn excerpt(text: &str) -> String {
    match text.char_indices().nth(500) {
        Some((at, _)) => format!("{}...", &text[..at]),
        None => text.to_owned(),
    }
}

/// How long the server asks to wait: `retry-after-ms` (OpenAI's), else
/// `Retry-After` in seconds or as an HTTP date.
pub(crate) fn retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
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

/// Installs ring as the process's rustls provider unless one is installed.
/// rustls 0.23.48 deprecates `ring::default_provider` (ring has no
/// post-quantum key exchange) without a replacement for ring users; we keep
/// ring (no C toolchain, unlike aws-lc-rs) and say so here, once, so a
/// build resolving any 0.23 release stays free of warnings. An application
/// wanting post-quantum groups installs its own provider first. The models
/// call it themselves; another reqwest client of this build (an OTLP
/// exporter's) needs it called first.
#[allow(deprecated)]
pub fn install_ring() {
    let _ = rustls::crypto::ring::default_provider().install_default();
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
}
