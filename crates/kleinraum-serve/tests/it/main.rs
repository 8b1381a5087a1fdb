//! Router-level tests: the whole HTTP surface through `app(...).oneshot(...)`, no socket.

mod fixture;
mod fuzz;
mod gebietsstaende;
mod ogc;
mod privacy;
mod units;
mod upload;
mod webmap;
