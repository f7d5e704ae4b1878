//! Server-sent events as the formats write them: frames due at the same
//! moment in one piece, and the shapes that let a reply's many fragment
//! frames be written without serializing each.

use std::time::Duration;

use hyper::body::Bytes;

use super::json_scan::special;
use super::to_json;

/// The frames of a streamed reply, each at its offset from the request's
/// arrival. Frames due at the same moment are written into one piece: one
/// write, not one each (a zero-latency reply goes out whole); a client
/// reads the same bytes.
#[derive(Debug, Default)]
pub(crate) struct Sse {
    pieces: Vec<(Duration, Vec<u8>)>,
    /// About how many bytes the whole stream takes, when known: growing a
    /// piece on the way copies it each time.
    expected: usize,
    written: usize,
}

impl Sse {
    /// A stream of about `bytes` bytes.
    pub fn sized(bytes: usize) -> Sse {
        Sse {
            expected: bytes,
            ..Sse::default()
        }
    }

    /// The piece due at `at`: the last one if it is due then too.
    fn piece(&mut self, at: Duration) -> &mut Vec<u8> {
        if self.pieces.last().is_none_or(|(last, _)| *last != at) {
            if let Some((_, last)) = self.pieces.last() {
                self.written += last.len();
            }
            let room = self.expected.saturating_sub(self.written).max(1024);
            self.pieces.push((at, Vec::with_capacity(room)));
        }
        let last = self.pieces.len() - 1;
        &mut self.pieces[last].1
    }

    /// An `event: NAME` + `data: {json}` frame.
    pub fn event(&mut self, at: Duration, event: &str, value: &impl serde::Serialize) {
        write_event(self.piece(at), event, value);
    }

    /// The fields of `value` (an object) and a comma: a head that
    /// [`data_after`](Self::data_after) writes before each frame's own fields.
    pub fn head(value: &impl serde::Serialize) -> Vec<u8> {
        let mut head = to_json(value);
        // `{"a":1}` becomes `"a":1,`.
        if head.first() == Some(&b'{') && head.last() == Some(&b'}') && head.len() > 2 {
            head.pop();
            head.remove(0);
            head.push(b',');
        } else {
            head.clear();
        }
        head
    }

    /// A `data: {json}` frame: an object with `head`'s fields, then `value`'s
    /// (an object with at least one field).
    pub fn data_after(&mut self, at: Duration, head: &[u8], value: &impl serde::Serialize) {
        write_data_after(self.piece(at), head, value);
    }

    /// [`data_after`](Self::data_after) with `value` already written
    /// ([`fields`]).
    pub fn data_fields(&mut self, at: Duration, head: &[u8], fields: &[u8]) {
        let bytes = self.piece(at);
        bytes.extend_from_slice(b"data: {");
        match head.split_last() {
            // No fields of the value's own: no comma after the head's.
            Some((b',', fields_of_head)) if fields.first() == Some(&b'}') => {
                bytes.extend_from_slice(fields_of_head)
            }
            _ => bytes.extend_from_slice(head),
        }
        bytes.extend_from_slice(fields);
        bytes.extend_from_slice(b"\n\n");
    }

    /// A frame of `around`'s shape with `fragment` as its string.
    pub fn data_around(&mut self, at: Duration, around: &Around, fragment: &str) {
        let bytes = self.piece(at);
        bytes.extend_from_slice(&around.before);
        write_str(bytes, fragment);
        bytes.extend_from_slice(&around.after);
    }

    /// Bytes written as they are.
    pub fn raw(&mut self, at: Duration, bytes: &[u8]) {
        self.piece(at).extend_from_slice(bytes);
    }

    /// The pieces, in order.
    pub fn finish(self) -> Vec<(Duration, Bytes)> {
        self.pieces
            .into_iter()
            .map(|(at, piece)| (at, Bytes::from(piece)))
            .collect()
    }
}

/// `event: NAME`, `data: {json}` and the blank line.
fn write_event(bytes: &mut Vec<u8>, event: &str, value: &impl serde::Serialize) {
    bytes.extend_from_slice(b"event: ");
    bytes.extend_from_slice(event.as_bytes());
    bytes.extend_from_slice(b"\ndata: ");
    // The bodies are plain data with string keys: writing them cannot
    // fail; an empty object is the safe fallback.
    let start = bytes.len();
    if serde_json::to_writer(&mut *bytes, value).is_err() {
        bytes.truncate(start);
        bytes.extend_from_slice(b"{}");
    }
    bytes.extend_from_slice(b"\n\n");
}

/// `data: {head fields, value fields}` and the blank line.
fn write_data_after(bytes: &mut Vec<u8>, head: &[u8], value: &impl serde::Serialize) {
    bytes.extend_from_slice(b"data: {");
    bytes.extend_from_slice(head);
    write_fields(bytes, value);
    bytes.extend_from_slice(b"\n\n");
}

/// The fields of `value` (an object with at least one) and its closing
/// brace: what follows a head's fields in a frame.
pub(crate) fn fields(value: &impl serde::Serialize) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(256);
    write_fields(&mut bytes, value);
    bytes
}

fn write_fields(bytes: &mut Vec<u8>, value: &impl serde::Serialize) {
    let start = bytes.len();
    if serde_json::to_writer(&mut *bytes, value).is_ok() && bytes.get(start) == Some(&b'{') {
        // `value`'s own brace: its fields follow the head's.
        bytes.remove(start);
    } else {
        // Cannot happen for plain data; the head's fields alone then.
        bytes.truncate(start);
        if bytes.last() == Some(&b',') {
            bytes.pop();
        }
        bytes.push(b'}');
    }
}

/// `text` as a JSON string, as `serde_json` writes it.
pub(crate) fn write_str(bytes: &mut Vec<u8>, text: &str) {
    // Most strings of a reply (ids, names, words) need no escape: one scan
    // and one copy.
    // `serde_json` escapes exactly the bytes `special` finds.
    if special(text.as_bytes()).is_some() {
        // Writing a string into a vector cannot fail.
        let _ = serde_json::to_writer(&mut *bytes, text);
    } else {
        bytes.reserve(text.len() + 2);
        bytes.push(b'"');
        bytes.extend_from_slice(text.as_bytes());
        bytes.push(b'"');
    }
}

/// The bytes of a `data: {json}` frame before and after its one string
/// that varies: the frames of text and argument fragments differ only in
/// it, so each is then one copy and one escape, not a whole serialization.
#[derive(Debug)]
pub(crate) struct Around {
    before: Vec<u8>,
    after: Vec<u8>,
}

impl Around {
    /// The string a shape is written with, to find it by: the other strings
    /// of a fragment's frame are field names and fixed words.
    pub const PLACEHOLDER: &str = "\u{1}";

    /// The frame [`Sse::data_after`] writes, split at `value`'s
    /// [`PLACEHOLDER`](Self::PLACEHOLDER); `None` unless it occurs once.
    pub fn data_after(head: &[u8], value: &impl serde::Serialize) -> Option<Around> {
        let mut frame = Vec::with_capacity(head.len() + 256);
        write_data_after(&mut frame, head, value);
        Around::split(frame)
    }

    /// The frame [`Sse::event`] writes, split as [`data_after`](Self::data_after)'s.
    pub fn event(event: &str, value: &impl serde::Serialize) -> Option<Around> {
        let mut frame = Vec::with_capacity(256);
        write_event(&mut frame, event, value);
        Around::split(frame)
    }

    fn split(mut frame: Vec<u8>) -> Option<Around> {
        const WRITTEN: &[u8] = b"\"\\u0001\"";
        let at = frame.windows(WRITTEN.len()).position(|w| w == WRITTEN)?;
        let after = frame[at + WRITTEN.len()..].to_vec();
        if after.windows(WRITTEN.len()).any(|w| w == WRITTEN) {
            return None;
        }
        frame.truncate(at);
        Some(Around {
            before: frame,
            after,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_written_as_serde_json_writes_them() {
        let every_ascii: String = (0u8..=0x7f).map(char::from).collect();
        for text in [
            "",
            "call_gfs5dMM8caomAcPGN6AvgtU2",
            "{\"city\":\"Oslo\"}",
            "hé \u{7f} 日本",
            "a\\b",
            "tab\there",
            &every_ascii,
        ] {
            let mut written = Vec::new();
            write_str(&mut written, text);
            let expected = serde_json::to_string(text).expect("JSON");
            assert_eq!(String::from_utf8_lossy(&written), expected, "{text:?}");
        }
    }
}
