//! Runs the official Python SDKs against our servers: a venv under the
//! target directory with the pinned SDKs of `requirements.txt`, made once and
//! shared by every test binary.
//!
//! Where there is no `python3`, or the SDKs cannot be installed (no network),
//! the tests that need them skip with a message, unless
//! `TOOLCALL_REQUIRE_PYTHON_SDKS=1` (set by CI) makes that a failure. A Rust
//! test makes the same checks in every case.
#![allow(dead_code)]

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

#[path = "../common/process.rs"]
mod process;

pub use process::Process;

/// The folder of the SDK scripts and `requirements.txt`: this file's own,
/// whether the simulator's tests include it or the workspace root's (the
/// MCP server's test, `#[path = "../simulator/tests/python/mod.rs"]`).
pub fn scripts_dir() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let own = manifest.join("tests/python");
    if own.join("requirements.txt").exists() {
        own
    } else {
        manifest.join("simulator/tests/python")
    }
}

/// The venv's python with the pinned SDKs installed, or `None` (after
/// printing why) when they cannot be had here.
pub fn sdk_python() -> Option<PathBuf> {
    venv_python(
        &scripts_dir().join("requirements.txt"),
        "python-sdks",
        "TOOLCALL_REQUIRE_PYTHON_SDKS",
    )
}

/// The python of a venv named `name` under the target directory with the
/// pinned packages of `requirements` installed (made once, remade when the
/// file changes), or `None` (after printing why) when they cannot be had
/// here and the variable `require` is not `1`.
pub fn venv_python(requirements: &Path, name: &str, require: &str) -> Option<PathBuf> {
    match prepare(requirements, name) {
        Ok(python) => Some(python),
        Err(why) if std::env::var(require).is_ok_and(|v| v == "1") => {
            panic!("{name} is required here ({require}=1): {why}")
        }
        Err(why) => {
            eprintln!("skipped: {name} is not available: {why}");
            None
        }
    }
}

fn prepare(requirements: &Path, name: &str) -> Result<PathBuf, String> {
    let wanted = fs::read_to_string(requirements).map_err(|e| format!("{requirements:?}: {e}"))?;
    let root = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .map_or_else(
            || PathBuf::from(env!("CARGO_TARGET_TMPDIR")),
            Path::to_path_buf,
        )
        .join(name);
    fs::create_dir_all(&root).map_err(|e| format!("{root:?}: {e}"))?;
    // One installer at a time across test binaries and processes. Tests
    // build with the development toolchain, not the crates' MSRV.
    #[allow(clippy::incompatible_msrv)]
    let _lock = File::create(root.join("lock"))
        .and_then(|file| file.lock().map(|()| file))
        .map_err(|e| format!("lock: {e}"))?;
    let venv = root.join("venv");
    let python = venv.join("bin/python");
    let stamp = root.join("installed.txt");
    if python.exists() && fs::read_to_string(&stamp).is_ok_and(|s| s == wanted) {
        return Ok(python);
    }
    let system = which_python().ok_or("no python3 on PATH")?;
    let _ = fs::remove_dir_all(&venv);
    run(
        Command::new(&system).args(["-m", "venv"]).arg(&venv),
        "python3 -m venv",
    )?;
    run(
        Command::new(&python)
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "-r",
            ])
            .arg(requirements),
        "pip install -r requirements.txt",
    )?;
    fs::write(&stamp, &wanted).map_err(|e| format!("{stamp:?}: {e}"))?;
    Ok(python)
}

fn which_python() -> Option<PathBuf> {
    let ok = |name: &str| {
        Command::new(name)
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    ["python3", "python"]
        .into_iter()
        .find(|n| ok(n))
        .map(PathBuf::from)
}

fn run(command: &mut Command, what: &str) -> Result<(), String> {
    let output = command
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("{what}: {e}"))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{what} failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        ))
    }
}

/// Run `script` (a file of [`scripts_dir`]) with `args`; panics with its
/// output unless it exits 0, and returns its stdout.
pub fn run_script(python: &Path, script: &str, args: &[&str], envs: &[(&str, &str)]) -> String {
    let output: Output = Command::new(python)
        .arg(scripts_dir().join(script))
        .args(args)
        .envs(envs.iter().copied())
        // The SDKs must talk to our server only.
        .env_remove("OPENAI_API_KEY")
        .env_remove("ANTHROPIC_API_KEY")
        .env_remove("OPENAI_BASE_URL")
        .env_remove("ANTHROPIC_BASE_URL")
        .env_remove("GEMINI_API_KEY")
        .env_remove("GOOGLE_API_KEY")
        .env_remove("GOOGLE_GEMINI_BASE_URL")
        .env_remove("GOOGLE_GENAI_API_VERSION")
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("run {script}: {e}"));
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "{script} failed ({}):\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
        output.status
    );
    stdout
}

/// `program serve --port 0 ARGS` running as its own process (its stderr
/// shown), once it has printed its base URL; killed on drop.
pub fn serve(program: &str, args: &[&str]) -> Process {
    let mut command = Command::new(program);
    command
        .args(["serve", "--port", "0"])
        .args(args)
        .stdin(Stdio::null())
        .stderr(Stdio::inherit());
    Process::start(command)
}

/// The server's root, without `/v1` (what the Anthropic SDK takes).
pub fn root_url(server: &Process) -> &str {
    server
        .base_url
        .strip_suffix("/v1")
        .unwrap_or(&server.base_url)
}
