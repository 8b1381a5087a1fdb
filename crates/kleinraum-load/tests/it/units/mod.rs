//! Tests of one source module's internals each, kept out of the library so that it is
//! compiled once (a `#[cfg(test)]` module makes cargo compile the whole library a second time).

mod areatable;
mod blocks;
mod check;
mod crs;
mod gj;
mod init;
mod ogr;
mod shp;
mod table;
mod write;
