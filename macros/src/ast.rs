//! The model of a `#[tool]` fn: its docs, its parameters (arguments or
//! injected state) and its return type, taken from the syntax tree.

use syn::{Attribute, Expr, FnArg, Ident, ItemFn, Lit, Meta, Pat, Type};

use crate::ctxt::Ctxt;

pub struct ToolFn {
    /// The fn as it is re-emitted: parameter doc comments and helper
    /// attributes removed, since rustc rejects them there.
    pub item: ItemFn,
    pub docs: String,
    pub params: Vec<Param>,
}

pub enum Param {
    /// A field of the arguments object.
    Arg {
        ident: Ident,
        ty: Box<Type>,
        docs: String,
        /// `#[serde(...)]` and `#[schemars(...)]` passed on to the field.
        field_attrs: Vec<Attribute>,
    },
    /// `State<T>`, injected from the tool set.
    State { inner: Type },
}

impl ToolFn {
    pub fn from_item(mut item: ItemFn, cx: &mut Ctxt) -> ToolFn {
        let docs = doc_text(&item.attrs);
        let mut params = Vec::new();
        for input in &mut item.sig.inputs {
            match input {
                FnArg::Receiver(receiver) => {
                    let what = match &receiver.kind {
                        syn::ReceiverKind::Reference(_, _, Some(_)) => "&mut self",
                        syn::ReceiverKind::Reference(_, _, None) => "&self",
                        _ => "self",
                    };
                    cx.error_spanned_by(
                        &*receiver,
                        format!(
                            "`#[tool]` fns cannot take `{what}`: make it a free fn outside the impl block and take shared state as a `State<T>` parameter"
                        ),
                    );
                }
                FnArg::Typed(pat_type) => {
                    let docs = doc_text(&pat_type.attrs);
                    let (field_attrs, kept): (Vec<_>, Vec<_>) = std::mem::take(&mut pat_type.attrs)
                        .into_iter()
                        .filter(|a| !a.path().is_ident("doc"))
                        .partition(|a| a.path().is_ident("serde") || a.path().is_ident("schemars"));
                    pat_type.attrs = kept;
                    if let Some(inner) = state_inner(&pat_type.ty) {
                        params.push(Param::State { inner });
                        continue;
                    }
                    match &*pat_type.pat {
                        Pat::Ident(pat) if pat.by_ref.is_none() && pat.subpat.is_none() => params.push(Param::Arg {
                            ident: pat.ident.clone(),
                            ty: pat_type.ty.clone(),
                            docs,
                            field_attrs,
                        }),
                        other => cx.error_spanned_by(
                            other,
                            "`#[tool]` parameters must be plain names, since each becomes a field of the arguments object; destructure inside the body",
                        ),
                    }
                }
            }
        }
        ToolFn { item, docs, params }
    }
}

/// The `T` of a parameter typed `State<T>` (any path ending in `State`).
fn state_inner(ty: &Type) -> Option<Type> {
    let Type::Path(path) = ty else { return None };
    let last = path.path.segments.last()?;
    if last.ident != "State" {
        return None;
    }
    let syn::PathArguments::AngleBracketed(args) = &last.arguments else {
        return None;
    };
    match args.args.first()? {
        syn::GenericArgument::Type(inner) if args.args.len() == 1 => Some(inner.clone()),
        _ => None,
    }
}

/// The text of `///` comments: lines of a paragraph joined by spaces,
/// paragraphs by a blank line.
pub fn doc_text(attrs: &[Attribute]) -> String {
    let mut lines = Vec::new();
    for attr in attrs {
        if let Meta::NameValue(nv) = &attr.meta
            && nv.path.is_ident("doc")
            && let Expr::Lit(lit) = &nv.value
            && let Lit::Str(s) = &lit.lit
        {
            let value = s.value();
            if value.trim().is_empty() {
                lines.push(String::new());
            }
            lines.extend(value.lines().map(|l| l.trim().to_owned()));
        }
    }
    let mut paragraphs: Vec<String> = Vec::new();
    let mut current = String::new();
    for line in lines {
        if line.is_empty() {
            if !current.is_empty() {
                paragraphs.push(std::mem::take(&mut current));
            }
        } else {
            if !current.is_empty() {
                current.push(' ');
            }
            current.push_str(&line);
        }
    }
    if !current.is_empty() {
        paragraphs.push(current);
    }
    paragraphs.join("\n\n")
}
