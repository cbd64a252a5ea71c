//! Code generation for `#[health_check]`: the function, emitted as written, and the
//! registration through which `#[health(checks(...))]` finds its spec (see [`crate::marker`]):
//! for a free function, a hidden type named like it implementing `RegisteredCheck<State>`; for
//! an associated function of the state, an associated constant. Either way the run function
//! calls the unlisted warning, so it is dead exactly when no `checks(...)` lists the check.

use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned, ToTokens};
use syn::spanned::Spanned;
use syn::Type;

use crate::args::expand::spec_expr;
use crate::marker::{self, cfgs, Site};
use crate::root::Root;

use super::ast::Input;

/// The function and its registration. Only called on valid input, whose return type is
/// written.
pub(crate) fn register(input: &Input, root: &Root, name: &str) -> TokenStream {
    match Site::of(&input.func) {
        Site::Free => register_free(input, root, name),
        Site::Associated => register_associated(input, root, name),
    }
}

/// A free function: the marker type and its `RegisteredCheck` implementation.
fn register_free(input: &Input, root: &Root, name: &str) -> TokenStream {
    let func = marker::function(&input.func);
    let p = root.private();
    let warning = marker::unlisted_warning_fn(&input.func);
    let warning_ident = marker::unlisted_warning(&input.func);
    let ident = &input.func.sig.ident;
    let (generics, state, spec, call) = match &input.state {
        Some(state) => (
            quote!(),
            state.to_token_stream(),
            spec_expr(&input.args, root, name, quote!(__health_check_run)),
            quote!(#ident(__health_check_state)),
        ),
        None => (
            quote!(<S>),
            quote!(S),
            spec_expr(&input.args, root, name, quote!(__health_check_run::<S>)),
            quote!(#ident()),
        ),
    };
    let parameter = match &input.state {
        Some(state) => quote!(__health_check_state: &#state),
        None => quote!(_: &S),
    };
    let body = run_body(input, &p, call);
    let registration = quote! {
        #[automatically_derived]
        impl #generics #p::RegisteredCheck<#state> for #ident {
            const SPEC: #p::CheckSpec<#state> = {
                fn __health_check_run #generics (#parameter) -> #p::BoxFuture<'_, #p::CheckOutcome> {
                    #warning_ident();
                    #body
                }
                #spec
            };
        }
    };
    let marker = marker::marker(&input.func, registration);
    let placeholder = marker::placeholder(&input.func, input.state.as_ref(), &p);
    quote! {
        #func
        #marker
        #warning
        #placeholder
    }
}

/// An associated function of the state: an associated constant holding the spec, and the run
/// function, which is itself the unlisted warning.
fn register_associated(input: &Input, root: &Root, name: &str) -> TokenStream {
    let func = marker::function(&input.func);
    let p = root.private();
    let vis = &input.func.vis;
    let ident = &input.func.sig.ident;
    // At the attribute: rustc's dead-code lint ignores it, and reports the run function alone.
    let mut spec_const = marker::spec_const(ident);
    spec_const.set_span(proc_macro2::Span::call_site());
    let run = marker::unlisted_warning(&input.func);
    let cfgs: Vec<_> = cfgs(&input.func).collect();
    let spec = spec_expr(&input.args, root, name, quote!(Self::#run));
    let body = run_body(input, &p, quote!(Self::#ident(__health_check_state)));
    // Spanned on the function's name, so that rustc's dead-code lint, which ignores items that
    // come from a macro expansion, reports it there when no `checks(...)` lists the check.
    let run_fn = quote_spanned! {ident.span()=>
        #[doc(hidden)]
        #[allow(non_snake_case)]
        fn #run(__health_check_state: &Self) -> #p::BoxFuture<'_, #p::CheckOutcome> {
            #body
        }
    };
    quote! {
        #func
        #(#cfgs)*
        #run_fn
        #(#cfgs)*
        #[doc(hidden)]
        #[allow(non_upper_case_globals)]
        #vis const #spec_const: #p::CheckSpec<Self> = #spec;
    }
}

/// The body of the run function: call the check, await it, convert its result.
fn run_body(input: &Input, p: &TokenStream, call: TokenStream) -> TokenStream {
    let async_span = input.func.sig.asyncness.span();
    let output_ty = input
        .output
        .as_ref()
        .expect("validated: the return type is written");
    let output_span = output_ty.span();
    let output = quote_spanned!(output_span=> __health_check_output);
    let into = into_outcome(output_ty, &output, p);
    quote_spanned! {async_span=>
        #p::Box::pin(async move {
            let #output = #call.await;
            #into
        })
    }
}

/// The conversion of the function's result, named `output`, into a `CheckOutcome`.
fn into_outcome(output_ty: &Type, output: &TokenStream, p: &TokenStream) -> TokenStream {
    let output_span = output_ty.span();
    match result_parts(output_ty) {
        // `Result<T, E>` as written: each half is converted on its own, spanned on its own type,
        // so an error type that is not `Display` is reported under the error type.
        Some((ok, err)) => {
            let ok = on_type(ok, p, "CheckOk", "into_outcome", "ok");
            let err = on_type(err, p, "CheckError", "into_outcome", "error");
            quote_spanned! {output_span=>
                match #output {
                    ::core::result::Result::Ok(ok) => #ok,
                    ::core::result::Result::Err(error) => #err,
                }
            }
        }
        // Anything else (`CheckOutcome`, an alias such as `io::Result<()>`) converts as a whole,
        // spanned on the return type: a type that is not a check result is reported there, once.
        None => quote_spanned!(output_span=> #p::IntoCheckOutcome::into_outcome(#output)),
    }
}

/// The `T` and `E` of a return type written `Result<T, E>` (the standard type's path with two
/// type arguments, neither of them `impl Trait`).
fn result_parts(ty: &Type) -> Option<(&Type, &Type)> {
    let Type::Path(path) = ty else { return None };
    if path.qself.is_some() || !is_standard_result(&path.path) {
        return None;
    }
    let last = path.path.segments.last()?;
    let syn::PathArguments::AngleBracketed(args) = &last.arguments else {
        return None;
    };
    let mut types = args.args.iter().map(|arg| match arg {
        syn::GenericArgument::Type(ty) if !mentions_impl(ty.to_token_stream()) => Some(ty),
        _ => None,
    });
    match (types.next(), types.next(), types.next()) {
        (Some(Some(ok)), Some(Some(err)), None) => Some((ok, err)),
        _ => None,
    }
}

/// `Result`, `result::Result` or `std::result::Result` (`core::`, a leading `::`): the standard
/// type as written. Another crate's `Result` alias may wrap its error
/// (`error_stack::Result<T, C>` is `Result<T, Report<C>>`): it is converted as a whole.
fn is_standard_result(path: &syn::Path) -> bool {
    let names: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    match names.as_slice() {
        ["Result"] | ["result", "Result"] => path.leading_colon.is_none(),
        ["std" | "core", "result", "Result"] => true,
        _ => false,
    }
}

/// Whether `impl` appears anywhere in `tokens` (`impl Trait` cannot be named in a path).
fn mentions_impl(tokens: TokenStream) -> bool {
    tokens.into_iter().any(|token| match token {
        proc_macro2::TokenTree::Ident(ident) => ident == "impl",
        proc_macro2::TokenTree::Group(group) => mentions_impl(group.stream()),
        _ => false,
    })
}

/// `<ty as <p>::Trait>::method(arg)`, spanned from the first to the last token of `ty`, so that
/// an unimplemented `Trait` is reported under the whole of `ty`.
fn on_type(ty: &Type, p: &TokenStream, trait_ident: &str, method: &str, arg: &str) -> TokenStream {
    let mut tokens = ty.to_token_stream().into_iter();
    let first = tokens.next().map_or_else(Span::call_site, |t| t.span());
    let last = tokens.last().map_or(first, |t| t.span());
    let p = respan(p.clone(), last);
    let trait_ident = syn::Ident::new(trait_ident, last);
    let method = syn::Ident::new(method, last);
    let arg = syn::Ident::new(arg, last);
    let open = quote_spanned!(first=> <);
    let close = quote_spanned!(last=> as #p::#trait_ident>::#method(#arg));
    quote!(#open #ty #close)
}

/// `tokens` with every token spanned at `span`.
fn respan(tokens: TokenStream, span: Span) -> TokenStream {
    tokens
        .into_iter()
        .map(|mut token| {
            if let proc_macro2::TokenTree::Group(group) = &token {
                let mut inner =
                    proc_macro2::Group::new(group.delimiter(), respan(group.stream(), span));
                inner.set_span(span);
                token = proc_macro2::TokenTree::Group(inner);
            } else {
                token.set_span(span);
            }
            token
        })
        .collect()
}
