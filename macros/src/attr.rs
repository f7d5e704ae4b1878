//! The options of `#[tool(...)]`.

use proc_macro2::TokenStream;
use syn::meta::ParseNestedMeta;
use syn::parse::Parser;
use syn::{Lit, LitBool, LitStr};

use crate::ctxt::Ctxt;

pub const OPTIONS: &str = "`name`, `description`, `timeout`, `exclusive`, `spawn`, `strict`, `title`, `read_only`, `destructive`, `idempotent`, `open_world`, `crate`";

#[derive(Default)]
pub struct Options {
    pub name: Option<LitStr>,
    pub description: Option<LitStr>,
    pub timeout_ms: Option<u64>,
    pub exclusive: bool,
    pub spawn: bool,
    pub strict: Option<bool>,
    /// MCP annotations: a title and behaviour hints.
    pub title: Option<LitStr>,
    pub read_only: Option<bool>,
    pub destructive: Option<bool>,
    pub idempotent: Option<bool>,
    pub open_world: Option<bool>,
    pub krate: Option<syn::Path>,
}

pub fn parse(args: TokenStream, cx: &mut Ctxt) -> Options {
    let mut options = Options::default();
    let mut seen: Vec<String> = Vec::new();
    let mut option = |meta: &ParseNestedMeta<'_>| -> syn::Result<()> {
        let key = path_text(&meta.path);
        if !KNOWN.contains(&key.as_str()) {
            let hint = match closest(&key) {
                Some(known) => format!("did you mean `{known}`? "),
                None => String::new(),
            };
            return Err(meta.error(format!(
                "unknown `#[tool]` option `{key}`: {hint}expected one of {OPTIONS}"
            )));
        }
        if seen.contains(&key) {
            return Err(meta.error(format!("duplicate `#[tool]` option `{key}`: give it once")));
        }
        seen.push(key.clone());
        match key.as_str() {
            "name" => options.name = Some(string(meta, "name = \"get_weather\"")?),
            "description" => {
                options.description = Some(string(meta, "description = \"Get the weather.\"")?)
            }
            "timeout" => {
                let lit = string(meta, "timeout = \"30s\"")?;
                match parse_duration_ms(&lit.value()) {
                    Some(ms) => options.timeout_ms = Some(ms),
                    None => {
                        return Err(syn::Error::new_spanned(
                            &lit,
                            format!(
                                "invalid timeout `{}`: expected a positive whole number of `ms`, `s` or `m`, such as `500ms`, `30s` or `2m`",
                                lit.value()
                            ),
                        ));
                    }
                }
            }
            "exclusive" => options.exclusive = flag(meta)?,
            "spawn" => options.spawn = flag(meta)?,
            "strict" => options.strict = Some(flag(meta)?),
            "title" => options.title = Some(string(meta, "title = \"Weather\"")?),
            "read_only" => options.read_only = Some(flag(meta)?),
            "destructive" => options.destructive = Some(flag(meta)?),
            "idempotent" => options.idempotent = Some(flag(meta)?),
            "open_world" => options.open_world = Some(flag(meta)?),
            _ => {
                let lit = string(meta, "crate = \"my_crate::toolcall\"")?;
                options.krate = Some(lit.parse().map_err(|_| {
                    syn::Error::new_spanned(
                        &lit,
                        "`crate` takes the path toolcall is reachable at, such as `crate = \"my_crate::toolcall\"`",
                    )
                })?);
            }
        }
        Ok(())
    };
    // Every bad option is reported: after an error, the option's tokens up
    // to the next comma are skipped and parsing goes on.
    let mut errors = Vec::new();
    let parser = syn::meta::parser(|meta| {
        if let Err(error) = option(&meta) {
            errors.push(error);
            while !meta.input.is_empty() && !meta.input.peek(syn::Token![,]) {
                meta.input.parse::<proc_macro2::TokenTree>()?;
            }
        }
        Ok(())
    });
    if let Err(error) = parser.parse2(args) {
        errors.push(error);
    }
    for error in errors {
        cx.push(error);
    }
    options
}

const KNOWN: &[&str] = &[
    "name",
    "description",
    "timeout",
    "exclusive",
    "spawn",
    "strict",
    "title",
    "read_only",
    "destructive",
    "idempotent",
    "open_world",
    "crate",
];

/// `key = "..."`; anything else is blamed on the value with an example.
fn string(meta: &ParseNestedMeta<'_>, example: &str) -> syn::Result<LitStr> {
    let key = path_text(&meta.path);
    let value = meta
        .value()
        .map_err(|e| syn::Error::new(e.span(), format!("`{key}` takes a string: `{example}`")))?;
    match value.parse::<Lit>()? {
        Lit::Str(lit) => Ok(lit),
        other => Err(syn::Error::new_spanned(
            other,
            format!("`{key}` takes a string: `{example}`"),
        )),
    }
}

/// `exclusive` alone, or `exclusive = true|false`.
fn flag(meta: &ParseNestedMeta<'_>) -> syn::Result<bool> {
    let key = path_text(&meta.path);
    if !meta.input.peek(syn::Token![=]) {
        return Ok(true);
    }
    match meta.value()?.parse::<Lit>()? {
        Lit::Bool(LitBool { value, .. }) => Ok(value),
        other => Err(syn::Error::new_spanned(
            other,
            format!("`{key}` takes `true` or `false`, or stands alone: `{key}`"),
        )),
    }
}

/// The known option nearest to a misspelt one, if it is near enough.
fn closest(key: &str) -> Option<&'static str> {
    KNOWN
        .iter()
        .map(|known| (edit_distance(key, known), *known))
        .filter(|(distance, _)| *distance <= 2)
        .min()
        .map(|(_, known)| known)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut previous = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous + usize::from(ca != *cb);
            previous = row[j + 1];
            row[j + 1] = substitution.min(previous + 1).min(row[j] + 1);
        }
    }
    row[b.len()]
}

fn path_text(path: &syn::Path) -> String {
    path.segments
        .iter()
        .map(|s| s.ident.to_string())
        .collect::<Vec<_>>()
        .join("::")
}

/// `500ms`, `30s`, `2m` (whole numbers) in milliseconds.
pub fn parse_duration_ms(text: &str) -> Option<u64> {
    let text = text.trim();
    let (digits, factor) = if let Some(n) = text.strip_suffix("ms") {
        (n, 1)
    } else if let Some(n) = text.strip_suffix('s') {
        (n, 1_000)
    } else if let Some(n) = text.strip_suffix('m') {
        (n, 60_000)
    } else {
        return None;
    };
    let value: u64 = digits.trim().parse().ok()?;
    value.checked_mul(factor).filter(|&ms| ms > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration_ms("500ms"), Some(500));
        assert_eq!(parse_duration_ms("30s"), Some(30_000));
        assert_eq!(parse_duration_ms(" 2m "), Some(120_000));
        for bad in [
            "",
            "5",
            "0s",
            "-1s",
            "1.5s",
            "5 minutes",
            "99999999999999999999m",
        ] {
            assert_eq!(parse_duration_ms(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn near_misses_are_suggested() {
        assert_eq!(closest("nmae"), Some("name"));
        assert_eq!(closest("timout"), Some("timeout"));
        assert_eq!(closest("strcit"), Some("strict"));
        assert_eq!(closest("frobnicate"), None);
    }
}
