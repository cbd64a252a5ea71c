//! Compile-time behaviour of the macros: every case in `ui/pass` compiles, every case in
//! `ui/fail` is rejected with the error recorded in the `.stderr` beside it.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.pass("ui/pass/*.rs");
    t.compile_fail("ui/fail/*.rs");
}
