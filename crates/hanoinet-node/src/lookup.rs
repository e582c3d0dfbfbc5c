//! The indicator lookup's index, in memory in each serving process: the served indicators'
//! SHA-256 identities as one sorted array (32 bytes each, no per-entry heap object) beside a
//! parallel array of what is told about each (category, TLP, expiry). It is built from the
//! store and refreshed by version cursor ([`hanoinet_store::Store::lookup_changes`]): a change
//! committed through any replica reaches every serving process at its next refresh.
//!
//! A snapshot is never changed: a refresh merges the changes into a new one and swaps it in, so
//! a lookup reads one consistent version without a lock held.

use std::sync::{Arc, RwLock};

use hanoinet_indicators::Tlp;
use hanoinet_indicators::report::Category;
use hanoinet_store::{LookupChange, Store, StoreError};

/// Changes read per round trip while building or catching up.
const PAGE: i64 = 10_000;

/// What is told about one served indicator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Meta {
    /// Unix seconds after which it is no longer served (`i64::MAX`: no expiry).
    pub expires: i64,
    /// Index into [`Category::ALL`], or `u8::MAX` for none.
    category: u8,
    /// Index into [`TLPS`].
    tlp: u8,
}

const TLPS: [Tlp; 4] = [Tlp::Clear, Tlp::Green, Tlp::Amber, Tlp::Red];

impl Meta {
    pub fn category(self) -> Option<Category> {
        Category::ALL.get(usize::from(self.category)).copied()
    }

    pub fn tlp(self) -> Option<Tlp> {
        TLPS.get(usize::from(self.tlp)).copied()
    }

    fn of(c: &LookupChange) -> Self {
        Self {
            expires: c.expires_at.map_or(i64::MAX, |t| t.as_second()),
            category: c
                .category
                .and_then(|k| Category::ALL.iter().position(|x| *x == k))
                .and_then(|i| u8::try_from(i).ok())
                .unwrap_or(u8::MAX),
            tlp: c
                .tlp
                .and_then(|t| TLPS.iter().position(|x| *x == t))
                .and_then(|i| u8::try_from(i).ok())
                .unwrap_or(u8::MAX),
        }
    }
}

/// A hash prefix of 4 to 8 lower-case hex digits (16 to 32 bits).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Prefix {
    value: u32,
    nibbles: u32,
}

impl Prefix {
    pub const MIN: usize = 4;
    pub const MAX: usize = 8;

    /// `Err` says what is wrong, for the client.
    pub fn parse(s: &str) -> Result<Self, &'static str> {
        if s.len() < Self::MIN || s.len() > Self::MAX {
            return Err("a prefix is 4 to 8 hex digits");
        }
        if !s
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            return Err("a prefix is lower-case hex digits (0-9, a-f)");
        }
        let value = u32::from_str_radix(s, 16).map_err(|_| "a prefix is hex digits")?;
        Ok(Self {
            value,
            nibbles: s.len() as u32,
        })
    }

    /// The first `nibbles` hex digits of `h`, as a number.
    fn of(self, h: &[u8; 32]) -> u32 {
        let head = u32::from_be_bytes([h[0], h[1], h[2], h[3]]);
        head >> (32 - 4 * self.nibbles)
    }
}

/// One version of the served set.
#[derive(Debug, Default)]
pub struct Snapshot {
    /// The last change applied.
    pub version: i64,
    /// Sorted, without duplicates.
    hashes: Vec<[u8; 32]>,
    /// `meta[i]` is about `hashes[i]`.
    meta: Vec<Meta>,
}

impl Snapshot {
    pub fn len(&self) -> usize {
        self.hashes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.hashes.is_empty()
    }

    /// Bytes the index holds (its arrays' capacity).
    pub fn heap_bytes(&self) -> usize {
        self.hashes.capacity() * 32 + self.meta.capacity() * std::mem::size_of::<Meta>()
    }

    /// The served indicators whose identity starts with `p`, not expired at `now` (Unix
    /// seconds), in hash order.
    pub fn with_prefix(&self, p: Prefix, now: i64) -> Vec<([u8; 32], Meta)> {
        let from = self.hashes.partition_point(|h| p.of(h) < p.value);
        let to = self.hashes.partition_point(|h| p.of(h) <= p.value);
        (from..to)
            .filter(|&i| self.meta[i].expires > now)
            .map(|i| (self.hashes[i], self.meta[i]))
            .collect()
    }

    /// Whether `h` is served at `now`, and what is told about it.
    pub fn get(&self, h: &[u8; 32], now: i64) -> Option<Meta> {
        let i = self.hashes.binary_search(h).ok()?;
        Some(self.meta[i]).filter(|m| m.expires > now)
    }

    /// A new snapshot: this one with `changes` applied (each replaces or removes its hash; of
    /// several changes to one hash the latest version wins). A change whose hash is not hex is
    /// skipped (and logged): the store never writes one.
    pub fn apply(&self, changes: &[LookupChange]) -> Snapshot {
        let mut batch: Vec<([u8; 32], i64, Option<Meta>)> = Vec::with_capacity(changes.len());
        for c in changes {
            let mut h = [0u8; 32];
            if hex::decode_to_slice(&c.hash, &mut h).is_err() {
                tracing::error!(hash = %c.hash, "an indicator identity that is not hex; skipped");
                continue;
            }
            batch.push((h, c.version, c.served.then(|| Meta::of(c))));
        }
        batch.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(&b.1)));
        // The last of each run of one hash is its latest version.
        let mut latest: Vec<([u8; 32], Option<Meta>)> = Vec::with_capacity(batch.len());
        for (h, _, m) in batch {
            match latest.last_mut() {
                Some(last) if last.0 == h => last.1 = m,
                _ => latest.push((h, m)),
            }
        }
        let adds = latest.iter().filter(|c| c.1.is_some()).count();
        let mut hashes = Vec::with_capacity(self.hashes.len() + adds);
        let mut meta = Vec::with_capacity(self.hashes.len() + adds);
        let (mut i, mut j) = (0, 0);
        while i < self.hashes.len() || j < latest.len() {
            let order = match (self.hashes.get(i), latest.get(j)) {
                (Some(old), Some(new)) => old.cmp(&new.0),
                (Some(_), None) => std::cmp::Ordering::Less,
                (None, _) => std::cmp::Ordering::Greater,
            };
            if order == std::cmp::Ordering::Less {
                hashes.push(self.hashes[i]);
                meta.push(self.meta[i]);
                i += 1;
                continue;
            }
            if order == std::cmp::Ordering::Equal {
                i += 1; // replaced or removed
            }
            let (h, m) = latest[j];
            if let Some(m) = m {
                hashes.push(h);
                meta.push(m);
            }
            j += 1;
        }
        let version = changes
            .iter()
            .map(|c| c.version)
            .max()
            .unwrap_or(self.version)
            .max(self.version);
        Snapshot {
            version,
            hashes,
            meta,
        }
    }
}

/// The index of one serving process: `None` until it is first built.
#[derive(Debug, Default)]
pub struct Lookup {
    current: RwLock<Option<Arc<Snapshot>>>,
}

impl Lookup {
    pub fn snapshot(&self) -> Option<Arc<Snapshot>> {
        self.current
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Reads every change after the current version and swaps in the snapshot they make; the
    /// number of changes applied.
    pub async fn refresh(&self, store: &Store) -> Result<usize, StoreError> {
        let mut snap = self.snapshot().unwrap_or_default();
        let mut applied = 0;
        loop {
            let changes = store.lookup_changes(snap.version, PAGE).await?;
            if changes.is_empty() {
                break;
            }
            applied += changes.len();
            let full = changes.len() as i64 == PAGE;
            snap = Arc::new(snap.apply(&changes));
            if !full {
                break;
            }
        }
        // Two refreshes may race (the worker's, a first lookup's): the newer version stays.
        let mut cur = self.current.write().unwrap_or_else(|e| e.into_inner());
        if cur.as_ref().is_none_or(|c| c.version < snap.version) {
            *cur = Some(snap);
        }
        Ok(applied)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::{Digest, Sha256};

    fn change(seed: &str, version: i64, served: bool) -> LookupChange {
        LookupChange {
            hash: hex::encode(Sha256::digest(seed.as_bytes())),
            version,
            served,
            tlp: Some(Tlp::Clear),
            expires_at: None,
            category: Some(Category::ScamCall),
        }
    }

    #[test]
    fn prefixes_are_four_to_eight_lower_case_hex_digits() {
        for bad in [
            "",
            "abc",
            "abcdefabc",
            "ABCD",
            "abcg",
            "ab d",
            "+abc",
            "-123",
        ] {
            assert!(Prefix::parse(bad).is_err(), "{bad:?}");
        }
        for good in ["0000", "abcde", "ffffffff", "1234567"] {
            assert!(Prefix::parse(good).is_ok(), "{good:?}");
        }
    }

    #[test]
    fn a_prefix_finds_exactly_the_hashes_that_start_with_it() {
        let changes: Vec<_> = (0..5000)
            .map(|i| change(&format!("i{i}"), i, true))
            .collect();
        let snap = Snapshot::default().apply(&changes);
        assert_eq!(snap.len(), 5000);
        for c in changes.iter().step_by(97) {
            for n in 4..=8 {
                let p = Prefix::parse(&c.hash[..n]).unwrap();
                let found = snap.with_prefix(p, 0);
                let expected = changes
                    .iter()
                    .filter(|x| x.hash.starts_with(&c.hash[..n]))
                    .count();
                assert_eq!(found.len(), expected, "{}", &c.hash[..n]);
                assert!(
                    found
                        .iter()
                        .all(|(h, _)| hex::encode(h).starts_with(&c.hash[..n]))
                );
            }
        }
        let none = Prefix::parse("00000000").unwrap();
        assert!(
            snap.with_prefix(none, 0)
                .iter()
                .all(|(h, _)| h[..4] == [0; 4])
        );
    }

    #[test]
    fn changes_replace_remove_and_the_latest_version_wins() {
        let a = change("a", 1, true);
        let b = change("b", 2, true);
        let snap = Snapshot::default().apply(&[a.clone(), b.clone()]);
        assert_eq!((snap.len(), snap.version), (2, 2));
        // b withdrawn, a re-confirmed with an expiry, c added; then c withdrawn again in the
        // same batch (its later version wins).
        let mut a2 = change("a", 3, true);
        a2.expires_at = Some(jiff::Timestamp::from_second(1000).unwrap());
        let next = snap.apply(&[
            change("b", 4, false),
            a2,
            change("c", 5, true),
            change("c", 6, false),
        ]);
        assert_eq!((next.len(), next.version), (1, 6));
        let mut ha = [0u8; 32];
        hex::decode_to_slice(&a.hash, &mut ha).unwrap();
        assert_eq!(next.get(&ha, 999).map(|m| m.expires), Some(1000));
        assert_eq!(next.get(&ha, 1000), None, "expired");
        // The old snapshot is untouched.
        assert_eq!(snap.len(), 2);
        // A removal of what was never served, and a bad hash, change nothing else.
        let mut bad = change("x", 7, true);
        bad.hash = "zz".into();
        let same = next.apply(&[change("never", 7, false), bad]);
        assert_eq!((same.len(), same.version), (1, 7));
    }
}
