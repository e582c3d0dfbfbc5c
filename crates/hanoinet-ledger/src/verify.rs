//! Proof verification with the `ct-merkle` crate: an implementation independent of the one in
//! [`crate::tree`] that produces the proofs.
//!
//! What a caller MUST check besides these functions: that the root it verifies against comes from
//! a tree head whose signature verifies with the log's registry key (see [`crate::head`]).

use ct_merkle::digest::Output;
use ct_merkle::{ConsistencyProof, InclusionProof, RootHash};
use sha2::Sha256;

use crate::tree::Hash;

fn digests(path: &[Hash]) -> Vec<Output<Sha256>> {
    path.iter().map(|h| Output::<Sha256>::from(*h)).collect()
}

/// Whether `entry` is leaf `index` of the tree of `size` leaves with root `root`.
pub fn inclusion(entry: &[u8], index: u64, size: u64, path: &[Hash], root: &Hash) -> bool {
    let root = RootHash::<Sha256>::new(Output::<Sha256>::from(*root), size);
    let d = digests(path);
    let proof = InclusionProof::<Sha256>::from_digests(d.iter());
    root.verify_inclusion(&entry, index, &proof).is_ok()
}

/// Whether the tree of `first` leaves with root `first_root` is a prefix of the tree of `second`
/// leaves with root `second_root`.
pub fn consistency(
    first: u64,
    first_root: &Hash,
    second: u64,
    second_root: &Hash,
    path: &[Hash],
) -> bool {
    if first == second {
        return path.is_empty() && first_root == second_root;
    }
    let old = RootHash::<Sha256>::new(Output::<Sha256>::from(*first_root), first);
    let new = RootHash::<Sha256>::new(Output::<Sha256>::from(*second_root), second);
    let d = digests(path);
    let proof = ConsistencyProof::<Sha256>::from_digests(d.iter());
    new.verify_consistency(&old, &proof).is_ok()
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::tree::{Plan, build};

    fn log(n: usize) -> Vec<Vec<u8>> {
        (0..n).map(|i| format!("entry {i}").into_bytes()).collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

        #[test]
        fn produced_proofs_verify_independently(n in 1usize..300, a in any::<prop::sample::Index>(), b in any::<prop::sample::Index>()) {
            let entries = log(n);
            let (_, nodes) = build(entries.iter().map(Vec::as_slice));
            let size = (a.index(n) + 1) as u64;
            let index = b.index(size as usize) as u64;
            let root = Plan::Root { size }.compute(&nodes).unwrap()[0];
            let path = Plan::Inclusion { index, size }.compute(&nodes).unwrap();
            prop_assert!(inclusion(&entries[index as usize], index, size, &path, &root));
            // A different entry, index or root does not verify.
            prop_assert!(!inclusion(b"forged", index, size, &path, &root));
            if size > 1 {
                prop_assert!(!inclusion(&entries[index as usize], (index + 1) % size, size, &path, &root));
            }

            let second = n as u64;
            let first = (b.index(n) + 1) as u64;
            let r1 = Plan::Root { size: first }.compute(&nodes).unwrap()[0];
            let r2 = Plan::Root { size: second }.compute(&nodes).unwrap()[0];
            let path = Plan::Consistency { first, second }.compute(&nodes).unwrap();
            prop_assert!(consistency(first, &r1, second, &r2, &path));
            let mut wrong = r1;
            wrong[0] ^= 1;
            prop_assert!(!consistency(first, &wrong, second, &r2, &path));
        }
    }

    #[test]
    fn a_rewritten_history_is_not_consistent() {
        let a = log(20);
        let mut b = log(20);
        b[3] = b"rewritten".to_vec();
        let (_, na) = build(a.iter().map(Vec::as_slice));
        let (_, nb) = build(b.iter().map(Vec::as_slice));
        let r_old = Plan::Root { size: 10 }.compute(&na).unwrap()[0];
        let r_new = Plan::Root { size: 20 }.compute(&nb).unwrap()[0];
        let path = Plan::Consistency {
            first: 10,
            second: 20,
        }
        .compute(&nb)
        .unwrap();
        assert!(!consistency(10, &r_old, 20, &r_new, &path));
    }
}
