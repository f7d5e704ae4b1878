//! The last few values the server read from a request part, by that part's
//! exact JSON text: an agent sends the same tool list every turn, so each
//! list is parsed once, not once a request.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

/// How many texts are kept; a new one pushes out the oldest.
const ENTRIES: usize = 8;
/// Longer texts are not kept, so the cache stays small whatever is sent.
const MAX_BYTES: usize = 64 * 1024;

/// Recently read values, by their text.
pub(crate) struct Recent<T: ?Sized> {
    entries: Mutex<VecDeque<(Box<str>, Arc<T>)>>,
}

impl<T: ?Sized> Default for Recent<T> {
    fn default() -> Self {
        Recent {
            entries: Mutex::new(VecDeque::with_capacity(ENTRIES)),
        }
    }
}

impl<T: ?Sized> std::fmt::Debug for Recent<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recent").finish_non_exhaustive()
    }
}

impl<T: ?Sized> Recent<T> {
    /// The value read from `text` before, or `read`'s (kept if it succeeds).
    pub fn get_or_read<E>(
        &self,
        text: &str,
        read: impl FnOnce() -> Result<Arc<T>, E>,
    ) -> Result<Arc<T>, E> {
        let lock = || self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((_, value)) = lock().iter().find(|(kept, _)| **kept == *text) {
            return Ok(value.clone());
        }
        let value = read()?;
        if text.len() <= MAX_BYTES {
            let mut entries = lock();
            if entries.len() == ENTRIES {
                entries.pop_back();
            }
            entries.push_front((text.into(), value.clone()));
        }
        Ok(value)
    }
}

impl<T: ?Sized> Recent<T> {
    /// The length of a kept text that `text` starts with: a JSON value
    /// read before, whole at the start of `text` (a value's text is never
    /// a prefix of another value's, so this is the value there).
    pub fn kept_prefix(&self, text: &str) -> Option<usize> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries
            .iter()
            .find(|(kept, _)| text.starts_with(&**kept))
            .map(|(kept, _)| kept.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_each_text_once_and_keeps_a_few() {
        let recent: Recent<str> = Recent::default();
        let mut reads = 0;
        let mut get = |text: &str| {
            recent
                .get_or_read(text, || {
                    reads += 1;
                    Ok::<_, ()>(Arc::from(text.to_uppercase()))
                })
                .expect("read")
        };
        assert_eq!(&*get("a"), "A");
        assert_eq!(&*get("a"), "A");
        for i in 0..ENTRIES {
            get(&i.to_string());
        }
        // "a" was pushed out by ENTRIES newer texts: read again.
        get("a");
        assert_eq!(reads, ENTRIES + 2);
    }

    #[test]
    fn a_kept_text_is_found_at_the_start_of_another() {
        let recent: Recent<str> = Recent::default();
        assert_eq!(recent.kept_prefix("[1],"), None);
        recent
            .get_or_read("[1]", || Ok::<_, ()>(Arc::from("one")))
            .expect("read");
        assert_eq!(recent.kept_prefix("[1], \"b\": 2}"), Some(3));
        assert_eq!(recent.kept_prefix("[2]"), None);
    }

    #[test]
    fn a_failed_read_is_not_kept() {
        let recent: Recent<str> = Recent::default();
        assert_eq!(recent.get_or_read("x", || Err::<Arc<str>, _>(1)), Err(1));
        assert_eq!(
            &*recent
                .get_or_read("x", || Ok::<_, ()>(Arc::from("ok")))
                .expect("read"),
            "ok"
        );
    }
}
