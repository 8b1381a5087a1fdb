//! The differencing guard: every version and draft computed from the same register data is one
//! publication. An area whose difference from an area of another version — or from a union of
//! another version's areas inside it, or from the area containing it minus the others inside —
//! holds 1 to threshold−1 people in any count column (residents, children, foreigners, SGB II
//! …) would reveal them by subtraction; the values of the lower-ranked side are withheld from
//! everyone outside the statistics role, and the planner is warned with the place.
//!
//! Rank: the base version first, then the configured (official) versions in configuration
//! order, then uploads and saved drafts (both sides of a pair of those are withheld). Versions
//! whose numbers the statistical office publishes itself (`published_elsewhere`) are not
//! compared with each other: their differences are public facts.

use crate::session::{Session, Warning, bbox, mean_position};
use crate::workspace::Workspace;
use kleinraum_aggregate::redefine::{self, Crosswalk, Pairing};
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

/// One finding of the differencing guard.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SliverWarning {
    /// Area of this version (or draft).
    pub area: String,
    /// The other version.
    pub other_version: String,
    /// The other area.
    pub other_area: String,
    /// Year of the counts.
    pub year: i32,
    /// The count column whose difference is small.
    pub column: String,
    /// Count only in this area (or: this area minus the union).
    pub only_here: u64,
    /// Count only in the other area (or: the union/container minus this area).
    pub only_there: u64,
    /// Mean position of the isolated addresses (working CRS), for the planner's map.
    #[serde(skip)]
    pub location: Option<(f64, f64)>,
}

/// Differencing-guard results kept between refreshes (each write adds one version's pairs).
#[derive(Debug, Default)]
pub(crate) struct GuardCache {
    /// (version a, version b) → findings, each with the version it withholds.
    pairs: HashMap<(String, String), Vec<(String, SliverWarning)>>,
    /// Areas of a non-official version that hold exactly the addresses of an official area.
    copies: HashMap<String, BTreeSet<u32>>,
}

impl Workspace {
    /// Areas below the minimum population in any year (none for official versions, whose
    /// areas are published as they are, and none that holds exactly the addresses of an
    /// official area: its numbers are published there).
    pub fn small_areas(
        &self,
        key: &str,
        areas: &[kleinraum_aggregate::model::Area],
        finest: &kleinraum_aggregate::aggregate::FinestSums,
    ) -> BTreeSet<String> {
        let official = self
            .official
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .contains(key);
        if official {
            return BTreeSet::new();
        }
        let min = self.analysis.disclosure.min_population;
        let nc = self.points.columns.len();
        let cols: Vec<usize> = self
            .points
            .columns
            .iter()
            .enumerate()
            .filter(|(_, c)| c.name == self.cfg.residents_column)
            .map(|(j, _)| j)
            .collect();
        let copies = self
            .guard_cache
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .copies
            .get(key)
            .cloned()
            .unwrap_or_default();
        areas
            .iter()
            .enumerate()
            .filter(|(i, _)| !copies.contains(&(*i as u32)))
            .filter(|(i, _)| {
                cols.iter()
                    .any(|&j| finest.sums.get(i * nc + j).is_some_and(|&r| r < min))
            })
            .map(|(_, a)| a.id.clone())
            .collect()
    }

    /// The guard's findings for a version (empty when none).
    pub fn guard(&self, key: &str) -> Arc<Vec<SliverWarning>> {
        self.guarded
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(key)
            .cloned()
            .unwrap_or_default()
    }

    /// The rank of a version (lower = published first, kept when a pair leaks): the base 0,
    /// official versions in configuration order, then everything else.
    fn rank(&self, key: &str) -> usize {
        if key == self.cfg.base_key {
            return 0;
        }
        let order = self
            .official_order
            .read()
            .unwrap_or_else(|e| e.into_inner());
        order
            .iter()
            .position(|k| k == key)
            .map_or(usize::MAX, |i| i + 1)
    }

    /// Recomputes the differencing guard over every pair of versions (see the module
    /// documentation); pairs already computed are kept (a write adds one version's pairs).
    pub fn refresh_guard(&self) {
        let all = self.list();
        let official = self
            .official
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let external = self
            .published_elsewhere
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let threshold = self.analysis.disclosure.threshold;
        let years = self.years();
        let keys: BTreeSet<&str> = all.iter().map(|v| v.meta.key.as_str()).collect();
        let mut cache = self.guard_cache.lock().unwrap_or_else(|e| e.into_inner());
        cache
            .pairs
            .retain(|(a, b), _| keys.contains(a.as_str()) && keys.contains(b.as_str()));
        cache.copies.retain(|k, _| keys.contains(k.as_str()));
        // An area holding exactly the addresses of an official area (e.g. the untouched areas
        // of a draft) has exactly its published numbers: it reveals nothing new against the
        // official versions. Without this, every draft would hide dozens of unchanged areas.
        for v in all.iter().filter(|v| !official.contains(&v.meta.key)) {
            if cache.copies.contains_key(&v.meta.key) {
                continue;
            }
            let mut set = BTreeSet::new();
            for o in all.iter().filter(|o| official.contains(&o.meta.key)) {
                copies_of(
                    &v.assignment,
                    &o.assignment,
                    v.areas.len(),
                    o.areas.len(),
                    &mut set,
                );
            }
            cache.copies.insert(v.meta.key.clone(), set);
        }
        let units = vec![1u32; self.points.len()];
        for (i, a) in all.iter().enumerate() {
            for b in all.iter().skip(i + 1) {
                let pair = (a.meta.key.clone(), b.meta.key.clone());
                let both_external =
                    external.contains(&a.meta.key) && external.contains(&b.meta.key);
                if both_external || cache.pairs.contains_key(&pair) {
                    continue;
                }
                let (ra, rb) = (self.rank(&a.meta.key), self.rank(&b.meta.key));
                let is_copy =
                    |key: &str, area: u32| cache.copies.get(key).is_some_and(|s| s.contains(&area));
                // Which side a finding withholds: the lower-ranked one; both between drafts.
                // A copy of an official area is never withheld: its numbers are published
                // anyway, so what a difference to it reveals, the official area reveals too —
                // and the guard withholds the other side against that official area.
                let withhold_a = |ai: u32| ra >= rb && !is_copy(&a.meta.key, ai);
                let withhold_b = |bi: u32| rb >= ra && !is_copy(&b.meta.key, bi);
                // Each address's pair of areas, once for every column of every year.
                let pairing =
                    Pairing::new(&a.assignment, &b.assignment, a.areas.len(), b.areas.len());
                // Containment by addresses (every address of b lies in a), for the unions.
                let pts = pairing.crosswalk(&units);
                let mut inside_a: Vec<Vec<u32>> = vec![Vec::new(); a.areas.len()];
                let mut inside_b: Vec<Vec<u32>> = vec![Vec::new(); b.areas.len()];
                for c in &pts.cells {
                    if c.weight == pts.to_total[c.to as usize] {
                        inside_a[c.from as usize].push(c.to);
                    }
                    if c.weight == pts.from_total[c.from as usize] {
                        inside_b[c.to as usize].push(c.from);
                    }
                }
                let mut findings = Vec::new();
                let mut push = |key: &str,
                                area: &str,
                                other: String,
                                y: i32,
                                col: &str,
                                here: u64,
                                there: u64| {
                    findings.push((
                        key.to_string(),
                        SliverWarning {
                            area: area.to_string(),
                            other_version: if key == a.meta.key {
                                b.meta.key.clone()
                            } else {
                                a.meta.key.clone()
                            },
                            other_area: other,
                            year: y,
                            column: col.to_string(),
                            only_here: here,
                            only_there: there,
                            location: None,
                        },
                    ));
                };
                let small = |v: u64| v > 0 && v < threshold;
                for &y in &years {
                    let cols: Vec<(usize, &str)> = self
                        .points
                        .columns
                        .iter()
                        .enumerate()
                        .filter(|(_, c)| c.year == y)
                        .map(|(j, c)| (j, c.name.as_str()))
                        .collect();
                    let cws: Vec<Crosswalk> = cols
                        .iter()
                        .map(|&(j, _)| pairing.crosswalk(&self.points.columns[j].values))
                        .collect();
                    let mut seen: BTreeSet<(bool, u32)> = BTreeSet::new();
                    for (cw, &(_, col)) in cws.iter().zip(&cols) {
                        // Pairs.
                        for s in redefine::differencing_slivers(cw, threshold) {
                            if withhold_a(s.draft) && seen.insert((true, s.draft)) {
                                push(
                                    &a.meta.key,
                                    &a.areas[s.draft as usize].id,
                                    b.areas[s.other as usize].id.clone(),
                                    y,
                                    col,
                                    s.draft_only,
                                    s.other_only,
                                );
                            }
                            if withhold_b(s.other) && seen.insert((false, s.other)) {
                                push(
                                    &b.meta.key,
                                    &b.areas[s.other as usize].id,
                                    a.areas[s.draft as usize].id.clone(),
                                    y,
                                    col,
                                    s.other_only,
                                    s.draft_only,
                                );
                            }
                        }
                        // Unions: an area minus the other version's areas inside it, from
                        // a's side, then from b's (`true` in `seen` is a's side).
                        let wa: &dyn Fn(u32) -> bool = &withhold_a;
                        let wb: &dyn Fn(u32) -> bool = &withhold_b;
                        for (
                            side,
                            inside,
                            (own, other),
                            (own_total, other_total),
                            (w_own, w_other),
                        ) in [
                            (
                                true,
                                &inside_a,
                                (a, b),
                                (&cw.from_total, &cw.to_total),
                                (wa, wb),
                            ),
                            (
                                false,
                                &inside_b,
                                (b, a),
                                (&cw.to_total, &cw.from_total),
                                (wb, wa),
                            ),
                        ] {
                            for (oi, ins) in inside.iter().enumerate() {
                                if ins.len() < 2 {
                                    continue;
                                }
                                let rest = own_total[oi].saturating_sub(
                                    ins.iter().map(|&k| other_total[k as usize]).sum(),
                                );
                                if !small(rest) {
                                    continue;
                                }
                                let label = format!("{} Gebiete darin", ins.len());
                                if w_own(oi as u32) {
                                    if seen.insert((side, oi as u32)) {
                                        push(
                                            &own.meta.key,
                                            &own.areas[oi].id,
                                            label,
                                            y,
                                            col,
                                            rest,
                                            0,
                                        );
                                    }
                                } else if let Some(&k) = ins
                                    .iter()
                                    .filter(|&&k| w_other(k))
                                    .min_by_key(|&&k| other_total[k as usize])
                                    && seen.insert((!side, k))
                                {
                                    push(
                                        &other.meta.key,
                                        &other.areas[k as usize].id,
                                        format!("Vereinigung um {}", own.areas[oi].id),
                                        y,
                                        col,
                                        rest,
                                        0,
                                    );
                                }
                            }
                        }
                    }
                }
                cache.pairs.insert(pair, findings);
            }
        }
        let mut found: HashMap<String, Vec<SliverWarning>> = HashMap::new();
        for list in cache.pairs.values() {
            for (k, w) in list {
                found.entry(k.clone()).or_default().push(w.clone());
            }
        }
        drop(cache);
        let mut g = self.guarded.write().unwrap_or_else(|e| e.into_inner());
        g.clear();
        for (k, v) in found {
            g.insert(k, Arc::new(v));
        }
    }

    /// Forgets the guard's cached pairs of `key` (the version was replaced or deleted).
    pub(crate) fn forget_guard(&self, key: &str) {
        let mut cache = self.guard_cache.lock().unwrap_or_else(|e| e.into_inner());
        cache.pairs.retain(|(a, b), _| a != key && b != key);
        cache.copies.remove(key);
    }

    /// Guard for a session's changed areas: against every stored version, by the points in
    /// each changed area's box (the rest of the city cannot intersect it).
    pub(crate) fn guard_session(&self, s: &Session, changed: &[String]) -> Vec<Warning> {
        let threshold = self.analysis.disclosure.threshold;
        let mut out = Vec::new();
        let versions = self.list();
        for id in changed {
            let Some(d) = s.areas.iter().position(|a| &a.id == id) else {
                continue;
            };
            let Some(g) = s.areas[d].geometry.as_ref() else {
                continue;
            };
            let Some((min, max)) = bbox(g) else { continue };
            let mut inside = Vec::new();
            self.grid.for_each_in(min, max, |p| {
                if s.assignment[p as usize] as usize == d {
                    inside.push(p);
                }
            });
            let nc = self.points.columns.len();
            let from: Vec<u32> = vec![d as u32; inside.len()];
            for v in &versions {
                // The draft area against the other version's areas, per year of residents:
                // the intersections come from the area's own points, the totals from the sums.
                let to: Vec<u32> = inside.iter().map(|&p| v.assignment[p as usize]).collect();
                let pairing = Pairing::new(&from, &to, s.areas.len(), v.areas.len());
                // Every count column: a draft that moves one house of 4 residents with 3
                // foreigners must not reveal the foreigners either.
                let sliver = self.points.columns.iter().enumerate().find_map(|(col, c)| {
                    let w: Vec<u32> = inside.iter().map(|&p| c.values[p as usize]).collect();
                    let mut cw = pairing.crosswalk(&w);
                    cw.from_total[d] = s.finest.sums[d * nc + col];
                    for (o, t) in cw.to_total.iter_mut().enumerate() {
                        *t = v.finest.sums[o * nc + col];
                    }
                    redefine::differencing_slivers(&cw, threshold)
                        .into_iter()
                        .next()
                        .map(|sl| (sl, c.year, c.name.as_str()))
                });
                let Some((sl, y, column)) = sliver else {
                    continue;
                };
                let o = sl.other;
                let pts: Vec<u32> = inside
                    .iter()
                    .copied()
                    .filter(|&p| v.assignment[p as usize] != o)
                    .collect();
                let small = |x: u64| x > 0 && x < threshold;
                out.push(Warning {
                    kind: "sliver",
                    area: id.clone(),
                    message: format!(
                        "Achtung: Differenzbildung möglich – {id} unterscheidet sich von {} ({}) nur um {} ({column}, {y}). Die Werte werden zurückgehalten (sichtbar nur für die Statistikstelle).",
                        v.areas[o as usize].id,
                        v.meta.name,
                        if small(sl.draft_only) { sl.draft_only } else { sl.other_only }
                    ),
                    location: mean_position(&self.points, &pts).or_else(|| {
                        g.0.first()
                            .and_then(|p| p.exterior().0.first().map(|c| (c.x, c.y)))
                    }),
                });
            }
        }
        out
    }

    /// Areas of a version whose values are withheld outside the statistics role: the guard
    /// found a small difference, or (drafts and uploads) the area has fewer residents than
    /// the minimum population in some year.
    pub fn guarded_areas(&self, key: &str) -> BTreeSet<String> {
        let mut out: BTreeSet<String> = self.guard(key).iter().map(|w| w.area.clone()).collect();
        if let Some(c) = self.get(key) {
            out.extend(self.small_areas(&c.meta.key, &c.areas, &c.finest));
        }
        out
    }
}

/// Adds to `out` the areas of assignment `a` that hold exactly the points of one area of
/// assignment `b` (one linear pass, no hashing: it runs on every guard refresh).
fn copies_of(a: &[u32], b: &[u32], n_a: usize, n_b: usize, out: &mut BTreeSet<u32>) {
    let mut cand: Vec<Option<u32>> = vec![None; n_a];
    let mut mixed = vec![false; n_a];
    let mut count_a = vec![0u32; n_a];
    let mut count_b = vec![0u32; n_b];
    for (&d, &o) in a.iter().zip(b) {
        if (o as usize) < n_b {
            count_b[o as usize] += 1;
        }
        let d = d as usize;
        if d >= n_a {
            continue;
        }
        count_a[d] += 1;
        if (o as usize) >= n_b || cand[d].is_some_and(|c| c != o) {
            mixed[d] = true;
        }
        cand[d] = Some(o);
    }
    for d in 0..n_a {
        if let (Some(o), false) = (cand[d], mixed[d])
            && count_b[o as usize] == count_a[d]
        {
            out.insert(d as u32);
        }
    }
}

/// A difference between two published areas (or an area and a union of published areas of
/// another version) that holds a few people: what the audit must never find.
#[derive(Debug, Clone, PartialEq)]
pub struct Leak {
    /// Version and area on one side.
    pub a: (String, String),
    /// Version and area (or a description of the union) on the other side.
    pub b: (String, String),
    /// Year and column.
    pub year: i32,
    /// Count column.
    pub column: String,
    /// The small difference.
    pub difference: u64,
}

/// What the cross-version audit checked and found.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct VersionAudit {
    /// Pairs of versions compared.
    pub pairs: usize,
    /// (area, area) differences examined (per year and column).
    pub differences: usize,
    /// Unions examined.
    pub unions: usize,
    /// Differences of published areas that reveal a few people.
    pub leaks: Vec<Leak>,
}

impl Workspace {
    /// Audits everything the versions publish together, as an attacker holding every version
    /// would: for each pair of versions, year and count column, every difference of two
    /// published (not withheld) areas that share addresses, and every published area minus
    /// the published areas of the other version inside it. A difference of 1 to threshold−1
    /// people is a leak. Independent of the guard's bookkeeping (which decides what to
    /// withhold): this only looks at the outcome.
    pub fn audit_versions(&self) -> VersionAudit {
        self.audit_versions_as(true)
    }

    /// As [`Self::audit_versions`]; with `guarded` false nothing counts as withheld (what the
    /// versions would reveal without the guard — the measure of its work).
    pub fn audit_versions_as(&self, guarded: bool) -> VersionAudit {
        let all = self.list();
        let external = self
            .published_elsewhere
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let t = self.analysis.disclosure.threshold;
        let small = |v: u64| v > 0 && v < t;
        let withheld: HashMap<String, BTreeSet<String>> = all
            .iter()
            .map(|v| {
                let w = if guarded {
                    self.guarded_areas(&v.meta.key)
                } else {
                    BTreeSet::new()
                };
                (v.meta.key.clone(), w)
            })
            .collect();
        let units = vec![1u32; self.points.len()];
        let mut audit = VersionAudit::default();
        for (i, a) in all.iter().enumerate() {
            for b in all.iter().skip(i + 1) {
                if external.contains(&a.meta.key) && external.contains(&b.meta.key) {
                    continue;
                }
                audit.pairs += 1;
                let hid_a = &withheld[&a.meta.key];
                let hid_b = &withheld[&b.meta.key];
                let pub_a = |k: u32| !hid_a.contains(&a.areas[k as usize].id);
                let pub_b = |k: u32| !hid_b.contains(&b.areas[k as usize].id);
                let pairing =
                    Pairing::new(&a.assignment, &b.assignment, a.areas.len(), b.areas.len());
                let pts = pairing.crosswalk(&units);
                for y in self.years() {
                    for c in self.points.columns.iter().filter(|c| c.year == y) {
                        let cw = pairing.crosswalk(&c.values);
                        let at = |f: u32, to: u32| {
                            cw.cells
                                .binary_search_by_key(&(f, to), |x| (x.from, x.to))
                                .map_or(0, |k| cw.cells[k].weight)
                        };
                        for p in &pts.cells {
                            audit.differences += 1;
                            if !(pub_a(p.from) && pub_b(p.to)) {
                                continue;
                            }
                            let w = at(p.from, p.to);
                            for d in [
                                cw.from_total[p.from as usize] - w,
                                cw.to_total[p.to as usize] - w,
                            ] {
                                if small(d) {
                                    audit.leaks.push(Leak {
                                        a: (
                                            a.meta.key.clone(),
                                            a.areas[p.from as usize].id.clone(),
                                        ),
                                        b: (b.meta.key.clone(), b.areas[p.to as usize].id.clone()),
                                        year: y,
                                        column: c.name.clone(),
                                        difference: d,
                                    });
                                }
                            }
                        }
                        // Unions, both ways: an area minus the other side's areas inside it.
                        let mut inside_a: Vec<Vec<u32>> = vec![Vec::new(); a.areas.len()];
                        let mut inside_b: Vec<Vec<u32>> = vec![Vec::new(); b.areas.len()];
                        for p in &pts.cells {
                            if p.weight == pts.to_total[p.to as usize] {
                                inside_a[p.from as usize].push(p.to);
                            }
                            if p.weight == pts.from_total[p.from as usize] {
                                inside_b[p.to as usize].push(p.from);
                            }
                        }
                        for (ai, ins) in inside_a.iter().enumerate() {
                            if ins.len() < 2 || !pub_a(ai as u32) || !ins.iter().all(|&k| pub_b(k))
                            {
                                continue;
                            }
                            audit.unions += 1;
                            let rest = cw.from_total[ai]
                                .saturating_sub(ins.iter().map(|&k| cw.to_total[k as usize]).sum());
                            if small(rest) {
                                audit.leaks.push(Leak {
                                    a: (a.meta.key.clone(), a.areas[ai].id.clone()),
                                    b: (b.meta.key.clone(), format!("{} Gebiete darin", ins.len())),
                                    year: y,
                                    column: c.name.clone(),
                                    difference: rest,
                                });
                            }
                        }
                        for (bi, ins) in inside_b.iter().enumerate() {
                            if ins.len() < 2 || !pub_b(bi as u32) || !ins.iter().all(|&k| pub_a(k))
                            {
                                continue;
                            }
                            audit.unions += 1;
                            let rest = cw.to_total[bi].saturating_sub(
                                ins.iter().map(|&k| cw.from_total[k as usize]).sum(),
                            );
                            if small(rest) {
                                audit.leaks.push(Leak {
                                    a: (b.meta.key.clone(), b.areas[bi].id.clone()),
                                    b: (a.meta.key.clone(), format!("{} Gebiete darin", ins.len())),
                                    year: y,
                                    column: c.name.clone(),
                                    difference: rest,
                                });
                            }
                        }
                    }
                }
            }
        }
        audit
    }
}
