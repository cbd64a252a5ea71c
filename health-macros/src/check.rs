//! `#[health_check(...)]`: validates an `async fn` and registers it as a check.
//!
//! The function is emitted unchanged, so it stays callable (and unit-testable) as written.
//! Beside it the macro emits a hidden, uninhabited type *with the same name*: types and
//! functions live in different namespaces, so the pair travels together through `use` and paths,
//! and `#[health(checks(path))]` reaches the check's spec through
//! `<path as RegisteredCheck<State>>::SPEC`.

use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned, ToTokens};
use syn::ext::IdentExt;
use syn::spanned::Spanned;
use syn::{FnArg, ItemFn, ReturnType, Signature, Type};

use crate::args::{parse_meta_list, validate_name, CheckArgs, MetaArg, MetaKind, CHECK_KEYS};
use crate::ctxt::Ctxt;
use crate::root::{parse_crate_path, Root};

/// What the signature says: the state type the function borrows (if any) and its return type.
struct CheckSignature {
    state: Option<Type>,
    output: Type,
}

pub(crate) fn expand(args: TokenStream, item: TokenStream) -> TokenStream {
    let mut cx = Ctxt::default();
    let func: ItemFn = match syn::parse2(item.clone()) {
        Ok(func) => func,
        Err(_) => {
            let span = item
                .clone()
                .into_iter()
                .next()
                .map_or_else(Span::call_site, |t| t.span());
            cx.error_at(
                span,
                "`#[health_check]` goes on an `async fn` that takes no argument or `&State`",
            );
            let mut out = item;
            out.extend(cx.into_compile_errors());
            return out;
        }
    };

    let mut root = None;
    let valid: Vec<&str> = CHECK_KEYS.iter().copied().chain(["crate"]).collect();
    let metas = cx.ok(parse_meta_list(args)).unwrap_or_default();
    let check = CheckArgs::from_meta(metas, &valid, &mut cx, |arg, cx| {
        let known = arg.name() == "crate";
        if known {
            root = crate_arg(arg, cx);
        }
        known
    });
    let sig = check_signature(&func.sig, &mut cx);

    let ident = &func.sig.ident;
    let default_name = ident.unraw().to_string();
    let name = match &check.name {
        Some(name) => name.clone(),
        None => {
            validate_name(
                &default_name,
                ident.span(),
                "; the name defaults to the function's name: give the check one with `name = \"...\"`",
                &mut cx,
            );
            default_name
        }
    };
    let root = root.unwrap_or_default();

    // A `self` receiver means the function sits in an `impl` or trait, where no type can be
    // declared: emit the function and the error only.
    let in_impl = func.sig.receiver().is_some();
    let registration = match sig {
        Some(sig) if !cx.has_errors() => register(&func, &root, &name, &check, &sig),
        _ if in_impl => TokenStream::new(),
        _ => fallback(&func, &root, &name),
    };
    let errors = cx.into_compile_errors();
    quote! {
        #func
        #registration
        #errors
    }
}

fn crate_arg(arg: &MetaArg, cx: &mut Ctxt) -> Option<Root> {
    match &arg.kind {
        MetaKind::Value(expr) => cx.ok(parse_crate_path(expr)),
        _ => {
            cx.error_spanned_by(
                &arg.key,
                "`crate` takes the path of the crate re-exporting the runtime as a string, e.g. `crate = \"health_core\"`",
            );
            None
        }
    }
}

/// Checks everything about the signature that the macro can see; records errors and returns
/// the parts the expansion needs when the signature is usable.
fn check_signature(sig: &Signature, cx: &mut Ctxt) -> Option<CheckSignature> {
    let mut ok = true;
    let ident = &sig.ident;
    if let Some(token) = &sig.constness {
        cx.error_spanned_by(
            token,
            "a `#[health_check]` function cannot be `const`; remove `const`",
        );
        ok = false;
    }
    if sig.asyncness.is_none() {
        cx.error_spanned_by(
            sig.fn_token,
            format!("`#[health_check]` needs an `async fn`: write `async fn {ident}(...)`"),
        );
        ok = false;
    }
    if let Some(token) = &sig.unsafety {
        cx.error_spanned_by(
            token,
            "a `#[health_check]` function cannot be `unsafe`; keep any unsafe code inside its body",
        );
        ok = false;
    }
    if let Some(abi) = &sig.abi {
        cx.error_spanned_by(
            abi,
            "a `#[health_check]` function cannot declare an ABI; remove it",
        );
        ok = false;
    }
    if !sig.generics.params.is_empty() {
        cx.error_spanned_by(
            &sig.generics,
            "a `#[health_check]` function cannot be generic: the registry is built at compile time \
             for one concrete state; remove the generic parameters and take `&YourState`",
        );
        ok = false;
    } else if let Some(clause) = &sig.generics.where_clause {
        cx.error_spanned_by(
            clause,
            "a `#[health_check]` function cannot have a `where` clause; remove it",
        );
        ok = false;
    }
    if let Some(variadic) = &sig.variadic {
        cx.error_spanned_by(variadic, "a `#[health_check]` function cannot be variadic");
        ok = false;
    }

    let mut state = None;
    for (i, input) in sig.inputs.iter().enumerate() {
        match input {
            FnArg::Receiver(receiver) => {
                cx.error_spanned_by(
                    receiver,
                    "a `#[health_check]` function cannot take `self`: make it a free function \
                     outside the `impl` block that takes the state as `state: &YourState`",
                );
                ok = false;
            }
            FnArg::Typed(_) if i > 0 => {
                cx.error_spanned_by(
                    input,
                    "a `#[health_check]` function takes at most one parameter, the state as \
                     `&YourState`; remove this one and read what you need from the state",
                );
                ok = false;
            }
            FnArg::Typed(typed) => match &*typed.ty {
                Type::Reference(r) if r.mutability.is_some() => {
                    cx.error_spanned_by(
                        r.mutability,
                        "checks run concurrently, so they borrow the state shared: take `&YourState`, \
                         not `&mut YourState` (use interior mutability for what must change)",
                    );
                    ok = false;
                }
                Type::Reference(r) if r.lifetime.as_ref().is_some_and(|l| l.ident != "_") => {
                    cx.error_spanned_by(
                        &r.lifetime,
                        "remove the lifetime: a `#[health_check]` function takes the state as `&YourState`",
                    );
                    ok = false;
                }
                Type::Reference(r) if matches!(&*r.elem, Type::ImplTrait(_)) => {
                    cx.error_spanned_by(
                        &r.elem,
                        "a `#[health_check]` function cannot be generic: take the concrete state, `&YourState`",
                    );
                    ok = false;
                }
                Type::Reference(r) => state = Some((*r.elem).clone()),
                Type::ImplTrait(_) => {
                    cx.error_spanned_by(
                        &typed.ty,
                        "a `#[health_check]` function cannot be generic: take the concrete state, `&YourState`",
                    );
                    ok = false;
                }
                other => {
                    cx.error_spanned_by(
                        other,
                        format!(
                            "a `#[health_check]` function borrows the state: take `&{}` instead of `{}`",
                            other.to_token_stream(),
                            other.to_token_stream()
                        ),
                    );
                    ok = false;
                }
            },
        }
    }

    let output = match &sig.output {
        ReturnType::Type(_, ty) => Some((**ty).clone()),
        ReturnType::Default => {
            cx.error_spanned_by(
                ident,
                "a `#[health_check]` function must return `Result<(), E>` with `E: Display`, or \
                 `CheckOutcome`: add a return type, e.g. `-> Result<(), std::io::Error>`",
            );
            None
        }
    };
    match output {
        Some(output) if ok => Some(CheckSignature { state, output }),
        _ => None,
    }
}

/// The function's `#[cfg(...)]` attributes: whatever is emitted beside it exists exactly when
/// it does.
fn cfgs(func: &ItemFn) -> impl Iterator<Item = &syn::Attribute> {
    func.attrs.iter().filter(|a| a.path().is_ident("cfg"))
}

/// The hidden type that carries the registration, named like the function.
fn marker(func: &ItemFn) -> TokenStream {
    let vis = &func.vis;
    let ident = &func.sig.ident;
    let cfgs = cfgs(func);
    quote! {
        #(#cfgs)*
        #[doc(hidden)]
        #[doc = "Registry entry of the `#[health_check]` function of the same name."]
        #[allow(non_camel_case_types, dead_code, unreachable_pub)]
        #vis enum #ident {}
    }
}

fn register(
    func: &ItemFn,
    root: &Root,
    name: &str,
    check: &CheckArgs,
    sig: &CheckSignature,
) -> TokenStream {
    let p = root.private();
    let ident = &func.sig.ident;
    let marker = marker(func);
    let output_span = sig.output.span();
    let async_span = func.sig.asyncness.span();
    let call = match &sig.state {
        Some(_) => quote!(#ident(state)),
        None => quote!(#ident()),
    };
    let output = quote_spanned!(output_span=> __health_check_output);
    let into = match result_parts(&sig.output) {
        // `Result<T, E>` as written: each half is converted on its own, spanned on its own type,
        // so an error type that is not `Display` is reported under the error type.
        Some((ok, err)) => {
            let ok = on_type(ok, &p, "CheckOk", "into_outcome", "ok");
            let err = on_type(err, &p, "CheckError", "into_outcome", "error");
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
    };
    let boxed = quote_spanned! {async_span=>
        #p::Box::pin(async move {
            let #output = #call.await;
            #into
        })
    };
    match &sig.state {
        Some(state) => {
            let spec = check.spec_expr(root, name, quote!(__health_check_run));
            let cfgs = cfgs(func);
            quote! {
                #marker
                #(#cfgs)*
                impl #p::RegisteredCheck<#state> for #ident {
                    const SPEC: #p::CheckSpec<#state> = {
                        fn __health_check_run(state: &#state) -> #p::BoxFuture<'_, #p::CheckOutcome> {
                            #boxed
                        }
                        #spec
                    };
                }
            }
        }
        None => {
            let spec = check.spec_expr(root, name, quote!(__health_check_run::<S>));
            let cfgs = cfgs(func);
            quote! {
                #marker
                #(#cfgs)*
                impl<S> #p::RegisteredCheck<S> for #ident {
                    const SPEC: #p::CheckSpec<S> = {
                        fn __health_check_run<S>(_: &S) -> #p::BoxFuture<'_, #p::CheckOutcome> {
                            #boxed
                        }
                        #spec
                    };
                }
            }
        }
    }
}

/// The `T` and `E` of a return type written `Result<T, E>` (the standard type's path with two
/// type arguments, neither of them `impl Trait`).
fn result_parts(ty: &Type) -> Option<(&Type, &Type)> {
    let Type::Path(path) = ty else { return None };
    if path.qself.is_some() {
        return None;
    }
    // `Result`, `result::Result` or `std::result::Result` (`core::`, a leading `::`): the
    // standard type as written. Another crate's `Result` alias may wrap its error
    // (`error_stack::Result<T, C>` is `Result<T, Report<C>>`): converted as a whole.
    let names: Vec<String> = path
        .path
        .segments
        .iter()
        .map(|s| s.ident.to_string())
        .collect();
    let standard = match names
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["Result"] => path.path.leading_colon.is_none(),
        ["result", "Result"] => path.path.leading_colon.is_none(),
        ["std" | "core", "result", "Result"] => true,
        _ => false,
    };
    if !standard {
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

/// On error: still register the function for every state, with a spec that is never run, so a
/// `#[health(checks(...))]` naming it adds no second error to the first.
fn fallback(func: &ItemFn, root: &Root, name: &str) -> TokenStream {
    let p = root.private();
    let ident = &func.sig.ident;
    let marker = marker(func);
    let cfgs = cfgs(func);
    quote! {
        #marker
        #(#cfgs)*
        impl<S> #p::RegisteredCheck<S> for #ident {
            const SPEC: #p::CheckSpec<S> = {
                fn __health_check_run<S>(_: &S) -> #p::BoxFuture<'_, #p::CheckOutcome> {
                    ::core::unreachable!("this check failed to compile")
                }
                #p::CheckSpec::new(#name, __health_check_run::<S>)
            };
        }
    }
}
