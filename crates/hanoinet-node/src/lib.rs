//! A hanoinet node: the REST API officers use, the federation endpoint peers deliver envelopes
//! to, and the workers that deliver, watch deadlines and keep the ledger.
//!
//! Layout (ARCHITECTURE.md has the map): [`node`] is the running node's state, free of any
//! front end; [`ops`] holds the use cases, which take typed input and return
//! [`error::NodeError`]; [`http`] is the only module that knows axum, status codes and JSON
//! views; [`workers`] run on their own; [`provision`] makes node directories and local
//! networks; [`server`] wires it all and starts it from a pre-bound listener and a shutdown
//! future (so tests start nodes on port 0).
//!
//! **Architecture Invariant:** every effect of an API call or an inbound envelope is one store
//! transaction; a use case validates, decides and then calls exactly one store operation.
//!
//! **Architecture Invariant:** keys come from the registry only. No handler trusts a key or URL
//! that a peer sends.
// The OpenAPI document is one `json!` literal, deeper than the default macro recursion limit.
#![recursion_limit = "256"]

pub mod error;
pub mod http;
pub mod lookup;
pub mod metrics;
pub mod node;
pub mod ops;
pub mod provision;
pub mod server;
pub mod tls;
pub mod trust;
pub mod workers;

pub use node::{NodeConfig, Tunables};
pub use server::{NodeHandle, start, start_instance};

/// The version of this build.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
/// The commit this build comes from (`git rev-parse --short=12 HEAD` at build time, or
/// `HANOINET_COMMIT`, or "unknown").
pub const COMMIT: &str = env!("HANOINET_COMMIT");
/// `VERSION (COMMIT)`, for `--version`.
pub const VERSION_LINE: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("HANOINET_COMMIT"),
    ")"
);
