//! The model of a `#[tool]` fn: its docs, its parameters (arguments or
//! injected state) and its return type, taken from the syntax tree.

use proc_macro2::TokenStream;
use quote::quote;
use syn::{Attribute, Expr, ExprLit, FnArg, Ident, ItemFn, Lit, Meta, Pat, Type};

use crate::ctxt::Ctxt;

pub struct ToolFn {
    /// The fn as it is re-emitted: parameter doc comments and helper
    /// attributes removed, since rustc rejects them there.
    pub item: ItemFn,
    /// The description from the doc comment: an expression of `&'static str`.
    pub docs: TokenStream,
    pub params: Vec<Param>,
}

pub enum Param {
    /// A field of the arguments object.
    Arg {
        ident: Ident,
        ty: Box<Type>,
        /// `#[serde(...)]`, `#[schemars(...)]`, `#[doc]` (and `#[cfg_attr]`s
        /// of them) passed on to the field.
        field_attrs: Vec<Attribute>,
        /// `#[cfg(...)]`s, kept on the parameter and repeated wherever the
        /// generated code names it.
        cfgs: Vec<Attribute>,
    },
    /// `State<T>`, injected from the tool set.
    State { inner: Type, cfgs: Vec<Attribute> },
}

impl ToolFn {
    /// `method`: the fn is in a `#[tool_methods]` impl, where it may take `&self`.
    pub fn from_item(
        mut item: ItemFn,
        krate: Option<&syn::Path>,
        method: bool,
        cx: &mut Ctxt,
    ) -> ToolFn {
        let docs = description(&item.attrs);
        let mut params = Vec::new();
        for input in &mut item.sig.inputs {
            match input {
                FnArg::Receiver(receiver) => {
                    if let Some(problem) = receiver_problem(receiver, method) {
                        cx.error_spanned_by(&*receiver, problem);
                    }
                }
                FnArg::Typed(pat_type) => {
                    let (field_attrs, kept): (Vec<_>, Vec<_>) = std::mem::take(&mut pat_type.attrs)
                        .into_iter()
                        .partition(is_field_attr);
                    let cfgs: Vec<_> = kept
                        .iter()
                        .filter(|a| a.path().is_ident("cfg"))
                        .cloned()
                        .collect();
                    pat_type.attrs = kept;
                    if let Some(inner) = state_inner(&pat_type.ty, krate) {
                        params.push(Param::State { inner, cfgs });
                        continue;
                    }
                    match &*pat_type.pat {
                        Pat::Ident(pat) if pat.by_ref.is_none() && pat.subpat.is_none() => {
                            params.push(Param::Arg {
                                ident: pat.ident.clone(),
                                ty: pat_type.ty.clone(),
                                field_attrs,
                                cfgs,
                            })
                        }
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

/// What is wrong with a tool's receiver, if anything. Calls run
/// concurrently on one shared service, so a method tool borrows it: `&self`.
fn receiver_problem(receiver: &syn::Receiver, method: bool) -> Option<String> {
    if !method {
        return Some(
            "a `#[tool]` method needs `#[toolcall::tool_methods]` on its impl block: add it above the `impl`, and take `&self`".to_owned(),
        );
    }
    match &receiver.kind {
        syn::ReceiverKind::Reference(_, _, None) => None,
        syn::ReceiverKind::Reference(_, _, Some(_)) => Some(
            "a tool method takes `&self`, not `&mut self`: calls run concurrently on one shared service, so keep what changes behind a `Mutex` or an atomic".to_owned(),
        ),
        _ => Some(
            "a tool method takes `&self`: the service is shared by concurrent calls (in an `Arc`), so it cannot be taken by value".to_owned(),
        ),
    }
}

/// Whether a parameter attribute belongs on the arguments struct's field
/// (rustc would reject it on a parameter): `serde`, `schemars`, doc
/// comments, and a `cfg_attr` of any of them.
fn is_field_attr(attr: &Attribute) -> bool {
    let path = attr.path();
    if path.is_ident("serde") || path.is_ident("schemars") || path.is_ident("doc") {
        return true;
    }
    if !path.is_ident("cfg_attr") {
        return false;
    }
    // `cfg_attr(predicate, attr, ...)`: look at the attributes' names.
    let Meta::List(list) = &attr.meta else {
        return false;
    };
    let mut names = list.tokens.clone().into_iter().filter_map(|t| match t {
        proc_macro2::TokenTree::Ident(ident) => Some(ident.to_string()),
        _ => None,
    });
    names.any(|n| n == "serde" || n == "schemars" || n == "doc")
}

/// The `T` of a state parameter. The rule, on the type as written: `State<T>`
/// alone, or a path ending in `toolcall::State<T>` (or in the `crate = ".."`
/// path and `State`) is state; any other path (`geo::State<T>`) is an
/// argument like any other type.
/// A type written as a plain path (no `<T as Trait>::`), with its
/// segments' names.
pub(crate) fn plain_path(ty: &Type) -> Option<(&syn::Path, Vec<String>)> {
    match ty {
        Type::Path(path) if path.qself.is_none() => Some((&path.path, segment_names(&path.path))),
        _ => None,
    }
}

fn segment_names(path: &syn::Path) -> Vec<String> {
    path.segments.iter().map(|s| s.ident.to_string()).collect()
}

fn state_inner(ty: &Type, krate: Option<&syn::Path>) -> Option<Type> {
    let (path, segments) = plain_path(ty)?;
    let last = path.segments.last()?;
    let ours = match segments.as_slice() {
        [only] => only == "State",
        [.., parent, state] if state == "State" => {
            parent == "toolcall"
                || parent == "toolcall_runtime"
                || krate.is_some_and(|k| segments[..segments.len() - 1] == segment_names(k)[..])
        }
        _ => false,
    };
    if !ours {
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

/// The description in the doc attributes, as the author wrote it: each
/// line without the one space `///` puts before it, lines joined by `\n`
/// (markdown keeps its line breaks, lists and code fences), blank lines at
/// either end dropped. A `#[doc = concat!(..)]` (any expression) is kept as
/// it is, and the whole becomes a `concat!` of the pieces.
pub fn description(attrs: &[Attribute]) -> TokenStream {
    enum Piece {
        Line(String),
        Expr(Expr),
    }
    let mut pieces = Vec::new();
    for attr in attrs {
        let Meta::NameValue(nv) = &attr.meta else {
            continue;
        };
        if !nv.path.is_ident("doc") {
            continue;
        }
        match &nv.value {
            Expr::Lit(ExprLit {
                lit: Lit::Str(s), ..
            }) => {
                let value = s.value();
                for line in value.lines() {
                    let line = line.strip_prefix(' ').unwrap_or(line).trim_end();
                    pieces.push(Piece::Line(line.to_owned()));
                }
                if value.is_empty() {
                    pieces.push(Piece::Line(String::new()));
                }
            }
            other => pieces.push(Piece::Expr(other.clone())),
        }
    }
    let blank = |p: &Piece| matches!(p, Piece::Line(l) if l.is_empty());
    let start = pieces
        .iter()
        .position(|p| !blank(p))
        .unwrap_or(pieces.len());
    let end = pieces
        .iter()
        .rposition(|p| !blank(p))
        .map_or(start, |i| i + 1);
    let pieces = &pieces[start..end];
    if pieces.iter().all(|p| matches!(p, Piece::Line(_))) {
        let text: Vec<&str> = pieces
            .iter()
            .map(|p| match p {
                Piece::Line(l) => l.as_str(),
                Piece::Expr(_) => "",
            })
            .collect();
        let text = text.join("\n");
        return quote!(#text);
    }
    let mut parts = Vec::new();
    for (i, piece) in pieces.iter().enumerate() {
        if i > 0 {
            parts.push(quote!("\n"));
        }
        parts.push(match piece {
            Piece::Line(l) => quote!(#l),
            Piece::Expr(e) => quote!(#e),
        });
    }
    quote!(::core::concat!(#(#parts),*))
}
