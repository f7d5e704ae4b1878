//! The model of a `#[tool_methods]` impl block: the impl as it is
//! re-emitted, and each `#[tool]` method with its options.

use proc_macro2::TokenStream;
use quote::ToTokens;
use syn::ext::IdentExt;
use syn::parse::Parser;
use syn::{ImplItem, ImplItemFn, ItemFn, ItemImpl, LitStr, Meta};

use crate::ast::ToolFn;
use crate::attr::{self, Options};
use crate::ctxt::Ctxt;

pub struct ToolImpl {
    /// The impl as it is re-emitted: `#[tool]` attributes and parameter
    /// doc comments removed.
    pub item: ItemImpl,
    pub methods: Vec<Method>,
    /// The impl's `crate = ".."`, the default of each method's.
    pub krate: Option<syn::Path>,
}

pub struct Method {
    pub tool: ToolFn,
    pub options: Options,
    pub name: String,
    /// What the name errors point at: the `name = ".."` or the method's name.
    pub name_tokens: TokenStream,
}

/// The options of `#[tool_methods(...)]`: only `crate = ".."`.
pub fn parse_args(args: TokenStream, cx: &mut Ctxt) -> Option<syn::Path> {
    let mut krate = None;
    let parser = syn::meta::parser(|meta| {
        if !meta.path.is_ident("crate") {
            return Err(meta.error(
                "unknown `#[tool_methods]` option: expected `crate = \"path::to::toolcall\"`; options of each tool go in its `#[tool(..)]`",
            ));
        }
        let lit: LitStr = meta.value()?.parse()?;
        krate = Some(lit.parse().map_err(|_| {
            syn::Error::new_spanned(
                &lit,
                "`crate` takes the path toolcall is reachable at, such as `crate = \"my_crate::toolcall\"`",
            )
        })?);
        Ok(())
    });
    if let Err(error) = parser.parse2(args) {
        cx.push(error);
    }
    krate
}

impl ToolImpl {
    pub fn from_item(mut item: ItemImpl, krate: Option<syn::Path>, cx: &mut Ctxt) -> ToolImpl {
        let mut methods = Vec::new();
        for impl_item in &mut item.items {
            let ImplItem::Fn(f) = impl_item else {
                continue;
            };
            let Some(at) = f.attrs.iter().position(is_tool_attr) else {
                continue;
            };
            let attribute = f.attrs.remove(at);
            let args = match attribute.meta {
                Meta::Path(_) => TokenStream::new(),
                Meta::List(list) => list.tokens,
                Meta::NameValue(nv) => {
                    cx.error_spanned_by(&nv, "write `#[tool]` or `#[tool(..)]`");
                    TokenStream::new()
                }
            };
            let mut options = attr::parse(args, cx);
            if options.krate.is_none() {
                options.krate.clone_from(&krate);
            }
            let placeholder = ImplItemFn {
                attrs: Vec::new(),
                vis: syn::Visibility::Inherited,
                modifiers: f.modifiers.clone(),
                sig: f.sig.clone(),
                block: syn::parse_quote!({}),
            };
            let owned = std::mem::replace(f, placeholder);
            let tool = ToolFn::from_item(
                ItemFn {
                    attrs: owned.attrs,
                    vis: owned.vis,
                    modifiers: owned.modifiers,
                    sig: owned.sig,
                    block: Box::new(owned.block),
                },
                options.krate.as_ref(),
                true,
                cx,
            );
            // The method goes back as the user wrote it, less what rustc
            // would reject on it.
            *f = ImplItemFn {
                attrs: tool.item.attrs.clone(),
                vis: tool.item.vis.clone(),
                modifiers: tool.item.modifiers.clone(),
                sig: tool.item.sig.clone(),
                block: (*tool.item.block).clone(),
            };
            let (name, name_tokens) = match &options.name {
                Some(lit) => (lit.value(), lit.to_token_stream()),
                None => (
                    tool.item.sig.ident.unraw().to_string(),
                    tool.item.sig.ident.to_token_stream(),
                ),
            };
            methods.push(Method {
                tool,
                options,
                name,
                name_tokens,
            });
        }
        ToolImpl {
            item,
            methods,
            krate,
        }
    }
}

/// `#[tool]`, `#[tool(..)]` or a path ending in `tool` (`toolcall::tool`).
pub fn is_tool_attr(attr: &syn::Attribute) -> bool {
    attr.path()
        .segments
        .last()
        .is_some_and(|s| s.ident == "tool")
}
