//! Parsing `#[health_check(...)]`: the arguments, and the function they annotate with the two
//! parts of its signature the registration uses.

use proc_macro2::{Span, TokenStream};
use syn::{FnArg, ItemFn, ReturnType, Type};

use crate::args::ast::CheckArgs;
use crate::ctxt::Ctxt;
use crate::keys::Site;
use crate::meta::parse_meta_list;

/// The annotated function and its arguments.
pub(crate) struct Input {
    pub(crate) func: ItemFn,
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
        let func: ItemFn = match syn::parse2(item.clone()) {
            Ok(func) => func,
            Err(_) => {
                let span = item
                    .into_iter()
                    .next()
                    .map_or_else(Span::call_site, |t| t.span());
                cx.error_at(
                    span,
                    "`#[health_check]` goes on an `async fn` that takes no argument or `&State`",
                );
                return None;
            }
        };
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
            args,
            state,
            output,
        })
    }
}
