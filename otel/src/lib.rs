//! OTLP export of [toolcall](https://docs.rs/toolcall)'s OpenTelemetry GenAI
//! spans and metrics in one call.
//!
//! toolcall's runs, model requests and tool calls are `tracing` spans named
//! and attributed as OpenTelemetry's GenAI semantic conventions say (see
//! `toolcall::telemetry`). This crate (`toolcall::otel` with the `otel`
//! feature) installs a subscriber that exports them over OTLP:
//!
//! ```no_run
//! # fn main() -> Result<(), toolcall_otel::OtelError> {
//! let otel = toolcall_otel::init()?; // flushes and shuts down on drop
//! println!("exporting to {}", otel.traces_endpoint());
//! # Ok(())
//! # }
//! ```
//!
//! The standard variables configure it: `OTEL_EXPORTER_OTLP_ENDPOINT`
//! (default `http://localhost:4318`; `/v1/traces` and `/v1/metrics` are
//! added), `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` and
//! `OTEL_EXPORTER_OTLP_METRICS_ENDPOINT` (taken as they are),
//! `OTEL_EXPORTER_OTLP_PROTOCOL` (`http/protobuf`, the default and the only
//! one built in: no gRPC stack), `OTEL_SERVICE_NAME` and
//! `OTEL_RESOURCE_ATTRIBUTES`; and
//! `OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true` records
//! messages and tool arguments and results (off by default).
//!
//! Metrics (`gen_ai.client.operation.duration`, `gen_ai.client.token.usage`)
//! are read off the spans by [`GenAiMetrics`] and exported every
//! `OTEL_METRIC_EXPORT_INTERVAL` ms (60 s by default) and at shutdown.

mod links;
mod metrics;

use std::fmt;

use opentelemetry::metrics::MeterProvider as _;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{MetricExporter, Protocol, SpanExporter, WithExportConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::metrics::{PeriodicReader, SdkMeterProvider};
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::Layer;
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::registry::LookupSpan;

pub use links::OtelLinks;
pub use metrics::GenAiMetrics;
pub use toolcall_runtime::telemetry::{CAPTURE_CONTENT_VAR, capture_content, set_capture_content};

/// The instrumentation scope of the spans and metrics.
const SCOPE: &str = "toolcall";

/// The OTLP endpoint when the variables name none (the specification's).
const DEFAULT_ENDPOINT: &str = "http://localhost:4318";

/// Why the exporter could not be set up.
#[derive(Debug)]
#[non_exhaustive]
pub enum OtelError {
    /// `OTEL_EXPORTER_OTLP_PROTOCOL` names a protocol not built in.
    Protocol(String),
    /// The exporter could not be built (a bad endpoint, ...).
    Exporter(String),
    /// A global `tracing` subscriber is already set: add [`layer`] to it
    /// instead.
    SubscriberSet(String),
}

impl fmt::Display for OtelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OtelError::Protocol(p) => write!(
                f,
                "OTEL_EXPORTER_OTLP_PROTOCOL={p:?} is not supported: toolcall exports \
                 OTLP over http/protobuf only"
            ),
            OtelError::Exporter(e) => write!(f, "the OTLP exporter could not be built: {e}"),
            OtelError::SubscriberSet(e) => write!(
                f,
                "a global tracing subscriber is already set ({e}); add toolcall_otel::layer to it"
            ),
        }
    }
}

impl std::error::Error for OtelError {}

/// Export over OTLP as the standard variables say, with a global `tracing`
/// subscriber that keeps `INFO` and above: [`Otel::from_env`] installed.
pub fn init() -> Result<OtelGuard, OtelError> {
    Otel::from_env().install()
}

/// The exporter's settings: read from the variables, each overridable.
#[derive(Debug, Clone)]
pub struct Otel {
    traces_endpoint: String,
    metrics_endpoint: String,
    protocol: String,
    service_name: Option<String>,
    capture_content: Option<bool>,
    level: LevelFilter,
}

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// A signal's endpoint: its own variable as it is, else the base with the
/// signal's path.
fn signal_endpoint(own: &str, base: &str, path: &str) -> String {
    var(own).unwrap_or_else(|| format!("{}/{path}", base.trim_end_matches('/')))
}

impl Otel {
    /// The settings the `OTEL_*` variables give.
    pub fn from_env() -> Otel {
        let base =
            var("OTEL_EXPORTER_OTLP_ENDPOINT").unwrap_or_else(|| DEFAULT_ENDPOINT.to_owned());
        Otel {
            traces_endpoint: signal_endpoint(
                "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
                &base,
                "v1/traces",
            ),
            metrics_endpoint: signal_endpoint(
                "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
                &base,
                "v1/metrics",
            ),
            protocol: var("OTEL_EXPORTER_OTLP_PROTOCOL")
                .unwrap_or_else(|| "http/protobuf".to_owned()),
            service_name: None,
            capture_content: None,
            level: LevelFilter::INFO,
        }
    }

    /// Send to this OTLP base URL (`/v1/traces` and `/v1/metrics` added).
    pub fn endpoint(mut self, base: &str) -> Self {
        let base = base.trim_end_matches('/');
        self.traces_endpoint = format!("{base}/v1/traces");
        self.metrics_endpoint = format!("{base}/v1/metrics");
        self
    }

    /// The service's name, over `OTEL_SERVICE_NAME`.
    pub fn service_name(mut self, name: impl Into<String>) -> Self {
        self.service_name = Some(name.into());
        self
    }

    /// Record messages and tool arguments and results (or not), over
    /// `OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT`.
    pub fn capture_content(mut self, on: bool) -> Self {
        self.capture_content = Some(on);
        self
    }

    /// The most verbose level exported (default `INFO`, where every GenAI
    /// span is).
    pub fn level(mut self, level: LevelFilter) -> Self {
        self.level = level;
        self
    }

    /// Where the spans go.
    pub fn traces_endpoint(&self) -> &str {
        &self.traces_endpoint
    }

    /// Build the exporters and providers without installing anything: for a
    /// subscriber of your own, add [`layer`] with the guard's providers.
    pub fn build(self) -> Result<OtelGuard, OtelError> {
        if self.protocol != "http/protobuf" {
            return Err(OtelError::Protocol(self.protocol));
        }
        if let Some(on) = self.capture_content {
            set_capture_content(on);
        }
        let mut resource = Resource::builder();
        if let Some(name) = &self.service_name {
            resource = resource.with_service_name(name.clone());
        } else if var("OTEL_SERVICE_NAME").is_none() {
            // The program's name rather than `unknown_service`.
            if let Some(name) = program_name() {
                resource = resource.with_service_name(name);
            }
        }
        let resource = resource.build();
        // The exporters' reqwest is the runtime's, built without a TLS
        // provider: install the one the models use before building them.
        toolcall_runtime::providers::install_tls_provider();
        let spans = SpanExporter::builder()
            .with_http()
            .with_protocol(Protocol::HttpBinary)
            .with_endpoint(self.traces_endpoint.clone())
            .build()
            .map_err(|e| OtelError::Exporter(e.to_string()))?;
        let metrics = MetricExporter::builder()
            .with_http()
            .with_protocol(Protocol::HttpBinary)
            .with_endpoint(self.metrics_endpoint.clone())
            .build()
            .map_err(|e| OtelError::Exporter(e.to_string()))?;
        let tracer = SdkTracerProvider::builder()
            .with_batch_exporter(spans)
            .with_resource(resource.clone())
            .build();
        let meter = SdkMeterProvider::builder()
            .with_reader(PeriodicReader::builder(metrics).build())
            .with_resource(resource)
            .build();
        Ok(OtelGuard {
            tracer,
            meter,
            traces_endpoint: self.traces_endpoint,
            level: self.level,
        })
    }

    /// [`Otel::build`], then a global subscriber with [`layer`] at the
    /// chosen level.
    pub fn install(self) -> Result<OtelGuard, OtelError> {
        let guard = self.build()?;
        let subscriber = tracing_subscriber::registry()
            .with(layer(&guard.tracer, &guard.meter).with_filter(guard.level));
        tracing::subscriber::set_global_default(subscriber)
            .map_err(|e| OtelError::SubscriberSet(e.to_string()))?;
        Ok(guard)
    }
}

fn program_name() -> Option<String> {
    let exe = std::env::current_exe().ok()?;
    Some(exe.file_stem()?.to_string_lossy().into_owned())
}

/// The `tracing` layer that exports spans to `tracer` (through
/// tracing-opentelemetry, which maps `otel.name`, `otel.kind` and
/// `otel.status_code`) and records the GenAI metrics on `meter`. It also
/// installs [`OtelLinks`], so a resumed run links to the one that stopped.
pub fn layer<S>(tracer: &SdkTracerProvider, meter: &SdkMeterProvider) -> impl Layer<S> + use<S>
where
    S: tracing::Subscriber + for<'a> LookupSpan<'a>,
{
    toolcall_runtime::telemetry::set_trace_links(OtelLinks);
    tracing_opentelemetry::layer()
        .with_tracer(tracer.tracer(SCOPE))
        .and_then(GenAiMetrics::new(&meter.meter(SCOPE)))
}

/// The running exporters: dropping the guard flushes what is buffered and
/// shuts them down.
pub struct OtelGuard {
    tracer: SdkTracerProvider,
    meter: SdkMeterProvider,
    traces_endpoint: String,
    level: LevelFilter,
}

impl fmt::Debug for OtelGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OtelGuard")
            .field("traces_endpoint", &self.traces_endpoint)
            .finish_non_exhaustive()
    }
}

impl OtelGuard {
    /// Where the spans go.
    pub fn traces_endpoint(&self) -> &str {
        &self.traces_endpoint
    }

    /// The span provider, for [`layer`] in a subscriber of your own.
    pub fn tracer_provider(&self) -> &SdkTracerProvider {
        &self.tracer
    }

    /// The metric provider, for [`layer`] in a subscriber of your own.
    pub fn meter_provider(&self) -> &SdkMeterProvider {
        &self.meter
    }

    /// Send what is buffered now; the error says what could not be sent.
    pub fn flush(&self) -> Result<(), String> {
        let spans = self.tracer.force_flush().map_err(|e| e.to_string());
        let metrics = self.meter.force_flush().map_err(|e| e.to_string());
        spans.and(metrics)
    }
}

impl Drop for OtelGuard {
    fn drop(&mut self) {
        // Export errors were reported by the exporters; nothing to add here.
        let _ = self.tracer.shutdown();
        let _ = self.meter.shutdown();
    }
}
