//! `kleinraum-gdal`: the `kleinraum` command line with GDAL loaded, for GeoPackage, PostGIS
//! and other OGR sources, `repair = true` and `.gpkg` outputs. `kleinraum` hands such commands
//! here itself; it can also be run directly.

fn main() -> anyhow::Result<()> {
    kleinraum::main(Some(&kleinraum_load::backend::Gdal))
}
