//! hanoinet's tamper-evident log.
//!
//! Layout: [`entry`] is the encoding of one log entry (event metadata and hash commitments, never
//! case content); [`tree`] is RFC 6962 / RFC 9162 hashing over a log whose complete subtrees are
//! stored (so proofs read O(log n) stored hashes and never rehash the log); [`head`] is the signed
//! tree head; [`verify`] checks inclusion and consistency proofs with the `ct-merkle` crate, an
//! implementation independent of the one that produces them.
//!
//! **Architecture Invariant:** this crate does no I/O. The store keeps entries and node hashes;
//! the node decides when to append and when to sign.

pub mod audit;
pub mod entry;
/// Signed tree heads live with the wire format; re-exported here.
pub mod head {
    pub use hanoinet_protocol::head::*;
}
pub mod tree;
pub mod verify;

pub use entry::{Entry, Event};
pub use head::{SignedTreeHead, TreeHead};
pub use tree::{Frontier, Hash, NodeKey};
