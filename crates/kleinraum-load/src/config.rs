//! The project configuration file (TOML). One commented example per use case lives in `data/`
//! (`demo.toml`, `berlin.toml`). Unknown keys are rejected with their name; paths are resolved
//! once, at load.

use kleinraum_aggregate::config::{AnalysisConfig, DisclosureConfig, IndexConfig, IndicatorConfig};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The whole config file as written.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ProjectConfig {
    /// Name of the municipality, shown in the UI.
    #[serde(default = "default_title")]
    pub title: String,
    /// EPSG code of the metric working CRS: 25832 or 25833.
    pub working_crs: u32,
    /// Hierarchy levels, finest first. The first one needs a boundary source.
    #[serde(rename = "level")]
    pub levels: Vec<LevelSource>,
    /// Address points with counts.
    #[serde(default)]
    pub points: Option<PointSource>,
    /// Facility layers.
    #[serde(default)]
    pub facilities: Vec<FacilitySource>,
    /// Area-level tables.
    #[serde(default, rename = "table")]
    pub tables: Vec<TableSource>,
    /// Indicators.
    #[serde(default, rename = "indicator")]
    pub indicators: Vec<IndicatorConfig>,
    /// Composite indices.
    #[serde(default, rename = "index")]
    pub indices: Vec<IndexConfig>,
    /// Disclosure control.
    #[serde(default)]
    pub disclosure: DisclosureConfig,
    /// Server settings (read by `kleinraum serve`).
    #[serde(default)]
    pub server: ServerConfig,
    /// The directory relative paths are resolved against (the config file's directory).
    #[serde(skip)]
    pub base_dir: PathBuf,
}

fn default_title() -> String {
    "kleinraum".into()
}

impl ProjectConfig {
    /// The analysis sections, for the engine.
    pub fn analysis(&self) -> AnalysisConfig {
        AnalysisConfig {
            indicators: self.indicators.clone(),
            indices: self.indices.clone(),
            disclosure: self.disclosure.clone(),
        }
    }
}

/// How the parent of an area on the next coarser level is found.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct LevelSource {
    /// Machine key, the OGC API collection id (`planungsraeume`).
    pub key: String,
    /// German title.
    pub title: String,
    /// Boundary source: a file path (GeoJSON, `.geojson.gz`, Shapefile, GeoPackage, any OGR
    /// file) or an OGR connection string (`PG:dbname=…`). Optional for coarser levels, which
    /// can be derived from the parent ids of the finer level.
    #[serde(default)]
    pub source: Option<String>,
    /// Layer name inside a multi-layer source (GeoPackage, PostGIS table).
    #[serde(default)]
    pub layer: Option<String>,
    /// Field with the area id (read as text; leading zeros kept).
    pub id_field: String,
    /// Field with the area name.
    #[serde(default)]
    pub name_field: Option<String>,
    /// Field with the id of the parent area on the next level.
    #[serde(default)]
    pub parent_field: Option<String>,
    /// Alternatively: the parent id is the first N characters of the id (LOR: 6 → BZR).
    #[serde(default)]
    pub parent_prefix: Option<usize>,
    /// EPSG code to use when the source declares no CRS (an error otherwise).
    #[serde(default)]
    pub crs: Option<u32>,
    /// Text encoding of a Shapefile's DBF when it has no `.cpg` (`utf-8`, `windows-1252`).
    #[serde(default)]
    pub encoding: Option<String>,
}

/// Address points: one file with coordinates, optionally joined to count files by key.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct PointSource {
    /// CSV (`.csv`, `.csv.gz`) or any point layer (GeoJSON, GeoPackage, Shapefile, OGR).
    pub source: String,
    /// Layer name in a multi-layer source.
    #[serde(default)]
    pub layer: Option<String>,
    /// Key column (joins and error messages).
    pub key: String,
    /// CSV: easting or longitude column.
    #[serde(default)]
    pub x: Option<String>,
    /// CSV: northing or latitude column.
    #[serde(default)]
    pub y: Option<String>,
    /// EPSG code of the coordinates (CSV: required; layers: when the source declares none).
    #[serde(default)]
    pub crs: Option<u32>,
    /// CSV dialect, e.g. `csv = { delimiter = ";", decimal = ",", encoding = "windows-1252" }`.
    #[serde(default)]
    pub csv: CsvOptions,
    /// Count columns in this file (all integer).
    #[serde(default)]
    pub counts: Vec<String>,
    /// Year of the counts in this file.
    #[serde(default)]
    pub year: Option<i32>,
    /// Count files joined on the key (one per year, typically).
    #[serde(default)]
    pub join: Vec<CountSource>,
}

/// A table of counts per point key, for one year.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct CountSource {
    /// CSV file.
    pub source: String,
    /// Key column (same values as the point key).
    pub key: String,
    /// Year of these counts.
    pub year: i32,
    /// Count columns to take; empty = every column but the key.
    #[serde(default)]
    pub counts: Vec<String>,
    /// CSV dialect, e.g. `csv = { delimiter = ";", decimal = ",", encoding = "windows-1252" }`.
    #[serde(default)]
    pub csv: CsvOptions,
}

/// CSV dialect. Everything is detected when not given: delimiter from the header line,
/// encoding from BOM / UTF-8 validity (else Windows-1252).
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct CsvOptions {
    /// `,` or `;` (or tab).
    #[serde(default)]
    pub delimiter: Option<String>,
    /// Decimal separator: `.` or `,`.
    #[serde(default)]
    pub decimal: Option<String>,
    /// `utf-8` or `windows-1252`.
    #[serde(default)]
    pub encoding: Option<String>,
}

/// Facilities of one category.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct FacilitySource {
    /// Machine key (`kitas`), used in indicator operands (`kitas.capacity`).
    pub category: String,
    /// German title.
    pub title: String,
    /// Point layer or CSV.
    pub source: String,
    /// Layer name in a multi-layer source.
    #[serde(default)]
    pub layer: Option<String>,
    /// Id field.
    #[serde(default)]
    pub id_field: Option<String>,
    /// Name field.
    #[serde(default)]
    pub name_field: Option<String>,
    /// Capacity field (places, beds); text values like `"120"` are parsed.
    #[serde(default)]
    pub capacity_field: Option<String>,
    /// Only features whose field equals this value (e.g. `schultyp = "Grundschule"`).
    #[serde(default)]
    pub filter: BTreeMap<String, String>,
    /// CSV: x / lon column.
    #[serde(default)]
    pub x: Option<String>,
    /// CSV: y / lat column.
    #[serde(default)]
    pub y: Option<String>,
    /// EPSG code when the source declares none.
    #[serde(default)]
    pub crs: Option<u32>,
    /// CSV dialect, e.g. `csv = { delimiter = ";", decimal = ",", encoding = "windows-1252" }`.
    #[serde(default)]
    pub csv: CsvOptions,
}

/// A table of values per area.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct TableSource {
    /// Name used in operands (`mss2021.S1`).
    pub name: String,
    /// Key of the level whose ids the table uses.
    pub level: String,
    /// CSV file.
    pub source: String,
    /// Id column.
    pub id_field: String,
    /// Year of the values.
    pub year: i32,
    /// Columns to take; empty = every column that parses as numbers.
    #[serde(default)]
    pub columns: Vec<String>,
    /// Values meaning "missing / invalid" (MSS: `-9999`).
    #[serde(default)]
    pub missing: Vec<String>,
    /// CSV dialect, e.g. `csv = { delimiter = ";", decimal = ",", encoding = "windows-1252" }`.
    #[serde(default)]
    pub csv: CsvOptions,
}

/// `kleinraum serve` settings.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    /// Address and port.
    #[serde(default = "default_bind")]
    pub bind: String,
    /// Allowed CORS origins; empty = CORS off.
    #[serde(default)]
    pub cors_origins: Vec<String>,
    /// Optional tile URL template for a background map on the installation's own tile server.
    #[serde(default)]
    pub tile_url: Option<String>,
    /// Default page size of `/items`.
    #[serde(default = "default_limit")]
    pub default_limit: usize,
    /// Maximum page size of `/items`.
    #[serde(default = "default_max_limit")]
    pub max_limit: usize,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            bind: default_bind(),
            cors_origins: Vec::new(),
            tile_url: None,
            default_limit: default_limit(),
            max_limit: default_max_limit(),
        }
    }
}

fn default_bind() -> String {
    "127.0.0.1:8080".into()
}
fn default_limit() -> usize {
    100
}
fn default_max_limit() -> usize {
    10_000
}

/// Expands `${VAR}` in a configured path and resolves it. `KLEINRAUM_SHARED_DATA` defaults to
/// `../shared/data` (relative to the working directory, or — if that does not exist — to the
/// repository root above the config file). Other relative paths resolve against `base_dir`.
/// Connection strings (`PG:…`) are returned unchanged apart from variable expansion.
pub fn resolve_path(raw: &str, base_dir: &Path) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = raw;
    let mut used_shared_default = false;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after
            .find('}')
            .ok_or_else(|| format!("unclosed ${{ in path {raw:?}"))?;
        let name = &after[..end];
        match std::env::var(name) {
            Ok(v) if !v.is_empty() => out.push_str(&v),
            _ if name == "KLEINRAUM_SHARED_DATA" => {
                used_shared_default = true;
                out.push_str(&shared_data_default(base_dir));
            }
            _ => return Err(format!("environment variable {name} is not set (path {raw:?})")),
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    if is_connection_string(&out) {
        return Ok(out);
    }
    let p = Path::new(&out);
    if p.is_absolute() || used_shared_default || raw.starts_with("${") {
        Ok(out)
    } else {
        Ok(base_dir.join(p).to_string_lossy().into_owned())
    }
}

fn shared_data_default(base_dir: &Path) -> String {
    let cwd_default = Path::new("../shared/data");
    if cwd_default.is_dir() {
        return cwd_default.to_string_lossy().into_owned();
    }
    // Config files live in <repo>/data/, the shared folder beside the repo.
    for anc in base_dir.ancestors() {
        let cand = anc.join("../shared/data");
        if cand.is_dir() {
            return cand.to_string_lossy().into_owned();
        }
    }
    cwd_default.to_string_lossy().into_owned()
}

/// True for OGR connection strings that are not file paths (`PG:…`, `MySQL:…`, `WFS:…`).
pub fn is_connection_string(s: &str) -> bool {
    let head: String = s.chars().take_while(|c| *c != ':').collect();
    s.contains(':')
        && head.len() >= 2
        && head.chars().all(|c| c.is_ascii_alphabetic())
        && !s.contains(":\\")
}
