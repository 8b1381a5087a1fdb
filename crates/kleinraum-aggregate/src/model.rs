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
    pub keys: Vec<String>,
    /// Count columns, any number, each for one year.
    pub columns: Vec<CountColumn>,
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
        assert_eq!(perm.len(), self.len());
        fn apply<T: Clone>(v: &mut Vec<T>, perm: &[u32]) {
            if v.len() == perm.len() {
                *v = perm.iter().map(|&i| v[i as usize].clone()).collect();
            }
        }
        apply(&mut self.x, perm);
        apply(&mut self.y, perm);
        apply(&mut self.keys, perm);
        for c in &mut self.columns {
            apply(&mut c.values, perm);
        }
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

/// A table of values already aggregated per area (SGB II counts from the Bundesagentur, the MSS
/// shares), joined to a level by area id.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AreaTable {
    /// Name used in indicator formulas (`mss2021`).
    pub name: String,
    /// Key of the level the ids refer to.
    pub level: String,
    /// Year the values refer to.
    pub year: i32,
    /// Area ids, one per row.
    pub ids: Vec<String>,
    /// Numeric columns: name and one value per row (`None` = missing / marked invalid).
    pub columns: Vec<(String, Vec<Option<f64>>)>,
}

impl AreaTable {
    /// Values of one column, if present.
    pub fn column(&self, name: &str) -> Option<&[Option<f64>]> {
        self.columns
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_slice())
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
