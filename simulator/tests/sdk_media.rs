//! The official Python SDKs (`openai` Chat and Responses, `anthropic`,
//! `google-genai`) send images and PDFs to `toolcall-sim serve` (run as its
//! own process): each gets a 200 with the parts counted in usage, and a 400
//! in its own error for a malformed part. Skips where Python or the SDKs
//! cannot be had; `tests/media_inputs.rs` makes the same checks in Rust in
//! every case.

mod python;

use python::{root_url, run_script, sdk_python, serve};

#[test]
fn the_official_sdks_send_images_and_pdfs() {
    let Some(python) = sdk_python() else { return };
    let server = serve(
        env!("CARGO_BIN_EXE_toolcall-sim"),
        &[
            "--api-key",
            "sk-sim",
            "--model-latency",
            "zero",
            "--seed",
            "9",
        ],
    );
    let out = run_script(
        &python,
        "media_inputs.py",
        &[root_url(&server), "sk-sim"],
        &[("PYTHONWARNINGS", "error::DeprecationWarning")],
    );
    assert!(out.contains("all checks passed"), "{out}");
}
