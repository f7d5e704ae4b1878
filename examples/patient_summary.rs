//! The clinical dashboard: a model summarizes a patient by calling four tools
//! on a real database, and toolcall runs the four calls at once.
//!
//! ```text
//! cargo run --example patient_summary                    # P-00001, offline
//! cargo run --example patient_summary -- P-00002 --stream
//! cargo run --example patient_summary -- P-99999         # no such patient
//! cargo run --example patient_summary -- --provider openai-responses
//! cargo run --example patient_summary -- --provider gemini     # Gemini's wire format
//! DATABASE_URL=postgres://user:pass@localhost/clinic cargo run --example patient_summary
//! OPENAI_API_KEY=sk-... cargo run --example patient_summary  # the real model
//! OTEL_EXPORTER_OTLP_ENDPOINT=http://localhost:4318 cargo run --example patient_summary
//! ```
//!
//! - Database: embedded SQLite in `target/patient_summary.sqlite3`, created
//!   and seeded on first run; PostgreSQL when `DATABASE_URL` is
//!   `postgres://...` (same queries; the tables are created if absent).
//! - Model: the simulator (`toolcall-sim`, offline, with realistic latencies)
//!   unless the provider's API key is set (`OPENAI_API_KEY`; then
//!   `OPENAI_BASE_URL` and `OPENAI_MODEL` are honoured too).
//! - Tracing: with `OTEL_EXPORTER_OTLP_ENDPOINT` set, the run's OpenTelemetry
//!   GenAI spans (`invoke_agent`, `chat`, `execute_tool`) and metrics go
//!   there over OTLP http/protobuf (`toolcall-otel`, `toolcall::otel` in an
//!   application with the `otel` feature).
//! - It prints the calls the model made, each call's time, the same round run
//!   sequentially and in parallel, and the summary; and writes the two runs
//!   as an SVG timeline under `target/`.

#[path = "patient_summary/app.rs"]
mod app;
#[path = "patient_summary/db.rs"]
mod db;
#[path = "patient_summary/summary.rs"]
mod summary;
#[path = "patient_summary/tools.rs"]
mod tools;

use std::process::ExitCode;

use app::{Env, Error, Options, Parsed, USAGE};

#[tokio::main]
async fn main() -> ExitCode {
    let options = match Options::parse(std::env::args().skip(1)) {
        Ok(Parsed::Run(options)) => options,
        Ok(Parsed::Help) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("error: {message}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    // Exported when a collector is named; flushed when `_otel` drops.
    let _otel = match otel_from_env() {
        Ok(guard) => guard,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::FAILURE;
        }
    };
    match app::run(&options, &Env::from_process(), &mut std::io::stdout()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(Error::Output(e)) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

/// OTLP export when `OTEL_EXPORTER_OTLP_ENDPOINT` (or the traces endpoint)
/// is set, saying where; nothing otherwise.
fn otel_from_env() -> Result<Option<toolcall_otel::OtelGuard>, toolcall_otel::OtelError> {
    let named = [
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    ]
    .iter()
    .any(|v| std::env::var_os(v).is_some_and(|v| !v.is_empty()));
    if !named {
        return Ok(None);
    }
    let guard = toolcall_otel::init()?;
    println!(
        "OpenTelemetry: GenAI spans and metrics over OTLP http/protobuf to {}",
        guard.traces_endpoint()
    );
    Ok(Some(guard))
}
