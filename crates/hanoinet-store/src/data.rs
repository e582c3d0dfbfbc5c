//! Data transfers (Art. 36): conditions, structured results, attachments in chunks, retention
//! purge.

use hanoinet_core::request::Flow;
use hanoinet_protocol::payload::{Conditions, OnwardRule};
use jiff::Timestamp;
use jiff::civil::Date;
use serde_json::Value;
use sqlx::Row;

use hanoinet_core::RequestId;
use hanoinet_core::time::{from_micros, to_micros};

use crate::{NewOutbox, NewOutgoing, Store, StoreError};

/// A data transfer as stored, on either side.
#[derive(Debug, Clone, PartialEq)]
pub struct DataTransfer {
    pub id: String,
    pub request_id: RequestId,
    pub direction: Flow,
    pub peer: hanoinet_core::NodeId,
    pub conditions: Conditions,
    /// Structured results; `None` once purged (or if there were none).
    pub results: Option<Value>,
    pub retention_until: Date,
    pub onward_transfer: OnwardRule,
    pub created_at: Timestamp,
    pub purged_at: Option<Timestamp>,
    /// For a forwarded copy: the transfer it was forwarded from.
    pub forwarded_from: Option<String>,
}

hanoinet_core::names! {
    /// Where an attachment stands.
    pub enum AttachmentState {
        /// An upload in progress, as databases written before uploads were staged recorded it
        /// (no longer written: an upload's chunks are staged and its row exists only once complete).
        Uploading => "uploading",
        /// Uploaded and checked; waiting to be given with data.
        Staged => "staged",
        /// Given: its chunks are in the outbox.
        Sent => "sent",
        /// Announced by a peer; chunks arriving.
        Receiving => "receiving",
        /// Every chunk arrived and the hash matched.
        Complete => "complete",
        /// Every chunk arrived and the hash did not match.
        Corrupt => "corrupt",
        /// Its bytes were deleted at the end of the retention period.
        Purged => "purged",
    }
}

/// What [`Store::forward_transfer`] records.
#[derive(Debug)]
pub struct Forwarding<'a> {
    /// The authorization whose use is taken (its signature, hex) and how many uses it allows.
    pub auth_sig: &'a str,
    pub max_uses: u32,
    /// The received transfer being passed on.
    pub from_transfer: &'a str,
    pub at: Timestamp,
    /// The request to the third State.
    pub request: &'a NewOutgoing,
    /// (new attachment id, original attachment id): whose chunks to copy.
    pub copies: &'a [(String, String)],
    /// The new transfer, its attachments (the copies), its envelopes and ledger entries.
    pub transfer: &'a DataTransfer,
    pub attachments: &'a [Attachment],
    pub outbox: &'a [NewOutbox],
    pub ledger: &'a [Vec<u8>],
}

/// An attachment's metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    pub id: String,
    pub request_id: RequestId,
    pub transfer_id: Option<String>,
    pub name: String,
    /// Lower-case hex.
    pub sha256: Option<String>,
    pub size: i64,
    pub chunks: i64,
    pub state: AttachmentState,
    pub created_at: Timestamp,
}

fn corrupt(what: &str) -> StoreError {
    StoreError::Corrupt(what.to_owned())
}

fn transfer_row<R>(r: &R) -> Result<DataTransfer, StoreError>
where
    R: Row,
    for<'a> &'a str: sqlx::ColumnIndex<R>,
    for<'a> String: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> Option<String>: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> i64: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> Option<i64>: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
{
    let s = |c: &str| r.try_get::<String, _>(c);
    let results: Option<String> = r.try_get("results")?;
    Ok(DataTransfer {
        id: s("id")?,
        request_id: s("request_id")?
            .parse()
            .map_err(|_| corrupt("request id"))?,
        direction: Flow::parse(&s("direction")?).ok_or_else(|| corrupt("transfer direction"))?,
        peer: s("peer")?.parse().map_err(|_| corrupt("peer"))?,
        conditions: serde_json::from_str(&s("conditions")?).map_err(|_| corrupt("conditions"))?,
        results: results
            .map(|r| serde_json::from_str(&r))
            .transpose()
            .map_err(|_| corrupt("results"))?,
        retention_until: s("retention_until")?
            .parse()
            .map_err(|_| corrupt("retention date"))?,
        onward_transfer: OnwardRule::parse(&s("onward_transfer")?)
            .ok_or_else(|| corrupt("onward rule"))?,
        created_at: from_micros(r.try_get("created_at")?).ok_or_else(|| corrupt("time"))?,
        purged_at: r
            .try_get::<Option<i64>, _>("purged_at")?
            .map(|t| from_micros(t).ok_or_else(|| corrupt("time")))
            .transpose()?,
        forwarded_from: r.try_get("forwarded_from")?,
    })
}

fn attachment_row<R>(r: &R) -> Result<Attachment, StoreError>
where
    R: Row,
    for<'a> &'a str: sqlx::ColumnIndex<R>,
    for<'a> String: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> Option<String>: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> i64: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
{
    let s = |c: &str| r.try_get::<String, _>(c);
    Ok(Attachment {
        id: s("id")?,
        request_id: s("request_id")?
            .parse()
            .map_err(|_| corrupt("request id"))?,
        transfer_id: r.try_get("transfer_id")?,
        name: s("name")?,
        sha256: r.try_get("sha256")?,
        size: r.try_get("size")?,
        chunks: r.try_get("chunks")?,
        state: AttachmentState::parse(&s("state")?).ok_or_else(|| corrupt("attachment state"))?,
        created_at: from_micros(r.try_get("created_at")?).ok_or_else(|| corrupt("time"))?,
    })
}

const TRANSFER_COLUMNS: &str = "id, request_id, direction, peer, conditions, results, retention_until, onward_transfer, created_at, purged_at, forwarded_from";
const ATTACHMENT_COLUMNS: &str =
    "id, request_id, transfer_id, name, sha256, size, chunks, state, created_at";

impl Store {
    /// Stages one chunk of an upload (idempotent). A chunk is inert until an attachment row
    /// names it ([`Store::stage_attachment`]); one that never becomes part of an attachment is
    /// removed by [`Store::drop_stale_uploads`].
    pub async fn put_chunk(
        &self,
        attachment_id: &str,
        idx: i64,
        data: &[u8],
        at: Timestamp,
    ) -> Result<(), StoreError> {
        with_tx!(self, |tx| {
            sqlx::query(
                "INSERT INTO attachment_chunks (attachment_id, idx, data, received_at)
                 VALUES ($1, $2, $3, $4) ON CONFLICT (attachment_id, idx) DO NOTHING",
            )
            .bind(attachment_id)
            .bind(idx)
            .bind(data)
            .bind(to_micros(at))
            .execute(&mut *tx)
            .await?;
        });
        Ok(())
    }

    /// Makes an uploaded attachment exist, complete with its hash, size and chunk count: the
    /// one commit of an upload, after its chunks were staged.
    pub async fn stage_attachment(&self, a: &Attachment) -> Result<(), StoreError> {
        with_tx!(self, |tx| {
            insert_attachment!(tx, a);
        });
        Ok(())
    }

    /// Settles a received attachment once all its chunks are in: from `receiving` to `state`
    /// (`complete` or `corrupt`), with `alert` in the same transaction. Returns false if it was
    /// no longer `receiving` (another worker settled it first).
    pub async fn settle_attachment(
        &self,
        id: &str,
        state: AttachmentState,
        alert: Option<&crate::Alert>,
    ) -> Result<bool, StoreError> {
        let out = with_tx!(self, |tx| {
            let moved =
                sqlx::query("UPDATE attachments SET state = $1 WHERE id = $2 AND state = $3")
                    .bind(state.as_str())
                    .bind(id)
                    .bind(AttachmentState::Receiving.as_str())
                    .execute(&mut *tx)
                    .await?
                    .rows_affected()
                    == 1;
            if moved && let Some(alert) = alert {
                let raised: Option<String> =
                    sqlx::query_scalar("SELECT id FROM alerts WHERE id = $1")
                        .bind(&alert.id)
                        .fetch_optional(&mut *tx)
                        .await?;
                if raised.is_none() {
                    insert_alert!(tx, alert);
                }
            }
            moved
        });
        Ok(out)
    }

    /// Removes an attachment and its chunks (an aborted or oversized upload).
    pub async fn drop_attachment(&self, id: &str) -> Result<(), StoreError> {
        with_tx!(self, |tx| {
            sqlx::query("DELETE FROM attachment_chunks WHERE attachment_id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
            sqlx::query("DELETE FROM attachments WHERE id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
        });
        Ok(())
    }

    pub async fn attachment(&self, id: &str) -> Result<Option<Attachment>, StoreError> {
        let sql = format!("SELECT {ATTACHMENT_COLUMNS} FROM attachments WHERE id = $1");
        with_read!(self, |pool| {
            let row = sqlx::query(&sql).bind(id).fetch_optional(pool).await?;
            row.as_ref().map(attachment_row).transpose()
        })
    }

    pub async fn attachments_of_transfer(
        &self,
        transfer_id: &str,
    ) -> Result<Vec<Attachment>, StoreError> {
        let sql = format!(
            "SELECT {ATTACHMENT_COLUMNS} FROM attachments WHERE transfer_id = $1 ORDER BY created_at, id"
        );
        with_read!(self, |pool| {
            let rows = sqlx::query(&sql).bind(transfer_id).fetch_all(pool).await?;
            rows.iter().map(attachment_row).collect()
        })
    }

    /// One chunk of an attachment, if stored.
    pub async fn chunk(
        &self,
        attachment_id: &str,
        idx: i64,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        with_bulk_read!(self, |pool| {
            let d: Option<Vec<u8>> = sqlx::query_scalar(
                "SELECT data FROM attachment_chunks WHERE attachment_id = $1 AND idx = $2",
            )
            .bind(attachment_id)
            .bind(idx)
            .fetch_optional(pool)
            .await?;
            Ok(d)
        })
    }

    /// How many chunks of an attachment are stored.
    pub async fn chunk_count(&self, attachment_id: &str) -> Result<i64, StoreError> {
        with_read!(self, |pool| {
            let n: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM attachment_chunks WHERE attachment_id = $1",
            )
            .bind(attachment_id)
            .fetch_one(pool)
            .await?;
            Ok(n)
        })
    }

    /// Records a transfer this node sends, marks its attachments sent, queues its envelopes.
    pub async fn send_transfer(
        &self,
        t: &DataTransfer,
        attachments: &[Attachment],
        outbox: &[NewOutbox],
        ledger: &[Vec<u8>],
    ) -> Result<(), StoreError> {
        with_tx!(self, |tx| {
            insert_transfer!(tx, t, attachments);
            for o in outbox {
                insert_outbox!(tx, o);
            }
            insert_ledger!(tx, ledger);
        });
        Ok(())
    }

    /// Passes received data on to a third State (Art. 36) in one transaction: takes one use of
    /// the sender's authorization, creates the request to the third State with its envelope,
    /// copies the attachments' chunks under their new ids, records the new transfer with its
    /// envelopes and the ledger entries. Returns false, having changed nothing, if the
    /// authorization has no use left.
    pub async fn forward_transfer(&self, f: &Forwarding<'_>) -> Result<bool, StoreError> {
        let out = with_tx!(self, |tx| {
            let claimed = sqlx::query(
                "INSERT INTO onward_uses (auth_sig, n, transfer_id, used_at)
                 SELECT $1, COUNT(*), $2, $3 FROM onward_uses WHERE auth_sig = $1
                 HAVING COUNT(*) < $4
                 ON CONFLICT (auth_sig, n) DO NOTHING",
            )
            .bind(f.auth_sig)
            .bind(f.from_transfer)
            .bind(to_micros(f.at))
            .bind(i64::from(f.max_uses))
            .execute(&mut *tx)
            .await?
            .rows_affected()
                == 1;
            if !claimed {
                return Ok(false);
            }
            let NewOutgoing {
                request: req,
                outbox,
                ledger,
                ..
            } = f.request;
            insert_request!(tx, req, None::<&str>);
            insert_events!(tx, req.id, 1, &req.history);
            if let Some(outbox) = outbox {
                insert_outbox!(tx, outbox);
            }
            insert_ledger!(tx, std::slice::from_ref(ledger));
            for (copy, original) in f.copies {
                sqlx::query(
                    "INSERT INTO attachment_chunks (attachment_id, idx, data, received_at)
                     SELECT $1, idx, data, $2 FROM attachment_chunks WHERE attachment_id = $3
                     ON CONFLICT (attachment_id, idx) DO NOTHING",
                )
                .bind(copy)
                .bind(to_micros(f.at))
                .bind(original)
                .execute(&mut *tx)
                .await?;
            }
            insert_transfer!(tx, f.transfer, f.attachments);
            for o in f.outbox {
                insert_outbox!(tx, o);
            }
            insert_ledger!(tx, f.ledger);
            true
        });
        Ok(out)
    }

    /// Records a received transfer (idempotent), with its ledger entry.
    pub async fn receive_transfer(
        &self,
        t: &DataTransfer,
        attachments: &[Attachment],
        ledger: &[Vec<u8>],
    ) -> Result<(), StoreError> {
        with_tx!(self, |tx| {
            insert_transfer!(tx, t, attachments);
            insert_ledger!(tx, ledger);
        });
        Ok(())
    }

    pub async fn transfers_of(
        &self,
        request_id: RequestId,
    ) -> Result<Vec<DataTransfer>, StoreError> {
        let sql = format!(
            "SELECT {TRANSFER_COLUMNS} FROM data_transfers WHERE request_id = $1 ORDER BY created_at, id"
        );
        with_read!(self, |pool| {
            let rows = sqlx::query(&sql)
                .bind(request_id.to_string())
                .fetch_all(pool)
                .await?;
            rows.iter().map(transfer_row).collect()
        })
    }

    pub async fn transfer(&self, id: &str) -> Result<Option<DataTransfer>, StoreError> {
        let sql = format!("SELECT {TRANSFER_COLUMNS} FROM data_transfers WHERE id = $1");
        with_read!(self, |pool| {
            let row = sqlx::query(&sql).bind(id).fetch_optional(pool).await?;
            row.as_ref().map(transfer_row).transpose()
        })
    }

    /// Received transfers whose retention ended on or before `today` and are not purged yet.
    pub async fn transfers_due_for_purge(
        &self,
        today: Date,
    ) -> Result<Vec<DataTransfer>, StoreError> {
        let sql = format!(
            "SELECT {TRANSFER_COLUMNS} FROM data_transfers
             WHERE direction = '{}' AND purged_at IS NULL AND retention_until <= $1
             ORDER BY retention_until LIMIT 500",
            Flow::Received
        );
        with_read!(self, |pool| {
            let rows = sqlx::query(&sql)
                .bind(today.to_string())
                .fetch_all(pool)
                .await?;
            rows.iter().map(transfer_row).collect()
        })
    }

    /// The received envelopes that carried a transfer (the transfer and its chunks): id and
    /// stored JSON.
    pub async fn transfer_envelopes(&self, id: &str) -> Result<Vec<(String, String)>, StoreError> {
        with_read!(self, |pool| {
            let rows =
                sqlx::query("SELECT envelope_id, envelope FROM inbox WHERE transfer_id = $1")
                    .bind(id)
                    .fetch_all(pool)
                    .await?;
            rows.iter()
                .map(|r| Ok((r.try_get("envelope_id")?, r.try_get("envelope")?)))
                .collect()
        })
    }

    /// Purges a transfer's content: results and attachment chunks go, metadata and hashes stay;
    /// every envelope that carried it is replaced by its `reduced` form (id, JSON); copies this
    /// node passed on (transfers `forwarded_from` it) lose their content too. `false` if it was
    /// purged already.
    pub async fn purge_transfer(
        &self,
        id: &str,
        now: Timestamp,
        reduced: &[(String, String)],
        ledger: &[Vec<u8>],
    ) -> Result<bool, StoreError> {
        let out = with_tx!(self, |tx| {
            let done = sqlx::query(
                "UPDATE data_transfers SET results = NULL, purged_at = $1 WHERE id = $2 AND purged_at IS NULL",
            )
            .bind(to_micros(now))
            .bind(id)
            .execute(&mut *tx)
            .await?;
            if done.rows_affected() != 1 {
                return Ok(false);
            }
            sqlx::query(
                "UPDATE data_transfers SET results = NULL, purged_at = $1 WHERE forwarded_from = $2 AND purged_at IS NULL",
            )
            .bind(to_micros(now))
            .bind(id)
            .execute(&mut *tx)
            .await?;
            let scope = "transfer_id = $1 OR transfer_id IN (SELECT id FROM data_transfers WHERE forwarded_from = $1)";
            sqlx::query(&format!(
                "DELETE FROM attachment_chunks WHERE attachment_id IN (SELECT id FROM attachments WHERE {scope})"
            ))
            .bind(id)
            .execute(&mut *tx)
            .await?;
            sqlx::query(&format!(
                "UPDATE attachments SET state = '{}' WHERE {scope}",
                AttachmentState::Purged
            ))
            .bind(id)
            .execute(&mut *tx)
            .await?;
            for (envelope_id, json) in reduced {
                sqlx::query(
                    "UPDATE inbox SET envelope = $1 WHERE envelope_id = $2 AND transfer_id = $3",
                )
                .bind(json)
                .bind(envelope_id)
                .bind(id)
                .execute(&mut *tx)
                .await?;
            }
            insert_ledger!(tx, ledger);
            true
        });
        Ok(out)
    }

    /// Removes what never became data: received chunks older than `before` whose transfer
    /// never announced them, and attachments staged (or left half-uploaded) before `before` and
    /// never sent, and uploads left unfinished since `before`. Returns how many chunks and
    /// attachments (or uploads) went.
    pub async fn drop_stale_uploads(&self, before: Timestamp) -> Result<(u64, u64), StoreError> {
        let out = with_tx!(self, |tx| {
            let orphans = sqlx::query(
                "DELETE FROM attachment_chunks WHERE received_at < $1
                 AND attachment_id NOT IN (SELECT id FROM attachments)
                 AND attachment_id NOT IN (SELECT id FROM uploads WHERE updated_at >= $1)",
            )
            .bind(to_micros(before))
            .execute(&mut *tx)
            .await?
            .rows_affected();
            // Uploads nobody added to since `before` (their chunks went just above).
            let abandoned = sqlx::query("DELETE FROM uploads WHERE updated_at < $1")
                .bind(to_micros(before))
                .execute(&mut *tx)
                .await?
                .rows_affected();
            let stale = format!(
                "SELECT id FROM attachments WHERE state IN ('{}', '{}')
                 AND transfer_id IS NULL AND created_at < $1",
                AttachmentState::Staged,
                AttachmentState::Uploading
            );
            sqlx::query(&format!(
                "DELETE FROM attachment_chunks WHERE attachment_id IN ({stale})"
            ))
            .bind(to_micros(before))
            .execute(&mut *tx)
            .await?;
            let staged = sqlx::query(&format!("DELETE FROM attachments WHERE id IN ({stale})"))
                .bind(to_micros(before))
                .execute(&mut *tx)
                .await?
                .rows_affected();
            (orphans, staged + abandoned)
        });
        Ok(out)
    }

    /// Every stored inbound envelope (kind, JSON), for audits of what the database still holds.
    pub async fn inbox_envelopes(&self) -> Result<Vec<(String, String)>, StoreError> {
        with_read!(self, |pool| {
            let rows = sqlx::query("SELECT kind, envelope FROM inbox ORDER BY received_at")
                .fetch_all(pool)
                .await?;
            rows.iter()
                .map(|r| Ok((r.try_get("kind")?, r.try_get("envelope")?)))
                .collect()
        })
    }
}
