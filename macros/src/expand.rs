//! Code generation for `#[tool]`: the fn as written, a hidden type of the
//! same name in the type namespace that implements `ToolFn`, and the
//! arguments struct the schema and the parser are derived from.

use proc_macro2::TokenStream;
use quote::{ToTokens, format_ident, quote, quote_spanned};
use syn::ext::IdentExt;
use syn::spanned::Spanned;
use syn::{Item, ItemFn};

use crate::ast::{Param, ToolFn};
use crate::ctxt::Ctxt;
use crate::{attr, valid};

pub fn tool(args: TokenStream, input: TokenStream) -> TokenStream {
    let mut cx = Ctxt::default();
    let options = attr::parse(args, &mut cx);
    let item: ItemFn = match syn::parse2(input.clone()) {
        Ok(item) => item,
        Err(_) => {
            let what = match syn::parse2::<Item>(input.clone()) {
                Ok(item) => describe(&item),
                Err(_) => "this item",
            };
            let error = syn::Error::new(
                first_token_span(&input),
                format!("`#[tool]` goes on a fn, not on {what}"),
            );
            let mut out = error.into_compile_error();
            out.extend(input);
            return out;
        }
    };
    let tool = ToolFn::from_item(item, &mut cx);
    let (name, name_tokens): (String, TokenStream) = match &options.name {
        Some(lit) => (lit.value(), lit.to_token_stream()),
        None => (
            tool.item.sig.ident.unraw().to_string(),
            tool.item.sig.ident.to_token_stream(),
        ),
    };
    valid::check(&tool, &name, &name_tokens, &mut cx);
    match cx.check() {
        Ok(()) => generate(&tool, &options, &name),
        Err(error) => {
            // Re-emit the fn so the one mistake does not cascade into
            // "cannot find function" errors at every call site.
            let mut out = error.into_compile_error();
            out.extend(tool.item.into_token_stream());
            out
        }
    }
}

fn describe(item: &Item) -> &'static str {
    match item {
        Item::Struct(_) => "a struct",
        Item::Enum(_) => "an enum",
        Item::Union(_) => "a union",
        Item::Impl(_) => "an impl block (put `#[tool]` on free fns and take state as `State<T>`)",
        Item::Trait(_) => "a trait",
        Item::Mod(_) => "a module",
        Item::Const(_) => "a const",
        Item::Static(_) => "a static",
        Item::Type(_) => "a type alias",
        Item::Use(_) => "a use declaration",
        _ => "this item",
    }
}

fn first_token_span(input: &TokenStream) -> proc_macro2::Span {
    // Skip outer attributes (`#` and its bracket group) to blame the keyword.
    let mut tokens = input.clone().into_iter().peekable();
    while let Some(token) = tokens.next() {
        match &token {
            proc_macro2::TokenTree::Punct(p) if p.as_char() == '#' => {
                tokens.next();
            }
            proc_macro2::TokenTree::Ident(i) if i == "pub" => {
                if matches!(tokens.peek(), Some(proc_macro2::TokenTree::Group(_))) {
                    tokens.next();
                }
            }
            other => return other.span(),
        }
    }
    proc_macro2::Span::call_site()
}

fn generate(tool: &ToolFn, options: &attr::Options, name: &str) -> TokenStream {
    let krate = options
        .krate
        .clone()
        .unwrap_or_else(|| syn::parse_quote!(::toolcall));
    let private = quote!(#krate::__private);
    let krate_text = krate.to_token_stream().to_string().replace(' ', "");
    let serde_path = format!("{krate_text}::__private::serde");
    let schemars_path = format!("{krate_text}::__private::schemars");

    let item = &tool.item;
    let ident = &item.sig.ident;
    let vis = &item.vis;
    let description = options
        .description
        .as_ref()
        .map_or_else(|| tool.docs.clone(), syn::LitStr::value);
    let timeout = match options.timeout_ms {
        Some(ms) => quote!(::core::option::Option::Some(#private::Duration::from_millis(#ms))),
        None => quote!(::core::option::Option::None),
    };
    let exclusive = options.exclusive;
    let strict = options.strict.unwrap_or(true);

    let mut fields = Vec::new();
    let mut field_names = Vec::new();
    let mut state_lets = Vec::new();
    let mut state_needs = Vec::new();
    let mut call_args = Vec::new();
    for (i, param) in tool.params.iter().enumerate() {
        match param {
            Param::Arg { ident, ty, docs, field_attrs } => {
                let doc = (!docs.is_empty()).then(|| quote!(#[doc = #docs]));
                // The type's own span, so a missing `JsonSchema` or
                // `Deserialize` impl is reported on the user's type.
                fields.push(quote_spanned!(ty.span()=> #doc #(#field_attrs)* #ident: #ty));
                field_names.push(ident.clone());
                call_args.push(quote!(#ident));
            }
            Param::State { inner } => {
                let var = format_ident!("__toolcall_state_{}", i);
                state_lets.push(quote!(let #var: #inner = __toolcall_state.get::<#inner>()?;));
                state_needs.push(quote!(#private::StateNeed::of::<#inner>()));
                call_args.push(quote!(#private::State(#var)));
            }
        }
    }

    let run = if item.sig.asyncness.is_some() {
        quote! {
            #private::Box::pin(async move {
                let __toolcall_ret = #ident(#(#call_args),*).await;
                (&#private::Wrap(&__toolcall_ret)).__toolcall_reply()
            })
        }
    } else {
        quote! {
            #private::Box::pin(#private::run_blocking(move || {
                let __toolcall_ret = #ident(#(#call_args),*);
                (&#private::Wrap(&__toolcall_ret)).__toolcall_reply()
            }))
        }
    };
    let struct_doc = format!(
        "The `{name}` tool made by `#[tool]`: register it with `ToolSet::builder().tool::<{}>()`.",
        ident.unraw()
    );

    quote! {
        #item

        #[doc = #struct_doc]
        #[allow(non_camel_case_types)]
        #vis struct #ident {}

        const _: () = {
            #[allow(unused_imports)]
            use #private::{ViaResult as _, ViaSerialize as _};

            #[derive(#private::serde::Deserialize, #private::schemars::JsonSchema)]
            #[serde(crate = #serde_path, deny_unknown_fields)]
            #[schemars(crate = #schemars_path)]
            #[allow(non_camel_case_types)]
            struct __toolcall_args {
                #(#fields,)*
            }

            impl #private::Tool_ for #ident {
                const NAME: &'static str = #name;
                const DESCRIPTION: &'static str = #description;
                const POLICY: #private::ToolPolicy = #private::ToolPolicy {
                    timeout: #timeout,
                    exclusive: #exclusive,
                    strict: #strict,
                };

                fn parameters(
                    __toolcall_generator: &mut #private::schemars::SchemaGenerator,
                ) -> #private::serde_json::Value {
                    #private::parameters_of::<__toolcall_args>(__toolcall_generator)
                }

                fn state_needs() -> #private::Vec<#private::StateNeed> {
                    #private::Vec::from([#(#state_needs),*])
                }

                fn call(
                    __toolcall_arguments: &str,
                    __toolcall_state: &#private::StateMap,
                ) -> #private::Result<#private::ToolFuture, #private::CallError> {
                    let __toolcall_args { #(#field_names),* } =
                        #private::parse_arguments::<__toolcall_args>(__toolcall_arguments)?;
                    #(#state_lets)*
                    #private::Result::Ok(#run)
                }
            }

            #private::register!(#ident);
        };
    }
}
