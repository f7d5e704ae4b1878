//! Reading a session from either kind of file: above both the trace and the
//! recording, which each make a `Session` of their own.

use std::path::Path;

use crate::sessions::recording::Recording;
use crate::sessions::session::Session;
use crate::sessions::session_file::{SessionFileError, parse_json};
use crate::sessions::trace::Trace;

impl Session {
    /// Read a trace or a recording (told apart by their `"trace"` or
    /// `"recording"` key).
    pub fn load(path: impl AsRef<Path>) -> Result<Session, SessionFileError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| SessionFileError::Read {
            path: path.to_owned(),
            source,
        })?;
        let value: serde_json::Value = parse_json(&text, path)?;
        if value.get("trace").is_some() {
            Trace::parse(&text, path).map(|t| Session::from_trace(&t))
        } else if value.get("recording").is_some() {
            Recording::parse(&text, path).map(|r| r.session())
        } else {
            Err(SessionFileError::UnknownKind {
                path: path.to_owned(),
            })
        }
    }
}
