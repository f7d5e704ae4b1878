//! A small typed client of the workflow, over Restate's ingress.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use restate_sdk::context::RequestTarget;
use restate_sdk::ingress::{Client, ClientBuildError, ClientError, RequestExecutor};
use restate_sdk::prelude::Json;
use toolcall_runtime::{AgentRun, Decision, ToolCall};

use crate::wire::{DecisionInput, RunInput, RunOutput};

const WORKFLOW: &str = "ToolcallRun";

/// Starts runs, sends decisions and waits for answers, from any process
/// that reaches Restate's ingress (port 8080 by default). Plain HTTP; for
/// TLS, build a [`Client`] over your own [`RequestExecutor`] and use
/// [`RunClient::from_client`].
///
/// ```no_run
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// use toolcall_restate::{RunClient, RunInput};
/// use toolcall_runtime::Decision;
///
/// let client = RunClient::connect("http://127.0.0.1:8080")?;
/// client.start("run-42", RunInput::user("Summarise patient P-00042")).await?;
/// for call in client.pending("run-42").await? {
///     client.decide("run-42", &call.id, Decision::Approve).await?;
/// }
/// let run = client.wait("run-42").await?;
/// println!("{}", run.answer);
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct RunClient<E = HttpExecutor> {
    client: Client<E>,
}

impl RunClient<HttpExecutor> {
    /// A client of the ingress at `url` (`http://host:8080`).
    pub fn connect(url: &str) -> Result<Self, ClientBuildError> {
        let uri: http::Uri = url.parse().map_err(|_| ClientBuildError::RelativeBaseUri)?;
        Ok(RunClient {
            client: Client::new(uri, HttpExecutor::new())?,
        })
    }
}

impl<E: RequestExecutor> RunClient<E> {
    /// A client over an ingress client of your own (TLS, auth headers).
    pub fn from_client(client: Client<E>) -> Self {
        RunClient { client }
    }

    /// Start run `run_id` (once: a second start of the same id attaches
    /// to the first); returns at once.
    pub async fn start(&self, run_id: &str, input: RunInput) -> Result<(), ClientError> {
        self.client
            .request::<Json<RunInput>, Json<RunOutput>>(
                RequestTarget::workflow(WORKFLOW, run_id, "run"),
                Json(input),
            )
            .send()
            .await?;
        Ok(())
    }

    /// Wait for run `run_id`'s answer.
    pub async fn wait(&self, run_id: &str) -> Result<AgentRun, ClientError> {
        Ok(self.wait_output(run_id).await?.into_agent_run())
    }

    /// Wait for run `run_id`'s output as the workflow returned it.
    pub async fn wait_output(&self, run_id: &str) -> Result<RunOutput, ClientError> {
        let handle = self
            .client
            .lookup_workflow::<Json<RunOutput>>(WORKFLOW, run_id, None)
            .await?;
        Ok(handle.attach().await?.into_body().into_inner())
    }

    /// The calls of run `run_id` that wait for a decision, in call order.
    pub async fn pending(&self, run_id: &str) -> Result<Vec<ToolCall>, ClientError> {
        let response = self
            .client
            .request::<(), Json<Vec<ToolCall>>>(
                RequestTarget::workflow(WORKFLOW, run_id, "pending"),
                (),
            )
            .call()
            .await?;
        Ok(response.into_body()?.into_inner())
    }

    /// Decide about deferred call `call_id` of run `run_id`; the run goes
    /// on once every deferred call of its batch has a decision.
    pub async fn decide(
        &self,
        run_id: &str,
        call_id: &str,
        decision: Decision,
    ) -> Result<(), ClientError> {
        let input = DecisionInput {
            call_id: call_id.to_owned(),
            decision,
        };
        self.client
            .request::<Json<DecisionInput>, ()>(
                RequestTarget::workflow(WORKFLOW, run_id, "decide"),
                Json(input),
            )
            .call()
            .await?
            .into_body()
    }
}

/// The default transport: hyper's HTTP/1 client, plain HTTP.
#[derive(Debug, Clone)]
pub struct HttpExecutor(
    hyper_util::client::legacy::Client<
        hyper_util::client::legacy::connect::HttpConnector,
        Full<Bytes>,
    >,
);

impl HttpExecutor {
    /// A client with hyper's defaults (keep-alive connections).
    pub fn new() -> Self {
        HttpExecutor(
            hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
                .build_http(),
        )
    }
}

impl Default for HttpExecutor {
    fn default() -> Self {
        Self::new()
    }
}

/// Why an ingress exchange failed on the wire.
#[derive(Debug)]
pub struct TransportError(String);

impl std::fmt::Display for TransportError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for TransportError {}

impl RequestExecutor for HttpExecutor {
    type Error = TransportError;

    async fn execute(
        &self,
        request: http::Request<Bytes>,
    ) -> Result<http::Response<Bytes>, Self::Error> {
        let response = self
            .0
            .request(request.map(Full::new))
            .await
            .map_err(|e| TransportError(error_chain(&e)))?;
        let (parts, body) = response.into_parts();
        let body = body
            .collect()
            .await
            .map_err(|e| TransportError(error_chain(&e)))?
            .to_bytes();
        Ok(http::Response::from_parts(parts, body))
    }
}

/// An error and its causes, on one line.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
