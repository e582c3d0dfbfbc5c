//! Requests: moves along the lifecycle, messages, reading one or a list.

use jiff::Timestamp;
use sqlx::Row;

use hanoinet_core::RequestId;
use hanoinet_core::request::{Direction, Status};
use hanoinet_core::time::to_micros;

use crate::*;

impl Store {
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

    /// Requests in `order`, optionally of one direction, without their history (the first
    /// page of [`Store::list_requests_page`]).
    pub async fn list_requests(
        &self,
        direction: Option<Direction>,
        order: ListOrder,
        limit: i64,
    ) -> Result<Vec<RequestRecord>, StoreError> {
        let filter = crate::RequestFilter {
            direction,
            ..Default::default()
        };
        Ok(self
            .list_requests_page(&filter, order, None, limit)
            .await?
            .0)
    }

    /// What a page showing one direction's requests needs to know to tell it changed: how
    /// many there are, the latest change and the latest escalation (microseconds).
    pub async fn requests_fingerprint(
        &self,
        direction: Direction,
    ) -> Result<(i64, i64, i64), StoreError> {
        with_read!(self, |pool| {
            let r = sqlx::query(
                "SELECT COUNT(*) AS n, COALESCE(MAX(updated_at), 0) AS changed,
                        COALESCE(MAX(escalated_at), 0) AS escalated
                 FROM requests WHERE direction = $1",
            )
            .bind(direction.as_str())
            .fetch_one(pool)
            .await?;
            Ok((
                r.try_get::<i64, _>("n")?,
                r.try_get::<i64, _>("changed")?,
                r.try_get::<i64, _>("escalated")?,
            ))
        })
    }

    /// The 24/7 inbox: up to `limit` incoming requests, those awaiting acknowledgement first,
    /// emergencies first among them, then by acknowledgement deadline (none last), then the
    /// others newest first; and how many incoming requests there are in all. Two queries
    /// on the `requests_inbox` index.
    pub async fn inbox(&self, limit: i64) -> Result<(Vec<RequestRecord>, i64), StoreError> {
        let waiting = format!(
            "SELECT {} FROM requests WHERE direction = $1 AND status = $2
             ORDER BY CASE WHEN urgency = $3 THEN 0 ELSE 1 END,
                      CASE WHEN ack_due_at IS NULL THEN 1 ELSE 0 END, ack_due_at,
                      created_at DESC, id DESC
             LIMIT $4",
            records::REQUEST_COLUMNS
        );
        let others = format!(
            "SELECT {} FROM requests WHERE direction = $1 AND status <> $2
             ORDER BY created_at DESC, id DESC LIMIT $3",
            records::REQUEST_COLUMNS
        );
        with_read!(self, |pool| {
            let mut rows = sqlx::query(&waiting)
                .bind(Direction::Incoming.as_str())
                .bind(Status::Delivered.as_str())
                .bind(hanoinet_core::request::Urgency::Emergency.as_str())
                .bind(limit)
                .fetch_all(pool)
                .await?;
            let rest = limit - rows.len() as i64;
            if rest > 0 {
                rows.extend(
                    sqlx::query(&others)
                        .bind(Direction::Incoming.as_str())
                        .bind(Status::Delivered.as_str())
                        .bind(rest)
                        .fetch_all(pool)
                        .await?,
                );
            }
            let total: i64 =
                sqlx::query_scalar("SELECT COUNT(*) FROM requests WHERE direction = $1")
                    .bind(Direction::Incoming.as_str())
                    .fetch_one(pool)
                    .await?;
            let recs = rows
                .iter()
                .map(records::request_record)
                .collect::<Result<Vec<_>, _>>()?;
            Ok((recs, total))
        })
    }

    /// Up to `limit` requests of one direction in `status`, oldest first (a queue: the
    /// supervisors' approvals).
    pub async fn requests_in_status(
        &self,
        direction: Direction,
        status: Status,
        limit: i64,
    ) -> Result<Vec<RequestRecord>, StoreError> {
        let sql = format!(
            "SELECT {} FROM requests WHERE direction = $1 AND status = $2
             ORDER BY created_at, id LIMIT $3",
            records::REQUEST_COLUMNS
        );
        with_read!(self, |pool| {
            let rows = sqlx::query(&sql)
                .bind(direction.as_str())
                .bind(status.as_str())
                .bind(limit)
                .fetch_all(pool)
                .await?;
            rows.iter().map(records::request_record).collect()
        })
    }
}
