//! Integration tests of the store, one module per theme.

mod store;
