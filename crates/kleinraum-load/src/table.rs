//! CSV reader for the files planners actually have: `.csv` or `.csv.gz`; `,` `;` or tab;
//! decimal point or comma; UTF-8 (with or without BOM) or Windows-1252.
//!
//! The file is decoded once into UTF-8 text; records are then streamed from it as [`Record`]s:
//! fields are spans of that text (a quoted field is unescaped into one reused buffer), so no
//! field is copied or validated again. [`CsvTable::par_rows`] splits the text at record
//! boundaries into chunks parsed on all cores; files whose quoting is not plain RFC 4180 (a
//! lone CR, a quote inside an unquoted field) are read by the csv crate in one pass instead, so
//! both paths yield the same rows, lines and diagnostics.

use crate::config::CsvOptions;
use crate::error::{Diagnostic, LoadError};
use std::path::{Path, PathBuf};

/// How decimal numbers are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decimal {
    /// `12.5`
    Point,
    /// `12,5`
    Comma,
    /// Decide per value: `12,5` is accepted when the delimiter is not a comma.
    Detect,
}

/// A decoded CSV file: header and the data as UTF-8 bytes.
#[derive(Debug, Clone)]
pub struct CsvTable {
    /// The file, for messages.
    pub path: PathBuf,
    /// Column names (trimmed), in file order.
    pub headers: Vec<String>,
    /// The field delimiter in use.
    pub delimiter: u8,
    /// The decimal separator rule in use.
    pub decimal: Decimal,
    /// A configured thousands separator other than a space (`.` or `,`); spaces between
    /// groups of three digits are always read as thousands separators.
    pub thousands: Option<char>,
    /// Name of the text encoding the file was decoded from.
    pub encoding: &'static str,
    data: String,
    /// Byte offset and line number (1-based) just after the header record. A block of a file
    /// read in blocks ([`crate::blocks`]) has no header: offset 0, the line of its first row.
    body: (usize, usize),
    /// Lines of the file before `data` (a block's), for the csv crate's line numbers.
    line_offset: usize,
}

/// One data row as streamed by [`CsvTable::for_each_row`].
pub struct Row<'a> {
    /// Line number in the file (the header is line 1).
    pub line: usize,
    /// The fields; the count equals the header's (rows with another count become diagnostics).
    pub record: Record<'a>,
}

impl<'a> Row<'a> {
    /// Field `i` as text; `""` past the last field.
    pub fn text(&self, i: usize) -> &'a str {
        self.record.get(i).unwrap_or("")
    }
}

/// The fields of one record, borrowed from the decoded text (unquoted fields) or from the
/// buffer the quoted ones were unescaped into.
#[derive(Clone, Copy)]
pub struct Record<'a> {
    text: &'a str,
    unquoted: &'a str,
    spans: &'a [Span],
}

/// Where a field is: `start..end` of the text, or of the unescaped buffer when `quoted`.
#[derive(Clone, Copy)]
struct Span {
    start: usize,
    end: usize,
    quoted: bool,
}

impl<'a> Record<'a> {
    /// Number of fields.
    pub fn len(&self) -> usize {
        self.spans.len()
    }

    /// True for a record without fields (never emitted).
    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    /// Field `i`. Spans start and end at ASCII bytes (delimiter, quote, line end), so they
    /// are char boundaries and `get` never fails for a field that exists.
    pub fn get(&self, i: usize) -> Option<&'a str> {
        let s = self.spans.get(i)?;
        let src = if s.quoted { self.unquoted } else { self.text };
        src.get(s.start..s.end)
    }

    /// The fields run together, at most `max` bytes (the value of a malformed-row message).
    fn prefix(&self, max: usize) -> String {
        let mut v: Vec<u8> = Vec::new();
        for i in 0..self.len() {
            if v.len() >= max {
                break;
            }
            v.extend_from_slice(self.get(i).unwrap_or("").as_bytes());
        }
        v.truncate(max);
        String::from_utf8_lossy(&v).into_owned()
    }
}

/// The reused buffers a record is parsed into.
#[derive(Default)]
struct RecordBuf {
    spans: Vec<Span>,
    unquoted: String,
}

impl RecordBuf {
    fn clear(&mut self) {
        self.spans.clear();
        self.unquoted.clear();
    }

    fn record<'a>(&'a self, text: &'a str) -> Record<'a> {
        Record {
            text,
            unquoted: &self.unquoted,
            spans: &self.spans,
        }
    }

    /// A record of the csv crate (the sequential path): every field copied into `unquoted`.
    fn fill_from(&mut self, rec: &csv::ByteRecord) {
        self.clear();
        for f in rec {
            let start = self.unquoted.len();
            self.unquoted.push_str(&String::from_utf8_lossy(f));
            self.spans.push(Span {
                start,
                end: self.unquoted.len(),
                quoted: true,
            });
        }
    }
}

impl CsvTable {
    /// Opens and decodes a file (gzip when it starts with the gzip magic bytes).
    pub fn open(path: &Path, opts: &CsvOptions) -> Result<CsvTable, LoadError> {
        // The block reader with one block: one way to open, unzip and decode a CSV file.
        crate::blocks::CsvBlocks::open(path, opts, usize::MAX).map(|(table, _)| table)
    }

    /// Decodes CSV bytes; `path` is used in messages only.
    pub fn from_bytes(path: &Path, raw: Vec<u8>, opts: &CsvOptions) -> Result<CsvTable, LoadError> {
        let fmt_err = |message: String| LoadError::Format {
            path: path.to_path_buf(),
            message,
        };
        let (data, encoding) = decode(raw, opts.encoding.as_deref()).map_err(fmt_err)?;
        let header_end = memchr_newline(data.as_bytes());
        let header_line = &data.as_bytes()[..header_end];
        let delimiter = match opts.delimiter.as_deref() {
            Some(d) => parse_delimiter(d).map_err(fmt_err)?,
            None => detect_delimiter(header_line),
        };
        let decimal = match opts.decimal.as_deref() {
            None => Decimal::Detect,
            Some(".") => Decimal::Point,
            Some(",") => Decimal::Comma,
            Some(other) => {
                return Err(fmt_err(format!(
                    "csv.decimal must be \".\" or \",\", not {other:?}"
                )));
            }
        };
        let thousands = match opts.thousands.as_deref() {
            None => None,
            Some(t) => parse_thousands(t).map_err(fmt_err)?,
        };
        if thousands.is_some() && thousands == Some(char::from(delimiter)) {
            return Err(fmt_err(format!(
                "csv.thousands {:?} is also the field delimiter",
                char::from(delimiter)
            )));
        }
        if data.bytes().all(|b| b.is_ascii_whitespace()) {
            return Err(fmt_err("the file is empty (no header line)".into()));
        }
        let mut rdr = reader(delimiter, data.as_bytes());
        let mut rec = csv::ByteRecord::new();
        rdr.read_byte_record(&mut rec)
            .map_err(|e| fmt_err(format!("cannot read the header line: {e}")))?;
        let headers = rec
            .iter()
            .map(|h| String::from_utf8_lossy(h).trim().to_string())
            .collect();
        let pos = rdr.position();
        let body = (pos.byte() as usize, pos.line() as usize);
        Ok(CsvTable {
            path: path.to_path_buf(),
            headers,
            delimiter,
            decimal,
            thousands,
            encoding,
            data,
            body,
            line_offset: 0,
        })
    }

    /// A block of the same file read on its own ([`crate::blocks`]): whole records starting at
    /// line `first_line`, with this table's header and number rules.
    pub(crate) fn block(&self, data: String, encoding: &'static str, first_line: usize) -> Self {
        CsvTable {
            path: self.path.clone(),
            headers: self.headers.clone(),
            delimiter: self.delimiter,
            decimal: self.decimal,
            thousands: self.thousands,
            encoding,
            data,
            body: (0, first_line),
            line_offset: first_line - 1,
        }
    }

    /// The decoded data, given up (its memory is reused for the next block, [`crate::blocks`]).
    pub(crate) fn into_data(self) -> String {
        self.data
    }

    /// Bytes of decoded data held (a block's, when read in blocks).
    pub fn data_len(&self) -> usize {
        self.data.len()
    }

    /// The path as text, for diagnostics.
    pub fn path_str(&self) -> String {
        self.path.to_string_lossy().into_owned()
    }

    /// Index of a column by name, or `MissingField` listing the available columns (with a hint
    /// when the header looks split at the wrong delimiter).
    pub fn column(&self, name: &str) -> Result<usize, LoadError> {
        if let Some(i) = self.headers.iter().position(|h| h == name) {
            return Ok(i);
        }
        let mut available = self.headers.join(", ");
        let other_delims: Vec<char> = [b',', b';', b'\t']
            .into_iter()
            .filter(|d| *d != self.delimiter)
            .map(char::from)
            .collect();
        if self.headers.len() <= 1 && self.headers.iter().any(|h| h.contains(&other_delims[..])) {
            available.push_str(&format!(
                " — the header has only one column: the delimiter is probably not {:?}; set csv = {{ delimiter = \"…\" }} or leave it out to detect it",
                char::from(self.delimiter)
            ));
        }
        Err(LoadError::MissingField {
            path: self.path.clone(),
            field: name.to_string(),
            available,
        })
    }

    /// Streams the data rows. A row with the wrong number of fields becomes a diagnostic and is
    /// not passed on; blank lines are skipped. A malformed file (broken quoting) is an error.
    pub fn for_each_row(
        &self,
        diags: &mut Vec<Diagnostic>,
        mut f: impl FnMut(&Row<'_>),
    ) -> Result<(), LoadError> {
        let mut rdr = reader(self.delimiter, self.data.as_bytes());
        let mut rec = csv::ByteRecord::new();
        let mut buf = RecordBuf::default();
        // A block read on its own starts with a data row, a whole file with its header.
        let mut first = self.body.0 > 0;
        loop {
            match rdr.read_byte_record(&mut rec) {
                Ok(false) => break,
                Ok(true) => {}
                Err(e) => {
                    return Err(LoadError::Format {
                        path: self.path.clone(),
                        message: format!("malformed CSV: {e}"),
                    });
                }
            }
            if first {
                first = false;
                continue;
            }
            // The csv crate starts a record where it began reading: at the LF of a CRLF or at
            // skipped blank lines. Count those so messages name the line an editor shows.
            let line = rec.position().map_or(0, |p| {
                let skipped = self.data.as_bytes()[(p.byte() as usize).min(self.data.len())..]
                    .iter()
                    .take_while(|&&b| b == b'\n' || b == b'\r')
                    .filter(|&&b| b == b'\n')
                    .count();
                p.line() as usize + skipped + self.line_offset
            });
            buf.fill_from(&rec);
            self.check_row(buf.record(""), line, diags, &mut f);
        }
        Ok(())
    }

    /// As [`CsvTable::for_each_row`], on all cores: the data rows are split into chunks at record
    /// boundaries; each chunk folds its rows, in file order, into an accumulator made by `init`.
    /// Returns the accumulators in file order (one per chunk) and the diagnostics of rows with
    /// the wrong number of fields, in file order. Files the fast splitter does not handle (see
    /// the module documentation) are read in one sequential chunk. `init` gets the number of
    /// lines in its chunk, an upper bound of its rows, to size its buffers once.
    pub fn par_rows<A: Send>(
        &self,
        init: impl Fn(usize) -> A + Sync,
        f: impl Fn(&mut A, &Row<'_>) + Sync,
    ) -> Result<(Vec<A>, Vec<Diagnostic>), LoadError> {
        self.par_rows_chunked(chunk_target(self.data.len()), init, f)
    }

    /// [`CsvTable::par_rows`] with chunks of about `target` bytes (the tests split tiny files
    /// everywhere).
    #[doc(hidden)]
    pub fn par_rows_chunked<A: Send>(
        &self,
        target: usize,
        init: impl Fn(usize) -> A + Sync,
        f: impl Fn(&mut A, &Row<'_>) + Sync,
    ) -> Result<(Vec<A>, Vec<Diagnostic>), LoadError> {
        if let Some(out) = self.par_rows_fast(target, &init, &f) {
            return Ok(out);
        }
        let mut diags = Vec::new();
        let mut acc = init(0);
        self.for_each_row(&mut diags, |r| f(&mut acc, r))?;
        Ok((vec![acc], diags))
    }

    /// The parallel path of [`CsvTable::par_rows`]; `None` if the file needs the csv crate.
    fn par_rows_fast<A: Send>(
        &self,
        target: usize,
        init: &(impl Fn(usize) -> A + Sync),
        f: &(impl Fn(&mut A, &Row<'_>) + Sync),
    ) -> Option<(Vec<A>, Vec<Diagnostic>)> {
        let plan = self.row_chunks_sized(target);
        let accs = plan.lines.iter().map(|&n| init(n)).collect();
        self.par_rows_into(&plan, accs, f)
    }

    /// How [`CsvTable::par_rows`] splits the data rows: chunks at record boundaries, each with
    /// its number of lines (an upper bound of its rows), so a caller can make room for every
    /// chunk's rows before they are parsed ([`CsvTable::par_rows_into`]).
    pub fn row_chunks(&self) -> RowChunks {
        self.row_chunks_sized(chunk_target(self.data.len()))
    }

    /// [`CsvTable::row_chunks`] with chunks of about `target` bytes.
    fn row_chunks_sized(&self, target: usize) -> RowChunks {
        let (start, first_line) = self.body;
        let chunks = split_chunks(self.data.as_bytes(), start, first_line, target);
        let lines = chunks
            .iter()
            .enumerate()
            .map(|(k, c)| match chunks.get(k + 1) {
                Some(next) => next.line - c.line,
                None => {
                    memchr::memchr_iter(b'\n', &self.data.as_bytes()[c.start..c.end]).count() + 1
                }
            })
            .collect();
        RowChunks { chunks, lines }
    }

    /// Parses the chunks of `plan` on all cores, each into its own accumulator of `accs` (one
    /// per chunk, in order). Returns them and the diagnostics of rows with the wrong number of
    /// fields, in file order; `None` if the file needs the sequential reader (see the module
    /// documentation), and then what the accumulators hold is not the file's.
    pub fn par_rows_into<A: Send>(
        &self,
        plan: &RowChunks,
        accs: Vec<A>,
        f: &(impl Fn(&mut A, &Row<'_>) + Sync),
    ) -> Option<(Vec<A>, Vec<Diagnostic>)> {
        self.par_chunks(plan, accs, f, &|text, line, acc, slow| {
            parse_chunk(text, self.delimiter, line, |rec, l| slow(acc, rec, l))
        })
    }

    /// Runs `parse` on the chunks of `plan` on all cores, each with its accumulator and a sink
    /// that checks a record's field count and hands its row to `general`; gathers the
    /// accumulators and diagnostics in file order. `None` if any chunk's `parse` gives `false`.
    fn par_chunks<A: Send>(
        &self,
        plan: &RowChunks,
        accs: Vec<A>,
        general: &(impl Fn(&mut A, &Row<'_>) + Sync),
        parse: &(impl Fn(&str, usize, &mut A, &mut RecordSink<'_, A>) -> bool + Sync),
    ) -> Option<(Vec<A>, Vec<Diagnostic>)> {
        use rayon::prelude::*;
        if accs.len() != plan.chunks.len() {
            return None;
        }
        let out: Vec<Option<(A, Vec<Diagnostic>)>> = plan
            .chunks
            .par_iter()
            .zip(accs)
            .map(|(c, mut acc)| {
                // Chunks start at record starts, after an ASCII newline: char boundaries.
                let text = self.data.get(c.start..c.end)?;
                let mut diags = Vec::new();
                let mut sink = |acc: &mut A, rec: Record<'_>, line: usize| {
                    self.check_row(rec, line, &mut diags, |row| general(acc, row));
                };
                let ok = parse(text, c.line, &mut acc, &mut sink);
                ok.then_some((acc, diags))
            })
            .collect();
        let mut accs = Vec::with_capacity(out.len());
        let mut diags = Vec::new();
        for o in out {
            let (a, d) = o?;
            accs.push(a);
            diags.extend(d);
        }
        Some((accs, diags))
    }

    /// [`CsvTable::par_rows`] with a quicker way for plain rows: a row without quotes and with
    /// as many fields as the header is split in one pass, its plain integers (digits only, no
    /// leading zero, at most 19 digits: the number's text is the field's) and point decimals
    /// parsed on the way, and handed to `plain` as (line, [`PlainRow`]). `plain` returns
    /// `false` for a row it does not take (leaving its accumulator as it was); that row, and
    /// every other row, goes to `general` as [`CsvTable::par_rows`] would give it. Rows, lines
    /// and diagnostics are those of [`CsvTable::par_rows`]; only the work per plain row is less
    /// (no spans, no field lookups, one pass over the bytes).
    pub fn par_rows_plain<A: Send>(
        &self,
        init: impl Fn(usize) -> A + Sync,
        plain: impl Fn(&mut A, usize, &PlainRow<'_>) -> bool + Sync,
        general: impl Fn(&mut A, &Row<'_>) + Sync,
    ) -> Result<(Vec<A>, Vec<Diagnostic>), LoadError> {
        self.par_rows_plain_chunked(chunk_target(self.data.len()), init, plain, general)
    }

    /// [`CsvTable::par_rows_plain`] with chunks of about `target` bytes (for the tests).
    #[doc(hidden)]
    pub fn par_rows_plain_chunked<A: Send>(
        &self,
        target: usize,
        init: impl Fn(usize) -> A + Sync,
        plain: impl Fn(&mut A, usize, &PlainRow<'_>) -> bool + Sync,
        general: impl Fn(&mut A, &Row<'_>) + Sync,
    ) -> Result<(Vec<A>, Vec<Diagnostic>), LoadError> {
        let plan = self.row_chunks_sized(target);
        let accs = plan.lines.iter().map(|&n| init(n)).collect();
        if let Some(out) = self.par_rows_plain_into(&plan, accs, &plain, &general) {
            return Ok(out);
        }
        // Irregular quoting or a lone CR somewhere: the csv crate, every row to `general`.
        let mut diags = Vec::new();
        let mut acc = init(0);
        self.for_each_row(&mut diags, |r| general(&mut acc, r))?;
        Ok((vec![acc], diags))
    }

    /// [`CsvTable::par_rows_into`] with the quicker way of [`CsvTable::par_rows_plain`].
    pub fn par_rows_plain_into<A: Send>(
        &self,
        plan: &RowChunks,
        accs: Vec<A>,
        plain: &(impl Fn(&mut A, usize, &PlainRow<'_>) -> bool + Sync),
        general: &(impl Fn(&mut A, &Row<'_>) + Sync),
    ) -> Option<(Vec<A>, Vec<Diagnostic>)> {
        let width = self.headers.len();
        self.par_chunks(plan, accs, general, &|text, line, acc, mut slow| {
            parse_plain_chunk(text, self.delimiter, line, width, acc, plain, &mut slow)
        })
    }

    /// The field-count check of [`CsvTable::for_each_row`] for one record.
    fn check_row(
        &self,
        rec: Record<'_>,
        line: usize,
        diags: &mut Vec<Diagnostic>,
        f: impl FnOnce(&Row<'_>),
    ) {
        if rec.len() != self.headers.len() {
            if rec.len() == 1
                && rec
                    .get(0)
                    .unwrap_or("")
                    .bytes()
                    .all(|b| b.is_ascii_whitespace())
            {
                return;
            }
            diags.push(Diagnostic {
                path: self.path_str(),
                row: line,
                field: String::new(),
                value: rec.prefix(80),
                message: format!(
                    "row has {} fields, the header has {}",
                    rec.len(),
                    self.headers.len()
                ),
            });
            return;
        }
        f(&Row { line, record: rec });
    }

    /// All data rows as text (line number, fields). Convenient for small files.
    pub fn rows(
        &self,
        diags: &mut Vec<Diagnostic>,
    ) -> Result<Vec<(usize, Vec<String>)>, LoadError> {
        let mut out = Vec::new();
        self.for_each_row(diags, |r| {
            out.push((
                r.line,
                (0..r.record.len()).map(|i| r.text(i).to_string()).collect(),
            ));
        })?;
        Ok(out)
    }

    /// Whether numbers are written with a decimal point and no thousands separator, so that
    /// [`PlainRow::point_decimal`] reads a field as [`CsvTable::parse_f64`] does.
    pub fn point_decimals(&self) -> bool {
        self.thousands.is_none() && self.decimal != Decimal::Comma
    }

    /// Parses a decimal number according to the decimal and thousands rules. Empty →
    /// `Ok(None)`.
    pub fn parse_f64(&self, v: &str) -> Result<Option<f64>, NotANumber> {
        if self.thousands.is_none() {
            // With a decimal comma a point is a thousands separator: the general parser.
            let point_ok = self.decimal != Decimal::Comma;
            let comma_ok = match self.decimal {
                Decimal::Point => false,
                Decimal::Comma => true,
                Decimal::Detect => self.delimiter != b',',
            };
            if let Some(x) = fast_decimal(v.as_bytes(), point_ok, comma_ok) {
                return Ok(Some(x));
            }
        }
        parse_number(v, self.decimal, self.delimiter, self.thousands)
    }

    /// Reads a cell of an area table: a number, empty, a marker of the statistical offices
    /// (`.`, `-`, `–`, `x`, `/`, `*`) or one of `missing`, or not a number.
    pub fn cell(&self, v: &str, missing: &[String]) -> Cell {
        let t = v.trim();
        if t.is_empty() {
            return Cell::Empty;
        }
        if let Some((m, _)) = MARKERS.iter().find(|(m, _)| *m == t) {
            return Cell::Marker((*m).to_string());
        }
        if missing.iter().any(|m| m.trim() == t) {
            return Cell::Marker(t.to_string());
        }
        match self.parse_f64(t) {
            Ok(Some(x)) => {
                // A configured missing value written differently (-9999 vs -9999,0).
                if missing
                    .iter()
                    .filter_map(|m| self.parse_f64(m).ok().flatten())
                    .any(|m| m == x)
                {
                    Cell::Marker(missing_label(missing, x, self))
                } else {
                    Cell::Number(x)
                }
            }
            Ok(None) => Cell::Empty,
            Err(NotANumber) => Cell::NotANumber,
        }
    }

    /// A diagnostic for this file.
    pub fn diag(
        &self,
        line: usize,
        field: &str,
        value: &str,
        message: impl Into<String>,
    ) -> Diagnostic {
        Diagnostic {
            path: self.path_str(),
            row: line,
            field: field.to_string(),
            value: value.to_string(),
            message: message.into(),
        }
    }
}

fn missing_label(missing: &[String], x: f64, t: &CsvTable) -> String {
    missing
        .iter()
        .find(|m| t.parse_f64(m).ok().flatten() == Some(x))
        .map(|m| m.trim().to_string())
        .unwrap_or_default()
}

/// A cell of an area table as read.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// Empty.
    Empty,
    /// A number.
    Number(f64),
    /// A marker for "no value" (as written in the file).
    Marker(String),
    /// Text that is not a number.
    NotANumber,
}

/// The markers German statistical offices write instead of a number, with their meaning
/// (Zeichenerklärung of the Statistische Ämter des Bundes und der Länder; `*` is the
/// Bundesagentur für Arbeit's mark for cells kept secret, e.g. counts below 3). Each is read
/// as "no value" (`null` with the reason), never as 0.
pub const MARKERS: [(&str, &str); 10] = [
    (".", "Zahlenwert unbekannt oder geheim zu halten"),
    ("-", "nichts vorhanden"),
    ("–", "nichts vorhanden"),
    ("—", "nichts vorhanden"),
    ("x", "Tabellenfach gesperrt, weil Aussage nicht sinnvoll"),
    ("X", "Tabellenfach gesperrt, weil Aussage nicht sinnvoll"),
    ("/", "keine Angabe, da Zahlenwert nicht sicher genug"),
    ("*", "gesperrt (Geheimhaltung, z. B. Fallzahlen unter 3)"),
    ("...", "Angabe fällt später an"),
    ("…", "Angabe fällt später an"),
];

/// The meaning of a marker, or "configured as missing".
pub fn marker_meaning(m: &str) -> &'static str {
    MARKERS
        .iter()
        .find(|(k, _)| *k == m)
        .map_or("in der Konfiguration als fehlend angegeben", |(_, v)| v)
}

/// The configured thousands separator: `None` for spaces (always accepted), else the char.
fn parse_thousands(t: &str) -> Result<Option<char>, String> {
    match t {
        " " | "\u{a0}" | "\u{202f}" | "\u{2009}" | "space" | "nbsp" => Ok(None),
        "." => Ok(Some('.')),
        "," => Ok(Some(',')),
        "'" | "’" => Ok(Some('\'')),
        other => Err(format!(
            "csv.thousands must be \" \" (space, also no-break spaces), \".\", \",\" or \"'\", not {other:?}"
        )),
    }
}

/// Space characters used between digit groups: space, no-break space, narrow no-break space,
/// thin space.
fn is_group_space(c: char) -> bool {
    matches!(c, ' ' | '\u{a0}' | '\u{202f}' | '\u{2009}')
}

/// Removes separator `sep` (or any group space for `None`) from the integer part when it
/// splits it into groups of three digits (`1 675`, `1.675.000`). `None` if the separators are
/// not at group positions.
fn strip_groups(t: &str, sep: Option<char>) -> Option<String> {
    let is_sep = |c: char| match sep {
        None => is_group_space(c),
        Some(s) => c == s,
    };
    if !t.chars().any(is_sep) {
        return Some(t.to_string());
    }
    let (sign, body) = match t.strip_prefix(['-', '+']) {
        Some(rest) => (&t[..1], rest),
        None => ("", t),
    };
    // The integer part ends at the first character that is neither a digit nor a separator.
    let end = body
        .char_indices()
        .find(|&(_, c)| !(c.is_ascii_digit() || is_sep(c)))
        .map_or(body.len(), |(i, _)| i);
    let (int, rest) = body.split_at(end);
    let groups: Vec<&str> = int.split(is_sep).collect();
    let ok = groups.len() > 1
        && (1..=3).contains(&groups[0].len())
        && groups[1..].iter().all(|g| g.len() == 3)
        && groups.iter().all(|g| g.bytes().all(|b| b.is_ascii_digit()));
    ok.then(|| format!("{sign}{}{rest}", groups.concat()))
}

/// A value that is not a number (the caller reports it with row and field).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotANumber;

/// Parses a decimal number. Empty → `Ok(None)`; unparsable → `Err(NotANumber)`.
pub fn parse_decimal(v: &str, decimal: Decimal, delimiter: u8) -> Result<Option<f64>, NotANumber> {
    parse_number(v, decimal, delimiter, None)
}

/// Parses a number as German statistical offices write them: padding around it, spaces (also
/// no-break ones) between groups of three digits, a configured thousands separator
/// (`thousands`: `.`, `,` or `'`), a decimal point or comma. Empty → `Ok(None)`.
pub fn parse_number(
    v: &str,
    decimal: Decimal,
    delimiter: u8,
    thousands: Option<char>,
) -> Result<Option<f64>, NotANumber> {
    let t = v.trim();
    if t.is_empty() {
        return Ok(None);
    }
    let spaced = strip_groups(t, None).ok_or(NotANumber)?;
    let t = match thousands {
        Some(sep) => strip_groups(&spaced, Some(sep)).ok_or(NotANumber)?,
        None => spaced,
    };
    let t = t.as_str();
    if thousands == Some(',') {
        // The comma was the thousands separator: what is left is a decimal point number.
        return match t.parse::<f64>() {
            Ok(x) if x.is_finite() => Ok(Some(x)),
            _ => Err(NotANumber),
        };
    }
    let comma_ok = match decimal {
        Decimal::Point => false,
        Decimal::Comma => true,
        Decimal::Detect => delimiter != b',',
    };
    let parsed = if decimal == Decimal::Comma || (comma_ok && t.contains(',')) {
        if t.matches(',').count() > 1 {
            return Err(NotANumber);
        }
        // With a decimal comma, a point can only be a thousands separator ("1.234,5").
        t.replace('.', "").replace(',', ".").parse::<f64>()
    } else {
        t.parse::<f64>()
    };
    match parsed {
        Ok(x) if x.is_finite() => Ok(Some(x)),
        _ => Err(NotANumber),
    }
}

/// `v.trim()`, without the Unicode whitespace test for the usual field that starts and ends
/// with a visible ASCII character (nothing to trim: millions of calls per file).
pub fn trim(v: &str) -> &str {
    let b = v.as_bytes();
    let visible = |c: Option<&u8>| c.is_some_and(|c| c.is_ascii_graphic());
    if visible(b.first()) && visible(b.last()) {
        v
    } else {
        v.trim()
    }
}

/// Parses a count: a non-negative integer that fits in u32. Surrounding blanks are allowed.
pub fn parse_count(v: &str) -> Result<u32, &'static str> {
    let t = trim(v).as_bytes();
    if t.is_empty() {
        return Err("empty count (write 0 for none)");
    }
    let mut n: u64 = 0;
    for &b in t {
        if !b.is_ascii_digit() {
            return Err(if b == b'-' {
                "negative count"
            } else {
                "not a non-negative integer"
            });
        }
        n = n * 10 + u64::from(b - b'0');
        if n > u64::from(u32::MAX) {
            return Err("count too large");
        }
    }
    Ok(n as u32)
}

/// Decimal numbers of at most 19 digits as `[-]digits[sep digits]`, the common case, without
/// allocating. `None` for anything else (the general parser decides). Exact: a mantissa below
/// 2^53 divided by an exact power of ten is the correctly rounded value, as `str::parse` gives.
fn fast_decimal(b: &[u8], point_ok: bool, comma_ok: bool) -> Option<f64> {
    let (neg, digits) = match b.first()? {
        b'-' => (true, &b[1..]),
        _ => (false, b),
    };
    let mut mant: u64 = 0;
    let (mut int_digits, mut frac_digits, mut sep) = (0usize, 0usize, false);
    for &c in digits {
        if c.is_ascii_digit() {
            if int_digits + frac_digits >= 19 {
                return None;
            }
            mant = mant * 10 + u64::from(c - b'0');
            if sep {
                frac_digits += 1;
            } else {
                int_digits += 1;
            }
        } else if !sep && ((c == b'.' && point_ok) || (c == b',' && comma_ok)) {
            sep = true;
        } else {
            return None;
        }
    }
    if int_digits == 0 || (sep && frac_digits == 0) || mant > 1 << 53 || frac_digits > 22 {
        return None;
    }
    let x = mant as f64 / POW10[frac_digits];
    Some(if neg { -x } else { x })
}

/// The chunks of [`CsvTable::row_chunks`].
#[derive(Debug)]
pub struct RowChunks {
    chunks: Vec<Chunk>,
    lines: Vec<usize>,
}

impl RowChunks {
    /// Lines per chunk, in file order: no chunk has more rows.
    pub fn lines(&self) -> &[usize] {
        &self.lines
    }
}

/// A chunk of the data rows: its byte range and the line its first byte is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Chunk {
    start: usize,
    end: usize,
    line: usize,
}

/// Bytes per chunk: a few chunks per thread so uneven chunks even out; at least 1 MiB, so small
/// files stay one chunk.
fn chunk_target(len: usize) -> usize {
    (len / (rayon::current_num_threads().max(1) * 4)).max(1 << 20)
}

/// Splits `data[start..]` into chunks of about `target` bytes that begin at record starts.
///
/// Whether a newline ends a record depends on the quotes before it: under RFC 4180 quoting
/// (every quote opens or closes a quoted field or is doubled inside one) a newline is outside a
/// field exactly when an even number of quotes precede it. The quotes and newlines of each
/// stretch are counted in parallel; [`parse_chunk`] then rejects any quote that breaks the
/// rule, so a file where the count would mislead is never split wrongly: it is read
/// sequentially.
fn split_chunks(data: &[u8], start: usize, first_line: usize, target: usize) -> Vec<Chunk> {
    use rayon::prelude::*;
    let len = data.len();
    if start >= len {
        return Vec::new();
    }
    let nominal: Vec<usize> = (start..len).step_by(target.max(1)).chain([len]).collect();
    // Quotes and newlines in each nominal stretch, then before each nominal point.
    let counts: Vec<(usize, usize)> = nominal
        .par_windows(2)
        .map(|w| {
            let s = &data[w[0]..w[1]];
            (
                memchr::memchr_iter(b'"', s).count(),
                memchr::memchr_iter(b'\n', s).count(),
            )
        })
        .collect();
    let mut chunks = Vec::with_capacity(counts.len());
    let (mut chunk_start, mut chunk_line) = (start, first_line);
    let (mut quotes, mut lines) = (0usize, 0usize);
    for (k, &p) in nominal.iter().enumerate().take(nominal.len() - 1).skip(1) {
        quotes += counts[k - 1].0;
        lines += counts[k - 1].1;
        if p < chunk_start {
            continue;
        }
        // From p to just after the first newline outside quotes.
        let mut inside = quotes % 2 == 1;
        let mut newlines = 0usize;
        let mut boundary = None;
        for (i, &c) in data[p..].iter().enumerate() {
            match c {
                b'"' => inside = !inside,
                b'\n' => {
                    newlines += 1;
                    if !inside {
                        boundary = Some(p + i + 1);
                        break;
                    }
                }
                _ => {}
            }
        }
        let Some(b) = boundary.filter(|&b| b < len) else {
            break;
        };
        chunks.push(Chunk {
            start: chunk_start,
            end: b,
            line: chunk_line,
        });
        chunk_start = b;
        chunk_line = first_line + lines + newlines;
    }
    chunks.push(Chunk {
        start: chunk_start,
        end: len,
        line: chunk_line,
    });
    chunks
}

/// Where a chunk parser hands a record (with its line) that is not a plain row.
type RecordSink<'s, A> = dyn FnMut(&mut A, Record<'_>, usize) + 's;

/// The bytes that end an unquoted field or start a quoted one.
fn special_bytes(delimiter: u8) -> [bool; 256] {
    let mut special = [false; 256];
    for c in [delimiter, b'\n', b'\r', b'"'] {
        special[c as usize] = true;
    }
    special
}

/// Reads the records of one chunk (starting at a record start) into a reused record, calling
/// `emit` with each and its line, as the csv crate would: fields split at `delimiter`, records
/// at LF or CRLF, empty lines skipped, RFC 4180 quotes (`""` inside a quoted field is one
/// quote). `false` at anything else (a lone CR, a quote inside an unquoted field or text after
/// a closing quote, an unterminated quote): the file is then read by the csv crate.
fn parse_chunk(
    text: &str,
    delimiter: u8,
    mut line: usize,
    mut emit: impl FnMut(Record<'_>, usize),
) -> bool {
    let special = special_bytes(delimiter);
    let b = text.as_bytes();
    let n = b.len();
    let mut buf = RecordBuf::default();
    let mut i = 0;
    // Consumes a record terminator at `i` (LF or CRLF); false for a lone CR.
    let end_of_record = |i: &mut usize, line: &mut usize| -> bool {
        match b[*i] {
            b'\n' => {
                *i += 1;
                *line += 1;
                true
            }
            b'\r' if b.get(*i + 1) == Some(&b'\n') => {
                *i += 2;
                *line += 1;
                true
            }
            _ => false,
        }
    };
    while i < n {
        if b[i] == b'\n' || b[i] == b'\r' {
            if !end_of_record(&mut i, &mut line) {
                return false;
            }
            continue;
        }
        let rec_line = line;
        buf.clear();
        loop {
            if i < n && b[i] == b'"' {
                i += 1;
                let start = buf.unquoted.len();
                loop {
                    let Some(k) = memchr::memchr(b'"', &b[i..]) else {
                        return false;
                    };
                    // Between two ASCII quotes: char boundaries.
                    let Some(seg) = text.get(i..i + k) else {
                        return false;
                    };
                    line += memchr::memchr_iter(b'\n', seg.as_bytes()).count();
                    buf.unquoted.push_str(seg);
                    i += k + 1;
                    if b.get(i) == Some(&b'"') {
                        buf.unquoted.push('"');
                        i += 1;
                    } else {
                        break;
                    }
                }
                buf.spans.push(Span {
                    start,
                    end: buf.unquoted.len(),
                    quoted: true,
                });
            } else {
                let s = i;
                while i < n && !special[b[i] as usize] {
                    i += 1;
                }
                buf.spans.push(Span {
                    start: s,
                    end: i,
                    quoted: false,
                });
            }
            if i >= n {
                break;
            }
            if b[i] == delimiter {
                i += 1;
                continue;
            }
            if !end_of_record(&mut i, &mut line) {
                return false;
            }
            break;
        }
        emit(buf.record(text), rec_line);
    }
    true
}

/// A row split by [`CsvTable::par_rows_plain`]: as many fields as the header, none quoted.
pub struct PlainRow<'a> {
    text: &'a str,
    /// Where each field ends in `text` (the next starts one byte later).
    ends: &'a [usize],
    /// Each field's digits as a number (what it means: `kinds`).
    ints: &'a [u64],
    /// Per field: [`INT`] a plain integer, `1..=19` a decimal with that many digits after its
    /// point (`ints` holds all its digits), [`OTHER`] anything else.
    kinds: &'a [u8],
}

/// Kinds of fields of a [`PlainRow`].
const INT: u8 = 0;
const OTHER: u8 = u8::MAX;
/// Exact powers of ten as `f64`.
pub(crate) const POW10: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];

impl<'a> PlainRow<'a> {
    /// Field `i` as text; `""` past the last field.
    pub fn text(&self, i: usize) -> &'a str {
        let Some(&end) = self.ends.get(i) else {
            return "";
        };
        let start = if i == 0 { 0 } else { self.ends[i - 1] + 1 };
        // Fields end at an ASCII delimiter or line end: char boundaries.
        self.text.get(start..end).unwrap_or("")
    }

    /// Field `i` as a number if it is a plain integer (digits only, no leading zero, no
    /// blanks: the number's text is the field's).
    pub fn int(&self, i: usize) -> Option<u64> {
        (self.kinds.get(i) == Some(&INT)).then(|| self.ints[i])
    }

    /// Field `i` as a count if it is a plain integer that fits (what [`parse_count`] reads
    /// from it without a message).
    pub fn count(&self, i: usize) -> Option<u32> {
        self.int(i).and_then(|v| u32::try_from(v).ok())
    }

    /// Field `i` as [`CsvTable::parse_f64`] reads it in a table with a decimal point and no
    /// thousands separator ([`CsvTable::point_decimals`]), if it is written `digits[.digits]`
    /// with at most 19 digits below 2^53 (the exact case); `None` for any other field.
    pub fn point_decimal(&self, i: usize) -> Option<f64> {
        let mant = *self.ints.get(i)?;
        match *self.kinds.get(i)? {
            // A mantissa below 2^53 divided by an exact power of ten is correctly rounded.
            k if k != OTHER && mant <= 1 << 53 => Some(mant as f64 / POW10[usize::from(k)]),
            _ => None,
        }
    }
}

/// The rows of a chunk (starting at a record start): a plain row (see
/// [`CsvTable::par_rows_plain`]) is split in one pass and goes to `plain`; any other line, and
/// a row `plain` declines, is read by [`parse_chunk`] and goes to `slow`, so both give what
/// [`parse_chunk`] alone would. From the first line with a quote on (a quoted field may span
/// lines), the rest of the chunk is read by [`parse_chunk`]. `false` where [`parse_chunk`]
/// gives it (a lone CR, broken quoting).
fn parse_plain_chunk<A>(
    text: &str,
    delimiter: u8,
    mut line: usize,
    width: usize,
    acc: &mut A,
    plain: &impl Fn(&mut A, usize, &PlainRow<'_>) -> bool,
    slow: &mut impl FnMut(&mut A, Record<'_>, usize),
) -> bool {
    let special = special_bytes(delimiter);
    let b = text.as_bytes();
    let n = b.len();
    // Written by index with the count kept in a register: pushing stored each vector's length
    // on every field, and building the row's slices then loaded those stores back, 16 bytes
    // spanning two 8-byte stores, which the CPU cannot forward (a stall on every row: 14 % of
    // the time in the row loop).
    let mut ints: Vec<u64> = vec![0; width];
    let mut ends: Vec<usize> = vec![0; width];
    let mut kinds: Vec<u8> = vec![0; width];
    // A digit delimiter would be read as part of a number.
    let quick = !delimiter.is_ascii_digit();
    let mut i = 0;
    while i < n {
        let start = i;
        // Fields read in this row; past `width` they are not kept (the row is not plain).
        let mut nf = 0usize;
        if quick {
            loop {
                let f = i;
                let mut v = 0u64;
                while i < n && b[i].is_ascii_digit() {
                    // At most 19 digits are kept (below 2^64): wrapping only past those.
                    v = v.wrapping_mul(10).wrapping_add(u64::from(b[i] - b'0'));
                    i += 1;
                }
                let len = i - f;
                let mut kind = if len > 0 && len <= 19 && (len == 1 || b[f] != b'0') {
                    INT
                } else {
                    OTHER
                };
                if len > 0 && b.get(i) == Some(&b'.') {
                    // A decimal point: the fraction's digits go on into the same number.
                    i += 1;
                    let g = i;
                    while i < n && b[i].is_ascii_digit() {
                        v = v.wrapping_mul(10).wrapping_add(u64::from(b[i] - b'0'));
                        i += 1;
                    }
                    let frac = i - g;
                    kind = if frac > 0 && len + frac <= 19 {
                        frac as u8
                    } else {
                        OTHER
                    };
                }
                if i < n && !special[b[i] as usize] {
                    // Neither: on to the field's end.
                    kind = OTHER;
                    while i < n && !special[b[i] as usize] {
                        i += 1;
                    }
                }
                if nf < width {
                    ints[nf] = v;
                    kinds[nf] = kind;
                    ends[nf] = i - start;
                }
                nf += 1;
                if i < n && b[i] == delimiter {
                    i += 1;
                } else {
                    break;
                }
            }
        }
        let end = match b.get(i) {
            None => Some(n),
            Some(b'\n') => Some(i + 1),
            Some(b'\r') if b.get(i + 1) == Some(&b'\n') => Some(i + 2),
            // A quote, a lone CR
            Some(_) => None,
        };
        // An empty line is no record (the general reader skips it).
        if let Some(e) = end.filter(|_| quick && i > start && nf == width)
            && let Some(row_text) = text.get(start..i)
            && plain(
                acc,
                line,
                &PlainRow {
                    text: row_text,
                    ends: &ends[..nf],
                    ints: &ints[..nf],
                    kinds: &kinds[..nf],
                },
            )
        {
            line += 1;
            i = e;
            continue;
        }
        // This line by the general reader; a record is this one line unless it has a quote.
        let e = memchr::memchr(b'\n', &b[start..]).map_or(n, |k| start + k + 1);
        if memchr::memchr(b'"', &b[start..e]).is_some() {
            return text.get(start..).is_some_and(|rest| {
                parse_chunk(rest, delimiter, line, |rec, l| slow(acc, rec, l))
            });
        }
        // `start` and `e` follow an ASCII newline or end the text: char boundaries.
        let Some(seg) = text.get(start..e) else {
            return false;
        };
        if !parse_chunk(seg, delimiter, line, |rec, l| slow(acc, rec, l)) {
            return false;
        }
        line += 1;
        i = e;
    }
    true
}

fn reader(delimiter: u8, data: &[u8]) -> csv::Reader<&[u8]> {
    csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(false)
        .flexible(true)
        .from_reader(data)
}

fn memchr_newline(data: &[u8]) -> usize {
    data.iter().position(|b| *b == b'\n').unwrap_or(data.len())
}

pub(crate) fn parse_delimiter(d: &str) -> Result<u8, String> {
    match d {
        "," => Ok(b','),
        ";" => Ok(b';'),
        "\t" | "tab" | "\\t" => Ok(b'\t'),
        "|" => Ok(b'|'),
        other => Err(format!(
            "csv.delimiter must be \",\", \";\" or \"\\t\", not {other:?}"
        )),
    }
}

/// The most frequent of `,` `;` tab in the header line, outside quotes. Ties and none: `,`.
pub fn detect_delimiter(header: &[u8]) -> u8 {
    let (mut c, mut s, mut t) = (0usize, 0usize, 0usize);
    let mut quoted = false;
    for &b in header {
        match b {
            b'"' => quoted = !quoted,
            b',' if !quoted => c += 1,
            b';' if !quoted => s += 1,
            b'\t' if !quoted => t += 1,
            _ => {}
        }
    }
    if s > c && s >= t {
        b';'
    } else if t > c && t > s {
        b'\t'
    } else {
        b','
    }
}

/// Decodes to UTF-8 without BOM. Configured encoding wins; otherwise valid UTF-8 is kept and
/// anything else is read as Windows-1252 (the usual export of German office software).
pub(crate) fn decode(
    mut raw: Vec<u8>,
    configured: Option<&str>,
) -> Result<(String, &'static str), String> {
    let enc = match configured {
        Some(label) => Some(
            encoding_rs::Encoding::for_label(label.trim().as_bytes()).ok_or_else(|| {
                format!("unknown csv.encoding {label:?} (use \"utf-8\" or \"windows-1252\")")
            })?,
        ),
        None => None,
    };
    let has_bom = raw.starts_with(&[0xEF, 0xBB, 0xBF]);
    match enc {
        Some(e) if e != encoding_rs::UTF_8 => {
            let (text, _, had_errors) = e.decode(&raw);
            if had_errors {
                return Err(format!("the file is not valid {}", e.name()));
            }
            Ok((text.into_owned(), e.name()))
        }
        _ => {
            if has_bom {
                raw.drain(..3);
            }
            // Validated once, here; records are then slices of this text.
            match String::from_utf8(raw) {
                Ok(text) => Ok((text, "UTF-8")),
                Err(e) if enc.is_some() => Err(format!(
                    "the file is not valid UTF-8 (byte {}); set csv.encoding = \"windows-1252\" if it is a Windows export",
                    e.utf8_error().valid_up_to()
                )),
                Err(e) => {
                    let (text, _, _) = encoding_rs::WINDOWS_1252.decode(e.as_bytes());
                    Ok((text.into_owned(), "windows-1252"))
                }
            }
        }
    }
}
