//! Users: officers, supervisors and auditors with their roles and bearer tokens.

use jiff::Timestamp;

use hanoinet_core::access::Role;
use hanoinet_core::time::to_micros;

use crate::*;

impl Store {
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
}

/// What `change_user` does to a user.
enum UserChange {
    Disable(Timestamp),
    Rotate([u8; 32], Option<Timestamp>),
}

const ACCOUNT_COLUMNS: &str =
    "id, name, role, created_at, disabled_at, token_expires_at, last_used_at";

/// [`ACCOUNT_COLUMNS`] named by table, for queries that join `users` with others.
pub(crate) const USER_ACCOUNT_COLUMNS: &str = "users.id, users.name, users.role, users.created_at, \
     users.disabled_at, users.token_expires_at, users.last_used_at";

pub(crate) fn account_row<R>(r: &R) -> Result<UserAccount, StoreError>
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
