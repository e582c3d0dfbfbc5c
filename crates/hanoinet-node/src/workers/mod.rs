//! What a node does on its own, each a task started by [`crate::server::start`] and stopped by
//! its shutdown signal: [`delivery`] drains the outbox, [`clocks`] watches deadlines,
//! [`notify`] sends escalations, [`ledger`] integrates the log and checks peers' heads,
//! [`lookup`] keeps the indicator lookup's index current (on a node with a public side).

pub mod clocks;
pub mod delivery;
pub mod ledger;
pub mod lookup;
pub mod notify;
