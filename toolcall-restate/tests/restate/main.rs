//! toolcall runs on the real restate-server (from npm, started here), with
//! the simulator as the model and the worker as a separate process:
//!
//! - the clinical agent, workflow and tools in two processes: the four
//!   calls overlap, results in call order, the transcript of an in-process
//!   run; the overhead against in-process dispatch is printed;
//! - the worker SIGKILLed with two calls finished and two running, then
//!   started again: the same transcript, finished calls ran once, the
//!   others at most twice with the same idempotency key;
//! - a deferred call waits while the worker stops and starts again, and a
//!   decision from another process resumes it; no call runs twice.
//!
//! Skips when npm or the package cannot be had, unless
//! `TOOLCALL_REQUIRE_RESTATE=1` (CI), which makes that a failure.

mod server;
mod tools;
mod worker;

use std::process::{Child, Command};
use std::time::{Duration, Instant};

use toolcall::{Agent, AgentErrorKind, AgentRun, Decision, Outcome};
use toolcall_restate::{RunClient, RunInput};
use toolcall_sim::SimModel;

use server::{Server, TempDir, free_port};
use tools::{Clinic, effects, open, toolset};
use worker::{DEFERRED_TOOL, SEED, SYSTEM, latencies};

const PROMPT: &str = "Summarise patient P-00042 before the visit.";

fn nanos() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos())
}

fn main() {
    if let Ok(port) = std::env::var("TOOLCALL_RESTATE_WORKER") {
        return worker::main(&port);
    }
    if let Ok(target) = std::env::var("TOOLCALL_RESTATE_DECIDE") {
        return decide(&target);
    }
    let bin = match server::binary() {
        Ok(bin) => bin,
        Err(why) if server::required() => {
            panic!("TOOLCALL_REQUIRE_RESTATE=1 but restate-server cannot be had: {why}")
        }
        Err(why) => {
            eprintln!("skipped: restate-server cannot be had: {why}");
            return;
        }
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(async {
        let server = Server::start(&bin).await;
        clinical_in_two_processes(&server).await;
        println!("ok: the clinical agent through Restate");
        crash_mid_batch(&server).await;
        println!("ok: SIGKILL mid-batch");
        approval_across_restart(&server).await;
        println!("ok: deferred approval across a restart");
    });
}

/// A worker process (this binary again), killed on drop.
struct Worker {
    child: Child,
    port: u16,
    env: Vec<(String, String)>,
}

impl Worker {
    fn start(port: u16, env: &[(&str, &str)]) -> Worker {
        let env: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        let child = spawn_worker(port, &env);
        let worker = Worker { child, port, env };
        worker.wait_listening();
        worker
    }

    fn uri(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn wait_listening(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < deadline, "the worker did not listen");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// SIGKILL, then the same worker again on the same port.
    fn kill_and_restart(&mut self) {
        self.child.kill().expect("SIGKILL the worker");
        let _ = self.child.wait();
        self.child = spawn_worker(self.port, &self.env);
        self.wait_listening();
    }
}

fn spawn_worker(port: u16, env: &[(String, String)]) -> Child {
    let mut command = Command::new(std::env::current_exe().expect("this test's binary"));
    command.env("TOOLCALL_RESTATE_WORKER", port.to_string());
    for (k, v) in env {
        command.env(k, v);
    }
    command.spawn().expect("start the worker")
}

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The in-process run the durable one must match.
async fn in_process(latency: &str, approve: bool) -> AgentRun {
    let clinic = Clinic {
        db: None,
        latency: latencies(latency),
    };
    let agent = Agent::new(SimModel::auto(SEED), toolset(clinic)).system(SYSTEM);
    if !approve {
        return agent.run(PROMPT).await.expect("the in-process run");
    }
    let agent = agent.approval(|call: &toolcall::ToolCall| {
        if call.name == DEFERRED_TOOL {
            Decision::Defer
        } else {
            Decision::Approve
        }
    });
    let error = agent.run(PROMPT).await.expect_err("a suspended run");
    let AgentErrorKind::Suspended(state) = error.kind else {
        panic!("not suspended: {error}");
    };
    let ids: Vec<String> = state.pending().iter().map(|c| c.id.to_string()).collect();
    agent
        .resume(*state, ids.into_iter().map(|id| (id, Decision::Approve)))
        .await
        .expect("the resumed run")
}

/// Same messages, same calls, same outcomes in call order.
fn assert_same_run(durable: &AgentRun, local: &AgentRun) {
    assert_eq!(durable.transcript, local.transcript, "transcripts differ");
    assert_eq!(durable.answer, local.answer);
    assert_eq!(durable.usage, local.usage);
    assert_eq!(durable.rounds.len(), local.rounds.len());
    for (d, l) in durable.rounds.iter().zip(&local.rounds) {
        assert_eq!(d.tool_calls, l.tool_calls);
        let outcomes = |r: &toolcall::Round| {
            r.batch
                .as_ref()
                .map(|b| {
                    b.results
                        .iter()
                        .map(|r| (r.call_id.clone(), r.outcome, r.content.clone()))
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default()
        };
        assert_eq!(outcomes(d), outcomes(l));
    }
}

async fn clinical_in_two_processes(server: &Server) {
    let latency = "200,180,150,120";
    // The workflow in one process, the tools in another.
    let flow = Worker::start(free_port(), &[("TOOLCALL_RESTATE_ROLE", "workflow")]);
    let tools = Worker::start(
        free_port(),
        &[
            ("TOOLCALL_RESTATE_ROLE", "tools"),
            ("TOOLCALL_RESTATE_LATENCY_MS", latency),
        ],
    );
    server.register(&tools.uri()).await;
    server.register(&flow.uri()).await;
    let client = RunClient::connect(&server.ingress).expect("a client");
    let run_id = format!("clinical-{}", nanos());
    client
        .start(&run_id, RunInput::user(PROMPT))
        .await
        .expect("start the run");
    let run = client.wait(&run_id).await.expect("the run's answer");
    let local = in_process(latency, false).await;
    assert_same_run(&run, &local);

    let round = &run.rounds[0];
    let batch = round.batch.as_ref().expect("a batch");
    assert_eq!(batch.results.len(), 4);
    for (call, result) in round.tool_calls.iter().zip(&batch.results) {
        assert_eq!(call.id, result.call_id, "results in call order");
        assert_eq!(result.outcome, Outcome::Ok);
    }
    // Overlap: every call started before the shortest one ended, and the
    // batch took about the longest call, far from their sum (650 ms).
    let longest = Duration::from_millis(200);
    let shortest = batch
        .results
        .iter()
        .map(|r| r.elapsed)
        .min()
        .unwrap_or_default();
    for result in &batch.results {
        assert!(result.started < shortest, "{result:?} started late");
    }
    assert!(batch.makespan >= longest, "{:?}", batch.makespan);
    assert!(
        batch.makespan < longest + Duration::from_millis(150),
        "makespan {:?}: the calls did not overlap",
        batch.makespan
    );
    let local_batch = local.rounds[0].batch.as_ref().expect("a batch");
    println!(
        "clinical batch (200/180/150/120 ms): makespan {:?} through Restate, {:?} in process",
        batch.makespan, local_batch.makespan
    );
    overhead(server, &client).await;
}

/// Zero-latency tools: what Restate adds per call and per round.
async fn overhead(server: &Server, client: &RunClient) {
    let worker = Worker::start(free_port(), &[]);
    server.register(&worker.uri()).await;
    const RUNS: u32 = 5;
    let mut durable = Duration::ZERO;
    let mut fan_out = Duration::ZERO;
    let mut local = Duration::ZERO;
    for i in 0..RUNS {
        let run_id = format!("overhead-{}-{i}", nanos());
        let began = Instant::now();
        client
            .start(&run_id, RunInput::user(PROMPT))
            .await
            .expect("start");
        let run = client.wait(&run_id).await.expect("answer");
        durable += began.elapsed();
        fan_out += run.rounds[0]
            .batch
            .as_ref()
            .map(|b| b.makespan)
            .unwrap_or_default();
        let began = Instant::now();
        in_process("0,0,0,0", false).await;
        local += began.elapsed();
    }
    let (durable, fan_out, local) = (durable / RUNS, fan_out / RUNS, local / RUNS);
    println!(
        "overhead (zero-latency tools, 2 rounds, 4 calls, mean of {RUNS}): run {durable:?} through Restate \
         vs {local:?} in process; per round {:?}; a batch of 4 calls fans out and back in {fan_out:?} \
         ({:?} per call)",
        durable.saturating_sub(local) / 2,
        fan_out / 4
    );
}

async fn crash_mid_batch(server: &Server) {
    let dir = TempDir::new("restate-effects");
    let db_path = dir.path.join("effects.db");
    let db_path = db_path.to_str().expect("a utf-8 path").to_owned();
    let db = open(&db_path).await;
    let latency = "100,150,6000,6000";
    let mut worker = Worker::start(
        free_port(),
        &[
            ("TOOLCALL_RESTATE_DB", db_path.as_str()),
            ("TOOLCALL_RESTATE_LATENCY_MS", latency),
        ],
    );
    server.register(&worker.uri()).await;
    let client = RunClient::connect(&server.ingress).expect("a client");
    let run_id = format!("crash-{}", nanos());
    client
        .start(&run_id, RunInput::user(PROMPT))
        .await
        .expect("start the run");
    // Two calls finished, two running.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let rows = effects(&db).await;
        let ends = rows.iter().filter(|r| r.2 == "end").count();
        let starts = rows.iter().filter(|r| r.2 == "start").count();
        if ends == 2 && starts == 4 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the batch did not get going: {rows:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Let the two finished results reach the journal.
    tokio::time::sleep(Duration::from_millis(300)).await;
    worker.kill_and_restart();
    let run = client
        .wait(&run_id)
        .await
        .expect("the run's answer after the crash");
    assert_same_run(&run, &in_process("0,0,0,0", false).await);

    let rows = effects(&db).await;
    let round = &run.rounds[0];
    for call in &round.tool_calls {
        let of = |phase: &str| {
            rows.iter()
                .filter(|r| r.0 == call.name && r.2 == phase)
                .collect::<Vec<_>>()
        };
        let (starts, ends) = (of("start"), of("end"));
        for row in starts.iter().chain(&ends) {
            assert_eq!(
                row.1, call.id,
                "the idempotency key is the call id: {row:?}"
            );
        }
        assert_eq!(ends.len(), 1, "{} finished once: {rows:?}", call.name);
        let finished_before = matches!(
            call.name.as_str(),
            "get_patient_demographics" | "get_active_medications"
        );
        if finished_before {
            assert_eq!(starts.len(), 1, "{} ran once: {rows:?}", call.name);
        } else {
            assert!(
                (1..=2).contains(&starts.len()),
                "{} ran at most twice: {rows:?}",
                call.name
            );
        }
    }
    println!("side effects after the crash: {rows:?}");
}

async fn approval_across_restart(server: &Server) {
    let dir = TempDir::new("restate-approval");
    let db_path = dir.path.join("effects.db");
    let db_path = db_path.to_str().expect("a utf-8 path").to_owned();
    let db = open(&db_path).await;
    let mut worker = Worker::start(
        free_port(),
        &[
            ("TOOLCALL_RESTATE_DB", db_path.as_str()),
            ("TOOLCALL_RESTATE_LATENCY_MS", "50,50,50,50"),
            ("TOOLCALL_RESTATE_APPROVAL", "1"),
        ],
    );
    server.register(&worker.uri()).await;
    let client = RunClient::connect(&server.ingress).expect("a client");
    let run_id = format!("approval-{}", nanos());
    client
        .start(&run_id, RunInput::user(PROMPT))
        .await
        .expect("start the run");
    let pending = wait_pending(&client, &run_id).await;
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].name, DEFERRED_TOOL);
    // The other three ran; the deferred one did not.
    let ran_before: Vec<_> = effects(&db).await;
    assert_eq!(ran_before.iter().filter(|r| r.2 == "end").count(), 3);
    assert!(!ran_before.iter().any(|r| r.0 == DEFERRED_TOOL));

    worker.kill_and_restart();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        wait_pending(&client, &run_id).await,
        pending,
        "still waiting"
    );
    assert!(!effects(&db).await.iter().any(|r| r.0 == DEFERRED_TOOL));

    // The decision comes from another process.
    let status = Command::new(std::env::current_exe().expect("this binary"))
        .env(
            "TOOLCALL_RESTATE_DECIDE",
            format!("{}|{run_id}|{}", server.ingress, pending[0].id),
        )
        .status()
        .expect("run the deciding process");
    assert!(status.success());
    let run = client.wait(&run_id).await.expect("the run's answer");
    assert_same_run(&run, &in_process("0,0,0,0", true).await);
    let rows = effects(&db).await;
    for call in &run.rounds[0].tool_calls {
        let starts = rows
            .iter()
            .filter(|r| r.0 == call.name && r.2 == "start")
            .count();
        assert_eq!(starts, 1, "{} ran once: {rows:?}", call.name);
    }
}

async fn wait_pending(client: &RunClient, run_id: &str) -> Vec<toolcall::ToolCall> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(pending) = client.pending(run_id).await
            && !pending.is_empty()
        {
            return pending;
        }
        assert!(Instant::now() < deadline, "no call waits for a decision");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The deciding process: approve one call of one run, then exit.
fn decide(target: &str) {
    let mut parts = target.split('|');
    let (Some(ingress), Some(run_id), Some(call_id)) = (parts.next(), parts.next(), parts.next())
    else {
        panic!("TOOLCALL_RESTATE_DECIDE is `ingress|run id|call id`");
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(async {
        let client = RunClient::connect(ingress).expect("a client");
        client
            .decide(run_id, call_id, Decision::Approve)
            .await
            .expect("send the decision");
    });
}
