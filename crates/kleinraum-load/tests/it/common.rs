//! Helpers: where the shared real data lives, small files in a tempdir.

use std::path::{Path, PathBuf};

/// The shared data folder: `$KLEINRAUM_SHARED_DATA`, else `../shared/data` beside the repo.
pub fn shared_data() -> PathBuf {
    if let Ok(p) = std::env::var("KLEINRAUM_SHARED_DATA")
        && !p.is_empty()
    {
        return PathBuf::from(p);
    }
    repo_root().join("../shared/data")
}

/// The repository root (two levels above this crate).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A file in the shared data folder, as a string path.
pub fn data(rel: &str) -> String {
    let p = shared_data().join(rel);
    assert!(p.exists(), "shared data file missing: {}", p.display());
    p.to_string_lossy().into_owned()
}

/// Writes `contents` to `name` in `dir` and returns the path.
pub fn write(dir: &Path, name: &str, contents: impl AsRef<[u8]>) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, contents).unwrap();
    p
}

/// A deterministic xorshift generator for the randomised tests.
pub struct Rng(pub u64);

impl Rng {
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in 0..n.
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
}
