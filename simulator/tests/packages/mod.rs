//! What the tests of the Python and npm packages share: running a program
//! for its output, and a locked folder of their own under `target/`.
#![allow(dead_code)]

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Whether CI's `var=1` makes a missing program a failure instead of a skip.
pub fn required(var: &str) -> bool {
    std::env::var(var).is_ok_and(|v| v == "1")
}

/// Run `command`; its stdout, or why it failed with its output.
pub fn run(command: &mut Command, what: &str) -> Result<String, String> {
    let output = command
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("{what}: {e}"))?;
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    if output.status.success() {
        Ok(stdout)
    } else {
        Err(format!(
            "{what} failed ({}):\n--- stdout\n{stdout}\n--- stderr\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        ))
    }
}

/// `target/NAME`, made if need be, and a lock on it held until dropped
/// (one installer at a time across test processes).
pub fn locked_dir(name: &str) -> (PathBuf, File) {
    let root = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .map_or_else(
            || PathBuf::from(env!("CARGO_TARGET_TMPDIR")),
            Path::to_path_buf,
        )
        .join(name);
    fs::create_dir_all(&root).expect("a folder under target/");
    // Tests build with the development toolchain, not the crates' MSRV.
    #[allow(clippy::incompatible_msrv)]
    let lock = File::create(root.join("lock"))
        .and_then(|file| file.lock().map(|()| file))
        .expect("the lock");
    (root, lock)
}

/// `npm` quiet, without audit or funding notes.
pub fn npm() -> Command {
    let mut command = Command::new("npm");
    command.args(["--no-audit", "--no-fund", "--loglevel=error"]);
    command
}

/// `ROOT/project` with `files` copied from `source` and the packages of
/// `source/package.json` installed (again only when it changed); an error
/// where node or npm cannot be had.
pub fn npm_project(root: &Path, source: &Path, files: &[&str]) -> Result<PathBuf, String> {
    for tool in ["node", "npm"] {
        run(Command::new(tool).arg("--version"), tool)
            .map_err(|e| format!("no usable {tool}: {e}"))?;
    }
    let project = root.join("project");
    fs::create_dir_all(&project).map_err(|e| format!("{project:?}: {e}"))?;
    let wanted = fs::read_to_string(source.join("package.json"))
        .map_err(|e| format!("package.json: {e}"))?;
    let stamp = root.join("installed.txt");
    let copy = |name: &str| {
        fs::copy(source.join(name), project.join(name)).map_err(|e| format!("{name}: {e}"))
    };
    for file in files {
        copy(file)?;
    }
    if !fs::read_to_string(&stamp).is_ok_and(|s| s == wanted) {
        let _ = fs::remove_dir_all(project.join("node_modules"));
        let _ = fs::remove_file(project.join("package-lock.json"));
        copy("package.json")?;
        run(npm().arg("install").current_dir(&project), "npm install")?;
        fs::write(&stamp, &wanted).map_err(|e| format!("{stamp:?}: {e}"))?;
    }
    Ok(project)
}
