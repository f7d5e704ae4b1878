//! Fixtures: replies chosen by what a request looks like, beside the
//! ordered script. The first fixture whose every `match` field fits the
//! request answers it (as a script turn would); a fixture may be limited
//! to `times` uses. Written in a file (`--fixtures`), sent with
//! `PUT /__sim/fixtures`, or built in code:
//!
//! ```json
//! {"fixtures": [
//!   {"match": {"endpoint": "chat", "user_message": "weather"},
//!    "response": {"tool_calls": [{"name": "get_weather", "arguments": {"city": "Paris"}}]}},
//!   {"match": {"tool_results": ["get_weather"]}, "response": {"text": "Sunny."}, "times": 1}
//! ]}
//! ```

use std::time::Duration;

use regex::Regex;
use serde::{Deserialize, Deserializer};
use toolcall_runtime::{ChatRequest, Message};

use crate::engine::script::Turn;

/// The API format a request came in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Endpoint {
    /// OpenAI Chat Completions (`/v1/chat/completions`).
    Chat,
    /// OpenAI Responses (`/v1/responses`).
    Responses,
    /// Anthropic Messages (`/v1/messages`).
    Messages,
    /// Gemini `generateContent` and `streamGenerateContent`.
    Gemini,
}

impl Endpoint {
    fn name(self) -> &'static str {
        match self {
            Endpoint::Chat => "chat",
            Endpoint::Responses => "responses",
            Endpoint::Messages => "messages",
            Endpoint::Gemini => "gemini",
        }
    }
}

/// How a text is matched.
#[derive(Debug, Clone)]
pub enum TextMatch {
    /// The whole text, exactly.
    Equals(String),
    /// The text holds this.
    Contains(String),
    /// The regular expression finds a match in the text.
    Regex(Regex),
}

impl PartialEq for TextMatch {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (TextMatch::Equals(a), TextMatch::Equals(b))
            | (TextMatch::Contains(a), TextMatch::Contains(b)) => a == b,
            (TextMatch::Regex(a), TextMatch::Regex(b)) => a.as_str() == b.as_str(),
            _ => false,
        }
    }
}

impl TextMatch {
    /// A regular expression; an error naming the pattern when it is not one.
    pub fn regex(pattern: &str) -> Result<TextMatch, regex::Error> {
        Regex::new(pattern).map(TextMatch::Regex)
    }

    fn fits(&self, text: &str) -> bool {
        match self {
            TextMatch::Equals(want) => text == want,
            TextMatch::Contains(want) => text.contains(want.as_str()),
            TextMatch::Regex(re) => re.is_match(text),
        }
    }

    fn describe(&self) -> String {
        match self {
            TextMatch::Equals(want) => format!("`{want}`"),
            TextMatch::Contains(want) => format!("containing `{want}`"),
            TextMatch::Regex(re) => format!("matching /{}/", re.as_str()),
        }
    }
}

/// A text match as written: a plain string (exact for a model, a substring
/// for a message) or one of `{"equals"}`, `{"contains"}`, `{"regex"}`.
#[derive(Deserialize)]
#[serde(untagged)]
enum TextRepr {
    Plain(String),
    Spelled(SpelledText),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SpelledText {
    #[serde(default)]
    equals: Option<String>,
    #[serde(default)]
    contains: Option<String>,
    #[serde(default)]
    regex: Option<String>,
}

fn text_match<'de, D: Deserializer<'de>>(
    deserializer: D,
    plain: fn(String) -> TextMatch,
) -> Result<Option<TextMatch>, D::Error> {
    use serde::de::Error;
    Ok(Some(match TextRepr::deserialize(deserializer)? {
        TextRepr::Plain(text) => plain(text),
        TextRepr::Spelled(SpelledText {
            equals: Some(text),
            contains: None,
            regex: None,
        }) => TextMatch::Equals(text),
        TextRepr::Spelled(SpelledText {
            equals: None,
            contains: Some(text),
            regex: None,
        }) => TextMatch::Contains(text),
        TextRepr::Spelled(SpelledText {
            equals: None,
            contains: None,
            regex: Some(pattern),
        }) => TextMatch::regex(&pattern)
            .map_err(|e| D::Error::custom(format!("`{pattern}` is not a regex: {e}")))?,
        TextRepr::Spelled(_) => {
            return Err(D::Error::custom(
                "give exactly one of `equals`, `contains`, `regex`",
            ));
        }
    }))
}

fn model_match<'de, D: Deserializer<'de>>(d: D) -> Result<Option<TextMatch>, D::Error> {
    text_match(d, TextMatch::Equals)
}

fn message_match<'de, D: Deserializer<'de>>(d: D) -> Result<Option<TextMatch>, D::Error> {
    text_match(d, TextMatch::Contains)
}

/// Which tool results a request must carry (those after its last
/// assistant message: the results of the round being answered).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum ToolResults {
    /// `true`: some results; `false`: none.
    Any(bool),
    /// Results of every one of these tools (by name).
    For(Vec<String>),
}

/// What a request must look like for a fixture to answer it; every field
/// given must fit, an empty match fits every request.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Match {
    /// The API format (`chat`, `responses`, `messages`, `gemini`); an
    /// in-process request has its model's wire (`chat` by default).
    #[serde(default)]
    pub endpoint: Option<Endpoint>,
    /// The model: a string is exact, or `{"regex": "..."}`.
    #[serde(default, deserialize_with = "model_match")]
    pub model: Option<TextMatch>,
    /// The last user message: a string is a substring, or `{"equals"}`,
    /// `{"contains"}`, `{"regex"}`.
    #[serde(default, deserialize_with = "message_match")]
    pub user_message: Option<TextMatch>,
    /// Whether the request carries tool results, or for which tools.
    #[serde(default)]
    pub tool_results: Option<ToolResults>,
    /// Tools the request must offer (all of them, by name).
    #[serde(default)]
    pub tools: Option<Vec<String>>,
    /// The turn within the conversation: the number of assistant messages
    /// before this request (0 for its first request).
    #[serde(default)]
    pub turn_index: Option<usize>,
}

/// What a fixture looks at in a request, read once per request.
pub(crate) struct Seen<'a> {
    pub endpoint: Option<Endpoint>,
    pub model: &'a str,
    pub user_message: Option<std::borrow::Cow<'a, str>>,
    /// Tools whose results come after the last assistant message; `None`
    /// when no results come.
    pub results_for: Option<Vec<&'a str>>,
    pub tools: Vec<&'a str>,
    pub turn_index: usize,
}

impl<'a> Seen<'a> {
    pub fn new(
        request: &'a ChatRequest,
        endpoint: Option<Endpoint>,
        tools: impl Iterator<Item = &'a str>,
    ) -> Self {
        let messages = &request.messages;
        let user_message = messages.iter().rev().find_map(|m| match m {
            Message::User { content } => Some(content.to_text()),
            _ => None,
        });
        let last_assistant = messages
            .iter()
            .rposition(|m| matches!(m, Message::Assistant { .. }));
        let calls: &[toolcall_runtime::ToolCall] = match last_assistant.map(|i| &messages[i]) {
            Some(Message::Assistant { tool_calls, .. }) => tool_calls,
            _ => &[],
        };
        let results: Vec<&str> = messages[last_assistant.map_or(0, |i| i + 1)..]
            .iter()
            .filter_map(|m| match m {
                Message::Tool { tool_call_id, .. } => Some(
                    calls
                        .iter()
                        .find(|c| &c.id == tool_call_id)
                        .map_or("", |c| c.name.as_str()),
                ),
                _ => None,
            })
            .collect();
        Seen {
            endpoint,
            model: &request.model,
            user_message,
            results_for: (!results.is_empty()).then_some(results),
            tools: tools.collect(),
            turn_index: messages
                .iter()
                .filter(|m| matches!(m, Message::Assistant { .. }))
                .count(),
        }
    }

    /// A short description for an error.
    fn describe(&self) -> String {
        let mut parts = vec![
            format!(
                "endpoint {}",
                self.endpoint.map_or("in-process", Endpoint::name)
            ),
            format!("model `{}`", self.model),
        ];
        if let Some(text) = &self.user_message {
            let short: String = text.chars().take(60).collect();
            parts.push(format!("last user message `{short}`"));
        }
        match &self.results_for {
            Some(names) => parts.push(format!("tool results for {}", names.join(", "))),
            None => parts.push("no tool results".to_owned()),
        }
        parts.push(format!("turn {}", self.turn_index));
        parts.join(", ")
    }
}

impl Match {
    /// The fields that do not fit, described; empty when the request fits.
    fn misses(&self, seen: &Seen<'_>) -> Vec<String> {
        let mut misses = Vec::new();
        if let Some(want) = self.endpoint
            && seen.endpoint != Some(want)
        {
            misses.push(format!("endpoint {}", want.name()));
        }
        if let Some(want) = &self.model
            && !want.fits(seen.model)
        {
            misses.push(format!("model {}", want.describe()));
        }
        if let Some(want) = &self.user_message
            && !seen
                .user_message
                .as_deref()
                .is_some_and(|text| want.fits(text))
        {
            misses.push(format!("last user message {}", want.describe()));
        }
        match &self.tool_results {
            None => {}
            Some(ToolResults::Any(want)) if *want != seen.results_for.is_some() => {
                misses.push(if *want {
                    "tool results".to_owned()
                } else {
                    "no tool results".to_owned()
                });
            }
            Some(ToolResults::Any(_)) => {}
            Some(ToolResults::For(names)) => {
                let have = seen.results_for.as_deref().unwrap_or(&[]);
                if !names.iter().all(|n| have.contains(&n.as_str())) {
                    misses.push(format!("tool results for {}", names.join(", ")));
                }
            }
        }
        if let Some(names) = &self.tools
            && !names.iter().all(|n| seen.tools.contains(&n.as_str()))
        {
            misses.push(format!("tools offered {}", names.join(", ")));
        }
        if let Some(want) = self.turn_index
            && want != seen.turn_index
        {
            misses.push(format!("turn_index {want}"));
        }
        misses
    }

    fn fields(&self) -> usize {
        [
            self.endpoint.is_some(),
            self.model.is_some(),
            self.user_message.is_some(),
            self.tool_results.is_some(),
            self.tools.is_some(),
            self.turn_index.is_some(),
        ]
        .iter()
        .filter(|set| **set)
        .count()
    }
}

/// A reply chosen by what the request looks like.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fixture {
    /// A name for errors and `verify` (else its place, `#0`...).
    #[serde(default)]
    pub name: Option<String>,
    /// What the request must look like.
    #[serde(default, rename = "match")]
    pub matcher: Match,
    /// The answer, as a script turn: `text`, `tool_calls`, `auto`, `fault`.
    pub response: Turn,
    /// The time to first token of the answer, replacing the model latency's.
    #[serde(default, deserialize_with = "latency_ms")]
    pub latency: Option<Duration>,
    /// The most requests it answers (`None`: any number).
    #[serde(default)]
    pub times: Option<usize>,
    /// The fewest uses `verify` accepts (default 1; 0 for an optional fixture).
    #[serde(default = "one")]
    pub min_uses: usize,
}

fn one() -> usize {
    1
}

fn latency_ms<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    use serde::de::Error;
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Repr {
        Ms(u64),
        Spec(String),
    }
    Ok(Some(match Repr::deserialize(d)? {
        Repr::Ms(ms) => Duration::from_millis(ms),
        Repr::Spec(spec) => crate::engine::latency_spec::duration_ms(&spec, &spec)
            .map(|ms| Duration::from_secs_f64(ms / 1000.0))
            .map_err(D::Error::custom)?,
    }))
}

impl Fixture {
    /// A fixture answering every request with `response` (narrow it with
    /// the match methods).
    pub fn new(response: Turn) -> Self {
        Fixture {
            name: None,
            matcher: Match::default(),
            response,
            latency: None,
            times: None,
            min_uses: 1,
        }
    }

    /// Name it (in errors and `verify`).
    pub fn named(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Only requests in this format.
    pub fn endpoint(mut self, endpoint: Endpoint) -> Self {
        self.matcher.endpoint = Some(endpoint);
        self
    }

    /// Only requests for this model (exactly; see [`Fixture::model_matching`]).
    pub fn model(mut self, model: impl Into<String>) -> Self {
        self.matcher.model = Some(TextMatch::Equals(model.into()));
        self
    }

    /// Only requests whose model fits `pattern`.
    pub fn model_matching(mut self, pattern: TextMatch) -> Self {
        self.matcher.model = Some(pattern);
        self
    }

    /// Only requests whose last user message contains `text`.
    pub fn user_message(mut self, text: impl Into<String>) -> Self {
        self.matcher.user_message = Some(TextMatch::Contains(text.into()));
        self
    }

    /// Only requests whose last user message fits `pattern`.
    pub fn user_message_matching(mut self, pattern: TextMatch) -> Self {
        self.matcher.user_message = Some(pattern);
        self
    }

    /// Only requests that carry tool results (`true`) or none (`false`).
    pub fn with_tool_results(mut self, yes: bool) -> Self {
        self.matcher.tool_results = Some(ToolResults::Any(yes));
        self
    }

    /// Only requests carrying results of all these tools.
    pub fn tool_results_for(mut self, names: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.matcher.tool_results = Some(ToolResults::For(
            names.into_iter().map(Into::into).collect(),
        ));
        self
    }

    /// Only requests offering all these tools.
    pub fn tools(mut self, names: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.matcher.tools = Some(names.into_iter().map(Into::into).collect());
        self
    }

    /// Only requests with this many assistant messages before them.
    pub fn turn_index(mut self, index: usize) -> Self {
        self.matcher.turn_index = Some(index);
        self
    }

    /// Answer after this time to first token.
    pub fn latency(mut self, latency: Duration) -> Self {
        self.latency = Some(latency);
        self
    }

    /// Answer at most `n` requests.
    pub fn times(mut self, n: usize) -> Self {
        self.times = Some(n);
        self
    }

    /// Let `verify` accept fewer than one use (`0`: optional) or ask for more.
    pub fn min_uses(mut self, n: usize) -> Self {
        self.min_uses = n;
        self
    }

    fn label(&self, index: usize) -> String {
        match &self.name {
            Some(name) => format!("#{index} `{name}`"),
            None => format!("#{index}"),
        }
    }
}

/// What happens to a request no fixture matches when no script is loaded
/// (with a script, it takes the next turn).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Unmatched {
    /// A 404-style error naming the closest fixture, `x-should-retry: false`.
    #[default]
    Error,
    /// Auto mode answers it.
    Auto,
}

/// A fixtures file: `{"fixtures": [...], "unmatched": "error"|"auto"}`, or
/// the list alone.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Fixtures {
    /// In order: the first that matches answers.
    pub fixtures: Vec<Fixture>,
    /// What a request none matches gets when no script is loaded.
    pub unmatched: Unmatched,
}

impl<'de> Deserialize<'de> for Fixtures {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Whole {
            fixtures: Vec<Fixture>,
            #[serde(default)]
            unmatched: Unmatched,
        }
        // Parse through a value so an error names the real problem, not
        // "did not match any variant".
        let value = serde_json::Value::deserialize(d)?;
        use serde::de::Error;
        match value {
            serde_json::Value::Array(_) => Vec::<Fixture>::deserialize(value)
                .map(|fixtures| Fixtures {
                    fixtures,
                    unmatched: Unmatched::Error,
                })
                .map_err(D::Error::custom),
            value => Whole::deserialize(value)
                .map(|w| Fixtures {
                    fixtures: w.fixtures,
                    unmatched: w.unmatched,
                })
                .map_err(D::Error::custom),
        }
    }
}

/// The fixtures of one engine and how often each was used.
#[derive(Debug, Default)]
pub(crate) struct FixtureState {
    pub set: Fixtures,
    pub uses: Vec<usize>,
    /// Requests no fixture matched that got an error, by journal index.
    pub unmatched: Vec<usize>,
}

/// A fixture used fewer times than its `min_uses`.
pub(crate) struct Underused {
    pub index: usize,
    /// `#index` and its name, if it has one.
    pub label: String,
    pub uses: usize,
    pub min_uses: usize,
}

/// What a fixture gave a request.
pub(crate) struct Picked {
    pub index: usize,
    pub turn: Turn,
    pub latency: Option<Duration>,
}

impl FixtureState {
    pub fn new(set: Fixtures) -> Self {
        FixtureState {
            uses: vec![0; set.fixtures.len()],
            set,
            unmatched: Vec::new(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.set.fixtures.is_empty()
    }

    /// The first fixture that fits and is not used up, counted as used.
    pub fn pick(&mut self, seen: &Seen<'_>) -> Option<Picked> {
        let index = self.set.fixtures.iter().enumerate().position(|(i, f)| {
            f.times.is_none_or(|n| self.uses[i] < n) && f.matcher.misses(seen).is_empty()
        })?;
        self.uses[index] += 1;
        let fixture = &self.set.fixtures[index];
        Some(Picked {
            index,
            turn: fixture.response.clone(),
            latency: fixture.latency,
        })
    }

    /// Why no fixture answered: the request, and the closest fixture (the
    /// most fields fitting, then the fewest missing) with what it wants.
    pub fn explain(&self, seen: &Seen<'_>) -> String {
        let closest = self
            .set
            .fixtures
            .iter()
            .enumerate()
            .map(|(i, f)| {
                let misses = f.matcher.misses(seen);
                let fit = f.matcher.fields().saturating_sub(misses.len());
                (i, f, misses, fit)
            })
            .max_by(|a, b| {
                a.3.cmp(&b.3)
                    .then(b.2.len().cmp(&a.2.len()))
                    .then(b.0.cmp(&a.0))
            });
        let about = match closest {
            None => String::new(),
            Some((i, f, misses, _)) if misses.is_empty() => format!(
                "; fixture {} matches but is used up ({} of {} use(s))",
                f.label(i),
                self.uses[i],
                f.times.unwrap_or(0)
            ),
            Some((i, f, misses, _)) => {
                format!(
                    "; the closest is fixture {}, which wants {}",
                    f.label(i),
                    misses.join(", ")
                )
            }
        };
        format!(
            "toolcall-sim: no fixture matches this request ({}){about}",
            seen.describe()
        )
    }

    /// Fixtures used fewer times than their `min_uses`.
    pub fn underused(&self) -> Vec<Underused> {
        self.set
            .fixtures
            .iter()
            .enumerate()
            .filter(|(i, f)| self.uses[*i] < f.min_uses)
            .map(|(i, f)| Underused {
                index: i,
                label: f.label(i),
                uses: self.uses[i],
                min_uses: f.min_uses,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_every_match_field_and_refuses_nonsense() {
        let set: Fixtures = serde_json::from_value(json!({"fixtures": [
            {"name": "a", "match": {"endpoint": "messages", "model": {"regex": "^claude"},
              "user_message": {"equals": "hi"}, "tool_results": ["f"], "tools": ["f"], "turn_index": 1},
             "response": {"text": "x"}, "latency": "250ms", "times": 2, "min_uses": 0}
        ], "unmatched": "auto"}))
        .expect("parse");
        let f = &set.fixtures[0];
        assert_eq!(f.latency, Some(Duration::from_millis(250)));
        assert_eq!(f.matcher.fields(), 6);
        assert_eq!(set.unmatched, Unmatched::Auto);
        let list: Fixtures =
            serde_json::from_value(json!([{"response": {"text": "x"}}])).expect("a bare list");
        assert_eq!(list.fixtures.len(), 1);
        for bad in [
            json!([{"match": {"modle": "x"}, "response": {"text": "x"}}]),
            json!([{"match": {"model": {"regex": "("}}, "response": {"text": "x"}}]),
            json!([{"match": {"model": {"regex": "a", "equals": "b"}}, "response": {"text": "x"}}]),
            json!([{"match": {}}]),
        ] {
            let err = serde_json::from_value::<Fixtures>(bad.clone()).expect_err("must fail");
            assert!(!err.to_string().contains("did not match"), "{bad}: {err}");
        }
    }
}
