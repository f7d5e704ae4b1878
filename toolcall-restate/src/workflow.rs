//! The agent loop as a Restate workflow keyed by run id.

use std::sync::Arc;
use std::time::Duration;

use restate_sdk::context::RequestTarget;
use restate_sdk::prelude::*;
use toolcall_runtime::plan::BatchPlan;
use toolcall_runtime::{
    Approval, Batch, CallResult, ChatRequest, Decision, DispatchOptions, Message, Model, Outcome,
    Round, ToolCall, ToolChoice, ToolSet, Usage,
};

use crate::wire::{CallInput, CallOutput, DecisionInput, ModelReply, RunInput, RunOutput, now_us};

/// The service and handler names the workflow calls tools by.
const TOOLS_SERVICE: &str = "ToolcallTools";
const TOOLS_HANDLER: &str = "call";
/// The workflow's state key listing the calls that wait for a decision.
const PENDING: &str = "pending";

/// The agent loop as a Restate workflow (`ToolcallRun`), one instance per
/// run id. Configure it as you would an [`Agent`](toolcall_runtime::Agent).
///
/// Each model request runs inside `ctx.run`, so its reply is journaled and
/// never asked again; each batch is fanned out as one `ToolcallTools/call`
/// invocation per call (all at once, within the batch's schedule: approval,
/// exclusive tools, resource keys, per-tool and per-batch limits), and the
/// results are put back in call order. Calls the approval policy defers
/// wait for a durable promise per call (`decision:<call id>`), resolved by
/// the `decide` handler from any process; nothing runs meanwhile, and the
/// worker may stop and start again.
///
/// The transcript and rounds have the shape an in-process run gives; the
/// timings are real ones read once and journaled. `batch_timeout` is not
/// applied (a durable call is not cancelled half way); use per-call timeouts.
/// Streaming modes are not offered: a journaled reply is a whole reply.
#[derive(Clone)]
pub struct ToolcallRun {
    agent: Arc<Config>,
}

struct Config {
    model: Arc<dyn Model>,
    tools: ToolSet,
    model_name: String,
    system: Option<String>,
    max_rounds: usize,
    tool_choice: Option<ToolChoice>,
    parallel_tool_calls: Option<bool>,
    dispatch: DispatchOptions,
    approval: Option<Arc<dyn Approval>>,
}

impl ToolcallRun {
    /// The workflow over this model and these tools (the tools give the
    /// definitions sent to the model and the schedule; the calls run in
    /// `ToolcallTools`, wherever it is deployed).
    pub fn new(model: impl Model + 'static, tools: ToolSet) -> Self {
        ToolcallRun {
            agent: Arc::new(Config {
                model: Arc::new(model),
                tools,
                model_name: "gpt-4o-mini".to_owned(),
                system: None,
                max_rounds: 8,
                tool_choice: None,
                parallel_tool_calls: None,
                dispatch: DispatchOptions::default(),
                approval: None,
            }),
        }
    }

    fn config(&mut self) -> &mut Config {
        // Set up before the workflow is served, so never shared yet.
        Arc::get_mut(&mut self.agent).unwrap_or_else(|| unreachable!("configured before use"))
    }

    /// The model name sent in requests.
    pub fn model_name(mut self, name: impl Into<String>) -> Self {
        self.config().model_name = name.into();
        self
    }

    /// The system prompt.
    pub fn system(mut self, prompt: impl Into<String>) -> Self {
        self.config().system = Some(prompt.into());
        self
    }

    /// The most model requests in one run (default 8).
    pub fn max_rounds(mut self, rounds: usize) -> Self {
        self.config().max_rounds = rounds;
        self
    }

    /// `tool_choice` for every request.
    pub fn tool_choice(mut self, choice: ToolChoice) -> Self {
        self.config().tool_choice = Some(choice);
        self
    }

    /// `parallel_tool_calls` for every request.
    pub fn parallel_tool_calls(mut self, yes: bool) -> Self {
        self.config().parallel_tool_calls = Some(yes);
        self
    }

    /// How each round's calls are scheduled and limited.
    pub fn dispatch_options(mut self, options: DispatchOptions) -> Self {
        self.config().dispatch = options;
        self
    }

    /// Consult `policy` before each call; deferred calls wait for a
    /// decision sent to the run. The policy must decide by the call alone
    /// (a replay asks it again).
    pub fn approval(mut self, policy: impl Approval + 'static) -> Self {
        self.config().approval = Some(Arc::new(policy));
        self
    }
}

impl Config {
    /// The request for a conversation, as [`Agent`](toolcall_runtime::Agent) builds it.
    fn request(&self, messages: Vec<Message>) -> ChatRequest {
        let mut request = ChatRequest::new(self.model_name.clone(), messages);
        request.tools = self.tools.definitions().to_vec();
        if !request.tools.is_empty() {
            request.tool_choice = self.tool_choice.clone();
            request.parallel_tool_calls = self.parallel_tool_calls;
        }
        request
    }

    fn call_input(&self, call: &ToolCall) -> Json<CallInput> {
        Json(CallInput {
            call: call.clone(),
            call_timeout_us: self
                .dispatch
                .call_timeout
                .map(|d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX)),
            max_argument_bytes: self.dispatch.max_argument_bytes,
        })
    }
}

fn terminal(message: impl Into<String>) -> HandlerError {
    TerminalError::new(message.into()).into()
}

fn micros(us: u64) -> Duration {
    Duration::from_micros(us)
}

#[restate_sdk::workflow]
impl ToolcallRun {
    /// The run: model, calls, results... until an answer or the round limit.
    #[handler]
    async fn run(
        &self,
        ctx: WorkflowContext<'_>,
        input: Json<RunInput>,
    ) -> Result<Json<RunOutput>, HandlerError> {
        let agent = &*self.agent;
        let mut started_us = None;
        let mut messages = Vec::new();
        if let Some(system) = &agent.system {
            messages.push(Message::system(system.clone()));
        }
        messages.extend(input.into_inner().messages);
        let mut rounds: Vec<Round> = Vec::new();
        let mut usage = Usage::default();
        while rounds.len() < agent.max_rounds {
            let request = agent.request(messages.clone());
            let model = agent.model.clone();
            let reply = ctx
                .run(|| async move { Ok(Json(ModelReply::ask(&*model, &request).await)) })
                .name(format!("model round {}", rounds.len() + 1))
                .await?
                .into_inner();
            let started_us = *started_us.get_or_insert(reply.asked_at_us);
            if let Some(error) = reply.error {
                return Err(terminal(format!(
                    "the model failed in round {}: {error}",
                    rounds.len() + 1
                )));
            }
            if let Some(u) = reply.usage {
                usage += u;
            }
            let model_time = reply.elapsed();
            messages.push(Message::assistant(
                reply.content.clone(),
                reply.tool_calls.clone(),
            ));
            if reply.tool_calls.is_empty() {
                rounds.push(Round::new(model_time, Vec::new(), None, model_time));
                let ended_us = reply.answered_at_us;
                return Ok(Json(RunOutput {
                    answer: reply.content.unwrap_or_default(),
                    transcript: messages,
                    rounds,
                    usage,
                    elapsed_us: ended_us.saturating_sub(started_us),
                }));
            }
            let batch = self
                .batch(&ctx, &reply.tool_calls, reply.answered_at_us)
                .await?;
            messages.extend(batch.results.iter().map(Message::tool));
            let elapsed = model_time + batch.makespan;
            rounds.push(Round::new(
                model_time,
                reply.tool_calls,
                Some(batch),
                elapsed,
            ));
        }
        Err(terminal(format!(
            "no final answer after {} rounds",
            agent.max_rounds
        )))
    }

    /// Decide about a deferred call of the run (from any process, through
    /// Restate's ingress or [`RunClient::decide`](crate::RunClient::decide)).
    #[handler]
    async fn decide(
        &self,
        ctx: SharedWorkflowContext<'_>,
        input: Json<DecisionInput>,
    ) -> Result<(), HandlerError> {
        let DecisionInput { call_id, decision } = input.into_inner();
        if decision == Decision::Defer {
            return Err(terminal(
                "`defer` is not a decision: the call already waits for one",
            ));
        }
        ctx.resolve_promise(&promise_key(&call_id), Json(decision));
        Ok(())
    }

    /// The calls that wait for a decision now, in call order.
    #[handler]
    async fn pending(
        &self,
        ctx: SharedWorkflowContext<'_>,
    ) -> Result<Json<Vec<ToolCall>>, HandlerError> {
        let pending: Option<Json<Vec<ToolCall>>> = ctx.get(PENDING).await?;
        Ok(pending.unwrap_or_else(|| Json(Vec::new())))
    }
}

fn promise_key(call_id: &str) -> String {
    format!("decision:{call_id}")
}

impl ToolcallRun {
    /// One batch: fanned out, deferred calls decided and run, results in
    /// call order. It starts when the model's reply is in (`start_us`).
    async fn batch(
        &self,
        ctx: &WorkflowContext<'_>,
        calls: &[ToolCall],
        start_us: u64,
    ) -> Result<Batch, HandlerError> {
        let agent = &*self.agent;
        let approval = agent.approval.as_deref();
        let plan = BatchPlan::new(&agent.tools, calls, &agent.dispatch, approval);
        let mut results = self.fan_out(ctx, plan, start_us).await?;
        let makespan = results
            .iter()
            .map(CallResult::ended)
            .max()
            .unwrap_or_default();
        let deferred: Vec<usize> = (0..results.len())
            .filter(|&i| results[i].outcome == Outcome::Deferred)
            .collect();
        if !deferred.is_empty() {
            let waiting: Vec<ToolCall> = deferred.iter().map(|&i| calls[i].clone()).collect();
            ctx.set(PENDING, Json(waiting));
            let mut to_run = Vec::new();
            let mut slots = Vec::new();
            for &index in &deferred {
                let call = &calls[index];
                let key = promise_key(&call.id);
                let decision: Json<Decision> = ctx.promise(&key).await?;
                match decision.into_inner() {
                    Decision::Approve => to_run.push(call.clone()),
                    Decision::Rewrite(arguments) => {
                        to_run.push(ToolCall::new(call.id.clone(), call.name.clone(), arguments));
                    }
                    Decision::Deny(reason) => {
                        results[index] = CallResult::new(
                            call.id.clone(),
                            call.name.clone(),
                            Outcome::Denied,
                            format!("the call was denied: {reason}"),
                        );
                        continue;
                    }
                    // Refused by `decide`; a promise resolved otherwise leaves the call denied.
                    _ => {
                        results[index] = CallResult::new(
                            call.id.clone(),
                            call.name.clone(),
                            Outcome::Denied,
                            "the call was denied: no decision it could act on",
                        );
                        continue;
                    }
                }
                slots.push(index);
            }
            ctx.clear(PENDING);
            if !to_run.is_empty() {
                let resumed_us = ctx.run(|| async { Ok(now_us()) }).name("resume").await?;
                let plan = BatchPlan::new(&agent.tools, &to_run, &agent.dispatch, None);
                let ran = self.fan_out(ctx, plan, resumed_us).await?;
                for (index, result) in slots.into_iter().zip(ran) {
                    results[index] = result;
                }
            }
        }
        Ok(Batch::new(results, makespan))
    }

    /// Run a plan's calls as durable invocations, each as soon as the
    /// schedule allows; one result per call in call order, timed from
    /// `start_us`.
    async fn fan_out(
        &self,
        ctx: &WorkflowContext<'_>,
        mut plan: BatchPlan<'_>,
        start_us: u64,
    ) -> Result<Vec<CallResult>, HandlerError> {
        let agent = &*self.agent;
        let mut running = DurableFuturesUnordered::new();
        let mut index_of = Vec::new();
        loop {
            for index in plan.start() {
                let future = ctx
                    .request::<Json<CallInput>, Json<CallOutput>>(
                        RequestTarget::service(TOOLS_SERVICE, TOOLS_HANDLER),
                        agent.call_input(plan.call(index)),
                    )
                    .call();
                let slot = running.push(future);
                if index_of.len() <= slot {
                    index_of.resize(slot + 1, usize::MAX);
                }
                index_of[slot] = index;
            }
            let Some((slot, output)) = running.next().await? else {
                break;
            };
            let CallOutput {
                result,
                started_at_us,
            } = output?.into_inner();
            let started = micros(started_at_us.saturating_sub(start_us));
            let elapsed = result.elapsed;
            plan.finished(index_of[slot], result.timed(started, elapsed));
        }
        Ok(plan.into_results())
    }
}
