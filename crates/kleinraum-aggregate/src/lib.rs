//! kleinraum-aggregate: the domain types and the pure computing core of kleinraum.
//!
//! Data flow: `kleinraum-load` reads files into the types of [`model`] (already reprojected into
//! the metric working CRS) → [`spatial::GridIndex`] assigns every point to exactly one area of the
//! finest level → [`aggregate`] sums counts per area, year and hierarchy level → [`indicators`]
//! and [`index`] compute the configured indicators and composite indices → [`disclosure`]
//! suppresses small counts → an immutable [`result::AggregateResult`] that the writers and the
//! server render.
//!
//! This crate does no I/O, no async and links no C library.

pub mod aggregate;
pub mod config;
pub mod disclosure;
pub mod index;
pub mod indicators;
pub mod model;
pub mod protection;
pub mod redefine;
pub mod result;
pub mod simple;
pub mod spatial;

pub use config::{AnalysisConfig, DisclosureConfig, IndexConfig, IndicatorConfig};
pub use model::{Area, AreaTable, Dataset, FacilityLayer, Level, PointLayer};
pub use result::AggregateResult;
