//! The response centre's other console pages: indicators (most reported first, with their
//! decisions), one indicator with the reports naming it, the statistics (with the CSV the API
//! gives) and the public warnings analysts write. Same use cases as `/api/v1/indicators`,
//! `/api/v1/statistics` and `/api/v1/warnings`.

use std::sync::Arc;

use askama::Template;
use axum::Router;
use axum::extract::{Form, Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;

use hanoinet_indicators::report::{Category, format_amount};
use hanoinet_indicators::{IndicatorStatus, IndicatorType};

use super::centre::{
    IndicatorRow, ReportRow, category_label, default_expiry, error_lines, indicator_row,
    report_row, tlp_options,
};
use super::requests::value_of;
use super::{Console, When, Who, page, see_other};
use crate::error::NodeError;
use crate::http::i18n::Lang;
use crate::node::Node;
use crate::ops::statistics;
use crate::ops::triage::{self, Queue};

pub fn routes() -> Router<Arc<Node>> {
    Router::new()
        .route("/indicators", get(indicators))
        .route("/indicators/{hash}", get(indicator))
        .route("/statistics", get(figures))
        .route("/statistics.csv", get(figures_csv))
        .route("/warnings", get(warnings).post(publish))
}

#[derive(Deserialize)]
struct IndicatorQuery {
    status: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
}

#[derive(Template)]
#[template(path = "console/indicators.html")]
struct IndicatorsPage {
    lang: Lang,
    signed_in: Option<Who>,
    statuses: Vec<(String, String, bool)>,
    kinds: Vec<(String, String, bool)>,
    rows: Vec<IndicatorRow>,
}

/// `GET /indicators?status=&type=`: indicators, most reported first.
async fn indicators(
    State(state): State<Arc<Node>>,
    c: Console,
    Query(q): Query<IndicatorQuery>,
) -> Response {
    let status = match q.status.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => match IndicatorStatus::parse(s) {
            Some(s) => Some(s),
            None => return c.failure(NodeError::not_found(format!("no status {s}"))),
        },
    };
    let kind = match q.kind.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(k) => match IndicatorType::parse(k) {
            Some(k) => Some(k),
            None => return c.failure(NodeError::not_found(format!("no indicator type {k}"))),
        },
    };
    let list = match triage::list_indicators(&state, c.user(), status, kind, 200).await {
        Ok(l) => l,
        Err(e) => return c.failure(e),
    };
    let statuses = [
        IndicatorStatus::Reported,
        IndicatorStatus::Confirmed,
        IndicatorStatus::FalsePositive,
    ]
    .iter()
    .map(|s| {
        (
            s.as_str().to_owned(),
            c.lang.text(&format!("indicator-status-{}", s.as_str())),
            status == Some(*s),
        )
    })
    .collect();
    let kinds = IndicatorType::ALL
        .iter()
        .map(|k| {
            (
                k.as_str().to_owned(),
                c.lang.text(&format!("indicator-{}", k.as_str())),
                kind == Some(*k),
            )
        })
        .collect();
    let p = IndicatorsPage {
        lang: c.lang,
        signed_in: Some(c.who("/indicators")),
        statuses,
        kinds,
        rows: list
            .iter()
            .map(|f| indicator_row(&c, &f.indicator, &f.losses, false))
            .collect(),
    };
    page(p, StatusCode::OK)
}

#[derive(Template)]
#[template(path = "console/indicator.html")]
struct IndicatorPage {
    lang: Lang,
    signed_in: Option<Who>,
    errors: Vec<String>,
    i: IndicatorRow,
    reports: Vec<ReportRow>,
    tlps: Vec<(&'static str, String)>,
    expiry: String,
}

async fn indicator(
    State(state): State<Arc<Node>>,
    c: Console,
    Path(hash): Path<String>,
) -> Response {
    indicator_page(&state, &c, &hash, Vec::new(), StatusCode::OK).await
}

/// One indicator: what the reports say of it, its decision, the reports naming it.
pub(super) async fn indicator_page(
    state: &Node,
    c: &Console,
    hash: &str,
    errors: Vec<String>,
    status: StatusCode,
) -> Response {
    let f = match triage::indicator(state, c.user(), hash).await {
        Ok(f) => f,
        Err(e) => return c.failure(e),
    };
    let queue = if f.indicator.restricted {
        Queue::Restricted
    } else {
        Queue::Ordinary
    };
    let reports = match triage::list_reports(
        state,
        c.user(),
        queue,
        None,
        Some(hash.to_owned()),
        None,
        triage::MAX_LIST,
    )
    .await
    {
        Ok(r) => r,
        Err(e) => return c.failure(e),
    };
    let p = IndicatorPage {
        lang: c.lang,
        signed_in: Some(c.who("/indicators")),
        errors,
        i: indicator_row(c, &f.indicator, &f.losses, false),
        reports: reports.iter().map(|r| report_row(c, r)).collect(),
        tlps: tlp_options(c.lang),
        expiry: default_expiry(state),
    };
    page(p, status)
}

#[derive(Deserialize)]
struct WeeksQuery {
    weeks: Option<i64>,
}

struct WeekRow {
    week: String,
    category: String,
    reports: i64,
}

#[derive(Template)]
#[template(path = "console/statistics.html")]
struct StatisticsPage {
    lang: Lang,
    signed_in: Option<Who>,
    weeks: i64,
    since: String,
    reports: i64,
    triaged: i64,
    median: Option<i64>,
    rows: Vec<WeekRow>,
    losses: Vec<(String, String, i64)>,
    kinds: Vec<(String, i64)>,
}

fn weeks_of(q: &WeeksQuery) -> i64 {
    q.weeks.unwrap_or(12).clamp(1, statistics::MAX_WEEKS)
}

/// `GET /statistics?weeks=12`: the centre's figures (no personal data).
async fn figures(
    State(state): State<Arc<Node>>,
    c: Console,
    Query(q): Query<WeeksQuery>,
) -> Response {
    if let Err(e) = statistics::require_statistics(c.user()) {
        return c.failure(e);
    }
    let weeks = weeks_of(&q);
    let s = match statistics::compute(&state, weeks).await {
        Ok(s) => s,
        Err(e) => return c.failure(e),
    };
    let p = StatisticsPage {
        lang: c.lang,
        signed_in: Some(c.who("/statistics")),
        weeks,
        since: s.since.map(|d| d.to_string()).unwrap_or_default(),
        reports: s.reports,
        triaged: s.triaged,
        median: s.median_minutes_to_triage,
        rows: s
            .weeks
            .iter()
            .map(|w| WeekRow {
                week: w.week.to_string(),
                category: category_label(c.lang, w.category),
                reports: w.reports,
            })
            .collect(),
        losses: s
            .losses
            .iter()
            .map(|(cur, minor, n)| (cur.clone(), format_amount(*minor, cur), *n))
            .collect(),
        kinds: s
            .indicator_types
            .iter()
            .map(|(k, n)| (c.lang.text(&format!("indicator-{}", k.as_str())), *n))
            .collect(),
    };
    page(p, StatusCode::OK)
}

/// `GET /statistics.csv?weeks=12`: the same CSV as `/api/v1/statistics?format=csv`.
async fn figures_csv(
    State(state): State<Arc<Node>>,
    c: Console,
    Query(q): Query<WeeksQuery>,
) -> Response {
    if let Err(e) = statistics::require_statistics(c.user()) {
        return c.failure(e);
    }
    match statistics::compute(&state, weeks_of(&q)).await {
        Ok(s) => (
            [
                (
                    header::CONTENT_TYPE,
                    "text/csv; charset=utf-8; header=present",
                ),
                (
                    header::CONTENT_DISPOSITION,
                    "attachment; filename=\"response-centre-statistics.csv\"",
                ),
            ],
            statistics::to_csv(&s),
        )
            .into_response(),
        Err(e) => c.failure(e),
    }
}

struct WarningRow {
    title: String,
    body: String,
    category: Option<String>,
    language: String,
    at: When,
}

#[derive(Template)]
#[template(path = "console/warnings.html")]
struct WarningsPage {
    lang: Lang,
    signed_in: Option<Who>,
    errors: Vec<String>,
    categories: Vec<(&'static str, String)>,
    languages: Vec<(&'static str, &'static str)>,
    typed_title: String,
    typed_body: String,
    rows: Vec<WarningRow>,
}

async fn warnings(State(state): State<Arc<Node>>, c: Console) -> Response {
    warnings_page(&state, &c, Vec::new(), &[], StatusCode::OK).await
}

async fn warnings_page(
    state: &Node,
    c: &Console,
    errors: Vec<String>,
    typed: &[(String, String)],
    status: StatusCode,
) -> Response {
    if let Err(e) = triage::require_analyst(c.user()) {
        return c.failure(e);
    }
    let list = match state.store.warnings(100).await {
        Ok(l) => l,
        Err(e) => return c.failure(e.into()),
    };
    let p = WarningsPage {
        lang: c.lang,
        signed_in: Some(c.who("/warnings")),
        errors,
        categories: Category::ALL
            .iter()
            .filter(|k| !k.is_restricted())
            .map(|k| (k.as_str(), category_label(c.lang, *k)))
            .collect(),
        languages: Lang::ALL
            .iter()
            .map(|l| (l.as_str(), l.endonym()))
            .collect(),
        typed_title: value_of(typed, "title").to_owned(),
        typed_body: value_of(typed, "body").to_owned(),
        rows: list
            .iter()
            .map(|w| WarningRow {
                title: w.title.clone(),
                body: w.body.clone(),
                category: w.category.map(|k| category_label(c.lang, k)),
                language: w.language.clone(),
                at: c.when(w.published_at),
            })
            .collect(),
    };
    page(p, status)
}

/// `POST /warnings`: publishes a warning on the public pages and feeds.
async fn publish(
    State(state): State<Arc<Node>>,
    c: Console,
    Form(values): Form<Vec<(String, String)>>,
) -> Response {
    if let Err(refused) = c.check_csrf(value_of(&values, "csrf")) {
        return refused;
    }
    let category = match value_of(&values, "category") {
        "" => None,
        k => match Category::parse(k) {
            Some(k) => Some(k),
            None => return c.failure(statistics::bad("category", format!("no category {k}"))),
        },
    };
    let language = Lang::parse(value_of(&values, "language")).unwrap_or(c.lang);
    match statistics::publish_warning(
        &state,
        c.user(),
        value_of(&values, "title"),
        value_of(&values, "body"),
        category,
        language.as_str(),
    )
    .await
    {
        Ok(_) => see_other("/warnings"),
        Err(NodeError::Invalid(errors)) => {
            let lines = error_lines(c.lang, &errors);
            warnings_page(&state, &c, lines, &values, StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(e) => c.failure(e),
    }
}
