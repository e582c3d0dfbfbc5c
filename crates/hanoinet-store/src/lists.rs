//! Lists of requests that scale: filters served by indexes, keyset pagination (a cursor names
//! the last row shown; the next page starts after it, so rows created meanwhile neither repeat
//! nor shift a page), and the count of all rows that match.

use jiff::Timestamp;

use hanoinet_core::NodeId;
use hanoinet_core::request::{Direction, RequestType, Status, Urgency};
use hanoinet_core::time::to_micros;

use crate::{ListOrder, RequestRecord, Store, StoreError, records};

/// What a list keeps; every member narrows it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestFilter {
    pub direction: Option<Direction>,
    pub status: Option<Status>,
    pub request_type: Option<RequestType>,
    /// The other node: the requested node of an outgoing request, the requesting node of an
    /// incoming one.
    pub peer: Option<NodeId>,
    pub urgency: Option<Urgency>,
    /// Created at or after.
    pub since: Option<Timestamp>,
    /// Created before.
    pub until: Option<Timestamp>,
}

/// Where a page ends, in the order of the list: the sort keys of its last row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PageCursor {
    Newest {
        created_at: i64,
        id: String,
    },
    TimeLimit {
        /// The requested time limit; `None` sorts last.
        time_limit: Option<String>,
        created_at: i64,
        id: String,
    },
}

impl PageCursor {
    /// The cursor after `r` in `order`.
    pub fn after(r: &RequestRecord, order: ListOrder) -> Self {
        let created_at = to_micros(r.created_at);
        let id = r.id.to_string();
        match order {
            ListOrder::Newest => Self::Newest { created_at, id },
            ListOrder::TimeLimit => Self::TimeLimit {
                // As stored: the validated date of the request's fields.
                time_limit: r.fields["time_limit"].as_str().map(str::to_owned),
                created_at,
                id,
            },
        }
    }

    pub fn order(&self) -> ListOrder {
        match self {
            Self::Newest { .. } => ListOrder::Newest,
            Self::TimeLimit { .. } => ListOrder::TimeLimit,
        }
    }
}

/// A value bound to a query.
enum Bind {
    Text(String),
    Int(i64),
}

/// `WHERE` clauses with their binds, numbered `$1`, `$2`... on both backends.
#[derive(Default)]
struct Clauses {
    sql: Vec<String>,
    binds: Vec<Bind>,
}

impl Clauses {
    fn bind(&mut self, b: Bind) -> String {
        self.binds.push(b);
        format!("${}", self.binds.len())
    }

    fn text(&mut self, s: &str) -> String {
        self.bind(Bind::Text(s.to_owned()))
    }

    fn filter(f: &RequestFilter) -> Self {
        let mut c = Self::default();
        if let Some(d) = f.direction {
            let p = c.text(d.as_str());
            c.sql.push(format!("direction = {p}"));
        }
        if let Some(s) = f.status {
            let p = c.text(s.as_str());
            c.sql.push(format!("status = {p}"));
        }
        if let Some(t) = f.request_type {
            let p = c.text(t.as_str());
            c.sql.push(format!("request_type = {p}"));
        }
        if let Some(peer) = &f.peer {
            let (out, inc, node) = (
                c.text(Direction::Outgoing.as_str()),
                c.text(Direction::Incoming.as_str()),
                c.text(peer.as_str()),
            );
            c.sql.push(format!(
                "((direction = {out} AND to_node = {node}) OR (direction = {inc} AND from_node = {node}))"
            ));
        }
        if let Some(u) = f.urgency {
            let p = c.text(u.as_str());
            c.sql.push(format!("urgency = {p}"));
        }
        if let Some(t) = f.since {
            let p = c.bind(Bind::Int(to_micros(t)));
            c.sql.push(format!("created_at >= {p}"));
        }
        if let Some(t) = f.until {
            let p = c.bind(Bind::Int(to_micros(t)));
            c.sql.push(format!("created_at < {p}"));
        }
        c
    }

    fn after(&mut self, cursor: &PageCursor) {
        match cursor {
            PageCursor::Newest { created_at, id } => {
                let (c, i) = (self.bind(Bind::Int(*created_at)), self.text(id));
                self.sql.push(format!(
                    "(created_at < {c} OR (created_at = {c} AND id < {i}))"
                ));
            }
            PageCursor::TimeLimit {
                time_limit,
                created_at,
                id,
            } => {
                // Order: with a time limit first (n = 0), by time limit ascending, then newest.
                let n0 = self.bind(Bind::Int(i64::from(time_limit.is_none())));
                let t0 = self.text(time_limit.as_deref().unwrap_or(""));
                let (c, i) = (self.bind(Bind::Int(*created_at)), self.text(id));
                self.sql.push(format!(
                    "({N} > {n0} OR ({N} = {n0} AND ({T} > {t0} OR ({T} = {t0} AND \
                     (created_at < {c} OR (created_at = {c} AND id < {i}))))))",
                    N = TL_NULL,
                    T = TL,
                ));
            }
        }
    }

    fn where_sql(&self) -> String {
        if self.sql.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", self.sql.join(" AND "))
        }
    }
}

const TL_NULL: &str = "(CASE WHEN time_limit IS NULL THEN 1 ELSE 0 END)";
const TL: &str = "COALESCE(time_limit, '')";

macro_rules! bind_all {
    ($q:expr, $binds:expr) => {{
        let mut q = $q;
        for b in $binds {
            q = match b {
                Bind::Text(s) => q.bind(s.clone()),
                Bind::Int(i) => q.bind(*i),
            };
        }
        q
    }};
}

impl Store {
    /// Up to `limit` requests matching `filter` in `order`, after `cursor`; and how many match
    /// in all.
    pub async fn list_requests_page(
        &self,
        filter: &RequestFilter,
        order: ListOrder,
        cursor: Option<&PageCursor>,
        limit: i64,
    ) -> Result<(Vec<RequestRecord>, i64), StoreError> {
        let count = Clauses::filter(filter);
        let count_sql = format!("SELECT COUNT(*) FROM requests {}", count.where_sql());
        let mut page = Clauses::filter(filter);
        if let Some(c) = cursor {
            page.after(c);
        }
        let order_by = match order {
            ListOrder::Newest => "created_at DESC, id DESC".to_owned(),
            ListOrder::TimeLimit => format!("{TL_NULL}, {TL} ASC, created_at DESC, id DESC"),
        };
        let lim = page.bind(Bind::Int(limit));
        let page_sql = format!(
            "SELECT {} FROM requests {} ORDER BY {order_by} LIMIT {lim}",
            records::REQUEST_COLUMNS,
            page.where_sql()
        );
        with_read!(self, |pool| {
            let total: i64 = bind_all!(sqlx::query_scalar(&count_sql), &count.binds)
                .fetch_one(pool)
                .await?;
            let rows = bind_all!(sqlx::query(&page_sql), &page.binds)
                .fetch_all(pool)
                .await?;
            let recs = rows
                .iter()
                .map(records::request_record)
                .collect::<Result<Vec<_>, _>>()?;
            Ok((recs, total))
        })
    }
}
