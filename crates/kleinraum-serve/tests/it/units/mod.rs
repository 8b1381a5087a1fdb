//! Tests of one source module's internals each, kept out of the library so that it is
//! compiled once (a `#[cfg(test)]` module makes cargo compile the whole library a second time).

mod auth;
mod catalog;
mod cql;
mod crs;
mod net;
mod precompressed;
mod query;
mod reports;
mod simplify;
