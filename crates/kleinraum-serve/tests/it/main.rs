//! Router-level tests: the whole HTTP surface through `app(...).oneshot(...)`, no socket.

mod fixture;
mod ogc;
mod privacy;
