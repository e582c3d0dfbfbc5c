//! An auditor's verification of a log, step by step, with no I/O: the caller feeds it the
//! entries and the two proofs from wherever the log is (a node's API for `hanoinet ledger
//! verify`, the node's own store for the console's "verify now"), so both run the same checks:
//!
//! 1. the tree head is signed by the log's registry key;
//! 2. it is not older than the last head the auditor verified (the log never shrinks) and is
//!    the same log;
//! 3. the entries hash to the signed root (the served entries are the signed log);
//! 4. the first entries still hash to the last verified root (history was not rewritten);
//! 5. the log's inclusion proof for its last entry and its consistency proof from the last
//!    verified head verify (checked with `ct-merkle`, see [`crate::verify`]).

use jiff::Timestamp;

use hanoinet_protocol::keys::PublicKeys;

use crate::head::{SignedTreeHead, TreeHead};
use crate::tree::{Frontier, Hash, empty_root, leaf_hash};

/// Why a log did not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Failure(pub String);

fn fail<T>(why: String) -> Result<T, Failure> {
    Err(Failure(why))
}

/// What a verification established.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub log_id: String,
    pub tree_size: u64,
    pub root_hash: Hash,
    pub signed_at: Timestamp,
    /// The earlier verified head it is consistent with: its size and when it was signed.
    pub consistent_with: Option<(u64, Timestamp)>,
}

/// A verification in progress.
#[derive(Debug)]
pub struct Verifier {
    head: TreeHead,
    previous: Option<TreeHead>,
    frontier: Frontier,
    prefix_root: Option<Hash>,
    last_leaf: Vec<u8>,
}

impl Verifier {
    /// Starts verifying `head`, which `signer` (the log's keys in the registry) must have
    /// signed, against `previous`, the last head this auditor verified (if any).
    pub fn new(
        head: &SignedTreeHead,
        signer: &PublicKeys,
        previous: Option<&SignedTreeHead>,
    ) -> Result<Self, Failure> {
        if !head.verify(signer) {
            return fail(format!(
                "the tree head is not signed by {}'s registry key",
                head.head.log_id
            ));
        }
        if let Some(old) = previous.map(|p| &p.head) {
            if old.log_id != head.head.log_id {
                return fail(format!(
                    "the last verified head is of log {}, this is log {}",
                    old.log_id, head.head.log_id
                ));
            }
            if old.tree_size > head.head.tree_size {
                return fail(format!(
                    "the log shrank from {} to {} entries since the last verified head",
                    old.tree_size, head.head.tree_size
                ));
            }
        }
        let previous = previous.map(|p| p.head.clone());
        Ok(Self {
            prefix_root: (previous.as_ref().map(|p| p.tree_size) == Some(0)).then(empty_root),
            head: head.head.clone(),
            previous,
            frontier: Frontier::default(),
            last_leaf: Vec::new(),
        })
    }

    /// The index of the next entry wanted, while [`Self::wants_entries`].
    pub fn next_index(&self) -> u64 {
        self.frontier.size()
    }

    /// The size the signed head gives the log.
    pub fn tree_size(&self) -> u64 {
        self.head.tree_size
    }

    pub fn wants_entries(&self) -> bool {
        self.frontier.size() < self.head.tree_size
    }

    /// Feeds entry `index` (they must come in order).
    pub fn entry(&mut self, index: u64, leaf: &[u8]) -> Result<(), Failure> {
        if index != self.frontier.size() {
            return fail(format!("entry {} is out of order", self.frontier.size()));
        }
        if !self.wants_entries() {
            return fail(format!(
                "more entries than the {} the head signs",
                self.head.tree_size
            ));
        }
        self.frontier.push(leaf_hash(leaf));
        self.last_leaf = leaf.to_vec();
        if Some(self.frontier.size()) == self.previous.as_ref().map(|p| p.tree_size) {
            self.prefix_root = Some(self.frontier.root());
        }
        Ok(())
    }

    /// A source that had no more entries to give while some were still wanted.
    pub fn ran_out(&self) -> Failure {
        Failure(format!(
            "the log served {} entries but its head says {}",
            self.frontier.size(),
            self.head.tree_size
        ))
    }

    /// Once every entry is in: they must hash to the signed root, and their prefix to the
    /// last verified root.
    pub fn entries_done(&self) -> Result<(), Failure> {
        if self.wants_entries() {
            return Err(self.ran_out());
        }
        if self.frontier.root() != self.head.root_hash {
            return fail(format!(
                "the recomputed root {} of {} entries differs from the signed root {}: the served entries are not the log the node signed",
                hex::encode(self.frontier.root()),
                self.head.tree_size,
                hex::encode(self.head.root_hash)
            ));
        }
        if let Some(old) = &self.previous
            && self.prefix_root != Some(old.root_hash)
        {
            return fail(format!(
                "the first {} entries no longer hash to the root signed at {}: history was rewritten",
                old.tree_size, old.timestamp
            ));
        }
        Ok(())
    }

    /// The inclusion proof to ask for: `(index, tree_size)` of the last entry.
    pub fn inclusion_wanted(&self) -> Option<(u64, u64)> {
        let n = self.head.tree_size;
        (n > 0).then(|| (n - 1, n))
    }

    pub fn inclusion(&self, path: &[Hash]) -> Result<(), Failure> {
        let n = self.head.tree_size;
        if n > 0 && !crate::verify::inclusion(&self.last_leaf, n - 1, n, path, &self.head.root_hash)
        {
            return fail("the log's inclusion proof for its last entry does not verify".into());
        }
        Ok(())
    }

    /// The consistency proof to ask for: `(first, second)` sizes.
    pub fn consistency_wanted(&self) -> Option<(u64, u64)> {
        self.previous
            .as_ref()
            .filter(|p| p.tree_size > 0)
            .map(|p| (p.tree_size, self.head.tree_size))
    }

    pub fn consistency(&self, path: &[Hash]) -> Result<(), Failure> {
        if let Some(old) = self.previous.as_ref().filter(|p| p.tree_size > 0)
            && !crate::verify::consistency(
                old.tree_size,
                &old.root_hash,
                self.head.tree_size,
                &self.head.root_hash,
                path,
            )
        {
            return fail(
                "the log's consistency proof from the last verified head does not verify".into(),
            );
        }
        Ok(())
    }

    pub fn finish(self) -> Verified {
        Verified {
            log_id: self.head.log_id.clone(),
            tree_size: self.head.tree_size,
            root_hash: self.head.root_hash,
            signed_at: self.head.timestamp,
            consistent_with: self.previous.map(|p| (p.tree_size, p.timestamp)),
        }
    }
}
