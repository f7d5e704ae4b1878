//! The official Google Gen AI Python SDK (`google-genai`) as the client of
//! `toolcall-sim serve` (run as its own process): `generate_content` on the
//! SDK's default `/v1`, `generate_content_stream` on `/v1beta` with the calls
//! split over chunks, calls without ids and with a thought signature, modes
//! NONE and ANY, and the `ClientError`s it raises. Skips where Python or the
//! SDK cannot be had; `tests/gemini_wire.rs` makes the same checks in Rust
//! in every case.

mod python;

use python::{root_url, run_script, sdk_python, serve};

#[test]
fn the_official_google_genai_sdk_drives_the_simulator() {
    let Some(python) = sdk_python() else { return };
    let server = serve(
        env!("CARGO_BIN_EXE_toolcall-sim"),
        &[
            "--api-key",
            "gemini-sim",
            "--model-latency",
            "zero",
            "--seed",
            "5",
            "--gemini",
            "no-ids,signatures",
        ],
    );
    let out = run_script(
        &python,
        "gemini_generate.py",
        &[root_url(&server), "gemini-sim"],
        &[("PYTHONWARNINGS", "error::DeprecationWarning")],
    );
    assert!(out.contains("all checks passed"), "{out}");
}
