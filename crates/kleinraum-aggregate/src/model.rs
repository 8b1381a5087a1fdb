//! Domain types: what `kleinraum-load` produces and everything else consumes.
//!
//! All coordinates are in the metric working CRS (ETRS89 / UTM, EPSG:25832 or 25833), so areas
//! are in m² and distances in m. Conversion to CRS84 for output happens once, in the writers and
//! the server.

use geo::MultiPolygon;
use std::collections::BTreeMap;

/// One Sozialraum (or a unit of a coarser hierarchy level).
#[derive(Debug, Clone, PartialEq)]
pub struct Area {
    /// The area's id as text, leading zeros kept (`01100101`).
    pub id: String,
    /// Display name. Not unique (Berlin has two "Schloßstraße").
    pub name: String,
    /// Id of the containing area on the next coarser level, if the hierarchy is configured.
    pub parent: Option<String>,
    /// Geometry in the working CRS. `None` for a level that is defined only through the
    /// hierarchy (no boundary file configured); the finest level always has geometry.
    pub geometry: Option<MultiPolygon<f64>>,
    /// Further attributes of the source feature, as text (for display and joins).
    pub attributes: BTreeMap<String, String>,
}

/// A level of the area hierarchy, e.g. Planungsräume, Bezirksregionen, Bezirke.
#[derive(Debug, Clone, PartialEq)]
pub struct Level {
    /// Machine key, used as the OGC API collection id (`planungsraeume`).
    pub key: String,
    /// German title for the UI (`Planungsräume (LOR 2021)`).
    pub title: String,
    /// The areas, in source order.
    pub areas: Vec<Area>,
}

impl Level {
    /// Index of an area by id (linear; build a map for repeated use).
    pub fn position(&self, id: &str) -> Option<usize> {
        self.areas.iter().position(|a| a.id == id)
    }
}

/// One count column of a point layer for one year, e.g. `residents` on 31.12.2021.
#[derive(Debug, Clone, PartialEq)]
pub struct CountColumn {
    /// Column name as configured (`residents`, `age_below_6`, `unemployed_sgb2`).
    pub name: String,
    /// Reference year (Stichtag 31.12. of that year).
    pub year: i32,
    /// One value per point; a point without a row for this year has 0.
    pub values: Vec<u32>,
}

/// Address-level points with counts. Personal data: never leaves the server.
///
/// Structure of arrays: the spatial join touches only `x`/`y`, the aggregation only the
/// columns, so each pass streams just what it needs.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PointLayer {
    /// Working-CRS easting in metres.
    pub x: Vec<f64>,
    /// Working-CRS northing in metres.
    pub y: Vec<f64>,
    /// The key of each point (e.g. `addr_id`), for error messages and the check report.
    /// May be empty for generated benchmark data.
    pub keys: PointKeys,
    /// Count columns, any number, each for one year.
    pub columns: Vec<CountColumn>,
    /// True when the points are in Morton order ([`crate::spatial::morton_order`]; the loader
    /// puts them so for callers that join them many times). A join over unordered points
    /// visits them in that order through a permutation instead: the same answer, fast.
    pub in_spatial_order: bool,
}

impl PointLayer {
    /// Number of points.
    pub fn len(&self) -> usize {
        self.x.len()
    }

    /// True if the layer holds no points.
    pub fn is_empty(&self) -> bool {
        self.x.is_empty()
    }

    /// Reorders every per-point array by `perm` (point `k` of the result is point `perm[k]`
    /// of the input). Used once at load with [`crate::spatial::morton_order`].
    pub fn reorder(&mut self, perm: &[u32]) {
        use rayon::prelude::*;
        assert_eq!(perm.len(), self.len());
        fn apply<T: Copy + Send + Sync>(v: &mut Vec<T>, perm: &[u32]) {
            if v.len() == perm.len() {
                *v = perm.par_iter().map(|&i| v[i as usize]).collect();
            }
        }
        let keys = &mut self.keys;
        rayon::join(
            || {
                if keys.len() == perm.len() {
                    *keys = keys.permuted(perm);
                }
            },
            || {
                apply(&mut self.x, perm);
                apply(&mut self.y, perm);
                for c in &mut self.columns {
                    apply(&mut c.values, perm);
                }
            },
        );
    }

    /// The distinct years of the count columns, ascending.
    pub fn years(&self) -> Vec<i32> {
        let mut y: Vec<i32> = self.columns.iter().map(|c| c.year).collect();
        y.sort_unstable();
        y.dedup();
        y
    }

    /// The distinct count column names, in first-seen order.
    pub fn column_names(&self) -> Vec<String> {
        let mut names: Vec<String> = Vec::new();
        for c in &self.columns {
            if !names.contains(&c.name) {
                names.push(c.name.clone());
            }
        }
        names
    }
}

/// Facility points of one category (Kitas, schools, youth centres, care homes). Public data.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FacilityLayer {
    /// Machine key, used as the collection id and in indicator formulas (`kitas`).
    pub category: String,
    /// German title (`Kindertagesstätten`).
    pub title: String,
    /// Working-CRS easting in metres.
    pub x: Vec<f64>,
    /// Working-CRS northing in metres.
    pub y: Vec<f64>,
    /// Facility id (e.g. `e_nr`), text.
    pub ids: Vec<String>,
    /// Facility name.
    pub names: Vec<String>,
    /// Capacity (places, beds); `None` where the source has none.
    pub capacity: Vec<Option<f64>>,
    /// Further attributes per facility (address, operator …), for popups.
    pub attributes: Vec<BTreeMap<String, String>>,
}

impl FacilityLayer {
    /// Number of facilities.
    pub fn len(&self) -> usize {
        self.x.len()
    }

    /// True if the layer holds no facilities.
    pub fn is_empty(&self) -> bool {
        self.x.is_empty()
    }
}

/// A table of values already aggregated per area (population by age from the statistical office
/// of the Land, SGB II counts from the Bundesagentur, the MSS shares), joined to a level by area
/// id: one row per area and year, so one table holds a whole time series.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AreaTable {
    /// Name used in indicator formulas (`mss2021`).
    pub name: String,
    /// Key of the level the ids refer to.
    pub level: String,
    /// Area id per row (keys that match no area are kept: the run reports them).
    pub ids: Vec<String>,
    /// Reference year per row (Stichtag 31.12. of that year).
    pub years: Vec<i32>,
    /// The columns, each with one value per row.
    pub columns: Vec<TableColumn>,
}

/// One column of an [`AreaTable`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TableColumn {
    /// Column name (after renaming), used in operands (`bevoelkerung.residents`).
    pub name: String,
    /// A count: summed up the hierarchy and to the whole municipality, under disclosure control
    /// like a sum of address points, and split in proportion to the weights when interpolated
    /// onto other Gebietsstände. Otherwise a rate or other value.
    pub count: bool,
    /// For a value that is a rate: the count column whose values weight its mean on coarser
    /// levels. Without one, a rate has no value on coarser levels (it is not averaged silently).
    pub weight: Option<String>,
    /// One value per row; `None` = missing (see `marks`).
    pub values: Vec<Option<f64>>,
    /// Per row: the marker that stood in the source where the value is missing (`*`, `.`, `-`,
    /// `x`, `/`, or a configured one); `None` for values and for plain empty cells.
    pub marks: Vec<Option<String>>,
}

impl TableColumn {
    /// A column with this one's name and kind and no rows yet (room for `rows`): the start of
    /// the same table on another Gebietsstand.
    pub fn empty_like(&self, rows: usize) -> TableColumn {
        TableColumn {
            name: self.name.clone(),
            count: self.count,
            weight: self.weight.clone(),
            values: Vec::with_capacity(rows),
            marks: Vec::new(),
        }
    }
}

impl AreaTable {
    /// A column by name, if present.
    pub fn column(&self, name: &str) -> Option<&TableColumn> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// The distinct years of the rows, ascending.
    pub fn distinct_years(&self) -> Vec<i32> {
        let mut y = self.years.clone();
        y.sort_unstable();
        y.dedup();
        y
    }

    /// The names of the count columns.
    pub fn count_columns(&self) -> impl Iterator<Item = &str> {
        self.columns
            .iter()
            .filter(|c| c.count)
            .map(|c| c.name.as_str())
    }
}

/// Everything a configuration names, loaded and reprojected: the input of the engine.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Dataset {
    /// EPSG code of the working CRS (25832 or 25833).
    pub working_epsg: u32,
    /// Hierarchy levels, finest first. `levels[0]` has geometry for every area; level `i + 1`
    /// holds the parents named by `levels[i].areas[..].parent`.
    pub levels: Vec<Level>,
    /// Address points with counts.
    pub points: PointLayer,
    /// Facility layers, one per category.
    pub facilities: Vec<FacilityLayer>,
    /// Area-level tables.
    pub tables: Vec<AreaTable>,
}

/// What estimates for other area definitions (crosswalks, interpolation) are weighted by.
#[derive(Debug, Clone, PartialEq)]
pub enum Weighting {
    /// Residents at the address points (the best weight: people live at addresses).
    Addresses,
    /// A population grid such as the Zensus 100 m / 1 km grid: points at the cell centres (or
    /// spread evenly over each cell) with the cell's population.
    Grid {
        /// What the grid is, for the German label (`Zensus 2011, 1-km-Gitter`).
        title: String,
    },
    /// Area: a regular lattice of points, each standing for the same area (people are assumed
    /// to be spread evenly over each area).
    Area {
        /// Distance between lattice points in metres.
        spacing_m: f64,
    },
}

impl Weighting {
    /// A short machine key: `adressen`, `gitter`, `flaeche`.
    pub fn key(&self) -> &'static str {
        match self {
            Weighting::Addresses => "adressen",
            Weighting::Grid { .. } => "gitter",
            Weighting::Area { .. } => "flaeche",
        }
    }

    /// The weighting in plain German, for every estimated value.
    pub fn label(&self) -> String {
        match self {
            Weighting::Addresses => "über die Einwohner:innen an den Adressen".into(),
            Weighting::Grid { title } => format!("über das Bevölkerungsgitter ({title})"),
            Weighting::Area { spacing_m } => format!(
                "über die Fläche (Bevölkerung gleichmäßig verteilt angenommen; Raster {spacing_m:.0} m)"
            ),
        }
    }
}

/// Points that carry a weight for crosswalks when there are no address points: a population
/// grid or an area lattice. Public data (a published grid) or no data at all (a lattice).
#[derive(Debug, Clone, PartialEq)]
pub struct WeightLayer {
    /// Working-CRS easting in metres.
    pub x: Vec<f64>,
    /// Working-CRS northing in metres.
    pub y: Vec<f64>,
    /// Weight per point (population of the cell, or 1 for a lattice point).
    pub weight: Vec<u32>,
    /// What the weights are.
    pub weighting: Weighting,
}

/// The keys of the address points (e.g. `addr_id`), stored compactly: 20 million keys as
/// `String`s take over a gigabyte. Keys written as plain integers (digits, no leading zero, the
/// usual case) take 4 bytes each below 2^32 and 8 above; any other keys their text plus an
/// offset.
#[derive(Debug, Clone)]
pub enum PointKeys {
    /// Every key is a plain integer below 2^32.
    Small(Vec<u32>),
    /// Every key is a plain integer, one at least 2^32.
    Int(Vec<u64>),
    /// Keys as text: `text[ends[i - 1]..ends[i]]` is key `i`.
    Text {
        /// The keys, concatenated.
        text: String,
        /// End of each key in `text`.
        ends: Vec<usize>,
    },
}

impl Default for PointKeys {
    fn default() -> Self {
        PointKeys::Small(Vec::new())
    }
}

/// Integer keys are equal when their values are, however wide they are stored.
impl PartialEq for PointKeys {
    fn eq(&self, other: &Self) -> bool {
        match (self.ints(), other.ints()) {
            (Some(a), Some(b)) => a.len() == b.len() && a.iter().eq(b.iter()),
            (None, None) => matches!(
                (self, other),
                (PointKeys::Text { text: t, ends: e }, PointKeys::Text { text: u, ends: f })
                    if t == u && e == f
            ),
            _ => false,
        }
    }
}

impl Eq for PointKeys {}

/// Integer keys as stored ([`PointKeys::ints`]).
#[derive(Clone, Copy)]
pub enum IntKeys<'a> {
    Small(&'a [u32]),
    Int(&'a [u64]),
}

impl IntKeys<'_> {
    /// Number of keys.
    pub fn len(&self) -> usize {
        match self {
            IntKeys::Small(v) => v.len(),
            IntKeys::Int(v) => v.len(),
        }
    }

    /// True if there are no keys.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The keys' values, in order.
    pub fn iter(&self) -> impl Iterator<Item = u64> + '_ {
        let (small, wide) = match *self {
            IntKeys::Small(v) => (v, &[][..]),
            IntKeys::Int(v) => (&[][..], v),
        };
        small
            .iter()
            .map(|&k| u64::from(k))
            .chain(wide.iter().copied())
    }
}

/// The value of a key written as a plain integer: digits only, no leading zero, below 10^19,
/// so that the text of the value is the key again.
pub fn plain_int(k: &str) -> Option<u64> {
    let b = k.as_bytes();
    if b.is_empty() || b.len() > 19 || (b[0] == b'0' && b.len() > 1) {
        return None;
    }
    b.iter().try_fold(0u64, |n, &c| {
        c.is_ascii_digit().then(|| n * 10 + u64::from(c - b'0'))
    })
}

impl PointKeys {
    /// Number of keys.
    pub fn len(&self) -> usize {
        match self {
            PointKeys::Small(v) => v.len(),
            PointKeys::Int(v) => v.len(),
            PointKeys::Text { ends, .. } => ends.len(),
        }
    }

    /// True if there are no keys.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The keys as integers, if every one is a plain integer.
    pub fn ints(&self) -> Option<IntKeys<'_>> {
        match self {
            PointKeys::Small(v) => Some(IntKeys::Small(v)),
            PointKeys::Int(v) => Some(IntKeys::Int(v)),
            PointKeys::Text { .. } => None,
        }
    }

    /// Key `i`.
    pub fn get(&self, i: usize) -> Option<std::borrow::Cow<'_, str>> {
        match self {
            PointKeys::Small(v) => v.get(i).map(|k| k.to_string().into()),
            PointKeys::Int(v) => v.get(i).map(|k| k.to_string().into()),
            PointKeys::Text { text, ends } => {
                let end = *ends.get(i)?;
                let start = if i == 0 { 0 } else { ends[i - 1] };
                Some(text[start..end].into())
            }
        }
    }

    /// Every key, in order.
    pub fn iter(&self) -> impl Iterator<Item = std::borrow::Cow<'_, str>> + '_ {
        (0..self.len()).filter_map(|i| self.get(i))
    }

    /// Room for `n` integer keys (the common case; text keys grow as they come).
    pub fn with_capacity(n: usize) -> Self {
        PointKeys::Small(Vec::with_capacity(n))
    }

    /// Capacity for `n` more keys (their ends, for text keys) where the system grants it: a
    /// hint, without it the keys grow as they are pushed.
    pub fn reserve(&mut self, n: usize) {
        let _ = match self {
            PointKeys::Small(v) => v.try_reserve(n),
            PointKeys::Int(v) => v.try_reserve(n),
            PointKeys::Text { ends, .. } => ends.try_reserve(n),
        };
    }

    /// Appends a key.
    pub fn push(&mut self, key: impl AsRef<str>) {
        let key = key.as_ref();
        if !matches!(self, PointKeys::Text { .. }) {
            match plain_int(key) {
                Some(k) => {
                    self.push_int(k);
                    return;
                }
                None => self.make_text(),
            }
        }
        if let PointKeys::Text { text, ends } = self {
            text.push_str(key);
            ends.push(text.len());
        }
    }

    /// Appends a key written as a plain integer (see [`plain_int`]), given as its value.
    #[inline]
    pub fn push_int(&mut self, key: u64) {
        match self {
            PointKeys::Small(v) => match u32::try_from(key) {
                Ok(k) => v.push(k),
                Err(_) => {
                    self.widen();
                    self.push_int(key);
                }
            },
            PointKeys::Int(v) => v.push(key),
            PointKeys::Text { text, ends } => {
                use std::fmt::Write as _;
                let _ = write!(text, "{key}");
                ends.push(text.len());
            }
        }
    }

    /// Small keys stored as wide ones (a key of 2^32 or more is coming).
    fn widen(&mut self) {
        if let PointKeys::Small(v) = self {
            let mut wide = Vec::with_capacity(v.capacity().max(v.len() + 1));
            wide.extend(v.iter().map(|&k| u64::from(k)));
            *self = PointKeys::Int(wide);
        }
    }

    fn make_text(&mut self) {
        if let Some(ints) = self.ints() {
            let mut text = String::new();
            let mut ends = Vec::with_capacity(ints.len());
            for k in ints.iter() {
                use std::fmt::Write as _;
                let _ = write!(text, "{k}");
                ends.push(text.len());
            }
            *self = PointKeys::Text { text, ends };
        }
    }

    /// Appends the keys of `other` (wide when either is wide, text keys when either has text
    /// keys).
    pub fn append(&mut self, mut other: PointKeys) {
        match (&mut *self, &other) {
            (PointKeys::Small(v), PointKeys::Small(w)) => {
                v.extend_from_slice(w);
                return;
            }
            (PointKeys::Small(_) | PointKeys::Int(_), PointKeys::Small(_) | PointKeys::Int(_)) => {
                self.widen();
                if let (PointKeys::Int(v), Some(w)) = (&mut *self, other.ints()) {
                    v.extend(w.iter());
                }
                return;
            }
            _ => {}
        }
        self.make_text();
        other.make_text();
        if let (PointKeys::Text { text, ends }, PointKeys::Text { text: t, ends: e }) =
            (self, other)
        {
            let base = text.len();
            text.push_str(&t);
            ends.extend(e.into_iter().map(|x| x + base));
        }
    }

    /// Reordered: key `k` of the result is key `perm[k]`.
    #[doc(hidden)] // public for tests/it/units
    pub fn permuted(&self, perm: &[u32]) -> PointKeys {
        use rayon::prelude::*;
        match self {
            PointKeys::Small(v) => {
                PointKeys::Small(perm.par_iter().map(|&i| v[i as usize]).collect())
            }
            PointKeys::Int(v) => PointKeys::Int(perm.par_iter().map(|&i| v[i as usize]).collect()),
            PointKeys::Text { text, ends } => {
                let mut out = PointKeys::Text {
                    text: String::with_capacity(text.len()),
                    ends: Vec::with_capacity(ends.len()),
                };
                for &i in perm {
                    out.push(self.get(i as usize).unwrap_or_default());
                }
                out
            }
        }
    }
}

impl From<Vec<String>> for PointKeys {
    fn from(keys: Vec<String>) -> Self {
        keys.into_iter().collect()
    }
}

impl<S: AsRef<str>> FromIterator<S> for PointKeys {
    fn from_iter<I: IntoIterator<Item = S>>(iter: I) -> Self {
        let mut out = PointKeys::default();
        for k in iter {
            out.push(k);
        }
        out
    }
}
