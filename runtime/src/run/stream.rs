//! A run as a stream of its events.

use std::pin::Pin;
use std::task::{Context, Poll};

use futures_util::Stream;

use crate::agent::{AgentError, AgentRun};
use crate::run::{Emitter, RunCancel, RunEvent};
use crate::tool::BoxFuture;

/// An agent run as a stream of [`RunEvent`]s, ending with
/// [`RunEvent::End`]; from [`crate::Agent::run_stream`] and its siblings.
/// The run makes progress only while the stream is polled, and dropping
/// the stream cancels it, with every call still running.
#[must_use = "a run does nothing unless its stream is polled"]
pub struct RunStream<'a> {
    run: Option<BoxFuture<'a, Result<AgentRun, AgentError>>>,
    events: Emitter,
    cancel: RunCancel,
}

impl std::fmt::Debug for RunStream<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunStream")
            .field("finished", &self.run.is_none())
            .finish_non_exhaustive()
    }
}

impl<'a> RunStream<'a> {
    pub(crate) fn new(
        run: BoxFuture<'a, Result<AgentRun, AgentError>>,
        events: Emitter,
        cancel: RunCancel,
    ) -> Self {
        RunStream {
            run: Some(run),
            events,
            cancel,
        }
    }

    /// A handle that cancels this run from outside (see [`RunCancel`]).
    pub fn cancel_handle(&self) -> RunCancel {
        self.cancel.clone()
    }

    /// Drive the run to its end, passing each event before the end to
    /// `watch`: what [`crate::Agent::run`] is.
    pub(crate) async fn finish(
        mut self,
        mut watch: impl FnMut(&RunEvent),
    ) -> Result<AgentRun, AgentError> {
        use futures_util::StreamExt;
        while let Some(event) = self.next().await {
            match event {
                RunEvent::End(end) => return *end,
                other => watch(&other),
            }
        }
        // The stream ends only after its `End`.
        unreachable!("a run stream ends with its End event")
    }
}

impl Stream for RunStream<'_> {
    type Item = RunEvent;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<RunEvent>> {
        let this = &mut *self;
        if let Some(event) = this.events.pop() {
            return Poll::Ready(Some(event));
        }
        let Some(run) = this.run.as_mut() else {
            return Poll::Ready(None);
        };
        match run.as_mut().poll(cx) {
            Poll::Ready(end) => {
                this.run = None;
                this.events.emit(RunEvent::End(Box::new(end)));
            }
            Poll::Pending => {}
        }
        match this.events.pop() {
            Some(event) => Poll::Ready(Some(event)),
            None if this.run.is_none() => Poll::Ready(None),
            None => Poll::Pending,
        }
    }
}
