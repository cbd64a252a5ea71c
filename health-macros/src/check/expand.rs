//! Code generation for `#[health_check]`: beside the function, emitted unchanged, a hidden
//! uninhabited type *with the same name* that implements `RegisteredCheck<State>`. Types and
//! functions live in different namespaces, so the pair travels together through `use` and
//! paths, and `#[health(checks(path))]` reaches the check's spec through
//! `<path as RegisteredCheck<State>>::SPEC`.

use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned, ToTokens};
use syn::spanned::Spanned;
use syn::Type;

use crate::args::expand::spec_expr;
use crate::marker::{cfgs, marker};
use crate::root::Root;

use super::ast::Input;

/// The function, its marker type and the registration. Only called on valid input, whose
/// return type is written.
pub(crate) fn register(input: &Input, root: &Root, name: &str) -> TokenStream {
    let func = &input.func;
    let p = root.private();
    let ident = &func.sig.ident;
    let marker = marker(func);
    let cfgs = cfgs(func);
    let run = run_fn(input, &p);
    let (generics, state, spec) = match &input.state {
        Some(state) => (
            quote!(),
            state.to_token_stream(),
            spec_expr(&input.args, root, name, quote!(__health_check_run)),
        ),
        None => (
            quote!(<S>),
            quote!(S),
            spec_expr(&input.args, root, name, quote!(__health_check_run::<S>)),
        ),
    };
    quote! {
        #func
        #marker
        #(#cfgs)*
        #[automatically_derived]
        impl #generics #p::RegisteredCheck<#state> for #ident {
            const SPEC: #p::CheckSpec<#state> = {
                #run
                #spec
            };
        }
    }
}

/// `fn __health_check_run(state: &State) -> BoxFuture<CheckOutcome>`, calling the function
/// (generic over the state when the function takes none).
fn run_fn(input: &Input, p: &TokenStream) -> TokenStream {
    let ident = &input.func.sig.ident;
    let async_span = input.func.sig.asyncness.span();
    let output_ty = input
        .output
        .as_ref()
        .expect("validated: the return type is written");
    let output_span = output_ty.span();
    let output = quote_spanned!(output_span=> __health_check_output);
    let into = into_outcome(output_ty, &output, p);
    let (generics, state, call) = match &input.state {
        Some(state) => (quote!(), quote!(state: &#state), quote!(#ident(state))),
        None => (quote!(<S>), quote!(_: &S), quote!(#ident())),
    };
    let boxed = quote_spanned! {async_span=>
        #p::Box::pin(async move {
            let #output = #call.await;
            #into
        })
    };
    quote! {
        fn __health_check_run #generics (#state) -> #p::BoxFuture<'_, #p::CheckOutcome> {
            #boxed
        }
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
