//! Making nodes: [`dir`] reads and writes a node's directory (keys, identity, registry,
//! `node.json`); [`network`] provisions a whole local network (the demo, the tests, the
//! benchmark).

pub mod dir;
pub mod network;
pub mod sample_reports;
