//! The options of `#[tool(...)]`.

use proc_macro2::TokenStream;
use syn::meta::ParseNestedMeta;
use syn::parse::Parser;
use syn::{LitBool, LitStr};

use crate::ctxt::Ctxt;

pub const OPTIONS: &str = "`name`, `description`, `timeout`, `exclusive`, `strict`, `crate`";

#[derive(Default)]
pub struct Options {
    pub name: Option<LitStr>,
    pub description: Option<LitStr>,
    pub timeout_ms: Option<u64>,
    pub exclusive: bool,
    pub strict: Option<bool>,
    pub krate: Option<syn::Path>,
}

pub fn parse(args: TokenStream, cx: &mut Ctxt) -> Options {
    let mut options = Options::default();
    let mut seen: Vec<String> = Vec::new();
    let parser = syn::meta::parser(|meta| {
        let key = meta
            .path
            .get_ident()
            .map(ToString::to_string)
            .unwrap_or_default();
        if seen.contains(&key) {
            return Err(meta.error(format!("duplicate `#[tool]` option `{key}`")));
        }
        seen.push(key.clone());
        match key.as_str() {
            "name" => options.name = Some(meta.value()?.parse()?),
            "description" => options.description = Some(meta.value()?.parse()?),
            "timeout" => {
                let lit: LitStr = meta.value()?.parse()?;
                match parse_duration_ms(&lit.value()) {
                    Some(ms) => options.timeout_ms = Some(ms),
                    None => {
                        return Err(syn::Error::new_spanned(
                            &lit,
                            format!(
                                "invalid timeout `{}`: expected a duration such as `500ms`, `30s` or `2m`",
                                lit.value()
                            ),
                        ));
                    }
                }
            }
            "exclusive" => options.exclusive = flag(&meta)?,
            "strict" => options.strict = Some(flag(&meta)?),
            "crate" => {
                let lit: LitStr = meta.value()?.parse()?;
                options.krate = Some(lit.parse()?);
            }
            _ => {
                return Err(meta.error(format!(
                    "unknown `#[tool]` option `{}`; expected one of {OPTIONS}",
                    path_text(&meta.path)
                )));
            }
        }
        Ok(())
    });
    if let Err(error) = parser.parse2(args) {
        cx.push(error);
    }
    options
}

/// `exclusive` alone, or `exclusive = true|false`.
fn flag(meta: &ParseNestedMeta<'_>) -> syn::Result<bool> {
    if meta.input.peek(syn::Token![=]) {
        let lit: LitBool = meta.value()?.parse()?;
        Ok(lit.value)
    } else {
        Ok(true)
    }
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
