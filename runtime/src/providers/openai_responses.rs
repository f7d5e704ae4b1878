//! The OpenAI Responses model over HTTP (`POST /v1/responses`), on
//! async-openai's client and its Responses types.
//!
//! # Why async-openai's types
//!
//! Its `types::responses` module (feature `response-types`) covers the whole
//! request (`CreateResponse`: instructions, input items, function tools with
//! `strict`, `tool_choice`, `parallel_tool_calls`, `previous_response_id`),
//! the response and every stream event, and matches the API reference and
//! the official SDK's shapes; writing our own would mean keeping a second
//! copy of them current. Two gaps are covered here: its event enum has no
//! catch-all, so an event of a type it does not know fails to parse; such an
//! event is skipped unless it is one we read (calls, text, the final
//! events). And a stream that ends without `response.completed` (or
//! `incomplete`) is an error, never a final answer.
//!
//! # Chaining with `previous_response_id`
//!
//! The [`Model`] trait sees the whole transcript on every request, which is
//! what [`Agent`](crate::Agent) sends. With
//! [`chain_responses`](OpenAiResponsesModelBuilder::chain_responses) the
//! model remembers, for each response it received, the transcript it
//! answered plus its reply (the assistant message the agent appends). A
//! later request whose transcript starts with one of those is sent as
//! `previous_response_id` and only the messages after it (the tool results,
//! a new user message); any other transcript is sent whole. The
//! `instructions` (leading system messages) are sent every time, as the API
//! does not carry them over. The model keeps the last 32 such links, so
//! several conversations can share one model; a server that no longer has a
//! response (`previous_response_not_found`) gets the whole transcript
//! instead.

use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use async_openai::error::OpenAIError;
use async_openai::types::responses as oa;
use futures_util::stream::{self, StreamExt};

pub mod convert;

use self::convert::{EventMapper, request_from, skippable};
use super::http::{HttpSettings, http_builder_methods, open_then};
use super::openai_client::{OpenAiClient, classify};
use crate::message::{ChatRequest, ChatResponse, Message};
use crate::model::{EventStream, Model, ModelError, StreamEvent};
use crate::telemetry::ModelEndpoint;
use crate::telemetry::spans;
use crate::tool::BoxFuture;

/// How many conversations a chaining model remembers.
const CHAIN_LINKS: usize = 32;

/// A model served by the OpenAI Responses API, or any server speaking it
/// (the simulator's `/v1/responses`), through async-openai.
///
/// - Base URL and key from the builder, else `OPENAI_BASE_URL` (default
///   `https://api.openai.com/v1`) and `OPENAI_API_KEY`.
/// - Leading system messages are the `instructions`; the rest of the
///   transcript is input items (`function_call` and `function_call_output`
///   for tool calls and their results).
/// - Streams map `response.output_item.added` (a function call) to a call's
///   header, `response.function_call_arguments.delta` to its fragments and
///   `.done` to [`StreamEvent::ToolCallDone`], so eager dispatch starts each
///   call there; `response.completed` gives the finish reason and usage.
/// - Retries, timeouts and errors as the Chat Completions model's (one shared
///   client): 429 and 5xx answers and failed connections are retried with
///   bounded backoff honouring `Retry-After` / `retry-after-ms`; each attempt
///   has a timeout (for streams: until the response starts, then between
///   events).
/// - Optionally chains requests with `previous_response_id` (see the module
///   docs).
/// - The API key is never printed by `Debug` nor logged.
pub struct OpenAiResponsesModel {
    inner: OpenAiClient,
    chain: Option<Chain>,
}

impl fmt::Debug for OpenAiResponsesModel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut debug = f.debug_struct("OpenAiResponsesModel");
        self.inner.debug_fields(&mut debug);
        debug
            .field("chain_responses", &self.chain.is_some())
            .finish()
    }
}

/// Builds an [`OpenAiResponsesModel`]; every setting has a default.
#[derive(Clone, Debug, Default)]
pub struct OpenAiResponsesModelBuilder {
    settings: HttpSettings,
    chain: bool,
}

impl OpenAiResponsesModelBuilder {
    http_builder_methods!(
        "https://api.openai.com/v1",
        "OPENAI_BASE_URL",
        "OPENAI_API_KEY",
        "gpt-4o-mini"
    );

    /// Send a transcript that continues an earlier response as
    /// `previous_response_id` plus the new messages, instead of whole
    /// (responses are then stored: `store: true`). Default: off.
    pub fn chain_responses(mut self, yes: bool) -> Self {
        self.chain = yes;
        self
    }

    /// The model, or [`ModelError::Config`] when there is no API key, the
    /// base URL is not an http(s) URL, or a header value is not valid.
    pub fn build(self) -> Result<OpenAiResponsesModel, ModelError> {
        Ok(OpenAiResponsesModel {
            inner: OpenAiClient::build(&self.settings)?,
            chain: self.chain.then(Chain::default),
        })
    }
}

impl OpenAiResponsesModel {
    /// Start building a model.
    pub fn builder() -> OpenAiResponsesModelBuilder {
        OpenAiResponsesModelBuilder::default()
    }

    /// A model configured from `OPENAI_BASE_URL` and `OPENAI_API_KEY`, with
    /// the default settings.
    pub fn from_env() -> Result<Self, ModelError> {
        Self::builder().build()
    }

    /// The API's base URL.
    pub fn base_url(&self) -> &str {
        &self.inner.base_url
    }

    /// The model name used when a request leaves its own empty.
    pub fn default_model(&self) -> &str {
        &self.inner.default_model
    }

    /// The underlying async-openai client, for the API calls this type does
    /// not cover. Its requests go through the same transport but are not
    /// retried.
    pub fn client(&self) -> &async_openai::Client<async_openai::config::OpenAIConfig> {
        &self.inner.client
    }

    fn body(&self, request: &ChatRequest, link: Option<&Link>, stream: bool) -> oa::CreateResponse {
        let mut body = request_from(request, link.map_or(0, |l| l.transcript.len()));
        if body.model.is_none() {
            body.model = Some(self.inner.default_model.clone());
        }
        if self.chain.is_some() {
            body.store = Some(true);
        }
        body.previous_response_id = link.map(|l| l.response_id.clone());
        body.stream = stream.then_some(true);
        body
    }

    /// Sends `request` with `send` (and the shared retries), chained when a
    /// link fits; sends it whole when the server lost the response.
    async fn send_chained<T, F, Fut>(
        &self,
        request: &ChatRequest,
        stream: bool,
        send: F,
    ) -> Result<T, ModelError>
    where
        F: Fn(oa::CreateResponse) -> Fut,
        Fut: Future<Output = Result<T, OpenAIError>>,
    {
        // A setting Responses lacks is refused before any attempt.
        convert::settings_into(request, &mut oa::CreateResponse::default())?;
        let link = self.chain.as_ref().and_then(|c| c.find(&request.messages));
        let send = &send;
        let attempt = |link: Option<&Link>| {
            let body = self.body(request, link, stream);
            self.inner.send(move || send(body.clone()))
        };
        match (attempt(link.as_ref()).await, &link) {
            (Err(error), Some(link)) if lost_response(&error) => {
                if let Some(chain) = &self.chain {
                    chain.forget(&link.response_id);
                }
                attempt(None).await
            }
            (result, _) => result,
        }
    }

    /// Remember that `response` answered this transcript.
    fn remember(&self, messages: &[Message], response: &oa::Response, reply: &ChatResponse) {
        spans::response_meta(&response.id, &response.model);
        if let Some(chain) = &self.chain {
            let mut transcript = messages.to_vec();
            transcript.push(reply.to_message());
            chain.remember(Link {
                transcript,
                response_id: response.id.clone(),
            });
        }
    }
}

/// The server no longer has the response a chained request named.
fn lost_response(error: &ModelError) -> bool {
    matches!(error, ModelError::Api { status: 400 | 404, code: Some(code), .. } if code == "previous_response_not_found")
}

impl Model for OpenAiResponsesModel {
    fn endpoint(&self) -> ModelEndpoint {
        ModelEndpoint::at("openai", &self.inner.base_url)
    }

    fn complete<'a>(
        &'a self,
        request: &'a ChatRequest,
    ) -> BoxFuture<'a, Result<ChatResponse, ModelError>> {
        Box::pin(async move {
            let response = self
                .send_chained(request, false, |body| async move {
                    self.inner.client.responses().create(body).await
                })
                .await?;
            let reply = ChatResponse::try_from(&response)?;
            self.remember(&request.messages, &response, &reply);
            Ok(reply)
        })
    }

    fn stream<'a>(&'a self, request: &'a ChatRequest) -> EventStream<'a> {
        let opened = self.send_chained(request, true, move |body| async move {
            self.inner.client.responses().create_stream(body).await
        });
        let idle = self.inner.timeout;
        open_then(opened, move |events| self.events(events, request, idle))
    }
}

impl OpenAiResponsesModel {
    /// The events of an open stream; an event that does not come within
    /// `idle`, an error, or an end without `response.completed` ends it with
    /// an error.
    fn events<'a>(
        &'a self,
        events: oa::ResponseStream,
        request: &'a ChatRequest,
        idle: Duration,
    ) -> impl futures_util::Stream<Item = Result<StreamEvent, ModelError>> + Send + 'a {
        let state = Some((events, EventMapper::new()));
        stream::unfold(state, move |state| async move {
            let (mut events, mut mapper) = state?;
            loop {
                let next = match tokio::time::timeout(idle, events.next()).await {
                    Err(_) => Err(ModelError::Timeout(idle)),
                    Ok(None) => match mapper.finish() {
                        Ok(()) => return None,
                        Err(error) => Err(error),
                    },
                    Ok(Some(Err(OpenAIError::JSONDeserialize(_, content))))
                        if skippable(&content) =>
                    {
                        continue;
                    }
                    Ok(Some(Err(error))) => Err(classify(error, idle).error),
                    Ok(Some(Ok(event))) => mapper.push(event),
                };
                return Some(match next {
                    Ok(out) => {
                        if out.iter().any(|e| matches!(e, StreamEvent::Finish(_)))
                            && let Some(response) = mapper.finished()
                            && let Ok(reply) = ChatResponse::try_from(response)
                        {
                            self.remember(&request.messages, response, &reply);
                        }
                        (out.into_iter().map(Ok).collect(), Some((events, mapper)))
                    }
                    Err(error) => (vec![Err(error)], None),
                });
            }
        })
        .flat_map(stream::iter)
    }
}

// ---- chaining -------------------------------------------------------------------

/// A response and the transcript it completed (the request's messages and
/// the reply as the assistant message).
#[derive(Debug, Clone)]
struct Link {
    transcript: Vec<Message>,
    response_id: String,
}

/// The last [`CHAIN_LINKS`] links, most recently used last.
#[derive(Debug, Default)]
struct Chain {
    links: Mutex<VecDeque<Link>>,
}

impl Chain {
    fn lock(&self) -> MutexGuard<'_, VecDeque<Link>> {
        self.links
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The longest link whose transcript `messages` continues (with at
    /// least one new message).
    fn find(&self, messages: &[Message]) -> Option<Link> {
        let mut links = self.lock();
        let at = links
            .iter()
            .enumerate()
            .filter(|(_, l)| {
                l.transcript.len() < messages.len() && messages.starts_with(&l.transcript)
            })
            .max_by_key(|(_, l)| l.transcript.len())
            .map(|(at, _)| at)?;
        let link = links.remove(at)?;
        links.push_back(link.clone());
        Some(link)
    }

    fn remember(&self, link: Link) {
        let mut links = self.lock();
        links.retain(|l| l.transcript != link.transcript);
        if links.len() >= CHAIN_LINKS {
            links.pop_front();
        }
        links.push_back(link);
    }

    fn forget(&self, response_id: &str) {
        self.lock().retain(|l| l.response_id != response_id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::call::ToolCall;

    fn link(transcript: Vec<Message>, id: &str) -> Link {
        Link {
            transcript,
            response_id: id.into(),
        }
    }

    #[test]
    fn the_longest_continued_transcript_is_found() {
        let chain = Chain::default();
        let user = Message::user("hi");
        let calls = Message::assistant(None, vec![ToolCall::new("c", "f", "{}")]);
        let result = Message::tool_result("c", "1");
        let answer = Message::assistant(Some("done".into()), Vec::new());
        chain.remember(link(vec![user.clone(), calls.clone()], "r1"));
        chain.remember(link(
            vec![user.clone(), calls.clone(), result.clone(), answer.clone()],
            "r2",
        ));
        let next = vec![
            user.clone(),
            calls.clone(),
            result.clone(),
            answer,
            Message::user("more"),
        ];
        assert_eq!(chain.find(&next).map(|l| l.response_id), Some("r2".into()));
        let second = vec![user.clone(), calls.clone(), result];
        assert_eq!(
            chain.find(&second).map(|l| l.response_id),
            Some("r1".into())
        );
        // The transcript itself (nothing new) and another conversation: none.
        assert!(chain.find(&[user.clone(), calls]).is_none());
        assert!(chain.find(&[Message::user("other"), user]).is_none());
        chain.forget("r1");
        assert!(chain.find(&second).is_none());
    }

    #[test]
    fn the_chain_is_bounded() {
        let chain = Chain::default();
        for i in 0..CHAIN_LINKS + 5 {
            chain.remember(link(vec![Message::user(format!("{i}"))], &format!("r{i}")));
        }
        assert_eq!(chain.lock().len(), CHAIN_LINKS);
        let oldest = vec![Message::user("0"), Message::user("next")];
        assert!(chain.find(&oldest).is_none(), "the oldest link was dropped");
    }

    #[test]
    fn configuration_errors_and_debug() {
        let bad_url = OpenAiResponsesModel::builder()
            .base_url("ftp://x")
            .api_key("k")
            .build();
        assert!(matches!(bad_url, Err(ModelError::Config(m)) if m.contains("ftp://x")));
        let model = OpenAiResponsesModel::builder()
            .base_url("http://localhost:1/v1/")
            .api_key("sk-secret")
            .chain_responses(true)
            .build()
            .expect("a model");
        assert_eq!(model.base_url(), "http://localhost:1/v1");
        let debug = format!("{model:?}");
        assert!(!debug.contains("sk-secret") && debug.contains("chain_responses: true"));
    }
}
