//! What a kernel's ELF says about a code address: the symbol it lies in, the chain of
//! functions inlined at it (DWARF, through `addr2line`) and its source line.
//!
//! Shared by `profile` (instructions per function) and the crash-report symbolizer of `run`
//! and `test` ([`crate::symbolize`]). Source paths are shown short: relative to the workspace,
//! `library/…` for the standard library, `crate-version/…` for a dependency.

use std::ops::Range;
use std::path::Path;

use gimli::{EndianSlice, RunTimeEndian};
use object::{Object, ObjectSection, ObjectSymbol, SectionKind, SymbolKind};

use crate::Error;

/// One function of an address's inline chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// The function's name, demangled, without its hash.
    pub function: String,
    /// Source file and line: for the innermost frame the address's own, for the others the
    /// call site of the frame inside them.
    pub location: Option<(String, u32)>,
    /// Whether that source file is in the workspace (not the standard library or a
    /// dependency).
    pub local: bool,
}

/// What is known about one address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Place {
    /// The ELF symbol the address lies in (the outermost, out-of-line function).
    pub symbol: String,
    /// Inline chain, innermost first; empty where there is no debug information (assembly).
    pub frames: Vec<Frame>,
}

impl Place {
    /// The innermost function: the innermost frame's, or the symbol where there is none.
    pub fn function(&self) -> &str {
        self.frames
            .first()
            .map_or(self.symbol.as_str(), |f| f.function.as_str())
    }

    /// The innermost function whose code is in the workspace (helpers of the standard library
    /// and of dependencies count in their caller), or the symbol.
    pub fn local_function(&self) -> &str {
        self.frames
            .iter()
            .find(|f| f.local)
            .map_or(self.symbol.as_str(), |f| f.function.as_str())
    }

    /// `file:line` of the address itself, if known.
    pub fn source(&self) -> Option<String> {
        let (file, line) = self.frames.first()?.location.as_ref()?;
        Some(format!("{file}:{line}"))
    }
}

/// A kernel's ELF, parsed: its text symbols and its DWARF.
pub struct Symbols<'data> {
    /// The parsed file, for callers that look at more than symbols (code, sections).
    pub file: object::File<'data>,
    /// Text symbols by address (demangled names).
    symbols: Vec<(u64, String)>,
    /// Address ranges of the executable sections.
    text: Vec<Range<u64>>,
    dwarf: addr2line::Context<EndianSlice<'data, RunTimeEndian>>,
    /// Prefix stripped from source paths (the workspace root).
    root: String,
}

impl<'data> Symbols<'data> {
    /// Parses an ELF read into `data`; source paths are shown relative to `root`.
    pub fn parse(data: &'data [u8], root: &Path) -> Result<Self, Error> {
        let file = object::File::parse(data).map_err(|e| bad(&e))?;
        let endian = if file.is_little_endian() {
            RunTimeEndian::Little
        } else {
            RunTimeEndian::Big
        };
        let mut text = Vec::new();
        let mut text_sections = Vec::new();
        for section in file.sections() {
            if section.kind() == SectionKind::Text {
                text_sections.push(section.index());
                text.push(section.address()..section.address() + section.size());
            }
        }
        let mut symbols = Vec::new();
        for symbol in file.symbols() {
            let in_text = symbol
                .section_index()
                .is_some_and(|i| text_sections.contains(&i));
            let name = symbol.name().unwrap_or_default();
            if !in_text
                || name.is_empty()
                || name.starts_with('$')
                || matches!(symbol.kind(), SymbolKind::Section | SymbolKind::File)
            {
                continue;
            }
            symbols.push((symbol.address(), demangle(name)));
        }
        // Sized symbols first at equal addresses would be nicer, but names at one address
        // are aliases of one function anyway.
        symbols.sort();
        symbols.dedup_by_key(|(address, _)| *address);
        let dwarf = gimli::Dwarf::load(|id| -> Result<_, Error> {
            let bytes = match file.section_by_name(id.name()) {
                Some(section) => section.data().map_err(|e| bad(&e))?,
                None => &[],
            };
            Ok(EndianSlice::new(bytes, endian))
        })?;
        let dwarf = addr2line::Context::from_dwarf(dwarf).map_err(|e| bad(&e))?;
        Ok(Symbols {
            file,
            symbols,
            text,
            dwarf,
            root: format!("{}/", root.display()),
        })
    }

    /// Whether `pc` is in an executable section.
    pub fn in_text(&self, pc: u64) -> bool {
        self.text.iter().any(|r| r.contains(&pc))
    }

    /// The symbol `pc` lies in (the nearest at or below it), or `?`.
    pub fn symbol(&self, pc: u64) -> &str {
        let after = self.symbols.partition_point(|(address, _)| *address <= pc);
        after
            .checked_sub(1)
            .map_or("?", |i| self.symbols[i].1.as_str())
    }

    /// Everything known about `pc`.
    pub fn place(&self, pc: u64) -> Place {
        let mut frames = Vec::new();
        if let Ok(mut iter) = self.dwarf.find_frames(pc).skip_all_loads() {
            while let Ok(Some(frame)) = iter.next() {
                let function = frame
                    .function
                    .as_ref()
                    .and_then(|f| f.demangle().ok())
                    .map_or_else(|| "?".to_string(), |name| strip_hash(&name));
                let file = frame.location.as_ref().and_then(|l| l.file);
                let local = file.is_some_and(|f| f.starts_with(&self.root));
                let location = frame
                    .location
                    .as_ref()
                    .and_then(|l| Some((short_path(l.file?, &self.root), l.line?)));
                frames.push(Frame {
                    function,
                    location,
                    local,
                });
            }
        }
        Place {
            symbol: self.symbol(pc).to_string(),
            frames,
        }
    }
}

fn bad(e: &dyn std::fmt::Display) -> Error {
    Error::new(format!("reading the kernel ELF: {e}"))
}

/// A symbol name demangled (Rust's schemes), without the hash.
pub fn demangle(name: &str) -> String {
    strip_hash(&addr2line::demangle_auto(name.into(), None))
}

/// `a::b::h0123456789abcdef` → `a::b` (legacy mangling's hash, if demangling left it).
fn strip_hash(name: &str) -> String {
    match name.rsplit_once("::h") {
        Some((head, hash)) if hash.len() == 16 && hash.bytes().all(|b| b.is_ascii_hexdigit()) => {
            head.to_string()
        }
        _ => name.to_string(),
    }
}

/// A source path made short: relative to the workspace, `library/…` for the standard
/// library, `crate-version/…` for a dependency in cargo's registry.
fn short_path(path: &str, root: &str) -> String {
    if let Some(rest) = path.strip_prefix(root) {
        return rest.to_string();
    }
    if let Some(i) = path.find("/library/") {
        if path.starts_with("/rustc/") || path.contains("/rustlib/src/") {
            return path[i + 1..].to_string();
        }
    }
    if let Some(i) = path.find("/registry/src/") {
        let rest = &path[i + "/registry/src/".len()..];
        if let Some((_index, in_crate)) = rest.split_once('/') {
            return in_crate.to_string();
        }
    }
    path.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_paths_are_made_short() {
        assert_eq!(
            demangle("_ZN7preempt6kernel3irq9idle_loop17h302104637e0f41abE"),
            "preempt::kernel::irq::idle_loop"
        );
        assert_eq!(demangle("preempt_vectors"), "preempt_vectors");
        assert_eq!(strip_hash("a::b::h0123"), "a::b::h0123");
        let root = "/work/x/";
        assert_eq!(
            short_path("/work/x/crates/preempt/src/thread.rs", root),
            "crates/preempt/src/thread.rs"
        );
        assert_eq!(
            short_path("/rustc/abc123/library/core/src/option.rs", root),
            "library/core/src/option.rs"
        );
        assert_eq!(
            short_path(
                "/root/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/fdt-0.1.5/src/node.rs",
                root
            ),
            "fdt-0.1.5/src/node.rs"
        );
        assert_eq!(short_path("src/lib.rs", root), "src/lib.rs");
    }
}
