//! A tiny HTTP/1.1 client for the tests (hyper's low-level client), and a
//! `Model` over it so the agent loop can run against the server.
#![allow(dead_code)]

use std::net::SocketAddr;

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::{HeaderMap, Request};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio::time::Instant;
use toolcall_runtime::{
    BoxFuture, ChatRequest, ChatResponse, FinishReason, Model, ModelError, ToolCall, Usage,
};

/// What came back: status, headers, body frames with their arrival times,
/// and the error that cut the body short, if any.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: HeaderMap,
    pub frames: Vec<(Instant, Bytes)>,
    pub body_error: Option<String>,
}

impl Reply {
    pub fn body(&self) -> Vec<u8> {
        self.frames
            .iter()
            .flat_map(|(_, b)| b.iter().copied())
            .collect()
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body()).into_owned()
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body())
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The `data:` payloads of an SSE body, in order.
    pub fn sse_data(&self) -> Vec<String> {
        self.text()
            .split("\n\n")
            .filter(|event| !event.is_empty())
            .map(|event| {
                event
                    .strip_prefix("data: ")
                    .unwrap_or_else(|| panic!("not an SSE data line: {event:?}"))
                    .to_owned()
            })
            .collect()
    }
}

/// Send one request on a fresh connection. `Err` when no response head came.
pub async fn send(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: impl Into<Bytes>,
) -> Result<Reply, String> {
    let stream = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| e.to_string())?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    let mut request = Request::builder()
        .method(method)
        .uri(path)
        .header("host", addr.to_string());
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let request = request
        .body(Full::new(body.into()))
        .map_err(|e| e.to_string())?;
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| e.to_string())?;
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let mut body = response.into_body();
    let mut frames = Vec::new();
    let mut body_error = None;
    while let Some(frame) = body.frame().await {
        match frame {
            Ok(frame) => {
                if let Ok(data) = frame.into_data() {
                    frames.push((Instant::now(), data));
                }
            }
            Err(e) => {
                body_error = Some(e.to_string());
                break;
            }
        }
    }
    Ok(Reply {
        status,
        headers,
        frames,
        body_error,
    })
}

/// POST a JSON body to /v1/chat/completions.
pub async fn post_chat(addr: SocketAddr, body: &Value) -> Result<Reply, String> {
    send(
        addr,
        "POST",
        "/v1/chat/completions",
        &[("content-type", "application/json")],
        body.to_string(),
    )
    .await
}

/// A request body with one user message and these tools.
pub fn chat_body(tools: &[Value]) -> Value {
    let mut body = json!({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]});
    if !tools.is_empty() {
        body["tools"] = Value::Array(tools.to_vec());
    }
    body
}

/// An OpenAI function tool definition.
pub fn tool_def(name: &str, parameters: Value) -> Value {
    json!({"type": "function", "function": {"name": name, "description": name, "parameters": parameters}})
}

/// A `Model` that talks to the simulator's HTTP server (plain JSON).
pub struct HttpModel {
    pub addr: SocketAddr,
}

impl Model for HttpModel {
    fn complete<'a>(
        &'a self,
        request: &'a ChatRequest,
    ) -> BoxFuture<'a, Result<ChatResponse, ModelError>> {
        Box::pin(async move {
            let body = serde_json::to_value(request)
                .map_err(|e| ModelError::InvalidResponse(e.to_string()))?;
            let reply = post_chat(self.addr, &body)
                .await
                .map_err(ModelError::transport_message)?;
            let value = reply.json();
            if reply.status != 200 {
                return Err(ModelError::Api {
                    status: reply.status,
                    message: value["error"]["message"].as_str().unwrap_or("").to_owned(),
                    code: value["error"]["code"].as_str().map(str::to_owned),
                });
            }
            Ok(parse_completion(&value))
        })
    }
}

/// Read a `chat.completion` body into the runtime's response.
pub fn parse_completion(value: &Value) -> ChatResponse {
    let message = &value["choices"][0]["message"];
    let tool_calls = message["tool_calls"]
        .as_array()
        .map(|calls| {
            calls
                .iter()
                .map(|c| {
                    ToolCall::new(
                        c["id"].as_str().unwrap_or(""),
                        c["function"]["name"].as_str().unwrap_or(""),
                        c["function"]["arguments"].as_str().unwrap_or(""),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    let finish_reason: Option<FinishReason> =
        serde_json::from_value(value["choices"][0]["finish_reason"].clone()).ok();
    let usage: Option<Usage> = serde_json::from_value(value["usage"].clone()).ok();
    ChatResponse {
        content: message["content"].as_str().map(str::to_owned),
        tool_calls,
        finish_reason,
        usage,
    }
}

/// The four wire formats, each a model over the same server with this key.
pub fn models(server: &toolcall_sim::Server, key: &str) -> Vec<(&'static str, Box<dyn Model>)> {
    use toolcall_runtime::{AnthropicModel, GeminiModel, OpenAiModel, OpenAiResponsesModel};
    let root = format!("http://{}", server.addr());
    vec![
        (
            "chat",
            Box::new(
                OpenAiModel::builder()
                    .base_url(server.base_url())
                    .api_key(key)
                    .max_retries(0)
                    .build()
                    .expect("chat"),
            ),
        ),
        (
            "responses",
            Box::new(
                OpenAiResponsesModel::builder()
                    .base_url(server.base_url())
                    .api_key(key)
                    .max_retries(0)
                    .build()
                    .expect("responses"),
            ),
        ),
        (
            "anthropic",
            Box::new(
                AnthropicModel::builder()
                    .base_url(root.clone())
                    .api_key(key)
                    .max_retries(0)
                    .build()
                    .expect("anthropic"),
            ),
        ),
        (
            "gemini",
            Box::new(
                GeminiModel::builder()
                    .base_url(root)
                    .api_key(key)
                    .max_retries(0)
                    .build()
                    .expect("gemini"),
            ),
        ),
    ]
}

/// One request with a JSON body (none for `Value::Null`), in a session
/// when one is named (`x-sim-session`).
pub async fn call(
    addr: SocketAddr,
    method: &str,
    path: &str,
    session: Option<&str>,
    body: &Value,
) -> Reply {
    let mut headers = vec![("content-type", "application/json")];
    if let Some(id) = session {
        headers.push(("x-sim-session", id));
    }
    let body = if body.is_null() {
        String::new()
    } else {
        body.to_string()
    };
    send(addr, method, path, &headers, body)
        .await
        .expect("a reply")
}
