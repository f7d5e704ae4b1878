//! OpenTelemetry GenAI spans as `tracing` spans: `invoke_agent {name}` for a
//! run, `chat {model}` for each model request, `execute_tool {tool}` for each
//! call, with the conventions' attribute names as field names and the
//! `otel.name` / `otel.kind` / `otel.status_code` fields that
//! `tracing-opentelemetry` maps onto the exported span.
//!
//! Names, kinds and attributes follow the GenAI semantic conventions as
//! published in open-telemetry/semantic-conventions before they moved to
//! their own repository (`docs/gen-ai/gen-ai-spans.md`,
//! `docs/gen-ai/gen-ai-agent-spans.md`, `docs/gen-ai/gen-ai-metrics.md`,
//! `docs/registry/attributes/gen-ai.md` at commit 953276ff, v1.56.0).
//!
//! Every span is at `INFO` level with target `toolcall::genai`, so a
//! subscriber that does not want them filters them out by target, and with
//! no subscriber they cost one check of a cached interest per span.
//!
//! Content (messages, system instructions, tool definitions, tool arguments
//! and results) is not recorded unless asked for: set
//! `OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true` or call
//! [`set_capture_content`]. Request headers (API keys) are never recorded.

mod content;
pub(crate) mod spans;

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU8, Ordering};

/// The variable that turns content capture on, as the conventions' Python
/// instrumentations name it.
pub const CAPTURE_CONTENT_VAR: &str = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT";

/// The `tracing` target of every GenAI span.
pub const TARGET: &str = "toolcall::genai";

/// 0: not decided yet (read the variable), 1: off, 2: on.
static CAPTURE: AtomicU8 = AtomicU8::new(0);

/// Whether message content and tool arguments and results are recorded on
/// the spans: [`set_capture_content`] if called, else
/// `OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true` (read once).
pub fn capture_content() -> bool {
    match CAPTURE.load(Ordering::Relaxed) {
        1 => false,
        2 => true,
        _ => {
            let on = std::env::var(CAPTURE_CONTENT_VAR)
                .is_ok_and(|v| v.trim().eq_ignore_ascii_case("true"));
            // A concurrent `set_capture_content` wins over the variable.
            let _ = CAPTURE.compare_exchange(
                0,
                if on { 2 } else { 1 },
                Ordering::Relaxed,
                Ordering::Relaxed,
            );
            CAPTURE.load(Ordering::Relaxed) == 2
        }
    }
}

/// Record (or stop recording) message content and tool arguments and
/// results on the GenAI spans of this process, whatever the variable says.
pub fn set_capture_content(on: bool) {
    CAPTURE.store(if on { 2 } else { 1 }, Ordering::Relaxed);
}

/// How a trace exporter names a span beyond this process and links one span
/// to another: a resumed run's `invoke_agent` span links to the run that
/// stopped, even in another process. `toolcall-otel` installs one; with
/// none, a resumed run only names the suspended state
/// (`toolcall.resumed_from`).
pub trait TraceLinks: Send + Sync {
    /// The W3C `traceparent` of `span`, when it is exported.
    fn traceparent(&self, span: &tracing::Span) -> Option<String>;
    /// Link `span` to the span a `traceparent` names (one that does not
    /// parse is ignored).
    fn link(&self, span: &tracing::Span, traceparent: &str);
}

static LINKS: OnceLock<Box<dyn TraceLinks>> = OnceLock::new();

/// Install the exporter's [`TraceLinks`] for this process; the first one
/// installed stays (false when one already was).
pub fn set_trace_links(links: impl TraceLinks + 'static) -> bool {
    LINKS.set(Box::new(links)).is_ok()
}

/// The `traceparent` of the current span, when an exporter gives one.
pub(crate) fn current_traceparent() -> Option<String> {
    let span = tracing::Span::current();
    if span.is_disabled() {
        return None;
    }
    LINKS.get()?.traceparent(&span)
}

/// Link `span` to the span `traceparent` names, when an exporter can.
pub(crate) fn link(span: &tracing::Span, traceparent: &str) {
    if let Some(links) = LINKS.get()
        && !span.is_disabled()
    {
        links.link(span, traceparent);
    }
}

/// Who answers a model's requests, as the GenAI spans and metrics name it:
/// [`Model::endpoint`](crate::Model::endpoint).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ModelEndpoint {
    /// `gen_ai.provider.name`: `openai`, `anthropic`, `gcp.gemini`, ... as
    /// the conventions list them; `_OTHER` when the model does not say.
    pub provider: &'static str,
    /// `server.address`: the host of the base URL, when there is one.
    pub address: Option<String>,
    /// `server.port`: the port of the base URL (the scheme's default when
    /// the URL names none).
    pub port: Option<u16>,
}

impl ModelEndpoint {
    /// A provider with no server (in process).
    pub const fn new(provider: &'static str) -> Self {
        ModelEndpoint {
            provider,
            address: None,
            port: None,
        }
    }

    /// A provider reached at this base URL: its host and port become
    /// `server.address` and `server.port`; a URL without a host gives none.
    pub fn at(provider: &'static str, base_url: &str) -> Self {
        let mut endpoint = ModelEndpoint::new(provider);
        let Some((scheme, rest)) = base_url.split_once("://") else {
            return endpoint;
        };
        // Userinfo (`user:key@host`) is dropped: it is never recorded.
        let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
        let host_port = authority.rsplit('@').next().unwrap_or_default();
        let (host, port) = match host_port.rsplit_once(':') {
            Some((host, port)) if !port.contains(']') => (host, port.parse().ok()),
            _ => (host_port, None),
        };
        if host.is_empty() {
            return endpoint;
        }
        endpoint.address = Some(host.trim_matches(['[', ']']).to_owned());
        endpoint.port = port.or(match scheme {
            "https" => Some(443),
            "http" => Some(80),
            _ => None,
        });
        endpoint
    }
}

impl Default for ModelEndpoint {
    fn default() -> Self {
        ModelEndpoint::new("_OTHER")
    }
}

#[cfg(test)]
mod tests {
    use super::ModelEndpoint;

    #[test]
    fn endpoint_from_base_url() {
        let e = ModelEndpoint::at("openai", "https://api.openai.com/v1");
        assert_eq!(e.address.as_deref(), Some("api.openai.com"));
        assert_eq!(e.port, Some(443));
        let e = ModelEndpoint::at("anthropic", "http://user:sk-secret@127.0.0.1:8080/v1/");
        assert_eq!(e.address.as_deref(), Some("127.0.0.1"));
        assert_eq!(e.port, Some(8080));
        let e = ModelEndpoint::at("openai", "http://[::1]:9000");
        assert_eq!(e.address.as_deref(), Some("::1"));
        assert_eq!(e.port, Some(9000));
        let e = ModelEndpoint::at("openai", "not a url");
        assert_eq!((e.address, e.port), (None, None));
    }
}
