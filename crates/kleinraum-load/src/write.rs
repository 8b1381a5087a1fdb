//! Writers for an [`AggregateResult`]: CSV (plain and for Excel), GeoJSON, GeoPackage.
//!
//! Every writer renders the same table: one row per (level, area, year) with the columns
//! `level,id,name,year,<count columns…>,<cat>_count,<cat>_capacity…,<indicator ids…>` and per
//! index `<id>_status_value,<id>_status_class,<id>_dynamics_value,<id>_dynamics_class,
//! <id>_group,<id>_attention` (see [`columns`]). Suppressed counts and indicators are empty
//! (CSV), `·` (Excel) or `null` plus `<col>_flag` (GeoJSON); their values never reach an
//! output because the result holds `None` for them.

use crate::crs::Reprojector;
use kleinraum_aggregate::result::{AggregateResult, AreaResult, CountFlag, IndexValue, NullReason};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Decimal places of index values (the official MSS tables publish 2; one more keeps ranks).
const INDEX_DECIMALS: usize = 3;
/// Decimal places of CRS84 coordinates (≈ 1 cm).
const COORD_DECIMALS: f64 = 1e7;

/// A writer failure, naming the output file.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// The file cannot be written.
    #[error("{path}: cannot write: {source}")]
    Io {
        /// Output file.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
    /// Geometry cannot be reprojected.
    #[error("{path}: reprojection: {message}")]
    Crs {
        /// Output file.
        path: PathBuf,
        /// PROJ's message with the coordinate.
        message: String,
    },
    /// GDAL failed.
    #[error("{path}: GDAL: {message}")]
    Gdal {
        /// Output file.
        path: PathBuf,
        /// GDAL's message.
        message: String,
    },
    /// The extension names no supported format.
    #[error("{path}: unknown output format (use .csv, .geojson or .gpkg)")]
    UnknownFormat {
        /// Output file.
        path: PathBuf,
    },
}

/// One cell of the output table.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// No value (no data, undefined, not computed).
    Empty,
    /// Withheld by disclosure control.
    Suppressed,
    /// Integer.
    Int(u64),
    /// Number with the decimals to show.
    Num(f64, usize),
    /// Text.
    Text(String),
    /// Yes/no.
    Bool(bool),
}

/// The column names of every output, in order.
pub fn columns(r: &AggregateResult) -> Vec<String> {
    let mut c: Vec<String> = ["level", "id", "name", "year"].map(String::from).to_vec();
    c.extend(r.count_columns.iter().cloned());
    for cat in &r.facility_categories {
        c.push(format!("{cat}_count"));
        c.push(format!("{cat}_capacity"));
    }
    c.extend(r.indicators.iter().map(|i| i.id.clone()));
    for ix in &r.indices {
        for s in kleinraum_aggregate::result::INDEX_FIELDS {
            c.push(format!("{}_{s}", ix.id));
        }
    }
    c
}

/// Number of leading columns before the counts.
const KEY_COLUMNS: usize = 4;

fn index_cells(v: Option<&IndexValue>) -> [Cell; 6] {
    let num = |x: Option<f64>| x.map_or(Cell::Empty, |x| Cell::Num(x, INDEX_DECIMALS));
    let int = |x: Option<u8>| x.map_or(Cell::Empty, |x| Cell::Int(u64::from(x)));
    match v {
        Some(v) if v.reason.is_none() => [
            num(v.status_value),
            int(v.status_class),
            num(v.dynamics_value),
            int(v.dynamics_class),
            v.group.clone().map_or(Cell::Empty, Cell::Text),
            Cell::Bool(v.attention),
        ],
        _ => [
            Cell::Empty,
            Cell::Empty,
            Cell::Empty,
            Cell::Empty,
            Cell::Empty,
            Cell::Empty,
        ],
    }
}

/// The cells of one area in one year (by year index), aligned with [`columns`].
pub fn row(r: &AggregateResult, level: &str, area: &AreaResult, year: usize) -> Vec<Cell> {
    let ay = &area.years[year];
    let mut out = vec![
        Cell::Text(level.to_string()),
        Cell::Text(area.id.clone()),
        Cell::Text(area.name.clone()),
        Cell::Int(u64::try_from(ay.year).unwrap_or(0)),
    ];
    out.extend(ay.counts.iter().map(|c| match (c.flag, c.value) {
        (CountFlag::Published, Some(v)) => Cell::Int(v),
        (CountFlag::Suppressed | CountFlag::SecondarySuppressed, _) => Cell::Suppressed,
        _ => Cell::Empty,
    }));
    for f in &area.facilities {
        out.push(Cell::Int(f.count));
        out.push(Cell::Num(f.capacity, 0));
    }
    for (v, def) in ay.indicators.iter().zip(&r.indicators) {
        out.push(match (v.value, v.reason) {
            (Some(x), _) => Cell::Num(x, usize::from(def.decimals)),
            (None, Some(NullReason::Suppressed)) => Cell::Suppressed,
            (None, _) => Cell::Empty,
        });
    }
    for v in &ay.indices {
        out.extend(index_cells(v.as_ref()));
    }
    out
}

fn io_err(path: &Path) -> impl Fn(std::io::Error) -> WriteError + '_ {
    move |source| WriteError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Writes the table as CSV. Plain: `,`, decimal point, UTF-8, empty cells for suppressed
/// and undefined values. `excel`: `;`, decimal comma, UTF-8 BOM, `·` for suppressed values.
pub fn write_csv(r: &AggregateResult, path: &Path, excel: bool) -> Result<(), WriteError> {
    let file = std::fs::File::create(path).map_err(io_err(path))?;
    let mut w = std::io::BufWriter::new(file);
    if excel {
        w.write_all("\u{feff}".as_bytes()).map_err(io_err(path))?;
    }
    let mut cw = csv::WriterBuilder::new()
        .delimiter(if excel { b';' } else { b',' })
        .from_writer(w);
    let csv_err = |e: csv::Error| WriteError::Io {
        path: path.to_path_buf(),
        source: std::io::Error::other(e.to_string()),
    };
    cw.write_record(columns(r)).map_err(csv_err)?;
    for level in &r.levels {
        for area in &level.areas {
            for y in 0..area.years.len() {
                let cells = row(r, &level.key, area, y);
                let rec: Vec<String> = cells
                    .into_iter()
                    .map(|c| match c {
                        Cell::Empty => String::new(),
                        Cell::Suppressed if excel => "·".into(),
                        Cell::Suppressed => String::new(),
                        Cell::Int(v) => v.to_string(),
                        Cell::Num(x, d) => {
                            let s = format!("{x:.d$}");
                            if excel { s.replace('.', ",") } else { s }
                        }
                        Cell::Text(t) => t,
                        Cell::Bool(b) => if b { "1" } else { "0" }.into(),
                    })
                    .collect();
                cw.write_record(&rec).map_err(csv_err)?;
            }
        }
    }
    cw.flush().map_err(io_err(path))?;
    Ok(())
}

fn round_coord(v: f64) -> f64 {
    (v * COORD_DECIMALS).round() / COORD_DECIMALS
}

/// Rounds a number to `d` decimals for JSON (so 12.345000000000001 does not appear).
fn round_to(x: f64, d: usize) -> f64 {
    let f = 10f64.powi(i32::try_from(d).unwrap_or(6));
    (x * f).round() / f
}

/// One published name for every suppression (see `kleinraum_serve::catalog::flag_name`).
fn flag_name(f: CountFlag) -> &'static str {
    match f {
        CountFlag::Published => "published",
        CountFlag::Suppressed | CountFlag::SecondarySuppressed => "suppressed",
        CountFlag::NoData => "no_data",
        CountFlag::Missing => "missing",
    }
}

/// Writes a GeoJSON FeatureCollection (RFC 7946: CRS84, coordinates rounded to 7 decimals), one
/// feature per (level, area, year) with the table's columns as properties, plus `<col>_flag`
/// for each count that is not published (`suppressed`, `no_data`).
/// Areas without geometry (derived levels, the whole city) have `"geometry": null`.
pub fn write_geojson(r: &AggregateResult, path: &Path) -> Result<(), WriteError> {
    use serde_json::{Map, Value, json};
    let proj = Reprojector::new(r.working_epsg, 4326).map_err(|message| WriteError::Crs {
        path: path.to_path_buf(),
        message,
    })?;
    let cols = columns(r);
    let file = std::fs::File::create(path).map_err(io_err(path))?;
    let mut w = std::io::BufWriter::new(file);
    w.write_all(b"{\"type\":\"FeatureCollection\",\"features\":[\n")
        .map_err(io_err(path))?;
    let mut first = true;
    for level in &r.levels {
        for area in &level.areas {
            // Reproject once per area, not once per year.
            let geometry = match &area.geometry {
                None => Value::Null,
                Some(g) => {
                    let mut g = g.clone();
                    proj.transform_multipolygon(&mut g)
                        .map_err(|message| WriteError::Crs {
                            path: path.to_path_buf(),
                            message: format!("area {}: {message}", area.id),
                        })?;
                    let ring = |ls: &geo::LineString<f64>| -> Value {
                        Value::Array(
                            ls.0.iter()
                                .map(|c| json!([round_coord(c.x), round_coord(c.y)]))
                                .collect(),
                        )
                    };
                    let polys: Vec<Value> =
                        g.0.iter()
                            .map(|p| {
                                let mut rings = vec![ring(p.exterior())];
                                rings.extend(p.interiors().iter().map(ring));
                                Value::Array(rings)
                            })
                            .collect();
                    json!({"type": "MultiPolygon", "coordinates": polys})
                }
            };
            for y in 0..area.years.len() {
                let cells = row(r, &level.key, area, y);
                let mut props = Map::new();
                for (i, (name, cell)) in cols.iter().zip(cells).enumerate() {
                    let v = match cell {
                        Cell::Empty | Cell::Suppressed => Value::Null,
                        Cell::Int(v) => json!(v),
                        Cell::Num(x, d) => json!(round_to(x, d)),
                        Cell::Text(t) => Value::String(t),
                        Cell::Bool(b) => Value::Bool(b),
                    };
                    props.insert(name.clone(), v);
                    let c = i.wrapping_sub(KEY_COLUMNS);
                    if c < r.count_columns.len() {
                        let flag = area.years[y].counts[c].flag;
                        if flag != CountFlag::Published {
                            props.insert(format!("{name}_flag"), json!(flag_name(flag)));
                        }
                    }
                }
                let feature = json!({
                    "type": "Feature",
                    "id": format!("{}/{}/{}", level.key, area.id, area.years[y].year),
                    "geometry": geometry,
                    "properties": props,
                });
                if !first {
                    w.write_all(b",\n").map_err(io_err(path))?;
                }
                first = false;
                serde_json::to_writer(&mut w, &feature)
                    .map_err(|e| io_err(path)(std::io::Error::other(e)))?;
            }
        }
    }
    w.write_all(b"\n]}\n").map_err(io_err(path))?;
    w.flush().map_err(io_err(path))?;
    Ok(())
}

/// Writes a GeoPackage through GDAL: one layer per level (named by the level key) in the
/// working CRS, with the table's columns as fields. Suppressed and undefined values are NULL.
#[cfg(feature = "gdal")]
pub fn write_gpkg(r: &AggregateResult, path: &Path) -> Result<(), WriteError> {
    use gdal::DriverManager;
    use gdal::spatial_ref::SpatialRef;
    use gdal::vector::{
        Feature, FieldDefn, LayerAccess, LayerOptions, OGRFieldType, OGRwkbGeometryType, ToGdal,
    };
    let gerr = |e: gdal::errors::GdalError| WriteError::Gdal {
        path: path.to_path_buf(),
        message: e.to_string(),
    };
    if path.exists() {
        // GDAL refuses to create over an existing GeoPackage.
        std::fs::remove_file(path).map_err(io_err(path))?;
    }
    let driver = DriverManager::get_driver_by_name("GPKG").map_err(gerr)?;
    let mut ds = driver.create_vector_only(path).map_err(gerr)?;
    let srs = SpatialRef::from_epsg(r.working_epsg).map_err(gerr)?;
    let cols = columns(r);
    // Field types from the column groups.
    let n_counts = r.count_columns.len();
    let n_fac = 2 * r.facility_categories.len();
    let n_ind = r.indicators.len();
    let types: Vec<OGRFieldType::Type> = (0..cols.len())
        .map(|i| {
            if i < KEY_COLUMNS {
                if i == 3 {
                    OGRFieldType::OFTInteger
                } else {
                    OGRFieldType::OFTString
                }
            } else if i < KEY_COLUMNS + n_counts {
                OGRFieldType::OFTInteger64
            } else if i < KEY_COLUMNS + n_counts + n_fac {
                if (i - KEY_COLUMNS - n_counts).is_multiple_of(2) {
                    OGRFieldType::OFTInteger64
                } else {
                    OGRFieldType::OFTReal
                }
            } else if i < KEY_COLUMNS + n_counts + n_fac + n_ind {
                OGRFieldType::OFTReal
            } else {
                match (i - KEY_COLUMNS - n_counts - n_fac - n_ind) % 6 {
                    0 | 2 => OGRFieldType::OFTReal,
                    1 | 3 | 5 => OGRFieldType::OFTInteger,
                    _ => OGRFieldType::OFTString,
                }
            }
        })
        .collect();
    let mut txn = ds.start_transaction().map_err(gerr)?;
    for level in &r.levels {
        let layer = txn
            .create_layer(LayerOptions {
                name: &level.key,
                srs: Some(&srs),
                ty: OGRwkbGeometryType::wkbMultiPolygon,
                options: None,
            })
            .map_err(gerr)?;
        for (name, ty) in cols.iter().zip(&types) {
            FieldDefn::new(name, *ty)
                .and_then(|f| f.add_to_layer(&layer))
                .map_err(gerr)?;
        }
        for area in &level.areas {
            let geom = match &area.geometry {
                Some(g) => Some(g.to_gdal().map_err(gerr)?),
                None => None,
            };
            for y in 0..area.years.len() {
                let mut f = Feature::new(layer.defn()).map_err(gerr)?;
                if let Some(g) = &geom {
                    f.set_geometry(g.clone()).map_err(gerr)?;
                }
                for (i, cell) in row(r, &level.key, area, y).into_iter().enumerate() {
                    match cell {
                        Cell::Empty | Cell::Suppressed => f.set_field_null(i),
                        Cell::Int(v) if types[i] == OGRFieldType::OFTInteger => {
                            f.set_field_integer(i, i32::try_from(v).unwrap_or(i32::MAX))
                        }
                        Cell::Int(v) => {
                            f.set_field_integer64(i, i64::try_from(v).unwrap_or(i64::MAX))
                        }
                        Cell::Num(x, d) => f.set_field_double(i, round_to(x, d)),
                        Cell::Text(t) => f.set_field_string(i, &t),
                        Cell::Bool(b) => f.set_field_integer(i, i32::from(b)),
                    }
                    .map_err(gerr)?;
                }
                f.create(&layer).map_err(gerr)?;
            }
        }
    }
    txn.commit().map_err(gerr)?;
    Ok(())
}

/// Writes by extension: `.csv` (with `excel` for the Excel dialect), `.geojson`/`.json`,
/// `.gpkg` (needs the `gdal` feature).
pub fn write_by_extension(r: &AggregateResult, path: &Path, excel: bool) -> Result<(), WriteError> {
    match OutputFormat::of(path)? {
        OutputFormat::Csv => write_csv(r, path, excel),
        OutputFormat::GeoJson => write_geojson(r, path),
        #[cfg(feature = "gdal")]
        OutputFormat::Gpkg => match crate::backend::installed() {
            Some(gdal) => gdal.write_gpkg(r, path),
            None => Err(WriteError::Gdal {
                path: path.to_path_buf(),
                message: crate::backend::NOT_LOADED.into(),
            }),
        },
    }
}

/// The output formats [`write_by_extension`] chooses from by the file's extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputFormat {
    /// `.csv`: the Excel table.
    Csv,
    /// `.geojson` or `.json`.
    GeoJson,
    /// `.gpkg` (with the `gdal` feature).
    #[cfg(feature = "gdal")]
    Gpkg,
}

impl OutputFormat {
    /// The format `path` names, or the error `write_by_extension` would give: callers check it
    /// before loading, so a mistyped `--out` is reported at once, not after the whole run.
    pub fn of(path: &Path) -> Result<OutputFormat, WriteError> {
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .unwrap_or_default();
        match ext.as_str() {
            "csv" => Ok(OutputFormat::Csv),
            "geojson" | "json" => Ok(OutputFormat::GeoJson),
            #[cfg(feature = "gdal")]
            "gpkg" => Ok(OutputFormat::Gpkg),
            _ => Err(WriteError::UnknownFormat {
                path: path.to_path_buf(),
            }),
        }
    }
}

/// The one writer of the CSV files planners open in Excel (German locale): `;` between
/// fields, decimal comma, UTF-8 with BOM (so Excel detects the encoding), CRLF line ends,
/// fields quoted when they hold `;`, `"` or a line break.
#[derive(Debug, Default)]
pub struct ExcelCsv {
    out: String,
}

impl ExcelCsv {
    /// A file starting with its header row.
    pub fn new<S: AsRef<str>>(header: &[S]) -> ExcelCsv {
        let mut w = ExcelCsv {
            out: String::from("\u{feff}"),
        };
        w.row(header.iter().map(|h| h.as_ref().to_string()));
        w
    }

    /// Appends a row of already formatted fields.
    pub fn row(&mut self, fields: impl IntoIterator<Item = String>) {
        for (i, f) in fields.into_iter().enumerate() {
            if i > 0 {
                self.out.push(';');
            }
            if f.contains([';', '"', '\n', '\r']) {
                self.out.push('"');
                self.out.push_str(&f.replace('"', "\"\""));
                self.out.push('"');
            } else {
                self.out.push_str(&f);
            }
        }
        self.out.push_str("\r\n");
    }

    /// A number with `decimals` places and a decimal comma; empty for `None`.
    pub fn num(v: Option<f64>, decimals: usize) -> String {
        v.filter(|x| x.is_finite())
            .map(|x| format!("{x:.decimals$}").replace('.', ","))
            .unwrap_or_default()
    }

    /// A yes/no cell (`ja`/`nein`, empty for `None`).
    pub fn yes_no(v: Option<bool>) -> String {
        match v {
            Some(true) => "ja".into(),
            Some(false) => "nein".into(),
            None => String::new(),
        }
    }

    /// The file's text.
    pub fn finish(self) -> String {
        self.out
    }
}

/// The comparison of two Gebietsstände as an Excel CSV: one row per area of the newer version
/// with its predecessors (and their shares when `show_shares`), residents and classes old and
/// new, the causes of a class change, and every indicator old and new. Rows the differencing
/// guard withholds keep only ids and causes.
pub fn comparison_csv(
    a: &kleinraum_gebietsstand::Computed,
    b: &kleinraum_gebietsstand::Computed,
    cmp: &kleinraum_gebietsstand::Comparison,
    analysis: &kleinraum_aggregate::AnalysisConfig,
    show_shares: bool,
    analyst: bool,
) -> String {
    let (rows_hit, cols_hit) = cmp.hidden_lines(a, b, analysis.disclosure.threshold);
    let mut header: Vec<String> = [
        "Gebiet",
        "Name",
        "Vorgänger (Anteil der Einwohner:innen)",
        "Einwohner:innen Vorgängergebiet",
        "Einwohner:innen neu",
        "Klasse Vorgängergebiet",
        "Klasse neu",
        "Grenzänderung",
        "Klassenwechsel durch Grenzen",
        "Klassenwechsel real",
        "Ursache",
        "Werte Vorgängergebiet",
        "Werte neu",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    for i in &analysis.indicators {
        header.push(format!("{} alt", i.id));
        header.push(format!("{} neu", i.id));
    }
    // Which values are estimates, and how they were weighted.
    let how = |c: &kleinraum_gebietsstand::Computed| match &c.weighting {
        Some(w) if !c.estimated.is_empty() => {
            format!("teils geschätzt ({}) {}", c.estimated.join(", "), w.label())
        }
        _ => "gezählt".to_string(),
    };
    let (how_a, how_b) = (how(a), how(b));
    let mut w = ExcelCsv::new(&header);
    for r in &cmp.rows {
        let area = &b.areas[r.area];
        let hide = r.withheld;
        let preds: Vec<String> = r
            .predecessors
            .iter()
            .map(|p| {
                let id = &a.areas[p.area].id;
                // Without a share (public, withheld, or a row/column with a small cell) only
                // the id: "0,0 %" would be false, and a complement would give small cells back.
                let shown = analyst
                    || (!hide
                        && !cmp.withheld_from.contains(id)
                        && !rows_hit.contains(&(p.area as u32))
                        && !cols_hit.contains(&(r.area as u32)));
                if show_shares && shown {
                    format!("{id} ({} %)", ExcelCsv::num(Some(p.share * 100.0), 1))
                } else {
                    id.clone()
                }
            })
            .collect();
        let int = |v: Option<u64>| {
            if hide {
                String::new()
            } else {
                v.map(|x| x.to_string()).unwrap_or_default()
            }
        };
        let class = |v: Option<u8>| {
            if hide {
                String::new()
            } else {
                v.map(|x| x.to_string()).unwrap_or_default()
            }
        };
        let mut fields = vec![
            area.id.clone(),
            area.name.clone(),
            preds.join(", "),
            int(r.old.as_ref().and_then(|v| v.residents)),
            int(r.new.as_ref().and_then(|v| v.residents)),
            class(r.class_old),
            class(r.class_new),
            ExcelCsv::yes_no(Some(r.geometry_changed)),
            ExcelCsv::yes_no(Some(r.boundary_effect)),
            ExcelCsv::yes_no(r.real_change),
            r.change.label().to_string(),
            how_a.clone(),
            how_b.clone(),
        ];
        for ind in &analysis.indicators {
            let get = |v: &Option<kleinraum_gebietsstand::compare::AreaValues>| {
                if hide || r.new.is_none() {
                    return String::new();
                }
                ExcelCsv::num(
                    v.as_ref()
                        .and_then(|v| v.values.get(&ind.id).copied().flatten()),
                    ind.decimals as usize,
                )
            };
            fields.push(get(&r.old));
            fields.push(get(&r.new));
        }
        w.row(fields);
    }
    w.finish()
}
