//! Deadlines and notifications: overdue acknowledgements, preservation periods, and the
//! notification outbox.

use jiff::Timestamp;
use sqlx::Row;

use hanoinet_core::RequestId;
use hanoinet_core::request::{Direction, RequestType, Status};
use hanoinet_core::time::to_micros;

use crate::{Alert, Notification, RequestRecord, Store, StoreError, records};

/// Statuses in which an Art. 44 request that follows a preservation is not decided yet.
const UNDECIDED: [Status; 6] = [
    Status::Queued,
    Status::Delivered,
    Status::Acknowledged,
    Status::MoreInformationRequested,
    Status::Consultation,
    Status::Postponed,
];

impl Store {
    /// Incoming requests still `delivered` after their acknowledgement deadline, not escalated.
    pub async fn overdue_acknowledgements(
        &self,
        now: Timestamp,
        limit: i64,
    ) -> Result<Vec<RequestRecord>, StoreError> {
        let sql = format!(
            "SELECT {} FROM requests WHERE direction = $1 AND status = $2 AND escalated_at IS NULL
             AND ack_due_at IS NOT NULL AND ack_due_at <= $3 ORDER BY ack_due_at LIMIT $4",
            records::REQUEST_COLUMNS
        );
        with_read!(self, |pool| {
            let rows = sqlx::query(&sql)
                .bind(Direction::Incoming.as_str())
                .bind(Status::Delivered.as_str())
                .bind(to_micros(now))
                .bind(limit)
                .fetch_all(pool)
                .await?;
            rows.iter().map(records::request_record).collect()
        })
    }

    /// Marks a request escalated, raises its alert and queues its notifications, atomically and
    /// once: `false` if it was already escalated.
    pub async fn escalate(
        &self,
        request_id: RequestId,
        now: Timestamp,
        alert: &Alert,
        ledger: &[Vec<u8>],
        notifications: &[Notification],
    ) -> Result<bool, StoreError> {
        let out = with_tx!(self, |tx| {
            let marked = sqlx::query(
                "UPDATE requests SET escalated_at = $1 WHERE id = $2 AND escalated_at IS NULL",
            )
            .bind(to_micros(now))
            .bind(request_id.to_string())
            .execute(&mut *tx)
            .await?;
            if marked.rows_affected() != 1 {
                return Ok(false);
            }
            insert_alert!(tx, alert);
            insert_notifications!(tx, notifications);
            insert_ledger!(tx, ledger);
            true
        });
        Ok(out)
    }

    /// Raises an alert whose id says what it is about (e.g. a reminder), with its ledger entry
    /// and notifications, once: `false` if an alert with that id exists.
    pub async fn raise_alert_once(
        &self,
        alert: &Alert,
        ledger: &[Vec<u8>],
        notifications: &[Notification],
    ) -> Result<bool, StoreError> {
        let out = with_tx!(self, |tx| {
            let exists: Option<String> = sqlx::query_scalar("SELECT id FROM alerts WHERE id = $1")
                .bind(&alert.id)
                .fetch_optional(&mut *tx)
                .await?;
            if exists.is_some() {
                return Ok(false);
            }
            insert_alert!(tx, alert);
            insert_notifications!(tx, notifications);
            insert_ledger!(tx, ledger);
            true
        });
        Ok(out)
    }

    /// Preservations in force (accepted, with a date), on either side.
    pub async fn preservations_in_force(
        &self,
        limit: i64,
    ) -> Result<Vec<RequestRecord>, StoreError> {
        let sql = format!(
            "SELECT {} FROM requests WHERE request_type = $1 AND status IN ($2, $3, $4, $5)
             AND preserved_until IS NOT NULL ORDER BY preserved_until LIMIT $6",
            records::REQUEST_COLUMNS
        );
        with_read!(self, |pool| {
            let rows = sqlx::query(&sql)
                .bind(RequestType::Preservation.as_str())
                .bind(Status::Accepted.as_str())
                .bind(Status::AcceptedWithConditions.as_str())
                .bind(Status::PartiallyExecuted.as_str())
                .bind(Status::Executed.as_str())
                .bind(limit)
                .fetch_all(pool)
                .await?;
            rows.iter().map(records::request_record).collect()
        })
    }

    /// Requests for the data (Art. 44 `stored_data`, or general `mla`) that follow
    /// `preservation` and are not decided yet: while one exists, the preservation stays in force
    /// (Art. 42).
    pub async fn undecided_followups(
        &self,
        preservation: RequestId,
    ) -> Result<Vec<RequestId>, StoreError> {
        let statuses: Vec<&str> = UNDECIDED.iter().map(|s| s.as_str()).collect();
        let sql = format!(
            "SELECT id FROM requests WHERE follows_request = $1 AND request_type IN ($2, $3) AND status IN ({})",
            (4..4 + statuses.len())
                .map(|i| format!("${i}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        with_read!(self, |pool| {
            let mut q = sqlx::query(&sql)
                .bind(preservation.to_string())
                .bind(RequestType::StoredData.as_str())
                .bind(RequestType::Mla.as_str());
            for s in &statuses {
                q = q.bind(*s);
            }
            let rows = q.fetch_all(pool).await?;
            rows.iter()
                .map(|r| {
                    let id: String = r.try_get("id")?;
                    id.parse()
                        .map_err(|e| StoreError::Corrupt(format!("request id {e}")))
                })
                .collect()
        })
    }

    /// Claims due notifications for sending, leased until `lease_until`.
    pub async fn claim_notifications(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: i64,
        claimer: &str,
    ) -> Result<Vec<Notification>, StoreError> {
        let sql = self.claim_sql(&crate::Queue {
            table: "notifications",
            key: "id",
            done: "sent_at",
            returning: "id, channel, target, subject, body, created_at, attempts",
            order: "next_attempt_at",
            filter: "",
        });
        let out = with_tx!(self, |tx| {
            let rows = sqlx::query(&sql)
                .bind(to_micros(lease_until))
                .bind(to_micros(now))
                .bind(limit)
                .bind(claimer)
                .fetch_all(&mut *tx)
                .await?;
            rows.iter()
                .map(|r| {
                    Ok(Notification {
                        id: r.try_get("id")?,
                        channel: r.try_get("channel")?,
                        target: r.try_get("target")?,
                        subject: r.try_get("subject")?,
                        body: r.try_get("body")?,
                        created_at: hanoinet_core::time::from_micros(r.try_get("created_at")?)
                            .ok_or_else(|| StoreError::Corrupt("notification time".into()))?,
                        attempts: r.try_get("attempts")?,
                    })
                })
                .collect::<Result<Vec<_>, StoreError>>()?
        });
        Ok(out)
    }

    /// Records the outcome of one sending attempt: sent, or retry at `retry_at`.
    pub async fn notification_attempted(
        &self,
        id: &str,
        now: Timestamp,
        outcome: Result<(), (&str, Timestamp)>,
    ) -> Result<(), StoreError> {
        with_tx!(self, |tx| {
            match outcome {
                Ok(()) => sqlx::query(
                    "UPDATE notifications SET sent_at = $1, attempts = attempts + 1, claimed_until = 0, last_error = NULL WHERE id = $2",
                )
                .bind(to_micros(now))
                .bind(id),
                Err((error, retry_at)) => sqlx::query(
                    "UPDATE notifications SET next_attempt_at = $1, attempts = attempts + 1, claimed_until = 0, last_error = $2 WHERE id = $3",
                )
                .bind(to_micros(retry_at))
                .bind(error)
                .bind(id),
            }
            .execute(&mut *tx)
            .await?;
        });
        Ok(())
    }

    /// Counts of notifications: (unsent, sent).
    pub async fn notification_counts(&self) -> Result<(i64, i64), StoreError> {
        with_read!(self, |pool| {
            let row = sqlx::query(
                "SELECT COALESCE(SUM(CASE WHEN sent_at IS NULL THEN 1 ELSE 0 END), 0) AS waiting,
                        COALESCE(SUM(CASE WHEN sent_at IS NULL THEN 0 ELSE 1 END), 0) AS done
                 FROM notifications",
            )
            .fetch_one(pool)
            .await?;
            Ok((row.try_get("waiting")?, row.try_get("done")?))
        })
    }
}
