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
use hanoinet_core::request::{
    self, Decision, Direction, FieldError, RequestFacts, RequestedStateFacts,
};
use hanoinet_ledger::Entry;
use hanoinet_ledger::entry::events;
use hanoinet_protocol::Kind;
use hanoinet_store::{
    Decided, DecisionUpdate, ListOrder, NewOutbox, NewOutgoing, NewRequest, RequestRecord,
    StatusEvent, User,
};

use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::payload::{RequestPayload, ResponsePayload};
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
        let token = value
            .strip_prefix("Bearer ")
            .or_else(|| value.strip_prefix("bearer "))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(unauthorized)?;
        let user = state
            .store
            .user_by_token_hash(&token_hash(token))
            .await?
            .ok_or_else(unauthorized)?;
        Ok(Self(user))
    }
}

fn require_officer(user: &User) -> ApiResult<()> {
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

/// Reads a JSON body of at most [`MAX_API_BODY`] bytes.
fn require_reader(user: &User) -> ApiResult<()> {
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

async fn parse_json(body: Body) -> ApiResult<Value> {
    let bytes = crate::federation::read_limited(body, MAX_API_BODY)
        .await
        .ok_or_else(|| {
            ApiError::new(
                ErrorCode::PayloadTooLarge,
                format!("request bodies are limited to {MAX_API_BODY} bytes"),
            )
        })?;
    serde_json::from_slice(&bytes).map_err(|e| {
        ApiError::new(
            ErrorCode::MalformedJson,
            format!("request body is not valid JSON: {e}"),
        )
    })
}

fn validation_failed(errors: Vec<FieldError>) -> ApiError {
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
    FieldError {
        field: field.into(),
        code: code.into(),
        message,
        article: None,
    }
}

async fn create_request(
    State(state): AppStateRef,
    AuthUser(user): AuthUser,
    body: Body,
) -> ApiResult<(StatusCode, Json<Value>)> {
    require_officer(&user)?;
    let body = parse_json(body).await?;
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
    let warnings = crate::gate::check(&state, &state.id, &new.to, &facts)
        .await?
        .map_err(validation_failed)?;

    let now = state.clock.now();
    let id = RequestId::new_v7();
    let payload = RequestPayload {
        request_id: id,
        request_type: new.request_type,
        created_at: now,
        fields: new.fields.clone(),
        tree_head: crate::ledger::cached_head(&state),
    };
    let envelope = crate::outbound::seal(
        &state,
        &new.to,
        Kind::PRESERVATION_REQUEST,
        None,
        &payload,
        now,
    )?;
    let record = NewRequest {
        id,
        direction: Direction::Outgoing,
        request_type: new.request_type,
        from: state.id.clone(),
        to: new.to.clone(),
        fields: serde_json::to_string(&new.fields).map_err(ApiError::internal)?,
        envelope_id: envelope.header.id,
        created_by: Some(user.name.clone()),
        created_at: now,
        facts,
        warnings: warnings.clone(),
    };
    let outbox = NewOutbox {
        envelope_id: envelope.header.id,
        peer: new.to.clone(),
        kind: Kind::PRESERVATION_REQUEST.into(),
        request_id: id,
        envelope: envelope.to_json(),
        created_at: now,
    };
    let ledger = crate::ledger::entry(
        &state,
        events::REQUEST_CREATED,
        crate::ledger::user_actor(&user),
        format!("request:{id}"),
    )
    .attr("type", new.request_type.as_str())
    .attr("peer", new.to.as_str())
    .attr("envelope", envelope.header.id.to_string())
    .attr("envelope_hash", hex::encode(envelope.hash()))
    .attr("fields", Entry::commitment(record.fields.as_bytes()));
    let created_by = record.created_by.clone();
    let item = NewOutgoing {
        request: record,
        outbox,
        ledger: ledger.encode(),
    };
    crate::batch::create(&state, item).await?;
    state.outbox_wake.notify_one();
    tracing::info!(request = %id, to = %new.to, "request queued");
    // What was just committed, without reading it back.
    let rec = RequestRecord {
        id,
        direction: Direction::Outgoing,
        request_type: new.request_type,
        from: state.id.clone(),
        to: new.to.clone(),
        status: request::Status::Queued,
        fields: Value::Object(new.fields.clone()),
        envelope_id: envelope.header.id,
        created_by,
        created_at: now,
        updated_at: now,
        preserved_until: None,
        decision: None,
        decided_at: None,
        receipt: None,
        response_receipt: None,
        warnings,
        history: vec![StatusEvent {
            status: request::Status::Queued,
            at: now,
            note: None,
        }],
    };
    Ok((StatusCode::CREATED, Json(request_view(&rec))))
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
        None | Some("") => None,
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
        None | Some("") | Some("created_at") => ListOrder::Newest,
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
    Ok(Json(
        json!({"requests": recs.iter().map(request_view).collect::<Vec<_>>()}),
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
    Ok(Json(request_view(&rec)))
}

async fn respond(
    State(state): AppStateRef,
    AuthUser(user): AuthUser,
    Path(id): Path<String>,
    body: Body,
) -> ApiResult<(StatusCode, Json<Value>)> {
    require_officer(&user)?;
    let id = parse_request_id(&id)?;
    let body = parse_json(body).await?;
    let rec = state
        .store
        .get_request(id)
        .await?
        .ok_or_else(|| ApiError::new(ErrorCode::NotFound, format!("no request {id}")))?;
    if rec.direction != Direction::Incoming {
        return Err(ApiError::new(
            ErrorCode::Conflict,
            "this node sent the request; only the requested State's node can answer it",
        ));
    }
    if !rec.status.awaits_decision() {
        return Err(conflict_status(rec.status));
    }
    let facts = RequestedStateFacts {
        has_dual_criminality_reservation: state
            .registry
            .state(&state.id.state())
            .is_some_and(|s| s.has_dual_criminality_reservation()),
    };
    let decision =
        request::validate_decision(&body, rec.request_type, facts).map_err(validation_failed)?;
    let now = state.clock.now();
    let preserved_until = (matches!(decision, Decision::Accept)
        && rec.request_type == request::RequestType::Preservation)
        .then(|| {
            let asked = rec
                .fields
                .get("requested_period_days")
                .and_then(Value::as_i64);
            request::preserved_until(now, asked)
        });
    let payload = ResponsePayload {
        request_id: id,
        decision: decision.clone(),
        decided_at: now,
        preserved_until,
        tree_head: crate::ledger::cached_head(&state),
    };
    let envelope = crate::outbound::seal(
        &state,
        &rec.from,
        Kind::PRESERVATION_RESPONSE,
        Some(rec.envelope_id),
        &payload,
        now,
    )?;
    let update = DecisionUpdate {
        request_id: id,
        status: decision.status(),
        decision: serde_json::to_string(&decision).map_err(ApiError::internal)?,
        decided_at: now,
        preserved_until,
    };
    let outbox = NewOutbox {
        envelope_id: envelope.header.id,
        peer: rec.from.clone(),
        kind: Kind::PRESERVATION_RESPONSE.into(),
        request_id: id,
        envelope: envelope.to_json(),
        created_at: now,
    };
    let mut ledger = crate::ledger::entry(
        &state,
        events::RESPONSE_SENT,
        crate::ledger::user_actor(&user),
        format!("request:{id}"),
    )
    .attr("decision", decision.status().as_str())
    .attr("peer", rec.from.as_str())
    .attr("envelope", envelope.header.id.to_string())
    .attr("envelope_hash", hex::encode(envelope.hash()));
    if let Decision::Refuse {
        grounds,
        explanation,
    } = &decision
    {
        let codes: Vec<&str> = grounds.iter().map(|g| g.code()).collect();
        ledger = ledger
            .attr("grounds", codes.join(","))
            .attr("explanation", Entry::commitment(explanation.as_bytes()));
    }
    match state
        .store
        .decide(&update, &outbox, &[ledger.encode()])
        .await?
    {
        Decided::Recorded => {}
        Decided::NotFound => {
            return Err(ApiError::new(
                ErrorCode::NotFound,
                format!("no request {id}"),
            ));
        }
        Decided::Conflict { status } => return Err(conflict_status(status)),
    }
    state.outbox_wake.notify_one();
    tracing::info!(request = %id, decision = decision.status().as_str(), "decision recorded");
    let rec = state
        .store
        .get_request(id)
        .await?
        .ok_or_else(|| ApiError::internal("request vanished"))?;
    Ok((StatusCode::CREATED, Json(request_view(&rec))))
}

fn conflict_status(status: request::Status) -> ApiError {
    ApiError::new(
        ErrorCode::Conflict,
        format!("the request is {} and can no longer be answered; a request can be answered once, while it is delivered", status.as_str()),
    )
    .with_details(vec![json!({"status": status.as_str(), "allowed_from": ["delivered"]})])
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
pub fn request_view(r: &RequestRecord) -> Value {
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
                .map(|e| json!({"status": e.status.as_str(), "at": e.at}))
                .collect(),
        ),
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

/// Roles that exist, for the CLI's help text.
pub fn roles() -> Vec<&'static str> {
    Role::ALL.iter().map(|r| r.as_str()).collect()
}
