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

mod lock;
mod migrations;
#[cfg(feature = "test-support")]
pub mod tamper;
pub mod testing;
#[macro_use]
mod records;

use std::str::FromStr;
use std::time::Duration;

use jiff::Timestamp;
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

use hanoinet_core::{NodeId, RequestId};

pub use centre::{ReportFact, ReportFile, Warning};
pub use console::{ConsoleCredentials, ConsoleSession, NewConsoleSession};
pub use data::*;
pub use idempotency::{IdempotencyRef, Reservation};
pub use ledger::*;
pub use lists::{PageCursor, RequestFilter};
pub use lock::ServeLock;
pub use lookup::LookupChange;
pub use records::*;
pub use reports::{
    IndicatorDecision, IndicatorFilter, IndicatorLoss, NewReport, Report, ReportFilter, ReportNote,
    StoredIndicator,
};
pub use trust::{Gauges, InstalledRegistry, PeerOutage, RegistryInstall};
pub use uploads::Upload;

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
    #[error("{0}")]
    Io(String),
    #[error("{0}")]
    Locked(String),
}

impl StoreError {
    /// A row would have repeated a unique key (a code already taken, say).
    pub fn is_unique_violation(&self) -> bool {
        match self {
            Self::Database(sqlx::Error::Database(e)) => e.is_unique_violation(),
            _ => false,
        }
    }

    /// The database server could not be reached (down, wrong address, timed out), as opposed
    /// to a database that answered with an error.
    pub fn is_unreachable(&self) -> bool {
        matches!(
            self,
            Self::Database(sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut | sqlx::Error::Tls(_))
        )
    }
}

/// A table worked as a queue by [`Store::claim_sql`].
#[derive(Debug)]
pub(crate) struct Queue {
    pub table: &'static str,
    pub key: &'static str,
    /// The column set once a row is done with.
    pub done: &'static str,
    /// The columns a claim returns.
    pub returning: &'static str,
    /// The order rows are claimed in.
    pub order: &'static str,
    /// More conditions on the rows claimed (`AND …`), or empty.
    pub filter: &'static str,
}

/// The node's database.
#[derive(Debug, Clone)]
pub enum Store {
    /// SQLite: one writer connection (SQLite serializes writers anyway; one pooled writer avoids
    /// `SQLITE_BUSY` on lock upgrades), a pool of readers over WAL, and a small pool for bulk
    /// reads (evidence chunks, backups) that reads through a small page cache and no memory
    /// map, so that gigabytes read once do not stay resident.
    Sqlite {
        write: SqlitePool,
        read: SqlitePool,
        bulk: SqlitePool,
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

/// Like `with_read!`, for reads of bulk bytes read once (see [`Store::Sqlite`]).
macro_rules! with_bulk_read {
    ($store:expr, |$pool:ident| $body:block) => {
        match $store {
            Store::Sqlite { bulk: $pool, .. } => $body,
            Store::Postgres($pool) => $body,
        }
    };
}

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
                                by: Some(hanoinet_core::lifecycle::Side::System),
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

/// Takes the lookup's next version inside a transaction (see migration 0015): the counter's row
/// stays locked until the transaction ends, so versions follow commit order.
macro_rules! bump_lookup {
    ($tx:ident) => {{
        let v: i64 = sqlx::query_scalar(
            "UPDATE lookup_counter SET version = version + 1 WHERE id = 1 RETURNING version",
        )
        .fetch_one(&mut *$tx)
        .await?;
        v
    }};
}

// After the macros, which they use.
mod centre;
mod clocks;
mod console;
mod data;
mod idempotency;
mod inbox;
mod ledger;
mod lists;
mod lookup;
mod outbox;
mod reports;
mod requests;
mod trust;
mod uploads;
mod users;

/// How SQLite commits: `Full` syncs the write-ahead log on every commit, so a committed
/// transaction (and the receipt given for it) survives a power loss; `Normal` survives a
/// process crash (SIGKILL) but may lose the last commits on power loss. PostgreSQL follows its
/// own `synchronous_commit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    #[default]
    Full,
    Normal,
}

impl Durability {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "full" => Some(Self::Full),
            "normal" => Some(Self::Normal),
            _ => None,
        }
    }
}

impl Store {
    /// Opens (creating if needed) and migrates the database at `url`, with
    /// [`Durability::Full`].
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        Self::connect_with(url, Durability::Full).await
    }

    /// Opens (creating if needed) and migrates the database at `url`. A new SQLite file is
    /// created readable by its owner only (0600; SQLite gives its `-wal` and `-shm` files the
    /// same mode).
    pub async fn connect_with(url: &str, durability: Durability) -> Result<Self, StoreError> {
        if url.starts_with("sqlite:") {
            Self::connect_sqlite(url, durability).await
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            // One connection first: a server that is down fails now, not after the pool's
            // acquire timeout.
            let opts = sqlx::postgres::PgConnectOptions::from_str(url)?;
            let first = tokio::time::timeout(
                Duration::from_secs(5),
                <sqlx::PgConnection as sqlx::Connection>::connect_with(&opts),
            )
            .await
            .map_err(|_| sqlx::Error::PoolTimedOut)??;
            <sqlx::PgConnection as sqlx::Connection>::close(first).await?;
            let pool = PgPoolOptions::new()
                .max_connections(16)
                .acquire_timeout(Duration::from_secs(10))
                .connect(url)
                .await?;
            migrations::postgres().run(&pool).await?;
            let store = Self::Postgres(pool);
            store.backfill_ledger_subjects().await?;
            Ok(store)
        } else {
            Err(StoreError::UnsupportedUrl(url.to_owned()))
        }
    }

    async fn connect_sqlite(url: &str, durability: Durability) -> Result<Self, StoreError> {
        let opts = SqliteConnectOptions::from_str(url)?;
        create_private(opts.get_filename())?;
        let opts = opts
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(match durability {
                Durability::Full => SqliteSynchronous::Full,
                Durability::Normal => SqliteSynchronous::Normal,
            })
            .busy_timeout(Duration::from_secs(30))
            .foreign_keys(true);
        // The writer reads through its own page cache, not a memory map: it walks the overflow
        // pages of every large value it frees (a sealed chunk reduced once delivered), and with
        // a map each of those pages would stay resident.
        let write = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(
                opts.clone()
                    .pragma("cache_size", "-16384")
                    .pragma("mmap_size", "0"),
            )
            .await?;
        // Proofs read scattered pages of a large ledger: a bigger page cache and memory-mapped
        // reads keep them off the read() system call.
        let opts = opts
            .pragma("cache_size", "-65536")
            .pragma("mmap_size", "1073741824");
        migrations::sqlite().run(&write).await?;
        let read = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(opts.clone().read_only(true))
            .await?;
        let bulk = SqlitePoolOptions::new()
            .max_connections(2)
            .connect_with(
                opts.read_only(true)
                    .pragma("cache_size", "-2048")
                    .pragma("mmap_size", "0"),
            )
            .await?;
        let store = Self::Sqlite { write, read, bulk };
        store.backfill_ledger_subjects().await?;
        Ok(store)
    }

    /// One round trip to the database (readiness).
    pub async fn ping(&self) -> Result<(), StoreError> {
        with_read!(self, |pool| {
            sqlx::query_scalar::<_, i64>("SELECT 1")
                .fetch_one(pool)
                .await?;
            Ok(())
        })
    }

    /// The SQLite file, if this is SQLite.
    pub fn sqlite_path(&self) -> Option<std::path::PathBuf> {
        match self {
            Self::Sqlite { write, .. } => {
                Some(write.connect_options().get_filename().to_path_buf())
            }
            Self::Postgres(_) => None,
        }
    }

    /// The one leased-claim query, for every table worked as a queue (the outbox, the
    /// notifications): takes up to `$3` rows that are due (`next_attempt_at <= $2`), not done
    /// and not leased, and leases them until `$1` to `$4` (the claiming process), so that no other worker (in this process or
    /// another, on the same database) takes them meanwhile. On PostgreSQL concurrent claimers
    /// skip each other's rows; SQLite has one writer.
    pub(crate) fn claim_sql(&self, q: &Queue) -> String {
        let Queue {
            table,
            key,
            done,
            returning,
            order,
            filter,
        } = q;
        let lock = self.skip_locked();
        format!(
            "UPDATE {table} SET claimed_until = $1, claimed_by = $4
             WHERE {key} IN (
                SELECT {key} FROM {table}
                WHERE {done} IS NULL AND next_attempt_at <= $2 AND claimed_until <= $2 {filter}
                ORDER BY {order} LIMIT $3 {lock})
             RETURNING {returning}"
        )
    }

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
            Self::Sqlite { write, read, bulk } => {
                bulk.close().await;
                read.close().await;
                write.close().await;
            }
            Self::Postgres(pool) => pool.close().await,
        }
    }

    // ----- users -------------------------------------------------------------------------------

    // ----- outgoing requests -------------------------------------------------------------------

    // ----- inbound envelopes -------------------------------------------------------------------

    // ----- status changes ----------------------------------------------------------------------

    // ----- reading requests --------------------------------------------------------------------
}

/// Creates an empty database file readable by its owner only, if there is none.
fn create_private(path: &std::path::Path) -> Result<(), StoreError> {
    if path.as_os_str().is_empty() || path.as_os_str() == ":memory:" || path.exists() {
        return Ok(());
    }
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    match opts.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(StoreError::Io(format!("creating {}: {e}", path.display()))),
    }
}

/// The node id of a stored request's peer, parsed.
pub fn parse_node(s: &str) -> Result<NodeId, StoreError> {
    s.parse().map_err(|e| StoreError::Corrupt(format!("{e}")))
}
