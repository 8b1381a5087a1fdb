//! End-to-end tests of the `kleinraum` binary, one module per theme: the CLI (`check`,
//! `aggregate`, `redefine`) and the server (`serve`) on the demo and on Berlin's real data
//! (`KLEINRAUM_SHARED_DATA`, default `../shared/data`), read by real clients (GDAL, nginx).

mod aggregate_berlin;
mod berlin_tables;
mod check_cli;
mod common;
mod demo_data;
mod gdal_helper;
mod init;
mod kreis;
mod layout;
mod redefine_berlin;
mod redefine_cli;
mod redefine_server;
mod report;
mod serve_disclosure;
mod serve_hostile;
mod serve_oapif;
mod serve_privacy;
mod serve_proxy;
mod spatial_berlin;
