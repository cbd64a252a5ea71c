//! `#[async_trait]` as `health_axum` exports it, for code written when `HealthCheck` was an
//! `#[async_trait]` trait. `HealthCheck` is now a native async trait: an `async fn check` in
//! its impl compiles as written, and the `async-trait` crate's rewrite of it (a method returning
//! a boxed future) no longer matches the trait (E0195). So on an `impl ... HealthCheck for ...`
//! block the attribute does nothing; on anything else (a trait of the user's own, its impls) it
//! is the `async-trait` crate's attribute, reached through `__private`.
//!
//! The impl's trait is recognised by the last segment of its path as written, `HealthCheck`:
//! a macro cannot resolve names, and the path is how users reach the trait (`HealthCheck`,
//! `health_axum::HealthCheck`, an alias imported under that name). A trait of the user's own
//! named `HealthCheck` is therefore not rewritten in its impls: use the `async-trait` crate's
//! attribute directly for it. With `health-axum` renamed in Cargo.toml, give the path:
//! `#[async_trait(crate = "my_name")]`.

use proc_macro2::TokenStream;
use quote::quote;

use crate::root::Root;

/// The expansion of `#[async_trait(args)] item`.
pub(crate) fn async_trait(args: TokenStream, item: TokenStream) -> TokenStream {
    if implements_health_check(&item) {
        // The native trait takes the impl as written; `args` (`?Send`) cannot apply to it,
        // whose future must be `Send`, and rustc says so if it is not.
        return item;
    }
    // Everything else is the real attribute's: its own errors, for input it cannot take.
    // `health_axum` is the only crate exporting this attribute, so the default root is right,
    // unless the dependency is renamed: then `crate = "..."`, as for the other two macros.
    let (root, args) = match take_crate_path(args) {
        Ok(split) => split,
        Err(error) => {
            let error = error.to_compile_error();
            return quote!(#item #error);
        }
    };
    let p = root.private();
    let args = (!args.is_empty()).then(|| quote!((#args)));
    quote! {
        #[#p::async_trait #args]
        #item
    }
}

/// Whether `item` is an `impl ... HealthCheck for ...` block.
fn implements_health_check(item: &TokenStream) -> bool {
    let Ok(syn::Item::Impl(block)) = syn::parse2::<syn::Item>(item.clone()) else {
        return false;
    };
    block
        .trait_
        .as_ref()
        .and_then(|(_, path, _)| path.segments.last())
        .is_some_and(|segment| segment.ident == "HealthCheck")
}

/// Splits `crate = "path"` off the arguments (wherever it is among them); the rest, such as
/// `?Send`, is the `async-trait` crate's.
fn take_crate_path(args: TokenStream) -> syn::Result<(Root, TokenStream)> {
    use proc_macro2::TokenTree;
    let tokens: Vec<TokenTree> = args.into_iter().collect();
    let mut parts: Vec<Vec<TokenTree>> = vec![Vec::new()];
    for token in tokens {
        match &token {
            TokenTree::Punct(p) if p.as_char() == ',' => parts.push(Vec::new()),
            _ => parts.last_mut().expect("one part at least").push(token),
        }
    }
    let mut root = Root::default();
    let mut rest: Vec<TokenStream> = Vec::new();
    for part in parts.into_iter().filter(|part| !part.is_empty()) {
        let is_crate = matches!(
            part.as_slice(),
            [TokenTree::Ident(key), TokenTree::Punct(eq), ..] if key == "crate" && eq.as_char() == '='
        );
        if is_crate {
            let value: TokenStream = part.into_iter().skip(2).collect();
            root = crate::root::parse_crate_path(&syn::parse2(value)?)?;
        } else {
            rest.push(part.into_iter().collect());
        }
    }
    Ok((root, quote!(#(#rest),*)))
}
