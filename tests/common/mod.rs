//! Helpers shared by the end-to-end tests (each test file uses a subset).
#![allow(dead_code)]

use std::path::PathBuf;

/// The repository root.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The shared real data: `KLEINRAUM_SHARED_DATA`, else `../shared/data` beside the repository.
pub fn shared_data() -> PathBuf {
    match std::env::var("KLEINRAUM_SHARED_DATA") {
        Ok(v) if !v.is_empty() => PathBuf::from(v),
        _ => repo().join("../shared/data"),
    }
}

/// A Gebietsstände store path no other server of this test process uses (servers started by
/// tests never write into `data/`).
pub fn fresh_store() -> PathBuf {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    std::env::temp_dir().join(format!(
        "kleinraum-test-{}-{}.gpkg",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ))
}
