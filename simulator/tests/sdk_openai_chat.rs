//! The official OpenAI Python SDK's Chat Completions as the client of
//! `toolcall-sim serve` (its own process): `parse(response_format=...)`,
//! the `developer` role, `max_completion_tokens`, a forced `tool_choice`,
//! streamed calls and text assembled by the SDK's stream helper, the 400s
//! it raises, and the CORS and rate-limit headers. Skips where
//! Python or the SDK cannot be had; `tests/fidelity.rs` and
//! `tests/hardening.rs` make the same checks in Rust in every case.

mod python;

#[test]
fn the_official_python_sdk_parses_structured_output_and_gets_400s() {
    let Some(python) = python::sdk_python() else {
        return;
    };
    let serving = python::serve(env!("CARGO_BIN_EXE_toolcall-sim"), &["--seed", "4"]);
    let out = python::run_script(&python, "openai_chat.py", &[&serving.base_url], &[]);
    for check in ["parsed", "forced", "length", "streamed", "errors"] {
        assert!(out.contains(&format!("ok {check}")), "{out}");
    }
}
