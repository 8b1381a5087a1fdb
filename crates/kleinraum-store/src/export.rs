//! A GeoPackage with one feature (or attribute) table, written in pure Rust on the same SQLite
//! as the store: the server's GeoPackage downloads, with exactly the columns of the API.
//!
//! The file is written into a new path in one transaction and checked with
//! `PRAGMA integrity_check`; GDAL's `validate_gpkg.py` and QGIS read it as a layer.

use crate::StoreError;
use crate::gpkg::{APPLICATION_ID, USER_VERSION, known_srs};
use geo_types::{MultiPolygon, Point};
use rusqlite::{Connection, params_from_iter, types::Value as Sql};
use std::path::Path;

/// SQL type of a column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnType {
    /// INTEGER.
    Integer,
    /// REAL.
    Real,
    /// TEXT.
    Text,
    /// BOOLEAN (0/1).
    Boolean,
}

impl ColumnType {
    fn sql(self) -> &'static str {
        match self {
            ColumnType::Integer => "INTEGER",
            ColumnType::Real => "REAL",
            ColumnType::Text => "TEXT",
            ColumnType::Boolean => "BOOLEAN",
        }
    }
}

/// One value of a row.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// NULL.
    Null,
    /// Whole number.
    Integer(i64),
    /// Floating-point number.
    Real(f64),
    /// Text.
    Text(String),
    /// true/false.
    Boolean(bool),
}

/// The geometry of a row.
#[derive(Debug, Clone, PartialEq)]
pub enum ExportGeometry {
    /// An area.
    MultiPolygon(MultiPolygon<f64>),
    /// A facility.
    Point(Point<f64>),
}

/// The table to write.
#[derive(Debug, Clone)]
pub struct FeatureTable<'a> {
    /// Table (layer) name.
    pub name: &'a str,
    /// Description in `gpkg_contents`.
    pub description: &'a str,
    /// EPSG code of the geometries (25832, 25833, 4326 or 3035).
    pub epsg: u32,
    /// `MULTIPOLYGON` or `POINT`; `None` writes an attribute table without geometry.
    pub geometry_type: Option<&'a str>,
    /// Columns after `fid` and `geom`.
    pub columns: Vec<(String, ColumnType)>,
}

fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

fn point_blob(p: &Point<f64>, srs: i32) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 + 21);
    out.extend_from_slice(b"GP");
    out.push(0);
    out.push(0b0000_0001); // little-endian header, no envelope (points need none)
    out.extend_from_slice(&srs.to_le_bytes());
    out.push(1);
    out.extend_from_slice(&1u32.to_le_bytes());
    out.extend_from_slice(&p.x().to_le_bytes());
    out.extend_from_slice(&p.y().to_le_bytes());
    out
}

/// Writes `rows` as the only table of a new GeoPackage at `path` (which must not exist).
pub fn write_feature_table(
    path: &Path,
    table: &FeatureTable<'_>,
    rows: impl IntoIterator<Item = (Option<ExportGeometry>, Vec<Cell>)>,
) -> Result<(), StoreError> {
    let p = path.display().to_string();
    let err = |context: &str| {
        let p = p.clone();
        let context = context.to_string();
        move |source| StoreError::Sqlite {
            path: p.clone(),
            context: context.clone(),
            source,
        }
    };
    let (srs_name, wkt) = known_srs(table.epsg).ok_or_else(|| StoreError::Schema {
        path: p.clone(),
        message: format!("EPSG:{} has no built-in definition", table.epsg),
    })?;
    let mut conn = Connection::open(path).map_err(err("creating the GeoPackage"))?;
    let tx = conn
        .transaction()
        .map_err(err("starting the transaction"))?;
    let mut ddl = format!(
        "PRAGMA application_id = {APPLICATION_ID};
PRAGMA user_version = {USER_VERSION};
CREATE TABLE gpkg_spatial_ref_sys (srs_name TEXT NOT NULL, srs_id INTEGER NOT NULL PRIMARY KEY,
  organization TEXT NOT NULL, organization_coordsys_id INTEGER NOT NULL, definition TEXT NOT NULL,
  description TEXT);
INSERT INTO gpkg_spatial_ref_sys VALUES
  ('Undefined cartesian SRS', -1, 'NONE', -1, 'undefined', 'undefined cartesian coordinate reference system'),
  ('Undefined geographic SRS', 0, 'NONE', 0, 'undefined', 'undefined geographic coordinate reference system');
CREATE TABLE gpkg_contents (table_name TEXT NOT NULL PRIMARY KEY, data_type TEXT NOT NULL,
  identifier TEXT UNIQUE, description TEXT DEFAULT '',
  last_change DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
  min_x DOUBLE, min_y DOUBLE, max_x DOUBLE, max_y DOUBLE, srs_id INTEGER,
  CONSTRAINT fk_gc_r_srs_id FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys(srs_id));
CREATE TABLE gpkg_geometry_columns (table_name TEXT NOT NULL, column_name TEXT NOT NULL,
  geometry_type_name TEXT NOT NULL, srs_id INTEGER NOT NULL, z TINYINT NOT NULL, m TINYINT NOT NULL,
  CONSTRAINT pk_geom_cols PRIMARY KEY (table_name, column_name),
  CONSTRAINT uk_gc_table_name UNIQUE (table_name),
  CONSTRAINT fk_gc_tn FOREIGN KEY (table_name) REFERENCES gpkg_contents(table_name),
  CONSTRAINT fk_gc_srs FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys (srs_id));
"
    );
    let t = quote(table.name);
    let mut cols = String::from("fid INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL");
    if let Some(gt) = table.geometry_type {
        cols.push_str(&format!(", geom {gt}"));
    }
    for (name, ty) in &table.columns {
        cols.push_str(&format!(", {} {}", quote(name), ty.sql()));
    }
    ddl.push_str(&format!("CREATE TABLE {t} ({cols});\n"));
    tx.execute_batch(&ddl).map_err(err("creating the tables"))?;
    // GeoPackage requires the WGS 84 row (Req 11: at least 3 rows) besides the layer's CRS.
    let mut srs = vec![(srs_name, table.epsg, wkt)];
    if table.epsg != 4326 {
        let (n, w) = known_srs(4326).unwrap_or(("WGS 84 geodetic", ""));
        srs.push((n, 4326, w));
    }
    for (name, epsg, wkt) in srs {
        tx.execute(
            "INSERT INTO gpkg_spatial_ref_sys VALUES (?1, ?2, 'EPSG', ?2, ?3, ?1)",
            rusqlite::params![name, epsg, wkt],
        )
        .map_err(err("writing the CRS"))?;
    }
    let placeholders: Vec<String> = (0..table.columns.len() + 1)
        .map(|i| format!("?{}", i + 1))
        .collect();
    let names: Vec<String> = std::iter::once("geom".to_string())
        .chain(table.columns.iter().map(|(n, _)| quote(n)))
        .collect();
    let insert = if table.geometry_type.is_some() {
        format!(
            "INSERT INTO {t} ({}) VALUES ({})",
            names.join(", "),
            placeholders.join(", ")
        )
    } else {
        format!(
            "INSERT INTO {t} ({}) VALUES ({})",
            names[1..].join(", "),
            placeholders[1..]
                .iter()
                .enumerate()
                .map(|(i, _)| format!("?{}", i + 1))
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    let mut bbox = [
        f64::INFINITY,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::NEG_INFINITY,
    ];
    {
        let mut stmt = tx.prepare(&insert).map_err(err("preparing the insert"))?;
        for (n, (geom, cells)) in rows.into_iter().enumerate() {
            let mut vals: Vec<Sql> = Vec::with_capacity(cells.len() + 1);
            if table.geometry_type.is_some() {
                vals.push(match &geom {
                    None => Sql::Null,
                    Some(ExportGeometry::MultiPolygon(mp)) if !mp.0.is_empty() => {
                        let (min, max) = crate::wkb::bounds(mp);
                        bbox = [
                            bbox[0].min(min[0]),
                            bbox[1].min(min[1]),
                            bbox[2].max(max[0]),
                            bbox[3].max(max[1]),
                        ];
                        Sql::Blob(crate::wkb::encode_gpkg(mp, table.epsg as i32))
                    }
                    Some(ExportGeometry::MultiPolygon(_)) => Sql::Null,
                    Some(ExportGeometry::Point(pt)) => {
                        bbox = [
                            bbox[0].min(pt.x()),
                            bbox[1].min(pt.y()),
                            bbox[2].max(pt.x()),
                            bbox[3].max(pt.y()),
                        ];
                        Sql::Blob(point_blob(pt, table.epsg as i32))
                    }
                });
            }
            for c in cells {
                vals.push(match c {
                    Cell::Null => Sql::Null,
                    Cell::Integer(i) => Sql::Integer(i),
                    Cell::Real(r) if r.is_finite() => Sql::Real(r),
                    Cell::Real(_) => Sql::Null,
                    Cell::Text(s) => Sql::Text(s),
                    Cell::Boolean(b) => Sql::Integer(b as i64),
                });
            }
            if vals.len() != table.columns.len() + usize::from(table.geometry_type.is_some()) {
                return Err(StoreError::Schema {
                    path: p.clone(),
                    message: format!(
                        "row {}: {} values for {} columns",
                        n + 1,
                        vals.len(),
                        table.columns.len()
                    ),
                });
            }
            stmt.execute(params_from_iter(vals))
                .map_err(err(&format!("writing row {}", n + 1)))?;
        }
    }
    let finite = bbox.iter().all(|v| v.is_finite());
    let (data_type, srs) = match table.geometry_type {
        Some(_) => ("features", Some(table.epsg as i64)),
        None => ("attributes", None),
    };
    tx.execute(
        "INSERT INTO gpkg_contents (table_name, data_type, identifier, description, min_x, min_y, max_x, max_y, srs_id)
         VALUES (?1, ?2, ?1, ?3, ?4, ?5, ?6, ?7, ?8)",
        rusqlite::params![
            table.name,
            data_type,
            table.description,
            finite.then_some(bbox[0]),
            finite.then_some(bbox[1]),
            finite.then_some(bbox[2]),
            finite.then_some(bbox[3]),
            srs
        ],
    )
    .map_err(err("writing gpkg_contents"))?;
    if let Some(gt) = table.geometry_type {
        tx.execute(
            "INSERT INTO gpkg_geometry_columns VALUES (?1, 'geom', ?2, ?3, 0, 0)",
            rusqlite::params![table.name, gt, table.epsg],
        )
        .map_err(err("writing gpkg_geometry_columns"))?;
    }
    tx.commit().map_err(err("committing"))?;
    let ok: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .map_err(err("checking integrity"))?;
    if ok != "ok" {
        return Err(StoreError::Schema {
            path: p,
            message: format!("integrity check failed: {ok}"),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo_types::{Coord, LineString, Polygon};

    #[test]
    fn a_feature_table_round_trips_through_sqlite() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.gpkg");
        let sq = MultiPolygon(vec![Polygon::new(
            LineString(vec![
                Coord { x: 0.0, y: 0.0 },
                Coord { x: 1.0, y: 0.0 },
                Coord { x: 1.0, y: 1.0 },
                Coord { x: 0.0, y: 0.0 },
            ]),
            vec![],
        )]);
        let t = FeatureTable {
            name: "planungsraeume",
            description: "test",
            epsg: 25833,
            geometry_type: Some("MULTIPOLYGON"),
            columns: vec![
                ("id".into(), ColumnType::Text),
                ("residents".into(), ColumnType::Integer),
                ("share".into(), ColumnType::Real),
                ("attention".into(), ColumnType::Boolean),
            ],
        };
        write_feature_table(
            &path,
            &t,
            vec![
                (
                    Some(ExportGeometry::MultiPolygon(sq)),
                    vec![
                        Cell::Text("0101".into()),
                        Cell::Integer(5),
                        Cell::Real(0.5),
                        Cell::Boolean(true),
                    ],
                ),
                (
                    None,
                    vec![
                        Cell::Text("0102".into()),
                        Cell::Null,
                        Cell::Null,
                        Cell::Boolean(false),
                    ],
                ),
            ],
        )
        .unwrap();
        let c = Connection::open(&path).unwrap();
        let ids: Vec<String> = c
            .prepare("SELECT id FROM planungsraeume ORDER BY fid")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(ids, ["0101", "0102"]);
        let (gt, srs): (String, i64) = c
            .query_row(
                "SELECT geometry_type_name, srs_id FROM gpkg_geometry_columns",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert_eq!((gt.as_str(), srs), ("MULTIPOLYGON", 25833));
        let n_srs: i64 = c
            .query_row("SELECT count(*) FROM gpkg_spatial_ref_sys", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(
            n_srs, 4,
            "undefined cartesian, undefined geographic, 4326, 25833"
        );
        let blob: Vec<u8> = c
            .query_row("SELECT geom FROM planungsraeume WHERE fid = 1", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(crate::wkb::decode_gpkg(&blob).unwrap().0.len(), 1);
        // The path must be new: an existing file is not overwritten silently.
        assert!(write_feature_table(&path, &t, Vec::new()).is_err());
    }
}
