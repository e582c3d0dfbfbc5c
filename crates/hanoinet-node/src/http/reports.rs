//! The response centre's analyst API: `/api/v1/reports` and `/api/v1/indicators`.

use std::sync::Arc;

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};

use hanoinet_indicators::report::ReportStatus;
use hanoinet_indicators::{IndicatorStatus, IndicatorType};
use hanoinet_store::{Report, StoredIndicator};

use crate::http::error::{ApiError, ApiResult, ErrorCode};
use crate::http::extract::{AuthUser, parse_json, parse_json_or_empty};
use crate::node::Node;
use crate::ops::triage::{self, IndicatorFile, Queue, ReportFile};

type NodeRef = State<Arc<Node>>;

pub fn routes() -> crate::http::Routes {
    crate::http::Routes::new()
        .route("/api/v1/reports", get(list_reports))
        .route("/api/v1/reports/{id}", get(show_report))
        .route("/api/v1/reports/{id}/notes", post(add_note))
        .route("/api/v1/reports/{id}/screenshots/{file}", get(screenshot))
        .route("/api/v1/reports/{id}/close", post(close_report))
        .route("/api/v1/reports/{id}/escalate", post(escalate))
        .route("/api/v1/statistics", get(statistics))
        .route("/api/v1/warnings", post(publish_warning))
        .route("/api/v1/indicators", get(list_indicators))
        .route("/api/v1/indicators/{hash}", get(show_indicator))
        .route("/api/v1/indicators/{hash}/decision", post(decide))
        .own_body_limits()
}

use hanoinet_indicators::report::format_amount as amount;

/// A report as an analyst sees it; restricted content only when revealed.
pub fn report_view(r: &Report, revealed: bool) -> Value {
    json!({
        "id": r.id,
        "code": r.code,
        "category": r.category,
        "restricted": r.restricted,
        "status": r.status,
        "description": if revealed { Value::String(r.description.clone()) } else { Value::Null },
        "occurred_at": r.occurred_at.map(|t| t.to_string()),
        "loss": r.loss.as_ref().map(|(minor, cur)| json!({"amount": amount(*minor, cur), "currency": cur})),
        "payment_method": r.payment_method,
        "contact": if revealed { r.contact.clone() } else { None },
        "language": r.language,
        "request_id": r.request_id,
        "created_at": r.created_at.to_string(),
        "triaged_at": r.triaged_at.map(|t| t.to_string()),
        "closed_at": r.closed_at.map(|t| t.to_string()),
    })
}

/// An indicator as an analyst sees it; the value of a restricted one only when revealed.
pub fn indicator_view(i: &StoredIndicator, revealed: bool) -> Value {
    json!({
        "hash": i.hash,
        "type": i.kind,
        "canonical": if revealed || !i.restricted { Value::String(i.canonical.clone()) } else { Value::Null },
        "restricted": i.restricted,
        "status": i.status,
        "tlp": i.tlp,
        "expires": i.expires_at.map(|t| t.to_string()),
        "decided_by": i.decided_by,
        "decided_at": i.decided_at.map(|t| t.to_string()),
        "reports": i.reports,
        "first_seen": i.first_seen.to_string(),
        "last_seen": i.last_seen.to_string(),
    })
}

fn indicator_file_view(f: &IndicatorFile) -> Value {
    let mut v = indicator_view(&f.indicator, false);
    v["losses"] = f
        .losses
        .iter()
        .map(|l| json!({"currency": l.currency, "amount": amount(l.minor, &l.currency), "reports": l.reports}))
        .collect();
    v
}

fn report_file_view(f: &ReportFile) -> Value {
    let mut v = report_view(&f.report, f.revealed);
    v["indicators"] = f
        .indicators
        .iter()
        .map(|i| indicator_view(i, f.revealed))
        .collect();
    v["related"] = f
        .related
        .iter()
        .map(|(id, code, hash)| json!({"id": id, "code": code, "shared": hash}))
        .collect();
    v["screenshots"] = f
        .files
        .iter()
        .map(|x| json!({"id": x.id, "content_type": x.content_type, "size": x.size, "sha256": x.sha256, "created_at": x.created_at.to_string()}))
        .collect();
    v["notes"] = f
        .notes
        .iter()
        .map(|n| json!({"id": n.id, "author": n.author_id, "body": n.body, "created_at": n.created_at.to_string()}))
        .collect();
    v
}

/// An optional parameter of a closed set, or the `422` naming it.
fn optional<T>(
    value: Option<&str>,
    parse: fn(&str) -> Option<T>,
    name: &str,
    expected: &str,
) -> ApiResult<Option<T>> {
    value
        .map(|v| parse(v).ok_or_else(|| bad_param(name, expected, v)))
        .transpose()
}

fn bad_param(name: &str, expected: &str, got: &str) -> ApiError {
    crate::http::error::validation_failed(vec![crate::http::error::field_error(
        name,
        hanoinet_core::request::FieldCode::Invalid,
        format!("{name} must be {expected}, got {got:?}"),
    )])
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReportQuery {
    queue: Option<String>,
    status: Option<String>,
    indicator: Option<String>,
    before: Option<String>,
    limit: Option<i64>,
}

/// `GET /api/v1/reports`: a queue, newest first; `next_before` continues it.
async fn list_reports(
    State(state): NodeRef,
    AuthUser(user): AuthUser,
    query: Result<Query<ReportQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Json<Value>> {
    let Query(q) = query.map_err(|e| ApiError::new(ErrorCode::ValidationFailed, e.body_text()))?;
    let queue = match q.queue.as_deref() {
        None | Some("ordinary") => Queue::Ordinary,
        Some("restricted") => Queue::Restricted,
        Some(other) => return Err(bad_param("queue", "ordinary or restricted", other)),
    };
    let status = optional(
        q.status.as_deref(),
        ReportStatus::parse,
        "status",
        "received, in_review, confirmed or closed",
    )?;
    if let Some(h) = q.indicator.as_deref()
        && !hanoinet_indicators::is_identity(h)
    {
        return Err(bad_param(
            "indicator",
            "an indicator hash (64 lower-case hex digits)",
            h,
        ));
    }
    let limit = q.limit.unwrap_or(50);
    if !(1..=triage::MAX_LIST).contains(&limit) {
        return Err(bad_param("limit", "1 to 200", &limit.to_string()));
    }
    let list =
        triage::list_reports(&state, &user, queue, status, q.indicator, q.before, limit).await?;
    let next = (list.len() as i64 == limit)
        .then(|| list.last().map(|r| r.id.clone()))
        .flatten();
    Ok(Json(json!({
        "reports": list.iter().map(|r| report_view(r, !r.restricted)).collect::<Vec<_>>(),
        "next_before": next,
    })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ShowQuery {
    reveal: Option<bool>,
}

async fn show_report(
    State(state): NodeRef,
    AuthUser(user): AuthUser,
    Path(id): Path<String>,
    query: Result<Query<ShowQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Json<Value>> {
    let Query(q) = query.map_err(|e| ApiError::new(ErrorCode::ValidationFailed, e.body_text()))?;
    let file = triage::open_report(&state, &user, &id, q.reveal.unwrap_or(false)).await?;
    Ok(Json(report_file_view(&file)))
}

async fn add_note(
    State(state): NodeRef,
    AuthUser(user): AuthUser,
    Path(id): Path<String>,
    body: Body,
) -> ApiResult<(axum::http::StatusCode, Json<Value>)> {
    let body = parse_json(&state, body).await?;
    let n = triage::add_note(&state, &user, &id, &body).await?;
    Ok((
        axum::http::StatusCode::CREATED,
        Json(
            json!({"id": n.id, "author": n.author_id, "body": n.body, "created_at": n.created_at.to_string()}),
        ),
    ))
}

async fn close_report(
    State(state): NodeRef,
    AuthUser(user): AuthUser,
    Path(id): Path<String>,
    body: Body,
) -> ApiResult<Json<Value>> {
    let body = parse_json_or_empty(&state, body).await?;
    if !(body.is_null() || body.as_object().is_some_and(|o| o.is_empty())) {
        return Err(bad_param("body", "empty", &body.to_string()));
    }
    let r = triage::close_report(&state, &user, &id).await?;
    Ok(Json(report_view(&r, !r.restricted)))
}

/// `POST /api/v1/reports/{id}/escalate` → `201 {"request": id, "status": "draft", "type", "to"}`.
async fn escalate(
    State(state): NodeRef,
    AuthUser(user): AuthUser,
    Path(id): Path<String>,
    body: Body,
) -> ApiResult<(axum::http::StatusCode, Json<Value>)> {
    let body = parse_json(&state, body).await?;
    let rec = crate::ops::escalate::escalate(&state, &user, &id, &body).await?;
    Ok((
        axum::http::StatusCode::CREATED,
        Json(json!({
            "request": rec.id.to_string(),
            "status": rec.status,
            "type": rec.request_type,
            "to": rec.to.as_str(),
        })),
    ))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct IndicatorQuery {
    status: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
    limit: Option<i64>,
}

/// `GET /api/v1/indicators`: most reported first, with counts, first/last seen and losses.
async fn list_indicators(
    State(state): NodeRef,
    AuthUser(user): AuthUser,
    query: Result<Query<IndicatorQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Json<Value>> {
    let Query(q) = query.map_err(|e| ApiError::new(ErrorCode::ValidationFailed, e.body_text()))?;
    let status = optional(
        q.status.as_deref(),
        IndicatorStatus::parse,
        "status",
        "reported, confirmed or false_positive",
    )?;
    let kind = optional(
        q.kind.as_deref(),
        IndicatorType::parse,
        "type",
        "an indicator type",
    )?;
    let limit = q.limit.unwrap_or(50);
    if !(1..=triage::MAX_LIST).contains(&limit) {
        return Err(bad_param("limit", "1 to 200", &limit.to_string()));
    }
    let list = triage::list_indicators(&state, &user, status, kind, limit).await?;
    Ok(Json(
        json!({"indicators": list.iter().map(indicator_file_view).collect::<Vec<_>>()}),
    ))
}

fn check_hash(hash: &str) -> ApiResult<()> {
    if hanoinet_indicators::is_identity(hash) {
        Ok(())
    } else {
        Err(bad_param(
            "hash",
            "an indicator hash (64 lower-case hex digits)",
            hash,
        ))
    }
}

async fn show_indicator(
    State(state): NodeRef,
    AuthUser(user): AuthUser,
    Path(hash): Path<String>,
) -> ApiResult<Json<Value>> {
    check_hash(&hash)?;
    let f = triage::indicator(&state, &user, &hash).await?;
    Ok(Json(indicator_file_view(&f)))
}

async fn decide(
    State(state): NodeRef,
    AuthUser(user): AuthUser,
    Path(hash): Path<String>,
    body: Body,
) -> ApiResult<Json<Value>> {
    check_hash(&hash)?;
    let body = parse_json(&state, body).await?;
    let f = triage::decide(&state, &user, &hash, &body).await?;
    Ok(Json(indicator_file_view(&f)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StatisticsQuery {
    weeks: Option<i64>,
    format: Option<String>,
}

/// The statistics as JSON.
pub fn statistics_view(s: &crate::ops::statistics::Statistics) -> Value {
    json!({
        "since": s.since.map(|d| d.to_string()),
        "reports": s.reports,
        "weeks": s.weeks.iter().map(|w| json!({"week": w.week.to_string(), "category": w.category, "reports": w.reports})).collect::<Vec<_>>(),
        "losses": s.losses.iter().map(|(c, m, n)| json!({"currency": c, "amount": amount(*m, c), "reports": n})).collect::<Vec<_>>(),
        "indicator_types": s.indicator_types.iter().map(|(t, n)| json!({"type": t, "indicators": n})).collect::<Vec<_>>(),
        "time_to_triage": {"reports_triaged": s.triaged, "median_minutes": s.median_minutes_to_triage},
    })
}

/// `GET /api/v1/statistics?weeks=12&format=json|csv`: reports per category per week, losses,
/// indicator types, time to triage (officers, supervisors, analysts); no personal data.
async fn statistics(
    State(state): NodeRef,
    AuthUser(user): AuthUser,
    query: Result<Query<StatisticsQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<axum::response::Response> {
    use axum::response::IntoResponse;
    let Query(q) = query.map_err(|e| ApiError::new(ErrorCode::ValidationFailed, e.body_text()))?;
    crate::ops::statistics::require_statistics(&user)?;
    let weeks = q.weeks.unwrap_or(12);
    if !(1..=crate::ops::statistics::MAX_WEEKS).contains(&weeks) {
        return Err(bad_param("weeks", "1 to 104", &weeks.to_string()));
    }
    let s = crate::ops::statistics::compute(&state, weeks).await?;
    match q.format.as_deref() {
        None | Some("json") => Ok(Json(statistics_view(&s)).into_response()),
        Some("csv") => {
            let csv = crate::ops::statistics::to_csv(&s);
            Ok((
                [
                    (
                        axum::http::header::CONTENT_TYPE,
                        "text/csv; charset=utf-8; header=present",
                    ),
                    (
                        axum::http::header::CONTENT_DISPOSITION,
                        "attachment; filename=\"response-centre-statistics.csv\"",
                    ),
                ],
                csv,
            )
                .into_response())
        }
        Some(other) => Err(bad_param("format", "json or csv", other)),
    }
}

/// `POST /api/v1/warnings` `{"title", "body", "category"?, "language"?}` → `201` the warning.
async fn publish_warning(
    State(state): NodeRef,
    AuthUser(user): AuthUser,
    body: Body,
) -> ApiResult<(axum::http::StatusCode, Json<Value>)> {
    let body = parse_json(&state, body).await?;
    crate::ops::triage::require_analyst(&user)?;
    let Some(obj) = body.as_object() else {
        return Err(bad_param(
            "body",
            "a JSON object {title, body, category, language}",
            &body.to_string(),
        ));
    };
    if let Some(k) = obj
        .keys()
        .find(|k| !matches!(k.as_str(), "title" | "body" | "category" | "language"))
    {
        return Err(bad_param(
            k,
            "absent: not a field of a warning (title, body, category, language)",
            k,
        ));
    }
    // Each member is a string when present (a number or an object is named, never read as
    // absent).
    let string = |k: &str, expected: &str| match obj.get(k) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.as_str())),
        Some(other) => Err(bad_param(k, expected, &other.to_string())),
    };
    let title = string("title", "a string")?.unwrap_or_default().to_owned();
    let text = string("body", "a string")?.unwrap_or_default().to_owned();
    let category = match string("category", "a report category")? {
        None => None,
        Some(c) => Some(
            hanoinet_indicators::report::Category::parse(c)
                .ok_or_else(|| bad_param("category", "a report category", c))?,
        ),
    };
    let language = match string("language", "ar, en, es, fr, ru, vi or zh")? {
        None => crate::http::i18n::Lang::En,
        Some(l) => crate::http::i18n::Lang::parse(l)
            .ok_or_else(|| bad_param("language", "ar, en, es, fr, ru, vi or zh", l))?,
    };
    let w = crate::ops::statistics::publish_warning(
        &state,
        &user,
        &title,
        &text,
        category,
        language.as_str(),
    )
    .await?;
    Ok((axum::http::StatusCode::CREATED, Json(warning_view(&w))))
}

pub fn warning_view(w: &hanoinet_store::Warning) -> Value {
    json!({
        "id": w.id,
        "title": w.title,
        "body": w.body,
        "category": w.category,
        "language": w.language,
        "published_at": w.published_at.to_string(),
    })
}

/// `GET /api/v1/reports/{id}/screenshots/{file}`: a screenshot's bytes (analysts).
async fn screenshot(
    State(state): NodeRef,
    AuthUser(user): AuthUser,
    Path((id, file)): Path<(String, String)>,
) -> ApiResult<axum::response::Response> {
    use axum::response::IntoResponse;
    let (kind, data) = triage::screenshot(&state, &user, &id, &file).await?;
    Ok((
        [
            (axum::http::header::CONTENT_TYPE, kind),
            (
                axum::http::header::CONTENT_DISPOSITION,
                "attachment".to_owned(),
            ),
            (axum::http::header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        data,
    )
        .into_response())
}
