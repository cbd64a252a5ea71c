//! Code generation for `#[derive(HealthState)]`.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned, ToTokens};
use syn::spanned::Spanned;
use syn::{DeriveInput, Ident};

use super::attr::State;
use crate::check::respan;
use crate::root::Root;

pub(crate) fn expand(state: &State) -> TokenStream {
    let p = state.root.private();
    let ident = state.ident;

    let fn_checks: Vec<FnEntry> = state
        .fn_checks
        .iter()
        .enumerate()
        .map(|(index, path)| FnEntry::new(index, path))
        .collect();
    let resolutions = fn_checks.iter().map(|entry| entry.resolve(&p));
    let fn_entries = fn_checks.iter().map(|entry| {
        let ty = entry.spanned_type();
        quote_spanned! {entry.span=>
            <#ty as #p::RegisteredCheck<#ident>>::SPEC
        }
    });
    let field_entries = state.field_checks.iter().map(|check| {
        let member = &check.member;
        let ty = check.ty;
        let call = quote_spanned! {ty.span()=>
            <#ty as #p::HealthCheck>::check(&state.#member)
        };
        let spec = check
            .args
            .spec_expr(&state.root, &check.name, quote!(__health_field_check));
        quote! {{
            fn __health_field_check(state: &#ident) -> #p::BoxFuture<'_, #p::CheckOutcome> {
                #call
            }
            #spec
        }}
    });

    let version = match &state.version {
        Some(v) => v.to_token_stream(),
        None => quote! {
            match ::core::option_env!("CARGO_PKG_VERSION") {
                ::core::option::Option::Some(version) => version,
                ::core::option::Option::None => "unknown",
            }
        },
    };

    let lifecycle_ty = state.lifecycle.ty;
    let lifecycle_member = &state.lifecycle.member;
    let lifecycle = quote_spanned! {lifecycle_ty.span()=>
        <#lifecycle_ty as #p::AsLifecycle>::as_lifecycle(&self.#lifecycle_member)
    };

    let unique_names = unique_names(state, &fn_checks);

    quote! {
        const _: () = {
            #(#resolutions)*

            impl #p::HealthState for #ident {
                const CHECKS: &'static [#p::CheckSpec<Self>] = &[
                    #(#fn_entries,)*
                    #(#field_entries,)*
                ];
                const VERSION: &'static str = #version;
                fn lifecycle(&self) -> &#p::Lifecycle {
                    #lifecycle
                }
            }

            #unique_names
        };
    }
}

/// A path of `#[health(checks(...))]`, and the name it is reached by in the generated code.
struct FnEntry<'a> {
    path: &'a syn::Path,
    /// `__health_check_<index>`: the path's type (the registration `#[health_check]` emits), or,
    /// when the path names no type, a fallback whose use is an error telling to add
    /// `#[health_check]`.
    alias: Ident,
    /// The path's first token.
    span: Span,
    /// The path's last token.
    last_span: Span,
}

impl<'a> FnEntry<'a> {
    fn new(index: usize, path: &'a syn::Path) -> Self {
        let mut tokens = path.to_token_stream().into_iter();
        let span = tokens.next().map_or_else(Span::call_site, |t| t.span());
        let last_span = tokens.last().map_or(span, |t| t.span());
        FnEntry {
            path,
            alias: format_ident!("__health_check_{}", index),
            span,
            last_span,
        }
    }

    /// The alias as a type spanned from the path's first token to its last (`alias<>`), so
    /// that an error about it is reported under the whole path.
    fn spanned_type(&self) -> TokenStream {
        let alias = Ident::new(&self.alias.to_string(), self.span);
        let generics = quote_spanned!(self.last_span=> <>);
        quote!(#alias #generics)
    }

    /// The last segment of the path: the function's name.
    fn name(&self) -> &Ident {
        &self
            .path
            .segments
            .last()
            .expect("a path has a segment")
            .ident
    }

    /// Binds the alias, and reports a function listed without `#[health_check]`.
    ///
    /// `use path as alias` imports the path in every namespace it exists in: a `#[health_check]`
    /// function brings its registration type along. A glob import of a fallback module provides
    /// the alias in the type and value namespaces too, at a lower priority, so each fallback is
    /// used only where the path has nothing of its own. The fallback type is registered (with a
    /// spec that never runs, so `CHECKS` adds no error of its own), and a probe compares the two
    /// namespaces: the fallback type with a value of the user's means a function (or constant)
    /// without `#[health_check]`, reported with the words of `HealthCheckAttribute`, spanned on
    /// the path. A path that names nothing is left to the compiler's "unresolved import"; a type
    /// is left to `RegisteredCheck`.
    fn resolve(&self, p: &TokenStream) -> TokenStream {
        let path = self.path;
        let (first, last) = (self.span, self.last_span);
        // Spanned on the path's last token, so that an unresolved import is reported under the
        // path alone.
        let alias = Ident::new(&self.alias.to_string(), last);
        let module = format_ident!("__health_check_fallback_{}", self.alias);
        let name = self.name();
        let text = path_text(path);
        // Not a valid check name, so it cannot clash with one.
        let never_name = format!(" {text}");
        // The fallback type, named like the function, spanned on the path: the compiler's help
        // names it and points there.
        let fallback = match syn::ext::IdentExt::unraw(name).to_string().as_str() {
            "self" | "super" | "crate" | "Self" | "_" => Ident::new("__not_a_function", last),
            unraw => Ident::new_raw(unraw, last),
        };
        let braces = quote_spanned!(last=> {});
        let fallback_type = quote_spanned!(first=> pub enum #fallback #braces);
        let items = quote!(#module::__health_check_items);
        // `HealthCheckAttribute::ok(decide(<kind of the type>, <kind of the value>))`, spanned
        // from the path's first token to its last. No local variables: the path's tokens may
        // come from a `macro_rules!` expansion, whose hygiene would hide them.
        let call = {
            let module = Ident::new(&module.to_string(), first);
            let alias = Ident::new(&alias.to_string(), first);
            let trait_path = respan(p.clone(), first);
            let ok = Ident::new("ok", last);
            let callee = quote_spanned!(first=> #trait_path::HealthCheckAttribute::#ok);
            let items = quote_spanned!(first=> #module::__health_check_items);
            let decide = quote_spanned!(first=> #items::decide);
            let mut args = proc_macro2::Group::new(
                proc_macro2::Delimiter::Parenthesis,
                quote_spanned! {first=>
                    (&#items::Probe::<#alias>::NEW).kind(),
                    (&#items::Probe::of(&#alias)).kind()
                },
            );
            args.set_span(last);
            let mut outer =
                proc_macro2::Group::new(proc_macro2::Delimiter::Parenthesis, quote!(#decide #args));
            outer.set_span(last);
            quote!(#callee #outer)
        };
        quote! {
            #[allow(non_camel_case_types, non_snake_case, non_upper_case_globals, dead_code, unreachable_pub, missing_docs, missing_debug_implementations)]
            mod #module {
                pub mod __health_check_items {
                    use ::core::marker::PhantomData;

                    #fallback_type
                    pub struct NoValue;

                    // Autoref dispatch: `(&Probe::<T>).kind()` is `Yes` for the fallbacks, `No`
                    // for anything else.
                    pub struct Probe<T: ?Sized>(PhantomData<T>);
                    impl<T: ?Sized> Probe<T> {
                        pub const NEW: Self = Probe(PhantomData);
                        pub fn of(_: &T) -> Self {
                            Probe(PhantomData)
                        }
                    }
                    pub enum Yes {}
                    pub enum No {}
                    pub trait Fallback {
                        fn kind(&self) -> PhantomData<Yes> {
                            PhantomData
                        }
                    }
                    impl Fallback for Probe<#fallback> {}
                    impl Fallback for Probe<NoValue> {}
                    pub trait Other {
                        fn kind(&self) -> PhantomData<No> {
                            PhantomData
                        }
                    }
                    impl<T: ?Sized> Other for &Probe<T> {}

                    // Fallback type, value of the user's: the function lacks `#[health_check]`.
                    pub trait Decide<Value> {
                        type Out: ?Sized;
                    }
                    impl<Value> Decide<Value> for No {
                        type Out = Fine;
                    }
                    impl Decide<Yes> for Yes {
                        type Out = Fine;
                    }
                    impl Decide<No> for Yes {
                        type Out = #fallback;
                    }
                    pub enum Fine {}
                    pub fn decide<Type: Decide<Value>, Value>(
                        _: PhantomData<Type>,
                        _: PhantomData<Value>,
                    ) -> PhantomData<<Type as Decide<Value>>::Out> {
                        PhantomData
                    }
                }
                pub type #alias = __health_check_items::#fallback;
                pub const #alias: __health_check_items::NoValue = __health_check_items::NoValue;
            }
            #[allow(unused_imports)]
            use #module::*;
            #[allow(unused_imports)]
            use #path as #alias;

            #[diagnostic::do_not_recommend]
            impl #p::HealthCheckAttribute for #items::Fine {}

            #[diagnostic::do_not_recommend]
            impl<S> #p::RegisteredCheck<S> for #items::#fallback {
                const SPEC: #p::CheckSpec<S> = {
                    fn __health_check_run<S>(_: &S) -> #p::BoxFuture<'_, #p::CheckOutcome> {
                        ::core::unreachable!("not a health check")
                    }
                    #p::CheckSpec::new(#never_name, __health_check_run::<S>)
                };
            }

            #[allow(dead_code, unused_imports)]
            fn #module() {
                use #items::{Fallback as _, Other as _};
                #call;
            }
        }
    }
}

/// The path as the user wrote it, for messages.
fn path_text(path: &syn::Path) -> String {
    path.to_token_stream().to_string().replace(' ', "")
}

/// Duplicate names are rejected at compile time. Function checks carry their names in their own
/// attribute, out of the derive's sight, so they are compared in const evaluation (two field
/// checks are compared while the input is validated). For each check, the index of the first
/// earlier check with the same name selects, through a table of the checks by position, that
/// check's registration; and `Select` picks either the "distinct" type or a registration to
/// test against a trait that only the "distinct" type implements. A clash is so reported once,
/// under the later check, naming the two functions (the compiler's help points at the
/// attribute of the one it names as `Self`, which holds the name).
fn unique_names(state: &State, fn_checks: &[FnEntry]) -> TokenStream {
    let p = state.root.private();
    let ident = state.ident;
    let count = fn_checks.len() + state.field_checks.len();
    if count < 2 || fn_checks.is_empty() {
        return TokenStream::new();
    }
    let table = format_ident!("__HealthCheckTable");
    // Function checks are registrations; a field is never looked up (a field clashing with an
    // earlier field is rejected before expansion), but every index must have an entry.
    let rows = (0..count).map(|index| {
        let ty = match fn_checks.get(index) {
            Some(entry) => entry.alias.to_token_stream(),
            None => quote!(#p::Distinct),
        };
        quote!(impl #p::CheckAt<#index> for #table { type Type = #ty; })
    });
    let earlier =
        |later: usize| quote!(<#table as #p::CheckAt<{ #p::first_clash(&NAMES, #later) }>>::Type);
    let select = |later: usize| quote!(#p::Select<{ #p::first_clash(&NAMES, #later) != #later }>);
    let fn_asserts = fn_checks.iter().enumerate().skip(1).map(|(later, entry)| {
        let (select, earlier, ty) = (select(later), earlier(later), entry.spanned_type());
        quote_spanned! {entry.span=>
            const _: () = <<#select as #p::Pick<#ty>>::Out as #p::DistinctCheckName<#earlier>>::DISTINCT;
        }
    });
    let field_asserts = state.field_checks.iter().enumerate().map(|(index, field)| {
        let later = fn_checks.len() + index;
        let (select, earlier) = (select(later), earlier(later));
        quote_spanned! {field.span=>
            const _: () = <<#select as #p::Pick<#earlier>>::Out as #p::DistinctFieldCheckName>::DISTINCT;
        }
    });
    let indices = 0..count;
    quote! {
        const _: () = {
            const NAMES: [&str; #count] = [
                #(<#ident as #p::HealthState>::CHECKS[#indices].name(),)*
            ];
            struct #table;
            #(#rows)*
            #(#fn_asserts)*
            #(#field_asserts)*
        };
    }
}

/// Emitted when the input has errors: an implementation that keeps the rest of the crate
/// type-checking (so `AppState::health_router()` adds no second error), without checks.
pub(crate) fn fallback(input: &DeriveInput) -> TokenStream {
    if !input.generics.params.is_empty() {
        return TokenStream::new();
    }
    let p = Root::default().private();
    let ident = &input.ident;
    quote! {
        impl #p::HealthState for #ident {
            const CHECKS: &'static [#p::CheckSpec<Self>] = &[];
            const VERSION: &'static str = "";
            fn lifecycle(&self) -> &#p::Lifecycle {
                ::core::unreachable!("#[derive(HealthState)] failed to compile")
            }
        }
    }
}
