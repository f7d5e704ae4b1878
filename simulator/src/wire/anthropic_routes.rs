//! The Messages API's endpoints besides `POST /v1/messages`:
//! `POST /v1/messages/count_tokens` (simulated: the input tokens a reply's
//! usage would count), `GET /v1/models` in Anthropic's shape (`ModelInfo`
//! pages), and Message Batches, refused by name.

use serde_json::{Value, json};

use super::ApiError;
use super::anthropic::{extra_input, read_request};

/// Every body parameter of `messages.count_tokens` in the official SDKs
/// (anthropic-sdk-python's `MessageCountTokensParams`, beta included).
const COUNT_PARAMETERS: &[&str] = &[
    "cache_control",
    "context_management",
    "mcp_servers",
    "messages",
    "model",
    "output_config",
    "output_format",
    "speed",
    "system",
    "thinking",
    "tool_choice",
    "tools",
];

/// The models listed when none are configured.
pub(crate) const DEFAULT_MODELS: [&str; 2] = ["claude-sonnet-4-5", "claude-haiku-4-5"];

/// `POST /v1/messages/count_tokens`: `{"input_tokens": n}`, the count a
/// `/v1/messages` reply to the same body reports in its usage; the body is
/// checked as `/v1/messages` checks it (but has no `max_tokens`).
pub(crate) fn count_tokens(body: &[u8]) -> Result<Value, ApiError> {
    let mut value: Value = match serde_json::from_slice(body) {
        Ok(value @ Value::Object(_)) => value,
        Ok(_) => return Err(ApiError::invalid_request("Input should be an object", None)),
        Err(e) => {
            return Err(ApiError::invalid_request(
                format!("There was an issue with your request body: {e}"),
                None,
            ));
        }
    };
    if let Some(name) = super::unknown_key(&value, COUNT_PARAMETERS) {
        return Err(extra_input(name));
    }
    // Read as a message request, which needs a `max_tokens`.
    if let Value::Object(map) = &mut value {
        map.insert("max_tokens".into(), json!(1));
    }
    let (request, _, _) = read_request(&value)?;
    Ok(json!({"input_tokens": crate::engine::input_tokens(&request)}))
}

/// The error of every Message Batches request.
pub(crate) fn batches() -> ApiError {
    ApiError::not_simulated(
        "Message Batches (`/v1/messages/batches`)",
        "send each request to `POST /v1/messages`",
    )
}

/// `GET /v1/models`: one page holding every model.
pub(crate) fn models(names: &[String], created: u64) -> Value {
    json!({
        "data": names.iter().map(|n| model(n, created)).collect::<Vec<_>>(),
        "has_more": false,
        "first_id": names.first(),
        "last_id": names.last(),
    })
}

/// One `ModelInfo`.
pub(crate) fn model(name: &str, created: u64) -> Value {
    json!({
        "type": "model",
        "id": name,
        "display_name": name,
        "created_at": rfc3339(created),
    })
}

/// 404 for a model not listed, as the API words it.
pub(crate) fn model_not_found(name: &str) -> ApiError {
    ApiError {
        status: 404,
        ..ApiError::invalid_request(format!("model: {name}"), None)
    }
}

/// Seconds since the epoch as an RFC 3339 UTC time (`2026-12-07T03:04:05Z`).
fn rfc3339(secs: u64) -> String {
    let (days, rest) = (secs / 86_400, secs % 86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_rfc3339() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_796_612_645), "2026-12-07T03:04:05Z");
    }
}
