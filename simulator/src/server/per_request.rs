//! Faults and latencies one request asks for by header, besides the
//! seeded rates:
//!
//! - `x-sim-fault: 429` (`; retry-after=2s`, default 1s), `500`,
//!   `overloaded` (529 in Anthropic's format, 503 in OpenAI's),
//!   `disconnect` (`; after=3` chunks), `stall` (`; for=2s`, default 10s),
//!   `malformed` (the first call's arguments cut short), `unknown_tool`,
//!   `duplicate_ids`
//! - `x-sim-latency: 250ms`: this reply's time to first token

use std::time::Duration;

use hyper::header::{HeaderMap, HeaderName};

use crate::engine::fault::Fault;
use crate::engine::latency_spec::duration_ms;
use crate::wire::ApiError;

/// The header naming a fault for this request.
pub(crate) const FAULT: &str = "x-sim-fault";
/// The header giving this reply's time to first token.
pub(crate) const LATENCY: &str = "x-sim-latency";

/// The headers' names as looked up: a `&str` would be parsed at each lookup.
const FAULT_NAME: HeaderName = HeaderName::from_static(FAULT);
const LATENCY_NAME: HeaderName = HeaderName::from_static(LATENCY);

/// Whether any header is one of the simulator's own (`x-sim-...`): one
/// pass over a request's few names costs less than looking each of them
/// up by hash, and most requests have none.
pub(crate) fn names_sim_header(headers: &HeaderMap) -> bool {
    headers
        .keys()
        .any(|name| name.as_str().starts_with("x-sim-"))
}

/// The fault and latency the request's headers ask for.
pub(crate) fn read(headers: &HeaderMap) -> Result<(Option<Fault>, Option<Duration>), ApiError> {
    if !names_sim_header(headers) {
        return Ok((None, None));
    }
    let text = |name: &HeaderName| {
        headers.get(name).map(|value| {
            value
                .to_str()
                .map_err(|_| bad(name.as_str(), "is not ASCII text"))
                .map(str::trim)
        })
    };
    let fault = text(&FAULT_NAME).transpose()?.map(fault).transpose()?;
    let latency = text(&LATENCY_NAME)
        .transpose()?
        .map(|spec| duration(LATENCY, spec))
        .transpose()?;
    Ok((fault, latency))
}

fn bad(header: &str, problem: impl std::fmt::Display) -> ApiError {
    ApiError::invalid_request(
        format!("toolcall-sim: the `{header}` header {problem}"),
        None,
    )
}

fn duration(header: &str, spec: &str) -> Result<Duration, ApiError> {
    duration_ms(spec, spec)
        .map(|ms| Duration::from_secs_f64(ms / 1000.0))
        .map_err(|e| bad(header, e))
}

/// `kind` or `kind; key=value`.
fn fault(spec: &str) -> Result<Fault, ApiError> {
    let (kind, param) = match spec.split_once(';') {
        None => (spec, None),
        Some((kind, rest)) => {
            let (key, value) = rest
                .split_once('=')
                .ok_or_else(|| bad(FAULT, format!("`{spec}`: a parameter is `key=value`")))?;
            (kind.trim(), Some((key.trim(), value.trim())))
        }
    };
    let wrong_param = |key: &str| {
        bad(
            FAULT,
            format!("`{spec}`: `{key}` is not a parameter of `{kind}`"),
        )
    };
    let fault = match kind.to_ascii_lowercase().as_str() {
        "429" | "rate_limited" => Fault::RateLimited {
            retry_after_ms: match param {
                None => 1000,
                Some(("retry-after" | "retry_after", value)) => {
                    duration(FAULT, value)?.as_millis() as u64
                }
                Some((key, _)) => return Err(wrong_param(key)),
            },
        },
        "500" | "server_error" => Fault::ServerError,
        "503" | "529" | "overloaded" => Fault::Overloaded,
        "disconnect" => {
            Fault::Disconnect {
                after_chunks: match param {
                    None => None,
                    Some(("after", value)) => Some(value.parse().map_err(|_| {
                        bad(FAULT, format!("`{spec}`: `after` is a number of chunks"))
                    })?),
                    Some((key, _)) => return Err(wrong_param(key)),
                },
            }
        }
        "stall" => Fault::Stall {
            ms: match param {
                None => 10_000,
                Some(("for", value)) => duration(FAULT, value)?.as_millis() as u64,
                Some((key, _)) => return Err(wrong_param(key)),
            },
        },
        "malformed" | "malformed_arguments" => Fault::MalformedArguments,
        "unknown_tool" => Fault::UnknownTool,
        "duplicate_ids" => Fault::DuplicateIds,
        _ => {
            return Err(bad(
                FAULT,
                format!(
                    "`{spec}` names no fault: use 429, 500, overloaded, disconnect, stall, malformed, unknown_tool or duplicate_ids"
                ),
            ));
        }
    };
    if param.is_some()
        && matches!(
            fault,
            Fault::ServerError
                | Fault::Overloaded
                | Fault::MalformedArguments
                | Fault::UnknownTool
                | Fault::DuplicateIds
        )
    {
        return Err(wrong_param(param.map_or("", |p| p.0)));
    }
    Ok(fault)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_fault_spelling_and_its_errors() {
        let cases = [
            (
                "429",
                Fault::RateLimited {
                    retry_after_ms: 1000,
                },
            ),
            (
                "429; retry-after=2s",
                Fault::RateLimited {
                    retry_after_ms: 2000,
                },
            ),
            ("500", Fault::ServerError),
            ("overloaded", Fault::Overloaded),
            (
                "disconnect;after=3",
                Fault::Disconnect {
                    after_chunks: Some(3),
                },
            ),
            ("stall; for=250ms", Fault::Stall { ms: 250 }),
            ("malformed", Fault::MalformedArguments),
        ];
        for (spec, want) in cases {
            assert_eq!(fault(spec).ok(), Some(want), "{spec}");
        }
        for spec in ["418", "500; x=1", "stall; for=fast", "429 retry"] {
            assert!(fault(spec).is_err(), "{spec}");
        }
    }
}
