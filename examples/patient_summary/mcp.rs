//! The four clinical tools as an MCP server: the logic of
//! `examples/mcp_server.rs`, apart from `main`, so tests serve it too.

use std::fmt;

use toolcall::mcp::{McpServer, McpServerError};
use toolcall::{BuildError, ToolSet};

use crate::db::{Db, DbError};
use crate::tools;

pub const USAGE: &str = "\
Serve the patient_summary example's four clinical tools to MCP clients.

usage: cargo run --example mcp_server -- [--http PORT]

  (no option)   serve one client over stdin and stdout, as desktop MCP
                clients run a server
  --http PORT   serve streamable HTTP at http://127.0.0.1:PORT/mcp
                (port 0: any free port) until Ctrl-C
  -h, --help    this text

environment:
  DATABASE_URL  postgres://user:password@host/db to use PostgreSQL instead of
                the embedded SQLite file under target/";

/// How the server talks to its clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// One client over stdin and stdout.
    Stdio,
    /// Streamable HTTP on 127.0.0.1 at this port.
    Http(u16),
}

/// What the command line asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Parsed {
    /// Serve.
    Serve(Transport),
    /// Print the usage.
    Help,
}

/// Read the command line (without the program name).
pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Parsed, String> {
    let mut transport = Transport::Stdio;
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "-h" | "--help" => return Ok(Parsed::Help),
            "--http" => {
                let port = args.next().ok_or("`--http` needs a port")?;
                let port = port
                    .parse()
                    .map_err(|_| format!("`{port}` is not a port number"))?;
                transport = Transport::Http(port);
            }
            other => return Err(format!("unknown argument `{other}`")),
        }
    }
    Ok(Parsed::Serve(transport))
}

/// Why the server stopped.
#[derive(Debug)]
pub enum Error {
    /// The database could not be opened.
    Database(DbError),
    /// The tools could not be assembled.
    Tools(BuildError),
    /// Serving failed.
    Serve(McpServerError),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Database(e) => write!(f, "{e}"),
            Error::Tools(e) => write!(f, "{e}"),
            Error::Serve(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for Error {}

/// The four tools on `db`, each behind the simulated network latency of
/// `patient_summary`. Offered without OpenAI strict mode: MCP has none, and
/// a relaxed schema leaves `limit` optional instead of required-but-nullable.
pub fn toolset(db: Db) -> Result<ToolSet, BuildError> {
    ToolSet::builder()
        .tools(tools::with_network_latency())
        .state(db)
        .relaxed()
        .build()
}

/// The MCP server of the four tools on `db`.
pub fn server(db: Db) -> Result<McpServer, Error> {
    let tools = toolset(db).map_err(Error::Tools)?;
    Ok(McpServer::new(tools)
        .map_err(Error::Serve)?
        .named("patient-summary", env!("CARGO_PKG_VERSION"))
        .instructions(
            "Clinical records of the patients P-00001, P-00002 and P-00003. \
             The four tools are independent: call them together.",
        ))
}

/// Open the database (`DATABASE_URL`, else the embedded SQLite file) and
/// serve until the client hangs up (stdio) or Ctrl-C (HTTP). Messages go to
/// stderr: on stdio, stdout carries the protocol.
pub async fn run(transport: Transport, database_url: Option<&str>) -> Result<(), Error> {
    let db = Db::open(database_url).await.map_err(Error::Database)?;
    let location = db.location.clone();
    let server = server(db)?;
    match transport {
        Transport::Stdio => {
            eprintln!("mcp_server: serving 4 tools over stdio ({location})");
            server.serve_stdio().await.map_err(Error::Serve)
        }
        Transport::Http(port) => {
            let serving = server
                .serve_http(("127.0.0.1", port))
                .await
                .map_err(Error::Serve)?;
            eprintln!("mcp_server: serving 4 tools ({location})");
            // The URL alone on stdout, for scripts that start the server.
            println!("{}", serving.url());
            let _ = tokio::signal::ctrl_c().await;
            serving.shutdown().await;
            Ok(())
        }
    }
}
