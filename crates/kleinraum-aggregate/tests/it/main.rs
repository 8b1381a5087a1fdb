//! Integration tests of the engine: one test binary, one module per theme.

mod disclosure;
mod engine;
mod mss;
mod redefine;
mod tables;
mod units;

use std::path::PathBuf;

/// The shared real data: `$KLEINRAUM_SHARED_DATA`, else `../shared/data` beside the repository.
pub fn shared_data() -> PathBuf {
    match std::env::var_os("KLEINRAUM_SHARED_DATA") {
        Some(p) => PathBuf::from(p),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"),
    }
}
