//! What the OpenTelemetry tests share: in-memory exporters behind the layer
//! `toolcall::otel` installs, the patient_summary example run inside them,
//! and readers of the recorded spans' attributes.
#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

use opentelemetry::Value;
use opentelemetry_sdk::metrics::data::ResourceMetrics;
use opentelemetry_sdk::metrics::{InMemoryMetricExporter, PeriodicReader, SdkMeterProvider};
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider, SpanData};
use tracing_subscriber::layer::SubscriberExt;

/// Spans and metrics of what runs inside `work`, on this thread.
pub struct Recorded {
    pub spans: Vec<SpanData>,
    pub metrics: Vec<ResourceMetrics>,
}

pub async fn record<F: Future>(work: F) -> (F::Output, Recorded) {
    let spans = InMemorySpanExporter::default();
    let tracer = SdkTracerProvider::builder()
        .with_simple_exporter(spans.clone())
        .build();
    let metrics = InMemoryMetricExporter::default();
    let meter = SdkMeterProvider::builder()
        .with_reader(PeriodicReader::builder(metrics.clone()).build())
        .build();
    let subscriber = tracing_subscriber::registry().with(toolcall_otel::layer(&tracer, &meter));
    let output = {
        let _default = tracing::subscriber::set_default(subscriber);
        work.await
    };
    tracer.force_flush().expect("spans flushed");
    meter.force_flush().expect("metrics flushed");
    let recorded = Recorded {
        spans: spans.get_finished_spans().expect("spans"),
        metrics: metrics.get_finished_metrics().expect("metrics"),
    };
    (output, recorded)
}

pub fn attr<'a>(span: &'a SpanData, key: &str) -> Option<&'a Value> {
    span.attributes
        .iter()
        .find(|kv| kv.key.as_str() == key)
        .map(|kv| &kv.value)
}

pub fn text(span: &SpanData, key: &str) -> String {
    match attr(span, key) {
        Some(Value::String(s)) => s.as_str().to_owned(),
        other => panic!("{} has no string {key}: {other:?}", span.name),
    }
}

pub fn int(span: &SpanData, key: &str) -> i64 {
    match attr(span, key) {
        Some(Value::I64(n)) => *n,
        other => panic!("{} has no integer {key}: {other:?}", span.name),
    }
}

pub fn named<'a>(spans: &'a [SpanData], prefix: &str) -> Vec<&'a SpanData> {
    spans
        .iter()
        .filter(|s| s.name.starts_with(prefix))
        .collect()
}

/// A fresh SQLite file, removed on drop.
pub struct TempDb(PathBuf);

impl TempDb {
    fn new() -> TempDb {
        static N: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "toolcall-otel-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).expect("temp dir");
        TempDb(dir)
    }
}

impl Drop for TempDb {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub async fn example(args: &[&str]) -> Recorded {
    let temp = TempDb::new();
    let options = match crate::app::Options::parse(args.iter().map(|a| (*a).to_owned())) {
        Ok(crate::app::Parsed::Run(options)) => options,
        _ => panic!("bad arguments {args:?}"),
    };
    let env = crate::app::Env {
        database_url: Some(format!(
            "sqlite://{}?mode=rwc",
            temp.0.join("clinic.sqlite3").display()
        )),
        openai_api_key: None,
        openai_model: None,
        anthropic_api_key: None,
        anthropic_model: None,
        gemini_api_key: None,
        gemini_model: None,
        timeline: temp.0.join("timeline.svg"),
    };
    let mut out = Vec::new();
    let (result, recorded) = record(crate::app::run(&options, &env, &mut out)).await;
    assert!(result.is_ok(), "{}", String::from_utf8_lossy(&out));
    recorded
}

/// The one `invoke_agent` root and every span of its trace.
pub fn agent_trace(spans: &[SpanData]) -> (&SpanData, Vec<&SpanData>) {
    let roots = named(spans, "invoke_agent");
    assert_eq!(roots.len(), 1, "one run: {:#?}", names(spans));
    let root = roots[0];
    let trace = root.span_context.trace_id();
    let tree = spans
        .iter()
        .filter(|s| s.span_context.trace_id() == trace)
        .collect();
    (root, tree)
}

pub fn names(spans: &[SpanData]) -> Vec<String> {
    spans.iter().map(|s| s.name.to_string()).collect()
}
