//! What the simulated Gemini API's replies look like: the options a test
//! sets (the engine's configuration carries them to the Gemini format).

/// How the simulated Gemini API shapes its replies: what a test sets to
/// meet the traps of the real one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GeminiOptions {
    /// Whether each `functionCall` carries an `id` (default true). Without
    /// ids, clients answer by name and position, as with Gemini 2 models.
    pub call_ids: bool,
    /// Whether a reply's parallel calls come in one stream chunk (at the
    /// last one's time) rather than one chunk each (default false).
    pub calls_in_one_chunk: bool,
    /// Whether the first call of each reply carries a `thoughtSignature`
    /// that must come back on that part, as Gemini 3 requires (default
    /// false): a request whose current turn lacks it is a 400.
    pub thought_signature: bool,
}

impl Default for GeminiOptions {
    fn default() -> Self {
        GeminiOptions {
            call_ids: true,
            calls_in_one_chunk: false,
            thought_signature: false,
        }
    }
}

impl GeminiOptions {
    /// The options a comma-separated list names: `no-ids`, `one-chunk`,
    /// `signatures` (the CLI's `--gemini`).
    pub fn parse(list: &str) -> Result<GeminiOptions, String> {
        let mut options = GeminiOptions::default();
        for word in list.split(',').map(str::trim).filter(|w| !w.is_empty()) {
            match word {
                "no-ids" => options.call_ids = false,
                "ids" => options.call_ids = true,
                "one-chunk" => options.calls_in_one_chunk = true,
                "signatures" => options.thought_signature = true,
                other => {
                    return Err(format!(
                        "--gemini: `{other}` is not an option (no-ids, one-chunk, signatures)"
                    ));
                }
            }
        }
        Ok(options)
    }
}
