//! Code generation for `#[tool]`: the fn as written, a hidden type of the
//! same name in the type namespace that implements `ToolFn`, and the
//! arguments struct the schema and the parser are derived from.

use proc_macro2::{Span, TokenStream};
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
    let tool = ToolFn::from_item(item, options.krate.as_ref(), false, &mut cx);
    let (name, name_tokens): (String, TokenStream) = match &options.name {
        Some(lit) => (lit.value(), lit.to_token_stream()),
        None => (
            tool.item.sig.ident.unraw().to_string(),
            tool.item.sig.ident.to_token_stream(),
        ),
    };
    valid::check(&tool, &name, &name_tokens, false, &mut cx);
    valid::check_keys(&tool, &options, &mut cx);
    match cx.check() {
        Ok(()) => generate(&tool, &options, &name),
        Err(error) => {
            // Re-emit the fn so the one mistake does not cascade into
            // "cannot find function" errors at every call site.
            let mut out = error.into_compile_error();
            out.extend(tool.item.to_token_stream());
            out.extend(fallback(&tool, &options, &name));
            out
        }
    }
}

fn describe(item: &Item) -> &'static str {
    match item {
        Item::Struct(_) => "a struct",
        Item::Enum(_) => "an enum",
        Item::Union(_) => "a union",
        Item::Impl(_) => {
            "an impl block (put `#[toolcall::tool_methods]` on the impl, and `#[tool]` on each method that is a tool)"
        }
        Item::Trait(_) => "a trait",
        Item::Mod(_) => "a module",
        Item::Const(_) => "a const",
        Item::Static(_) => "a static",
        Item::Type(_) => "a type alias",
        Item::Use(_) => "a use declaration",
        _ => "this item",
    }
}

fn first_token_span(input: &TokenStream) -> Span {
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
    Span::call_site()
}

/// The path of the runtime's private interface, versioned.
pub(crate) fn private_path(options: &attr::Options) -> (TokenStream, String) {
    let krate = options
        .krate
        .clone()
        .unwrap_or_else(|| syn::parse_quote!(::toolcall));
    let krate_text = krate.to_token_stream().to_string().replace(' ', "");
    (
        quote!(#krate::__private01),
        format!("{krate_text}::__private01"),
    )
}

/// The hidden type named after the fn, in the type namespace. Its name
/// resolves where the user wrote the fn, but it is marked as made by the
/// macro, so lints such as `non_camel_case_types` and `dead_code` leave it
/// alone without an `#[allow]` (which `#![forbid(..)]` would reject).
fn type_ident(ident: &syn::Ident) -> syn::Ident {
    let mut ident = ident.clone();
    ident.set_span(ident.span().resolved_at(Span::call_site()));
    ident
}

fn struct_doc(name: &str, ident: &syn::Ident) -> String {
    format!(
        "The `{name}` tool made by `#[tool]`: register it with `ToolSet::builder().tool::<{}>()`.",
        ident.unraw()
    )
}

/// After an error: the type and a stub `ToolFn` impl, so that the one
/// mistake is not reported again at every place the tool is registered.
fn fallback(tool: &ToolFn, options: &attr::Options, name: &str) -> TokenStream {
    let sig = &tool.item.sig;
    if sig.receiver().is_some() || valid::self_type(sig).is_some() {
        // In an impl: the type could not live beside the fn.
        return TokenStream::new();
    }
    let (private, _) = private_path(options);
    let vis = &tool.item.vis;
    let ident = type_ident(&sig.ident);
    let doc = struct_doc(name, &sig.ident);
    tool_type(
        &doc,
        vis,
        &ident,
        quote! {
            #[automatically_derived]
            impl #private::ToolFn for __ToolcallSelf {
                const NAME: &'static str = #name;
                const DESCRIPTION: &'static str = "";
                const POLICY: #private::ToolPolicy = #private::ToolPolicy::DEFAULT;
                fn parameters(_: &mut #private::schemars::SchemaGenerator) -> #private::serde_json::Value {
                    ::core::unreachable!()
                }
                fn state_needs() -> #private::Vec<#private::StateNeed> {
                    ::core::unreachable!()
                }
                fn call(
                    _: &str,
                    _: &#private::StateMap,
                ) -> #private::Result<#private::ToolFuture, #private::CallError> {
                    ::core::unreachable!()
                }
            }
        },
    )
}

fn generate(tool: &ToolFn, options: &attr::Options, name: &str) -> TokenStream {
    let item = &tool.item;
    let ident = &item.sig.ident;
    let tool_ident = type_ident(ident);
    let vis = &item.vis;
    let struct_doc = struct_doc(name, ident);
    let Pieces {
        private,
        args,
        items,
        call,
    } = pieces(tool, options, name, &quote!(#ident), &TokenStream::new());
    let tool_type = tool_type(
        &struct_doc,
        vis,
        &tool_ident,
        quote! {
            #args

            #[automatically_derived]
            impl #private::ToolFn for __ToolcallSelf {
                #items

                fn call(
                    __toolcall_arguments: &str,
                    __toolcall_state: &#private::StateMap,
                ) -> #private::Result<#private::ToolFuture, #private::CallError> {
                    #call
                }
            }

            #private::register!(__ToolcallSelf);
        },
    );
    quote! {
        #item
        #tool_type
    }
}

/// The parts of a tool's expansion that a free fn and a method share.
pub(crate) struct Pieces {
    /// The path of the runtime's private interface.
    pub private: TokenStream,
    /// The autoref traits in scope and the arguments struct.
    pub args: TokenStream,
    /// The consts and schema fns of `ToolFn` (and `ToolMethod`).
    pub items: TokenStream,
    /// The body of `call`: parse the arguments, take the state, and start
    /// `callee` with them (after `capture`, statements that move what the
    /// call's future needs into place).
    pub call: TokenStream,
}

pub(crate) fn pieces(
    tool: &ToolFn,
    options: &attr::Options,
    name: &str,
    callee: &TokenStream,
    capture: &TokenStream,
) -> Pieces {
    let (private, private_text) = private_path(options);
    let serde_path = format!("{private_text}::serde");
    let schemars_path = format!("{private_text}::schemars");

    let item = &tool.item;
    let description = match &options.description {
        Some(lit) => lit.to_token_stream(),
        None => tool.docs.clone(),
    };
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
            let setter = syn::Ident::new(setter, Span::call_site());
            hints.push(quote!(.#setter(#value)));
        }
    }
    // The schema of the value a successful call returns, when it is
    // `JsonSchema` (autoref: `Result<T, E>` gives `T`'s). An `impl Trait`
    // return type is hidden (and cannot be named here), so it has none: a
    // `fn()` stands for it, which is not `JsonSchema`.
    let return_type = match &item.sig.output {
        ReturnType::Type(_, ty) if has_impl_trait(ty) => quote!(fn()),
        ReturnType::Default => quote!(()),
        ReturnType::Type(_, ty) => quote!(#ty),
    };

    // Parameters with `serde` attributes or `cfg`s go through a derived
    // `Deserialize`, which knows them; the others (nearly all) through the
    // runtime's `Arguments`, which costs each tool one call a parameter
    // instead of a visitor of its own.
    let derived = tool.params.iter().any(|param| match param {
        Param::Arg {
            field_attrs, cfgs, ..
        } => {
            !cfgs.is_empty()
                || field_attrs
                    .iter()
                    .any(|a| !a.path().is_ident("doc") && !a.path().is_ident("schemars"))
        }
        Param::State { .. } => false,
    });
    let mut fields = Vec::new();
    let mut names = Vec::new();
    let mut takes = Vec::new();
    let mut arg_vars = Vec::new();
    let mut arg_types = Vec::new();
    let mut bindings = Vec::new();
    let mut state_lets = Vec::new();
    let mut state_needs = Vec::new();
    let mut call_args = Vec::new();
    for (i, param) in tool.params.iter().enumerate() {
        // Each parameter is bound to a name of its own, so a parameter named
        // like the fn does not hide the fn in the call below.
        let var = format_ident!("__toolcall_arg_{}", i);
        match param {
            Param::Arg {
                ident,
                ty,
                field_attrs,
                cfgs,
            } => {
                // The type's own span, so a missing `Deserialize` or
                // `JsonSchema` impl is reported on the user's type.
                // The field marked as the macro's: the struct is there for
                // its schema and, without `serde` attributes, never built,
                // which `dead_code` would otherwise report on the parameter.
                let field = type_ident(ident);
                fields.push(quote_spanned!(ty.span()=> #(#cfgs)* #(#field_attrs)* #field: #ty));
                bindings.push(quote!(#(#cfgs)* #field: #var));
                let name = ident.unraw().to_string();
                // Spanned on the type: a type that is not `Deserialize` is
                // one error, there.
                takes.push(quote_spanned!(ty.span()=>
                    let #var = __toolcall_args.take::<#ty>(#name)?;
                ));
                names.push(name);
                arg_vars.push(var.clone());
                arg_types.push(ty);
                call_args.push(quote!(#(#cfgs)* #var));
            }
            Param::State { inner, cfgs } => {
                // Spanned on `T`, so a `T` that cannot be state is blamed there.
                state_lets.push(quote_spanned!(inner.span()=>
                    #(#cfgs)* let #var: #inner = __toolcall_state.get::<#inner>()?;
                ));
                state_needs.push(quote!(#(#cfgs)* #private::StateNeed::of::<#inner>()));
                call_args.push(quote!(#(#cfgs)* #private::State(#var)));
            }
        }
    }

    let reply = reply(&item.sig.output, &private);
    let blocking = item.sig.asyncness.is_none();
    // `allow(deprecated)`: a `#[deprecated]` tool is still a tool; the
    // deprecation is for the people who call the fn. (The lint fires on
    // code a macro makes too, so an `#[allow]` is the only way.)
    let run = if item.sig.asyncness.is_some() {
        quote! {
            #private::Box::pin(async move {
                #[allow(deprecated)]
                let __toolcall_ret = #callee(#(#call_args),*).await;
                #reply
            })
        }
    } else {
        quote! {
            #private::Box::pin(#private::run_blocking(move || {
                #[allow(deprecated)]
                let __toolcall_ret = #callee(#(#call_args),*);
                #reply
            }))
        }
    };
    let (derive, parse) = if derived {
        (
            quote!(#[derive(#private::serde::Deserialize, #private::schemars::JsonSchema)]),
            quote! {
                let __ToolcallArgs { #(#bindings),* } =
                    #private::parse_arguments::<__ToolcallArgs>(__toolcall_arguments)?;
            },
        )
    } else if names.is_empty() {
        (
            quote!(#[derive(#private::schemars::JsonSchema)]),
            quote!(#private::arguments(__toolcall_arguments, &[])?;),
        )
    } else {
        (
            quote!(#[derive(#private::schemars::JsonSchema)]),
            // One pass over the object when every type is `Deserialize`
            // (chosen by autoref); field by field when it says no, which
            // builds the message the model reads (or the type's error).
            quote! {
                let (#(#arg_vars,)*) = match (&&#private::Parse::<(#(#arg_types,)*)>::new())
                    .__toolcall_fields(__toolcall_arguments, &[#(#names),*])
                {
                    ::core::option::Option::Some(__toolcall_fields) => __toolcall_fields,
                    ::core::option::Option::None => {
                        let __toolcall_args =
                            #private::arguments(__toolcall_arguments, &[#(#names),*])?;
                        #(#takes)*
                        (#(#arg_vars,)*)
                    }
                };
            },
        )
    };

    Pieces {
        args: quote! {
            use #private::dispatch::*;

            #derive
            #[serde(crate = #serde_path, deny_unknown_fields, rename = "arguments")]
            #[schemars(crate = #schemars_path)]
            struct __ToolcallArgs {
                #(#fields,)*
            }
        },
        items: quote! {
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
                #private::parameters_of::<__ToolcallArgs>(__toolcall_generator)
            }

            fn output_schema(
                __toolcall_generator: &mut #private::schemars::SchemaGenerator,
            ) -> ::core::option::Option<#private::serde_json::Value> {
                (&&&#private::OutputType::<#return_type>::new()).__toolcall_output_schema(__toolcall_generator)
            }

            fn state_needs() -> #private::Vec<#private::StateNeed> {
                #private::Vec::from([#(#state_needs),*])
            }
        },
        call: quote! {
            #parse
            #(#state_lets)*
            #capture
            #private::Result::Ok(#run)
        },
        private,
    }
}

/// The tool's type, named after the fn, with `items` (its impls) inside it.
///
/// One item, so that a `#[tool]` on an associated fn, where no struct can
/// be, is one error ("struct is not supported in `trait`s or `impl`s", on
/// the fn) and nothing else: the items live in the length of a zero-sized
/// field, and implement the traits for an alias of the type declared
/// beside them, which keeps `non_local_definitions` quiet without an
/// `#[allow]` that `#![forbid(..)]` would reject.
fn tool_type(
    doc: &str,
    vis: &syn::Visibility,
    ident: &syn::Ident,
    items: TokenStream,
) -> TokenStream {
    // `pub struct` spanned on the fn's name: the error above points there.
    let span = ident.span();
    let head = quote_spanned!(span=> struct);
    let field = syn::Ident::new("__toolcall", Span::call_site());
    quote! {
        #[doc = #doc]
        #vis #head #ident {
            #[doc(hidden)]
            #field: [(); {
                type __ToolcallSelf = #ident;
                #items
                0
            }],
        }
    }
}

/// The expression that turns `__toolcall_ret` into the tool's reply.
///
/// A return type written `Result<T, E>` (one segment, or
/// `std::result::Result` / `core::result::Result`) is taken to be the
/// standard `Result` and matched here, with `T: Serialize` and
/// `E: Display` required by calls spanned on `T` and `E`: a missing impl is
/// one error on the type at fault. Any other type (`io::Result<T>`, an
/// alias, a `Result` of your own written with its path) goes through the
/// runtime's autoref dispatch, which goes by what the type is.
fn reply(output: &ReturnType, private: &TokenStream) -> TokenStream {
    let ty = match output {
        ReturnType::Default => return quote!(#private::reply_value(&__toolcall_ret)),
        ReturnType::Type(_, ty) => ty,
    };
    if let Some((ok_ty, err_ty)) = std_result(ty) {
        let ok = quote_spanned!(ok_ty.span()=> #private::reply_value(__toolcall_value));
        let err = quote_spanned!(err_ty.span()=> #private::reply_error(__toolcall_error));
        return quote! {
            match &__toolcall_ret {
                ::core::result::Result::Ok(__toolcall_value) => #ok,
                ::core::result::Result::Err(__toolcall_error) => #err,
            }
        };
    }
    quote_spanned!(ty.span()=> (&&#private::Wrap(&__toolcall_ret)).__toolcall_reply())
}

/// Whether a type names an `impl Trait` anywhere (`impl Serialize`,
/// `Result<impl Serialize, E>`).
fn has_impl_trait(ty: &Type) -> bool {
    fn find(tokens: TokenStream) -> bool {
        tokens.into_iter().any(|token| match token {
            proc_macro2::TokenTree::Ident(ident) => ident == "impl",
            proc_macro2::TokenTree::Group(group) => find(group.stream()),
            _ => false,
        })
    }
    find(ty.to_token_stream())
}

/// `T` and `E` of a type written `Result<T, E>`, `std::result::Result<T, E>`
/// or `core::result::Result<T, E>`.
fn std_result(ty: &Type) -> Option<(&Type, &Type)> {
    let (path, names) = crate::ast::plain_path(ty)?;
    let std_path = match names.as_slice() {
        [only] => only == "Result" && path.leading_colon.is_none(),
        [krate, module, last] => {
            (krate == "std" || krate == "core") && module == "result" && last == "Result"
        }
        _ => false,
    };
    if !std_path {
        return None;
    }
    let PathArguments::AngleBracketed(args) = &path.segments.last()?.arguments else {
        return None;
    };
    match (args.args.first()?, args.args.get(1)?) {
        (GenericArgument::Type(ok), GenericArgument::Type(err)) if args.args.len() == 2 => {
            Some((ok, err))
        }
        _ => None,
    }
}
