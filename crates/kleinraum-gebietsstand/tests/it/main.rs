//! Integration tests of the Gebietsstände domain, one module per theme.

mod reuse;
mod sessions;
