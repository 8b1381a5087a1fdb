//! DOCX through docx-rs with real Word styles: Title, Heading 1/2 (outline levels, so Word's
//! navigation and table of contents work), Caption with SEQ fields (Word re-numbers figures and
//! tables), a table style, and drawings as PNG at 300 dpi rasterised from the same SVG as the
//! PDF's vectors.

use crate::model::{Block, Doc};
use crate::{ReportError, ReportMeta};
use docx_rs::{
    AlignmentType, BreakType, Docx, FieldCharType, Footer, IndentLevel, InstrText, LineSpacing,
    NumPages, PageMargin, PageNum, Paragraph, Pic, Run, RunFonts, Shading, Style, StyleType, Table,
    TableCell, TableOfContents, TableRow, WidthType,
};
use std::sync::{Arc, LazyLock};

/// Word's built-in style ids (so "Heading 1" is Word's own heading style, localised by Word).
const HEADING: [&str; 2] = ["Heading1", "Heading2"];
const CAPTION: &str = "Caption";
const TABLE_STYLE: &str = "KleinraumTabelle";
const SMALL: &str = "Anmerkung";
/// A4 text width in twips (170 mm).
const TEXT_TWIPS: usize = 9638;
/// EMU per mm.
const EMU_MM: f64 = 36_000.0;

static FONTDB: LazyLock<Arc<resvg::usvg::fontdb::Database>> = LazyLock::new(|| {
    let mut db = resvg::usvg::fontdb::Database::new();
    for f in crate::fonts::LIBERATION_SANS {
        db.load_font_data(f.to_vec());
    }
    db.set_sans_serif_family(crate::svg::FONT);
    Arc::new(db)
});

/// Rasterises an SVG at `dpi`; returns PNG bytes and the pixel size.
pub fn rasterise(svg: &str, dpi: f32) -> Result<(Vec<u8>, u32, u32), String> {
    let opt = resvg::usvg::Options {
        fontdb: FONTDB.clone(),
        font_family: crate::svg::FONT.into(),
        dpi,
        ..resvg::usvg::Options::default()
    };
    let tree = resvg::usvg::Tree::from_str(svg, &opt).map_err(|e| e.to_string())?;
    // usvg converts the SVG's mm to pixels at `opt.dpi`: the tree's size is the raster size.
    let size = tree.size().to_int_size();
    let mut pixmap =
        resvg::tiny_skia::Pixmap::new(size.width(), size.height()).ok_or("drawing too large")?;
    pixmap.fill(resvg::tiny_skia::Color::WHITE);
    resvg::render(
        &tree,
        resvg::tiny_skia::Transform::identity(),
        &mut pixmap.as_mut(),
    );
    let png = pixmap.encode_png().map_err(|e| e.to_string())?;
    Ok((png, size.width(), size.height()))
}

fn hex(c: &str) -> String {
    c.trim_start_matches('#').to_ascii_uppercase()
}

fn styles(docx: Docx, primary: &str) -> Docx {
    let p = hex(primary);
    docx.add_style(
        // Space after paragraphs (6 pt) instead of empty lines: the planner's edits keep it.
        Style::new("Normal", StyleType::Paragraph)
            .name("Normal")
            .line_spacing(LineSpacing::new().after(120)),
    )
    .add_style(
        Style::new("Title", StyleType::Paragraph)
            .name("Title")
            .based_on("Normal")
            .next("Normal")
            .size(52)
            .bold()
            .color(&p),
    )
    .add_style(
        Style::new("Subtitle", StyleType::Paragraph)
            .name("Subtitle")
            .based_on("Normal")
            .next("Normal")
            .size(28),
    )
    .add_style(
        Style::new(HEADING[0], StyleType::Paragraph)
            .name("heading 1")
            .based_on("Normal")
            .next("Normal")
            .size(30)
            .bold()
            .color(&p)
            .line_spacing(LineSpacing::new().before(360).after(160))
            .outline_lvl(0),
    )
    .add_style(
        Style::new(HEADING[1], StyleType::Paragraph)
            .name("heading 2")
            .based_on("Normal")
            .next("Normal")
            .size(23)
            .bold()
            .color(&p)
            .line_spacing(LineSpacing::new().before(240).after(100))
            .outline_lvl(1),
    )
    .add_style(
        Style::new(CAPTION, StyleType::Paragraph)
            .name("caption")
            .based_on("Normal")
            .next("Normal")
            .size(16)
            .italic(),
    )
    .add_style(
        Style::new(SMALL, StyleType::Paragraph)
            .name("Anmerkung")
            .based_on("Normal")
            .size(15)
            .color("505050"),
    )
    .add_style(
        Style::new(TABLE_STYLE, StyleType::Table)
            .name("Kleinraum Tabelle")
            .size(16),
    )
}

/// "Abbildung 3: …" with a SEQ field, so Word re-numbers after edits.
fn caption(kind: &str, n: usize, text: &str) -> Paragraph {
    Paragraph::new()
        .style(CAPTION)
        .keep_next(kind == "Tabelle")
        .add_run(Run::new().add_text(format!("{kind} ")))
        .add_run(Run::new().add_field_char(FieldCharType::Begin, false))
        .add_run(
            Run::new().add_instr_text(InstrText::Unsupported(format!(" SEQ {kind} \\* ARABIC "))),
        )
        .add_run(Run::new().add_field_char(FieldCharType::Separate, false))
        .add_run(Run::new().add_text(n.to_string()))
        .add_run(Run::new().add_field_char(FieldCharType::End, false))
        .add_run(Run::new().add_text(format!(": {text}")))
}

struct Writer<'a> {
    doc: &'a Doc,
    docx: Docx,
    figures: usize,
    tables: usize,
    pngs: Vec<Option<(Vec<u8>, u32, u32)>>,
}

impl Writer<'_> {
    fn picture(&mut self, image: usize, width_mm: f64) -> Result<Paragraph, ReportError> {
        let (png, w, h) = match self.pngs[image].take() {
            Some(x) => x,
            None => rasterise(&self.doc.images[image], 300.0).map_err(ReportError::Docx)?,
        };
        let width_mm = width_mm.min(170.0);
        let height_mm = width_mm * h as f64 / w.max(1) as f64;
        let pic = Pic::new_with_dimensions(png, w, h)
            .size((width_mm * EMU_MM) as u32, (height_mm * EMU_MM) as u32);
        Ok(Paragraph::new()
            .align(AlignmentType::Center)
            .keep_next(true)
            .add_run(Run::new().add_image(pic)))
    }

    fn block(&mut self, b: &Block) -> Result<(), ReportError> {
        match b {
            Block::Heading { level, text } => {
                let style = HEADING[(*level as usize).clamp(1, 2) - 1];
                let p = Paragraph::new()
                    .style(style)
                    .keep_next(true)
                    .add_run(Run::new().add_text(text));
                self.push(p);
            }
            Block::Para { text, small } => {
                let mut p = Paragraph::new().add_run(Run::new().add_text(text));
                if *small {
                    p = p.style(SMALL);
                }
                self.push(p);
            }
            Block::Bullets { items } => {
                for it in items {
                    let p = Paragraph::new()
                        .numbering(docx_rs::NumberingId::new(1), IndentLevel::new(0))
                        .add_run(Run::new().add_text(it));
                    self.push(p);
                }
            }
            Block::Figure {
                image,
                width,
                caption: text,
            } => {
                let pic = self.picture(*image, *width)?;
                self.push(pic);
                if !text.is_empty() {
                    self.figures += 1;
                    let c = caption("Abbildung", self.figures, text);
                    self.push(c);
                }
            }
            Block::Table {
                caption: text,
                header,
                rows,
                align,
                widths,
            } => {
                self.tables += 1;
                let c = caption("Tabelle", self.tables, text);
                self.push(c);
                let total: f64 = widths.iter().sum::<f64>().max(1e-9);
                let grid: Vec<usize> = widths
                    .iter()
                    .map(|w| (w / total * TEXT_TWIPS as f64) as usize)
                    .collect();
                let primary = hex(&self.doc.meta.primary);
                let cell = |text: &str, col: usize, head: bool, stripe: bool| {
                    let right = align.as_bytes().get(col) == Some(&b'r');
                    let mut run = Run::new().add_text(text).size(16);
                    if head {
                        run = run.bold().color("FFFFFF");
                    }
                    let mut p = Paragraph::new().add_run(run);
                    if right {
                        p = p.align(AlignmentType::Right);
                    }
                    let mut c = TableCell::new()
                        .add_paragraph(p)
                        .width(grid.get(col).copied().unwrap_or(1000), WidthType::Dxa);
                    if head {
                        c = c.shading(Shading::new().fill(&primary));
                    } else if stripe {
                        c = c.shading(Shading::new().fill("F0F0F0"));
                    }
                    c
                };
                let mut trs = vec![
                    TableRow::new(
                        header
                            .iter()
                            .enumerate()
                            .map(|(i, h)| cell(h, i, true, false))
                            .collect(),
                    )
                    .cant_split(),
                ];
                for (r, row) in rows.iter().enumerate() {
                    trs.push(
                        TableRow::new(
                            row.iter()
                                .enumerate()
                                .map(|(i, v)| cell(v, i, false, r % 2 == 1))
                                .collect(),
                        )
                        .cant_split(),
                    );
                }
                let t = Table::new(trs)
                    .style(TABLE_STYLE)
                    .set_grid(grid.clone())
                    .width(TEXT_TWIPS, WidthType::Dxa);
                self.docx = std::mem::take(&mut self.docx).add_table(t);
                self.push(Paragraph::new());
            }
            Block::Row { left, right } => {
                // Word users re-arrange freely: the columns follow each other.
                for b in left.iter().chain(right) {
                    self.block(b)?;
                }
            }
            Block::Landscape { blocks } => {
                for b in blocks {
                    self.block(b)?;
                }
            }
            Block::PageBreak => {
                self.push(Paragraph::new().add_run(Run::new().add_break(BreakType::Page)));
            }
        }
        Ok(())
    }

    fn push(&mut self, p: Paragraph) {
        self.docx = std::mem::take(&mut self.docx).add_paragraph(p);
    }
}

fn title_page(docx: Docx, doc: &Doc, meta: &ReportMeta) -> Result<Docx, ReportError> {
    let m = &doc.meta;
    let mut docx = docx;
    if let Some((bytes, ext)) = &meta.logo {
        let png = if ext == "svg" {
            let svg = String::from_utf8_lossy(bytes);
            Some(rasterise(&svg, 300.0).map_err(ReportError::Docx)?)
        } else if ext == "png" {
            png_size(bytes).map(|(w, h)| (bytes.clone(), w, h))
        } else {
            None
        };
        if let Some((png, w, h)) = png {
            let hmm = 22.0;
            let wmm = hmm * w as f64 / h.max(1) as f64;
            let pic = Pic::new_with_dimensions(png, w, h)
                .size((wmm * EMU_MM) as u32, (hmm * EMU_MM) as u32);
            docx = docx.add_paragraph(
                Paragraph::new()
                    .align(AlignmentType::Right)
                    .add_run(Run::new().add_image(pic)),
            );
        }
    }
    docx = docx
        .add_paragraph(Paragraph::new().line_spacing(LineSpacing::new().before(2400)))
        .add_paragraph(
            Paragraph::new()
                .style("Title")
                .add_run(Run::new().add_text(&m.title)),
        )
        .add_paragraph(
            Paragraph::new()
                .style("Subtitle")
                .add_run(Run::new().add_text(&m.subtitle)),
        )
        .add_paragraph(Paragraph::new().line_spacing(LineSpacing::new().before(2400)));
    let mut facts = vec![("Kommune", m.municipality.clone())];
    if !m.office.is_empty() {
        facts.push(("Herausgeber", m.office.clone()));
    }
    if !m.author.is_empty() {
        facts.push(("Bearbeitung", m.author.clone()));
    }
    facts.push(("Gebietsstand", m.gebietsstand.clone()));
    facts.push(("Stand der Daten", m.data_as_of.clone()));
    facts.push(("Erstellt am", m.created.clone()));
    for (k, v) in facts {
        docx = docx.add_paragraph(
            Paragraph::new()
                .add_run(Run::new().add_text(format!("{k}: ")).bold())
                .add_run(Run::new().add_text(v)),
        );
    }
    docx = docx.add_paragraph(Paragraph::new().add_run(Run::new().add_break(BreakType::Page)));
    // A table of contents field over Heading 1–2: Word and LibreOffice fill it on update (F9).
    docx = docx
        .add_paragraph(
            Paragraph::new()
                .style("Subtitle")
                .add_run(Run::new().add_text("Inhalt")),
        )
        .add_table_of_contents(
            TableOfContents::new()
                .heading_styles_range(1, 2)
                .auto()
                .dirty(),
        )
        .add_paragraph(Paragraph::new().add_run(Run::new().add_break(BreakType::Page)));
    Ok(docx)
}

/// Width and height of a PNG from its IHDR chunk.
fn png_size(b: &[u8]) -> Option<(u32, u32)> {
    if b.len() < 24 || &b[..8] != b"\x89PNG\r\n\x1a\n" {
        return None;
    }
    let w = u32::from_be_bytes(b[16..20].try_into().ok()?);
    let h = u32::from_be_bytes(b[20..24].try_into().ok()?);
    Some((w, h))
}

/// Writes the DOCX.
pub fn render(doc: &Doc, meta: &ReportMeta) -> Result<Vec<u8>, ReportError> {
    let mut docx = Docx::new()
        .page_size(11906, 16838)
        .page_margin(
            PageMargin::new()
                .top(1020)
                .bottom(1134)
                .left(1134)
                .right(1134),
        )
        .default_fonts(RunFonts::new().ascii("Arial").hi_ansi("Arial").cs("Arial"))
        .default_size(19)
        .add_abstract_numbering(
            docx_rs::AbstractNumbering::new(1).add_level(
                docx_rs::Level::new(
                    0,
                    docx_rs::Start::new(1),
                    docx_rs::NumberFormat::new("bullet"),
                    docx_rs::LevelText::new("•"),
                    docx_rs::LevelJc::new("left"),
                )
                .indent(
                    Some(360),
                    Some(docx_rs::SpecialIndentType::Hanging(360)),
                    None,
                    None,
                ),
            ),
        )
        .add_numbering(docx_rs::Numbering::new(1, 1))
        .footer(
            Footer::new().add_paragraph(
                Paragraph::new()
                    .size(15)
                    .add_run(
                        Run::new()
                            .add_text(format!("{}    Seite ", doc.meta.footer))
                            .size(15),
                    )
                    .add_page_num(PageNum::new())
                    .add_run(Run::new().add_text(" von ").size(15))
                    .add_num_pages(NumPages::new()),
            ),
        );
    docx = styles(docx, &doc.meta.primary);
    if doc.meta.front_matter {
        docx = title_page(docx, doc, meta)?;
    } else {
        docx = docx.add_paragraph(
            Paragraph::new()
                .style("Title")
                .add_run(Run::new().add_text(&doc.meta.title)),
        );
    }
    // Rasterise the drawings on every core: they dominate the time of a DOCX.
    let pngs: Vec<Option<(Vec<u8>, u32, u32)>> = std::thread::scope(|s| {
        let n = std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .min(8);
        let chunk = doc.images.len().div_ceil(n).max(1);
        let handles: Vec<_> = doc
            .images
            .chunks(chunk)
            .map(|c| {
                s.spawn(move || {
                    c.iter()
                        .map(|svg| rasterise(svg, 300.0).ok())
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_default())
            .collect()
    });
    let mut w = Writer {
        doc,
        docx,
        figures: 0,
        tables: 0,
        pngs,
    };
    w.pngs.resize(doc.images.len(), None);
    for b in &doc.blocks {
        w.block(b)?;
    }
    let mut out = std::io::Cursor::new(Vec::new());
    w.docx
        .pack(&mut out)
        .map_err(|e| ReportError::Docx(e.to_string()))?;
    Ok(out.into_inner())
}
