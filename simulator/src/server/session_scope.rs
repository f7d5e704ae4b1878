//! Per-test isolation on one server: a request names its scope with the
//! `x-sim-session` header, or with a `/__sim/s/{id}` prefix on its path (so
//! a client configured with a base URL alone needs no header), and gets an
//! engine of its own: its own script, journal, counters and draws, made on
//! first use from the server's settings. Requests without a scope use the
//! server's own engine, as before.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use hyper::header::{HeaderMap, HeaderName};

use crate::engine::{Config, Engine};
use crate::server::per_request::names_sim_header;
use crate::wire::ApiError;

/// The header that names a request's scope.
pub(crate) const HEADER: &str = "x-sim-session";

/// The path prefix that names a request's scope: `/__sim/s/{id}/v1/...`.
/// [`HEADER`] as looked up: a `&str` would be parsed at each lookup.
const HEADER_NAME: HeaderName = HeaderName::from_static(HEADER);
const PREFIX: &str = "/__sim/s/";

/// The most scopes a server holds at once (a test suite deletes each at
/// its teardown; one that does not is told, instead of growing for ever).
pub(crate) const MAX_SCOPES: usize = 4096;

/// The scopes of one server, by name.
pub(crate) struct Scopes {
    /// The settings each new scope starts from.
    config: Config,
    engines: Mutex<HashMap<String, Arc<Engine>>>,
}

impl Scopes {
    /// No scopes yet; each new one starts from `config`.
    pub fn new(config: Config) -> Scopes {
        Scopes {
            config,
            engines: Mutex::new(HashMap::new()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<Engine>>> {
        self.engines
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The engine of scope `id`, made now if it is new.
    pub fn engine(&self, id: &str) -> Result<Arc<Engine>, ApiError> {
        let mut engines = self.lock();
        if let Some(engine) = engines.get(id) {
            return Ok(engine.clone());
        }
        if engines.len() >= MAX_SCOPES {
            return Err(ApiError::invalid_request(
                format!(
                    "toolcall-sim: {MAX_SCOPES} sessions are open; end finished ones with `DELETE /__sim/session`"
                ),
                None,
            ));
        }
        let engine = Arc::new(Engine::new(self.config.clone()));
        engines.insert(id.to_owned(), engine.clone());
        Ok(engine)
    }

    /// Forget scope `id`; whether it existed.
    pub fn remove(&self, id: &str) -> bool {
        self.lock().remove(id).is_some()
    }
}

/// The scope a request names (by header or path prefix) and its path
/// without the prefix; an error for a malformed name, or a header and a
/// prefix that disagree. The path borrows from `path` alone.
pub(crate) fn split<'h: 'x, 'p: 'x, 'x>(
    headers: &'h HeaderMap,
    path: &'p str,
) -> Result<(Option<&'x str>, &'p str), ApiError> {
    let named = names_sim_header(headers).then(|| headers.get(HEADER_NAME));
    let by_header = match named.flatten() {
        None => None,
        Some(value) => Some(
            value
                .to_str()
                .ok()
                .filter(|id| valid(id))
                .ok_or_else(|| bad_name(&String::from_utf8_lossy(value.as_bytes())))?,
        ),
    };
    let (by_path, rest) = match path.strip_prefix(PREFIX) {
        None => (None, path),
        Some(tail) => {
            let (id, rest) = tail.split_at(tail.find('/').unwrap_or(tail.len()));
            if !valid(id) {
                return Err(bad_name(id));
            }
            (Some(id), rest)
        }
    };
    match (by_header, by_path) {
        (Some(header), Some(path)) if header != path => Err(ApiError::invalid_request(
            format!(
                "toolcall-sim: the `{HEADER}` header names session `{header}` but the path names `{path}`"
            ),
            None,
        )),
        (header, path) => Ok((header.or(path), rest)),
    }
}

/// A scope's name: 1 to 128 letters, digits and `-_.:`.
fn valid(id: &str) -> bool {
    (1..=128).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b))
}

fn bad_name(id: &str) -> ApiError {
    ApiError::invalid_request(
        format!("toolcall-sim: `{id}` is not a session name (1 to 128 letters, digits and `-_.:`)"),
        None,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyper::header::HeaderValue;

    #[test]
    fn a_scope_comes_from_the_header_or_the_path() {
        let none = HeaderMap::new();
        assert_eq!(
            split(&none, "/v1/chat/completions").ok(),
            Some((None, "/v1/chat/completions"))
        );
        assert_eq!(
            split(&none, "/__sim/s/test-1/v1/messages").ok(),
            Some((Some("test-1"), "/v1/messages"))
        );
        let mut named = HeaderMap::new();
        named.insert(HEADER, HeaderValue::from_static("t.2"));
        assert_eq!(
            split(&named, "/__sim/journal").ok(),
            Some((Some("t.2"), "/__sim/journal"))
        );
        assert_eq!(
            split(&named, "/__sim/s/t.2/v1/models").ok(),
            Some((Some("t.2"), "/v1/models"))
        );
        let disagree = split(&named, "/__sim/s/other/v1/models").expect_err("two names");
        assert!(disagree.message.contains("`other`"), "{}", disagree.message);
        let bad = split(&none, "/__sim/s/a%20b/v1/models").expect_err("a bad name");
        assert!(
            bad.message.contains("not a session name"),
            "{}",
            bad.message
        );
    }
}
