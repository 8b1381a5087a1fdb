//! Integration tests of kleinraum-load, one module per theme, compiled into one binary.

mod blocks;
mod broken;
mod common;
mod config;
mod crs;
mod geojson;
mod levels;
mod ogr;
mod project;
mod robust;
mod shapefile;
mod table;
mod units;
