//! The path through which generated code reaches the runtime: `::health_axum` unless the user
//! overrides it with `crate = "..."` (e.g. when depending on `health-core` directly).

use proc_macro2::TokenStream;
use quote::{quote, ToTokens};
use syn::{Expr, ExprLit, Lit};

/// The root path; generated code names everything as `<root>::__private::Item`.
#[derive(Clone)]
pub(crate) struct Root(TokenStream);

impl Default for Root {
    fn default() -> Self {
        Root(quote!(::health_axum))
    }
}

impl Root {
    /// `<root>::__private`.
    pub(crate) fn private(&self) -> TokenStream {
        let root = &self.0;
        quote!(#root::__private)
    }
}

/// Parses `"some::path"` from `crate = "some::path"`.
pub(crate) fn parse_crate_path(expr: &Expr) -> syn::Result<Root> {
    match expr {
        Expr::Lit(ExprLit {
            lit: Lit::Str(s), ..
        }) => {
            let path: syn::Path = s.parse().map_err(|_| {
                syn::Error::new(
                    s.span(),
                    "`crate` must be a path such as `\"health_core\"` or `\"::my_reexport::health\"`",
                )
            })?;
            let mut tokens = TokenStream::new();
            path.to_tokens(&mut tokens);
            Ok(Root(tokens))
        }
        _ => Err(syn::Error::new_spanned(
            expr,
            "`crate` takes a string, e.g. `crate = \"health_core\"`",
        )),
    }
}
