//! The in-process model: the runtime's `Model` trait over the engine, with
//! every chunk released at its simulated time.

use std::collections::VecDeque;
use std::time::Duration;

use futures_util::stream;
use tokio::time::Instant;

use crate::engine::latency::wait_after;
use toolcall_runtime::{
    BoxFuture, ChatRequest, ChatResponse, EventStream, Model, ModelError, StreamEvent,
};

use std::borrow::Cow;

use crate::engine::journal::{Journal, Transport};
use crate::engine::script::Script;
use crate::engine::simulator::{SimBuilder, Simulator};
use crate::engine::{Asks, Offered, Outcome, ReplyPlan};
use crate::wire::anthropic::Anthropic;
use crate::wire::chat::Chat;
use crate::wire::gemini::{self, Gemini};
use crate::wire::responses;
use crate::wire::{self, ApiError, Format};

/// A simulated chat model, in process. Its timings follow tokio's clock, so
/// under a paused clock they are exact and cost no real time.
#[derive(Debug, Clone)]
pub struct SimModel {
    sim: Simulator,
    wire: Wire,
}

/// The wire format an in-process [`SimModel`] behaves as: its ids, the order
/// and kind of its stream events, and its error statuses are what that
/// format's model of the runtime yields against the HTTP server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Wire {
    /// OpenAI Chat Completions (the default): `chatcmpl-`/`call_` ids, a
    /// call complete when its arguments close.
    #[default]
    Chat,
    /// Anthropic Messages: `msg_`/`toolu_` ids, blocks one after another,
    /// each call done at its block's stop, 529 when overloaded.
    Anthropic,
    /// OpenAI Responses: `resp_`/`call_` ids, output items one after
    /// another, each call done at its `function_call_arguments.done`.
    Responses,
    /// Google Gemini: each call whole in its chunk (one chunk per call,
    /// or all in one with [`GeminiOptions::calls_in_one_chunk`](crate::GeminiOptions)),
    /// done when its part arrives, 503 when overloaded. Call ids are the
    /// engine's either way (the runtime's model assigns its own to calls
    /// that come without).
    Gemini,
}

impl Simulator {
    /// An in-process model over this simulator.
    pub fn model(&self) -> SimModel {
        SimModel::new(self.clone())
    }
}

impl SimBuilder {
    /// Build the simulator and an in-process model over it.
    pub fn model(self) -> SimModel {
        self.build().model()
    }
}

impl SimModel {
    /// A model over this simulator.
    pub fn new(sim: Simulator) -> Self {
        SimModel {
            sim,
            wire: Wire::Chat,
        }
    }

    /// What an in-process request asks beyond itself: its wire's endpoint,
    /// so fixtures that name one match in process too.
    fn asks(&self) -> Asks {
        use crate::engine::fixture::Endpoint;
        Asks {
            endpoint: Some(match self.wire {
                Wire::Chat => Endpoint::Chat,
                Wire::Anthropic => Endpoint::Messages,
                Wire::Responses => Endpoint::Responses,
                Wire::Gemini => Endpoint::Gemini,
            }),
            ..Asks::default()
        }
    }

    /// Behave as this wire format's model does (default [`Wire::Chat`]).
    pub fn wire(mut self, wire: Wire) -> Self {
        self.wire = wire;
        self
    }

    /// The prefixes of reply and call ids, and how an error's status reads.
    fn ids(&self) -> (&'static str, &'static str) {
        match self.wire {
            Wire::Chat => (Chat.id_prefix(), Chat.call_id_prefix()),
            Wire::Anthropic => (Anthropic.id_prefix(), Anthropic.call_id_prefix()),
            Wire::Responses => (responses::ID_PREFIX, Chat.call_id_prefix()),
            Wire::Gemini => (GEMINI.id_prefix(), GEMINI.call_id_prefix()),
        }
    }

    fn error(&self, error: &ApiError) -> ModelError {
        let status = match self.wire {
            Wire::Chat | Wire::Responses => Chat.status(error),
            Wire::Anthropic => Anthropic.status(error),
            Wire::Gemini => GEMINI.status(error),
        };
        ApiError {
            status,
            ..error.clone()
        }
        .to_model_error()
    }

    /// Configure a simulator for a model: `SimModel::builder().seed(1).model()`.
    pub fn builder() -> SimBuilder {
        SimBuilder::default()
    }

    /// Auto mode with this seed.
    pub fn auto(seed: u64) -> Self {
        Simulator::auto(seed).model()
    }

    /// Follow this script.
    pub fn scripted(script: Script) -> Self {
        Simulator::scripted(script).model()
    }

    /// The simulator behind the model.
    pub fn simulator(&self) -> &Simulator {
        &self.sim
    }

    /// The requests seen so far.
    pub fn journal(&self) -> Journal {
        self.sim.journal()
    }

    /// Panic unless the script was used up exactly.
    #[track_caller]
    pub fn assert_consumed(&self) {
        self.sim.assert_consumed();
    }
}

/// The Gemini format, for its ids and statuses.
const GEMINI: Gemini = Gemini {
    model: String::new(),
    stream: false,
};

const DISCONNECTED: &str =
    "toolcall-sim: the connection closed in the middle of the reply (simulated disconnect)";

impl SimModel {
    /// The stream events of a reply in this format, up to a disconnect
    /// after `keep` of its chunks.
    fn events(&self, reply: &ReplyPlan, keep: usize) -> Vec<(Duration, StreamEvent)> {
        match self.wire {
            Wire::Chat => reply.chunks.iter().take(keep).cloned().collect(),
            Wire::Anthropic | Wire::Responses => {
                let mut events = wire::block_events(reply);
                events.truncate(wire::kept(&events, keep));
                events
            }
            Wire::Gemini => {
                let mut events = gemini::events(reply, self.sim.engine.config.gemini);
                events.truncate(gemini::kept_events(reply, &events, keep));
                events
            }
        }
    }
}

impl Model for SimModel {
    fn complete<'a>(
        &'a self,
        request: &'a ChatRequest,
    ) -> BoxFuture<'a, Result<ChatResponse, ModelError>> {
        Box::pin(async move {
            let plan = self.sim.engine.plan(
                Cow::Borrowed(request),
                Offered::count(&request.tools),
                &self.asks(),
                false,
                Transport::InProcess,
                None,
                self.ids(),
            );
            match plan.outcome {
                Outcome::Error(error) => Err(self.error(&error)),
                Outcome::Reply(reply) => {
                    if let Some(drop) = reply.drop_at() {
                        wait_after(plan.arrived, self.sim.engine.real(drop)).await;
                        return Err(ModelError::transport_message(DISCONNECTED));
                    }
                    wait_after(plan.arrived, self.sim.engine.real(reply.end)).await;
                    Ok(reply.response)
                }
            }
        })
    }

    /// The provider whose API this model speaks, as its client would name
    /// it (`openai`, `anthropic`, `gcp.gemini`), so a simulated run's spans
    /// and metrics group as the real run's would; no server: it runs in
    /// process.
    fn endpoint(&self) -> toolcall_runtime::telemetry::ModelEndpoint {
        toolcall_runtime::telemetry::ModelEndpoint::new(match self.wire {
            Wire::Chat | Wire::Responses => "openai",
            Wire::Anthropic => "anthropic",
            Wire::Gemini => "gcp.gemini",
        })
    }

    fn stream<'a>(&'a self, request: &'a ChatRequest) -> EventStream<'a> {
        // Planned on first poll, as an HTTP request is sent when first awaited.
        enum State<'r> {
            Start(&'r ChatRequest),
            Playing(
                Instant,
                VecDeque<(Duration, Result<StreamEvent, ModelError>)>,
            ),
        }
        let engine = &self.sim.engine;
        Box::pin(stream::unfold(
            State::Start(request),
            move |state| async move {
                let (arrived, mut queue) = match state {
                    State::Playing(arrived, queue) => (arrived, queue),
                    State::Start(request) => {
                        let plan = engine.plan(
                            Cow::Borrowed(request),
                            Offered::count(&request.tools),
                            &self.asks(),
                            true,
                            Transport::InProcess,
                            None,
                            self.ids(),
                        );
                        let mut queue = VecDeque::new();
                        match plan.outcome {
                            Outcome::Error(error) => {
                                queue.push_back((Duration::ZERO, Err(self.error(&error))))
                            }
                            Outcome::Reply(reply) => {
                                let keep = reply.disconnect_after.unwrap_or(usize::MAX);
                                queue.extend(
                                    self.events(&reply, keep)
                                        .into_iter()
                                        .map(|(at, e)| (at, Ok(e))),
                                );
                                match reply.drop_at() {
                                    Some(drop) => queue.push_back((
                                        drop,
                                        Err(ModelError::transport_message(DISCONNECTED)),
                                    )),
                                    None => {
                                        if let Some(reason) = reply.response.finish_reason {
                                            queue.push_back((
                                                reply.end,
                                                Ok(StreamEvent::Finish(reason)),
                                            ));
                                        }
                                        if let Some(usage) = reply.response.usage {
                                            queue.push_back((
                                                reply.end,
                                                Ok(StreamEvent::Usage(usage)),
                                            ));
                                        }
                                    }
                                }
                            }
                        }
                        (plan.arrived, queue)
                    }
                };
                let (at, item) = queue.pop_front()?;
                // Absolute deadlines: no drift, and the stream ends when `complete` would.
                wait_after(arrived, engine.real(at)).await;
                Some((item, State::Playing(arrived, queue)))
            },
        ))
    }
}
