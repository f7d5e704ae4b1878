//! The Python package as a user gets it: `pip install ./simulator` (maturin
//! builds the release binary into the workspace's target directory) into a
//! venv under `target/` that starts without it, then a pytest file using
//! the `toolcall_sim` fixture with the official OpenAI and Anthropic SDKs.
//!
//! The venv with the SDKs and pytest is kept between runs (remade when
//! `requirements.txt` changes); the package itself is uninstalled and
//! installed again each run. Skips where Python or the packages cannot be
//! had, unless `TOOLCALL_REQUIRE_PYTHON_SDKS=1` makes that a failure.

mod packages;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use packages::{locked_dir, required, run};

fn here() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python_package")
}

/// The kept venv with the SDKs and pytest: its python.
fn venv(root: &Path) -> Result<PathBuf, String> {
    let requirements = here().join("requirements.txt");
    let wanted = fs::read_to_string(&requirements).map_err(|e| format!("{requirements:?}: {e}"))?;
    let venv = root.join("venv");
    let python = venv.join("bin/python");
    let stamp = root.join("installed.txt");
    if python.exists() && fs::read_to_string(&stamp).is_ok_and(|s| s == wanted) {
        return Ok(python);
    }
    let system = ["python3", "python"]
        .into_iter()
        .find(|name| {
            Command::new(name)
                .arg("--version")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        })
        .ok_or("no python3 on PATH")?;
    let _ = fs::remove_dir_all(&venv);
    run(
        Command::new(system).args(["-m", "venv"]).arg(&venv),
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
            .arg(&requirements),
        "pip install -r requirements.txt",
    )?;
    fs::write(&stamp, &wanted).map_err(|e| format!("{stamp:?}: {e}"))?;
    Ok(python)
}

/// The venv with the package freshly installed from this checkout.
fn install(root: &Path) -> Result<PathBuf, String> {
    let python = venv(root)?;
    let pip = |args: &[&str]| {
        let mut command = Command::new(&python);
        command
            .args(["-m", "pip"])
            .args(args)
            .arg("--disable-pip-version-check");
        command
    };
    run(
        &mut pip(&["uninstall", "--yes", "toolcall-sim"]),
        "pip uninstall",
    )?;
    let binary = python.with_file_name("toolcall-sim");
    if binary.exists() {
        return Err(format!("{binary:?} is still there after uninstalling"));
    }
    let simulator = Path::new(env!("CARGO_MANIFEST_DIR"));
    run(
        pip(&["install", "--quiet"]).arg(simulator),
        "pip install ./simulator",
    )?;
    if !binary.exists() {
        return Err(format!("pip install put no binary at {binary:?}"));
    }
    Ok(python)
}

#[test]
fn pip_install_then_pytest_with_the_official_sdks() {
    let (root, _lock) = locked_dir("python-package");
    let python = match install(&root) {
        Ok(python) => python,
        Err(why) if required("TOOLCALL_REQUIRE_PYTHON_SDKS") => {
            panic!("the Python package is required here: {why}")
        }
        Err(why) => {
            eprintln!("skipped: the Python package could not be installed: {why}");
            return;
        }
    };
    let version = run(
        Command::new(python.with_file_name("toolcall-sim")).arg("--version"),
        "toolcall-sim --version",
    )
    .expect("the installed binary runs");
    assert_eq!(
        version.trim(),
        format!("toolcall-sim {}", env!("CARGO_PKG_VERSION"))
    );
    let out = run(
        Command::new(&python)
            .args(["-m", "pytest", "-q", "-p", "no:cacheprovider"])
            .arg(here().join("test_fixture.py"))
            .current_dir(&root)
            // The SDKs must talk to the simulator only.
            .env_remove("OPENAI_API_KEY")
            .env_remove("ANTHROPIC_API_KEY")
            .env_remove("OPENAI_BASE_URL")
            .env_remove("ANTHROPIC_BASE_URL")
            .env_remove("TOOLCALL_SIM_BIN"),
        "pytest test_fixture.py",
    )
    .unwrap_or_else(|failure| panic!("{failure}"));
    assert!(out.contains("9 passed"), "{out}");
}
