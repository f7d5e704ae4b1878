//! One `tracing` span per call, `execute_tool {tool}` as the OpenTelemetry
//! GenAI conventions name it, with the tool, the call id, the outcome and
//! for a failure `error.type` and an error status: checked with a minimal
//! subscriber that keeps every span's fields.

mod common;

use std::collections::HashMap;
use std::sync::Mutex;

use common::{Behaviour, Scripted, paused_runtime};
use toolcall_runtime::{ToolCall, ToolSet};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};

type Fields = HashMap<String, String>;

/// Keeps the name and fields of every span.
#[derive(Default)]
struct Capture {
    spans: Mutex<Vec<(String, Fields)>>,
}

struct Collect<'a>(&'a mut Fields);

impl Visit for Collect<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}"));
    }
}

impl Subscriber for Capture {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, attrs: &Attributes<'_>) -> Id {
        let mut fields = Fields::new();
        attrs.record(&mut Collect(&mut fields));
        let mut spans = self.spans.lock().expect("lock");
        spans.push((attrs.metadata().name().to_owned(), fields));
        Id::from_u64(spans.len() as u64)
    }
    fn record(&self, span: &Id, values: &Record<'_>) {
        let mut spans = self.spans.lock().expect("lock");
        if let Some((_, fields)) = spans.get_mut(span.into_u64() as usize - 1) {
            values.record(&mut Collect(fields));
        }
    }
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, _: &Event<'_>) {}
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

#[test]
fn every_call_has_an_execute_tool_span_with_its_tool_id_and_outcome() {
    let tools = ToolSet::builder()
        .add(Scripted::new("work"))
        .build()
        .expect("tools");
    let ok = Behaviour {
        delay_ms: 30,
        fail: false,
        panic: false,
    }
    .arguments();
    let failing = Behaviour {
        delay_ms: 10,
        fail: true,
        panic: false,
    }
    .arguments();
    let calls = [
        ToolCall::new("a", "work", ok),
        ToolCall::new("b", "work", failing),
    ];
    let dispatch = tracing::Dispatch::new(Capture::default());
    let batch = tracing::dispatcher::with_default(&dispatch, || {
        paused_runtime().block_on(async { tools.dispatch(&calls).await })
    });
    assert_eq!(batch.results.len(), 2);
    let capture = dispatch.downcast_ref::<Capture>().expect("our subscriber");
    let spans = capture.spans.lock().expect("lock");
    let calls: Vec<&Fields> = spans
        .iter()
        .filter(|(name, _)| name == "execute_tool")
        .map(|(_, fields)| fields)
        .collect();
    assert_eq!(calls.len(), 2, "{spans:?}");
    let field = |i: usize, name: &str| calls[i].get(name).map(String::as_str);
    assert_eq!(field(0, "otel.name"), Some("execute_tool work"));
    assert_eq!(field(0, "otel.kind"), Some("internal"));
    assert_eq!(field(0, "gen_ai.operation.name"), Some("execute_tool"));
    assert_eq!(
        (
            field(0, "gen_ai.tool.name"),
            field(0, "gen_ai.tool.call.id")
        ),
        (Some("work"), Some("a"))
    );
    assert_eq!(field(0, "toolcall.outcome"), Some("ok"));
    assert_eq!(field(0, "error.type"), None);
    assert_eq!(field(0, "otel.status_code"), None);
    assert_eq!(
        (
            field(1, "gen_ai.tool.call.id"),
            field(1, "toolcall.outcome")
        ),
        (Some("b"), Some("tool_error"))
    );
    assert_eq!(field(1, "error.type"), Some("tool_error"));
    assert_eq!(field(1, "otel.status_code"), Some("ERROR"));
    // Content is not recorded unless asked for.
    assert_eq!(field(0, "gen_ai.tool.call.arguments"), None);
    assert_eq!(field(0, "gen_ai.tool.call.result"), None);
}
