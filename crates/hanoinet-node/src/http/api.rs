//! The REST API (`/api/v1`), authenticated with bearer tokens.

use crate::ops::messages::Extended;
use hanoinet_core::request::FieldCode;
use std::sync::Arc;

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};

use hanoinet_core::request::{self, Direction, FieldError, Move};
use hanoinet_store::ListOrder;

use crate::http::error::{ApiError, ApiResult, ErrorCode, field_error, validation_failed};
use crate::http::extract::{AuthUser, officer_action, parse_json, parse_json_or_empty};
use crate::http::views::{MessageView, RequestView, message_view, request_view};
use crate::node::Node;
use crate::ops::access::require_officer;
use crate::ops::moves::Moved;
use crate::ops::requests::{self as requests, MAX_LIST, load};

type NodeRef = State<Arc<Node>>;

pub fn routes() -> crate::http::Routes {
    crate::http::Routes::new()
        .route("/api/v1/requests", post(create_request).get(list_requests))
        .route("/api/v1/requests/{id}", get(show_request))
        .route("/api/v1/requests/{id}/responses", post(respond))
        .route("/api/v1/requests/{id}/transitions", post(transition))
        // The same, by another name.
        .route("/api/v1/requests/{id}/status", post(transition))
        .route("/api/v1/requests/{id}/approve", post(approve))
        .route("/api/v1/requests/{id}/status-enquiry", post(status_enquiry))
        .route("/api/v1/requests/{id}/extension", post(extension))
        .route(
            "/api/v1/requests/{id}/confidentiality-notice",
            post(confidentiality_notice),
        )
        .route("/api/v1/openapi.json", get(openapi))
        .route("/api/v1/catalogue", get(catalogue))
        .route("/api/v1/registry", get(registry).post(install_registry))
        .route("/healthz", get(health))
        .route("/readyz", get(ready))
        .route("/metrics", get(metrics))
        .own_body_limits()
}

async fn create_request(
    State(state): NodeRef,
    AuthUser(user): AuthUser,
    extensions: axum::http::Extensions,
    body: Body,
) -> ApiResult<(StatusCode, Json<RequestView>)> {
    require_officer(&user)?;
    let body = parse_json(&state, body).await?;
    let (new, draft) = requests::parse_new(body)?;
    let key = extensions
        .get::<crate::http::idempotency::Claim>()
        .map(|c| c.0.clone());
    let rec = requests::create_outgoing_keyed(&state, &user, new, draft, key).await?;
    Ok((StatusCode::CREATED, Json(request_view(&state, &rec))))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    direction: Option<String>,
    status: Option<String>,
    #[serde(rename = "type")]
    request_type: Option<String>,
    peer: Option<String>,
    urgency: Option<String>,
    since: Option<String>,
    until: Option<String>,
    cursor: Option<String>,
    limit: Option<i64>,
    /// `created_at` (newest first, the default) or `time_limit` (earliest first).
    sort: Option<String>,
}

/// Reads an optional query parameter with `parse`, naming the parameter when it fails.
fn param<T>(
    errors: &mut Vec<FieldError>,
    name: &str,
    value: Option<&str>,
    parse: impl Fn(&str) -> Option<T>,
    expected: &str,
) -> Option<T> {
    let v = value?;
    let parsed = parse(v);
    if parsed.is_none() {
        errors.push(field_error(
            name,
            FieldCode::Invalid,
            format!("{name} must be {expected}, got {v:?}"),
        ));
    }
    parsed
}

/// `GET /api/v1/requests`: one page, filtered, with `next_cursor` (absent on the last page) and
/// `total` (how many match in all).
async fn list_requests(
    State(state): NodeRef,
    AuthUser(user): AuthUser,
    query: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Json<Value>> {
    use hanoinet_core::request::{RequestType, Status, Urgency};
    let Query(q) = query.map_err(|e| ApiError::new(ErrorCode::ValidationFailed, e.body_text()))?;
    let mut errors = Vec::new();
    let e = &mut errors;
    let time = |s: &str| s.parse::<jiff::Timestamp>().ok();
    let filter = hanoinet_store::RequestFilter {
        direction: param(
            e,
            "direction",
            q.direction.as_deref(),
            Direction::parse,
            "incoming or outgoing",
        ),
        status: param(
            e,
            "status",
            q.status.as_deref(),
            Status::parse,
            "a status name",
        ),
        request_type: param(
            e,
            "type",
            q.request_type.as_deref(),
            RequestType::parse,
            "a request type",
        ),
        peer: param(
            e,
            "peer",
            q.peer.as_deref(),
            |s| s.parse().ok(),
            "a node id such as FRA/247",
        ),
        urgency: param(
            e,
            "urgency",
            q.urgency.as_deref(),
            Urgency::parse,
            "normal, urgent or emergency",
        ),
        since: param(e, "since", q.since.as_deref(), time, "an RFC 3339 time"),
        until: param(e, "until", q.until.as_deref(), time, "an RFC 3339 time"),
    };
    let limit = q.limit.unwrap_or(100);
    if !(1..=MAX_LIST).contains(&limit) {
        e.push(field_error(
            "limit",
            FieldCode::Invalid,
            format!("limit must be between 1 and {MAX_LIST}"),
        ));
    }
    let cursor = param(
        e,
        "cursor",
        q.cursor.as_deref(),
        cursor::decode,
        "a next_cursor of this list",
    );
    let sort = param(
        e,
        "sort",
        q.sort.as_deref(),
        |s| match s {
            "created_at" => Some(ListOrder::Newest),
            "time_limit" => Some(ListOrder::TimeLimit),
            _ => None,
        },
        "created_at or time_limit",
    );
    let order = match (&cursor, sort) {
        (Some(c), Some(s)) if c.order() != s => {
            e.push(field_error(
                "cursor",
                FieldCode::Invalid,
                "this cursor belongs to a list in another sort order".into(),
            ));
            s
        }
        (Some(c), _) => c.order(),
        (None, s) => s.unwrap_or_default(),
    };
    if !errors.is_empty() {
        return Err(validation_failed(errors));
    }
    let (recs, total) =
        requests::list_page(&state, &user, &filter, order, cursor.as_ref(), limit).await?;
    let next = (recs.len() as i64 == limit)
        .then(|| recs.last())
        .flatten()
        .map(|r| cursor::encode(&hanoinet_store::PageCursor::after(r, order)));
    let ids: Vec<_> = recs.iter().map(|r| r.id).collect();
    let delivery = state.store.delivery_states(&ids).await?;
    Ok(Json(json!({
        "requests": recs
            .iter()
            .map(|r| request_view(&state, r).with_delivery(delivery.get(&r.id)))
            .collect::<Vec<_>>(),
        "next_cursor": next,
        "total": total,
    })))
}

/// List cursors: opaque to clients (base64url of the last row's sort keys).
mod cursor {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use hanoinet_store::PageCursor;
    use serde_json::{Value, json};

    pub fn encode(c: &PageCursor) -> String {
        let v = match c {
            PageCursor::Newest { created_at, id } => json!(["n", created_at, id]),
            PageCursor::TimeLimit {
                time_limit,
                created_at,
                id,
            } => json!(["t", created_at, id, time_limit]),
        };
        URL_SAFE_NO_PAD.encode(v.to_string())
    }

    pub fn decode(s: &str) -> Option<PageCursor> {
        if s.len() > 512 {
            return None;
        }
        let bytes = URL_SAFE_NO_PAD.decode(s).ok()?;
        let v: Value = serde_json::from_slice(&bytes).ok()?;
        let a = v.as_array()?;
        let created_at = a.get(1)?.as_i64()?;
        let id = a
            .get(2)?
            .as_str()?
            .parse::<hanoinet_core::RequestId>()
            .ok()?
            .to_string();
        match (a.first()?.as_str()?, a.len()) {
            ("n", 3) => Some(PageCursor::Newest { created_at, id }),
            ("t", 4) => {
                let time_limit = match &a[3] {
                    Value::Null => None,
                    Value::String(t) => Some(t.parse::<jiff::civil::Date>().ok()?.to_string()),
                    _ => return None,
                };
                Some(PageCursor::TimeLimit {
                    time_limit,
                    created_at,
                    id,
                })
            }
            _ => None,
        }
    }
}

async fn show_request(
    State(state): NodeRef,
    AuthUser(user): AuthUser,
    Path(id): Path<String>,
) -> ApiResult<Json<RequestView>> {
    let (rec, pending) = requests::open(&state, &user, &id).await?;
    let delivery = state.store.delivery_states(&[rec.id]).await?;
    let mut view = request_view(&state, &rec).with_delivery(delivery.get(&rec.id));
    if let Some(pending) = pending {
        // Art. 42: kept until the follow-up request is decided, even past preserved_until.
        view.preserved_while_pending = Some(json!(pending));
    }
    Ok(Json(view))
}

/// `POST /api/v1/requests/{id}/responses`: the requested State's decision (`accept`,
/// `accept_with_conditions`, `refuse`), a move to `accepted`, `accepted_with_conditions` or
/// `refused` (acknowledging first if needed).
async fn respond(
    State(state): NodeRef,
    AuthUser(user): AuthUser,
    Path(id): Path<String>,
    body: Body,
) -> ApiResult<(StatusCode, Json<RequestView>)> {
    let (rec, body) = officer_action(&state, &user, &id, body).await?;
    if rec.direction != Direction::Incoming {
        return Err(ApiError::new(
            ErrorCode::Conflict,
            "this node sent the request; only the requested State's node can answer it",
        ));
    }
    let decision = request::validate_decision(
        &body,
        rec.request_type,
        crate::ops::moves::own_facts(&state, &rec),
    )
    .map_err(validation_failed)?;
    let mv = Move {
        to: decision.status(),
        note: None,
        decision: Some(decision),
    };
    crate::ops::moves::move_requested(&state, &user, &rec, mv).await?;
    let rec = load(&state, &id).await?;
    Ok((StatusCode::CREATED, Json(request_view(&state, &rec))))
}

/// `POST /api/v1/requests/{id}/transitions`: `{"status": "...", "note": "..."}` (plus `grounds`
/// and `explanation` for `refused`, `conditions` for `accepted_with_conditions`). `201` when the
/// move is made; `202` when it is proposed to the requested node; `409` names the allowed moves.
async fn transition(
    State(state): NodeRef,
    AuthUser(user): AuthUser,
    Path(id): Path<String>,
    body: Body,
) -> ApiResult<(StatusCode, Json<RequestView>)> {
    let (rec, body) = officer_action(&state, &user, &id, body).await?;
    let mv = request::validate_move(
        &body,
        rec.request_type,
        crate::ops::moves::own_facts(&state, &rec),
    )
    .map_err(validation_failed)?;
    let status = moved(crate::ops::moves::apply(&state, &user, &rec, mv).await?);
    let rec = load(&state, &id).await?;
    Ok((status, Json(request_view(&state, &rec))))
}

/// `POST /api/v1/requests/{id}/approve`: a supervisor other than the author sends a request that
/// awaits approval (the move to `queued`).
async fn approve(
    State(state): NodeRef,
    AuthUser(user): AuthUser,
    Path(id): Path<String>,
) -> ApiResult<(StatusCode, Json<RequestView>)> {
    require_officer(&user)?;
    let rec = load(&state, &id).await?;
    if rec.direction != Direction::Outgoing {
        return Err(ApiError::new(
            ErrorCode::Conflict,
            "approval is for requests this node sends",
        ));
    }
    let mv = Move {
        to: request::Status::Queued,
        note: None,
        decision: None,
    };
    let status = moved(crate::ops::moves::move_requesting(&state, &user, &rec, mv).await?);
    let rec = load(&state, &id).await?;
    Ok((status, Json(request_view(&state, &rec))))
}

/// `POST /api/v1/requests/{id}/status-enquiry`: `{"note": "..."}` (optional); the requested
/// node answers it.
async fn status_enquiry(
    State(state): NodeRef,
    AuthUser(user): AuthUser,
    Path(id): Path<String>,
    body: Body,
) -> ApiResult<(StatusCode, Json<MessageView>)> {
    require_officer(&user)?;
    let rec = load(&state, &id).await?;
    // An empty body is an enquiry without a note; anything else must be a valid one.
    let body = parse_json_or_empty(&state, body).await?;
    let note = match &body {
        Value::Null => None,
        Value::Object(o) => {
            if let Some(k) = o.keys().find(|k| k.as_str() != "note") {
                return Err(validation_failed(vec![field_error(
                    k,
                    FieldCode::UnknownField,
                    format!("{k:?} is not a field of a status enquiry (note)"),
                )]));
            }
            request::long_text(o.get("note"), "note", None)
                .map_err(|e| validation_failed(vec![e]))?
        }
        _ => {
            return Err(validation_failed(vec![field_error(
                "",
                FieldCode::Invalid,
                "the body must be a JSON object (or empty)".into(),
            )]));
        }
    };
    let m = crate::ops::messages::status_enquiry(&state, &user, &rec, note).await?;
    Ok((StatusCode::ACCEPTED, Json(message_view(&m, &rec))))
}

/// `POST /api/v1/requests/{id}/confidentiality-notice`: `{"note": "..."}` (required): the
/// requested node cannot keep the request confidential (Art. 40(20)).
async fn confidentiality_notice(
    State(state): NodeRef,
    AuthUser(user): AuthUser,
    Path(id): Path<String>,
    body: Body,
) -> ApiResult<(StatusCode, Json<MessageView>)> {
    let (rec, body) = officer_action(&state, &user, &id, body).await?;
    let obj = body.as_object().cloned().unwrap_or_default();
    let mut errors: Vec<FieldError> = obj
        .keys()
        .filter(|k| k.as_str() != "note")
        .map(|k| {
            field_error(
                k,
                FieldCode::UnknownField,
                format!("{k:?} is not a field of this notice (note)"),
            )
        })
        .collect();
    let note = request::long_text(
        obj.get("note"),
        "note",
        Some(hanoinet_core::catalogue::art40::CONFIDENTIALITY),
    )
    .unwrap_or_else(|e| {
        errors.push(e);
        None
    });
    let Some(note) = note.filter(|_| errors.is_empty()) else {
        if errors.is_empty() {
            errors.push(FieldError::new(
                "note",
                FieldCode::Missing,
                "note is required: why the request cannot be kept confidential".into(),
                Some(hanoinet_core::catalogue::art40::CONFIDENTIALITY),
            ));
        }
        return Err(validation_failed(errors));
    };
    let m = crate::ops::messages::confidentiality_notice(&state, &user, &rec, note).await?;
    Ok((StatusCode::ACCEPTED, Json(message_view(&m, &rec))))
}

/// `POST /api/v1/requests/{id}/extension`: `{"days": N, "note": "..."}`. On the requesting node
/// it asks the requested node to keep a preservation longer (`202`); on the requested node it
/// grants that (`201`), and the new `preserved_until` reaches the requesting node.
async fn extension(
    State(state): NodeRef,
    AuthUser(user): AuthUser,
    Path(id): Path<String>,
    body: Body,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let (rec, body) = officer_action(&state, &user, &id, body).await?;
    Ok(
        match crate::ops::messages::extend(&state, &user, &rec, &body).await? {
            Extended::Asked(m) => (
                StatusCode::ACCEPTED,
                Json(serde_json::to_value(message_view(&m, &rec)).map_err(ApiError::internal)?),
            ),
            Extended::Granted(rec) => (
                StatusCode::CREATED,
                Json(serde_json::to_value(request_view(&state, &rec)).map_err(ApiError::internal)?),
            ),
        },
    )
}

async fn openapi() -> Json<Value> {
    Json(crate::http::openapi::document())
}

/// The Convention catalogue: request types with their fields, offence categories, refusal
/// grounds. Public reference data, so user interfaces build their forms from it.
async fn catalogue() -> Json<Value> {
    Json(crate::http::catalogue::document())
}

/// The registry as this node verified it, with the computed entry-into-force dates.
async fn registry(State(state): NodeRef) -> Json<Value> {
    Json(crate::http::catalogue::registry_view(&state))
}

/// Installs a newer signed registry (the body is the signed file, as the depositary published
/// it). Administrators only.
async fn install_registry(
    State(state): NodeRef,
    AuthUser(user): AuthUser,
    body: axum::body::Bytes,
) -> ApiResult<Json<Value>> {
    if !user.role.may_administer() {
        return Err(ApiError::new(
            ErrorCode::Forbidden,
            format!(
                "role {} may not install a registry; administrators may",
                user.role.as_str()
            ),
        ));
    }
    let body = std::str::from_utf8(&body).map_err(|_| {
        ApiError::new(
            ErrorCode::MalformedJson,
            "the body is not UTF-8 text: send the signed registry file as it was published",
        )
    })?;
    let done = state
        .install_registry(body, &format!("api:user:{}", user.id))
        .await
        .map_err(crate::error::NodeError::from)?;
    Ok(Json(json!({
        "serial": done.serial,
        "previous_serial": done.previous_serial,
    })))
}

/// Prometheus metrics: to a client on the same host without a token (a local scraper), from
/// elsewhere with an auditor's or administrator's token.
async fn metrics(
    State(state): NodeRef,
    axum::extract::ConnectInfo(peer): axum::extract::ConnectInfo<std::net::SocketAddr>,
    parts: axum::http::request::Parts,
) -> ApiResult<axum::response::Response> {
    use axum::extract::FromRequestParts;
    use axum::response::IntoResponse;
    let mut parts = parts;
    if !peer.ip().is_loopback()
        || parts
            .headers
            .contains_key(axum::http::header::AUTHORIZATION)
    {
        let AuthUser(user) = AuthUser::from_request_parts(&mut parts, &state).await?;
        if !(user.role.may_audit() || user.role.may_administer()) {
            return Err(ApiError::new(
                ErrorCode::Forbidden,
                "metrics are for auditors and administrators (or a scraper on the node's host)",
            ));
        }
    }
    let now = state.clock.now();
    let reg = state.registry();
    let snapshot = crate::metrics::Snapshot {
        node: state.id.to_string(),
        registry_serial: reg.serial,
        peers: reg
            .nodes
            .iter()
            .filter(|n| n.id != state.id)
            .map(|n| n.id.to_string())
            .collect(),
        gauges: state.store.gauges(now).await?,
        outages: state.store.peer_outages().await?,
        now,
    };
    let text = crate::metrics::render(&state.metrics, snapshot);
    Ok((
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    )
        .into_response())
}

/// Live: the process answers. Says which build it is.
async fn health(State(state): NodeRef) -> Json<Value> {
    Json(json!({
        "node": state.id, "status": "ok",
        "version": crate::VERSION, "commit": crate::COMMIT,
        "started_at": state.started_at,
    }))
}

/// Ready: the database answers within two seconds and the node is in the registry it
/// serves; else `503` with the check that failed.
async fn ready(State(state): NodeRef) -> (StatusCode, Json<Value>) {
    let database =
        match tokio::time::timeout(std::time::Duration::from_secs(2), state.store.ping()).await {
            Ok(Ok(())) => "ok".to_owned(),
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "readiness: the database failed");
                "unavailable".to_owned()
            }
            Err(_) => "timed_out".to_owned(),
        };
    let registry = if state.listed() {
        "ok"
    } else {
        "node_not_listed"
    };
    let ok = database == "ok" && registry == "ok";
    (
        if ok {
            StatusCode::OK
        } else {
            StatusCode::SERVICE_UNAVAILABLE
        },
        Json(json!({
            "node": state.id,
            "status": if ok { "ready" } else { "not_ready" },
            "version": crate::VERSION, "commit": crate::COMMIT,
            "checks": {
                "database": database,
                "registry": registry,
                "registry_serial": state.registry().serial,
            },
        })),
    )
}

/// `201` for a move made, `202` for one proposed to the requested node.
fn moved(m: Moved) -> StatusCode {
    match m {
        Moved::Made => StatusCode::CREATED,
        Moved::Proposed => StatusCode::ACCEPTED,
    }
}
