//! The response centre's analysts in the console: the queue of citizens' reports (grouped by
//! the indicators they share), a report's page with its indicators, related reports, notes and
//! screenshots, and its actions (decide an indicator, add a note, close, escalate to a draft
//! request). Every action goes through the same `ops::triage` / `ops::escalate` use cases as
//! `/api/v1/reports`, so the rules and the ledger entries are the API's.

use std::sync::Arc;

use askama::Template;
use axum::Router;
use axum::extract::{Form, Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};

use hanoinet_core::request::FieldError;
use hanoinet_indicators::Tlp;
use hanoinet_indicators::report::{Category, ReportStatus, format_amount};
use hanoinet_store::{IndicatorLoss, Report, StoredIndicator};

use super::requests::{Peer, peers, value_of};
use super::{Console, When, Who, page, see_other};
use crate::error::NodeError;
use crate::http::i18n::Lang;
use crate::node::Node;
use crate::ops::triage::{self, Queue};

pub fn routes() -> Router<Arc<Node>> {
    Router::new()
        .route("/reports", get(queue))
        .route("/reports/{id}", get(show))
        .route("/reports/{id}/screenshots/{file}", get(screenshot))
        .route("/reports/{id}/notes", post(add_note))
        .route("/reports/{id}/close", post(close))
        .route("/reports/{id}/escalate", post(escalate))
        .route("/indicators/{hash}/decision", post(decide))
}

/// A report in a list.
pub(super) struct ReportRow {
    pub id: String,
    pub code: String,
    pub category: String,
    pub status: String,
    pub received: When,
    pub loss: Option<String>,
}

pub(super) fn report_row(c: &Console, r: &Report) -> ReportRow {
    ReportRow {
        id: r.id.clone(),
        code: r.code.clone(),
        category: category_label(c.lang, r.category),
        status: status_label(c.lang, r.status),
        received: c.when(r.created_at),
        loss: loss_text(r),
    }
}

pub(super) fn category_label(lang: Lang, c: Category) -> String {
    lang.text(&format!("category-{}", c.as_str()))
}

fn status_label(lang: Lang, s: ReportStatus) -> String {
    lang.text(&format!("report-status-{}", s.as_str()))
}

fn loss_text(r: &Report) -> Option<String> {
    r.loss
        .as_ref()
        .map(|(minor, cur)| format!("{} {cur}", format_amount(*minor, cur)))
}

/// An indicator in a list or on a report's page.
pub(super) struct IndicatorRow {
    pub hash: String,
    pub kind: String,
    /// The canonical value; `None` for a restricted one the user may not see.
    pub value: Option<String>,
    pub status: String,
    pub tlp: Option<&'static str>,
    /// `TLP:CLEAR` and so on (the standard's own tag, never translated).
    pub tlp_tag: String,
    pub expires: Option<When>,
    pub reports: i64,
    pub first_seen: When,
    pub last_seen: When,
    pub losses: Vec<String>,
    /// "Named by N reports", in the user's language.
    pub seen: String,
}

impl IndicatorRow {
    /// Whether the indicator carries TLP level `v` (the decision form's preselection).
    pub fn has_tlp(&self, v: &str) -> bool {
        self.tlp == Some(v)
    }
}

/// `reveal`: a restricted indicator's value is shown (only on its revealed report's page).
pub(super) fn indicator_row(
    c: &Console,
    i: &StoredIndicator,
    losses: &[IndicatorLoss],
    reveal: bool,
) -> IndicatorRow {
    IndicatorRow {
        hash: i.hash.clone(),
        kind: c.lang.text(&format!("indicator-{}", i.kind.as_str())),
        value: (!i.restricted || reveal).then(|| i.canonical.clone()),
        status: c
            .lang
            .text(&format!("indicator-status-{}", i.status.as_str())),
        tlp: i.tlp.map(Tlp::as_str),
        tlp_tag: i
            .tlp
            .map(|t| format!("TLP:{}", t.as_str().to_uppercase()))
            .unwrap_or_default(),
        expires: i.expires_at.map(|t| c.when(t)),
        reports: i.reports,
        first_seen: c.when(i.first_seen),
        last_seen: c.when(i.last_seen),
        losses: losses
            .iter()
            .filter(|l| l.hash == i.hash)
            .map(|l| format!("{} {}", format_amount(l.minor, &l.currency), l.currency))
            .collect(),
        seen: c
            .lang
            .text_with("indicator-seen", &[("reports", i.reports.to_string())]),
    }
}

/// The TLP levels a confirmation may carry, with their labels.
pub(super) fn tlp_options(lang: Lang) -> Vec<(&'static str, String)> {
    [Tlp::Clear, Tlp::Green, Tlp::Amber, Tlp::Red]
        .iter()
        .map(|t| (t.as_str(), lang.text(&format!("tlp-{}", t.as_str()))))
        .collect()
}

/// The day a confirmation lapses unless the analyst says otherwise: 90 days on.
pub(super) fn default_expiry(state: &Node) -> String {
    (state.clock.now() + jiff::SignedDuration::from_hours(24 * 90))
        .strftime("%Y-%m-%d")
        .to_string()
}

/// The messages of a refused form, each with the field it names.
pub(super) fn error_lines(lang: Lang, errors: &[FieldError]) -> Vec<String> {
    errors
        .iter()
        .map(|e| format!("{}: {}", e.field, super::forms::error_text(lang, e)))
        .collect()
}

#[derive(Deserialize)]
struct QueueQuery {
    queue: Option<String>,
    status: Option<String>,
    indicator: Option<String>,
}

/// A filter link of the queue.
struct Filter {
    href: String,
    label: String,
    current: bool,
}

#[derive(Template)]
#[template(path = "console/reports.html")]
struct QueuePage {
    lang: Lang,
    signed_in: Option<Who>,
    restricted: bool,
    may_restricted: bool,
    filters: Vec<Filter>,
    /// The indicator the list is narrowed to.
    shared: Option<IndicatorRow>,
    rows: Vec<ReportRow>,
    /// Indicators named by more than one report: the groups.
    groups: Vec<IndicatorRow>,
}

/// `GET /reports`: the newest reports of a queue, by status, or those naming one indicator.
async fn queue(
    State(state): State<Arc<Node>>,
    c: Console,
    Query(q): Query<QueueQuery>,
) -> Response {
    let restricted = q.queue.as_deref() == Some("restricted");
    let status = match q.status.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => match ReportStatus::parse(s) {
            Some(s) => Some(s),
            None => return c.failure(NodeError::not_found(format!("no status {s}"))),
        },
    };
    let queue = if restricted {
        Queue::Restricted
    } else {
        Queue::Ordinary
    };
    let indicator = q.indicator.filter(|h| !h.is_empty());
    let reports = match triage::list_reports(
        &state,
        c.user(),
        queue,
        status,
        indicator.clone(),
        None,
        100,
    )
    .await
    {
        Ok(r) => r,
        Err(e) => return c.failure(e),
    };
    let shared = match &indicator {
        Some(h) => match triage::indicator(&state, c.user(), h).await {
            Ok(f) => Some(indicator_row(&c, &f.indicator, &f.losses, false)),
            Err(e) => return c.failure(e),
        },
        None => None,
    };
    let groups = match triage::list_indicators(&state, c.user(), None, None, 20).await {
        Ok(list) => list
            .iter()
            .filter(|f| f.indicator.reports > 1 && f.indicator.restricted == restricted)
            .map(|f| indicator_row(&c, &f.indicator, &f.losses, false))
            .collect(),
        Err(e) => return c.failure(e),
    };
    let base = if restricted {
        "/reports?queue=restricted&"
    } else {
        "/reports?"
    };
    let mut filters = vec![Filter {
        href: base.trim_end_matches(['?', '&']).to_owned(),
        label: c.lang.text("reports-all"),
        current: status.is_none() && indicator.is_none(),
    }];
    for s in [
        ReportStatus::Received,
        ReportStatus::InReview,
        ReportStatus::Confirmed,
        ReportStatus::Closed,
    ] {
        filters.push(Filter {
            href: format!("{base}status={}", s.as_str()),
            label: status_label(c.lang, s),
            current: status == Some(s),
        });
    }
    let p = QueuePage {
        lang: c.lang,
        signed_in: Some(c.who(if restricted {
            "/reports?queue=restricted"
        } else {
            "/reports"
        })),
        restricted,
        may_restricted: c.user().role.may_open_restricted(),
        filters,
        shared,
        rows: reports.iter().map(|r| report_row(&c, r)).collect(),
        groups,
    };
    page(p, StatusCode::OK)
}

struct NoteRow {
    at: When,
    body: String,
}

struct Related {
    id: String,
    code: String,
    hash: String,
}

#[derive(Template)]
#[template(path = "console/report.html")]
struct ReportPage {
    lang: Lang,
    signed_in: Option<Who>,
    errors: Vec<String>,
    id: String,
    code: String,
    category: String,
    status: String,
    open: bool,
    revealed: bool,
    description: Option<String>,
    contact: Option<String>,
    occurred: Option<When>,
    received: When,
    triaged: Option<When>,
    loss: Option<String>,
    payment: Option<String>,
    language: String,
    request_id: Option<String>,
    referral: Option<String>,
    indicators: Vec<IndicatorRow>,
    related: Vec<Related>,
    /// The related reports, each once (the escalation's choice).
    others: Vec<(String, String)>,
    notes: Vec<NoteRow>,
    screenshots: Vec<String>,
    tlps: Vec<(&'static str, String)>,
    expiry: String,
    peers: Vec<Peer>,
}

#[derive(Deserialize)]
struct ShowQuery {
    reveal: Option<String>,
}

async fn show(
    State(state): State<Arc<Node>>,
    c: Console,
    Path(id): Path<String>,
    Query(q): Query<ShowQuery>,
) -> Response {
    let reveal = q.reveal.as_deref() == Some("1");
    report_page(&state, &c, &id, reveal, Vec::new(), StatusCode::OK).await
}

/// The report's page (opening it: the first opening puts it `in_review`, and each is logged).
async fn report_page(
    state: &Node,
    c: &Console,
    id: &str,
    reveal: bool,
    errors: Vec<String>,
    status: StatusCode,
) -> Response {
    let f = match triage::open_report(state, c.user(), id, reveal).await {
        Ok(f) => f,
        Err(e) => return c.failure(e),
    };
    let hashes: Vec<String> = f.indicators.iter().map(|i| i.hash.clone()).collect();
    let losses = match state.store.indicator_losses(&hashes).await {
        Ok(l) => l,
        Err(e) => return c.failure(e.into()),
    };
    let r = &f.report;
    let policy = &state.policy;
    let p = ReportPage {
        lang: c.lang,
        signed_in: Some(c.who("/reports")),
        errors,
        id: r.id.clone(),
        code: r.code.clone(),
        category: category_label(c.lang, r.category),
        status: status_label(c.lang, r.status),
        open: r.status != ReportStatus::Closed,
        revealed: f.revealed,
        description: (f.revealed && !r.description.is_empty()).then(|| r.description.clone()),
        contact: if f.revealed { r.contact.clone() } else { None },
        occurred: r.occurred_at.map(|t| c.when(t)),
        received: c.when(r.created_at),
        triaged: r.triaged_at.map(|t| c.when(t)),
        loss: loss_text(r),
        payment: r
            .payment_method
            .as_ref()
            .map(|m| c.lang.text(&format!("payment-{m}"))),
        language: r.language.clone(),
        request_id: r.request_id.clone(),
        referral: (r.restricted && !policy.csam_referral.is_empty())
            .then(|| policy.csam_referral.clone()),
        indicators: f
            .indicators
            .iter()
            .map(|i| indicator_row(c, i, &losses, f.revealed))
            .collect(),
        related: f
            .related
            .iter()
            .map(|(id, code, hash)| Related {
                id: id.clone(),
                code: code.clone(),
                hash: hash.clone(),
            })
            .collect(),
        others: {
            let mut seen = std::collections::BTreeSet::new();
            f.related
                .iter()
                .filter(|(id, _, _)| seen.insert(id.clone()))
                .map(|(id, code, _)| (id.clone(), code.clone()))
                .collect()
        },
        notes: f
            .notes
            .iter()
            .map(|n| NoteRow {
                at: c.when(n.created_at),
                body: n.body.clone(),
            })
            .collect(),
        screenshots: if f.revealed {
            f.files.iter().map(|s| s.id.clone()).collect()
        } else {
            Vec::new()
        },
        tlps: tlp_options(c.lang),
        expiry: default_expiry(state),
        peers: peers(state),
    };
    page(p, status)
}

/// A form on a report's page was refused: the page again, its errors first; any other
/// refusal is the page that says so.
async fn again(state: &Node, c: &Console, id: &str, e: NodeError) -> Response {
    match e {
        NodeError::Invalid(errors) => {
            let lines = error_lines(c.lang, &errors);
            report_page(state, c, id, false, lines, StatusCode::UNPROCESSABLE_ENTITY).await
        }
        e => c.failure(e),
    }
}

async fn screenshot(
    State(state): State<Arc<Node>>,
    c: Console,
    Path((id, file)): Path<(String, String)>,
) -> Response {
    match triage::screenshot(&state, c.user(), &id, &file).await {
        // Served as an image of this origin only (the console's CSP allows `img-src 'self'`),
        // never sniffed into anything else.
        Ok((kind, data)) => ([(header::CONTENT_TYPE, kind)], data).into_response(),
        Err(e) => c.failure(e),
    }
}

async fn add_note(
    State(state): State<Arc<Node>>,
    c: Console,
    Path(id): Path<String>,
    Form(values): Form<Vec<(String, String)>>,
) -> Response {
    if let Err(refused) = c.check_csrf(value_of(&values, "csrf")) {
        return refused;
    }
    let body = json!({"body": value_of(&values, "body")});
    match triage::add_note(&state, c.user(), &id, &body).await {
        Ok(_) => see_other(&format!("/reports/{id}#notes")),
        Err(e) => again(&state, &c, &id, e).await,
    }
}

async fn close(
    State(state): State<Arc<Node>>,
    c: Console,
    Path(id): Path<String>,
    Form(values): Form<Vec<(String, String)>>,
) -> Response {
    if let Err(refused) = c.check_csrf(value_of(&values, "csrf")) {
        return refused;
    }
    match triage::close_report(&state, c.user(), &id).await {
        Ok(_) => see_other(&format!("/reports/{id}")),
        Err(e) => again(&state, &c, &id, e).await,
    }
}

/// `POST /reports/{id}/escalate`: a draft request from this report and the related reports
/// ticked; the report's page then names the draft, which an officer submits.
async fn escalate(
    State(state): State<Arc<Node>>,
    c: Console,
    Path(id): Path<String>,
    Form(values): Form<Vec<(String, String)>>,
) -> Response {
    if let Err(refused) = c.check_csrf(value_of(&values, "csrf")) {
        return refused;
    }
    let others: Vec<Value> = values
        .iter()
        .filter(|(k, _)| k == "reports")
        .map(|(_, v)| Value::from(v.as_str()))
        .collect();
    let body = json!({
        "type": value_of(&values, "type"),
        "to": value_of(&values, "to"),
        "reports": others,
    });
    match crate::ops::escalate::escalate(&state, c.user(), &id, &body).await {
        Ok(_) => see_other(&format!("/reports/{id}")),
        Err(e) => again(&state, &c, &id, e).await,
    }
}

/// `POST /indicators/{hash}/decision`: confirm (TLP, expiry day) or false positive; back to
/// the report the form was on, or to the indicator's page.
async fn decide(
    State(state): State<Arc<Node>>,
    c: Console,
    Path(hash): Path<String>,
    Form(values): Form<Vec<(String, String)>>,
) -> Response {
    if let Err(refused) = c.check_csrf(value_of(&values, "csrf")) {
        return refused;
    }
    let decision = value_of(&values, "decision");
    let body = if decision == "confirm" {
        // A day typed in the form lapses at the end of that day (UTC).
        let day = value_of(&values, "expires").trim();
        let expires = match day.parse::<jiff::civil::Date>() {
            Ok(d) => d
                .at(23, 59, 59, 0)
                .to_zoned(jiff::tz::TimeZone::UTC)
                .map(|z| z.timestamp().to_string())
                .unwrap_or_else(|_| day.to_owned()),
            Err(_) => day.to_owned(),
        };
        json!({"decision": decision, "tlp": value_of(&values, "tlp"), "expires": expires})
    } else {
        json!({"decision": decision})
    };
    // Only a report id goes back (never a free URL: no open redirect).
    let report = value_of(&values, "report");
    let back = if !report.is_empty() && uuid::Uuid::parse_str(report).is_ok() {
        Some(report.to_owned())
    } else {
        None
    };
    match triage::decide(&state, c.user(), &hash, &body).await {
        Ok(_) => match back {
            Some(r) => see_other(&format!("/reports/{r}#indicators")),
            None => see_other(&format!("/indicators/{hash}")),
        },
        Err(NodeError::Invalid(errors)) => match back {
            Some(r) => again(&state, &c, &r, NodeError::Invalid(errors)).await,
            None => {
                super::centre_figures::indicator_page(
                    &state,
                    &c,
                    &hash,
                    error_lines(c.lang, &errors),
                    StatusCode::UNPROCESSABLE_ENTITY,
                )
                .await
            }
        },
        Err(e) => c.failure(e),
    }
}
