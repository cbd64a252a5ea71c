//! The README's complete example is a compiled file (`examples/readme.rs`); this keeps the two
//! from drifting apart.

#[test]
fn readme_example_is_the_compiled_file() {
    let readme = include_str!("../../../README.md");
    let code = include_str!("../examples/readme.rs");
    let marker = "`src/main.rs`";
    let after = &readme[readme.find(marker).expect("README names src/main.rs")..];
    let start = after.find("```rust\n").expect("a rust block follows") + "```rust\n".len();
    let block = &after[start..];
    let block = &block[..block.find("```\n").expect("the block ends")];
    assert_eq!(
        block, code,
        "README's example differs from examples/quickstart/examples/readme.rs: update the README"
    );
}
