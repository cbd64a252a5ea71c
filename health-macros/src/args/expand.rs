//! Code generation for check arguments: the `CheckSpec` constructor expression, one setter
//! call per key given, as [`crate::keys::CHECK_KEYS`] names it.

use proc_macro2::{Literal, Span, TokenStream};
use quote::quote;
use syn::Ident;

use crate::keys::{KeyDef, Kind, Setter, CHECK_KEYS};
use crate::root::Root;

use super::ast::CheckArgs;

/// `<private>::CheckSpec::new(name, run)` followed by the setters of the keys given.
pub(crate) fn spec_expr(
    args: &CheckArgs,
    root: &Root,
    name: &str,
    run: TokenStream,
) -> TokenStream {
    let p = root.private();
    let setters = CHECK_KEYS.iter().filter_map(|def| setter(args, def, &p));
    quote!(#p::CheckSpec::new(#name, #run) #(#setters)*)
}

/// The call that applies `def`'s key, when it was given.
fn setter(args: &CheckArgs, def: &KeyDef, p: &TokenStream) -> Option<TokenStream> {
    let method = |name: &str| Ident::new(name, Span::call_site());
    match def.setter {
        Setter::New | Setter::Root => None,
        Setter::Value(name) => {
            let value = args.number(def.key)?.value;
            let value = match def.kind {
                // Counts were checked to fit in a `u32` when parsed.
                Kind::Count => Literal::u32_suffixed(u32::try_from(value).ok()?),
                _ => Literal::u64_suffixed(value),
            };
            let method = method(name);
            Some(quote!(.#method(#value)))
        }
        Setter::Unit(name) => {
            args.flag(def.key)?;
            let method = method(name);
            Some(quote!(.#method()))
        }
        Setter::Enable(name) => {
            args.flag(def.key)?;
            let method = method(name);
            Some(quote!(.#method(true)))
        }
        Setter::Gates(probe) => {
            args.flag(def.key)?;
            let variant = method(probe.variant());
            Some(quote!(.gates(#p::Probe::#variant)))
        }
    }
}
