//! Embedded store of Gebietsstände (versions of area definitions) and the audit log.
//!
//! One SQLite file that is a valid GeoPackage 1.3: QGIS and `ogrinfo` open it and show the
//! layer `areas` (all areas of all versions, column `gebietsstand`) and the attribute tables
//! `gebietsstaende` and `audit_log`.
//!
//! Durability: every write (`import`, `publish`, `delete_draft`, `log`) is one SQLite
//! transaction started with `BEGIN IMMEDIATE`, with `journal_mode=DELETE` and
//! `synchronous=FULL`. A process killed mid-import leaves a hot rollback journal that the next
//! `open` rolls back, so the previous state is whole. The rollback journal (not WAL) is used
//! because a GeoPackage is meant to be one file: WAL keeps committed data in `-wal`/`-shm` files
//! beside it, which copies of the file and read-only readers (QGIS, `ogrinfo -ro`) miss or
//! cannot open.

#![warn(missing_docs)]

pub mod export;
mod gpkg;
mod wkb;

use std::collections::HashSet;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use geo_types::MultiPolygon;
use rusqlite::{Connection, ErrorCode, OptionalExtension, TransactionBehavior, params};
use serde::{Deserialize, Serialize};

pub use gpkg::SCHEMA_VERSION;
pub use wkb::{decode_gpkg, encode_gpkg};

/// Env var read by [`Store::import`]: sleep this many milliseconds after each area row inside
/// the transaction (test hook to kill a process mid-write).
pub const SLOW_IMPORT_ENV: &str = "KLEINRAUM_STORE_SLOW_IMPORT_MS";

/// Publication status of a Gebietsstand.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Immutable; visible to the public.
    Published,
    /// Work in progress; may be replaced or deleted.
    Draft,
}

impl Status {
    /// `"published"` / `"draft"` (as stored and serialised).
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Published => "published",
            Status::Draft => "draft",
        }
    }

    fn parse(s: &str) -> Option<Status> {
        match s {
            "published" => Some(Status::Published),
            "draft" => Some(Status::Draft),
            _ => None,
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Metadata of one Gebietsstand (version of the area definitions).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VersionMeta {
    /// Identifier, `^[a-z0-9][a-z0-9_-]{0,63}$`.
    pub key: String,
    /// Human-readable name (non-empty).
    pub name: String,
    /// First day of validity, `YYYY-MM-DD`.
    pub valid_from: Option<String>,
    /// File path, `"Entwurf im Browser"` or URL.
    pub source: String,
    /// Keys of the versions this one derives from.
    #[serde(default)]
    pub lineage: Vec<String>,
    /// Free text.
    #[serde(default)]
    pub note: String,
    /// Published (immutable) or draft.
    pub status: Status,
    /// RFC 3339 UTC, set by the caller.
    pub created_at: String,
    /// Who created it.
    pub created_by: String,
    /// CRS of the geometries (the project's working CRS).
    pub epsg: u32,
    /// Number of areas: filled by the store on read; ignored on write.
    #[serde(default)]
    pub n_areas: usize,
}

/// One area of a Gebietsstand.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredArea {
    /// Area id, unique within its Gebietsstand (kept as text: leading zeros matter).
    pub id: String,
    /// Display name (may be empty).
    pub name: String,
    /// Id of the enclosing area at the next coarser level, if known.
    pub parent: Option<String>,
    /// Geometry in the version's CRS.
    pub geometry: MultiPolygon<f64>,
}

/// One row of the audit log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// RFC 3339 UTC timestamp.
    pub at: String,
    /// Token name of who acted.
    pub actor: String,
    /// Role of the actor (`planner`, `admin`, ...).
    pub role: String,
    /// What was done (e.g. `import`, `publish`, `delete`).
    pub action: String,
    /// What it was done to (e.g. a Gebietsstand key).
    pub target: String,
    /// Free text.
    pub detail: String,
}

/// Errors of the store. Every message names the store file and, where there is one, the
/// Gebietsstand key and the area id.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite failed (I/O, locking, constraint).
    #[error("{path}: {context}: {source}")]
    Sqlite {
        /// Store file.
        path: String,
        /// What was being done, naming key and area.
        context: String,
        /// The SQLite error.
        source: rusqlite::Error,
    },
    /// The file exists but is not a GeoPackage (or not an SQLite database at all).
    #[error("{path}: not a GeoPackage: {detail}")]
    NotGeoPackage {
        /// Store file.
        path: String,
        /// What was found instead.
        detail: String,
    },
    /// A GeoPackage that is not a kleinraum store, or one of an unknown schema version.
    #[error("{path}: {message}")]
    Schema {
        /// Store file.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// Input rejected by validation before anything was written.
    #[error("{path}: Gebietsstand {key:?}{}: {message}", area_label(.area))]
    Invalid {
        /// Store file.
        path: String,
        /// Gebietsstand key as given.
        key: String,
        /// Offending area id, if the problem is in one area.
        area: Option<String>,
        /// What is wrong.
        message: String,
    },
    /// The key is taken and may not be replaced.
    #[error(
        "{path}: Gebietsstand {key:?} already exists ({status}); {}",
        if *.status == Status::Published {
            "published Gebietsstände are immutable"
        } else {
            "an existing draft can only be replaced by a draft"
        }
    )]
    Exists {
        /// Store file.
        path: String,
        /// The key.
        key: String,
        /// Status of the existing version.
        status: Status,
    },
    /// No Gebietsstand with this key.
    #[error("{path}: Gebietsstand {key:?} not found")]
    NotFound {
        /// Store file.
        path: String,
        /// The key.
        key: String,
    },
    /// The operation needs a draft, the version is published (immutable).
    #[error("{path}: Gebietsstand {key:?} is published and immutable (cannot {action})")]
    NotDraft {
        /// Store file.
        path: String,
        /// The key.
        key: String,
        /// `publish` / `delete`.
        action: &'static str,
    },
    /// The store's `areas` layer has one CRS; a version in another CRS is refused.
    #[error(
        "{path}: Gebietsstand {key:?} is in EPSG:{epsg}, but the store's areas are in EPSG:{store_epsg}; reproject it first"
    )]
    CrsMismatch {
        /// Store file.
        path: String,
        /// The key.
        key: String,
        /// EPSG of the version.
        epsg: u32,
        /// EPSG of the areas already stored.
        store_epsg: i64,
    },
    /// Another process holds the store (a running `kleinraum serve`): one writer per store, so
    /// that no server keeps serving versions another one deleted.
    #[error(
        "{path}: the store is in use by another kleinraum process ({holder}); stop it, or make changes through its API/map"
    )]
    Locked {
        /// Store file.
        path: String,
        /// What the lock file says about its holder.
        holder: String,
    },
    /// Stored data that cannot be read back (e.g. a geometry changed by another program).
    #[error("{path}: Gebietsstand {key:?}{}: {message}", area_label(.area))]
    Corrupt {
        /// Store file.
        path: String,
        /// The key.
        key: String,
        /// Area id, if one area is affected.
        area: Option<String>,
        /// What is wrong.
        message: String,
    },
}

fn area_label(area: &Option<String>) -> String {
    match area {
        Some(a) => format!(", area {a:?}"),
        None => String::new(),
    }
}

/// True if `key` is a valid Gebietsstand key: `^[a-z0-9][a-z0-9_-]{0,63}$`.
pub fn is_valid_key(key: &str) -> bool {
    let b = key.as_bytes();
    !b.is_empty()
        && b.len() <= 64
        && (b[0].is_ascii_lowercase() || b[0].is_ascii_digit())
        && b[1..]
            .iter()
            .all(|&c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'_' || c == b'-')
}

/// True if `s` is a real calendar date `YYYY-MM-DD`.
fn is_valid_date(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return false;
    }
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        b[r.clone()]
            .iter()
            .all(u8::is_ascii_digit)
            .then(|| s[r].parse().ok())
            .flatten()
    };
    let (Some(y), Some(m), Some(d)) = (num(0..4), num(5..7), num(8..10)) else {
        return false;
    };
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    (1..=days).contains(&d)
}

/// The store: an open connection to one GeoPackage file. Writes take `&mut self`; share it
/// between threads behind a mutex.
pub struct Store {
    conn: Connection,
    path: PathBuf,
    display: String,
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Store").field("path", &self.path).finish()
    }
}

/// The exclusive claim of one process on a store: an advisory lock on `<store>.lock`, released
/// when dropped (also when the process dies, as the kernel drops the lock with the file).
#[derive(Debug)]
pub struct StoreLock {
    _file: std::fs::File,
    path: PathBuf,
}

impl StoreLock {
    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl StoreError {
    /// Whether SQLite failed because the disk (or the file's size limit) is full.
    pub fn is_disk_full(&self) -> bool {
        matches!(self, StoreError::Sqlite { source: rusqlite::Error::SqliteFailure(e, _), .. }
            if e.code == rusqlite::ErrorCode::DiskFull)
    }

    /// Whether the store file cannot be written (read-only file or file system).
    pub fn is_read_only(&self) -> bool {
        matches!(self, StoreError::Sqlite { source: rusqlite::Error::SqliteFailure(e, _), .. }
            if e.code == rusqlite::ErrorCode::ReadOnly)
    }
}

impl Store {
    /// Claims the store at `path` for this process (see [`StoreLock`]); refused with
    /// [`StoreError::Locked`] while another process holds it. Readers (QGIS, `ogrinfo`) need no
    /// claim: SQLite's own locking keeps them consistent.
    pub fn lock(path: &Path) -> Result<StoreLock, StoreError> {
        use std::io::{Read, Seek, Write};
        let lock_path = PathBuf::from(format!("{}.lock", path.display()));
        let io = |e: std::io::Error| StoreError::Schema {
            path: path.display().to_string(),
            message: format!("cannot use the lock file {}: {e}", lock_path.display()),
        };
        let mut f = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&lock_path)
            .map_err(io)?;
        match f.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                let mut holder = String::new();
                let _ = f.read_to_string(&mut holder);
                return Err(StoreError::Locked {
                    path: path.display().to_string(),
                    holder: if holder.trim().is_empty() {
                        "unknown process".into()
                    } else {
                        holder.trim().to_string()
                    },
                });
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(io(e)),
        }
        let _ = f.set_len(0);
        let _ = f.rewind();
        let _ = write!(f, "PID {}", std::process::id());
        Ok(StoreLock {
            _file: f,
            path: lock_path,
        })
    }

    /// Whether SQLite opened the store read-only (file or file system not writable).
    pub fn is_read_only(&self) -> bool {
        self.conn.is_readonly(rusqlite::MAIN_DB).unwrap_or(false)
    }

    /// Opens the store at `path`, creating a fresh GeoPackage if the file is missing or empty.
    /// A hot journal left by a killed writer is rolled back here. Refuses files that are not a
    /// GeoPackage, GeoPackages without the kleinraum tables, and stores written by a newer
    /// schema version.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        let display = path.display().to_string();
        let conn = Connection::open(path).map_err(|e| StoreError::Sqlite {
            path: display.clone(),
            context: "cannot open".into(),
            source: e,
        })?;
        let mut store = Store {
            conn,
            path: path.to_path_buf(),
            display,
        };
        store.init()?;
        Ok(store)
    }

    /// The file this store lives in.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn init(&mut self) -> Result<(), StoreError> {
        // Other processes (a second server, ogrinfo) may hold the lock briefly: wait, don't fail.
        self.conn
            .busy_timeout(Duration::from_secs(10))
            .map_err(sql_err(&self.display, "set busy timeout"))?;
        // The first read of the header: fails with NOTADB for files that are not SQLite.
        let app_id: i64 = match self
            .conn
            .query_row("PRAGMA application_id", [], |r| r.get(0))
        {
            Ok(v) => v,
            Err(e) if e.sqlite_error_code() == Some(ErrorCode::NotADatabase) => {
                return Err(StoreError::NotGeoPackage {
                    path: self.display.clone(),
                    detail: "the file is not an SQLite database".into(),
                });
            }
            Err(e) => return Err(sql_err(&self.display, "read the file header")(e)),
        };
        let mode: String = self
            .conn
            .query_row("PRAGMA journal_mode = DELETE", [], |r| r.get(0))
            .map_err(sql_err(&self.display, "set journal_mode=DELETE"))?;
        if !mode.eq_ignore_ascii_case("delete") {
            return Err(StoreError::Schema {
                path: self.display.clone(),
                message: format!("cannot switch journal_mode to DELETE (is {mode})"),
            });
        }
        self.conn
            .execute_batch("PRAGMA synchronous = FULL")
            .map_err(sql_err(&self.display, "set synchronous=FULL"))?;

        if app_id == 0 {
            let tx = self
                .conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(sql_err(
                    &self.display,
                    "begin transaction to create the store",
                ))?;
            // Re-check under the write lock: another process may have created it meanwhile.
            let (app_id, n_tables): (i64, i64) = tx
                .query_row(
                    "SELECT (SELECT application_id FROM pragma_application_id), \
                     (SELECT COUNT(*) FROM sqlite_master)",
                    [],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .map_err(sql_err(&self.display, "inspect the file"))?;
            if app_id == 0 && n_tables == 0 {
                tx.execute_batch(&gpkg::create_sql())
                    .map_err(sql_err(&self.display, "create the GeoPackage tables"))?;
                tx.commit()
                    .map_err(sql_err(&self.display, "commit the new store"))?;
            } else if app_id == 0 {
                return Err(StoreError::NotGeoPackage {
                    path: self.display.clone(),
                    detail: format!(
                        "an SQLite database with {n_tables} schema objects but without the \
                         GeoPackage application_id"
                    ),
                });
            }
        }
        self.check_schema()
    }

    fn check_schema(&self) -> Result<(), StoreError> {
        let app_id: i64 = self
            .conn
            .query_row("PRAGMA application_id", [], |r| r.get(0))
            .map_err(sql_err(&self.display, "read application_id"))?;
        if app_id != gpkg::APPLICATION_ID {
            let ascii: String = (app_id as u32)
                .to_be_bytes()
                .iter()
                .map(|&b| if b.is_ascii_graphic() { b as char } else { '?' })
                .collect();
            return Err(StoreError::NotGeoPackage {
                path: self.display.clone(),
                detail: format!("application_id is 0x{app_id:08X} ({ascii:?}), not 'GPKG'"),
            });
        }
        let has_meta: bool = self
            .conn
            .query_row(
                "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'kleinraum_meta')",
                [],
                |r| r.get(0),
            )
            .map_err(sql_err(&self.display, "look for table kleinraum_meta"))?;
        if !has_meta {
            return Err(StoreError::Schema {
                path: self.display.clone(),
                message: "a GeoPackage, but not a kleinraum store (table kleinraum_meta missing)"
                    .into(),
            });
        }
        let version: Option<String> = self
            .conn
            .query_row(
                "SELECT value FROM kleinraum_meta WHERE key = 'schema_version'",
                [],
                |r| r.get(0),
            )
            .optional()
            .map_err(sql_err(&self.display, "read the schema version"))?;
        match version.as_deref().map(str::parse::<u32>) {
            Some(Ok(v)) if v == SCHEMA_VERSION => Ok(()),
            Some(Ok(v)) if v > SCHEMA_VERSION => Err(StoreError::Schema {
                path: self.display.clone(),
                message: format!(
                    "written by a newer kleinraum (store schema {v}; this program reads schema \
                     {SCHEMA_VERSION}): update kleinraum"
                ),
            }),
            _ => Err(StoreError::Schema {
                path: self.display.clone(),
                message: format!(
                    "unknown store schema version {:?} in kleinraum_meta (this program reads \
                     schema {SCHEMA_VERSION})",
                    version.unwrap_or_default()
                ),
            }),
        }
    }

    /// All Gebietsstände, ordered by (`valid_from`, `key`); versions without `valid_from` first.
    pub fn versions(&self) -> Result<Vec<VersionMeta>, StoreError> {
        let mut v = self.query_versions(None)?;
        v.sort_by(|a, b| (&a.valid_from, &a.key).cmp(&(&b.valid_from, &b.key)));
        Ok(v)
    }

    /// The Gebietsstand `key`, or `None`.
    pub fn version(&self, key: &str) -> Result<Option<VersionMeta>, StoreError> {
        Ok(self.query_versions(Some(key))?.pop())
    }

    fn query_versions(&self, key: Option<&str>) -> Result<Vec<VersionMeta>, StoreError> {
        let context = match key {
            Some(k) => format!("read Gebietsstand {k:?}"),
            None => "read Gebietsstände".to_string(),
        };
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT g.key, g.name, g.valid_from, g.source, g.lineage, g.note, g.status, \
                 g.created_at, g.created_by, g.epsg, \
                 (SELECT COUNT(*) FROM areas a WHERE a.gebietsstand = g.key) \
                 FROM gebietsstaende g WHERE ?1 IS NULL OR g.key = ?1 ORDER BY g.fid",
            )
            .map_err(sql_err(&self.display, context.clone()))?;
        let rows = stmt
            .query_map([key], |r| {
                Ok((
                    VersionMeta {
                        key: r.get(0)?,
                        name: r.get(1)?,
                        valid_from: r.get(2)?,
                        source: r.get(3)?,
                        lineage: split_lineage(&r.get::<_, String>(4)?),
                        note: r.get(5)?,
                        status: Status::Draft,
                        created_at: r.get(7)?,
                        created_by: r.get(8)?,
                        epsg: r.get(9)?,
                        n_areas: r.get::<_, i64>(10)? as usize,
                    },
                    r.get::<_, String>(6)?,
                ))
            })
            .map_err(sql_err(&self.display, context.clone()))?;
        let mut out = Vec::new();
        for row in rows {
            let (mut meta, status) = row.map_err(sql_err(&self.display, context.clone()))?;
            meta.status = Status::parse(&status).ok_or_else(|| StoreError::Corrupt {
                path: self.display.clone(),
                key: meta.key.clone(),
                area: None,
                message: format!("unknown status {status:?}"),
            })?;
            out.push(meta);
        }
        Ok(out)
    }

    /// The areas of Gebietsstand `key` in insertion order. [`StoreError::NotFound`] if there is
    /// no such version.
    pub fn areas(&self, key: &str) -> Result<Vec<StoredArea>, StoreError> {
        let context = format!("read the areas of Gebietsstand {key:?}");
        let exists: bool = self
            .conn
            .query_row(
                "SELECT EXISTS (SELECT 1 FROM gebietsstaende WHERE key = ?1)",
                [key],
                |r| r.get(0),
            )
            .map_err(sql_err(&self.display, context.clone()))?;
        if !exists {
            return Err(StoreError::NotFound {
                path: self.display.clone(),
                key: key.to_string(),
            });
        }
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT area_id, name, parent_id, geom FROM areas WHERE gebietsstand = ?1 \
                 ORDER BY fid",
            )
            .map_err(sql_err(&self.display, context.clone()))?;
        let mut rows = stmt
            .query([key])
            .map_err(sql_err(&self.display, context.clone()))?;
        let mut out = Vec::new();
        while let Some(r) = rows
            .next()
            .map_err(sql_err(&self.display, context.clone()))?
        {
            let id: String = r.get(0).map_err(sql_err(&self.display, context.clone()))?;
            let name: String = r.get(1).map_err(sql_err(&self.display, context.clone()))?;
            let parent: Option<String> =
                r.get(2).map_err(sql_err(&self.display, context.clone()))?;
            let blob: Option<Vec<u8>> =
                r.get(3).map_err(sql_err(&self.display, context.clone()))?;
            let corrupt = |message: String| StoreError::Corrupt {
                path: self.display.clone(),
                key: key.to_string(),
                area: Some(id.clone()),
                message,
            };
            let blob = blob.ok_or_else(|| corrupt("geometry missing".into()))?;
            let geometry =
                wkb::decode_gpkg(&blob).map_err(|m| corrupt(format!("geometry: {m}")))?;
            out.push(StoredArea {
                id,
                name,
                parent,
                geometry,
            });
        }
        Ok(out)
    }

    /// Imports a Gebietsstand: the version row, all areas and the audit row in one transaction
    /// (`BEGIN IMMEDIATE`). Nothing is written if anything fails.
    ///
    /// Fails with [`StoreError::Exists`] if the key is taken, except that a draft replaces an
    /// existing draft of the same key (its old areas are deleted in the same transaction).
    /// Validation ([`StoreError::Invalid`]): key `^[a-z0-9][a-z0-9_-]{0,63}$`, non-empty name,
    /// `valid_from` a date `YYYY-MM-DD`, lineage keys valid, EPSG > 0, at least one area, area
    /// ids non-empty and unique, every geometry non-empty with rings of at least 4 finite
    /// coordinates. All areas of a store share one CRS ([`StoreError::CrsMismatch`]).
    /// `meta.n_areas` is ignored.
    ///
    /// Test hook: if the env var `KLEINRAUM_STORE_SLOW_IMPORT_MS=<n>` is set, the import sleeps
    /// `n` ms after each area row inside the open transaction, so that tests can kill the
    /// process mid-write. Unparsable values are ignored.
    pub fn import(
        &mut self,
        meta: &VersionMeta,
        areas: &[StoredArea],
        audit: &AuditEntry,
    ) -> Result<(), StoreError> {
        self.validate(meta, areas)?;
        let key = meta.key.as_str();
        let slow = std::env::var(SLOW_IMPORT_ENV)
            .ok()
            .and_then(|v| v.trim().parse::<u64>().ok())
            .filter(|&ms| ms > 0)
            .map(Duration::from_millis);
        let ctx = |what: &str| format!("import Gebietsstand {key:?}: {what}");
        let path = self.display.clone();
        let err = |context: String| {
            let path = path.clone();
            move |source| StoreError::Sqlite {
                path,
                context,
                source,
            }
        };

        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(err(ctx("begin transaction")))?;
        let existing: Option<String> = tx
            .query_row(
                "SELECT status FROM gebietsstaende WHERE key = ?1",
                [key],
                |r| r.get(0),
            )
            .optional()
            .map_err(err(ctx("look up the key")))?;
        if let Some(status) = existing {
            let status = Status::parse(&status).unwrap_or(Status::Published);
            if status == Status::Draft && meta.status == Status::Draft {
                tx.execute("DELETE FROM areas WHERE gebietsstand = ?1", [key])
                    .map_err(err(ctx("delete the areas of the replaced draft")))?;
                tx.execute("DELETE FROM gebietsstaende WHERE key = ?1", [key])
                    .map_err(err(ctx("delete the replaced draft")))?;
            } else {
                return Err(StoreError::Exists {
                    path: self.display.clone(),
                    key: key.to_string(),
                    status,
                });
            }
        }

        // The `areas` layer has one CRS: take the version's if the layer is empty.
        let (store_srs, has_rows): (i64, bool) = tx
            .query_row(
                "SELECT (SELECT srs_id FROM gpkg_geometry_columns WHERE table_name = 'areas'), \
                 EXISTS (SELECT 1 FROM areas)",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .map_err(err(ctx("read the CRS of the areas layer")))?;
        let epsg = i64::from(meta.epsg);
        if store_srs != epsg {
            if has_rows {
                return Err(StoreError::CrsMismatch {
                    path: self.display.clone(),
                    key: key.to_string(),
                    epsg: meta.epsg,
                    store_epsg: store_srs,
                });
            }
            let (srs_name, definition) = match gpkg::known_srs(meta.epsg) {
                Some((n, d)) => (n.to_string(), d),
                None => (format!("EPSG:{}", meta.epsg), "undefined"),
            };
            tx.execute(
                "INSERT OR IGNORE INTO gpkg_spatial_ref_sys \
                 (srs_name, srs_id, organization, organization_coordsys_id, definition) \
                 VALUES (?1, ?2, 'EPSG', ?2, ?3)",
                params![srs_name, epsg, definition],
            )
            .map_err(err(ctx("register the CRS")))?;
            tx.execute(
                "UPDATE gpkg_geometry_columns SET srs_id = ?1 WHERE table_name = 'areas'",
                [epsg],
            )
            .map_err(err(ctx("set the CRS of the areas layer")))?;
            tx.execute(
                "UPDATE gpkg_contents SET srs_id = ?1, min_x = NULL, min_y = NULL, \
                 max_x = NULL, max_y = NULL WHERE table_name = 'areas'",
                [epsg],
            )
            .map_err(err(ctx("set the CRS of the areas layer")))?;
        }

        tx.execute(
            "INSERT INTO gebietsstaende (key, name, valid_from, source, lineage, note, status, \
             created_at, created_by, epsg) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            params![
                key,
                meta.name,
                meta.valid_from,
                meta.source,
                meta.lineage.join(","),
                meta.note,
                meta.status.as_str(),
                meta.created_at,
                meta.created_by,
                epsg
            ],
        )
        .map_err(err(ctx("insert the version row")))?;

        let mut min = [f64::INFINITY; 2];
        let mut max = [f64::NEG_INFINITY; 2];
        {
            let mut stmt = tx
                .prepare_cached(
                    "INSERT INTO areas (geom, gebietsstand, area_id, name, parent_id) \
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                )
                .map_err(err(ctx("prepare the area insert")))?;
            for a in areas {
                let (lo, hi) = wkb::bounds(&a.geometry);
                min = [min[0].min(lo[0]), min[1].min(lo[1])];
                max = [max[0].max(hi[0]), max[1].max(hi[1])];
                let blob = wkb::encode_gpkg(&a.geometry, meta.epsg as i32);
                stmt.execute(params![blob, key, a.id, a.name, a.parent])
                    .map_err(err(ctx(&format!("insert area {:?}", a.id))))?;
                if let Some(d) = slow {
                    std::thread::sleep(d);
                }
            }
        }
        // Layer extent (informative in GeoPackage): grow it by this version.
        tx.execute(
            "UPDATE gpkg_contents SET min_x = min(coalesce(min_x, ?1), ?1), \
             min_y = min(coalesce(min_y, ?2), ?2), max_x = max(coalesce(max_x, ?3), ?3), \
             max_y = max(coalesce(max_y, ?4), ?4), \
             last_change = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') \
             WHERE table_name IN ('areas', 'gebietsstaende')",
            params![min[0], min[1], max[0], max[1]],
        )
        .map_err(err(ctx("update gpkg_contents")))?;
        // The attribute table got an extent from the statement above; it must have none.
        tx.execute(
            "UPDATE gpkg_contents SET min_x = NULL, min_y = NULL, max_x = NULL, max_y = NULL \
             WHERE table_name = 'gebietsstaende'",
            [],
        )
        .map_err(err(ctx("update gpkg_contents")))?;
        insert_audit(&tx, audit).map_err(err(ctx("write the audit row")))?;
        tx.commit().map_err(err(ctx("commit")))
    }

    fn invalid(&self, key: &str, area: Option<&str>, message: impl Into<String>) -> StoreError {
        StoreError::Invalid {
            path: self.display.clone(),
            key: key.to_string(),
            area: area.map(str::to_string),
            message: message.into(),
        }
    }

    fn validate(&self, meta: &VersionMeta, areas: &[StoredArea]) -> Result<(), StoreError> {
        let key = meta.key.as_str();
        if !is_valid_key(key) {
            return Err(self.invalid(
                key,
                None,
                "invalid key (allowed: ^[a-z0-9][a-z0-9_-]{0,63}$)",
            ));
        }
        if meta.name.trim().is_empty() {
            return Err(self.invalid(key, None, "name is empty"));
        }
        if let Some(d) = &meta.valid_from
            && !is_valid_date(d)
        {
            return Err(self.invalid(
                key,
                None,
                format!("valid_from {d:?} is not a date YYYY-MM-DD"),
            ));
        }
        for l in &meta.lineage {
            if !is_valid_key(l) || l == key {
                return Err(self.invalid(
                    key,
                    None,
                    format!("lineage entry {l:?} is not the key of another Gebietsstand"),
                ));
            }
        }
        if meta.epsg == 0 || meta.epsg > i32::MAX as u32 {
            return Err(self.invalid(key, None, format!("invalid EPSG code {}", meta.epsg)));
        }
        if areas.is_empty() {
            return Err(self.invalid(key, None, "no areas"));
        }
        let mut seen = HashSet::with_capacity(areas.len());
        for (i, a) in areas.iter().enumerate() {
            if a.id.trim().is_empty() {
                return Err(self.invalid(
                    key,
                    Some(&a.id),
                    format!("area #{} (name {:?}) has an empty id", i + 1, a.name),
                ));
            }
            if !seen.insert(a.id.as_str()) {
                return Err(self.invalid(key, Some(&a.id), "duplicate area id"));
            }
            if let Err(m) = check_geometry(&a.geometry) {
                return Err(self.invalid(key, Some(&a.id), m));
            }
        }
        Ok(())
    }

    /// Publishes the draft `key` (draft → published), with its audit row, in one transaction.
    /// [`StoreError::NotFound`] if absent, [`StoreError::NotDraft`] if already published.
    pub fn publish(&mut self, key: &str, audit: &AuditEntry) -> Result<(), StoreError> {
        let ctx = format!("publish Gebietsstand {key:?}");
        let tx = Self::draft_transaction(&mut self.conn, &self.display, key, "publish", &ctx)?;
        tx.execute(
            "UPDATE gebietsstaende SET status = 'published' WHERE key = ?1",
            [key],
        )
        .map_err(sql_err(&self.display, ctx.clone()))?;
        touch(&tx, &["gebietsstaende"]).map_err(sql_err(&self.display, ctx.clone()))?;
        insert_audit(&tx, audit).map_err(sql_err(&self.display, ctx.clone()))?;
        tx.commit().map_err(sql_err(&self.display, ctx))
    }

    /// Deletes the draft `key` with all its areas, with its audit row, in one transaction.
    /// [`StoreError::NotFound`] if absent, [`StoreError::NotDraft`] if published.
    pub fn delete_draft(&mut self, key: &str, audit: &AuditEntry) -> Result<(), StoreError> {
        let ctx = format!("delete draft {key:?}");
        let tx = Self::draft_transaction(&mut self.conn, &self.display, key, "delete", &ctx)?;
        tx.execute("DELETE FROM areas WHERE gebietsstand = ?1", [key])
            .map_err(sql_err(&self.display, ctx.clone()))?;
        tx.execute("DELETE FROM gebietsstaende WHERE key = ?1", [key])
            .map_err(sql_err(&self.display, ctx.clone()))?;
        // An empty layer has no extent.
        tx.execute(
            "UPDATE gpkg_contents SET min_x = NULL, min_y = NULL, max_x = NULL, max_y = NULL \
             WHERE table_name = 'areas' AND NOT EXISTS (SELECT 1 FROM areas)",
            [],
        )
        .map_err(sql_err(&self.display, ctx.clone()))?;
        touch(&tx, &["areas", "gebietsstaende"]).map_err(sql_err(&self.display, ctx.clone()))?;
        insert_audit(&tx, audit).map_err(sql_err(&self.display, ctx.clone()))?;
        tx.commit().map_err(sql_err(&self.display, ctx))
    }

    /// A write transaction on the draft `key`: [`StoreError::NotFound`] if absent,
    /// [`StoreError::NotDraft`] (naming `action`) if published.
    /// (The connection and the path apart, so the caller keeps using its path.)
    fn draft_transaction<'c>(
        conn: &'c mut Connection,
        display: &str,
        key: &str,
        action: &'static str,
        ctx: &str,
    ) -> Result<rusqlite::Transaction<'c>, StoreError> {
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(sql_err(display, ctx))?;
        match status_of(&tx, key).map_err(sql_err(display, ctx))? {
            None => Err(StoreError::NotFound {
                path: display.to_string(),
                key: key.to_string(),
            }),
            Some(s) if s != "draft" => Err(StoreError::NotDraft {
                path: display.to_string(),
                key: key.to_string(),
                action,
            }),
            Some(_) => Ok(tx),
        }
    }

    /// Appends one audit row (e.g. for writes outside the store, or failed attempts).
    pub fn log(&mut self, entry: &AuditEntry) -> Result<(), StoreError> {
        let ctx = format!("write audit row {:?} {:?}", entry.action, entry.target);
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(sql_err(&self.display, ctx.clone()))?;
        insert_audit(&tx, entry).map_err(sql_err(&self.display, ctx.clone()))?;
        tx.commit().map_err(sql_err(&self.display, ctx))
    }

    /// The newest `limit` audit rows, newest first.
    pub fn audit_log(&self, limit: usize) -> Result<Vec<AuditEntry>, StoreError> {
        let ctx = "read the audit log";
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT at, actor, role, action, target, detail FROM audit_log \
                 ORDER BY fid DESC LIMIT ?1",
            )
            .map_err(sql_err(&self.display, ctx))?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = stmt
            .query_map([limit], |r| {
                Ok(AuditEntry {
                    at: r.get(0)?,
                    actor: r.get(1)?,
                    role: r.get(2)?,
                    action: r.get(3)?,
                    target: r.get(4)?,
                    detail: r.get(5)?,
                })
            })
            .map_err(sql_err(&self.display, ctx))?;
        rows.collect::<Result<Vec<_>, _>>()
            .map_err(sql_err(&self.display, ctx))
    }

    /// EPSG code of the `areas` layer (`-1` while the store has never held areas).
    pub fn epsg(&self) -> Result<i64, StoreError> {
        self.conn
            .query_row(
                "SELECT srs_id FROM gpkg_geometry_columns WHERE table_name = 'areas'",
                [],
                |r| r.get(0),
            )
            .map_err(sql_err(&self.display, "read the CRS of the areas layer"))
    }

    /// Runs `PRAGMA integrity_check` and returns its first line (`"ok"` when sound).
    pub fn integrity_check(&self) -> Result<String, StoreError> {
        self.conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .map_err(sql_err(&self.display, "integrity check"))
    }
}

/// Maps an SQLite error to [`StoreError::Sqlite`]. A free function (not a method) so that it
/// can be used while a transaction borrows the connection.
fn sql_err(path: &str, context: impl Into<String>) -> impl FnOnce(rusqlite::Error) -> StoreError {
    let path = path.to_string();
    let context = context.into();
    move |source| StoreError::Sqlite {
        path,
        context,
        source,
    }
}

fn split_lineage(s: &str) -> Vec<String> {
    // Keys cannot contain commas, so the comma-separated column is unambiguous.
    s.split(',')
        .filter(|k| !k.is_empty())
        .map(str::to_string)
        .collect()
}

fn status_of(conn: &Connection, key: &str) -> rusqlite::Result<Option<String>> {
    conn.query_row(
        "SELECT status FROM gebietsstaende WHERE key = ?1",
        [key],
        |r| r.get(0),
    )
    .optional()
}

fn touch(conn: &Connection, tables: &[&str]) -> rusqlite::Result<()> {
    for t in tables {
        conn.execute(
            "UPDATE gpkg_contents SET last_change = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') \
             WHERE table_name = ?1",
            [t],
        )?;
    }
    Ok(())
}

fn insert_audit(conn: &Connection, e: &AuditEntry) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO audit_log (at, actor, role, action, target, detail) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![e.at, e.actor, e.role, e.action, e.target, e.detail],
    )?;
    conn.execute(
        "UPDATE gpkg_contents SET last_change = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') \
         WHERE table_name = 'audit_log'",
        [],
    )?;
    Ok(())
}

/// Non-empty, every polygon with an exterior ring, every ring closed-able with at least 4
/// coordinates, all coordinates finite.
fn check_geometry(mp: &MultiPolygon<f64>) -> Result<(), String> {
    if mp.0.is_empty() {
        return Err("empty geometry".into());
    }
    for (p, poly) in mp.0.iter().enumerate() {
        for (r, ring) in std::iter::once(poly.exterior())
            .chain(poly.interiors())
            .enumerate()
        {
            let which = if r == 0 {
                format!("polygon {}, exterior ring", p + 1)
            } else {
                format!("polygon {}, hole {}", p + 1, r)
            };
            if ring.0.len() < 4 {
                return Err(format!(
                    "{which} has {} coordinates (at least 4 needed)",
                    ring.0.len()
                ));
            }
            if let Some((i, c)) = ring
                .0
                .iter()
                .enumerate()
                .find(|(_, c)| !c.x.is_finite() || !c.y.is_finite())
            {
                return Err(format!(
                    "{which}, coordinate {}: not finite (x={}, y={})",
                    i + 1,
                    c.x,
                    c.y
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_can_live_behind_a_mutex_in_a_server() {
        fn assert_send<T: Send>() {}
        assert_send::<Store>();
        assert_send::<StoreError>();
    }

    #[test]
    fn keys() {
        for ok in ["lor2021", "a", "0", "plz_2024-neu", &"a".repeat(64)] {
            assert!(is_valid_key(ok), "{ok}");
        }
        for bad in ["", "_a", "-a", "Lor", "a b", "ä", "a.b", &"a".repeat(65)] {
            assert!(!is_valid_key(bad), "{bad}");
        }
    }

    #[test]
    fn dates() {
        for ok in ["2021-01-01", "2024-02-29", "2000-02-29", "1999-12-31"] {
            assert!(is_valid_date(ok), "{ok}");
        }
        for bad in [
            "2021-1-01",
            "2023-02-29",
            "1900-02-29",
            "2021-13-01",
            "2021-00-10",
            "2021-04-31",
            "01.01.2021",
            "2021-01-01T00:00",
            "+021-01-01",
        ] {
            assert!(!is_valid_date(bad), "{bad}");
        }
    }
}
