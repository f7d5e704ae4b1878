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

/// Turn an `async fn` (or a plain `fn`, run on the blocking pool) into a tool.
///
/// The tool's name is the fn's (`name = "..."` overrides it), its description
/// the fn's doc comment as written (`description = "..."` overrides it), and
/// each parameter's description its own `///` comment. A parameter whose
/// type is written `State<T>` or `toolcall::State<T>` (or the `crate` path
/// and `State`) is injected from the `ToolSet`; every other parameter is a
/// field of the arguments object and must be `DeserializeOwned + JsonSchema`.
/// The fn stays callable as written.
///
/// A successful value that serde writes as a string (`String`, `&str`, ...)
/// reaches the model as that text; any other as its JSON. A return type
/// written `Result<T, E>` or `std::result::Result<T, E>` is std's `Result`
/// (its `Err` becomes an error result with `E`'s `Display` text); any other
/// type goes by what it is, so `io::Result<T>` and aliases work too.
///
/// (The example is compiled and run as part of the `toolcall` crate's docs.)
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
/// ```text
/// /// Get the current weather for a city.
/// #[tool(timeout = "5s")]
/// async fn get_weather(
///     /// City name, e.g. "Paris".
///     city: String,
/// ) -> Result<String, std::io::Error> {
///     Ok(format!("sunny in {city}"))
/// }
/// ```
#[proc_macro_attribute]
pub fn tool(args: TokenStream, input: TokenStream) -> TokenStream {
    expand::tool(args.into(), input.into()).into()
}
