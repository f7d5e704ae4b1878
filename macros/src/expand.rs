//! Code generation for `#[tool]`: the fn as written, a hidden type of the
//! same name in the type namespace that implements `ToolFn`, and the
//! arguments struct the schema and the parser are derived from.

use proc_macro2::TokenStream;
use quote::{ToTokens, format_ident, quote, quote_spanned};
use syn::ext::IdentExt;
use syn::spanned::Spanned;
use syn::{GenericArgument, Item, ItemFn, PathArguments, ReturnType, Type};

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
                Ok(Item::Verbatim(_)) | Err(_) => {
                    match syn::parse2::<syn::TraitItemFn>(input.clone()) {
                        Ok(f) if f.default.is_none() => {
                            "a fn without a body (`#[tool]` goes on free fns)"
                        }
                        _ => "this item",
                    }
                }
                Ok(item) => describe(&item),
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
    valid::check_keys(&tool, &options, &mut cx);
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
    let spawn = options.spawn;
    let reads = &options.reads;
    let writes = &options.writes;
    let max_concurrency = match &options.max_concurrency {
        Some(n) => quote!(#private::NonZeroUsize::new(#n)),
        None => quote!(::core::option::Option::None),
    };
    let strict = options.strict.unwrap_or(true);
    let mut hints = Vec::new();
    if let Some(title) = &options.title {
        hints.push(quote!(.with_title(#title)));
    }
    for (setter, value) in [
        ("with_read_only", options.read_only),
        ("with_destructive", options.destructive),
        ("with_idempotent", options.idempotent),
        ("with_open_world", options.open_world),
    ] {
        if let Some(value) = value {
            let setter = syn::Ident::new(setter, proc_macro2::Span::call_site());
            hints.push(quote!(.#setter(#value)));
        }
    }
    let return_type = match &item.sig.output {
        ReturnType::Default => quote!(()),
        ReturnType::Type(_, ty) => quote!(#ty),
    };

    let mut fields = Vec::new();
    let mut field_names = Vec::new();
    let mut state_lets = Vec::new();
    let mut state_needs = Vec::new();
    let mut call_args = Vec::new();
    for (i, param) in tool.params.iter().enumerate() {
        match param {
            Param::Arg {
                ident,
                ty,
                docs,
                field_attrs,
            } => {
                let doc = (!docs.is_empty()).then(|| quote!(#[doc = #docs]));
                // A field that is not an `Option` is parsed through
                // `__toolcall_de`, named with the type's span: a type without
                // `Deserialize` is then one error on that type, where serde's
                // own code would blame it three times, once on `#[tool]`.
                // `Option`s keep serde's handling (a missing key is `None`),
                // and so does a field with its own `with`.
                let via = (!is_option(ty) && !has_serde_with(field_attrs)).then(|| {
                    let path = syn::LitStr::new("__toolcall_de", ty.span());
                    quote!(#[serde(deserialize_with = #path)])
                });
                // The type's own span, so a missing `JsonSchema` impl is
                // reported on the user's type.
                fields.push(quote_spanned!(ty.span()=> #doc #(#field_attrs)* #via #ident: #ty));
                field_names.push(ident.clone());
                call_args.push(quote!(#ident));
            }
            Param::State { inner } => {
                let var = format_ident!("__toolcall_state_{}", i);
                // Spanned on `T`, so a `T` that cannot be state is blamed there.
                state_lets.push(quote_spanned!(inner.span()=>
                    let #var: #inner = __toolcall_state.get::<#inner>()?;
                ));
                state_needs.push(quote!(#private::StateNeed::of::<#inner>()));
                call_args.push(quote!(#private::State(#var)));
            }
        }
    }

    let reply = reply(&item.sig.output, &private);
    let blocking = item.sig.asyncness.is_none();
    let run = if item.sig.asyncness.is_some() {
        quote! {
            #private::Box::pin(async move {
                let __toolcall_ret = #ident(#(#call_args),*).await;
                #reply
            })
        }
    } else {
        quote! {
            #private::Box::pin(#private::run_blocking(move || {
                let __toolcall_ret = #ident(#(#call_args),*);
                #reply
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
            /// Parse a parameter, with the bound spanned on its type.
            #[allow(dead_code)]
            fn __toolcall_de<'de, D, T>(deserializer: D) -> ::core::result::Result<T, D::Error>
            where
                D: #private::serde::Deserializer<'de>,
                T: #private::serde::Deserialize<'de>,
            {
                T::deserialize(deserializer)
            }

            /// A successful value: serialised, a string as it is.
            #[allow(dead_code)]
            fn __toolcall_serialize<T: #private::serde::Serialize + ?::core::marker::Sized>(
                value: &T,
            ) -> #private::ToolReply {
                // Named in full: the local traits below answer the same method name.
                #private::ViaSerialize::__toolcall_reply(&&#private::Wrap(value))
            }

            // Autoref dispatch for return types the macro cannot read (aliases
            // of `Result`): the receiver `&&Wrap<R>` finds `__toolcall_ViaResult`
            // first when `R` is a `Result` with `E: Display`, and
            // `__toolcall_ViaValue` one deref later for any `R`. Its `Serialize`
            // bound sits on the method, so a type that is neither is blamed
            // once, on the return type, not as "method not found".
            #[allow(non_camel_case_types, dead_code)]
            trait __toolcall_ViaResult {
                fn __toolcall_reply(&self) -> #private::ToolReply;
            }
            impl<T, E> __toolcall_ViaResult for &#private::Wrap<'_, ::core::result::Result<T, E>>
            where
                T: #private::serde::Serialize,
                E: ::core::fmt::Display,
            {
                fn __toolcall_reply(&self) -> #private::ToolReply {
                    match self.0 {
                        ::core::result::Result::Ok(value) => __toolcall_serialize(value),
                        ::core::result::Result::Err(error) => ::core::result::Result::Err(#private::ToolError::new(__toolcall_display(error))),
                    }
                }
            }
            #[allow(non_camel_case_types, dead_code)]
            trait __toolcall_ViaValue<T: ?::core::marker::Sized> {
                fn __toolcall_reply(&self) -> #private::ToolReply
                where
                    T: #private::serde::Serialize;
            }
            impl<T: ?::core::marker::Sized> __toolcall_ViaValue<T> for #private::Wrap<'_, T> {
                fn __toolcall_reply(&self) -> #private::ToolReply
                where
                    T: #private::serde::Serialize,
                {
                    __toolcall_serialize(self.0)
                }
            }

            /// An error value: its `Display` text.
            #[allow(dead_code)]
            fn __toolcall_display<E: ::core::fmt::Display + ?::core::marker::Sized>(
                error: &E,
            ) -> ::std::string::String {
                ::std::string::ToString::to_string(error)
            }

            #[derive(#private::serde::Deserialize, #private::schemars::JsonSchema)]
            #[serde(crate = #serde_path, deny_unknown_fields)]
            #[schemars(crate = #schemars_path)]
            #[allow(non_camel_case_types)]
            struct __toolcall_args {
                #(#fields,)*
            }

            impl #private::ToolFn for #ident {
                const NAME: &'static str = #name;
                const DESCRIPTION: &'static str = #description;
                const POLICY: #private::ToolPolicy = #private::ToolPolicy::DEFAULT
                    .with_timeout(#timeout)
                    .with_exclusive(#exclusive)
                    .with_strict(#strict)
                    .with_blocking(#blocking)
                    .with_spawn(#spawn)
                    .with_reads(&[#(#reads),*])
                    .with_writes(&[#(#writes),*])
                    .with_max_concurrency(#max_concurrency);
                const ANNOTATIONS: #private::ToolAnnotations =
                    #private::ToolAnnotations::NONE #(#hints)*;

                fn parameters(
                    __toolcall_generator: &mut #private::schemars::SchemaGenerator,
                ) -> #private::serde_json::Value {
                    #private::parameters_of::<__toolcall_args>(__toolcall_generator)
                }

                fn output_schema(
                    __toolcall_generator: &mut #private::schemars::SchemaGenerator,
                ) -> ::core::option::Option<#private::serde_json::Value> {
                    // The schema of the value a successful call returns, when
                    // it is `JsonSchema` (autoref: `Result<T, E>` gives `T`'s).
                    #[allow(unused_imports)]
                    use #private::{OutputOfResult as _, OutputOfValue as _, NoOutput as _};
                    (&&&#private::OutputType::<#return_type>::new()).__toolcall_output_schema(__toolcall_generator)
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

/// The expression that turns `__toolcall_ret` into the tool's reply.
///
/// A return type spelled `Result<T, E>` (any path ending in `Result`, so
/// `io::Result<T>` too) is matched here, with `T: Serialize` and
/// `E: Display` required by calls spanned on `T` and `E`: a missing impl is
/// one error on the type at fault. Any other type goes through the autoref
/// dispatch of `__toolcall_ViaResult`/`__toolcall_ViaValue`, which also takes
/// aliases of `Result`.
fn reply(output: &ReturnType, private: &TokenStream) -> TokenStream {
    let ty = match output {
        ReturnType::Default => return quote!(__toolcall_serialize(&__toolcall_ret)),
        ReturnType::Type(_, ty) => ty,
    };
    if let Type::Path(path) = &**ty
        && path.qself.is_none()
        && let Some(last) = path.path.segments.last()
        && last.ident == "Result"
        && let PathArguments::AngleBracketed(args) = &last.arguments
        && (1..=2).contains(&args.args.len())
    {
        let mut types = args.args.iter().map(|arg| match arg {
            GenericArgument::Type(t) => t.span(),
            _ => ty.span(),
        });
        let ok_span = types.next().unwrap_or_else(|| ty.span());
        let err_span = types.next().unwrap_or_else(|| ty.span());
        let ok = quote_spanned!(ok_span=> __toolcall_serialize(__toolcall_value));
        let err = quote_spanned!(err_span=> #private::ToolError::new(__toolcall_display(__toolcall_error)));
        return quote! {
            match &__toolcall_ret {
                ::core::result::Result::Ok(__toolcall_value) => #ok,
                ::core::result::Result::Err(__toolcall_error) => ::core::result::Result::Err(#err),
            }
        };
    }
    quote_spanned!(ty.span()=> (&&#private::Wrap(&__toolcall_ret)).__toolcall_reply())
}

/// Whether a type is spelled `Option<..>` (any path ending in `Option`).
fn is_option(ty: &Type) -> bool {
    matches!(ty, Type::Path(p) if p.qself.is_none() && p.path.segments.last().is_some_and(|s| s.ident == "Option"))
}

/// Whether `#[serde(...)]` attributes already say how to deserialize the field.
fn has_serde_with(attrs: &[syn::Attribute]) -> bool {
    attrs.iter().any(|attr| {
        attr.path().is_ident("serde") && {
            let text = attr.meta.to_token_stream().to_string();
            text.contains("with")
        }
    })
}
