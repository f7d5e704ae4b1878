//! A quick pass over JSON text that finds where each value starts and ends
//! without building anything, so that a request's parameters are cut out
//! as raw text and a part seen before (the tool list an agent resends each
//! turn) is recognised by comparing bytes rather than scanned again. It is
//! at least as strict as serde_json: whatever it does not take (bad
//! syntax, an escape in a key, deep nesting) the caller reads with
//! serde_json as before, so a refusal's error is serde_json's own.

/// Deeper than this, the caller falls back to serde_json (which stops at 128).
const MAX_DEPTH: usize = 100;

/// A position in JSON text.
pub(crate) struct Scan<'a> {
    text: &'a str,
    at: usize,
}

impl<'a> Scan<'a> {
    pub(crate) fn new(text: &'a str) -> Scan<'a> {
        Scan { text, at: 0 }
    }

    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.at).copied()
    }

    /// Skip JSON whitespace (the four characters JSON allows).
    fn ws(&mut self) {
        let bytes = self.text.as_bytes();
        let mut at = self.at;
        while let Some(b' ' | b'\n' | b'\t' | b'\r') = bytes.get(at) {
            at += 1;
        }
        self.at = at;
    }

    /// Take `byte` if it comes next.
    fn eat(&mut self, byte: u8) -> bool {
        let next = self.peek() == Some(byte);
        self.at += usize::from(next);
        next
    }

    /// Whether only whitespace is left.
    pub(crate) fn at_end(&mut self) -> bool {
        self.ws();
        self.at == self.text.len()
    }

    /// The text from here on.
    pub(crate) fn rest(&self) -> &'a str {
        self.text.get(self.at..).unwrap_or("")
    }

    /// Take the next `len` bytes as a value the caller knows is whole
    /// there (a value read before, found at the start of [`rest`](Self::rest)).
    pub(crate) fn take(&mut self, len: usize) -> Option<&'a str> {
        let raw = self.text.get(self.at..self.at + len)?;
        self.at += len;
        Some(raw)
    }

    /// The next value's raw text.
    pub(crate) fn value(&mut self) -> Option<&'a str> {
        let start = self.at;
        self.skip(0)?;
        self.text.get(start..self.at)
    }

    /// The next string, which must have no escape: its text between the quotes.
    fn plain_string(&mut self) -> Option<&'a str> {
        if !self.eat(b'"') {
            return None;
        }
        let start = self.at;
        let len = special(self.text.as_bytes().get(start..)?)?;
        if self.text.as_bytes().get(start + len) != Some(&b'"') {
            return None;
        }
        self.at = start + len + 1;
        self.text.get(start..start + len)
    }

    /// An object's members in order: `member` is given each key (one
    /// without escapes) with the scan at its value, which it must take
    /// ([`value`](Self::value) or [`take`](Self::take)); `None` on
    /// anything not taken.
    pub(crate) fn object(
        &mut self,
        mut member: impl FnMut(&mut Scan<'a>, &'a str) -> Option<()>,
    ) -> Option<()> {
        self.items(b'{', b'}', |scan| {
            let key = scan.plain_string()?;
            scan.colon()?;
            member(scan, key)
        })
    }

    /// An array's elements in order: `element` is given the scan at each,
    /// which it must take; `None` on anything not taken.
    pub(crate) fn array(&mut self, element: impl FnMut(&mut Scan<'a>) -> Option<()>) -> Option<()> {
        self.items(b'[', b']', element)
    }

    /// The items between `open` and `close`, separated by commas, each
    /// taken by `item`.
    fn items(
        &mut self,
        open: u8,
        close: u8,
        mut item: impl FnMut(&mut Scan<'a>) -> Option<()>,
    ) -> Option<()> {
        self.ws();
        if !self.eat(open) {
            return None;
        }
        self.ws();
        if self.eat(close) {
            return Some(());
        }
        loop {
            item(self)?;
            self.ws();
            if self.eat(close) {
                return Some(());
            }
            if !self.eat(b',') {
                return None;
            }
            self.ws();
        }
    }

    /// The next value when it is a string: its text, unescaped (by
    /// serde_json, when it has an escape); `None` for any other value.
    pub(crate) fn string(&mut self) -> Option<std::borrow::Cow<'a, str>> {
        if self.peek()? != b'"' {
            return None;
        }
        let start = self.at;
        let escaped = self.string_end()?;
        let raw = self.text.get(start..self.at)?;
        if escaped {
            serde_json::from_str::<String>(raw).ok().map(Into::into)
        } else {
            raw.get(1..raw.len() - 1).map(Into::into)
        }
    }

    /// How far the scan has come, in bytes.
    pub(crate) fn offset(&self) -> usize {
        self.at
    }

    /// Step over one value (no whitespace before it).
    fn skip(&mut self, depth: usize) -> Option<()> {
        if depth > MAX_DEPTH {
            return None;
        }
        match self.peek()? {
            b'"' => self.string_end().map(drop),
            b'{' => self.skip_items(b'}', depth, true),
            b'[' => self.skip_items(b']', depth, false),
            b't' => self.literal("true"),
            b'f' => self.literal("false"),
            b'n' => self.literal("null"),
            b'-' | b'0'..=b'9' => self.number(),
            _ => None,
        }
    }

    /// An object's members (`keyed`) or an array's elements, to `close`.
    fn skip_items(&mut self, close: u8, depth: usize, keyed: bool) -> Option<()> {
        let open = self.peek()?;
        self.items(open, close, |scan| {
            if keyed {
                if scan.peek()? != b'"' {
                    return None;
                }
                scan.string_end()?;
                scan.colon()?;
            }
            scan.skip(depth + 1)
        })
    }

    /// The `:` after a member's key, with the whitespace around it.
    fn colon(&mut self) -> Option<()> {
        self.ws();
        if !self.eat(b':') {
            return None;
        }
        self.ws();
        Some(())
    }

    fn literal(&mut self, word: &str) -> Option<()> {
        self.rest().starts_with(word).then(|| {
            self.at += word.len();
        })
    }

    /// Step over a string, its escapes checked as serde_json checks them;
    /// whether it has any.
    fn string_end(&mut self) -> Option<bool> {
        let bytes = self.text.as_bytes();
        let mut at = self.at + 1;
        let mut escaped = false;
        loop {
            at += special(bytes.get(at..)?)?;
            match bytes.get(at..)? {
                [b'"', ..] => {
                    self.at = at + 1;
                    return Some(escaped);
                }
                [
                    b'\\',
                    b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't',
                    ..,
                ] => at += 2,
                [b'\\', b'u', hex @ ..]
                    if hex.len() >= 4 && hex[..4].iter().all(u8::is_ascii_hexdigit) =>
                {
                    at += 6;
                }
                _ => return None,
            }
            escaped = true;
        }
    }

    /// `-?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?`
    fn number(&mut self) -> Option<()> {
        self.eat(b'-');
        match self.peek()? {
            b'0' => self.at += 1,
            b'1'..=b'9' => self.digits(),
            _ => return None,
        }
        if matches!(self.peek(), Some(b'0'..=b'9')) {
            return None;
        }
        if self.eat(b'.') {
            if !matches!(self.peek(), Some(b'0'..=b'9')) {
                return None;
            }
            self.digits();
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.at += 1;
            if !self.eat(b'+') {
                self.eat(b'-');
            }
            if !matches!(self.peek(), Some(b'0'..=b'9')) {
                return None;
            }
            self.digits();
        }
        Some(())
    }

    fn digits(&mut self) {
        while let Some(b'0'..=b'9') = self.peek() {
            self.at += 1;
        }
    }
}

/// The text of `raw`, a whole JSON string (as a scan cut it out), when it
/// has no escape: `"gpt-4o"` reads `gpt-4o`; `None` for anything else.
pub(crate) fn plain_text(raw: &str) -> Option<&str> {
    let text = raw.strip_prefix('"')?.strip_suffix('"')?;
    special(text.as_bytes()).is_none().then_some(text)
}

/// Where the first byte a JSON string cannot hold as it is stands: a
/// quote, a backslash or a control character. Eight bytes a step, the
/// last few padded to eight, with no loop over single bytes: the strings
/// of a request and a reply (keys, roles, ids) are short.
pub(crate) fn special(bytes: &[u8]) -> Option<usize> {
    let mut words = bytes.chunks_exact(8);
    let mut at = 0;
    for chunk in words.by_ref() {
        let mut eight = [0; 8];
        eight.copy_from_slice(chunk);
        if let Some(first) = first_special(u64::from_le_bytes(eight)) {
            return Some(at + first);
        }
        at += 8;
    }
    let rest = words.remainder();
    // Padding that is not special: found only in the bytes there are.
    let mut eight = [b' '; 8];
    eight[..rest.len()].copy_from_slice(rest);
    first_special(u64::from_le_bytes(eight)).map(|first| at + first)
}

/// The first special byte of eight (little-endian: the first is lowest).
fn first_special(x: u64) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    // Each byte of `x` below `n` (at most 128) gets its high bit. A borrow
    // can only flag bytes above a byte that is below `n`, so the lowest
    // flag is exact: the first such byte.
    let below = |x: u64, n: u64| x.wrapping_sub(ONES * n) & !x & HIGH;
    let flags = below(x, 0x20)
        | below(x ^ (ONES * u64::from(b'"')), 1)
        | below(x ^ (ONES * u64::from(b'\\')), 1);
    (flags != 0).then(|| flags.trailing_zeros() as usize / 8)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whether the whole text is one value the scan takes.
    fn takes(text: &str) -> bool {
        let mut scan = Scan::new(text);
        scan.ws();
        scan.value().is_some() && scan.at_end()
    }

    #[test]
    fn takes_nothing_serde_json_refuses() {
        for bad in [
            "01",
            "1.",
            "-",
            "1e",
            "+1",
            ".5",
            "tru",
            "nul",
            "[1,]",
            "{\"a\":1,}",
            "{a:1}",
            "\"\\x\"",
            "\"\\u12g4\"",
            "\"a\u{1}\"",
            "[1 2]",
            "{\"a\" 1}",
            "\"open",
            "[",
            "1 2",
            "[1]]",
            "{\"a\":}",
        ] {
            assert!(
                serde_json::from_str::<serde_json::Value>(bad).is_err(),
                "{bad}"
            );
            assert!(!takes(bad), "{bad}");
        }
        let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
        assert!(!takes(&deep));
    }

    #[test]
    fn takes_what_serde_json_takes() {
        for good in [
            "0",
            "-0.5e+3",
            "12E4",
            "true",
            "null",
            "\"a\\\"b\\u00e9\\n\"",
            "[]",
            "{}",
            " { \"a\" : [1, {\"b\": null}] , \"c\":[ ]} ",
            "\"é\"",
        ] {
            assert!(
                serde_json::from_str::<serde_json::Value>(good).is_ok(),
                "{good}"
            );
            assert!(takes(good), "{good}");
        }
    }

    #[test]
    fn every_special_byte_is_found_wherever_it_stands() {
        for byte in 0..=u8::MAX {
            let is_special = byte < 0x20 || byte == b'"' || byte == b'\\';
            for len in 1..20 {
                for at in 0..len {
                    // Neighbours that could hide a borrow: 0x21, 0x7f, 0xff.
                    let mut text: Vec<u8> = (0..len).map(|i| [0x21, 0x7f, 0xff][i % 3]).collect();
                    text[at] = byte;
                    let found = special(&text);
                    assert_eq!(
                        found,
                        is_special.then_some(at),
                        "{byte:#x} at {at} of {len}"
                    );
                    // A special byte after it does not hide it.
                    for later in at + 1..len {
                        let mut text = text.clone();
                        text[later] = b'"';
                        let first = if is_special { at } else { later };
                        assert_eq!(special(&text), Some(first), "{byte:#x} at {at}, {later}");
                    }
                }
            }
        }
    }

    #[test]
    fn a_plain_string_s_text_is_read_as_serde_json_reads_it() {
        for raw in [r#""gpt-4o""#, r#""""#, r#""é日本""#] {
            let serde: String = serde_json::from_str(raw).expect("a string");
            assert_eq!(plain_text(raw), Some(serde.as_str()), "{raw}");
        }
        for other in [
            r#""a\nb""#,
            r#""a\"b""#,
            "\"a\u{1}\"",
            "1",
            "null",
            "\"",
            r#""a"#,
        ] {
            assert_eq!(plain_text(other), None, "{other}");
        }
    }

    #[test]
    fn an_object_gives_its_members_raw() {
        let mut members = Vec::new();
        let mut scan = Scan::new(r#" {"a": [1, 2] , "b":"x"} "#);
        scan.object(|scan, key| {
            members.push((key, scan.value()?));
            Some(())
        })
        .expect("an object");
        assert!(scan.at_end());
        assert_eq!(members, [("a", "[1, 2]"), ("b", "\"x\"")]);
        let mut scan = Scan::new(r#"{"a\u0062": 1}"#);
        assert!(scan.object(|_, _| Some(())).is_none(), "an escaped key");
        let mut scan = Scan::new(r#"{"a": [1]}"#);
        let taken = scan.object(|scan, _| {
            assert!(scan.rest().starts_with("[1]"));
            scan.take(3).map(drop)
        });
        assert!(taken.is_some() && scan.at_end());
    }
}
