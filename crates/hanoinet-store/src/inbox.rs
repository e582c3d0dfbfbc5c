//! The inbox: received envelopes, each stored with its effect in one transaction, and the
//! record of rejected ones.

use jiff::Timestamp;
use sqlx::Row;

use hanoinet_core::EnvelopeId;
use hanoinet_core::request::{Direction, Status};
use hanoinet_core::time::to_micros;

use crate::*;

impl Store {
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
                    sqlx::query(&format!(
                        "INSERT INTO attachment_chunks (attachment_id, idx, data, received_at)
                         SELECT $1, $2, $3, $4 WHERE NOT EXISTS
                             (SELECT 1 FROM attachments WHERE id = $1 AND state = '{}')
                         ON CONFLICT (attachment_id, idx) DO NOTHING",
                        crate::AttachmentState::Purged
                    ))
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

    /// Counts inbox rows and incoming requests: (inbox envelopes, incoming requests).
    pub async fn inbox_counts(&self) -> Result<(i64, i64), StoreError> {
        with_read!(self, |pool| {
            let inbox: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM inbox")
                .fetch_one(pool)
                .await?;
            let incoming: i64 = sqlx::query_scalar(&format!(
                "SELECT COUNT(*) FROM requests WHERE direction = '{}'",
                hanoinet_core::request::Direction::Incoming
            ))
            .fetch_one(pool)
            .await?;
            Ok((inbox, incoming))
        })
    }
}
