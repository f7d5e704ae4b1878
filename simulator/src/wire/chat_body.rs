//! Reading a Chat Completions request body as the API does: one typed pass
//! over the bytes (no `Value` tree for the parts the simulator only checks),
//! every parameter's type and range checked, and refusals worded and coded
//! as OpenAI's `invalid_request_error`s.

use std::sync::Arc;

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use serde_json::value::RawValue;
use toolcall_runtime::{
    ChatRequest, ContentPart, Effort, Message, OutputFormat, Reasoning, Settings, ToolChoice,
    ToolDefinition,
};

use super::chat_messages::simple_messages;
use super::json_scan::{Scan, plain_text};
use super::media::{is_base64, is_http_url};
use super::{ApiError, Parsed};
use crate::engine::journal::RequestFields;
use crate::engine::recent::Recent;
use crate::engine::{Asks, Engine, ResponseFormat, Tools};

/// What a chat request asks of its reply's shape.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct ChatOptions {
    /// `stream_options.include_usage: true`.
    pub include_usage: bool,
    /// `tool_choice` names the function to call: the API then ends with
    /// `finish_reason: "stop"`, not `"tool_calls"` (`required` does not).
    pub forced: bool,
}

/// The body's parameters, each kept raw until checked. Every parameter of
/// the official SDKs' `chat.completions.create` is known (those the
/// simulator does not use are read and dropped); any other is a 400, as the
/// API answers it.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ChatBody<'a> {
    #[serde(default, borrow)]
    model: Option<&'a RawValue>,
    #[serde(default, borrow)]
    messages: Option<&'a RawValue>,
    #[serde(default, borrow)]
    tools: Option<&'a RawValue>,
    #[serde(default, borrow)]
    tool_choice: Option<&'a RawValue>,
    #[serde(default, borrow)]
    parallel_tool_calls: Option<&'a RawValue>,
    #[serde(default, borrow)]
    stream: Option<&'a RawValue>,
    #[serde(default, borrow)]
    stream_options: Option<&'a RawValue>,
    #[serde(default, borrow)]
    temperature: Option<&'a RawValue>,
    #[serde(default, borrow)]
    top_p: Option<&'a RawValue>,
    #[serde(default, borrow)]
    n: Option<&'a RawValue>,
    #[serde(default, borrow)]
    max_tokens: Option<&'a RawValue>,
    #[serde(default, borrow)]
    max_completion_tokens: Option<&'a RawValue>,
    #[serde(default, borrow)]
    logprobs: Option<&'a RawValue>,
    #[serde(default, borrow)]
    top_logprobs: Option<&'a RawValue>,
    #[serde(default, borrow)]
    response_format: Option<&'a RawValue>,
    #[serde(default, borrow)]
    seed: Option<&'a RawValue>,
    #[serde(default, borrow)]
    stop: Option<&'a RawValue>,
    #[serde(default, borrow)]
    reasoning_effort: Option<&'a RawValue>,
    #[serde(default, borrow)]
    safety_identifier: Option<&'a RawValue>,
    #[serde(default, borrow)]
    user: Option<&'a RawValue>,
    // The official SDK's other parameters (openai-python's
    // `CompletionCreateParamsBase`): accepted, not simulated.
    #[serde(default, borrow, rename = "audio")]
    _audio: Option<&'a RawValue>,
    #[serde(default, borrow, rename = "frequency_penalty")]
    _frequency_penalty: Option<&'a RawValue>,
    #[serde(default, borrow, rename = "function_call")]
    _function_call: Option<&'a RawValue>,
    #[serde(default, borrow, rename = "functions")]
    _functions: Option<&'a RawValue>,
    #[serde(default, borrow, rename = "logit_bias")]
    _logit_bias: Option<&'a RawValue>,
    #[serde(default, borrow, rename = "metadata")]
    _metadata: Option<&'a RawValue>,
    #[serde(default, borrow, rename = "modalities")]
    _modalities: Option<&'a RawValue>,
    #[serde(default, borrow, rename = "moderation")]
    _moderation: Option<&'a RawValue>,
    #[serde(default, borrow, rename = "prediction")]
    _prediction: Option<&'a RawValue>,
    #[serde(default, borrow, rename = "presence_penalty")]
    _presence_penalty: Option<&'a RawValue>,
    #[serde(default, borrow, rename = "prompt_cache_key")]
    _prompt_cache_key: Option<&'a RawValue>,
    #[serde(default, borrow, rename = "prompt_cache_options")]
    _prompt_cache_options: Option<&'a RawValue>,
    #[serde(default, borrow, rename = "prompt_cache_retention")]
    _prompt_cache_retention: Option<&'a RawValue>,
    #[serde(default, borrow, rename = "service_tier")]
    _service_tier: Option<&'a RawValue>,
    #[serde(default, borrow, rename = "store")]
    _store: Option<&'a RawValue>,
    #[serde(default, borrow, rename = "verbosity")]
    _verbosity: Option<&'a RawValue>,
    #[serde(default, borrow, rename = "web_search_options")]
    _web_search_options: Option<&'a RawValue>,
}

/// `stop`: one sequence or a list of them.
#[derive(Deserialize)]
#[serde(untagged)]
enum Stop {
    One(String),
    Many(Vec<String>),
}

/// A tool definition in the request's wire shape.
#[derive(Deserialize)]
struct WireTool {
    function: WireFunction,
}

#[derive(Deserialize)]
struct WireFunction {
    name: String,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    parameters: Option<Value>,
    #[serde(default)]
    strict: Option<bool>,
}

#[derive(Deserialize, Default)]
struct StreamOptions {
    #[serde(default)]
    include_usage: Option<bool>,
}

#[derive(Deserialize)]
struct WireResponseFormat {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    json_schema: Option<WireJsonSchema>,
}

#[derive(Deserialize)]
struct WireJsonSchema {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    schema: Option<Value>,
    #[serde(default)]
    strict: Option<bool>,
}

/// Read a chat completion request body as the API does. A body it refuses
/// is journalled and comes back as the error to answer. Shared with the
/// wiremock responders.
pub(crate) fn read_chat_body(
    engine: &Engine,
    body: &[u8],
) -> Result<Parsed<ChatOptions>, ApiError> {
    parse(&engine.chat_tools, body).map_err(|refused| {
        let Refused {
            error,
            model,
            streamed,
        } = *refused;
        engine.reject(&error, &model, streamed);
        error
    })
}

/// A request's own fields read again from its body, for the journal: the
/// same reading as [`read_chat_body`]'s, which depends on the body alone.
pub(crate) fn reread(body: &[u8]) -> Option<RequestFields> {
    let parsed = parse(&Recent::default(), body).ok()?;
    Some(RequestFields::of(parsed.request, &parsed.tools))
}

/// A body refused: the error, the model it named (empty if none could be
/// read) and whether it asked for a stream, as the journal records them.
struct Refused {
    error: ApiError,
    model: String,
    streamed: bool,
}

impl Refused {
    fn new(error: ApiError, model: String, streamed: bool) -> Box<Refused> {
        Box::new(Refused {
            error,
            model,
            streamed,
        })
    }
}

/// A body read, or refused.
fn parse(tools: &Recent<Tools>, body: &[u8]) -> Result<Parsed<ChatOptions>, Box<Refused>> {
    // UTF-8 checked once for the whole body, not again for each raw part.
    let text = std::str::from_utf8(body).ok();
    let fields = match text.and_then(|text| Fields::scan(tools, text)) {
        Some(fields) => fields,
        None => {
            serde_body(body, text).map_err(|error| Refused::new(error, String::new(), false))?
        }
    };
    // The model and stream flag first: the journal names them in a refusal
    // (the model read again then, not copied for every request).
    let raw_model = fields.model;
    // The common spellings read without serde: a plain string, a literal.
    let model = match raw_model.and_then(plain_text) {
        Some(model) => Ok(Some(model.to_owned())),
        None => typed::<String>(raw_model, "model", "a string"),
    };
    let stream = match fields.stream {
        Some("true") => Ok(Some(true)),
        Some("false") => Ok(Some(false)),
        raw => typed::<bool>(raw, "stream", "a boolean"),
    };
    let streamed = matches!(stream, Ok(Some(true)));
    read(tools, fields, model, stream).map_err(|error| {
        let named = typed::<String>(raw_model, "model", "a string");
        Refused::new(error, named.ok().flatten().unwrap_or_default(), streamed)
    })
}

/// The body read by serde_json, when the quick scan did not take it: its
/// fields, or the refusal of a body that is not an object of known
/// parameters.
fn serde_body<'a>(body: &[u8], text: Option<&'a str>) -> Result<Fields<'a>, ApiError> {
    // A struct also reads from a JSON array: only an object is a body.
    let object = body.trim_ascii_start().first() == Some(&b'{');
    Err(match text.map(serde_json::from_str::<ChatBody<'_>>) {
        Some(Ok(fields)) if object => return Ok(Fields::from(fields)),
        Some(Err(error)) if object => match unknown_field(&error) {
            Some(name) => ApiError::unknown_parameter(
                format!("Unrecognized request argument supplied: {name}"),
                &name,
                None,
            ),
            None => ApiError::invalid_json(),
        },
        _ => ApiError::invalid_json(),
    })
}

/// The parameters the simulator reads, each as its raw JSON text (`null`
/// as absent, as `Option<&RawValue>` reads it).
#[derive(Default, Debug, PartialEq)]
struct Fields<'a> {
    /// The messages, when the scan read them as it went.
    read_messages: Option<Vec<Message>>,
    model: Option<&'a str>,
    messages: Option<&'a str>,
    tools: Option<&'a str>,
    tool_choice: Option<&'a str>,
    parallel_tool_calls: Option<&'a str>,
    stream: Option<&'a str>,
    stream_options: Option<&'a str>,
    temperature: Option<&'a str>,
    top_p: Option<&'a str>,
    n: Option<&'a str>,
    max_tokens: Option<&'a str>,
    max_completion_tokens: Option<&'a str>,
    logprobs: Option<&'a str>,
    top_logprobs: Option<&'a str>,
    response_format: Option<&'a str>,
    seed: Option<&'a str>,
    stop: Option<&'a str>,
    reasoning_effort: Option<&'a str>,
    safety_identifier: Option<&'a str>,
    user: Option<&'a str>,
}

/// The official SDK's parameters accepted and not simulated (as in [`ChatBody`]).
const UNSIMULATED: [&str; 17] = [
    "audio",
    "frequency_penalty",
    "function_call",
    "functions",
    "logit_bias",
    "metadata",
    "modalities",
    "moderation",
    "prediction",
    "presence_penalty",
    "prompt_cache_key",
    "prompt_cache_options",
    "prompt_cache_retention",
    "service_tier",
    "store",
    "verbosity",
    "web_search_options",
];

impl<'a> Fields<'a> {
    /// The body cut into its parameters by the quick scan, a tool list
    /// read before taken by comparing its bytes; `None` for anything else
    /// (an unknown or repeated parameter, an escape in a name, text that
    /// is not JSON), which serde_json then reads or refuses.
    fn scan(tools: &Recent<Tools>, text: &'a str) -> Option<Fields<'a>> {
        let mut fields = Fields::default();
        let mut seen = 0u64;
        let mut read_messages = None;
        let mut scan = Scan::new(text);
        scan.object(|scan, name| {
            let (bit, slot) = fields.slot(name)?;
            if seen & bit != 0 {
                return None;
            }
            seen |= bit;
            let kept = match name {
                "tools" => tools.kept_prefix(scan.rest()),
                // The conversation is read where it stands, which also
                // finds its end; one that does not read is cut out raw,
                // to be refused with serde_json's error from its own text.
                "messages" => {
                    let read = simple_messages(scan.rest()).or_else(|| {
                        let mut read = serde_json::Deserializer::from_str(scan.rest())
                            .into_iter::<Vec<Message>>();
                        match read.next() {
                            Some(Ok(messages)) => Some((messages, read.byte_offset())),
                            _ => None,
                        }
                    });
                    read.map(|(messages, len)| {
                        read_messages = Some(messages);
                        len
                    })
                }
                _ => None,
            };
            let raw = match kept {
                Some(len) => scan.take(len)?,
                None => scan.value()?,
            };
            if let Some(slot) = slot {
                *slot = (raw != "null").then_some(raw);
            }
            Some(())
        })?;
        fields.read_messages = read_messages;
        scan.at_end().then_some(fields)
    }

    /// A parameter's bit among those seen and where its text goes (none
    /// for one not simulated); `None` for an unknown name.
    #[allow(clippy::type_complexity)]
    fn slot(&mut self, name: &str) -> Option<(u64, Option<&mut Option<&'a str>>)> {
        let (at, slot) = match name {
            "model" => (0, &mut self.model),
            "messages" => (1, &mut self.messages),
            "tools" => (2, &mut self.tools),
            "tool_choice" => (3, &mut self.tool_choice),
            "parallel_tool_calls" => (4, &mut self.parallel_tool_calls),
            "stream" => (5, &mut self.stream),
            "stream_options" => (6, &mut self.stream_options),
            "temperature" => (7, &mut self.temperature),
            "top_p" => (8, &mut self.top_p),
            "n" => (9, &mut self.n),
            "max_tokens" => (10, &mut self.max_tokens),
            "max_completion_tokens" => (11, &mut self.max_completion_tokens),
            "logprobs" => (12, &mut self.logprobs),
            "top_logprobs" => (13, &mut self.top_logprobs),
            "response_format" => (14, &mut self.response_format),
            "seed" => (15, &mut self.seed),
            "stop" => (16, &mut self.stop),
            "reasoning_effort" => (17, &mut self.reasoning_effort),
            "safety_identifier" => (18, &mut self.safety_identifier),
            "user" => (19, &mut self.user),
            other => {
                let at = UNSIMULATED.iter().position(|n| *n == other)?;
                return Some((1 << (20 + at), None));
            }
        };
        Some((1 << at, Some(slot)))
    }
}

impl<'a> From<ChatBody<'a>> for Fields<'a> {
    fn from(body: ChatBody<'a>) -> Fields<'a> {
        let raw = |value: Option<&'a RawValue>| value.map(RawValue::get);
        Fields {
            read_messages: None,
            model: raw(body.model),
            messages: raw(body.messages),
            tools: raw(body.tools),
            tool_choice: raw(body.tool_choice),
            parallel_tool_calls: raw(body.parallel_tool_calls),
            stream: raw(body.stream),
            stream_options: raw(body.stream_options),
            temperature: raw(body.temperature),
            top_p: raw(body.top_p),
            n: raw(body.n),
            max_tokens: raw(body.max_tokens),
            max_completion_tokens: raw(body.max_completion_tokens),
            logprobs: raw(body.logprobs),
            top_logprobs: raw(body.top_logprobs),
            response_format: raw(body.response_format),
            seed: raw(body.seed),
            stop: raw(body.stop),
            reasoning_effort: raw(body.reasoning_effort),
            safety_identifier: raw(body.safety_identifier),
            user: raw(body.user),
        }
    }
}

fn read(
    kept_tools: &Recent<Tools>,
    fields: Fields<'_>,
    model: Result<Option<String>, ApiError>,
    stream: Result<Option<bool>, ApiError>,
) -> Result<Parsed<ChatOptions>, ApiError> {
    let model = model?.unwrap_or_default();
    if model.is_empty() {
        return Err(ApiError::missing_model());
    }
    let Some(messages) = fields.messages else {
        return Err(ApiError::missing_messages());
    };
    let messages = read_messages(messages, fields.read_messages)?;
    let stream = stream?.unwrap_or(false);
    let include_usage =
        typed::<StreamOptions>(fields.stream_options, "stream_options", "an object")?
            .and_then(|o| o.include_usage)
            .unwrap_or(false);
    let mut settings = Settings::default();
    if let Some(t) = typed::<f64>(fields.temperature, "temperature", "a decimal")? {
        in_range("temperature", t, 0.0, 2.0)?;
        settings.temperature = Some(t as f32);
    }
    if let Some(p) = typed::<f64>(fields.top_p, "top_p", "a decimal")? {
        in_range("top_p", p, 0.0, 1.0)?;
        settings.top_p = Some(p as f32);
    }
    settings.seed = typed::<i64>(fields.seed, "seed", "an integer")?;
    settings.stop =
        match typed::<Option<Stop>>(fields.stop, "stop", "a string or an array")?.flatten() {
            None => Vec::new(),
            Some(Stop::One(one)) => vec![one],
            Some(Stop::Many(many)) if many.len() > 4 => {
                return Err(ApiError::invalid_value(
                    "stop",
                    "Invalid 'stop': expected an array of at most 4 sequences.",
                ));
            }
            Some(Stop::Many(many)) => many,
        };
    if let Some(effort) = typed::<Option<Effort>>(
        fields.reasoning_effort,
        "reasoning_effort",
        "one of 'minimal', 'low', 'medium', 'high'",
    )?
    .flatten()
    {
        settings.reasoning = Some(Reasoning::Effort(effort));
    }
    settings.user =
        match typed::<Option<String>>(fields.safety_identifier, "safety_identifier", "a string")?
            .flatten()
        {
            Some(id) => Some(id),
            None => typed::<Option<String>>(fields.user, "user", "a string")?.flatten(),
        };
    if positive(fields.n, "n")?.is_some_and(|n| n > 1) {
        return Err(ApiError::unsupported("n", "only one choice (`n: 1`)"));
    }
    let max_tokens = positive(fields.max_tokens, "max_tokens")?;
    let max_completion = positive(fields.max_completion_tokens, "max_completion_tokens")?;
    if typed::<bool>(fields.logprobs, "logprobs", "a boolean")? == Some(true) {
        return Err(ApiError::unsupported("logprobs", "no log probabilities"));
    }
    if fields.top_logprobs.is_some() {
        return Err(ApiError::unsupported(
            "top_logprobs",
            "no log probabilities",
        ));
    }
    let (response_format, output) = read_response_format(fields.response_format)?;
    let tools = match fields.tools {
        None => Arc::default(),
        Some(raw) => kept_tools.get_or_read(raw, || read_tools(raw))?,
    };
    let tool_choice = match fields.tool_choice {
        None => None,
        Some(raw) => Some(serde_json::from_str::<ToolChoice>(raw).map_err(|e| {
            ApiError::invalid_value(
                "tool_choice",
                format!("Invalid value for 'tool_choice': {e}"),
            )
        })?),
    };
    match &tool_choice {
        Some(ToolChoice::Function(name)) if !tools.iter().any(|t| &t.name == name) => {
            return Err(ApiError::invalid_value(
                "tool_choice",
                format!(
                    "Invalid value for 'tool_choice': function '{name}' is not one of the 'tools' offered."
                ),
            ));
        }
        Some(ToolChoice::Required) if tools.is_empty() => {
            return Err(ApiError::invalid_value(
                "tool_choice",
                "Invalid value for 'tool_choice': 'tool_choice' is only allowed when 'tools' are specified.",
            ));
        }
        _ => {}
    }
    let parallel_tool_calls = typed::<bool>(
        fields.parallel_tool_calls,
        "parallel_tool_calls",
        "a boolean",
    )?;
    // A call to a named function ends with "stop"; `required` ends with
    // "tool_calls", as a call the model chose does.
    let forced = matches!(tool_choice, Some(ToolChoice::Function(_)));
    let mut request = ChatRequest::new(model, messages);
    request.tool_choice = tool_choice;
    request.parallel_tool_calls = parallel_tool_calls;
    settings.max_tokens = match (max_tokens, max_completion) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    let asks = Asks {
        max_tokens: settings.max_tokens,
        response_format,
        ..Asks::default()
    };
    request.settings = settings;
    request.output = output;
    Ok(Parsed {
        request,
        tools,
        stream,
        options: ChatOptions {
            include_usage,
            forced,
        },
        asks,
    })
}

/// The name of the parameter serde refused as unknown (its message is
/// ``unknown field `x`, expected one of ...``).
fn unknown_field(error: &serde_json::Error) -> Option<String> {
    let message = error.to_string();
    let rest = message.strip_prefix("unknown field `")?;
    rest.find("`, ").map(|end| rest[..end].to_owned())
}

/// A parameter of type `T`, or the API's "Invalid type" error naming what came.
fn typed<T: DeserializeOwned>(
    raw: Option<&str>,
    name: &str,
    expected: &str,
) -> Result<Option<T>, ApiError> {
    let Some(raw) = raw else { return Ok(None) };
    serde_json::from_str(raw)
        .map(Some)
        .map_err(|_| ApiError::invalid_type(name, expected, json_kind(raw)))
}

/// A whole number of 1 or more (counts and token limits).
fn positive(raw: Option<&str>, name: &str) -> Result<Option<u32>, ApiError> {
    match typed::<i64>(raw, name, "an integer")? {
        None => Ok(None),
        Some(n) if n < 1 => Err(ApiError::below_minimum(name, 1, n)),
        Some(n) => Ok(Some(u32::try_from(n).unwrap_or(u32::MAX))),
    }
}

/// How the API names the type of a JSON value in its errors.
pub(crate) fn json_kind(text: &str) -> &'static str {
    match text.trim_start().as_bytes().first() {
        Some(b'"') => "a string",
        Some(b'{') => "an object",
        Some(b'[') => "an array",
        Some(b't' | b'f') => "a boolean",
        Some(b'n') => "null",
        _ if text.contains(['.', 'e', 'E']) => "a decimal",
        _ => "an integer",
    }
}

pub(crate) fn in_range(name: &str, value: f64, min: f64, max: f64) -> Result<(), ApiError> {
    if value < min {
        Err(ApiError::below_minimum(name, min, value))
    } else if value > max {
        Err(ApiError::above_maximum(name, max, value))
    } else {
        Ok(())
    }
}

/// The conversation: an array of at least one message. Roles the runtime's
/// `Message` does not name are read as the API reads them: `developer` as
/// `system`, the legacy `function` (and an assistant's `function_call`) as
/// a tool result (and a tool call) paired by the function's name.
fn read_messages(raw: &str, read: Option<Vec<Message>>) -> Result<Vec<Message>, ApiError> {
    let invalid = |e: serde_json::Error| {
        ApiError::invalid_request(format!("Invalid request body: {e}"), None)
    };
    match read.map_or_else(|| serde_json::from_str::<Vec<Message>>(raw), Ok) {
        Ok(messages) if messages.is_empty() => Err(ApiError::empty_array("messages")),
        Ok(messages) => check_media(&messages).map(|()| messages),
        Err(error) => {
            let Ok(mut values) = serde_json::from_str::<Vec<Value>>(raw) else {
                return Err(ApiError::invalid_type(
                    "messages",
                    "an array of objects",
                    json_kind(raw),
                ));
            };
            if !values
                .iter_mut()
                .fold(false, |changed, m| legacy_role(m) | changed)
            {
                return Err(invalid(error));
            }
            Vec::<Message>::deserialize(Value::Array(values)).map_err(invalid)
        }
    }
}

/// The user messages' images and files as the API checks them: inline
/// data that is base64, image URLs that are http(s) or base64 `data:` URLs,
/// and no `file_url` (Chat's `file` has none).
fn check_media(messages: &[Message]) -> Result<(), ApiError> {
    for (i, message) in messages.iter().enumerate() {
        let Message::User { content } = message else {
            continue;
        };
        for (j, part) in content.parts().iter().enumerate() {
            // Named only in a refusal: most parts pass.
            let at = || format!("messages[{i}].content[{j}]");
            match part {
                ContentPart::Image { data: bad, .. } if !is_base64(bad) => {
                    return Err(bad_image(&at()));
                }
                ContentPart::ImageUrl { url: bad } if !is_http_url(bad) => {
                    return Err(bad_image(&at()));
                }
                ContentPart::Document { data, .. } if !is_base64(data) => {
                    let at = at();
                    return Err(ApiError::invalid_value(
                        &format!("{at}.file.file_data"),
                        format!(
                            "Invalid '{at}.file.file_data'. Expected base64-encoded file data."
                        ),
                    ));
                }
                ContentPart::DocumentUrl { .. } => {
                    let at = at();
                    return Err(ApiError::invalid_request(
                        format!("Unrecognized request argument supplied: {at}.file.file_url"),
                        Some(format!("{at}.file.file_url")),
                    ));
                }
                _ => {}
            }
        }
    }
    Ok(())
}

fn bad_image(at: &str) -> ApiError {
    ApiError::invalid_value(
        &format!("{at}.image_url.url"),
        format!(
            "Invalid '{at}.image_url.url'. Expected a base64-encoded data URL with an image MIME type (e.g. 'data:image/png;base64,aW1nIGJ5dGVzIGhlcmU='), or an http(s) URL, but got an invalid value."
        ),
    )
}

/// Rewrite a `developer`, `function`, or `function_call` message in the
/// shape `Message` reads; whether it changed anything.
fn legacy_role(message: &mut Value) -> bool {
    let Some(object) = message.as_object_mut() else {
        return false;
    };
    match object.get("role").and_then(Value::as_str) {
        Some("developer") => {
            object.insert("role".into(), "system".into());
            true
        }
        Some("function") => {
            let name = object.get("name").cloned().unwrap_or_default();
            object.insert("role".into(), "tool".into());
            object.insert("tool_call_id".into(), name);
            true
        }
        Some("assistant") => {
            let Some(call) = object.remove("function_call") else {
                return false;
            };
            let name = call.get("name").cloned().unwrap_or_default();
            let arguments = call.get("arguments").cloned().unwrap_or_default();
            object.insert(
                "tool_calls".into(),
                serde_json::json!([{"id": name, "type": "function", "function": {"name": name, "arguments": arguments}}]),
            );
            true
        }
        _ => false,
    }
}

fn read_tools(raw: &str) -> Result<Arc<Tools>, ApiError> {
    let tools: Vec<WireTool> = serde_json::from_str(raw).map_err(|e| {
        ApiError::invalid_request(format!("Invalid 'tools': {e}"), Some("tools".to_owned()))
    })?;
    Ok(Arc::new(Tools::new(
        tools
            .into_iter()
            .map(|t| {
                let f = t.function;
                ToolDefinition::new(
                    f.name,
                    f.description.unwrap_or_default(),
                    f.parameters.unwrap_or(Value::Null),
                )
                .with_strict(f.strict.unwrap_or(false))
            })
            .collect::<Vec<_>>(),
    )))
}

/// The requested shape of the answer, and its schema for the journal.
fn read_response_format(
    raw: Option<&str>,
) -> Result<(Option<ResponseFormat>, Option<OutputFormat>), ApiError> {
    let Some(format) = typed::<WireResponseFormat>(raw, "response_format", "an object")? else {
        return Ok((None, None));
    };
    match format.kind.as_str() {
        "text" => Ok((None, None)),
        "json_object" => Ok((Some(ResponseFormat::JsonObject), None)),
        "json_schema" => match format.json_schema {
            Some(WireJsonSchema {
                name,
                schema: Some(schema),
                strict,
            }) => Ok((
                Some(ResponseFormat::JsonSchema(schema.clone())),
                Some(OutputFormat {
                    name: name.unwrap_or_default(),
                    schema,
                    strict: strict.unwrap_or(false),
                }),
            )),
            _ => Err(ApiError::invalid_value(
                "response_format.json_schema",
                "Missing required parameter: 'response_format.json_schema.schema'.",
            )),
        },
        other => Err(ApiError::invalid_value(
            "response_format.type",
            format!(
                "Invalid value: '{other}'. Supported values are: 'text', 'json_object', and 'json_schema'."
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_journal_reads_a_kept_body_as_the_server_read_it() {
        let body = serde_json::json!({
            "model": "gpt-4o",
            "messages": [
                {"role": "system", "content": "Be brief."},
                {"role": "user", "content": [{"type": "text", "text": "Weather?"}]},
                {"role": "assistant", "content": null, "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Oslo\"}"}}]},
                {"role": "tool", "tool_call_id": "call_1", "content": "cold"}
            ],
            "tools": [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}],
            "tool_choice": "required",
            "parallel_tool_calls": false,
            "temperature": 0.5,
            "max_completion_tokens": 64,
            "stop": ["END"],
            "response_format": {"type": "json_schema", "json_schema": {"name": "a", "schema": {"type": "object"}}}
        })
        .to_string();
        let engine = Engine::new(crate::engine::Config::default());
        let read = read_chat_body(&engine, body.as_bytes())
            .expect("read")
            .request;
        let again = reread(body.as_bytes()).expect("read again");
        assert_eq!(again.model, read.model);
        assert_eq!(again.tools_offered, ["get_weather"]);
        assert_eq!(again.tool_choice, read.tool_choice);
        assert_eq!(again.parallel_tool_calls, Some(false));
        assert_eq!(again.settings, read.settings);
        assert_eq!(again.settings.max_tokens, Some(64));
        assert_eq!(again.output, read.output);
        assert!(again.output.is_some());
        assert_eq!(again.messages, read.messages);
        assert_eq!(again.messages.len(), 4);
        // What the server refuses, the journal does not make up.
        assert!(reread(br#"{"model": "m"}"#).is_none());
    }

    #[test]
    fn kinds_are_named_as_the_api_names_them() {
        for (text, kind) in [
            (r#""hot""#, "a string"),
            ("{}", "an object"),
            ("[1]", "an array"),
            ("true", "a boolean"),
            ("1.5", "a decimal"),
            ("3", "an integer"),
        ] {
            assert_eq!(json_kind(text), kind, "{text}");
        }
    }

    /// The scan reads a body as serde_json reads it, and takes none that
    /// serde_json refuses (those are read, and refused, by serde_json).
    #[test]
    fn the_scan_reads_what_serde_json_reads() {
        let engine = Engine::new(crate::engine::Config::default());
        let tools = r#"[{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}]"#;
        let with_tools = format!(
            r#"{{"model": "m", "messages": [{{"role": "user", "content": "hi"}}], "tools": {tools}, "stream": false}}"#
        );
        let serde = |text: &'static str| {
            Fields::from(serde_json::from_str::<ChatBody<'_>>(text).expect("a body"))
        };
        let text: &'static str = Box::leak(with_tools.into_boxed_str());
        for round in 0..2 {
            // The second time the tool list is one read before.
            assert_eq!(engine.chat_tools.kept_prefix(tools).is_some(), round == 1);
            let mut scanned = Fields::scan(&engine.chat_tools, text).expect("scanned");
            assert!(scanned.read_messages.take().is_some());
            assert_eq!(scanned, serde(text));
            read_chat_body(&engine, text.as_bytes()).expect("read");
        }
        for text in [
            r#" {"model": "m", "messages": [{"role": "developer", "content": "x"}], "temperature": 0.5, "stop": null, "store": true} "#,
            r#"{"model":"m","messages":"hi","seed":-1e3}"#,
            r#"{}"#,
        ] {
            let mut scanned = Fields::scan(&engine.chat_tools, text).expect("scanned");
            let read = scanned
                .messages
                .and_then(|m| serde_json::from_str::<Vec<Message>>(m).ok());
            assert_eq!(scanned.read_messages.take(), read, "{text}");
            assert_eq!(scanned, serde(text), "{text}");
        }
        for text in [
            r#"{"model": "m", "model": "n"}"#,
            r#"{"model": "m", "bogus": 1}"#,
            r#"{"model": "m",}"#,
            r#"[{"model": "m"}]"#,
            r#"{"model": "m"} x"#,
            r#"{"model": 01}"#,
            r#"{"mod\u0065l": "m"}"#,
        ] {
            assert!(Fields::scan(&engine.chat_tools, text).is_none(), "{text}");
        }
    }

    #[test]
    fn legacy_roles_become_ones_the_runtime_reads() {
        let mut developer = serde_json::json!({"role": "developer", "content": "be brief"});
        assert!(legacy_role(&mut developer));
        assert_eq!(developer["role"], "system");
        let mut user = serde_json::json!({"role": "user", "content": "hi"});
        assert!(!legacy_role(&mut user));
    }
}
