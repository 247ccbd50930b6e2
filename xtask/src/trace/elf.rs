//! The texts of marks: `preempt::trace::mark` records only the address and length of its
//! `&'static str` (a record is 32 bytes and is written with IRQs masked, so it cannot copy
//! text), and the bytes are read here from the program's ELF, where they sit in a loaded
//! section at that very address (the kernel runs where it is linked).

use std::path::Path;

use object::{Object, ObjectSection};

use crate::Error;

/// The longest mark text read; a longer length is taken for a damaged record.
const MAX_LEN: u32 = 4096;

/// The loaded sections of a program image with contents: (address, bytes).
pub struct Strings {
    sections: Vec<(u64, Vec<u8>)>,
}

impl Strings {
    /// Reads the sections of the ELF at `path`.
    pub fn read(path: &Path) -> Result<Strings, Error> {
        let data = std::fs::read(path)
            .map_err(|e| Error::new(format!("reading {}: {e}", path.display())))?;
        Strings::parse(&data)
            .map_err(|e| Error::new(format!("reading the ELF {}: {e}", path.display())))
    }

    /// The sections of an ELF held in `data`.
    pub fn parse(data: &[u8]) -> Result<Strings, object::Error> {
        let file = object::File::parse(data)?;
        let mut sections = Vec::new();
        for section in file.sections() {
            // Sections without file contents (.bss) give no bytes.
            match section.data() {
                Ok(bytes) if section.address() != 0 && !bytes.is_empty() => {
                    sections.push((section.address(), bytes.to_vec()));
                }
                _ => {}
            }
        }
        Ok(Strings { sections })
    }

    /// An image of the given (address, bytes) sections.
    #[cfg(test)]
    pub fn from_sections(sections: Vec<(u64, Vec<u8>)>) -> Strings {
        Strings { sections }
    }

    /// How many sections with contents the image has.
    #[cfg(test)]
    pub fn sections(&self) -> usize {
        self.sections.len()
    }

    /// The text of `len` bytes at `address` (invalid UTF-8 replaced), if the image has them.
    pub fn get(&self, address: u64, len: u32) -> Option<String> {
        if len > MAX_LEN {
            return None;
        }
        let end = address.checked_add(u64::from(len))?;
        self.sections.iter().find_map(|(start, bytes)| {
            let from = usize::try_from(address.checked_sub(*start)?).ok()?;
            let to = usize::try_from(end - start).ok()?;
            let text = bytes.get(from..to)?;
            Some(String::from_utf8_lossy(text).into_owned())
        })
    }
}
