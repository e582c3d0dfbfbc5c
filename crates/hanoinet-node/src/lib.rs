//! A hanoinet node: the REST API officers use, the federation endpoint peers deliver envelopes
//! to, and the delivery worker that drains the outbox.
//!
//! Layout: [`server`] wires everything and runs it from a pre-bound listener and a shutdown
//! future (so tests start nodes on port 0); [`api`] is the REST API; [`federation`] receives
//! envelopes; [`delivery`] sends them; [`outbound`] builds and seals the envelopes that the API
//! queues; [`dir`] reads and writes a node's directory (keys, identity, registry, config);
//! [`network`] provisions a whole local network (the demo, the tests, the benchmark).
//!
//! **Architecture Invariant:** every effect of an API call or an inbound envelope is one store
//! transaction; the HTTP handlers validate, decide and then call exactly one store operation.
//!
//! **Architecture Invariant:** keys come from the registry only. No handler trusts a key or URL
//! that a peer sends.
// The OpenAPI document is one `json!` literal, deeper than the default macro recursion limit.
#![recursion_limit = "256"]

pub mod api;
pub mod batch;
pub mod catalogue;
pub mod clocks;
pub mod data;
pub mod delivery;
pub mod dir;
pub mod error;
pub mod federation;
pub mod gate;
pub mod ledger;
pub mod lifecycle;
pub mod listener;
pub mod network;
pub mod notify;
pub mod openapi;
pub mod outbound;
pub mod payload;
pub mod server;

pub use server::{NodeConfig, NodeHandle, Tunables, start};
