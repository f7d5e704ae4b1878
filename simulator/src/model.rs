//! The in-process model: the runtime's `Model` trait over the engine, with
//! every chunk released at its simulated time.

use std::collections::VecDeque;
use std::time::Duration;

use futures_util::stream;
use tokio::time::Instant;

use crate::latency::wait_until;
use toolcall_runtime::{
    BoxFuture, ChatRequest, ChatResponse, EventStream, Model, ModelError, StreamEvent,
};

use crate::engine::Outcome;
use crate::journal::{Journal, Transport};
use crate::script::Script;
use crate::simulator::{SimBuilder, Simulator};

/// A simulated chat model, in process. Its timings follow tokio's clock, so
/// under a paused clock they are exact and cost no real time.
#[derive(Debug, Clone)]
pub struct SimModel {
    sim: Simulator,
}

impl SimModel {
    /// A model over this simulator.
    pub fn new(sim: Simulator) -> Self {
        SimModel { sim }
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

/// In process, replies carry Chat Completions ids.
const ID_PREFIX: &str = "chatcmpl-";

const DISCONNECTED: &str =
    "toolcall-sim: the connection closed in the middle of the reply (simulated disconnect)";

impl Model for SimModel {
    fn complete<'a>(
        &'a self,
        request: &'a ChatRequest,
    ) -> BoxFuture<'a, Result<ChatResponse, ModelError>> {
        Box::pin(async move {
            let plan =
                self.sim
                    .engine
                    .plan(request, false, Transport::InProcess, (ID_PREFIX, "call_"));
            match plan.outcome {
                Outcome::Error(error) => Err(error.to_model_error()),
                Outcome::Reply(reply) => {
                    if let Some(drop) = reply.drop_at() {
                        wait_until(plan.arrived + drop).await;
                        return Err(ModelError::transport_message(DISCONNECTED));
                    }
                    wait_until(plan.arrived + reply.end).await;
                    Ok(reply.response)
                }
            }
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
                        let plan =
                            engine.plan(request, true, Transport::InProcess, (ID_PREFIX, "call_"));
                        let mut queue = VecDeque::new();
                        match plan.outcome {
                            Outcome::Error(error) => {
                                queue.push_back((Duration::ZERO, Err(error.to_model_error())))
                            }
                            Outcome::Reply(reply) => {
                                let keep = reply.disconnect_after.unwrap_or(usize::MAX);
                                queue.extend(
                                    reply
                                        .chunks
                                        .iter()
                                        .take(keep)
                                        .map(|(at, e)| (*at, Ok(e.clone()))),
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
                wait_until(arrived + at).await;
                Some((item, State::Playing(arrived, queue)))
            },
        ))
    }
}
