//! The log's tables: the queue events append to, the integrated entries and subtree hashes, the
//! heads this node signed, the heads seen from peers, and alerts.

use std::collections::HashMap;

use jiff::Timestamp;
use sqlx::Row;

use hanoinet_core::time::to_micros;
use hanoinet_ledger::tree::{Frontier, Hash, NodeKey, leaf_hash};

use crate::{Store, StoreError};

/// Bound values per statement. Measured: the SQLite driver slows down sharply past a few hundred
/// (60,000 entries/s batched at 400, 34,000 at 2,000, 3,500 at 30,000).
pub(crate) const MAX_VARS: usize = 400;
/// Rows per two-column multi-row statement.
const CHUNK: usize = MAX_VARS / 2;

/// What one integration did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Integrated {
    pub from: u64,
    pub to: u64,
}

/// A peer's signed tree head as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerHead {
    pub peer: String,
    pub tree_size: u64,
    pub root_hash: Hash,
    /// The signed head, JSON.
    pub head: String,
    pub checked: bool,
}

hanoinet_core::names! {
    /// What an alert is about.
    pub enum AlertKind {
        /// An incoming request was not acknowledged in time (Art. 41).
        AckDeadlineMissed => "ack_deadline_missed",
        /// A preservation's end is near (Art. 42(7)).
        PreservationExpiring => "preservation_expiring",
        /// Received attachment bytes do not match the size and SHA-256 their sender stated.
        AttachmentCorrupt => "attachment_corrupt",
        /// A peer signed two tree heads that are not consistent with each other.
        LedgerInconsistent => "ledger_inconsistent",
        /// Deliveries to a peer have failed for longer than the policy allows.
        PeerUnreachable => "peer_unreachable",
        /// A peer reported unreachable answers again.
        PeerRecovered => "peer_recovered",
    }
}

/// An alert for people to act on.
#[derive(Debug, Clone, PartialEq)]
pub struct Alert {
    pub id: String,
    pub kind: AlertKind,
    pub subject: String,
    pub message: String,
    pub evidence: serde_json::Value,
    pub created_at: Timestamp,
}

fn hash(v: Vec<u8>) -> Result<Hash, StoreError> {
    v.try_into()
        .map_err(|_| StoreError::Corrupt("ledger hash is not 32 bytes".into()))
}

fn size(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

fn placeholders(from: usize, n: usize, per_row: usize) -> String {
    (0..n)
        .map(|r| {
            let cols: Vec<String> = (0..per_row)
                .map(|c| format!("${}", from + r * per_row + c))
                .collect();
            format!("({})", cols.join(", "))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Inserts integrated entries `(index, bytes)` and subtree hashes `(id, hash)` inside a
/// transaction, in multi-row statements.
macro_rules! insert_tree_rows {
    ($tx:ident, $entries:expr, $nodes:expr) => {{
        let entries: Vec<(i64, &[u8])> = $entries.collect();
        for chunk in entries.chunks(CHUNK) {
            let sql = format!(
                "INSERT INTO ledger_entries (idx, entry) VALUES {}",
                placeholders(1, chunk.len(), 2)
            );
            let mut q = sqlx::query(&sql);
            for (i, e) in chunk {
                q = q.bind(*i).bind(*e);
            }
            q.execute(&mut *$tx).await?;
        }
        let nodes: &[(i64, Hash)] = $nodes;
        for chunk in nodes.chunks(CHUNK) {
            let sql = format!(
                "INSERT INTO ledger_nodes (id, hash) VALUES {}",
                placeholders(1, chunk.len(), 2)
            );
            let mut q = sqlx::query(&sql);
            for (id, h) in chunk {
                q = q.bind(*id).bind(&h[..]);
            }
            q.execute(&mut *$tx).await?;
        }
    }};
}

/// The `(subject, index)` of the entries about a request.
fn request_subjects(entries: &[(i64, Vec<u8>)]) -> Vec<(String, i64)> {
    entries
        .iter()
        .filter_map(|(i, e)| {
            let subject = hanoinet_ledger::Entry::decode(e).ok()?.subject;
            subject.starts_with("request:").then_some((subject, *i))
        })
        .collect()
}

macro_rules! insert_subjects {
    ($tx:ident, $rows:expr) => {{
        let rows: &[(String, i64)] = $rows;
        for chunk in rows.chunks(CHUNK) {
            let sql = format!(
                "INSERT INTO ledger_subjects (subject, idx) VALUES {} ON CONFLICT DO NOTHING",
                placeholders(1, chunk.len(), 2)
            );
            let mut q = sqlx::query(&sql);
            for (s, i) in chunk {
                q = q.bind(s).bind(*i);
            }
            q.execute(&mut *$tx).await?;
        }
    }};
}

impl Store {
    /// Indexes, by request, the entries integrated before the subject index existed (a step of
    /// start-up; nothing to do on a log that had the index from its first entry).
    pub async fn backfill_ledger_subjects(&self) -> Result<(), StoreError> {
        const PAGE: i64 = 5_000;
        loop {
            with_tx!(self, |tx| {
                let r = sqlx::query(
                    "SELECT subjects_from, subjects_backfilled FROM ledger_state WHERE id = 1",
                )
                .fetch_one(&mut *tx)
                .await?;
                let (from, at): (i64, i64) = (
                    r.try_get("subjects_from")?,
                    r.try_get("subjects_backfilled")?,
                );
                if at >= from {
                    // Done (nothing written: leaving without the commit is the rollback).
                    return Ok(());
                }
                let end = (at + PAGE).min(from);
                let rows = sqlx::query(
                    "SELECT idx, entry FROM ledger_entries WHERE idx >= $1 AND idx < $2 ORDER BY idx",
                )
                .bind(at)
                .bind(end)
                .fetch_all(&mut *tx)
                .await?;
                let entries = rows
                    .iter()
                    .map(|r| {
                        Ok((
                            r.try_get::<i64, _>("idx")?,
                            r.try_get::<Vec<u8>, _>("entry")?,
                        ))
                    })
                    .collect::<Result<Vec<_>, sqlx::Error>>()?;
                let subjects = request_subjects(&entries);
                insert_subjects!(tx, &subjects);
                sqlx::query("UPDATE ledger_state SET subjects_backfilled = $1 WHERE id = 1")
                    .bind(end)
                    .execute(&mut *tx)
                    .await?;
            });
        }
    }

    /// The integrated entries about `subject` (`request:<id>`), in log order.
    pub async fn ledger_entries_about(
        &self,
        subject: &str,
    ) -> Result<Vec<(u64, Vec<u8>)>, StoreError> {
        with_read!(self, |pool| {
            let rows = sqlx::query(
                "SELECT e.idx, e.entry FROM ledger_subjects s
                 JOIN ledger_entries e ON e.idx = s.idx
                 WHERE s.subject = $1 ORDER BY e.idx",
            )
            .bind(subject)
            .fetch_all(pool)
            .await?;
            rows.iter()
                .map(|r| Ok((size(r.try_get("idx")?), r.try_get("entry")?)))
                .collect()
        })
    }

    /// Appends entries on their own (events that change nothing else: a request opened, an
    /// envelope rejected, a node started).
    pub async fn append_ledger(&self, entries: &[Vec<u8>]) -> Result<(), StoreError> {
        with_tx!(self, |tx| {
            insert_ledger!(tx, entries);
        });
        Ok(())
    }

    /// Moves up to `max` queued entries into the tree, in one transaction. Concurrent integrators
    /// (replicas over one PostgreSQL database) serialize on the state row.
    pub async fn integrate(&self, max: i64) -> Result<Integrated, StoreError> {
        let lock = match self {
            Self::Sqlite { .. } => "",
            Self::Postgres(_) => "FOR UPDATE",
        };
        let out = with_tx!(self, |tx| {
            let current: i64 = sqlx::query_scalar(&format!(
                "SELECT size FROM ledger_state WHERE id = 1 {lock}"
            ))
            .fetch_one(&mut *tx)
            .await?;
            let current = size(current);
            let queued = sqlx::query("SELECT seq, entry FROM ledger_queue ORDER BY seq LIMIT $1")
                .bind(max)
                .fetch_all(&mut *tx)
                .await?;
            if queued.is_empty() {
                return Ok(Integrated {
                    from: current,
                    to: current,
                });
            }
            let keys = Frontier::keys(current);
            let mut stored = HashMap::new();
            if !keys.is_empty() {
                let list = (1..=keys.len())
                    .map(|i| format!("${i}"))
                    .collect::<Vec<_>>()
                    .join(", ");
                let sql = format!("SELECT id, hash FROM ledger_nodes WHERE id IN ({list})");
                let mut q = sqlx::query(&sql);
                for k in &keys {
                    q = q.bind(k.to_i64());
                }
                for r in q.fetch_all(&mut *tx).await? {
                    stored.insert(
                        NodeKey::from_i64(r.try_get("id")?),
                        hash(r.try_get("hash")?)?,
                    );
                }
            }
            let mut frontier = Frontier::load(current, &stored)
                .map_err(|e| StoreError::Corrupt(format!("ledger frontier: {e}")))?;
            let mut seqs = Vec::with_capacity(queued.len());
            let mut entries: Vec<(i64, Vec<u8>)> = Vec::with_capacity(queued.len());
            let mut nodes: Vec<(i64, Hash)> = Vec::with_capacity(queued.len() * 2);
            for r in &queued {
                seqs.push(r.try_get::<i64, _>("seq")?);
                let entry: Vec<u8> = r.try_get("entry")?;
                let index = frontier.size() as i64;
                nodes.extend(
                    frontier
                        .push(leaf_hash(&entry))
                        .into_iter()
                        .map(|(k, h)| (k.to_i64(), h)),
                );
                entries.push((index, entry));
            }
            insert_tree_rows!(tx, entries.iter().map(|(i, e)| (*i, e.as_slice())), &nodes);
            let subjects = request_subjects(&entries);
            insert_subjects!(tx, &subjects);
            for chunk in seqs.chunks(MAX_VARS) {
                let list = (1..=chunk.len())
                    .map(|i| format!("${i}"))
                    .collect::<Vec<_>>()
                    .join(", ");
                let sql = format!("DELETE FROM ledger_queue WHERE seq IN ({list})");
                let mut q = sqlx::query(&sql);
                for s in chunk {
                    q = q.bind(*s);
                }
                q.execute(&mut *tx).await?;
            }
            let to = frontier.size();
            sqlx::query("UPDATE ledger_state SET size = $1 WHERE id = 1")
                .bind(to as i64)
                .execute(&mut *tx)
                .await?;
            Integrated { from: current, to }
        });
        Ok(out)
    }

    /// Replaces the whole log with `entries`, recomputing every hash, in one transaction that
    /// holds the integration lock. This is the tampering a careful attacker with database access
    /// would do; it exists for tests of the detection, never for production use.
    #[doc(hidden)]
    #[cfg(feature = "test-support")]
    pub async fn rewrite_ledger_for_tests(&self, entries: &[Vec<u8>]) -> Result<(), StoreError> {
        let lock = match self {
            Self::Sqlite { .. } => "",
            Self::Postgres(_) => "FOR UPDATE",
        };
        let mut frontier = Frontier::default();
        let mut nodes: Vec<(i64, Hash)> = Vec::new();
        for e in entries {
            nodes.extend(
                frontier
                    .push(leaf_hash(e))
                    .into_iter()
                    .map(|(k, h)| (k.to_i64(), h)),
            );
        }
        with_tx!(self, |tx| {
            sqlx::query(&format!(
                "SELECT size FROM ledger_state WHERE id = 1 {lock}"
            ))
            .fetch_one(&mut *tx)
            .await?;
            for sql in [
                "DELETE FROM ledger_entries",
                "DELETE FROM ledger_nodes",
                "DELETE FROM ledger_queue",
            ] {
                sqlx::query(sql).execute(&mut *tx).await?;
            }
            insert_tree_rows!(
                tx,
                entries
                    .iter()
                    .enumerate()
                    .map(|(i, e)| (i as i64, e.as_slice())),
                &nodes
            );
            sqlx::query("UPDATE ledger_state SET size = $1 WHERE id = 1")
                .bind(entries.len() as i64)
                .execute(&mut *tx)
                .await?;
        });
        Ok(())
    }

    /// Entries waiting to be integrated.
    pub async fn ledger_queued(&self) -> Result<i64, StoreError> {
        with_read!(self, |pool| {
            Ok(sqlx::query_scalar("SELECT COUNT(*) FROM ledger_queue")
                .fetch_one(pool)
                .await?)
        })
    }

    /// The number of integrated entries.
    pub async fn ledger_size(&self) -> Result<u64, StoreError> {
        with_read!(self, |pool| {
            let n: i64 = sqlx::query_scalar("SELECT size FROM ledger_state WHERE id = 1")
                .fetch_one(pool)
                .await?;
            Ok(size(n))
        })
    }

    /// The stored subtree hashes for `keys` (one query).
    pub async fn ledger_nodes(
        &self,
        keys: &[NodeKey],
    ) -> Result<HashMap<NodeKey, Hash>, StoreError> {
        let mut out = HashMap::with_capacity(keys.len());
        for chunk in keys.chunks(CHUNK) {
            let list = (1..=chunk.len())
                .map(|i| format!("${i}"))
                .collect::<Vec<_>>()
                .join(", ");
            let sql = format!("SELECT id, hash FROM ledger_nodes WHERE id IN ({list})");
            with_read!(self, |pool| {
                let mut q = sqlx::query(&sql);
                for k in chunk {
                    q = q.bind(k.to_i64());
                }
                for r in q.fetch_all(pool).await? {
                    out.insert(
                        NodeKey::from_i64(r.try_get("id")?),
                        hash(r.try_get("hash")?)?,
                    );
                }
            });
        }
        Ok(out)
    }

    /// Integrated entries with index in `[start, end)`, in order.
    pub async fn ledger_entries(
        &self,
        start: u64,
        end: u64,
    ) -> Result<Vec<(u64, Vec<u8>)>, StoreError> {
        with_read!(self, |pool| {
            let rows = sqlx::query(
                "SELECT idx, entry FROM ledger_entries WHERE idx >= $1 AND idx < $2 ORDER BY idx",
            )
            .bind(start as i64)
            .bind(end as i64)
            .fetch_all(pool)
            .await?;
            rows.iter()
                .map(|r| Ok((size(r.try_get("idx")?), r.try_get("entry")?)))
                .collect()
        })
    }

    /// Stores a head this node signed.
    pub async fn store_head(
        &self,
        tree_size: u64,
        head_json: &str,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        with_tx!(self, |tx| {
            sqlx::query(
                "INSERT INTO ledger_heads (tree_size, head, created_at) VALUES ($1, $2, $3)
                 ON CONFLICT (tree_size) DO UPDATE SET head = excluded.head, created_at = excluded.created_at",
            )
            .bind(tree_size as i64)
            .bind(head_json)
            .bind(to_micros(now))
            .execute(&mut *tx)
            .await?;
        });
        Ok(())
    }

    /// The most recent head this node signed (largest tree).
    pub async fn latest_head(&self) -> Result<Option<String>, StoreError> {
        with_read!(self, |pool| {
            Ok(
                sqlx::query_scalar("SELECT head FROM ledger_heads ORDER BY tree_size DESC LIMIT 1")
                    .fetch_optional(pool)
                    .await?,
            )
        })
    }

    /// Records a head seen from a peer (once per distinct size and root).
    pub async fn record_peer_head(&self, h: &PeerHead, now: Timestamp) -> Result<(), StoreError> {
        with_tx!(self, |tx| {
            sqlx::query(
                "INSERT INTO peer_heads (peer, tree_size, root_hash, head, received_at, checked)
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (peer, tree_size, root_hash) DO NOTHING",
            )
            .bind(&h.peer)
            .bind(h.tree_size as i64)
            .bind(&h.root_hash[..])
            .bind(&h.head)
            .bind(to_micros(now))
            .bind(i64::from(h.checked))
            .execute(&mut *tx)
            .await?;
        });
        Ok(())
    }

    /// Heads seen from peers: every unchecked one, and the largest checked one per peer.
    pub async fn peer_heads(&self) -> Result<Vec<PeerHead>, StoreError> {
        with_read!(self, |pool| {
            let rows = sqlx::query(
                "SELECT peer, tree_size, root_hash, head, checked FROM peer_heads p
                 WHERE checked = 0 OR tree_size = (SELECT MAX(tree_size) FROM peer_heads q WHERE q.peer = p.peer AND q.checked = 1)
                 ORDER BY peer, tree_size",
            )
            .fetch_all(pool)
            .await?;
            rows.iter()
                .map(|r| {
                    Ok(PeerHead {
                        peer: r.try_get("peer")?,
                        tree_size: size(r.try_get("tree_size")?),
                        root_hash: hash(r.try_get("root_hash")?)?,
                        head: r.try_get("head")?,
                        checked: r.try_get::<i64, _>("checked")? != 0,
                    })
                })
                .collect()
        })
    }

    /// Marks a peer head as checked (1) or as the evidence of an inconsistency (2).
    pub async fn mark_peer_head(&self, h: &PeerHead, state: i64) -> Result<(), StoreError> {
        with_tx!(self, |tx| {
            sqlx::query("UPDATE peer_heads SET checked = $1 WHERE peer = $2 AND tree_size = $3 AND root_hash = $4")
                .bind(state)
                .bind(&h.peer)
                .bind(h.tree_size as i64)
                .bind(&h.root_hash[..])
                .execute(&mut *tx)
                .await?;
        });
        Ok(())
    }

    /// Raises an alert and logs it, atomically.
    pub async fn raise_alert(&self, alert: &Alert, ledger: &[Vec<u8>]) -> Result<(), StoreError> {
        with_tx!(self, |tx| {
            insert_alert!(tx, alert);
            insert_ledger!(tx, ledger);
        });
        Ok(())
    }

    pub async fn alerts(&self, limit: i64) -> Result<Vec<Alert>, StoreError> {
        with_read!(self, |pool| {
            let rows = sqlx::query("SELECT id, kind, subject, message, evidence, created_at FROM alerts ORDER BY created_at DESC LIMIT $1")
                .bind(limit)
                .fetch_all(pool)
                .await?;
            rows.iter()
                .map(|r| {
                    let evidence: String = r.try_get("evidence")?;
                    Ok(Alert {
                        id: r.try_get("id")?,
                        kind: crate::records::parsed(
                            &r.try_get::<String, _>("kind")?,
                            "alert kind",
                            AlertKind::parse,
                        )?,
                        subject: r.try_get("subject")?,
                        message: r.try_get("message")?,
                        evidence: serde_json::from_str(&evidence)
                            .map_err(|e| StoreError::Corrupt(e.to_string()))?,
                        created_at: hanoinet_core::time::from_micros(r.try_get("created_at")?)
                            .ok_or_else(|| StoreError::Corrupt("alert time".into()))?,
                    })
                })
                .collect()
        })
    }
}
