//! The REST API (`/api/v1`), authenticated with bearer tokens.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use hanoinet_core::RequestId;
use hanoinet_core::access::Role;
use hanoinet_core::request::{self, Direction, FieldError, Move, RequestFacts};

use hanoinet_ledger::entry::events;
use hanoinet_protocol::Kind;
use hanoinet_store::{
    ListOrder, Message, NewOutbox, NewOutgoing, NewRequest, RequestRecord, StatusEvent, User,
};

use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::payload::{RequestPayload, Step};
use crate::server::AppState;

/// Largest accepted API request body.
pub const MAX_API_BODY: usize = 256 * 1024;
/// Most requests a list returns.
pub const MAX_LIST: i64 = 500;

type AppStateRef = State<Arc<AppState>>;

pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
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
        .route("/api/v1/registry", get(registry))
        .route("/healthz", get(health))
        .layer(axum::extract::DefaultBodyLimit::disable())
}

/// The authenticated user of an API call.
#[derive(Debug)]
pub struct AuthUser(pub User);

/// Hashes a bearer token for lookup. Tokens carry 256 bits of randomness, so a fast hash is
/// enough; the database never holds a usable token.
pub fn token_hash(token: &str) -> [u8; 32] {
    hanoinet_protocol::sha256(token.as_bytes())
}

/// A new random bearer token.
pub fn new_token() -> String {
    use rand::Rng;
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!("hnt_{}", hex_lower(&bytes))
}

fn hex_lower(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl FromRequestParts<Arc<AppState>> for AuthUser {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, ApiError> {
        let unauthorized = || {
            ApiError::new(
                ErrorCode::Unauthorized,
                "a valid bearer token is required (Authorization: Bearer TOKEN)",
            )
        };
        let header = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .ok_or_else(unauthorized)?;
        let value = header.to_str().map_err(|_| unauthorized())?;
        // The scheme is case-insensitive (RFC 7235 §2.1).
        let token = value
            .split_once(' ')
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, t)| t.trim())
            .filter(|t| !t.is_empty())
            .ok_or_else(unauthorized)?;
        let account = state
            .store
            .user_by_token_hash(&token_hash(token))
            .await?
            .ok_or_else(unauthorized)?;
        let now = state.clock.now();
        if account.disabled_at.is_some() {
            return Err(ApiError::new(
                ErrorCode::Unauthorized,
                "this token's user is disabled; ask the node's administrator",
            ));
        }
        if let Some(until) = account.token_expires_at
            && until <= now
        {
            return Err(ApiError::new(
                ErrorCode::Unauthorized,
                format!(
                    "this token expired at {until}; ask the node's administrator for a new one (hanoinet user rotate-token)"
                ),
            ));
        }
        // Last use, to the minute: one write per user per minute, not per call.
        if account
            .last_used_at
            .is_none_or(|t| now.duration_since(t) >= jiff::SignedDuration::from_mins(1))
        {
            state.store.touch_user(&account.user.id, now).await?;
        }
        Ok(Self(account.user))
    }
}

pub(crate) fn require_officer(user: &User) -> ApiResult<()> {
    if user.role.may_act_on_requests() {
        Ok(())
    } else {
        Err(ApiError::new(
            ErrorCode::Forbidden,
            format!(
                "role {} may read but not send or answer requests",
                user.role.as_str()
            ),
        ))
    }
}

pub(crate) fn require_reader(user: &User) -> ApiResult<()> {
    if user.role.may_read_requests() {
        Ok(())
    } else {
        Err(ApiError::new(
            ErrorCode::Forbidden,
            format!(
                "role {} may not read cases; it audits through /api/v1/ledger",
                user.role.as_str()
            ),
        ))
    }
}

/// Reads a JSON body of at most [`MAX_API_BODY`] bytes.
pub async fn parse_json(state: &AppState, body: Body) -> ApiResult<Value> {
    json_of(&read_body(state, body).await?)
}

/// [`parse_json`], where an empty body is `null`.
pub async fn parse_json_or_empty(state: &AppState, body: Body) -> ApiResult<Value> {
    let bytes = read_body(state, body).await?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Null);
    }
    json_of(&bytes)
}

async fn read_body(state: &AppState, body: Body) -> ApiResult<axum::body::Bytes> {
    crate::federation::read_limited(body, MAX_API_BODY, state.tunables.body_read_timeout)
        .await
        .map_err(|e| {
            e.into_api(|| {
                ApiError::new(
                    ErrorCode::PayloadTooLarge,
                    format!("request bodies are limited to {MAX_API_BODY} bytes"),
                )
            })
        })
}

fn json_of(bytes: &[u8]) -> ApiResult<Value> {
    hanoinet_core::json::parse(bytes).map_err(|e| {
        ApiError::new(
            ErrorCode::MalformedJson,
            format!("request body is not valid JSON: {e}"),
        )
    })
}

pub fn validation_failed(errors: Vec<FieldError>) -> ApiError {
    let n = errors.len();
    let details = errors
        .into_iter()
        .map(|e| serde_json::to_value(e).unwrap_or(Value::Null))
        .collect();
    ApiError::new(
        ErrorCode::ValidationFailed,
        format!("the request has {n} invalid field(s)"),
    )
    .with_details(details)
}

fn field_error(field: &str, code: &str, message: String) -> FieldError {
    FieldError::new(field, code, message, None)
}

async fn create_request(
    State(state): AppStateRef,
    AuthUser(user): AuthUser,
    body: Body,
) -> ApiResult<(StatusCode, Json<Value>)> {
    require_officer(&user)?;
    let body = parse_json(&state, body).await?;
    let rec = create_outgoing(&state, &user, body).await?;
    Ok((StatusCode::CREATED, Json(request_view(&state, &rec))))
}

/// Validates and creates an outgoing request (queued, awaiting approval, or a draft).
pub async fn create_outgoing(
    state: &AppState,
    user: &User,
    mut body: Value,
) -> ApiResult<RequestRecord> {
    // `"draft": true` keeps the request on this node until its author submits it.
    let draft = match body.as_object_mut().and_then(|o| o.remove("draft")) {
        None | Some(Value::Null) | Some(Value::Bool(false)) => false,
        Some(Value::Bool(true)) => true,
        Some(_) => {
            return Err(validation_failed(vec![field_error(
                "draft",
                "invalid",
                "draft must be true or false".into(),
            )]));
        }
    };
    let new = request::validate_new_request(&body).map_err(validation_failed)?;
    let facts = RequestFacts::of(&new.fields)
        .ok_or_else(|| ApiError::internal("validated fields lack their facts"))?;

    // The requested node must be a registered node of another State.
    if state.registry.node(&new.to).is_none() {
        return Err(validation_failed(vec![field_error(
            "to",
            "unknown_node",
            format!("{} is not a node in the registry", new.to),
        )]));
    }
    if new.to.state() == state.id.state() {
        return Err(validation_failed(vec![field_error(
            "to",
            "same_state",
            format!(
                "{} belongs to this node's own State; the Convention's cooperation is between States",
                new.to
            ),
        )]));
    }
    let warnings =
        crate::gate::check_typed(state, &state.id, &new.to, &facts, Some(new.request_type))
            .await?
            .map_err(validation_failed)?;

    let now = state.clock.now();
    let id = RequestId::new_v7();
    let envelope_id = hanoinet_core::EnvelopeId::new_v7();
    let status = if draft {
        request::Status::Draft
    } else if state.policy.needs_approval(new.request_type) {
        request::Status::AwaitingApproval
    } else {
        request::Status::Queued
    };
    let first = StatusEvent {
        by: Some("requesting".into()),
        ..StatusEvent::new(status, now)
    };
    let fields_json = serde_json::to_string(&new.fields).map_err(ApiError::internal)?;
    let mut ledger = crate::ledger::entry(
        state,
        events::REQUEST_CREATED,
        crate::ledger::user_actor(user),
        format!("request:{id}"),
    )
    .attr("type", new.request_type.as_str())
    .attr("peer", new.to.as_str())
    .attr("status", status.as_str())
    .attr("envelope", envelope_id.to_string())
    .attr(
        "fields",
        crate::ledger::commit(state, fields_json.as_bytes()),
    );
    let outbox = if status == request::Status::Queued {
        let payload = RequestPayload {
            request_id: id,
            request_type: new.request_type,
            created_at: now,
            fields: new.fields.clone(),
            history: vec![Step::from(&first)],
            approval: None,
            tree_head: crate::ledger::cached_head(state),
        };
        let envelope = crate::outbound::seal_with_id(
            state,
            envelope_id,
            &new.to,
            Kind::PRESERVATION_REQUEST,
            None,
            &payload,
            now,
        )?;
        ledger = ledger.attr("envelope_hash", hex::encode(envelope.hash()));
        Some(NewOutbox {
            envelope_id,
            peer: new.to.clone(),
            kind: Kind::PRESERVATION_REQUEST.into(),
            request_id: id,
            envelope: envelope.to_json(),
            created_at: now,
        })
    } else {
        None
    };
    let record = NewRequest {
        id,
        direction: Direction::Outgoing,
        request_type: new.request_type,
        from: state.id.clone(),
        to: new.to.clone(),
        fields: fields_json,
        envelope_id,
        created_by: Some(user.name.clone()),
        created_at: now,
        facts,
        warnings: warnings.clone(),
        history: vec![first.clone()],
        ack_due_at: None,
    };
    let created_by = record.created_by.clone();
    let item = NewOutgoing {
        request: record,
        outbox,
        ledger: ledger.encode(),
    };
    crate::batch::create(state, item).await?;
    state.outbox_wake.notify_one();
    tracing::info!(request = %id, to = %new.to, status = status.as_str(), "request created");
    // What was just committed, without reading it back.
    let rec = RequestRecord {
        id,
        direction: Direction::Outgoing,
        request_type: new.request_type,
        from: state.id.clone(),
        to: new.to.clone(),
        status,
        fields: Value::Object(new.fields.clone()),
        envelope_id,
        created_by,
        created_at: now,
        updated_at: now,
        preserved_until: None,
        decision: None,
        decided_at: None,
        receipt: None,
        response_receipt: None,
        warnings,
        seq: 1,
        ack_due_at: None,
        escalated_at: None,
        history: vec![first],
        messages: Vec::new(),
    };
    Ok(rec)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    direction: Option<String>,
    limit: Option<i64>,
    /// `created_at` (newest first, the default) or `time_limit` (earliest first).
    sort: Option<String>,
}

async fn list_requests(
    State(state): AppStateRef,
    AuthUser(user): AuthUser,
    query: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Json<Value>> {
    require_reader(&user)?;
    let Query(q) = query.map_err(|e| ApiError::new(ErrorCode::ValidationFailed, e.body_text()))?;
    let direction = match q.direction.as_deref() {
        None => None,
        Some(d) => Some(Direction::parse(d).ok_or_else(|| {
            validation_failed(vec![field_error(
                "direction",
                "invalid",
                format!("direction must be incoming or outgoing, got {d:?}"),
            )])
        })?),
    };
    let limit = q.limit.unwrap_or(100);
    if !(1..=MAX_LIST).contains(&limit) {
        return Err(validation_failed(vec![field_error(
            "limit",
            "invalid",
            format!("limit must be between 1 and {MAX_LIST}"),
        )]));
    }
    let order = match q.sort.as_deref() {
        None | Some("created_at") => ListOrder::Newest,
        Some("time_limit") => ListOrder::TimeLimit,
        Some(other) => {
            return Err(validation_failed(vec![field_error(
                "sort",
                "invalid",
                format!("sort must be created_at or time_limit, got {other:?}"),
            )]));
        }
    };
    let recs = state.store.list_requests(direction, order, limit).await?;
    // A list shows case content: one entry names every case it showed.
    let listed = crate::ledger::entry(
        &state,
        events::REQUESTS_LISTED,
        crate::ledger::user_actor(&user),
        String::new(),
    )
    .attr("count", recs.len().to_string())
    .attr(
        "requests",
        recs.iter()
            .map(|r| r.id.to_string())
            .collect::<Vec<_>>()
            .join(","),
    );
    state.store.append_ledger(&[listed.encode()]).await?;
    Ok(Json(
        json!({"requests": recs.iter().map(|r| request_view(&state, r)).collect::<Vec<_>>()}),
    ))
}

fn parse_request_id(id: &str) -> ApiResult<RequestId> {
    id.parse()
        .map_err(|_| ApiError::new(ErrorCode::NotFound, format!("no request {id:?}")))
}

async fn show_request(
    State(state): AppStateRef,
    AuthUser(user): AuthUser,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    require_reader(&user)?;
    let id = parse_request_id(&id)?;
    let rec = state
        .store
        .get_request(id)
        .await?
        .ok_or_else(|| ApiError::new(ErrorCode::NotFound, format!("no request {id}")))?;
    // Who opened which case, and when, is part of the record.
    let opened = crate::ledger::entry(
        &state,
        events::REQUEST_OPENED,
        crate::ledger::user_actor(&user),
        format!("request:{id}"),
    );
    state.store.append_ledger(&[opened.encode()]).await?;
    let mut view = request_view(&state, &rec);
    if rec.request_type == request::RequestType::Preservation && rec.status.preserves() {
        // Art. 42: kept until the follow-up request is decided, even past preserved_until.
        let pending = state.store.undecided_followups(rec.id).await?;
        view["preserved_while_pending"] = json!(pending);
    }
    Ok(Json(view))
}

pub(crate) async fn load(state: &AppState, id: &str) -> ApiResult<RequestRecord> {
    let id = parse_request_id(id)?;
    state
        .store
        .get_request(id)
        .await?
        .ok_or_else(|| ApiError::new(ErrorCode::NotFound, format!("no request {id}")))
}

/// `POST /api/v1/requests/{id}/responses`: the requested State's decision (`accept`,
/// `accept_with_conditions`, `refuse`), a move to `accepted`, `accepted_with_conditions` or
/// `refused` (acknowledging first if needed).
async fn respond(
    State(state): AppStateRef,
    AuthUser(user): AuthUser,
    Path(id): Path<String>,
    body: Body,
) -> ApiResult<(StatusCode, Json<Value>)> {
    require_officer(&user)?;
    let rec = load(&state, &id).await?;
    let body = parse_json(&state, body).await?;
    if rec.direction != Direction::Incoming {
        return Err(ApiError::new(
            ErrorCode::Conflict,
            "this node sent the request; only the requested State's node can answer it",
        ));
    }
    let decision = request::validate_decision(
        &body,
        rec.request_type,
        crate::lifecycle::own_facts(&state, &rec),
    )
    .map_err(validation_failed)?;
    let mv = Move {
        to: decision.status(),
        note: None,
        decision: Some(decision),
    };
    crate::lifecycle::move_requested(&state, &user, &rec, mv).await?;
    let rec = load(&state, &id).await?;
    Ok((StatusCode::CREATED, Json(request_view(&state, &rec))))
}

/// `POST /api/v1/requests/{id}/transitions`: `{"status": "...", "note": "..."}` (plus `grounds`
/// and `explanation` for `refused`, `conditions` for `accepted_with_conditions`). `201` when the
/// move is made; `202` when it is proposed to the requested node; `409` names the allowed moves.
async fn transition(
    State(state): AppStateRef,
    AuthUser(user): AuthUser,
    Path(id): Path<String>,
    body: Body,
) -> ApiResult<(StatusCode, Json<Value>)> {
    require_officer(&user)?;
    let rec = load(&state, &id).await?;
    let body = parse_json(&state, body).await?;
    let mv = request::validate_move(
        &body,
        rec.request_type,
        crate::lifecycle::own_facts(&state, &rec),
    )
    .map_err(validation_failed)?;
    let status = match rec.direction {
        Direction::Incoming => {
            crate::lifecycle::move_requested(&state, &user, &rec, mv).await?;
            StatusCode::CREATED
        }
        Direction::Outgoing => crate::lifecycle::move_requesting(&state, &user, &rec, mv).await?,
    };
    let rec = load(&state, &id).await?;
    Ok((status, Json(request_view(&state, &rec))))
}

/// `POST /api/v1/requests/{id}/approve`: a supervisor other than the author sends a request that
/// awaits approval (the move to `queued`).
async fn approve(
    State(state): AppStateRef,
    AuthUser(user): AuthUser,
    Path(id): Path<String>,
) -> ApiResult<(StatusCode, Json<Value>)> {
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
    let status = crate::lifecycle::move_requesting(&state, &user, &rec, mv).await?;
    let rec = load(&state, &id).await?;
    Ok((status, Json(request_view(&state, &rec))))
}

/// `POST /api/v1/requests/{id}/status-enquiry`: `{"note": "..."}` (optional); the requested
/// node answers it.
async fn status_enquiry(
    State(state): AppStateRef,
    AuthUser(user): AuthUser,
    Path(id): Path<String>,
    body: Body,
) -> ApiResult<(StatusCode, Json<Value>)> {
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
                    "unknown_field",
                    format!("{k:?} is not a field of a status enquiry (note)"),
                )]));
            }
            request::long_text(o.get("note"), "note", None)
                .map_err(|e| validation_failed(vec![e]))?
        }
        _ => {
            return Err(validation_failed(vec![field_error(
                "",
                "invalid",
                "the body must be a JSON object (or empty)".into(),
            )]));
        }
    };
    let m = crate::lifecycle::status_enquiry(&state, &user, &rec, note).await?;
    Ok((StatusCode::ACCEPTED, Json(message_view(&m, &rec))))
}

/// `POST /api/v1/requests/{id}/confidentiality-notice`: `{"note": "..."}` (required): the
/// requested node cannot keep the request confidential (Art. 40(20)).
async fn confidentiality_notice(
    State(state): AppStateRef,
    AuthUser(user): AuthUser,
    Path(id): Path<String>,
    body: Body,
) -> ApiResult<(StatusCode, Json<Value>)> {
    require_officer(&user)?;
    let rec = load(&state, &id).await?;
    let body = parse_json(&state, body).await?;
    let obj = body.as_object().cloned().unwrap_or_default();
    let mut errors: Vec<FieldError> = obj
        .keys()
        .filter(|k| k.as_str() != "note")
        .map(|k| {
            field_error(
                k,
                "unknown_field",
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
                "missing",
                "note is required: why the request cannot be kept confidential".into(),
                Some(hanoinet_core::catalogue::art40::CONFIDENTIALITY),
            ));
        }
        return Err(validation_failed(errors));
    };
    let m = crate::lifecycle::confidentiality_notice(&state, &user, &rec, note).await?;
    Ok((StatusCode::ACCEPTED, Json(message_view(&m, &rec))))
}

/// `POST /api/v1/requests/{id}/extension`: `{"days": N, "note": "..."}`. On the requesting node
/// it asks the requested node to keep a preservation longer (`202`); on the requested node it
/// grants that (`201`), and the new `preserved_until` reaches the requesting node.
async fn extension(
    State(state): AppStateRef,
    AuthUser(user): AuthUser,
    Path(id): Path<String>,
    body: Body,
) -> ApiResult<(StatusCode, Json<Value>)> {
    require_officer(&user)?;
    let rec = load(&state, &id).await?;
    let body = parse_json(&state, body).await?;
    let mut errors = Vec::new();
    let obj = body.as_object().cloned().unwrap_or_default();
    for k in obj.keys().filter(|k| *k != "days" && *k != "note") {
        errors.push(field_error(
            k,
            "unknown_field",
            format!("{k:?} is not a field of an extension (days, note)"),
        ));
    }
    let days = obj.get("days").and_then(Value::as_i64);
    if !days.is_some_and(|d| (1..=3650).contains(&d)) {
        errors.push(FieldError::new(
            "days",
            if obj.contains_key("days") {
                "invalid"
            } else {
                "missing"
            },
            "days is required: a whole number of days from 1 to 3650".into(),
            Some(hanoinet_core::catalogue::art42::MINIMUM_PERIOD),
        ));
    }
    let note = request::long_text(obj.get("note"), "note", None).unwrap_or_else(|e| {
        errors.push(e);
        None
    });
    let (Some(days), true) = (days, errors.is_empty()) else {
        return Err(validation_failed(errors));
    };
    let in_force = rec.request_type == request::RequestType::Preservation
        && rec.status.preserves()
        && rec.preserved_until.is_some();
    if !in_force {
        return Err(ApiError::new(
            ErrorCode::Conflict,
            format!(
                "only an accepted preservation can be extended; this is a {} request that is {}",
                rec.request_type.as_str(),
                rec.status.as_str()
            ),
        )
        .with_details(vec![json!({"status": rec.status.as_str()})]));
    }
    match rec.direction {
        Direction::Outgoing => {
            let m = crate::lifecycle::request_extension(&state, &user, &rec, days, note).await?;
            Ok((StatusCode::ACCEPTED, Json(message_view(&m, &rec))))
        }
        Direction::Incoming => {
            crate::lifecycle::grant_extension(&state, &user, &rec, days, note).await?;
            let rec = load(&state, &id).await?;
            Ok((StatusCode::CREATED, Json(request_view(&state, &rec))))
        }
    }
}

async fn openapi() -> Json<Value> {
    Json(crate::openapi::document())
}

/// The Convention catalogue: request types with their fields, offence categories, refusal
/// grounds. Public reference data, so user interfaces build their forms from it.
async fn catalogue() -> Json<Value> {
    Json(crate::catalogue::document())
}

/// The registry as this node verified it, with the computed entry-into-force dates.
async fn registry(State(state): AppStateRef) -> Json<Value> {
    Json(crate::catalogue::registry_view(&state))
}

async fn health(State(state): AppStateRef) -> Json<Value> {
    Json(json!({"node": state.id, "status": "ok"}))
}

/// The API's JSON view of a request: metadata, the type's fields at top level (as they were
/// posted), the decision, the status history and the receipts.
pub fn request_view(state: &AppState, r: &RequestRecord) -> Value {
    let mut m = Map::new();
    m.insert("id".into(), json!(r.id));
    m.insert("type".into(), json!(r.request_type.as_str()));
    m.insert("direction".into(), json!(r.direction.as_str()));
    m.insert("from".into(), json!(r.from));
    m.insert("to".into(), json!(r.to));
    m.insert("status".into(), json!(r.status.as_str()));
    m.insert("created_at".into(), json!(r.created_at));
    m.insert("updated_at".into(), json!(r.updated_at));
    m.insert("created_by".into(), json!(r.created_by));
    if let Value::Object(fields) = &r.fields {
        for (k, v) in fields {
            m.insert(k.clone(), v.clone());
        }
    }
    m.insert("preserved_until".into(), json!(r.preserved_until));
    if r.direction == Direction::Incoming {
        m.insert("ack_due_at".into(), json!(r.ack_due_at));
        m.insert("escalated_at".into(), json!(r.escalated_at));
    }
    let decision = r.decision.clone().map(|mut d| {
        if let Value::Object(o) = &mut d {
            o.insert("decided_at".into(), json!(r.decided_at));
        }
        d
    });
    m.insert("decision".into(), decision.unwrap_or(Value::Null));
    m.insert(
        "history".into(),
        Value::Array(
            r.history
                .iter()
                .map(|e| {
                    let mut v = json!({"status": e.status.as_str(), "at": e.at});
                    if let Some(by) = &e.by {
                        v["by"] = json!(by);
                    }
                    if let Some(note) = &e.note {
                        v["note"] = json!(note);
                    }
                    if let Some(d) = &e.details {
                        v["details"] = d.clone();
                    }
                    v
                })
                .collect(),
        ),
    );
    // The four-eyes approval, signed by the requesting node (on both nodes).
    let approval = r
        .history
        .iter()
        .rev()
        .find_map(|e| e.details.as_ref()?.get("approval").cloned());
    m.insert("approval".into(), approval.unwrap_or(Value::Null));
    m.insert(
        "allowed_transitions".into(),
        json!(
            crate::lifecycle::allowed_moves(&state.policy, r)
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
        ),
    );
    m.insert(
        "messages".into(),
        Value::Array(r.messages.iter().map(|msg| message_view(msg, r)).collect()),
    );
    m.insert("warnings".into(), r.warnings.clone());
    m.insert("envelope_id".into(), json!(r.envelope_id));
    m.insert("receipt".into(), r.receipt.clone().unwrap_or(Value::Null));
    m.insert(
        "response_receipt".into(),
        r.response_receipt.clone().unwrap_or(Value::Null),
    );
    Value::Object(m)
}

/// The API's view of a message; a sent proposal says whether it is still pending, applied or
/// declined.
pub fn message_view(msg: &Message, r: &RequestRecord) -> Value {
    let mut v = json!({
        "id": msg.id,
        "kind": msg.kind,
        "direction": msg.direction,
        "at": msg.at,
        "body": msg.body,
        "in_reply_to": msg.in_reply_to,
    });
    if msg.kind == crate::payload::messages::PROPOSAL && msg.direction == "sent" {
        let declined = r.messages.iter().any(|m| {
            m.kind == crate::payload::messages::PROPOSAL_DECLINED
                && m.in_reply_to.as_deref() == Some(msg.id.as_str())
        });
        let applied = r
            .history
            .iter()
            .any(|e| crate::lifecycle::step_proposal(e) == Some(msg.id.as_str()));
        v["state"] = json!(if declined {
            "declined"
        } else if applied {
            "applied"
        } else {
            "pending"
        });
    }
    v
}

/// Roles that exist, for the CLI's help text.
pub fn roles() -> Vec<&'static str> {
    Role::ALL.iter().map(|r| r.as_str()).collect()
}
