//! The syntax shared by every attribute of this crate: a comma-separated list of `key`,
//! `key = value` and `key(...)` items. What each key means is decided by the tables in
//! [`crate::keys`] and the parsers of each attribute.

use std::collections::HashSet;

use proc_macro2::TokenStream;
use syn::ext::IdentExt;
use syn::parse::{Parse, ParseStream, Parser};
use syn::punctuated::Punctuated;
use syn::{Expr, Ident, Token};

use crate::ctxt::Ctxt;

/// One `key`, `key = value` or `key(...)` item of an attribute's argument list.
pub(crate) struct MetaArg {
    pub(crate) key: Ident,
    pub(crate) kind: MetaKind,
}

/// The shape of a [`MetaArg`].
pub(crate) enum MetaKind {
    /// `key`
    Flag,
    /// `key = value`
    Value(Expr),
    /// `key(...)`
    List(TokenStream),
}

impl Parse for MetaArg {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        // `crate` is a keyword; accept any identifier-like key and look it up afterwards.
        let key = input.call(Ident::parse_any).map_err(|e| {
            syn::Error::new(
                e.span(),
                "expected an argument such as `name = \"...\"`, `timeout_ms = 500` or `critical`",
            )
        })?;
        let kind = if input.peek(Token![=]) {
            input.parse::<Token![=]>()?;
            MetaKind::Value(input.parse()?)
        } else if input.peek(syn::token::Paren) {
            let content;
            syn::parenthesized!(content in input);
            MetaKind::List(content.parse()?)
        } else {
            MetaKind::Flag
        };
        Ok(MetaArg { key, kind })
    }
}

impl MetaArg {
    /// The key as written, without `r#`.
    pub(crate) fn name(&self) -> String {
        self.key.unraw().to_string()
    }
}

/// Parses `a, b = 1, c(...)`.
pub(crate) fn parse_meta_list(tokens: TokenStream) -> syn::Result<Vec<MetaArg>> {
    let parsed = Punctuated::<MetaArg, Token![,]>::parse_terminated.parse2(tokens)?;
    Ok(parsed.into_iter().collect())
}

/// Rejects a key seen before.
#[derive(Default)]
pub(crate) struct SeenKeys(HashSet<String>);

impl SeenKeys {
    /// Whether this is the first time `key` appears; records an error on a repeat.
    pub(crate) fn first(&mut self, key: &Ident, cx: &mut Ctxt) -> bool {
        let name = key.unraw().to_string();
        let first = self.0.insert(name.clone());
        if !first {
            cx.error_spanned_by(key, format!("`{name}` is given twice; keep only one"));
        }
        first
    }
}
