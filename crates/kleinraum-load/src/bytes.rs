//! The bytes of an input file without copying them: a plain file is mapped into memory, so its
//! pages are the page cache's and are never copied into fresh memory (reading 82 MB into a new
//! buffer took 30–270 ms on the benchmark machine, most of it the kernel zeroing pages that
//! the copy then overwrote; mapping the same file takes a few milliseconds). Gzip files,
//! re-encoded text and bytes handed in by callers are owned as before.
//!
//! A mapped file must not be changed by another program while it is read: its bytes would
//! change under the parser (the text was checked to be UTF-8 when mapped), and a file cut short
//! would end the process with SIGBUS. Input files are the operator's, read once at load, as
//! ripgrep and other tools read files they map.

use std::fs::File;
use std::ops::{Deref, Range};

/// Raw bytes of a file or of a block of it.
#[derive(Debug)]
pub enum Raw {
    /// Read or decompressed into memory.
    Owned(Vec<u8>),
    /// `range` of a mapping of the file.
    Mapped(memmap2::Mmap, Range<usize>),
}

impl Deref for Raw {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            Raw::Owned(v) => v,
            Raw::Mapped(m, r) => &m[r.clone()],
        }
    }
}

impl Raw {
    /// `len` bytes of `file` from `offset`, mapped; `None` where the file cannot be mapped
    /// (a pipe, a special file system): the caller reads it instead.
    pub(crate) fn map(file: &File, offset: usize, len: usize) -> Option<Raw> {
        if len == 0 {
            return Some(Raw::Owned(Vec::new()));
        }
        // SAFETY: a read-only mapping, read through `&[u8]` only; the file is not changed
        // while it is read (module documentation).
        let map = unsafe {
            memmap2::MmapOptions::new()
                .offset(u64::try_from(offset).ok()?)
                .len(len)
                .map(file)
        }
        .ok()?;
        Some(Raw::Mapped(map, 0..len))
    }

    /// The bytes after the first `n` (a byte-order mark).
    pub(crate) fn skip(self, n: usize) -> Raw {
        match self {
            Raw::Owned(mut v) => {
                v.drain(..n.min(v.len()));
                Raw::Owned(v)
            }
            Raw::Mapped(m, r) => Raw::Mapped(m, (r.start + n).min(r.end)..r.end),
        }
    }

    /// The first `n` bytes.
    pub(crate) fn truncate(self, n: usize) -> Raw {
        match self {
            Raw::Owned(mut v) => {
                v.truncate(n);
                Raw::Owned(v)
            }
            Raw::Mapped(m, r) => Raw::Mapped(m, r.start..(r.start + n).min(r.end)),
        }
    }
}

/// UTF-8 text: decoded into memory, or bytes of a mapping checked to be UTF-8 when made.
#[derive(Debug)]
pub struct Text(Inner);

#[derive(Debug)]
enum Inner {
    Owned(String),
    Mapped(memmap2::Mmap, Range<usize>),
}

impl Text {
    /// The bytes as text, or `Err(valid_up_to)` where they are not UTF-8.
    pub(crate) fn from_utf8(raw: Raw) -> Result<Text, (Raw, usize)> {
        match raw {
            Raw::Owned(v) => String::from_utf8(v)
                .map(|s| Text(Inner::Owned(s)))
                .map_err(|e| {
                    let at = e.utf8_error().valid_up_to();
                    (Raw::Owned(e.into_bytes()), at)
                }),
            Raw::Mapped(m, r) => match std::str::from_utf8(&m[r.clone()]) {
                Ok(_) => Ok(Text(Inner::Mapped(m, r))),
                Err(e) => Err((Raw::Mapped(m, r), e.valid_up_to())),
            },
        }
    }
}

impl From<String> for Text {
    fn from(s: String) -> Text {
        Text(Inner::Owned(s))
    }
}

impl Deref for Text {
    type Target = str;
    fn deref(&self) -> &str {
        match &self.0 {
            Inner::Owned(s) => s,
            // SAFETY: checked to be UTF-8 when the text was made (`from_utf8`); the file is
            // not changed while it is read (module documentation).
            Inner::Mapped(m, r) => unsafe { std::str::from_utf8_unchecked(&m[r.clone()]) },
        }
    }
}

impl Clone for Text {
    /// A copy in memory (mappings are not shared).
    fn clone(&self) -> Text {
        Text(Inner::Owned(self.to_string()))
    }
}
