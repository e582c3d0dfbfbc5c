//! The outbox: envelopes waiting for delivery, claimed with a lease, and their receipts.

use jiff::Timestamp;
use sqlx::Row;

use hanoinet_core::request::Status;
use hanoinet_core::time::to_micros;
use hanoinet_core::{EnvelopeId, NodeId, RequestId};

use crate::*;

impl Store {
    /// Stores new outgoing requests (status `queued`), each with its outbox envelope and ledger
    /// entry, in one transaction: callers group concurrent creations (group commit).
    pub async fn create_outgoing(&self, items: &[NewOutgoing]) -> Result<(), StoreError> {
        with_tx!(self, |tx| {
            for NewOutgoing {
                request: req,
                outbox,
                ledger,
                idempotency,
            } in items
            {
                insert_request!(tx, req, None::<&str>);
                if let Some(k) = idempotency {
                    sqlx::query(
                        "UPDATE idempotency_keys SET request_id = $1 WHERE user_id = $2 AND idem_key = $3",
                    )
                    .bind(req.id.to_string())
                    .bind(&k.user_id)
                    .bind(&k.key)
                    .execute(&mut *tx)
                    .await?;
                }
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
    /// so that no other worker (in this or another process) sends them meanwhile. A transfer's
    /// chunks (bulk) give way to every other envelope (an emergency request queued behind
    /// gigabytes of evidence goes first) and at most `bulk_limit` of them are claimed, so that
    /// a transfer's bytes held in memory stay bounded.
    pub async fn claim_outbox(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: i64,
        bulk_limit: i64,
        claimer: &str,
    ) -> Result<Vec<OutboxItem>, StoreError> {
        const RETURNING: &str = "envelope_id, peer, kind, request_id, envelope, attempts, created_at, chunk_attachment, chunk_transfer, chunk_idx";
        let lane = |filter| {
            self.claim_sql(&crate::Queue {
                table: "outbox",
                key: "envelope_id",
                done: "delivered_at",
                returning: RETURNING,
                order: "next_attempt_at",
                filter,
            })
        };
        let (first, bulk) = (lane("AND bulk = 0"), lane("AND bulk = 1"));
        let out = with_tx!(self, |tx| {
            let mut items = Vec::new();
            for (sql, most) in [(&first, limit), (&bulk, bulk_limit)] {
                let left = (limit - items.len() as i64).min(most);
                if left <= 0 {
                    continue;
                }
                let rows = sqlx::query(sql)
                    .bind(to_micros(lease_until))
                    .bind(to_micros(now))
                    .bind(left)
                    .bind(claimer)
                    .fetch_all(&mut *tx)
                    .await?;
                for r in &rows {
                    items.push(records::outbox_item(r)?);
                }
            }
            items
        });
        Ok(out)
    }

    /// Ends the leases `claimer` holds on envelopes and notifications (all leases on SQLite,
    /// which one process serves), so that what a killed process had reserved goes out at once.
    /// Only a process holding the serving lock ([`Store::lock_for_serving`]) may call this.
    /// Returns how many envelopes were released.
    pub async fn release_leases(&self, claimer: &str) -> Result<u64, StoreError> {
        let all = matches!(self, Self::Sqlite { .. });
        let released = with_tx!(self, |tx| {
            let n = sqlx::query(
                "UPDATE outbox SET claimed_until = 0
                 WHERE delivered_at IS NULL AND claimed_until > 0 AND ($1 OR claimed_by = $2)",
            )
            .bind(all)
            .bind(claimer)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            sqlx::query(
                "UPDATE notifications SET claimed_until = 0
                 WHERE sent_at IS NULL AND claimed_until > 0 AND ($1 OR claimed_by = $2)",
            )
            .bind(all)
            .bind(claimer)
            .execute(&mut *tx)
            .await?;
            n
        });
        Ok(released)
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
                effect,
                keep,
            } in receipts
            {
                let row = sqlx::query(
                    "UPDATE outbox SET delivered_at = $1, receipt = $2, claimed_until = 0, last_error = NULL,
                            envelope = COALESCE($4, envelope)
                     WHERE envelope_id = $3 AND delivered_at IS NULL
                     RETURNING request_id",
                )
                .bind(to_micros(now))
                .bind(receipt_json)
                .bind(envelope_id.to_string())
                .bind(keep.as_deref())
                .fetch_optional(&mut *tx)
                .await?;
                let Some(row) = row else { continue };
                insert_ledger!(tx, std::slice::from_ref(ledger));
                let request_id: String = row.try_get("request_id")?;
                if *effect == DeliveryEffect::RequestDelivered {
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
                                by: Some(hanoinet_core::lifecycle::Side::System),
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
                } else if *effect == DeliveryEffect::ResponseReceipt {
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

    /// Where the envelopes of each of `requests` stand: the earliest still undelivered, else
    /// the last delivered.
    pub async fn delivery_states(
        &self,
        requests: &[RequestId],
    ) -> Result<std::collections::HashMap<RequestId, DeliveryState>, StoreError> {
        let mut out = std::collections::HashMap::new();
        if requests.is_empty() {
            return Ok(out);
        }
        let ids: Vec<String> = requests.iter().map(ToString::to_string).collect();
        let marks: Vec<String> = (1..=ids.len()).map(|i| format!("${i}")).collect();
        let sql = format!(
            "SELECT request_id, attempts, last_error, next_attempt_at, delivered_at, created_at
             FROM outbox WHERE request_id IN ({}) ORDER BY created_at, envelope_id",
            marks.join(", ")
        );
        with_read!(self, |pool| {
            let mut q = sqlx::query(&sql);
            for id in &ids {
                q = q.bind(id);
            }
            for r in q.fetch_all(pool).await? {
                let id: String = r.try_get("request_id")?;
                let Ok(id) = id.parse::<RequestId>() else {
                    continue;
                };
                let delivered: Option<i64> = r.try_get("delivered_at")?;
                let state = DeliveryState {
                    attempts: r.try_get("attempts")?,
                    last_error: r.try_get("last_error")?,
                    next_attempt_at: match delivered {
                        Some(_) => None,
                        None => hanoinet_core::time::from_micros(r.try_get("next_attempt_at")?),
                    },
                };
                // An earlier envelope still on its way stays the one shown.
                let pending = matches!(
                    out.get(&id),
                    Some(DeliveryState {
                        next_attempt_at: Some(_),
                        ..
                    })
                );
                if !pending {
                    out.insert(id, state);
                }
            }
        });
        Ok(out)
    }

    /// A peer answered: its undelivered envelopes waiting out a backoff are due now. Returns
    /// how many.
    pub async fn peer_answered(&self, peer: &NodeId, now: Timestamp) -> Result<u64, StoreError> {
        let n = with_tx!(self, |tx| {
            sqlx::query(
                "UPDATE outbox SET next_attempt_at = $1
                 WHERE peer = $2 AND delivered_at IS NULL AND next_attempt_at > $1",
            )
            .bind(to_micros(now))
            .bind(peer.as_str())
            .execute(&mut *tx)
            .await?
            .rows_affected()
        });
        Ok(n)
    }

    /// For every peer whose undelivered envelopes are all due after `quiet_until` (a peer in
    /// backoff), makes its earliest one due now: a peer back from an outage is found within one
    /// probe interval, not after the longest backoff. Returns the peers probed.
    pub async fn probe_quiet_peers(
        &self,
        now: Timestamp,
        quiet_until: Timestamp,
    ) -> Result<Vec<String>, StoreError> {
        let probed = with_tx!(self, |tx| {
            let quiet: Vec<(String, i64)> = sqlx::query_as(
                "SELECT peer, MIN(next_attempt_at) FROM outbox WHERE delivered_at IS NULL
                 GROUP BY peer HAVING MIN(next_attempt_at) > $1",
            )
            .bind(to_micros(quiet_until))
            .fetch_all(&mut *tx)
            .await?;
            let mut probed = Vec::new();
            for (peer, due) in quiet {
                let n = sqlx::query(
                    "UPDATE outbox SET next_attempt_at = $1 WHERE envelope_id IN (
                        SELECT envelope_id FROM outbox
                        WHERE peer = $2 AND delivered_at IS NULL AND next_attempt_at = $3
                        LIMIT 1)",
                )
                .bind(to_micros(now))
                .bind(&peer)
                .bind(due)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if n > 0 {
                    probed.push(peer);
                }
            }
            probed
        });
        Ok(probed)
    }

    /// Stores the envelope a queued chunk was sealed into at its first sending, unless another
    /// sender sealed it first; returns the stored envelope (every retry sends the same bytes,
    /// so a peer that already has it answers with the receipt it gave).
    pub async fn seal_queued_chunk(
        &self,
        envelope_id: EnvelopeId,
        envelope_json: &str,
    ) -> Result<String, StoreError> {
        let out = with_tx!(self, |tx| {
            sqlx::query("UPDATE outbox SET envelope = $1 WHERE envelope_id = $2 AND envelope = ''")
                .bind(envelope_json)
                .bind(envelope_id.to_string())
                .execute(&mut *tx)
                .await?;
            let stored: String =
                sqlx::query_scalar("SELECT envelope FROM outbox WHERE envelope_id = $1")
                    .bind(envelope_id.to_string())
                    .fetch_one(&mut *tx)
                    .await?;
            stored
        });
        Ok(out)
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
                "SELECT COALESCE(SUM(CASE WHEN delivered_at IS NULL THEN 1 ELSE 0 END), 0) AS waiting,
                        COALESCE(SUM(CASE WHEN delivered_at IS NULL THEN 0 ELSE 1 END), 0) AS delivered
                 FROM outbox",
            )
            .fetch_one(pool)
            .await?;
            Ok((row.try_get("waiting")?, row.try_get("delivered")?))
        })
    }
}
