//! Watching, stopping and bounding a run: the events an agent run emits
//! ([`RunEvent`], through [`RunStream`]), the handle that cancels it from
//! outside ([`RunCancel`]), and the stop conditions and budgets it checks
//! ([`Limits`]).

mod cancel;
mod event;
mod limits;
mod stream;

pub use cancel::RunCancel;
pub(crate) use event::Emitter;
pub use event::RunEvent;
pub(crate) use limits::{Budget, Gate, Limits, Spent, stop_answer};
pub use stream::RunStream;
