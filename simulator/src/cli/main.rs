//! `toolcall-sim serve`: the simulated chat APIs (OpenAI Chat Completions
//! and Responses, Anthropic Messages, Google Gemini) as a process, so any client (Python,
//! JS, curl) can be tested offline against the same scripts as the Rust tests. `toolcall-sim --help` says it all.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use toolcall_sim::{
    DEFAULT_HEADER_READ_TIMEOUT, DEFAULT_IDLE_TIMEOUT, Fixtures, GeminiOptions, ModelLatency,
    ScriptFile, SimBuilder,
};

mod flags;
mod sessions;

/// A server answers each request with a few dozen short-lived allocations:
/// mimalloc's are cheaper, and its heap is not grown and trimmed again each
/// request as the system allocator's thread arenas are.
#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const USAGE: &str = "\
toolcall-sim: simulated chat APIs (OpenAI Chat Completions and Responses,
Anthropic Messages, Google Gemini) on one port, for testing tool-calling agents offline,
with no network and no API key.

Usage:
  toolcall-sim serve [OPTIONS]
  toolcall-sim whatif FILE | record --upstream URL | replay FILE
                         (see `toolcall-sim whatif --help`)
  toolcall-sim --help | --version

Options of `serve`:
  --port N               Port to listen on (default 8080; 0 picks a free one)
  --host ADDR            Address to bind (default 127.0.0.1, this machine only)
  --script FILE          Follow the script in FILE (.json, .yaml or .yml): its
                         turns, in order, and the seed, model_latency, faults,
                         chunking and models it may set. Without a script,
                         auto mode: the first reply calls every offered tool
                         at once with arguments generated from its JSON
                         Schema; once the results are in, a text reports them
  --fixtures FILE        Answer requests from the fixtures in FILE (.json,
                         .yaml or .yml; {\"fixtures\": [{\"match\": {...},
                         \"response\": {...}}]}): the first whose match fits
                         answers, before the script; a request none fits
                         takes the next script turn, or without a script
                         gets a 404 naming the closest fixture (or auto
                         mode's reply with \"unmatched\": \"auto\")
  --time-scale F         Real time per simulated time (default 1): 0.01
                         passes every latency 100 times faster; replies
                         (x-sim-time-ms, x-sim-elapsed-ms) and the journal
                         carry simulated times
  --seed N               Seed of every random draw: ids, generated arguments,
                         latencies, faults, chunking (default 0, or the
                         script file's); the same seed replays the same run
  --model-latency SPEC   The model's time to first token and, after a `/`,
                         the wait per streamed chunk: TTFT[/PER_TOKEN]
                         (default zero), each one of
                           fixed:200ms (or just 200ms)
                           uniform:100ms..300ms
                           normal:200ms,50ms         (mean, std dev)
                           lognormal:400ms,0.5       (median, sigma)
                           empirical:120ms,180ms,400ms
                           zero
                         with units ms, s or us; or `realistic` (log-normal
                         TTFT around 400ms, about 50 tokens/s).
                         Example: --model-latency lognormal:400ms,0.4/20ms
  --api-key KEY          Require the key: `Authorization: Bearer KEY`, or
                         `x-api-key: KEY` on /v1/messages (401 otherwise),
                         `x-goog-api-key: KEY` on Gemini's paths (403)
  --journal-limit N      Keep the latest N requests in the journal (default
                         1000; counts stay exact): GET /__sim/journal
  --header-read-timeout T  Close a connection that takes longer than T to
                         send a request head, or stays idle that long
                         between requests (default 10s; `off` to wait)
  --idle-timeout T       Close a connection whose request body stops
                         arriving for T (default 30s; `off` to wait)
  --no-cors              No CORS headers (they are on by default, so a
                         browser page of any origin can call the server)
  --threads N            Threads that answer (default: 1)
  --gemini OPTS          How Gemini replies are shaped, a comma-separated
                         list of: no-ids (calls without `id`, answered by
                         name and position), one-chunk (a reply's parallel
                         calls in one stream chunk, not one chunk each),
                         signatures (a `thoughtSignature` on each reply's
                         first call, required back on that part)
  -h, --help             Print this help
  -V, --version          Print the version

It prints the base URL (http://127.0.0.1:8080/v1) alone on standard output,
then serves until Ctrl-C (or SIGTERM) and shuts down gracefully:
  POST /v1/chat/completions   plain JSON, and SSE with `stream: true`
  POST /v1/responses          the Responses API: plain JSON, and typed SSE
                              events with `stream: true`; `previous_response_id`
                              continues one of the last 1024 responses
  GET  /v1/responses/{id}     a kept response
  POST /v1/messages           Anthropic Messages: plain JSON, and named SSE
                              events with `stream: true` (point the Anthropic
                              SDKs at the URL without `/v1`)
  POST /v1beta/models/{model}:generateContent        Gemini: plain JSON,
  POST /v1beta/models/{model}:streamGenerateContent  and SSE with `?alt=sse`
                              (also under /v1; point the Gemini SDKs at
                              the URL without `/v1`)
  GET  /v1/models             the model list
  GET  /__sim/journal         the latest requests and exact counts (JSON);
                              DELETE clears it
  POST /__sim/reset           the script from its first turn, journal cleared
  PUT  /__sim/script          follow the script in the body ({\"turns\": [...]})
  PUT  /__sim/fixtures        answer from the fixtures in the body
  GET  /__sim/verify          200 if every turn and fixture was used and every
                              request answered, else 409 naming them
  DELETE /__sim/session       end the request's session
A request names a session of its own (its own script, journal, counters)
with the header `x-sim-session: NAME` or the path prefix /__sim/s/NAME/
(e.g. http://127.0.0.1:8080/__sim/s/test-1/v1 as an OpenAI base URL).
A request asks for a fault with `x-sim-fault: 429` (`; retry-after=2s`),
`500`, `overloaded`, `disconnect` (`; after=3`), `stall` (`; for=2s`),
`malformed`, `unknown_tool` or `duplicate_ids`, and for a time to first
token with `x-sim-latency: 250ms`.

Exit status: 0 after Ctrl-C, 1 if the address cannot be bound, 2 for a bad
argument or a bad script file (reported as FILE:LINE:COLUMN: problem).

Example:
  toolcall-sim serve --port 8080 --script simulator/scripts/weather.json
  curl http://127.0.0.1:8080/v1/chat/completions -H 'content-type: application/json' \\
    -d '{\"model\": \"gpt-4o-mini\", \"messages\": [{\"role\": \"user\", \"content\": \"hi\"}]}'
";

/// What the command line asks for.
#[derive(Debug, PartialEq)]
enum Command {
    Help,
    Version,
    Serve(Options),
    Sessions(sessions::Command),
}

/// The options of `serve`.
#[derive(Debug, PartialEq)]
struct Options {
    host: IpAddr,
    port: u16,
    script: Option<PathBuf>,
    fixtures: Option<PathBuf>,
    time_scale: Option<f64>,
    seed: Option<u64>,
    model_latency: Option<ModelLatency>,
    api_key: Option<String>,
    journal_limit: usize,
    header_read_timeout: Option<Duration>,
    idle_timeout: Option<Duration>,
    cors: bool,
    threads: Option<usize>,
    gemini: Option<GeminiOptions>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            host: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: 8080,
            script: None,
            fixtures: None,
            time_scale: None,
            seed: None,
            model_latency: None,
            api_key: None,
            journal_limit: 1000,
            header_read_timeout: Some(DEFAULT_HEADER_READ_TIMEOUT),
            idle_timeout: Some(DEFAULT_IDLE_TIMEOUT),
            cors: true,
            threads: None,
            gemini: None,
        }
    }
}

/// Read the arguments (without the program name).
fn parse(args: &[String]) -> Result<Command, String> {
    let mut args = args.iter();
    match args.next().map(String::as_str) {
        None => Err("no command given: use `toolcall-sim serve`".to_owned()),
        Some("-h" | "--help" | "help") => Ok(Command::Help),
        Some("-V" | "--version") => Ok(Command::Version),
        Some("serve") => {
            let mut options = Options::default();
            while let Some(arg) = args.next() {
                let (flag, inline) = flags::split(arg);
                if matches!(flag, "-h" | "--help") {
                    return Ok(Command::Help);
                }
                if flag == "--no-cors" {
                    options.cors = false;
                    continue;
                }
                let known = [
                    "--port",
                    "--host",
                    "--script",
                    "--fixtures",
                    "--time-scale",
                    "--seed",
                    "--model-latency",
                    "--api-key",
                    "--journal-limit",
                    "--header-read-timeout",
                    "--idle-timeout",
                    "--threads",
                    "--gemini",
                ];
                if !known.contains(&flag) {
                    return Err(format!("unknown option `{arg}`"));
                }
                let value = flags::value(flag, inline, &mut args)?;
                match flag {
                    "--port" => options.port = flags::port(&value)?,
                    "--host" => options.host = flags::host(&value)?,
                    "--script" => options.script = Some(PathBuf::from(value)),
                    "--fixtures" => options.fixtures = Some(PathBuf::from(value)),
                    "--time-scale" => {
                        options.time_scale = Some(
                            value
                                .parse::<f64>()
                                .ok()
                                .filter(|s| s.is_finite() && *s > 0.0)
                                .ok_or_else(|| {
                                    format!("--time-scale: `{value}` is not a number above 0")
                                })?,
                        );
                    }
                    "--seed" => {
                        options.seed = Some(value.parse().map_err(|_| {
                            format!("--seed: `{value}` is not a whole number (0 to 2^64-1)")
                        })?);
                    }
                    "--model-latency" => {
                        options.model_latency =
                            Some(value.parse().map_err(|e| format!("--model-latency: {e}"))?);
                    }
                    "--journal-limit" => {
                        options.journal_limit = value.parse().map_err(|_| {
                            format!("--journal-limit: `{value}` is not a whole number")
                        })?;
                    }
                    "--header-read-timeout" => {
                        options.header_read_timeout = timeout(flag, &value)?;
                    }
                    "--idle-timeout" => options.idle_timeout = timeout(flag, &value)?,
                    "--gemini" => options.gemini = Some(GeminiOptions::parse(&value)?),
                    "--threads" => {
                        options.threads = match value.parse() {
                            Ok(0) | Err(_) => {
                                return Err(format!(
                                    "--threads: `{value}` is not a count (1 or more)"
                                ));
                            }
                            Ok(n) => Some(n),
                        };
                    }
                    _ => options.api_key = Some(value),
                }
            }
            Ok(Command::Serve(options))
        }
        Some(command @ ("whatif" | "record" | "replay")) => {
            let rest: Vec<String> = args.cloned().collect();
            sessions::parse(command, &rest).map(Command::Sessions)
        }
        Some(other) => Err(format!(
            "unknown command `{other}`: use `toolcall-sim serve`"
        )),
    }
}

/// A timeout: `off`, or a duration such as `10s`, `500ms`.
fn timeout(flag: &str, value: &str) -> Result<Option<Duration>, String> {
    if value == "off" {
        return Ok(None);
    }
    let parsed = if let Some(ms) = value.strip_suffix("ms") {
        ms.parse().ok().map(Duration::from_millis)
    } else if let Some(s) = value.strip_suffix('s') {
        s.parse()
            .ok()
            .and_then(|s: f64| Duration::try_from_secs_f64(s).ok())
    } else {
        None
    };
    parsed
        .map(Some)
        .ok_or_else(|| format!("{flag}: `{value}` is not a duration (e.g. 10s, 500ms) or `off`"))
}

fn main() -> ExitCode {
    let mut args = Vec::new();
    for arg in std::env::args_os().skip(1) {
        match arg.into_string() {
            Ok(arg) => args.push(arg),
            Err(arg) => {
                eprintln!("toolcall-sim: the argument {arg:?} is not UTF-8");
                return ExitCode::from(2);
            }
        }
    }
    match parse(&args) {
        Ok(Command::Help) => {
            print!("{USAGE}");
            ExitCode::SUCCESS
        }
        Ok(Command::Version) => {
            println!("toolcall-sim {}", env!("CARGO_PKG_VERSION"));
            ExitCode::SUCCESS
        }
        Ok(Command::Serve(options)) => serve(options),
        Ok(Command::Sessions(command)) => sessions::run(command),
        Err(problem) => {
            eprintln!("toolcall-sim: {problem}\nRun `toolcall-sim --help` for the options.");
            ExitCode::from(2)
        }
    }
}

fn serve(options: Options) -> ExitCode {
    let file = match &options.script {
        Some(path) => match ScriptFile::load(path) {
            Ok(file) => Some(file),
            Err(error) => {
                eprintln!("toolcall-sim: {error}");
                return ExitCode::from(2);
            }
        },
        None => None,
    };
    let mut builder = match &file {
        Some(file) => file.configure(SimBuilder::default()),
        None => SimBuilder::default(),
    };
    if let Some(path) = &options.fixtures {
        match Fixtures::load(path) {
            Ok(fixtures) => builder = builder.fixtures(fixtures),
            Err(error) => {
                eprintln!("toolcall-sim: {error}");
                return ExitCode::from(2);
            }
        }
    }
    if let Some(scale) = options.time_scale {
        builder = builder.time_scale(scale);
    }
    if let Some(seed) = options.seed {
        builder = builder.seed(seed);
    }
    if let Some(latency) = options.model_latency {
        builder = builder.model_latency(latency);
    }
    builder = builder.journal_limit(options.journal_limit);
    if let Some(gemini) = options.gemini {
        builder = builder.gemini(gemini);
    }
    // The server answers on threads of its own; this one only waits for a signal.
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("toolcall-sim: cannot start the runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async move {
        let sim = builder.build();
        let mut server = sim
            .server()
            .addr(SocketAddr::new(options.host, options.port))
            .cors(options.cors)
            .header_read_timeout(options.header_read_timeout)
            .idle_timeout(options.idle_timeout)
            .threads(options.threads.unwrap_or(1));
        if let Some(key) = options.api_key {
            server = server.api_key(key);
        }
        let server = match server.start().await {
            Ok(server) => server,
            Err(error) => {
                eprintln!("toolcall-sim: {error}");
                return ExitCode::FAILURE;
            }
        };
        // Listen before the URL is out: a client may stop us at once.
        let shutdown = match Shutdown::listen() {
            Ok(shutdown) => shutdown,
            Err(error) => {
                eprintln!("toolcall-sim: cannot listen for Ctrl-C: {error}");
                server.shutdown().await;
                return ExitCode::FAILURE;
            }
        };
        println!("{}", server.base_url());
        let mode = match &file {
            Some(file) => format!(
                "script {} ({} turn(s))",
                options
                    .script
                    .as_deref()
                    .unwrap_or(std::path::Path::new(""))
                    .display(),
                file.script.len()
            ),
            None => "auto mode".to_owned(),
        };
        eprintln!(
            "toolcall-sim: serving {mode}, seed {}, at {}; Ctrl-C to stop",
            sim.seed(),
            server.base_url()
        );
        shutdown.wait().await;
        eprintln!("toolcall-sim: shutting down");
        server.shutdown().await;
        let requests = sim.journal().stats().requests;
        match sim.check_consumed() {
            Ok(()) => eprintln!("toolcall-sim: served {requests} request(s)"),
            Err(problem) => eprintln!("toolcall-sim: served {requests} request(s); {problem}"),
        }
        ExitCode::SUCCESS
    })
}

/// Ctrl-C, or SIGTERM on Unix, listened for from its creation on.
struct Shutdown {
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
}

impl Shutdown {
    /// Start listening (inside the runtime).
    fn listen() -> std::io::Result<Shutdown> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Ok(Shutdown {
                interrupt: signal(SignalKind::interrupt())?,
                terminate: signal(SignalKind::terminate())?,
            })
        }
        #[cfg(not(unix))]
        {
            Ok(Shutdown {})
        }
    }

    /// Wait for the signal.
    async fn wait(self) {
        #[cfg(unix)]
        {
            let Shutdown {
                mut interrupt,
                mut terminate,
            } = self;
            tokio::select! {
                _ = interrupt.recv() => {}
                _ = terminate.recv() => {}
            }
        }
        #[cfg(not(unix))]
        {
            if let Err(error) = tokio::signal::ctrl_c().await {
                eprintln!("toolcall-sim: cannot wait for Ctrl-C ({error}); stopping");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use toolcall_sim::Latency;

    fn args(line: &str) -> Vec<String> {
        line.split_whitespace().map(str::to_owned).collect()
    }

    #[test]
    fn serve_defaults_to_localhost_8080_auto_mode() {
        assert_eq!(
            parse(&args("serve")),
            Ok(Command::Serve(Options::default()))
        );
    }

    #[test]
    fn every_option_both_spellings() {
        let expected = Options {
            host: "0.0.0.0".parse().expect("an address"),
            port: 9000,
            script: Some(PathBuf::from("s.yaml")),
            fixtures: Some(PathBuf::from("f.json")),
            time_scale: Some(0.01),
            seed: Some(42),
            model_latency: Some(ModelLatency::new(
                Latency::fixed_ms(200),
                Latency::fixed_ms(20),
            )),
            api_key: Some("sk-test".to_owned()),
            journal_limit: 5,
            header_read_timeout: Some(Duration::from_millis(1500)),
            idle_timeout: None,
            cors: false,
            threads: Some(2),
            gemini: Some(GeminiOptions {
                call_ids: false,
                calls_in_one_chunk: false,
                thought_signature: true,
            }),
        };
        let spaced = "serve --port 9000 --host 0.0.0.0 --script s.yaml --fixtures f.json --time-scale 0.01 --seed 42 --model-latency fixed:200ms/20ms --api-key sk-test --journal-limit 5 --header-read-timeout 1.5s --idle-timeout off --no-cors --threads 2 --gemini no-ids,signatures";
        let inline = "serve --port=9000 --host=0.0.0.0 --script=s.yaml --fixtures=f.json --time-scale=0.01 --seed=42 --model-latency=fixed:200ms/20ms --api-key=sk-test --journal-limit=5 --header-read-timeout=1500ms --idle-timeout=off --no-cors --threads=2 --gemini=no-ids,signatures";
        assert_eq!(parse(&args(spaced)), Ok(Command::Serve(expected)));
        assert_eq!(parse(&args(spaced)), parse(&args(inline)));
        let Ok(Command::Serve(options)) = parse(&args("serve --host localhost")) else {
            panic!("localhost is an address");
        };
        assert_eq!(options.host, IpAddr::V4(Ipv4Addr::LOCALHOST));
        let Ok(Command::Serve(options)) = parse(&args("serve --model-latency realistic")) else {
            panic!("realistic is a latency");
        };
        assert_eq!(options.model_latency, Some(ModelLatency::realistic()));
        let Ok(Command::Serve(options)) = parse(&args("serve --model-latency uniform:1s..2s"))
        else {
            panic!("uniform is a latency");
        };
        assert_eq!(
            options.model_latency.map(|m| m.time_to_first_token),
            Some(Latency::uniform(
                Duration::from_secs(1),
                Duration::from_secs(2)
            ))
        );
    }

    #[test]
    fn help_and_version() {
        for line in ["--help", "-h", "help", "serve --help", "serve --port 1 -h"] {
            assert_eq!(parse(&args(line)), Ok(Command::Help), "{line}");
        }
        assert_eq!(parse(&args("--version")), Ok(Command::Version));
    }

    #[test]
    fn mistakes_are_named() {
        for (line, needle) in [
            ("", "no command"),
            ("run", "unknown command `run`"),
            ("serve --prot 1", "unknown option `--prot`"),
            ("serve --port", "`--port` needs a value"),
            ("serve --port 70000", "not a port"),
            ("serve --host example", "not an IP address"),
            ("serve --seed -1", "not a whole number"),
            ("serve --idle-timeout soon", "not a duration"),
            ("serve --threads 0", "not a count"),
            ("serve --journal-limit -3", "not a whole number"),
            (
                "serve --model-latency fast",
                "--model-latency: invalid latency `fast`",
            ),
        ] {
            let error = parse(&args(line)).expect_err(line);
            assert!(error.contains(needle), "{line}: {error}");
        }
    }

    #[test]
    fn usage_mentions_every_option() {
        for flag in [
            "--port",
            "--host",
            "--script",
            "--seed",
            "--model-latency",
            "--api-key",
            "--journal-limit",
            "--header-read-timeout",
            "--idle-timeout",
            "--no-cors",
            "--threads",
            "--help",
            "--version",
        ] {
            assert!(USAGE.contains(flag), "{flag}");
        }
    }
}
