//! Which bound a field check goes through, chosen from the field's type as written. Every route
//! ends in `HealthCheck`; they differ in the message rustc gives when the type is not a check,
//! which is only as specific as the bound it reports: an `Option` is told what `None` would
//! mean, a `sqlx` pool is told the cargo feature that makes it a check, anything else gets
//! `HealthCheck`'s own message. Each route's trait (in `__private`) is implemented for every
//! `HealthCheck`, so a route chosen by name alone never rejects a type that is a check.

use proc_macro2::TokenStream;
use quote::quote;
use syn::{GenericArgument, PathArguments, Type};

/// The bound through which a field check's type is required to be a check.
pub(crate) enum Route<'a> {
    /// `Option<T>` (also `std::option::Option`, `core::option::Option`): `OptionalCheck<T>`.
    Optional(&'a Type),
    /// A type named like a `sqlx` pool: the trait naming the feature, by its name.
    Pool(&'static str),
    /// Anything else: `HealthCheck` itself.
    Plain,
}

impl<'a> Route<'a> {
    /// The route of a field written with type `ty`.
    pub(crate) fn of(ty: &'a Type) -> Route<'a> {
        let Some(path) = type_path(ty) else {
            return Route::Plain;
        };
        let Some(last) = path.segments.last() else {
            return Route::Plain;
        };
        let name = last.ident.to_string();
        if let Some(inner) = option_inner(path, &name, &last.arguments) {
            return Route::Optional(inner);
        }
        let sqlx_prefix = path.segments.len() > 1 && path.segments[0].ident == "sqlx";
        match name.as_str() {
            "PgPool" => Route::Pool("PgPoolCheck"),
            "MySqlPool" => Route::Pool("MySqlPoolCheck"),
            "SqlitePool" => Route::Pool("SqlitePoolCheck"),
            "AnyPool" => Route::Pool("AnyPoolCheck"),
            // A bare `Pool` is as likely a type of the user's own (a pool of anything).
            "Pool" if sqlx_prefix => Route::Pool("SqlxPoolCheck"),
            _ => Route::Plain,
        }
    }

    /// The trait, under `p` (`<root>::__private`), that the field's type must implement.
    pub(crate) fn bound(&self, p: &TokenStream) -> TokenStream {
        match self {
            Route::Optional(inner) => quote!(#p::OptionalCheck<#inner>),
            Route::Pool(name) => {
                let name = syn::Ident::new(name, proc_macro2::Span::call_site());
                quote!(#p::#name)
            }
            Route::Plain => quote!(#p::HealthCheck),
        }
    }
}

/// The path of a type written as a path (through any parentheses or invisible groups a macro
/// may have put around it), without a qualified self (`<T as Trait>::Assoc` names no shape).
fn type_path(ty: &Type) -> Option<&syn::Path> {
    match ty {
        Type::Path(p) if p.qself.is_none() => Some(&p.path),
        Type::Paren(inner) => type_path(&inner.elem),
        Type::Group(inner) => type_path(&inner.elem),
        _ => None,
    }
}

/// The `T` of `Option<T>`, `std::option::Option<T>` or `core::option::Option<T>`.
fn option_inner<'a>(path: &syn::Path, name: &str, args: &'a PathArguments) -> Option<&'a Type> {
    let prefix: Vec<String> = path
        .segments
        .iter()
        .take(path.segments.len() - 1)
        .map(|segment| segment.ident.to_string())
        .collect();
    let prelude_option = matches!(
        prefix.iter().map(String::as_str).collect::<Vec<_>>()[..],
        [] | ["std", "option"] | ["core", "option"]
    );
    if name != "Option" || !prelude_option {
        return None;
    }
    let PathArguments::AngleBracketed(args) = args else {
        return None;
    };
    match args.args.iter().collect::<Vec<_>>()[..] {
        [GenericArgument::Type(inner)] => Some(inner),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::Route;

    /// The route of `ty`, printed: `Optional(<inner>)`, the pool trait's name, or `Plain`.
    fn route(ty: &str) -> String {
        let ty: syn::Type = syn::parse_str(ty).unwrap();
        match Route::of(&ty) {
            Route::Optional(inner) => {
                format!("Optional({})", quote::ToTokens::to_token_stream(inner))
            }
            Route::Pool(name) => name.to_string(),
            Route::Plain => "Plain".to_string(),
        }
    }

    #[test]
    fn an_option_of_the_prelude_is_routed_with_its_inner_type() {
        assert_eq!(route("Option<Upstream>"), "Optional(Upstream)");
        assert_eq!(route("std::option::Option<a::B>"), "Optional(a :: B)");
        assert_eq!(route("::core::option::Option<PgPool>"), "Optional(PgPool)");
        assert_eq!(route("(Option<Upstream>)"), "Optional(Upstream)");
        // A type of another path is the user's own.
        assert_eq!(route("my::Option<Upstream>"), "Plain");
        assert_eq!(route("Option"), "Plain");
    }

    #[test]
    fn pools_are_routed_by_name_and_a_bare_pool_is_not() {
        assert_eq!(route("PgPool"), "PgPoolCheck");
        assert_eq!(route("sqlx::PgPool"), "PgPoolCheck");
        assert_eq!(route("sqlx::postgres::PgPool"), "PgPoolCheck");
        assert_eq!(route("MySqlPool"), "MySqlPoolCheck");
        assert_eq!(route("SqlitePool"), "SqlitePoolCheck");
        assert_eq!(route("sqlx::AnyPool"), "AnyPoolCheck");
        assert_eq!(route("sqlx::Pool<sqlx::Postgres>"), "SqlxPoolCheck");
        assert_eq!(route("Pool<Postgres>"), "Plain");
        assert_eq!(route("Pool"), "Plain");
        assert_eq!(route("std::sync::Arc<Upstream>"), "Plain");
        assert_eq!(route("&'static Upstream"), "Plain");
    }
}
