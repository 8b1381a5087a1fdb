//! GeoPackage 1.3 schema of the store: the mandatory `gpkg_*` tables, the feature table `areas`
//! and the attribute tables `gebietsstaende`, `audit_log` and `kleinraum_meta`.

/// `PRAGMA application_id` of a GeoPackage: ASCII "GPKG".
pub const APPLICATION_ID: i64 = 0x4750_4B47;
/// `PRAGMA user_version` written: GeoPackage 1.3.0.
pub const USER_VERSION: i64 = 10300;
/// Version of the kleinraum tables inside the GeoPackage (table `kleinraum_meta`, key
/// `schema_version`). Raise it when the layout changes; older programs then refuse the file.
pub const SCHEMA_VERSION: u32 = 1;

/// WKT (OGC 01-009 / WKT1 as written by GDAL) of the CRSs kleinraum projects use, so that GDAL
/// and QGIS recognise the layer's CRS without a lookup. Taken once from `projinfo -o WKT1_GDAL`.
pub fn known_srs(epsg: u32) -> Option<(&'static str, &'static str)> {
    match epsg {
        4326 => Some(("WGS 84 geodetic", WKT_4326)),
        25832 => Some(("ETRS89 / UTM zone 32N", WKT_25832)),
        25833 => Some(("ETRS89 / UTM zone 33N", WKT_25833)),
        3035 => Some(("ETRS89-extended / LAEA Europe", WKT_3035)),
        _ => None,
    }
}

const WKT_4326: &str = r#"GEOGCS["WGS 84",DATUM["WGS_1984",SPHEROID["WGS 84",6378137,298.257223563,AUTHORITY["EPSG","7030"]],AUTHORITY["EPSG","6326"]],PRIMEM["Greenwich",0,AUTHORITY["EPSG","8901"]],UNIT["degree",0.0174532925199433,AUTHORITY["EPSG","9122"]],AUTHORITY["EPSG","4326"]]"#;
const WKT_25832: &str = r#"PROJCS["ETRS89 / UTM zone 32N",GEOGCS["ETRS89",DATUM["European_Terrestrial_Reference_System_1989",SPHEROID["GRS 1980",6378137,298.257222101,AUTHORITY["EPSG","7019"]],AUTHORITY["EPSG","6258"]],PRIMEM["Greenwich",0,AUTHORITY["EPSG","8901"]],UNIT["degree",0.0174532925199433,AUTHORITY["EPSG","9122"]],AUTHORITY["EPSG","4258"]],PROJECTION["Transverse_Mercator"],PARAMETER["latitude_of_origin",0],PARAMETER["central_meridian",9],PARAMETER["scale_factor",0.9996],PARAMETER["false_easting",500000],PARAMETER["false_northing",0],UNIT["metre",1,AUTHORITY["EPSG","9001"]],AXIS["Easting",EAST],AXIS["Northing",NORTH],AUTHORITY["EPSG","25832"]]"#;
const WKT_25833: &str = r#"PROJCS["ETRS89 / UTM zone 33N",GEOGCS["ETRS89",DATUM["European_Terrestrial_Reference_System_1989",SPHEROID["GRS 1980",6378137,298.257222101,AUTHORITY["EPSG","7019"]],AUTHORITY["EPSG","6258"]],PRIMEM["Greenwich",0,AUTHORITY["EPSG","8901"]],UNIT["degree",0.0174532925199433,AUTHORITY["EPSG","9122"]],AUTHORITY["EPSG","4258"]],PROJECTION["Transverse_Mercator"],PARAMETER["latitude_of_origin",0],PARAMETER["central_meridian",15],PARAMETER["scale_factor",0.9996],PARAMETER["false_easting",500000],PARAMETER["false_northing",0],UNIT["metre",1,AUTHORITY["EPSG","9001"]],AXIS["Easting",EAST],AXIS["Northing",NORTH],AUTHORITY["EPSG","25833"]]"#;
const WKT_3035: &str = r#"PROJCS["ETRS89-extended / LAEA Europe",GEOGCS["ETRS89",DATUM["European_Terrestrial_Reference_System_1989",SPHEROID["GRS 1980",6378137,298.257222101,AUTHORITY["EPSG","7019"]],AUTHORITY["EPSG","6258"]],PRIMEM["Greenwich",0,AUTHORITY["EPSG","8901"]],UNIT["degree",0.0174532925199433,AUTHORITY["EPSG","9122"]],AUTHORITY["EPSG","4258"]],PROJECTION["Lambert_Azimuthal_Equal_Area"],PARAMETER["latitude_of_center",52],PARAMETER["longitude_of_center",10],PARAMETER["false_easting",4321000],PARAMETER["false_northing",3210000],UNIT["metre",1,AUTHORITY["EPSG","9001"]],AUTHORITY["EPSG","3035"]]"#;

/// DDL of a fresh store, run inside the creating transaction. Table definitions of the
/// `gpkg_*` tables follow the GeoPackage 1.3 specification (Annex C) verbatim.
pub fn create_sql() -> String {
    format!(
        r#"
PRAGMA application_id = {APPLICATION_ID};
PRAGMA user_version = {USER_VERSION};
CREATE TABLE gpkg_spatial_ref_sys (
  srs_name TEXT NOT NULL,
  srs_id INTEGER NOT NULL PRIMARY KEY,
  organization TEXT NOT NULL,
  organization_coordsys_id INTEGER NOT NULL,
  definition TEXT NOT NULL,
  description TEXT
);
INSERT INTO gpkg_spatial_ref_sys VALUES
  ('Undefined cartesian SRS', -1, 'NONE', -1, 'undefined', 'undefined cartesian coordinate reference system'),
  ('Undefined geographic SRS', 0, 'NONE', 0, 'undefined', 'undefined geographic coordinate reference system'),
  ('WGS 84 geodetic', 4326, 'EPSG', 4326, '{WKT_4326}', 'longitude/latitude coordinates in decimal degrees on the WGS 84 spheroid');
CREATE TABLE gpkg_contents (
  table_name TEXT NOT NULL PRIMARY KEY,
  data_type TEXT NOT NULL,
  identifier TEXT UNIQUE,
  description TEXT DEFAULT '',
  last_change DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
  min_x DOUBLE,
  min_y DOUBLE,
  max_x DOUBLE,
  max_y DOUBLE,
  srs_id INTEGER,
  CONSTRAINT fk_gc_r_srs_id FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys(srs_id)
);
CREATE TABLE gpkg_geometry_columns (
  table_name TEXT NOT NULL,
  column_name TEXT NOT NULL,
  geometry_type_name TEXT NOT NULL,
  srs_id INTEGER NOT NULL,
  z TINYINT NOT NULL,
  m TINYINT NOT NULL,
  CONSTRAINT pk_geom_cols PRIMARY KEY (table_name, column_name),
  CONSTRAINT uk_gc_table_name UNIQUE (table_name),
  CONSTRAINT fk_gc_tn FOREIGN KEY (table_name) REFERENCES gpkg_contents(table_name),
  CONSTRAINT fk_gc_srs FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys (srs_id)
);
CREATE TABLE kleinraum_meta (
  fid INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
  key TEXT NOT NULL UNIQUE,
  value TEXT NOT NULL
);
INSERT INTO kleinraum_meta (key, value) VALUES ('schema_version', '{SCHEMA_VERSION}');
CREATE TABLE gebietsstaende (
  fid INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
  key TEXT NOT NULL UNIQUE,
  name TEXT NOT NULL,
  valid_from DATE,
  source TEXT NOT NULL,
  lineage TEXT NOT NULL,
  note TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('published', 'draft')),
  created_at TEXT NOT NULL,
  created_by TEXT NOT NULL,
  epsg INTEGER NOT NULL
);
CREATE TABLE areas (
  fid INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
  geom MULTIPOLYGON NOT NULL,
  gebietsstand TEXT NOT NULL,
  area_id TEXT NOT NULL,
  name TEXT NOT NULL,
  parent_id TEXT,
  UNIQUE (gebietsstand, area_id)
);
CREATE INDEX areas_gebietsstand ON areas (gebietsstand, fid);
CREATE TABLE audit_log (
  fid INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
  at TEXT NOT NULL,
  actor TEXT NOT NULL,
  role TEXT NOT NULL,
  action TEXT NOT NULL,
  target TEXT NOT NULL,
  detail TEXT NOT NULL
);
INSERT INTO gpkg_contents (table_name, data_type, identifier, description, srs_id) VALUES
  ('areas', 'features', 'areas', 'Gebiete aller Gebietsstände (Spalte gebietsstand)', -1),
  ('gebietsstaende', 'attributes', 'gebietsstaende', 'Gebietsstände: Versionen der Gebietsgliederung', NULL),
  ('audit_log', 'attributes', 'audit_log', 'Protokoll der Änderungen', NULL),
  ('kleinraum_meta', 'attributes', 'kleinraum_meta', 'Schema-Version des kleinraum-Speichers', NULL);
INSERT INTO gpkg_geometry_columns VALUES ('areas', 'geom', 'MULTIPOLYGON', -1, 0, 0);
"#
    )
}
