//! The node's use cases, apart from any front end: each takes typed input, checks the rules
//! (roles, the transition table, four eyes, the legal gate, Art. 36 conditions), makes its state
//! change as one store call (one transaction) with its ledger entries, and returns a typed
//! result or a [`crate::error::NodeError`]. The REST API and a web console call the same
//! functions; neither holds a copy of a rule.

pub mod access;
pub mod audit;
pub mod auth;
pub mod batch;
pub mod data;
pub mod escalate;
pub mod gate;
pub mod give;
pub mod inbound;
pub mod ledger;
pub mod messages;
pub mod moves;
pub mod onward;
pub mod outbound;
pub mod peers;
pub mod reports;
pub mod requests;
pub mod signin;
pub mod statistics;
pub mod triage;
pub mod updates;
pub mod upload;
pub mod users;
