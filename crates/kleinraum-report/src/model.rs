//! The report as a sequence of blocks (headings, paragraphs, tables, figures), built from the
//! publishable [`AggregateResult`]. Both engines render the same blocks: typst (PDF) and
//! docx-rs (DOCX), so the two formats always say the same.

use crate::classify::{self, Classified};
use crate::fmt::{self, SUPPRESSED, UNDEFINED};
use crate::svg::{self, Bar, LegendItem, LegendPlace, MapArea, MapSpec, Series};
use crate::{ReportError, ReportKind, ReportMeta, ReportRequest};
use kleinraum_aggregate::aggregate::TOTAL_LEVEL_KEY;
use kleinraum_aggregate::config::{IndexConfig, IndicatorConfig, IndicatorKind, Polarity};
use kleinraum_aggregate::result::{
    AggregateResult, AreaResult, Count, CountFlag, IndexValue, IndicatorValue, LevelResult,
    NullReason,
};
use kleinraum_load::config::{ReportConfig, ReportSort};
use serde::Serialize;
use std::collections::HashMap;

/// A4 text width in mm at the margins of the template (portrait / landscape).
pub const TEXT_W: f64 = 170.0;
/// Text width of a landscape page.
pub const TEXT_W_LANDSCAPE: f64 = 257.0;

/// One block of the report.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "t", rename_all = "snake_case")]
pub enum Block {
    /// A heading; level 1 starts a chapter (and a Steckbrief).
    Heading {
        /// 1 or 2.
        level: u8,
        /// Text.
        text: String,
    },
    /// A paragraph.
    Para {
        /// Text.
        text: String,
        /// Smaller, grey (notes under tables).
        small: bool,
    },
    /// A bulleted list.
    Bullets {
        /// Items.
        items: Vec<String>,
    },
    /// A drawing with a caption.
    Figure {
        /// Index into [`Doc::images`].
        image: usize,
        /// Width in mm.
        width: f64,
        /// Caption ("Abbildung n: …" is added by the engines).
        caption: String,
    },
    /// A table with a header row and a caption.
    Table {
        /// Caption ("Tabelle n: …" is added by the engines).
        caption: String,
        /// Header cells.
        header: Vec<String>,
        /// Body rows.
        rows: Vec<Vec<String>>,
        /// Per column: 'l' or 'r'.
        align: String,
        /// Relative column widths.
        widths: Vec<f64>,
    },
    /// Two columns side by side (stacked in the DOCX).
    Row {
        /// Left column.
        left: Vec<Block>,
        /// Right column.
        right: Vec<Block>,
    },
    /// A page of its own in landscape.
    Landscape {
        /// Content.
        blocks: Vec<Block>,
    },
    /// Page break.
    PageBreak,
}

/// The metadata of the title page, header and footer.
#[derive(Debug, Clone, Serialize)]
pub struct DocMeta {
    /// Report title.
    pub title: String,
    /// Subtitle (kind of report, level, year).
    pub subtitle: String,
    /// Municipality.
    pub municipality: String,
    /// Issuing office.
    pub office: String,
    /// Author or contact.
    pub author: String,
    /// Gebietsstand.
    pub gebietsstand: String,
    /// Data as of.
    pub data_as_of: String,
    /// Date of creation.
    pub created: String,
    /// Heading colour.
    pub primary: String,
    /// Accent colour.
    pub accent: String,
    /// Whether a logo is given (file `/logo.<ext>`).
    pub logo: Option<String>,
    /// Title page and table of contents (not for the one-page map print).
    pub front_matter: bool,
    /// Landscape pages throughout (the map print).
    pub landscape: bool,
    /// Footer text.
    pub footer: String,
}

/// A report ready for an engine.
#[derive(Debug, Clone, Serialize)]
pub struct Doc {
    /// Title page and page furniture.
    pub meta: DocMeta,
    /// Content.
    pub blocks: Vec<Block>,
    /// The drawings (SVG), referenced by index.
    #[serde(skip)]
    pub images: Vec<String>,
}

impl Doc {
    fn image(&mut self, svg: String) -> usize {
        self.images.push(svg);
        self.images.len() - 1
    }
}

/// Everything the builders look up repeatedly.
struct Ctx<'a> {
    r: &'a AggregateResult,
    cfg: &'a ReportConfig,
    meta: &'a ReportMeta,
    level_idx: usize,
    level: &'a LevelResult,
    yi: usize,
    year: i32,
    city: Option<&'a AreaResult>,
    source: String,
    gebietsstand: String,
    method: kleinraum_load::config::ReportClassification,
    classes: usize,
}

fn para(text: impl Into<String>) -> Block {
    Block::Para {
        text: text.into(),
        small: false,
    }
}
fn small(text: impl Into<String>) -> Block {
    Block::Para {
        text: text.into(),
        small: true,
    }
}
fn heading(level: u8, text: impl Into<String>) -> Block {
    Block::Heading {
        level,
        text: text.into(),
    }
}

fn with_unit(title: &str, u: &str) -> String {
    if u.is_empty() {
        title.to_string()
    } else {
        format!("{title} ({u})")
    }
}

/// How an indicator value is shown in a table: the number, `·` when disclosure control
/// withholds it, `–` when it is undefined.
pub fn indicator_cell(v: &IndicatorValue, decimals: u8) -> String {
    match (v.value, v.reason) {
        (Some(x), _) => fmt::num(x, decimals),
        (None, Some(NullReason::Suppressed)) => SUPPRESSED.into(),
        _ => UNDEFINED.into(),
    }
}

/// How a count is shown: the number, `·` if suppressed (primary or secondary), `–` if none.
pub fn count_cell(c: &Count) -> String {
    match c.flag {
        CountFlag::Published => c.value.map_or_else(|| UNDEFINED.into(), fmt::int),
        CountFlag::Suppressed | CountFlag::SecondarySuppressed => SUPPRESSED.into(),
        // Missing in the source table (e.g. "*" or "."): no number to show, not ours to explain.
        CountFlag::NoData | CountFlag::Missing => UNDEFINED.into(),
    }
}

fn status_label(c: Option<u8>) -> String {
    match c {
        Some(c @ 1..=4) => format!("{c} ({})", classify::STATUS[c as usize - 1].0),
        _ => UNDEFINED.into(),
    }
}
fn dynamics_label(c: Option<u8>) -> String {
    match c {
        Some(c @ 1..=3) => format!("{c} ({})", classify::DYNAMICS[c as usize - 1]),
        _ => UNDEFINED.into(),
    }
}

fn reason_text(r: Option<NullReason>, ix: &IndexConfig) -> String {
    match r {
        Some(NullReason::BelowMinPopulation) => format!(
            "weniger als {} Einwohner:innen: zu klein für einen verlässlichen Indexwert",
            fmt::int(ix.min_population)
        ),
        Some(NullReason::Excluded) => "von Hand aus dem Index ausgenommen (Sonderfall)".into(),
        Some(NullReason::Suppressed) => {
            "ein Eingangswert ist aus Datenschutzgründen gesperrt".into()
        }
        Some(NullReason::TooFewAreas) => {
            "zu wenige Gebiete mit Werten, um sie miteinander zu vergleichen".into()
        }
        Some(
            NullReason::DenominatorZero
            | NullReason::NoData
            | NullReason::SourceMissing
            | NullReason::NotAdditive
            | NullReason::Incomplete,
        )
        | None => "für dieses Jahr fehlen Eingangswerte".into(),
    }
}

impl<'a> Ctx<'a> {
    fn new(
        r: &'a AggregateResult,
        cfg: &'a ReportConfig,
        meta: &'a ReportMeta,
        req: &ReportRequest,
    ) -> Result<Ctx<'a>, ReportError> {
        let real: Vec<&LevelResult> = r
            .levels
            .iter()
            .filter(|l| l.key != TOTAL_LEVEL_KEY)
            .collect();
        let level_key = match &req.level {
            Some(l) => l.clone(),
            None => match req.kind {
                // the index's level: where the Sozialraumgebiete are
                ReportKind::Sozialraumgebiete | ReportKind::Monitoring => sozialraum_index(r, cfg)
                    .map(|ix| ix.level.clone())
                    .or_else(|| real.first().map(|l| l.key.clone()))
                    .unwrap_or_default(),
                _ => real.first().map(|l| l.key.clone()).unwrap_or_default(),
            },
        };
        let level_idx = r
            .levels
            .iter()
            .position(|l| l.key == level_key && l.key != TOTAL_LEVEL_KEY)
            .ok_or_else(|| ReportError::Parameter {
                name: "level",
                message: format!(
                    "unknown level {level_key:?}; known: {}",
                    real.iter()
                        .map(|l| l.key.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            })?;
        let level = &r.levels[level_idx];
        let year = match req.year {
            Some(y) => y,
            None => default_year(r, &level.key),
        };
        let yi = r.year_index(year).ok_or_else(|| ReportError::Parameter {
            name: "year",
            message: format!(
                "no data for {year}; years: {}",
                r.years
                    .iter()
                    .map(|y| y.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        })?;
        let city = r.level(TOTAL_LEVEL_KEY).and_then(|l| l.areas.first());
        let source = cfg.source.clone().unwrap_or_else(|| {
            let mut srcs: Vec<&str> = Vec::new();
            for i in &r.indicators {
                if let Some(s) = &i.source
                    && !srcs.contains(&s.as_str())
                {
                    srcs.push(s);
                }
            }
            srcs.truncate(3);
            srcs.join("; ")
        });
        let gebietsstand = cfg
            .gebietsstand
            .clone()
            .or_else(|| meta.gebietsstand.clone())
            .unwrap_or_else(|| level.title.clone());
        Ok(Ctx {
            r,
            cfg,
            meta,
            level_idx,
            level,
            yi,
            year,
            city,
            source,
            gebietsstand,
            method: req.method.unwrap_or(cfg.classification),
            classes: req.classes.unwrap_or(cfg.classes).clamp(2, 7),
        })
    }

    fn indicator(&self, id: &str) -> Option<(usize, &'a IndicatorConfig)> {
        self.r
            .indicators
            .iter()
            .enumerate()
            .find(|(_, i)| i.id == id)
    }

    fn ids_or_all(&self, ids: &[String]) -> Vec<(usize, &'a IndicatorConfig)> {
        if ids.is_empty() {
            self.r.indicators.iter().enumerate().collect()
        } else {
            ids.iter().filter_map(|id| self.indicator(id)).collect()
        }
    }

    fn footer_line(&self) -> String {
        let mut s = format!(
            "Gebietsstand: {}; Stand der Daten: {}",
            self.gebietsstand,
            self.data_as_of()
        );
        if !self.source.is_empty() {
            s = format!("Quelle: {}. {s}", self.source);
        }
        s
    }

    fn data_as_of(&self) -> String {
        self.cfg
            .data_as_of
            .clone()
            .unwrap_or_else(|| format!("31.12.{}", self.year))
    }

    /// Value of indicator `k` for every area of the level in the report year.
    fn values(&self, k: usize) -> Vec<Option<f64>> {
        self.level
            .areas
            .iter()
            .map(|a| a.years[self.yi].indicators[k].value)
            .collect()
    }

    /// Rank (1 = highest value) and the number of ranked areas, as the web map's profile.
    fn ranks(&self, k: usize) -> (Vec<Option<usize>>, usize) {
        let vals = self.values(k);
        let mut order: Vec<(usize, f64)> = vals
            .iter()
            .enumerate()
            .filter_map(|(i, v)| v.filter(|v| v.is_finite()).map(|v| (i, v)))
            .collect();
        order.sort_by(|a, b| b.1.total_cmp(&a.1));
        let mut ranks = vec![None; vals.len()];
        for (r, (i, _)) in order.iter().enumerate() {
            ranks[*i] = Some(r + 1);
        }
        (ranks, order.len())
    }

    fn city_value(&self, k: usize) -> IndicatorValue {
        self.city
            .map(|c| c.years[self.yi].indicators[k])
            .unwrap_or(IndicatorValue::null(NullReason::NoData))
    }

    fn count(&self, a: &AreaResult, col: &str, yi: usize) -> Option<Count> {
        let c = self.r.count_columns.iter().position(|x| x == col)?;
        Some(a.years[yi].counts[c])
    }

    fn residents(&self, a: &AreaResult) -> Option<u64> {
        self.count(a, "residents", self.yi).and_then(|c| c.value)
    }

    /// Areas in the configured table order for indicator `k`.
    fn table_order(&self, k: usize) -> Vec<usize> {
        let vals = self.values(k);
        let mut idx: Vec<usize> = (0..self.level.areas.len()).collect();
        let areas = &self.level.areas;
        match self.cfg.sort {
            ReportSort::Id => idx.sort_by(|&a, &b| areas[a].id.cmp(&areas[b].id)),
            ReportSort::Name => idx.sort_by(|&a, &b| areas[a].name.cmp(&areas[b].name)),
            ReportSort::ValueDesc | ReportSort::ValueAsc => {
                let desc = self.cfg.sort == ReportSort::ValueDesc;
                idx.sort_by(|&a, &b| match (vals[a], vals[b]) {
                    (Some(x), Some(y)) => {
                        let o = x.total_cmp(&y);
                        if desc { o.reverse() } else { o }
                    }
                    (Some(_), None) => std::cmp::Ordering::Less,
                    (None, Some(_)) => std::cmp::Ordering::Greater,
                    (None, None) => areas[a].id.cmp(&areas[b].id),
                })
            }
        }
        idx
    }

    /// The coarser level's geometries (outlines on maps).
    fn coarser_outlines(&self) -> Vec<&'a geo::MultiPolygon<f64>> {
        self.r
            .levels
            .get(self.level_idx + 1)
            .filter(|l| l.key != TOTAL_LEVEL_KEY)
            .map(|l| l.areas.iter().filter_map(|a| a.geometry.as_ref()).collect())
            .unwrap_or_default()
    }

    fn index_here(&self) -> Option<(usize, &'a IndexConfig)> {
        let want = self.cfg.sozialraumgebiete.index.as_deref();
        self.r
            .indices
            .iter()
            .enumerate()
            .find(|(_, ix)| ix.level == self.level.key && want.is_none_or(|w| w == ix.id))
    }

    fn index_value(&self, a: &'a AreaResult, k: usize, yi: usize) -> Option<&'a IndexValue> {
        a.years[yi].indices.get(k).and_then(|v| v.as_ref())
    }
}

/// The index that flags the Sozialraumgebiete.
fn sozialraum_index<'a>(r: &'a AggregateResult, cfg: &ReportConfig) -> Option<&'a IndexConfig> {
    match &cfg.sozialraumgebiete.index {
        Some(id) => r.indices.iter().find(|i| &i.id == id),
        None => r.indices.first(),
    }
}

/// The default year: the latest year in which the level's index has values, else the latest
/// year (as the API's default).
pub fn default_year(r: &AggregateResult, level: &str) -> i32 {
    let lv = r.level(level);
    for (yi, y) in r.years.iter().enumerate().rev() {
        if let Some(l) = lv
            && l.areas.iter().any(|a| {
                a.years[yi]
                    .indices
                    .iter()
                    .flatten()
                    .any(|v| v.status_class.is_some())
            })
        {
            return *y;
        }
    }
    r.years.last().copied().unwrap_or(0)
}

fn doc_meta(c: &Ctx, kind: &str, front: bool, landscape: bool) -> DocMeta {
    let cfg = c.cfg;
    DocMeta {
        title: cfg
            .title
            .clone()
            .unwrap_or_else(|| format!("Sozialmonitoring {}", c.meta.municipality)),
        subtitle: cfg
            .subtitle
            .clone()
            .unwrap_or_else(|| format!("{kind} · {} · {}", c.level.title, c.year)),
        municipality: c.meta.municipality.clone(),
        office: cfg.office.clone().unwrap_or_default(),
        author: cfg.author.clone().unwrap_or_default(),
        gebietsstand: c.gebietsstand.clone(),
        data_as_of: c.data_as_of(),
        created: c.meta.created.clone(),
        primary: cfg.primary_color.clone(),
        accent: cfg.accent_color.clone(),
        logo: c.meta.logo.as_ref().map(|(_, ext)| format!("/logo.{ext}")),
        front_matter: front,
        landscape,
        footer: format!("{} · {kind} {}", c.meta.municipality, c.year),
    }
}

/// Builds the report for `req`.
pub fn build(
    r: &AggregateResult,
    cfg: &ReportConfig,
    meta: &ReportMeta,
    req: &ReportRequest,
) -> Result<Doc, ReportError> {
    let c = Ctx::new(r, cfg, meta, req)?;
    match req.kind {
        ReportKind::Monitoring => Ok(monitoring(&c)),
        ReportKind::Steckbrief => steckbriefe(&c, req.area.as_deref()),
        ReportKind::Sozialraumgebiete => sozialraumgebiete(&c),
        ReportKind::Karte => karte(&c, req.indicator.as_deref()),
    }
}

fn text_blocks(text: &Option<String>) -> Vec<Block> {
    text.iter()
        .flat_map(|t| t.split("\n\n"))
        .map(|p| p.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|p| !p.is_empty())
        .map(para)
        .collect()
}

/// Sozialraumgebiete of the index in year index `yi`: (area index, value).
fn flagged<'a>(c: &Ctx<'a>, k: usize, yi: usize) -> Vec<(usize, &'a IndexValue)> {
    c.level
        .areas
        .iter()
        .enumerate()
        .filter_map(|(i, a)| {
            c.index_value(a, k, yi)
                .filter(|v| v.attention)
                .map(|v| (i, v))
        })
        .collect()
}

/// The previous year with index values, before the report year.
fn previous_index_year(c: &Ctx, k: usize) -> Option<usize> {
    (0..c.yi).rev().find(|&yi| {
        c.level.areas.iter().any(|a| {
            c.index_value(a, k, yi)
                .is_some_and(|v| v.status_class.is_some())
        })
    })
}

fn area_name(a: &AreaResult) -> String {
    format!("{} ({})", a.name, a.id)
}

fn summary(c: &Ctx) -> Vec<Block> {
    let mut out = vec![heading(1, "Zusammenfassung")];
    let n = c.level.areas.len();
    let total = c.city.and_then(|a| c.residents(a));
    let mut p = format!(
        "Der Bericht beschreibt {} {} ({}) im Jahr {} auf dem Gebietsstand „{}“.",
        n, c.level.title, c.meta.municipality, c.year, c.gebietsstand
    );
    if let Some(t) = total {
        p += &format!(" Dort leben {} Einwohner:innen.", fmt::int(t));
    }
    out.push(para(p));
    match c.index_here() {
        Some((k, ix)) => {
            let f = flagged(c, k, c.yi);
            let valid = c
                .level
                .areas
                .iter()
                .filter(|a| c.index_value(a, k, c.yi).is_some_and(|v| v.status_class.is_some()))
                .count();
            if valid == 0 {
                out.push(para(format!(
                    "Für {} liegt kein Wert des {} vor; Sozialraumgebiete werden für die Jahre {} ausgewiesen.",
                    c.year,
                    ix.title,
                    index_years(c, k)
                )));
            } else {
                out.push(para(format!(
                    "Nach dem {} sind {} von {} bewerteten Gebieten Sozialraumgebiete, also Gebiete mit besonderem Handlungsbedarf: {}.",
                    ix.title,
                    f.len(),
                    valid,
                    if f.is_empty() {
                        "keines".to_string()
                    } else {
                        list_names(c, f.iter().map(|(i, _)| *i))
                    }
                )));
                out.push(para(changes_text(c, k, &f)));
            }
        }
        None => out.push(para(finer_index_summary(c).unwrap_or_else(|| {
            format!(
                "Auf der Ebene {} wird kein Index berechnet; Sozialraumgebiete werden hier nicht ausgewiesen.",
                c.level.title
            )
        }))),
    }
    out
}

/// For a report on a coarser level: the Sozialraumgebiete of the index's (finer) level,
/// counted per area of the report's level, in the latest index year up to the report year.
fn finer_index_summary(c: &Ctx) -> Option<String> {
    let (k, ix) = c.r.indices.iter().enumerate().find(|(_, ix)| {
        c.cfg
            .sozialraumgebiete
            .index
            .as_ref()
            .is_none_or(|w| *w == ix.id)
    })?;
    let fine_idx = c.r.levels.iter().position(|l| l.key == ix.level)?;
    if fine_idx >= c.level_idx {
        return None;
    }
    let fine = &c.r.levels[fine_idx];
    let has = |yi: usize| {
        fine.areas.iter().any(|a| {
            a.years[yi]
                .indices
                .get(k)
                .and_then(|v| v.as_ref())
                .is_some_and(|v| v.status_class.is_some())
        })
    };
    let yi = (0..=c.yi).rev().find(|&yi| has(yi))?;
    let anc = ancestors(c.r, fine_idx, c.level_idx);
    let mut per = vec![0usize; c.level.areas.len()];
    let mut n = 0;
    for (i, a) in fine.areas.iter().enumerate() {
        if a.years[yi]
            .indices
            .get(k)
            .and_then(|v| v.as_ref())
            .is_some_and(|v| v.attention)
        {
            n += 1;
            if let Some(p) = anc[i] {
                per[p] += 1;
            }
        }
    }
    let list: Vec<String> = c
        .level
        .areas
        .iter()
        .zip(&per)
        .filter(|(_, n)| **n > 0)
        .map(|(a, n)| format!("{} {n}", a.name))
        .collect();
    Some(format!(
        "Nach dem {} ({}) sind {n} von {} {} Sozialraumgebiete; je Gebiet dieser Ebene: {}.",
        ix.title,
        c.r.years[yi],
        fine.areas.len(),
        fine.title,
        if list.is_empty() {
            "keines".to_string()
        } else {
            list.join(", ")
        }
    ))
}

/// For every area of level `from`, the index of its ancestor on level `to` (coarser).
fn ancestors(r: &AggregateResult, from: usize, to: usize) -> Vec<Option<usize>> {
    let maps: Vec<HashMap<&str, &AreaResult>> = r
        .levels
        .iter()
        .map(|l| l.areas.iter().map(|a| (a.id.as_str(), a)).collect())
        .collect();
    let pos: HashMap<&str, usize> = r.levels[to]
        .areas
        .iter()
        .enumerate()
        .map(|(i, a)| (a.id.as_str(), i))
        .collect();
    r.levels[from]
        .areas
        .iter()
        .map(|a| {
            let mut cur = a;
            for m in &maps[from + 1..=to] {
                cur = m.get(cur.parent.as_deref()?)?;
            }
            pos.get(cur.id.as_str()).copied()
        })
        .collect()
}

fn index_years(c: &Ctx, k: usize) -> String {
    let ys: Vec<String> = (0..c.r.years.len())
        .filter(|&yi| {
            c.level.areas.iter().any(|a| {
                c.index_value(a, k, yi)
                    .is_some_and(|v| v.status_class.is_some())
            })
        })
        .map(|yi| c.r.years[yi].to_string())
        .collect();
    if ys.is_empty() {
        "keines".into()
    } else {
        ys.join(", ")
    }
}

fn list_names(c: &Ctx, idx: impl Iterator<Item = usize>) -> String {
    let names: Vec<String> = idx.map(|i| area_name(&c.level.areas[i])).collect();
    if names.len() > 40 {
        format!(
            "{} und {} weitere (vollständige Liste im Abschnitt Sozialraumgebiete)",
            names[..40].join(", "),
            names.len() - 40
        )
    } else {
        names.join(", ")
    }
}

fn changes_text(c: &Ctx, k: usize, now: &[(usize, &IndexValue)]) -> String {
    let Some(pyi) = previous_index_year(c, k) else {
        return format!(
            "{} ist das erste Jahr mit Indexwerten; was sich gegenüber dem Vorjahr geändert hat, zeigt erst der nächste Bericht.",
            c.year
        );
    };
    let before: Vec<usize> = flagged(c, k, pyi).iter().map(|(i, _)| *i).collect();
    let now: Vec<usize> = now.iter().map(|(i, _)| *i).collect();
    let new: Vec<usize> = now
        .iter()
        .copied()
        .filter(|i| !before.contains(i))
        .collect();
    let gone: Vec<usize> = before
        .iter()
        .copied()
        .filter(|i| !now.contains(i))
        .collect();
    let py = c.r.years[pyi];
    let mut s = format!("Seit dem letzten Indexjahr {py}: ");
    if new.is_empty() && gone.is_empty() {
        s += "keine Änderung – dieselben Gebiete sind Sozialraumgebiete.";
        return s;
    }
    if !new.is_empty() {
        s += &format!(
            "neu hinzugekommen {} ({})",
            new.len(),
            list_names(c, new.iter().copied())
        );
    } else {
        s += "kein Gebiet neu hinzugekommen";
    }
    if !gone.is_empty() {
        s += &format!(
            "; nicht mehr ausgewiesen {} ({})",
            gone.len(),
            list_names(c, gone.iter().copied())
        );
    }
    s + "."
}

fn indicator_map(c: &Ctx, k: usize, width: f64, height: f64, place: LegendPlace) -> String {
    let ind = &c.r.indicators[k];
    let vals = c.values(k);
    let cls = classify::numeric(&vals, c.method, c.classes, ind.polarity, |x| {
        fmt::num(x, ind.decimals)
    });
    choropleth(
        c,
        &cls,
        &with_unit(&ind.title, &ind.unit_label()),
        width,
        height,
        place,
        false,
    )
}

fn choropleth(
    c: &Ctx,
    cls: &Classified,
    title: &str,
    width: f64,
    height: f64,
    place: LegendPlace,
    hatch_flagged: bool,
) -> String {
    let flagged_set: Vec<bool> = match (hatch_flagged, c.index_here()) {
        (true, Some((k, _))) => c
            .level
            .areas
            .iter()
            .map(|a| c.index_value(a, k, c.yi).is_some_and(|v| v.attention))
            .collect(),
        _ => vec![false; c.level.areas.len()],
    };
    let areas: Vec<MapArea> = c
        .level
        .areas
        .iter()
        .enumerate()
        .filter_map(|(i, a)| {
            a.geometry.as_ref().map(|g| MapArea {
                geometry: g,
                fill: cls.color(i).to_string(),
                label: Some(a.name.clone()),
                hatch: flagged_set[i],
                highlight: false,
            })
        })
        .collect();
    let mut legend: Vec<LegendItem> = cls
        .classes
        .iter()
        .map(|k| LegendItem {
            color: k.color.clone(),
            label: format!("{} ({})", k.label, k.count),
            hatch: false,
        })
        .collect();
    if cls.no_data > 0 {
        legend.push(LegendItem {
            color: classify::NO_DATA.into(),
            label: format!("kein Wert oder gesperrt ({})", cls.no_data),
            hatch: false,
        });
    }
    if flagged_set.iter().any(|&f| f) {
        legend.push(LegendItem {
            color: "#ffffff".into(),
            label: format!(
                "Sozialraumgebiet ({})",
                flagged_set.iter().filter(|&&f| f).count()
            ),
            hatch: true,
        });
    }
    let outlines = c.coarser_outlines();
    svg::map(&MapSpec {
        width,
        height,
        areas,
        outlines,
        legend_title: format!("{title}, {}", c.year),
        legend,
        legend_place: place,
        footer: c.footer_line(),
        furniture: true,
        extent: None,
    })
}

fn indicator_table(c: &Ctx, k: usize) -> Block {
    let ind = &c.r.indicators[k];
    let (ranks, of) = c.ranks(k);
    let city = c.city_value(k);
    let mut rows: Vec<Vec<String>> = c
        .table_order(k)
        .into_iter()
        .map(|i| {
            let a = &c.level.areas[i];
            let v = a.years[c.yi].indicators[k];
            vec![
                a.id.clone(),
                a.name.clone(),
                indicator_cell(&v, ind.decimals),
                indicator_cell(&city, ind.decimals),
                ranks[i].map_or_else(|| UNDEFINED.into(), |r| format!("{r}/{of}")),
            ]
        })
        .collect();
    if c.city.is_some() {
        rows.push(vec![
            String::new(),
            "Gesamtstadt".into(),
            indicator_cell(&city, ind.decimals),
            indicator_cell(&city, ind.decimals),
            String::new(),
        ]);
    }
    Block::Table {
        caption: format!(
            "{} – {}, {}",
            with_unit(&ind.title, &ind.unit_label()),
            c.level.title,
            c.year
        ),
        header: vec![
            "Nr.".into(),
            "Gebiet".into(),
            "Wert".into(),
            "Stadt".into(),
            "Rang".into(),
        ],
        rows,
        align: "llrrr".into(),
        widths: vec![1.3, 4.0, 1.2, 1.2, 1.2],
    }
}

fn marks_note(c: &Ctx) -> Block {
    small(format!(
        "{SUPPRESSED} = aus Datenschutzgründen gesperrt (weniger als {} Personen, oder rückrechenbar aus einer anderen Zahl); {UNDEFINED} = kein Wert (keine Daten, Nenner 0 oder zu kleines Gebiet). Rang: höchster Wert = 1.",
        c.r.disclosure.threshold
    ))
}

fn city_series(c: &Ctx, k: usize) -> Vec<Option<f64>> {
    c.city
        .map(|a| a.years.iter().map(|y| y.indicators[k].value).collect())
        .unwrap_or_default()
}

fn monitoring(c: &Ctx) -> Doc {
    let mut doc = Doc {
        meta: doc_meta(c, "Monitoring", true, false),
        blocks: Vec::new(),
        images: Vec::new(),
    };
    let intro = text_blocks(&c.cfg.intro);
    if !intro.is_empty() {
        doc.blocks.push(heading(1, "Einleitung"));
        doc.blocks.extend(intro);
    }
    doc.blocks.extend(summary(c));
    let m = &c.cfg.monitoring;
    let inds = c.ids_or_all(&m.indicators);
    let maps: Vec<String> = if m.maps.is_empty() {
        default_map_indicators(c)
    } else {
        m.maps.clone()
    };
    let series: Vec<String> = if m.timeseries.is_empty() {
        maps.clone()
    } else {
        m.timeseries.clone()
    };
    doc.blocks
        .push(heading(1, format!("Indikatoren: {}", c.level.title)));
    for (k, ind) in inds {
        doc.blocks.push(heading(2, ind.title.clone()));
        let mut def = ind
            .description
            .clone()
            .unwrap_or_else(|| definition(ind, c.r));
        if let Some(s) = &ind.source {
            if !def.trim_end().ends_with('.') {
                def.push('.');
            }
            def += &format!(" Quelle: {s}.");
        }
        doc.blocks.push(para(def));
        // A year without any value: one sentence instead of a grey map and a table of dashes.
        let empty = c.values(k).iter().all(Option::is_none) && c.city_value(k).value.is_none();
        if empty {
            let with: Vec<String> =
                c.r.years
                    .iter()
                    .enumerate()
                    .filter(|&(yi, _)| {
                        c.level
                            .areas
                            .iter()
                            .any(|a| a.years[yi].indicators[k].value.is_some())
                    })
                    .map(|(_, y)| y.to_string())
                    .collect();
            doc.blocks.push(para(if with.is_empty() {
                format!("Für {} liegen keine veröffentlichbaren Werte vor.", c.year)
            } else {
                format!(
                    "Für {} liegen keine veröffentlichbaren Werte vor; Werte gibt es für {}.",
                    c.year,
                    with.join(", ")
                )
            }));
        }
        if maps.contains(&ind.id) && !empty {
            let (w, place) = if m.landscape_maps {
                (TEXT_W_LANDSCAPE, LegendPlace::Right)
            } else {
                (TEXT_W, LegendPlace::Bottom)
            };
            let h = if m.landscape_maps { 160.0 } else { 175.0 };
            let img = doc.image(indicator_map(c, k, w, h, place));
            let fig = Block::Figure {
                image: img,
                width: w,
                caption: format!("{} – {}, {}", ind.title, c.level.title, c.year),
            };
            if m.landscape_maps {
                doc.blocks.push(Block::Landscape { blocks: vec![fig] });
            } else {
                doc.blocks.push(fig);
            }
        }
        if series.contains(&ind.id) && c.r.years.len() > 1 {
            let svg = svg::line_chart(
                120.0,
                50.0,
                &c.r.years,
                &[Series {
                    label: "Gesamtstadt".into(),
                    color: c.cfg.primary_color.clone(),
                    dashed: false,
                    values: city_series(c, k),
                }],
                ind.decimals,
                &ind.unit_label(),
            );
            let img = doc.image(svg);
            doc.blocks.push(Block::Figure {
                image: img,
                width: 120.0,
                caption: format!(
                    "{}: Gesamtstadt {}–{}",
                    ind.title,
                    c.r.years[0],
                    c.r.years[c.r.years.len() - 1]
                ),
            });
        }
        if !empty {
            doc.blocks.push(indicator_table(c, k));
            doc.blocks.push(marks_note(c));
        }
    }
    if c.index_here().is_some() {
        doc.blocks
            .extend(sozialraumgebiete_section(c, &mut doc.images, false));
    }
    doc.blocks.extend(method_notes(c));
    let closing = text_blocks(&c.cfg.closing);
    if !closing.is_empty() {
        doc.blocks.push(heading(1, "Schlussbemerkung"));
        doc.blocks.extend(closing);
    }
    doc
}

fn default_map_indicators(c: &Ctx) -> Vec<String> {
    let mut ids: Vec<String> = sozialraum_index(c.r, c.cfg)
        .map(|ix| ix.status.clone())
        .unwrap_or_default();
    for i in &c.r.indicators {
        if i.kind == IndicatorKind::SupplyRate && !ids.contains(&i.id) {
            ids.push(i.id.clone());
        }
    }
    if ids.is_empty() {
        ids =
            c.r.indicators
                .iter()
                .take(3)
                .map(|i| i.id.clone())
                .collect();
    }
    ids
}

/// The definition of an indicator in plain German, from its formula.
pub fn definition(ind: &IndicatorConfig, r: &AggregateResult) -> String {
    let den = ind.denominator.clone().unwrap_or_default();
    let name_of = |id: &str| {
        r.indicators
            .iter()
            .find(|i| i.id == id)
            .map_or_else(|| id.to_string(), |i| format!("„{}“", i.title))
    };
    match ind.kind {
        IndicatorKind::Share => format!("Anteil: {} je 100 {}.", ind.numerator, den),
        IndicatorKind::RatePer1000 => format!("Quote: {} je 1.000 {}.", ind.numerator, den),
        IndicatorKind::DensityKm2 => {
            format!("Dichte: {} je Quadratkilometer Fläche.", ind.numerator)
        }
        IndicatorKind::SupplyRate => format!(
            "Versorgungsquote: {} je 100 der Zielgruppe ({}).",
            ind.numerator, den
        ),
        IndicatorKind::Change => format!(
            "Veränderung von {} gegenüber dem Wert {} Jahre zuvor.",
            name_of(&ind.numerator),
            ind.years.unwrap_or(1)
        ),
        IndicatorKind::Value => format!("Wert aus der Tabelle {}.", ind.numerator),
    }
}

fn polarity_text(p: Polarity) -> &'static str {
    match p {
        Polarity::HigherIsWorse => "ein höherer Wert bedeutet mehr Unterstützungsbedarf",
        Polarity::HigherIsBetter => "ein höherer Wert ist besser (z. B. bessere Versorgung)",
        Polarity::Neutral => "ohne Wertung (beschreibt die Bevölkerung)",
    }
}

fn method_notes(c: &Ctx) -> Vec<Block> {
    let mut out = vec![
        heading(1, "Methodische Hinweise"),
        heading(2, "Indikatoren"),
    ];
    let rows: Vec<Vec<String>> =
        c.r.indicators
            .iter()
            .map(|i| {
                vec![
                    with_unit(&i.title, &i.unit_label()),
                    i.description.clone().unwrap_or_else(|| definition(i, c.r)),
                    i.source.clone().unwrap_or_else(|| UNDEFINED.into()),
                    polarity_text(i.polarity).into(),
                ]
            })
            .collect();
    out.push(Block::Table {
        caption: "Definition, Quelle und Lesart der Indikatoren".into(),
        header: vec![
            "Indikator".into(),
            "Definition".into(),
            "Quelle".into(),
            "Lesart".into(),
        ],
        rows,
        align: "llll".into(),
        widths: vec![2.2, 3.4, 2.4, 2.0],
    });
    for ix in &c.r.indices {
        out.push(heading(2, format!("Index: {}", ix.title)));
        let title_of = |id: &String| {
            c.r.indicators
                .iter()
                .find(|i| &i.id == id)
                .map_or_else(|| id.clone(), |i| i.title.clone())
        };
        let status: Vec<String> = ix.status.iter().map(title_of).collect();
        let dynamics: Vec<String> = ix.dynamics.iter().map(title_of).collect();
        let method = match ix.method {
            kleinraum_aggregate::config::IndexMethod::Zscore => format!(
                "Jeder Indikator wird über alle gültigen Gebiete standardisiert (z-Wert: Abstand vom Mittelwert in Standardabweichungen), die z-Werte werden addiert und die Summe erneut standardisiert. Gültig sind Gebiete mit mindestens {} Einwohner:innen{}.",
                fmt::int(ix.min_population),
                if ix.exclude.is_empty() {
                    String::new()
                } else {
                    format!(", ausgenommen {}", ix.exclude.join(", "))
                }
            ),
            kleinraum_aggregate::config::IndexMethod::Reference => format!(
                "Jeder Indikator wird mit einem festen Vergleichswert (z. B. dem Landeswert) verglichen und durch eine feste Streuung geteilt; bei wenigen Gebieten ist das stabiler als ein Vergleich der Gebiete untereinander. Gebiete unter {} Einwohner:innen erhalten keinen Wert.",
                fmt::int(ix.min_population)
            ),
        };
        out.push(para(method));
        let t = ix.status_thresholds;
        out.push(Block::Bullets {
            items: vec![
                format!("Statusindex aus: {}.", status.join(", ")),
                if dynamics.is_empty() {
                    "Kein Dynamikindex.".into()
                } else {
                    format!("Dynamikindex aus: {}.", dynamics.join(", "))
                },
                format!(
                    "Statusklassen: 1 hoch (unter {}), 2 mittel ({} bis {}), 3 niedrig (über {} bis {}), 4 sehr niedrig (über {}).",
                    fmt::num(t[0], 1),
                    fmt::num(t[0], 1),
                    fmt::num(t[1], 1),
                    fmt::num(t[1], 1),
                    fmt::num(t[2], 1),
                    fmt::num(t[2], 1)
                ),
                format!(
                    "Dynamikklassen: positiv (unter {}), stabil, negativ (über {}).",
                    fmt::num(ix.dynamics_thresholds[0], 1),
                    fmt::num(ix.dynamics_thresholds[1], 1)
                ),
                format!("Sozialraumgebiet sind die Gesamtindex-Gruppen {}: {}.", ix.attention.join(", "), attention_text(&ix.attention)),
            ],
        });
    }
    out.push(heading(2, "Datenschutz"));
    out.push(para(format!(
        "Veröffentlicht werden nur Summen je Gebiet, nie Werte einzelner Adressen. Fallzahlen von 1 bis {} werden gesperrt und als „{SUPPRESSED}“ gezeigt; ebenso jede Zahl, aus der eine gesperrte Zahl durch Abziehen von einer Summe zurückgerechnet werden könnte (sekundäre Sperrung). Ein Anteil, in den eine gesperrte Zahl eingeht, wird ebenfalls nicht gezeigt. „{UNDEFINED}“ bedeutet: kein Wert.",
        c.r.disclosure.threshold.saturating_sub(1).max(1)
    )));
    out
}

fn attention_text(groups: &[String]) -> String {
    let parts: Vec<String> = groups
        .iter()
        .map(|g| {
            let status = g
                .chars()
                .next()
                .and_then(|ch| ch.to_digit(10))
                .map(|d| d as usize);
            let s = status
                .filter(|d| (1..=4).contains(d))
                .map_or("?", |d| classify::STATUS[d - 1].0);
            let dynamics = match &g[g.char_indices().nth(1).map_or(g.len(), |(i, _)| i)..] {
                "*" => "bei jeder Dynamik",
                "+" => "bei positiver Dynamik",
                "-" => "bei negativer Dynamik",
                "+/-" => "bei stabiler Dynamik",
                _ => "",
            };
            format!("Status „{s}“ {dynamics}").trim_end().to_string()
        })
        .collect();
    parts.join("; ")
}

/// The plain-German explanation of an area's index value: class and the indicators that
/// drive it.
fn index_explanation(c: &Ctx, ix: &IndexConfig, v: &IndexValue) -> String {
    let title_of = |id: &str| {
        c.r.indicators
            .iter()
            .find(|i| i.id == id)
            .map_or_else(|| id.to_string(), |i| i.title.clone())
    };
    let mut s = format!(
        "Statusindex {} → Klasse {}",
        fmt::opt(v.status_value.map(|x| (x * 100.0).round() / 100.0), 2),
        status_label(v.status_class)
    );
    if !ix.dynamics.is_empty() {
        s += &format!(
            "; Dynamikindex {} → {}",
            fmt::opt(v.dynamics_value, 2),
            dynamics_label(v.dynamics_class)
        );
    }
    if let Some(g) = &v.group {
        s += &format!("; Gesamtindex {g}");
    }
    s += ". ";
    let mut drivers: Vec<(String, f64)> = v
        .status_contributions
        .iter()
        .filter(|k| k.z > 0.5)
        .map(|k| (title_of(&k.indicator), k.z))
        .collect();
    drivers.sort_by(|a, b| b.1.total_cmp(&a.1));
    if drivers.is_empty() {
        s += "Kein Statusindikator liegt deutlich über dem Durchschnitt.";
    } else {
        s += "Deutlich über dem Durchschnitt (z-Wert über 0,5) liegen: ";
        s += &drivers
            .iter()
            .map(|(t, z)| format!("{t} (z = {})", fmt::signed(*z, 2)))
            .collect::<Vec<_>>()
            .join(", ");
        s += ".";
    }
    let worse: Vec<String> = v
        .dynamics_contributions
        .iter()
        .filter(|k| k.z > 1.0)
        .map(|k| format!("{} (z = {})", title_of(&k.indicator), fmt::signed(k.z, 2)))
        .collect();
    if !worse.is_empty() {
        s += &format!(" Deutlich verschlechtert hat sich: {}.", worse.join(", "));
    }
    if v.attention {
        s += " Das Gebiet ist deshalb Sozialraumgebiet.";
    }
    s
}

fn decomposition_chart(c: &Ctx, ix: &IndexConfig, v: &IndexValue, width: f64) -> String {
    let title_of = |id: &str| {
        c.r.indicators
            .iter()
            .find(|i| i.id == id)
            .map_or_else(|| id.to_string(), |i| i.title.clone())
    };
    let bar = |k: &kleinraum_aggregate::result::Contribution, dynamics: bool| Bar {
        label: format!(
            "{}{}",
            if dynamics { "Dynamik: " } else { "" },
            title_of(&k.indicator)
        ),
        value: Some(k.z),
        missing: String::new(),
        reference: None,
        color: if k.z > 0.0 {
            "#d6604d".into()
        } else {
            "#4393c3".into()
        },
        text: fmt::signed(k.z, 2),
    };
    let mut bars: Vec<Bar> = v
        .status_contributions
        .iter()
        .map(|k| bar(k, false))
        .collect();
    bars.extend(v.dynamics_contributions.iter().map(|k| bar(k, true)));
    let t = ix.status_thresholds;
    svg::bar_chart(
        width,
        &bars,
        &[(t[0], fmt::num(t[0], 1)), (t[1], fmt::signed(t[1], 1))],
        &[
            ("#d6604d".into(), "ungünstiger als der Durchschnitt".into()),
            ("#4393c3".into(), "günstiger".into()),
        ],
    )
}

fn sozialraumgebiete_section(c: &Ctx, images: &mut Vec<String>, detailed: bool) -> Vec<Block> {
    let Some((k, ix)) = c.index_here() else {
        return Vec::new();
    };
    let mut out = vec![heading(1, "Sozialraumgebiete")];
    let classes: Vec<Option<u8>> = c
        .level
        .areas
        .iter()
        .map(|a| c.index_value(a, k, c.yi).and_then(|v| v.status_class))
        .collect();
    let cls = classify::status(&classes);
    images.push(choropleth(
        c,
        &cls,
        &format!("{}: Statusklasse", ix.title),
        TEXT_W_LANDSCAPE,
        160.0,
        LegendPlace::Right,
        true,
    ));
    out.push(Block::Landscape {
        blocks: vec![Block::Figure {
            image: images.len() - 1,
            width: TEXT_W_LANDSCAPE,
            caption: format!(
                "Statusklassen und Sozialraumgebiete (schraffiert), {} {}",
                c.level.title, c.year
            ),
        }],
    });
    let f = flagged(c, k, c.yi);
    out.push(para(format!(
        "{} Gebiete sind {} Sozialraumgebiete ({}). Die Tabelle nennt für jedes Gebiet die Indikatoren, die den Ausschlag geben.",
        f.len(),
        c.year,
        attention_text(&ix.attention)
    )));
    let title_of = |id: &str| {
        c.r.indicators
            .iter()
            .find(|i| i.id == id)
            .map_or_else(|| id.to_string(), |i| i.title.clone())
    };
    let extra: Vec<(usize, &IndicatorConfig)> = c
        .cfg
        .sozialraumgebiete
        .indicators
        .iter()
        .filter_map(|id| c.indicator(id))
        .collect();
    let rows: Vec<Vec<String>> = f
        .iter()
        .map(|(i, v)| {
            let a = &c.level.areas[*i];
            let mut drivers: Vec<&kleinraum_aggregate::result::Contribution> = v
                .status_contributions
                .iter()
                .chain(&v.dynamics_contributions)
                .filter(|k| k.z > 1.0)
                .collect();
            drivers.sort_by(|a, b| b.z.total_cmp(&a.z));
            let mut row = vec![
                a.id.clone(),
                a.name.clone(),
                c.residents(a).map_or_else(|| UNDEFINED.into(), fmt::int),
                status_label(v.status_class),
                dynamics_label(v.dynamics_class),
                v.group.clone().unwrap_or_default(),
                if drivers.is_empty() {
                    "Summe mehrerer leicht erhöhter Werte".into()
                } else {
                    drivers
                        .iter()
                        .map(|k| format!("{} ({})", title_of(&k.indicator), fmt::signed(k.z, 1)))
                        .collect::<Vec<_>>()
                        .join(", ")
                },
            ];
            for (ek, ind) in &extra {
                row.push(indicator_cell(&a.years[c.yi].indicators[*ek], ind.decimals));
            }
            row
        })
        .collect();
    let mut header: Vec<String> = [
        "Nr.",
        "Gebiet",
        "EW",
        "Status",
        "Dynamik",
        "Gruppe",
        "ausschlaggebend (z-Wert)",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let mut align = "llrllll".to_string();
    let mut widths = vec![1.3, 2.6, 1.0, 1.5, 1.4, 0.8, 3.6];
    for (_, ind) in &extra {
        header.push(with_unit(&ind.title, &ind.unit_label()));
        align.push('r');
        widths.push(1.2);
    }
    out.push(Block::Table {
        caption: format!("Sozialraumgebiete {} ({})", c.year, ix.title),
        header,
        rows,
        align,
        widths,
    });
    out.push(small(
        "z-Wert: Abstand vom Durchschnitt aller Gebiete in Standardabweichungen; über +1 heißt deutlich ungünstiger als der Durchschnitt.",
    ));
    if detailed {
        out.push(heading(1, "Die Sozialraumgebiete im Einzelnen"));
        for (i, v) in &f {
            let a = &c.level.areas[*i];
            out.push(heading(2, area_name(a)));
            out.push(para(index_explanation(c, ix, v)));
            images.push(decomposition_chart(c, ix, v, 150.0));
            out.push(Block::Figure {
                image: images.len() - 1,
                width: 150.0,
                caption: format!(
                    "Warum {} Sozialraumgebiet ist: z-Werte der Indikatoren",
                    a.name
                ),
            });
        }
    }
    out
}

fn sozialraumgebiete(c: &Ctx) -> Result<Doc, ReportError> {
    if c.index_here().is_none() {
        return Err(ReportError::Parameter {
            name: "level",
            message: format!(
                "no index is computed on level {:?}; Sozialraumgebiete exist on: {}",
                c.level.key,
                c.r.indices
                    .iter()
                    .map(|i| i.level.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        });
    }
    let mut doc = Doc {
        meta: doc_meta(c, "Sozialraumgebiete", true, false),
        blocks: Vec::new(),
        images: Vec::new(),
    };
    doc.blocks.extend(
        text_blocks(&c.cfg.intro)
            .into_iter()
            .fold(Vec::new(), |mut v, b| {
                if v.is_empty() {
                    v.push(heading(1, "Einleitung"));
                }
                v.push(b);
                v
            }),
    );
    doc.blocks.extend(summary(c));
    let mut images = std::mem::take(&mut doc.images);
    doc.blocks
        .extend(sozialraumgebiete_section(c, &mut images, true));
    doc.images = images;
    doc.blocks.extend(method_notes(c));
    let closing = text_blocks(&c.cfg.closing);
    if !closing.is_empty() {
        doc.blocks.push(heading(1, "Schlussbemerkung"));
        doc.blocks.extend(closing);
    }
    Ok(doc)
}

/// Index of the top ancestor (coarsest level below the whole city) of every area of the level.
fn top_ancestors<'a>(c: &Ctx<'a>) -> (Option<&'a LevelResult>, Vec<Option<usize>>) {
    let levels = &c.r.levels;
    let mut top = c.level_idx;
    while top + 1 < levels.len() && levels[top + 1].key != TOTAL_LEVEL_KEY {
        top += 1;
    }
    if top == c.level_idx {
        return (None, vec![None; c.level.areas.len()]);
    }
    let anc = ancestors(c.r, c.level_idx, top);
    (Some(&levels[top]), anc)
}

fn location_map(
    c: &Ctx,
    i: usize,
    group: &[usize],
    top: Option<&AreaResult>,
    accent: &str,
) -> Option<String> {
    let a = &c.level.areas[i];
    a.geometry.as_ref()?;
    let areas: Vec<MapArea> = group
        .iter()
        .filter_map(|&j| {
            let b = &c.level.areas[j];
            b.geometry.as_ref().map(|g| MapArea {
                geometry: g,
                fill: if j == i {
                    accent.to_string()
                } else {
                    "#e4e4e4".into()
                },
                label: None,
                hatch: false,
                highlight: j == i,
            })
        })
        .collect();
    let outlines: Vec<&geo::MultiPolygon<f64>> =
        top.and_then(|t| t.geometry.as_ref()).into_iter().collect();
    let extent = top
        .and_then(|t| t.geometry.as_ref())
        .and_then(geo::BoundingRect::bounding_rect);
    Some(svg::map(&MapSpec {
        width: 78.0,
        height: 70.0,
        areas,
        outlines,
        legend_title: String::new(),
        legend: Vec::new(),
        legend_place: LegendPlace::None,
        footer: String::new(),
        furniture: true,
        extent,
    }))
}

/// Age groups of the chart: configured, else the parts of the additive relation of
/// `residents` (the first one that lists more than three parts).
fn age_groups(c: &Ctx) -> Vec<(String, String)> {
    if !c.cfg.age_groups.is_empty() {
        return c
            .cfg
            .age_groups
            .iter()
            .map(|g| (g.column.clone(), g.label.clone()))
            .collect();
    }
    c.r.disclosure
        .additive
        .iter()
        .find(|rel| rel.total == "residents" && rel.parts.len() > 3)
        .map(|rel| {
            rel.parts
                .iter()
                .map(|p| (p.clone(), age_label(p)))
                .collect()
        })
        .unwrap_or_default()
}

/// `age_below_6` → "unter 6", `age_6_15` → "6 bis unter 15", `age_above_65` → "65 und älter".
fn age_label(col: &str) -> String {
    let rest = col.strip_prefix("age_").unwrap_or(col);
    if let Some(n) = rest
        .strip_prefix("below_")
        .or_else(|| rest.strip_prefix("under_"))
    {
        return format!("unter {n}");
    }
    if let Some(n) = rest
        .strip_prefix("above_")
        .or_else(|| rest.strip_prefix("over_"))
    {
        return format!("{n} und älter");
    }
    match rest.split_once('_') {
        Some((a, b)) if a.parse::<u32>().is_ok() && b.parse::<u32>().is_ok() => {
            format!("{a} bis unter {b}")
        }
        _ => col.to_string(),
    }
}

fn steckbriefe(c: &Ctx, only: Option<&str>) -> Result<Doc, ReportError> {
    let sel: Vec<usize> = match only {
        Some(id) => vec![
            c.level
                .areas
                .iter()
                .position(|a| a.id == id)
                .ok_or_else(|| ReportError::Parameter {
                    name: "area",
                    message: format!("no area {id:?} on level {:?}", c.level.key),
                })?,
        ],
        None => (0..c.level.areas.len()).collect(),
    };
    let single = only.is_some();
    let mut doc = Doc {
        meta: doc_meta(c, "Steckbriefe", !single, false),
        blocks: Vec::new(),
        images: Vec::new(),
    };
    if single {
        doc.meta.subtitle = format!("Steckbrief · {} · {}", c.level.title, c.year);
    }
    let intro = text_blocks(&c.cfg.intro);
    if !single && !intro.is_empty() {
        doc.blocks.push(heading(1, "Einleitung"));
        doc.blocks.extend(intro);
        doc.blocks.push(Block::PageBreak);
    }
    let (top_level, anc) = top_ancestors(c);
    let mut groups: HashMap<Option<usize>, Vec<usize>> = HashMap::new();
    for (i, t) in anc.iter().enumerate() {
        groups.entry(*t).or_default().push(i);
    }
    let s = &c.cfg.steckbrief;
    let inds = c.ids_or_all(&s.indicators);
    let series: Vec<(usize, &IndicatorConfig)> = if s.timeseries.is_empty() {
        let ids = sozialraum_index(c.r, c.cfg)
            .map(|ix| ix.status.clone())
            .unwrap_or_default();
        let mut v: Vec<_> = ids
            .iter()
            .filter_map(|id| c.indicator(id))
            .take(2)
            .collect();
        if v.is_empty() {
            v = c.r.indicators.iter().enumerate().take(2).collect();
        }
        v
    } else {
        s.timeseries
            .iter()
            .filter_map(|id| c.indicator(id))
            .collect()
    };
    let ranks: Vec<(Vec<Option<usize>>, usize)> = inds.iter().map(|(k, _)| c.ranks(*k)).collect();
    let ages = age_groups(c);
    let city_res = c.city.and_then(|a| c.residents(a));
    let index = c.index_here();
    for (n, &i) in sel.iter().enumerate() {
        let a = &c.level.areas[i];
        if n > 0 {
            doc.blocks.push(Block::PageBreak);
        }
        doc.blocks.push(heading(1, area_name(a)));
        let parent = top_level
            .zip(anc[i])
            .map(|(l, p)| format!("{} ({})", l.areas[p].name, l.title));
        let res = c.residents(a);
        let km2 = a.area_m2 / 1e6;
        let mut facts: Vec<Vec<String>> = vec![
            vec!["Ebene".into(), c.level.title.clone()],
            vec![
                "Einwohner:innen".into(),
                res.map_or_else(|| SUPPRESSED.into(), fmt::int),
            ],
            vec!["Fläche".into(), format!("{} km²", fmt::num(km2, 2))],
        ];
        if let Some(p) = &parent {
            facts.insert(1, vec!["liegt in".into(), p.clone()]);
        }
        if let (Some(r), Some(t)) = (res, city_res)
            && t > 0
        {
            facts.push(vec![
                "Anteil an der Stadt".into(),
                format!("{} %", fmt::num(100.0 * r as f64 / t as f64, 2)),
            ]);
        }
        if let Some((k, _)) = index {
            let v = c.index_value(a, k, c.yi);
            facts.push(vec![
                "Sozialraumgebiet".into(),
                match v {
                    Some(v) if v.attention => {
                        format!("ja ({})", v.group.clone().unwrap_or_default())
                    }
                    Some(v) if v.status_class.is_some() => "nein".into(),
                    _ => "nicht bewertet".into(),
                },
            ]);
        }
        let facts_table = Block::Table {
            caption: format!("Eckdaten {}", c.year),
            header: vec!["Merkmal".into(), "Wert".into()],
            rows: facts,
            align: "lr".into(),
            widths: vec![1.4, 1.6],
        };
        if s.map
            && let Some(svg) = location_map(
                c,
                i,
                groups.get(&anc[i]).map_or(&[][..], |g| g.as_slice()),
                top_level.zip(anc[i]).map(|(l, p)| &l.areas[p]),
                &c.cfg.accent_color,
            )
        {
            let img = doc.image(svg);
            doc.blocks.push(Block::Row {
                left: vec![Block::Figure {
                    image: img,
                    width: 78.0,
                    caption: format!(
                        "Lage von {}{}",
                        a.name,
                        parent
                            .as_ref()
                            .map_or(String::new(), |p| format!(" in {p}"))
                    ),
                }],
                right: vec![facts_table],
            });
        } else {
            doc.blocks.push(facts_table);
        }
        let rows: Vec<Vec<String>> = inds
            .iter()
            .zip(&ranks)
            .map(|((k, ind), (rk, of))| {
                vec![
                    with_unit(&ind.title, &ind.unit_label()),
                    indicator_cell(&a.years[c.yi].indicators[*k], ind.decimals),
                    indicator_cell(&c.city_value(*k), ind.decimals),
                    rk[i].map_or_else(|| UNDEFINED.into(), |r| format!("{r}/{of}")),
                ]
            })
            .collect();
        doc.blocks.push(Block::Table {
            caption: format!("Indikatoren {}, {}", a.name, c.year),
            header: vec![
                "Indikator".into(),
                "Gebiet".into(),
                "Stadt".into(),
                "Rang".into(),
            ],
            rows,
            align: "lrrr".into(),
            widths: vec![4.2, 1.1, 1.1, 1.0],
        });
        doc.blocks.push(marks_note(c));
        if c.r.years.len() > 1 && !series.is_empty() {
            let charts: Vec<Block> = series
                .iter()
                .map(|(k, ind)| {
                    let svg = svg::line_chart(
                        82.0,
                        46.0,
                        &c.r.years,
                        &[
                            Series {
                                label: a.name.chars().take(28).collect(),
                                color: c.cfg.accent_color.clone(),
                                dashed: false,
                                values: a.years.iter().map(|y| y.indicators[*k].value).collect(),
                            },
                            Series {
                                label: "Gesamtstadt".into(),
                                color: "#4393c3".into(),
                                dashed: true,
                                values: city_series(c, *k),
                            },
                        ],
                        ind.decimals,
                        &ind.unit_label(),
                    );
                    let img = doc.image(svg);
                    Block::Figure {
                        image: img,
                        width: 82.0,
                        caption: format!("{}: Zeitreihe", ind.title),
                    }
                })
                .collect();
            let mut it = charts.into_iter();
            let left: Vec<Block> = it.next().into_iter().collect();
            let right: Vec<Block> = it.collect();
            doc.blocks.push(Block::Row { left, right });
        }
        if s.age_structure && !ages.is_empty() {
            let total = c.count(a, "residents", c.yi).and_then(|x| x.value);
            let city_total = c
                .city
                .and_then(|x| c.count(x, "residents", c.yi))
                .and_then(|x| x.value);
            let mut age_rows = Vec::new();
            let bars: Vec<Bar> = ages
                .iter()
                .map(|(col, label)| {
                    let cnt = c.count(a, col, c.yi);
                    let share = cnt
                        .and_then(|x| x.value)
                        .zip(total.filter(|t| *t > 0))
                        .map(|(v, t)| 100.0 * v as f64 / t as f64);
                    let city_share = c
                        .city
                        .and_then(|x| c.count(x, col, c.yi))
                        .and_then(|x| x.value)
                        .zip(city_total.filter(|t| *t > 0))
                        .map(|(v, t)| 100.0 * v as f64 / t as f64);
                    let cell = cnt
                        .as_ref()
                        .map_or_else(|| UNDEFINED.to_string(), count_cell);
                    age_rows.push(vec![
                        label.clone(),
                        cell.clone(),
                        share.map_or_else(|| UNDEFINED.into(), |x| fmt::num(x, 1)),
                        city_share.map_or_else(|| UNDEFINED.into(), |x| fmt::num(x, 1)),
                    ]);
                    Bar {
                        label: label.clone(),
                        value: share,
                        missing: cell,
                        reference: city_share,
                        color: c.cfg.accent_color.clone(),
                        text: share.map_or_else(String::new, |sh| format!("{} %", fmt::num(sh, 1))),
                    }
                })
                .collect();
            let img = doc.image(svg::bar_chart(
                82.0,
                &bars,
                &[],
                &[
                    (c.cfg.accent_color.clone(), "Gebiet".into()),
                    ("#222222".into(), "Stadt (Strich)".into()),
                ],
            ));
            doc.blocks.push(Block::Row {
                left: vec![Block::Figure {
                    image: img,
                    width: 82.0,
                    caption: format!("Altersstruktur {} in % der Einwohner:innen", c.year),
                }],
                right: vec![Block::Table {
                    caption: format!("Einwohner:innen nach Alter, {}", c.year),
                    header: vec![
                        "Alter".into(),
                        "Anzahl".into(),
                        "Anteil %".into(),
                        "Stadt %".into(),
                    ],
                    rows: age_rows,
                    align: "lrrr".into(),
                    widths: vec![2.2, 1.2, 1.1, 1.1],
                }],
            });
        }
        if s.index
            && let Some((k, ix)) = index
        {
            match c.index_value(a, k, c.yi) {
                Some(v) if v.status_class.is_some() => {
                    let img = doc.image(decomposition_chart(c, ix, v, 82.0));
                    doc.blocks.push(Block::Row {
                        left: vec![Block::Figure {
                            image: img,
                            width: 82.0,
                            caption: format!("{}: Beitrag der Indikatoren (z-Werte)", ix.title),
                        }],
                        right: vec![para(format!(
                            "{} {}: {}",
                            ix.title,
                            c.year,
                            index_explanation(c, ix, v)
                        ))],
                    });
                }
                v => doc.blocks.push(small(format!(
                    "{}: kein Indexwert {} – {}.",
                    ix.title,
                    c.year,
                    reason_text(v.and_then(|v| v.reason), ix)
                ))),
            }
        }
    }
    if !single {
        doc.blocks.push(Block::PageBreak);
        doc.blocks.extend(method_notes(c));
    }
    Ok(doc)
}

/// The map's own print: one A4 landscape page with the whole area, legend and source line.
fn karte(c: &Ctx, indicator: Option<&str>) -> Result<Doc, ReportError> {
    let id = indicator.ok_or(ReportError::Parameter {
        name: "indicator",
        message: "the map print needs an indicator id".into(),
    })?;
    let mut doc = Doc {
        meta: doc_meta(c, "Karte", false, true),
        blocks: Vec::new(),
        images: Vec::new(),
    };
    let svg = if let Some((k, ind)) = c.indicator(id) {
        doc.meta.title = format!(
            "{}, {} {}",
            with_unit(&ind.title, &ind.unit_label()),
            c.level.title,
            c.year
        );
        indicator_map(c, k, TEXT_W_LANDSCAPE, 150.0, LegendPlace::Right)
    } else if let Some((k, ix)) = c.r.indices.iter().enumerate().find(|(_, ix)| {
        ix.level == c.level.key && (id == format!("{}_status_class", ix.id) || id == ix.id)
    }) {
        doc.meta.title = format!("{}: Statusklassen, {} {}", ix.title, c.level.title, c.year);
        let classes: Vec<Option<u8>> = c
            .level
            .areas
            .iter()
            .map(|a| c.index_value(a, k, c.yi).and_then(|v| v.status_class))
            .collect();
        choropleth(
            c,
            &classify::status(&classes),
            &ix.title,
            TEXT_W_LANDSCAPE,
            150.0,
            LegendPlace::Right,
            true,
        )
    } else {
        return Err(ReportError::Parameter {
            name: "indicator",
            message: format!("unknown indicator {id:?}"),
        });
    };
    let img = doc.image(svg);
    doc.blocks.push(Block::Figure {
        image: img,
        width: TEXT_W_LANDSCAPE,
        caption: String::new(),
    });
    Ok(doc)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn age_labels() {
        assert_eq!(age_label("age_below_6"), "unter 6");
        assert_eq!(age_label("age_6_15"), "6 bis unter 15");
        assert_eq!(age_label("age_above_65"), "65 und älter");
    }

    #[test]
    fn attention_rule_in_words() {
        let t = attention_text(&["3*".into(), "2-".into()]);
        assert_eq!(
            t,
            "Status „niedrig“ bei jeder Dynamik; Status „mittel“ bei negativer Dynamik"
        );
    }
}
