//! The GenAI metrics, read off the GenAI spans as they close: a `tracing`
//! layer that records into OpenTelemetry histograms through the metrics API
//! (not tracing-opentelemetry's `MetricsLayer`, which cannot give an
//! instrument its unit nor its bucket boundaries).
//!
//! Names, units, buckets and attributes follow `docs/gen-ai/gen-ai-metrics.md`
//! of open-telemetry/semantic-conventions (commit 953276ff, v1.56.0):
//! - `gen_ai.client.operation.duration` (`s`) for every `chat`,
//!   `execute_tool` and `invoke_agent` span, by `gen_ai.operation.name`: a
//!   tool call's duration is this histogram with `execute_tool` and
//!   `gen_ai.tool.name`;
//! - `gen_ai.client.token.usage` (`{token}`) for each `chat` span, once with
//!   `gen_ai.token.type` `input` and once `output`.

use std::time::Instant;

use opentelemetry::KeyValue;
use opentelemetry::metrics::{Histogram, Meter};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing_subscriber::Layer;
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;

use toolcall_runtime::telemetry::TARGET;

/// `gen_ai.client.operation.duration` buckets, in seconds.
const DURATION_BUCKETS: [f64; 14] = [
    0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92,
];

/// `gen_ai.client.token.usage` buckets.
const TOKEN_BUCKETS: [f64; 14] = [
    1.0, 4.0, 16.0, 64.0, 256.0, 1024.0, 4096.0, 16384.0, 65536.0, 262144.0, 1048576.0, 4194304.0,
    16777216.0, 67108864.0,
];

/// Records the GenAI histograms from the spans of [`TARGET`].
pub struct GenAiMetrics {
    duration: Histogram<f64>,
    tokens: Histogram<u64>,
}

impl GenAiMetrics {
    /// The layer, with its instruments made on `meter`.
    pub fn new(meter: &Meter) -> Self {
        GenAiMetrics {
            duration: meter
                .f64_histogram("gen_ai.client.operation.duration")
                .with_unit("s")
                .with_description("GenAI operation duration.")
                .with_boundaries(DURATION_BUCKETS.to_vec())
                .build(),
            tokens: meter
                .u64_histogram("gen_ai.client.token.usage")
                .with_unit("{token}")
                .with_description("Number of input and output tokens used.")
                .with_boundaries(TOKEN_BUCKETS.to_vec())
                .build(),
        }
    }
}

/// What a GenAI span said so far, kept in its extensions.
#[derive(Default)]
struct Fields {
    started: Option<Instant>,
    attributes: Vec<KeyValue>,
    input_tokens: Option<u64>,
    output_tokens: Option<u64>,
    chat: bool,
}

/// The attributes the conventions put on the metrics (and the tool's name,
/// which tells one tool's durations from another's).
const METRIC_ATTRIBUTES: [&str; 8] = [
    "gen_ai.operation.name",
    "gen_ai.provider.name",
    "gen_ai.request.model",
    "gen_ai.response.model",
    "server.address",
    "server.port",
    "error.type",
    "gen_ai.tool.name",
];

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        let name = field.name();
        if name == "gen_ai.operation.name" && value == "chat" {
            self.chat = true;
        }
        if METRIC_ATTRIBUTES.contains(&name) {
            self.attributes.retain(|kv| kv.key.as_str() != name);
            self.attributes.push(KeyValue::new(name, value.to_owned()));
        }
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        match field.name() {
            "gen_ai.usage.input_tokens" => self.input_tokens = Some(value),
            "gen_ai.usage.output_tokens" => self.output_tokens = Some(value),
            name if METRIC_ATTRIBUTES.contains(&name) => {
                self.attributes.retain(|kv| kv.key.as_str() != name);
                self.attributes.push(KeyValue::new(
                    name,
                    i64::try_from(value).unwrap_or(i64::MAX),
                ));
            }
            _ => {}
        }
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        match u64::try_from(value) {
            Ok(value) => self.record_u64(field, value),
            Err(_) => self.record_debug(field, &value),
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if METRIC_ATTRIBUTES.contains(&field.name()) {
            self.record_str(field, &format!("{value:?}"));
        }
    }
}

impl<S> Layer<S> for GenAiMetrics
where
    S: tracing::Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        if attrs.metadata().target() != TARGET {
            return;
        }
        let Some(span) = ctx.span(id) else {
            return;
        };
        let mut fields = Fields {
            started: Some(Instant::now()),
            ..Fields::default()
        };
        attrs.record(&mut fields);
        span.extensions_mut().insert(fields);
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else {
            return;
        };
        if let Some(fields) = span.extensions_mut().get_mut::<Fields>() {
            values.record(fields);
        }
    }

    fn on_close(&self, id: Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(&id) else {
            return;
        };
        let Some(fields) = span.extensions_mut().remove::<Fields>() else {
            return;
        };
        if let Some(started) = fields.started {
            self.duration
                .record(started.elapsed().as_secs_f64(), &fields.attributes);
        }
        if !fields.chat {
            return;
        }
        // The token histogram has no `error.type` nor tool name.
        let mut attributes: Vec<KeyValue> = fields
            .attributes
            .into_iter()
            .filter(|kv| kv.key.as_str() != "error.type")
            .collect();
        for (kind, count) in [
            ("input", fields.input_tokens),
            ("output", fields.output_tokens),
        ] {
            if let Some(count) = count {
                attributes.push(KeyValue::new("gen_ai.token.type", kind));
                self.tokens.record(count, &attributes);
                attributes.pop();
            }
        }
    }
}
