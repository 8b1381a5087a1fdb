//! What only GDAL can do — read OGR sources (GeoPackage, PostGIS, …), make polygons valid
//! (GEOS MakeValid), write GeoPackages — reached through a backend the program installs.
//!
//! Why not call GDAL directly: a program that links GDAL loads its 113 shared libraries at
//! every start, and the dynamic loader binds their symbols before `main` (30–40 ms, most of a
//! small job's run). The `kleinraum` program therefore never references GDAL: the linker
//! (`--as-needed`) then leaves it out, and a config that needs GDAL is handed to
//! `kleinraum-gdal`, the same program with [`Gdal`] installed. A library user (or a test)
//! that reads such sources calls [`install_gdal`] first.
//!
//! This module must not call GDAL itself: only [`Gdal`] does, and only where it is installed.

use std::path::Path;
use std::sync::OnceLock;

use geo::MultiPolygon;
use kleinraum_aggregate::result::AggregateResult;

use crate::error::LoadError;
use crate::features::RawLayer;
use crate::write::WriteError;

/// The operations that need GDAL.
pub trait GdalOps: Sync {
    /// Reads one layer of an OGR source (see `ogr::read`).
    fn read(&self, source: &str, layer: Option<&str>) -> Result<RawLayer, LoadError>;
    /// Makes a polygon valid (see [`crate::repair::make_valid`]).
    fn make_valid(&self, mp: &MultiPolygon<f64>) -> Result<MultiPolygon<f64>, String>;
    /// Writes a GeoPackage (see `write::write_gpkg`).
    fn write_gpkg(&self, r: &AggregateResult, path: &Path) -> Result<(), WriteError>;
}

static INSTALLED: OnceLock<&'static dyn GdalOps> = OnceLock::new();

/// Installs the backend for this process (the first one installed stays).
pub fn install(ops: &'static dyn GdalOps) {
    let _ = INSTALLED.set(ops);
}

/// The installed backend, if any.
pub fn installed() -> Option<&'static dyn GdalOps> {
    INSTALLED.get().copied()
}

/// Why an operation that needs GDAL cannot run in this process.
pub const NOT_LOADED: &str = "this needs GDAL, which this process has not loaded \
    (the `kleinraum` program hands configs that need it to `kleinraum-gdal`; a library user \
    calls `kleinraum_load::backend::install_gdal()` first)";

/// GDAL in this process.
#[cfg(feature = "gdal")]
pub struct Gdal;

#[cfg(feature = "gdal")]
impl GdalOps for Gdal {
    fn read(&self, source: &str, layer: Option<&str>) -> Result<RawLayer, LoadError> {
        crate::ogr::read(source, layer)
    }

    fn make_valid(&self, mp: &MultiPolygon<f64>) -> Result<MultiPolygon<f64>, String> {
        crate::repair::make_valid_with_gdal(mp)
    }

    fn write_gpkg(&self, r: &AggregateResult, path: &Path) -> Result<(), WriteError> {
        crate::write::write_gpkg(r, path)
    }
}

/// Installs [`Gdal`]: this process then reads and writes what needs GDAL itself.
#[cfg(feature = "gdal")]
pub fn install_gdal() {
    install(&Gdal);
}
