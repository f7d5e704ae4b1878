//! Simulator of [toolcall](https://docs.rs/toolcall): a chat model that
//! follows a script (or calls every offered tool by itself), simulated tools,
//! seeded latencies and faults, in process or over HTTP speaking the OpenAI
//! Chat Completions and Responses APIs, Anthropic's Messages API and Google's
//! Gemini API on one port (`SimModel::wire` gives the in-process model a format too); all on
//! tokio's clock, so under
//! `#[tokio::test(start_paused = true)]` a simulated second costs nothing and
//! timings are exact (to tokio's millisecond timer resolution).
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use toolcall_sim::{Script, ScriptedCall, Server, Simulator};
//! use serde_json::json;
//!
//! let script = Script::new()
//!     .tool_calls([ScriptedCall::new("get_weather", json!({"city": "Paris"}))])
//!     .text("Sunny in Paris.");
//! let sim = Simulator::scripted(script);
//! let server = sim.server().start().await?;   // a paused clock drives it too
//! println!("point an OpenAI client at {}", server.base_url());
//! let model = sim.model();                     // or use it in process
//! # drop(model);
//! server.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! The in-process [`SimModel`] and the [`Server`] share one engine, so the
//! same seed and script give the same transcript through either.
#![cfg_attr(docsrs, feature(doc_cfg))]

mod auto;
#[cfg(feature = "criterion")]
pub mod bench;
mod control;
mod engine;
mod fault;
mod journal;
mod latency;
mod latency_spec;
mod listen;
mod model;
#[cfg(feature = "record")]
mod record;
mod recording;
mod replay;
#[cfg(feature = "wiremock")]
pub mod responders;
mod rng;
mod script;
mod script_file;
mod server;
mod session;
mod session_file;
mod simulator;
mod timeline;
mod tool;
mod trace;
pub mod whatif;
mod wire;

pub use auto::generate as generate_arguments;
pub use engine::Chunking;
pub use fault::{Fault, FaultRates};
pub use journal::{
    Answer, DEFAULT_JOURNAL_BYTES, DEFAULT_JOURNAL_LIMIT, Journal, JournalEntry, JournalStats,
    Transport,
};
pub use latency::{Latency, ModelLatency};
pub use latency_spec::LatencySpecError;
pub use model::{SimModel, Wire};
#[cfg(feature = "record")]
pub use record::{RecordError, Recorder};
pub use recording::{
    Chunk, Exchange, KEPT_HEADERS, RECORDING_VERSION, RecordedReply, Recording, first_difference,
};
pub use replay::{Divergence, ReplayServer};
pub use rng::SimRng;
pub use script::{Reply, Script, ScriptedCall, Turn, TurnError};
pub use script_file::{ScriptFile, ScriptFileError, ScriptFormat};
pub use server::{
    DEFAULT_HEADER_READ_TIMEOUT, DEFAULT_IDLE_TIMEOUT, DEFAULT_MAX_BODY_BYTES, Disconnected,
    Server, ServerBuilder, ServerError,
};
pub use session::{Session, SessionCall, SessionRound};
pub use session_file::SessionFileError;
pub use simulator::{ScriptError, SimBuilder, Simulator};
pub use timeline::{Timeline, timeline_svg};
pub use tool::{SimTool, WithLatency, with_latency};
pub use trace::{TRACE_VERSION, Trace};
pub use whatif::{Policy, RecordedTool, Report};
pub use wire::ApiError;
pub use wire::gemini::GeminiOptions;
