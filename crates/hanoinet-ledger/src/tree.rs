//! RFC 6962 hashing over stored complete subtrees.
//!
//! Leaf hash = SHA-256(0x00 || entry bytes); interior = SHA-256(0x01 || left || right); the tree
//! of n leaves splits at the largest power of two below n (RFC 9162 §2.1.1). Every *complete,
//! aligned* subtree (2^k leaves starting at a multiple of 2^k) has a fixed hash once its last leaf
//! is appended; the store keeps exactly those, keyed by [`NodeKey`]. Any root, inclusion path or
//! consistency path is then a function of O(log n) stored hashes: [`Plan`] lists which, the store
//! fetches them in one query, and the same function computes the result.

use std::collections::HashMap;

use sha2::{Digest, Sha256};

pub type Hash = [u8; 32];

/// SHA-256 of the empty string: the root of the empty tree.
pub fn empty_root() -> Hash {
    Sha256::digest([]).into()
}

pub fn leaf_hash(entry: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0x00]);
    h.update(entry);
    h.finalize().into()
}

pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([0x01]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// A complete, aligned subtree: leaves `[index << level, (index + 1) << level)`. Level 0 is a leaf.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeKey {
    pub level: u8,
    pub index: u64,
}

impl NodeKey {
    /// The key as one integer for storage: level in the top 8 bits, index below.
    pub fn to_i64(self) -> i64 {
        ((u64::from(self.level) << 56) | (self.index & ((1 << 56) - 1))) as i64
    }

    pub fn from_i64(v: i64) -> Self {
        let v = v as u64;
        Self {
            level: (v >> 56) as u8,
            index: v & ((1 << 56) - 1),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TreeError {
    #[error("tree size {size} is out of range (the log has {available} entries)")]
    SizeOutOfRange { size: u64, available: u64 },
    #[error("index {index} is not below tree size {size}")]
    IndexOutOfRange { index: u64, size: u64 },
    #[error("consistency needs 0 < first <= second, got first={first} second={second}")]
    BadRange { first: u64, second: u64 },
    #[error("stored node {0:?} is missing")]
    MissingNode(NodeKey),
}

/// The largest power of two strictly below `n` (n ≥ 2).
fn split(n: u64) -> u64 {
    1 << (63 - (n - 1).leading_zeros())
}

/// MTH of leaves [lo, hi), where lo is aligned to the largest power of two ≤ hi − lo (always the
/// case inside RFC 6962's recursion).
fn mth(lo: u64, hi: u64, get: &mut dyn FnMut(NodeKey) -> Hash) -> Hash {
    let n = hi - lo;
    if n.is_power_of_two() {
        let level = n.trailing_zeros() as u8;
        return get(NodeKey {
            level,
            index: lo >> level,
        });
    }
    let k = split(n);
    let left = mth(lo, lo + k, get);
    let right = mth(lo + k, hi, get);
    node_hash(&left, &right)
}

/// RFC 9162 §2.1.3.1 PATH(m, D[lo:hi]).
fn path(m: u64, lo: u64, hi: u64, get: &mut dyn FnMut(NodeKey) -> Hash, out: &mut Vec<Hash>) {
    let n = hi - lo;
    if n <= 1 {
        return;
    }
    let k = split(n);
    if m < k {
        path(m, lo, lo + k, get, out);
        out.push(mth(lo + k, hi, get));
    } else {
        path(m - k, lo + k, hi, get, out);
        out.push(mth(lo, lo + k, get));
    }
}

/// RFC 9162 §2.1.4.1 SUBPROOF(m, D[lo:hi], b).
fn subproof(
    m: u64,
    lo: u64,
    hi: u64,
    complete: bool,
    get: &mut dyn FnMut(NodeKey) -> Hash,
    out: &mut Vec<Hash>,
) {
    let n = hi - lo;
    if m == n {
        if !complete {
            out.push(mth(lo, hi, get));
        }
        return;
    }
    let k = split(n);
    if m <= k {
        subproof(m, lo, lo + k, complete, get, out);
        out.push(mth(lo + k, hi, get));
    } else {
        subproof(m - k, lo + k, hi, false, get, out);
        out.push(mth(lo, lo + k, get));
    }
}

/// What to compute, and from which stored nodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plan {
    Root { size: u64 },
    Inclusion { index: u64, size: u64 },
    Consistency { first: u64, second: u64 },
}

impl Plan {
    pub fn check(self, available: u64) -> Result<Self, TreeError> {
        let (size, ok) = match self {
            Self::Root { size } => (size, true),
            Self::Inclusion { index, size } => {
                if index >= size {
                    return Err(TreeError::IndexOutOfRange { index, size });
                }
                (size, true)
            }
            Self::Consistency { first, second } => (second, first > 0 && first <= second),
        };
        if let Self::Consistency { first, second } = self
            && !ok
        {
            return Err(TreeError::BadRange { first, second });
        }
        if size > available {
            return Err(TreeError::SizeOutOfRange { size, available });
        }
        Ok(self)
    }

    fn run(self, get: &mut dyn FnMut(NodeKey) -> Hash) -> Vec<Hash> {
        let mut out = Vec::new();
        match self {
            Self::Root { size: 0 } => out.push(empty_root()),
            Self::Root { size } => out.push(mth(0, size, get)),
            Self::Inclusion { index, size } => path(index, 0, size, get, &mut out),
            Self::Consistency { first, second } => subproof(first, 0, second, true, get, &mut out),
        }
        out
    }

    /// The stored nodes the computation reads.
    pub fn needed(self) -> Vec<NodeKey> {
        let mut keys = Vec::new();
        self.run(&mut |k| {
            keys.push(k);
            [0; 32]
        });
        keys.sort_unstable();
        keys.dedup();
        keys
    }

    /// Computes the root (one hash) or the path, from the fetched nodes.
    pub fn compute(self, nodes: &HashMap<NodeKey, Hash>) -> Result<Vec<Hash>, TreeError> {
        let mut missing = None;
        let out = self.run(&mut |k| match nodes.get(&k) {
            Some(h) => *h,
            None => {
                missing.get_or_insert(k);
                [0; 32]
            }
        });
        match missing {
            Some(k) => Err(TreeError::MissingNode(k)),
            None => Ok(out),
        }
    }
}

/// The right edge of the tree: the complete subtrees that make up the first `size` leaves, highest
/// first. Appending a leaf only needs these; the root is their right fold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Frontier {
    size: u64,
    /// (level, hash), strictly decreasing levels: the binary digits of `size`.
    nodes: Vec<(u8, Hash)>,
}

impl Frontier {
    /// The stored nodes that form the frontier of a tree of `size` leaves.
    pub fn keys(size: u64) -> Vec<NodeKey> {
        (0..64u8)
            .rev()
            .filter(|l| size >> l & 1 == 1)
            .map(|level| NodeKey {
                level,
                index: (size >> level) - 1,
            })
            .collect()
    }

    /// Rebuilds the frontier of a tree of `size` leaves from its stored nodes.
    pub fn load(size: u64, nodes: &HashMap<NodeKey, Hash>) -> Result<Self, TreeError> {
        let nodes = Self::keys(size)
            .into_iter()
            .map(|k| {
                nodes
                    .get(&k)
                    .map(|h| (k.level, *h))
                    .ok_or(TreeError::MissingNode(k))
            })
            .collect::<Result<_, _>>()?;
        Ok(Self { size, nodes })
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    /// Appends a leaf; returns every node that became complete (the leaf itself first), to store.
    pub fn push(&mut self, leaf: Hash) -> Vec<(NodeKey, Hash)> {
        let index = self.size;
        let mut created = vec![(NodeKey { level: 0, index }, leaf)];
        let mut level = 0u8;
        let mut hash = leaf;
        while let Some(&(l, left)) = self.nodes.last() {
            if l != level {
                break;
            }
            self.nodes.pop();
            hash = node_hash(&left, &hash);
            level += 1;
            created.push((
                NodeKey {
                    level,
                    index: index >> level,
                },
                hash,
            ));
        }
        self.nodes.push((level, hash));
        self.size += 1;
        created
    }

    /// The Merkle Tree Hash of the first `size` leaves.
    pub fn root(&self) -> Hash {
        let mut it = self.nodes.iter().rev();
        let Some(&(_, mut acc)) = it.next() else {
            return empty_root();
        };
        for (_, left) in it {
            acc = node_hash(left, &acc);
        }
        acc
    }
}

/// Builds every stored node of a log from its entries (for tests, rebuilds and verifiers).
pub fn build<'a>(
    entries: impl IntoIterator<Item = &'a [u8]>,
) -> (Frontier, HashMap<NodeKey, Hash>) {
    let mut f = Frontier::default();
    let mut nodes = HashMap::new();
    for e in entries {
        nodes.extend(f.push(leaf_hash(e)));
    }
    (f, nodes)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The Certificate Transparency reference leaves and roots (also used by RFC 6962
    /// implementations in Go, C and other languages).
    pub(crate) fn ct_leaves() -> Vec<Vec<u8>> {
        [
            "",
            "00",
            "10",
            "2021",
            "3031",
            "40414243",
            "5051525354555657",
            "606162636465666768696a6b6c6d6e6f",
        ]
        .iter()
        .map(|h| hex::decode(h).unwrap())
        .collect()
    }

    const CT_ROOTS: [&str; 8] = [
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    ];

    fn hexes(v: &[Hash]) -> Vec<String> {
        v.iter().map(hex::encode).collect()
    }

    #[test]
    fn roots_match_the_reference_vectors() {
        assert_eq!(
            hex::encode(empty_root()),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        let leaves = ct_leaves();
        for size in 1..=8u64 {
            let (f, nodes) = build(leaves[..size as usize].iter().map(Vec::as_slice));
            assert_eq!(
                hex::encode(f.root()),
                CT_ROOTS[size as usize - 1],
                "frontier root, size {size}"
            );
            let (_, all) = build(leaves.iter().map(Vec::as_slice));
            let root = Plan::Root { size }.compute(&all).unwrap();
            assert_eq!(
                hex::encode(root[0]),
                CT_ROOTS[size as usize - 1],
                "stored-node root, size {size}"
            );
            assert_eq!(Frontier::load(size, &nodes).unwrap(), f);
        }
    }

    #[test]
    fn paths_match_the_reference_vectors() {
        let (_, nodes) = build(ct_leaves().iter().map(Vec::as_slice));
        let inc = |index, size| hexes(&Plan::Inclusion { index, size }.compute(&nodes).unwrap());
        assert!(inc(0, 1).is_empty());
        assert_eq!(
            inc(0, 8),
            [
                "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"
            ]
        );
        assert_eq!(
            inc(5, 8),
            [
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"
            ]
        );
        let con =
            |first, second| hexes(&Plan::Consistency { first, second }.compute(&nodes).unwrap());
        assert!(con(1, 1).is_empty());
        assert_eq!(
            con(1, 8),
            [
                "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"
            ]
        );
        assert_eq!(
            con(6, 8),
            [
                "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"
            ]
        );
        assert_eq!(
            con(2, 5)[0],
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"
        );
    }

    #[test]
    fn plans_check_their_ranges() {
        assert!(Plan::Inclusion { index: 3, size: 3 }.check(10).is_err());
        assert!(Plan::Inclusion { index: 2, size: 11 }.check(10).is_err());
        assert!(
            Plan::Consistency {
                first: 0,
                second: 3
            }
            .check(10)
            .is_err()
        );
        assert!(
            Plan::Consistency {
                first: 4,
                second: 3
            }
            .check(10)
            .is_err()
        );
        assert!(
            Plan::Consistency {
                first: 3,
                second: 3
            }
            .check(10)
            .is_ok()
        );
        assert!(Plan::Root { size: 0 }.check(0).is_ok());
        assert_eq!(
            Plan::Root { size: 0 }.compute(&HashMap::new()).unwrap(),
            vec![empty_root()]
        );
        assert!(matches!(
            Plan::Root { size: 3 }.compute(&HashMap::new()),
            Err(TreeError::MissingNode(_))
        ));
    }

    #[test]
    fn proofs_read_few_nodes() {
        let n = 10_000_000u64;
        assert!(
            Plan::Inclusion {
                index: 1_234_567,
                size: n
            }
            .needed()
            .len()
                <= 48
        );
        assert!(
            Plan::Consistency {
                first: 7_654_321,
                second: n
            }
            .needed()
            .len()
                <= 96
        );
        assert_eq!(Frontier::keys(n).len(), n.count_ones() as usize);
    }

    #[test]
    fn node_keys_round_trip() {
        for k in [
            NodeKey { level: 0, index: 0 },
            NodeKey {
                level: 23,
                index: 1 << 40,
            },
            NodeKey {
                level: 63,
                index: 0,
            },
        ] {
            assert_eq!(NodeKey::from_i64(k.to_i64()), k);
        }
    }
}
