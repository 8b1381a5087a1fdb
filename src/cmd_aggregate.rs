//! `kleinraum aggregate` (to be written).
use std::path::Path;
pub fn run(_config: &Path, _out: &Path, _excel: bool) -> anyhow::Result<()> {
    anyhow::bail!("not yet implemented")
}
