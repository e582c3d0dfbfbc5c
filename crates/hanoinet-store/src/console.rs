//! The web console's sign-in credentials and sessions. The node decides (password and TOTP
//! checks, back-off, timeouts); these are the rows and the transactions that record them.

use jiff::Timestamp;

use hanoinet_core::time::{from_micros, to_micros};
use sqlx::Row;

use crate::users::{USER_ACCOUNT_COLUMNS, account_row};
use crate::*;

/// A user's console credentials.
#[derive(Clone, PartialEq, Eq)]
pub struct ConsoleCredentials {
    /// Argon2id, as a PHC string.
    pub password_hash: String,
    /// The RFC 6238 shared secret (raw bytes).
    pub totp_secret: Vec<u8>,
    /// The time step of the last code accepted (a code is accepted once).
    pub last_totp_step: i64,
    /// Failed attempts since the last success.
    pub failed_attempts: i64,
    /// No attempt is checked before this time.
    pub locked_until: Timestamp,
    /// The console language the user chose, if any.
    pub language: Option<String>,
}

impl std::fmt::Debug for ConsoleCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConsoleCredentials")
            .field("failed_attempts", &self.failed_attempts)
            .field("locked_until", &self.locked_until)
            .finish_non_exhaustive()
    }
}

/// A session to open: the hash of its cookie and its CSRF token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewConsoleSession {
    pub token_hash: [u8; 32],
    pub user_id: String,
    pub csrf_token: String,
    pub at: Timestamp,
}

/// An open session and whose it is.
#[derive(Clone, PartialEq, Eq)]
pub struct ConsoleSession {
    pub account: UserAccount,
    pub csrf_token: String,
    pub created_at: Timestamp,
    pub last_seen_at: Timestamp,
    pub language: Option<String>,
    /// The IANA time zone the user chose (times are shown in it; stored in UTC).
    pub time_zone: Option<String>,
}

impl std::fmt::Debug for ConsoleSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConsoleSession")
            .field("account", &self.account)
            .field("created_at", &self.created_at)
            .field("last_seen_at", &self.last_seen_at)
            .finish_non_exhaustive()
    }
}

fn time(v: i64) -> Result<Timestamp, StoreError> {
    from_micros(v).ok_or_else(|| StoreError::Corrupt(format!("console time {v}")))
}

impl Store {
    /// Sets a user's console password and TOTP secret (enrolment, or a reset by an
    /// administrator): failures are forgotten and every open session of the user ends.
    pub async fn set_console_credentials(
        &self,
        user_id: &str,
        password_hash: &str,
        totp_secret: &[u8],
        now: Timestamp,
        ledger: &[Vec<u8>],
    ) -> Result<(), StoreError> {
        with_tx!(self, |tx| {
            sqlx::query(
                "INSERT INTO console_credentials (user_id, password_hash, totp_secret, updated_at)
                 VALUES ($1, $2, $3, $4)
                 ON CONFLICT (user_id) DO UPDATE SET password_hash = excluded.password_hash,
                    totp_secret = excluded.totp_secret, last_totp_step = 0, failed_attempts = 0,
                    locked_until = 0, updated_at = excluded.updated_at",
            )
            .bind(user_id)
            .bind(password_hash)
            .bind(totp_secret)
            .bind(to_micros(now))
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "UPDATE console_sessions SET ended_at = $1 WHERE user_id = $2 AND ended_at IS NULL",
            )
            .bind(to_micros(now))
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
            insert_ledger!(tx, ledger);
        });
        Ok(())
    }

    /// The user called `name`, with its account state and console credentials, if it has
    /// any.
    pub async fn console_login(
        &self,
        name: &str,
    ) -> Result<Option<(UserAccount, ConsoleCredentials)>, StoreError> {
        let sql = format!(
            "SELECT {USER_ACCOUNT_COLUMNS}, c.password_hash, c.totp_secret, c.last_totp_step,
                    c.failed_attempts, c.locked_until, c.language
             FROM users JOIN console_credentials c ON c.user_id = users.id WHERE users.name = $1"
        );
        with_read!(self, |pool| {
            let Some(r) = sqlx::query(&sql).bind(name).fetch_optional(pool).await? else {
                return Ok(None);
            };
            let account = account_row(&r)?;
            let creds = ConsoleCredentials {
                password_hash: r.try_get("password_hash")?,
                totp_secret: r.try_get("totp_secret")?,
                last_totp_step: r.try_get("last_totp_step")?,
                failed_attempts: r.try_get("failed_attempts")?,
                locked_until: time(r.try_get("locked_until")?)?,
                language: r.try_get("language")?,
            };
            Ok(Some((account, creds)))
        })
    }

    /// Records a failed sign-in: one more failure, no attempt checked before `locked_until`.
    pub async fn console_sign_in_failed(
        &self,
        user_id: &str,
        locked_until: Timestamp,
        ledger: &[Vec<u8>],
    ) -> Result<(), StoreError> {
        with_tx!(self, |tx| {
            sqlx::query(
                "UPDATE console_credentials SET failed_attempts = failed_attempts + 1,
                    locked_until = CASE WHEN locked_until > $1 THEN locked_until ELSE $1 END
                 WHERE user_id = $2",
            )
            .bind(to_micros(locked_until))
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
            insert_ledger!(tx, ledger);
        });
        Ok(())
    }

    /// Records a successful sign-in and opens its session, if the TOTP time step is later than
    /// the last one accepted. `false`, changing nothing, if it is not (a code used twice).
    pub async fn console_signed_in(
        &self,
        totp_step: i64,
        session: &NewConsoleSession,
        ledger: &[Vec<u8>],
    ) -> Result<bool, StoreError> {
        let out = with_tx!(self, |tx| {
            let taken = sqlx::query(
                "UPDATE console_credentials SET last_totp_step = $1, failed_attempts = 0, locked_until = 0
                 WHERE user_id = $2 AND last_totp_step < $1",
            )
            .bind(totp_step)
            .bind(&session.user_id)
            .execute(&mut *tx)
            .await?
            .rows_affected()
                == 1;
            if !taken {
                return Ok(false);
            }
            sqlx::query(
                "INSERT INTO console_sessions (token_hash, user_id, csrf_token, created_at, last_seen_at)
                 VALUES ($1, $2, $3, $4, $4)",
            )
            .bind(&session.token_hash[..])
            .bind(&session.user_id)
            .bind(&session.csrf_token)
            .bind(to_micros(session.at))
            .execute(&mut *tx)
            .await?;
            insert_ledger!(tx, ledger);
            true
        });
        Ok(out)
    }

    /// The open (not ended) session whose cookie has this hash.
    pub async fn console_session(
        &self,
        token_hash: &[u8; 32],
    ) -> Result<Option<ConsoleSession>, StoreError> {
        let sql = format!(
            "SELECT {USER_ACCOUNT_COLUMNS}, s.csrf_token, s.created_at AS session_created_at,
                    s.last_seen_at, c.language, c.time_zone
             FROM console_sessions s JOIN users ON users.id = s.user_id
             LEFT JOIN console_credentials c ON c.user_id = s.user_id
             WHERE s.token_hash = $1 AND s.ended_at IS NULL"
        );
        with_read!(self, |pool| {
            let Some(r) = sqlx::query(&sql)
                .bind(&token_hash[..])
                .fetch_optional(pool)
                .await?
            else {
                return Ok(None);
            };
            Ok(Some(ConsoleSession {
                account: account_row(&r)?,
                csrf_token: r.try_get("csrf_token")?,
                created_at: time(r.try_get("session_created_at")?)?,
                last_seen_at: time(r.try_get("last_seen_at")?)?,
                language: r.try_get("language")?,
                time_zone: r.try_get("time_zone")?,
            }))
        })
    }

    /// Notes that a session was used at `now` (for the idle timeout).
    pub async fn touch_console_session(
        &self,
        token_hash: &[u8; 32],
        now: Timestamp,
    ) -> Result<(), StoreError> {
        with_tx!(self, |tx| {
            sqlx::query("UPDATE console_sessions SET last_seen_at = $1 WHERE token_hash = $2 AND ended_at IS NULL")
                .bind(to_micros(now))
                .bind(&token_hash[..])
                .execute(&mut *tx)
                .await?;
        });
        Ok(())
    }

    /// Ends a session (sign-out, or a timeout found on use). `false` if it was not open.
    pub async fn end_console_session(
        &self,
        token_hash: &[u8; 32],
        now: Timestamp,
        ledger: &[Vec<u8>],
    ) -> Result<bool, StoreError> {
        let out = with_tx!(self, |tx| {
            let ended = sqlx::query(
                "UPDATE console_sessions SET ended_at = $1 WHERE token_hash = $2 AND ended_at IS NULL",
            )
            .bind(to_micros(now))
            .bind(&token_hash[..])
            .execute(&mut *tx)
            .await?
            .rows_affected()
                == 1;
            if ended {
                insert_ledger!(tx, ledger);
            }
            ended
        });
        Ok(out)
    }

    /// Sets the console language and time zone a user chose (`None`: follow the browser / UTC).
    pub async fn set_console_preferences(
        &self,
        user_id: &str,
        language: Option<&str>,
        time_zone: Option<&str>,
    ) -> Result<(), StoreError> {
        with_tx!(self, |tx| {
            sqlx::query(
                "UPDATE console_credentials SET language = $1, time_zone = $2 WHERE user_id = $3",
            )
            .bind(language)
            .bind(time_zone)
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        });
        Ok(())
    }

    /// The last tree head user `user_id` verified from the console (JSON), if any.
    pub async fn console_verified_head(&self, user_id: &str) -> Result<Option<String>, StoreError> {
        with_read!(self, |pool| {
            Ok(sqlx::query_scalar::<_, Option<String>>(
                "SELECT verified_head FROM console_credentials WHERE user_id = $1",
            )
            .bind(user_id)
            .fetch_optional(pool)
            .await?
            .flatten())
        })
    }

    /// Records the tree head user `user_id` just verified, with the ledger entry saying so.
    pub async fn set_console_verified_head(
        &self,
        user_id: &str,
        head: &str,
        ledger: &[Vec<u8>],
    ) -> Result<(), StoreError> {
        with_tx!(self, |tx| {
            sqlx::query("UPDATE console_credentials SET verified_head = $1 WHERE user_id = $2")
                .bind(head)
                .bind(user_id)
                .execute(&mut *tx)
                .await?;
            insert_ledger!(tx, ledger);
        });
        Ok(())
    }
}
