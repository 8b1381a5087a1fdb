//! Validation for `kleinraum check`: everything a planner must know about a configuration's data
//! before trusting the numbers computed from it.
//!
//! * [`geometry_problems`]: OGC validity of one area geometry, with the location of each problem
//!   (self-intersections, rings with too few points, unclosed rings, zero area, holes outside
//!   their shell, non-finite coordinates, overlapping parts).
//! * [`run_checks`]: the whole report for a loaded [`Dataset`]: counts, invalid geometries,
//!   overlaps and gaps between the areas of each level, duplicate/empty ids, unknown parents,
//!   points outside every area or on a border, the rows that could not be read, and a verdict.
//!
//! Blocking problems (exit code 1) make results wrong or unusable; warnings (exit code 0) are
//! listed so a planner can judge them. Nothing is dropped silently: problems below the listing
//! limits or the sliver tolerance are still counted.

use crate::config::ProjectConfig;
use crate::error::Diagnostic;
use geo::kernels::{Kernel, Orientation, RobustKernel};
use geo::line_intersection::{LineIntersection, line_intersection};
use geo::orient::Direction;
use geo::{
    Area, BooleanOps, BoundingRect, Coord, InteriorPoint, Line, LineString, MultiPolygon, Orient,
    Polygon,
};
use kleinraum_aggregate::model::{Dataset, Level};
use kleinraum_aggregate::spatial::{GridIndex, OUTSIDE};
use rayon::prelude::*;
use rstar::{AABB, RTree, primitives::GeomWithData, primitives::Rectangle};
use serde::Serialize;
use std::collections::{BTreeMap, HashSet};
use std::fmt::Write as _;

// ---------------------------------------------------------------------------------------------
// Geometry validity

/// What is wrong with a polygon geometry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum GeometryProblemKind {
    /// The geometry has no polygon at all.
    Empty,
    /// A coordinate is NaN or infinite.
    NonFinite,
    /// First and last point of a ring differ.
    UnclosedRing,
    /// A ring has fewer than 4 points (3 distinct + closing point).
    TooFewPoints,
    /// A ring encloses no area (all points on a line).
    ZeroArea,
    /// Two edges of one ring cross.
    SelfIntersection,
    /// A ring touches itself in a point (a pinched ring, an "inverted hole").
    SelfTouch,
    /// A ring runs back along itself (a spike or a doubled edge).
    SelfOverlap,
    /// Two rings of one polygon (shell and hole, or two holes) cross or share an edge.
    RingsCross,
    /// A hole lies (partly) outside its shell, or inside another hole.
    HoleOutsideShell,
    /// Two polygons of one multipolygon overlap or share an edge.
    PartsOverlap,
}

/// A problem with one polygon's geometry.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct GeometryProblem {
    /// Category of the problem.
    pub kind: GeometryProblemKind,
    /// What is wrong (e.g. "exterior ring crosses itself").
    pub message: String,
    /// Where, in working-CRS coordinates (NaN if the geometry has no usable coordinate).
    pub x: f64,
    /// Where, in working-CRS coordinates.
    pub y: f64,
    /// 0-based index of the polygon within the multipolygon.
    pub part: usize,
    /// The ring: `exterior` or `hole N` (1-based).
    pub ring: String,
}

/// At most this many problems are listed per geometry; a final entry counts the rest.
const MAX_PROBLEMS_PER_GEOMETRY: usize = 20;

fn ring_name(ring: usize) -> String {
    if ring == 0 {
        "exterior".into()
    } else {
        format!("hole {ring}")
    }
}

fn ring_label(part: usize, ring: usize, parts: usize) -> String {
    let r = if ring == 0 {
        "exterior ring".to_string()
    } else {
        format!("hole {ring}")
    };
    if parts > 1 {
        format!("polygon {} {r}", part + 1)
    } else {
        r
    }
}

/// One edge of a ring, for the sweep.
#[derive(Debug, Clone, Copy)]
struct Seg {
    a: Coord<f64>,
    b: Coord<f64>,
    min_x: f64,
    max_x: f64,
    min_y: f64,
    max_y: f64,
    part: u32,
    ring: u32,
    idx: u32,
    /// Edges of its ring.
    n: u32,
}

/// Problems of one area geometry (self-intersections, too few points, …). Empty if valid.
///
/// Follows the OGC Simple Features rules for polygons: rings closed and simple (no crossing,
/// no self-touching, no spikes), at least 3 distinct points, non-zero area, holes inside their
/// shell and not crossing it (touching in single points is allowed), parts of a multipolygon
/// not overlapping and touching only in points. Each problem carries a location.
///
/// # Performance
/// Edges are compared with a sort-and-sweep over x, so a ring of n edges costs about
/// O(n log n + k) for k edge pairs with overlapping x-ranges, not O(n²).
pub fn geometry_problems(geometry: &MultiPolygon<f64>) -> Vec<GeometryProblem> {
    let mut out: Vec<GeometryProblem> = Vec::new();
    let parts = geometry.0.len();
    if parts == 0 {
        out.push(GeometryProblem {
            kind: GeometryProblemKind::Empty,
            message: "geometry has no polygon".into(),
            x: f64::NAN,
            y: f64::NAN,
            part: 0,
            ring: "exterior".into(),
        });
        return out;
    }
    let push = |out: &mut Vec<GeometryProblem>,
                kind: GeometryProblemKind,
                message: String,
                at: Coord<f64>,
                part: usize,
                ring: usize| {
        out.push(GeometryProblem {
            kind,
            message,
            x: at.x,
            y: at.y,
            part,
            ring: ring_name(ring),
        });
    };

    // Rings usable for the topological checks: deduplicated, finite, ≥ 3 distinct points.
    // `usable[part][ring]` is None for rings already reported as broken.
    let mut usable: Vec<Vec<Option<Vec<Coord<f64>>>>> = Vec::with_capacity(parts);
    for (pi, poly) in geometry.0.iter().enumerate() {
        let mut rings_ok = Vec::with_capacity(1 + poly.interiors().len());
        for (ri, ring) in std::iter::once(poly.exterior())
            .chain(poly.interiors())
            .enumerate()
        {
            let label = ring_label(pi, ri, parts);
            let coords = &ring.0;
            if let Some(bad) = coords
                .iter()
                .position(|c| !c.x.is_finite() || !c.y.is_finite())
            {
                // Locate it at a finite neighbour so the planner can find the spot.
                let at = coords
                    .iter()
                    .find(|c| c.x.is_finite() && c.y.is_finite())
                    .copied()
                    .unwrap_or(Coord {
                        x: f64::NAN,
                        y: f64::NAN,
                    });
                push(
                    &mut out,
                    GeometryProblemKind::NonFinite,
                    format!(
                        "{label}: coordinate {} is not a finite number ({}, {})",
                        bad + 1,
                        coords[bad].x,
                        coords[bad].y
                    ),
                    at,
                    pi,
                    ri,
                );
                rings_ok.push(None);
                continue;
            }
            if coords.is_empty() {
                if ri == 0 {
                    push(
                        &mut out,
                        GeometryProblemKind::TooFewPoints,
                        format!("{label} has no points"),
                        Coord {
                            x: f64::NAN,
                            y: f64::NAN,
                        },
                        pi,
                        ri,
                    );
                }
                rings_ok.push(None);
                continue;
            }
            if coords.first() != coords.last() {
                push(
                    &mut out,
                    GeometryProblemKind::UnclosedRing,
                    format!("{label} is not closed (first point differs from last point)"),
                    coords[0],
                    pi,
                    ri,
                );
            }
            let mut dedup: Vec<Coord<f64>> = Vec::with_capacity(coords.len() + 1);
            for &c in coords {
                if dedup.last() != Some(&c) {
                    dedup.push(c);
                }
            }
            if dedup.len() > 1 && dedup.first() == dedup.last() {
                dedup.pop();
            }
            // `dedup` now holds the distinct consecutive points, without the closing point.
            if dedup.len() < 3 {
                push(
                    &mut out,
                    GeometryProblemKind::TooFewPoints,
                    format!(
                        "{label} has {} distinct point(s); a ring needs at least 3 (4 with the closing point)",
                        dedup.len()
                    ),
                    coords[0],
                    pi,
                    ri,
                );
                rings_ok.push(None);
                continue;
            }
            if all_collinear(&dedup) {
                push(
                    &mut out,
                    GeometryProblemKind::ZeroArea,
                    format!("{label} encloses no area (all points on one line)"),
                    coords[0],
                    pi,
                    ri,
                );
                rings_ok.push(None);
                continue;
            }
            rings_ok.push(Some(dedup));
        }
        usable.push(rings_ok);
    }

    // Edge sweep over all usable rings of all parts.
    let total: usize = usable.iter().flatten().flatten().map(Vec::len).sum();
    let mut segs: Vec<Seg> = Vec::with_capacity(total);
    for (pi, rings) in usable.iter().enumerate() {
        for (ri, ring) in rings.iter().enumerate() {
            let Some(ring) = ring else { continue };
            let n = ring.len();
            // Each point with the next, the last with the first (no division per edge).
            let next = ring[1..].iter().chain(&ring[..1]);
            for (k, (&a, &b)) in ring.iter().zip(next).enumerate() {
                segs.push(Seg {
                    a,
                    b,
                    min_x: a.x.min(b.x),
                    max_x: a.x.max(b.x),
                    min_y: a.y.min(b.y),
                    max_y: a.y.max(b.y),
                    part: pi as u32,
                    ring: ri as u32,
                    idx: k as u32,
                    n: n as u32,
                });
            }
        }
    }
    // By min_x, ties in ring order (as a stable sort leaves them): small keys sorted, the
    // segments gathered once (a stable sort moving the segments themselves was half the cost).
    // The key is min_x's bits turned into an integer of the same order as `f64::total_cmp`,
    // so every comparison of the sort is one of integers.
    let mut keys: Vec<(u64, u32)> = segs
        .iter()
        .enumerate()
        .map(|(k, s)| (total_order_key(s.min_x), k as u32))
        .collect();
    keys.sort_unstable();
    let segs: Vec<Seg> = keys.iter().map(|&(_, k)| segs[k as usize]).collect();

    let mut seen: HashSet<(GeometryProblemKind, u64, u64)> = HashSet::new();
    // Rings (part, ring) involved in a crossing, so containment tests skip them.
    let mut crossing_rings: HashSet<(u32, u32)> = HashSet::new();
    let mut crossing_parts: HashSet<(u32, u32)> = HashSet::new();
    let mut topo: Vec<GeometryProblem> = Vec::new();
    for i in 0..segs.len() {
        let s = segs[i];
        for t in &segs[i + 1..] {
            if t.min_x > s.max_x {
                break;
            }
            if t.max_y < s.min_y || t.min_y > s.max_y {
                continue;
            }
            // Consecutive edges of a ring share a vertex: unless they lie on one line, that
            // vertex is all they share (what `line_intersection` would say, at a fraction of
            // its cost; every vertex is such a pair). The shared vertex lies on `s`'s line
            // anyway: only `t`'s other end is tested.
            if s.part == t.part && s.ring == t.ring && consecutive(s.idx, t.idx, s.n) {
                let other = if t.a == s.a || t.a == s.b { t.b } else { t.a };
                if RobustKernel::orient2d(s.a, s.b, other) != Orientation::Collinear {
                    continue;
                }
            }
            let Some(hit) = line_intersection(Line::new(s.a, s.b), Line::new(t.a, t.b)) else {
                continue;
            };
            let (at, proper, collinear) = match hit {
                LineIntersection::SinglePoint {
                    intersection,
                    is_proper,
                } => (intersection, is_proper, false),
                LineIntersection::Collinear { intersection } => (intersection.start, false, true),
            };
            let (kind, message) = if s.part == t.part && s.ring == t.ring {
                let adjacent = consecutive(s.idx, t.idx, s.n);
                let label = ring_label(s.part as usize, s.ring as usize, parts);
                if adjacent {
                    if !collinear {
                        continue; // the shared vertex
                    }
                    (
                        GeometryProblemKind::SelfOverlap,
                        format!("{label} doubles back on itself (spike)"),
                    )
                } else if proper {
                    (
                        GeometryProblemKind::SelfIntersection,
                        format!("{label} crosses itself"),
                    )
                } else if collinear {
                    (
                        GeometryProblemKind::SelfOverlap,
                        format!("{label} runs along itself (doubled edge)"),
                    )
                } else {
                    (
                        GeometryProblemKind::SelfTouch,
                        format!("{label} touches itself in a point"),
                    )
                }
            } else if s.part == t.part {
                if !(proper || collinear) {
                    continue; // rings of one polygon may touch in a point
                }
                crossing_rings.insert((s.part, s.ring));
                crossing_rings.insert((t.part, t.ring));
                let a = ring_label(s.part as usize, s.ring as usize, parts);
                let b = ring_label(t.part as usize, t.ring as usize, parts);
                let how = if proper { "cross" } else { "share an edge" };
                (
                    GeometryProblemKind::RingsCross,
                    format!("{a} and {b} {how}"),
                )
            } else {
                if !(proper || collinear) {
                    continue; // parts may touch in a point
                }
                let (p, q) = (s.part.min(t.part), s.part.max(t.part));
                crossing_parts.insert((p, q));
                let how = if proper {
                    "overlap (their boundaries cross)"
                } else {
                    "share an edge (they should be one polygon)"
                };
                (
                    GeometryProblemKind::PartsOverlap,
                    format!("polygons {} and {} of the multipolygon {how}", p + 1, q + 1),
                )
            };
            if seen.insert((kind, at.x.to_bits(), at.y.to_bits())) {
                let (part, ring) = if s.part <= t.part {
                    (s.part, s.ring)
                } else {
                    (t.part, t.ring)
                };
                topo.push(GeometryProblem {
                    kind,
                    message,
                    x: at.x,
                    y: at.y,
                    part: part as usize,
                    ring: ring_name(ring as usize),
                });
            }
        }
    }
    // The sweep visits edges by x; report problems in ring order for a stable listing.
    topo.sort_by(|a, b| {
        (a.part, &a.ring, a.x, a.y)
            .partial_cmp(&(b.part, &b.ring, b.x, b.y))
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    out.extend(topo);

    // Containment: holes inside their shell and not inside each other; parts not nested.
    for (pi, rings) in usable.iter().enumerate() {
        let Some(shell) = &rings[0] else { continue };
        for (ri, hole) in rings.iter().enumerate().skip(1) {
            let Some(hole) = hole else { continue };
            if crossing_rings.contains(&(pi as u32, ri as u32)) {
                continue;
            }
            let label = ring_label(pi, ri, parts);
            if let Some((c, inside)) = first_off_boundary(hole, shell)
                && !inside
            {
                push(
                    &mut out,
                    GeometryProblemKind::HoleOutsideShell,
                    format!("{label} lies outside the exterior ring"),
                    c,
                    pi,
                    ri,
                );
                continue;
            }
            for (rj, other) in rings.iter().enumerate().skip(1) {
                let Some(other) = other else { continue };
                if rj == ri || crossing_rings.contains(&(pi as u32, rj as u32)) {
                    continue;
                }
                if let Some((c, true)) = first_off_boundary(hole, other) {
                    push(
                        &mut out,
                        GeometryProblemKind::HoleOutsideShell,
                        format!("{label} lies inside hole {rj} (nested holes)"),
                        c,
                        pi,
                        ri,
                    );
                }
            }
        }
    }
    for (pi, rings_p) in usable.iter().enumerate() {
        for (qi, rings_q) in usable.iter().enumerate() {
            if pi == qi || crossing_parts.contains(&(pi.min(qi) as u32, pi.max(qi) as u32)) {
                continue;
            }
            let (Some(shell_p), Some(shell_q)) = (&rings_p[0], &rings_q[0]) else {
                continue;
            };
            // Is part q inside part p (inside its shell and not inside one of its holes)?
            let Some((c, true)) = first_off_boundary(shell_q, shell_p) else {
                continue;
            };
            let in_hole = rings_p
                .iter()
                .skip(1)
                .flatten()
                .any(|h| point_in_ring(c, h) == RingPos::Inside);
            if !in_hole {
                push(
                    &mut out,
                    GeometryProblemKind::PartsOverlap,
                    format!(
                        "polygon {} of the multipolygon lies inside polygon {}",
                        qi + 1,
                        pi + 1
                    ),
                    c,
                    qi,
                    0,
                );
            }
        }
    }

    if out.len() > MAX_PROBLEMS_PER_GEOMETRY {
        let more = out.len() - MAX_PROBLEMS_PER_GEOMETRY;
        let next = out[MAX_PROBLEMS_PER_GEOMETRY].clone();
        out.truncate(MAX_PROBLEMS_PER_GEOMETRY);
        out.push(GeometryProblem {
            message: format!(
                "… and {more} more problem(s) of this geometry, the next: {}",
                next.message
            ),
            ..next
        });
    }
    out
}

/// `x` as an unsigned integer ordered as [`f64::total_cmp`] orders the floats (its own
/// transformation, with the sign bit flipped so that negative numbers come first).
#[doc(hidden)] // public for tests/it/units
pub fn total_order_key(x: f64) -> u64 {
    let bits = x.to_bits() as i64;
    (bits ^ (((bits >> 63) as u64) >> 1) as i64) as u64 ^ (1 << 63)
}

/// Whether edges `i` and `j` of a ring of `n` edges follow each other (share a vertex).
fn consecutive(i: u32, j: u32, n: u32) -> bool {
    let (lo, hi) = (i.min(j), i.max(j));
    hi - lo == 1 || (lo == 0 && hi == n - 1)
}

/// True if every point of the ring lies on one line (robust predicate): the ring encloses no
/// area. A shoelace sum cannot tell this apart from a bow-tie whose lobes cancel out.
fn all_collinear(ring: &[Coord<f64>]) -> bool {
    let a = ring[0];
    let b = ring[1];
    ring[2..]
        .iter()
        .all(|&c| RobustKernel::orient2d(a, b, c) == Orientation::Collinear)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RingPos {
    Inside,
    Outside,
    OnBoundary,
}

/// Position of `p` relative to an open ring (closing point omitted).
fn point_in_ring(p: Coord<f64>, ring: &[Coord<f64>]) -> RingPos {
    let n = ring.len();
    let mut inside = false;
    for i in 0..n {
        let a = ring[i];
        let b = ring[(i + 1) % n];
        if p.x >= a.x.min(b.x)
            && p.x <= a.x.max(b.x)
            && p.y >= a.y.min(b.y)
            && p.y <= a.y.max(b.y)
            && RobustKernel::orient2d(a, b, p) == Orientation::Collinear
        {
            return RingPos::OnBoundary;
        }
        if (a.y > p.y) != (b.y > p.y) {
            let xint = a.x + (p.y - a.y) * (b.x - a.x) / (b.y - a.y);
            if p.x < xint {
                inside = !inside;
            }
        }
    }
    if inside {
        RingPos::Inside
    } else {
        RingPos::Outside
    }
}

/// The first vertex of `ring` that is not on the boundary of `container`, and whether it is
/// inside. `None` if every vertex lies on the boundary.
fn first_off_boundary(ring: &[Coord<f64>], container: &[Coord<f64>]) -> Option<(Coord<f64>, bool)> {
    ring.iter()
        .find_map(|&c| match point_in_ring(c, container) {
            RingPos::Inside => Some((c, true)),
            RingPos::Outside => Some((c, false)),
            RingPos::OnBoundary => None,
        })
}

// ---------------------------------------------------------------------------------------------
// The report

/// Settings of a check run.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckOptions {
    /// Overlaps and gaps smaller than this are counted (number and total area) but not listed
    /// and not warned about.
    ///
    /// # Units
    /// m² (working CRS).
    pub min_area_m2: f64,
    /// Points closer than this to an area boundary count as "on a border".
    ///
    /// # Units
    /// m (working CRS).
    pub border_tolerance_m: f64,
    /// How many examples are listed per finding (points outside, points on a border).
    pub list_limit: usize,
    /// How many unreadable rows are listed per file.
    pub diagnostics_limit: usize,
}

impl Default for CheckOptions {
    fn default() -> Self {
        Self {
            min_area_m2: 1.0,
            border_tolerance_m: 0.01,
            list_limit: 10,
            diagnostics_limit: 20,
        }
    }
}

/// Overall judgement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Nothing found.
    Ok,
    /// Usable, but look at the warnings.
    Warnings,
    /// Something makes results wrong; fix it first (exit code 1).
    Blocking,
}

/// The result of `kleinraum check`, serialised as the `--json` output.
#[derive(Debug, Clone, Serialize)]
pub struct CheckReport {
    /// The config file, as given on the command line (set by the caller).
    pub config: Option<String>,
    /// Title of the configuration.
    pub title: String,
    /// EPSG code of the working CRS.
    pub working_epsg: u32,
    /// Overall verdict.
    pub verdict: Verdict,
    /// Process exit code: 1 if anything blocks, else 0.
    pub exit_code: i32,
    /// One line per blocking finding.
    pub blocking: Vec<String>,
    /// One line per warning.
    pub warnings: Vec<String>,
    /// What was deliberately not used or has no value in the source (rows of another Stichtag,
    /// cells marked `*`) and what was repaired on request: for the record, not a problem.
    pub notes: Vec<String>,
    /// The settings used.
    pub settings: ReportSettings,
    /// What was loaded.
    pub counts: Counts,
    /// Per hierarchy level: geometry, ids, hierarchy, overlaps and gaps.
    pub levels: Vec<LevelReport>,
    /// Address points against the finest level (absent if none configured).
    pub points: Option<PointCheck>,
    /// Facilities per category against the finest level.
    pub facilities: Vec<PointCheck>,
    /// Area tables: ids that match no area, duplicate rows, cells without a value.
    pub tables: Vec<TableCheck>,
    /// Areas made valid on request (`repair = true`), with the area before and after.
    pub repairs: Vec<crate::repair::Repair>,
    /// Each geometry source and the CRS it was read in.
    pub crs: Vec<(String, String)>,
    /// Rows and features that could not be read, per file.
    pub unreadable: Vec<DiagnosticsByFile>,
    /// Wall-clock time of loading the data (set by the caller).
    pub load_seconds: Option<f64>,
    /// Wall-clock time of the checks (not of loading).
    pub check_seconds: f64,
}

/// The settings of a run, echoed in the report.
#[derive(Debug, Clone, Serialize)]
pub struct ReportSettings {
    /// Sliver tolerance in m².
    pub min_area_m2: f64,
    /// Border tolerance in m.
    pub border_tolerance_m: f64,
}

/// What was loaded.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Counts {
    /// Areas per level, finest first.
    pub levels: Vec<LevelCount>,
    /// Number of address points.
    pub points: usize,
    /// Years of the count columns.
    pub years: Vec<i32>,
    /// Distinct count column names.
    pub count_columns: Vec<String>,
    /// Facilities per category.
    pub facilities: Vec<NamedCount>,
    /// Tables.
    pub tables: Vec<TableCount>,
}

/// Areas of one level.
#[derive(Debug, Clone, Serialize)]
pub struct LevelCount {
    /// Level key.
    pub key: String,
    /// Number of areas.
    pub areas: usize,
    /// Number of areas with a geometry.
    pub with_geometry: usize,
}

/// A name and a count.
#[derive(Debug, Clone, Serialize)]
pub struct NamedCount {
    /// Name (category).
    pub name: String,
    /// Count.
    pub count: usize,
}

/// Size of one area table.
#[derive(Debug, Clone, Serialize)]
pub struct TableCount {
    /// Table name.
    pub name: String,
    /// Level key.
    pub level: String,
    /// Years of its rows.
    pub years: Vec<i32>,
    /// Rows (one per area and year).
    pub rows: usize,
    /// Column names.
    pub columns: Vec<String>,
    /// The count columns among them (summed up the hierarchy).
    pub counts: Vec<String>,
}

/// A location in the working CRS and, where PROJ could convert it, in WGS 84.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Location {
    /// Working-CRS easting (m).
    pub x: f64,
    /// Working-CRS northing (m).
    pub y: f64,
    /// Longitude (WGS 84 / CRS84 degrees).
    pub lon: Option<f64>,
    /// Latitude.
    pub lat: Option<f64>,
}

/// An invalid geometry of one area.
#[derive(Debug, Clone, Serialize)]
pub struct InvalidGeometry {
    /// Area id.
    pub id: String,
    /// Area name.
    pub name: String,
    /// 1-based feature number in the level's source order.
    pub feature: usize,
    /// The problems, each with its location.
    pub problems: Vec<LocatedProblem>,
}

/// A geometry problem with its location in both CRSs.
#[derive(Debug, Clone, Serialize)]
pub struct LocatedProblem {
    /// Category.
    pub kind: GeometryProblemKind,
    /// What is wrong.
    pub message: String,
    /// Where.
    pub location: Location,
}

/// An id used by more than one area of a level.
#[derive(Debug, Clone, Serialize)]
pub struct DuplicateId {
    /// The id.
    pub id: String,
    /// 1-based feature numbers carrying it.
    pub features: Vec<usize>,
}

/// Areas whose parent id is not an area of the next coarser level (or that have none).
#[derive(Debug, Clone, Serialize)]
pub struct ParentProblem {
    /// Area id.
    pub id: String,
    /// 1-based feature number.
    pub feature: usize,
    /// The parent id given (None: no parent at all).
    pub parent: Option<String>,
}

/// Checks of one hierarchy level.
#[derive(Debug, Clone, Serialize)]
pub struct LevelReport {
    /// Level key.
    pub key: String,
    /// Title.
    pub title: String,
    /// Source file or connection, as configured (resolved where possible).
    pub source: Option<String>,
    /// Number of areas.
    pub areas: usize,
    /// Areas without geometry.
    pub without_geometry: usize,
    /// Areas with an invalid geometry.
    pub invalid_geometries: Vec<InvalidGeometry>,
    /// Ids used more than once.
    pub duplicate_ids: Vec<DuplicateId>,
    /// 1-based feature numbers of areas with an empty id.
    pub empty_ids: Vec<usize>,
    /// Parent ids that do not exist on the next level, or missing parents.
    pub parent_problems: Vec<ParentProblem>,
    /// Overlaps and gaps (for levels with geometry).
    pub coverage: Option<Coverage>,
}

/// Overlaps and gaps among the areas of one level.
#[derive(Debug, Clone, Serialize)]
pub struct Coverage {
    /// Sum of the areas' own areas (m²).
    pub sum_area_m2: f64,
    /// Area of their union (m²); `sum − union` is the total overlap.
    pub union_area_m2: f64,
    /// Overlaps: pairs of areas whose interiors intersect.
    pub overlaps: SliverSummary<Overlap>,
    /// Gaps: holes in the union (not covered, but enclosed by the coverage).
    pub gaps: SliverSummary<Gap>,
}

/// Findings above the tolerance (listed, largest first) and a count of those below it.
#[derive(Debug, Clone, Serialize)]
pub struct SliverSummary<T> {
    /// Number at or above the tolerance.
    pub count: usize,
    /// Their total area (m²).
    pub total_area_m2: f64,
    /// All of them, largest first.
    pub listed: Vec<T>,
    /// Number below the tolerance.
    pub below_tolerance_count: usize,
    /// Total area below the tolerance (m²).
    pub below_tolerance_area_m2: f64,
}

/// Two areas that overlap.
#[derive(Debug, Clone, Serialize)]
pub struct Overlap {
    /// First area id (source order).
    pub a: String,
    /// Second area id.
    pub b: String,
    /// Overlap area (m²).
    pub area_m2: f64,
    /// Number of separate overlap pieces.
    pub pieces: usize,
    /// A point inside the largest piece.
    pub location: Location,
}

/// A gap: a region enclosed by the areas of a level but covered by none.
#[derive(Debug, Clone, Serialize)]
pub struct Gap {
    /// Gap area (m²).
    pub area_m2: f64,
    /// A point inside the gap.
    pub location: Location,
    /// Ids of the areas bordering the gap.
    pub neighbours: Vec<String>,
}

/// A point by key and location.
#[derive(Debug, Clone, Serialize)]
pub struct PointRef {
    /// Point key (address id, facility id); `#N` (1-based) if the layer has none.
    pub key: String,
    /// Where.
    pub location: Location,
}

/// Points (addresses or the facilities of one category) against the finest level.
#[derive(Debug, Clone, Serialize)]
pub struct PointCheck {
    /// `points` or the facility category.
    pub layer: String,
    /// Number of points.
    pub count: usize,
    /// Points in no area.
    pub outside: usize,
    /// The first of them.
    pub outside_listed: Vec<PointRef>,
    /// Points within the border tolerance of an area boundary.
    pub on_border: usize,
    /// The first of them.
    pub on_border_listed: Vec<PointRef>,
}

/// Checks of one area table (one `[[table]]` entry, i.e. one file).
#[derive(Debug, Clone, Serialize)]
pub struct TableCheck {
    /// Table name.
    pub name: String,
    /// Level key.
    pub level: String,
    /// The file.
    pub source: String,
    /// Data rows in the file.
    pub rows_read: usize,
    /// Rows whose values were used.
    pub rows_used: usize,
    /// Keys that match no area of the level, with the line of their first row (first few).
    pub unknown_ids: Vec<(String, usize)>,
    /// Number of such keys.
    pub unknown_count: usize,
    /// Rows not used because the file has another row for the same area and year (each also
    /// listed under the unreadable rows).
    pub duplicate_rows: usize,
    /// Per year: areas of the level without a row (only years with any).
    pub areas_without_row: Vec<(i32, usize)>,
    /// Rows on another day than the Stichtag (not used, by configuration).
    pub other_stichtag: usize,
    /// Cells without a value per marker: (marker, meaning, cells).
    pub markers: Vec<(String, String, usize)>,
}

/// Unreadable rows of one file.
#[derive(Debug, Clone, Serialize)]
pub struct DiagnosticsByFile {
    /// File.
    pub path: String,
    /// Number of problems.
    pub count: usize,
    /// The first of them.
    pub listed: Vec<Diagnostic>,
}

/// Converts working-CRS coordinates to lon/lat for the report (one reprojector per run).
struct LonLat(Option<crate::crs::Reprojector>);

impl LonLat {
    fn new(epsg: u32) -> Self {
        Self(crate::crs::Reprojector::new(epsg, 4326).ok())
    }

    fn loc(&self, x: f64, y: f64) -> Location {
        let ll = if x.is_finite() && y.is_finite() {
            self.0.as_ref().and_then(|p| p.transform(x, y).ok())
        } else {
            None
        };
        Location {
            x,
            y,
            lon: ll.map(|(lon, _)| round_to(lon, 7)),
            lat: ll.map(|(_, lat)| round_to(lat, 7)),
        }
    }
}

fn round_to(v: f64, decimals: i32) -> f64 {
    let f = 10f64.powi(decimals);
    (v * f).round() / f
}

/// Runs every check on a loaded dataset. `diagnostics` are the row-level problems the loader
/// collected; each of them blocks.
pub fn run_checks(
    cfg: &ProjectConfig,
    dataset: &Dataset,
    diagnostics: &[Diagnostic],
    opts: &CheckOptions,
) -> CheckReport {
    let report = crate::project::LoadReport {
        diagnostics: diagnostics.to_vec(),
        ..Default::default()
    };
    run_checks_with(cfg, dataset, &report, opts)
}

/// As [`run_checks`], with everything the loader found ([`crate::project::LoadReport`]):
/// its diagnostics block, its table findings and repairs are listed.
pub fn run_checks_with(
    cfg: &ProjectConfig,
    dataset: &Dataset,
    load: &crate::project::LoadReport,
    opts: &CheckOptions,
) -> CheckReport {
    let diagnostics = load.diagnostics.as_slice();
    let started = std::time::Instant::now();
    let lonlat = LonLat::new(dataset.working_epsg);
    let mut blocking: Vec<String> = Vec::new();
    let mut warnings: Vec<String> = Vec::new();
    if cfg.disclosure.threshold < 3 {
        warnings.push(format!(
            "[disclosure] threshold = {}: counts below 3 are published (reason given: {})",
            cfg.disclosure.threshold,
            cfg.disclosure
                .low_threshold_reason
                .as_deref()
                .unwrap_or("–")
        ));
    }

    let counts = Counts {
        levels: dataset
            .levels
            .iter()
            .map(|l| LevelCount {
                key: l.key.clone(),
                areas: l.areas.len(),
                with_geometry: l.areas.iter().filter(|a| a.geometry.is_some()).count(),
            })
            .collect(),
        points: dataset.points.len(),
        years: {
            let mut y = dataset.points.years();
            y.extend(kleinraum_aggregate::aggregate::table_years(&dataset.tables));
            y.sort_unstable();
            y.dedup();
            y
        },
        count_columns: {
            let mut c = dataset.points.column_names();
            for t in &dataset.tables {
                for n in t.count_columns() {
                    if !c.iter().any(|x| x == n) {
                        c.push(n.to_string());
                    }
                }
            }
            c
        },
        facilities: dataset
            .facilities
            .iter()
            .map(|f| NamedCount {
                name: f.category.clone(),
                count: f.len(),
            })
            .collect(),
        tables: dataset
            .tables
            .iter()
            .map(|t| TableCount {
                name: t.name.clone(),
                level: t.level.clone(),
                years: t.distinct_years(),
                rows: t.ids.len(),
                columns: t.columns.iter().map(|c| c.name.clone()).collect(),
                counts: t.count_columns().map(str::to_string).collect(),
            })
            .collect(),
    };

    // Levels. The loader skips features with an empty or duplicate id (with a diagnostic), so
    // those findings come from the diagnostics; everything else is recomputed from the data.
    let mut covered = vec![false; diagnostics.len()];
    let mut levels = Vec::with_capacity(dataset.levels.len());
    for (li, level) in dataset.levels.iter().enumerate() {
        let src = cfg.levels.iter().find(|l| l.key == level.key);
        // Paths in a loaded config are already resolved.
        let source = src.and_then(|l| l.source.clone());
        let next = dataset.levels.get(li + 1);
        let mine: Vec<usize> = match &source {
            Some(path) => (0..diagnostics.len())
                .filter(|&i| &diagnostics[i].path == path)
                .collect(),
            None => Vec::new(),
        };
        let skipped: HashSet<usize> = mine
            .iter()
            .map(|&i| &diagnostics[i])
            .filter(|d| d.message.contains("skipped"))
            .map(|d| d.row)
            .collect();
        let features = feature_numbers(level.areas.len(), &skipped);
        let mut report = check_level(level, next, source, &features, opts, &lonlat);
        let id_field = src.map(|l| l.id_field.as_str()).unwrap_or("");
        absorb_level_diagnostics(
            &mut report,
            level,
            &features,
            id_field,
            diagnostics,
            &mine,
            &mut covered,
        );
        summarise_level(&report, opts, &mut blocking, &mut warnings);
        levels.push(report);
    }

    // Points and facilities against the finest level.
    let mut points = None;
    let mut facilities = Vec::new();
    if let Some(finest) = dataset.levels.first() {
        let polys: Vec<MultiPolygon<f64>> = finest
            .areas
            .iter()
            .map(|a| a.geometry.clone().unwrap_or_else(|| MultiPolygon(vec![])))
            .collect();
        let index = GridIndex::build(&polys);
        if cfg.points.is_some() || !dataset.points.is_empty() {
            let p = &dataset.points;
            let pc = check_points(
                "points",
                &p.x,
                &p.y,
                |i| p.keys.get(i).map(std::borrow::Cow::into_owned),
                &index,
                opts,
                &lonlat,
            );
            summarise_points(&pc, &finest.key, &mut warnings);
            points = Some(pc);
        }
        for f in &dataset.facilities {
            let pc = check_points(
                &f.category,
                &f.x,
                &f.y,
                |i| f.ids.get(i).cloned(),
                &index,
                opts,
                &lonlat,
            );
            summarise_points(&pc, &finest.key, &mut warnings);
            facilities.push(pc);
        }
    }

    // Tables: what the loader found per file. Keys matching no area and rows of another
    // Stichtag are warnings (their rows are not used; `aggregate` and `serve` print the same);
    // a second row for an area and year blocks (it is an unreadable row as well).
    let mut tables = Vec::new();
    let mut notes: Vec<String> = Vec::new();
    for info in &load.tables {
        let Some(level) = dataset.levels.iter().find(|l| l.key == info.level) else {
            blocking.push(format!(
                "table {}: level {:?} does not exist",
                info.name, info.level
            ));
            continue;
        };
        let duplicate_rows = diagnostics
            .iter()
            .filter(|d| {
                d.path == info.source
                    && (d.message.starts_with("a second row")
                        || d.message.contains("is given twice"))
            })
            .count();
        // Areas without a row, per year of this file.
        let mut have: HashSet<(&str, i32)> = HashSet::new();
        if let Some(t) = dataset.tables.iter().find(|t| t.name == info.name) {
            for (id, y) in t.ids.iter().zip(&t.years) {
                if info.years.contains(y) {
                    have.insert((id.as_str(), *y));
                }
            }
        }
        let areas_without_row: Vec<(i32, usize)> = info
            .years
            .iter()
            .map(|&y| {
                (
                    y,
                    level
                        .areas
                        .iter()
                        .filter(|a| !have.contains(&(a.id.as_str(), y)))
                        .count(),
                )
            })
            .filter(|(_, n)| *n > 0)
            .collect();
        for n in crate::project::table_notes(info) {
            // Keys that match no area are a surprise; the rest is what was configured.
            if n.contains("match no area") {
                warnings.push(n);
            } else {
                notes.push(n);
            }
        }
        if let Some((y, n)) = areas_without_row.first() {
            warnings.push(format!(
                "table {}: {} area(s) of level {} have no row for {y} (their values are missing, shown as \"–\")",
                info.name, n, info.level
            ));
        }
        tables.push(TableCheck {
            name: info.name.clone(),
            level: info.level.clone(),
            source: info.source.clone(),
            rows_read: info.rows_read,
            rows_used: info.rows_used,
            unknown_ids: info
                .unmatched
                .iter()
                .take(opts.list_limit)
                .cloned()
                .collect(),
            unknown_count: info.unmatched.len(),
            duplicate_rows,
            areas_without_row,
            other_stichtag: info.other_stichtag,
            markers: info.markers.clone(),
        });
    }
    for r in &load.repairs {
        notes.push(format!(
            "{}: area {} repaired (repair = true): area {} → {}",
            r.level,
            r.id,
            fmt_area(r.area_before_m2),
            fmt_area(r.area_after_m2)
        ));
    }

    // Unreadable rows, per file in first-seen order.
    let mut unreadable: Vec<DiagnosticsByFile> = Vec::new();
    for (d, _) in diagnostics.iter().zip(&covered).filter(|(_, c)| !**c) {
        let pos = match unreadable.iter().position(|u| u.path == d.path) {
            Some(p) => p,
            None => {
                unreadable.push(DiagnosticsByFile {
                    path: d.path.clone(),
                    count: 0,
                    listed: Vec::new(),
                });
                unreadable.len() - 1
            }
        };
        let u = &mut unreadable[pos];
        u.count += 1;
        if u.listed.len() < opts.diagnostics_limit {
            u.listed.push(d.clone());
        }
    }
    for u in &unreadable {
        blocking.push(format!(
            "{}: {} row(s)/feature(s) could not be read (first: {}, field {:?}: {})",
            u.path,
            u.count,
            u.listed[0].place(),
            u.listed[0].field,
            u.listed[0].message
        ));
    }

    let verdict = if !blocking.is_empty() {
        Verdict::Blocking
    } else if !warnings.is_empty() {
        Verdict::Warnings
    } else {
        Verdict::Ok
    };
    CheckReport {
        config: None,
        title: cfg.title.clone(),
        working_epsg: dataset.working_epsg,
        verdict,
        exit_code: i32::from(verdict == Verdict::Blocking),
        blocking,
        warnings,
        notes,
        settings: ReportSettings {
            min_area_m2: opts.min_area_m2,
            border_tolerance_m: opts.border_tolerance_m,
        },
        counts,
        levels,
        points,
        facilities,
        tables,
        repairs: load.repairs.clone(),
        crs: load.crs.clone(),
        unreadable,
        load_seconds: None,
        check_seconds: started.elapsed().as_secs_f64(),
    }
}

/// The 1-based source feature number of each area: areas are in source order, minus the
/// features the loader skipped (each of which it reported).
fn feature_numbers(n_areas: usize, skipped: &HashSet<usize>) -> Vec<usize> {
    let mut out = Vec::with_capacity(n_areas);
    let mut n = 0;
    while out.len() < n_areas {
        n += 1;
        if !skipped.contains(&n) {
            out.push(n);
        }
    }
    out
}

/// Moves the loader's id diagnostics of one level into its report and marks the diagnostics
/// the report already shows (geometry problems, unknown parents) as covered, so they are not
/// listed twice.
fn absorb_level_diagnostics(
    report: &mut LevelReport,
    level: &Level,
    features: &[usize],
    id_field: &str,
    diagnostics: &[Diagnostic],
    mine: &[usize],
    covered: &mut [bool],
) {
    let geometry_messages: HashSet<String> = report
        .invalid_geometries
        .iter()
        .flat_map(|g| {
            g.problems
                .iter()
                .map(move |p| format!("area {}: {}", g.id, p.message))
        })
        .collect();
    for &i in mine {
        let d = &diagnostics[i];
        if d.field == id_field && d.message.starts_with("duplicate id") {
            let first = level
                .areas
                .iter()
                .position(|a| a.id == d.value)
                .map(|p| features[p]);
            match report.duplicate_ids.iter_mut().find(|x| x.id == d.value) {
                Some(x) => x.features.push(d.row),
                None => report.duplicate_ids.push(DuplicateId {
                    id: d.value.clone(),
                    features: first.into_iter().chain([d.row]).collect(),
                }),
            }
            covered[i] = true;
        } else if d.field == id_field && d.message.starts_with("empty id") {
            report.empty_ids.push(d.row);
            covered[i] = true;
        } else {
            let geometry = d.field == "geometry" && geometry_messages.contains(&d.message);
            let parent = !report.parent_problems.is_empty()
                && (d.message.contains("is not an area of level")
                    || d.message.ends_with("empty parent id"));
            if geometry || parent {
                covered[i] = true;
            }
        }
    }
    for dup in &mut report.duplicate_ids {
        dup.features.sort_unstable();
    }
    report.empty_ids.sort_unstable();
}

/// Checks one level: geometry validity, ids, parents and (with geometry) coverage.
fn check_level(
    level: &Level,
    next: Option<&Level>,
    source: Option<String>,
    features: &[usize],
    opts: &CheckOptions,
    lonlat: &LonLat,
) -> LevelReport {
    let problems: Vec<(usize, Vec<GeometryProblem>)> = level
        .areas
        .par_iter()
        .enumerate()
        .filter_map(|(i, a)| {
            let g = a.geometry.as_ref()?;
            let p = geometry_problems(g);
            (!p.is_empty()).then_some((i, p))
        })
        .collect();
    let invalid_geometries = problems
        .into_iter()
        .map(|(i, ps)| InvalidGeometry {
            id: level.areas[i].id.clone(),
            name: level.areas[i].name.clone(),
            feature: features[i],
            problems: ps
                .into_iter()
                .map(|p| LocatedProblem {
                    kind: p.kind,
                    message: p.message,
                    location: lonlat.loc(p.x, p.y),
                })
                .collect(),
        })
        .collect();

    let mut by_id: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    let mut empty_ids = Vec::new();
    for (i, a) in level.areas.iter().enumerate() {
        if a.id.trim().is_empty() {
            empty_ids.push(features[i]);
        } else {
            by_id.entry(a.id.as_str()).or_default().push(features[i]);
        }
    }
    let duplicate_ids = by_id
        .into_iter()
        .filter(|(_, f)| f.len() > 1)
        .map(|(id, features)| DuplicateId {
            id: id.to_string(),
            features,
        })
        .collect();

    let mut parent_problems = Vec::new();
    if let Some(next) = next {
        let parents: HashSet<&str> = next.areas.iter().map(|a| a.id.as_str()).collect();
        for (i, a) in level.areas.iter().enumerate() {
            let ok = a.parent.as_deref().is_some_and(|p| parents.contains(p));
            if !ok {
                parent_problems.push(ParentProblem {
                    id: a.id.clone(),
                    feature: features[i],
                    parent: a.parent.clone(),
                });
            }
        }
    }

    let with_geometry: Vec<(usize, &MultiPolygon<f64>)> = level
        .areas
        .iter()
        .enumerate()
        .filter_map(|(i, a)| a.geometry.as_ref().map(|g| (i, g)))
        .collect();
    let coverage =
        (!with_geometry.is_empty()).then(|| coverage(level, &with_geometry, opts, lonlat));

    LevelReport {
        key: level.key.clone(),
        title: level.title.clone(),
        source,
        areas: level.areas.len(),
        without_geometry: level.areas.len() - with_geometry.len(),
        invalid_geometries,
        duplicate_ids,
        empty_ids,
        parent_problems,
        coverage,
    }
}

/// Overlaps (pairwise intersections of bbox candidates) and gaps (holes of the union).
fn coverage(
    level: &Level,
    geoms: &[(usize, &MultiPolygon<f64>)],
    opts: &CheckOptions,
    lonlat: &LonLat,
) -> Coverage {
    // Boolean operations need one winding convention (exterior counter-clockwise).
    let oriented: Vec<MultiPolygon<f64>> = geoms
        .par_iter()
        .map(|(_, g)| g.orient(Direction::Default))
        .collect();
    let boxes: Vec<Option<geo::Rect<f64>>> = oriented.iter().map(|g| g.bounding_rect()).collect();
    let tree: RTree<GeomWithData<Rectangle<[f64; 2]>, usize>> = RTree::bulk_load(
        boxes
            .iter()
            .enumerate()
            .filter_map(|(k, b)| {
                b.map(|b| {
                    GeomWithData::new(
                        Rectangle::from_corners([b.min().x, b.min().y], [b.max().x, b.max().y]),
                        k,
                    )
                })
            })
            .collect(),
    );
    let mut pairs: Vec<(usize, usize)> = Vec::new();
    for (k, b) in boxes.iter().enumerate() {
        let Some(b) = b else { continue };
        let env = AABB::from_corners([b.min().x, b.min().y], [b.max().x, b.max().y]);
        for other in tree.locate_in_envelope_intersecting(&env) {
            if other.data > k {
                pairs.push((k, other.data));
            }
        }
    }
    pairs.sort_unstable();

    // (first, second, area, pieces, point in the largest piece)
    type PairHit = (usize, usize, f64, usize, Option<Coord<f64>>);
    let hits: Vec<PairHit> = pairs
        .par_iter()
        .filter_map(|&(k, m)| {
            let inter = oriented[k].intersection(&oriented[m]);
            let area = inter.unsigned_area();
            if area <= 0.0 {
                return None;
            }
            let largest = inter
                .0
                .iter()
                .max_by(|p, q| p.unsigned_area().total_cmp(&q.unsigned_area()));
            let at = largest.and_then(|p| p.interior_point()).map(|p| p.0);
            Some((k, m, area, inter.0.len(), at))
        })
        .collect();
    let mut overlaps = SliverSummary {
        count: 0,
        total_area_m2: 0.0,
        listed: Vec::new(),
        below_tolerance_count: 0,
        below_tolerance_area_m2: 0.0,
    };
    for (k, m, area, pieces, at) in hits {
        if area < opts.min_area_m2 {
            overlaps.below_tolerance_count += 1;
            overlaps.below_tolerance_area_m2 += area;
            continue;
        }
        overlaps.count += 1;
        overlaps.total_area_m2 += area;
        let at = at.unwrap_or(Coord {
            x: f64::NAN,
            y: f64::NAN,
        });
        overlaps.listed.push(Overlap {
            a: level.areas[geoms[k].0].id.clone(),
            b: level.areas[geoms[m].0].id.clone(),
            area_m2: area,
            pieces,
            location: lonlat.loc(at.x, at.y),
        });
    }
    overlaps
        .listed
        .sort_by(|p, q| q.area_m2.total_cmp(&p.area_m2));

    let union = geo::unary_union(oriented.iter());
    let union_area_m2 = union.unsigned_area();
    let sum_area_m2: f64 = oriented.iter().map(|g| g.unsigned_area()).sum();
    let mut gaps = SliverSummary {
        count: 0,
        total_area_m2: 0.0,
        listed: Vec::new(),
        below_tolerance_count: 0,
        below_tolerance_area_m2: 0.0,
    };
    for poly in &union.0 {
        for hole in poly.interiors() {
            let hole_poly = Polygon::new(hole.clone(), vec![]);
            let area = hole_poly.unsigned_area();
            if area <= 0.0 {
                continue;
            }
            if area < opts.min_area_m2 {
                gaps.below_tolerance_count += 1;
                gaps.below_tolerance_area_m2 += area;
                continue;
            }
            gaps.count += 1;
            gaps.total_area_m2 += area;
            let at = hole_poly.interior_point().map(|p| p.0).unwrap_or(Coord {
                x: f64::NAN,
                y: f64::NAN,
            });
            let neighbours = gap_neighbours(hole, &tree, &oriented)
                .into_iter()
                .map(|k| level.areas[geoms[k].0].id.clone())
                .collect();
            gaps.listed.push(Gap {
                area_m2: area,
                location: lonlat.loc(at.x, at.y),
                neighbours,
            });
        }
    }
    gaps.listed.sort_by(|p, q| q.area_m2.total_cmp(&p.area_m2));

    Coverage {
        sum_area_m2,
        union_area_m2,
        overlaps,
        gaps,
    }
}

/// The areas whose boundary passes within 5 cm of the gap's ring (sampled).
fn gap_neighbours(
    hole: &LineString<f64>,
    tree: &RTree<GeomWithData<Rectangle<[f64; 2]>, usize>>,
    oriented: &[MultiPolygon<f64>],
) -> Vec<usize> {
    const NEAR: f64 = 0.05;
    let Some(b) = hole.bounding_rect() else {
        return Vec::new();
    };
    let env = AABB::from_corners(
        [b.min().x - NEAR, b.min().y - NEAR],
        [b.max().x + NEAR, b.max().y + NEAR],
    );
    // Sampling keeps this cheap for long gap rings; every bordering area owns many vertices.
    let step = (hole.0.len() / 200).max(1);
    let samples: Vec<Coord<f64>> = hole.0.iter().step_by(step).copied().collect();
    let mut out: Vec<usize> = tree
        .locate_in_envelope_intersecting(&env)
        .map(|g| g.data)
        .filter(|&k| {
            oriented[k].0.iter().any(|p| {
                std::iter::once(p.exterior())
                    .chain(p.interiors())
                    .any(|ring| {
                        ring.lines().any(|l| {
                            samples.iter().any(|&c| {
                                kleinraum_aggregate::spatial::segment_distance(c, l.start, l.end)
                                    <= NEAR
                            })
                        })
                    })
            })
        })
        .collect();
    out.sort_unstable();
    out
}

/// Points outside every area and points on a border.
fn check_points(
    layer: &str,
    xs: &[f64],
    ys: &[f64],
    key: impl Fn(usize) -> Option<String>,
    index: &GridIndex,
    opts: &CheckOptions,
    lonlat: &LonLat,
) -> PointCheck {
    let assigned = index.assign(xs, ys);
    let outside_idx: Vec<usize> = assigned
        .iter()
        .enumerate()
        .filter(|(_, a)| **a == OUTSIDE)
        .map(|(i, _)| i)
        .collect();
    let tol = opts.border_tolerance_m;
    let border_idx: Vec<usize> = xs
        .par_iter()
        .zip(ys.par_iter())
        .enumerate()
        .filter(|(_, (x, y))| x.is_finite() && y.is_finite() && index.near_boundary(**x, **y, tol))
        .map(|(i, _)| i)
        .collect();
    let point_ref = |i: usize| PointRef {
        key: key(i)
            .filter(|k| !k.is_empty())
            .unwrap_or_else(|| format!("#{}", i + 1)),
        location: lonlat.loc(xs[i], ys[i]),
    };
    PointCheck {
        layer: layer.to_string(),
        count: xs.len(),
        outside: outside_idx.len(),
        outside_listed: outside_idx
            .iter()
            .take(opts.list_limit)
            .map(|&i| point_ref(i))
            .collect(),
        on_border: border_idx.len(),
        on_border_listed: border_idx
            .iter()
            .take(opts.list_limit)
            .map(|&i| point_ref(i))
            .collect(),
    }
}

fn summarise_level(
    r: &LevelReport,
    opts: &CheckOptions,
    blocking: &mut Vec<String>,
    warnings: &mut Vec<String>,
) {
    let key = &r.key;
    if !r.invalid_geometries.is_empty() {
        let first = &r.invalid_geometries[0];
        blocking.push(format!(
            "{key}: {} invalid geometr{} (first: id {} feature {}: {}); `repair = true` on the level makes them valid and lists what changed",
            r.invalid_geometries.len(),
            if r.invalid_geometries.len() == 1 {
                "y"
            } else {
                "ies"
            },
            first.id,
            first.feature,
            first.problems[0].message
        ));
    }
    if !r.duplicate_ids.is_empty() {
        let d = &r.duplicate_ids[0];
        blocking.push(format!(
            "{key}: {} duplicate id(s) (first: {:?} in features {})",
            r.duplicate_ids.len(),
            d.id,
            join_numbers(&d.features)
        ));
    }
    if !r.empty_ids.is_empty() {
        blocking.push(format!(
            "{key}: {} area(s) with an empty id (features {})",
            r.empty_ids.len(),
            join_numbers(&r.empty_ids[..r.empty_ids.len().min(10)])
        ));
    }
    if !r.parent_problems.is_empty() {
        let p = &r.parent_problems[0];
        blocking.push(format!(
            "{key}: {} area(s) whose parent is missing on the next level (first: id {} → {})",
            r.parent_problems.len(),
            p.id,
            p.parent.as_deref().unwrap_or("no parent")
        ));
    }
    if r.without_geometry > 0 && r.without_geometry < r.areas {
        blocking.push(format!(
            "{key}: {} of {} areas have no geometry",
            r.without_geometry, r.areas
        ));
    }
    if let Some(c) = &r.coverage {
        if c.overlaps.count > 0 {
            warnings.push(format!(
                "{key}: {} overlap(s) ≥ {} m² between areas, {} in total",
                c.overlaps.count,
                fmt_num(opts.min_area_m2, 1),
                fmt_area(c.overlaps.total_area_m2)
            ));
        }
        if c.gaps.count > 0 {
            warnings.push(format!(
                "{key}: {} gap(s) ≥ {} m² between areas, {} in total",
                c.gaps.count,
                fmt_num(opts.min_area_m2, 1),
                fmt_area(c.gaps.total_area_m2)
            ));
        }
    }
}

fn summarise_points(p: &PointCheck, finest: &str, warnings: &mut Vec<String>) {
    if p.outside > 0 {
        warnings.push(format!(
            "{}: {} of {} points lie outside every {finest} area",
            p.layer,
            fmt_int(p.outside as u64),
            fmt_int(p.count as u64)
        ));
    }
    if p.on_border > 0 {
        warnings.push(format!(
            "{}: {} points lie on an area border (assigned by the border rule)",
            p.layer,
            fmt_int(p.on_border as u64)
        ));
    }
}

// ---------------------------------------------------------------------------------------------
// Text output

/// Integer with thousands separators: `401,032`.
pub fn fmt_int(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, ch) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// Number with thousands separators and `decimals` decimals: `12,345.7`.
pub fn fmt_num(v: f64, decimals: usize) -> String {
    if !v.is_finite() {
        return "–".into();
    }
    let s = format!("{:.*}", decimals, v.abs());
    let (int, frac) = s.split_once('.').unwrap_or((&s, ""));
    let mut out = String::new();
    if v < 0.0 && s.chars().any(|c| c.is_ascii_digit() && c != '0') {
        out.push('-');
    }
    out.push_str(&fmt_int(int.parse().unwrap_or(0)));
    if !frac.is_empty() {
        out.push('.');
        out.push_str(frac);
    }
    out
}

/// An area for people: m² below 10,000 (with decimals for slivers), else also km².
pub fn fmt_area(m2: f64) -> String {
    if m2 < 1.0 {
        format!("{} m²", fmt_num(m2, 3))
    } else if m2 < 100.0 {
        format!("{} m²", fmt_num(m2, 1))
    } else if m2 < 1e5 {
        format!("{} m²", fmt_num(m2, 0))
    } else {
        format!("{} m² ({} km²)", fmt_num(m2, 0), fmt_num(m2 / 1e6, 3))
    }
}

fn fmt_loc(l: &Location) -> String {
    let mut s = format!("x {} y {}", fmt_num(l.x, 2), fmt_num(l.y, 2));
    if let (Some(lon), Some(lat)) = (l.lon, l.lat) {
        let _ = write!(s, " (lon {lon:.6}, lat {lat:.6})");
    }
    s
}

fn join_numbers(v: &[usize]) -> String {
    v.iter()
        .map(|n| n.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

impl CheckReport {
    /// The human-readable report (English with German domain terms).
    pub fn render_text(&self) -> String {
        let mut s = String::new();
        let w = &mut s;
        let _ = writeln!(w, "kleinraum check — {}", self.title);
        if let Some(c) = &self.config {
            let _ = writeln!(w, "config: {c}");
        }
        let _ = writeln!(
            w,
            "Arbeits-KBS / working CRS: EPSG:{}; sliver tolerance {} m²; border tolerance {} m",
            self.working_epsg,
            fmt_num(self.settings.min_area_m2, 2),
            self.settings.border_tolerance_m
        );

        let _ = writeln!(w, "\n== Inhalt / contents ==");
        for l in &self.counts.levels {
            let _ = writeln!(
                w,
                "  Ebene {:<20} {:>8} areas ({} with geometry)",
                l.key,
                fmt_int(l.areas as u64),
                fmt_int(l.with_geometry as u64)
            );
        }
        let _ = writeln!(
            w,
            "  Adresspunkte               {:>8}",
            fmt_int(self.counts.points as u64)
        );
        if !self.counts.years.is_empty() {
            let years: Vec<String> = self.counts.years.iter().map(|y| y.to_string()).collect();
            let _ = writeln!(w, "    years: {}", years.join(", "));
            let _ = writeln!(
                w,
                "    count columns ({}): {}",
                self.counts.count_columns.len(),
                self.counts.count_columns.join(", ")
            );
        }
        for f in &self.counts.facilities {
            let _ = writeln!(
                w,
                "  Einrichtungen {:<13} {:>8}",
                f.name,
                fmt_int(f.count as u64)
            );
        }
        for t in &self.counts.tables {
            let years = match (t.years.first(), t.years.last()) {
                (Some(a), Some(b)) if a == b => a.to_string(),
                (Some(a), Some(b)) => format!("{a}–{b} ({} years)", t.years.len()),
                _ => "no rows".into(),
            };
            let _ = writeln!(
                w,
                "  Tabelle {} ({}, {years}): {} rows (area × year), columns {}{}",
                t.name,
                t.level,
                fmt_int(t.rows as u64),
                t.columns.join(", "),
                if t.counts.is_empty() {
                    String::new()
                } else {
                    format!("; counts: {}", t.counts.join(", "))
                }
            );
        }
        for (src, crs) in &self.crs {
            let _ = writeln!(w, "  KBS / CRS of {src}: {crs}");
        }

        let _ = writeln!(w, "\n== Geometrie und Gebietsgliederung / geometry ==");
        for l in &self.levels {
            let _ = writeln!(
                w,
                "  {} — {} ({} areas)",
                l.key,
                l.title,
                fmt_int(l.areas as u64)
            );
            if let Some(src) = &l.source {
                let _ = writeln!(w, "    source: {src}");
            }
            if l.without_geometry == l.areas {
                let _ = writeln!(w, "    no geometry (defined through the hierarchy)");
            } else if l.without_geometry > 0 {
                let _ = writeln!(w, "    {} areas without geometry", l.without_geometry);
            }
            let _ = writeln!(w, "    invalid geometries: {}", l.invalid_geometries.len());
            for g in l.invalid_geometries.iter().take(20) {
                let _ = writeln!(w, "      id {} {:?} (feature {}):", g.id, g.name, g.feature);
                for p in &g.problems {
                    let _ = writeln!(w, "        {} at {}", p.message, fmt_loc(&p.location));
                }
            }
            if l.invalid_geometries.len() > 20 {
                let _ = writeln!(
                    w,
                    "      … {} more (see --json)",
                    l.invalid_geometries.len() - 20
                );
            }
            if !l.duplicate_ids.is_empty() {
                let _ = writeln!(w, "    duplicate ids: {}", l.duplicate_ids.len());
                for d in l.duplicate_ids.iter().take(20) {
                    let _ = writeln!(
                        w,
                        "      {:?} in features {}",
                        d.id,
                        join_numbers(&d.features)
                    );
                }
            }
            if !l.empty_ids.is_empty() {
                let _ = writeln!(
                    w,
                    "    empty ids: {} (features {})",
                    l.empty_ids.len(),
                    join_numbers(&l.empty_ids[..l.empty_ids.len().min(20)])
                );
            }
            if !l.parent_problems.is_empty() {
                let _ = writeln!(
                    w,
                    "    parents missing on the next level: {}",
                    l.parent_problems.len()
                );
                for p in l.parent_problems.iter().take(10) {
                    let _ = writeln!(
                        w,
                        "      id {} (feature {}) → {}",
                        p.id,
                        p.feature,
                        p.parent.as_deref().unwrap_or("(none)")
                    );
                }
            }
            if let Some(c) = &l.coverage {
                let _ = writeln!(
                    w,
                    "    area sum {}; union {}",
                    fmt_area(c.sum_area_m2),
                    fmt_area(c.union_area_m2)
                );
                let _ = writeln!(
                    w,
                    "    Überlappungen / overlaps ≥ {} m²: {} ({} in total); below: {} ({})",
                    fmt_num(self.settings.min_area_m2, 2),
                    c.overlaps.count,
                    fmt_area(c.overlaps.total_area_m2),
                    c.overlaps.below_tolerance_count,
                    fmt_area(c.overlaps.below_tolerance_area_m2)
                );
                for o in c.overlaps.listed.iter().take(20) {
                    let _ = writeln!(
                        w,
                        "      {} ∩ {}: {} at {}",
                        o.a,
                        o.b,
                        fmt_area(o.area_m2),
                        fmt_loc(&o.location)
                    );
                }
                if c.overlaps.listed.len() > 20 {
                    let _ = writeln!(
                        w,
                        "      … {} more (see --json)",
                        c.overlaps.listed.len() - 20
                    );
                }
                let _ = writeln!(
                    w,
                    "    Lücken / gaps ≥ {} m²: {} ({} in total); below: {} ({})",
                    fmt_num(self.settings.min_area_m2, 2),
                    c.gaps.count,
                    fmt_area(c.gaps.total_area_m2),
                    c.gaps.below_tolerance_count,
                    fmt_area(c.gaps.below_tolerance_area_m2)
                );
                for g in c.gaps.listed.iter().take(20) {
                    let _ = writeln!(
                        w,
                        "      {} at {} between {}",
                        fmt_area(g.area_m2),
                        fmt_loc(&g.location),
                        g.neighbours.join(", ")
                    );
                }
                if c.gaps.listed.len() > 20 {
                    let _ = writeln!(w, "      … {} more (see --json)", c.gaps.listed.len() - 20);
                }
            }
        }

        let _ = writeln!(w, "\n== Punkte / points ==");
        for p in self.points.iter().chain(&self.facilities) {
            let _ = writeln!(
                w,
                "  {}: {} points; outside every area: {}; on a border (≤ {} m): {}",
                p.layer,
                fmt_int(p.count as u64),
                fmt_int(p.outside as u64),
                self.settings.border_tolerance_m,
                fmt_int(p.on_border as u64)
            );
            for r in &p.outside_listed {
                let _ = writeln!(w, "      outside: {} at {}", r.key, fmt_loc(&r.location));
            }
            for r in &p.on_border_listed {
                let _ = writeln!(w, "      on border: {} at {}", r.key, fmt_loc(&r.location));
            }
        }
        if !self.tables.is_empty() {
            let _ = writeln!(w, "\n== Tabellen / tables ==");
            for t in &self.tables {
                let _ = writeln!(
                    w,
                    "  {} ({}) {}: {} rows read, {} used; keys matching no area: {}; duplicate rows: {}; rows of another Stichtag: {}",
                    t.name,
                    t.level,
                    t.source,
                    fmt_int(t.rows_read as u64),
                    fmt_int(t.rows_used as u64),
                    t.unknown_count,
                    t.duplicate_rows,
                    fmt_int(t.other_stichtag as u64)
                );
                for (k, line) in &t.unknown_ids {
                    let _ = writeln!(w, "      matches no area: {k:?} (line {line})");
                }
                if t.unknown_count > t.unknown_ids.len() {
                    let _ = writeln!(w, "      … {} more", t.unknown_count - t.unknown_ids.len());
                }
                for (y, n) in &t.areas_without_row {
                    let _ = writeln!(w, "      {y}: {n} area(s) without a row");
                }
                for (m, meaning, n) in &t.markers {
                    let _ = writeln!(w, "      {n} cell(s) {m:?} = {meaning} (no value)");
                }
            }
        }
        if !self.repairs.is_empty() {
            let _ = writeln!(w, "\n== Reparierte Geometrien / repaired geometries ==");
            for r in &self.repairs {
                let _ = writeln!(w, "  {}: {}", r.level, r.describe());
            }
        }
        let _ = writeln!(w, "\n== Nicht lesbare Zeilen / unreadable rows ==");
        if self.unreadable.is_empty() {
            let _ = writeln!(w, "  none");
        }
        for u in &self.unreadable {
            let _ = writeln!(w, "  {}: {}", u.path, fmt_int(u.count as u64));
            for d in &u.listed {
                let _ = writeln!(
                    w,
                    "      {}: field {:?}, value {:?}: {}",
                    d.place(),
                    d.field,
                    d.value,
                    d.message
                );
            }
            if u.count > u.listed.len() {
                let _ = writeln!(
                    w,
                    "      … {} more",
                    fmt_int((u.count - u.listed.len()) as u64)
                );
            }
        }

        let _ = writeln!(w, "\n== Ergebnis / verdict ==");
        match self.verdict {
            Verdict::Ok => {
                let _ = writeln!(w, "  OK: no problems found");
            }
            Verdict::Warnings => {
                let _ = writeln!(w, "  OK with warnings (exit code 0)");
            }
            Verdict::Blocking => {
                let _ = writeln!(w, "  BLOCKING: fix these first (exit code 1)");
            }
        }
        for b in &self.blocking {
            let _ = writeln!(w, "  [blocking] {b}");
        }
        for x in &self.warnings {
            let _ = writeln!(w, "  [warning]  {x}");
        }
        for x in &self.notes {
            let _ = writeln!(w, "  [note]     {x}");
        }
        match self.load_seconds {
            Some(l) => {
                let _ = writeln!(
                    w,
                    "  loading took {l:.2} s, checks {:.2} s",
                    self.check_seconds
                );
            }
            None => {
                let _ = writeln!(w, "  checks took {:.2} s", self.check_seconds);
            }
        }
        s
    }
}
