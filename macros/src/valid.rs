//! Checks of a `#[tool]` fn that rustc would not make, or would make with a
//! message that does not say what to do.

use syn::{FnArg, Type, TypeReference};

use crate::ast::ToolFn;
use crate::ctxt::Ctxt;

pub fn check(tool: &ToolFn, name: &str, name_span: &dyn quote::ToTokens, cx: &mut Ctxt) {
    let sig = &tool.item.sig;
    if !sig.generics.params.is_empty() {
        cx.error_spanned_by(
            &sig.generics,
            "`#[tool]` fns cannot be generic: the schema needs concrete parameter types",
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
        }
    }
    if !is_valid_tool_name(name) {
        cx.error_spanned_by(
            name_span,
            format!("invalid tool name `{name}`: a tool name must match ^[a-zA-Z0-9_-]{{1,64}}$"),
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
        _ => {}
    }
}

pub fn is_valid_tool_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}
