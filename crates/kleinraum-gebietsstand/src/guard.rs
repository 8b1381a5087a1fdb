//! The differencing guard: an area whose difference from an area of another version holds
//! 1 to threshold−1 residents would reveal them by subtraction; its values are withheld from
//! everyone below planner, and the planner is warned with the place.

use crate::session::{Session, Warning, bbox, mean_position};
use crate::workspace::Workspace;
use kleinraum_aggregate::redefine::{self, Crosswalk};
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
    /// Year of the residents.
    pub year: i32,
    /// Residents only in this area.
    pub only_here: u64,
    /// Residents only in the other area.
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
    /// The guard's findings for a version (empty when none).
    pub fn guard(&self, key: &str) -> Arc<Vec<SliverWarning>> {
        self.guarded
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(key)
            .cloned()
            .unwrap_or_default()
    }

    /// Recomputes the differencing guard over every pair of versions in which at least one is
    /// not official (drafts, uploads: their statistics reach viewers, so two drafts one house
    /// apart are a leak too). Only the non-official side of a pair is withheld: the official
    /// versions are published by the statistics office anyway.
    pub fn refresh_guard(&self) {
        let all = self.list();
        let official = self
            .official
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
        // of a draft) reveals nothing new: its slivers against official versions are the
        // official ones, which are published anyway. Without this, every draft would hide
        // dozens of unchanged areas. Computed once per version.
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
        // Only pairs not seen before are computed: a write adds the pairs of one version.
        for (i, a) in all.iter().enumerate() {
            for b in all.iter().skip(i + 1) {
                let (off_a, off_b) = (
                    official.contains(&a.meta.key),
                    official.contains(&b.meta.key),
                );
                let pair = (a.meta.key.clone(), b.meta.key.clone());
                if (off_a && off_b) || cache.pairs.contains_key(&pair) {
                    continue;
                }
                let is_copy =
                    |key: &str, area: u32| cache.copies.get(key).is_some_and(|s| s.contains(&area));
                let mut findings = Vec::new();
                for &y in &years {
                    let Some(w) = self.residents(y) else { continue };
                    let cw = Crosswalk::build(
                        &a.assignment,
                        &b.assignment,
                        w,
                        a.areas.len(),
                        b.areas.len(),
                    );
                    for s in redefine::differencing_slivers(&cw, threshold) {
                        if !(off_a || off_b && is_copy(&a.meta.key, s.draft)) {
                            findings.push((
                                a.meta.key.clone(),
                                SliverWarning {
                                    area: a.areas[s.draft as usize].id.clone(),
                                    other_version: b.meta.key.clone(),
                                    other_area: b.areas[s.other as usize].id.clone(),
                                    year: y,
                                    only_here: s.draft_only,
                                    only_there: s.other_only,
                                    location: None,
                                },
                            ));
                        }
                        if off_b || (off_a && is_copy(&b.meta.key, s.other)) {
                            continue;
                        }
                        findings.push((
                            b.meta.key.clone(),
                            SliverWarning {
                                area: b.areas[s.other as usize].id.clone(),
                                other_version: a.meta.key.clone(),
                                other_area: a.areas[s.draft as usize].id.clone(),
                                year: y,
                                only_here: s.other_only,
                                only_there: s.draft_only,
                                location: None,
                            },
                        ));
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
                let sliver = self
                    .points
                    .columns
                    .iter()
                    .enumerate()
                    .filter(|(_, c)| c.name == self.cfg.residents_column)
                    .find_map(|(col, c)| {
                        let w: Vec<u32> = inside.iter().map(|&p| c.values[p as usize]).collect();
                        let mut cw = Crosswalk::build(&from, &to, &w, s.areas.len(), v.areas.len());
                        cw.from_total[d] = s.finest.sums[d * nc + col];
                        for (o, t) in cw.to_total.iter_mut().enumerate() {
                            *t = v.finest.sums[o * nc + col];
                        }
                        redefine::differencing_slivers(&cw, threshold)
                            .into_iter()
                            .next()
                            .map(|sl| (sl, c.year))
                    });
                let Some((sl, y)) = sliver else { continue };
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
                        "Achtung: Differenzbildung möglich – {id} unterscheidet sich von {} ({}) nur um {} Einwohner:innen ({y}). Die Werte werden für die Öffentlichkeit unterdrückt.",
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

    /// Public suppression for a version's area: the guard found a sliver.
    pub fn guarded_areas(&self, key: &str) -> BTreeSet<String> {
        self.guard(key).iter().map(|w| w.area.clone()).collect()
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
