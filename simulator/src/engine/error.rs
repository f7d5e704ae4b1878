//! An API error as the simulator decides it: a status, a message and the
//! OpenAI fields; each wire format writes it in its own shape.

use std::time::Duration;

use serde_json::{Value, json};
use toolcall_runtime::ModelError;

/// An error as the API reports it: a status and `{"error": {"message", "type", "param", "code"}}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// The HTTP status.
    pub status: u16,
    /// The human-readable message.
    pub message: String,
    /// The error's `type` (`invalid_request_error`, `server_error`, `requests`...).
    pub kind: String,
    /// The request parameter at fault, if any.
    pub param: Option<String>,
    /// The machine-readable code, if any.
    pub code: Option<String>,
    /// The `Retry-After` of a 429.
    pub retry_after: Option<Duration>,
}

impl ApiError {
    fn new(status: u16, kind: &str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            message: message.into(),
            kind: kind.to_owned(),
            param: None,
            code: None,
            retry_after: None,
        }
    }

    fn param(mut self, param: impl Into<String>) -> Self {
        self.param = Some(param.into());
        self
    }

    fn code(mut self, code: impl Into<String>) -> Self {
        self.code = Some(code.into());
        self
    }

    /// 400 for a request that is not valid (the message says why).
    pub fn invalid_request(message: impl Into<String>, param: Option<String>) -> Self {
        ApiError {
            param,
            ..ApiError::new(400, "invalid_request_error", message)
        }
    }

    /// 400 for a body that is not JSON, worded as the real API does.
    pub fn invalid_json() -> Self {
        ApiError::new(
            400,
            "invalid_request_error",
            "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON.)",
        )
    }

    /// 400 for a request without `model`.
    pub fn missing_model() -> Self {
        ApiError::new(
            400,
            "invalid_request_error",
            "you must provide a model parameter",
        )
    }

    /// 400 for a request without `messages`.
    pub fn missing_messages() -> Self {
        ApiError::new(
            400,
            "invalid_request_error",
            "Missing required parameter: 'messages'.",
        )
        .param("messages")
        .code("missing_required_parameter")
    }

    /// 400 for a parameter of the wrong JSON type.
    pub fn invalid_type(param: &str, expected: &str, got: &str) -> Self {
        ApiError::new(
            400,
            "invalid_request_error",
            format!("Invalid type for '{param}': expected {expected}, but got {got} instead."),
        )
        .param(param)
        .code("invalid_type")
    }

    /// 400 for a parameter with a value the API does not take.
    pub fn invalid_value(param: &str, message: impl Into<String>) -> Self {
        ApiError::new(400, "invalid_request_error", message)
            .param(param)
            .code("invalid_value")
    }

    /// 400 for an empty array where one item at least is needed.
    pub fn empty_array(param: &str) -> Self {
        ApiError::new(
            400,
            "invalid_request_error",
            format!("Invalid '{param}': empty array. Expected an array with minimum length 1, but got an empty array instead."),
        )
        .param(param)
        .code("empty_array")
    }

    /// 400 for a number below its minimum.
    pub fn below_minimum(
        param: &str,
        min: impl std::fmt::Display,
        got: impl std::fmt::Display,
    ) -> Self {
        ApiError::new(
            400,
            "invalid_request_error",
            format!("Invalid '{param}': number below minimum value. Expected a value >= {min}, but got {got} instead."),
        )
        .param(param)
        .code("below_min_value")
    }

    /// 400 for a number above its maximum.
    pub fn above_maximum(
        param: &str,
        max: impl std::fmt::Display,
        got: impl std::fmt::Display,
    ) -> Self {
        ApiError::new(
            400,
            "invalid_request_error",
            format!("Invalid '{param}': number above maximum value. Expected a value <= {max}, but got {got} instead."),
        )
        .param(param)
        .code("above_max_value")
    }

    /// 400 for a parameter the simulator does not simulate: said plainly,
    /// rather than answered as if honoured.
    pub fn unsupported(param: &str, supported: &str) -> Self {
        ApiError::new(
            400,
            "invalid_request_error",
            format!("toolcall-sim does not simulate '{param}': it gives {supported}. Leave '{param}' out."),
        )
        .param(param)
        .code("unsupported_parameter")
    }

    /// 401 for a missing or wrong bearer key.
    pub fn unauthorized(given: Option<&str>) -> Self {
        match given {
            None => ApiError::new(
                401,
                "invalid_request_error",
                "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
            ),
            Some(key) => {
                // Echo only the end of the key, as the real API does.
                let tail: String = key
                    .chars()
                    .rev()
                    .take(4)
                    .collect::<Vec<_>>()
                    .into_iter()
                    .rev()
                    .collect();
                ApiError::new(
                    401,
                    "invalid_request_error",
                    format!("Incorrect API key provided: ****{tail}."),
                )
                .code("invalid_api_key")
            }
        }
    }

    /// 404 for a path the API does not have.
    pub fn not_found(method: &str, path: &str) -> Self {
        ApiError::new(
            404,
            "invalid_request_error",
            format!("Invalid URL ({method} {path})"),
        )
    }

    /// 400 for a top-level body parameter the API does not have, in
    /// OpenAI's words (`Unrecognized request argument supplied: x` on Chat,
    /// `Unknown parameter: 'x'.` on Responses, with its code).
    pub(crate) fn unknown_parameter(message: String, param: &str, code: Option<&str>) -> Self {
        let error = ApiError::new(400, "invalid_request_error", message);
        match code {
            Some(code) => error.param(param).code(code),
            None => error,
        }
    }

    /// 501 for an endpoint the simulator does not simulate: the message
    /// names it and what to use instead; clients are told not to retry.
    pub(crate) fn not_simulated(what: &str, instead: &str) -> Self {
        ApiError::new(
            501,
            "api_error",
            format!("toolcall-sim does not simulate {what}; {instead}"),
        )
        .code("not_simulated")
    }

    /// 405 for a known path with the wrong method.
    pub fn method_not_allowed(method: &str, path: &str) -> Self {
        ApiError::new(
            405,
            "invalid_request_error",
            format!("Method {method} is not allowed on {path}"),
        )
        .code("method_not_allowed")
    }

    /// 413 for a body over the size limit.
    pub fn too_large(limit: usize) -> Self {
        ApiError::new(
            413,
            "invalid_request_error",
            format!("The request body is larger than {limit} bytes"),
        )
    }

    /// 408 for a request body that stopped arriving.
    pub fn body_timeout(idle: Duration) -> Self {
        ApiError::new(
            408,
            "invalid_request_error",
            format!(
                "The request body stopped arriving for {} ms: the connection is closed",
                idle.as_millis()
            ),
        )
        .code("request_timeout")
    }

    /// 429 asking to retry after `wait`.
    pub fn rate_limited(model: &str, wait: Duration) -> Self {
        ApiError {
            retry_after: Some(wait),
            ..ApiError::new(
                429,
                "requests",
                format!(
                    "Rate limit reached for {model} (simulated). Please try again in {:.3}s.",
                    wait.as_secs_f64()
                ),
            )
            .code("rate_limit_exceeded")
        }
    }

    /// 500, worded as the real API does.
    pub fn server_error() -> Self {
        ApiError::new(
            500,
            "server_error",
            "The server had an error while processing your request. Sorry about that!",
        )
    }

    /// 529 `overloaded_error` (Anthropic's status; OpenAI's format answers 503).
    pub fn overloaded() -> Self {
        ApiError::new(529, "overloaded_error", "Overloaded")
    }

    /// 500 for a request past the end of the script.
    pub fn script_exhausted(turns: usize, request: usize) -> Self {
        ApiError::new(
            500,
            "server_error",
            format!(
                "toolcall-sim: the script ran out: it has {turns} turn(s), all used, and request #{} has no reply; add turns to the script",
                request + 1
            ),
        )
        .code("script_exhausted")
    }

    /// 404 for a request no fixture matches (with no script to fall back on).
    pub(crate) fn no_fixture(message: String) -> Self {
        ApiError::new(404, "not_found_error", message).code("no_fixture_matched")
    }

    /// A 429's `Retry-After` (whole seconds, rounded up, as the header's
    /// grammar demands) and `retry-after-ms` (what the official SDKs prefer).
    pub(crate) fn retry_after_headers(&self) -> Option<(u64, u64)> {
        let wait = self.retry_after?;
        let ms = wait.as_millis() as u64;
        Some((ms.div_ceil(1000), ms))
    }

    /// The JSON body.
    pub fn body(&self) -> Value {
        json!({"error": {"message": self.message, "type": self.kind, "param": self.param, "code": self.code}})
    }

    /// The error as the runtime's model trait reports it.
    pub fn to_model_error(&self) -> ModelError {
        if self.status == 429 {
            ModelError::RateLimited {
                retry_after: self.retry_after,
                message: self.message.clone(),
            }
        } else {
            ModelError::Api {
                status: self.status,
                message: self.message.clone(),
                code: self.code.clone(),
            }
        }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.status, self.kind, self.message)
    }
}

impl std::error::Error for ApiError {}
