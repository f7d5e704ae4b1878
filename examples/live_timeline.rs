//! A page that shows an agent's parallel tool calls live: the clinical
//! agent of the patient_summary example runs against the simulator, and
//! each event of its run (`Agent::run_stream`) reaches the page as a
//! server-sent event, which draws each call as a bar that grows while it
//! runs. A button runs it again sequentially, to compare.
//!
//! ```text
//! cargo run --example live_timeline                 # http://127.0.0.1:8000/
//! cargo run --example live_timeline -- --port 8080
//! ```

#[path = "patient_summary/app.rs"]
#[allow(dead_code)]
mod app;
#[path = "patient_summary/db.rs"]
mod db;
#[path = "live_timeline/server.rs"]
mod server;
#[path = "patient_summary/summary.rs"]
#[allow(dead_code)]
mod summary;
#[path = "patient_summary/tools.rs"]
mod tools;

use std::process::ExitCode;
use std::sync::Arc;

const USAGE: &str = "usage: live_timeline [--port PORT]   (default 8000, on 127.0.0.1)";

#[tokio::main]
async fn main() -> ExitCode {
    let port = match port(std::env::args().skip(1)) {
        Ok(port) => port,
        Err(message) => {
            eprintln!("error: {message}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let clinic = match server::Clinic::open().await {
        Ok(clinic) => Arc::new(clinic),
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::FAILURE;
        }
    };
    let listener = match tokio::net::TcpListener::bind(("127.0.0.1", port)).await {
        Ok(listener) => listener,
        Err(error) => {
            eprintln!("error: cannot listen on 127.0.0.1:{port}: {error}");
            return ExitCode::FAILURE;
        }
    };
    println!("Open http://127.0.0.1:{port}/ (Ctrl-C stops)");
    match server::serve(listener, clinic).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

/// The port from `--port N` (or `--port=N`); 8000 without it.
fn port(mut args: impl Iterator<Item = String>) -> Result<u16, String> {
    let mut port = 8000;
    while let Some(arg) = args.next() {
        let value = match arg.as_str() {
            "--port" => args.next().ok_or("`--port` needs a number")?,
            other => match other.strip_prefix("--port=") {
                Some(value) => value.to_owned(),
                None if other == "-h" || other == "--help" => {
                    return Err("help requested".to_owned());
                }
                None => return Err(format!("unknown argument `{other}`")),
            },
        };
        port = value
            .parse()
            .map_err(|_| format!("`--port` takes a port number, not `{value}`"))?;
    }
    Ok(port)
}
