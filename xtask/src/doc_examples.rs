//! The code the documentation shows is code the test suite runs: the README's API tour is
//! `examples/tour.rs` and the crate documentation's first example is `examples/hello.rs`
//! (both built and run in QEMU by `cargo xtask test`, like every example). These tests fail
//! when the documentation and the example drift apart.

#[cfg(test)]
mod tests {
    use std::path::Path;

    fn root() -> &'static Path {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .expect("workspace root")
    }

    fn read(rel: &str) -> String {
        std::fs::read_to_string(root().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
    }

    /// The program of an example file: everything after its leading `//!` doc lines.
    fn program(example: &str) -> String {
        let body: String = example
            .lines()
            .skip_while(|l| l.starts_with("//!"))
            .map(|l| format!("{l}\n"))
            .collect();
        format!("{}\n", body.trim_end())
    }

    #[test]
    fn readme_tour_is_the_tour_example() {
        let readme = read("README.md");
        let at = readme.find("## A tour of the API").expect("tour section");
        let start = at + readme[at..].find("```rust\n").expect("tour code block") + 8;
        let end = start + readme[start..].find("```").expect("end of the tour block");
        let example = read("crates/preempt/examples/tour.rs");
        assert_eq!(
            format!("{}\n", readme[start..end].trim_end()),
            program(&example),
            "README's tour differs from crates/preempt/examples/tour.rs"
        );
    }

    #[test]
    fn crate_doc_example_is_the_hello_example() {
        let lib = read("crates/preempt/src/lib.rs");
        let doc: String = lib
            .lines()
            .take_while(|l| l.starts_with("//!"))
            .map(|l| l.trim_start_matches("//!").strip_prefix(' ').unwrap_or(""))
            .map(|l| format!("{l}\n"))
            .collect();
        let start = doc.find("```ignore\n").expect("crate example") + 10;
        let end = start + doc[start..].find("```").expect("end of the crate example");
        let example = read("crates/preempt/examples/hello.rs");
        assert_eq!(
            format!("{}\n", doc[start..end].trim_end()),
            program(&example),
            "the crate docs' example differs from crates/preempt/examples/hello.rs"
        );
    }
}
