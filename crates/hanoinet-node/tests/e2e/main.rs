//! End-to-end tests: real nodes on loopback (random ports), driven through the REST API and the
//! federation endpoint, on SQLite and on PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod harness;

mod api;
mod browser;
mod clocks;
mod console;
mod console_flows;
mod data;
mod delivery;
mod evidence;
mod federation;
mod hostile;
mod ledger;
mod lifecycle;
mod lookup;
mod operations;
mod registry;
mod response_centre;
mod response_centre_console;
mod signin;
mod tls;
mod types;
