//! Data given in answer to requests, with the conditions of Convention Art. 36 (and the use
//! limits of Art. 40), enforced by the receiving node:
//!
//! - attachments are uploaded as a stream (`POST .../attachments?name=`), stored in chunks with
//!   their SHA-256 and size, up to [`MAX_ATTACHMENT_BYTES`];
//! - `POST .../data` sends a transfer: its conditions (purpose, use limitation, retention-until,
//!   onward transfer `prohibited | with_authorization`), structured results, and each chunk as an
//!   envelope of its own, sealed like every payload; the receiver checks every attachment's size
//!   and hash once all chunks are in;
//! - at retention-until the receiving node purges the content (results, chunks) and keeps the
//!   metadata and hashes, with a ledger entry;
//! - forwarding to a third node is refused unless the original sender signed an onward-transfer
//!   authorization for that node (requested with `onward-requests`, given with
//!   `onward-authorizations`), which is verified against its registry key.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use hanoinet_core::NodeId;
use hanoinet_core::catalogue::{art36, art40, art42, art43, art44};
use hanoinet_core::request::{
    Direction, FieldError, MAX_SHORT_CHARS, MAX_TEXT_CHARS, RequestType, Status,
};
use hanoinet_core::text::{Lines, TextError, clean};
use hanoinet_ledger::Entry;
use hanoinet_protocol::Kind;
use hanoinet_protocol::authorization::OnwardAuthorization;
use hanoinet_store::{Attachment, DataTransfer, NewOutbox, RequestRecord, User};

use crate::api::{AuthUser, load, require_officer, require_reader, validation_failed};
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::payload::messages;
use crate::server::AppState;

/// Largest attachment accepted by default (`Tunables::max_attachment_bytes`), in bytes.
pub const MAX_ATTACHMENT_BYTES: usize = 64 * 1024 * 1024;
/// Furthest retention date data may carry, in years from today.
pub const MAX_RETENTION_YEARS: i16 = 10;
/// Longest attachment name, in characters.
pub const MAX_NAME_CHARS: usize = 200;
/// Bytes per stored chunk and per `data_chunk` envelope.
pub const CHUNK_BYTES: usize = 256 * 1024;

/// Ledger events of this module.
pub mod events {
    pub const DATA_SENT: &str = "data_sent";
    pub const DATA_RECEIVED: &str = "data_received";
    pub const DATA_PURGED: &str = "data_purged";
    pub const DATA_FORWARDED: &str = "data_forwarded";
    pub const ATTACHMENT_OPENED: &str = "attachment_opened";
    pub const ONWARD_AUTHORIZED: &str = "onward_transfer_authorized";
}

/// The conditions attached to data (Art. 36, 40).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Conditions {
    pub purpose: String,
    pub use_limitation: String,
    pub retention_until: Date,
    /// `prohibited` or `with_authorization`.
    pub onward_transfer: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AttachmentMeta {
    pub id: String,
    pub name: String,
    pub sha256: String,
    pub size: i64,
    pub chunks: i64,
}

/// Payload of a `data_transfer` envelope.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransferPayload {
    pub transfer_id: String,
    pub request_id: hanoinet_core::RequestId,
    pub conditions: Conditions,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub results: Option<Value>,
    pub attachments: Vec<AttachmentMeta>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forwarded_from: Option<String>,
    /// For data passed on: the original sender's signed authorization, so the third node can
    /// check it was authorized, for it and for this purpose (Art. 36).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization: Option<OnwardAuthorization>,
    /// `art43_1` for the preserving State's own disclosure of traffic data identifying a
    /// service provider in another State and the path (Art. 43(1)): the only data a
    /// preservation carries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub basis: Option<String>,
}

/// [`TransferPayload::basis`] of an Art. 43(1) disclosure on a preservation.
pub const ART43_BASIS: &str = "art43_1";
/// The members of an Art. 43(1) disclosure's results, all one-line or multi-line text.
const ART43_MEMBERS: [&str; 3] = ["service_provider", "transmission_path", "traffic_data"];

/// Payload of a `data_chunk` envelope.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChunkPayload {
    pub transfer_id: String,
    pub request_id: hanoinet_core::RequestId,
    pub attachment_id: String,
    pub idx: i64,
    /// The chunk's bytes, base64.
    pub data: String,
}

type S = State<Arc<AppState>>;

pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/api/v1/requests/{id}/attachments", post(upload))
        .route("/api/v1/requests/{id}/attachments/{aid}", get(download))
        .route("/api/v1/requests/{id}/data", post(send).get(list))
        .route(
            "/api/v1/requests/{id}/data/{tid}/onward-requests",
            post(onward_request),
        )
        .route(
            "/api/v1/requests/{id}/data/{tid}/onward-authorizations",
            post(onward_authorize),
        )
        .route("/api/v1/requests/{id}/data/{tid}/forward", post(forward))
        .route(
            "/api/v1/requests/{id}/traffic-disclosure",
            post(art43_disclosure),
        )
}

fn field(field: &str, code: &str, message: impl Into<String>) -> FieldError {
    FieldError::new(field, code, message.into(), None)
}

fn peer_of(rec: &RequestRecord) -> &NodeId {
    match rec.direction {
        Direction::Outgoing => &rec.to,
        Direction::Incoming => &rec.from,
    }
}

#[derive(Debug, Deserialize)]
struct UploadQuery {
    name: Option<String>,
}

/// `POST /api/v1/requests/{id}/attachments?name=FILE`: the raw body, streamed into chunks.
async fn upload(
    State(state): S,
    AuthUser(user): AuthUser,
    Path(id): Path<String>,
    Query(q): Query<UploadQuery>,
    body: Body,
) -> ApiResult<(StatusCode, Json<Value>)> {
    use http_body_util::BodyExt;
    require_officer(&user)?;
    let rec = load(&state, &id).await?;
    if !may_give(&rec) && !may_give_later(&rec) {
        return Err(ApiError::new(
            ErrorCode::Conflict,
            format!(
                "this node cannot give data on this request ({}, {}): nothing to attach",
                rec.direction.as_str(),
                rec.status.as_str()
            ),
        )
        .with_details(vec![json!({"status": rec.status.as_str()})]));
    }
    let name = match clean(&q.name.unwrap_or_default(), MAX_NAME_CHARS, Lines::One) {
        Ok(n) if !n.contains(['/', '\\']) && n != "." && n != ".." => n,
        _ => {
            return Err(validation_failed(vec![field(
                "name",
                "invalid",
                "name is required: a file name of at most 200 characters, without slashes, control or bidirectional-override characters",
            )]));
        }
    };
    let now = state.clock.now();
    let a = Attachment {
        id: uuid::Uuid::now_v7().to_string(),
        request_id: rec.id,
        transfer_id: None,
        name,
        sha256: None,
        size: 0,
        chunks: 0,
        state: "uploading".into(),
        created_at: now,
    };
    state.store.begin_attachment(&a).await?;
    let mut body = body;
    let mut hasher = Sha256::new();
    let mut buf: Vec<u8> = Vec::with_capacity(CHUNK_BYTES);
    let (mut size, mut idx) = (0usize, 0i64);
    let max = state.tunables.max_attachment_bytes;
    let result: ApiResult<()> = async {
        let pause = state.tunables.body_read_timeout;
        loop {
            let Ok(next) = tokio::time::timeout(pause, body.frame()).await else {
                return Err(ApiError::new(
                    ErrorCode::RequestTimeout,
                    format!(
                        "the upload paused for more than {} s; send it again",
                        pause.as_secs()
                    ),
                ));
            };
            let Some(frame) = next else { break };
            let frame = frame.map_err(|e| {
                ApiError::new(
                    ErrorCode::IncompleteBody,
                    format!("the upload ended before its declared length: {e}"),
                )
            })?;
            let Ok(data) = frame.into_data() else {
                continue;
            };
            size += data.len();
            if size > max {
                // Read (and drop) a little more, so the client gets the answer, not a reset.
                let mut seen = size;
                while seen <= max.saturating_mul(2) {
                    match body.frame().await {
                        Some(Ok(f)) => seen += f.into_data().map(|d| d.len()).unwrap_or(0),
                        _ => break,
                    }
                }
                return Err(ApiError::new(
                    ErrorCode::PayloadTooLarge,
                    format!("attachments are limited to {max} bytes"),
                ));
            }
            hasher.update(&data);
            buf.extend_from_slice(&data);
            while buf.len() >= CHUNK_BYTES {
                let rest = buf.split_off(CHUNK_BYTES);
                state.store.put_chunk(&a.id, idx, &buf).await?;
                idx += 1;
                buf = rest;
            }
        }
        if !buf.is_empty() {
            state.store.put_chunk(&a.id, idx, &buf).await?;
            idx += 1;
        }
        if size == 0 {
            return Err(validation_failed(vec![field(
                "body",
                "empty",
                "the attachment is empty",
            )]));
        }
        Ok(())
    }
    .await;
    if let Err(e) = result {
        state.store.drop_attachment(&a.id).await?;
        return Err(e);
    }
    let sha = hex::encode(hasher.finalize());
    let size = i64::try_from(size).map_err(ApiError::internal)?;
    state
        .store
        .finish_attachment(&a.id, &sha, size, idx, "staged")
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(
            json!({"id": a.id, "name": a.name, "sha256": sha, "size": size, "chunks": idx, "state": "staged"}),
        ),
    ))
}

/// Checks conditions as posted.
fn conditions(v: Option<&Value>, today: Date) -> Result<Conditions, Vec<FieldError>> {
    let mut errors = Vec::new();
    let Some(o) = v.and_then(Value::as_object) else {
        return Err(vec![FieldError::new(
            "conditions",
            "missing",
            "conditions are required: purpose, use_limitation, retention_until, onward_transfer"
                .into(),
            Some(art36::CONDITIONS),
        )]);
    };
    let text = |k: &str, max: usize, lines: Lines, errors: &mut Vec<FieldError>| {
        let name = format!("conditions.{k}");
        let (code, message) = match o
            .get(k)
            .and_then(Value::as_str)
            .map(|s| clean(s, max, lines))
        {
            Some(Ok(t)) => return t,
            None | Some(Err(TextError::Empty)) => ("missing", format!("{name} is required")),
            Some(Err(e)) => (e.code(), format!("{name} {e}")),
        };
        errors.push(FieldError::new(
            &name,
            code,
            message,
            Some(art36::CONDITIONS),
        ));
        String::new()
    };
    let purpose = text("purpose", MAX_SHORT_CHARS, Lines::One, &mut errors);
    let use_limitation = text("use_limitation", MAX_TEXT_CHARS, Lines::Many, &mut errors);
    let retention = o
        .get("retention_until")
        .and_then(Value::as_str)
        .and_then(|d| d.parse::<Date>().ok());
    let latest = today.saturating_add(jiff::ToSpan::years(MAX_RETENTION_YEARS));
    match retention {
        Some(d) if d > today && d <= latest => {}
        Some(_) => errors.push(FieldError::new(
            "conditions.retention_until",
            "invalid",
            format!(
                "retention_until must be a date after today and at most {MAX_RETENTION_YEARS} years ahead (until {latest})"
            ),
            Some(art36::CONDITIONS),
        )),
        None => errors.push(FieldError::new(
            "conditions.retention_until",
            "missing",
            "conditions.retention_until is required (YYYY-MM-DD)".into(),
            Some(art36::CONDITIONS),
        )),
    }
    let onward = o.get("onward_transfer").and_then(Value::as_str);
    if !matches!(onward, Some("prohibited" | "with_authorization")) {
        errors.push(FieldError::new(
            "conditions.onward_transfer",
            if onward.is_some() {
                "invalid"
            } else {
                "missing"
            },
            "conditions.onward_transfer must be prohibited or with_authorization".into(),
            Some(art36::ONWARD_TRANSFER),
        ));
    }
    for k in o.keys() {
        if ![
            "purpose",
            "use_limitation",
            "retention_until",
            "onward_transfer",
        ]
        .contains(&k.as_str())
        {
            errors.push(field(
                &format!("conditions.{k}"),
                "unknown_field",
                format!("{k:?} is not a condition"),
            ));
        }
    }
    match (retention, onward) {
        (Some(retention_until), Some(o)) if errors.is_empty() => Ok(Conditions {
            purpose,
            use_limitation,
            retention_until,
            onward_transfer: o.to_owned(),
        }),
        _ => Err(errors),
    }
}

/// Who may give data on a request: the requested node once it accepted, or the sender of
/// spontaneous information.
fn may_give(rec: &RequestRecord) -> bool {
    // Preservation secures data; disclosing them takes a request for them (Art. 44, or the
    // Art. 43 disclosure of preserved traffic data).
    if rec.request_type == RequestType::Preservation {
        return false;
    }
    match rec.direction {
        Direction::Incoming => matches!(
            rec.status,
            Status::Accepted
                | Status::AcceptedWithConditions
                | Status::PartiallyExecuted
                | Status::Executed
        ),
        Direction::Outgoing => {
            rec.request_type == RequestType::SpontaneousInformation && !rec.status.before_sending()
        }
    }
}

/// Whether `results` are exactly an Art. 43(1) disclosure: the three members, clean text.
fn art43_results(results: Option<&Value>) -> bool {
    results.and_then(Value::as_object).is_some_and(|o| {
        o.len() == ART43_MEMBERS.len()
            && ART43_MEMBERS.iter().all(|k| {
                o.get(*k)
                    .and_then(Value::as_str)
                    .is_some_and(|v| clean(v, MAX_TEXT_CHARS, Lines::Many).as_deref() == Ok(v))
            })
    })
}

/// `POST /api/v1/requests/{id}/traffic-disclosure` (the requested node, on a preservation it
/// carries out): `{conditions, service_provider, transmission_path, traffic_data}`. Art. 43(1):
/// while preserving traffic data, the preserving State that finds a service provider in another
/// State took part in the transmission discloses, on its own initiative, enough traffic data to
/// identify that provider and the path. The conditions of Art. 36 apply as to any data.
async fn art43_disclosure(
    State(state): S,
    AuthUser(user): AuthUser,
    Path(id): Path<String>,
    body: Body,
) -> ApiResult<(StatusCode, Json<Value>)> {
    require_officer(&user)?;
    let rec = load(&state, &id).await?;
    let body = crate::api::parse_json(&state, body).await?;
    if rec.request_type != RequestType::Preservation
        || rec.direction != Direction::Incoming
        || !rec.status.preserves()
    {
        return Err(ApiError::new(
            ErrorCode::Conflict,
            format!(
                "an {} disclosure is made by the preserving node on a preservation it accepted; this is a {} {} request that is {}",
                art43::DISCLOSURE,
                rec.direction.as_str(),
                rec.request_type.as_str(),
                rec.status.as_str()
            ),
        )
        .with_details(vec![json!({"status": rec.status.as_str()})]));
    }
    let obj = body.as_object().cloned().unwrap_or_default();
    let mut errors = Vec::new();
    for k in obj.keys() {
        if k != "conditions" && !ART43_MEMBERS.contains(&k.as_str()) {
            errors.push(field(
                k,
                "unknown_field",
                format!(
                    "{k:?} is not a field of an {} disclosure (conditions, {})",
                    art43::DISCLOSURE,
                    ART43_MEMBERS.join(", ")
                ),
            ));
        }
    }
    let mut results = serde_json::Map::new();
    for k in ART43_MEMBERS {
        match obj.get(k).and_then(Value::as_str).map(|v| clean(v, MAX_TEXT_CHARS, Lines::Many)) {
            Some(Ok(v)) => {
                results.insert(k.to_owned(), Value::String(v));
            }
            None | Some(Err(TextError::Empty)) => errors.push(FieldError::new(
                k,
                "missing",
                format!(
                    "{k} is required: enough traffic data to identify the service provider and the path ({})",
                    art43::DISCLOSURE
                ),
                Some(art43::DISCLOSURE),
            )),
            Some(Err(e)) => errors.push(FieldError::new(k, e.code(), format!("{k} {e}"), Some(art43::DISCLOSURE))),
        }
    }
    let conds = conditions(obj.get("conditions"), crate::gate::today(&state));
    let conds = match conds {
        Ok(c) if errors.is_empty() => c,
        Ok(_) => return Err(validation_failed(errors)),
        Err(e) => {
            errors.extend(e);
            return Err(validation_failed(errors));
        }
    };
    let give = Give {
        conds,
        results: Some(Value::Object(results)),
        attachments: Vec::new(),
        forwarded: None,
        basis: Some(ART43_BASIS),
    };
    let transfer = transmit(&state, &user, &rec, give).await?;
    Ok((
        StatusCode::CREATED,
        Json(transfer_view(&state, &transfer).await?),
    ))
}

fn preservation_discloses_nothing() -> ApiError {
    ApiError::new(
        ErrorCode::Conflict,
        format!(
            "a preservation secures the data ({}); disclosing them takes a request for them: a stored_data request ({}) that follows this one, or traffic_disclosure for preserved traffic data ({}); the preserving node's own {} disclosure identifying a provider in another State goes through POST .../traffic-disclosure",
            art42::MINIMUM_PERIOD,
            art44::ACCESS,
            art43::REFUSAL_GROUNDS,
            art43::DISCLOSURE
        ),
    )
    .with_details(vec![json!({"code": "preservation_discloses_nothing"})])
}

/// Whether data may be given on `rec` once the requested node decides (it may stage them now).
fn may_give_later(rec: &RequestRecord) -> bool {
    rec.direction == Direction::Incoming
        && rec.request_type.is_answered()
        && rec.request_type != RequestType::Preservation
        && matches!(
            rec.status,
            Status::Delivered
                | Status::Acknowledged
                | Status::MoreInformationRequested
                | Status::Consultation
                | Status::Postponed
        )
}

/// `POST /api/v1/requests/{id}/data`: `{conditions, results?, attachments?: [ids]}`.
async fn send(
    State(state): S,
    AuthUser(user): AuthUser,
    Path(id): Path<String>,
    body: Body,
) -> ApiResult<(StatusCode, Json<Value>)> {
    require_officer(&user)?;
    let rec = load(&state, &id).await?;
    let body = crate::api::parse_json(&state, body).await?;
    if rec.request_type == RequestType::Preservation {
        return Err(preservation_discloses_nothing());
    }
    if !may_give(&rec) {
        return Err(ApiError::new(
            ErrorCode::Conflict,
            format!(
                "data is given by the requested node once it accepted (or with spontaneous information); this request is {} here",
                rec.status.as_str()
            ),
        )
        .with_details(vec![json!({"status": rec.status.as_str()})]));
    }
    let today = crate::gate::today(&state);
    let mut errors = Vec::new();
    let obj = body.as_object().cloned().unwrap_or_default();
    for k in obj.keys() {
        if !["conditions", "results", "attachments"].contains(&k.as_str()) {
            errors.push(field(
                k,
                "unknown_field",
                format!(
                    "{k:?} is not a field of a data transfer (conditions, results, attachments)"
                ),
            ));
        }
    }
    let conds = conditions(obj.get("conditions"), today).map_err(|e| {
        errors.extend(e);
    });
    let results = obj.get("results").filter(|v| !v.is_null()).cloned();
    if let Some(r) = &results
        && r.as_object().is_none_or(|o| o.is_empty())
    {
        errors.push(field(
            "results",
            "invalid",
            "results is an object with at least one member (or absent)",
        ));
    }
    let mut attachments = Vec::new();
    match obj.get("attachments") {
        None | Some(Value::Null) => {}
        Some(Value::Array(ids)) => {
            for (i, v) in ids.iter().enumerate() {
                let a = match v.as_str() {
                    Some(aid) => state.store.attachment(aid).await?,
                    None => None,
                };
                match a {
                    Some(a) if a.request_id == rec.id && a.state == "staged" => attachments.push(a),
                    _ => errors.push(field(
                        &format!("attachments[{i}]"),
                        "invalid",
                        "not an uploaded, unsent attachment of this request",
                    )),
                }
            }
        }
        Some(_) => errors.push(field(
            "attachments",
            "invalid",
            "attachments is a list of attachment ids",
        )),
    }
    if results.is_none() && attachments.is_empty() && errors.is_empty() {
        errors.push(field(
            "results",
            "missing",
            "a data transfer carries results, attachments, or both",
        ));
    }
    let Ok(conds) = conds else {
        return Err(validation_failed(errors));
    };
    if !errors.is_empty() {
        return Err(validation_failed(errors));
    }
    let give = Give {
        conds,
        results,
        attachments,
        forwarded: None,
        basis: None,
    };
    let transfer = transmit(&state, &user, &rec, give).await?;
    Ok((
        StatusCode::CREATED,
        Json(transfer_view(&state, &transfer).await?),
    ))
}

/// What one transfer carries.
struct Give {
    conds: Conditions,
    results: Option<Value>,
    attachments: Vec<Attachment>,
    /// Data passed on: the transfer they came with, and the authorization.
    forwarded: Option<(String, OnwardAuthorization)>,
    /// [`ART43_BASIS`] for an Art. 43(1) disclosure on a preservation.
    basis: Option<&'static str>,
}

/// Seals the transfer and every chunk, records and queues them.
async fn transmit(
    state: &AppState,
    user: &User,
    rec: &RequestRecord,
    give: Give,
) -> ApiResult<DataTransfer> {
    let Give {
        conds,
        results,
        attachments,
        forwarded,
        basis,
    } = give;
    let (forwarded_from, authorization) = forwarded.unzip();
    let now = state.clock.now();
    let peer = peer_of(rec).clone();
    let transfer_id = uuid::Uuid::now_v7().to_string();
    let metas: Vec<AttachmentMeta> = attachments
        .iter()
        .map(|a| AttachmentMeta {
            id: a.id.clone(),
            name: a.name.clone(),
            sha256: a.sha256.clone().unwrap_or_default(),
            size: a.size,
            chunks: a.chunks,
        })
        .collect();
    let payload = TransferPayload {
        transfer_id: transfer_id.clone(),
        request_id: rec.id,
        conditions: conds.clone(),
        results: results.clone(),
        attachments: metas,
        forwarded_from: forwarded_from.clone(),
        authorization,
        basis: basis.map(str::to_owned),
    };
    let out = |env: &hanoinet_protocol::Envelope| NewOutbox {
        envelope_id: env.header.id,
        peer: peer.clone(),
        kind: env.header.kind.as_str().into(),
        request_id: rec.id,
        envelope: env.to_json(),
        created_at: now,
    };
    let env = crate::outbound::seal(state, &peer, Kind::DATA_TRANSFER, None, &payload, now)?;
    let mut outbox = vec![out(&env)];
    for a in &attachments {
        for idx in 0..a.chunks {
            let bytes =
                state.store.chunk(&a.id, idx).await?.ok_or_else(|| {
                    ApiError::internal(format!("chunk {idx} of {} is missing", a.id))
                })?;
            let chunk = ChunkPayload {
                transfer_id: transfer_id.clone(),
                request_id: rec.id,
                attachment_id: a.id.clone(),
                idx,
                data: base64::engine::general_purpose::STANDARD.encode(&bytes),
            };
            let env = crate::outbound::seal(state, &peer, Kind::DATA_CHUNK, None, &chunk, now)?;
            outbox.push(out(&env));
        }
    }
    let transfer = DataTransfer {
        id: transfer_id.clone(),
        request_id: rec.id,
        direction: "sent".into(),
        peer: peer.as_str().into(),
        conditions: serde_json::to_value(&conds).map_err(ApiError::internal)?,
        results,
        retention_until: conds.retention_until,
        onward_transfer: conds.onward_transfer.clone(),
        created_at: now,
        purged_at: None,
        forwarded_from,
    };
    let sent: Vec<Attachment> = attachments
        .into_iter()
        .map(|a| Attachment {
            transfer_id: Some(transfer_id.clone()),
            state: "sent".into(),
            ..a
        })
        .collect();
    let ledger = crate::ledger::entry(
        state,
        events::DATA_SENT,
        crate::ledger::user_actor(user),
        format!("request:{}", rec.id),
    )
    .attr("transfer", transfer_id.clone())
    .attr("peer", peer.as_str())
    .attr(
        "attachments",
        sent.iter()
            .map(|a| a.sha256.clone().unwrap_or_default())
            .collect::<Vec<_>>()
            .join(","),
    )
    .attr("retention_until", conds.retention_until.to_string())
    .attr("onward_transfer", conds.onward_transfer.as_str())
    .attr(
        "conditions",
        crate::ledger::commit(state, transfer.conditions.to_string().as_bytes()),
    );
    state
        .store
        .send_transfer(&transfer, &sent, &outbox, &[ledger.encode()])
        .await?;
    state.outbox_wake.notify_one();
    tracing::info!(request = %rec.id, transfer = %transfer.id, to = %peer, "data sent");
    Ok(transfer)
}

async fn transfer_view(state: &AppState, t: &DataTransfer) -> ApiResult<Value> {
    let atts = state.store.attachments_of_transfer(&t.id).await?;
    Ok(json!({
        "id": t.id,
        "direction": t.direction,
        "peer": t.peer,
        "conditions": t.conditions,
        "results": t.results,
        "retention_until": t.retention_until.to_string(),
        "onward_transfer": t.onward_transfer,
        "created_at": t.created_at,
        "purged_at": t.purged_at,
        "forwarded_from": t.forwarded_from,
        "attachments": atts.iter().map(|a| json!({
            "id": a.id, "name": a.name, "sha256": a.sha256, "size": a.size, "chunks": a.chunks, "state": a.state,
        })).collect::<Vec<_>>(),
    }))
}

/// `GET /api/v1/requests/{id}/data`.
async fn list(
    State(state): S,
    AuthUser(user): AuthUser,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    require_reader(&user)?;
    let rec = load(&state, &id).await?;
    let mut out = Vec::new();
    let transfers = state.store.transfers_of(rec.id).await?;
    for t in &transfers {
        out.push(transfer_view(&state, t).await?);
    }
    // Who read which data (Art. 36 results included), and when, is part of the record.
    let opened = crate::ledger::entry(
        &state,
        hanoinet_ledger::entry::events::DATA_OPENED,
        crate::ledger::user_actor(&user),
        format!("request:{}", rec.id),
    )
    .attr(
        "transfers",
        transfers
            .iter()
            .map(|t| t.id.as_str())
            .collect::<Vec<_>>()
            .join(","),
    );
    state.store.append_ledger(&[opened.encode()]).await?;
    Ok(Json(json!({"transfers": out})))
}

/// `GET /api/v1/requests/{id}/attachments/{aid}`: the content, while it is held.
async fn download(
    State(state): S,
    AuthUser(user): AuthUser,
    Path((id, aid)): Path<(String, String)>,
) -> ApiResult<Response> {
    require_reader(&user)?;
    let rec = load(&state, &id).await?;
    let a = state
        .store
        .attachment(&aid)
        .await?
        .filter(|a| a.request_id == rec.id)
        .ok_or_else(|| {
            ApiError::new(
                ErrorCode::NotFound,
                format!("no attachment {aid} on request {id}"),
            )
        })?;
    match a.state.as_str() {
        "complete" | "staged" | "sent" => {}
        "purged" => {
            return Err(ApiError::new(
                ErrorCode::Gone,
                format!(
                    "{} was purged at the end of its retention period ({}); its SHA-256 {} and size {} remain on record",
                    a.name,
                    art36::CONDITIONS,
                    a.sha256.unwrap_or_default(),
                    a.size
                ),
            ));
        }
        other => {
            return Err(ApiError::new(
                ErrorCode::Conflict,
                format!(
                    "{} is {other}: not all of it has arrived, or it did not match its hash",
                    a.name
                ),
            ));
        }
    }
    let mut bytes = Vec::with_capacity(usize::try_from(a.size).unwrap_or(0));
    for idx in 0..a.chunks {
        let c = state
            .store
            .chunk(&a.id, idx)
            .await?
            .ok_or_else(|| ApiError::internal("chunk missing"))?;
        bytes.extend_from_slice(&c);
    }
    let entry = crate::ledger::entry(
        &state,
        events::ATTACHMENT_OPENED,
        crate::ledger::user_actor(&user),
        format!("request:{}", rec.id),
    )
    .attr("attachment", a.id.clone())
    .attr("sha256", a.sha256.clone().unwrap_or_default());
    state.store.append_ledger(&[entry.encode()]).await?;
    let disposition = content_disposition(&a.name);
    Ok((
        [
            (header::CONTENT_TYPE, "application/octet-stream".to_owned()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        bytes,
    )
        .into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Onward {
    to: String,
    purpose: String,
    /// Only on an authorization: how many times the data may be passed on (default 1).
    #[serde(default)]
    max_uses: Option<u32>,
}

/// Most uses one onward-transfer authorization may grant.
pub const MAX_ONWARD_USES: u32 = 100;

async fn onward_body(state: &AppState, body: Body) -> ApiResult<(NodeId, String, Option<u32>)> {
    let v = crate::api::parse_json(state, body).await?;
    let mut o: Onward = serde_json::from_value(v).map_err(|e| {
        validation_failed(vec![FieldError::new(
            "",
            "invalid",
            format!("the body is {{\"to\": NODE, \"purpose\": TEXT}}: {e}"),
            Some(art36::ONWARD_TRANSFER),
        )])
    })?;
    let to: NodeId =
        o.to.parse()
            .map_err(|e| validation_failed(vec![field("to", "invalid", format!("{e}"))]))?;
    o.purpose = clean(&o.purpose, MAX_SHORT_CHARS, Lines::One)
        .map_err(|e| validation_failed(vec![field("purpose", e.code(), format!("purpose {e}"))]))?;
    if o.max_uses
        .is_some_and(|n| !(1..=MAX_ONWARD_USES).contains(&n))
    {
        return Err(validation_failed(vec![field(
            "max_uses",
            "invalid",
            format!("max_uses is a whole number from 1 to {MAX_ONWARD_USES}"),
        )]));
    }
    Ok((to, o.purpose, o.max_uses))
}

/// `max_uses` belongs to an authorization only.
fn no_uses(max_uses: Option<u32>) -> ApiResult<()> {
    match max_uses {
        None => Ok(()),
        Some(_) => Err(validation_failed(vec![field(
            "max_uses",
            "unknown_field",
            "max_uses is set by the node that authorizes, not asked for or used here",
        )])),
    }
}

async fn transfer_of(state: &AppState, rec: &RequestRecord, tid: &str) -> ApiResult<DataTransfer> {
    state
        .store
        .transfer(tid)
        .await?
        .filter(|t| t.request_id == rec.id)
        .ok_or_else(|| {
            ApiError::new(
                ErrorCode::NotFound,
                format!("no data transfer {tid} on request {}", rec.id),
            )
        })
}

/// `POST .../data/{tid}/onward-requests` (the node that received the data): asks the original
/// sender for an onward-transfer authorization.
async fn onward_request(
    State(state): S,
    AuthUser(user): AuthUser,
    Path((id, tid)): Path<(String, String)>,
    body: Body,
) -> ApiResult<(StatusCode, Json<Value>)> {
    require_officer(&user)?;
    let rec = load(&state, &id).await?;
    let t = transfer_of(&state, &rec, &tid).await?;
    if t.direction != "received" {
        return Err(ApiError::new(
            ErrorCode::Conflict,
            "only the node that received the data asks to pass it on",
        ));
    }
    let (to, purpose, max_uses) = onward_body(&state, body).await?;
    no_uses(max_uses)?;
    let grantor: NodeId = t.peer.parse().map_err(ApiError::internal)?;
    let m = crate::lifecycle::send_recorded(
        &state,
        &user,
        &rec,
        &grantor,
        messages::ONWARD_REQUEST,
        json!({"transfer_id": t.id, "to": to, "purpose": purpose, "article": art36::ONWARD_TRANSFER.to_string()}),
    )
    .await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(crate::api::message_view(&m, &rec)),
    ))
}

/// `POST .../data/{tid}/onward-authorizations` (the node that sent the data): signs and sends an
/// authorization to pass this transfer on to `to` for `purpose`.
async fn onward_authorize(
    State(state): S,
    AuthUser(user): AuthUser,
    Path((id, tid)): Path<(String, String)>,
    body: Body,
) -> ApiResult<(StatusCode, Json<Value>)> {
    require_officer(&user)?;
    let rec = load(&state, &id).await?;
    let t = transfer_of(&state, &rec, &tid).await?;
    if t.direction != "sent" {
        return Err(ApiError::new(
            ErrorCode::Conflict,
            "only the node that sent the data authorizes passing it on",
        ));
    }
    if t.onward_transfer == "prohibited" {
        return Err(ApiError::new(
            ErrorCode::Conflict,
            "this transfer's conditions prohibit onward transfer; send the data again with other conditions instead",
        ));
    }
    let (to, purpose, max_uses) = onward_body(&state, body).await?;
    if state.registry.node(&to).is_none() {
        return Err(validation_failed(vec![field(
            "to",
            "unknown_node",
            format!("{to} is not a node in the registry"),
        )]));
    }
    let holder: NodeId = t.peer.parse().map_err(ApiError::internal)?;
    let auth = OnwardAuthorization::sign(
        &t.id,
        holder.clone(),
        to.clone(),
        &purpose,
        max_uses.unwrap_or(1),
        state.clock.now(),
        &state.keys,
        state.id.clone(),
    );
    let doc = serde_json::to_value(&auth).map_err(ApiError::internal)?;
    let m = crate::lifecycle::send_recorded(
        &state,
        &user,
        &rec,
        &holder,
        messages::ONWARD_AUTHORIZATION,
        json!({"authorization": doc}),
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(crate::api::message_view(&m, &rec)),
    ))
}

/// The verified authorizations on record for passing `t` on to `to` (for any purpose).
fn authorizations_for(
    state: &AppState,
    rec: &RequestRecord,
    t: &DataTransfer,
    to: &NodeId,
) -> Vec<OnwardAuthorization> {
    let Some(keys) = t
        .peer
        .parse::<NodeId>()
        .ok()
        .and_then(|g| state.registry.node(&g)?.public_keys().ok())
    else {
        return Vec::new();
    };
    rec.messages
        .iter()
        .filter(|m| m.kind == messages::ONWARD_AUTHORIZATION && m.direction == "received")
        .filter_map(|m| {
            serde_json::from_value::<OnwardAuthorization>(m.body.get("authorization")?.clone()).ok()
        })
        .filter(|a| {
            a.transfer_id == t.id
                && a.grantor.as_str() == t.peer
                && a.holder == state.id
                && &a.third == to
                && a.verify(&keys)
        })
        .collect()
}

/// `POST .../data/{tid}/forward` (the node that received the data): passes it on to a third
/// node as spontaneous information, only with the original sender's authorization (Art. 36).
async fn forward(
    State(state): S,
    AuthUser(user): AuthUser,
    Path((id, tid)): Path<(String, String)>,
    body: Body,
) -> ApiResult<(StatusCode, Json<Value>)> {
    require_officer(&user)?;
    let rec = load(&state, &id).await?;
    let t = transfer_of(&state, &rec, &tid).await?;
    let (to, purpose, max_uses) = onward_body(&state, body).await?;
    no_uses(max_uses)?;
    if t.direction != "received" {
        return Err(ApiError::new(
            ErrorCode::Conflict,
            "only data this node received is forwarded",
        ));
    }
    if t.purged_at.is_some() {
        return Err(ApiError::new(
            ErrorCode::Gone,
            "the data were purged at the end of their retention period",
        ));
    }
    if to.as_str() == t.peer {
        return Err(validation_failed(vec![field(
            "to",
            "invalid",
            "the data came from that node",
        )]));
    }
    let refused = |why: String| {
        ApiError::new(ErrorCode::Forbidden, why).with_details(vec![json!({
            "code": "onward_transfer_not_authorized",
            "article": art36::ONWARD_TRANSFER.to_string(),
        })])
    };
    if t.onward_transfer == "prohibited" {
        return Err(refused(format!(
            "{} transferred these data on condition that they are not passed on ({})",
            t.peer,
            art36::ONWARD_TRANSFER
        )));
    }
    let auths = authorizations_for(&state, &rec, &t, &to);
    if auths.is_empty() {
        return Err(refused(format!(
            "passing these data on to {to} needs the prior authorization of {} ({}); ask for it with POST .../data/{}/onward-requests",
            t.peer,
            art36::ONWARD_TRANSFER,
            t.id
        )));
    }
    // Only for the purpose authorized, and only as often as authorized.
    let for_purpose: Vec<&OnwardAuthorization> =
        auths.iter().filter(|a| a.purpose == purpose).collect();
    if for_purpose.is_empty() {
        let allowed: Vec<&str> = auths.iter().map(|a| a.purpose.as_str()).collect();
        return Err(refused(format!(
            "{} authorized passing these data on to {to} for another purpose ({}); they go only with the purpose authorized ({})",
            t.peer,
            allowed.join("; "),
            art36::ONWARD_TRANSFER
        )));
    }
    let mut claimed = None;
    for a in for_purpose {
        let sig = hex::encode(a.signature);
        if state
            .store
            .claim_onward_use(&sig, a.max_uses, &t.id, state.clock.now())
            .await?
        {
            claimed = Some(a.clone());
            break;
        }
    }
    let Some(auth) = claimed else {
        return Err(refused(format!(
            "the authorization of {} to pass these data on to {to} has been used as often as it allows; ask for a new one",
            t.peer
        )));
    };
    // A request of spontaneous information to the third node carries the data.
    let offence = rec
        .fields
        .get("offence_category")
        .cloned()
        .unwrap_or(json!("serious_crime"));
    let mut body = json!({
        "type": "spontaneous_information",
        "to": to.as_str(),
        "providing_authority": state.id.as_str(),
        "information": format!("Data received from {} (transfer {}), passed on with its authorization of {}.", t.peer, t.id, auth.granted_at),
        "relevance": purpose,
        "offence_category": offence,
        "language": rec.fields.get("language").cloned().unwrap_or(json!("en")),
        "proportionality_justification": format!("Passed on for the authorized purpose only: {purpose}"),
        "confidential": true,
    });
    if offence == "serious_crime" {
        body["max_penalty_years"] = rec
            .fields
            .get("max_penalty_years")
            .cloned()
            .unwrap_or(json!(4));
    }
    let created = crate::api::create_outgoing(&state, &user, body).await?;
    // Copies of the attachments, under new ids, for the new transfer.
    let mut copies = Vec::new();
    for a in state.store.attachments_of_transfer(&t.id).await? {
        if a.state != "complete" {
            return Err(ApiError::new(
                ErrorCode::Conflict,
                format!("{} has not fully arrived", a.name),
            ));
        }
        let copy = Attachment {
            id: uuid::Uuid::now_v7().to_string(),
            request_id: created.id,
            transfer_id: None,
            state: "uploading".into(),
            created_at: state.clock.now(),
            ..a.clone()
        };
        state.store.begin_attachment(&copy).await?;
        for idx in 0..a.chunks {
            let bytes = state
                .store
                .chunk(&a.id, idx)
                .await?
                .ok_or_else(|| ApiError::internal("chunk missing"))?;
            state.store.put_chunk(&copy.id, idx, &bytes).await?;
        }
        let sha = a.sha256.clone().unwrap_or_default();
        state
            .store
            .finish_attachment(&copy.id, &sha, a.size, a.chunks, "staged")
            .await?;
        copies.push(Attachment {
            state: "staged".into(),
            sha256: Some(sha),
            ..copy
        });
    }
    let original: Conditions =
        serde_json::from_value(t.conditions.clone()).map_err(ApiError::internal)?;
    let conds = Conditions {
        purpose: purpose.clone(),
        use_limitation: original.use_limitation,
        retention_until: original.retention_until,
        onward_transfer: "prohibited".into(),
    };
    let new = load(&state, &created.id.to_string()).await?;
    let give = Give {
        conds,
        results: t.results.clone(),
        attachments: copies,
        forwarded: Some((t.id.clone(), auth.clone())),
        basis: None,
    };
    let sent = transmit(&state, &user, &new, give).await?;
    let entry = crate::ledger::entry(
        &state,
        events::DATA_FORWARDED,
        crate::ledger::user_actor(&user),
        format!("request:{}", rec.id),
    )
    .attr("transfer", t.id.clone())
    .attr("to", to.as_str())
    .attr("new_transfer", sent.id.clone())
    .attr(
        "authorization",
        crate::ledger::commit(&state, &auth.signature),
    );
    state.store.append_ledger(&[entry.encode()]).await?;
    Ok((
        StatusCode::CREATED,
        Json(
            json!({"request": crate::api::request_view(&state, &new), "transfer": transfer_view(&state, &sent).await?}),
        ),
    ))
}

// ----- inbound --------------------------------------------------------------------------------

/// A `data_transfer` from a peer of the request.
pub async fn inbound_transfer(
    state: &AppState,
    env: &hanoinet_protocol::Envelope,
    p: TransferPayload,
) -> ApiResult<crate::lifecycle::Inbound> {
    let rec = crate::lifecycle::peer_request_any(state, p.request_id, &env.header.from).await?;
    let c = &p.conditions;
    let bad = |m: &str| ApiError::new(ErrorCode::InvalidPayload, m.to_owned());
    match (
        rec.request_type == RequestType::Preservation,
        p.basis.as_deref(),
    ) {
        (true, Some(ART43_BASIS)) => {
            if rec.direction != Direction::Outgoing
                || !p.attachments.is_empty()
                || !art43_results(p.results.as_ref())
            {
                return Err(bad(&format!(
                    "an {} disclosure comes from the preserving State and carries only service_provider, transmission_path and traffic_data",
                    art43::DISCLOSURE
                )));
            }
        }
        (true, _) => {
            return Err(bad(&format!(
                "a preservation secures data and discloses none ({}); data come with a request for them ({}, {}), or as the preserving State's {} disclosure",
                art42::ARTICLE,
                art43::REFUSAL_GROUNDS,
                art44::ACCESS,
                art43::DISCLOSURE
            )));
        }
        (false, None) => {}
        (false, Some(_)) => {
            return Err(bad(&format!(
                "only a preservation carries an {} disclosure",
                art43::DISCLOSURE
            )));
        }
    }
    let today = crate::gate::today(state);
    if clean(&c.purpose, MAX_SHORT_CHARS, Lines::One).as_deref() != Ok(c.purpose.as_str())
        || clean(&c.use_limitation, MAX_TEXT_CHARS, Lines::Many).as_deref()
            != Ok(c.use_limitation.as_str())
    {
        return Err(bad(&format!(
            "data carry their purpose and use limitation ({}, {}), as clean text within the limits",
            art36::CONDITIONS,
            art40::USE_LIMITATION
        )));
    }
    if c.retention_until > today.saturating_add(jiff::ToSpan::years(MAX_RETENTION_YEARS)) {
        return Err(bad("retention_until is at most 10 years ahead"));
    }
    if p.results
        .as_ref()
        .is_some_and(|r| r.as_object().is_none_or(|o| o.is_empty()))
    {
        return Err(bad(
            "results is an object with at least one member (or absent)",
        ));
    }
    if !matches!(
        c.onward_transfer.as_str(),
        "prohibited" | "with_authorization"
    ) {
        return Err(bad("onward_transfer is prohibited or with_authorization"));
    }
    match (&p.forwarded_from, &p.authorization) {
        (None, None) => {}
        (Some(from), Some(a)) => {
            let authorized = state
                .registry
                .node(&a.grantor)
                .and_then(|n| n.public_keys().ok())
                .is_some_and(|keys| a.verify(&keys))
                && a.holder == env.header.from
                && a.third == state.id
                && &a.transfer_id == from
                && a.purpose == c.purpose;
            if !authorized {
                return Err(bad(&format!(
                    "data passed on carry the original sender's authorization, for this node and this purpose ({})",
                    art36::ONWARD_TRANSFER
                )));
            }
        }
        _ => {
            return Err(bad(&format!(
                "data passed on carry the original sender's authorization ({}), and only they do",
                art36::ONWARD_TRANSFER
            )));
        }
    }
    for a in &p.attachments {
        let expected = (a.size + CHUNK_BYTES as i64 - 1) / CHUNK_BYTES as i64;
        let clean_name = clean(&a.name, MAX_NAME_CHARS, Lines::One)
            .is_ok_and(|n| n == a.name && !n.contains(['/', '\\']));
        if !clean_name {
            return Err(bad(
                "an attachment's name is a file name without slashes, control or bidirectional-override characters",
            ));
        }
        if a.size <= 0
            || a.size > state.tunables.max_attachment_bytes as i64
            || a.chunks != expected
            || a.sha256.len() != 64
        {
            return Err(bad(
                "an attachment states its size (within the limit), chunk count and SHA-256",
            ));
        }
    }
    let now = state.clock.now();
    let transfer = DataTransfer {
        id: p.transfer_id.clone(),
        request_id: rec.id,
        direction: "received".into(),
        peer: env.header.from.as_str().into(),
        conditions: serde_json::to_value(c).map_err(ApiError::internal)?,
        results: p.results.clone(),
        retention_until: c.retention_until,
        onward_transfer: c.onward_transfer.clone(),
        created_at: now,
        purged_at: None,
        forwarded_from: p.forwarded_from.clone(),
    };
    let atts = p
        .attachments
        .iter()
        .map(|a| Attachment {
            id: a.id.clone(),
            request_id: rec.id,
            transfer_id: Some(p.transfer_id.clone()),
            name: a.name.clone(),
            sha256: Some(a.sha256.clone()),
            size: a.size,
            chunks: a.chunks,
            state: "receiving".into(),
            created_at: now,
        })
        .collect();
    let ledger = crate::lifecycle::received_entry(state, events::DATA_RECEIVED, env, rec.id)
        .attr("transfer", p.transfer_id.clone())
        .attr(
            "attachments",
            p.attachments
                .iter()
                .map(|a| a.sha256.clone())
                .collect::<Vec<_>>()
                .join(","),
        )
        .attr("retention_until", c.retention_until.to_string())
        .attr("onward_transfer", c.onward_transfer.as_str());
    Ok(crate::lifecycle::Inbound {
        effect: hanoinet_store::InboundEffect::Transfer(Box::new(transfer), atts),
        ledger,
        head: None,
    })
}

/// `Content-Disposition` for a download (RFC 6266): an ASCII fallback name and the exact name
/// as UTF-8 in `filename*` (RFC 8187). Names never hold control or bidi-override characters
/// (refused at upload and on receipt).
pub fn content_disposition(name: &str) -> String {
    let fallback: String = name
        .chars()
        .map(|c| {
            if (c.is_ascii_graphic() || c == ' ') && !matches!(c, '"' | '\\' | '%') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let encoded: String = name
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    format!("attachment; filename=\"{fallback}\"; filename*=UTF-8''{encoded}")
}

/// A `data_chunk`.
pub async fn inbound_chunk(
    state: &AppState,
    env: &hanoinet_protocol::Envelope,
    p: ChunkPayload,
) -> ApiResult<(hanoinet_store::InboundEffect, Entry)> {
    let rec = crate::lifecycle::peer_request_any(state, p.request_id, &env.header.from).await?;
    let data = base64::engine::general_purpose::STANDARD
        .decode(p.data.as_bytes())
        .map_err(|_| ApiError::new(ErrorCode::InvalidPayload, "chunk data is not base64"))?;
    if data.is_empty() || data.len() > CHUNK_BYTES || p.idx < 0 {
        return Err(ApiError::new(
            ErrorCode::InvalidPayload,
            "a chunk holds 1 to 262144 bytes",
        ));
    }
    let entry = crate::lifecycle::received_entry(
        state,
        hanoinet_ledger::entry::events::MESSAGE_RECEIVED,
        env,
        rec.id,
    )
    .attr("kind", "data_chunk")
    .attr("attachment", p.attachment_id.clone())
    .attr("chunk", p.idx.to_string());
    Ok((
        hanoinet_store::InboundEffect::Chunk {
            attachment_id: p.attachment_id,
            idx: p.idx,
            data,
        },
        entry,
    ))
}

/// Once every chunk of an attachment is in: checks its size and SHA-256, and marks it
/// `complete`, or `corrupt` (with an alert).
pub async fn check_complete(state: &AppState, attachment_id: &str) -> ApiResult<()> {
    let Some(a) = state.store.attachment(attachment_id).await? else {
        return Ok(()); // its transfer has not arrived yet; it checks again then
    };
    if a.state != "receiving" || state.store.chunk_count(&a.id).await? < a.chunks {
        return Ok(());
    }
    let mut hasher = Sha256::new();
    let mut size = 0i64;
    for idx in 0..a.chunks {
        let c = state.store.chunk(&a.id, idx).await?.unwrap_or_default();
        size += c.len() as i64;
        hasher.update(&c);
    }
    let ok = size == a.size && Some(hex::encode(hasher.finalize())) == a.sha256;
    state
        .store
        .set_attachment_state(&a.id, if ok { "complete" } else { "corrupt" })
        .await?;
    if !ok {
        let alert = hanoinet_store::Alert {
            id: format!("attachment_corrupt:{}", a.id),
            kind: "attachment_corrupt".into(),
            subject: format!("request:{}", a.request_id),
            message: format!(
                "{} does not match the size and SHA-256 its sender stated",
                a.name
            ),
            evidence: json!({"attachment": a.id, "expected_sha256": a.sha256, "expected_size": a.size, "size": size}),
            created_at: state.clock.now(),
        };
        state.store.raise_alert_once(&alert, &[], &[]).await?;
    }
    Ok(())
}

/// Days a staged attachment, or a chunk whose transfer never came, is kept before it is removed.
pub const STALE_UPLOAD_DAYS: i64 = 7;

/// Purges received data whose retention period ended, and uploads that never became data
/// (run by the clocks).
pub async fn purge_due(state: &AppState) -> ApiResult<()> {
    let today = crate::gate::today(state);
    let before = state
        .clock
        .now()
        .checked_sub(jiff::SignedDuration::from_hours(24 * STALE_UPLOAD_DAYS))
        .map_err(ApiError::internal)?;
    let (chunks, staged) = state.store.drop_stale_uploads(before).await?;
    if chunks + staged > 0 {
        tracing::info!(chunks, staged, "removed uploads that never became data");
    }
    for t in state.store.transfers_due_for_purge(today).await? {
        let entry = crate::ledger::entry(
            state,
            events::DATA_PURGED,
            "system".into(),
            format!("request:{}", t.request_id),
        )
        .attr("transfer", t.id.clone())
        .attr("retention_until", t.retention_until.to_string())
        .attr("article", art36::CONDITIONS.to_string())
        .attr("use_limitation_article", art40::USE_LIMITATION.to_string());
        // What was received stays provable (header, hash, signature); the content goes.
        let reduced: Vec<(String, String)> = state
            .store
            .transfer_envelopes(&t.id)
            .await?
            .into_iter()
            .filter_map(|(id, json)| {
                let env = hanoinet_protocol::Envelope::from_json(json.as_bytes()).ok()?;
                Some((id, env.reduced().to_json()))
            })
            .collect();
        if state
            .store
            .purge_transfer(&t.id, state.clock.now(), &reduced, &[entry.encode()])
            .await?
        {
            tracing::info!(transfer = %t.id, request = %t.request_id, "retention ended: data purged");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn downloads_name_the_file_in_ascii_and_utf8() {
        assert_eq!(
            super::content_disposition("nhật ký \"a\".csv"),
            "attachment; filename=\"nh_t k_ _a_.csv\"; filename*=UTF-8''nh%E1%BA%ADt%20k%C3%BD%20%22a%22.csv"
        );
    }
}
