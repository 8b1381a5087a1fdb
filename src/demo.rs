//! `kleinraum generate-demo`: the synthetic demo municipality "Musterstadt".
//!
//! A plausible mid-sized German town in EPSG:25832: 30 Sozialräume in 6 Stadtteile, ~40,000
//! address points with residents by age group and SGB II counts for 2020–2024, and Kitas,
//! schools, youth centres and care homes. Everything is invented; nothing describes real people.
//!
//! Deterministic: every random draw comes from a splitmix64 stream keyed by what it is for
//! (an edge, an address and year, a facility), so the output depends only on this code — two
//! runs give byte-identical files, and changing one part does not reshuffle all the others.
//!
//! Geometry: a jittered 6 × 6 lattice with six corner cells dropped (an irregular outline). Each
//! lattice edge is subdivided by midpoint displacement seeded by the edge itself and then shared by
//! both neighbouring cells, so neighbours have identical vertices: a gap-free, overlap-free
//! partition. Coordinates are rounded to centimetres before anything is derived from them.

use anyhow::{Context, Result, bail};
use std::collections::{BTreeMap, BTreeSet};
use std::f64::consts::TAU;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;

/// Years with resident counts (31.12. of each year).
pub const YEARS: [i32; 5] = [2020, 2021, 2022, 2023, 2024];

/// Count columns of `bestand_YYYY.csv.gz`, after `addr_id`. The eight age groups sum to
/// `residents`; `age_under_15` and `age_15_65` are the MSS denominators, derived from them.
pub const COLUMNS: [&str; 15] = [
    "residents",
    "age_below_6",
    "age_6_15",
    "age_15_18",
    "age_18_27",
    "age_27_45",
    "age_45_55",
    "age_55_65",
    "age_above_65",
    "foreigners",
    "age_under_15",
    "age_15_65",
    "unemployed_sgb2",
    "transfer_recipients",
    "children_under_15_sgb2",
];

const C_RES: usize = 0;
const C_AGE: usize = 1; // 8 age groups at 1..=8
const C_FOREIGN: usize = 9;
const C_U15: usize = 10;
const C_15_65: usize = 11;
const C_UNEMP: usize = 12;
const C_TRANSFER: usize = 13;
const C_CHILD_SGB2: usize = 14;

const SEED: u64 = 0x4B4C_4549_4E52_4155; // "KLEINRAU"
const EPSG: u32 = 25832;
/// South-west corner of the lattice (ETRS89 / UTM 32N, roughly central Germany).
const X0: f64 = 435_000.0;
const Y0: f64 = 5_745_000.0;
/// Lattice cell size in metres.
const CELL: f64 = 1_600.0;
const COLS: usize = 6;
const ROWS: usize = 6;
/// Lattice vertices move by up to this share of a cell.
const JITTER: f64 = 0.2;
/// Midpoint displacement per level, as a share of the segment length (inner / outer edges).
const ROUGH_INNER: f64 = 0.14;
const ROUGH_OUTER: f64 = 0.18;
const SUBDIVISIONS: usize = 3;
/// Points keep this distance (m) from their area's border, so that rounding and the border rule
/// never decide where a demo point belongs.
const MARGIN: f64 = 3.0;

// ------------------------------------------------------------------------------------------------
// Random numbers

/// splitmix64: tiny, fast, good enough for synthetic data, and stable across versions.
#[derive(Clone)]
pub(crate) struct Rng(u64);

fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl Rng {
    /// A stream keyed by what it is used for, independent of every other stream.
    fn keyed(parts: &[u64]) -> Rng {
        Self::keyed_with(SEED, parts)
    }
    /// A stream keyed by `parts` under another generator's seed (the Kreis demo).
    pub(crate) fn keyed_with(seed: u64, parts: &[u64]) -> Rng {
        let mut h = seed;
        for p in parts {
            h = mix(h ^ mix(p.wrapping_add(0x9E37_79B9_7F4A_7C15)));
        }
        Rng(h)
    }
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        mix(self.0)
    }
    /// Uniform in [0, 1).
    pub(crate) fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    pub(crate) fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unit()
    }
    /// Uniform in [-1, 1).
    pub(crate) fn sym(&mut self) -> f64 {
        self.uniform(-1.0, 1.0)
    }
    /// Standard normal (Box–Muller).
    pub(crate) fn normal(&mut self) -> f64 {
        let u1 = 1.0 - self.unit();
        let u2 = self.unit();
        (-2.0 * u1.ln()).sqrt() * (TAU * u2).cos()
    }
    pub(crate) fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
    pub(crate) fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }
}

// Stream purposes, so that keys of different kinds never collide.
const K_VERTEX: u64 = 1;
const K_EDGE: u64 = 2;
const K_CLUSTER: u64 = 3;
const K_POINT: u64 = 4;
const K_STREET: u64 = 5;
const K_HOUSEHOLD: u64 = 6;
const K_YEAR: u64 = 7;
const K_FACILITY: u64 = 8;
const K_NAMES: u64 = 9;

// ------------------------------------------------------------------------------------------------
// The town: Stadtteile, Sozialräume and what kind of place each one is

/// Stadtteile: id and name.
const STADTTEILE: [(&str, &str); 6] = [
    ("01", "Mitte"),
    ("02", "Nordstadt"),
    ("03", "Oststadt"),
    ("04", "Südstadt"),
    ("05", "Weststadt"),
    ("06", "Südost"),
];

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    Altstadt,
    Innenstadt,
    Gruenderzeit,
    Grosswohnsiedlung,
    Einfamilienhaus,
    Neubau,
    Dorf,
    Gewerbe,
    Wald,
}

/// What a kind of quarter looks like. Rates are for 2020 and an average address.
struct KindParams {
    /// Mean residents per inhabited address.
    per_address: f64,
    /// Share of addresses without residents (shops, offices, workshops).
    vacant: f64,
    /// Number of settlement clusters (0: spread over the whole area).
    clusters: usize,
    /// Spread of a cluster in m.
    sigma: f64,
    /// Distance between parallel streets in m.
    street_width: f64,
    /// Age profile: below 6, 6–15, 15–18, 18–27, 27–45, 45–55, 55–65, 65+.
    ages: [f64; 8],
    /// Yearly shift of the profile from 27–45 to 65+ (ageing suburbs).
    ageing: f64,
    /// Yearly shift from 27–45 to 6–15 (young families' children growing up).
    schooling: f64,
    /// Share of foreigners.
    foreigners: f64,
    /// Unemployed (SGB II) per resident 15–65 (MSS S1).
    s1: f64,
    /// Non-unemployed transfer recipients per resident (MSS S3).
    s3: f64,
    /// Children under 15 in SGB II households per child under 15 (MSS S4).
    s4: f64,
    /// Yearly change of residents per address.
    growth: f64,
}

fn params(kind: Kind) -> KindParams {
    use Kind::*;
    let base = KindParams {
        per_address: 2.4,
        vacant: 0.03,
        clusters: 7,
        sigma: 260.0,
        street_width: 110.0,
        ages: [0.045, 0.090, 0.035, 0.080, 0.200, 0.160, 0.170, 0.220],
        ageing: 0.004,
        schooling: 0.0,
        foreigners: 0.06,
        s1: 0.015,
        s3: 0.025,
        s4: 0.05,
        growth: -0.003,
    };
    match kind {
        Altstadt => KindParams {
            per_address: 5.5,
            vacant: 0.18,
            clusters: 0,
            street_width: 70.0,
            ages: [0.045, 0.060, 0.025, 0.200, 0.320, 0.120, 0.100, 0.130],
            ageing: 0.0,
            foreigners: 0.18,
            s1: 0.045,
            s3: 0.065,
            s4: 0.16,
            growth: 0.004,
            ..base
        },
        Innenstadt => KindParams {
            per_address: 6.5,
            vacant: 0.15,
            clusters: 0,
            street_width: 80.0,
            ages: [0.050, 0.065, 0.026, 0.180, 0.310, 0.125, 0.105, 0.139],
            ageing: 0.0,
            foreigners: 0.22,
            s1: 0.05,
            s3: 0.07,
            s4: 0.18,
            growth: 0.004,
            ..base
        },
        Gruenderzeit => KindParams {
            per_address: 4.5,
            vacant: 0.08,
            clusters: 12,
            sigma: 240.0,
            street_width: 90.0,
            ages: [0.055, 0.075, 0.028, 0.150, 0.300, 0.130, 0.110, 0.152],
            ageing: 0.001,
            foreigners: 0.15,
            s1: 0.04,
            s3: 0.06,
            s4: 0.14,
            growth: 0.003,
            ..base
        },
        Grosswohnsiedlung => KindParams {
            per_address: 24.0,
            vacant: 0.02,
            clusters: 3,
            sigma: 140.0,
            street_width: 120.0,
            ages: [0.080, 0.115, 0.040, 0.130, 0.250, 0.120, 0.110, 0.155],
            ageing: 0.002,
            foreigners: 0.32,
            s1: 0.11,
            s3: 0.15,
            s4: 0.40,
            growth: 0.006,
            ..base
        },
        Einfamilienhaus => base,
        Neubau => KindParams {
            per_address: 3.2,
            vacant: 0.02,
            clusters: 3,
            sigma: 220.0,
            street_width: 80.0,
            ages: [0.120, 0.140, 0.030, 0.060, 0.400, 0.120, 0.060, 0.070],
            ageing: 0.0,
            schooling: 0.006,
            foreigners: 0.10,
            s1: 0.012,
            s3: 0.02,
            s4: 0.04,
            growth: 0.0,
        },
        Dorf => KindParams {
            per_address: 2.5,
            vacant: 0.05,
            clusters: 2,
            sigma: 170.0,
            street_width: 90.0,
            ages: [0.045, 0.085, 0.033, 0.090, 0.200, 0.160, 0.170, 0.217],
            ageing: 0.005,
            foreigners: 0.04,
            growth: -0.005,
            ..base
        },
        Gewerbe => KindParams {
            per_address: 3.0,
            vacant: 0.75,
            clusters: 3,
            sigma: 220.0,
            street_width: 150.0,
            ages: [0.040, 0.060, 0.020, 0.200, 0.350, 0.130, 0.100, 0.100],
            ageing: 0.0,
            foreigners: 0.25,
            s1: 0.06,
            s3: 0.08,
            s4: 0.20,
            growth: 0.0,
            ..base
        },
        Wald => KindParams {
            per_address: 2.5,
            vacant: 0.3,
            clusters: 1,
            sigma: 120.0,
            street_width: 200.0,
            foreigners: 0.0,
            s1: 0.0,
            s3: 0.0,
            s4: 0.0,
            growth: 0.0,
            ..base
        },
    }
}

/// One Sozialraum as designed: lattice cell, Stadtteil, character.
struct Spec {
    col: usize,
    row: usize,
    /// Index into [`STADTTEILE`].
    st: usize,
    name: &'static str,
    kind: Kind,
    addresses: usize,
    /// Multiplier on the kind's SGB II rates (> 1: a disadvantaged quarter).
    social: f64,
    /// Yearly relative change of the SGB II rates (> 0: getting worse).
    trend: f64,
    /// Kita places per child under 6 this quarter gets (undersupplied quarters are lower).
    kita_cover: f64,
}

#[expect(
    clippy::too_many_arguments,
    reason = "one argument per column keeps the SPECS table readable"
)]
const fn sr(
    col: usize,
    row: usize,
    st: usize,
    name: &'static str,
    kind: Kind,
    addresses: usize,
    social: f64,
    trend: f64,
    kita_cover: f64,
) -> Spec {
    Spec {
        col,
        row,
        st,
        name,
        kind,
        addresses,
        social,
        trend,
        kita_cover,
    }
}

use Kind::*;
/// The 30 Sozialräume, Stadtteil by Stadtteil (their ids follow this order).
/// Lattice: col 0 = west, row 0 = south; cells not listed lie outside the town.
const SPECS: [Spec; 30] = [
    // 01 Mitte
    sr(2, 3, 0, "Altstadt", Altstadt, 1300, 1.0, 0.0, 0.70),
    sr(3, 3, 0, "Marktviertel", Innenstadt, 1500, 1.0, 0.0, 0.70),
    sr(
        2,
        2,
        0,
        "Bahnhofsviertel",
        Innenstadt,
        1400,
        1.9,
        0.03,
        0.55,
    ),
    sr(3, 2, 0, "Am Mühlbach", Innenstadt, 1500, 0.8, -0.02, 0.75),
    // 02 Nordstadt
    sr(2, 4, 1, "Nordviertel", Gruenderzeit, 1600, 1.0, 0.0, 0.68),
    sr(
        1,
        4,
        1,
        "Schlossberg",
        Einfamilienhaus,
        2050,
        0.6,
        0.0,
        0.72,
    ),
    sr(1, 5, 1, "Birkenhain", Einfamilienhaus, 1850, 1.0, 0.0, 0.68),
    sr(
        2,
        5,
        1,
        "Lerchenfeld",
        Einfamilienhaus,
        1950,
        1.0,
        0.01,
        0.66,
    ),
    sr(3, 5, 1, "Gewerbegebiet Nord", Gewerbe, 270, 1.0, 0.0, 0.0),
    // 03 Oststadt
    sr(3, 4, 2, "Ostviertel", Gruenderzeit, 1600, 1.2, 0.02, 0.65),
    sr(4, 4, 2, "Rosenhöhe", Einfamilienhaus, 2050, 0.9, 0.0, 0.70),
    sr(4, 5, 2, "Ebersdorf", Dorf, 700, 1.0, 0.0, 0.75),
    sr(
        4,
        3,
        2,
        "Sonnenhügel",
        Grosswohnsiedlung,
        320,
        1.2,
        -0.12,
        0.45,
    ),
    sr(5, 3, 2, "Am Stadtwald", Wald, 14, 0.0, 0.0, 0.0),
    // 04 Südstadt
    sr(1, 1, 3, "Lindenhof", Einfamilienhaus, 2050, 0.8, 0.0, 0.70),
    sr(2, 1, 3, "Südviertel", Gruenderzeit, 1700, 1.4, 0.03, 0.60),
    sr(
        3,
        1,
        3,
        "Am Wasserturm",
        Einfamilienhaus,
        1950,
        1.0,
        0.0,
        0.68,
    ),
    sr(1, 0, 3, "Kleinhausen", Dorf, 650, 1.0, 0.0, 0.75),
    sr(2, 0, 3, "Wiesengrund", Neubau, 1300, 1.0, 0.0, 0.35),
    sr(
        3,
        0,
        3,
        "Gartenstadt",
        Einfamilienhaus,
        2150,
        0.9,
        0.0,
        0.70,
    ),
    // 05 Weststadt
    sr(0, 4, 4, "Westerholz", Dorf, 600, 1.0, 0.0, 0.75),
    sr(0, 3, 4, "Hochfeld", Grosswohnsiedlung, 300, 0.9, 0.02, 0.50),
    sr(
        1,
        3,
        4,
        "Kreuzviertel",
        Gruenderzeit,
        1600,
        0.8,
        -0.01,
        0.70,
    ),
    sr(0, 2, 4, "Weidenau", Einfamilienhaus, 1950, 1.0, 0.0, 0.68),
    sr(
        1,
        2,
        4,
        "Brunnenviertel",
        Gruenderzeit,
        1600,
        2.0,
        0.07,
        0.55,
    ),
    // 06 Südost
    sr(
        4,
        2,
        5,
        "Fabrikviertel",
        Gruenderzeit,
        1400,
        1.5,
        0.05,
        0.60,
    ),
    sr(5, 2, 5, "Auwiesen", Einfamilienhaus, 1850, 1.0, 0.0, 0.68),
    sr(
        4,
        1,
        5,
        "Brückenfeld",
        Einfamilienhaus,
        1950,
        1.1,
        0.01,
        0.66,
    ),
    sr(5, 1, 5, "Hülsbeck", Dorf, 650, 1.0, 0.0, 0.75),
    sr(4, 0, 5, "Gewerbepark Süd", Gewerbe, 230, 1.0, 0.0, 0.0),
];

/// Nationwide swings of SGB II, 2020–2024 (Covid, then refugees from Ukraine from mid-2022).
const SGB2_YEAR: [f64; 5] = [1.0, 0.97, 0.94, 1.03, 1.07];

// ------------------------------------------------------------------------------------------------
// The generated town

/// A point in EPSG:25832, metres.
pub(crate) type P = [f64; 2];

/// A Sozialraum or Stadtteil with its boundary (one closed ring, counter-clockwise).
#[derive(Debug, Clone)]
pub struct DemoArea {
    /// Id as text (`"0101"`, `"01"`).
    pub id: String,
    /// German name.
    pub name: String,
    /// Stadtteil id (for Sozialräume) or empty.
    pub parent: String,
    /// Exterior ring, closed (first == last), counter-clockwise.
    pub ring: Vec<P>,
}

/// One address.
#[derive(Debug, Clone)]
pub struct DemoAddress {
    /// `addr_id`, six digits with leading zeros.
    pub id: String,
    /// Street name.
    pub street: String,
    /// House number with optional letter (`12a`).
    pub number: String,
    /// Easting, rounded to cm.
    pub x: f64,
    /// Northing, rounded to cm.
    pub y: f64,
    /// Index of the Sozialraum the point was drawn in.
    pub area: usize,
}

/// A facility point.
#[derive(Debug, Clone)]
pub struct DemoFacility {
    /// Properties in output order (the first is the id, the second the name).
    pub props: Vec<(&'static str, serde_json::Value)>,
    /// Easting.
    pub x: f64,
    /// Northing.
    pub y: f64,
    /// Index of the Sozialraum it lies in.
    pub area: usize,
}

/// The whole demo town, in memory.
#[derive(Debug, Clone)]
pub struct Demo {
    /// The 30 Sozialräume.
    pub sozialraeume: Vec<DemoArea>,
    /// The 6 Stadtteile (unions of their Sozialräume).
    pub stadtteile: Vec<DemoArea>,
    /// Address points.
    pub addresses: Vec<DemoAddress>,
    /// Per year: (address index, counts in [`COLUMNS`] order) for every address with residents.
    pub counts: BTreeMap<i32, Vec<(usize, [u32; 15])>>,
    /// Facility layers: file stem (`kitas`) and facilities.
    pub facilities: Vec<(&'static str, Vec<DemoFacility>)>,
}

pub(crate) fn round_cm(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

/// Builds the town in memory. Pure and deterministic.
pub fn build() -> Result<Demo> {
    let sozialraeume = build_areas();
    let stadtteile = build_stadtteile(&sozialraeume)?;
    let addresses = build_addresses(&sozialraeume)?;
    let counts = build_counts(&addresses);
    let facilities = build_facilities(&sozialraeume, &addresses, &counts)?;
    Ok(Demo {
        sozialraeume,
        stadtteile,
        addresses,
        counts,
        facilities,
    })
}

/// Writes all files of the demo into `out` (created if missing) and prints a summary.
pub fn generate(out: &Path) -> Result<()> {
    let demo = build()?;
    write(&demo, out)?;
    let s = summary(&demo);
    println!(
        "wrote the demo municipality Musterstadt to {}",
        out.display()
    );
    print!("{s}");
    Ok(())
}

// ------------------------------------------------------------------------------------------------
// Geometry

fn kept(col: usize, row: usize) -> bool {
    SPECS.iter().any(|s| s.col == col && s.row == row)
}

fn lattice_vertex(i: usize, j: usize) -> P {
    let mut rng = Rng::keyed(&[K_VERTEX, i as u64, j as u64]);
    let jx = rng.sym() * JITTER * CELL;
    let jy = rng.sym() * JITTER * CELL;
    [
        round_cm(X0 + i as f64 * CELL + jx),
        round_cm(Y0 + j as f64 * CELL + jy),
    ]
}

fn vid(i: usize, j: usize) -> usize {
    i * (ROWS + 1) + j
}

/// The polyline of a lattice edge from the lower to the higher vertex id, both ends included.
fn edge_polyline(a: (usize, usize), b: (usize, usize), outer: bool) -> Vec<P> {
    let (lo, hi) = if vid(a.0, a.1) < vid(b.0, b.1) {
        (a, b)
    } else {
        (b, a)
    };
    let mut rng = Rng::keyed(&[K_EDGE, vid(lo.0, lo.1) as u64, vid(hi.0, hi.1) as u64]);
    let rough = if outer { ROUGH_OUTER } else { ROUGH_INNER };
    let mut pts = vec![lattice_vertex(lo.0, lo.1), lattice_vertex(hi.0, hi.1)];
    for _ in 0..SUBDIVISIONS {
        let mut next = vec![pts[0]];
        for w in pts.windows(2) {
            let (p, q) = (w[0], w[1]);
            let (dx, dy) = (q[0] - p[0], q[1] - p[1]);
            let len = (dx * dx + dy * dy).sqrt();
            let off = rng.sym() * rough * len;
            let m = [
                (p[0] + q[0]) / 2.0 - dy / len * off,
                (p[1] + q[1]) / 2.0 + dx / len * off,
            ];
            next.push([round_cm(m[0]), round_cm(m[1])]);
            next.push(q);
        }
        pts = next;
    }
    pts
}

/// Number of town cells that use the lattice edge between the two vertices.
fn edge_users(a: (usize, usize), b: (usize, usize)) -> usize {
    let cells: Vec<(usize, usize)> = if a.1 == b.1 {
        // horizontal edge: the cells below and above
        let i = a.0.min(b.0);
        let mut v = vec![(i, a.1)];
        if a.1 > 0 {
            v.push((i, a.1 - 1));
        }
        v
    } else {
        let j = a.1.min(b.1);
        let mut v = vec![(a.0, j)];
        if a.0 > 0 {
            v.push((a.0 - 1, j));
        }
        v
    };
    cells
        .into_iter()
        .filter(|&(c, r)| c < COLS && r < ROWS && kept(c, r))
        .count()
}

fn cell_ring(col: usize, row: usize) -> Vec<P> {
    let corners = [
        (col, row),
        (col + 1, row),
        (col + 1, row + 1),
        (col, row + 1),
    ];
    let mut ring = Vec::new();
    for k in 0..4 {
        let (a, b) = (corners[k], corners[(k + 1) % 4]);
        let mut line = edge_polyline(a, b, edge_users(a, b) == 1);
        if vid(a.0, a.1) > vid(b.0, b.1) {
            line.reverse();
        }
        line.pop(); // the next edge starts there
        ring.extend(line);
    }
    ring.push(ring[0]);
    ring
}

fn build_areas() -> Vec<DemoArea> {
    let mut per_st = [0usize; 6];
    SPECS
        .iter()
        .map(|s| {
            per_st[s.st] += 1;
            DemoArea {
                id: format!("{}{:02}", STADTTEILE[s.st].0, per_st[s.st]),
                name: s.name.to_string(),
                parent: STADTTEILE[s.st].0.to_string(),
                ring: cell_ring(s.col, s.row),
            }
        })
        .collect()
}

fn vkey(p: P) -> (i64, i64) {
    ((p[0] * 100.0).round() as i64, (p[1] * 100.0).round() as i64)
}

/// The outline of a union of rings that share edges exactly: every directed segment whose reverse
/// is not present lies on the outline; chained, they form one closed counter-clockwise ring.
pub fn union_ring(rings: &[&[P]]) -> Result<Vec<P>> {
    let mut segs: BTreeSet<((i64, i64), (i64, i64))> = BTreeSet::new();
    let mut coords: BTreeMap<(i64, i64), P> = BTreeMap::new();
    for ring in rings {
        for w in ring.windows(2) {
            let (a, b) = (vkey(w[0]), vkey(w[1]));
            coords.insert(a, w[0]);
            segs.insert((a, b));
        }
    }
    let mut next: BTreeMap<(i64, i64), (i64, i64)> = BTreeMap::new();
    for &(a, b) in &segs {
        if !segs.contains(&(b, a)) && next.insert(a, b).is_some() {
            bail!("outline touches itself at {:?}", coords[&a]);
        }
    }
    let Some((&start, _)) = next.iter().next() else {
        bail!("empty outline");
    };
    let mut ring = vec![coords[&start]];
    let mut cur = start;
    loop {
        cur = next[&cur];
        ring.push(coords[&cur]);
        if cur == start {
            break;
        }
        if ring.len() > next.len() + 1 {
            bail!("outline does not close");
        }
    }
    if ring.len() != next.len() + 1 {
        bail!(
            "outline has {} segments but {} are on the border (a hole or a second part)",
            ring.len() - 1,
            next.len()
        );
    }
    Ok(ring)
}

fn build_stadtteile(srs: &[DemoArea]) -> Result<Vec<DemoArea>> {
    STADTTEILE
        .iter()
        .map(|(id, name)| {
            let rings: Vec<&[P]> = srs
                .iter()
                .filter(|a| a.parent == *id)
                .map(|a| a.ring.as_slice())
                .collect();
            Ok(DemoArea {
                id: id.to_string(),
                name: name.to_string(),
                parent: String::new(),
                ring: union_ring(&rings).with_context(|| format!("Stadtteil {id} {name}"))?,
            })
        })
        .collect()
}

/// Signed area (shoelace), positive for counter-clockwise rings.
///
/// # Units
/// m² for rings in metres.
pub fn ring_area(ring: &[P]) -> f64 {
    ring.windows(2)
        .map(|w| w[0][0] * w[1][1] - w[1][0] * w[0][1])
        .sum::<f64>()
        / 2.0
}

/// Even-odd ray casting.
pub fn ring_contains(ring: &[P], p: P) -> bool {
    let mut inside = false;
    for w in ring.windows(2) {
        let (a, b) = (w[0], w[1]);
        if (a[1] > p[1]) != (b[1] > p[1]) {
            let x = a[0] + (p[1] - a[1]) / (b[1] - a[1]) * (b[0] - a[0]);
            if p[0] < x {
                inside = !inside;
            }
        }
    }
    inside
}

fn seg_dist(p: P, a: P, b: P) -> f64 {
    let (dx, dy) = (b[0] - a[0], b[1] - a[1]);
    let l2 = dx * dx + dy * dy;
    let t = if l2 == 0.0 {
        0.0
    } else {
        (((p[0] - a[0]) * dx + (p[1] - a[1]) * dy) / l2).clamp(0.0, 1.0)
    };
    let (qx, qy) = (a[0] + t * dx - p[0], a[1] + t * dy - p[1]);
    (qx * qx + qy * qy).sqrt()
}

/// Distance from a point to a ring's boundary, in m.
pub fn ring_boundary_dist(ring: &[P], p: P) -> f64 {
    ring.windows(2)
        .map(|w| seg_dist(p, w[0], w[1]))
        .fold(f64::INFINITY, f64::min)
}

fn bbox(ring: &[P]) -> [f64; 4] {
    ring.iter().fold(
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

/// True if the point lies inside the ring and at least `margin` m from its boundary.
fn well_inside(ring: &[P], p: P, margin: f64) -> bool {
    ring_contains(ring, p) && ring_boundary_dist(ring, p) >= margin
}

pub(crate) fn uniform_in(ring: &[P], rng: &mut Rng, margin: f64) -> Result<P> {
    let b = bbox(ring);
    for _ in 0..100_000 {
        let p = [
            round_cm(rng.uniform(b[0], b[2])),
            round_cm(rng.uniform(b[1], b[3])),
        ];
        if well_inside(ring, p, margin) {
            return Ok(p);
        }
    }
    bail!("no point found inside a ring (bbox {b:?})")
}

// ------------------------------------------------------------------------------------------------
// Addresses

const STREET_STEMS: [&str; 112] = [
    "Linden",
    "Birken",
    "Eichen",
    "Ahorn",
    "Kastanien",
    "Buchen",
    "Tannen",
    "Erlen",
    "Eschen",
    "Weiden",
    "Rosen",
    "Tulpen",
    "Nelken",
    "Flieder",
    "Holunder",
    "Goethe",
    "Schiller",
    "Lessing",
    "Heine",
    "Mozart",
    "Beethoven",
    "Bach",
    "Händel",
    "Dürer",
    "Kant",
    "Humboldt",
    "Röntgen",
    "Fröbel",
    "Kolping",
    "Luther",
    "Melanchthon",
    "Bonhoeffer",
    "Stein",
    "Hardenberg",
    "Uhland",
    "Eichendorff",
    "Mörike",
    "Fontane",
    "Storm",
    "Raabe",
    "Hebbel",
    "Brahms",
    "Schubert",
    "Haydn",
    "Telemann",
    "Wagner",
    "Gluck",
    "Kepler",
    "Gauß",
    "Leibniz",
    "Diesel",
    "Bosch",
    "Siemens",
    "Daimler",
    "Benz",
    "Zeppelin",
    "Liebig",
    "Virchow",
    "Koch",
    "Planck",
    "Einstein",
    "Hölderlin",
    "Kleist",
    "Wieland",
    "Herder",
    "Gutenberg",
    "Mühlen",
    "Mühlbach",
    "Brunnen",
    "Garten",
    "Wiesen",
    "Feld",
    "Acker",
    "Heide",
    "Moor",
    "Bach",
    "Teich",
    "See",
    "Berg",
    "Hügel",
    "Sonnen",
    "Lerchen",
    "Finken",
    "Meisen",
    "Amsel",
    "Drossel",
    "Schwalben",
    "Falken",
    "Habicht",
    "Kranich",
    "Storchen",
    "Eulen",
    "Fuchs",
    "Dachs",
    "Hasen",
    "Igel",
    "Hirsch",
    "Reh",
    "Schäfer",
    "Müller",
    "Weber",
    "Schmiede",
    "Bäcker",
    "Brauerei",
    "Ziegelei",
    "Post",
    "Schul",
    "Kirch",
    "Rathaus",
    "Markt",
    "Tor",
    "Wall",
];
const STREET_SUFFIXES: [&str; 7] = ["straße", "weg", "allee", "ring", "gasse", "pfad", "stieg"];

/// All street names of the town in a fixed shuffled order, without repeats.
fn street_names() -> Vec<String> {
    let mut seen = BTreeSet::new();
    let mut names = Vec::new();
    for stem in STREET_STEMS {
        for suf in STREET_SUFFIXES {
            let n = format!("{stem}{suf}");
            if seen.insert(n.clone()) {
                names.push(n);
            }
        }
    }
    let mut rng = Rng::keyed(&[K_NAMES]);
    for i in (1..names.len()).rev() {
        names.swap(i, rng.below(i + 1));
    }
    // Every town has these, and they belong in the centre.
    let fixed = [
        "Marktplatz",
        "Hauptstraße",
        "Bahnhofstraße",
        "Am Rathaus",
        "Kirchplatz",
    ];
    let mut out: Vec<String> = fixed.iter().map(|s| s.to_string()).collect();
    out.extend(names.into_iter().filter(|n| !fixed.contains(&n.as_str())));
    out
}

/// Draws the address points of every area and names their streets.
fn build_addresses(areas: &[DemoArea]) -> Result<Vec<DemoAddress>> {
    let mut names = street_names().into_iter();
    let mut out = Vec::new();
    for (ai, (spec, area)) in SPECS.iter().zip(areas).enumerate() {
        let kp = params(spec.kind);
        let mut rng = Rng::keyed(&[K_CLUSTER, ai as u64]);
        let centres: Vec<P> = (0..kp.clusters)
            .map(|_| uniform_in(&area.ring, &mut rng, 150.0))
            .collect::<Result<_>>()
            .with_context(|| format!("clusters of {}", spec.name))?;
        let mut pts: Vec<P> = Vec::with_capacity(spec.addresses);
        let mut prng = Rng::keyed(&[K_POINT, ai as u64]);
        while pts.len() < spec.addresses {
            let p = if centres.is_empty() {
                uniform_in(&area.ring, &mut prng, MARGIN)?
            } else {
                let c = centres[prng.below(centres.len())];
                let mut found = None;
                for _ in 0..10_000 {
                    let p = [
                        round_cm(c[0] + prng.normal() * kp.sigma),
                        round_cm(c[1] + prng.normal() * kp.sigma),
                    ];
                    if well_inside(&area.ring, p, MARGIN) {
                        found = Some(p);
                        break;
                    }
                }
                found.with_context(|| format!("no point near a cluster of {}", spec.name))?
            };
            pts.push(p);
        }
        // Streets: parallel bands across the area; long bands split into several streets.
        let mut srng = Rng::keyed(&[K_STREET, ai as u64]);
        let theta = srng.uniform(0.0, std::f64::consts::PI);
        let (ux, uy) = (theta.cos(), theta.sin());
        let mut bands: BTreeMap<i64, Vec<(f64, P)>> = BTreeMap::new();
        for p in pts {
            let across = -p[0] * uy + p[1] * ux;
            let along = p[0] * ux + p[1] * uy;
            bands
                .entry((across / kp.street_width).floor() as i64)
                .or_default()
                .push((along, p));
        }
        for (_, mut band) in bands {
            band.sort_by(|a, b| a.0.total_cmp(&b.0));
            let parts = band.len().div_ceil(120);
            let per = band.len().div_ceil(parts);
            for chunk in band.chunks(per) {
                let street = names.next().context("the demo ran out of street names")?;
                let mut number = 0u32;
                let mut letter: Option<char> = None;
                for &(_, p) in chunk {
                    if number > 0 && srng.chance(0.07) {
                        letter = Some(letter.map_or('a', |c| (c as u8 + 1) as char));
                    } else {
                        number += 1;
                        letter = None;
                    }
                    out.push(DemoAddress {
                        id: String::new(),
                        street: street.clone(),
                        number: match letter {
                            Some(c) => format!("{number}{c}"),
                            None => number.to_string(),
                        },
                        x: p[0],
                        y: p[1],
                        area: ai,
                    });
                }
            }
        }
    }
    for (i, a) in out.iter_mut().enumerate() {
        a.id = format!("{:06}", i + 1);
    }
    Ok(out)
}

// ------------------------------------------------------------------------------------------------
// Residents and SGB II counts

fn build_counts(addresses: &[DemoAddress]) -> BTreeMap<i32, Vec<(usize, [u32; 15])>> {
    let mut counts: BTreeMap<i32, Vec<(usize, [u32; 15])>> = BTreeMap::new();
    for (i, a) in addresses.iter().enumerate() {
        let spec = &SPECS[a.area];
        let kp = params(spec.kind);
        // Household features fixed over the years.
        let mut h = Rng::keyed(&[K_HOUSEHOLD, i as u64]);
        let vacant = h.chance(kp.vacant);
        let size = kp.per_address * (0.55 * h.normal() - 0.15).exp();
        let poverty = (0.6 * h.normal() - 0.18).exp();
        let foreign = (0.7 * h.normal() - 0.245).exp();
        // New-build quarter: houses are occupied year by year.
        let first_year = if spec.kind == Neubau {
            let u = h.unit();
            2020 + [0.35, 0.50, 0.70, 0.85, 1.01]
                .iter()
                .position(|&c| u < c)
                .unwrap_or(4) as i32
        } else {
            2020
        };
        for (yi, &year) in YEARS.iter().enumerate() {
            if vacant || year < first_year {
                continue;
            }
            let dy = (year - 2020) as f64;
            let mut y = Rng::keyed(&[K_YEAR, i as u64, year as u64]);
            let expected = size * (1.0 + kp.growth).powf(dy) * (1.0 + 0.06 * y.normal());
            let residents = expected.round().max(0.0) as u32;
            if residents == 0 {
                continue;
            }
            let mut ages = kp.ages;
            ages[4] -= (kp.ageing + kp.schooling) * dy;
            ages[7] += kp.ageing * dy;
            ages[1] += kp.schooling * dy;
            let p_foreign = (kp.foreigners
                * (1.0 + 0.025 * dy + if year >= 2022 { 0.08 } else { 0.0 })
                * foreign)
                .min(0.95);
            let rate = |base: f64| {
                (base * spec.social * (1.0 + spec.trend).powf(dy) * SGB2_YEAR[yi] * poverty)
                    .min(0.9)
            };
            let (p1, p3, p4) = (rate(kp.s1), rate(kp.s3), rate(kp.s4));
            let total: f64 = ages.iter().sum();
            let mut c = [0u32; 15];
            c[C_RES] = residents;
            for _ in 0..residents {
                let mut u = y.unit() * total;
                let mut g = 0;
                while g < 7 && u >= ages[g] {
                    u -= ages[g];
                    g += 1;
                }
                c[C_AGE + g] += 1;
                if y.chance(p_foreign) {
                    c[C_FOREIGN] += 1;
                }
                let unemployed = (2..=6).contains(&g) && y.chance(p1);
                if unemployed {
                    c[C_UNEMP] += 1;
                } else if y.chance(p3) {
                    c[C_TRANSFER] += 1;
                }
                if g < 2 && y.chance(p4) {
                    c[C_CHILD_SGB2] += 1;
                }
            }
            c[C_U15] = c[C_AGE] + c[C_AGE + 1];
            c[C_15_65] = (2..=6).map(|g| c[C_AGE + g]).sum();
            counts.entry(year).or_default().push((i, c));
        }
    }
    counts
}

// ------------------------------------------------------------------------------------------------
// Facilities

const KITA_NAMES: [&str; 24] = [
    "Sonnenschein",
    "Regenbogen",
    "Pusteblume",
    "Löwenzahn",
    "Märchenland",
    "Wirbelwind",
    "Schatzkiste",
    "Spatzennest",
    "Zwergenland",
    "Arche Noah",
    "Villa Kunterbunt",
    "Sternschnuppe",
    "Glühwürmchen",
    "Marienkäfer",
    "Abenteuerland",
    "Pfiffikus",
    "Traumzauberbaum",
    "Purzelbaum",
    "Kleine Strolche",
    "Blauer Elefant",
    "St. Marien",
    "St. Johannis",
    "Am Bach",
    "Rappelkiste",
];
const TRAEGER: [&str; 7] = [
    "Stadt Musterstadt",
    "AWO",
    "Caritas",
    "Diakonie",
    "DRK",
    "Elterninitiative",
    "Lebenshilfe",
];
const SCHOOL_PATRONS: [&str; 16] = [
    "Erich-Kästner",
    "Astrid-Lindgren",
    "Brüder-Grimm",
    "Anne-Frank",
    "Geschwister-Scholl",
    "Pestalozzi",
    "Janusz-Korczak",
    "Hans-Christian-Andersen",
    "Otfried-Preußler",
    "Michael-Ende",
    "Marie-Curie",
    "Albert-Schweitzer",
    "Friedrich-Fröbel",
    "Maria-Montessori",
    "Käthe-Kollwitz",
    "Wilhelm-Busch",
];
const PFLEGE_NAMES: [&str; 7] = [
    "Seniorenzentrum",
    "Haus am Park",
    "Wohnstift",
    "Altenheim St. Josef",
    "AWO-Seniorenheim",
    "Diakonie-Pflegezentrum",
    "Caritas-Altenzentrum St. Anna",
];

/// A facility location: near a random address of the area (facilities stand where people live).
fn facility_point(
    area: &DemoArea,
    ai: usize,
    addresses: &[DemoAddress],
    rng: &mut Rng,
) -> Result<P> {
    let local: Vec<&DemoAddress> = addresses.iter().filter(|a| a.area == ai).collect();
    if local.is_empty() {
        return uniform_in(&area.ring, rng, MARGIN);
    }
    for _ in 0..10_000 {
        let a = local[rng.below(local.len())];
        let p = [
            round_cm(a.x + rng.normal() * 25.0),
            round_cm(a.y + rng.normal() * 25.0),
        ];
        if well_inside(&area.ring, p, MARGIN) {
            return Ok(p);
        }
    }
    bail!("no facility location found in {}", area.name)
}

fn round5(v: f64) -> i64 {
    ((v / 5.0).round() * 5.0) as i64
}

fn build_facilities(
    areas: &[DemoArea],
    addresses: &[DemoAddress],
    counts: &BTreeMap<i32, Vec<(usize, [u32; 15])>>,
) -> Result<Vec<(&'static str, Vec<DemoFacility>)>> {
    use serde_json::Value;
    let last = counts.get(&2024).context("no counts for 2024")?;
    let mut per_area = vec![[0u64; 15]; areas.len()];
    for (i, c) in last {
        for (k, v) in c.iter().enumerate() {
            per_area[addresses[*i].area][k] += u64::from(*v);
        }
    }
    let mut kitas = Vec::new();
    let mut schulen = Vec::new();
    let mut jugend = Vec::new();
    let mut pflege = Vec::new();
    let mut kita_no = 0usize;
    let mut school_no = 0usize;
    for (ai, (spec, area)) in SPECS.iter().zip(areas).enumerate() {
        let mut rng = Rng::keyed(&[K_FACILITY, ai as u64]);
        let u6 = per_area[ai][C_AGE] as f64;
        let res = per_area[ai][C_RES] as f64;
        // Kitas: as many as the quarter's (configured) supply level asks for.
        let mut caps: Vec<i64> = Vec::new();
        match spec.kind {
            Gewerbe if spec.name == "Gewerbegebiet Nord" => caps.push(45), // Betriebskita in the industrial estate
            Wald => caps.push(20),                                         // Waldkindergarten
            _ => {
                let target = u6 * spec.kita_cover;
                if target >= 15.0 {
                    let n = ((target / 80.0).round() as usize).max(1);
                    let w: Vec<f64> = (0..n).map(|_| rng.uniform(0.6, 1.4)).collect();
                    let ws: f64 = w.iter().sum();
                    caps.extend(w.iter().map(|x| round5(target * x / ws).max(20)));
                }
            }
        }
        for cap in caps {
            let p = facility_point(area, ai, addresses, &mut rng)?;
            let base = if spec.kind == Wald {
                "Waldkindergarten Am Stadtwald".to_string()
            } else if spec.name == "Gewerbegebiet Nord" {
                "Betriebskita Gewerbegebiet Nord".to_string()
            } else {
                let n = KITA_NAMES[kita_no % KITA_NAMES.len()];
                if kita_no < KITA_NAMES.len() {
                    format!("Kita {n}")
                } else {
                    format!("Kita {n} ({})", spec.name)
                }
            };
            kita_no += 1;
            kitas.push(DemoFacility {
                props: vec![
                    ("kita_nr", Value::from(format!("K{kita_no:03}"))),
                    ("name", Value::from(base)),
                    ("traeger", Value::from(TRAEGER[rng.below(TRAEGER.len())])),
                    ("plaetze", Value::from(cap)),
                ],
                x: p[0],
                y: p[1],
                area: ai,
            });
        }
        // Schools: a Grundschule per populous quarter; secondary schools where towns put them.
        let mut schools: Vec<(String, &str, i64)> = Vec::new();
        let villages_with_school = ["Ebersdorf", "Kleinhausen"];
        if (res >= 2500.0 && spec.kind != Gewerbe) || villages_with_school.contains(&spec.name) {
            let patron = SCHOOL_PATRONS[school_no % SCHOOL_PATRONS.len()];
            let name = if school_no % 3 == 2 || school_no >= SCHOOL_PATRONS.len() {
                format!("Grundschule {}", spec.name)
            } else {
                format!("{patron}-Grundschule")
            };
            school_no += 1;
            let pupils = (per_area[ai][C_AGE + 1] as f64 * 0.45 * rng.uniform(0.8, 1.2)).max(60.0);
            schools.push((name, "Grundschule", round5(pupils)));
        }
        let secondary: &[(&str, &str, i64)] = match spec.name {
            "Marktviertel" => &[("Gymnasium am Markt", "Gymnasium", 980)],
            "Schlossberg" => &[("Schlossberg-Gymnasium", "Gymnasium", 870)],
            "Sonnenhügel" => &[("Gesamtschule Sonnenhügel", "Gesamtschule", 1150)],
            "Südviertel" => &[("Gesamtschule Süd", "Gesamtschule", 1020)],
            "Kreuzviertel" => &[("Realschule Kreuzviertel", "Realschule", 640)],
            "Brückenfeld" => &[("Förderschule am Brückenfeld", "Förderschule", 180)],
            "Bahnhofsviertel" => &[("Berufskolleg Musterstadt", "Berufskolleg", 2100)],
            _ => &[],
        };
        schools.extend(secondary.iter().map(|&(n, t, s)| (n.to_string(), t, s)));
        for (name, art, pupils) in schools {
            let p = facility_point(area, ai, addresses, &mut rng)?;
            schulen.push(DemoFacility {
                props: vec![
                    (
                        "schul_nr",
                        Value::from(format!("{:06}", 180_000 + schulen.len() * 7 + 11)),
                    ),
                    ("name", Value::from(name)),
                    ("schulart", Value::from(art)),
                    ("schueler", Value::from(pupils)),
                ],
                x: p[0],
                y: p[1],
                area: ai,
            });
        }
        // Youth centres in the dense and disadvantaged quarters.
        let youth: Option<&str> = match spec.name {
            "Altstadt" => Some("Jugendzentrum Altstadt"),
            "Bahnhofsviertel" => Some("Jugendtreff Gleis 3"),
            "Brunnenviertel" => Some("Offene Tür Brunnenviertel"),
            "Sonnenhügel" => Some("Jugendhaus Sonnenhügel"),
            "Hochfeld" => Some("Jugendclub Hochfeld"),
            "Südviertel" => Some("Jugendzentrum Süd"),
            "Fabrikviertel" => Some("Jugendkulturhaus Alte Weberei"),
            "Nordviertel" => Some("Jugendtreff Nord"),
            "Ebersdorf" => Some("Dorfjugendtreff Ebersdorf"),
            _ => None,
        };
        if let Some(name) = youth {
            let p = facility_point(area, ai, addresses, &mut rng)?;
            jugend.push(DemoFacility {
                props: vec![
                    ("jz_nr", Value::from(format!("J{:02}", jugend.len() + 1))),
                    ("name", Value::from(name)),
                    ("traeger", Value::from(TRAEGER[rng.below(TRAEGER.len())])),
                    ("plaetze", Value::from(round5(rng.uniform(30.0, 90.0)))),
                ],
                x: p[0],
                y: p[1],
                area: ai,
            });
        }
        // Care homes where many older people live.
        let care_here = matches!(
            spec.name,
            "Altstadt"
                | "Am Mühlbach"
                | "Schlossberg"
                | "Birkenhain"
                | "Ostviertel"
                | "Rosenhöhe"
                | "Lindenhof"
                | "Südviertel"
                | "Gartenstadt"
                | "Kreuzviertel"
                | "Weidenau"
                | "Auwiesen"
                | "Brückenfeld"
                | "Hülsbeck"
        );
        if care_here {
            let p = facility_point(area, ai, addresses, &mut rng)?;
            let base = PFLEGE_NAMES[pflege.len() % PFLEGE_NAMES.len()];
            pflege.push(DemoFacility {
                props: vec![
                    (
                        "ik_nr",
                        Value::from(format!("46{:07}", 1_000_000 + pflege.len() * 3_517)),
                    ),
                    ("name", Value::from(format!("{base} {}", spec.name))),
                    (
                        "traeger",
                        Value::from(TRAEGER[1 + rng.below(TRAEGER.len() - 1)]),
                    ),
                    ("plaetze", Value::from(round5(rng.uniform(40.0, 140.0)))),
                ],
                x: p[0],
                y: p[1],
                area: ai,
            });
        }
    }
    Ok(vec![
        ("kitas", kitas),
        ("schulen", schulen),
        ("jugendzentren", jugend),
        ("pflegeheime", pflege),
    ])
}

// ------------------------------------------------------------------------------------------------
// Output

pub(crate) fn fmt_coord(v: f64) -> String {
    format!("{v:.2}")
}

pub(crate) fn json_str(s: &str) -> String {
    serde_json::Value::from(s).to_string()
}

fn feature_collection(name: &str, features: &[String]) -> String {
    let mut s = String::new();
    s.push_str("{\n\"type\": \"FeatureCollection\",\n");
    let _ = writeln!(s, "\"name\": {},", json_str(name));
    let _ = writeln!(
        s,
        "\"crs\": {{ \"type\": \"name\", \"properties\": {{ \"name\": \"urn:ogc:def:crs:EPSG::{EPSG}\" }} }},"
    );
    s.push_str("\"features\": [\n");
    s.push_str(&features.join(",\n"));
    s.push_str("\n]\n}\n");
    s
}

fn polygon_feature(props: &[(&str, String)], ring: &[P]) -> String {
    let props: Vec<String> = props
        .iter()
        .map(|(k, v)| format!("{}: {v}", json_str(k)))
        .collect();
    let coords: Vec<String> = ring
        .iter()
        .map(|p| format!("[{}, {}]", fmt_coord(p[0]), fmt_coord(p[1])))
        .collect();
    format!(
        "{{ \"type\": \"Feature\", \"properties\": {{ {} }}, \"geometry\": {{ \"type\": \"Polygon\", \"coordinates\": [ [ {} ] ] }} }}",
        props.join(", "),
        coords.join(", ")
    )
}

fn write_file(out: &Path, name: &str, bytes: &[u8]) -> Result<()> {
    let path = out.join(name);
    std::fs::write(&path, bytes).with_context(|| format!("writing {}", path.display()))
}

/// Writes every file of the demo to `out`.
pub fn write(demo: &Demo, out: &Path) -> Result<()> {
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;

    let srs: Vec<String> = demo
        .sozialraeume
        .iter()
        .map(|a| {
            let st_name = STADTTEILE
                .iter()
                .find(|s| s.0 == a.parent)
                .map_or("", |s| s.1);
            polygon_feature(
                &[
                    ("sr_id", json_str(&a.id)),
                    ("sr_name", json_str(&a.name)),
                    ("st_id", json_str(&a.parent)),
                    ("st_name", json_str(st_name)),
                    (
                        "flaeche_ha",
                        format!("{:.1}", ring_area(&a.ring) / 10_000.0),
                    ),
                ],
                &a.ring,
            )
        })
        .collect();
    write_file(
        out,
        "sozialraeume.geojson",
        feature_collection("sozialraeume", &srs).as_bytes(),
    )?;

    let sts: Vec<String> = demo
        .stadtteile
        .iter()
        .map(|a| {
            polygon_feature(
                &[
                    ("st_id", json_str(&a.id)),
                    ("st_name", json_str(&a.name)),
                    (
                        "flaeche_ha",
                        format!("{:.1}", ring_area(&a.ring) / 10_000.0),
                    ),
                ],
                &a.ring,
            )
        })
        .collect();
    write_file(
        out,
        "stadtteile.geojson",
        feature_collection("stadtteile", &sts).as_bytes(),
    )?;

    // A planner's Excel export: UTF-8 with BOM, semicolons, decimal comma, CRLF.
    let mut csv = String::from("\u{feff}addr_id;strasse;hausnummer;x;y\r\n");
    for a in &demo.addresses {
        let _ = write!(
            csv,
            "{};{};{};{};{}\r\n",
            a.id,
            a.street,
            a.number,
            fmt_coord(a.x).replace('.', ","),
            fmt_coord(a.y).replace('.', ",")
        );
    }
    write_file(out, "adressen.csv", csv.as_bytes())?;

    for (year, rows) in &demo.counts {
        let mut s = String::from("addr_id,");
        s.push_str(&COLUMNS.join(","));
        s.push('\n');
        for (i, c) in rows {
            s.push_str(&demo.addresses[*i].id);
            for v in c {
                let _ = write!(s, ",{v}");
            }
            s.push('\n');
        }
        // mtime 0 and a fixed level: the bytes depend only on the content.
        let mut gz = flate2::GzBuilder::new()
            .mtime(0)
            .write(Vec::new(), flate2::Compression::best());
        gz.write_all(s.as_bytes())?;
        let bytes = gz.finish()?;
        write_file(out, &format!("bestand_{year}.csv.gz"), &bytes)?;
    }

    for (stem, facs) in &demo.facilities {
        let feats: Vec<String> = facs
            .iter()
            .map(|f| {
                let props: Vec<String> = f
                    .props
                    .iter()
                    .map(|(k, v)| format!("{}: {v}", json_str(k)))
                    .collect();
                format!(
                    "{{ \"type\": \"Feature\", \"properties\": {{ {} }}, \"geometry\": {{ \"type\": \"Point\", \"coordinates\": [{}, {}] }} }}",
                    props.join(", "),
                    fmt_coord(f.x),
                    fmt_coord(f.y)
                )
            })
            .collect();
        write_file(
            out,
            &format!("{stem}.geojson"),
            feature_collection(stem, &feats).as_bytes(),
        )?;
    }

    write_file(out, "README.md", readme(demo).as_bytes())?;
    Ok(())
}

/// Totals for the summary and the data README.
fn summary(demo: &Demo) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "  {} Sozialräume in {} Stadtteile, {} addresses",
        demo.sozialraeume.len(),
        demo.stadtteile.len(),
        demo.addresses.len()
    );
    for (year, rows) in &demo.counts {
        let mut t = [0u64; 15];
        for (_, c) in rows {
            for (k, v) in c.iter().enumerate() {
                t[k] += u64::from(*v);
            }
        }
        let _ = writeln!(
            s,
            "  {year}: {} residents at {} addresses; S1 {:.1} %, S3 {:.1} %, S4 {:.1} %",
            t[C_RES],
            rows.len(),
            100.0 * t[C_UNEMP] as f64 / t[C_15_65] as f64,
            100.0 * t[C_TRANSFER] as f64 / t[C_RES] as f64,
            100.0 * t[C_CHILD_SGB2] as f64 / t[C_U15] as f64,
        );
    }
    for (stem, f) in &demo.facilities {
        let served: BTreeSet<usize> = f.iter().map(|f| f.area).collect();
        let _ = writeln!(
            s,
            "  {stem}: {} in {} of {} Sozialräume",
            f.len(),
            served.len(),
            demo.sozialraeume.len()
        );
    }
    s
}

fn readme(demo: &Demo) -> String {
    let mut s = String::from(
        "# Musterstadt: the synthetic demo municipality\n\n\
         Generated by `kleinraum generate-demo --out data/demo` (src/demo.rs); do not edit by hand.\n\
         Every name, address and count is invented. The config is `data/demo.toml`.\n\n\
         | file | content |\n|---|---|\n\
         | sozialraeume.geojson | 30 Sozialräume, EPSG:25832, `sr_id` (text, `0101`), `sr_name`, `st_id`, `st_name`, `flaeche_ha` |\n\
         | stadtteile.geojson | 6 Stadtteile (unions of their Sozialräume), `st_id`, `st_name` |\n\
         | adressen.csv | address points: `addr_id;strasse;hausnummer;x;y`, UTF-8 with BOM, `;`, decimal comma, EPSG:25832 |\n\
         | bestand_YYYY.csv.gz | residents on 31.12. per address with ≥ 1 resident, comma-separated: `addr_id` and the columns below |\n\
         | kitas.geojson | Kitas, `plaetze` = approved places |\n\
         | schulen.geojson | schools, `schulart`, `schueler` |\n\
         | jugendzentren.geojson | youth centres |\n\
         | pflegeheime.geojson | care homes, `plaetze` = beds |\n\n\
         Count columns: ",
    );
    s.push_str(
        &COLUMNS
            .iter()
            .map(|c| format!("`{c}`"))
            .collect::<Vec<_>>()
            .join(", "),
    );
    s.push_str(
        ".\nThe eight age groups sum to `residents`; `age_under_15` = below 6 + 6–15 and `age_15_65` = the \
         five groups from 15 to 65 (the MSS denominators); `unemployed_sgb2` (MSS S1 numerator), \
         `transfer_recipients` (non-unemployed recipients, S3) and `children_under_15_sgb2` (S4).\n\n\
         Deliberate features: disadvantaged quarters (Bahnhofsviertel, Brunnenviertel, Sonnenhügel, \
         Hochfeld, Fabrikviertel) with different dynamics; two industrial estates and a forest area \
         below 300 residents (no index value); a new-build quarter (Wiesengrund) filling up from \
         2020 to 2024 with too few Kita places; villages on the edge.\n\n## Numbers\n\n```\n",
    );
    s.push_str(&summary(demo));
    s.push_str("```\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn demo() -> &'static Demo {
        static DEMO: std::sync::OnceLock<Demo> = std::sync::OnceLock::new();
        DEMO.get_or_init(|| build().expect("demo builds"))
    }

    fn segments_cross(a: P, b: P, c: P, d: P) -> bool {
        let orient =
            |p: P, q: P, r: P| (q[0] - p[0]) * (r[1] - p[1]) - (q[1] - p[1]) * (r[0] - p[0]);
        let (d1, d2) = (orient(c, d, a), orient(c, d, b));
        let (d3, d4) = (orient(a, b, c), orient(a, b, d));
        ((d1 > 0.0 && d2 < 0.0) || (d1 < 0.0 && d2 > 0.0))
            && ((d3 > 0.0 && d4 < 0.0) || (d3 < 0.0 && d4 > 0.0))
    }

    /// Proper crossings and repeated vertices within one ring.
    fn self_intersections(ring: &[P]) -> usize {
        let n = ring.len() - 1;
        let mut bad = 0;
        let verts: BTreeSet<(i64, i64)> = ring[..n].iter().map(|p| vkey(*p)).collect();
        bad += n - verts.len();
        for i in 0..n {
            for j in i + 2..n {
                if i == 0 && j == n - 1 {
                    continue; // neighbours across the closing vertex
                }
                if segments_cross(ring[i], ring[i + 1], ring[j], ring[j + 1]) {
                    bad += 1;
                }
            }
        }
        bad
    }

    #[test]
    fn rings_are_closed_ccw_and_simple() {
        let d = demo();
        assert_eq!(d.sozialraeume.len(), 30);
        assert_eq!(d.stadtteile.len(), 6);
        for a in d.sozialraeume.iter().chain(&d.stadtteile) {
            assert_eq!(a.ring.first(), a.ring.last(), "{} not closed", a.id);
            assert!(ring_area(&a.ring) > 0.0, "{} not counter-clockwise", a.id);
            assert_eq!(
                self_intersections(&a.ring),
                0,
                "{} {} self-intersects",
                a.id,
                a.name
            );
        }
    }

    #[test]
    fn sozialraeume_partition_the_town_without_gaps_or_overlaps() {
        let d = demo();
        // No edge of one area crosses an edge of another.
        let srs = &d.sozialraeume;
        for (i, a) in srs.iter().enumerate() {
            for b in &srs[i + 1..] {
                for s in a.ring.windows(2) {
                    for t in b.ring.windows(2) {
                        assert!(
                            !segments_cross(s[0], s[1], t[0], t[1]),
                            "{} crosses {}",
                            a.id,
                            b.id
                        );
                    }
                }
            }
        }
        // Shared borders are identical, so the outline of all areas is one ring whose area
        // equals the sum of the parts: no gaps, no overlaps.
        let rings: Vec<&[P]> = srs.iter().map(|a| a.ring.as_slice()).collect();
        let outline = union_ring(&rings).expect("one outline");
        let sum: f64 = srs.iter().map(|a| ring_area(&a.ring)).sum();
        let total = ring_area(&outline);
        assert!((sum - total).abs() < 1.0, "Σ areas {sum} ≠ outline {total}");
        assert!(total > 50e6 && total < 90e6, "town area {total} m²");
        // Stadtteile cover the same ground.
        let st_sum: f64 = d.stadtteile.iter().map(|a| ring_area(&a.ring)).sum();
        assert!((st_sum - total).abs() < 1.0);
        // Every Sozialraum lies in its Stadtteil.
        for a in srs {
            let st = d
                .stadtteile
                .iter()
                .find(|s| s.id == a.parent)
                .expect("parent exists");
            assert!(a.id.starts_with(&st.id));
            let inner = a
                .ring
                .iter()
                .all(|p| ring_contains(&st.ring, *p) || ring_boundary_dist(&st.ring, *p) < 0.01);
            assert!(inner, "{} leaves Stadtteil {}", a.id, st.id);
        }
    }

    #[test]
    fn every_point_lies_in_exactly_its_own_area() {
        let d = demo();
        let boxes: Vec<[f64; 4]> = d.sozialraeume.iter().map(|a| bbox(&a.ring)).collect();
        let locate = |x: f64, y: f64| -> Vec<usize> {
            (0..d.sozialraeume.len())
                .filter(|&i| {
                    let b = boxes[i];
                    x >= b[0]
                        && x <= b[2]
                        && y >= b[1]
                        && y <= b[3]
                        && ring_contains(&d.sozialraeume[i].ring, [x, y])
                })
                .collect()
        };
        assert!(d.addresses.len() > 35_000 && d.addresses.len() < 45_000);
        for a in &d.addresses {
            assert_eq!(locate(a.x, a.y), vec![a.area], "address {}", a.id);
        }
        for (stem, facs) in &d.facilities {
            assert!(!facs.is_empty(), "{stem}");
            for f in facs {
                assert_eq!(locate(f.x, f.y), vec![f.area], "{stem} {:?}", f.props[0]);
            }
        }
        let ids: BTreeSet<&str> = d.addresses.iter().map(|a| a.id.as_str()).collect();
        assert_eq!(ids.len(), d.addresses.len(), "addr_id unique");
        let addr: BTreeSet<(&str, &str)> = d
            .addresses
            .iter()
            .map(|a| (a.street.as_str(), a.number.as_str()))
            .collect();
        assert_eq!(
            addr.len(),
            d.addresses.len(),
            "street + house number unique"
        );
    }

    #[test]
    fn counts_are_consistent() {
        let d = demo();
        assert_eq!(d.counts.keys().copied().collect::<Vec<_>>(), YEARS.to_vec());
        for rows in d.counts.values() {
            for (i, c) in rows {
                let ages: u32 = c[C_AGE..C_AGE + 8].iter().sum();
                assert_eq!(ages, c[C_RES], "age groups of {}", d.addresses[*i].id);
                assert!(c[C_RES] > 0);
                assert_eq!(c[C_U15], c[C_AGE] + c[C_AGE + 1]);
                assert_eq!(c[C_15_65] + c[C_U15] + c[C_AGE + 7], c[C_RES]);
                assert!(c[C_UNEMP] <= c[C_15_65]);
                assert!(c[C_CHILD_SGB2] <= c[C_U15]);
                assert!(c[C_UNEMP] + c[C_TRANSFER] <= c[C_RES]);
                assert!(c[C_FOREIGN] <= c[C_RES]);
            }
        }
    }

    /// Residents and S4 per area and year.
    fn area_totals(d: &Demo, year: i32) -> Vec<[u64; 15]> {
        let mut t = vec![[0u64; 15]; d.sozialraeume.len()];
        for (i, c) in &d.counts[&year] {
            for (k, v) in c.iter().enumerate() {
                t[d.addresses[*i].area][k] += u64::from(*v);
            }
        }
        t
    }

    #[test]
    fn the_town_has_small_areas_and_disadvantaged_quarters() {
        let d = demo();
        for year in YEARS {
            let t = area_totals(d, year);
            let small: Vec<&str> = t
                .iter()
                .zip(&d.sozialraeume)
                .filter(|(c, _)| c[C_RES] < 300)
                .map(|(_, a)| a.name.as_str())
                .collect();
            assert_eq!(
                small,
                ["Gewerbegebiet Nord", "Am Stadtwald", "Gewerbepark Süd"],
                "{year}"
            );
            let total: u64 = t.iter().map(|c| c[C_RES]).sum();
            assert!(
                (100_000..200_000).contains(&total),
                "{year}: {total} residents"
            );
            // Child poverty: the disadvantaged quarters lie well above the town's rate.
            let s4 = |c: &[u64; 15]| c[C_CHILD_SGB2] as f64 / c[C_U15] as f64;
            let town: f64 = t.iter().map(|c| c[C_CHILD_SGB2]).sum::<u64>() as f64
                / t.iter().map(|c| c[C_U15]).sum::<u64>() as f64;
            for name in [
                "Bahnhofsviertel",
                "Brunnenviertel",
                "Sonnenhügel",
                "Hochfeld",
            ] {
                let i = d.sozialraeume.iter().position(|a| a.name == name).unwrap();
                assert!(
                    s4(&t[i]) > 1.5 * town,
                    "{year} {name}: {} vs {town}",
                    s4(&t[i])
                );
            }
        }
        // The new-build quarter fills up.
        let i = d
            .sozialraeume
            .iter()
            .position(|a| a.name == "Wiesengrund")
            .unwrap();
        let r20 = area_totals(d, 2020)[i][C_RES];
        let r24 = area_totals(d, 2024)[i][C_RES];
        assert!(r24 as f64 > 2.0 * r20 as f64, "Wiesengrund {r20} → {r24}");
        // Brunnenviertel gets worse, Sonnenhügel better (so the dynamics classes differ).
        let s1 = |y: i32, name: &str| {
            let i = d.sozialraeume.iter().position(|a| a.name == name).unwrap();
            let c = area_totals(d, y)[i];
            c[C_UNEMP] as f64 / c[C_15_65] as f64
        };
        assert!(s1(2024, "Brunnenviertel") > s1(2022, "Brunnenviertel"));
        assert!(s1(2024, "Sonnenhügel") < s1(2022, "Sonnenhügel"));
    }

    #[test]
    fn two_runs_write_identical_bytes() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        write(&build().unwrap(), a.path()).unwrap();
        write(&build().unwrap(), b.path()).unwrap();
        let mut names: Vec<String> = std::fs::read_dir(a.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names.len(), 2 + 1 + 5 + 4 + 1, "{names:?}");
        for n in &names {
            let x = std::fs::read(a.path().join(n)).unwrap();
            let y = std::fs::read(b.path().join(n)).unwrap();
            assert!(x == y, "{n} differs between runs");
        }
    }
}
