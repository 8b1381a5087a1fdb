//! A large CSV file read in blocks of whole records, so that the file is never in memory at
//! once: the address file of a big city is as large as all the columns parsed from it, and
//! holding both doubled the peak memory of loading (20 million points: 2.3 GB).
//!
//! The first block is decoded like a whole file ([`CsvTable::from_bytes`]: BOM, header,
//! delimiter); every later one ends after a newline outside quotes (quotes counted from the
//! first byte, as [`CsvTable::par_rows`] splits its chunks) and is decoded on its own: UTF-8
//! when valid, else Windows-1252, or the configured encoding. A file whose configured encoding
//! is not ASCII-compatible (UTF-16) is read whole. A file smaller than one block is one block,
//! read as [`CsvTable::open`] reads any file (it is this reader with one block).

use crate::config::CsvOptions;
use crate::error::LoadError;
use crate::table::CsvTable;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

/// Bytes read per block: small beside the columns parsed from a large file, so that the next
/// block is read into the memory of the one before (fresh pages cost a fault and a zeroing
/// each, and blocks of 128 MB made a 20-million-point file fault in a gigabyte of them), large
/// enough that a block splits into chunks for every core and its fixed costs vanish beside
/// its parsing. Two blocks are in memory at once (one parsed while the next is read): 8 MiB
/// rather than 16 took 15 MB and 4,500 page faults off the 2M-point benchmark, at no cost in
/// parsing.
pub const BLOCK: usize = 8 << 20;

/// The blocks after the first (see the module documentation).
pub struct CsvBlocks {
    source: Source,
    encoding: Option<String>,
    /// The first block's table without data: header and number rules of the others.
    template: CsvTable,
}

/// The file's bytes, handed out a block of whole records at a time.
struct Source {
    path: PathBuf,
    gzip: bool,
    reader: Box<dyn Read + Send>,
    /// Bytes read after the previous block's end.
    carry: Vec<u8>,
    /// A parsed block's memory, read into next (fresh pages cost a fault and a zeroing each:
    /// on a 20M-point file, 6 blocks of 128 MB).
    spare: Option<Vec<u8>>,
    /// Line number of the first line in `carry`.
    next_line: usize,
    eof: bool,
    block: usize,
    /// Bytes still expected: the file's size, five times it for gzip (a guess), to size
    /// the buffers at once.
    expected: usize,
    /// The field delimiter, once known (configured, or detected from the header line).
    delimiter: Option<u8>,
}

impl CsvBlocks {
    /// Opens `path` (gzip when it starts with the gzip magic bytes) and decodes its first
    /// block of about `block` bytes.
    pub fn open(
        path: &Path,
        opts: &CsvOptions,
        block: usize,
    ) -> Result<(CsvTable, CsvBlocks), LoadError> {
        let io = |source| LoadError::Io {
            path: path.to_path_buf(),
            source,
        };
        let file = std::fs::File::open(path).map_err(io)?;
        let size = file.metadata().map_or(0, |m| m.len());
        let mut file = BufReader::with_capacity(1 << 20, file);
        let gzip = file.fill_buf().map_err(io)?.starts_with(&[0x1f, 0x8b]);
        let reader: Box<dyn Read + Send> = if gzip {
            Box::new(flate2::read::MultiGzDecoder::new(file))
        } else {
            Box::new(file)
        };
        // Blocks split at newline bytes: only where every character's bytes are its own
        // (an unknown label is reported by `from_bytes`).
        let splittable = opts.encoding.as_deref().is_none_or(|label| {
            encoding_rs::Encoding::for_label(label.trim().as_bytes()).is_none_or(|e| {
                e == encoding_rs::UTF_8 || (e.is_single_byte() && e.is_ascii_compatible())
            })
        });
        let mut source = Source {
            path: path.to_path_buf(),
            gzip,
            reader,
            carry: Vec::new(),
            spare: None,
            next_line: 1,
            eof: false,
            block: if splittable { block.max(1) } else { usize::MAX },
            expected: usize::try_from(size)
                .unwrap_or(usize::MAX)
                .saturating_mul(if gzip { 5 } else { 1 }),
            delimiter: match opts.delimiter.as_deref() {
                // An invalid one is reported by `from_bytes`; until then, no split.
                Some(d) => crate::table::parse_delimiter(d).ok(),
                None => None,
            },
        };
        let first = CsvTable::from_bytes(path, source.read_block()?, opts)?;
        let template = first.block(String::new(), first.encoding, 1);
        let blocks = CsvBlocks {
            source,
            encoding: opts.encoding.clone(),
            template,
        };
        Ok((first, blocks))
    }

    /// Bytes of the file still to come after the blocks read so far, for sizing what is
    /// parsed from them; 0 for a gzip file, whose size unpacked is not known.
    pub fn bytes_to_come(&self) -> usize {
        if self.source.gzip {
            0
        } else if self.source.eof {
            self.source.carry.len()
        } else {
            self.source.expected.saturating_add(self.source.carry.len())
        }
    }

    /// Hands back a parsed block: the next one is read into its memory.
    pub fn recycle(&mut self, block: CsvTable) {
        let data = block.into_data().into_bytes();
        if data.capacity() > self.source.spare.as_ref().map_or(0, Vec::capacity) {
            self.source.spare = Some(data);
        }
    }

    /// The next block, `None` after the last.
    pub fn next_block(&mut self) -> Result<Option<CsvTable>, LoadError> {
        loop {
            if self.source.eof && self.source.carry.is_empty() {
                return Ok(None);
            }
            let line = self.source.next_line;
            let raw = self.source.read_block()?;
            // Blank lines are skipped anyway; a block of nothing else is no block.
            if raw.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let (text, encoding) =
                crate::table::decode(raw, self.encoding.as_deref()).map_err(|message| {
                    LoadError::Format {
                        path: self.source.path.clone(),
                        message: format!("{message} (in the block from line {line})"),
                    }
                })?;
            return Ok(Some(self.template.block(text, encoding, line)));
        }
    }
}

impl Source {
    /// Reads on from `carry` to the end of the record in which byte `block` lies (or to the
    /// end of the file), keeps what follows in `carry` and counts the lines taken.
    fn read_block(&mut self) -> Result<Vec<u8>, LoadError> {
        let mut buf = match self.spare.take() {
            Some(mut spare) => {
                spare.clear();
                spare.append(&mut self.carry);
                spare
            }
            None => std::mem::take(&mut self.carry),
        };
        let mut target = self.block;
        loop {
            if !self.eof && buf.len() < target {
                let want = target - buf.len();
                let before = buf.len();
                buf.reserve(want.min(self.expected));
                (&mut self.reader)
                    .take(u64::try_from(want).unwrap_or(u64::MAX))
                    .read_to_end(&mut buf)
                    .map_err(|source| {
                        if self.gzip {
                            LoadError::Format {
                                path: self.path.clone(),
                                message: format!("gzip data is broken or truncated: {source}"),
                            }
                        } else {
                            LoadError::Io {
                                path: self.path.clone(),
                                source,
                            }
                        }
                    })?;
                self.eof = buf.len() - before < want;
                self.expected = self.expected.saturating_sub(buf.len() - before);
            }
            if !self.eof && self.delimiter.is_none() {
                // From the header line, as `from_bytes` detects it (a header longer than a
                // block waits for the next).
                let body = buf.strip_prefix(&[0xEF, 0xBB, 0xBF][..]).unwrap_or(&buf);
                if let Some(nl) = memchr::memchr(b'\n', body) {
                    self.delimiter = Some(crate::table::detect_delimiter(&body[..nl]));
                }
            }
            let end = match (self.eof, self.delimiter) {
                (true, _) => Some(buf.len()),
                (false, None) => None,
                (false, Some(d)) => match record_end(&buf, d) {
                    RecordEnd::At(end) => Some(end),
                    RecordEnd::NotYet => None,
                    RecordEnd::Irregular => {
                        // A quote outside RFC 4180 (inside an unquoted field, or text after
                        // a closing quote): newlines can no longer be told apart by counting
                        // quotes. The rest of the file is one block, read as a whole file is.
                        self.block = usize::MAX;
                        None
                    }
                },
            };
            if let Some(end) = end {
                self.carry = buf.split_off(end);
                // Only a next block needs its first line: the last one (a city's whole file)
                // is not counted through once more.
                if !(self.eof && self.carry.is_empty()) {
                    self.next_line += memchr::memchr_iter(b'\n', &buf).count();
                }
                return Ok(buf);
            }
            // A record longer than a block (a huge quoted field): one more block.
            target = target.saturating_add(self.block);
        }
    }
}

/// Where a block may end.
#[doc(hidden)] // public for tests/it/units
#[derive(Debug, PartialEq)]
pub enum RecordEnd {
    /// Just after the last newline outside quotes.
    At(usize),
    /// No newline outside quotes yet.
    NotYet,
    /// A quote that breaks RFC 4180: counting quotes would mislead.
    Irregular,
}

/// The end of the last whole record in `buf` (which starts at a record start): just after the
/// last newline outside quoted fields. Quotes must follow RFC 4180 (open a field, `""` inside
/// one, close it before a delimiter or line end), as [`CsvTable::par_rows`]'s parser wants.
#[doc(hidden)]
pub fn record_end(buf: &[u8], delimiter: u8) -> RecordEnd {
    if memchr::memchr(b'"', buf).is_none() {
        return memchr::memrchr(b'\n', buf).map_or(RecordEnd::NotYet, |i| RecordEnd::At(i + 1));
    }
    let field_end = |i: usize| {
        buf.get(i)
            .is_none_or(|&c| c == delimiter || c == b'\r' || c == b'\n')
    };
    let mut inside = false;
    let mut last = None;
    // The second quote of a `""` inside a quoted field.
    let mut escaped = usize::MAX;
    for i in memchr::memchr2_iter(b'"', b'\n', buf) {
        if buf[i] == b'\n' {
            if !inside {
                last = Some(i + 1);
            }
        } else if i == escaped {
        } else if !inside {
            if i > 0 && buf[i - 1] != delimiter && buf[i - 1] != b'\n' {
                return RecordEnd::Irregular;
            }
            inside = true;
        } else if buf.get(i + 1) == Some(&b'"') {
            escaped = i + 1;
        } else if field_end(i + 1) {
            inside = false;
        } else {
            return RecordEnd::Irregular;
        }
    }
    last.map_or(RecordEnd::NotYet, RecordEnd::At)
}
