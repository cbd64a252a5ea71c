//! The rules of `#[health_check]`, one function per rule: the arguments against each other
//! (shared with field checks), the signature, and the name the check takes from its function.

use quote::ToTokens;
use syn::ext::IdentExt;
use syn::{FnArg, PatType, ReturnType, Signature, Type};

use crate::args::valid::check_args;
use crate::ctxt::Ctxt;
use crate::keys::Key;
use crate::name;

use super::ast::Input;

/// Checks everything the macro can see; returns the check's name.
pub(crate) fn check(input: &Input, cx: &mut Ctxt) -> String {
    check_args(&input.args, cx);
    not_repeated(input, cx);
    let sig = &input.func.sig;
    not_const(sig, cx);
    is_async(sig, cx);
    not_unsafe(sig, cx);
    no_abi(sig, cx);
    not_generic(sig, cx);
    not_variadic(sig, cx);
    parameters(sig, cx);
    returns(sig, cx);
    check_name(input, cx)
}

fn not_repeated(input: &Input, cx: &mut Ctxt) {
    if let Some(attr) = &input.repeated {
        cx.error_spanned_by(
            attr,
            "`#[health_check]` is applied twice to this function; remove this one (give all the \
             arguments to one attribute)",
        );
    }
}

fn not_const(sig: &Signature, cx: &mut Ctxt) {
    if let Some(token) = &sig.constness {
        cx.error_spanned_by(
            token,
            "a `#[health_check]` function cannot be `const`; remove `const`",
        );
    }
}

fn is_async(sig: &Signature, cx: &mut Ctxt) {
    if sig.asyncness.is_none() {
        let ident = &sig.ident;
        cx.error_spanned_by(
            sig.fn_token,
            format!("`#[health_check]` needs an `async fn`: write `async fn {ident}(...)`"),
        );
    }
}

fn not_unsafe(sig: &Signature, cx: &mut Ctxt) {
    if let Some(token) = &sig.unsafety {
        cx.error_spanned_by(
            token,
            "a `#[health_check]` function cannot be `unsafe`; keep any unsafe code inside its body",
        );
    }
}

fn no_abi(sig: &Signature, cx: &mut Ctxt) {
    if let Some(abi) = &sig.abi {
        cx.error_spanned_by(
            abi,
            "a `#[health_check]` function cannot declare an ABI; remove it",
        );
    }
}

fn not_generic(sig: &Signature, cx: &mut Ctxt) {
    if only_lifetimes(sig) {
        let lifetimes = crate::tokens::compact(sig.generics.to_token_stream());
        let takes = if sig.receiver().is_some() {
            "a `#[health_check]` method takes `&self`"
        } else {
            "a `#[health_check]` function takes the state as `&YourState`"
        };
        cx.error_spanned_by(
            &sig.generics,
            format!("remove the lifetime parameter `{lifetimes}` and its uses: {takes}"),
        );
    } else if !sig.generics.params.is_empty() {
        cx.error_spanned_by(
            &sig.generics,
            "a `#[health_check]` function cannot be generic: the registry is built at compile time \
             for one concrete state; remove the generic parameters and take `&YourState`",
        );
    } else if let Some(clause) = &sig.generics.where_clause {
        cx.error_spanned_by(
            clause,
            "a `#[health_check]` function cannot have a `where` clause; remove it",
        );
    }
}

/// Whether the function declares lifetime parameters and nothing else: one mistake (a named
/// lifetime), reported once, under the declaration, and not again at each use.
fn only_lifetimes(sig: &Signature) -> bool {
    !sig.generics.params.is_empty()
        && sig
            .generics
            .params
            .iter()
            .all(|p| matches!(p, syn::GenericParam::Lifetime(_)))
}

fn not_variadic(sig: &Signature, cx: &mut Ctxt) {
    if let Some(variadic) = &sig.variadic {
        cx.error_spanned_by(variadic, "a `#[health_check]` function cannot be variadic");
    }
}

/// No `self`, at most one parameter, and that one `&State`.
fn parameters(sig: &Signature, cx: &mut Ctxt) {
    for (i, input) in sig.inputs.iter().enumerate() {
        match input {
            FnArg::Receiver(receiver) => receiver_parameter(receiver, only_lifetimes(sig), cx),
            FnArg::Typed(_) if i > 0 => cx.error_spanned_by(
                input,
                "a `#[health_check]` function takes at most one parameter, the state as \
                 `&YourState`; remove this one and read what you need from the state",
            ),
            FnArg::Typed(typed) => state_parameter(typed, only_lifetimes(sig), cx),
        }
    }
}

/// `&self`: an associated function of the state, which it borrows shared. Taking it by value,
/// mutably, or in a smart pointer cannot work: checks run concurrently on a shared state.
fn receiver_parameter(receiver: &syn::Receiver, declared: bool, cx: &mut Ctxt) {
    // syn gives every receiver its type: `&self` is `&Self`, `self: Arc<Self>` is `Arc<Self>`.
    let shared = matches!(&*receiver.ty, Type::Reference(r) if r.mutability.is_none()
        && matches!(&*r.elem, Type::Path(p) if p.path.is_ident("Self")));
    if !shared {
        let written = crate::tokens::compact(receiver.to_token_stream());
        cx.error_spanned_by(
            receiver,
            format!(
                "a `#[health_check]` method borrows the state shared: take `&self` instead of \
                 `{written}` (checks run concurrently; use interior mutability for what must \
                 change)"
            ),
        );
    } else if let Type::Reference(syn::TypeReference {
        lifetime: Some(lifetime),
        ..
    }) = &*receiver.ty
    {
        // A lifetime declared on the function was reported there already.
        if lifetime.ident != "_" && !declared {
            cx.error_spanned_by(
                lifetime,
                "remove the lifetime: a `#[health_check]` method takes `&self`",
            );
        }
    }
}

/// The state parameter: a shared reference, without a named lifetime, to a concrete type.
fn state_parameter(typed: &PatType, declared: bool, cx: &mut Ctxt) {
    const GENERIC: &str =
        "a `#[health_check]` function cannot be generic: take the concrete state, `&YourState`";
    match &*typed.ty {
        Type::Reference(r) if r.mutability.is_some() => cx.error_spanned_by(
            r.mutability,
            "checks run concurrently, so they borrow the state shared: take `&YourState`, \
             not `&mut YourState` (use interior mutability for what must change)",
        ),
        Type::Reference(r) if r.lifetime.as_ref().is_some_and(|l| l.ident != "_") => {
            // A lifetime declared on the function was reported there already.
            if !declared {
                cx.error_spanned_by(
                    &r.lifetime,
                    "remove the lifetime: a `#[health_check]` function takes the state as \
                     `&YourState`",
                );
            }
        }
        Type::Reference(r) if matches!(&*r.elem, Type::ImplTrait(_)) => {
            cx.error_spanned_by(&r.elem, GENERIC)
        }
        Type::Reference(_) => {}
        Type::ImplTrait(_) => cx.error_spanned_by(&typed.ty, GENERIC),
        other => {
            // `State<AppState>`, `Arc<AppState>`: the state is what is inside.
            let state = wrapped_state(other).unwrap_or(other);
            cx.error_spanned_by(
                other,
                format!(
                    "a `#[health_check]` function borrows the state: take `&{}` instead of `{}`",
                    as_written(state),
                    as_written(other)
                ),
            );
        }
    }
}

/// The state inside a wrapper users reach for by habit: axum's `State<S>`, or `Arc<S>`, `Rc<S>`,
/// `Box<S>` (written with one type argument).
fn wrapped_state(ty: &Type) -> Option<&Type> {
    let Type::Path(path) = ty else {
        return None;
    };
    let last = path.path.segments.last()?;
    if !["State", "Arc", "Rc", "Box"]
        .iter()
        .any(|w| last.ident == w)
    {
        return None;
    }
    let syn::PathArguments::AngleBracketed(args) = &last.arguments else {
        return None;
    };
    match args.args.iter().collect::<Vec<_>>().as_slice() {
        [syn::GenericArgument::Type(inner)] => Some(inner),
        _ => None,
    }
}

/// A type as the user wrote it, without the spaces token printing puts around `<`, `>`, `::`
/// and after `&` (`State<AppState>`, not `State < AppState >`).
fn as_written(ty: &Type) -> String {
    crate::tokens::compact(ty.to_token_stream())
}

/// A return type is written (whether it is a check result is for the type checker).
fn returns(sig: &Signature, cx: &mut Ctxt) {
    if let ReturnType::Default = sig.output {
        cx.error_spanned_by(
            &sig.ident,
            "a `#[health_check]` function must return `Result<(), E>` with `E: Display`, or \
             `CheckOutcome`: add a return type, e.g. `-> Result<(), std::io::Error>`",
        );
    }
}

/// The check's name: `name = "..."` (checked when parsed), else the function's, which must
/// follow the name rule too.
fn check_name(input: &Input, cx: &mut Ctxt) -> String {
    if let Some(name) = &input.args.name {
        return name.clone();
    }
    let ident = &input.func.sig.ident;
    let name = ident.unraw().to_string();
    if input.args.rejected(Key::Name) {
        // The name given was reported; the function's name is not the user's choice.
        return name;
    }
    name::validate(
        &name,
        ident.span(),
        "; the name defaults to the function's name: give the check one with `name = \"...\"`",
        cx,
    );
    name
}
