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

#[cfg(feature = "criterion")]
pub mod bench;
mod engine;
mod model;
#[cfg(feature = "wiremock")]
pub mod responders;
mod server;
mod sessions;
mod wire;

pub use engine::ApiError;
pub use engine::Chunking;
pub use engine::GeminiOptions;
pub use engine::auto::generate as generate_arguments;
pub use engine::fault::{Fault, FaultRates};
pub use engine::fixture::{Endpoint, Fixture, Fixtures, Match, TextMatch, ToolResults, Unmatched};
pub use engine::journal::{
    Answer, DEFAULT_JOURNAL_BYTES, DEFAULT_JOURNAL_LIMIT, HttpRequest, Journal, JournalEntry,
    JournalStats, Transport,
};
pub use engine::latency::{Latency, ModelLatency};
pub use engine::latency_spec::LatencySpecError;
pub use engine::rng::SimRng;
pub use engine::script::{Reply, Script, ScriptedCall, Turn, TurnError};
pub use engine::script_file::{ScriptFile, ScriptFileError, ScriptFormat};
pub use engine::simulator::{ScriptError, SimBuilder, Simulator};
pub use engine::tool::{SimTool, WithLatency, with_latency};
pub use model::{SimModel, Wire};
pub use server::{
    DEFAULT_HEADER_READ_TIMEOUT, DEFAULT_IDLE_TIMEOUT, DEFAULT_MAX_BODY_BYTES, Disconnected,
    Server, ServerBuilder, ServerError,
};
#[cfg(feature = "record")]
pub use sessions::record::{RecordError, Recorder};
pub use sessions::recording::{
    Chunk, Exchange, KEPT_HEADERS, RECORDING_VERSION, RecordedReply, Recording, first_difference,
};
pub use sessions::replay::{Divergence, ReplayServer};
pub use sessions::session::{Session, SessionCall, SessionRound};
pub use sessions::session_file::SessionFileError;
pub use sessions::timeline::{Timeline, timeline_svg};
pub use sessions::trace::{TRACE_VERSION, Trace};
pub use sessions::whatif;
pub use sessions::whatif::{Policy, RecordedTool, Report};
