//! The patient_summary example's four clinical tools (demographics,
//! medications, allergies, recent labs), on the same database and with the
//! same simulated latencies, served to any MCP client.
//!
//! ```text
//! cargo run --example mcp_server                  # stdio
//! cargo run --example mcp_server -- --http 8000   # http://127.0.0.1:8000/mcp
//! ```
//!
//! A desktop MCP client starts it from its configuration (see the README's
//! MCP section); each `tools/call` runs through toolcall's dispatcher, and
//! concurrent calls run concurrently.

#[path = "patient_summary/db.rs"]
mod db;
#[path = "patient_summary/mcp.rs"]
mod mcp;
#[path = "patient_summary/tools.rs"]
mod tools;

use std::process::ExitCode;

use mcp::{Parsed, USAGE};

#[tokio::main]
async fn main() -> ExitCode {
    let transport = match mcp::parse(std::env::args().skip(1)) {
        Ok(Parsed::Serve(transport)) => transport,
        Ok(Parsed::Help) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("error: {message}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let database_url = std::env::var("DATABASE_URL")
        .ok()
        .filter(|url| !url.trim().is_empty());
    match mcp::run(transport, database_url.as_deref()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}
