//! The `#[tool]` attribute of [toolcall](https://docs.rs/toolcall): an ordinary
//! fn becomes a registered tool with a JSON Schema for its arguments.
//!
//! Use it through the `toolcall` crate (`toolcall::tool`).

use proc_macro::TokenStream;

mod ast;
mod attr;
mod ctxt;
mod expand;
mod valid;

/// Turn an ordinary `async fn` (or a plain `fn`, run on the blocking pool)
/// into a tool with a JSON Schema for its arguments.
///
/// ```
/// use toolcall::{ToolSet, tool};
///
/// /// Get the current weather for a city.
/// #[tool(timeout = "5s")]
/// async fn get_weather(
///     /// City name, e.g. "Paris".
///     city: String,
/// ) -> Result<String, std::io::Error> {
///     Ok(format!("sunny in {city}"))
/// }
///
/// # fn main() -> Result<(), toolcall::BuildError> {
/// let tools = ToolSet::builder().tool::<get_weather>().build()?;
/// let definition = &tools.definitions()[0];
/// assert_eq!(definition.name, "get_weather");
/// assert_eq!(definition.description, "Get the current weather for a city.");
/// assert_eq!(definition.parameters["properties"]["city"]["description"], "City name, e.g. \"Paris\".");
/// # Ok(())
/// # }
/// ```
///
/// The tool's name is the fn's (`name = "..."` overrides it), its description
/// the fn's doc comment as written (`description = "..."` overrides it), and
/// each parameter's description its own `///` comment. A parameter whose
/// type is written `State<T>` or `toolcall::State<T>` (or the `crate` path
/// and `State`) is injected from the `ToolSet`; every other parameter is a
/// field of the arguments object and must be `DeserializeOwned + JsonSchema`.
/// Such a parameter is owned, since it is parsed from the call's arguments:
/// its type may name no lifetime but `'static` (`Cow<'static, str>` is
/// accepted, `&str` and `Cow<'_, str>` are refused with the owned form to
/// use), and no `impl Trait`.
/// The fn stays callable as written. `#[tool]` goes on a free fn: the tool
/// is a type named after the fn, and no type can be declared in an impl.
///
/// A successful value that serde writes as a string (`String`, `&str`, ...)
/// reaches the model as that text; any other as its JSON. A return type
/// written `Result<T, E>` or `std::result::Result<T, E>` is std's `Result`
/// (its `Err` becomes an error result with `E`'s `Display` text); any other
/// type goes by what it is, so `io::Result<T>` and aliases work too.
/// `-> impl Serialize` (or `Result<impl Serialize, E>`) works as well; its
/// type is hidden, so such a tool declares no output schema.
///
/// Options: `name = "..."`, `description = "..."`, `timeout = "500ms"`
/// (`ms`, `s` or `m`), `exclusive` (the tool runs alone), `spawn` (each
/// call its own task), `reads = "key"` / `writes = "file:{path}"` (one key
/// or `["a", "b"]`; `{arg}` is an argument: calls that write a key take
/// turns in call order, readers share), `max_concurrency = 2` (calls of
/// this tool running at once), `strict = false` (offer a non-strict
/// schema), `crate = "path::to::toolcall"`, and the MCP hints `title`,
/// `read_only`, `destructive`, `idempotent`, `open_world`.
///
/// # Timeouts and cancellation
///
/// - An `async fn` is cancelled where it awaits: at its timeout, the batch
///   deadline, a cancel signal, or when the dispatch is dropped, its future is
///   dropped and the call gets a `TimedOut` or `Cancelled` result.
/// - A plain `fn` runs on tokio's blocking pool. A call still waiting for a
///   blocking thread when it is cancelled never starts; a body already
///   running cannot be stopped: the call is answered at its timeout (the
///   result says so), the body runs on until it returns, and what it returns
///   is discarded. Under tokio's paused clock a plain fn's own time does not
///   count, so it never times out there.
/// - An `async fn` that blocks its thread (`std::thread::sleep`, heavy work
///   without an await) stalls the whole batch, its timers included: make it a
///   plain `fn` instead.
///
/// # Lints
///
/// The generated type and fields are marked as the macro's, so lints such
/// as `dead_code`, `non_camel_case_types` or `missing_debug_implementations`
/// leave them alone, and `deny` of any lint holds (`deny(warnings)`,
/// `deny(missing_docs)`, `clippy::pedantic`). `forbid` of a lint cannot hold where the
/// expansion carries an `#[allow]` of it, which rustc then refuses (E0453):
///
/// - `deprecated`: the call of a `#[deprecated]` tool fn is allowed (the
///   deprecation is for the fn's callers; the lint fires on macro code too).
/// - `unused_braces` and `unused_qualifications` (and groups holding them,
///   such as `unused`): schemars' `JsonSchema` derive, which makes every
///   tool's schema, allows them.
/// - `non_camel_case_types`, `non_upper_case_globals`, `unused_attributes`,
///   `unused_qualifications`, `clippy::absolute_paths`: serde's
///   `Deserialize` derive allows them; it is used only for a tool with a
///   `#[serde(..)]`, `#[cfg_attr(..)]` or `#[cfg]` parameter.
///
/// Every other `forbid` holds: `dead_code`, `missing_docs`,
/// `unused_imports`, `non_camel_case_types` (no serde attributes),
/// `non_local_definitions`, `unreachable_pub`, ...
#[proc_macro_attribute]
pub fn tool(args: TokenStream, input: TokenStream) -> TokenStream {
    expand::tool(args.into(), input.into()).into()
}
