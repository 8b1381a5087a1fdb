//! Draft sessions: a copy of a version edited in memory by split, merge, reshape and draw,
//! recomputed incrementally (only the points near an edit are located again; sums change by
//! the difference). An operation works on a copy of the session and replaces it only when every
//! step succeeded, so a failed or panicking operation leaves the session as it was.

use crate::Error;
use crate::error::{EditError, GeometryError};
use crate::workspace::{Computed, Workspace, now_rfc3339};
use geo::{Area as _, BooleanOps, BoundingRect, MultiPolygon, Polygon};
use kleinraum_aggregate::aggregate::FinestSums;
use kleinraum_aggregate::model::{Area, AreaTable, PointLayer, TableColumn};
use kleinraum_aggregate::redefine::{self, Crosswalk, Measure};
use kleinraum_aggregate::result::{AggregateResult, FacilityStats};
use kleinraum_aggregate::spatial::OUTSIDE;
use kleinraum_store::{AuditEntry, Status, VersionMeta};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

/// A draft operation with its geometries in the working CRS (see
/// [`Workspace::draft_geometry`] for geometries that come in as WGS 84).
#[derive(Debug, Clone)]
pub enum DraftOp {
    /// Split `area` by a drawn polygon: `area-1` inside, `area-2` outside.
    Split {
        /// The area.
        area: String,
        /// The cutting polygon.
        by: MultiPolygon<f64>,
    },
    /// Merge areas into the first.
    Merge {
        /// Area ids, at least two.
        areas: Vec<String>,
        /// Name of the merged area; `None` keeps the first area's (without a "(Teil n)" suffix).
        name: Option<String>,
    },
    /// New geometries for areas (vertex moves; shared vertices moved in every area).
    Reshape {
        /// (area id, new geometry).
        geometries: Vec<(String, MultiPolygon<f64>)>,
    },
    /// A new area drawn over existing ones, taking its land from them.
    Draw {
        /// The drawn polygon.
        by: MultiPolygon<f64>,
        /// Its name, or a generated one.
        name: Option<String>,
    },
}

/// Most vertices of one geometry a draft operation accepts (a drawn area has tens; a reshaped
/// Berlin PLR a few thousand).
pub const MAX_DRAFT_VERTICES: usize = 20_000;
/// Edge-pair comparisons the simplicity check of a draft geometry may make (~0.1 s).
const DRAFT_CHECK_BUDGET: u64 = 20_000_000;

/// A draft being edited.
#[derive(Debug, Clone)]
pub struct Session {
    /// Session id.
    pub id: String,
    /// Version it started from.
    pub base: String,
    /// Who started it.
    pub created_by: String,
    /// Areas (working CRS).
    pub areas: Vec<Area>,
    /// Area index per point.
    pub assignment: Vec<u32>,
    /// Area index per facility, per category.
    pub fac_assignment: Vec<Vec<u32>>,
    /// Current finest sums.
    pub finest: FinestSums,
    /// Operations applied, for the audit log.
    pub operations: Vec<String>,
    /// Ids of areas whose geometry differs from the base version (their table values are
    /// interpolated; all others keep the base's).
    pub touched: BTreeSet<String>,
}

/// Result of one draft operation.
#[derive(Debug)]
pub struct OpOutcome {
    /// Areas whose geometry or statistics changed (ids).
    pub changed: Vec<String>,
    /// Areas that no longer exist.
    pub removed: Vec<String>,
    /// Untouched neighbours that got a vertex of the edit inserted into a shared edge (same
    /// land and statistics; the client needs their new outline for later vertex moves).
    pub vertices_added: Vec<String>,
    /// Warnings: (kind, area, message, location in working CRS).
    pub warnings: Vec<Warning>,
    /// The draft's recomputed result.
    pub result: AggregateResult,
    /// Indicators interpolated.
    pub estimated: Vec<String>,
}

/// A warning for the planner.
#[derive(Debug, Clone)]
pub struct Warning {
    /// `gap`, `overlap` or `sliver`.
    pub kind: &'static str,
    /// Area id.
    pub area: String,
    /// German message.
    pub message: String,
    /// Where (working CRS).
    pub location: Option<(f64, f64)>,
}

/// Whether two boxes meet when `b` is widened by `margin` (m).
fn boxes_meet(a: ([f64; 2], [f64; 2]), b: ([f64; 2], [f64; 2]), margin: f64) -> bool {
    a.1[0] >= b.0[0] - margin
        && a.0[0] <= b.1[0] + margin
        && a.1[1] >= b.0[1] - margin
        && a.0[1] <= b.1[1] + margin
}

/// Every vertex of every ring.
fn vertices(g: &MultiPolygon<f64>) -> impl Iterator<Item = geo::Coord<f64>> + '_ {
    g.0.iter().flat_map(|p| {
        std::iter::once(p.exterior())
            .chain(p.interiors())
            .flat_map(|r| r.0.iter().copied())
    })
}

/// Sorted by x (then y), duplicates removed: the anchor order the snapping functions expect.
fn sort_anchors(mut v: Vec<geo::Coord<f64>>) -> Vec<geo::Coord<f64>> {
    v.sort_by(|a, b| a.x.total_cmp(&b.x).then(a.y.total_cmp(&b.y)));
    v.dedup();
    v
}

pub(crate) fn bbox(mp: &MultiPolygon<f64>) -> Option<([f64; 2], [f64; 2])> {
    mp.bounding_rect()
        .map(|r| ([r.min().x, r.min().y], [r.max().x, r.max().y]))
}

/// Draft sessions kept in memory at once.
const MAX_SESSIONS: usize = 32;

/// The running number in a session id `e<n>-<hex>`.
fn session_number(id: &str) -> u64 {
    id.strip_prefix('e')
        .and_then(|r| r.split('-').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// Areas below this size (m²) count as empty after an edit (numerical crumbs).
const MIN_AREA_M2: f64 = 1.0;

/// Vertices sent back by the browser within this distance (m) of an existing vertex are that
/// vertex: WGS 84 with 7 decimals is ~1 cm, plus reprojection noise.
const SNAP_M: f64 = 0.05;

/// Anchors (sorted by x) closer than this (m) to an edge's interior are inserted into it.
const ON_EDGE_M: f64 = 0.001;

/// Vertices computed by a cut or union within this distance (m) of an existing vertex are that
/// vertex (the overlay works on a fixed-precision grid).
const CUT_SNAP_M: f64 = 0.01;

/// Snaps `g`'s vertices to anchors within `snap_m`, then inserts anchors lying on its edges.
fn conform(g: MultiPolygon<f64>, anchors: &[geo::Coord<f64>], snap_m: f64) -> MultiPolygon<f64> {
    insert_on_edges(snap_vertices(g, anchors, snap_m), anchors)
}

/// Inserts every anchor (sorted by x) that lies on an edge of `g` into that edge.
fn insert_on_edges(mut g: MultiPolygon<f64>, anchors: &[geo::Coord<f64>]) -> MultiPolygon<f64> {
    let fix = |ls: &mut geo::LineString<f64>| {
        let pts = &ls.0;
        if pts.len() < 2 {
            return;
        }
        let mut out = Vec::with_capacity(pts.len());
        for w in pts.windows(2) {
            let (a, b) = (w[0], w[1]);
            out.push(a);
            let (dx, dy) = (b.x - a.x, b.y - a.y);
            let len2 = dx * dx + dy * dy;
            if len2 == 0.0 {
                continue;
            }
            let (xmin, xmax) = (a.x.min(b.x) - ON_EDGE_M, a.x.max(b.x) + ON_EDGE_M);
            let lo = anchors.partition_point(|p| p.x < xmin);
            let mut on: Vec<(f64, geo::Coord<f64>)> = Vec::new();
            for p in anchors[lo..].iter().take_while(|p| p.x <= xmax) {
                if p.y < a.y.min(b.y) - ON_EDGE_M || p.y > a.y.max(b.y) + ON_EDGE_M {
                    continue;
                }
                let t = ((p.x - a.x) * dx + (p.y - a.y) * dy) / len2;
                if t <= 0.0 || t >= 1.0 || *p == a || *p == b {
                    continue;
                }
                let (qx, qy) = (a.x + t * dx, a.y + t * dy);
                if (p.x - qx).hypot(p.y - qy) < ON_EDGE_M {
                    on.push((t, *p));
                }
            }
            on.sort_by(|x, y| x.0.total_cmp(&y.0));
            out.extend(on.into_iter().map(|(_, p)| p));
        }
        out.push(*pts.last().unwrap_or(&geo::Coord { x: 0.0, y: 0.0 }));
        out.dedup();
        ls.0 = out;
    };
    for p in g.0.iter_mut() {
        p.exterior_mut(fix);
        p.interiors_mut(|rings| rings.iter_mut().for_each(fix));
    }
    g
}

/// Replaces each vertex of `g` within `tol` of an anchor by the anchor (`anchors` sorted by x).
fn snap_vertices(
    mut g: MultiPolygon<f64>,
    anchors: &[geo::Coord<f64>],
    tol: f64,
) -> MultiPolygon<f64> {
    let snap = |c: &mut geo::Coord<f64>| {
        let lo = anchors.partition_point(|a| a.x < c.x - tol);
        let mut best: Option<(f64, geo::Coord<f64>)> = None;
        for a in anchors[lo..].iter().take_while(|a| a.x <= c.x + tol) {
            let d = (a.x - c.x).hypot(a.y - c.y);
            if d <= tol && best.is_none_or(|(bd, _)| d < bd) {
                best = Some((d, *a));
            }
        }
        if let Some((_, a)) = best {
            *c = a;
        }
    };
    for p in g.0.iter_mut() {
        p.exterior_mut(|ls| ls.0.iter_mut().for_each(snap));
        p.interiors_mut(|rings| {
            for r in rings {
                r.0.iter_mut().for_each(snap);
            }
        });
    }
    g
}

impl Workspace {
    /// Starts a draft session from a version.
    pub fn start_session(&self, base: &str, who: &str) -> Result<String, Error> {
        let b = self
            .get(base)
            .ok_or_else(|| Error::UnknownVersion { key: base.into() })?;
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let id = format!("e{n}-{nanos:08x}");
        let s = Session {
            id: id.clone(),
            base: base.to_string(),
            created_by: who.to_string(),
            areas: b.areas.clone(),
            assignment: b.assignment.clone(),
            fac_assignment: b.fac_assignment.clone(),
            finest: b.finest.clone(),
            operations: Vec::new(),
            touched: BTreeSet::new(),
        };
        let mut sessions = self.sessions.lock().unwrap_or_else(|e| e.into_inner());
        // Each session holds a copy of the point assignment (4 bytes per address): keep the
        // newest MAX_SESSIONS, dropping the oldest unsaved one.
        if sessions.len() >= MAX_SESSIONS
            && let Some(oldest) = sessions.keys().min_by_key(|k| session_number(k)).cloned()
        {
            sessions.remove(&oldest);
        }
        sessions.insert(id.clone(), Arc::new(Mutex::new(s)));
        Ok(id)
    }

    /// A session by id.
    pub fn session(&self, id: &str) -> Result<Arc<Mutex<Session>>, Error> {
        self.sessions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(id)
            .cloned()
            .ok_or_else(|| Error::UnknownSession { id: id.into() })
    }

    /// The whole draft recomputed from its sums (no point pass).
    pub fn session_result(&self, s: &Session) -> Result<(AggregateResult, Vec<String>), Error> {
        let (tables, estimated) = self.session_tables(s)?;
        let r = self.run_engine(
            &self.dataset_for(&s.areas, tables),
            &s.finest,
            &s.assignment,
        )?;
        Ok((r, estimated))
    }

    /// A draft's tables: the base version's rows for untouched areas, address-weighted
    /// interpolation from the base areas for touched ones (only their points are visited).
    fn session_tables(&self, s: &Session) -> Result<(Vec<AreaTable>, Vec<String>), Error> {
        let base = self.get(&s.base).ok_or_else(|| Error::UnknownVersion {
            key: s.base.clone(),
        })?;
        // Points of the touched areas, found through their boxes.
        let mut pts: Vec<(u32, u32)> = Vec::new();
        for (t, a) in s.areas.iter().enumerate() {
            if !s.touched.contains(&a.id) {
                continue;
            }
            let Some((min, max)) = a.geometry.as_ref().and_then(bbox) else {
                continue;
            };
            self.grid.for_each_in(min, max, |p| {
                if s.assignment[p as usize] as usize == t {
                    pts.push((p, t as u32));
                }
            });
        }
        // The same interpolation as for a whole version, restricted to these points; the
        // base areas' totals (the denominators of counts) come from the base's sums.
        let sub_from: Vec<u32> = pts
            .iter()
            .map(|&(p, _)| base.assignment[p as usize])
            .collect();
        let sub_to: Vec<u32> = pts.iter().map(|&(_, t)| t).collect();
        let touched: Vec<bool> = s.areas.iter().map(|a| s.touched.contains(&a.id)).collect();
        let mut crosswalks: HashMap<i32, Crosswalk> = HashMap::new();
        let mut out = Vec::with_capacity(base.tables.len());
        for tb in &base.tables {
            let rows = crate::workspace::rows_by_area_year(tb);
            let years = tb.distinct_years();
            let mut ids = Vec::with_capacity(years.len() * s.areas.len());
            let mut row_years = Vec::with_capacity(ids.capacity());
            let mut columns: Vec<TableColumn> = tb
                .columns
                .iter()
                .map(|c| c.empty_like(ids.capacity()))
                .collect();
            for &year in &years {
                let any_touched = touched.iter().any(|t| *t);
                let cw = if any_touched {
                    let wy = self.weight_year(year);
                    Some(&*crosswalks.entry(wy).or_insert_with(|| {
                        let values = self.weights_near(year);
                        let w: Vec<u32> = pts
                            .iter()
                            .map(|&(p, _)| values.get(p as usize).copied().unwrap_or(0))
                            .collect();
                        let mut cw = Crosswalk::build(
                            &sub_from,
                            &sub_to,
                            &w,
                            base.areas.len(),
                            s.areas.len(),
                        );
                        cw.from_total = self.weight_totals(&base, year);
                        cw
                    }))
                } else {
                    None
                };
                for (c, col) in tb.columns.iter().enumerate() {
                    let m = if col.count {
                        Measure::Extensive
                    } else {
                        Measure::Intensive
                    };
                    let from: Vec<Option<f64>> = base
                        .areas
                        .iter()
                        .map(|a| {
                            rows.get(&(a.id.as_str(), year))
                                .and_then(|&r| col.values[r])
                        })
                        .collect();
                    let est = cw.map(|cw| redefine::interpolate(cw, &from, m));
                    columns[c]
                        .values
                        .extend(s.areas.iter().enumerate().map(|(t, a)| {
                            if touched[t] {
                                est.as_ref().and_then(|e| e[t].value)
                            } else {
                                rows.get(&(a.id.as_str(), year))
                                    .and_then(|&r| col.values[r])
                            }
                        }));
                }
                ids.extend(s.areas.iter().map(|a| a.id.clone()));
                row_years.extend(std::iter::repeat_n(year, s.areas.len()));
            }
            for c in &mut columns {
                c.marks = vec![None; c.values.len()];
            }
            out.push(AreaTable {
                name: tb.name.clone(),
                level: self.cfg.level_key.clone(),
                ids,
                years: row_years,
                columns,
            });
        }
        let mut estimated = base.estimated.clone();
        if !s.touched.is_empty() {
            for id in self.estimated_names(&out) {
                if !estimated.contains(&id) {
                    estimated.push(id);
                }
            }
        }
        Ok((out, estimated))
    }

    /// Applies an edit: `changed` areas get new geometry (`None` removes the area; indices
    /// beyond the current list append new areas). Only points and facilities near the edit are
    /// re-located; the sums are updated by the difference.
    pub fn apply_edit(
        &self,
        s: &mut Session,
        changed: Vec<(usize, Option<MultiPolygon<f64>>, Option<String>)>,
        new_ids: Vec<(String, String)>,
        label: String,
        snap_m: f64,
    ) -> Result<OpOutcome, Error> {
        let n_before = s.areas.len();
        // New edges meet the existing ones exactly: vertices within `snap_m` of an existing
        // vertex become that vertex, and existing vertices lying on a new edge are inserted
        // into it (a union or cut drops collinear vertices that neighbours still have; moving
        // such a vertex later would otherwise open a gap).
        let n_requested = changed.len();
        let changed: Vec<(usize, Option<MultiPolygon<f64>>, Option<String>)> = {
            let boxes: Vec<_> = changed
                .iter()
                .filter_map(|(_, g, _)| g.as_ref().and_then(bbox))
                .collect();
            let anchors = self.anchors_near(s, &boxes);
            let mut changed: Vec<_> = changed
                .into_iter()
                .map(|(i, g, n)| (i, g.map(|g| conform(g, &anchors, snap_m)), n))
                .collect();
            // The other way round: a new vertex on an untouched neighbour's edge goes into the
            // neighbour too (same land, one vertex more), so every border stays vertex-shared.
            let fresh = sort_anchors(
                changed
                    .iter()
                    .filter_map(|(_, g, _)| g.as_ref())
                    .flat_map(vertices)
                    .collect(),
            );
            let touched: BTreeSet<usize> = changed.iter().map(|(i, _, _)| *i).collect();
            for (k, a) in s.areas.iter().enumerate() {
                if touched.contains(&k) {
                    continue;
                }
                let Some(g) = &a.geometry else { continue };
                if !bbox(g).is_some_and(|ab| boxes.iter().any(|&b| boxes_meet(ab, b, 1.0))) {
                    continue;
                }
                let g2 = insert_on_edges(g.clone(), &fresh);
                if &g2 != g {
                    changed.push((k, Some(g2), None));
                }
            }
            changed
        };
        // Old bounding boxes (new areas: their new one).
        let mut old_boxes = Vec::new();
        for (idx, g, _) in &changed {
            let b = if *idx < n_before {
                s.areas[*idx].geometry.as_ref().and_then(bbox)
            } else {
                g.as_ref().and_then(bbox)
            };
            old_boxes.push(b.unwrap_or(([0.0, 0.0], [0.0, 0.0])));
        }
        let old_area_m2: f64 = changed
            .iter()
            .filter(|(i, _, _)| *i < n_before)
            .filter_map(|(i, _, _)| s.areas[*i].geometry.as_ref())
            .map(|g| g.unsigned_area())
            .sum();
        let new_area_m2: f64 = changed
            .iter()
            .filter_map(|(_, g, _)| g.as_ref())
            .map(|g| g.unsigned_area())
            .sum();
        // Append new areas.
        for (id, name) in new_ids {
            s.areas.push(Area {
                id,
                name,
                parent: None,
                geometry: None,
                attributes: BTreeMap::new(),
            });
        }
        let n = s.areas.len();
        let nc = self.points.columns.len();
        let ncat = self.facilities.len();
        s.finest.sums.resize(n * nc, 0);
        s.finest.facilities.resize(
            n * ncat,
            FacilityStats {
                count: 0,
                capacity: 0.0,
            },
        );
        for (idx, g, name) in &changed {
            if let Some(name) = name {
                s.areas[*idx].name = name.clone();
            }
            s.areas[*idx].geometry = g.clone();
        }
        let spec: Vec<(u32, Option<&MultiPolygon<f64>>)> = changed
            .iter()
            .map(|(i, g, _)| (*i as u32, g.as_ref()))
            .collect();
        let re = redefine::reassign(
            &self.grid,
            &self.points.x,
            &self.points.y,
            &s.assignment,
            &spec,
            &old_boxes,
        );
        let cols = self.column_refs();
        for d in &re.deltas {
            let p = d.point as usize;
            for (j, col) in cols.iter().enumerate() {
                let v = u64::from(col[p]);
                if d.from != OUTSIDE {
                    s.finest.sums[d.from as usize * nc + j] -= v;
                }
                if d.to != OUTSIDE {
                    s.finest.sums[d.to as usize * nc + j] += v;
                }
            }
            s.assignment[p] = d.to;
        }
        for (c, (fac, grid)) in self.facilities.iter().zip(&self.fac_grids).enumerate() {
            let fre = redefine::reassign(
                grid,
                &fac.x,
                &fac.y,
                &s.fac_assignment[c],
                &spec,
                &old_boxes,
            );
            for d in &fre.deltas {
                let i = d.point as usize;
                let cap = fac.capacity.get(i).copied().flatten().unwrap_or(0.0);
                if d.from != OUTSIDE {
                    let st = &mut s.finest.facilities[d.from as usize * ncat + c];
                    st.count -= 1;
                    st.capacity -= cap;
                }
                if d.to != OUTSIDE {
                    let st = &mut s.finest.facilities[d.to as usize * ncat + c];
                    st.count += 1;
                    st.capacity += cap;
                }
                s.fac_assignment[c][i] = d.to;
            }
        }
        let mut warnings = Vec::new();
        if !re.gap_points.is_empty() {
            let loc = mean_position(&self.points, &re.gap_points);
            warnings.push(Warning {
                kind: "gap",
                area: changed
                    .first()
                    .map(|(i, _, _)| s.areas[*i].id.clone())
                    .unwrap_or_default(),
                message: format!(
                    "{} {} liegen nach der Änderung in keinem Gebiet (Lücke).",
                    re.gap_points.len(),
                    self.point_noun()
                ),
                location: loc,
            });
        }
        if !re.overlap_points.is_empty() {
            warnings.push(Warning {
                kind: "overlap",
                area: changed
                    .first()
                    .map(|(i, _, _)| s.areas[*i].id.clone())
                    .unwrap_or_default(),
                message: format!(
                    "{} {} liegen in zwei Gebieten (Überlappung); sie bleiben beim bisherigen Gebiet.",
                    re.overlap_points.len(),
                    self.point_noun()
                ),
                location: mean_position(&self.points, &re.overlap_points),
            });
        }
        if (new_area_m2 - old_area_m2).abs() > MIN_AREA_M2.max(old_area_m2 * 2e-6) {
            warnings.push(Warning {
                kind: "gap",
                area: changed
                    .first()
                    .map(|(i, _, _)| s.areas[*i].id.clone())
                    .unwrap_or_default(),
                message: format!(
                    "Die Gesamtfläche der geänderten Gebiete ändert sich um {:.0} m² – Lücke oder Überlappung mit Nachbargebieten.",
                    new_area_m2 - old_area_m2
                ),
                location: None,
            });
        }
        // Ids before removal: swap-removes move indices.
        let vertices_added: Vec<String> = changed[n_requested..]
            .iter()
            .map(|(i, _, _)| s.areas[*i].id.clone())
            .collect();
        let mut changed_ids: Vec<String> = changed[..n_requested]
            .iter()
            .filter(|(_, g, _)| g.is_some())
            .map(|(i, _, _)| s.areas[*i].id.clone())
            .collect();
        s.touched.extend(changed_ids.iter().cloned());
        changed_ids.sort();
        changed_ids.dedup();
        // Removed areas: drop them (swap-remove, remapping the last index).
        let mut removed_idx: Vec<usize> = changed
            .iter()
            .filter(|(_, g, _)| g.is_none())
            .map(|(i, _, _)| *i)
            .collect();
        removed_idx.sort_unstable_by(|a, b| b.cmp(a));
        let mut removed = Vec::new();
        for r in removed_idx {
            removed.push(s.areas[r].id.clone());
            s.touched.remove(&s.areas[r].id);
            self.remove_area(s, r);
        }
        s.operations.push(label);
        let (result, estimated) = self.session_result(s)?;
        // Differencing guard for the changed areas against every version.
        warnings.extend(self.guard_session(s, &changed_ids));
        Ok(OpOutcome {
            changed: changed_ids,
            removed,
            vertices_added,
            warnings,
            result,
            estimated,
        })
    }

    /// Vertices of the session's areas whose boxes meet any of `boxes` (1 m margin), sorted by x.
    fn anchors_near(&self, s: &Session, boxes: &[([f64; 2], [f64; 2])]) -> Vec<geo::Coord<f64>> {
        let mut anchors = Vec::new();
        for g in s.areas.iter().filter_map(|a| a.geometry.as_ref()) {
            if bbox(g).is_some_and(|ab| boxes.iter().any(|&b| boxes_meet(ab, b, 1.0))) {
                anchors.extend(vertices(g));
            }
        }
        sort_anchors(anchors)
    }

    fn remove_area(&self, s: &mut Session, r: usize) {
        let last = s.areas.len() - 1;
        let nc = self.points.columns.len();
        let ncat = self.facilities.len();
        s.areas.swap_remove(r);
        if r != last {
            for a in s.assignment.iter_mut() {
                if *a as usize == last {
                    *a = r as u32;
                } else if *a as usize == r {
                    *a = OUTSIDE;
                }
            }
            for fa in s.fac_assignment.iter_mut() {
                for a in fa.iter_mut() {
                    if *a as usize == last {
                        *a = r as u32;
                    } else if *a as usize == r {
                        *a = OUTSIDE;
                    }
                }
            }
            for j in 0..nc {
                s.finest.sums[r * nc + j] = s.finest.sums[last * nc + j];
            }
            for c in 0..ncat {
                s.finest.facilities[r * ncat + c] = s.finest.facilities[last * ncat + c];
            }
        } else {
            for a in s.assignment.iter_mut().filter(|a| **a as usize == r) {
                *a = OUTSIDE;
            }
        }
        s.finest.sums.truncate(last * nc);
        s.finest.facilities.truncate(last * ncat);
    }

    /// Saves a session as a draft Gebietsstand.
    pub fn save_session(
        &self,
        s: &Session,
        key: &str,
        name: &str,
        valid_from: Option<String>,
        note: String,
        (actor, role): (&str, &str),
    ) -> Result<Arc<Computed>, Error> {
        let meta = VersionMeta {
            key: key.to_string(),
            name: name.to_string(),
            valid_from,
            source: "Entwurf im Browser".into(),
            lineage: vec![s.base.clone()],
            note,
            status: Status::Draft,
            created_at: now_rfc3339(),
            created_by: actor.to_string(),
            epsg: self.working_epsg,
            n_areas: s.areas.len(),
        };
        let audit = AuditEntry {
            at: meta.created_at.clone(),
            actor: actor.to_string(),
            role: role.to_string(),
            action: "entwurf_speichern".into(),
            target: key.to_string(),
            detail: format!(
                "{} Gebiete aus {}; Operationen: {}",
                s.areas.len(),
                s.base,
                s.operations.join("; ")
            ),
        };
        self.import(meta, s.areas.clone(), audit)
    }

    /// Splits area `id` by polygon `by`: `id-1` inside, `id-2` outside.
    pub fn op_split(
        &self,
        s: &mut Session,
        id: &str,
        by: &MultiPolygon<f64>,
    ) -> Result<OpOutcome, Error> {
        let i = find(s, id)?;
        let g = s.areas[i]
            .geometry
            .clone()
            .unwrap_or_else(|| MultiPolygon(vec![]));
        let inside = g.intersection(by);
        let outside = g.difference(by);
        if inside.unsigned_area() < MIN_AREA_M2 || outside.unsigned_area() < MIN_AREA_M2 {
            return Err(EditError::SplitMustDivide { area: id.into() }.into());
        }
        let id1 = unique_id(s, &format!("{id}-1"));
        let id2 = unique_id(s, &format!("{id}-2"));
        let name = s.areas[i].name.clone();
        // The area keeps its slot as part 1 under the new id; part 2 is appended.
        s.areas[i].id = id1.clone();
        let n = s.areas.len();
        let mut out = self.apply_edit(
            s,
            vec![
                (i, Some(inside), Some(format!("{name} (Teil 1)"))),
                (n, Some(outside), Some(format!("{name} (Teil 2)"))),
            ],
            vec![(id2, format!("{name} (Teil 2)"))],
            format!("{id} geteilt"),
            CUT_SNAP_M,
        )?;
        out.removed.push(id.to_string());
        Ok(out)
    }

    /// Merges areas into the first.
    pub fn op_merge(
        &self,
        s: &mut Session,
        ids: &[String],
        name: Option<String>,
    ) -> Result<OpOutcome, Error> {
        if ids.len() < 2 {
            return Err(EditError::MergeNeedsTwo.into());
        }
        let idx: Vec<usize> = ids.iter().map(|id| find(s, id)).collect::<Result<_, _>>()?;
        let mut u = s.areas[idx[0]]
            .geometry
            .clone()
            .unwrap_or_else(|| MultiPolygon(vec![]));
        for &i in &idx[1..] {
            if let Some(g) = &s.areas[i].geometry {
                u = u.union(g);
            }
        }
        // "X (Teil 1)" + "X (Teil 2)" → "X", unless the planner named the merged area.
        let first = s.areas[idx[0]].name.clone();
        let name = name.unwrap_or_else(|| match first.rsplit_once(" (Teil ") {
            Some((stem, rest)) if rest.ends_with(')') => stem.to_string(),
            _ => first,
        });
        let mut changed = vec![(idx[0], Some(u), Some(name))];
        for &i in &idx[1..] {
            changed.push((i, None, None));
        }
        self.apply_edit(
            s,
            changed,
            Vec::new(),
            format!("{} zusammengelegt", ids.join("+")),
            CUT_SNAP_M,
        )
    }

    /// Replaces geometries (vertex moves; the client moves shared vertices in every area).
    pub fn op_reshape(
        &self,
        s: &mut Session,
        geoms: Vec<(String, MultiPolygon<f64>)>,
    ) -> Result<OpOutcome, Error> {
        let mut changed = Vec::new();
        for (id, g) in geoms {
            let i = find(s, &id)?;
            if g.unsigned_area() < MIN_AREA_M2 {
                return Err(EditError::NoArea { area: id }.into());
            }
            changed.push((i, Some(g), None));
        }
        let label = format!(
            "Grenze geändert: {}",
            changed
                .iter()
                .map(|(i, _, _)| s.areas[*i].id.clone())
                .collect::<Vec<_>>()
                .join(", ")
        );
        // Vertices sent back by the browser (rounded to ~1 cm in WGS 84) snap to the existing
        // vertex they stand for, so only the vertices really moved change.
        self.apply_edit(s, changed, Vec::new(), label, SNAP_M)
    }

    /// A new area drawn over existing ones: it takes its territory from them.
    pub fn op_draw(
        &self,
        s: &mut Session,
        by: &MultiPolygon<f64>,
        name: Option<String>,
    ) -> Result<OpOutcome, Error> {
        let Some(drawn) = bbox(by) else {
            return Err(EditError::Empty.into());
        };
        let mut changed = Vec::new();
        let mut taken = MultiPolygon::<f64>(vec![]);
        for (i, a) in s.areas.iter().enumerate() {
            let Some(g) = &a.geometry else { continue };
            if !bbox(g).is_some_and(|ab| boxes_meet(ab, drawn, 0.0)) {
                continue;
            }
            let part = g.intersection(by);
            if part.unsigned_area() < MIN_AREA_M2 {
                continue;
            }
            taken = taken.union(&part);
            let rest = g.difference(by);
            changed.push((
                i,
                if rest.unsigned_area() < MIN_AREA_M2 {
                    None
                } else {
                    Some(rest)
                },
                None,
            ));
        }
        if taken.unsigned_area() < MIN_AREA_M2 {
            return Err(EditError::DrawnOutside.into());
        }
        let n = s.areas.len();
        let id = unique_id(s, "neu-1");
        let name = name.unwrap_or_else(|| format!("Neues Gebiet {id}"));
        changed.push((n, Some(taken), Some(name.clone())));
        self.apply_edit(
            s,
            changed,
            vec![(id.clone(), name)],
            format!("{id} gezeichnet"),
            CUT_SNAP_M,
        )
    }
}

fn find(s: &Session, id: &str) -> Result<usize, Error> {
    s.areas
        .iter()
        .position(|a| a.id == id)
        .ok_or_else(|| Error::UnknownArea { id: id.into() })
}

fn unique_id(s: &Session, want: &str) -> String {
    if !s.areas.iter().any(|a| a.id == want) {
        return want.to_string();
    }
    let stem = want.rsplit_once('-').map_or(want, |(a, _)| a);
    (1..)
        .map(|k| format!("{stem}-{k}"))
        .find(|c| !s.areas.iter().any(|a| &a.id == c))
        .unwrap_or_else(|| want.to_string())
}

pub(crate) fn mean_position(points: &PointLayer, idx: &[u32]) -> Option<(f64, f64)> {
    if idx.is_empty() {
        return None;
    }
    let n = idx.len() as f64;
    let (sx, sy) = idx.iter().fold((0.0, 0.0), |(sx, sy), &p| {
        (sx + points.x[p as usize], sy + points.y[p as usize])
    });
    Some((sx / n, sy / n))
}

impl Workspace {
    /// Applies a draft operation to a copy of `s`: the new session and the outcome, or an
    /// error with `s` untouched (sessions change only after every fallible step succeeded).
    pub fn apply(&self, s: &Session, op: DraftOp) -> Result<(Session, OpOutcome), Error> {
        let mut next = s.clone();
        let out = match op {
            DraftOp::Split { area, by } => self.op_split(&mut next, &area, &by)?,
            DraftOp::Merge { areas, name } => self.op_merge(&mut next, &areas, name)?,
            DraftOp::Reshape { geometries } => {
                if geometries.is_empty() {
                    return Err(EditError::NothingToReshape.into());
                }
                self.op_reshape(&mut next, geometries)?
            }
            DraftOp::Draw { by, name } => self.op_draw(&mut next, &by, name)?,
        };
        Ok((next, out))
    }

    /// A geometry a client drew (WGS 84 lon/lat) in the working CRS, refused unless every
    /// position is a longitude/latitude, its rings are simple and it has at most
    /// [`MAX_DRAFT_VERTICES`] vertices — the overlays that follow would otherwise run for
    /// minutes on a ring that crosses itself.
    pub fn draft_geometry(&self, wgs84: &MultiPolygon<f64>) -> Result<MultiPolygon<f64>, Error> {
        use kleinraum_aggregate::simple::{RingProblem, check_simple, vertex_count};
        let count = vertex_count(wgs84);
        if count > MAX_DRAFT_VERTICES {
            return Err(GeometryError::TooManyVertices {
                count,
                max: MAX_DRAFT_VERTICES,
            }
            .into());
        }
        if wgs84.0.is_empty() {
            return Err(GeometryError::NotAPolygon.into());
        }
        let g = self.from_wgs84(wgs84)?;
        check_simple(&g, MAX_DRAFT_VERTICES, DRAFT_CHECK_BUDGET).map_err(|e| match e {
            RingProblem::SelfIntersection { x, y, .. } => GeometryError::SelfIntersection {
                lat_lon: self
                    .projector
                    .working_to_wgs84(x, y)
                    .ok()
                    .map(|(lon, lat)| (lat, lon)),
            },
            other => other.into(),
        })?;
        Ok(g)
    }

    /// A WGS 84 (lon, lat) geometry in the working CRS; every ring needs four positions.
    pub fn from_wgs84(&self, wgs84: &MultiPolygon<f64>) -> Result<MultiPolygon<f64>, Error> {
        let mut point = 0usize;
        let mut ring = |ls: &geo::LineString<f64>| -> Result<geo::LineString<f64>, GeometryError> {
            if ls.0.len() < 4 {
                return Err(GeometryError::ShortRing);
            }
            let mut out = Vec::with_capacity(ls.0.len());
            for c in &ls.0 {
                point += 1;
                let (lon, lat) = (c.x, c.y);
                if !(-180.0..=180.0).contains(&lon) || !(-90.0..=90.0).contains(&lat) {
                    return Err(GeometryError::NotLonLat { point, lon, lat });
                }
                let (x, y) = self
                    .projector
                    .wgs84_to_working(lon, lat)
                    .map_err(|message| GeometryError::Reprojection { point, message })?;
                out.push(geo::Coord { x, y });
            }
            Ok(geo::LineString(out))
        };
        let mut polys = Vec::with_capacity(wgs84.0.len());
        for p in &wgs84.0 {
            let ext = ring(p.exterior())?;
            let holes = p
                .interiors()
                .iter()
                .map(&mut ring)
                .collect::<Result<Vec<_>, _>>()?;
            polys.push(Polygon::new(ext, holes));
        }
        Ok(MultiPolygon(polys))
    }
}

impl Workspace {
    /// The areas of a draft whose values are withheld outside the statistics role: edited
    /// areas below the minimum population, and edited areas whose difference from an area of a
    /// stored version holds a few people (with the warnings that say so).
    pub fn session_withheld(&self, s: &Session) -> (BTreeSet<String>, Vec<Warning>) {
        let mut ids = self.session_small(s);
        let touched: Vec<String> = s
            .areas
            .iter()
            .filter(|a| s.touched.contains(&a.id))
            .map(|a| a.id.clone())
            .collect();
        let slivers = self.guard_session(s, &touched);
        ids.extend(slivers.iter().map(|w| w.area.clone()));
        (ids, slivers)
    }

    /// Edited areas of a draft below the minimum population in some year.
    pub fn session_small(&self, s: &Session) -> BTreeSet<String> {
        let idx: Vec<usize> = s
            .areas
            .iter()
            .enumerate()
            .filter(|(_, a)| s.touched.contains(&a.id))
            .map(|(i, _)| i)
            .collect();
        let nc = self.points.columns.len();
        let areas: Vec<Area> = idx.iter().map(|&i| s.areas[i].clone()).collect();
        let sums = FinestSums {
            sums: idx
                .iter()
                .flat_map(|&i| s.finest.sums[i * nc..(i + 1) * nc].iter().copied())
                .collect(),
            facilities: Vec::new(),
            report: Default::default(),
        };
        self.small_areas("", &areas, &sums)
    }
}
