//! `kleinraum check` (to be written).
use std::path::Path;
pub fn run(_config: &Path, _json: bool) -> anyhow::Result<i32> {
    anyhow::bail!("not yet implemented")
}
