//! The worker process: this test binary run again with
//! `TOOLCALL_RESTATE_WORKER=<port>`, serving the workflow and the tool
//! service (or one of them, `TOOLCALL_RESTATE_ROLE`).

use std::time::Duration;

use toolcall::Decision;
use toolcall_restate::restate::prelude::{Endpoint, HttpServer};
use toolcall_restate::{ToolcallRun, ToolcallTools};
use toolcall_sim::SimModel;

use crate::tools::{Clinic, open, toolset};

pub const SYSTEM: &str = "Summarise the patient's record.";
pub const SEED: u64 = 7;

/// The tool that the approval scenario defers.
pub const DEFERRED_TOOL: &str = "get_recent_labs";

pub fn latencies(text: &str) -> [Duration; 4] {
    let ms: Vec<u64> = text
        .split(',')
        .map(|v| v.trim().parse().expect("latencies in ms"))
        .collect();
    [0, 1, 2, 3].map(|i| Duration::from_millis(ms[i]))
}

/// The agent's workflow, as the in-process comparison builds its agent.
pub fn workflow(clinic: Clinic, approval: bool) -> ToolcallRun {
    let run = ToolcallRun::new(SimModel::auto(SEED), toolset(clinic)).system(SYSTEM);
    if approval {
        run.approval(|call: &toolcall::ToolCall| {
            if call.name == DEFERRED_TOOL {
                Decision::Defer
            } else {
                Decision::Approve
            }
        })
    } else {
        run
    }
}

pub fn main(port: &str) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(async {
        let db = match std::env::var("TOOLCALL_RESTATE_DB") {
            Ok(path) => Some(open(&path).await),
            Err(_) => None,
        };
        let latency = latencies(
            &std::env::var("TOOLCALL_RESTATE_LATENCY_MS").unwrap_or_else(|_| "0,0,0,0".into()),
        );
        let clinic = Clinic { db, latency };
        let approval = std::env::var("TOOLCALL_RESTATE_APPROVAL").is_ok();
        let role = std::env::var("TOOLCALL_RESTATE_ROLE").unwrap_or_else(|_| "all".into());
        let mut endpoint = Endpoint::builder();
        if role != "tools" {
            endpoint = endpoint.bind(workflow(clinic.clone(), approval));
        }
        if role != "workflow" {
            endpoint = endpoint.bind(ToolcallTools::new(toolset(clinic)));
        }
        let address = format!("127.0.0.1:{port}").parse().expect("an address");
        HttpServer::new(endpoint.build())
            .listen_and_serve(address)
            .await;
    });
}
