//! kleinraum-report: the Berichtswesen. Monitoring reports, Sozialraum-Steckbriefe, papers on
//! the Sozialraumgebiete and the map's one-page print, as PDF (typst as a library, fonts
//! embedded, German hyphenation, tagged PDF/A-2b) and as DOCX (docx-rs, real Word styles),
//! with maps and charts drawn as SVG on the server.
//!
//! Owns: the report model ([`model::Block`]), maps and charts ([`svg`]), the two engines.
//! Renders only from the publishable [`AggregateResult`] (disclosure control already applied):
//! it never sees address points. Must not: do file or network I/O (callers pass the logo's
//! bytes and write the output), link PROJ/GDAL, or compute statistics.

pub mod classify;
mod docx;
pub mod fmt;
mod fonts;
pub mod model;
mod pdf;
pub mod svg;

use kleinraum_aggregate::result::AggregateResult;
use kleinraum_load::config::ReportConfig;

/// Which report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportKind {
    /// The yearly Monitoring: summary, maps, tables, time series, Sozialraumgebiete, method.
    Monitoring,
    /// One profile per area (or one with `area`).
    Steckbrief,
    /// The committee paper on the Sozialraumgebiete.
    Sozialraumgebiete,
    /// The map's print: one A4 landscape page of one indicator.
    Karte,
}

impl ReportKind {
    /// Parses `monitoring|steckbrief|sozialraumgebiete|karte`.
    pub fn parse(s: &str) -> Option<ReportKind> {
        match s {
            "monitoring" => Some(ReportKind::Monitoring),
            "steckbrief" | "steckbriefe" => Some(ReportKind::Steckbrief),
            "sozialraumgebiete" => Some(ReportKind::Sozialraumgebiete),
            "karte" => Some(ReportKind::Karte),
            _ => None,
        }
    }

    /// The name used in URLs and file names.
    pub fn as_str(self) -> &'static str {
        match self {
            ReportKind::Monitoring => "monitoring",
            ReportKind::Steckbrief => "steckbrief",
            ReportKind::Sozialraumgebiete => "sozialraumgebiete",
            ReportKind::Karte => "karte",
        }
    }
}

/// Output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// PDF (typst).
    Pdf,
    /// Word (DOCX).
    Docx,
}

impl Format {
    /// Parses `pdf|docx`.
    pub fn parse(s: &str) -> Option<Format> {
        match s {
            "pdf" => Some(Format::Pdf),
            "docx" => Some(Format::Docx),
            _ => None,
        }
    }

    /// The MIME type.
    pub fn mime(self) -> &'static str {
        match self {
            Format::Pdf => "application/pdf",
            Format::Docx => {
                "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
            }
        }
    }

    /// The file extension.
    pub fn ext(self) -> &'static str {
        match self {
            Format::Pdf => "pdf",
            Format::Docx => "docx",
        }
    }
}

/// What to render.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportRequest {
    /// The kind of report.
    pub kind: ReportKind,
    /// Level key (default: the index's level for Monitoring and Sozialraumgebiete, else the
    /// finest level).
    pub level: Option<String>,
    /// Year (default: the latest year with index values on the level, else the latest year).
    pub year: Option<i32>,
    /// One area (Steckbrief).
    pub area: Option<String>,
    /// The indicator of the map print (`karte`).
    pub indicator: Option<String>,
    /// Map classification of this request (the web map's current choice); default: the
    /// config's.
    pub method: Option<kleinraum_load::config::ReportClassification>,
    /// Number of map classes (2–7); default: the config's.
    pub classes: Option<usize>,
    /// Output format.
    pub format: Format,
}

/// Facts about the installation that are not in the result.
#[derive(Debug, Clone, Default)]
pub struct ReportMeta {
    /// Name of the municipality (the config's `title`).
    pub municipality: String,
    /// Name of the Gebietsstand (e.g. the store's `base_name`).
    pub gebietsstand: Option<String>,
    /// The logo's bytes and extension (`png`, `svg`, `jpg`).
    pub logo: Option<(Vec<u8>, String)>,
    /// Date of creation shown on the title page (`TT.MM.JJJJ`).
    pub created: String,
    /// The same date for the PDF metadata.
    pub created_ymd: (i32, u8, u8),
}

impl ReportMeta {
    /// Meta with today's date (UTC).
    pub fn today(municipality: impl Into<String>) -> ReportMeta {
        let (y, m, d) = civil_today();
        ReportMeta {
            municipality: municipality.into(),
            created: format!("{d:02}.{m:02}.{y}"),
            created_ymd: (y, m, d),
            ..ReportMeta::default()
        }
    }
}

/// Today's date (UTC) from the system clock.
fn civil_today() -> (i32, u8, u8) {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    // Howard Hinnant's days-from-civil inverse.
    let z = (secs / 86_400) as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u8;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u8;
    let y = (yoe + era * 400 + i64::from(m <= 2)) as i32;
    (y, m, d)
}

/// Why a report could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// A request parameter names nothing that exists.
    #[error("{name}: {message}")]
    Parameter {
        /// The parameter (`level`, `year`, `area`, `indicator`).
        name: &'static str,
        /// What is wrong, with the allowed values.
        message: String,
    },
    /// The typesetting engine failed (a bug in the template, not the user's input).
    #[error("typesetting failed: {0}")]
    Typeset(String),
    /// The DOCX writer failed.
    #[error("writing the DOCX failed: {0}")]
    Docx(String),
}

/// Builds and renders a report. Pure: no I/O.
pub fn render(
    result: &AggregateResult,
    cfg: &ReportConfig,
    meta: &ReportMeta,
    req: &ReportRequest,
) -> Result<Vec<u8>, ReportError> {
    let doc = model::build(result, cfg, meta, req)?;
    match req.format {
        Format::Pdf => pdf::render(&doc, meta),
        Format::Docx => docx::render(&doc, meta),
    }
}

/// Rasterises an SVG drawing (as made by [`svg`]) to PNG at `dpi`, with the embedded fonts.
pub fn svg_to_png(svg: &str, dpi: f32) -> Result<(Vec<u8>, u32, u32), ReportError> {
    docx::rasterise(svg, dpi).map_err(ReportError::Docx)
}

#[cfg(test)]
mod tests {
    #[test]
    fn today_is_a_date() {
        let (y, m, d) = super::civil_today();
        assert!(y >= 2024 && (1..=12).contains(&m) && (1..=31).contains(&d));
    }
}
