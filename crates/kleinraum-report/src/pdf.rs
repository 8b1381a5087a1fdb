//! PDF through typst used as a library: an in-memory world holding the template, the report's
//! data as JSON, its drawings and the embedded fonts. No file system, no packages, no network.

use crate::model::Doc;
use crate::{ReportError, ReportMeta};
use std::collections::HashMap;
use std::sync::LazyLock;
use typst::diag::{FileError, FileResult, SourceDiagnostic};
use typst::foundations::{Bytes, Datetime, Duration};
use typst::syntax::{FileId, RootedPath, Source, VirtualPath, VirtualRoot};
use typst::text::{Font, FontBook};
use typst::utils::LazyHash;
use typst::{Library, LibraryExt, World};
use typst_layout::PagedDocument;

const TEMPLATE: &str = include_str!("../templates/report.typ");

struct Shared {
    library: LazyHash<Library>,
    book: LazyHash<FontBook>,
    fonts: Vec<Font>,
}

static SHARED: LazyLock<Shared> = LazyLock::new(|| {
    let fonts: Vec<Font> = crate::fonts::LIBERATION_SANS
        .iter()
        .flat_map(|data| Font::iter(Bytes::new(*data)))
        .collect();
    Shared {
        library: LazyHash::new(Library::builder().build()),
        book: LazyHash::new(FontBook::from_fonts(&fonts)),
        fonts,
    }
});

fn file_id(path: &str) -> FileId {
    // Paths are a fixed set (template, data, /img/<n>.svg, logo): typst interns file ids for
    // the life of the process, so the set must stay bounded.
    let vpath = VirtualPath::new(path)
        .unwrap_or_else(|_| VirtualPath::new("/invalid").expect("a valid path"));
    FileId::new(RootedPath::new(VirtualRoot::Project, vpath))
}

struct ReportWorld {
    main: Source,
    files: HashMap<FileId, Bytes>,
    today: (i32, u8, u8),
}

impl World for ReportWorld {
    fn library(&self) -> &LazyHash<Library> {
        &SHARED.library
    }
    fn book(&self) -> &LazyHash<FontBook> {
        &SHARED.book
    }
    fn main(&self) -> FileId {
        self.main.id()
    }
    fn source(&self, id: FileId) -> FileResult<Source> {
        if id == self.main.id() {
            Ok(self.main.clone())
        } else {
            Err(FileError::NotSource)
        }
    }
    fn file(&self, id: FileId) -> FileResult<Bytes> {
        self.files
            .get(&id)
            .cloned()
            .ok_or_else(|| FileError::NotFound(std::path::PathBuf::from(format!("{id:?}"))))
    }
    fn font(&self, index: usize) -> Option<Font> {
        SHARED.fonts.get(index).cloned()
    }
    fn today(&self, _offset: Option<Duration>) -> Option<Datetime> {
        Datetime::from_ymd(self.today.0, self.today.1, self.today.2)
    }
}

fn diag_text(diags: &[SourceDiagnostic]) -> String {
    diags
        .iter()
        .map(|d| d.message.to_string())
        .collect::<Vec<_>>()
        .join("; ")
}

/// Typesets the report.
pub fn render(doc: &Doc, meta: &ReportMeta) -> Result<Vec<u8>, ReportError> {
    let data = serde_json::to_vec(doc).map_err(|e| ReportError::Typeset(e.to_string()))?;
    let mut files = HashMap::new();
    files.insert(file_id("/data.json"), Bytes::new(data));
    for (i, svg) in doc.images.iter().enumerate() {
        files.insert(
            file_id(&format!("/img/{i}.svg")),
            Bytes::from_string(svg.clone()),
        );
    }
    if let Some((bytes, ext)) = &meta.logo {
        files.insert(file_id(&format!("/logo.{ext}")), Bytes::new(bytes.clone()));
    }
    let world = ReportWorld {
        main: Source::new(file_id("/report.typ"), TEMPLATE.to_string()),
        files,
        today: meta.created_ymd,
    };
    let compiled = typst::compile::<PagedDocument>(&world);
    let document = compiled
        .output
        .map_err(|e| ReportError::Typeset(diag_text(&e)))?;
    let (y, m, d) = meta.created_ymd;
    let options = typst_pdf::PdfOptions {
        ident: typst::foundations::Smart::Custom(format!("kleinraum-{}", doc.meta.title)),
        creator: typst::foundations::Smart::Custom(Some("kleinraum (typst)".into())),
        timestamp: Datetime::from_ymd_hms(y, m, d, 0, 0, 0).map(typst_pdf::Timestamp::new_utc),
        standards: typst_pdf::PdfStandards::new(&[typst_pdf::PdfStandard::A_2b])
            .map_err(|e| ReportError::Typeset(format!("{e:?}")))?,
        ..typst_pdf::PdfOptions::default()
    };
    let pdf = typst_pdf::pdf(&document, &options).map_err(|e| ReportError::Typeset(diag_text(&e)));
    // Bound the memoisation cache of a long-running server: keep only recent entries.
    typst::comemo::evict(4);
    pdf
}
