//! Persistence for a hanoinet node: one [`Store`] over SQLite (the default) or PostgreSQL.
//!
//! Layout: [`Store`] opens and migrates either backend and exposes every operation the node
//! needs as one method; each state change, its history event and its outbox entry commit in one
//! transaction. `migrations/sqlite` and `migrations/postgres` hold the same numbered steps.
//!
//! **Architecture Invariant:** nothing here decides policy. The node validates and decides; the
//! store makes each decision atomic and durable, and its conditional updates make concurrent
//! replicas over one PostgreSQL database safe (no lost update, no double effect).
//!
//! **Architecture Invariant:** no state lives only in memory. Two processes over one PostgreSQL
//! database see the same users, requests and outbox; outbox rows are claimed with a lease
//! (`FOR UPDATE SKIP LOCKED` on PostgreSQL).

mod migrations;
pub mod testing;
#[macro_use]
mod records;

use std::str::FromStr;
use std::time::Duration;

use jiff::Timestamp;
use sqlx::Row;
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

use hanoinet_core::access::Role;
use hanoinet_core::request::{Direction, Status};
use hanoinet_core::time::to_micros;
use hanoinet_core::{EnvelopeId, NodeId, RequestId};

pub use data::*;
pub use ledger::*;
pub use records::*;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("unsupported database URL {0:?}: use sqlite://PATH or postgres://USER@HOST/DB")]
    UnsupportedUrl(String),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
}

/// The node's database.
#[derive(Debug, Clone)]
pub enum Store {
    /// SQLite: one writer connection (SQLite serializes writers anyway; one pooled writer avoids
    /// `SQLITE_BUSY` on lock upgrades) and a pool of readers over WAL.
    Sqlite {
        write: SqlitePool,
        read: SqlitePool,
    },
    Postgres(PgPool),
}

/// Runs `$body` once per backend with `$tx` bound to an open transaction, committing on success.
/// An early `return` or `?` drops the transaction, which rolls it back.
macro_rules! with_tx {
    ($store:expr, |$tx:ident| $body:block) => {
        match $store {
            Store::Sqlite { write, .. } => {
                let mut $tx = write.begin().await?;
                let out = $body;
                $tx.commit().await?;
                out
            }
            Store::Postgres(pool) => {
                let mut $tx = pool.begin().await?;
                let out = $body;
                $tx.commit().await?;
                out
            }
        }
    };
}

/// Runs `$body` once per backend with `$pool` bound to a pool for reading.
macro_rules! with_read {
    ($store:expr, |$pool:ident| $body:block) => {
        match $store {
            Store::Sqlite { read: $pool, .. } => $body,
            Store::Postgres($pool) => $body,
        }
    };
}

// After the macros, which they use.
mod clocks;
mod data;
mod ledger;

/// How a new envelope arriving at this node changes its state.
#[derive(Debug, Clone)]
pub enum InboundEffect {
    /// A peer sent a new request.
    CreateIncoming(Box<NewRequest>),
    /// The peer moved a request on (the requested side's moves, in its order).
    Transition(Box<Transition>),
    /// Messages about a request (received, and the answer sent), with the answer's envelope.
    Message(Vec<Message>, Option<Box<NewOutbox>>),
    /// Data given by the peer (Art. 36), with its attachments' metadata.
    Transfer(Box<DataTransfer>, Vec<Attachment>),
    /// One chunk of an attachment.
    Chunk {
        attachment_id: String,
        idx: i64,
        data: Vec<u8>,
    },
    /// The requested node extended a preservation (Art. 42): the new end, with its message.
    Extend {
        request_id: RequestId,
        until: Timestamp,
        message: Box<Message>,
    },
}

/// What happened to an inbound envelope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Received {
    /// First time seen: stored, effect applied; the receipt given was stored with it.
    New,
    /// Seen before: nothing changed; here is the receipt that was given then.
    Duplicate { receipt: String },
    /// The effect does not fit this node's state (e.g. a decision on a request it never sent);
    /// nothing was stored.
    Rejected { reason: String },
    /// Another sender's envelope was received under this id: idempotency is per (sender, id).
    IdTaken,
    /// The envelope would rewrite a request's history: steps at positions that already hold
    /// other steps. Nothing was stored.
    Conflict { reason: String },
}

/// Applies a [`Transition`] inside a transaction; evaluates to `Transitioned`.
macro_rules! apply_transition {
    ($tx:ident, $t:expr) => {{
        let t: &$crate::Transition = $t;
        let rid = t.request_id.to_string();
        let Some(last) = t.events.last() else {
            return Err(StoreError::Corrupt("a transition without events".into()));
        };
        let expect = t.expect_seq;
        let current =
            sqlx::query("SELECT status, seq FROM requests WHERE id = $1 AND direction = $2")
                .bind(&rid)
                .bind(t.direction.as_str())
                .fetch_optional(&mut *$tx)
                .await?;
        let current = match current {
            None => None,
            Some(row) => {
                let status: String = row.try_get("status")?;
                let seq: i64 = row.try_get("seq")?;
                Some((
                    Status::parse(&status)
                        .ok_or_else(|| StoreError::Corrupt(format!("status {status:?}")))?,
                    seq,
                ))
            }
        };
        match current {
            None => $crate::Transitioned::NotFound,
            Some((status, seq)) => {
                // The receipt's bookkeeping is behind the peer's next move: record delivery first.
                if let Some(at) = t.fill_delivered
                    && status == Status::Queued
                    && seq + 1 == expect
                {
                    let moved = sqlx::query(
                        "UPDATE requests SET status = $1, updated_at = $2, seq = $4 + 1
                         WHERE id = $3 AND seq = $4",
                    )
                    .bind(Status::Delivered.as_str())
                    .bind(to_micros(at))
                    .bind(&rid)
                    .bind(seq)
                    .execute(&mut *$tx)
                    .await?;
                    if moved.rows_affected() == 1 {
                        insert_event!(
                            $tx,
                            rid,
                            seq + 1,
                            &$crate::StatusEvent {
                                by: Some("system".into()),
                                ..$crate::StatusEvent::new(Status::Delivered, at)
                            }
                        );
                    }
                }
                let updated = sqlx::query(
                    "UPDATE requests SET status = $1, updated_at = $2,
                        decision = COALESCE($3, decision), decided_at = COALESCE($4, decided_at),
                        preserved_until = COALESCE($5, preserved_until), seq = $9
                     WHERE id = $6 AND direction = $7 AND seq = $8",
                )
                .bind(last.status.as_str())
                .bind(to_micros(last.at))
                .bind(t.decision.as_ref().map(|d| d.0.as_str()))
                .bind(t.decision.as_ref().map(|d| to_micros(d.1)))
                .bind(t.preserved_until.map(to_micros))
                .bind(&rid)
                .bind(t.direction.as_str())
                .bind(expect)
                .bind(expect + t.events.len() as i64)
                .execute(&mut *$tx)
                .await?;
                if updated.rows_affected() != 1 {
                    let row = sqlx::query("SELECT status, seq FROM requests WHERE id = $1")
                        .bind(&rid)
                        .fetch_one(&mut *$tx)
                        .await?;
                    let status: String = row.try_get("status")?;
                    $crate::Transitioned::Stale {
                        status: Status::parse(&status)
                            .ok_or_else(|| StoreError::Corrupt(format!("status {status:?}")))?,
                        seq: row.try_get("seq")?,
                    }
                } else {
                    insert_events!($tx, rid, expect + 1, &t.events);
                    for o in &t.outbox {
                        insert_outbox!($tx, o);
                    }
                    for m in &t.messages {
                        insert_message!($tx, m);
                    }
                    insert_ledger!($tx, t.ledger);
                    $crate::Transitioned::Recorded
                }
            }
        }
    }};
}

impl Store {
    /// Opens (creating if needed) and migrates the database at `url`.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        if url.starts_with("sqlite:") {
            Self::connect_sqlite(url).await
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let pool = PgPoolOptions::new()
                .max_connections(16)
                .acquire_timeout(Duration::from_secs(10))
                .connect(url)
                .await?;
            migrations::postgres().run(&pool).await?;
            Ok(Self::Postgres(pool))
        } else {
            Err(StoreError::UnsupportedUrl(url.to_owned()))
        }
    }

    async fn connect_sqlite(url: &str) -> Result<Self, StoreError> {
        let opts = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // WAL with NORMAL survives process crashes (SIGKILL) without losing a committed
            // transaction; FULL also survives power loss at the cost of one fsync per commit.
            .synchronous(if std::env::var_os("HANOINET_SQLITE_FULL_SYNC").is_some() {
                SqliteSynchronous::Full
            } else {
                SqliteSynchronous::Normal
            })
            .busy_timeout(Duration::from_secs(30))
            .foreign_keys(true)
            // Proofs read scattered pages of a large ledger: a bigger page cache and memory-mapped
            // reads keep them off the read() system call.
            .pragma("cache_size", "-65536")
            .pragma("mmap_size", "1073741824");
        let write = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(opts.clone())
            .await?;
        migrations::sqlite().run(&write).await?;
        let read = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(opts.read_only(true))
            .await?;
        Ok(Self::Sqlite { write, read })
    }

    /// The row-locking clause of a claim's inner `SELECT`: replicas over one PostgreSQL
    /// database skip rows another has locked; SQLite has a single writer.
    pub(crate) fn skip_locked(&self) -> &'static str {
        match self {
            Self::Sqlite { .. } => "",
            Self::Postgres(_) => "FOR UPDATE SKIP LOCKED",
        }
    }

    pub fn backend(&self) -> &'static str {
        match self {
            Self::Sqlite { .. } => "sqlite",
            Self::Postgres(_) => "postgres",
        }
    }

    pub async fn close(&self) {
        match self {
            Self::Sqlite { write, read } => {
                read.close().await;
                write.close().await;
            }
            Self::Postgres(pool) => pool.close().await,
        }
    }

    // ----- users -------------------------------------------------------------------------------

    /// Adds a user whose token (by its hash) is valid until `expires_at` (`None`: no expiry).
    /// `false` if the name is taken.
    pub async fn add_user(
        &self,
        user: &User,
        token_hash: &[u8; 32],
        now: Timestamp,
        expires_at: Option<Timestamp>,
        ledger: &[Vec<u8>],
    ) -> Result<bool, StoreError> {
        let out = with_tx!(self, |tx| {
            let done = sqlx::query(
                "INSERT INTO users (id, name, role, token_hash, created_at, token_expires_at)
                 VALUES ($1, $2, $3, $4, $5, $6)
                 ON CONFLICT (name) DO NOTHING",
            )
            .bind(&user.id)
            .bind(&user.name)
            .bind(user.role.as_str())
            .bind(&token_hash[..])
            .bind(to_micros(now))
            .bind(expires_at.map(to_micros))
            .execute(&mut *tx)
            .await?;
            if done.rows_affected() != 1 {
                return Ok(false);
            }
            insert_ledger!(tx, ledger);
            true
        });
        Ok(out)
    }

    /// The user called `name`, if any.
    pub async fn user_by_name(&self, name: &str) -> Result<Option<User>, StoreError> {
        with_read!(self, |pool| {
            let row = sqlx::query("SELECT id, name, role FROM users WHERE name = $1")
                .bind(name)
                .fetch_optional(pool)
                .await?;
            row.map(|r| user_row(&r)).transpose()
        })
    }

    /// The user holding the token with this hash, with its state (disabled, expiry, last use).
    pub async fn user_by_token_hash(
        &self,
        token_hash: &[u8; 32],
    ) -> Result<Option<UserAccount>, StoreError> {
        with_read!(self, |pool| {
            let row = sqlx::query(&format!(
                "SELECT {ACCOUNT_COLUMNS} FROM users WHERE token_hash = $1"
            ))
            .bind(&token_hash[..])
            .fetch_optional(pool)
            .await?;
            row.map(|r| account_row(&r)).transpose()
        })
    }

    /// Every user with its state, by name.
    pub async fn list_users(&self) -> Result<Vec<UserAccount>, StoreError> {
        with_read!(self, |pool| {
            let rows = sqlx::query(&format!(
                "SELECT {ACCOUNT_COLUMNS} FROM users ORDER BY name"
            ))
            .fetch_all(pool)
            .await?;
            rows.iter().map(account_row).collect()
        })
    }

    /// Records that user `id` used its token at `at`.
    pub async fn touch_user(&self, id: &str, at: Timestamp) -> Result<(), StoreError> {
        with_tx!(self, |tx| {
            sqlx::query("UPDATE users SET last_used_at = $1 WHERE id = $2")
                .bind(to_micros(at))
                .bind(id)
                .execute(&mut *tx)
                .await?;
        });
        Ok(())
    }

    /// Disables user `name` (its token stops working at once); `None` if there is no such
    /// enabled user.
    pub async fn disable_user(
        &self,
        name: &str,
        now: Timestamp,
        ledger: impl Fn(&User) -> Vec<u8>,
    ) -> Result<Option<User>, StoreError> {
        self.change_user(name, UserChange::Disable(now), ledger)
            .await
    }

    /// Gives enabled user `name` a new token (by its hash), valid until `expires_at`; the old one
    /// stops working. `None` if there is no such enabled user.
    pub async fn rotate_token(
        &self,
        name: &str,
        token_hash: &[u8; 32],
        expires_at: Option<Timestamp>,
        ledger: impl Fn(&User) -> Vec<u8>,
    ) -> Result<Option<User>, StoreError> {
        self.change_user(name, UserChange::Rotate(*token_hash, expires_at), ledger)
            .await
    }

    async fn change_user(
        &self,
        name: &str,
        change: UserChange,
        ledger: impl Fn(&User) -> Vec<u8>,
    ) -> Result<Option<User>, StoreError> {
        let (set, a, b) = match change {
            UserChange::Disable(now) => ("disabled_at = $1", Some(to_micros(now)), None),
            UserChange::Rotate(hash, expires) => (
                "token_hash = $2, token_expires_at = $1",
                expires.map(to_micros),
                Some(hash.to_vec()),
            ),
        };
        // Both statements take the same three binds (typed, so one that is unused is fine).
        let sql = format!(
            "UPDATE users SET {set} WHERE name = $3 AND disabled_at IS NULL RETURNING id, name, role"
        );
        let out = with_tx!(self, |tx| {
            let row = sqlx::query(&sql)
                .bind(a)
                .bind(b.clone())
                .bind(name)
                .fetch_optional(&mut *tx)
                .await?;
            let Some(row) = row else {
                return Ok(None);
            };
            let user = user_row(&row)?;
            let entries = [ledger(&user)];
            insert_ledger!(tx, &entries);
            Some(user)
        });
        Ok(out)
    }

    // ----- outgoing requests -------------------------------------------------------------------

    /// Stores new outgoing requests (status `queued`), each with its outbox envelope and ledger
    /// entry, in one transaction: callers group concurrent creations (group commit).
    pub async fn create_outgoing(&self, items: &[NewOutgoing]) -> Result<(), StoreError> {
        with_tx!(self, |tx| {
            for NewOutgoing {
                request: req,
                outbox,
                ledger,
            } in items
            {
                insert_request!(tx, req, None::<&str>);
                insert_events!(tx, req.id, 1, &req.history);
                if let Some(outbox) = outbox {
                    insert_outbox!(tx, outbox);
                }
                insert_ledger!(tx, std::slice::from_ref(ledger));
            }
        });
        Ok(())
    }

    /// Claims up to `limit` undelivered envelopes that are due, leasing them until `lease_until`
    /// so that no other worker (in this or another process) sends them meanwhile.
    pub async fn claim_outbox(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: i64,
    ) -> Result<Vec<OutboxItem>, StoreError> {
        let lock = self.skip_locked();
        let sql = format!(
            "UPDATE outbox SET claimed_until = $1
             WHERE envelope_id IN (
                SELECT envelope_id FROM outbox
                WHERE delivered_at IS NULL AND next_attempt_at <= $2 AND claimed_until <= $2
                ORDER BY next_attempt_at LIMIT $3 {lock})
             RETURNING envelope_id, peer, kind, request_id, envelope, attempts, created_at"
        );
        let out = with_tx!(self, |tx| {
            let rows = sqlx::query(&sql)
                .bind(to_micros(lease_until))
                .bind(to_micros(now))
                .bind(limit)
                .fetch_all(&mut *tx)
                .await?;
            rows.iter()
                .map(records::outbox_item)
                .collect::<Result<Vec<_>, _>>()?
        });
        Ok(out)
    }

    /// When the next undelivered envelope falls due (ignoring leases), if any.
    pub async fn next_outbox_due(&self) -> Result<Option<Timestamp>, StoreError> {
        with_read!(self, |pool| {
            let due: Option<i64> = sqlx::query_scalar(
                "SELECT MIN(next_attempt_at) FROM outbox WHERE delivered_at IS NULL",
            )
            .fetch_one(pool)
            .await?;
            Ok(due.and_then(hanoinet_core::time::from_micros))
        })
    }

    /// Records verified receipts, in one transaction: each envelope is delivered and, for a
    /// request envelope, the request moves from `queued` to `delivered`. Idempotent. The
    /// delivery worker groups the receipts that arrive together (group commit).
    pub async fn record_deliveries(
        &self,
        receipts: &[Delivery],
        now: Timestamp,
    ) -> Result<(), StoreError> {
        with_tx!(self, |tx| {
            for Delivery {
                envelope_id,
                delivered_at,
                receipt: receipt_json,
                ledger,
            } in receipts
            {
                let row = sqlx::query(
                    "UPDATE outbox SET delivered_at = $1, receipt = $2, claimed_until = 0, last_error = NULL
                     WHERE envelope_id = $3 AND delivered_at IS NULL
                     RETURNING request_id, kind",
                )
                .bind(to_micros(now))
                .bind(receipt_json)
                .bind(envelope_id.to_string())
                .fetch_optional(&mut *tx)
                .await?;
                let Some(row) = row else { continue };
                insert_ledger!(tx, std::slice::from_ref(ledger));
                let request_id: String = row.try_get("request_id")?;
                let kind: String = row.try_get("kind")?;
                if kind.ends_with("_request") {
                    let moved: Option<i64> = sqlx::query_scalar(
                        "UPDATE requests SET status = $1, updated_at = $2, receipt = COALESCE(receipt, $3), seq = seq + 1
                         WHERE id = $4 AND status = $5 RETURNING seq",
                    )
                    .bind(Status::Delivered.as_str())
                    .bind(to_micros(*delivered_at))
                    .bind(receipt_json)
                    .bind(&request_id)
                    .bind(Status::Queued.as_str())
                    .fetch_optional(&mut *tx)
                    .await?;
                    if let Some(seq) = moved {
                        // The peer's receipt time, so both nodes record the same moment.
                        insert_event!(
                            tx,
                            request_id,
                            seq,
                            &StatusEvent {
                                by: Some("system".into()),
                                ..StatusEvent::new(Status::Delivered, *delivered_at)
                            }
                        );
                    } else {
                        // The decision overtook the receipt; keep the receipt all the same.
                        sqlx::query(
                            "UPDATE requests SET receipt = $1 WHERE id = $2 AND receipt IS NULL",
                        )
                        .bind(receipt_json)
                        .bind(&request_id)
                        .execute(&mut *tx)
                        .await?;
                    }
                } else if kind == "status_update" {
                    sqlx::query("UPDATE requests SET response_receipt = $1 WHERE id = $2")
                        .bind(receipt_json)
                        .bind(&request_id)
                        .execute(&mut *tx)
                        .await?;
                }
            }
        });
        Ok(())
    }

    /// Schedules another attempt after a failed one and releases the lease.
    pub async fn reschedule(
        &self,
        envelope_id: EnvelopeId,
        next_attempt_at: Timestamp,
        error: &str,
    ) -> Result<(), StoreError> {
        with_tx!(self, |tx| {
            sqlx::query(
                "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = $1, claimed_until = 0, last_error = $2
                 WHERE envelope_id = $3 AND delivered_at IS NULL",
            )
            .bind(to_micros(next_attempt_at))
            .bind(error)
            .bind(envelope_id.to_string())
            .execute(&mut *tx)
            .await?;
        });
        Ok(())
    }

    /// Replaces an undelivered envelope's stored form (after re-signing with a fresh timestamp).
    pub async fn replace_outbox_envelope(
        &self,
        envelope_id: EnvelopeId,
        envelope_json: &str,
    ) -> Result<(), StoreError> {
        with_tx!(self, |tx| {
            sqlx::query(
                "UPDATE outbox SET envelope = $1 WHERE envelope_id = $2 AND delivered_at IS NULL",
            )
            .bind(envelope_json)
            .bind(envelope_id.to_string())
            .execute(&mut *tx)
            .await?;
        });
        Ok(())
    }

    // ----- inbound envelopes -------------------------------------------------------------------

    /// Stores an inbound envelope and applies its effect in one transaction, exactly once per
    /// envelope id. A repeated id changes nothing and returns the receipt given the first time.
    pub async fn receive(
        &self,
        inbox: &NewInbox,
        effect: &InboundEffect,
        ledger: &[Vec<u8>],
    ) -> Result<Received, StoreError> {
        let id = inbox.envelope_id.to_string();
        let out = with_tx!(self, |tx| {
            let inserted = sqlx::query(
                "INSERT INTO inbox (envelope_id, sender, kind, envelope, received_at, receipt, transfer_id)
                 VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (envelope_id) DO NOTHING",
            )
            .bind(&id)
            .bind(inbox.sender.as_str())
            .bind(&inbox.kind)
            .bind(&inbox.envelope)
            .bind(to_micros(inbox.received_at))
            .bind(&inbox.receipt)
            .bind(inbox.transfer_id.as_deref())
            .execute(&mut *tx)
            .await?;
            if inserted.rows_affected() == 0 {
                let row = sqlx::query("SELECT sender, receipt FROM inbox WHERE envelope_id = $1")
                    .bind(&id)
                    .fetch_one(&mut *tx)
                    .await?;
                let sender: String = row.try_get("sender")?;
                if sender != inbox.sender.as_str() {
                    return Ok(Received::IdTaken);
                }
                return Ok(Received::Duplicate {
                    receipt: row.try_get("receipt")?,
                });
            }
            let mut log = true;
            match effect {
                InboundEffect::CreateIncoming(req) => {
                    let inserted = insert_request!(tx, req, Some(inbox.receipt.as_str()));
                    if inserted == 0 {
                        return Ok(Received::Rejected {
                            reason: format!("request {} already exists", req.id),
                        });
                    }
                    insert_events!(tx, req.id, 1, &req.history);
                }
                InboundEffect::Transition(t) => match apply_transition!(tx, t) {
                    Transitioned::Recorded => {}
                    Transitioned::NotFound => {
                        return Ok(Received::Rejected {
                            reason: format!(
                                "no {} request {} on this node",
                                t.direction.as_str(),
                                t.request_id
                            ),
                        });
                    }
                    Transitioned::Stale { seq, .. } if t.replay_ok && seq > t.expect_seq => {
                        // Some of those positions are taken: steps other than the ones there
                        // would fork the history; the same steps again change nothing (and are
                        // not logged again).
                        let stored = sqlx::query(
                            "SELECT status, at, note, by_side, details FROM request_events
                             WHERE request_id = $1 AND seq > $2 AND seq <= $3 ORDER BY seq",
                        )
                        .bind(t.request_id.to_string())
                        .bind(t.expect_seq)
                        .bind(t.expect_seq + t.events.len() as i64)
                        .fetch_all(&mut *tx)
                        .await?
                        .iter()
                        .map(records::status_event)
                        .collect::<Result<Vec<_>, _>>()?;
                        if !stored.iter().zip(&t.events).all(|(a, b)| a.same_step(b)) {
                            return Ok(Received::Conflict {
                                reason: format!(
                                    "request {} already holds other steps after step {} here; a history is never rewritten",
                                    t.request_id, t.expect_seq
                                ),
                            });
                        }
                        if stored.len() < t.events.len() {
                            return Ok(Received::Rejected {
                                reason: format!(
                                    "request {} has {seq} steps here; an update repeats steps it holds and adds others",
                                    t.request_id
                                ),
                            });
                        }
                        log = false;
                    }
                    Transitioned::Stale { status, seq } => {
                        return Ok(Received::Rejected {
                            reason: format!(
                                "request {} is {} after {seq} steps here; this update follows step {}: earlier updates come first",
                                t.request_id,
                                status.as_str(),
                                t.expect_seq
                            ),
                        });
                    }
                },
                InboundEffect::Transfer(t, attachments) => {
                    insert_transfer!(tx, t.as_ref(), attachments);
                }
                InboundEffect::Chunk {
                    attachment_id,
                    idx,
                    data,
                } => {
                    // A chunk that arrives after its attachment was purged is not kept.
                    sqlx::query(
                        "INSERT INTO attachment_chunks (attachment_id, idx, data, received_at)
                         SELECT $1, $2, $3, $4 WHERE NOT EXISTS
                             (SELECT 1 FROM attachments WHERE id = $1 AND state = 'purged')
                         ON CONFLICT (attachment_id, idx) DO NOTHING",
                    )
                    .bind(attachment_id)
                    .bind(idx)
                    .bind(data)
                    .bind(to_micros(inbox.received_at))
                    .execute(&mut *tx)
                    .await?;
                }
                InboundEffect::Extend {
                    request_id,
                    until,
                    message,
                } => {
                    let extended = sqlx::query(
                        "UPDATE requests SET preserved_until = $1
                         WHERE id = $2 AND direction = $3 AND to_node = $4 AND preserved_until IS NOT NULL",
                    )
                    .bind(to_micros(*until))
                    .bind(request_id.to_string())
                    .bind(Direction::Outgoing.as_str())
                    .bind(inbox.sender.as_str())
                    .execute(&mut *tx)
                    .await?;
                    if extended.rows_affected() != 1 {
                        return Ok(Received::Rejected {
                            reason: format!(
                                "no preservation {request_id} sent to {} is in force here",
                                inbox.sender
                            ),
                        });
                    }
                    insert_message!(tx, message.as_ref());
                }
                InboundEffect::Message(ms, answer) => {
                    for m in ms {
                        let known: Option<String> =
                            sqlx::query_scalar("SELECT id FROM requests WHERE id = $1")
                                .bind(m.request_id.to_string())
                                .fetch_optional(&mut *tx)
                                .await?;
                        if known.is_none() {
                            return Ok(Received::Rejected {
                                reason: format!("no request {} on this node", m.request_id),
                            });
                        }
                        insert_message!(tx, m);
                    }
                    if let Some(o) = answer {
                        insert_outbox!(tx, o.as_ref());
                    }
                }
            }
            if log {
                insert_ledger!(tx, ledger);
            }
            Received::New
        });
        Ok(out)
    }

    /// The receipt given for an inbound envelope, if it was received before.
    pub async fn inbox_receipt(
        &self,
        envelope_id: EnvelopeId,
    ) -> Result<Option<String>, StoreError> {
        Ok(self.inbox_seen(envelope_id).await?.map(|(_, r)| r))
    }

    /// Who sent the inbound envelope `envelope_id`, and the receipt given, if it was received.
    pub async fn inbox_seen(
        &self,
        envelope_id: EnvelopeId,
    ) -> Result<Option<(String, String)>, StoreError> {
        with_read!(self, |pool| {
            let r = sqlx::query("SELECT sender, receipt FROM inbox WHERE envelope_id = $1")
                .bind(envelope_id.to_string())
                .fetch_optional(pool)
                .await?;
            r.map(|r| Ok((r.try_get("sender")?, r.try_get("receipt")?)))
                .transpose()
        })
    }

    /// Whether the rejection `error` of the envelope with `envelope_hash` signed by `signer` was
    /// logged already.
    pub async fn rejection_logged(
        &self,
        signer: &str,
        envelope_hash: &str,
        error: &str,
    ) -> Result<bool, StoreError> {
        with_read!(self, |pool| {
            let r: Option<i64> = sqlx::query_scalar(
                "SELECT at FROM rejections_logged WHERE signer = $1 AND envelope_hash = $2 AND error = $3",
            )
            .bind(signer)
            .bind(envelope_hash)
            .bind(error)
            .fetch_optional(pool)
            .await?;
            Ok(r.is_some())
        })
    }

    /// Records that the rejection `error` of the envelope with `envelope_hash` signed by `signer`
    /// is logged, with its ledger entry, unless it was logged before (`false`).
    pub async fn log_rejection_once(
        &self,
        signer: &str,
        envelope_hash: &str,
        error: &str,
        at: Timestamp,
        ledger: &[Vec<u8>],
    ) -> Result<bool, StoreError> {
        let out = with_tx!(self, |tx| {
            let done = sqlx::query(
                "INSERT INTO rejections_logged (signer, envelope_hash, error, at) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (signer, envelope_hash, error) DO NOTHING",
            )
            .bind(signer)
            .bind(envelope_hash)
            .bind(error)
            .bind(to_micros(at))
            .execute(&mut *tx)
            .await?;
            if done.rows_affected() != 1 {
                return Ok(false);
            }
            insert_ledger!(tx, ledger);
            true
        });
        Ok(out)
    }

    // ----- status changes ----------------------------------------------------------------------

    /// Records a status change with its outbox envelopes, messages and ledger entries, atomically,
    /// if the request's history is still `expect_seq` long.
    pub async fn transition(&self, t: &Transition) -> Result<Transitioned, StoreError> {
        let out = with_tx!(self, |tx| { apply_transition!(tx, t) });
        Ok(out)
    }

    /// The requested node extends a preservation in force to `until` (later than now), with the
    /// message that tells the requesting node; `false` if it is not in force or `until` is not
    /// later than its current end.
    pub async fn extend_preservation(
        &self,
        request_id: RequestId,
        until: Timestamp,
        message: &Message,
        outbox: &NewOutbox,
        ledger: &[Vec<u8>],
    ) -> Result<bool, StoreError> {
        let out = with_tx!(self, |tx| {
            let extended = sqlx::query(
                "UPDATE requests SET preserved_until = $1
                 WHERE id = $2 AND direction = $3 AND status IN ($4, $5, $6, $7) AND preserved_until < $1",
            )
            .bind(to_micros(until))
            .bind(request_id.to_string())
            .bind(Direction::Incoming.as_str())
            .bind(Status::Accepted.as_str())
            .bind(Status::AcceptedWithConditions.as_str())
            .bind(Status::PartiallyExecuted.as_str())
            .bind(Status::Executed.as_str())
            .execute(&mut *tx)
            .await?;
            if extended.rows_affected() != 1 {
                return Ok(false);
            }
            insert_message!(tx, message);
            insert_outbox!(tx, outbox);
            insert_ledger!(tx, ledger);
            true
        });
        Ok(out)
    }

    /// Records a message about a request (and queues its envelope, if any).
    pub async fn add_message(
        &self,
        m: &Message,
        outbox: Option<&NewOutbox>,
        ledger: &[Vec<u8>],
    ) -> Result<(), StoreError> {
        with_tx!(self, |tx| {
            insert_message!(tx, m);
            if let Some(o) = outbox {
                insert_outbox!(tx, o);
            }
            insert_ledger!(tx, ledger);
        });
        Ok(())
    }

    // ----- reading requests --------------------------------------------------------------------

    pub async fn get_request(&self, id: RequestId) -> Result<Option<RequestRecord>, StoreError> {
        let rid = id.to_string();
        with_read!(self, |pool| {
            let Some(row) = sqlx::query(&format!(
                "SELECT {} FROM requests WHERE id = $1",
                records::REQUEST_COLUMNS
            ))
            .bind(&rid)
            .fetch_optional(pool)
            .await?
            else {
                return Ok(None);
            };
            let mut rec = records::request_record(&row)?;
            let events = sqlx::query(
                "SELECT status, at, note, by_side, details FROM request_events WHERE request_id = $1 ORDER BY seq",
            )
            .bind(&rid)
            .fetch_all(pool)
            .await?;
            rec.history = events
                .iter()
                .map(records::status_event)
                .collect::<Result<_, _>>()?;
            let messages = sqlx::query(
                "SELECT id, request_id, direction, kind, body, at, in_reply_to FROM request_messages
                 WHERE request_id = $1 ORDER BY at, id",
            )
            .bind(&rid)
            .fetch_all(pool)
            .await?;
            rec.messages = messages
                .iter()
                .map(records::message)
                .collect::<Result<_, _>>()?;
            Ok(Some(rec))
        })
    }

    /// Requests in `order`, optionally of one direction, without their history.
    pub async fn list_requests(
        &self,
        direction: Option<Direction>,
        order: ListOrder,
        limit: i64,
    ) -> Result<Vec<RequestRecord>, StoreError> {
        let order_by = match order {
            ListOrder::Newest => "created_at DESC, id DESC",
            ListOrder::TimeLimit => {
                "CASE WHEN time_limit IS NULL THEN 1 ELSE 0 END, time_limit ASC, created_at DESC, id DESC"
            }
        };
        let sql = format!(
            "SELECT {} FROM requests WHERE ($1 = '' OR direction = $1) ORDER BY {order_by} LIMIT $2",
            records::REQUEST_COLUMNS
        );
        with_read!(self, |pool| {
            let rows = sqlx::query(&sql)
                .bind(direction.map_or("", Direction::as_str))
                .bind(limit)
                .fetch_all(pool)
                .await?;
            rows.iter().map(records::request_record).collect()
        })
    }

    /// Delivery figures of the outbox: (created_at, delivered_at) of every delivered envelope of
    /// `kind`. Used by the delivery benchmark.
    pub async fn delivery_times(&self, kind: &str) -> Result<Vec<(i64, i64)>, StoreError> {
        with_read!(self, |pool| {
            let rows = sqlx::query("SELECT created_at, delivered_at FROM outbox WHERE kind = $1 AND delivered_at IS NOT NULL")
                .bind(kind)
                .fetch_all(pool)
                .await?;
            rows.iter()
                .map(|r| Ok((r.try_get("created_at")?, r.try_get("delivered_at")?)))
                .collect()
        })
    }

    /// Counts of outbox envelopes: (undelivered, delivered).
    pub async fn outbox_counts(&self) -> Result<(i64, i64), StoreError> {
        with_read!(self, |pool| {
            let row = sqlx::query(
                "SELECT COALESCE(SUM(CASE WHEN delivered_at IS NULL THEN 1 ELSE 0 END), 0) AS pending,
                        COALESCE(SUM(CASE WHEN delivered_at IS NULL THEN 0 ELSE 1 END), 0) AS delivered
                 FROM outbox",
            )
            .fetch_one(pool)
            .await?;
            Ok((row.try_get("pending")?, row.try_get("delivered")?))
        })
    }

    /// Counts inbox rows and incoming requests: (inbox envelopes, incoming requests).
    pub async fn inbox_counts(&self) -> Result<(i64, i64), StoreError> {
        with_read!(self, |pool| {
            let inbox: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM inbox")
                .fetch_one(pool)
                .await?;
            let incoming: i64 =
                sqlx::query_scalar("SELECT COUNT(*) FROM requests WHERE direction = 'incoming'")
                    .fetch_one(pool)
                    .await?;
            Ok((inbox, incoming))
        })
    }
}

/// The node id of a stored request's peer, parsed.
/// What `change_user` does to a user.
enum UserChange {
    Disable(Timestamp),
    Rotate([u8; 32], Option<Timestamp>),
}

const ACCOUNT_COLUMNS: &str =
    "id, name, role, created_at, disabled_at, token_expires_at, last_used_at";

fn account_row<R>(r: &R) -> Result<UserAccount, StoreError>
where
    R: sqlx::Row,
    for<'a> &'a str: sqlx::ColumnIndex<R>,
    for<'a> String: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> i64: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> Option<i64>: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
{
    let at = |c: &str| -> Result<Option<Timestamp>, StoreError> {
        r.try_get::<Option<i64>, _>(c)?.map(records::ts).transpose()
    };
    Ok(UserAccount {
        user: user_row(r)?,
        created_at: records::ts(r.try_get("created_at")?)?,
        disabled_at: at("disabled_at")?,
        token_expires_at: at("token_expires_at")?,
        last_used_at: at("last_used_at")?,
    })
}

fn user_row<R>(r: &R) -> Result<User, StoreError>
where
    R: sqlx::Row,
    for<'a> &'a str: sqlx::ColumnIndex<R>,
    for<'a> String: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
{
    let role: String = r.try_get("role")?;
    Ok(User {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        role: Role::parse(&role).ok_or_else(|| StoreError::Corrupt(format!("role {role:?}")))?,
    })
}

pub fn parse_node(s: &str) -> Result<NodeId, StoreError> {
    s.parse().map_err(|e| StoreError::Corrupt(format!("{e}")))
}
