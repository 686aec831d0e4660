//! The README's quickstart is `examples/quickstart.rs` (compiled with the crate's examples), so it cannot drift from the API.

#[test]
fn the_readme_shows_the_quickstart_example() {
    let readme = include_str!("../README.md");
    let example = include_str!("../examples/quickstart.rs");
    // The example without its leading doc comment.
    let code: String = example
        .lines()
        .skip_while(|l| l.starts_with("//!") || l.is_empty())
        .map(|l| format!("{l}\n"))
        .collect();
    let block = format!("```rust,no_run\n{code}```");
    assert!(
        readme.contains(&block),
        "README.md's rust block differs from examples/quickstart.rs; paste the example into the README:\n{code}"
    );
}
