//! What the indicator lookup serves, read by version: every change to an indicator that lookup
//! may see takes the next version of one counter in its own transaction (`bump_lookup!`), so a
//! serving process reads `version > cursor` in order and never misses a change.

use jiff::Timestamp;
use sqlx::Row;

use hanoinet_indicators::report::Category;
use hanoinet_indicators::{IndicatorStatus, Tlp};

use crate::reports::{corrupt, opt_ts};
use crate::*;

/// One indicator as lookup sees it after its latest change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LookupChange {
    /// The identity, lower-case hex of SHA-256.
    pub hash: String,
    pub version: i64,
    /// Served to the public: confirmed, TLP:CLEAR or TLP:GREEN, not restricted. (Expiry is
    /// checked when it is served.)
    pub served: bool,
    pub tlp: Option<Tlp>,
    pub expires_at: Option<Timestamp>,
    /// The category most of its (ordinary) reports name.
    pub category: Option<Category>,
}

impl Store {
    /// The changes after version `since`, oldest first, at most `limit`.
    pub async fn lookup_changes(
        &self,
        since: i64,
        limit: i64,
    ) -> Result<Vec<LookupChange>, StoreError> {
        with_read!(self, |pool| {
            let rows = sqlx::query(
                "SELECT i.hash, i.version, i.status, i.tlp, i.restricted, i.expires_at,
                    (SELECT r.category FROM report_indicators ri JOIN reports r ON r.id = ri.report_id
                     WHERE ri.hash = i.hash AND r.restricted = 0
                     GROUP BY r.category ORDER BY COUNT(*) DESC, r.category LIMIT 1) AS category
                 FROM indicators i WHERE i.version > $1 ORDER BY i.version LIMIT $2",
            )
            .bind(since)
            .bind(limit)
            .fetch_all(pool)
            .await?;
            let mut out = Vec::with_capacity(rows.len());
            for r in &rows {
                let status: String = r.try_get("status")?;
                let status =
                    IndicatorStatus::parse(&status).ok_or_else(|| corrupt("status", &status))?;
                let tlp = match r.try_get::<Option<String>, _>("tlp")? {
                    Some(t) => Some(Tlp::parse(&t).ok_or_else(|| corrupt("tlp", &t))?),
                    None => None,
                };
                let restricted = r.try_get::<i64, _>("restricted")? != 0;
                let category = match r.try_get::<Option<String>, _>("category")? {
                    Some(c) => Some(Category::parse(&c).ok_or_else(|| corrupt("category", &c))?),
                    None => None,
                };
                out.push(LookupChange {
                    hash: r.try_get("hash")?,
                    version: r.try_get("version")?,
                    served: status == IndicatorStatus::Confirmed
                        && matches!(tlp, Some(Tlp::Clear | Tlp::Green))
                        && !restricted,
                    tlp,
                    expires_at: opt_ts(r.try_get("expires_at")?)?,
                    category,
                });
            }
            Ok(out)
        })
    }

    /// The latest version taken (0: nothing ever served).
    pub async fn lookup_version(&self) -> Result<i64, StoreError> {
        with_read!(self, |pool| {
            Ok(
                sqlx::query_scalar("SELECT version FROM lookup_counter WHERE id = 1")
                    .fetch_one(pool)
                    .await?,
            )
        })
    }
}
