//! The server's control routes under `/__sim/`, for clients in other
//! processes (a Python or browser test): read or clear the journal, and
//! reset or replace the script.
//!
//! - `GET /__sim/journal`: `{"stats": {...}, "limit": N, "entries": [...]}`
//! - `DELETE /__sim/journal`: forget the entries and reset the counts
//! - `POST /__sim/reset`: the script the server started with, from its first
//!   turn (or auto mode), and an empty journal
//! - `PUT /__sim/script`: follow the script in the body (a JSON script file
//!   with `turns` only) from its first turn
//! - `PUT /__sim/fixtures`: answer from the fixtures in the body
//!   (`{"fixtures": [...]}`) from now on
//! - `GET /__sim/verify`: 200 when every turn and fixture was used and every
//!   request was answered, 409 naming them otherwise
//!
//! Each applies to the request's session (`x-sim-session`), if it names one.

use serde_json::{Value, json};

use crate::engine::Engine;
use crate::engine::fixture::Fixtures;
use crate::engine::journal::{Answer, JournalEntry, Transport};
use crate::engine::script_file::{ScriptFile, ScriptFormat};
use crate::wire::ApiError;

/// The journal as JSON.
pub(crate) fn journal_json(engine: &Engine) -> Value {
    let journal = &engine.journal;
    let stats = journal.stats();
    json!({
        "object": "toolcall_sim.journal",
        "limit": journal.limit(),
        "stats": {
            "requests": stats.requests,
            "replies": stats.replies,
            "errors": stats.errors,
            "faults": stats.faults,
            "dropped": stats.dropped,
        },
        "entries": journal.entries().iter().map(entry_json).collect::<Vec<_>>(),
    })
}

fn entry_json(entry: &JournalEntry) -> Value {
    let mut value = json!({
        "index": entry.index,
        "since_start_ms": entry.since_start.as_secs_f64() * 1000.0,
        "took_ms": entry.took.as_secs_f64() * 1000.0,
        "transport": match entry.transport {
            Transport::InProcess => "in_process",
            Transport::Http => "http",
        },
        "stream": entry.stream,
        "model": entry.model,
        "tools_offered": entry.tools_offered,
        "tool_choice": entry.tool_choice,
        "parallel_tool_calls": entry.parallel_tool_calls,
        "messages": entry.messages,
        "tool_message_ids": entry.tool_message_ids,
        "script_turn": entry.script_turn,
        "fixture": entry.fixture,
        "fault": entry.fault,
        "status": entry.status(),
    });
    if let Some(http) = &entry.http {
        value["method"] = json!(http.method);
        value["endpoint"] = json!(http.endpoint);
        value["headers"] = http
            .headers
            .iter()
            .map(|(name, value)| json!([name, value]))
            .collect();
        // The body as sent: JSON when it is, else its text.
        value["body"] = serde_json::from_slice(&http.body)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&http.body).into_owned()));
    }
    match &entry.answer {
        Answer::Reply(reply) => {
            value["reply"] = json!({
                "content": reply.content,
                "tool_calls": reply.tool_calls.iter().map(|c| json!({
                    "id": c.id, "name": c.name, "arguments": c.arguments,
                })).collect::<Vec<_>>(),
                "finish_reason": reply.finish_reason,
            });
        }
        Answer::Error { message, code, .. } => {
            value["error"] = json!({"message": message, "code": code})
        }
    }
    value
}

/// Start over: the original script from its first turn, an empty journal.
pub(crate) fn reset(engine: &Engine) -> Value {
    engine.reset_script(engine.config.script.clone());
    engine.reset_fixtures(engine.config.fixtures.clone());
    engine.journal.clear();
    json!({"object": "toolcall_sim.reset", "turns": engine.config.script.as_ref().map_or(0, |s| s.turns.len())})
}

/// Follow the script file in `body` from its first turn.
pub(crate) fn replace_script(engine: &Engine, body: &[u8]) -> Result<Value, ApiError> {
    let text = std::str::from_utf8(body).map_err(|_| ApiError::invalid_json())?;
    let file = ScriptFile::parse(text, ScriptFormat::Json, "the request body")
        .map_err(|e| ApiError::invalid_request(e.to_string(), None))?;
    let fixed = [
        ("seed", file.seed.is_some()),
        ("model_latency", file.model_latency.is_some()),
        ("faults", file.faults.is_some()),
        ("chunking", file.chunking.is_some()),
        ("models", file.models.is_some()),
    ];
    if let Some((name, _)) = fixed.iter().find(|(_, set)| *set) {
        return Err(ApiError::invalid_request(
            format!("`{name}` is fixed when the server starts: a new script may set `turns` only"),
            Some(name.to_string()),
        ));
    }
    let turns = file.script.turns.len();
    engine.reset_script(Some(file.script));
    Ok(json!({"object": "toolcall_sim.script", "turns": turns}))
}

/// Answer from the fixtures in `body` (`{"fixtures": [...]}` or a list)
/// from now on, every use count at zero.
pub(crate) fn replace_fixtures(engine: &Engine, body: &[u8]) -> Result<Value, ApiError> {
    let fixtures: Fixtures = serde_json::from_slice(body).map_err(|e| {
        ApiError::invalid_request(
            format!("toolcall-sim: the fixtures in the request body: {e}"),
            None,
        )
    })?;
    let count = fixtures.fixtures.len();
    engine.reset_fixtures(fixtures);
    Ok(json!({"object": "toolcall_sim.fixtures", "fixtures": count}))
}

/// `GET /__sim/verify`: `Ok` when every script turn was used and every
/// request answered from the script; otherwise `Err` naming the unused
/// turns (from 0) and the requests that found no turn (by journal index).
pub(crate) fn verify(engine: &Engine) -> Result<Value, Value> {
    let (turns, used, overruns) = engine.script_status().unwrap_or((0, 0, Vec::new()));
    let unused: Vec<usize> = (used..turns).collect();
    let mut problems = Vec::new();
    if !unused.is_empty() {
        problems.push(format!(
            "{} of {turns} script turn(s) unused: {}",
            unused.len(),
            list(&unused)
        ));
    }
    if !overruns.is_empty() {
        problems.push(format!(
            "{} request(s) came after the script ran out: {}",
            overruns.len(),
            list(&overruns)
        ));
    }
    let (fixtures, underused, unmatched) = engine.fixture_status();
    if !underused.is_empty() {
        problems.push(format!(
            "{} fixture(s) used fewer times than asked: {}",
            underused.len(),
            underused
                .iter()
                .map(|u| format!("{} ({} of at least {})", u.label, u.uses, u.min_uses))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    if !unmatched.is_empty() {
        problems.push(format!(
            "{} request(s) matched no fixture: {}",
            unmatched.len(),
            list(&unmatched)
        ));
    }
    let unmatched_requests: Vec<usize> = {
        let mut all = overruns.clone();
        all.extend(&unmatched);
        all.sort_unstable();
        all
    };
    let value = json!({
        "object": "toolcall_sim.verify",
        "ok": problems.is_empty(),
        "turns": turns,
        "used_turns": used,
        "unused_turns": unused,
        "unmatched_requests": unmatched_requests,
        "fixtures": fixtures,
        "unused_fixtures": underused
            .iter()
            .map(|u| json!({"index": u.index, "uses": u.uses, "min_uses": u.min_uses}))
            .collect::<Vec<_>>(),
        "requests": engine.journal.stats().requests,
        "message": problems.join("; "),
    });
    if problems.is_empty() {
        Ok(value)
    } else {
        Err(value)
    }
}

fn list(indices: &[usize]) -> String {
    indices
        .iter()
        .map(|i| format!("#{i}"))
        .collect::<Vec<_>>()
        .join(", ")
}
