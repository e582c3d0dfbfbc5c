//! Domain core of hanoinet: identifiers, the Convention catalogue, cooperation-request rules and
//! the injectable clock.
//!
//! Layout: [`ids`] holds the newtypes parsed once at the edges (`NodeId`, `StateCode`,
//! `RequestId`, `EnvelopeId`); [`catalogue`] is the single table of article and paragraph
//! references; [`request`] validates request bodies and holds the lifecycle types; [`clock`] is the
//! time source every deadline is computed from.
//!
//! **Architecture Invariant:** this crate does no I/O: no network, no files, no database, no
//! reading of the system clock outside [`clock::SystemClock`].

pub mod access;
pub mod catalogue;
pub mod clock;
pub mod decision;
pub mod ids;
pub mod json;
pub mod legal;
pub mod lifecycle;
pub mod names;
pub mod policy;
pub mod request;
pub mod text;
pub mod time;

#[doc(hidden)]
pub use serde as __serde;

pub use clock::{Clock, ManualClock, SystemClock};
pub use ids::{EnvelopeId, IdError, NodeId, RequestId, StateCode};
