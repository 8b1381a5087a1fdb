//! The catalog: everything the server answers from, built once at startup.
//!
//! The costly work happens once: [`Catalog::build`] renders the properties per area and year.
//! The geometry in every offered CRS (reprojected through a callback the binary supplies, so
//! this crate links no PROJ), the simplified zoom tiers and the downloads are rendered the
//! first time a request needs them, then kept: most are never asked for, and rendering them at
//! start made the server slow to come up and large. CRS84, which the map and every GIS client
//! ask for, is rendered right after the server listens ([`Catalog::warm`]). A request then only
//! filters and concatenates pre-rendered pieces.
//!
//! The catalog is built from an [`AggregateResult`] (publishable: every count passed disclosure
//! control) and the public facility layers. It never sees address-level points, and it drops the
//! operator-only assignment report of the result.

use crate::crs::OutputCrs;
use geo::{Coord, Geometry, LineString, MultiPolygon, Point, Polygon, Rect};
use kleinraum_aggregate::config::{IndexConfig, IndicatorConfig, IndicatorKind};
use kleinraum_aggregate::model::FacilityLayer;
use kleinraum_aggregate::result::{AggregateResult, AreaResult, AreaYear, CountFlag};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;
use std::hash::{Hash, Hasher};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// Reprojection callback: `(target_epsg, x, y)` in the working CRS → `(x, y)` in the target.
/// For the geographic target 4326 it returns longitude, latitude (traditional GIS order).
/// Called from several threads at once (the areas are rendered on all cores), and kept by the
/// catalog for the CRSs rendered on first request.
pub type Reproject = dyn Fn(u32, f64, f64) -> Result<(f64, f64), String> + Send + Sync;

/// A collection whose CRS84 rendering failed, and why ([`Catalog::extent`]).
pub type ExtentError<'c> = (&'c Collection, &'c BuildError);

/// Why the catalog could not be built (or a CRS rendered on first request could not be).
#[derive(Debug, Clone, thiserror::Error)]
pub enum BuildError {
    /// The reprojection callback failed for a coordinate.
    #[error(
        "collection {collection}, feature {feature}: cannot reproject ({x}, {y}) to EPSG:{epsg}: {message}"
    )]
    Reproject {
        /// Collection id.
        collection: String,
        /// Feature id.
        feature: String,
        /// EPSG code of the target.
        epsg: u32,
        /// Working-CRS coordinate.
        x: f64,
        /// Working-CRS coordinate.
        y: f64,
        /// The reprojector's message.
        message: String,
    },
    /// A coordinate is NaN or infinite.
    #[error("collection {collection}, feature {feature}: coordinate is not finite")]
    NonFinite {
        /// Collection id.
        collection: String,
        /// Feature id.
        feature: String,
    },
    /// Two collections would get the same id.
    #[error("collection id {0:?} is used twice (an area level and a facility category?)")]
    DuplicateCollection(String),
    /// Two areas of one level share an id.
    #[error("collection {collection}: feature id {feature:?} occurs twice")]
    DuplicateFeature {
        /// Collection id.
        collection: String,
        /// Feature id.
        feature: String,
    },
    /// The working CRS is none of the offered ones.
    #[error("working CRS EPSG:{0} is not supported (use 25832 or 25833)")]
    WorkingCrs(u32),
}

/// Server settings that shape responses (from `[server]` in the config).
#[derive(Debug, Clone)]
pub struct Settings {
    /// Service title (the municipality).
    pub title: String,
    /// Default page size of `/items`.
    pub default_limit: usize,
    /// Maximum page size of `/items`; larger `limit` values are clamped to it.
    pub max_limit: usize,
    /// Allowed CORS origins; empty = CORS off.
    pub cors_origins: Vec<String>,
    /// Directory with the web map, served at `/map/` (none = no map).
    pub web_dir: Option<PathBuf>,
    /// Request timeout (whole request, including waiting for a work slot).
    pub timeout: Duration,
    /// Public base URL and trusted reverse proxies: how links are made absolute.
    pub proxy: crate::net::ProxyPolicy,
    /// Limits of the connection layer.
    pub limits: crate::net::ConnLimits,
    /// Costly request work: concurrency and per-request computing budget.
    pub work: crate::work::WorkLimiter,
    /// What the web map takes from the config (`/map-config`).
    pub map: MapSettings,
}

/// The web map's settings from `[server]`: outline level, background map, footer links.
#[derive(Debug, Clone, Default)]
pub struct MapSettings {
    /// Level drawn as outlines with names over the finer ones (`None` = the coarsest level
    /// with geometry).
    pub outline_level: Option<String>,
    /// Background map (validated at config load); `None` = none.
    pub basemap: Option<kleinraum_load::config::BasemapConfig>,
    /// Link to the Impressum.
    pub impressum_url: Option<String>,
    /// Link to the Datenschutzerklärung.
    pub datenschutz_url: Option<String>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            title: "kleinraum".into(),
            default_limit: 100,
            max_limit: 10_000,
            cors_origins: Vec::new(),
            web_dir: None,
            timeout: Duration::from_secs(30),
            proxy: Default::default(),
            limits: Default::default(),
            work: Default::default(),
            map: MapSettings::default(),
        }
    }
}

/// JSON type of a property (for queryables and the schema).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldType {
    /// Whole number.
    Integer,
    /// Floating-point number.
    Number,
    /// Text.
    String,
    /// true/false.
    Boolean,
}

impl FieldType {
    /// JSON Schema type name.
    pub fn json_type(self) -> &'static str {
        match self {
            FieldType::Integer => "integer",
            FieldType::Number => "number",
            FieldType::String => "string",
            FieldType::Boolean => "boolean",
        }
    }
}

/// One property of a collection's features.
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    /// Property name.
    pub name: String,
    /// German description.
    pub title: String,
    /// Type.
    pub ty: FieldType,
}

/// What a collection holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CollectionKind {
    /// Areas of a hierarchy level, one feature per area, values of one year.
    Areas,
    /// Facility points of one category.
    Facilities,
}

/// Download formats of `/collections/{id}/download`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DownloadFormat {
    /// GeoJSON in CRS84, one feature per area and year.
    GeoJson,
    /// CSV, `,` and `.`, UTF-8.
    Csv,
    /// CSV for Excel: `;`, decimal comma, UTF-8 BOM, `·` for suppressed counts.
    CsvExcel,
    /// GeoPackage (rendered by the binary, which links GDAL).
    Gpkg,
}

impl DownloadFormat {
    /// Parses the `format` parameter.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "geojson" | "json" => Some(Self::GeoJson),
            "csv" => Some(Self::Csv),
            "csv-excel" | "excel" => Some(Self::CsvExcel),
            "gpkg" | "geopackage" => Some(Self::Gpkg),
            _ => None,
        }
    }
    /// The parameter value.
    pub fn key(self) -> &'static str {
        match self {
            Self::GeoJson => "geojson",
            Self::Csv => "csv",
            Self::CsvExcel => "csv-excel",
            Self::Gpkg => "gpkg",
        }
    }
    /// Media type.
    pub fn media_type(self) -> &'static str {
        match self {
            Self::GeoJson => "application/geo+json",
            Self::Csv | Self::CsvExcel => "text/csv; charset=utf-8",
            Self::Gpkg => "application/geopackage+sqlite3",
        }
    }
    /// File extension.
    pub fn extension(self) -> &'static str {
        match self {
            Self::GeoJson => "geojson",
            Self::Csv | Self::CsvExcel => "csv",
            Self::Gpkg => "gpkg",
        }
    }
}

/// One set of property values: an area in one year, or a facility.
#[derive(Debug, Clone)]
pub struct Row {
    /// The year (areas only).
    pub year: Option<i32>,
    /// The rendered `properties` object.
    pub json: String,
    /// Values aligned with [`Collection::fields`], for filtering.
    pub values: Vec<Value>,
}

/// One feature: its geometry in the storage CRS and its pre-rendered rows. Its GeoJSON text
/// comes from [`Collection::geometry_text`].
#[derive(Debug, Clone)]
pub struct Feature {
    /// Feature id (the area id with leading zeros, or the facility id).
    pub id: String,
    /// Geometry in the storage (working) CRS; `None` for an area without a drawn shape.
    pub geometry: Option<Geometry<f64>>,
    /// Rows: one per year of the collection (areas), or exactly one (facilities).
    pub rows: Vec<Row>,
}

/// Zoom levels (WebMercatorQuad, as the `zoom-level` parameter of OGC API – Features Part 7)
/// for which simplified area geometry is rendered. A request for zoom z gets the first tier
/// ≥ z; above the last tier, the full geometry.
pub const ZOOM_TIERS: [u8; 5] = [8, 10, 12, 14, 16];

/// Largest deviation of simplified geometry, in screen pixels at the tier's zoom level.
const SIMPLIFY_PIXELS: f64 = 0.5;

/// Metres per pixel of WebMercatorQuad at zoom 0 on the equator (256-pixel tiles).
const M_PER_PX_Z0: f64 = 156_543.033_928_041;

/// Renders one download of a collection; `None` if it cannot be rendered (logged).
pub type RenderDownload = Arc<dyn Fn(&Collection) -> Option<Vec<u8>> + Send + Sync>;

/// The downloads a collection offers. Each is rendered when first asked for and then kept:
/// whole levels in every format are tens of megabytes nobody may ask for, and rendering them
/// all at start made the server slow to come up and large.
#[derive(Clone, Default)]
pub struct Downloads {
    offered: BTreeMap<DownloadFormat, (RenderDownload, std::sync::OnceLock<Option<bytes::Bytes>>)>,
}

impl std::fmt::Debug for Downloads {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.offered.keys()).finish()
    }
}

impl Downloads {
    /// The formats offered, in order.
    pub fn keys(&self) -> impl Iterator<Item = &DownloadFormat> {
        self.offered.keys()
    }

    /// Offers a format, rendered by `render` on first request.
    pub fn offer(&mut self, format: DownloadFormat, render: RenderDownload) {
        self.offered
            .insert(format, (render, std::sync::OnceLock::new()));
    }
}

/// One OGC API collection.
#[derive(Debug, Clone)]
pub struct Collection {
    /// Collection id (level key or facility category).
    pub id: String,
    /// German title.
    pub title: String,
    /// German description.
    pub description: String,
    /// Areas or facilities.
    pub kind: CollectionKind,
    /// Properties, in output order.
    pub fields: Vec<Field>,
    /// Years (areas), ascending; empty for facilities.
    pub years: Vec<i32>,
    /// Features.
    pub features: Vec<Feature>,
    /// Feature position by id.
    pub by_id: HashMap<String, usize>,
    /// GeoJSON geometry type of the features; `None` when no feature has a geometry (the
    /// whole municipality, which is a sum, not a drawn area).
    pub geometry_type: Option<&'static str>,
    /// Position in [`Collection::years`] of the year shown when a request names none: the
    /// latest year in which the level's index has values (so a GIS client's default layer
    /// shows the Sozialraumgebiete), else the latest year.
    pub default_year: Option<usize>,
    /// Position of the level in [`AggregateResult::levels`] (areas only).
    pub level: Option<usize>,
    /// Downloads, rendered on first request.
    pub downloads: Downloads,
    /// The features' geometry in the output CRSs and zoom tiers, each rendered on first
    /// request.
    geo: Geometries,
}

impl Collection {
    /// A download, rendered on the first request for it (then kept). `None` if the format is
    /// not offered or could not be rendered.
    pub fn download(&self, format: DownloadFormat) -> Option<bytes::Bytes> {
        let (render, cell) = self.downloads.offered.get(&format)?;
        cell.get_or_init(|| render(self).map(bytes::Bytes::from))
            .clone()
    }

    /// Position of a field by name.
    pub fn field(&self, name: &str) -> Option<usize> {
        self.fields.iter().position(|f| f.name == name)
    }

    /// Position in [`ZOOM_TIERS`] of the simplified geometry for `zoom` (`None`: full geometry).
    pub fn zoom_tier(&self, zoom: Option<u8>) -> Option<usize> {
        let z = zoom?;
        if self.kind != CollectionKind::Areas {
            return None;
        }
        ZOOM_TIERS.iter().position(|&t| t >= z)
    }

    /// The GeoJSON geometry text of feature `fi` in `crs`, simplified for the zoom `tier`
    /// (position in [`ZOOM_TIERS`]; `None`: full detail; facilities have no tiers). `null`
    /// for an area without geometry. A CRS or tier nobody asked for before is rendered now,
    /// for the whole collection, and kept: up to a few hundred milliseconds on Berlin's
    /// finest level, so callers run this off the async threads.
    pub fn geometry_text(
        &self,
        fi: usize,
        tier: Option<usize>,
        crs: OutputCrs,
    ) -> Result<&str, &BuildError> {
        let rendered = self.in_crs(crs)?;
        if let Some(t) = tier.filter(|_| self.kind == CollectionKind::Areas)
            && let Some(Some(text)) = self.tier_texts(rendered, crs, t).get(fi)
        {
            return Ok(text);
        }
        Ok(rendered.full.get(fi).map_or("null", String::as_str))
    }

    /// The geometry of feature `fi` in `crs`, for bbox tests (EPSG:4326 bboxes are tested
    /// against CRS84, with their axes swapped by the query parser).
    pub fn shape(&self, fi: usize, crs: OutputCrs) -> Result<Option<&Geometry<f64>>, &BuildError> {
        let crs = if crs == OutputCrs::Epsg4326 {
            OutputCrs::Crs84
        } else {
            crs
        };
        if crs == self.geo.storage {
            return Ok(self.features.get(fi).and_then(|f| f.geometry.as_ref()));
        }
        Ok(self.in_crs(crs)?.shapes.get(fi).and_then(Option::as_ref))
    }

    /// Whether [`Collection::geometry_text`] for `crs` and `tier` answers without rendering.
    pub fn geometry_ready(&self, tier: Option<usize>, crs: OutputCrs) -> bool {
        match self.geo.crs[crs.index()].get() {
            None => false,
            Some(Err(_)) => true,
            Some(Ok(r)) => match tier.filter(|_| self.kind == CollectionKind::Areas) {
                None => true,
                Some(t) => r.tiers.get(t).is_none_or(|c| c.get().is_some()),
            },
        }
    }

    /// Vertices of the full geometry, and per [`ZOOM_TIERS`] entry of the simplified one
    /// (simplifies every tier not simplified yet).
    pub fn vertices(&self) -> (usize, Vec<usize>) {
        let full = self
            .features
            .iter()
            .filter_map(|f| match &f.geometry {
                Some(Geometry::MultiPolygon(m)) => Some(m),
                _ => None,
            })
            .map(|m| {
                m.0.iter()
                    .map(|p| {
                        p.exterior().0.len()
                            + p.interiors().iter().map(|r| r.0.len()).sum::<usize>()
                    })
                    .sum::<usize>()
            })
            .sum();
        if self.kind != CollectionKind::Areas {
            return (full, Vec::new());
        }
        let tiers = (0..ZOOM_TIERS.len())
            .map(|t| {
                self.masks(t)
                    .iter()
                    .flatten()
                    .map(crate::simplify::kept_vertices)
                    .sum()
            })
            .collect();
        (full, tiers)
    }

    /// The bounding box of the features in CRS84 (`None` when none has a geometry), from the
    /// CRS84 rendering (made now if it was not before: exact, not a reprojected box).
    fn own_extent(&self) -> Result<Option<[f64; 4]>, &BuildError> {
        Ok(self.in_crs(OutputCrs::Crs84)?.extent)
    }

    /// The rendering in `crs`, made now if it was not before.
    fn in_crs(&self, crs: OutputCrs) -> Result<&InCrs, &BuildError> {
        self.geo.crs[crs.index()]
            .get_or_init(|| self.render_crs(crs))
            .as_ref()
    }

    /// Reprojects (except into the storage CRS) and renders every feature into `crs`.
    fn render_crs(&self, crs: OutputCrs) -> Result<InCrs, BuildError> {
        use rayon::prelude::*;
        let geo = &self.geo;
        // EPSG:4326 is CRS84 with swapped axes: no reprojection of its own.
        if crs == OutputCrs::Epsg4326 {
            let base = self.in_crs(OutputCrs::Crs84).map_err(Clone::clone)?;
            let full = base
                .shapes
                .par_iter()
                .map(|g| {
                    g.as_ref()
                        .map_or_else(|| "null".into(), |g| render_geometry(g, 7, true))
                })
                .collect();
            return Ok(InCrs::new(Vec::new(), full));
        }
        if crs == geo.storage {
            let full = self
                .features
                .par_iter()
                .map(|f| {
                    f.geometry.as_ref().map_or_else(
                        || "null".into(),
                        |g| render_geometry(g, crs.decimals(), false),
                    )
                })
                .collect();
            return Ok(InCrs::new(Vec::new(), full));
        }
        let renderer = GeomRenderer {
            working: geo.storage,
            reproject: &*geo.reproject,
        };
        // Reprojecting and rendering a feature needs nothing of the others: all cores. The
        // first error in feature order is the one reported, as one by one.
        let (shapes, full): (Vec<_>, Vec<_>) = self
            .features
            .par_iter()
            .map(|f| -> Result<(Option<Geometry<f64>>, String), BuildError> {
                let Some(g) = &f.geometry else {
                    return Ok((None, "null".into()));
                };
                let shape = renderer.transform(g, crs, (&self.id, &f.id))?;
                let text = render_geometry(&shape, crs.decimals(), false);
                Ok((Some(shape), text))
            })
            .collect::<Vec<_>>()
            .into_iter()
            .collect::<Result<Vec<_>, BuildError>>()?
            .into_iter()
            .unzip();
        Ok(InCrs::new(shapes, full))
    }

    /// The simplification of zoom tier `t` (which vertices each area keeps), made now if it was
    /// not before. Made on the storage geometry, so every CRS keeps the same vertices.
    fn masks(&self, t: usize) -> &[Option<crate::simplify::Mask>] {
        self.geo.masks[t].get_or_init(|| {
            let refs: Vec<Option<&MultiPolygon<f64>>> = self
                .features
                .iter()
                .map(|f| match &f.geometry {
                    Some(Geometry::MultiPolygon(m)) => Some(m),
                    _ => None,
                })
                .collect();
            // The tolerance is SIMPLIFY_PIXELS at the latitude of the level's centre.
            let extent = self.own_extent().ok().flatten();
            let lat = extent.map_or(51.0, |e| (e[1] + e[3]) / 2.0);
            let tolerance = M_PER_PX_Z0 * lat.to_radians().cos()
                / 2f64.powi(i32::from(ZOOM_TIERS[t]))
                * SIMPLIFY_PIXELS;
            crate::simplify::simplify_level(&refs, tolerance)
        })
    }

    /// The texts of zoom tier `t` in `crs` (`None`: the area keeps its full geometry), made now
    /// if they were not before.
    fn tier_texts<'a>(
        &'a self,
        rendered: &'a InCrs,
        crs: OutputCrs,
        t: usize,
    ) -> &'a [Option<String>] {
        let Some(cell) = rendered.tiers.get(t) else {
            return &[];
        };
        cell.get_or_init(|| {
            use rayon::prelude::*;
            let masks = self.masks(t);
            // Shapes to cut, taken before the parallel part: nothing in it waits for a cell.
            let shapes: Vec<Option<&Geometry<f64>>> = (0..self.features.len())
                .map(|fi| self.shape(fi, crs).ok().flatten())
                .collect();
            let d = tier_decimals(crs, ZOOM_TIERS[t]);
            let swap = crs == OutputCrs::Epsg4326;
            masks
                .par_iter()
                .zip(shapes)
                .map(|(mask, shape)| match (mask, shape) {
                    (Some(mask), Some(Geometry::MultiPolygon(m))) => Some(render_geometry(
                        &Geometry::MultiPolygon(crate::simplify::apply_mask(m, mask)),
                        d,
                        swap,
                    )),
                    _ => None,
                })
                .collect()
        })
    }

    /// Row position of the default year (see [`Collection::default_year`]); 0 for facilities.
    pub fn default_year_index(&self) -> Option<usize> {
        match self.kind {
            CollectionKind::Facilities => Some(0),
            CollectionKind::Areas => self.default_year,
        }
    }
}

/// A collection's geometry in the output CRSs and zoom tiers, each rendered once, when first
/// needed.
#[derive(Clone)]
struct Geometries {
    /// The CRS of [`Feature::geometry`].
    storage: OutputCrs,
    /// From the storage CRS into the others.
    reproject: Arc<Reproject>,
    /// Per [`OutputCrs::index`].
    crs: [std::sync::OnceLock<Result<InCrs, BuildError>>; 4],
    /// Per [`ZOOM_TIERS`] entry: which vertices each area keeps (`None`: all).
    masks: [std::sync::OnceLock<Vec<Option<crate::simplify::Mask>>>; ZOOM_TIERS.len()],
}

impl Geometries {
    fn new(storage: OutputCrs, reproject: Arc<Reproject>) -> Geometries {
        Geometries {
            storage,
            reproject,
            crs: Default::default(),
            masks: Default::default(),
        }
    }
}

impl std::fmt::Debug for Geometries {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ready: Vec<bool> = self.crs.iter().map(|c| c.get().is_some()).collect();
        f.debug_struct("Geometries")
            .field("storage", &self.storage)
            .field("rendered_per_crs", &ready)
            .finish_non_exhaustive()
    }
}

/// Every feature of a collection rendered in one CRS.
#[derive(Debug, Clone)]
struct InCrs {
    /// Reprojected geometry per feature, for bbox tests; empty for the storage CRS (that is
    /// [`Feature::geometry`]) and EPSG:4326 (tested against CRS84).
    shapes: Vec<Option<Geometry<f64>>>,
    /// GeoJSON text per feature at full detail.
    full: Vec<String>,
    /// Per [`ZOOM_TIERS`] entry: text per feature (`None`: the full text serves).
    tiers: [std::sync::OnceLock<Vec<Option<String>>>; ZOOM_TIERS.len()],
    /// Bounding box of `shapes` (`None` when they are empty or all `None`).
    extent: Option<[f64; 4]>,
}

impl InCrs {
    fn new(shapes: Vec<Option<Geometry<f64>>>, full: Vec<String>) -> InCrs {
        InCrs {
            extent: extent_of(&shapes),
            shapes,
            full,
            tiers: Default::default(),
        }
    }
}

/// Everything the server serves, immutable after [`Catalog::build`].
#[derive(Debug)]
pub struct Catalog {
    /// Settings.
    pub settings: Settings,
    /// Storage (working) CRS.
    pub storage_crs: OutputCrs,
    /// Collections: area levels (finest first), then facility categories.
    pub collections: Vec<Collection>,
    /// The publishable result, with the operator-only report removed (for time series, index
    /// rankings and the indicator catalogue).
    pub result: AggregateResult,
    /// Hash of everything rendered: part of every ETag.
    pub version: u64,
    /// The report set-up (`GET /reports/{kind}`); `None`: no reports.
    pub reports: Option<Arc<crate::reports::Reports>>,
}

/// A readable formula for the indicator catalogue.
pub fn formula(ind: &IndicatorConfig) -> String {
    let den = ind.denominator.as_deref().unwrap_or("?");
    match ind.kind {
        IndicatorKind::Share => format!("{} / {} × 100", ind.numerator, den),
        IndicatorKind::RatePer1000 => format!("{} / {} × 1000", ind.numerator, den),
        IndicatorKind::DensityKm2 => format!("{} / Fläche in km²", ind.numerator),
        IndicatorKind::SupplyRate => format!("{} / {} × 100", ind.numerator, den),
        IndicatorKind::Change => format!(
            "{n}(Jahr) − {n}(Jahr − {y})",
            n = ind.numerator,
            y = ind.years.unwrap_or(1)
        ),
        IndicatorKind::Value => ind.numerator.clone(),
    }
}

/// The published name of a count flag. Primary and secondary suppression carry the same
/// name: telling them apart tells an attacker which cells hold 1 or 2.
pub fn flag_name(f: CountFlag) -> &'static str {
    match f {
        CountFlag::Published => "published",
        CountFlag::Suppressed | CountFlag::SecondarySuppressed => "suppressed",
        CountFlag::NoData => "no_data",
        CountFlag::Missing => "missing",
    }
}

fn push_json_str(buf: &mut String, s: &str) {
    // A text without quote, backslash or control character is its own JSON (serde_json
    // escapes nothing else): most ids, names and field names, every property of every row.
    if !s.bytes().any(|b| b < 0x20 || b == b'"' || b == b'\\') {
        buf.push('"');
        buf.push_str(s);
        buf.push('"');
        return;
    }
    // serde_json escapes exactly as JSON requires; writing into a String cannot fail.
    buf.push_str(&serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into()));
}

/// Writes a finite number in shortest form, `null` otherwise.
pub fn push_num(buf: &mut String, v: f64) {
    if v.is_finite() {
        let _ = write!(buf, "{v}");
    } else {
        buf.push_str("null");
    }
}

#[doc(hidden)] // public for tests/it/units
pub fn round_to(v: f64, decimals: i32) -> f64 {
    let f = 10f64.powi(decimals);
    let r = (v * f).round() / f;
    // -0 would print as "-0"
    if r == 0.0 { 0.0 } else { r }
}

fn push_value(buf: &mut String, v: &Value) {
    match v {
        Value::Number(n) => {
            if let Some(f) = n.as_f64().filter(|_| n.is_f64()) {
                push_num(buf, f);
            } else {
                let _ = write!(buf, "{n}");
            }
        }
        Value::String(s) => push_json_str(buf, s),
        Value::Null => buf.push_str("null"),
        Value::Bool(b) => buf.push_str(if *b { "true" } else { "false" }),
        other => buf.push_str(&other.to_string()),
    }
}

fn num_value(v: Option<f64>) -> Value {
    v.filter(|x| x.is_finite())
        .and_then(serde_json::Number::from_f64)
        .map(Value::Number)
        .unwrap_or(Value::Null)
}

/// Renders a properties object from fields and values.
pub fn render_properties(fields: &[Field], values: &[Value]) -> String {
    let mut s = String::with_capacity(64 * fields.len());
    s.push('{');
    for (i, (f, v)) in fields.iter().zip(values).enumerate() {
        if i > 0 {
            s.push(',');
        }
        push_json_str(&mut s, &f.name);
        s.push(':');
        push_value(&mut s, v);
    }
    s.push('}');
    s
}

/// Field list of an area level.
fn area_fields(result: &AggregateResult, level_key: &str) -> Vec<Field> {
    let f = |name: String, title: String, ty| Field { name, title, ty };
    let mut v = vec![
        f("id".into(), "Gebiets-ID".into(), FieldType::String),
        f("name".into(), "Name".into(), FieldType::String),
        f(
            "parent".into(),
            "ID des übergeordneten Gebiets".into(),
            FieldType::String,
        ),
        f("level".into(), "Ebene".into(), FieldType::String),
        f(
            "year".into(),
            "Jahr (Stichtag 31.12.)".into(),
            FieldType::Integer,
        ),
        f("area_km2".into(), "Fläche in km²".into(), FieldType::Number),
    ];
    for c in &result.count_columns {
        v.push(f(c.clone(), format!("Anzahl {c}"), FieldType::Integer));
        v.push(f(
            format!("{c}_flag"),
            format!("Veröffentlichungsstatus {c} (published, suppressed, no_data, missing)"),
            FieldType::String,
        ));
    }
    for (cat, title) in result
        .facility_categories
        .iter()
        .zip(&result.facility_titles)
    {
        v.push(f(
            format!("{cat}_count"),
            format!("{title}: Anzahl"),
            FieldType::Integer,
        ));
        v.push(f(
            format!("{cat}_capacity"),
            format!("{title}: Kapazität"),
            FieldType::Number,
        ));
    }
    for ind in &result.indicators {
        v.push(f(
            ind.id.clone(),
            format!("{} ({})", ind.title, ind.unit_label()),
            FieldType::Number,
        ));
    }
    for idx in result.indices.iter().filter(|i| i.level == level_key) {
        let t = &idx.title;
        let id = &idx.id;
        v.push(f(
            format!("{id}_status_value"),
            format!("{t}: Statusindex"),
            FieldType::Number,
        ));
        v.push(f(
            format!("{id}_status_class"),
            format!("{t}: Statusklasse (1 hoch … 4 sehr niedrig)"),
            FieldType::Integer,
        ));
        v.push(f(
            format!("{id}_dynamics_value"),
            format!("{t}: Dynamikindex"),
            FieldType::Number,
        ));
        v.push(f(
            format!("{id}_dynamics_class"),
            format!("{t}: Dynamikklasse (1 positiv, 2 stabil, 3 negativ)"),
            FieldType::Integer,
        ));
        v.push(f(
            format!("{id}_group"),
            format!("{t}: Gesamtindex"),
            FieldType::String,
        ));
        v.push(f(
            format!("{id}_attention"),
            format!("{t}: Sozialraumgebiet (Gebiet mit besonderem Aufmerksamkeitsbedarf)"),
            FieldType::Boolean,
        ));
    }
    v
}

/// Values of one area in one year, aligned with [`area_fields`].
fn area_values(
    result: &AggregateResult,
    level_key: &str,
    area: &AreaResult,
    ay: &AreaYear,
    has_capacity: &[bool],
) -> Vec<Value> {
    let mut v: Vec<Value> = vec![
        Value::String(area.id.clone()),
        Value::String(area.name.clone()),
        area.parent
            .clone()
            .map(Value::String)
            .unwrap_or(Value::Null),
        Value::String(level_key.to_string()),
        Value::from(ay.year),
        num_value(Some(round_to(area.area_m2 / 1e6, 6))),
    ];
    for (i, _) in result.count_columns.iter().enumerate() {
        match ay.counts.get(i) {
            Some(c) => {
                v.push(c.value.map(Value::from).unwrap_or(Value::Null));
                v.push(Value::String(flag_name(c.flag).into()));
            }
            None => {
                v.push(Value::Null);
                v.push(Value::String(flag_name(CountFlag::NoData).into()));
            }
        }
    }
    for (i, _) in result.facility_categories.iter().enumerate() {
        match area.facilities.get(i) {
            Some(fs) => {
                v.push(Value::from(fs.count));
                // A layer without capacity data has no capacity, not 0 places.
                v.push(if has_capacity.get(i).copied().unwrap_or(true) {
                    num_value(Some(fs.capacity))
                } else {
                    Value::Null
                });
            }
            None => {
                v.push(Value::Null);
                v.push(Value::Null);
            }
        }
    }
    for (i, _) in result.indicators.iter().enumerate() {
        v.push(num_value(ay.indicators.get(i).and_then(|x| x.value)));
    }
    for (i, idx) in result.indices.iter().enumerate() {
        if idx.level != level_key {
            continue;
        }
        match ay.indices.get(i).and_then(|x| x.as_ref()) {
            Some(iv) => {
                v.push(num_value(iv.status_value));
                v.push(iv.status_class.map(Value::from).unwrap_or(Value::Null));
                v.push(num_value(iv.dynamics_value));
                v.push(iv.dynamics_class.map(Value::from).unwrap_or(Value::Null));
                v.push(iv.group.clone().map(Value::String).unwrap_or(Value::Null));
                v.push(Value::Bool(iv.attention));
            }
            None => v.extend(std::iter::repeat_n(Value::Null, 6)),
        }
    }
    v
}

/// Reprojects geometries out of the working CRS.
struct GeomRenderer<'r> {
    working: OutputCrs,
    reproject: &'r Reproject,
}

impl GeomRenderer<'_> {
    fn coord(
        &self,
        crs: OutputCrs,
        c: Coord<f64>,
        ctx: (&str, &str),
    ) -> Result<Coord<f64>, BuildError> {
        if !c.x.is_finite() || !c.y.is_finite() {
            return Err(BuildError::NonFinite {
                collection: ctx.0.into(),
                feature: ctx.1.into(),
            });
        }
        if crs == self.working {
            return Ok(c);
        }
        let epsg = crs.epsg();
        let (x, y) = (self.reproject)(epsg, c.x, c.y).map_err(|message| BuildError::Reproject {
            collection: ctx.0.into(),
            feature: ctx.1.into(),
            epsg,
            x: c.x,
            y: c.y,
            message,
        })?;
        if !x.is_finite() || !y.is_finite() {
            return Err(BuildError::Reproject {
                collection: ctx.0.into(),
                feature: ctx.1.into(),
                epsg,
                x: c.x,
                y: c.y,
                message: "result is not finite".into(),
            });
        }
        Ok(Coord { x, y })
    }

    fn transform(
        &self,
        g: &Geometry<f64>,
        crs: OutputCrs,
        ctx: (&str, &str),
    ) -> Result<Geometry<f64>, BuildError> {
        Ok(match g {
            Geometry::Point(p) => Geometry::Point(Point(self.coord(crs, p.0, ctx)?)),
            Geometry::MultiPolygon(mp) => {
                let mut polys = Vec::with_capacity(mp.0.len());
                for p in &mp.0 {
                    let ext = self.ring(p.exterior(), crs, ctx)?;
                    let mut ints = Vec::with_capacity(p.interiors().len());
                    for r in p.interiors() {
                        ints.push(self.ring(r, crs, ctx)?);
                    }
                    polys.push(Polygon::new(ext, ints));
                }
                Geometry::MultiPolygon(MultiPolygon(polys))
            }
            // The catalog only creates points and multipolygons.
            other => other.clone(),
        })
    }

    fn ring(
        &self,
        r: &LineString<f64>,
        crs: OutputCrs,
        ctx: (&str, &str),
    ) -> Result<LineString<f64>, BuildError> {
        let mut out = Vec::with_capacity(r.0.len());
        for c in &r.0 {
            out.push(self.coord(crs, *c, ctx)?);
        }
        Ok(LineString(out))
    }
}

fn push_coord(buf: &mut String, c: Coord<f64>, decimals: i32, swap: bool) {
    let (a, b) = if swap { (c.y, c.x) } else { (c.x, c.y) };
    buf.push('[');
    push_rounded(buf, a, decimals);
    buf.push(',');
    push_rounded(buf, b, decimals);
    buf.push(']');
}

/// `push_num(buf, round_to(v, decimals))`, written with integer arithmetic: the rendered
/// geometries are most of the server's start-up time. A decimal of at most 15 significant
/// digits is the shortest text of the double nearest to it (DBL_DIG), and `k / 10^d` is that
/// double, so the digits of `k` with trailing zeros dropped are exactly what `{}` prints.
/// Anything else takes the general path.
#[doc(hidden)] // public for tests/it/units
pub fn push_rounded(buf: &mut String, v: f64, decimals: i32) {
    let scaled = (v * 10f64.powi(decimals)).round();
    if !(0..=15).contains(&decimals) || !scaled.is_finite() || scaled.abs() >= 1e15 {
        push_num(buf, round_to(v, decimals));
        return;
    }
    let k = scaled as i64;
    if k < 0 {
        buf.push('-');
    }
    let m = k.unsigned_abs();
    let p = 10u64.pow(decimals as u32);
    let (int, mut frac) = (m / p, m % p);
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    let mut n = int;
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    buf.push_str(std::str::from_utf8(&digits[at..]).unwrap_or("0"));
    if frac != 0 {
        let mut width = decimals as usize;
        while frac % 10 == 0 {
            frac /= 10;
            width -= 1;
        }
        buf.push('.');
        let mut at = digits.len();
        for _ in 0..width {
            at -= 1;
            digits[at] = b'0' + (frac % 10) as u8;
            frac /= 10;
        }
        buf.push_str(std::str::from_utf8(&digits[at..]).unwrap_or("0"));
    }
}

/// Renders a point or multipolygon as GeoJSON geometry text.
pub fn render_geometry(g: &Geometry<f64>, decimals: i32, swap: bool) -> String {
    let mut s = String::new();
    match g {
        Geometry::Point(p) => {
            s.push_str("{\"type\":\"Point\",\"coordinates\":");
            push_coord(&mut s, p.0, decimals, swap);
            s.push('}');
        }
        Geometry::MultiPolygon(mp) => {
            s.push_str("{\"type\":\"MultiPolygon\",\"coordinates\":[");
            for (pi, p) in mp.0.iter().enumerate() {
                if pi > 0 {
                    s.push(',');
                }
                s.push('[');
                for (ri, r) in std::iter::once(p.exterior())
                    .chain(p.interiors())
                    .enumerate()
                {
                    if ri > 0 {
                        s.push(',');
                    }
                    s.push('[');
                    for (ci, c) in r.0.iter().enumerate() {
                        if ci > 0 {
                            s.push(',');
                        }
                        push_coord(&mut s, *c, decimals, swap);
                    }
                    s.push(']');
                }
                s.push(']');
            }
            s.push_str("]}");
        }
        _ => s.push_str("null"),
    }
    s
}

fn bbox_of(g: &Geometry<f64>) -> Option<Rect<f64>> {
    use geo::BoundingRect;
    g.bounding_rect()
}

impl Catalog {
    /// Builds the catalog: renders every property set and checks that every coordinate is
    /// finite; the geometry in each CRS (reprojected through `reproject`, which is kept), the
    /// zoom tiers and the downloads are rendered on first request, CRS84 by [`Catalog::warm`].
    /// `result` must be publishable (it is: disclosure control runs in the engine); its
    /// operator-only assignment report is dropped here.
    pub fn build(
        settings: Settings,
        result: &AggregateResult,
        facilities: &[FacilityLayer],
        reproject: Arc<Reproject>,
    ) -> Result<Catalog, BuildError> {
        Self::build_owned(settings, result.clone(), facilities, reproject)
    }

    /// [`Catalog::build`] from a result the caller no longer needs (no copy of it is made).
    pub fn build_owned(
        settings: Settings,
        mut result: AggregateResult,
        facilities: &[FacilityLayer],
        reproject: Arc<Reproject>,
    ) -> Result<Catalog, BuildError> {
        let working = match result.working_epsg {
            25832 => OutputCrs::Epsg25832,
            25833 => OutputCrs::Epsg25833,
            other => return Err(BuildError::WorkingCrs(other)),
        };
        result.report = Default::default();
        let mut collections: Vec<Collection> = Vec::new();
        let mut seen = BTreeSet::new();
        let has_capacity: Vec<bool> = result
            .facility_categories
            .iter()
            .map(|cat| {
                facilities
                    .iter()
                    .find(|l| &l.category == cat)
                    .is_none_or(|l| l.capacity.iter().any(Option::is_some))
            })
            .collect();

        for (li, level) in result.levels.iter().enumerate() {
            if !seen.insert(level.key.clone()) {
                return Err(BuildError::DuplicateCollection(level.key.clone()));
            }
            let fields = area_fields(&result, &level.key);
            let mut features = Vec::with_capacity(level.areas.len());
            let mut by_id = HashMap::new();
            for area in &level.areas {
                if by_id.insert(area.id.clone(), features.len()).is_some() {
                    return Err(BuildError::DuplicateFeature {
                        collection: level.key.clone(),
                        feature: area.id.clone(),
                    });
                }
                features.push(area);
            }
            // Rendering an area's rows needs nothing of the others: all cores.
            use rayon::prelude::*;
            let features: Vec<Feature> = features
                .par_iter()
                .map(|area| {
                    let rows = area
                        .years
                        .iter()
                        .map(|ay| {
                            let values = area_values(&result, &level.key, area, ay, &has_capacity);
                            Row {
                                year: Some(ay.year),
                                json: render_properties(&fields, &values),
                                values,
                            }
                        })
                        .collect();
                    Feature {
                        id: area.id.clone(),
                        geometry: area.geometry.clone().map(Geometry::MultiPolygon),
                        rows,
                    }
                })
                .collect();
            let default_year = default_year(&result, li);
            let index_note = if result.indices.iter().any(|i| i.level == level.key) {
                "das jüngste Jahr mit Indexwerten"
            } else {
                "das jüngste Jahr"
            };
            let has_geometry = level.areas.iter().any(|a| a.geometry.is_some());
            let mut c = Collection {
                id: level.key.clone(),
                title: level.title.clone(),
                description: format!(
                    "{}: {} Gebiete mit Bevölkerungszahlen, Indikatoren und Indexklassen; \
                     ein Feature je Gebiet mit den Werten des gewählten Jahres (datetime; \
                     ohne datetime: {index_note}, hier {})",
                    level.title,
                    level.areas.len(),
                    default_year
                        .and_then(|y| result.years.get(y))
                        .map_or_else(|| "–".to_string(), |y| y.to_string()),
                ),
                kind: CollectionKind::Areas,
                fields,
                years: result.years.clone(),
                features,
                by_id,
                geometry_type: has_geometry.then_some("MultiPolygon"),
                default_year,
                level: Some(li),
                downloads: Downloads::default(),
                geo: Geometries::new(working, Arc::clone(&reproject)),
            };
            check_finite(&c)?;
            render_downloads(&mut c);
            collections.push(c);
        }

        for layer in facilities {
            if !seen.insert(layer.category.clone()) {
                return Err(BuildError::DuplicateCollection(layer.category.clone()));
            }
            let mut c =
                facility_collection(layer, Geometries::new(working, Arc::clone(&reproject)))?;
            check_finite(&c)?;
            render_downloads(&mut c);
            collections.push(c);
        }

        let mut h = std::collections::hash_map::DefaultHasher::new();
        for c in &collections {
            c.id.hash(&mut h);
            for f in &c.features {
                f.id.hash(&mut h);
                // The stored geometry, not a rendering of it: every rendering follows from it.
                if let Some(g) = &f.geometry {
                    hash_geometry(g, &mut h);
                }
                for r in &f.rows {
                    r.json.hash(&mut h);
                }
            }
        }
        settings.title.hash(&mut h);
        let version = h.finish();
        Ok(Catalog {
            settings,
            storage_crs: working,
            collections,
            result,
            version,
            reports: None,
        })
    }

    /// The spatial extent of `c` in CRS84 (`None` when nothing has a geometry). A level
    /// without geometry (the synthetic whole city) covers the finest level's extent. Renders
    /// CRS84 if that was not done before (see [`Catalog::extents_ready`]).
    pub fn extent<'c>(&'c self, c: &'c Collection) -> Result<Option<[f64; 4]>, ExtentError<'c>> {
        if let Some(e) = c.own_extent().map_err(|e| (c, e))? {
            return Ok(Some(e));
        }
        match self.collections.first() {
            Some(finest) if !std::ptr::eq(finest, c) => {
                finest.own_extent().map_err(|e| (finest, e))
            }
            _ => Ok(None),
        }
    }

    /// Whether [`Catalog::extent`] answers without rendering, for every collection.
    pub fn extents_ready(&self) -> bool {
        self.collections
            .iter()
            .all(|c| c.geometry_ready(None, OutputCrs::Crs84))
    }

    /// Renders CRS84 for every collection, finest level first (what the map asks for first),
    /// unless a request did already. The binary calls it on a thread of its own once the
    /// server listens, so the first answers do not wait for it; a request that needs CRS84
    /// before waits for what it needs (the items their collection, the extents every one).
    /// Returns the first error.
    pub fn warm(&self) -> Result<(), BuildError> {
        let mut first = Ok(());
        for c in &self.collections {
            if let Err(e) = c.in_crs(OutputCrs::Crs84)
                && first.is_ok()
            {
                first = Err(e.clone());
            }
        }
        first
    }

    /// A collection by id.
    pub fn collection(&self, id: &str) -> Option<&Collection> {
        self.collections.iter().find(|c| c.id == id)
    }

    /// Adds (or replaces) a pre-rendered download. Returns false if the collection does not
    /// exist.
    pub fn set_download(
        &mut self,
        collection: &str,
        format: DownloadFormat,
        bytes: Vec<u8>,
    ) -> bool {
        let bytes = bytes::Bytes::from(bytes);
        self.offer_download(
            collection,
            format,
            Arc::new(move |_: &Collection| Some(bytes.to_vec())),
        )
    }

    /// Offers a download rendered on first request, e.g. the GeoPackage the binary renders.
    /// Returns false if the collection does not exist.
    pub fn offer_download(
        &mut self,
        collection: &str,
        format: DownloadFormat,
        render: RenderDownload,
    ) -> bool {
        match self.collections.iter_mut().find(|c| c.id == collection) {
            Some(c) => {
                c.downloads.offer(format, render);
                true
            }
            None => false,
        }
    }

    /// An index definition by id.
    pub fn index_config(&self, id: &str) -> Option<&IndexConfig> {
        self.result.indices.iter().find(|i| i.id == id)
    }
}

/// The default year of level `li` (see [`Collection::default_year`]).
fn default_year(result: &AggregateResult, li: usize) -> Option<usize> {
    let level = result.levels.get(li)?;
    let indexed: Vec<usize> = result
        .indices
        .iter()
        .enumerate()
        .filter(|(_, i)| i.level == level.key)
        .map(|(k, _)| k)
        .collect();
    let last = result.years.len().checked_sub(1)?;
    if indexed.is_empty() {
        return Some(last);
    }
    (0..result.years.len())
        .rev()
        .find(|&yi| {
            level.areas.iter().any(|a| {
                a.years.get(yi).is_some_and(|y| {
                    indexed.iter().any(|&k| {
                        y.indices
                            .get(k)
                            .and_then(|v| v.as_ref())
                            .is_some_and(|v| v.status_class.is_some())
                    })
                })
            })
        })
        .or(Some(last))
}

/// Fails on the first coordinate that is NaN or infinite (in feature order): no CRS could
/// render it. Reprojection itself happens when a CRS is first asked for.
fn check_finite(c: &Collection) -> Result<(), BuildError> {
    use geo::CoordsIter;
    for f in &c.features {
        if let Some(g) = &f.geometry
            && !g.coords_iter().all(|p| p.x.is_finite() && p.y.is_finite())
        {
            return Err(BuildError::NonFinite {
                collection: c.id.clone(),
                feature: f.id.clone(),
            });
        }
    }
    Ok(())
}

/// Hashes a geometry's structure and coordinates (their bits: a moved vertex changes it).
fn hash_geometry(g: &Geometry<f64>, h: &mut impl Hasher) {
    fn ring(r: &[Coord<f64>], h: &mut impl Hasher) {
        r.len().hash(h);
        for c in r {
            c.x.to_bits().hash(h);
            c.y.to_bits().hash(h);
        }
    }
    match g {
        Geometry::Point(p) => ring(&[p.0], h),
        Geometry::MultiPolygon(mp) => {
            for p in &mp.0 {
                p.interiors().len().hash(h);
                ring(&p.exterior().0, h);
                for r in p.interiors() {
                    ring(&r.0, h);
                }
            }
        }
        // The catalog only creates points and multipolygons.
        _ => {}
    }
}

fn extent_of(shapes: &[Option<Geometry<f64>>]) -> Option<[f64; 4]> {
    let mut e: Option<[f64; 4]> = None;
    for g in shapes {
        if let Some(r) = g.as_ref().and_then(bbox_of) {
            let b = [r.min().x, r.min().y, r.max().x, r.max().y];
            e = Some(match e {
                None => b,
                Some(a) => [
                    a[0].min(b[0]),
                    a[1].min(b[1]),
                    a[2].max(b[2]),
                    a[3].max(b[3]),
                ],
            });
        }
    }
    e.map(|b| b.map(|v| round_to(v, 7)))
}

fn facility_collection(layer: &FacilityLayer, geo: Geometries) -> Result<Collection, BuildError> {
    // Feature ids: the source ids when they are all present and unique, else row numbers.
    let unique: BTreeSet<&str> = layer.ids.iter().map(String::as_str).collect();
    let use_src_ids =
        layer.ids.len() == layer.len() && unique.len() == layer.len() && !unique.contains("");
    let mut fields = vec![
        Field {
            name: "id".into(),
            title: "ID".into(),
            ty: FieldType::String,
        },
        Field {
            name: "name".into(),
            title: "Name".into(),
            ty: FieldType::String,
        },
        Field {
            name: "category".into(),
            title: "Kategorie".into(),
            ty: FieldType::String,
        },
        Field {
            name: "capacity".into(),
            title: "Kapazität (Plätze)".into(),
            ty: FieldType::Number,
        },
    ];
    let reserved: BTreeSet<&str> = ["id", "name", "category", "capacity"].into();
    let mut attr_keys: BTreeSet<&str> = BTreeSet::new();
    for a in &layer.attributes {
        attr_keys.extend(a.keys().map(String::as_str));
    }
    // Source attributes colliding with the fixed fields keep their value under `<key>_src`.
    let attr_names: Vec<(&str, String)> = attr_keys
        .iter()
        .map(|k| {
            (
                *k,
                if reserved.contains(k) {
                    format!("{k}_src")
                } else {
                    (*k).to_string()
                },
            )
        })
        .collect();
    for (_, n) in &attr_names {
        fields.push(Field {
            name: n.clone(),
            title: n.clone(),
            ty: FieldType::String,
        });
    }
    let mut features = Vec::with_capacity(layer.len());
    let mut by_id = HashMap::new();
    for i in 0..layer.len() {
        let id = if use_src_ids {
            layer.ids[i].clone()
        } else {
            (i + 1).to_string()
        };
        let geometry = Some(Geometry::Point(Point::new(layer.x[i], layer.y[i])));
        let attrs = layer.attributes.get(i);
        let mut values = vec![
            Value::String(layer.ids.get(i).cloned().unwrap_or_default()),
            Value::String(layer.names.get(i).cloned().unwrap_or_default()),
            Value::String(layer.category.clone()),
            num_value(layer.capacity.get(i).copied().flatten()),
        ];
        for (k, _) in &attr_names {
            values.push(
                attrs
                    .and_then(|a| a.get(*k))
                    .map(|s| Value::String(s.clone()))
                    .unwrap_or(Value::Null),
            );
        }
        by_id.insert(id.clone(), features.len());
        features.push(Feature {
            id,
            geometry,
            rows: vec![Row {
                year: None,
                json: render_properties(&fields, &values),
                values,
            }],
        });
    }
    Ok(Collection {
        id: layer.category.clone(),
        title: layer.title.clone(),
        description: format!(
            "{}: {} Einrichtungen (öffentliche Daten)",
            layer.title,
            layer.len()
        ),
        kind: CollectionKind::Facilities,
        fields,
        years: Vec::new(),
        features,
        by_id,
        geometry_type: Some("Point"),
        default_year: None,
        level: None,
        downloads: Downloads::default(),
        geo,
    })
}

/// Decimals of simplified coordinates at zoom `z`: rounding moves a vertex by at most a tenth
/// of a pixel (degrees: 4 decimals up to zoom 10, 5 up to 14, then 6; metres: whole metres up
/// to zoom 14, then decimetres), and shared vertices round alike on both sides of a border.
fn tier_decimals(crs: OutputCrs, z: u8) -> i32 {
    match (crs.is_geographic(), z) {
        (true, 0..=10) => 4,
        (true, 11..=14) => 5,
        (true, _) => 6,
        (false, 0..=14) => 0,
        (false, _) => 1,
    }
}

/// Offers GeoJSON (CRS84) and both CSV variants of a whole collection, every year.
fn render_downloads(c: &mut Collection) {
    c.downloads.offer(
        DownloadFormat::GeoJson,
        Arc::new(|c: &Collection| render_geojson(c).map(String::into_bytes)),
    );
    c.downloads.offer(
        DownloadFormat::Csv,
        Arc::new(|c: &Collection| Some(render_csv(c, false).into_bytes())),
    );
    c.downloads.offer(
        DownloadFormat::CsvExcel,
        Arc::new(|c: &Collection| Some(render_csv(c, true).into_bytes())),
    );
}

/// The GeoJSON download: CRS84, one feature per area and year. `None` (logged) when CRS84
/// cannot be rendered.
fn render_geojson(c: &Collection) -> Option<String> {
    if let Err(e) = c.in_crs(OutputCrs::Crs84) {
        tracing::error!(collection = %c.id, error = %e, "GeoJSON download unavailable");
        return None;
    }
    let mut gj = String::from("{\"type\":\"FeatureCollection\",\"name\":");
    push_json_str(&mut gj, &c.id);
    gj.push_str(",\"features\":[");
    // One feature per area and year: the top-level id is the row number (GDAL takes an
    // integer id as the feature id, so the area id stays the one `id` field).
    let mut n = 0usize;
    for (fi, f) in c.features.iter().enumerate() {
        // Rendered above.
        let geometry = c
            .geometry_text(fi, None, OutputCrs::Crs84)
            .unwrap_or("null");
        for r in &f.rows {
            if n > 0 {
                gj.push(',');
            }
            n += 1;
            let _ = write!(gj, "{{\"type\":\"Feature\",\"id\":{n},\"geometry\":");
            gj.push_str(geometry);
            gj.push_str(",\"properties\":");
            gj.push_str(&r.json);
            gj.push('}');
        }
    }
    gj.push_str("]}\n");
    Some(gj)
}

fn csv_cell(out: &mut String, s: &str, sep: char) {
    if s.contains(sep) || s.contains('"') || s.contains('\n') || s.contains('\r') {
        out.push('"');
        out.push_str(&s.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(s);
    }
}

/// CSV of a collection. The Excel variant uses `;`, decimal comma, a UTF-8 BOM and `·` for
/// suppressed counts (so a planner can tell "suppressed" from "no data").
pub fn render_csv(c: &Collection, excel: bool) -> String {
    let sep = if excel { ';' } else { ',' };
    let mut out = String::new();
    if excel {
        out.push('\u{feff}');
    }
    for (i, f) in c.fields.iter().enumerate() {
        if i > 0 {
            out.push(sep);
        }
        csv_cell(&mut out, &f.name, sep);
    }
    out.push_str("\r\n");
    for f in &c.features {
        for r in &f.rows {
            for (i, v) in r.values.iter().enumerate() {
                if i > 0 {
                    out.push(sep);
                }
                match v {
                    Value::Null => {
                        if excel {
                            // The flag field follows the count field.
                            let suppressed = matches!(
                                r.values.get(i + 1).and_then(Value::as_str),
                                Some("suppressed")
                            ) && c
                                .fields
                                .get(i + 1)
                                .is_some_and(|n| n.name.ends_with("_flag"));
                            if suppressed {
                                out.push('·');
                            }
                        }
                    }
                    Value::String(s) => csv_cell(&mut out, s, sep),
                    Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
                    Value::Number(_) => {
                        let mut s = String::new();
                        push_value(&mut s, v);
                        if excel {
                            s = s.replace('.', ",");
                        }
                        out.push_str(&s);
                    }
                    other => csv_cell(&mut out, &other.to_string(), sep),
                }
            }
            out.push_str("\r\n");
        }
    }
    out
}
