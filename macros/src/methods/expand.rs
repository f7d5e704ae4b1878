//! Code generation for `#[tool_methods]`: the impl as written, and beside
//! it, in an anonymous const, a hidden type per `#[tool]` method that
//! implements `ToolMethod`, and the `tools` method that binds them all to
//! one service.

use proc_macro2::TokenStream;
use quote::{ToTokens, format_ident, quote};
use syn::ItemImpl;

use crate::ctxt::Ctxt;
use crate::expand::{Pieces, pieces, private_path};
use crate::methods::ast::{self, ToolImpl};
use crate::methods::valid;

pub fn tool_methods(args: TokenStream, input: TokenStream) -> TokenStream {
    let mut cx = Ctxt::default();
    let krate = ast::parse_args(args, &mut cx);
    let item: ItemImpl = match syn::parse2(input.clone()) {
        Ok(item) => item,
        Err(_) => {
            let error = syn::Error::new(
                proc_macro2::Span::call_site(),
                "`#[tool_methods]` goes on an impl block whose methods are tools: `#[tool_methods] impl MyService { #[tool] async fn lookup(&self, ..) .. }`",
            );
            let mut out = error.into_compile_error();
            out.extend(input);
            return out;
        }
    };
    let tools = ToolImpl::from_item(item, krate, &mut cx);
    valid::check(&tools, &mut cx);
    match cx.check() {
        Ok(()) => generate(&tools),
        Err(error) => {
            // The impl goes back as written (less the attributes rustc would
            // reject), so its methods still resolve at their call sites.
            let mut out = error.into_compile_error();
            out.extend(tools.item.to_token_stream());
            out
        }
    }
}

fn generate(tools: &ToolImpl) -> TokenStream {
    let item = &tools.item;
    let self_ty = &item.self_ty;
    let mut types = Vec::new();
    let mut impls = Vec::new();
    let mut names = Vec::new();
    for (i, method) in tools.methods.iter().enumerate() {
        let ident = &method.tool.item.sig.ident;
        let marker = format_ident!("__ToolcallMethod{}", i);
        let (callee, capture) = if method.tool.item.sig.receiver().is_some() {
            (
                quote!(__toolcall_service.#ident),
                quote!(let __toolcall_service = ::core::clone::Clone::clone(__toolcall_receiver);),
            )
        } else {
            (
                quote!(<#self_ty>::#ident),
                quote!(let _ = __toolcall_receiver;),
            )
        };
        let Pieces {
            private,
            args,
            items,
            call,
        } = pieces(
            &method.tool,
            &method.options,
            &method.name,
            &callee,
            &capture,
        );
        impls.push(quote! {
            const _: () = {
                #args

                #[automatically_derived]
                impl #private::ToolMethod for #marker {
                    type Service = #self_ty;

                    #items

                    fn call(
                        __toolcall_receiver: &#private::Arc<#self_ty>,
                        __toolcall_arguments: &str,
                        __toolcall_state: &#private::StateMap,
                    ) -> #private::Result<#private::ToolFuture, #private::CallError> {
                        #call
                    }
                }
            };
        });
        types.push(marker);
        names.push(format!("`{}`", method.name));
    }
    let (private, _) = private_path(&crate::attr::Options {
        krate: tools.krate.clone(),
        ..Default::default()
    });
    let doc = format!(
        "This service's tools ({}), each called on a clone of this `Arc`: register them with `ToolSet::builder().tools(service.tools())`. Made by `#[tool_methods]`.",
        names.join(", ")
    );
    quote! {
        #item

        const _: () = {
            #(
                #[doc(hidden)]
                enum #types {}
            )*

            #(#impls)*

            #[automatically_derived]
            impl #self_ty {
                #[doc = #doc]
                pub fn tools(self: &#private::Arc<Self>) -> #private::Vec<#private::Arc<dyn #private::Tool>> {
                    #private::Vec::from([
                        #(#private::method_tool::<#types>(self)),*
                    ])
                }
            }
        };
    }
}
