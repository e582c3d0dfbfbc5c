//! The response centre's public side, on its own listener (`node.json` → `public.listen`) so a
//! State can expose it to the internet alone: citizens' reports, a report's status for whoever
//! holds its code and secret, the categories, and the check of a value against the public list.
//! No account; every call is rate-limited per client address.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};

use hanoinet_indicators::report::{Category, PaymentMethod};
use hanoinet_indicators::{IndicatorType, Raw};

use crate::http::error::{ApiError, ErrorCode};
use crate::node::Node;
use crate::ops::reports;

type NodeRef = State<Arc<Node>>;

/// The largest report body, in bytes (a description of 5,000 characters and 20 indicators fit
/// several times over).
pub const MAX_REPORT_BODY: usize = 64 * 1024;

/// What one client address may do per window.
#[derive(Debug, Clone, Copy)]
pub struct Allowance {
    pub max: u32,
    pub window: Duration,
}

/// Reports per client address per hour (`node.json` → `public.reports_per_hour` sets `max`).
pub const REPORTS: Allowance = Allowance {
    max: 10,
    window: Duration::from_secs(3600),
};
/// Status questions per client address per hour (a secret is not guessed at this rate).
pub const STATUS: Allowance = Allowance {
    max: 60,
    window: Duration::from_secs(3600),
};
/// Screenshots per client address per hour.
pub const FILES: Allowance = Allowance {
    max: 20,
    window: Duration::from_secs(3600),
};
/// Checks per client address per minute.
pub const CHECKS: Allowance = Allowance {
    max: 60,
    window: Duration::from_secs(60),
};

pub fn routes() -> crate::http::Routes {
    crate::http::Routes::new()
        .route("/public/v1/reports", post(submit))
        .route("/public/v1/reports/{code}", get(status))
        .route("/public/v1/reports/{code}/screenshots", post(screenshot))
        .route("/public/v1/categories", get(categories))
        .route("/public/v1/check", get(check))
        .route("/healthz", get(|| async { "ok" }))
        .own_body_limits()
}

/// The public listener's router: the JSON API and the citizens' pages.
pub fn router(state: Arc<Node>) -> Router {
    routes()
        .into_router()
        .merge(crate::http::public_pages::routes())
        .merge(crate::http::lookup::routes())
        .with_state(state)
}

fn limited(
    state: &Node,
    kind: &'static str,
    peer: SocketAddr,
    a: Allowance,
) -> Result<(), Box<Response>> {
    state
        .rate
        .take(kind, peer.ip(), a.max, a.window)
        .map_err(|wait| {
            let secs = wait.as_secs().max(1);
            let mut r = ApiError::new(
                ErrorCode::RateLimited,
                format!("too many calls from your address; try again in {secs} seconds"),
            )
            .into_response();
            if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
                r.headers_mut().insert(header::RETRY_AFTER, v);
            }
            Box::new(r)
        })
}

fn language(headers: &HeaderMap) -> &'static str {
    let accept = headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok());
    crate::http::i18n::negotiate(None, None, accept).as_str()
}

/// `POST /public/v1/reports` → `201 {"code", "secret", "indicators": [{"type", "canonical", "hash"}]}`.
async fn submit(
    State(state): NodeRef,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let allowance = Allowance {
        max: state.tunables.public_reports_per_hour,
        ..REPORTS
    };
    if let Err(r) = limited(&state, "report", peer, allowance) {
        return *r;
    }
    let answer = async {
        let json = headers.get(header::CONTENT_TYPE).is_none_or(|v| {
            v.to_str()
                .ok()
                .and_then(|v| v.split(';').next())
                .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"))
        });
        if !json {
            return Err(ApiError::new(
                ErrorCode::UnsupportedMediaType,
                "reports are JSON: send them with Content-Type: application/json",
            ));
        }
        let bytes = crate::http::extract::read_limited(
            body,
            MAX_REPORT_BODY,
            state.tunables.body_read_timeout,
        )
        .await
        .map_err(|e| {
            e.into_api(|| {
                ApiError::new(
                    ErrorCode::PayloadTooLarge,
                    format!("a report is limited to {MAX_REPORT_BODY} bytes"),
                )
            })
        })?;
        let value = hanoinet_core::json::parse(&bytes).map_err(|e| {
            ApiError::new(
                ErrorCode::MalformedJson,
                format!("the body is not JSON: {e}"),
            )
        })?;
        let done = reports::submit(&state, &value, language(&headers)).await?;
        Ok::<_, ApiError>((
            StatusCode::CREATED,
            [(header::CACHE_CONTROL, "no-store")],
            Json(json!({
                "code": done.code,
                "secret": done.secret,
                "indicators": done.indicators,
            })),
        ))
    };
    match answer.await {
        Ok(ok) => ok.into_response(),
        Err(e) => e.into_response(),
    }
}

/// `GET /public/v1/reports/{code}` with `X-Report-Secret` → `{"code", "status"}`.
async fn status(
    State(state): NodeRef,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(code): Path<String>,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = limited(&state, "status", peer, STATUS) {
        return *r;
    }
    let Some(secret) = headers.get("x-report-secret").and_then(|v| v.to_str().ok()) else {
        return ApiError::new(
            ErrorCode::Unauthorized,
            "send the secret you were given with the code in the X-Report-Secret header",
        )
        .into_response();
    };
    match reports::status(&state, &code, secret).await {
        Ok(s) => (
            [(header::CACHE_CONTROL, "no-store")],
            Json(json!({"code": code.trim().to_ascii_uppercase(), "status": s})),
        )
            .into_response(),
        Err(e) => ApiError::from(e).into_response(),
    }
}

/// `POST /public/v1/reports/{code}/screenshots` with `X-Report-Secret` and the image as the body
/// (`image/png` or `image/jpeg`, at most 5 MiB) → `201 {"id", "content_type", "size", "sha256"}`
/// of the image as kept: decoded and written again, without its metadata.
async fn screenshot(
    State(state): NodeRef,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(code): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    if let Err(r) = limited(&state, "file", peer, FILES) {
        return *r;
    }
    let answer = async {
        let secret = headers
            .get("x-report-secret")
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| {
                ApiError::new(
                    ErrorCode::Unauthorized,
                    "send the secret you were given with the code in the X-Report-Secret header",
                )
            })?;
        let image = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| {
                let v = v
                    .split(';')
                    .next()
                    .unwrap_or_default()
                    .trim()
                    .to_ascii_lowercase();
                v == "image/png" || v == "image/jpeg"
            });
        if !image {
            return Err(ApiError::new(
                ErrorCode::UnsupportedMediaType,
                "a screenshot is sent as image/png or image/jpeg",
            ));
        }
        let max = reports::MAX_SCREENSHOT_BYTES;
        let bytes = crate::http::extract::read_limited(body, max, state.tunables.body_read_timeout)
            .await
            .map_err(|e| {
                e.into_api(|| {
                    ApiError::new(
                        ErrorCode::PayloadTooLarge,
                        format!("a screenshot is limited to {max} bytes"),
                    )
                })
            })?;
        let f = reports::attach(&state, &code, secret, &bytes).await?;
        Ok::<_, ApiError>((
            StatusCode::CREATED,
            Json(
                json!({"id": f.id, "content_type": f.content_type, "size": f.size, "sha256": f.sha256}),
            ),
        ))
    };
    match answer.await {
        Ok(ok) => ok.into_response(),
        Err(e) => e.into_response(),
    }
}

/// `GET /public/v1/categories`: what a report may say.
async fn categories() -> Json<Value> {
    Json(json!({
        "categories": reports::categories().into_iter().map(|(c, files)| json!({"code": c, "files": files})).collect::<Vec<_>>(),
        "indicator_types": IndicatorType::ALL,
        "payment_methods": PaymentMethod::ALL,
        "platforms": hanoinet_indicators::social::PLATFORMS.iter().map(|(p, _)| *p).collect::<Vec<_>>(),
        "restricted": [Category::ChildSexualAbuseMaterial],
    }))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CheckQuery {
    #[serde(rename = "type")]
    kind: String,
    value: String,
    bank: Option<String>,
    platform: Option<String>,
}

/// `GET /public/v1/check?type=&value=` → the canonical form, its identity, and whether it is on
/// the public list (confirmed, TLP:CLEAR, unexpired).
async fn check(
    State(state): NodeRef,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    query: Result<Query<CheckQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    if let Err(r) = limited(&state, "check", peer, CHECKS) {
        return *r;
    }
    let answer = async {
        let Query(q) =
            query.map_err(|e| ApiError::new(ErrorCode::ValidationFailed, e.body_text()))?;
        let kind = IndicatorType::parse(&q.kind).ok_or_else(|| {
            crate::http::error::validation_failed(vec![crate::http::error::field_error(
                "type",
                hanoinet_core::request::FieldCode::Invalid,
                format!(
                    "type must be one of {}",
                    IndicatorType::ALL
                        .iter()
                        .map(|t| t.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )])
        })?;
        let raw = Raw {
            value: &q.value,
            bank: q.bank.as_deref(),
            platform: q.platform.as_deref(),
        };
        let (ind, listing) = reports::check(&state, kind, &raw).await?;
        Ok::<_, ApiError>(Json(json!({
            "type": ind.kind,
            "canonical": ind.canonical,
            "hash": ind.hash,
            "listed": listing.is_some(),
            "confirmed_at": listing.as_ref().and_then(|l| l.confirmed_at).map(|t| t.to_string()),
            "expires": listing.as_ref().and_then(|l| l.expires_at).map(|t| t.to_string()),
            "reports": listing.as_ref().map(|l| l.reports),
        })))
    };
    match answer.await {
        Ok(ok) => ok.into_response(),
        Err(e) => e.into_response(),
    }
}
