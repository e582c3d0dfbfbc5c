//! What the response centre publishes and keeps beside reports: the facts its statistics read
//! (never text, contacts or values), the public list, analysts' warnings, and screenshots.

use jiff::Timestamp;
use sqlx::Row;

use hanoinet_core::time::to_micros;
use hanoinet_indicators::report::Category;
use hanoinet_indicators::{IndicatorStatus, IndicatorType, Tlp};

use crate::records::ts;
use crate::reports::{INDICATOR_COLUMNS, corrupt, opt_ts};
use crate::*;

/// What statistics read of one report: no text, no contact, no indicator value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportFact {
    pub category: Category,
    pub restricted: bool,
    pub created_at: Timestamp,
    pub triaged_at: Option<Timestamp>,
    pub loss: Option<(i64, String)>,
}

/// A warning analysts wrote for the public pages and feeds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    pub id: String,
    pub title: String,
    pub body: String,
    pub category: Option<Category>,
    pub language: String,
    pub author_id: String,
    pub published_at: Timestamp,
}

/// A screenshot attached to a report, as stored (its metadata already stripped).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportFile {
    pub id: String,
    pub report_id: String,
    pub content_type: String,
    pub size: i64,
    pub sha256: String,
    pub created_at: Timestamp,
}

impl Store {
    /// The facts statistics need of every report created since `since`, oldest first.
    pub async fn report_facts(&self, since: Timestamp) -> Result<Vec<ReportFact>, StoreError> {
        with_read!(self, |pool| {
            let rows = sqlx::query(
                "SELECT category, restricted, created_at, triaged_at, loss_minor, loss_currency FROM reports
                 WHERE created_at >= $1 ORDER BY created_at",
            )
            .bind(to_micros(since))
            .fetch_all(pool)
            .await?;
            let mut out = Vec::with_capacity(rows.len());
            for r in &rows {
                let category: String = r.try_get("category")?;
                let minor: Option<i64> = r.try_get("loss_minor")?;
                let currency: Option<String> = r.try_get("loss_currency")?;
                out.push(ReportFact {
                    category: Category::parse(&category)
                        .ok_or_else(|| corrupt("category", &category))?,
                    restricted: r.try_get::<i64, _>("restricted")? != 0,
                    created_at: ts(r.try_get("created_at")?)?,
                    triaged_at: opt_ts(r.try_get("triaged_at")?)?,
                    loss: minor.zip(currency),
                });
            }
            Ok(out)
        })
    }

    /// How many indicators of each type reports named (restricted ones left out).
    pub async fn indicator_type_counts(&self) -> Result<Vec<(IndicatorType, i64)>, StoreError> {
        with_read!(self, |pool| {
            let rows = sqlx::query(
                "SELECT kind, COUNT(*) FROM indicators WHERE restricted = 0 GROUP BY kind ORDER BY kind",
            )
            .fetch_all(pool)
            .await?;
            let mut out = Vec::with_capacity(rows.len());
            for r in &rows {
                let kind: String = r.try_get(0)?;
                out.push((
                    IndicatorType::parse(&kind).ok_or_else(|| corrupt("indicator type", &kind))?,
                    r.try_get(1)?,
                ));
            }
            Ok(out)
        })
    }

    /// Indicators on the public list at `now` (confirmed, TLP:CLEAR, unexpired, not
    /// restricted), the latest decided first.
    pub async fn public_indicators(
        &self,
        now: Timestamp,
        limit: i64,
    ) -> Result<Vec<StoredIndicator>, StoreError> {
        let sql = format!(
            "SELECT {INDICATOR_COLUMNS} FROM indicators
             WHERE status = $1 AND tlp = $2 AND restricted = 0 AND (expires_at IS NULL OR expires_at > $3)
             ORDER BY decided_at DESC, hash LIMIT $4"
        );
        with_read!(self, |pool| {
            let rows = sqlx::query(&sql)
                .bind(IndicatorStatus::Confirmed.as_str())
                .bind(Tlp::Clear.as_str())
                .bind(to_micros(now))
                .bind(limit)
                .fetch_all(pool)
                .await?;
            let mut out = Vec::with_capacity(rows.len());
            for r in &rows {
                out.push(indicator_row!(r));
            }
            Ok(out)
        })
    }

    pub async fn add_warning(&self, w: &Warning, ledger: &[Vec<u8>]) -> Result<(), StoreError> {
        with_tx!(self, |tx| {
            sqlx::query(
                "INSERT INTO warnings (id, title, body, category, language, author_id, published_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(&w.id)
            .bind(&w.title)
            .bind(&w.body)
            .bind(w.category.map(Category::as_str))
            .bind(&w.language)
            .bind(&w.author_id)
            .bind(to_micros(w.published_at))
            .execute(&mut *tx)
            .await?;
            insert_ledger!(tx, ledger);
        });
        Ok(())
    }

    /// Published warnings, newest first.
    pub async fn warnings(&self, limit: i64) -> Result<Vec<Warning>, StoreError> {
        with_read!(self, |pool| {
            let rows = sqlx::query(
                "SELECT id, title, body, category, language, author_id, published_at FROM warnings
                 WHERE withdrawn_at IS NULL ORDER BY published_at DESC, id DESC LIMIT $1",
            )
            .bind(limit)
            .fetch_all(pool)
            .await?;
            let mut out = Vec::with_capacity(rows.len());
            for r in &rows {
                let category: Option<String> = r.try_get("category")?;
                out.push(Warning {
                    id: r.try_get("id")?,
                    title: r.try_get("title")?,
                    body: r.try_get("body")?,
                    category: match category {
                        Some(c) => {
                            Some(Category::parse(&c).ok_or_else(|| corrupt("category", &c))?)
                        }
                        None => None,
                    },
                    language: r.try_get("language")?,
                    author_id: r.try_get("author_id")?,
                    published_at: ts(r.try_get("published_at")?)?,
                });
            }
            Ok(out)
        })
    }

    /// Adds a screenshot to a report if it holds fewer than `max` (counted in the same
    /// transaction, so two uploads at once cannot pass the limit); logs it. False when full.
    pub async fn add_report_file(
        &self,
        f: &ReportFile,
        data: &[u8],
        max: i64,
        ledger: &[Vec<u8>],
    ) -> Result<bool, StoreError> {
        let added = with_tx!(self, |tx| {
            let added = sqlx::query(
                "INSERT INTO report_files (id, report_id, content_type, size, sha256, data, created_at)
                 SELECT $1, $2, $3, $4, $5, $6, $7
                 WHERE (SELECT COUNT(*) FROM report_files WHERE report_id = $2) < $8",
            )
            .bind(&f.id)
            .bind(&f.report_id)
            .bind(&f.content_type)
            .bind(f.size)
            .bind(&f.sha256)
            .bind(data)
            .bind(to_micros(f.created_at))
            .bind(max)
            .execute(&mut *tx)
            .await?
            .rows_affected()
                == 1;
            if added {
                insert_ledger!(tx, ledger);
            }
            added
        });
        Ok(added)
    }

    /// A report's screenshots (without their bytes), in the order they came.
    pub async fn report_files(&self, report_id: &str) -> Result<Vec<ReportFile>, StoreError> {
        with_read!(self, |pool| {
            let rows = sqlx::query(
                "SELECT id, report_id, content_type, size, sha256, created_at FROM report_files WHERE report_id = $1 ORDER BY created_at, id",
            )
            .bind(report_id)
            .fetch_all(pool)
            .await?;
            rows.iter()
                .map(|r| {
                    Ok(ReportFile {
                        id: r.try_get("id")?,
                        report_id: r.try_get("report_id")?,
                        content_type: r.try_get("content_type")?,
                        size: r.try_get("size")?,
                        sha256: r.try_get("sha256")?,
                        created_at: ts(r.try_get("created_at")?)?,
                    })
                })
                .collect()
        })
    }

    /// One screenshot's bytes.
    pub async fn report_file_data(
        &self,
        report_id: &str,
        id: &str,
    ) -> Result<Option<(String, Vec<u8>)>, StoreError> {
        with_bulk_read!(self, |pool| {
            let row = sqlx::query(
                "SELECT content_type, data FROM report_files WHERE report_id = $1 AND id = $2",
            )
            .bind(report_id)
            .bind(id)
            .fetch_optional(pool)
            .await?;
            row.map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).transpose()
        })
    }
}
