//! kleinraum-gebietsstand: the Gebietsstände (versions of the area definitions) at run time.
//!
//! Every stored version is recomputed from the address points for every year (indicators,
//! index, disclosure control); tables published only for the base level are interpolated onto
//! other versions through the address-weighted crosswalk and marked as estimates; the
//! differencing guard withholds areas whose difference from another version's area would reveal
//! a few residents; draft sessions are edited incrementally; two versions are compared with the
//! cause of every class change ([`compare::Change`]).
//!
//! The workspace holds the address points (they never leave it: every answer is a sum that
//! passed disclosure control) and the store. Versions are immutable once computed; a write
//! builds the new state completely and only then swaps it in, so a failed import or
//! redefinition leaves the previous state whole (in memory as in the store).
//!
//! No HTTP, no file formats, no PROJ: reprojection to and from WGS 84 comes in through
//! [`Projector`], once per computed version ([`Computed::wgs84`]).

pub mod compare;
pub mod error;
pub mod guard;
pub mod reuse;
pub mod session;
pub mod workspace;

pub use compare::{Change, Comparison};
pub use error::{EditError, Error, GeometryError};
pub use guard::SliverWarning;
pub use session::{DraftOp, OpOutcome, Session, Warning};
pub use workspace::{Computed, Projector, Workspace, WorkspaceConfig, now_rfc3339};
