//! Collects every error found while parsing and validating, so one compile reports them all.
//!
//! The sink must be emptied with [`Ctxt::check`] before it is dropped: forgetting to would
//! silently drop the errors, so dropping a sink that was not checked panics (as serde's does).

use std::fmt::Display;

/// An error sink: errors are pushed while the input is read and checked, then combined.
#[derive(Default)]
pub(crate) struct Ctxt {
    errors: Vec<syn::Error>,
    checked: bool,
}

impl Ctxt {
    /// Records an error spanned on `tokens`.
    pub(crate) fn error_spanned_by(&mut self, tokens: impl quote::ToTokens, msg: impl Display) {
        self.push(syn::Error::new_spanned(tokens, msg));
    }

    /// Records an error at `span`.
    pub(crate) fn error_at(&mut self, span: proc_macro2::Span, msg: impl Display) {
        self.push(syn::Error::new(span, msg));
    }

    /// Records a ready-made error.
    pub(crate) fn push(&mut self, error: syn::Error) {
        self.errors.push(error);
    }

    /// Keeps the value of `result`, or records its error.
    pub(crate) fn ok<T>(&mut self, result: syn::Result<T>) -> Option<T> {
        result.map_err(|e| self.push(e)).ok()
    }

    /// How many errors were recorded so far.
    pub(crate) fn count(&self) -> usize {
        self.errors.len()
    }

    /// Consumes the sink: `Ok` when nothing was recorded, else every error combined, in the
    /// order they were found.
    pub(crate) fn check(mut self) -> syn::Result<()> {
        self.checked = true;
        let mut errors = std::mem::take(&mut self.errors).into_iter();
        match errors.next() {
            None => Ok(()),
            Some(mut first) => {
                first.extend(errors);
                Err(first)
            }
        }
    }
}

impl Drop for Ctxt {
    fn drop(&mut self) {
        if !self.checked && !std::thread::panicking() {
            panic!("health-macros: a Ctxt was dropped without `check()`; its errors would be lost");
        }
    }
}
