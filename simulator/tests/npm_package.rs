//! The npm packages as a user gets them: `simulator/npm/build.sh` packs the
//! platform package (the release binary) and the launcher, both tarballs go
//! into a Node project under `target/` that starts without them, and a
//! Vitest file drives the helper with the official OpenAI Node SDK.
//!
//! The project's `node_modules` with vitest and the SDK are kept between
//! runs (reinstalled when `package.json` changes); the two packages are
//! removed and installed again each run. Skips where node or npm cannot be
//! had, unless `TOOLCALL_REQUIRE_NODE=1` makes that a failure.

mod packages;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use packages::{locked_dir, npm, npm_project, required, run};

fn here() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/npm_package")
}

/// The project with vitest and the SDK installed, and the packages not.
fn project(root: &Path) -> Result<PathBuf, String> {
    let project = npm_project(root, &here(), &["fixture.test.js"])?;
    for installed in ["node_modules/toolcall-sim", "node_modules/@toolcall"] {
        let _ = fs::remove_dir_all(project.join(installed));
    }
    Ok(project)
}

/// Build and pack both packages into `dist`; their tarballs.
fn pack(dist: &Path) -> Result<Vec<PathBuf>, String> {
    let _ = fs::remove_dir_all(dist);
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("npm/build.sh");
    run(
        Command::new("bash").arg(script).arg(dist),
        "simulator/npm/build.sh",
    )?;
    let mut tarballs: Vec<PathBuf> = fs::read_dir(dist)
        .map_err(|e| format!("{dist:?}: {e}"))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "tgz"))
        .collect();
    tarballs.sort();
    if tarballs.len() != 2 {
        return Err(format!("expected two tarballs, got {tarballs:?}"));
    }
    Ok(tarballs)
}

#[test]
fn npm_packs_install_and_vitest_runs_with_the_official_sdk() {
    let (root, _lock) = locked_dir("npm-package");
    let ready = project(&root).and_then(|project| Ok((project, pack(&root.join("dist"))?)));
    let (project, tarballs) = match ready {
        Ok(ready) => ready,
        Err(why) if required("TOOLCALL_REQUIRE_NODE") => {
            panic!("node and npm are required here: {why}")
        }
        Err(why) => {
            eprintln!("skipped: the npm packages could not be built and installed: {why}");
            return;
        }
    };
    run(
        npm()
            .args(["install", "--no-save", "--offline"])
            .args(&tarballs)
            .current_dir(&project),
        "npm install the tarballs",
    )
    .unwrap_or_else(|failure| panic!("{failure}"));
    let version = run(
        Command::new(project.join("node_modules/.bin/toolcall-sim")).arg("--version"),
        "toolcall-sim --version through the launcher",
    )
    .unwrap_or_else(|failure| panic!("{failure}"));
    assert_eq!(
        version.trim(),
        format!("toolcall-sim {}", env!("CARGO_PKG_VERSION"))
    );
    let out = run(
        Command::new(project.join("node_modules/.bin/vitest"))
            .args(["run", "--reporter=verbose"])
            .current_dir(&project)
            .env_remove("OPENAI_API_KEY")
            .env_remove("OPENAI_BASE_URL")
            .env_remove("TOOLCALL_SIM_BIN")
            .env("NO_COLOR", "1"),
        "vitest run",
    )
    .unwrap_or_else(|failure| panic!("{failure}"));
    assert!(out.contains("5 passed"), "{out}");
}
