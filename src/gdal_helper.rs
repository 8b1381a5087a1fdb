//! Handing a command that needs GDAL from `kleinraum` to `kleinraum-gdal`.
//!
//! Decided from the arguments and the config before anything runs, so nothing is done twice
//! and nothing is half done: the process is replaced (`exec`: same process id, same standard
//! streams and signals, which a service manager and a shell script rely on).

use std::path::{Path, PathBuf};

use anyhow::{Result, anyhow, bail};
use kleinraum_load::ProjectConfig;
use kleinraum_load::features::SourceKind;

use crate::{Cli, Command, RedefineCmd};

/// Set for `kleinraum-gdal` when `kleinraum` hands over: a program that would hand over again
/// stops instead of starting itself in a loop.
const HANDED_OVER: &str = "KLEINRAUM_HANDED_OVER";

/// Names the program to hand over to, instead of `kleinraum-gdal` beside `kleinraum`.
pub const HELPER_ENV: &str = "KLEINRAUM_GDAL";

/// Why the command needs GDAL, if it does.
pub fn needed_by(cli: &Cli) -> Option<String> {
    let config = config_needs_gdal;
    match &cli.command {
        Some(Command::Check { config: c, .. })
        | Some(Command::Report { config: c, .. })
        | Some(Command::AuditDisclosure { config: c, .. }) => config(c),
        Some(Command::Aggregate { config: c, out, .. }) => {
            let gpkg = out
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("gpkg"));
            if gpkg {
                Some(format!(
                    "{}: a GeoPackage is written through GDAL",
                    out.display()
                ))
            } else {
                config(c)
            }
        }
        Some(Command::Serve {
            config: Some(c), ..
        }) => config(c),
        // Serving the demo, as `serve` without a config does.
        Some(Command::Serve { config: None, .. }) | None => {
            crate::cmd_serve::locate("data/demo.toml").and_then(|c| config(&c))
        }
        Some(Command::Init { dir, .. }) => kleinraum_load::init::needs_gdal(dir)
            .then(|| format!("{}: a GeoPackage in the folder", dir.display())),
        Some(Command::Redefine { action }) => match action {
            RedefineCmd::Import { config: c, args } => {
                if SourceKind::of(&args.file) == SourceKind::Ogr {
                    Some(format!("{}: read through GDAL", args.file))
                } else if args.repair {
                    Some("--repair: polygons are made valid through GDAL (GEOS)".into())
                } else {
                    config(c)
                }
            }
            RedefineCmd::List { config: c }
            | RedefineCmd::Interpolate { config: c, .. }
            | RedefineCmd::Compare { config: c, .. } => config(c),
        },
        Some(Command::GenerateDemo { .. }) => None,
    }
}

/// Why loading `path` needs GDAL, if it does. A config that cannot be read needs nothing
/// here: the command reports the error itself.
fn config_needs_gdal(path: &Path) -> Option<String> {
    let cfg = ProjectConfig::load(path).ok()?;
    cfg.needs_gdal().then(|| {
        format!(
            "{}: a source read through GDAL (GeoPackage, PostGIS, …) or `repair = true`",
            path.display()
        )
    })
}

/// Where `kleinraum-gdal` is: `$KLEINRAUM_GDAL`, else beside this program.
fn helper() -> Result<PathBuf> {
    if let Some(p) = std::env::var_os(HELPER_ENV) {
        return Ok(PathBuf::from(p));
    }
    let exe = std::env::current_exe().map_err(|e| anyhow!("where is this program: {e}"))?;
    Ok(exe.with_file_name(format!("kleinraum-gdal{}", std::env::consts::EXE_SUFFIX)))
}

/// Replaces this process by `kleinraum-gdal` with the same arguments. Returns only on error.
pub fn hand_over(why: &str) -> Result<()> {
    if std::env::var_os(HANDED_OVER).is_some() {
        bail!(
            "{why}: this needs GDAL, and this program was started to provide it but has not \
             loaded it (is ${HELPER_ENV} set to `kleinraum` instead of `kleinraum-gdal`?)"
        );
    }
    let helper = helper()?;
    if !helper.is_file() {
        bail!(
            "{why}: this needs GDAL, which `kleinraum` leaves to the program `kleinraum-gdal`; \
             it is not at {} (`cargo build --release` builds both; install them side by side, \
             or name it in ${HELPER_ENV})",
            helper.display()
        );
    }
    let mut args = std::env::args_os();
    let arg0 = args.next().unwrap_or_else(|| "kleinraum".into());
    let mut cmd = std::process::Command::new(&helper);
    cmd.args(args).env(HANDED_OVER, "1");
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        let err = cmd.arg0(arg0).exec();
        Err(anyhow!("{why}: cannot start {}: {err}", helper.display()))
    }
    #[cfg(not(unix))]
    {
        let _ = arg0;
        let status = cmd
            .status()
            .map_err(|e| anyhow!("{why}: cannot start {}: {e}", helper.display()))?;
        std::process::exit(status.code().unwrap_or(1));
    }
}
