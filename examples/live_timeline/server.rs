//! The live timeline's server: the page, and each run of the clinical
//! agent as server-sent events, one per event of `Agent::run_stream`. A
//! bare HTTP/1.1 on tokio's `TcpListener` (GET only, one request per
//! connection), as the page needs nothing more.

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Instant;
use toolcall::{Agent, DispatchOptions, RunEvent, Streaming, ToolSet};
use toolcall_sim::SimModel;

use crate::app;
use crate::db::Db;
use crate::tools;

/// The page, with its script and styles inline: it works offline.
pub const PAGE: &str = include_str!("page.html");

/// The patient every run summarizes.
const PATIENT: &str = "P-00001";

/// The longest request head read.
const MAX_HEAD: usize = 16 * 1024;

/// What every run shares: the four tools on the example's database.
pub struct Clinic {
    tools: ToolSet,
}

impl Clinic {
    /// The clinical tools on the example's database (created on first use).
    pub async fn open() -> Result<Clinic, Box<dyn std::error::Error + Send + Sync>> {
        let db = Db::open(None).await?;
        let tools = ToolSet::builder()
            .tools(tools::with_network_latency())
            .state(db)
            .build()?;
        Ok(Clinic { tools })
    }

    /// The agent of one run: the simulated model, scripted as in the
    /// patient_summary example, streaming with eager dispatch.
    fn agent(&self, sequential: bool) -> Agent<SimModel> {
        let model = SimModel::builder()
            .seed(7)
            .script(app::script(PATIENT))
            .model_latency(app::simulated_latency())
            .model();
        Agent::new(model, self.tools.clone())
            .system(app::SYSTEM_PROMPT)
            .streaming(Streaming::Eager)
            .dispatch_options(if sequential {
                DispatchOptions::sequential()
            } else {
                DispatchOptions::parallel()
            })
    }
}

/// Answer connections on `listener` until the process ends.
pub async fn serve(listener: TcpListener, clinic: Arc<Clinic>) -> std::io::Result<()> {
    loop {
        let (connection, _) = listener.accept().await?;
        let clinic = Arc::clone(&clinic);
        tokio::spawn(async move {
            // A client that goes away is no error of the server's.
            let _ = handle(connection, &clinic).await;
        });
    }
}

async fn handle(mut connection: TcpStream, clinic: &Clinic) -> std::io::Result<()> {
    let Some(target) = read_target(&mut connection).await? else {
        return respond(
            &mut connection,
            "400 Bad Request",
            "text/plain",
            "bad request",
        )
        .await;
    };
    let (path, query) = target.split_once('?').unwrap_or((&target, ""));
    match path {
        "/" => respond(&mut connection, "200 OK", "text/html; charset=utf-8", PAGE).await,
        "/run" => {
            let sequential = query.split('&').any(|p| p == "mode=sequential");
            stream_run(&mut connection, clinic, sequential).await
        }
        _ => respond(&mut connection, "404 Not Found", "text/plain", "not found").await,
    }
}

/// The target of a `GET` request, once its head is in; `None` for
/// anything else.
async fn read_target(connection: &mut TcpStream) -> std::io::Result<Option<String>> {
    let mut head = Vec::with_capacity(1024);
    let mut buffer = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        if head.len() > MAX_HEAD {
            return Ok(None);
        }
        let n = connection.read(&mut buffer).await?;
        if n == 0 {
            return Ok(None);
        }
        head.extend_from_slice(&buffer[..n]);
    }
    let head = String::from_utf8_lossy(&head);
    let mut words = head.lines().next().unwrap_or_default().split(' ');
    Ok(match (words.next(), words.next()) {
        (Some("GET"), Some(target)) => Some(target.to_owned()),
        _ => None,
    })
}

async fn respond(
    connection: &mut TcpStream,
    status: &str,
    content_type: &str,
    body: &str,
) -> std::io::Result<()> {
    let head = format!(
        "HTTP/1.1 {status}\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\ncache-control: no-store\r\nconnection: close\r\n\r\n",
        body.len()
    );
    connection.write_all(head.as_bytes()).await?;
    connection.write_all(body.as_bytes()).await?;
    connection.shutdown().await
}

/// Run the agent and send each of its events as it comes. If the page goes
/// away, the write fails and the run's stream is dropped, which cancels
/// the run and its calls.
async fn stream_run(
    connection: &mut TcpStream,
    clinic: &Clinic,
    sequential: bool,
) -> std::io::Result<()> {
    connection
        .write_all(
            b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-store\r\nconnection: close\r\n\r\n",
        )
        .await?;
    let agent = clinic.agent(sequential);
    let start = Instant::now();
    let mut events = agent.run_stream(format!("Summarize patient {PATIENT} for the dashboard."));
    while let Some(event) = events.next().await {
        if let Some((name, data)) = frame(&event, start.elapsed()) {
            let text = format!("event: {name}\ndata: {data}\n\n");
            connection.write_all(text.as_bytes()).await?;
        }
    }
    connection.shutdown().await
}

fn ms(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// The server-sent event for a run event: its name and JSON data.
pub fn frame(event: &RunEvent, at: Duration) -> Option<(&'static str, Value)> {
    let at = ms(at);
    Some(match event {
        RunEvent::ModelRequest { round } => ("model", json!({"round": round, "at": at})),
        RunEvent::ToolCallStarted { round, index, call } => (
            "start",
            json!({"round": round, "index": index, "name": call.name, "at": at}),
        ),
        RunEvent::ToolCallFinished {
            round,
            index,
            result,
        } => (
            "finish",
            json!({
                "round": round,
                "index": index,
                "name": result.name,
                "outcome": result.outcome.as_str(),
                "ok": result.outcome == toolcall::Outcome::Ok,
                "elapsed": ms(result.elapsed),
                "at": at,
            }),
        ),
        RunEvent::RoundFinished { round, info } => (
            "round",
            json!({"round": round, "model": ms(info.model_time), "at": at}),
        ),
        RunEvent::End(end) => match &**end {
            Ok(run) => (
                "end",
                json!({"ok": true, "elapsed": ms(run.elapsed), "answer": run.answer}),
            ),
            Err(error) => (
                "end",
                json!({"ok": false, "elapsed": at, "error": error.to_string()}),
            ),
        },
        _ => return None,
    })
}
