//! `kleinraum generate-demo --kreis`: the synthetic Landkreis "Musterland" — what most users
//! have: boundaries and area tables, no address points.
//!
//! 19 Gemeinden and Ämter (populations from about 800 to 40,000) in 4 Planregionen, in
//! ETRS89 / UTM 32N. The files look like what a Kreis receives:
//! - `gemeinden.shp` (+ `.shx`, `.dbf`, `.prj`): the Katasteramt's boundaries, the DBF in
//!   Windows-1252 without a `.cpg`, an ESRI `.prj`;
//! - `planregionen.geojson`: the Planregionen (unions of their Gemeinden);
//! - `bevoelkerung_2014-2024.csv`: population by age group on 31.12. of 2014–2024 in the long
//!   layout of a Landesamt export (one row per Gemeinde, date and Merkmal; `;`, Windows-1252,
//!   spaces as thousands separators, a row for the Kreis as a whole);
//! - `sgb2_bundesagentur.csv`: SGB II counts of the Bundesagentur für Arbeit in their wide
//!   layout (a column per measure and December), keyed by Gemeinde names (towns as
//!   "Name, Stadt"), `.` as thousands separator, cells below 3 replaced by `*`;
//! - `ba_gemeinden_zuordnung.csv`: the mapping of the Bundesagentur's names to the AGS;
//! - `kitas.geojson`: Kitas as points with their places.
//!
//! Everything is invented (names, boundaries, numbers). Deterministic like the town demo: every
//! draw comes from a stream keyed by what it is for, so the files are byte-identical per run.

use crate::demo::{P, Rng, fmt_coord, json_str, ring_area, round_cm, uniform_in, union_ring};
use anyhow::{Context, Result};
use std::fmt::Write as _;
use std::path::Path;

const SEED: u64 = 0x4B52_4549_534D_5553; // "KREISMUS"
/// Years of the tables (31.12. of each).
pub const YEARS: std::ops::RangeInclusive<i32> = 2014..=2024;
const KREIS_AGS: &str = "01099000";
const KREIS_NAME: &str = "Landkreis Musterland";
/// South-west corner of the lattice (ETRS89 / UTM 32N, Schleswig-Holstein-like latitudes).
const X0: f64 = 540_000.0;
const Y0: f64 = 5_980_000.0;
const CELL: f64 = 7_000.0;
const ROWS: usize = 4;
const JITTER: f64 = 0.18;
const ROUGH: f64 = 0.12;
const SUBDIVISIONS: usize = 4;

const K_VERTEX: u64 = 1;
const K_EDGE: u64 = 2;
const K_POP: u64 = 3;
const K_SGB: u64 = 4;
const K_KITA: u64 = 5;

/// Planregionen: id and name.
pub const PLANREGIONEN: [(&str, &str); 4] = [
    ("PR1", "Nord"),
    ("PR2", "Geest"),
    ("PR3", "Marsch"),
    ("PR4", "Förde"),
];

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    /// A small town: younger, more SGB II.
    Town,
    /// An Amt of several villages near a town.
    Amt,
    /// A rural Gemeinde: older, shrinking, little SGB II.
    Rural,
}

/// One Gemeinde or Amt as designed.
struct Spec {
    name: &'static str,
    /// The Bundesagentur's spelling where it differs.
    ba_name: Option<&'static str>,
    typ: &'static str,
    pr: usize,
    col: usize,
    row: usize,
    /// Residents on 31.12.2014.
    pop: f64,
    /// Growth per year (share).
    growth: f64,
    kind: Kind,
    /// SGB II: share of 15–65 in eLb, 2014.
    elb: f64,
    /// Children under 15 in Bedarfsgemeinschaften, share of under 15, 2014.
    child: f64,
    /// Kita places per child under 6 (2024).
    kita_cover: f64,
}

#[expect(
    clippy::too_many_arguments,
    reason = "a table of specifications reads best one row per call"
)]
const fn g(
    name: &'static str,
    ba_name: Option<&'static str>,
    typ: &'static str,
    pr: usize,
    (col, row): (usize, usize),
    pop: f64,
    growth: f64,
    kind: Kind,
    (elb, child): (f64, f64),
    kita_cover: f64,
) -> Spec {
    Spec {
        name,
        ba_name,
        typ,
        pr,
        col,
        row,
        pop,
        growth,
        kind,
        elb,
        child,
        kita_cover,
    }
}

/// The 19 Gemeinden and Ämter, Planregion by Planregion (their AGS follow this order).
/// Lattice: col 0 = west, row 0 = south; (0, 0) lies outside the Kreis.
const SPECS: [Spec; 19] = [
    g(
        "Kirchhusen",
        Some("Kirchhusen, Stadt"),
        "Stadt",
        0,
        (1, 3),
        38_400.0,
        0.004,
        Kind::Town,
        (0.105, 0.185),
        0.78,
    ),
    g(
        "Süderholm",
        None,
        "Gemeinde",
        0,
        (0, 3),
        6_150.0,
        -0.002,
        Kind::Rural,
        (0.041, 0.07),
        0.92,
    ),
    g(
        "Amt Lütjenmoor",
        None,
        "Amt",
        0,
        (2, 3),
        9_800.0,
        0.006,
        Kind::Amt,
        (0.038, 0.06),
        0.71,
    ),
    g(
        "Wesselbek",
        None,
        "Gemeinde",
        0,
        (0, 2),
        1_920.0,
        -0.006,
        Kind::Rural,
        (0.030, 0.05),
        0.95,
    ),
    g(
        "Großenbrück",
        None,
        "Gemeinde",
        0,
        (1, 2),
        3_310.0,
        0.002,
        Kind::Amt,
        (0.034, 0.055),
        0.85,
    ),
    g(
        "Bad Sülzhagen",
        Some("Bad Sülzhagen, Stadt"),
        "Stadt",
        1,
        (1, 1),
        14_250.0,
        0.001,
        Kind::Town,
        (0.082, 0.15),
        0.88,
    ),
    g(
        "Amt Heidmark",
        None,
        "Amt",
        1,
        (0, 1),
        7_600.0,
        -0.001,
        Kind::Amt,
        (0.036, 0.06),
        0.90,
    ),
    g(
        "Krummbek",
        None,
        "Gemeinde",
        1,
        (1, 0),
        830.0,
        -0.009,
        Kind::Rural,
        (0.022, 0.027),
        1.05,
    ),
    g(
        "Osterfeld",
        None,
        "Gemeinde",
        1,
        (2, 0),
        2_410.0,
        -0.004,
        Kind::Rural,
        (0.029, 0.05),
        0.93,
    ),
    g(
        "Nienkamp",
        None,
        "Gemeinde",
        1,
        (3, 0),
        1_160.0,
        -0.007,
        Kind::Rural,
        (0.027, 0.04),
        0.97,
    ),
    g(
        "Marschwerder",
        Some("Marschwerder, Stadt"),
        "Stadt",
        2,
        (2, 1),
        11_300.0,
        -0.003,
        Kind::Town,
        (0.118, 0.22),
        0.83,
    ),
    g(
        "Amt Deichland",
        None,
        "Amt",
        2,
        (3, 1),
        8_900.0,
        -0.002,
        Kind::Amt,
        (0.045, 0.08),
        0.89,
    ),
    g(
        "Groß Wöhrden",
        None,
        "Gemeinde",
        2,
        (2, 2),
        2_050.0,
        -0.005,
        Kind::Rural,
        (0.036, 0.06),
        0.90,
    ),
    g(
        "Sielhörn",
        None,
        "Gemeinde",
        2,
        (4, 0),
        960.0,
        -0.010,
        Kind::Rural,
        (0.031, 0.026),
        1.00,
    ),
    g(
        "Neuenkoog",
        None,
        "Gemeinde",
        2,
        (4, 1),
        1_620.0,
        -0.006,
        Kind::Rural,
        (0.033, 0.055),
        0.94,
    ),
    g(
        "Fördestedt",
        Some("Fördestedt, Stadt"),
        "Stadt",
        3,
        (3, 2),
        20_900.0,
        0.009,
        Kind::Town,
        (0.072, 0.13),
        0.62,
    ),
    g(
        "Amt Holmer Förde",
        None,
        "Amt",
        3,
        (4, 2),
        12_400.0,
        0.008,
        Kind::Amt,
        (0.032, 0.05),
        0.80,
    ),
    g(
        "Strandby",
        None,
        "Gemeinde",
        3,
        (3, 3),
        3_720.0,
        0.003,
        Kind::Amt,
        (0.035, 0.055),
        0.86,
    ),
    g(
        "Östermühle",
        None,
        "Gemeinde",
        3,
        (4, 3),
        1_260.0,
        -0.003,
        Kind::Rural,
        (0.028, 0.045),
        0.98,
    ),
];

/// SGB II swings across Germany, 2014–2024 (falling to 2019, Covid 2020, refugees from
/// Ukraine from mid-2022).
const SGB2_YEAR: [f64; 11] = [
    1.0, 1.0, 1.02, 0.99, 0.95, 0.91, 0.95, 0.93, 0.98, 1.04, 1.06,
];

/// The age groups of the Landesamt's table (its Merkmal texts), in the map's order.
pub const AGE_GROUPS: [(&str, &str); 8] = [
    ("age_below_6", "unter 6 Jahre"),
    ("age_6_15", "6 bis unter 15 Jahre"),
    ("age_15_18", "15 bis unter 18 Jahre"),
    ("age_18_27", "18 bis unter 27 Jahre"),
    ("age_27_45", "27 bis unter 45 Jahre"),
    ("age_45_55", "45 bis unter 55 Jahre"),
    ("age_55_65", "55 bis unter 65 Jahre"),
    ("age_above_65", "65 Jahre und mehr"),
];

/// Age shares on 31.12.2014 by kind.
fn age_shares(kind: Kind) -> [f64; 8] {
    match kind {
        Kind::Town => [0.056, 0.077, 0.028, 0.112, 0.236, 0.150, 0.128, 0.213],
        Kind::Amt => [0.054, 0.090, 0.033, 0.086, 0.218, 0.170, 0.140, 0.209],
        Kind::Rural => [0.043, 0.079, 0.031, 0.079, 0.188, 0.172, 0.158, 0.250],
    }
}

/// One Gemeinde's counts in one year.
#[derive(Debug, Clone, Copy, Default)]
pub struct Counts {
    /// The eight age groups (AGE_GROUPS order); their sum is the residents.
    pub ages: [u64; 8],
    /// Foreign residents.
    pub foreigners: u64,
    /// Erwerbsfähige Leistungsberechtigte (SGB II).
    pub elb: u64,
    /// Children under 15 in Bedarfsgemeinschaften.
    pub kinder_sgb2: u64,
}

impl Counts {
    /// Residents.
    pub fn residents(&self) -> u64 {
        self.ages.iter().sum()
    }
    /// Under 15.
    pub fn under_15(&self) -> u64 {
        self.ages[0] + self.ages[1]
    }
    /// 15 to under 65.
    pub fn age_15_65(&self) -> u64 {
        self.ages[2..7].iter().sum()
    }
}

/// A Gemeinde as generated.
#[derive(Debug, Clone)]
pub struct Gemeinde {
    /// AGS (8 digits).
    pub ags: String,
    /// Name.
    pub name: String,
    /// Name in the Bundesagentur's file.
    pub ba_name: String,
    /// Stadt, Gemeinde or Amt.
    pub typ: String,
    /// Planregion id.
    pub pr: String,
    /// Boundary, closed, counter-clockwise, EPSG:25832.
    pub ring: Vec<P>,
    /// Counts per year of [`YEARS`].
    pub counts: Vec<Counts>,
}

/// A Kita.
#[derive(Debug, Clone)]
pub struct Kita {
    /// Number.
    pub nr: String,
    /// Name.
    pub name: String,
    /// Operator.
    pub traeger: String,
    /// Approved places.
    pub plaetze: u32,
    /// Location.
    pub at: P,
}

/// The whole Kreis.
#[derive(Debug, Clone)]
pub struct Kreis {
    /// The Gemeinden and Ämter.
    pub gemeinden: Vec<Gemeinde>,
    /// The Planregionen: id, name, outline.
    pub planregionen: Vec<(String, String, Vec<P>)>,
    /// Kitas.
    pub kitas: Vec<Kita>,
}

fn lattice_vertex(i: usize, j: usize) -> P {
    let mut rng = Rng::keyed_with(SEED, &[K_VERTEX, i as u64, j as u64]);
    [
        round_cm(X0 + i as f64 * CELL + rng.sym() * JITTER * CELL),
        round_cm(Y0 + j as f64 * CELL + rng.sym() * JITTER * CELL),
    ]
}

fn vid(i: usize, j: usize) -> usize {
    i * (ROWS + 1) + j
}

/// The shared polyline of a lattice edge (from the lower vertex id to the higher).
fn edge(a: (usize, usize), b: (usize, usize)) -> Vec<P> {
    let (lo, hi) = if vid(a.0, a.1) < vid(b.0, b.1) {
        (a, b)
    } else {
        (b, a)
    };
    let mut rng = Rng::keyed_with(
        SEED,
        &[K_EDGE, vid(lo.0, lo.1) as u64, vid(hi.0, hi.1) as u64],
    );
    let mut pts = vec![lattice_vertex(lo.0, lo.1), lattice_vertex(hi.0, hi.1)];
    for _ in 0..SUBDIVISIONS {
        let mut next = vec![pts[0]];
        for w in pts.windows(2) {
            let (p, q) = (w[0], w[1]);
            let (dx, dy) = (q[0] - p[0], q[1] - p[1]);
            let len = (dx * dx + dy * dy).sqrt();
            let off = rng.sym() * ROUGH * len;
            next.push([
                round_cm((p[0] + q[0]) / 2.0 - dy / len * off),
                round_cm((p[1] + q[1]) / 2.0 + dx / len * off),
            ]);
            next.push(q);
        }
        pts = next;
    }
    pts
}

fn cell_ring(col: usize, row: usize) -> Vec<P> {
    let c = [
        (col, row),
        (col + 1, row),
        (col + 1, row + 1),
        (col, row + 1),
    ];
    let mut ring = Vec::new();
    for k in 0..4 {
        let (a, b) = (c[k], c[(k + 1) % 4]);
        let mut line = edge(a, b);
        if vid(a.0, a.1) > vid(b.0, b.1) {
            line.reverse();
        }
        line.pop();
        ring.extend(line);
    }
    ring.push(ring[0]);
    ring
}

/// A whole number near `v`, drawn so that sums are not always rounded the same way.
fn draw(v: f64, rng: &mut Rng) -> u64 {
    let f = v.max(0.0);
    let base = f.floor();
    (base + if rng.chance(f - base) { 1.0 } else { 0.0 }) as u64
}

fn counts_for(k: usize, s: &Spec) -> Vec<Counts> {
    YEARS
        .enumerate()
        .map(|(t, year)| {
            let mut rng = Rng::keyed_with(SEED, &[K_POP, k as u64, year as u64]);
            let tf = t as f64;
            let pop = s.pop * (1.0 + s.growth).powf(tf) * (1.0 + 0.004 * rng.normal());
            let mut sh = age_shares(s.kind);
            // Ageing: the 65+ grow, the middle groups shrink (faster in the villages).
            let age = if s.kind == Kind::Rural {
                0.0035
            } else {
                0.0022
            };
            sh[7] += age * tf;
            sh[4] -= age * tf * 0.6;
            sh[5] -= age * tf * 0.4;
            // Young families move to the towns after 2016.
            if s.kind == Kind::Town && year >= 2016 {
                sh[0] += 0.0008 * (year - 2015) as f64;
            }
            let mut ages = [0u64; 8];
            for (a, share) in sh.iter().enumerate() {
                ages[a] = draw(pop * share * (1.0 + 0.02 * rng.sym()), &mut rng);
            }
            let res: u64 = ages.iter().sum();
            let foreign_share = match s.kind {
                Kind::Town => 0.07,
                Kind::Amt => 0.035,
                Kind::Rural => 0.025,
            } + if year >= 2016 { 0.015 } else { 0.0 }
                + if year >= 2022 { 0.012 } else { 0.0 };
            let foreigners = draw(
                res as f64 * foreign_share * (1.0 + 0.05 * rng.sym()),
                &mut rng,
            );
            let mut sgb = Rng::keyed_with(SEED, &[K_SGB, k as u64, year as u64]);
            let factor = SGB2_YEAR[t];
            let c15_65: u64 = ages[2..7].iter().sum();
            let c_u15 = ages[0] + ages[1];
            let elb = draw(
                c15_65 as f64 * s.elb * factor * (1.0 + 0.04 * sgb.sym()),
                &mut sgb,
            );
            let kinder_sgb2 = draw(
                c_u15 as f64 * s.child * factor * (1.0 + 0.06 * sgb.sym()),
                &mut sgb,
            );
            Counts {
                ages,
                foreigners,
                elb,
                kinder_sgb2,
            }
        })
        .collect()
}

/// Builds the Kreis in memory. Pure and deterministic.
pub fn build() -> Result<Kreis> {
    let mut gemeinden = Vec::new();
    for (k, s) in SPECS.iter().enumerate() {
        gemeinden.push(Gemeinde {
            ags: format!("01099{:03}", k + 1),
            name: s.name.into(),
            ba_name: s.ba_name.unwrap_or(s.name).into(),
            typ: s.typ.into(),
            pr: PLANREGIONEN[s.pr].0.into(),
            ring: cell_ring(s.col, s.row),
            counts: counts_for(k, s),
        });
    }
    let planregionen = PLANREGIONEN
        .iter()
        .map(|(id, name)| {
            let rings: Vec<&[P]> = gemeinden
                .iter()
                .filter(|g| g.pr == *id)
                .map(|g| g.ring.as_slice())
                .collect();
            Ok((
                id.to_string(),
                name.to_string(),
                union_ring(&rings).with_context(|| format!("Planregion {id}"))?,
            ))
        })
        .collect::<Result<Vec<_>>>()?;
    let mut kitas = Vec::new();
    for (k, (s, gm)) in SPECS.iter().zip(&gemeinden).enumerate() {
        let last = gm.counts.last().copied().unwrap_or_default();
        let u6 = last.ages[0] as f64;
        let n = ((u6 / 75.0).round() as usize).max(1);
        let total = u6 * s.kita_cover;
        let mut rng = Rng::keyed_with(SEED, &[K_KITA, k as u64]);
        let weights: Vec<f64> = (0..n).map(|_| rng.uniform(0.6, 1.4)).collect();
        let wsum: f64 = weights.iter().sum();
        for (i, w) in weights.iter().enumerate() {
            let plaetze = ((total * w / wsum / 5.0).round() * 5.0).max(10.0) as u32;
            let traeger = ["kommunal", "AWO", "Diakonie", "Elterninitiative", "DRK"][rng.below(5)];
            kitas.push(Kita {
                nr: format!("{}-{:02}", &gm.ags[5..], i + 1),
                name: format!(
                    "Kita {} {}",
                    short(&gm.name),
                    [
                        "Sonnenschein",
                        "Regenbogen",
                        "Pusteblume",
                        "Am Deich",
                        "Kleine Strolche",
                        "Wirbelwind",
                        "Seestern",
                        "Marienkäfer"
                    ][(k + i) % 8]
                ),
                traeger: traeger.into(),
                plaetze,
                at: uniform_in(&gm.ring, &mut rng, 300.0)?,
            });
        }
    }
    Ok(Kreis {
        gemeinden,
        planregionen,
        kitas,
    })
}

fn short(name: &str) -> &str {
    name.strip_prefix("Amt ").unwrap_or(name)
}

/// `12 345` (a space between groups of three digits), as the Landesamt writes counts.
fn spaced(n: u64) -> String {
    grouped(n, ' ')
}

fn grouped(n: u64, sep: char) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(sep);
        }
        out.push(c);
    }
    out
}

/// The Bundesagentur's cell: `*` below 3 (but not 0), else `1.234`.
fn ba_cell(n: u64) -> String {
    if (1..3).contains(&n) {
        "*".into()
    } else {
        grouped(n, '.')
    }
}

fn cp1252(s: &str) -> Vec<u8> {
    encoding_rs::WINDOWS_1252.encode(s).0.into_owned()
}

// ------------------------------------------------------------------------------------------------
// Shapefile writer (polygons, character fields): the format is simple enough to write directly.

fn be32(v: &mut Vec<u8>, x: i32) {
    v.extend_from_slice(&x.to_be_bytes());
}
fn le32(v: &mut Vec<u8>, x: i32) {
    v.extend_from_slice(&x.to_le_bytes());
}
fn lef(v: &mut Vec<u8>, x: f64) {
    v.extend_from_slice(&x.to_le_bytes());
}

fn shp_header(v: &mut Vec<u8>, words: i32, bbox: [f64; 4]) {
    be32(v, 9994);
    for _ in 0..5 {
        be32(v, 0);
    }
    be32(v, words);
    le32(v, 1000);
    le32(v, 5); // Polygon
    for b in bbox {
        lef(v, b);
    }
    for _ in 0..4 {
        lef(v, 0.0);
    }
}

fn bbox_of<'a>(pts: impl Iterator<Item = &'a P>) -> [f64; 4] {
    pts.fold(
        [
            f64::INFINITY,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NEG_INFINITY,
        ],
        |b, p| {
            [
                b[0].min(p[0]),
                b[1].min(p[1]),
                b[2].max(p[0]),
                b[3].max(p[1]),
            ]
        },
    )
}

/// `.shp` and `.shx` of single-ring polygons (rings clockwise, as the ESRI format wants outer
/// rings).
fn shp_shx(rings: &[Vec<P>]) -> (Vec<u8>, Vec<u8>) {
    let all = bbox_of(rings.iter().flatten());
    let mut records = Vec::new();
    let mut index = Vec::new();
    let mut offset_words = 50i32;
    for (i, ring) in rings.iter().enumerate() {
        let mut cw = ring.clone();
        if ring_area(&cw) > 0.0 {
            cw.reverse();
        }
        let mut c = Vec::new();
        le32(&mut c, 5);
        for b in bbox_of(cw.iter()) {
            lef(&mut c, b);
        }
        le32(&mut c, 1);
        le32(&mut c, cw.len() as i32);
        le32(&mut c, 0);
        for p in &cw {
            lef(&mut c, p[0]);
            lef(&mut c, p[1]);
        }
        let words = (c.len() / 2) as i32;
        be32(&mut records, i as i32 + 1);
        be32(&mut records, words);
        records.extend(c);
        be32(&mut index, offset_words);
        be32(&mut index, words);
        offset_words += 4 + words;
    }
    let mut shp = Vec::new();
    shp_header(&mut shp, 50 + (records.len() / 2) as i32, all);
    shp.extend(records);
    let mut shx = Vec::new();
    shp_header(&mut shx, 50 + (index.len() / 2) as i32, all);
    shx.extend(index);
    (shp, shx)
}

/// A dBase III table of character fields in Windows-1252 (language driver 0x57).
fn dbf(fields: &[(&str, usize)], rows: &[Vec<String>]) -> Vec<u8> {
    let mut v = Vec::new();
    v.push(0x03);
    v.extend_from_slice(&[124, 12, 31]); // 2024-12-31: fixed, so the file is reproducible
    v.extend_from_slice(&(rows.len() as u32).to_le_bytes());
    let header_len = 32 + 32 * fields.len() + 1;
    let record_len = 1 + fields.iter().map(|f| f.1).sum::<usize>();
    v.extend_from_slice(&(header_len as u16).to_le_bytes());
    v.extend_from_slice(&(record_len as u16).to_le_bytes());
    v.extend_from_slice(&[0; 17]);
    v.push(0x57);
    v.extend_from_slice(&[0; 2]);
    for (name, len) in fields {
        let mut n = name.as_bytes().to_vec();
        n.resize(11, 0);
        v.extend(n);
        v.push(b'C');
        v.extend_from_slice(&[0; 4]);
        v.push(*len as u8);
        v.push(0);
        v.extend_from_slice(&[0; 14]);
    }
    v.push(0x0D);
    for r in rows {
        v.push(b' ');
        for ((_, len), val) in fields.iter().zip(r) {
            let mut b = cp1252(val);
            b.truncate(*len);
            b.resize(*len, b' ');
            v.extend(b);
        }
    }
    v.push(0x1A);
    v
}

/// The ESRI `.prj` of ETRS89 / UTM zone 32N, as ArcGIS writes it.
const PRJ: &str = r#"PROJCS["ETRS_1989_UTM_Zone_32N",GEOGCS["GCS_ETRS_1989",DATUM["D_ETRS_1989",SPHEROID["GRS_1980",6378137.0,298.257222101]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]],PROJECTION["Transverse_Mercator"],PARAMETER["False_Easting",500000.0],PARAMETER["False_Northing",0.0],PARAMETER["Central_Meridian",9.0],PARAMETER["Scale_Factor",0.9996],PARAMETER["Latitude_Of_Origin",0.0],UNIT["Meter",1.0]]"#;

fn geojson(name: &str, features: &[String]) -> String {
    format!(
        "{{\n\"type\": \"FeatureCollection\",\n\"name\": {},\n\"crs\": {{ \"type\": \"name\", \"properties\": {{ \"name\": \"urn:ogc:def:crs:EPSG::25832\" }} }},\n\"features\": [\n{}\n]\n}}\n",
        json_str(name),
        features.join(",\n")
    )
}

/// Every file of the Kreis: (name, bytes), in a fixed order.
pub fn files(k: &Kreis) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let rings: Vec<Vec<P>> = k.gemeinden.iter().map(|g| g.ring.clone()).collect();
    let (shp, shx) = shp_shx(&rings);
    out.push(("gemeinden.shp".into(), shp));
    out.push(("gemeinden.shx".into(), shx));
    let rows: Vec<Vec<String>> = k
        .gemeinden
        .iter()
        .map(|g| vec![g.ags.clone(), g.name.clone(), g.typ.clone(), g.pr.clone()])
        .collect();
    out.push((
        "gemeinden.dbf".into(),
        dbf(&[("AGS", 8), ("GEN", 40), ("BEZ", 10), ("PR_ID", 3)], &rows),
    ));
    out.push(("gemeinden.prj".into(), PRJ.as_bytes().to_vec()));

    let prs: Vec<String> = k
        .planregionen
        .iter()
        .map(|(id, name, ring)| {
            let coords: Vec<String> = ring
                .iter()
                .map(|p| format!("[{}, {}]", fmt_coord(p[0]), fmt_coord(p[1])))
                .collect();
            format!(
                "{{ \"type\": \"Feature\", \"properties\": {{ \"pr_id\": {}, \"pr_name\": {} }}, \"geometry\": {{ \"type\": \"Polygon\", \"coordinates\": [ [ {} ] ] }} }}",
                json_str(id),
                json_str(name),
                coords.join(", ")
            )
        })
        .collect();
    out.push((
        "planregionen.geojson".into(),
        geojson("planregionen", &prs).into_bytes(),
    ));

    // Population: the Landesamt's long export.
    let mut pop = String::from("Gemeindeschlüssel;Gemeinde;Stichtag;Merkmal;Anzahl\r\n");
    for (t, year) in YEARS.enumerate() {
        let mut kreis = Counts::default();
        let mut rows: Vec<(String, String, Counts)> = Vec::new();
        for g in &k.gemeinden {
            let c = g.counts[t];
            for a in 0..8 {
                kreis.ages[a] += c.ages[a];
            }
            kreis.foreigners += c.foreigners;
            rows.push((g.ags.clone(), g.name.clone(), c));
        }
        rows.push((KREIS_AGS.into(), KREIS_NAME.into(), kreis));
        for (ags, name, c) in rows {
            let mut line = |merkmal: &str, n: u64| {
                let _ = write!(pop, "{ags};{name};31.12.{year};{merkmal};{}\r\n", spaced(n));
            };
            line("Insgesamt", c.residents());
            for (a, (_, text)) in AGE_GROUPS.iter().enumerate() {
                line(text, c.ages[a]);
            }
            line("unter 15 Jahre", c.under_15());
            line("15 bis unter 65 Jahre", c.age_15_65());
            line("Ausländer/-innen", c.foreigners);
        }
    }
    out.push(("bevoelkerung_2014-2024.csv".into(), cp1252(&pop)));

    // SGB II: the Bundesagentur's wide sheet.
    let mut ba = String::from("\u{feff}Gemeinde");
    for m in ["eLb", "Kinder u15 in BG"] {
        for year in YEARS {
            let _ = write!(ba, ";{m} 12/{year}");
        }
    }
    ba.push_str("\r\n");
    let mut kreis = vec![(0u64, 0u64); YEARS.count()];
    for g in &k.gemeinden {
        ba.push_str(&g.ba_name);
        for (k, c) in kreis.iter_mut().zip(&g.counts) {
            k.0 += c.elb;
            let _ = write!(ba, ";{}", ba_cell(c.elb));
        }
        for (k, c) in kreis.iter_mut().zip(&g.counts) {
            k.1 += c.kinder_sgb2;
            let _ = write!(ba, ";{}", ba_cell(c.kinder_sgb2));
        }
        ba.push_str("\r\n");
    }
    ba.push_str(KREIS_NAME);
    for (e, _) in &kreis {
        let _ = write!(ba, ";{}", ba_cell(*e));
    }
    for (_, c) in &kreis {
        let _ = write!(ba, ";{}", ba_cell(*c));
    }
    ba.push_str("\r\n");
    out.push(("sgb2_bundesagentur.csv".into(), ba.into_bytes()));

    let mut map = String::from("Name in der BA-Datei;AGS\n");
    for g in k.gemeinden.iter().filter(|g| g.ba_name != g.name) {
        let _ = writeln!(map, "{};{}", g.ba_name, g.ags);
    }
    out.push(("ba_gemeinden_zuordnung.csv".into(), map.into_bytes()));

    let kitas: Vec<String> = k
        .kitas
        .iter()
        .map(|kt| {
            format!(
                "{{ \"type\": \"Feature\", \"properties\": {{ \"kita_nr\": {}, \"name\": {}, \"traeger\": {}, \"plaetze\": {} }}, \"geometry\": {{ \"type\": \"Point\", \"coordinates\": [{}, {}] }} }}",
                json_str(&kt.nr),
                json_str(&kt.name),
                json_str(&kt.traeger),
                kt.plaetze,
                fmt_coord(kt.at[0]),
                fmt_coord(kt.at[1])
            )
        })
        .collect();
    out.push((
        "kitas.geojson".into(),
        geojson("kitas", &kitas).into_bytes(),
    ));
    out.push(("README.md".into(), readme(k).into_bytes()));
    out
}

fn readme(k: &Kreis) -> String {
    let mut s = String::from(
        "# Landkreis Musterland — the second demo (generated, do not edit)\n\n\
         Written by `kleinraum generate-demo --kreis --out data/kreis` (deterministic); configured by\n\
         `data/kreis.toml`. Every name, boundary and number is invented.\n\n\
         What a Kreis receives instead of address-level register data:\n\n\
         | file | what | quirks |\n|---|---|---|\n\
         | `gemeinden.shp` (`.shx`, `.dbf`, `.prj`) | 19 Gemeinden and Ämter (AGS, GEN, BEZ, PR_ID) | DBF in Windows-1252 without `.cpg`; ESRI `.prj` |\n\
         | `planregionen.geojson` | the 4 Planregionen | EPSG:25832 |\n\
         | `bevoelkerung_2014-2024.csv` | residents by age group, 31.12.2014–2024, long (Gemeinde × Stichtag × Merkmal) | `;`, Windows-1252, `12 345`, a row for the whole Kreis |\n\
         | `sgb2_bundesagentur.csv` | eLb and children under 15 in Bedarfsgemeinschaften, wide (a column per December) | keyed by name (`Kirchhusen, Stadt`), `1.234`, `*` below 3 |\n\
         | `ba_gemeinden_zuordnung.csv` | the Bundesagentur's names → AGS | |\n\
         | `kitas.geojson` | Kitas with places | |\n\n\
         | AGS | Gemeinde | Planregion | residents 2014 | residents 2024 |\n|---|---|---|---:|---:|\n",
    );
    for g in &k.gemeinden {
        let _ = writeln!(
            s,
            "| {} | {} ({}) | {} | {} | {} |",
            g.ags,
            g.name,
            g.typ,
            g.pr,
            g.counts[0].residents(),
            g.counts.last().map_or(0, Counts::residents)
        );
    }
    let total: u64 = k
        .gemeinden
        .iter()
        .filter_map(|g| g.counts.last())
        .map(Counts::residents)
        .sum();
    let _ = writeln!(
        s,
        "\nResidents on 31.12.2024: {total}; {} Kitas with {} places.",
        k.kitas.len(),
        k.kitas.iter().map(|k| u64::from(k.plaetze)).sum::<u64>()
    );
    s
}

/// Writes `out/*` and the configuration `out/../kreis.toml`.
pub fn generate(out: &Path) -> Result<()> {
    let k = build()?;
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    for (name, bytes) in files(&k) {
        let p = out.join(&name);
        std::fs::write(&p, bytes).with_context(|| format!("writing {}", p.display()))?;
    }
    let dir = out
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "kreis".into());
    let toml_path = out.parent().unwrap_or(Path::new(".")).join("kreis.toml");
    std::fs::write(&toml_path, config(&dir))
        .with_context(|| format!("writing {}", toml_path.display()))?;
    println!(
        "wrote the Landkreis Musterland to {} and {}",
        out.display(),
        toml_path.display()
    );
    Ok(())
}

/// The configuration of the Kreis demo, with `dir` the data folder beside it.
pub fn config(dir: &str) -> String {
    KREIS_TOML.replace("{dir}", dir)
}

const KREIS_TOML: &str = include_str!("kreis.toml.in");
