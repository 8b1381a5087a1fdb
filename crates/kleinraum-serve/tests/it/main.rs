//! Router-level tests: the whole HTTP surface through `app(...).oneshot(...)`, no socket.

mod fixture;
mod fuzz;
mod ogc;
mod privacy;
