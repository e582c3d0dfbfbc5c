//! `Idempotency-Key` of the API's creating POSTs: per user, kept for 24 hours, shared by every
//! replica over the same database.

use jiff::Timestamp;
use sqlx::Row;

use hanoinet_core::time::to_micros;

use crate::{Store, StoreError};

/// A key as the creating transaction marks it (`NewOutgoing::idempotency`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyRef {
    pub user_id: String,
    pub key: String,
}

/// What a reservation found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reservation {
    /// The key is this call's: run it, then [`Store::complete_idempotency`].
    Reserved,
    /// The key was used with this same call: its first answer.
    Replay { status: u16, response: String },
    /// The key was used with another method, path or body.
    Mismatch,
    /// A call with this key is running (or its process died while it ran).
    InProgress {
        /// The request it created, when its creation committed.
        request_id: Option<String>,
        /// Its reservation has run out: the process that ran it is gone.
        stale: bool,
    },
}

impl Store {
    /// Reserves `key` for `user_id`'s call with `fingerprint` until `reserved_until`. A row
    /// created before `expired_before` is forgotten. A stale reservation that created nothing is
    /// taken over (compare-and-set, so two retries cannot both take it).
    pub async fn reserve_idempotency(
        &self,
        key: &IdempotencyRef,
        fingerprint: &str,
        now: Timestamp,
        reserved_until: Timestamp,
        expired_before: Timestamp,
    ) -> Result<Reservation, StoreError> {
        let out = with_tx!(self, |tx| {
            let inserted = sqlx::query(
                "INSERT INTO idempotency_keys (user_id, idem_key, fingerprint, created_at, reserved_until)
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (user_id, idem_key) DO NOTHING",
            )
            .bind(&key.user_id)
            .bind(&key.key)
            .bind(fingerprint)
            .bind(to_micros(now))
            .bind(to_micros(reserved_until))
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if inserted == 1 {
                Reservation::Reserved
            } else {
                let row = sqlx::query(
                    "SELECT fingerprint, created_at, reserved_until, status, response, request_id
                     FROM idempotency_keys WHERE user_id = $1 AND idem_key = $2",
                )
                .bind(&key.user_id)
                .bind(&key.key)
                .fetch_one(&mut *tx)
                .await?;
                let created_at: i64 = row.try_get("created_at")?;
                let held_until: i64 = row.try_get("reserved_until")?;
                let status: Option<i32> = row.try_get("status")?;
                let request_id: Option<String> = row.try_get("request_id")?;
                if created_at < to_micros(expired_before) {
                    let n = sqlx::query(
                        "UPDATE idempotency_keys SET fingerprint = $1, created_at = $2,
                            reserved_until = $3, status = NULL, response = NULL, request_id = NULL
                         WHERE user_id = $4 AND idem_key = $5 AND created_at = $6",
                    )
                    .bind(fingerprint)
                    .bind(to_micros(now))
                    .bind(to_micros(reserved_until))
                    .bind(&key.user_id)
                    .bind(&key.key)
                    .bind(created_at)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                    if n == 1 {
                        Reservation::Reserved
                    } else {
                        Reservation::InProgress {
                            request_id: None,
                            stale: false,
                        }
                    }
                } else if row.try_get::<String, _>("fingerprint")? != fingerprint {
                    Reservation::Mismatch
                } else if let Some(status) = status {
                    Reservation::Replay {
                        status: u16::try_from(status)
                            .map_err(|_| StoreError::Corrupt(format!("status {status}")))?,
                        response: row
                            .try_get::<Option<String>, _>("response")?
                            .unwrap_or_default(),
                    }
                } else if held_until > to_micros(now) || request_id.is_some() {
                    Reservation::InProgress {
                        stale: held_until <= to_micros(now),
                        request_id,
                    }
                } else {
                    let n = sqlx::query(
                        "UPDATE idempotency_keys SET reserved_until = $1
                         WHERE user_id = $2 AND idem_key = $3 AND status IS NULL AND reserved_until = $4",
                    )
                    .bind(to_micros(reserved_until))
                    .bind(&key.user_id)
                    .bind(&key.key)
                    .bind(held_until)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                    if n == 1 {
                        Reservation::Reserved
                    } else {
                        Reservation::InProgress {
                            request_id: None,
                            stale: false,
                        }
                    }
                }
            }
        });
        Ok(out)
    }

    /// Stores the answer given under `key`.
    pub async fn complete_idempotency(
        &self,
        key: &IdempotencyRef,
        status: u16,
        response: &str,
    ) -> Result<(), StoreError> {
        with_tx!(self, |tx| {
            sqlx::query(
                "UPDATE idempotency_keys SET status = $1, response = $2
                 WHERE user_id = $3 AND idem_key = $4",
            )
            .bind(i32::from(status))
            .bind(response)
            .bind(&key.user_id)
            .bind(&key.key)
            .execute(&mut *tx)
            .await?;
        });
        Ok(())
    }

    /// Forgets a reservation whose call failed without effect (an internal error), so that a
    /// retry runs again.
    pub async fn release_idempotency(&self, key: &IdempotencyRef) -> Result<(), StoreError> {
        with_tx!(self, |tx| {
            sqlx::query(
                "DELETE FROM idempotency_keys
                 WHERE user_id = $1 AND idem_key = $2 AND status IS NULL AND request_id IS NULL",
            )
            .bind(&key.user_id)
            .bind(&key.key)
            .execute(&mut *tx)
            .await?;
        });
        Ok(())
    }

    /// Deletes keys created before `before`; returns how many.
    pub async fn purge_idempotency(&self, before: Timestamp) -> Result<u64, StoreError> {
        let n = with_tx!(self, |tx| {
            sqlx::query("DELETE FROM idempotency_keys WHERE created_at < $1")
                .bind(to_micros(before))
                .execute(&mut *tx)
                .await?
                .rows_affected()
        });
        Ok(n)
    }
}
