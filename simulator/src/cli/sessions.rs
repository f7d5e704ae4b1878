//! The binary's session commands: `whatif`, `replay` and `record` (the
//! `serve` command stays in `main.rs`).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;

use toolcall_sim::{Policy, Recording, Session, whatif};

use super::{Shutdown, flags};

pub(crate) const USAGE: &str = "\
Sessions: record a real one, replay it offline, ask what parallel would save.

  toolcall-sim whatif FILE [--cap N] [--svg DIR]
      Replay a trace (an agent run saved with `Trace::save`) or a recording
      on virtual time under sequential, parallel, after-message streaming,
      eager streaming and capped (--cap N, default 2) dispatch, each call
      taking its recorded latency; print per round and in total what each
      takes and saves, and write an SVG timeline per policy into DIR
      (whatif-sequential.svg, whatif-parallel.svg, ...).

  toolcall-sim record --upstream URL [--out FILE] [--port N] [--host ADDR]
      A proxy: point the client at the URL it prints (http://127.0.0.1:PORT/v1)
      and it forwards to URL (http:// or https://, e.g. https://api.openai.com),
      writing each exchange to FILE (default session.recording.json) as it
      ends: requests, replies, streamed chunks with their timing, and the
      tools' time between a reply with calls and the request with their
      results. No credential is written. Needs the `record` feature.

  toolcall-sim replay FILE [--port N] [--host ADDR]
      Serve a recording: the recorded replies, byte for byte, each chunk at
      its recorded time; a request that differs from the recorded one gets
      a 409 saying where it diverged.

Exit status: 0 on success, 1 if the address cannot be bound or a replay
diverged, 2 for a bad argument or a bad file (FILE:LINE:COLUMN: problem).
";

/// A session command and its options.
#[derive(Debug, PartialEq)]
pub(crate) enum Command {
    Help,
    WhatIf {
        file: PathBuf,
        cap: usize,
        svg: Option<PathBuf>,
    },
    Record {
        upstream: String,
        out: PathBuf,
        addr: SocketAddr,
    },
    Replay {
        file: PathBuf,
        addr: SocketAddr,
    },
}

/// Read the arguments after the command's name.
pub(crate) fn parse(command: &str, args: &[String]) -> Result<Command, String> {
    let mut file = None;
    let mut cap = 2;
    let mut svg = None;
    let mut upstream = None;
    let mut out = PathBuf::from("session.recording.json");
    let mut host = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let mut port = 8080;
    let known: &[&str] = match command {
        "whatif" => &["--cap", "--svg"],
        "record" => &["--upstream", "--out", "--port", "--host"],
        _ => &["--port", "--host"],
    };
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        if matches!(arg.as_str(), "-h" | "--help") {
            return Ok(Command::Help);
        }
        if !arg.starts_with("--") {
            if command == "record" || file.is_some() {
                return Err(format!("{command}: unexpected argument `{arg}`"));
            }
            file = Some(PathBuf::from(arg));
            continue;
        }
        let (flag, inline) = flags::split(arg);
        if !known.contains(&flag) {
            return Err(format!("{command}: unknown option `{arg}`"));
        }
        let value = flags::value(flag, inline, &mut args)?;
        match flag {
            "--cap" => {
                cap = value
                    .parse()
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or_else(|| format!("--cap: `{value}` is not a whole number above 0"))?;
            }
            "--svg" => svg = Some(PathBuf::from(value)),
            "--upstream" => upstream = Some(value),
            "--out" => out = PathBuf::from(value),
            "--port" => port = flags::port(&value)?,
            _ => host = flags::host(&value)?,
        }
    }
    let addr = SocketAddr::new(host, port);
    match command {
        "whatif" => Ok(Command::WhatIf {
            file: file.ok_or("whatif: which file? `toolcall-sim whatif FILE`")?,
            cap,
            svg,
        }),
        "record" => Ok(Command::Record {
            upstream: upstream.ok_or("record: `--upstream URL` is required")?,
            out,
            addr,
        }),
        _ => Ok(Command::Replay {
            file: file.ok_or("replay: which file? `toolcall-sim replay FILE`")?,
            addr,
        }),
    }
}

/// Run a session command.
pub(crate) fn run(command: Command) -> ExitCode {
    match command {
        Command::Help => {
            print!("{USAGE}");
            ExitCode::SUCCESS
        }
        Command::WhatIf { file, cap, svg } => run_whatif(&file, cap, svg),
        Command::Replay { file, addr } => {
            let recording = match Recording::load(&file) {
                Ok(recording) => recording,
                Err(error) => {
                    eprintln!("toolcall-sim: {error}");
                    return ExitCode::from(2);
                }
            };
            on_runtime(async move {
                let server = match recording.replay(addr).await {
                    Ok(server) => server,
                    Err(error) => {
                        eprintln!("toolcall-sim: cannot listen on {addr}: {error}");
                        return ExitCode::FAILURE;
                    }
                };
                let Some(shutdown) = listen_for_stop() else {
                    return ExitCode::FAILURE;
                };
                println!("{}", server.base_url());
                eprintln!(
                    "toolcall-sim: replaying {} ({} exchange(s)) at {}; Ctrl-C to stop",
                    file.display(),
                    recording.exchanges.len(),
                    server.base_url()
                );
                shutdown.wait().await;
                let verdict = server.check();
                server.shutdown().await;
                match verdict {
                    Ok(()) => {
                        eprintln!("toolcall-sim: the session followed the recording");
                        ExitCode::SUCCESS
                    }
                    Err(divergence) => {
                        eprintln!("toolcall-sim: {divergence}");
                        ExitCode::FAILURE
                    }
                }
            })
        }
        Command::Record {
            upstream,
            out,
            addr,
        } => record(upstream, out, addr),
    }
}

#[cfg(feature = "record")]
fn record(upstream: String, out: PathBuf, addr: SocketAddr) -> ExitCode {
    on_runtime(async move {
        let recorder = match toolcall_sim::Recorder::start(&upstream, &out, addr).await {
            Ok(recorder) => recorder,
            Err(toolcall_sim::RecordError::Bind(error)) => {
                eprintln!("toolcall-sim: cannot listen on {addr}: {error}");
                return ExitCode::FAILURE;
            }
            Err(error) => {
                eprintln!("toolcall-sim: {error}");
                return ExitCode::from(2);
            }
        };
        let Some(shutdown) = listen_for_stop() else {
            return ExitCode::FAILURE;
        };
        println!("{}", recorder.base_url());
        eprintln!(
            "toolcall-sim: recording {upstream} into {} at {}; Ctrl-C to stop",
            out.display(),
            recorder.base_url()
        );
        shutdown.wait().await;
        let exchanges = recorder.recording().exchanges.len();
        let errors = recorder.save_errors();
        recorder.shutdown().await;
        for error in &errors {
            eprintln!("toolcall-sim: {error}");
        }
        eprintln!(
            "toolcall-sim: recorded {exchanges} exchange(s) into {}",
            out.display()
        );
        if errors.is_empty() {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        }
    })
}

#[cfg(not(feature = "record"))]
fn record(_upstream: String, _out: PathBuf, _addr: SocketAddr) -> ExitCode {
    eprintln!(
        "toolcall-sim: this build has no `record`; install with `cargo install toolcall-sim --features record`"
    );
    ExitCode::from(2)
}

fn run_whatif(file: &std::path::Path, cap: usize, svg: Option<PathBuf>) -> ExitCode {
    let session = match Session::load(file) {
        Ok(session) => session,
        Err(error) => {
            eprintln!("toolcall-sim: {error}");
            return ExitCode::from(2);
        }
    };
    let policies = Policy::all(cap);
    let report = whatif::run_blocking(&session, &policies);
    println!("whatif {}:", file.display());
    for note in &session.notes {
        println!("note: {note}");
    }
    print!("{report}");
    if let Some(dir) = svg {
        if let Err(error) = std::fs::create_dir_all(&dir) {
            eprintln!("toolcall-sim: {}: {error}", dir.display());
            return ExitCode::FAILURE;
        }
        for policy in policies {
            let path = dir.join(format!("whatif-{}.svg", policy.name()));
            if let Err(error) = std::fs::write(&path, report.svg(policy)) {
                eprintln!("toolcall-sim: {}: {error}", path.display());
                return ExitCode::FAILURE;
            }
            println!("wrote {}", path.display());
        }
    }
    ExitCode::SUCCESS
}

/// Run `task` on a current-thread runtime.
fn on_runtime(task: impl Future<Output = ExitCode>) -> ExitCode {
    match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime.block_on(task),
        Err(error) => {
            eprintln!("toolcall-sim: cannot start the runtime: {error}");
            ExitCode::FAILURE
        }
    }
}

/// Listen for Ctrl-C before the URL is out: a client may stop us at once.
fn listen_for_stop() -> Option<Shutdown> {
    match Shutdown::listen() {
        Ok(shutdown) => Some(shutdown),
        Err(error) => {
            eprintln!("toolcall-sim: cannot listen for Ctrl-C: {error}");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(line: &str) -> Vec<String> {
        line.split_whitespace().map(str::to_owned).collect()
    }

    #[test]
    fn each_command_and_its_options() {
        assert_eq!(
            parse("whatif", &args("s.json --cap 3 --svg out")),
            Ok(Command::WhatIf {
                file: "s.json".into(),
                cap: 3,
                svg: Some("out".into())
            })
        );
        assert_eq!(
            parse(
                "record",
                &args("--upstream=https://api.openai.com --port 0")
            ),
            Ok(Command::Record {
                upstream: "https://api.openai.com".into(),
                out: "session.recording.json".into(),
                addr: "127.0.0.1:0".parse().expect("address"),
            })
        );
        assert_eq!(
            parse("replay", &args("r.json --host 0.0.0.0 --port 9")),
            Ok(Command::Replay {
                file: "r.json".into(),
                addr: "0.0.0.0:9".parse().expect("address"),
            })
        );
        assert_eq!(parse("replay", &args("--help")), Ok(Command::Help));
    }

    #[test]
    fn mistakes_are_named() {
        for (command, line, needle) in [
            ("whatif", "", "which file"),
            ("whatif", "a b", "unexpected argument `b`"),
            ("whatif", "a --cap 0", "not a whole number above 0"),
            ("whatif", "a --port 1", "unknown option `--port`"),
            ("record", "", "`--upstream URL` is required"),
            ("record", "--upstream", "`--upstream` needs a value"),
            ("replay", "r --port x", "not a port"),
        ] {
            let error = parse(command, &args(line)).expect_err(line);
            assert!(error.contains(needle), "{command} {line}: {error}");
        }
    }
}
