//! Parsing `#[health_check(...)]`: the arguments, and the function they annotate with the two
//! parts of its signature the registration uses.

use proc_macro2::{Span, TokenStream};
use syn::{Attribute, FnArg, Item, ItemFn, ReturnType, Type};

use crate::args::ast::CheckArgs;
use crate::ctxt::Ctxt;
use crate::keys::Site;
use crate::meta::parse_meta_list;

/// The annotated function and its arguments.
pub(crate) struct Input {
    /// The function, without a second `#[health_check]` attribute if it had one.
    pub(crate) func: ItemFn,
    /// A second `#[health_check]` on the same function (an error), taken off it.
    pub(crate) repeated: Option<Attribute>,
    pub(crate) args: CheckArgs,
    /// `T` when the first parameter is `&T` (whether `&T` is acceptable is for validation).
    pub(crate) state: Option<Type>,
    /// The return type, if written.
    pub(crate) output: Option<Type>,
}

impl Input {
    /// Parses the attribute's arguments and its item; `None` when the item is not a function
    /// (recorded in `cx`).
    pub(crate) fn parse(args: TokenStream, item: TokenStream, cx: &mut Ctxt) -> Option<Input> {
        let mut func: ItemFn = match syn::parse2(item.clone()) {
            Ok(func) => func,
            Err(_) => {
                not_a_function(item, cx);
                return None;
            }
        };
        let repeated = take_repeated(&mut func);
        let metas = cx.ok(parse_meta_list(args)).unwrap_or_default();
        let args = CheckArgs::parse(metas, Site::Function, cx);
        let state = func.sig.inputs.first().and_then(|input| match input {
            FnArg::Typed(typed) => match &*typed.ty {
                Type::Reference(r) => Some((*r.elem).clone()),
                _ => None,
            },
            FnArg::Receiver(_) => None,
        });
        let output = match &func.sig.output {
            ReturnType::Type(_, ty) => Some((**ty).clone()),
            ReturnType::Default => None,
        };
        Some(Input {
            func,
            repeated,
            args,
            state,
            output,
        })
    }
}

/// The item is not a function: one error, under the item's keyword (not under an attribute
/// that follows ours), saying where the attribute goes.
fn not_a_function(item: TokenStream, cx: &mut Ctxt) {
    let first = item
        .clone()
        .into_iter()
        .next()
        .map_or_else(Span::call_site, |t| t.span());
    match syn::parse2::<Item>(item) {
        Ok(Item::Impl(block)) if implements_health_check(&block) => cx.error_spanned_by(
            block.impl_token,
            "an `impl HealthCheck` needs no attribute: remove `#[health_check]`, and register \
             the field that holds this type with `#[health(check(...))]` on the state",
        ),
        Ok(Item::Impl(block)) if block.trait_.is_none() => cx.error_spanned_by(
            block.impl_token,
            "`#[health_check]` goes on each check function, not on the `impl` block: move it \
             onto the `async fn`s of this block that are checks (taking `&self`)",
        ),
        Ok(Item::Impl(block)) => cx.error_spanned_by(block.impl_token, NOT_A_FUNCTION),
        Ok(Item::Struct(s)) => cx.error_spanned_by(&s.ident, NOT_A_FUNCTION),
        Ok(Item::Enum(e)) => cx.error_spanned_by(&e.ident, NOT_A_FUNCTION),
        _ => cx.error_at(first, NOT_A_FUNCTION),
    }
}

/// Whether the block is `impl ... HealthCheck for ...` (by the trait path's last segment).
fn implements_health_check(block: &syn::ItemImpl) -> bool {
    block
        .trait_
        .as_ref()
        .and_then(|(_, path, _)| path.segments.last())
        .is_some_and(|segment| segment.ident == "HealthCheck")
}

const NOT_A_FUNCTION: &str = "`#[health_check]` goes on an `async fn` that takes no argument or \
     `&State`; a value that checks itself implements `HealthCheck` and is registered with \
     `#[health(check(...))]` on its field";

/// Takes a second `#[health_check]` off the function (by its last path segment, however the
/// macro was imported), so that it is reported once here and does not expand a second time.
fn take_repeated(func: &mut ItemFn) -> Option<Attribute> {
    let index = func.attrs.iter().position(|attr| {
        attr.path()
            .segments
            .last()
            .is_some_and(|segment| segment.ident == "health_check")
    })?;
    Some(func.attrs.remove(index))
}
