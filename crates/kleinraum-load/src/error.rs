//! Load errors. Each names what a user needs to fix the input: the file, the feature or row,
//! the field and the offending value.

use std::path::PathBuf;

/// A fatal problem with one source. Row-level problems that `check` lists are collected as
/// [`crate::Diagnostic`]s instead.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The file cannot be opened or read.
    #[error("{path}: cannot read: {source}")]
    Io {
        /// File.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
    /// The configuration file is malformed or names something that does not exist.
    #[error("{path}: {message}")]
    Config {
        /// Config file.
        path: PathBuf,
        /// What is wrong, naming the key.
        message: String,
    },
    /// The file is not valid in its format (truncated GeoJSON, broken DBF …).
    #[error("{path}: {message}")]
    Format {
        /// File.
        path: PathBuf,
        /// What is wrong, with line/column or feature where known.
        message: String,
    },
    /// A required field/column does not exist.
    #[error("{path}: field {field:?} not found (available: {available})")]
    MissingField {
        /// File.
        path: PathBuf,
        /// The configured field name.
        field: String,
        /// Comma-separated list of the fields the source has.
        available: String,
    },
    /// One feature is unusable (no geometry, wrong geometry type, invalid value).
    #[error("{path}: feature {feature}: field {field:?}: {message}")]
    Feature {
        /// File.
        path: PathBuf,
        /// Feature number (1-based) and id where known, e.g. `17 (id 01100101)`.
        feature: String,
        /// The field (or `geometry`).
        field: String,
        /// What is wrong.
        message: String,
    },
    /// The source declares no CRS and the config sets none.
    #[error(
        "{path}: the source declares no coordinate reference system; set `crs = <EPSG code>` for it in the config (kleinraum does not guess)"
    )]
    NoCrs {
        /// File.
        path: PathBuf,
    },
    /// A CRS that kleinraum cannot use or PROJ cannot transform.
    #[error("{path}: CRS: {message}")]
    Crs {
        /// File.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// Row-level problems made the load unusable; `check` lists them all.
    #[error("{path}: {count} rows could not be read; first: {first}")]
    Rows {
        /// File.
        path: PathBuf,
        /// Number of bad rows.
        count: usize,
        /// The first diagnostic, rendered.
        first: String,
    },
    /// GDAL/OGR reported an error.
    #[error("{path}: GDAL: {message}")]
    Gdal {
        /// Source (file or connection string with password removed).
        path: String,
        /// GDAL's message.
        message: String,
    },
}

/// A problem with one row or feature that does not stop `check` from continuing.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Diagnostic {
    /// File.
    pub path: String,
    /// 1-based row (data rows, header excluded, for CSV: the line number in the file) or
    /// feature number.
    pub row: usize,
    /// The field.
    pub field: String,
    /// The offending value, as text.
    pub value: String,
    /// What is wrong.
    pub message: String,
}

impl Diagnostic {
    /// "line 17" for a CSV file (the file's line number), else "feature 17".
    pub fn place(&self) -> String {
        if crate::config::is_csv(&self.path) {
            format!("line {}", self.row)
        } else {
            format!("feature {}", self.row)
        }
    }
}

impl std::fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: {}: field {:?}: {} (value {:?})",
            self.path,
            self.place(),
            self.field,
            self.message,
            self.value
        )
    }
}
