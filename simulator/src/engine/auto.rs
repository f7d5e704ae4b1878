//! Auto mode: arguments generated from a tool's JSON Schema, valid against it.
//!
//! Covers what tool schemas use in practice: `type` (one or a list, so
//! `["integer", "null"]`), objects with `properties`/`required`, `enum`,
//! `const`, `anyOf`/`oneOf`/`allOf`, `$ref` into `$defs`/`definitions`,
//! string `format`s, `minLength`/`maxLength`, simple `pattern`s, number
//! bounds and `multipleOf`, arrays with `items`/`prefixItems`/`minItems`/
//! `maxItems`/`uniqueItems`.

use serde_json::{Map, Value, json};
use toolcall_runtime::{ChatRequest, Message, ToolChoice, ToolDefinition};

use crate::engine::rng::SimRng;

/// Nesting depth past which optional parts are left out, so recursive
/// schemas (a tree of `$ref`s) still end.
const DEEP: usize = 8;

/// Generate a value valid against `schema` (a whole schema, whose `$ref`s
/// resolve against itself).
pub fn generate(schema: &Value, rng: &mut SimRng) -> Value {
    // The text is JSON written by the generator: it always reads back.
    serde_json::from_str(&generate_text(schema, rng)).unwrap_or(Value::Null)
}

/// [`generate`]'s value as JSON text, written as it is drawn: auto mode
/// sends arguments as text, so no value is built only to be written.
pub(crate) fn generate_text(schema: &Value, rng: &mut SimRng) -> String {
    let mut out = Vec::with_capacity(128);
    Generator { root: schema }.value(schema, rng, 0, &mut out);
    // Only JSON text from `&str`s and numbers was written.
    String::from_utf8(out).unwrap_or_else(|_| String::from("null"))
}

/// Write `value` as JSON; writing plain data into a vector cannot fail.
fn write_json(out: &mut Vec<u8>, value: &(impl serde::Serialize + ?Sized)) {
    let _ = serde_json::to_writer(&mut *out, value);
}

/// A schema's keywords, found by a scan: a schema object has a handful of
/// them, fewer than it takes a hash lookup to pay off.
trait Keywords {
    fn kw(&self, key: &str) -> Option<&Value>;

    fn has(&self, key: &str) -> bool {
        self.kw(key).is_some()
    }
}

impl Keywords for Map<String, Value> {
    fn kw(&self, key: &str) -> Option<&Value> {
        if self.len() > 16 {
            return self.get(key);
        }
        self.iter().find(|(k, _)| *k == key).map(|(_, v)| v)
    }
}

impl Keywords for Value {
    fn kw(&self, key: &str) -> Option<&Value> {
        self.as_object()?.kw(key)
    }
}

/// The keywords that decide what [`Generator::value`] writes for a
/// schema, found in one pass over it rather than a scan for each.
#[derive(Default)]
struct Decisive<'v> {
    reference: Option<&'v Value>,
    constant: Option<&'v Value>,
    enumeration: Option<&'v Value>,
    all_of: Option<&'v Value>,
    any_of: Option<&'v Value>,
    one_of: Option<&'v Value>,
    kind: Option<&'v Value>,
}

impl<'v> Decisive<'v> {
    fn of(map: &'v Map<String, Value>) -> Decisive<'v> {
        let mut found = Decisive::default();
        for (key, value) in map {
            let slot = match key.as_str() {
                "$ref" => &mut found.reference,
                "const" => &mut found.constant,
                "enum" => &mut found.enumeration,
                "allOf" => &mut found.all_of,
                "anyOf" => &mut found.any_of,
                "oneOf" => &mut found.one_of,
                "type" => &mut found.kind,
                _ => continue,
            };
            slot.get_or_insert(value);
        }
        found
    }
}

struct Generator<'a> {
    root: &'a Value,
}

impl<'a> Generator<'a> {
    fn resolve(&self, reference: &str) -> Option<&'a Value> {
        let pointer = reference.strip_prefix('#')?;
        if pointer.is_empty() {
            return Some(self.root);
        }
        self.root.pointer(pointer)
    }

    fn value(&self, schema: &Value, rng: &mut SimRng, depth: usize, out: &mut Vec<u8>) {
        let Some(map) = schema.as_object() else {
            // `true` allows anything; `false` allows nothing, and null is as good as any.
            let text: &[u8] = if schema == &Value::Bool(true) {
                b"\"value\""
            } else {
                b"null"
            };
            return out.extend_from_slice(text);
        };
        if depth > 64 {
            return out.extend_from_slice(b"null");
        }
        let keywords = Decisive::of(map);
        if let Some(target) = keywords
            .reference
            .and_then(Value::as_str)
            .and_then(|r| self.resolve(r))
        {
            return self.value(target, rng, depth + 1, out);
        }
        if let Some(value) = keywords.constant {
            return write_json(out, value);
        }
        if let Some(options) = keywords
            .enumeration
            .and_then(Value::as_array)
            .filter(|o| !o.is_empty())
        {
            return match &options[rng.index(options.len())] {
                Value::String(text) => write_text(out, text),
                option => write_json(out, option),
            };
        }
        if let Some(all) = keywords.all_of.and_then(Value::as_array) {
            let merged = self.merge_all(map, all);
            return self.value(&merged, rng, depth + 1, out);
        }
        for options in [keywords.any_of, keywords.one_of] {
            if let Some(options) = options.and_then(Value::as_array).filter(|o| !o.is_empty()) {
                // Deep in a recursive schema, prefer a branch that ends the recursion.
                let pick = if depth >= DEEP {
                    options
                        .iter()
                        .position(|o| o.kw("$ref").is_none())
                        .unwrap_or(0)
                } else {
                    rng.index(options.len())
                };
                return self.value(&options[pick], rng, depth + 1, out);
            }
        }
        let kind = match keywords.kind {
            Some(Value::String(t)) => t.as_str(),
            Some(Value::Array(types)) => {
                let types: Vec<&str> = types.iter().filter_map(Value::as_str).collect();
                if types.is_empty() || (depth >= DEEP && types.contains(&"null")) {
                    "null"
                } else {
                    types[rng.index(types.len())]
                }
            }
            _ => infer_type(map),
        };
        match kind {
            "boolean" => write_json(out, &rng.chance(0.5)),
            "integer" => write_json(out, &self.integer(map, rng)),
            "number" => self.number(map, rng, out),
            "string" => match plain_word(map) {
                true => word(rng, out),
                false => write_text(out, &string(map, rng)),
            },
            "array" => self.array(map, rng, depth, out),
            "object" => self.object(map, rng, depth, out),
            _ => out.extend_from_slice(b"null"),
        }
    }

    fn merge_all(&self, parent: &Map<String, Value>, all: &[Value]) -> Value {
        let mut merged = parent.clone();
        merged.remove("allOf");
        let mut required: Vec<Value> = Vec::new();
        let mut properties = Map::new();
        for part in std::iter::once(&Value::Object(parent.clone())).chain(all.iter()) {
            let part = match part
                .kw("$ref")
                .and_then(Value::as_str)
                .and_then(|r| self.resolve(r))
            {
                Some(target) => target,
                None => part,
            };
            let Some(part) = part.as_object() else {
                continue;
            };
            for (key, value) in part {
                match key.as_str() {
                    "properties" => {
                        if let Some(props) = value.as_object() {
                            for (name, schema) in props {
                                properties
                                    .entry(name.clone())
                                    .or_insert_with(|| schema.clone());
                            }
                        }
                    }
                    "required" => required.extend(value.as_array().into_iter().flatten().cloned()),
                    "allOf" | "$ref" => {}
                    _ => {
                        merged.entry(key.clone()).or_insert_with(|| value.clone());
                    }
                }
            }
        }
        if !properties.is_empty() {
            merged.insert("properties".into(), Value::Object(properties));
            merged.entry("type").or_insert_with(|| json!("object"));
        }
        if !required.is_empty() {
            merged.insert("required".into(), Value::Array(required));
        }
        Value::Object(merged)
    }

    fn integer(&self, map: &Map<String, Value>, rng: &mut SimRng) -> i64 {
        let (lo, hi) = bounds(map, 1.0);
        let (mut lo, mut hi) = (lo.ceil(), hi.floor());
        let step = map
            .kw("multipleOf")
            .and_then(Value::as_f64)
            .filter(|m| *m >= 1.0 && m.fract() == 0.0);
        if let Some(step) = step {
            lo = (lo / step).ceil();
            hi = (hi / step).floor();
        }
        let lo = lo.clamp(i64::MIN as f64, i64::MAX as f64) as i64;
        let hi = hi.clamp(i64::MIN as f64, i64::MAX as f64) as i64;
        let n = rng.range_i64(lo, hi.max(lo));
        match step {
            Some(step) => n.saturating_mul(step as i64),
            None => n,
        }
    }

    fn number(&self, map: &Map<String, Value>, rng: &mut SimRng, out: &mut Vec<u8>) {
        let (lo, hi) = bounds(map, 0.001);
        if let Some(step) = map
            .kw("multipleOf")
            .and_then(Value::as_f64)
            .filter(|m| *m > 0.0)
        {
            let k = rng.range_i64((lo / step).ceil() as i64, (hi / step).floor() as i64);
            // A non-finite product is written `null`, as JSON has no such number.
            return write_json(out, &(k as f64 * step));
        }
        let raw = lo + (hi - lo) * rng.next_f64();
        // Two decimals read better, when rounding keeps the value in bounds.
        let rounded = (raw * 100.0).round() / 100.0;
        let x = if rounded >= lo && rounded <= hi {
            rounded
        } else {
            raw
        };
        if x.is_finite() {
            write_json(out, &x);
        } else {
            out.push(b'0');
        }
    }

    fn array(&self, map: &Map<String, Value>, rng: &mut SimRng, depth: usize, out: &mut Vec<u8>) {
        let min = map.kw("minItems").and_then(Value::as_u64).unwrap_or(0) as usize;
        let max = map
            .kw("maxItems")
            .and_then(Value::as_u64)
            .map(|m| m as usize);
        let prefix = map.kw("prefixItems").and_then(Value::as_array);
        let extra = if depth >= DEEP { 0 } else { 3 };
        let mut len = rng.range_u64(min as u64, (min + extra) as u64) as usize;
        if let Some(max) = max {
            len = len.min(max).max(min.min(max));
        }
        if map.kw("items") == Some(&Value::Bool(false)) {
            len = len.min(prefix.map_or(0, Vec::len));
        }
        let unique = map
            .kw("uniqueItems")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        // Unique items compare as values (`{"a":1,"b":2}` is `{"b":2,"a":1}`).
        let mut seen: Vec<Value> = Vec::new();
        let (mut count, mut tries) = (0, 0);
        out.push(b'[');
        while count < len && tries < len * 20 + 20 {
            tries += 1;
            let start = out.len();
            if count > 0 {
                out.push(b',');
            }
            let item = out.len();
            match prefix
                .and_then(|p| p.get(count))
                .or_else(|| map.kw("items"))
            {
                Some(schema) => self.value(schema, rng, depth + 1, out),
                None => write_json(out, &count),
            }
            if unique {
                let value = serde_json::from_slice(&out[item..]).unwrap_or(Value::Null);
                if seen.contains(&value) {
                    out.truncate(start);
                    continue;
                }
                seen.push(value);
            }
            count += 1;
        }
        out.push(b']');
    }

    fn object(&self, map: &Map<String, Value>, rng: &mut SimRng, depth: usize, out: &mut Vec<u8>) {
        let required = || {
            map.kw("required")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
        };
        let props = map.kw("properties").and_then(Value::as_object);
        let mut first = true;
        out.push(b'{');
        for (name, schema) in props.into_iter().flatten() {
            let include = required().any(|r| r == name) || (depth < DEEP && rng.chance(0.5));
            if include {
                key(&mut first, name, out);
                self.value(schema, rng, depth + 1, out);
            }
        }
        // A required name with no property schema still has to be there
        // (once, however often it is listed). Every required property was
        // written above.
        let mut extra: Vec<&str> = Vec::new();
        for name in required() {
            if props.is_some_and(|p| p.has(name)) || extra.contains(&name) {
                continue;
            }
            extra.push(name);
            key(&mut first, name, out);
            match map.kw("additionalProperties").filter(|s| s.is_object()) {
                Some(schema) => self.value(schema, rng, depth + 1, out),
                None => out.extend_from_slice(b"null"),
            }
        }
        out.push(b'}');
    }
}

/// An object's next `"name":`, after a comma unless it is the `first`.
fn key(first: &mut bool, name: &str, out: &mut Vec<u8>) {
    if !std::mem::take(first) {
        out.push(b',');
    }
    write_text(out, name);
    out.push(b':');
}

/// The type a schema without `type` describes, guessed from its keywords.
fn infer_type(map: &Map<String, Value>) -> &'static str {
    if map.has("properties") || map.has("required") || map.has("additionalProperties") {
        "object"
    } else if map.has("items") || map.has("prefixItems") || map.has("minItems") {
        "array"
    } else if map.has("minimum") || map.has("maximum") || map.has("multipleOf") {
        "number"
    } else {
        // String keywords (`format`, `pattern`) or none at all: a string is
        // the safest guess.
        "string"
    }
}

/// The inclusive range a number must fall in; `nudge` steps inside exclusive bounds.
fn bounds(map: &Map<String, Value>, nudge: f64) -> (f64, f64) {
    let num = |key: &str| map.get(key).and_then(Value::as_f64);
    let flag = |key: &str| map.get(key).and_then(Value::as_bool).unwrap_or(false);
    let mut lo = num("minimum");
    let mut hi = num("maximum");
    // Draft 2019+: exclusive bounds are numbers; draft 4: flags on minimum/maximum.
    if let Some(x) = num("exclusiveMinimum") {
        lo = Some(lo.map_or(x + nudge, |l| l.max(x + nudge)));
    } else if flag("exclusiveMinimum") {
        lo = lo.map(|l| l + nudge);
    }
    if let Some(x) = num("exclusiveMaximum") {
        hi = Some(hi.map_or(x - nudge, |h| h.min(x - nudge)));
    } else if flag("exclusiveMaximum") {
        hi = hi.map(|h| h - nudge);
    }
    match (lo, hi) {
        (Some(lo), Some(hi)) => (lo, hi.max(lo)),
        (Some(lo), None) => (lo, lo + 100.0),
        (None, Some(hi)) => ((hi - 100.0).max(hi.min(0.0)), hi),
        (None, None) => (0.0, 100.0),
    }
}

const WORDS: &[&str] = &[
    "alpha", "bravo", "cedar", "delta", "ember", "fjord", "granite", "harbor", "indigo", "juniper",
    "kestrel", "lumen", "meadow", "nimbus", "orchid", "prairie", "quartz", "river", "sierra",
    "tundra",
];

/// Whether a string schema has none of the keywords that shape its text,
/// so [`word`] writes what [`string`] would.
fn plain_word(map: &Map<String, Value>) -> bool {
    !map.keys()
        .any(|k| matches!(k.as_str(), "minLength" | "maxLength" | "format" | "pattern"))
}

/// [`string`]'s text for a schema with nothing to shape it (a word, maybe
/// a number after it), written in place with the same draws.
fn word(rng: &mut SimRng, out: &mut Vec<u8>) {
    out.push(b'"');
    out.extend_from_slice(WORDS[rng.index(WORDS.len())].as_bytes());
    if rng.chance(0.5) {
        out.push(b'-');
        write_json(out, &rng.range_u64(1, 999));
    }
    out.push(b'"');
}

/// `text` as a JSON string: copied when nothing in it needs an escape.
fn write_text(out: &mut Vec<u8>, text: &str) {
    if text.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') {
        out.reserve(text.len() + 2);
        out.push(b'"');
        out.extend_from_slice(text.as_bytes());
        out.push(b'"');
    } else {
        write_json(out, text);
    }
}

fn string(map: &Map<String, Value>, rng: &mut SimRng) -> String {
    let min = map.kw("minLength").and_then(Value::as_u64).unwrap_or(0) as usize;
    let max = map
        .kw("maxLength")
        .and_then(Value::as_u64)
        .map(|m| m as usize);
    let formatted = map
        .kw("format")
        .and_then(Value::as_str)
        .and_then(|f| format(f, rng));
    let patterned = || {
        map.kw("pattern")
            .and_then(Value::as_str)
            .and_then(|p| pattern(p, rng))
    };
    let mut text = match formatted.or_else(patterned) {
        Some(text) => text,
        None => {
            let mut text = WORDS[rng.index(WORDS.len())].to_owned();
            if rng.chance(0.5) {
                text.push('-');
                text.push_str(&rng.range_u64(1, 999).to_string());
            }
            text
        }
    };
    let count = text.chars().count();
    if count < min {
        text.extend(std::iter::repeat_n('x', min - count));
    }
    if let Some(max) = max
        && text.chars().count() > max
    {
        text = text.chars().take(max).collect();
    }
    text
}

fn format(name: &str, rng: &mut SimRng) -> Option<String> {
    let year = rng.range_u64(2020, 2026);
    let month = rng.range_u64(1, 12);
    let day = rng.range_u64(1, 28);
    let (h, m, s) = (
        rng.range_u64(0, 23),
        rng.range_u64(0, 59),
        rng.range_u64(0, 59),
    );
    let hex = |rng: &mut SimRng, n: usize| -> String {
        (0..n)
            .map(|_| char::from_digit(rng.range_u64(0, 15) as u32, 16).unwrap_or('0'))
            .collect()
    };
    Some(match name {
        "date" => format!("{year:04}-{month:02}-{day:02}"),
        "date-time" => format!("{year:04}-{month:02}-{day:02}T{h:02}:{m:02}:{s:02}Z"),
        "time" => format!("{h:02}:{m:02}:{s:02}Z"),
        "duration" => format!("PT{}M", rng.range_u64(1, 90)),
        "email" | "idn-email" => format!(
            "{}{}@example.com",
            WORDS[rng.index(WORDS.len())],
            rng.range_u64(1, 99)
        ),
        "hostname" | "idn-hostname" => format!("{}.example.com", WORDS[rng.index(WORDS.len())]),
        "uri" | "url" | "iri" | "uri-reference" | "iri-reference" => {
            format!("https://example.com/{}", WORDS[rng.index(WORDS.len())])
        }
        "uuid" => {
            let variant = ["8", "9", "a", "b"][rng.index(4)];
            format!(
                "{}-{}-4{}-{variant}{}-{}",
                hex(rng, 8),
                hex(rng, 4),
                hex(rng, 3),
                hex(rng, 3),
                hex(rng, 12)
            )
        }
        "ipv4" => format!(
            "10.{}.{}.{}",
            rng.range_u64(0, 255),
            rng.range_u64(0, 255),
            rng.range_u64(1, 254)
        ),
        "ipv6" => format!("fd00::{}", hex(rng, 4)),
        _ => return None,
    })
}

/// A string matching a simple regular expression: literals, escapes (`\d`,
/// `\w`, `\s`, `\.`), classes (`[A-Z0-9_-]`), `.`, and the quantifiers `?`,
/// `*`, `+`, `{n}`, `{n,m}`, anchored. `None` for anything fancier.
fn pattern(pattern: &str, rng: &mut SimRng) -> Option<String> {
    let body = pattern.strip_prefix('^').unwrap_or(pattern);
    let body = body.strip_suffix('$').unwrap_or(body);
    let chars: Vec<char> = body.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        let (choices, next): (Vec<char>, usize) = match chars[i] {
            '\\' => {
                let c = *chars.get(i + 1)?;
                let set = match c {
                    'd' => ('0'..='9').collect(),
                    'w' => ('a'..='z').chain('0'..='9').chain(['_']).collect(),
                    's' => vec![' '],
                    c if c.is_ascii_alphanumeric() => return None,
                    c => vec![c],
                };
                (set, i + 2)
            }
            '[' => {
                let end = i + chars[i..].iter().position(|&c| c == ']')?;
                let class = &chars[i + 1..end];
                if class.first() == Some(&'^') {
                    return None;
                }
                let mut set = Vec::new();
                let mut j = 0;
                while j < class.len() {
                    if class[j] == '\\' {
                        match class.get(j + 1)? {
                            'd' => set.extend('0'..='9'),
                            'w' => set.extend(('a'..='z').chain('0'..='9').chain(['_'])),
                            c => set.push(*c),
                        }
                        j += 2;
                    } else if j + 2 < class.len() && class[j + 1] == '-' {
                        set.extend(class[j]..=class[j + 2]);
                        j += 3;
                    } else {
                        set.push(class[j]);
                        j += 1;
                    }
                }
                (set, end + 1)
            }
            '.' => (('a'..='z').collect(), i + 1),
            '(' | ')' | '|' | '^' | '$' | '*' | '+' | '?' | '{' => return None,
            c => (vec![c], i + 1),
        };
        if choices.is_empty() {
            return None;
        }
        let (min, max, after) = quantifier(&chars, next)?;
        for _ in 0..rng.range_u64(min, max) {
            out.push(choices[rng.index(choices.len())]);
        }
        i = after;
    }
    Some(out)
}

fn quantifier(chars: &[char], at: usize) -> Option<(u64, u64, usize)> {
    Some(match chars.get(at) {
        Some('?') => (0, 1, at + 1),
        Some('*') => (0, 3, at + 1),
        Some('+') => (1, 3, at + 1),
        Some('{') => {
            let end = at + chars[at..].iter().position(|&c| c == '}')?;
            let inner: String = chars[at + 1..end].iter().collect();
            let (lo, hi) = match inner.split_once(',') {
                Some((lo, "")) => {
                    let lo = lo.trim().parse().ok()?;
                    (lo, lo + 3)
                }
                Some((lo, hi)) => (lo.trim().parse().ok()?, hi.trim().parse().ok()?),
                None => {
                    let n = inner.trim().parse().ok()?;
                    (n, n)
                }
            };
            (lo, hi, end + 1)
        }
        _ => (1, 1, at),
    })
}

/// What auto mode says to a request.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum AutoReply {
    /// Call these tools (name, arguments as JSON text).
    Calls(Vec<(String, String)>),
    /// Answer with this text.
    Text(String),
}

/// Auto mode: call every offered tool at once (or one at a time when
/// `parallel_tool_calls` is false, or the one `tool_choice` names); once the
/// results are in, a final text that reports them.
pub(crate) fn auto_reply(
    request: &ChatRequest,
    tools: &[ToolDefinition],
    rng: &mut SimRng,
) -> AutoReply {
    let allowed = !tools.is_empty() && request.tool_choice != Some(ToolChoice::None);
    let messages = without_results_media(&request.messages);
    let trailing_results = messages
        .iter()
        .rev()
        .take_while(|m| matches!(m, Message::Tool { .. }))
        .count();
    let one_at_a_time = request.parallel_tool_calls == Some(false);
    if trailing_results > 0 {
        let called = called_since_user(messages);
        let next = tools.iter().find(|t| !called.iter().any(|c| c == &t.name));
        if let (true, true, Some(next)) = (allowed, one_at_a_time, next) {
            let arguments = generate_text(&next.parameters, rng);
            return AutoReply::Calls(vec![(next.name.clone(), arguments)]);
        }
        return AutoReply::Text(report(messages, trailing_results));
    }
    if allowed {
        let chosen: Vec<_> = match &request.tool_choice {
            Some(ToolChoice::Function(name)) => tools.iter().filter(|t| &t.name == name).collect(),
            _ if one_at_a_time => tools.iter().take(1).collect(),
            _ => tools.iter().collect(),
        };
        if !chosen.is_empty() {
            return AutoReply::Calls(
                chosen
                    .into_iter()
                    .map(|t| (t.name.clone(), generate_text(&t.parameters, rng)))
                    .collect(),
            );
        }
    }
    let said = request.messages.iter().rev().find_map(|m| match m {
        Message::User { content } => Some(content.to_text()),
        _ => None,
    });
    let said: String = said.unwrap_or_default().chars().take(80).collect();
    AutoReply::Text(format!("This is a simulated reply to: \"{said}\""))
}

/// The conversation without a last user message that holds the images or
/// documents of the tool results just before it: how a Chat client sends
/// them (its tool messages take text only), still part of the results.
fn without_results_media(messages: &[Message]) -> &[Message] {
    match messages {
        [before @ .., Message::Tool { .. }, Message::User { content }] if !content.is_text() => {
            &messages[..before.len() + 1]
        }
        _ => messages,
    }
}

/// The tools called since the last user message.
fn called_since_user(messages: &[Message]) -> Vec<String> {
    let mut called = Vec::new();
    for message in messages.iter().rev() {
        match message {
            Message::User { .. } => break,
            Message::Assistant { tool_calls, .. } => {
                called.extend(tool_calls.iter().map(|c| c.name.to_string()))
            }
            _ => {}
        }
    }
    called
}

/// A final answer that lists the last tool results, each under its tool's name.
fn report(messages: &[Message], results: usize) -> String {
    let start = messages.len() - results;
    let mut text = String::from("Here is what the tools returned:");
    for message in &messages[start..] {
        if let Message::Tool {
            tool_call_id,
            content,
            ..
        } = message
        {
            let name = messages[..start]
                .iter()
                .rev()
                .find_map(|m| match m {
                    Message::Assistant { tool_calls, .. } => {
                        tool_calls.iter().find(|c| &c.id == tool_call_id)
                    }
                    _ => None,
                })
                .map_or(tool_call_id.as_str(), |c| c.name.as_str());
            text.push_str(&format!("\n- {name}: {content}"));
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plain_string_is_written_in_place_as_the_general_path_writes_it() {
        let schema = json!({"type": "string", "description": "A \"city\""});
        let map = schema.as_object().expect("an object");
        assert!(plain_word(map));
        assert!(!plain_word(
            json!({"type": "string", "maxLength": 3})
                .as_object()
                .expect("an object")
        ));
        for seed in 0..200 {
            let (mut fast, mut general) = (SimRng::new(seed), SimRng::new(seed));
            let (mut quick, mut slow) = (Vec::new(), Vec::new());
            word(&mut fast, &mut quick);
            write_json(&mut slow, &string(map, &mut general));
            assert_eq!(quick, slow, "seed {seed}");
            assert_eq!(
                fast.next_u64(),
                general.next_u64(),
                "the same draws, seed {seed}"
            );
        }
        let mut out = Vec::new();
        for text in [
            "plain",
            "with \"quotes\"",
            "back\\slash",
            "line\nbreak",
            "é",
        ] {
            out.clear();
            write_text(&mut out, text);
            assert_eq!(out, serde_json::to_vec(text).expect("JSON"), "{text}");
        }
    }

    #[test]
    fn simple_patterns_are_followed() {
        let mut rng = SimRng::new(5);
        for _ in 0..50 {
            let id = pattern(r"^P-\d{5}$", &mut rng).expect("supported");
            assert_eq!(id.len(), 7);
            assert!(
                id.starts_with("P-") && id[2..].chars().all(|c| c.is_ascii_digit()),
                "{id}"
            );
            let code = pattern("[A-Z]{2}[0-9]?", &mut rng).expect("supported");
            assert!((2..=3).contains(&code.len()), "{code}");
        }
        assert_eq!(pattern("(a|b)", &mut rng), None);
    }

    #[test]
    fn unique_items_compare_as_values() {
        // The two objects are one value written two ways.
        let schema = json!({"type": "array", "uniqueItems": true, "minItems": 2, "maxItems": 2,
            "items": {"enum": [{"a": 1, "b": 2}, {"b": 2, "a": 1}, 3]}});
        for seed in 0..50 {
            let v = generate(&schema, &mut SimRng::new(seed));
            let items = v.as_array().expect("an array");
            assert_eq!(items.len(), 2, "{v}");
            assert!(items.contains(&json!(3)), "{v}");
        }
    }

    #[test]
    fn all_of_merges_properties() {
        let schema = json!({"$defs": {"base": {"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"]}},
            "allOf": [{"$ref": "#/$defs/base"}, {"properties": {"b": {"const": 1}}, "required": ["b"]}]});
        let v = generate(&schema, &mut SimRng::new(1));
        assert!(v["a"].is_i64(), "{v}");
        assert_eq!(v["b"], json!(1));
    }
}
