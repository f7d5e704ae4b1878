//! The patient_summary example: its tools on a real SQLite database (found,
//! missing, malformed ids), its database errors, and the example's own logic
//! (`examples/patient_summary/app.rs`, what `main` runs) in process, on a
//! fresh database each: it completes, shows error results for a missing
//! patient, fails cleanly on a bad `DATABASE_URL`, and writes a well-formed
//! SVG timeline with one bar per call. It runs on the real clock: sqlx's
//! SQLite worker threads answer in real time, which a paused clock would
//! jump past. Nothing asserts on times. CI runs the example itself too.

#[path = "../examples/patient_summary/app.rs"]
#[allow(dead_code)]
mod app;
#[path = "../examples/patient_summary/db.rs"]
#[allow(dead_code)]
mod db;
#[path = "../examples/quickstart.rs"]
#[allow(dead_code)]
mod quickstart;
#[path = "../examples/patient_summary/summary.rs"]
mod summary;
#[path = "../examples/patient_summary/tools.rs"]
#[allow(dead_code)]
mod tools;

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

use quick_xml::Reader;
use quick_xml::events::Event;
use serde_json::Value;
use toolcall::{DispatchOptions, Outcome, ToolCall, ToolSet};

use db::{Db, DbError};
use tools::{get_active_medications, get_allergies, get_patient_demographics, get_recent_labs};

/// A fresh SQLite file in the system's temp directory, removed on drop.
struct TempDb {
    dir: PathBuf,
}

impl TempDb {
    fn new() -> TempDb {
        static N: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "toolcall-patient-summary-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).expect("temp dir");
        TempDb { dir }
    }

    fn url(&self) -> String {
        format!(
            "sqlite://{}?mode=rwc",
            self.dir.join("clinic.sqlite3").display()
        )
    }
}

impl Drop for TempDb {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn toolset(db: Db) -> ToolSet {
    ToolSet::builder()
        .tools(toolcall::tools![
            get_patient_demographics,
            get_active_medications,
            get_allergies,
            get_recent_labs,
        ])
        .state(db)
        .build()
        .expect("the four tools build")
}

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

#[tokio::test]
async fn the_tools_read_the_seeded_database() {
    let temp = TempDb::new();
    check_tools(&temp.url()).await;
}

/// The same tools and queries on PostgreSQL, when
/// `TOOLCALL_TEST_POSTGRES_URL` names a database this test may create the
/// example's tables in (skipped otherwise: CI has no PostgreSQL).
#[tokio::test]
async fn the_tools_read_a_postgres_database_when_one_is_given() {
    let Some(url) = std::env::var("TOOLCALL_TEST_POSTGRES_URL")
        .ok()
        .filter(|u| !u.is_empty())
    else {
        eprintln!("skipped: set TOOLCALL_TEST_POSTGRES_URL=postgres://... to run it");
        return;
    };
    check_tools(&url).await;
}

async fn check_tools(url: &str) {
    let tools = toolset(Db::connect(url).await.expect("open"));
    let defs = tools.definitions();
    assert_eq!(defs.len(), 4);
    assert!(defs.iter().all(|d| d.strict && !d.description.is_empty()));
    assert_eq!(
        defs[3].parameters["properties"]["limit"]["description"],
        "How many results, newest first (default 5, at most 50)."
    );

    let r = tools
        .call("get_patient_demographics", r#"{"patient_id": "P-00001"}"#)
        .await;
    assert_eq!(r.outcome, Outcome::Ok, "{r:?}");
    let who = json(&r.content);
    assert_eq!(who["name"], "Ada Okafor");
    assert_eq!(who["blood_type"], "A+");

    // Only active prescriptions.
    let r = tools
        .call("get_active_medications", r#"{"patient_id": "P-00001"}"#)
        .await;
    let drugs: Vec<String> = json(&r.content)
        .as_array()
        .expect("a list")
        .iter()
        .map(|m| m["drug"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(drugs, ["Metformin", "Lisinopril", "Atorvastatin"]);

    // Most severe first; an empty list (not an error) for no known allergies.
    let r = tools
        .call("get_allergies", r#"{"patient_id": "P-00001"}"#)
        .await;
    assert_eq!(json(&r.content)[0]["substance"], "Penicillin");
    let r = tools
        .call("get_allergies", r#"{"patient_id": "P-00003"}"#)
        .await;
    assert_eq!((r.outcome, r.content.as_str()), (Outcome::Ok, "[]"));

    // `limit` caps the results, newest first; absent, the default applies.
    let r = tools
        .call(
            "get_recent_labs",
            r#"{"patient_id": "P-00001", "limit": 2}"#,
        )
        .await;
    let labs = json(&r.content);
    assert_eq!(labs.as_array().map(Vec::len), Some(2));
    // (Within a day the order is by test name, in the database's collation.)
    assert_eq!(labs[0]["taken_on"], "2025-05-02");
    assert_eq!(labs[1]["taken_on"], "2025-05-02");
    let hba1c = json(
        &tools
            .call(
                "get_recent_labs",
                r#"{"patient_id": "P-00001", "limit": 50}"#,
            )
            .await
            .content,
    );
    let hba1c: Vec<(&str, f64)> = hba1c
        .as_array()
        .expect("a list")
        .iter()
        .filter(|l| l["test"] == "HbA1c")
        .map(|l| {
            (
                l["taken_on"].as_str().unwrap_or(""),
                l["value"].as_f64().unwrap_or(0.0),
            )
        })
        .collect();
    assert_eq!(hba1c, [("2025-05-02", 7.4), ("2024-11-18", 7.9)]);
    let r = tools
        .call(
            "get_recent_labs",
            r#"{"patient_id": "P-00001", "limit": null}"#,
        )
        .await;
    assert_eq!(
        json(&r.content).as_array().map(Vec::len),
        Some(tools::DEFAULT_LAB_LIMIT as usize)
    );
    let r = tools
        .call(
            "get_recent_labs",
            r#"{"patient_id": "P-00001", "limit": 0}"#,
        )
        .await;
    assert_eq!(json(&r.content).as_array().map(Vec::len), Some(1));
}

#[tokio::test]
async fn a_missing_patient_is_an_error_result_for_every_tool() {
    let temp = TempDb::new();
    let tools = toolset(Db::connect(&temp.url()).await.expect("open"));
    let calls: Vec<ToolCall> = tools
        .names()
        .enumerate()
        .map(|(i, name)| ToolCall::new(format!("c{i}"), name, r#"{"patient_id": "P-99999"}"#))
        .collect();
    for options in [DispatchOptions::parallel(), DispatchOptions::sequential()] {
        let batch = tools.dispatch(&calls).options(options).await;
        assert_eq!(batch.results.len(), 4);
        for (call, result) in calls.iter().zip(&batch.results) {
            assert_eq!(result.call_id, call.id);
            assert_eq!(result.outcome, Outcome::ToolError, "{result:?}");
            assert_eq!(result.content, "error: no patient with id P-99999");
        }
    }
    // A malformed id says what an id looks like.
    let r = tools
        .call("get_allergies", r#"{"patient_id": "12345"}"#)
        .await;
    assert_eq!(r.outcome, Outcome::ToolError);
    assert!(r.content.contains("ids look like P-00001"), "{}", r.content);
    // The fns stay callable as written.
    let direct = get_patient_demographics(
        toolcall::State(Db::connect(&temp.url()).await.expect("open")),
        "P-00042".to_owned(),
    )
    .await;
    assert_eq!(
        direct.map_err(|e| e.to_string()),
        Err("no patient with id P-00042".to_owned())
    );
}

#[tokio::test]
async fn opening_twice_seeds_once() {
    let temp = TempDb::new();
    let first = toolset(Db::connect(&temp.url()).await.expect("open"));
    let again = toolset(Db::connect(&temp.url()).await.expect("reopen"));
    for tools in [first, again] {
        let r = tools
            .call("get_active_medications", r#"{"patient_id": "P-00002"}"#)
            .await;
        assert_eq!(
            json(&r.content).as_array().map(Vec::len),
            Some(2),
            "{}",
            r.content
        );
    }
}

#[tokio::test]
async fn an_unreachable_database_is_a_clear_error() {
    let error = Db::connect("postgres://nouser:hunter2@127.0.0.1:1/nodb")
        .await
        .expect_err("nothing listens on port 1");
    assert!(matches!(error, DbError::Connect { .. }), "{error:?}");
    let message = error.to_string();
    assert!(
        message.starts_with(
            "cannot connect to the database at postgres://nouser:***@127.0.0.1:1/nodb: "
        ),
        "{message}"
    );
    assert!(!message.contains("hunter2"), "{message}");
}

#[test]
fn urls_are_printed_without_passwords() {
    assert_eq!(
        db::redact("postgres://me:s3cret@db.local:5432/clinic"),
        "postgres://me:***@db.local:5432/clinic"
    );
    assert_eq!(
        db::redact("postgres://me@db/clinic"),
        "postgres://me@db/clinic"
    );
    assert_eq!(db::redact("postgres://db/clinic"), "postgres://db/clinic");
    assert_eq!(
        db::redact("postgres://a:b@c@host/x"),
        "postgres://a:***@host/x"
    );
    assert_eq!(db::redact("not a url"), "not a url");
}

// ---- The example's logic, in process. ----

/// What one run of the example printed, and how it ended.
struct Run {
    out: String,
    result: Result<(), app::Error>,
    timeline: PathBuf,
    /// Keeps the run's database and timeline until the test ends.
    _temp: TempDb,
}

/// Run the example with these arguments on a fresh SQLite database (or
/// `database_url`), offline, writing its timeline beside the database.
async fn example(args: &[&str], database_url: Option<&str>) -> Run {
    let temp = TempDb::new();
    let options = match app::Options::parse(args.iter().map(|a| (*a).to_owned())) {
        Ok(app::Parsed::Run(options)) => options,
        Ok(app::Parsed::Help) => panic!("--help is not a run"),
        Err(e) => panic!("bad arguments {args:?}: {e}"),
    };
    let env = app::Env {
        database_url: Some(database_url.map_or_else(|| temp.url(), str::to_owned)),
        openai_api_key: None,
        openai_model: None,
        anthropic_api_key: None,
        anthropic_model: None,
        gemini_api_key: None,
        gemini_model: None,
        timeline: temp.dir.join("timeline.svg"),
    };
    let mut out = Vec::new();
    let result = app::run(&options, &env, &mut out).await;
    Run {
        out: String::from_utf8(out).expect("UTF-8 output"),
        result,
        timeline: env.timeline,
        _temp: temp,
    }
}

#[tokio::test]
async fn the_example_runs_and_writes_a_timeline() {
    let run = example(&[], None).await;
    let out = &run.out;
    assert!(run.result.is_ok(), "{out}\n{:?}", run.result.err());
    assert!(out.contains("Patient summary for P-00001"), "{out}");
    assert!(out.contains("model     toolcall-sim"), "{out}");
    for tool in [
        "get_patient_demographics",
        "get_active_medications",
        "get_allergies",
        "get_recent_labs",
    ] {
        assert!(
            out.contains(&format!("  {tool} ")),
            "{tool} not listed:\n{out}"
        );
    }
    let labs_line = out
        .lines()
        .find(|l| l.starts_with("  get_recent_labs "))
        .unwrap_or_else(|| panic!("no labs call:\n{out}"));
    assert!(labs_line.contains(r#""limit":5"#), "{labs_line}");
    assert!(
        labs_line.contains(r#""patient_id":"P-00001""#),
        "{labs_line}"
    );
    assert!(!out.contains("tool_error"), "{out}");
    assert!(out.contains("  sequential "), "{out}");
    assert!(out.contains("  parallel "), "{out}");
    assert!(out.contains("  speed-up "), "{out}");
    // The summary is built from what the database returned.
    let summary = out
        .split("\nSummary")
        .nth(1)
        .unwrap_or_else(|| panic!("no summary:\n{out}"));
    for fact in ["Ada Okafor", "Metformin", "Penicillin", "HbA1c"] {
        assert!(
            summary.contains(fact),
            "{fact} missing from the summary:\n{summary}"
        );
    }

    let path = out
        .lines()
        .find_map(|l| l.strip_prefix("Timeline: "))
        .unwrap_or_else(|| panic!("no timeline path:\n{out}"));
    assert_eq!(path, run.timeline.display().to_string());
    let svg = std::fs::read_to_string(path).expect("the timeline file");
    let bars = svg_bars(&svg);
    let names = [
        "get_patient_demographics",
        "get_active_medications",
        "get_allergies",
        "get_recent_labs",
    ];
    // One bar per call: the four calls sequentially, then in parallel.
    assert_eq!(
        bars.iter().map(|b| b.tool.as_str()).collect::<Vec<_>>(),
        [names, names].concat()
    );
    assert!(bars.iter().all(|b| b.outcome == "ok"), "{bars:?}");
    // Sequential bars follow one another; parallel ones start together.
    for pair in bars[..4].windows(2) {
        assert!(
            pair[1].start_ms >= pair[0].start_ms + pair[0].elapsed_ms - 0.01,
            "{pair:?}"
        );
    }
    for bar in &bars[4..] {
        assert_eq!(bar.start_ms, bars[4].start_ms, "{bar:?}");
    }
}

#[tokio::test]
async fn a_missing_patient_still_completes_with_error_results() {
    let run = example(&["P-99999"], None).await;
    let out = &run.out;
    assert!(run.result.is_ok(), "{out}\n{:?}", run.result.err());
    assert_eq!(
        out.matches("-> error: no patient with id P-99999").count(),
        4,
        "{out}"
    );
    assert_eq!(out.matches("  tool_error").count(), 4, "{out}");
    let summary = out
        .split("\nSummary")
        .nth(1)
        .unwrap_or_else(|| panic!("no summary:\n{out}"));
    assert!(summary.contains("no patient with id P-99999"), "{summary}");
}

#[tokio::test]
async fn sequential_and_streaming_flags_are_honoured() {
    let run = example(&["P-00002", "--sequential", "--stream"], None).await;
    let out = &run.out;
    assert!(run.result.is_ok(), "{out}\n{:?}", run.result.err());
    assert!(
        out.contains("dispatch  sequential, streaming eager"),
        "{out}"
    );
    assert!(out.contains("Jonas Lindqvist"), "{out}");
}

#[tokio::test]
async fn the_responses_provider_runs_over_the_simulated_api() {
    let run = example(
        &["P-00003", "--provider", "openai-responses", "--stream"],
        None,
    )
    .await;
    let out = &run.out;
    assert!(run.result.is_ok(), "{out}\n{:?}", run.result.err());
    let model_line = out
        .lines()
        .find(|l| l.starts_with("  model "))
        .unwrap_or_else(|| panic!("no model line:\n{out}"));
    assert!(
        model_line.contains("toolcall-sim at http://127.0.0.1:")
            && model_line.contains("/v1/responses"),
        "{model_line}"
    );
    assert!(out.contains("the model asked for 4 tool calls"), "{out}");
    assert!(!out.contains("tool_error"), "{out}");
    let summary = out
        .split("\nSummary")
        .nth(1)
        .unwrap_or_else(|| panic!("no summary:\n{out}"));
    for fact in ["Mei Tanaka", "Levothyroxine", "TSH"] {
        assert!(summary.contains(fact), "{fact} missing:\n{summary}");
    }
}

#[tokio::test]
async fn the_anthropic_provider_speaks_the_messages_format_offline() {
    let run = example(&["P-00003", "--provider", "anthropic", "--stream"], None).await;
    let out = &run.out;
    assert!(run.result.is_ok(), "{out}\n{:?}", run.result.err());
    assert!(
        out.contains("model     toolcall-sim at http://127.0.0.1:")
            && out.contains("/v1/messages, offline"),
        "{out}"
    );
    assert!(out.contains("asked for 4 tool calls"), "{out}");
    assert!(out.contains("speed-up"), "{out}");
    assert!(run.timeline.exists());
}

#[tokio::test]
async fn a_typed_patient_summary_prints_with_each_provider() {
    for provider in ["openai-chat", "openai-responses", "anthropic"] {
        let run = example(&["P-00002", "--provider", provider, "--typed"], None).await;
        let out = &run.out;
        assert!(
            run.result.is_ok(),
            "{provider}: {out}\n{:?}",
            run.result.err()
        );
        assert!(out.contains("asked for 4 tool calls"), "{provider}: {out}");
        assert!(out.contains("a typed PatientSummary"), "{provider}: {out}");
        for field in ["patient      ", " years, "] {
            assert!(out.contains(field), "{provider}: {field} missing:\n{out}");
        }
    }
}

#[tokio::test]
async fn the_gemini_provider_speaks_the_generate_content_format_offline() {
    let run = example(&["P-00003", "--provider", "gemini", "--stream"], None).await;
    let out = &run.out;
    assert!(run.result.is_ok(), "{out}\n{:?}", run.result.err());
    assert!(
        out.contains("model     toolcall-sim at http://127.0.0.1:")
            && out.contains("/v1beta/models/gemini-2.5-flash:generateContent, offline"),
        "{out}"
    );
    assert!(out.contains("asked for 4 tool calls"), "{out}");
    assert!(out.contains("speed-up"), "{out}");
    assert!(run.timeline.exists());
}

#[tokio::test]
async fn a_bad_database_url_fails_with_a_clear_message() {
    let run = example(&[], Some("postgres://nouser@127.0.0.1:1/nodb")).await;
    let err = run.result.expect_err("no database").to_string();
    assert!(
        err.contains("cannot connect to the database at postgres://nouser@127.0.0.1:1/nodb"),
        "{err}"
    );
    assert!(!run.out.contains("Summary"));

    let run = example(&[], Some("mysql://me:s3cret@localhost/clinic")).await;
    let err = run.result.expect_err("unsupported").to_string();
    assert!(err.contains("is not supported"), "{err}");
    assert!(!err.contains("s3cret"), "{err}");
}

#[test]
fn usage_errors_and_help() {
    let err = app::Options::parse(["--frobnicate".to_owned()])
        .err()
        .expect("an unknown option");
    assert!(err.contains("unknown option `--frobnicate`"), "{err}");
    let err = app::Options::parse(["--provider".to_owned(), "nope".to_owned()])
        .err()
        .expect("an unknown provider");
    assert!(err.contains("unknown provider `nope`"), "{err}");
    assert!(app::Options::parse(["--provider".to_owned()]).is_err());
    assert!(matches!(
        app::Options::parse(["--help".to_owned()]),
        Ok(app::Parsed::Help)
    ));
    assert!(app::USAGE.contains("usage: cargo run --example patient_summary"));
    assert!(app::USAGE.contains("--sequential"));
}

#[tokio::test]
async fn the_quickstart_runs() {
    let answer = quickstart::run().await.expect("the quickstart runs");
    assert!(answer.contains("18°C and sunny in Paris"), "{answer}");
    assert!(answer.contains("14:05"), "{answer}");
}

/// One `<rect class="call ...">` of the timeline.
#[derive(Debug)]
struct Bar {
    tool: String,
    outcome: String,
    start_ms: f64,
    elapsed_ms: f64,
}

/// Parse the SVG with a real XML parser (tags must balance, attributes must
/// be well-formed) and collect the call bars.
fn svg_bars(svg: &str) -> Vec<Bar> {
    let mut reader = Reader::from_str(svg);
    let mut bars = Vec::new();
    let mut depth = 0usize;
    let mut roots = 0;
    loop {
        let event = reader
            .read_event()
            .unwrap_or_else(|e| panic!("malformed SVG at {}: {e}", reader.buffer_position()));
        let element = match &event {
            Event::Start(e) => {
                if depth == 0 {
                    roots += 1;
                    assert_eq!(e.name().as_ref(), "svg");
                }
                depth += 1;
                Some(e.clone())
            }
            Event::Empty(e) => Some(e.clone()),
            Event::End(_) => {
                depth -= 1;
                None
            }
            Event::Eof => break,
            _ => None,
        };
        let Some(element) = element else { continue };
        let attrs: Vec<(String, String)> = element
            .attributes()
            .map(|a| {
                let a = a.unwrap_or_else(|e| panic!("bad attribute: {e}"));
                (a.key.as_ref().to_owned(), a.value.clone().into_owned())
            })
            .collect();
        let get = |key: &str| {
            attrs
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.clone())
                .unwrap_or_default()
        };
        if element.name().as_ref() == "rect" && get("class").split(' ').next() == Some("call") {
            let number = |key: &str| {
                get(key)
                    .parse::<f64>()
                    .unwrap_or_else(|e| panic!("{key}: {e}"))
            };
            bars.push(Bar {
                tool: get("data-tool"),
                outcome: get("data-outcome"),
                start_ms: number("data-start-ms"),
                elapsed_ms: number("data-elapsed-ms"),
            });
        }
    }
    assert_eq!((roots, depth), (1, 0), "one root, every element closed");
    bars
}
