//! Vector drawings as SVG: choropleth maps and charts. The same SVG is embedded as vectors in
//! the PDF and rasterised to PNG (300 dpi) for the DOCX, so both show the same drawing.
//! User units are millimetres on paper.

use geo::{BoundingRect, InteriorPoint, MultiPolygon, Rect, Simplify};
use std::fmt::Write;

/// The font family of every text in every drawing (embedded, see `fonts`).
pub const FONT: &str = "Liberation Sans";

/// Escapes text for SVG.
pub fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Rough text width in mm of `s` at font size `size` mm (Liberation Sans averages about
/// 0.52 em per character); used to decide whether a label fits, with a margin.
pub fn text_width(s: &str, size: f64) -> f64 {
    s.chars().count() as f64 * size * 0.52
}

/// One area of a map.
pub struct MapArea<'a> {
    /// Geometry in the working CRS (metres).
    pub geometry: &'a MultiPolygon<f64>,
    /// Fill colour.
    pub fill: String,
    /// Label drawn where it fits.
    pub label: Option<String>,
    /// Hatched (a Sozialraumgebiet).
    pub hatch: bool,
    /// Drawn with a heavy outline (the area of a Steckbrief).
    pub highlight: bool,
}

/// Where the legend goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LegendPlace {
    /// Beside the map (landscape pages).
    Right,
    /// Under the map (portrait pages).
    Bottom,
    /// No legend (location maps).
    None,
}

/// A legend entry.
pub struct LegendItem {
    /// Fill colour.
    pub color: String,
    /// Text.
    pub label: String,
    /// Hatched swatch.
    pub hatch: bool,
}

/// A choropleth map with legend, scale bar, north arrow and source line.
pub struct MapSpec<'a> {
    /// Width of the whole drawing in mm.
    pub width: f64,
    /// Height of the whole drawing in mm.
    pub height: f64,
    /// The areas.
    pub areas: Vec<MapArea<'a>>,
    /// Outlines of the coarser level, drawn over the areas.
    pub outlines: Vec<&'a MultiPolygon<f64>>,
    /// Legend title (indicator and unit).
    pub legend_title: String,
    /// Legend entries.
    pub legend: Vec<LegendItem>,
    /// Where the legend goes.
    pub legend_place: LegendPlace,
    /// Source and Gebietsstand line at the foot of the drawing (empty: none).
    pub footer: String,
    /// Draw the scale bar and the north arrow.
    pub furniture: bool,
    /// Show the whole extent of these geometries (default: of `areas`).
    pub extent: Option<Rect<f64>>,
}

fn union_rect(a: Option<Rect<f64>>, b: Rect<f64>) -> Rect<f64> {
    match a {
        None => b,
        Some(a) => Rect::new(
            (a.min().x.min(b.min().x), a.min().y.min(b.min().y)),
            (a.max().x.max(b.max().x), a.max().y.max(b.max().y)),
        ),
    }
}

/// Paper transform: metres → mm.
#[derive(Clone, Copy)]
struct Fit {
    s: f64,
    ox: f64,
    oy: f64,
    minx: f64,
    maxy: f64,
}

impl Fit {
    fn new(ext: Rect<f64>, x: f64, y: f64, w: f64, h: f64) -> Fit {
        let ew = ext.width().max(1.0);
        let eh = ext.height().max(1.0);
        let s = (w / ew).min(h / eh);
        Fit {
            s,
            ox: x + (w - ew * s) / 2.0,
            oy: y + (h - eh * s) / 2.0,
            minx: ext.min().x,
            maxy: ext.max().y,
        }
    }
    fn pt(&self, x: f64, y: f64) -> (f64, f64) {
        (
            self.ox + (x - self.minx) * self.s,
            self.oy + (self.maxy - y) * self.s,
        )
    }
}

fn path_of(mp: &MultiPolygon<f64>, fit: &Fit, out: &mut String) {
    // 0.12 mm on paper: below what the eye or the printer resolves, and it keeps a city of
    // 542 areas to a few hundred kilobytes.
    let simplified = mp.simplify(0.12 / fit.s);
    for poly in simplified.0.iter() {
        for ring in std::iter::once(poly.exterior()).chain(poly.interiors()) {
            let mut first = true;
            for c in ring.coords() {
                let (x, y) = fit.pt(c.x, c.y);
                let _ = write!(out, "{}{:.2} {:.2}", if first { 'M' } else { 'L' }, x, y);
                first = false;
            }
            out.push('Z');
        }
    }
}

/// Renders the map.
pub fn map(spec: &MapSpec) -> String {
    let (w, h) = (spec.width, spec.height);
    let foot_h = if spec.footer.is_empty() { 0.0 } else { 5.0 };
    let legend_rows = spec.legend.len() as f64 + 1.0;
    let (map_w, map_h) = match spec.legend_place {
        LegendPlace::Right => (w - 62.0, h - foot_h),
        LegendPlace::Bottom => {
            let cols = 2.0;
            (w, h - foot_h - (legend_rows / cols).ceil() * 4.6 - 10.0)
        }
        LegendPlace::None => (w, h - foot_h),
    };
    let mut ext = spec.extent;
    if ext.is_none() {
        for a in &spec.areas {
            if let Some(r) = a.geometry.bounding_rect() {
                ext = Some(union_rect(ext, r));
            }
        }
    }
    let ext = ext.unwrap_or(Rect::new((0.0, 0.0), (1.0, 1.0)));
    let fit = Fit::new(ext, 1.0, 1.0, map_w - 2.0, map_h - 2.0);
    let mut s = String::with_capacity(64 * 1024);
    let _ = write!(
        s,
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{w}mm" height="{h}mm" viewBox="0 0 {w} {h}" font-family="{FONT}">"##
    );
    s.push_str(
        r##"<defs><pattern id="hatch" patternUnits="userSpaceOnUse" width="1.6" height="1.6" patternTransform="rotate(45)"><line x1="0" y1="0" x2="0" y2="1.6" stroke="#000" stroke-width="0.35"/></pattern></defs>"##,
    );
    // areas: one path each
    s.push_str(r##"<g stroke="#ffffff" stroke-width="0.12" stroke-linejoin="round">"##);
    for a in &spec.areas {
        let mut d = String::new();
        path_of(a.geometry, &fit, &mut d);
        let _ = write!(
            s,
            r#"<path fill="{}" fill-rule="evenodd" d="{d}"/>"#,
            a.fill
        );
    }
    s.push_str("</g>");
    let hatched: Vec<&MapArea> = spec.areas.iter().filter(|a| a.hatch).collect();
    if !hatched.is_empty() {
        s.push_str(r##"<g fill="url(#hatch)" stroke="#000" stroke-width="0.25">"##);
        for a in hatched {
            let mut d = String::new();
            path_of(a.geometry, &fit, &mut d);
            let _ = write!(s, r#"<path fill-rule="evenodd" d="{d}"/>"#);
        }
        s.push_str("</g>");
    }
    if !spec.outlines.is_empty() {
        s.push_str(
            r##"<g fill="none" stroke="#333333" stroke-width="0.35" stroke-linejoin="round">"##,
        );
        for o in &spec.outlines {
            let mut d = String::new();
            path_of(o, &fit, &mut d);
            let _ = write!(s, r#"<path d="{d}"/>"#);
        }
        s.push_str("</g>");
    }
    for a in spec.areas.iter().filter(|a| a.highlight) {
        let mut d = String::new();
        path_of(a.geometry, &fit, &mut d);
        let _ = write!(
            s,
            r##"<path fill="none" stroke="#000000" stroke-width="0.7" stroke-linejoin="round" d="{d}"/>"##
        );
    }
    labels(spec, &fit, &mut s);
    if spec.furniture {
        scale_bar(&fit, map_h, &mut s);
        north_arrow(map_w, &mut s);
    }
    legend(spec, map_w, map_h, &mut s);
    if !spec.footer.is_empty() {
        let _ = write!(
            s,
            r##"<text x="1" y="{:.2}" font-size="2.3" fill="#444444">{}</text>"##,
            h - 1.2,
            esc(&spec.footer)
        );
    }
    s.push_str("</svg>");
    s
}

/// Labels where they fit inside their area and do not overlap an earlier one.
fn labels(spec: &MapSpec, fit: &Fit, s: &mut String) {
    let size = 2.1;
    let mut placed: Vec<(f64, f64, f64, f64)> = Vec::new();
    // larger areas first: they have the room
    let mut order: Vec<(usize, f64)> = spec
        .areas
        .iter()
        .enumerate()
        .filter(|(_, a)| a.label.is_some())
        .map(|(i, a)| {
            (
                i,
                a.geometry
                    .bounding_rect()
                    .map_or(0.0, |r| r.width() * r.height()),
            )
        })
        .collect();
    order.sort_by(|a, b| b.1.total_cmp(&a.1));
    s.push_str(&format!(
        r##"<g font-size="{size}" text-anchor="middle" fill="#111111" stroke="#ffffff" stroke-width="0.5" paint-order="stroke" stroke-linejoin="round">"##
    ));
    for (i, _) in order {
        let a = &spec.areas[i];
        let Some(label) = &a.label else { continue };
        let Some(r) = a.geometry.bounding_rect() else {
            continue;
        };
        let tw = text_width(label, size);
        if tw > 0.8 * r.width() * fit.s || size * 1.6 > r.height() * fit.s {
            continue;
        }
        let Some(p) = a.geometry.interior_point() else {
            continue;
        };
        let (x, y) = fit.pt(p.x(), p.y());
        let rect = (x - tw / 2.0, y - size * 0.8, x + tw / 2.0, y + size * 0.3);
        if placed
            .iter()
            .any(|q| rect.0 < q.2 && q.0 < rect.2 && rect.1 < q.3 && q.1 < rect.3)
        {
            continue;
        }
        placed.push(rect);
        let _ = write!(
            s,
            r#"<text x="{x:.2}" y="{:.2}">{}</text>"#,
            y + size * 0.35,
            esc(label)
        );
    }
    s.push_str("</g>");
}

/// A scale bar of a round length (1, 2 or 5 × 10ⁿ m) about a quarter of the map wide.
fn scale_bar(fit: &Fit, map_h: f64, s: &mut String) {
    let target_m = 30.0 / fit.s;
    let pow = 10f64.powf(target_m.log10().floor());
    let nice = [5.0, 2.0, 1.0]
        .iter()
        .map(|m| m * pow)
        .find(|&m| m <= target_m)
        .unwrap_or(pow);
    let len = nice * fit.s;
    let (x, y) = (3.0, map_h - 4.0);
    let label = if nice >= 1000.0 {
        format!(
            "{} km",
            crate::fmt::num(nice / 1000.0, if nice % 1000.0 == 0.0 { 0 } else { 1 })
        )
    } else {
        format!("{} m", nice as u64)
    };
    let half = len / 2.0;
    let _ = write!(
        s,
        r##"<g><rect x="{x:.2}" y="{y:.2}" width="{half:.2}" height="1.2" fill="#222222"/><rect x="{:.2}" y="{y:.2}" width="{half:.2}" height="1.2" fill="#ffffff" stroke="#222222" stroke-width="0.2"/><text x="{x:.2}" y="{:.2}" font-size="2.3" fill="#222222">0</text><text x="{:.2}" y="{:.2}" font-size="2.3" text-anchor="end" fill="#222222">{}</text></g>"##,
        x + half,
        y - 0.8,
        x + len,
        y - 0.8,
        esc(&label)
    );
}

fn north_arrow(map_w: f64, s: &mut String) {
    let (x, y) = (map_w - 6.0, 3.0);
    let _ = write!(
        s,
        r##"<g><path d="M{x:.2} {y:.2} L{:.2} {:.2} L{x:.2} {:.2} L{:.2} {:.2} Z" fill="#222222"/><text x="{x:.2}" y="{:.2}" font-size="2.6" text-anchor="middle" font-weight="bold" fill="#222222">N</text></g>"##,
        x + 2.2,
        y + 7.0,
        y + 5.4,
        x - 2.2,
        y + 7.0,
        y + 10.2
    );
}

fn legend(spec: &MapSpec, map_w: f64, map_h: f64, s: &mut String) {
    let (x0, y0, cols) = match spec.legend_place {
        LegendPlace::None => return,
        LegendPlace::Right => (map_w + 3.0, 8.0, 1usize),
        LegendPlace::Bottom => (1.0, map_h + 4.0, 2usize),
    };
    let col_w = (spec.width - x0) / cols as f64;
    // The title wraps at word boundaries to the legend's width (bold text is a little wider).
    let avail = spec.width - x0 - 1.0;
    let mut lines: Vec<String> = vec![String::new()];
    for w in spec.legend_title.split_whitespace() {
        let cur = lines.last_mut().expect("one line");
        let cand = if cur.is_empty() {
            w.to_string()
        } else {
            format!("{cur} {w}")
        };
        if text_width(&cand, 2.8) * 1.08 > avail && !cur.is_empty() {
            lines.push(w.to_string());
        } else {
            *cur = cand;
        }
    }
    for (i, l) in lines.iter().enumerate() {
        let _ = write!(
            s,
            r##"<text x="{x0:.2}" y="{:.2}" font-size="2.8" font-weight="bold" fill="#111111">{}</text>"##,
            y0 + 3.4 * i as f64,
            esc(l)
        );
    }
    let y0 = y0 + 3.4 * (lines.len() - 1) as f64;
    for (i, it) in spec.legend.iter().enumerate() {
        let (c, r) = (i % cols, i / cols);
        let x = x0 + c as f64 * col_w;
        let y = y0 + 2.5 + r as f64 * 4.6;
        let _ = write!(
            s,
            r##"<rect x="{x:.2}" y="{y:.2}" width="6" height="3.4" fill="{}" stroke="#777777" stroke-width="0.15"/>"##,
            it.color
        );
        if it.hatch {
            let _ = write!(
                s,
                r##"<rect x="{x:.2}" y="{y:.2}" width="6" height="3.4" fill="url(#hatch)" stroke="#000" stroke-width="0.25"/>"##
            );
        }
        let _ = write!(
            s,
            r##"<text x="{:.2}" y="{:.2}" font-size="2.5" fill="#111111">{}</text>"##,
            x + 7.5,
            y + 2.6,
            esc(&it.label)
        );
    }
}

/// A series of a line chart.
pub struct Series {
    /// Legend text.
    pub label: String,
    /// Colour.
    pub color: String,
    /// Dashed line.
    pub dashed: bool,
    /// One value per x position (`None`: a gap).
    pub values: Vec<Option<f64>>,
}

fn nice_ticks(lo: f64, hi: f64, n: usize) -> Vec<f64> {
    let span = (hi - lo).max(1e-9);
    let raw = span / n as f64;
    let pow = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * pow)
        .find(|&st| st >= raw)
        .unwrap_or(10.0 * pow);
    let start = (lo / step).floor() * step;
    let mut t = Vec::new();
    // from the first step at or below `lo` to the first at or above `hi`
    let mut v = start;
    loop {
        t.push(v);
        if v >= hi - step * 1e-9 || t.len() >= 20 {
            break;
        }
        v += step;
    }
    t
}

/// A line chart of values over years, e.g. area vs city.
pub fn line_chart(
    width: f64,
    height: f64,
    years: &[i32],
    series: &[Series],
    decimals: u8,
    unit: &str,
) -> String {
    let mut s = String::new();
    let _ = write!(
        s,
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{width}mm" height="{height}mm" viewBox="0 0 {width} {height}" font-family="{FONT}">"##
    );
    let vals: Vec<f64> = series
        .iter()
        .flat_map(|se| se.values.iter().flatten().copied())
        .collect();
    let (left, right, top, bottom) = (13.0, 3.0, 3.0, 12.0);
    let (pw, ph) = (width - left - right, height - top - bottom);
    if vals.is_empty() || years.is_empty() {
        let _ = write!(
            s,
            r##"<text x="{:.2}" y="{:.2}" font-size="2.6" text-anchor="middle" fill="#555555">Für diesen Indikator liegen keine veröffentlichbaren Werte vor.</text></svg>"##,
            width / 2.0,
            height / 2.0
        );
        return s;
    }
    let mut lo = vals.iter().copied().fold(f64::INFINITY, f64::min);
    let mut hi = vals.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if lo >= 0.0 && lo < (hi - lo) * 1.5 {
        lo = 0.0;
    }
    if hi - lo < 1e-9 {
        hi = lo + 1.0;
    }
    let ticks = nice_ticks(lo, hi, 4);
    let (lo, hi) = (ticks[0], *ticks.last().unwrap_or(&hi));
    let y_of = |v: f64| top + ph - (v - lo) / (hi - lo).max(1e-9) * ph;
    let n = years.len();
    let x_of = |i: usize| {
        if n == 1 {
            left + pw / 2.0
        } else {
            left + pw * i as f64 / (n - 1) as f64
        }
    };
    let tick_dec = if ticks.windows(2).any(|w| (w[1] - w[0]).fract().abs() > 1e-9) {
        decimals.clamp(1, 2)
    } else {
        0
    };
    for t in &ticks {
        let y = y_of(*t);
        let _ = write!(
            s,
            r##"<line x1="{left}" y1="{y:.2}" x2="{:.2}" y2="{y:.2}" stroke="#dddddd" stroke-width="0.2"/><text x="{:.2}" y="{:.2}" font-size="2.3" text-anchor="end" fill="#444444">{}</text>"##,
            left + pw,
            left - 1.0,
            y + 0.8,
            crate::fmt::num(*t, tick_dec)
        );
    }
    for (i, y) in years.iter().enumerate() {
        let _ = write!(
            s,
            r##"<text x="{:.2}" y="{:.2}" font-size="2.3" text-anchor="middle" fill="#444444">{y}</text>"##,
            x_of(i),
            top + ph + 3.6
        );
    }
    if !unit.is_empty() {
        let _ = write!(
            s,
            r##"<text x="1" y="{:.2}" font-size="2.2" fill="#444444">{}</text>"##,
            top + 1.0,
            esc(unit)
        );
    }
    for se in series {
        let dash = if se.dashed {
            r#" stroke-dasharray="1.5 1""#
        } else {
            ""
        };
        let mut d = String::new();
        let mut pen = false;
        for (i, v) in se.values.iter().enumerate() {
            match v {
                Some(v) => {
                    let _ = write!(
                        d,
                        "{}{:.2} {:.2}",
                        if pen { 'L' } else { 'M' },
                        x_of(i),
                        y_of(*v)
                    );
                    pen = true;
                }
                None => pen = false,
            }
        }
        let _ = write!(
            s,
            r#"<path d="{d}" fill="none" stroke="{}" stroke-width="0.6"{dash}/>"#,
            se.color
        );
        for (i, v) in se.values.iter().enumerate() {
            if let Some(v) = v {
                let _ = write!(
                    s,
                    r#"<circle cx="{:.2}" cy="{:.2}" r="0.7" fill="{}"/>"#,
                    x_of(i),
                    y_of(*v),
                    se.color
                );
            }
        }
    }
    // legend under the axis
    let mut x = left;
    for se in series {
        let dash = if se.dashed {
            r#" stroke-dasharray="1.5 1""#
        } else {
            ""
        };
        let y = height - 2.0;
        let _ = write!(
            s,
            r##"<line x1="{x:.2}" y1="{:.2}" x2="{:.2}" y2="{:.2}" stroke="{}" stroke-width="0.6"{dash}/><text x="{:.2}" y="{y:.2}" font-size="2.3" fill="#222222">{}</text>"##,
            y - 0.8,
            x + 5.0,
            y - 0.8,
            se.color,
            x + 6.0,
            esc(&se.label)
        );
        x += 8.0 + text_width(&se.label, 2.3);
    }
    s.push_str("</svg>");
    s
}

/// One bar group of a horizontal bar chart.
pub struct Bar {
    /// Row label.
    pub label: String,
    /// The main value (`None`: shown as "·"/"–" text).
    pub value: Option<f64>,
    /// Text for a missing value.
    pub missing: String,
    /// A reference value drawn as a tick (the city's share).
    pub reference: Option<f64>,
    /// Bar colour.
    pub color: String,
    /// Value text beside the bar.
    pub text: String,
}

/// Horizontal bars from zero (negative values to the left), with optional reference ticks and
/// vertical guide lines (e.g. the class thresholds ±1).
pub fn bar_chart(
    width: f64,
    bars: &[Bar],
    guides: &[(f64, String)],
    legend: &[(String, String)],
) -> String {
    let row = 5.2;
    let label_w = bars
        .iter()
        .map(|b| text_width(&b.label, 2.4))
        .fold(18.0, f64::max)
        .min(width * 0.45);
    // Labels longer than their column are shortened with "…" (the table beside says it all).
    let max_chars = (label_w / (2.4 * 0.52) + 0.01).floor() as usize;
    let short = |l: &str| -> String {
        if l.chars().count() <= max_chars {
            l.to_string()
        } else {
            let mut t: String = l.chars().take(max_chars.saturating_sub(1)).collect();
            t.push('…');
            t
        }
    };
    let legend_rows = {
        let mut rows = 1usize;
        let mut x = label_w + 2.0;
        for (_, label) in legend {
            let w = 6.0 + text_width(label, 2.2);
            if x + w > width && x > label_w + 2.0 {
                rows += 1;
                x = label_w + 2.0;
            }
            x += w;
        }
        rows
    };
    let text_w = 14.0;
    let top = 2.0;
    let legend_h = if legend.is_empty() {
        0.0
    } else {
        4.0 * legend_rows as f64 + 1.0
    };
    let height = top + row * bars.len() as f64 + 4.0 + legend_h;
    let (x0, pw) = (label_w + 2.0, width - label_w - 2.0 - text_w);
    let all: Vec<f64> = bars
        .iter()
        .flat_map(|b| b.value.into_iter().chain(b.reference))
        .chain(guides.iter().map(|g| g.0))
        .collect();
    let lo = all.iter().copied().fold(0.0, f64::min);
    let hi = all.iter().copied().fold(0.0, f64::max).max(lo + 1e-9);
    let x_of = |v: f64| x0 + (v - lo) / (hi - lo) * pw;
    let mut s = String::new();
    let _ = write!(
        s,
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{width}mm" height="{height:.2}mm" viewBox="0 0 {width} {height:.2}" font-family="{FONT}">"##
    );
    let y_end = top + row * bars.len() as f64;
    for (g, label) in guides {
        let x = x_of(*g);
        let _ = write!(
            s,
            r##"<line x1="{x:.2}" y1="{top}" x2="{x:.2}" y2="{y_end:.2}" stroke="#999999" stroke-width="0.2" stroke-dasharray="0.8 0.6"/><text x="{x:.2}" y="{:.2}" font-size="2" text-anchor="middle" fill="#666666">{}</text>"##,
            y_end + 2.6,
            esc(label)
        );
    }
    let zero = x_of(0.0);
    let _ = write!(
        s,
        r##"<line x1="{zero:.2}" y1="{top}" x2="{zero:.2}" y2="{y_end:.2}" stroke="#555555" stroke-width="0.25"/>"##
    );
    for (i, b) in bars.iter().enumerate() {
        let y = top + row * i as f64;
        let _ = write!(
            s,
            r##"<text x="{label_w:.2}" y="{:.2}" font-size="2.4" text-anchor="end" fill="#222222">{}</text>"##,
            y + row * 0.62,
            esc(&short(&b.label))
        );
        match b.value {
            Some(v) => {
                let (a, c) = (x_of(0.0_f64.min(v)), x_of(0.0_f64.max(v)));
                let _ = write!(
                    s,
                    r#"<rect x="{a:.2}" y="{:.2}" width="{:.2}" height="{:.2}" fill="{}"/>"#,
                    y + row * 0.18,
                    (c - a).max(0.2),
                    row * 0.64,
                    b.color
                );
            }
            None => {
                let _ = write!(
                    s,
                    r##"<text x="{:.2}" y="{:.2}" font-size="2.4" fill="#555555">{}</text>"##,
                    zero + 1.0,
                    y + row * 0.62,
                    esc(&b.missing)
                );
            }
        }
        if let Some(r) = b.reference {
            let x = x_of(r);
            let _ = write!(
                s,
                r##"<line x1="{x:.2}" y1="{:.2}" x2="{x:.2}" y2="{:.2}" stroke="#222222" stroke-width="0.5"/>"##,
                y + row * 0.06,
                y + row * 0.94
            );
        }
        let _ = write!(
            s,
            r##"<text x="{:.2}" y="{:.2}" font-size="2.3" text-anchor="end" fill="#222222">{}</text>"##,
            width - 0.5,
            y + row * 0.62,
            esc(&b.text)
        );
    }
    let mut x = x0;
    let mut y = y_end + 4.0 + 3.5;
    for (color, label) in legend {
        let w = 6.0 + text_width(label, 2.2);
        if x + w > width && x > x0 {
            x = x0;
            y += 4.0;
        }
        let _ = write!(
            s,
            r##"<rect x="{x:.2}" y="{:.2}" width="3" height="2.2" fill="{color}"/><text x="{:.2}" y="{y:.2}" font-size="2.2" fill="#222222">{}</text>"##,
            y - 2.0,
            x + 4.0,
            esc(label)
        );
        x += w;
    }
    s.push_str("</svg>");
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::{MultiPolygon, polygon};

    #[test]
    fn map_has_legend_scale_and_labels_that_fit() {
        let big = MultiPolygon(vec![
            polygon![(x: 0.0, y: 0.0), (x: 10_000.0, y: 0.0), (x: 10_000.0, y: 10_000.0), (x: 0.0, y: 10_000.0)],
        ]);
        let tiny = MultiPolygon(vec![
            polygon![(x: 10_000.0, y: 0.0), (x: 10_050.0, y: 0.0), (x: 10_050.0, y: 50.0), (x: 10_000.0, y: 50.0)],
        ]);
        let spec = MapSpec {
            width: 180.0,
            height: 120.0,
            areas: vec![
                MapArea {
                    geometry: &big,
                    fill: "#ff0000".into(),
                    label: Some("Großes Gebiet".into()),
                    hatch: true,
                    highlight: false,
                },
                MapArea {
                    geometry: &tiny,
                    fill: "#00ff00".into(),
                    label: Some("Winzig".into()),
                    hatch: false,
                    highlight: true,
                },
            ],
            outlines: vec![&big],
            legend_title: "Kinderarmut in %".into(),
            legend: vec![LegendItem {
                color: "#ff0000".into(),
                label: "> 10 – 20".into(),
                hatch: false,
            }],
            legend_place: LegendPlace::Right,
            footer: "Quelle: Test; Gebietsstand 2024".into(),
            furniture: true,
            extent: None,
        };
        let svg = map(&spec);
        assert!(svg.contains("Großes Gebiet"));
        assert!(
            !svg.contains(">Winzig<"),
            "a label that does not fit is left out"
        );
        assert!(svg.contains("km</text>") && svg.contains(">N</text>"));
        assert!(svg.contains("Quelle: Test; Gebietsstand 2024"));
        assert!(svg.contains("url(#hatch)"));
    }

    #[test]
    fn ticks_are_round() {
        assert_eq!(nice_ticks(0.0, 23.0, 4), vec![0.0, 10.0, 20.0, 30.0]);
    }
}
