//! `kleinraum`: the command line, without GDAL (see the library's documentation).

fn main() -> anyhow::Result<()> {
    kleinraum::main(None)
}
