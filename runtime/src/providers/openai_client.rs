//! What the OpenAI models (Chat Completions and Responses) share: async-openai's
//! client on our own transport, and the reading of its errors.
//!
//! async-openai's default client retries on its own (3 times, `Retry-After`
//! in seconds only, unbounded) and its errors drop the response headers. So
//! the client here runs on our own transport ([`Transport`], a tower service
//! installed with `Client::with_http_service`): it does no retries, and turns
//! an error status into an [`HttpFailure`] that keeps the status, the
//! `Retry-After` and the body. The retries are the shared ones of
//! [`super::http`].

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use async_openai::Client;
use async_openai::config::OpenAIConfig;
use async_openai::error::{OpenAIError, StreamError, WrappedError};
use async_openai::middleware::HttpRequestFactory;
use reqwest::header::HeaderValue;

use super::http::{
    Failure, HttpFailure, HttpSettings, Provider, RetryPolicy, env_var, excerpt, with_retries,
};
use crate::model::{ModelError, error_chain};

/// OpenAI's environment variables and defaults.
pub(crate) const PROVIDER: Provider = Provider {
    base_url_var: "OPENAI_BASE_URL",
    api_key_var: "OPENAI_API_KEY",
    default_base_url: "https://api.openai.com/v1",
    default_model: "gpt-4o-mini",
};

/// async-openai's client on our transport, with the settings every OpenAI
/// model keeps.
#[derive(Clone)]
pub(crate) struct OpenAiClient {
    pub client: Client<OpenAIConfig>,
    pub base_url: String,
    pub default_model: String,
    pub timeout: Duration,
    pub retry: RetryPolicy,
}

impl OpenAiClient {
    /// The client, or [`ModelError::Config`] when there is no API key, the
    /// base URL is not an http(s) URL, or a header value is not valid.
    pub fn build(settings: &HttpSettings) -> Result<Self, ModelError> {
        let resolved = settings.resolve(&PROVIDER)?;
        // async-openai unwraps these header values when it sends a request:
        // refuse them here rather than panic there.
        for name in ["OPENAI_ORG_ID", "OPENAI_PROJECT_ID"] {
            if env_var(name).is_some_and(|v| HeaderValue::from_str(&v).is_err()) {
                return Err(ModelError::Config(format!(
                    "`{name}` has characters not allowed in an HTTP header"
                )));
            }
        }
        let config = OpenAIConfig::new()
            .with_api_base(&resolved.base_url)
            .with_api_key(resolved.api_key);
        let client = Client::build(resolved.http.clone(), config).with_http_service(Transport {
            http: resolved.http,
        });
        Ok(OpenAiClient {
            client,
            base_url: resolved.base_url,
            default_model: resolved.model,
            timeout: settings.timeout,
            retry: settings.retry,
        })
    }

    /// `Debug` fields of a model over this client; the key is never shown.
    pub fn debug_fields(&self, f: &mut fmt::DebugStruct<'_, '_>) {
        f.field("base_url", &self.base_url)
            .field("model", &self.default_model)
            .field("api_key", &"<redacted>")
            .field("timeout", &self.timeout)
            .field("retry", &self.retry);
    }

    /// Runs `attempt` with the shared retries, classifying async-openai's errors.
    pub async fn send<T, F, Fut>(&self, mut attempt: F) -> Result<T, ModelError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, OpenAIError>>,
    {
        let timeout = self.timeout;
        with_retries(&self.retry, timeout, || {
            let attempt = attempt();
            async move { attempt.await.map_err(|e| classify(e, timeout)) }
        })
        .await
    }
}

// ---- errors -----------------------------------------------------------------

/// What an async-openai error means for the caller: the error to report, and
/// whether to retry.
pub(crate) fn classify(error: OpenAIError, timeout: Duration) -> Failure {
    match error {
        OpenAIError::Boxed(boxed) => match boxed.downcast::<HttpFailure>() {
            Ok(failure) => from_status(&failure),
            Err(other) => Failure::fatal(ModelError::Transport {
                message: error_chain(&*other),
                source: Some(other.into()),
            }),
        },
        OpenAIError::Reqwest(e) => Failure::transport(e, timeout),
        // Only when a status bypassed our transport; there are no headers.
        OpenAIError::ApiError(response) => {
            let body = serde_json::to_string(&WrappedError {
                error: response.api_error,
            })
            .unwrap_or_default();
            from_status(&HttpFailure {
                status: response.status_code.as_u16(),
                retry_after: None,
                should_retry: None,
                body,
            })
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
            StreamError::EventStream(msg) => ModelError::transport_message(msg),
            other => ModelError::InvalidResponse(other.to_string()),
        }),
        OpenAIError::InvalidArgument(msg) => Failure::fatal(ModelError::Config(msg)),
        other => Failure::fatal(ModelError::transport(other)),
    }
}

/// 429 and 5xx are retried (unless the server says `x-should-retry:
/// false`), except a 429 for an exhausted quota, which waiting does not fix.
pub(crate) fn from_status(failure: &HttpFailure) -> Failure {
    let api = serde_json::from_str::<WrappedError>(&failure.body)
        .ok()
        .map(|w| w.error);
    let message = failure.message_or(api.as_ref().map(|a| a.message.as_str()));
    let code = api.and_then(|api| api.code.or(api.r#type));
    let status = failure.status;
    let retry_after = failure.retry_after;
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
            retryable: failure.retryable(true),
            retry_after,
        },
        _ => Failure {
            error: api_error(code),
            retryable: failure.retryable(matches!(status, 500..=599)),
            retry_after,
        },
    }
}

// ---- transport ----------------------------------------------------------------

/// Sends each request once with reqwest; an error status becomes an
/// [`HttpFailure`] boxed in async-openai's error.
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
            let response = http.execute(request).await.map_err(OpenAIError::Reqwest)?;
            if response.status().is_success() {
                return Ok(response);
            }
            let failure = HttpFailure::read(response)
                .await
                .map_err(OpenAIError::Reqwest)?;
            Err(OpenAIError::Boxed(Box::new(failure)))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failure(status: u16, body: &str, retry_after: Option<Duration>) -> HttpFailure {
        HttpFailure {
            status,
            retry_after,
            should_retry: None,
            body: body.to_owned(),
        }
    }

    #[test]
    fn statuses_are_classified() {
        let body = r#"{"error": {"message": "slow down", "type": "requests", "param": null, "code": "rate_limit_exceeded"}}"#;
        let f = from_status(&failure(429, body, Some(Duration::from_secs(1))));
        assert!(f.retryable);
        assert_eq!(
            f.error,
            ModelError::RateLimited {
                retry_after: Some(Duration::from_secs(1)),
                message: "slow down".into()
            }
        );

        let quota = r#"{"error": {"message": "no money", "type": "insufficient_quota", "param": null, "code": null}}"#;
        let f = from_status(&failure(429, quota, None));
        assert!(!f.retryable);
        assert!(
            matches!(f.error, ModelError::Api { status: 429, ref code, .. } if code.as_deref() == Some("insufficient_quota"))
        );

        let f = from_status(&failure(503, "upstream down", None));
        assert!(f.retryable);
        assert_eq!(
            f.error,
            ModelError::Api {
                status: 503,
                message: "upstream down".into(),
                code: None
            }
        );

        let f = from_status(&failure(404, "", None));
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
}
