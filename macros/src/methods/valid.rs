//! Checks of a `#[tool_methods]` impl block; each method is then checked
//! as a `#[tool]` fn is.

use crate::ctxt::Ctxt;
use crate::methods::ast::ToolImpl;
use crate::valid;

pub fn check(tools: &ToolImpl, cx: &mut Ctxt) {
    let item = &tools.item;
    if let Some((path, _)) = &item.trait_ {
        cx.error_spanned_by(
            path,
            "`#[tool_methods]` goes on an inherent impl (`impl MyService { .. }`), not on an impl of a trait: the tools are methods of the type itself, so move them to an `impl` of their own",
        );
    }
    if !item.generics.params.is_empty() {
        cx.error_spanned_by(
            &item.generics,
            "`#[tool_methods]` impls cannot be generic: each tool's schema needs concrete types, so write the impl for one concrete type",
        );
    }
    for method in &tools.methods {
        let sig = &method.tool.item.sig;
        if let Some(span) = valid::self_type(sig) {
            cx.push(syn::Error::new(
                span,
                "tool methods name their types without `Self`: write the type's name, since the schema is made outside the impl",
            ));
        }
        valid::check(&method.tool, &method.name, &method.name_tokens, true, cx);
        valid::check_keys(&method.tool, &method.options, cx);
    }
    let mut names: Vec<&str> = Vec::new();
    for method in &tools.methods {
        if names.contains(&method.name.as_str()) {
            cx.error_spanned_by(
                &method.name_tokens,
                format!(
                    "two tools of this impl are named `{}`: give one another name with `#[tool(name = \"...\")]`",
                    method.name
                ),
            );
        }
        names.push(&method.name);
    }
}
