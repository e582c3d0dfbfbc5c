//! The response centre's tables: citizens' reports, the distinct indicators they name, analysts'
//! notes and decisions, screenshots and public warnings.
//!
//! An indicator is one row per distinct canonical value (its identity is the key); a report
//! names its indicators through `report_indicators`, indexed by identity. "Which reports share
//! this value" is one index range; grouping costs what the values cost, never pairs of reports.

use jiff::Timestamp;
use sqlx::Row;

use hanoinet_core::time::to_micros;
use hanoinet_indicators::report::{Category, ReportStatus};
use hanoinet_indicators::{IndicatorStatus, IndicatorType, Tlp};

use crate::records::ts;
use crate::*;

/// A report as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub id: String,
    pub code: String,
    pub secret_sha256: String,
    pub category: Category,
    pub restricted: bool,
    pub description: String,
    pub occurred_at: Option<Timestamp>,
    /// Minor units and ISO 4217 code.
    pub loss: Option<(i64, String)>,
    pub payment_method: Option<String>,
    pub contact: Option<String>,
    pub language: String,
    pub status: ReportStatus,
    pub request_id: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub triaged_at: Option<Timestamp>,
    pub closed_at: Option<Timestamp>,
}

/// An indicator as stored, with what the reports say of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredIndicator {
    pub hash: String,
    pub kind: IndicatorType,
    pub canonical: String,
    /// Named only by restricted reports so far.
    pub restricted: bool,
    pub status: IndicatorStatus,
    pub tlp: Option<Tlp>,
    pub expires_at: Option<Timestamp>,
    pub decided_by: Option<String>,
    pub decided_at: Option<Timestamp>,
    /// Reports naming it.
    pub reports: i64,
    pub first_seen: Timestamp,
    pub last_seen: Timestamp,
}

/// An analyst's decision on an indicator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndicatorDecision {
    pub status: IndicatorStatus,
    pub tlp: Option<Tlp>,
    pub expires_at: Option<Timestamp>,
    pub by: String,
    pub at: Timestamp,
}

/// A note on a report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportNote {
    pub id: String,
    pub report_id: String,
    pub author_id: String,
    pub body: String,
    pub created_at: Timestamp,
}

/// Which reports a list shows.
#[derive(Debug, Clone, Default)]
pub struct ReportFilter {
    pub status: Option<ReportStatus>,
    /// `Some(true)`: the restricted queue only; `Some(false)`: the ordinary queue only; `None`:
    /// both (for a role that may open both).
    pub restricted: Option<bool>,
    /// Reports naming this indicator.
    pub indicator: Option<String>,
    /// Keyset cursor: reports with an id below this one (ids sort by creation time).
    pub before: Option<String>,
    pub limit: i64,
}

/// Which indicators a list shows.
#[derive(Debug, Clone, Default)]
pub struct IndicatorFilter {
    pub status: Option<IndicatorStatus>,
    pub kind: Option<IndicatorType>,
    /// Include indicators named only by restricted reports.
    pub restricted: bool,
    pub limit: i64,
}

/// Reported losses of one indicator in one currency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndicatorLoss {
    pub hash: String,
    pub currency: String,
    pub minor: i64,
    pub reports: i64,
}

const REPORT_COLUMNS: &str = "id, code, secret_sha256, category, restricted, description, occurred_at, loss_minor, loss_currency, payment_method, contact, language, status, request_id, created_at, updated_at, triaged_at, closed_at";
pub(crate) const INDICATOR_COLUMNS: &str = "hash, kind, canonical, restricted, status, tlp, expires_at, decided_by, decided_at, reports, first_seen, last_seen";

pub(crate) fn corrupt(what: &str, v: &str) -> StoreError {
    StoreError::Corrupt(format!("unknown {what} {v:?}"))
}

pub(crate) fn opt_ts(v: Option<i64>) -> Result<Option<Timestamp>, StoreError> {
    v.map(ts).transpose()
}

macro_rules! report_row {
    ($r:expr) => {{
        let r = $r;
        let category: String = r.try_get("category")?;
        let status: String = r.try_get("status")?;
        let minor: Option<i64> = r.try_get("loss_minor")?;
        let currency: Option<String> = r.try_get("loss_currency")?;
        Report {
            id: r.try_get("id")?,
            code: r.try_get("code")?,
            secret_sha256: r.try_get("secret_sha256")?,
            category: Category::parse(&category).ok_or_else(|| corrupt("category", &category))?,
            restricted: r.try_get::<i64, _>("restricted")? != 0,
            description: r.try_get("description")?,
            occurred_at: opt_ts(r.try_get("occurred_at")?)?,
            loss: minor.zip(currency),
            payment_method: r.try_get("payment_method")?,
            contact: r.try_get("contact")?,
            language: r.try_get("language")?,
            status: ReportStatus::parse(&status)
                .ok_or_else(|| corrupt("report status", &status))?,
            request_id: r.try_get("request_id")?,
            created_at: ts(r.try_get("created_at")?)?,
            updated_at: ts(r.try_get("updated_at")?)?,
            triaged_at: opt_ts(r.try_get("triaged_at")?)?,
            closed_at: opt_ts(r.try_get("closed_at")?)?,
        }
    }};
}

#[macro_export]
#[doc(hidden)]
macro_rules! indicator_row {
    ($r:expr) => {{
        let r = $r;
        let kind: String = r.try_get("kind")?;
        let status: String = r.try_get("status")?;
        let tlp: Option<String> = r.try_get("tlp")?;
        StoredIndicator {
            hash: r.try_get("hash")?,
            kind: IndicatorType::parse(&kind).ok_or_else(|| corrupt("indicator type", &kind))?,
            canonical: r.try_get("canonical")?,
            restricted: r.try_get::<i64, _>("restricted")? != 0,
            status: IndicatorStatus::parse(&status)
                .ok_or_else(|| corrupt("indicator status", &status))?,
            tlp: match tlp {
                Some(t) => Some(Tlp::parse(&t).ok_or_else(|| corrupt("tlp", &t))?),
                None => None,
            },
            expires_at: opt_ts(r.try_get("expires_at")?)?,
            decided_by: r.try_get("decided_by")?,
            decided_at: opt_ts(r.try_get("decided_at")?)?,
            reports: r.try_get("reports")?,
            first_seen: ts(r.try_get("first_seen")?)?,
            last_seen: ts(r.try_get("last_seen")?)?,
        }
    }};
}

/// What a new report brings: the report and its indicators (type, canonical, identity).
#[derive(Debug, Clone)]
pub struct NewReport<'a> {
    pub report: &'a Report,
    pub indicators: &'a [hanoinet_indicators::Indicator],
}

impl Store {
    /// Stores a new report, adds or counts its indicators, and logs it, atomically. Fails with a
    /// unique violation when the code is taken (the caller draws another).
    pub async fn create_report(
        &self,
        new: NewReport<'_>,
        ledger: &[Vec<u8>],
    ) -> Result<(), StoreError> {
        let r = new.report;
        let at = to_micros(r.created_at);
        let restricted = i64::from(r.restricted);
        with_tx!(self, |tx| {
            sqlx::query(&format!(
                "INSERT INTO reports ({REPORT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)"
            ))
            .bind(&r.id)
            .bind(&r.code)
            .bind(&r.secret_sha256)
            .bind(r.category.as_str())
            .bind(restricted)
            .bind(&r.description)
            .bind(r.occurred_at.map(to_micros))
            .bind(r.loss.as_ref().map(|l| l.0))
            .bind(r.loss.as_ref().map(|l| l.1.as_str()))
            .bind(r.payment_method.as_deref())
            .bind(r.contact.as_deref())
            .bind(&r.language)
            .bind(r.status.as_str())
            .bind(r.request_id.as_deref())
            .bind(at)
            .bind(to_micros(r.updated_at))
            .bind(r.triaged_at.map(to_micros))
            .bind(r.closed_at.map(to_micros))
            .execute(&mut *tx)
            .await?;
            let mut seen_again: Vec<&String> = Vec::new();
            for (i, ind) in new.indicators.iter().enumerate() {
                sqlx::query(&format!(
                    "INSERT INTO indicators ({INDICATOR_COLUMNS})
                     VALUES ($1, $2, $3, $4, $5, NULL, NULL, NULL, NULL, 1, $6, $6)
                     ON CONFLICT (hash) DO UPDATE SET reports = indicators.reports + 1,
                        last_seen = excluded.last_seen,
                        restricted = indicators.restricted * excluded.restricted"
                ))
                .bind(&ind.hash)
                .bind(ind.kind.as_str())
                .bind(&ind.canonical)
                .bind(restricted)
                .bind(IndicatorStatus::Reported.as_str())
                .bind(at)
                .execute(&mut *tx)
                .await?;
                sqlx::query(
                    "INSERT INTO report_indicators (report_id, hash, position) VALUES ($1, $2, $3)",
                )
                .bind(&r.id)
                .bind(&ind.hash)
                .bind(i as i64)
                .execute(&mut *tx)
                .await?;
                // An ordinary report naming a confirmed indicator may make it public (it was
                // restricted) or change its category: lookup sees it again.
                if restricted == 0 {
                    let confirmed: Option<String> = sqlx::query_scalar(
                        "SELECT hash FROM indicators WHERE hash = $1 AND status = $2",
                    )
                    .bind(&ind.hash)
                    .bind(IndicatorStatus::Confirmed.as_str())
                    .fetch_optional(&mut *tx)
                    .await?;
                    if confirmed.is_some() {
                        seen_again.push(&ind.hash);
                    }
                }
            }
            // The counter last, after every indicator row this transaction locks (a decision
            // locks its indicator, then the counter: the same order, so no deadlock).
            if !seen_again.is_empty() {
                let v = bump_lookup!(tx);
                for hash in seen_again {
                    sqlx::query("UPDATE indicators SET version = $1 WHERE hash = $2")
                        .bind(v)
                        .bind(hash)
                        .execute(&mut *tx)
                        .await?;
                }
            }
            insert_ledger!(tx, ledger);
        });
        Ok(())
    }

    pub async fn report(&self, id: &str) -> Result<Option<Report>, StoreError> {
        let sql = format!("SELECT {REPORT_COLUMNS} FROM reports WHERE id = $1");
        with_read!(self, |pool| {
            let row = sqlx::query(&sql).bind(id).fetch_optional(pool).await?;
            Ok(match row {
                Some(r) => Some(report_row!(&r)),
                None => None,
            })
        })
    }

    pub async fn report_by_code(&self, code: &str) -> Result<Option<Report>, StoreError> {
        let sql = format!("SELECT {REPORT_COLUMNS} FROM reports WHERE code = $1");
        with_read!(self, |pool| {
            let row = sqlx::query(&sql).bind(code).fetch_optional(pool).await?;
            Ok(match row {
                Some(r) => Some(report_row!(&r)),
                None => None,
            })
        })
    }

    /// Reports, newest first, by the filter.
    pub async fn reports(&self, f: &ReportFilter) -> Result<Vec<Report>, StoreError> {
        let mut sql = format!("SELECT {REPORT_COLUMNS} FROM reports WHERE 1 = 1");
        let mut n = 0;
        let mut next = || {
            n += 1;
            format!("${n}")
        };
        if f.status.is_some() {
            sql += &format!(" AND status = {}", next());
        }
        if f.restricted.is_some() {
            sql += &format!(" AND restricted = {}", next());
        }
        if f.indicator.is_some() {
            sql += &format!(
                " AND id IN (SELECT report_id FROM report_indicators WHERE hash = {})",
                next()
            );
        }
        if f.before.is_some() {
            sql += &format!(" AND id < {}", next());
        }
        sql += &format!(" ORDER BY id DESC LIMIT {}", next());
        with_read!(self, |pool| {
            let mut q = sqlx::query(&sql);
            if let Some(s) = f.status {
                q = q.bind(s.as_str());
            }
            if let Some(r) = f.restricted {
                q = q.bind(i64::from(r));
            }
            if let Some(h) = &f.indicator {
                q = q.bind(h);
            }
            if let Some(b) = &f.before {
                q = q.bind(b);
            }
            let rows = q.bind(f.limit).fetch_all(pool).await?;
            let mut out = Vec::with_capacity(rows.len());
            for r in &rows {
                out.push(report_row!(r));
            }
            Ok(out)
        })
    }

    /// The indicators a report names, in the order given.
    pub async fn report_indicators(
        &self,
        report_id: &str,
    ) -> Result<Vec<StoredIndicator>, StoreError> {
        let cols = INDICATOR_COLUMNS
            .split(", ")
            .map(|c| format!("i.{c}"))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "SELECT {cols} FROM report_indicators ri JOIN indicators i ON i.hash = ri.hash
             WHERE ri.report_id = $1 ORDER BY ri.position"
        );
        with_read!(self, |pool| {
            let rows = sqlx::query(&sql).bind(report_id).fetch_all(pool).await?;
            let mut out = Vec::with_capacity(rows.len());
            for r in &rows {
                out.push(indicator_row!(r));
            }
            Ok(out)
        })
    }

    /// Other reports sharing an indicator with this one: `(report id, code, shared identity)`,
    /// at most `limit`; restricted ones only if `restricted`.
    pub async fn related_reports(
        &self,
        report_id: &str,
        restricted: bool,
        limit: i64,
    ) -> Result<Vec<(String, String, String)>, StoreError> {
        let sql = format!(
            "SELECT r.id, r.code, other.hash FROM report_indicators mine
             JOIN report_indicators other ON other.hash = mine.hash AND other.report_id <> mine.report_id
             JOIN reports r ON r.id = other.report_id
             WHERE mine.report_id = $1 {}
             ORDER BY r.id DESC LIMIT $2",
            if restricted { "" } else { "AND r.restricted = 0" }
        );
        with_read!(self, |pool| {
            let rows = sqlx::query(&sql)
                .bind(report_id)
                .bind(limit)
                .fetch_all(pool)
                .await?;
            rows.iter()
                .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?)))
                .collect()
        })
    }

    pub async fn indicator(&self, hash: &str) -> Result<Option<StoredIndicator>, StoreError> {
        let sql = format!("SELECT {INDICATOR_COLUMNS} FROM indicators WHERE hash = $1");
        with_read!(self, |pool| {
            let row = sqlx::query(&sql).bind(hash).fetch_optional(pool).await?;
            Ok(match row {
                Some(r) => Some(indicator_row!(&r)),
                None => None,
            })
        })
    }

    /// Indicators by the filter, most reported first.
    pub async fn indicators(
        &self,
        f: &IndicatorFilter,
    ) -> Result<Vec<StoredIndicator>, StoreError> {
        let mut sql = format!("SELECT {INDICATOR_COLUMNS} FROM indicators WHERE 1 = 1");
        let mut n = 0;
        let mut next = || {
            n += 1;
            format!("${n}")
        };
        if f.status.is_some() {
            sql += &format!(" AND status = {}", next());
        }
        if f.kind.is_some() {
            sql += &format!(" AND kind = {}", next());
        }
        if !f.restricted {
            sql += " AND restricted = 0";
        }
        sql += &format!(" ORDER BY reports DESC, last_seen DESC LIMIT {}", next());
        with_read!(self, |pool| {
            let mut q = sqlx::query(&sql);
            if let Some(s) = f.status {
                q = q.bind(s.as_str());
            }
            if let Some(k) = f.kind {
                q = q.bind(k.as_str());
            }
            let rows = q.bind(f.limit).fetch_all(pool).await?;
            let mut out = Vec::with_capacity(rows.len());
            for r in &rows {
                out.push(indicator_row!(r));
            }
            Ok(out)
        })
    }

    /// Reported losses per indicator and currency, for these identities.
    pub async fn indicator_losses(
        &self,
        hashes: &[String],
    ) -> Result<Vec<IndicatorLoss>, StoreError> {
        let mut out = Vec::new();
        for chunk in hashes.chunks(crate::ledger::MAX_VARS) {
            let marks = (1..=chunk.len())
                .map(|i| format!("${i}"))
                .collect::<Vec<_>>()
                .join(", ");
            let sql = format!(
                "SELECT ri.hash, r.loss_currency, CAST(SUM(r.loss_minor) AS BIGINT), COUNT(*) FROM report_indicators ri
                 JOIN reports r ON r.id = ri.report_id
                 WHERE ri.hash IN ({marks}) AND r.loss_minor IS NOT NULL
                 GROUP BY ri.hash, r.loss_currency ORDER BY ri.hash, r.loss_currency"
            );
            with_read!(self, |pool| {
                let mut q = sqlx::query(&sql);
                for h in chunk {
                    q = q.bind(h);
                }
                for r in q.fetch_all(pool).await? {
                    out.push(IndicatorLoss {
                        hash: r.try_get(0)?,
                        currency: r.try_get(1)?,
                        minor: r.try_get(2)?,
                        reports: r.try_get(3)?,
                    });
                }
            });
        }
        Ok(out)
    }

    /// Records a decision on an indicator and moves the reports naming it that are still open
    /// to `confirmed` when it is a confirmation; logs it, atomically. False when there is no
    /// such indicator.
    pub async fn decide_indicator(
        &self,
        hash: &str,
        d: &IndicatorDecision,
        ledger: &[Vec<u8>],
    ) -> Result<bool, StoreError> {
        let at = to_micros(d.at);
        let found = with_tx!(self, |tx| {
            let found = sqlx::query(
                "UPDATE indicators SET status = $1, tlp = $2, expires_at = $3, decided_by = $4, decided_at = $5 WHERE hash = $6",
            )
            .bind(d.status.as_str())
            .bind(d.tlp.map(Tlp::as_str))
            .bind(d.expires_at.map(to_micros))
            .bind(&d.by)
            .bind(at)
            .bind(hash)
            .execute(&mut *tx)
            .await?
            .rows_affected()
                == 1;
            if found && d.status == IndicatorStatus::Confirmed {
                sqlx::query(
                    "UPDATE reports SET status = $1, updated_at = $2, triaged_at = COALESCE(triaged_at, $2)
                     WHERE status IN ($3, $4) AND id IN (SELECT report_id FROM report_indicators WHERE hash = $5)",
                )
                .bind(ReportStatus::Confirmed.as_str())
                .bind(at)
                .bind(ReportStatus::Received.as_str())
                .bind(ReportStatus::InReview.as_str())
                .bind(hash)
                .execute(&mut *tx)
                .await?;
            }
            if found {
                let v = bump_lookup!(tx);
                sqlx::query("UPDATE indicators SET version = $1 WHERE hash = $2")
                    .bind(v)
                    .bind(hash)
                    .execute(&mut *tx)
                    .await?;
                insert_ledger!(tx, ledger);
            }
            found
        });
        Ok(found)
    }

    /// Moves a report to `status` if it stands at one of `from`; the first move away from
    /// `received` is its triage time. Logs it, atomically. False when it stood elsewhere.
    pub async fn move_report(
        &self,
        id: &str,
        from: &[ReportStatus],
        to: ReportStatus,
        at: Timestamp,
        ledger: &[Vec<u8>],
    ) -> Result<bool, StoreError> {
        let at = to_micros(at);
        let marks = (0..from.len())
            .map(|i| format!("${}", i + 4))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "UPDATE reports SET status = $1, updated_at = $2, triaged_at = COALESCE(triaged_at, $2),
               closed_at = CASE WHEN $1 = '{closed}' THEN $2 ELSE closed_at END
             WHERE id = $3 AND status IN ({marks})",
            closed = ReportStatus::Closed.as_str()
        );
        let moved = with_tx!(self, |tx| {
            let mut q = sqlx::query(&sql).bind(to.as_str()).bind(at).bind(id);
            for s in from {
                q = q.bind(s.as_str());
            }
            let moved = q.execute(&mut *tx).await?.rows_affected() == 1;
            if moved {
                insert_ledger!(tx, ledger);
            }
            moved
        });
        Ok(moved)
    }

    /// Links a report to the cooperation request drafted from it (it then outlives the
    /// retention period), and logs it.
    pub async fn link_report(
        &self,
        id: &str,
        request_id: &str,
        at: Timestamp,
        ledger: &[Vec<u8>],
    ) -> Result<(), StoreError> {
        with_tx!(self, |tx| {
            sqlx::query("UPDATE reports SET request_id = $1, updated_at = $2 WHERE id = $3")
                .bind(request_id)
                .bind(to_micros(at))
                .bind(id)
                .execute(&mut *tx)
                .await?;
            insert_ledger!(tx, ledger);
        });
        Ok(())
    }

    pub async fn add_report_note(
        &self,
        n: &ReportNote,
        ledger: &[Vec<u8>],
    ) -> Result<(), StoreError> {
        with_tx!(self, |tx| {
            sqlx::query(
                "INSERT INTO report_notes (id, report_id, author_id, body, created_at) VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(&n.id)
            .bind(&n.report_id)
            .bind(&n.author_id)
            .bind(&n.body)
            .bind(to_micros(n.created_at))
            .execute(&mut *tx)
            .await?;
            insert_ledger!(tx, ledger);
        });
        Ok(())
    }

    pub async fn report_notes(&self, report_id: &str) -> Result<Vec<ReportNote>, StoreError> {
        with_read!(self, |pool| {
            let rows = sqlx::query(
                "SELECT id, report_id, author_id, body, created_at FROM report_notes WHERE report_id = $1 ORDER BY created_at, id",
            )
            .bind(report_id)
            .fetch_all(pool)
            .await?;
            rows.iter()
                .map(|r| {
                    Ok(ReportNote {
                        id: r.try_get("id")?,
                        report_id: r.try_get("report_id")?,
                        author_id: r.try_get("author_id")?,
                        body: r.try_get("body")?,
                        created_at: ts(r.try_get("created_at")?)?,
                    })
                })
                .collect()
        })
    }

    /// Deletes the reports created before `cutoff` that no case holds, with their notes, files
    /// and contacts, and forgets the indicators only they named that nobody decided; logs it,
    /// atomically. Returns the codes purged (at most `limit` per call).
    pub async fn purge_reports(
        &self,
        cutoff: Timestamp,
        limit: i64,
        ledger: impl Fn(&[String]) -> Vec<Vec<u8>>,
    ) -> Result<Vec<String>, StoreError> {
        let cutoff = to_micros(cutoff);
        let purged = with_tx!(self, |tx| {
            let rows = sqlx::query(
                "SELECT id, code FROM reports WHERE created_at < $1 AND request_id IS NULL ORDER BY id LIMIT $2",
            )
            .bind(cutoff)
            .bind(limit)
            .fetch_all(&mut *tx)
            .await?;
            let mut codes = Vec::with_capacity(rows.len());
            for r in &rows {
                let id: String = r.try_get(0)?;
                codes.push(r.try_get::<String, _>(1)?);
                sqlx::query(
                    "UPDATE indicators SET reports = reports - 1 WHERE hash IN (SELECT hash FROM report_indicators WHERE report_id = $1)",
                )
                .bind(&id)
                .execute(&mut *tx)
                .await?;
                for table in ["report_indicators", "report_notes", "report_files"] {
                    sqlx::query(&format!("DELETE FROM {table} WHERE report_id = $1"))
                        .bind(&id)
                        .execute(&mut *tx)
                        .await?;
                }
                sqlx::query("DELETE FROM reports WHERE id = $1")
                    .bind(&id)
                    .execute(&mut *tx)
                    .await?;
            }
            sqlx::query("DELETE FROM indicators WHERE reports <= 0 AND status = $1")
                .bind(IndicatorStatus::Reported.as_str())
                .execute(&mut *tx)
                .await?;
            if !codes.is_empty() {
                let entries = ledger(&codes);
                insert_ledger!(tx, entries);
            }
            codes
        });
        Ok(purged)
    }
}
