//! Checks of a `#[tool]` fn that rustc would not make, or would make with a
//! message that does not say what to do.

use quote::ToTokens;
use syn::ext::IdentExt;
use syn::{FnArg, Type, TypeReference};

use crate::ast::{Param, ToolFn};
use crate::attr::Options;
use crate::ctxt::Ctxt;

/// Every `{argument}` in a resource key names one of the tool's arguments
/// (unless a `#[serde]` attribute may rename one: the build checks those).
pub fn check_keys(tool: &ToolFn, options: &Options, cx: &mut Ctxt) {
    let mut renamed = false;
    let mut names = Vec::new();
    for param in &tool.params {
        if let Param::Arg {
            ident, field_attrs, ..
        } = param
        {
            names.push(ident.unraw().to_string());
            renamed |= field_attrs.iter().any(|a| a.path().is_ident("serde"));
        }
    }
    for key in options.reads.iter().chain(&options.writes) {
        let text = key.value();
        for argument in text
            .split('{')
            .skip(1)
            .filter_map(|s| s.split_once('}'))
            .map(|(n, _)| n)
        {
            if !renamed && !names.iter().any(|n| n == argument) {
                cx.error_spanned_by(
                    key,
                    format!(
                        "resource key `{text}` names `{{{argument}}}`, which is not an argument of this tool; its arguments are: {}",
                        if names.is_empty() { "(none)".to_owned() } else { names.join(", ") }
                    ),
                );
            }
        }
    }
}

pub fn check(tool: &ToolFn, name: &str, name_span: &dyn ToTokens, cx: &mut Ctxt) {
    let sig = &tool.item.sig;
    // A receiver has its own error; without one, `Self` is the one sign of
    // an impl a proc macro can see (any other associated fn gets rustc's
    // "struct is not supported in `trait`s or `impl`s", on the fn).
    if sig.receiver().is_none()
        && let Some(span) = self_type(sig)
    {
        cx.push(syn::Error::new(
            span,
            "`#[tool]` goes on a free fn, not an associated fn in an impl: move it out of the impl and take shared state as a `State<T>` parameter",
        ));
    }
    if !sig.generics.params.is_empty() {
        cx.error_spanned_by(
            &sig.generics,
            "`#[tool]` fns cannot be generic: the schema needs concrete parameter types",
        );
    }
    if let syn::Safety::Unsafe(unsafety) = &sig.safety {
        cx.error_spanned_by(
            unsafety,
            "`#[tool]` fns cannot be `unsafe`: the model calls them, with no one to uphold their contract",
        );
    }
    if let Some(constness) = &sig.constness {
        cx.error_spanned_by(constness, "`#[tool]` fns cannot be `const`");
    }
    if let Some(abi) = &sig.abi {
        cx.error_spanned_by(abi, "`#[tool]` fns cannot have an `extern` ABI");
    }
    if let Some(variadic) = &sig.variadic {
        cx.error_spanned_by(variadic, "`#[tool]` fns cannot be variadic");
    }
    for input in &sig.inputs {
        if let FnArg::Typed(pat_type) = input {
            check_type(&pat_type.ty, cx);
            if let syn::Pat::Ident(pat) = &*pat_type.pat
                && pat.ident.to_string().starts_with("__toolcall_")
            {
                cx.error_spanned_by(
                    &pat.ident,
                    "names starting `__toolcall_` are reserved for the code `#[tool]` generates: rename the parameter",
                );
            }
        }
    }
    if let Some(problem) = tool_name_problem(name) {
        cx.error_spanned_by(
            name_span,
            format!(
                "invalid tool name `{name}`: {problem}; tool names must match ^[a-zA-Z0-9_-]{{1,64}}$, so pick one with `#[tool(name = \"...\")]`"
            ),
        );
    }
}

fn check_type(ty: &Type, cx: &mut Ctxt) {
    match ty {
        Type::ImplTrait(_) => cx.error_spanned_by(
            ty,
            "`impl Trait` parameters are not supported by `#[tool]`: name a concrete type the arguments can be parsed into",
        ),
        Type::Reference(TypeReference { elem, .. }) => {
            let hint = match &**elem {
                Type::Path(p) if p.path.is_ident("str") => "use `String` instead of `&str`",
                Type::Slice(_) => "use a `Vec<T>` instead of a slice",
                _ => "take the value itself",
            };
            cx.error_spanned_by(
                ty,
                format!("`#[tool]` parameters must be owned, since they are parsed from the call's arguments: {hint}"),
            );
        }
        _ => {
            if let Some(lifetime) = first_lifetime(ty.to_token_stream()) {
                cx.error_spanned_by(
                    ty,
                    format!(
                        "`#[tool]` parameters must be owned, since they are parsed from the call's arguments: a type borrowing for `{lifetime}` cannot be; use `String` or `Cow<'static, str>` for `Cow<'_, str>`, or the owned form of the type"
                    ),
                );
            }
        }
    }
}

/// The first lifetime other than `'static` written in a type (`'_` in
/// `Cow<'_, str>`), if any: a type whose only lifetime is `'static`
/// (`Cow<'static, str>`) borrows nothing from the arguments, and whether it
/// is `DeserializeOwned` is for the compiler to say.
fn first_lifetime(tokens: proc_macro2::TokenStream) -> Option<String> {
    let mut tokens = tokens.into_iter().peekable();
    while let Some(token) = tokens.next() {
        match token {
            proc_macro2::TokenTree::Punct(p) if p.as_char() == '\'' => {
                if let Some(proc_macro2::TokenTree::Ident(name)) = tokens.peek()
                    && name != "static"
                {
                    return Some(format!("'{name}"));
                }
            }
            proc_macro2::TokenTree::Group(group) => {
                if let Some(found) = first_lifetime(group.stream()) {
                    return Some(found);
                }
            }
            _ => {}
        }
    }
    None
}

/// What is wrong with a tool name, if anything.
pub fn tool_name_problem(name: &str) -> Option<String> {
    if name.is_empty() {
        return Some("it is empty".to_owned());
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '_' || *c == '-'))
    {
        return Some(format!("{c:?} is not allowed"));
    }
    if name.len() > 64 {
        return Some(format!(
            "it is {} characters long, at most 64 are allowed",
            name.len()
        ));
    }
    None
}

/// Where the signature names `Self`, if it does.
pub fn self_type(sig: &syn::Signature) -> Option<proc_macro2::Span> {
    fn find(tokens: proc_macro2::TokenStream) -> Option<proc_macro2::Span> {
        tokens.into_iter().find_map(|token| match token {
            proc_macro2::TokenTree::Ident(ident) if ident == "Self" => Some(ident.span()),
            proc_macro2::TokenTree::Group(group) => find(group.stream()),
            _ => None,
        })
    }
    find(sig.inputs.to_token_stream()).or_else(|| find(sig.output.to_token_stream()))
}

#[cfg(test)]
mod tests {
    use super::tool_name_problem;

    #[test]
    fn tool_names() {
        assert_eq!(tool_name_problem("get_weather-2"), None);
        assert_eq!(tool_name_problem(&"a".repeat(64)), None);
        assert_eq!(
            tool_name_problem("has space").as_deref(),
            Some("' ' is not allowed")
        );
        assert_eq!(tool_name_problem("").as_deref(), Some("it is empty"));
        assert_eq!(
            tool_name_problem(&"a".repeat(65)).as_deref(),
            Some("it is 65 characters long, at most 64 are allowed")
        );
        assert!(tool_name_problem("café").is_some());
    }
}
