//! Protection intervals: what an attacker can still learn about a suppressed count from
//! everything published, computed by linear programming, and the secondary suppressions that
//! widen too narrow intervals (the method of τ-ARGUS and the statistical offices, in a small
//! form).
//!
//! # The attacker's model
//! Unknowns are the suppressed counts of one year (they never mix across years); every
//! published count is a constant. The attacker knows
//! - every count is an integer ≥ 0 (solved as a linear relaxation: ≥ 0),
//! - every additive relation (the hierarchy: a parent = Σ its children, per column and year;
//!   the configured column relations inside an area: residents = Σ age groups),
//! - every configured bound `part ≤ whole` inside an area (children in SGB II households ≤
//!   children under 15).
//!
//! Indicators with a suppressed operand are not published (the engine sets them `null`), and
//! published indicators are rounded to their declared decimals; so they add nothing here.
//!
//! # The rule
//! For every primary suppression (a count 1 ≤ n < threshold) the attacker's feasible interval
//! `[min, max]` — the LP bounds over its connected component of suppressed cells — must cover
//! `[0, threshold]`: the attacker cannot tell a 1 or 2 from a 0 or from a count that would have
//! been published. When it does not, one more published cell that shares a relation with an
//! already suppressed cell of the component is suppressed — the smallest positive one whose
//! suppression widens the interval most — and the check repeats (a greedy choice, as
//! τ-ARGUS's modular method approximates the optimum).
//!
//! The linear relaxation can be looser than what an integer-programming attacker gets in
//! pathological patterns; the hierarchies and partitions kleinraum publishes are of the kind
//! where both agree (network-like constraint matrices).

use crate::disclosure::{CellLayout, LevelCells, Relation};
use crate::result::CountFlag;
use microlp::{ComparisonOp, OptimizationDirection, Problem};
use std::collections::{BTreeMap, BTreeSet, VecDeque};

/// A cell: (level, cell index within the level).
pub type Cell = (usize, usize);

/// `part ≤ whole` inside every area and year, as column indices.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnBound {
    /// The smaller column.
    pub part: usize,
    /// The column it is part of.
    pub whole: usize,
}

/// Most cells a component may have before the search for secondary cells stops growing it
/// (the solver's time stays bounded; such a component is reported, not silently accepted).
const MAX_COMPONENT: usize = 4_000;

/// Rounds of secondary suppression per primary cell before giving up.
const MAX_ROUNDS: usize = 64;

fn suppressed(f: CountFlag) -> bool {
    matches!(f, CountFlag::Suppressed | CountFlag::SecondarySuppressed)
}

/// Unknown to the attacker: withheld, or without a value in the source (a variable ≥ 0 in
/// every relation, never a published constant).
fn unknown(f: CountFlag) -> bool {
    suppressed(f) || f == CountFlag::Missing
}

/// The constraints each cell takes part in, as two flat lists with offsets per cell (every
/// cell of every level has its slot: a hash map of small vectors was most of the time of a
/// draft edit's disclosure control).
struct CellIndex {
    /// First slot of each level's cells.
    base: Vec<usize>,
    eq_start: Vec<usize>,
    eqs: Vec<usize>,
    bound_start: Vec<usize>,
    bounds: Vec<usize>,
}

impl CellIndex {
    fn new(levels: &[LevelCells<'_>], eqs: &[Vec<(Cell, f64)>], bounds: &[(Cell, Cell)]) -> Self {
        let mut base = Vec::with_capacity(levels.len() + 1);
        let mut n = 0;
        for l in levels {
            base.push(n);
            n += l.values.len();
        }
        base.push(n);
        let slot = |c: Cell| base[c.0] + c.1;
        let eq_cells = eqs
            .iter()
            .enumerate()
            .flat_map(|(k, e)| e.iter().map(move |&(c, _)| (c, k)));
        let (eq_start, eq_list) = csr(n, eq_cells.map(|(c, k)| (slot(c), k)));
        let bound_cells = bounds
            .iter()
            .enumerate()
            .flat_map(|(k, &(a, b))| [(slot(a), k), (slot(b), k)]);
        let (bound_start, bound_list) = csr(n, bound_cells);
        CellIndex {
            base,
            eq_start,
            eqs: eq_list,
            bound_start,
            bounds: bound_list,
        }
    }

    /// The equalities and the bounds `c` takes part in.
    fn get(&self, c: Cell) -> (&[usize], &[usize]) {
        let i = self.base[c.0] + c.1;
        (
            &self.eqs[self.eq_start[i]..self.eq_start[i + 1]],
            &self.bounds[self.bound_start[i]..self.bound_start[i + 1]],
        )
    }
}

/// Groups `(slot, item)` pairs by slot (`0..n`): offsets and items, in input order per slot.
fn csr(n: usize, pairs: impl Iterator<Item = (usize, usize)> + Clone) -> (Vec<usize>, Vec<usize>) {
    let mut start = vec![0usize; n + 1];
    for (s, _) in pairs.clone() {
        start[s + 1] += 1;
    }
    for i in 0..n {
        start[i + 1] += start[i];
    }
    let mut next = start.clone();
    let mut items = vec![0; start[n]];
    for (s, k) in pairs {
        items[next[s]] = k;
        next[s] += 1;
    }
    (start, items)
}

/// The published constraints among cells, indexed for the component searches.
pub struct Constraints<'a> {
    levels: &'a [LevelCells<'a>],
    layout: &'a CellLayout,
    /// Equalities: Σ coef · cell = 0 over the cells listed (total +1, parts −1).
    rels: Vec<Vec<(Cell, f64)>>,
    /// `cells[0] ≤ cells[1]`.
    bounds: Vec<(Cell, Cell)>,
    /// Constraint numbers per cell: equalities and bounds.
    of_cell: CellIndex,
    /// Set to the threshold to model an attacker who can tell primary from secondary
    /// suppressions (as when both were flagged differently): primary cells lie in
    /// `[1, threshold − 1]`.
    pub primary_known: Option<u64>,
}

impl<'a> Constraints<'a> {
    /// Indexes `rels` (as built by [`crate::disclosure::relations`]) and the column bounds of
    /// every area of every level.
    pub fn new(
        levels: &'a [LevelCells<'a>],
        layout: &'a CellLayout,
        rels: &[Relation],
        bounds: &[ColumnBound],
    ) -> Self {
        let mut eqs = Vec::with_capacity(rels.len());
        for r in rels {
            if r.len() < 2 {
                continue;
            }
            let mut e = vec![(r[0], 1.0)];
            e.extend(r[1..].iter().map(|&c| (c, -1.0)));
            eqs.push(e);
        }
        let mut bs = Vec::new();
        for (li, level) in levels.iter().enumerate() {
            let n_areas = level.parent.len();
            for b in bounds {
                for y in 0..layout.n_years {
                    if !layout.has(y, b.part) || !layout.has(y, b.whole) {
                        continue;
                    }
                    for a in 0..n_areas {
                        bs.push((
                            (li, layout.cell(a, y, b.part)),
                            (li, layout.cell(a, y, b.whole)),
                        ));
                    }
                }
            }
        }
        let of_cell = CellIndex::new(levels, &eqs, &bs);
        Constraints {
            levels,
            layout,
            rels: eqs,
            bounds: bs,
            of_cell,
            primary_known: None,
        }
    }

    fn value(&self, c: Cell) -> u64 {
        self.levels[c.0].values[c.1]
    }

    /// The year of a cell.
    pub fn year(&self, c: Cell) -> usize {
        (c.1 / self.layout.n_cols) % self.layout.n_years.max(1)
    }

    /// The suppressed cells connected to `start` through constraints that hold ≥ 2 suppressed
    /// cells (a constraint with one suppressed cell fixes it, with none it says nothing).
    fn component(&self, start: Cell, flags: &[Vec<CountFlag>]) -> Vec<Cell> {
        let mut seen: BTreeSet<Cell> = BTreeSet::from([start]);
        let mut queue = VecDeque::from([start]);
        while let Some(c) = queue.pop_front() {
            if seen.len() > MAX_COMPONENT {
                break;
            }
            let (eqs, bs) = self.of_cell.get(c);
            let neighbours = eqs
                .iter()
                .flat_map(|&k| self.rels[k].iter().map(|&(x, _)| x))
                .chain(
                    bs.iter()
                        .flat_map(|&k| [self.bounds[k].0, self.bounds[k].1]),
                );
            for n in neighbours {
                if unknown(flags[n.0][n.1]) && seen.insert(n) {
                    queue.push_back(n);
                }
            }
        }
        seen.into_iter().collect()
    }

    /// The attacker's bounds `(min, max)` on `target` (max = ∞ when unbounded), from every
    /// constraint touching its component.
    pub fn interval(&self, target: Cell, flags: &[Vec<CountFlag>]) -> (f64, f64) {
        let comp = self.component(target, flags);
        let lo = self.solve(target, &comp, flags, OptimizationDirection::Minimize);
        let hi = self.solve(target, &comp, flags, OptimizationDirection::Maximize);
        (lo, hi)
    }

    fn solve(
        &self,
        target: Cell,
        comp: &[Cell],
        flags: &[Vec<CountFlag>],
        dir: OptimizationDirection,
    ) -> f64 {
        let mut p = Problem::new(dir);
        let mut var = BTreeMap::new();
        for &c in comp {
            let obj = if c == target { 1.0 } else { 0.0 };
            let range = match self.primary_known {
                Some(t) if flags[c.0][c.1] == CountFlag::Suppressed => (1.0, t as f64 - 1.0),
                _ => (0.0, f64::INFINITY),
            };
            var.insert(c, p.add_var(obj, range));
        }
        let mut eqs: BTreeSet<usize> = BTreeSet::new();
        let mut bs: BTreeSet<usize> = BTreeSet::new();
        for c in comp {
            let (e, b) = self.of_cell.get(*c);
            eqs.extend(e.iter().copied());
            bs.extend(b.iter().copied());
        }
        for k in eqs {
            let mut terms = Vec::new();
            let mut rhs = 0.0;
            let mut outside = false;
            for &(c, coef) in &self.rels[k] {
                match var.get(&c) {
                    Some(&v) => terms.push((v, coef)),
                    None if unknown(flags[c.0][c.1]) => outside = true,
                    None => rhs -= coef * self.value(c) as f64,
                }
            }
            // A constraint reaching a suppressed cell beyond the component cap is left out:
            // fewer constraints only widen the interval, and a capped component is reported.
            if !outside && !terms.is_empty() {
                p.add_constraint(&terms[..], ComparisonOp::Eq, rhs);
            }
        }
        for k in bs {
            let (a, b) = self.bounds[k];
            let side = |c: Cell| -> Option<Result<microlp::Variable, f64>> {
                match var.get(&c) {
                    Some(&v) => Some(Ok(v)),
                    None if unknown(flags[c.0][c.1]) => None,
                    None => Some(Err(self.value(c) as f64)),
                }
            };
            match (side(a), side(b)) {
                (Some(Ok(va)), Some(Ok(vb))) => {
                    p.add_constraint(&[(va, 1.0), (vb, -1.0)][..], ComparisonOp::Le, 0.0)
                }
                (Some(Ok(va)), Some(Err(wb))) => {
                    p.add_constraint(&[(va, 1.0)][..], ComparisonOp::Le, wb)
                }
                (Some(Err(wa)), Some(Ok(vb))) => {
                    p.add_constraint(&[(vb, 1.0)][..], ComparisonOp::Ge, wa)
                }
                _ => {}
            }
        }
        match p.solve() {
            Ok(out) => out.solution().map_or(
                match dir {
                    OptimizationDirection::Minimize => 0.0,
                    OptimizationDirection::Maximize => f64::INFINITY,
                },
                |s| s.objective(),
            ),
            Err(microlp::Error::Unbounded) => f64::INFINITY,
            // Infeasible cannot happen with true values as a solution; be conservative.
            Err(_) => match dir {
                OptimizationDirection::Minimize => self.value(target) as f64,
                OptimizationDirection::Maximize => self.value(target) as f64,
            },
        }
    }

    /// Published cells sharing a constraint with a suppressed cell of `comp`: the candidates
    /// for secondary suppression.
    fn candidates(&self, comp: &[Cell], flags: &[Vec<CountFlag>]) -> Vec<Cell> {
        let mut out = BTreeSet::new();
        for c in comp {
            let (e, b) = self.of_cell.get(*c);
            for &k in e {
                for &(x, _) in &self.rels[k] {
                    if flags[x.0][x.1] == CountFlag::Published {
                        out.insert(x);
                    }
                }
            }
            for &k in b {
                for x in [self.bounds[k].0, self.bounds[k].1] {
                    if flags[x.0][x.1] == CountFlag::Published {
                        out.insert(x);
                    }
                }
            }
        }
        out.into_iter().collect()
    }
}

/// Whether an interval protects a cell: it covers `[0, width]`.
pub fn protects((lo, hi): (f64, f64), width: u64) -> bool {
    lo <= 0.5 && hi >= width as f64 - 0.5
}

/// What [`protect`] did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProtectionReport {
    /// Primary cells checked.
    pub primary: usize,
    /// Secondary suppressions added by this step (beyond the relation rule's).
    pub added: usize,
    /// Primary cells still too narrowly bounded (should be none; reported, never hidden).
    pub unprotected: Vec<Cell>,
}

/// Checks every primary suppression's interval and suppresses further published cells until
/// each covers `[0, threshold]` (see the module documentation).
pub fn protect(
    cons: &Constraints<'_>,
    flags: &mut [Vec<CountFlag>],
    threshold: u64,
) -> ProtectionReport {
    let primaries: Vec<Cell> = flags
        .iter()
        .enumerate()
        .flat_map(|(l, f)| {
            f.iter()
                .enumerate()
                .filter(|(_, x)| **x == CountFlag::Suppressed)
                .map(move |(c, _)| (l, c))
        })
        .collect();
    let mut report = ProtectionReport {
        primary: primaries.len(),
        ..Default::default()
    };
    for &p in &primaries {
        let mut rounds = 0;
        loop {
            let iv = cons.interval(p, flags);
            if protects(iv, threshold) {
                break;
            }
            rounds += 1;
            let comp = cons.component(p, flags);
            let mut cands = cons.candidates(&comp, flags);
            if rounds > MAX_ROUNDS || cands.is_empty() {
                report.unprotected.push(p);
                break;
            }
            // Smallest positive values first (cheap to hide, most likely to widen).
            cands.sort_by_key(|&c| (cons.value(c) == 0, cons.value(c)));
            let width = |iv: (f64, f64)| iv.1.min(1e12) - iv.0;
            let mut best: Option<(Cell, f64, bool)> = None;
            for &c in cands.iter().take(12) {
                flags[c.0][c.1] = CountFlag::SecondarySuppressed;
                let trial = cons.interval(p, flags);
                flags[c.0][c.1] = CountFlag::Published;
                let ok = protects(trial, threshold);
                let w = width(trial);
                if ok {
                    best = Some((c, w, true));
                    break;
                }
                if best.is_none_or(|b| w > b.1) {
                    best = Some((c, w, false));
                }
            }
            let Some((c, _, _)) = best else {
                report.unprotected.push(p);
                break;
            };
            flags[c.0][c.1] = CountFlag::SecondarySuppressed;
            report.added += 1;
        }
    }
    report
}

/// One withheld count whose interval is too narrow.
#[derive(Debug, Clone, PartialEq)]
pub struct NarrowCell {
    /// Level key.
    pub level: String,
    /// Area id.
    pub area: String,
    /// Year.
    pub year: i32,
    /// Count column.
    pub column: String,
    /// The attacker's bounds.
    pub interval: (f64, f64),
}

/// What an attacker can learn from one published result, cell by cell.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ResultAudit {
    /// Withheld counts (every suppressed cell, primary or secondary: the public cannot tell).
    pub withheld: usize,
    /// Intervals computed (one per withheld cell).
    pub intervals: usize,
    /// The narrowest interval's width (∞ when none is bounded).
    pub narrowest: f64,
    /// Withheld counts bounded too narrowly: a small (primary) count whose interval does not
    /// cover `[0, threshold]`, or any withheld count whose interval is narrower than the
    /// threshold.
    pub narrow: Vec<NarrowCell>,
    /// Published index values of areas whose contributing indicator is withheld.
    pub index_leaks: usize,
    /// Published indicator values with more decimals than declared.
    pub imprecise: usize,
    /// Withheld counts the attacker pins to one value (interval narrower than 1).
    pub recovered: usize,
    /// Of those, small (primary) counts.
    pub recovered_primary: usize,
}

/// Audits a published result as an attacker would: rebuilds every relation among its counts
/// (the hierarchy from the parent ids, the configured column relations and bounds), treats
/// every withheld count as unknown and every published one as known, and bounds each withheld
/// count by linear programming. Also checks that no index value is published for an area with a
/// withheld index indicator, and that indicator values carry no more than their decimals.
pub fn audit_result(r: &crate::result::AggregateResult) -> ResultAudit {
    audit_result_as(r, false)
}

/// As [`audit_result`]; with `primary_known` the attacker also knows which withheld counts are
/// the small ones (what publishing two different flags told), i.e. that they lie in
/// `[1, threshold − 1]` — the situation before one flag was published for all.
pub fn audit_result_as(r: &crate::result::AggregateResult, primary_known: bool) -> ResultAudit {
    use crate::disclosure::{ColumnRelation, relations};
    let ny = r.years.len();
    let nc = r.count_columns.len();
    let col = |name: &str| r.count_columns.iter().position(|c| c == name);
    let mut has_data = vec![false; ny * nc];
    let mut values: Vec<Vec<u64>> = Vec::new();
    let mut flags: Vec<Vec<CountFlag>> = Vec::new();
    for l in &r.levels {
        let mut v = vec![0u64; l.areas.len() * ny * nc];
        let mut f = vec![CountFlag::NoData; l.areas.len() * ny * nc];
        for (a, area) in l.areas.iter().enumerate() {
            for (y, ay) in area.years.iter().enumerate() {
                for (c, count) in ay.counts.iter().enumerate() {
                    let i = (a * ny + y) * nc + c;
                    v[i] = count.value.unwrap_or(0);
                    f[i] = count.flag;
                    if count.flag != CountFlag::NoData {
                        has_data[y * nc + c] = true;
                    }
                }
            }
        }
        values.push(v);
        flags.push(f);
    }
    // Parent indices from the ids; the coarsest real level belongs to the whole city.
    let parents: Vec<Vec<Option<usize>>> = (0..r.levels.len())
        .map(|li| {
            let next = r.levels.get(li + 1);
            r.levels[li]
                .areas
                .iter()
                .map(|a| {
                    let next = next?;
                    match &a.parent {
                        Some(p) => next.areas.iter().position(|x| &x.id == p),
                        None if next.areas.len() == 1 => Some(0),
                        None => None,
                    }
                })
                .collect()
        })
        .collect();
    let layout = CellLayout {
        n_years: ny,
        n_cols: nc,
        has_data,
    };
    let cells: Vec<LevelCells<'_>> = values
        .iter()
        .zip(&parents)
        .map(|(v, p)| LevelCells {
            values: v,
            parent: p,
        })
        .collect();
    let additive: Vec<ColumnRelation> = r
        .disclosure
        .additive
        .iter()
        .filter_map(|a| {
            Some(ColumnRelation {
                total: col(&a.total)?,
                parts: a.parts.iter().map(|p| col(p)).collect::<Option<_>>()?,
            })
        })
        .collect();
    let bounds: Vec<ColumnBound> = r
        .disclosure
        .bounds
        .iter()
        .filter_map(|b| {
            Some(ColumnBound {
                part: col(&b.part)?,
                whole: col(&b.whole)?,
            })
        })
        .collect();
    let rels = relations(&cells, &layout, &additive);
    let mut cons = Constraints::new(&cells, &layout, &rels, &bounds);
    if primary_known {
        cons.primary_known = Some(r.disclosure.threshold);
    }
    let mut audit = ResultAudit {
        narrowest: f64::INFINITY,
        ..Default::default()
    };
    for (li, f) in flags.iter().enumerate() {
        for (i, flag) in f.iter().enumerate() {
            if !suppressed(*flag) {
                continue;
            }
            audit.withheld += 1;
            let iv = cons.interval((li, i), &flags);
            audit.intervals += 1;
            audit.narrowest = audit.narrowest.min(iv.1 - iv.0);
            if iv.1 - iv.0 < 0.5 {
                audit.recovered += 1;
                if *flag == CountFlag::Suppressed {
                    audit.recovered_primary += 1;
                }
            }
            // A small count must stay indistinguishable from 0 and from a published count; a
            // count withheld to protect others only must not be pinned down (width ≥ threshold).
            let ok = match flag {
                CountFlag::Suppressed => protects(iv, r.disclosure.threshold),
                _ => iv.1 - iv.0 >= r.disclosure.threshold as f64 - 0.5,
            };
            if !ok {
                let a = i / (ny * nc);
                let y = (i / nc) % ny;
                audit.narrow.push(NarrowCell {
                    level: r.levels[li].key.clone(),
                    area: r.levels[li].areas[a].id.clone(),
                    year: r.years[y],
                    column: r.count_columns[i % nc].clone(),
                    interval: iv,
                });
            }
        }
    }
    // Index values next to withheld indicators, and precision.
    for l in &r.levels {
        for area in &l.areas {
            for ay in &area.years {
                for (k, idx) in r.indices.iter().enumerate() {
                    let Some(Some(v)) = ay.indices.get(k) else {
                        continue;
                    };
                    if v.status_value.is_none() {
                        continue;
                    }
                    let withheld = idx.status.iter().chain(&idx.dynamics).any(|id| {
                        r.indicators
                            .iter()
                            .position(|i| &i.id == id)
                            .and_then(|p| ay.indicators.get(p))
                            .is_some_and(|iv| {
                                iv.reason == Some(crate::result::NullReason::Suppressed)
                            })
                    });
                    if withheld {
                        audit.index_leaks += 1;
                    }
                }
                for (i, def) in r.indicators.iter().enumerate() {
                    if let Some(x) = ay.indicators.get(i).and_then(|v| v.value) {
                        let f = 10f64.powi(i32::from(def.decimals.min(12)));
                        if ((x * f).round() / f - x).abs() > 1e-9 * x.abs().max(1.0) {
                            audit.imprecise += 1;
                        }
                    }
                }
            }
        }
    }
    audit
}
