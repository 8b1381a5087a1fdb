//! Demo municipality generator (to be written).
use std::path::Path;
pub fn generate(_out: &Path) -> anyhow::Result<()> {
    anyhow::bail!("not yet implemented")
}
