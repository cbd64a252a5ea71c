//! The check arguments shared by `#[health_check(...)]` and the field attribute
//! `#[health(check(...))]`: parsed into typed values ([`ast`]), checked against each other
//! ([`valid`]), and turned into a `CheckSpec` expression ([`expand`]). Which keys exist, and
//! what each does, is the table [`crate::keys::CHECK_KEYS`].

pub(crate) mod ast;
pub(crate) mod expand;
pub(crate) mod valid;
