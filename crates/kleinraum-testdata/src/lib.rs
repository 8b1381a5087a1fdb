//! kleinraum-testdata: deterministic data for kleinraum's tests and benchmarks.
//!
//! [`synthetic`]: partitions for the spatial index (tested against brute force);
//! [`workspace`]: a small Gebietsstände workspace for the domain and route tests.
//! Everything is generated in code; nothing is read from disk.

pub mod synthetic;
pub mod workspace;
