//! kleinraum-load: files and databases → kleinraum domain types.
//!
//! Owns: reading boundaries, points, facilities and area tables (GeoJSON, Shapefile, CSV in pure
//! Rust; GeoPackage, PostGIS and any OGR source through GDAL behind the default-on `gdal`
//! feature), reprojection into the metric working CRS with PROJ (once, at load), validation for
//! `kleinraum check`, and the writers for results (CSV, GeoJSON, GeoPackage).
//! Must not: compute statistics (that is `kleinraum-aggregate`), or serve anything.

pub mod areatable;
pub mod backend;
pub mod blocks;
pub mod check;
pub mod config;
pub mod crs;
pub mod error;
pub mod features;
pub mod gj;
pub mod init;
#[cfg(feature = "gdal")]
pub mod ogr;
pub mod progress;
#[cfg(feature = "proj")]
pub mod proj;
pub mod project;
pub mod repair;
pub mod shp;
pub mod table;
pub mod write;

pub use config::ProjectConfig;
pub use error::{Diagnostic, LoadError};
