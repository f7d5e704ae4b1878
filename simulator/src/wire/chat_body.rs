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

use super::media::{is_base64, is_http_url};
use super::{ApiError, Parsed};
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
    // A struct also reads from a JSON array: only an object is a body.
    let object = body.trim_ascii_start().first() == Some(&b'{');
    // UTF-8 checked once for the whole body, not again for each raw part.
    let parsed = std::str::from_utf8(body)
        .ok()
        .map(serde_json::from_str::<ChatBody<'_>>);
    let fields = match parsed {
        Some(Ok(fields)) if object => fields,
        refused => {
            let unknown = match refused {
                Some(Err(error)) if object => unknown_field(&error),
                _ => None,
            };
            let error = match unknown {
                Some(name) => ApiError::unknown_parameter(
                    format!("Unrecognized request argument supplied: {name}"),
                    &name,
                    None,
                ),
                None => ApiError::invalid_json(),
            };
            engine.reject(&error, "", false);
            return Err(error);
        }
    };
    // The model and stream flag first: the journal names them in a refusal.
    let model = typed::<String>(fields.model, "model", "a string");
    let stream = typed::<bool>(fields.stream, "stream", "a boolean");
    let named = model.as_ref().ok().cloned().flatten().unwrap_or_default();
    let streamed = matches!(stream, Ok(Some(true)));
    read(engine, &fields, model, stream).inspect_err(|error| engine.reject(error, &named, streamed))
}

fn read(
    engine: &Engine,
    fields: &ChatBody<'_>,
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
    let messages = read_messages(messages)?;
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
        Some(raw) => engine
            .chat_tools
            .get_or_read(raw.get(), || read_tools(raw))?,
    };
    let tool_choice = match fields.tool_choice {
        None => None,
        Some(raw) => Some(serde_json::from_str::<ToolChoice>(raw.get()).map_err(|e| {
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
    raw: Option<&RawValue>,
    name: &str,
    expected: &str,
) -> Result<Option<T>, ApiError> {
    let Some(raw) = raw else { return Ok(None) };
    serde_json::from_str(raw.get())
        .map(Some)
        .map_err(|_| ApiError::invalid_type(name, expected, json_kind(raw.get())))
}

/// A whole number of 1 or more (counts and token limits).
fn positive(raw: Option<&RawValue>, name: &str) -> Result<Option<u32>, ApiError> {
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
fn read_messages(raw: &RawValue) -> Result<Vec<Message>, ApiError> {
    let invalid = |e: serde_json::Error| {
        ApiError::invalid_request(format!("Invalid request body: {e}"), None)
    };
    match serde_json::from_str::<Vec<Message>>(raw.get()) {
        Ok(messages) if messages.is_empty() => Err(ApiError::empty_array("messages")),
        Ok(messages) => check_media(&messages).map(|()| messages),
        Err(error) => {
            let Ok(mut values) = serde_json::from_str::<Vec<Value>>(raw.get()) else {
                return Err(ApiError::invalid_type(
                    "messages",
                    "an array of objects",
                    json_kind(raw.get()),
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

fn read_tools(raw: &RawValue) -> Result<Arc<Tools>, ApiError> {
    let tools: Vec<WireTool> = serde_json::from_str(raw.get()).map_err(|e| {
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
    raw: Option<&RawValue>,
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

    #[test]
    fn legacy_roles_become_ones_the_runtime_reads() {
        let mut developer = serde_json::json!({"role": "developer", "content": "be brief"});
        assert!(legacy_role(&mut developer));
        assert_eq!(developer["role"], "system");
        let mut user = serde_json::json!({"role": "user", "content": "hi"});
        assert!(!legacy_role(&mut user));
    }
}
