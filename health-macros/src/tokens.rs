//! Printing tokens for messages, the way the user wrote them.

use proc_macro2::TokenStream;

/// Tokens printed without the spaces token printing puts around `<`, `>`, `::`, `,`, `:` and `&`.
pub(crate) fn compact(tokens: TokenStream) -> String {
    let mut text = tokens.to_string();
    for (spaced, tight) in [
        (" <", "<"),
        ("< ", "<"),
        (" >", ">"),
        (" ::", "::"),
        (":: ", "::"),
        (" ,", ","),
        ("& ", "&"),
        (" : ", ": "),
    ] {
        text = text.replace(spaced, tight);
    }
    text
}
