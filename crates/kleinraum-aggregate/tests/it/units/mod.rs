//! Tests of one source module's internals each, kept out of the library so that it is
//! compiled once (a `#[cfg(test)]` module makes cargo compile the whole library a second time).

mod disclosure;
mod index;
mod model;
mod protection;
mod redefine;
mod simple;
mod spatial;
