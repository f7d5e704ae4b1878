//! What reading and writing traces and recordings share: the error type
//! (`FILE:LINE:COLUMN: problem`, as script files report it) and a write
//! that leaves either the old file or the new one, never half of one.

use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;

/// Why a trace or recording file could not be read or written.
#[derive(Debug)]
#[non_exhaustive]
pub enum SessionFileError {
    /// The file could not be read.
    Read {
        /// The file.
        path: PathBuf,
        /// The system's reason.
        source: std::io::Error,
    },
    /// The file could not be written.
    Write {
        /// The file.
        path: PathBuf,
        /// The system's reason.
        source: std::io::Error,
    },
    /// The text is not a valid trace or recording.
    Parse {
        /// The file.
        path: PathBuf,
        /// The line, from 1 (0 when the parser gave no place).
        line: usize,
        /// The column, from 1 (0 when the parser gave no place).
        column: usize,
        /// The problem.
        message: String,
    },
    /// A format version this build does not read.
    Version {
        /// The file.
        path: PathBuf,
        /// The version in the file.
        found: u32,
        /// The version this build reads.
        supported: u32,
    },
    /// Neither a trace (`"trace"`) nor a recording (`"recording"`).
    UnknownKind {
        /// The file.
        path: PathBuf,
    },
}

impl SessionFileError {
    /// The file at fault.
    pub fn path(&self) -> &Path {
        match self {
            SessionFileError::Read { path, .. }
            | SessionFileError::Write { path, .. }
            | SessionFileError::Parse { path, .. }
            | SessionFileError::Version { path, .. }
            | SessionFileError::UnknownKind { path } => path,
        }
    }
}

impl std::fmt::Display for SessionFileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let path = self.path().display();
        match self {
            SessionFileError::Read { source, .. } => write!(f, "{path}: cannot read: {source}"),
            SessionFileError::Write { source, .. } => write!(f, "{path}: cannot write: {source}"),
            SessionFileError::Parse {
                line,
                column,
                message,
                ..
            } if *line > 0 => write!(f, "{path}:{line}:{column}: {message}"),
            SessionFileError::Parse { message, .. } => write!(f, "{path}: {message}"),
            SessionFileError::Version {
                found, supported, ..
            } => write!(
                f,
                "{path}: format version {found} is not supported (this build reads version {supported})"
            ),
            SessionFileError::UnknownKind { .. } => write!(
                f,
                "{path}: neither a trace (`\"trace\": 1`) nor a recording (`\"recording\": 1`)"
            ),
        }
    }
}

impl std::error::Error for SessionFileError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            SessionFileError::Read { source, .. } | SessionFileError::Write { source, .. } => {
                Some(source)
            }
            _ => None,
        }
    }
}

/// Parse JSON text, placing an error at its line and column.
pub(crate) fn parse_json<T: DeserializeOwned>(
    text: &str,
    path: &Path,
) -> Result<T, SessionFileError> {
    serde_json::from_str(text).map_err(|error| {
        let (line, column) = (error.line(), error.column());
        let message = error.to_string();
        // serde_json appends the place: keep it once, in front.
        let suffix = format!(" at line {line} column {column}");
        let message = message.strip_suffix(suffix.as_str()).unwrap_or(&message);
        SessionFileError::Parse {
            path: path.to_owned(),
            line,
            column,
            message: message.to_owned(),
        }
    })
}

/// Write `text` to a file beside `path`, then rename it over `path`, so a
/// reader (or a crash) sees the old file or the new one.
pub(crate) fn write_atomically(path: &Path, text: &str) -> Result<(), SessionFileError> {
    let error = |source| SessionFileError::Write {
        path: path.to_owned(),
        source,
    };
    let mut partial = path.as_os_str().to_owned();
    partial.push(".partial");
    let partial = PathBuf::from(partial);
    std::fs::write(&partial, text).map_err(error)?;
    std::fs::rename(&partial, path).map_err(error)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_parse_error_names_file_line_and_column_once() {
        let error =
            parse_json::<Vec<u32>>("[1,\n 2,\n x]", Path::new("t.json")).expect_err("not a number");
        let text = error.to_string();
        assert!(text.starts_with("t.json:3:2: "), "{text}");
        assert!(!text.contains(" at line "), "{text}");
    }

    #[test]
    fn writes_whole_files() {
        let dir = std::env::temp_dir().join(format!("toolcall-sim-sf-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join("a.json");
        write_atomically(&path, "[1]").expect("write");
        write_atomically(&path, "[2]").expect("overwrite");
        assert_eq!(std::fs::read_to_string(&path).expect("read"), "[2]");
        assert!(!dir.join("a.json.partial").exists());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
