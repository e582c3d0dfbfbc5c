//! The response centre's figures: reports per category per week, reported losses, indicator
//! types, time to triage — for the node's officers and analysts, and (reports per category per
//! week only) for the public. No personal data: no text, no contact, no indicator value; reports
//! of child sexual abuse material appear only in the counts.

use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};

use hanoinet_core::request::{FieldCode, FieldError};
use hanoinet_core::text::Lines;
use hanoinet_indicators::IndicatorType;
use hanoinet_indicators::report::Category;
use hanoinet_ledger::entry::Event;
use hanoinet_store::{User, Warning};

use crate::error::{NodeError, NodeResult};
use crate::node::Node;
use crate::ops::ledger::{commit, entry, user_actor};

/// The most weeks a statistics page covers.
pub const MAX_WEEKS: i64 = 104;

/// Reports of one category in the week starting on `week` (a Monday, UTC).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WeekCount {
    pub week: Date,
    pub category: Category,
    pub reports: i64,
}

#[derive(Debug, Clone, Default)]
pub struct Statistics {
    pub since: Option<Date>,
    pub weeks: Vec<WeekCount>,
    /// Per currency: minor units, reports with a loss.
    pub losses: Vec<(String, i64, i64)>,
    pub indicator_types: Vec<(IndicatorType, i64)>,
    pub reports: i64,
    pub triaged: i64,
    pub median_minutes_to_triage: Option<i64>,
}

/// The Monday (UTC) of the week `t` falls in.
pub fn week_of(t: Timestamp) -> Date {
    let d = t.to_zoned(TimeZone::UTC).date();
    let back = i64::from(d.weekday().to_monday_zero_offset());
    d.checked_sub(jiff::Span::new().days(back)).unwrap_or(d)
}

/// The figures of the last `weeks` weeks (this one included).
pub async fn compute(state: &Node, weeks: i64) -> NodeResult<Statistics> {
    let weeks = weeks.clamp(1, MAX_WEEKS);
    let now = state.clock.now();
    let first = week_of(
        now.checked_sub(SignedDuration::from_hours(24 * 7 * (weeks - 1)))
            .unwrap_or(now),
    );
    let since = first
        .to_zoned(TimeZone::UTC)
        .map(|z| z.timestamp())
        .map_err(NodeError::internal)?;
    let facts = state.store.report_facts(since).await?;
    let mut out = Statistics {
        since: Some(first),
        ..Statistics::default()
    };
    let mut waits = Vec::new();
    for f in &facts {
        out.reports += 1;
        let week = week_of(f.created_at);
        match out
            .weeks
            .iter_mut()
            .find(|w| w.week == week && w.category == f.category)
        {
            Some(w) => w.reports += 1,
            None => out.weeks.push(WeekCount {
                week,
                category: f.category,
                reports: 1,
            }),
        }
        if f.restricted {
            continue;
        }
        if let Some((minor, currency)) = &f.loss {
            match out.losses.iter_mut().find(|l| &l.0 == currency) {
                Some(l) => {
                    l.1 = l.1.saturating_add(*minor);
                    l.2 += 1;
                }
                None => out.losses.push((currency.clone(), *minor, 1)),
            }
        }
        if let Some(t) = f.triaged_at {
            out.triaged += 1;
            waits.push(t.duration_since(f.created_at).as_secs() / 60);
        }
    }
    out.weeks
        .sort_by(|a, b| (a.week, a.category.as_str()).cmp(&(b.week, b.category.as_str())));
    out.losses.sort();
    waits.sort_unstable();
    out.median_minutes_to_triage = waits.get(waits.len() / 2).copied();
    out.indicator_types = state.store.indicator_type_counts().await?;
    Ok(out)
}

pub fn require_statistics(user: &User) -> NodeResult<()> {
    if user.role.may_read_statistics() {
        Ok(())
    } else {
        Err(NodeError::forbidden(format!(
            "role {} may not read the response centre's statistics; officers and analysts may",
            user.role.as_str()
        )))
    }
}

/// The longest warning title and body, in characters.
pub const MAX_TITLE: usize = 200;
pub const MAX_BODY: usize = 5000;

/// Publishes a warning on the public pages and feeds.
pub async fn publish_warning(
    state: &Node,
    user: &User,
    title: &str,
    body: &str,
    category: Option<Category>,
    language: &str,
) -> NodeResult<Warning> {
    crate::ops::triage::require_analyst(user)?;
    let mut errors = Vec::new();
    let mut clean =
        |field: &str, v: &str, max: usize, lines: Lines| match hanoinet_core::text::clean(
            v, max, lines,
        ) {
            Ok(t) => t,
            Err(e) => {
                errors.push(FieldError::new(
                    field,
                    e.code(),
                    format!("{field} {e}"),
                    None,
                ));
                String::new()
            }
        };
    let title = clean("title", title, MAX_TITLE, Lines::One);
    let body = clean("body", body, MAX_BODY, Lines::Many);
    if !errors.is_empty() {
        return Err(NodeError::Invalid(errors));
    }
    let w = Warning {
        id: uuid::Uuid::now_v7().to_string(),
        title,
        body,
        category,
        language: language.to_owned(),
        author_id: user.id.clone(),
        published_at: state.clock.now(),
    };
    let logged = entry(
        state,
        Event::WarningPublished,
        user_actor(user),
        format!("warning:{}", w.id),
    )
    .attr(
        "content",
        commit(state, format!("{}\n{}", w.title, w.body).as_bytes()),
    );
    state.store.add_warning(&w, &[logged.encode()]).await?;
    Ok(w)
}

/// The figures as one CSV table (RFC 4180): the weekly counts, then the losses, then the
/// indicator types, each row saying which it is; every value is a code, a date or a number.
pub fn to_csv(s: &Statistics) -> String {
    use hanoinet_indicators::report::format_amount as amount;
    let mut csv = String::from("table,week,category,currency,type,count,amount\r\n");
    for w in &s.weeks {
        csv += &format!("reports,{},{},,,{},\r\n", w.week, w.category, w.reports);
    }
    for (c, m, n) in &s.losses {
        csv += &format!("losses,,,{c},,{n},{}\r\n", amount(*m, c));
    }
    for (t, n) in &s.indicator_types {
        csv += &format!("indicator_types,,,,{t},{n},\r\n");
    }
    if let Some(m) = s.median_minutes_to_triage {
        csv += &format!("median_minutes_to_triage,,,,,{},{m}\r\n", s.triaged);
    }
    csv
}

/// A field error for a bad parameter.
pub fn bad(field: &str, message: String) -> NodeError {
    NodeError::invalid(FieldError::new(field, FieldCode::Invalid, message, None))
}
