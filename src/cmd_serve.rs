//! `kleinraum serve` (to be written).
use std::path::PathBuf;
pub fn run(_config: Option<PathBuf>, _bind: Option<String>) -> anyhow::Result<()> {
    anyhow::bail!("not yet implemented")
}
