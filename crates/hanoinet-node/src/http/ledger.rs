//! The ledger's routes: heads, entries and proofs for auditors (`/api/v1/ledger`) and for
//! peers (`/federation/v1/ledger`), alerts, the signed registry, keyed commitments.

use hanoinet_core::request::FieldCode;
use std::sync::Arc;

use axum::Json;
use axum::extract::{Query, State};
use axum::routing::get;
use serde::Deserialize;
use serde_json::{Value, json};

use hanoinet_ledger::tree::Plan;
use hanoinet_protocol::b64;

use crate::http::error::{ApiError, ApiResult, ErrorCode};
use crate::http::extract::AuthUser;
use crate::node::Node;
use crate::ops::access::require_auditor;
use crate::ops::ledger::{MAX_PAGE, commit, compute, entry, hex32, refresh, user_actor};
use hanoinet_ledger::entry::Event;

pub fn api_routes() -> crate::http::Routes {
    crate::http::Routes::new()
        .route("/api/v1/ledger/head", get(api_head))
        .route("/api/v1/ledger/entries", get(api_entries))
        .route("/api/v1/ledger/proof/inclusion", get(api_inclusion))
        .route("/api/v1/ledger/proof/consistency", get(api_consistency))
        .route("/api/v1/alerts", get(api_alerts))
        .route("/api/v1/registry/signed", get(api_signed_registry))
        .route(
            "/api/v1/ledger/commitment",
            axum::routing::post(api_commitment),
        )
}

/// `POST /api/v1/ledger/commitment` `{"content": TEXT}` or `{"content_base64": B64}`: the keyed
/// commitment this node records for that content, so an auditor who holds a case's content can
/// check it against the log. Every question is itself logged.
async fn api_commitment(
    State(state): State<Arc<Node>>,
    AuthUser(user): AuthUser,
    body: axum::body::Body,
) -> ApiResult<Json<Value>> {
    require_auditor(&user)?;
    let v = crate::http::extract::parse_json(&state, body).await?;
    let obj = v.as_object().cloned().unwrap_or_default();
    let bad = |m: &str| {
        crate::http::error::validation_failed(vec![hanoinet_core::request::FieldError::new(
            "content",
            FieldCode::Invalid,
            m.to_owned(),
            None,
        )])
    };
    if obj.keys().any(|k| k != "content" && k != "content_base64") || obj.len() != 1 {
        return Err(bad(
            "the body is {\"content\": TEXT} or {\"content_base64\": BASE64}",
        ));
    }
    let content = match (obj.get("content"), obj.get("content_base64")) {
        (Some(Value::String(t)), None) => t.clone().into_bytes(),
        (None, Some(Value::String(b))) => {
            b64::decode(b).map_err(|_| bad("content_base64 is not base64"))?
        }
        _ => return Err(bad("content is a string")),
    };
    let commitment = commit(&state, &content);
    let asked = entry(
        &state,
        Event::CommitmentComputed,
        user_actor(&user),
        String::new(),
    )
    .attr("commitment", commitment.clone());
    state.store.append_ledger(&[asked.encode()]).await?;
    Ok(Json(json!({"commitment": commitment})))
}

pub fn federation_routes() -> crate::http::Routes {
    crate::http::Routes::new()
        .route("/federation/v1/ledger/head", get(fed_head))
        .route("/federation/v1/ledger/proof/inclusion", get(fed_inclusion))
        .route(
            "/federation/v1/ledger/proof/consistency",
            get(fed_consistency),
        )
}

fn query<T>(q: Result<Query<T>, axum::extract::rejection::QueryRejection>) -> ApiResult<T> {
    q.map(|Query(v)| v)
        .map_err(|e| ApiError::new(ErrorCode::ValidationFailed, e.body_text()))
}

async fn head_json(state: &Node) -> ApiResult<Json<Value>> {
    match refresh(state).await? {
        Some(h) => Ok(Json(serde_json::to_value(h).map_err(ApiError::internal)?)),
        None => Err(ApiError::new(
            ErrorCode::NotFound,
            "the log is empty; no head has been signed yet",
        )),
    }
}

async fn api_head(
    State(state): State<Arc<Node>>,
    AuthUser(user): AuthUser,
) -> ApiResult<Json<Value>> {
    require_auditor(&user)?;
    head_json(&state).await
}

async fn fed_head(State(state): State<Arc<Node>>) -> ApiResult<Json<Value>> {
    head_json(&state).await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EntriesQuery {
    start: Option<u64>,
    end: Option<u64>,
}

async fn api_entries(
    State(state): State<Arc<Node>>,
    AuthUser(user): AuthUser,
    q: Result<Query<EntriesQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Json<Value>> {
    require_auditor(&user)?;
    let q = query(q)?;
    let size = state.store.ledger_size().await?;
    let start = q.start.unwrap_or(0);
    let end = q
        .end
        .unwrap_or(size)
        .min(size)
        .min(start.saturating_add(MAX_PAGE));
    if start > size || q.end.is_some_and(|e| e < start) {
        return Err(ApiError::new(
            ErrorCode::ValidationFailed,
            format!("need start <= end and start <= tree size {size}"),
        ));
    }
    let rows = state.store.ledger_entries(start, end).await?;
    let entries: Vec<Value> = rows
        .iter()
        .map(|(i, e)| json!({"index": i, "leaf": b64::encode(e)}))
        .collect();
    let next = (end < q.end.unwrap_or(size).min(size)).then_some(end);
    Ok(Json(
        json!({"entries": entries, "tree_size": size, "next": next}),
    ))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct InclusionQuery {
    index: u64,
    tree_size: u64,
}

async fn inclusion(state: &Node, q: InclusionQuery) -> ApiResult<Json<Value>> {
    let path = compute(
        state,
        Plan::Inclusion {
            index: q.index,
            size: q.tree_size,
        },
    )
    .await?;
    Ok(Json(
        json!({"leaf_index": q.index, "tree_size": q.tree_size, "inclusion_path": path.iter().map(hex32).collect::<Vec<_>>()}),
    ))
}

async fn api_inclusion(
    State(state): State<Arc<Node>>,
    AuthUser(user): AuthUser,
    q: Result<Query<InclusionQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Json<Value>> {
    require_auditor(&user)?;
    inclusion(&state, query(q)?).await
}

async fn fed_inclusion(
    State(state): State<Arc<Node>>,
    q: Result<Query<InclusionQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Json<Value>> {
    inclusion(&state, query(q)?).await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConsistencyQuery {
    first: u64,
    second: u64,
}

async fn consistency(state: &Node, q: ConsistencyQuery) -> ApiResult<Json<Value>> {
    let path = compute(
        state,
        Plan::Consistency {
            first: q.first,
            second: q.second,
        },
    )
    .await?;
    Ok(Json(
        json!({"first": q.first, "second": q.second, "consistency_path": path.iter().map(hex32).collect::<Vec<_>>()}),
    ))
}

async fn api_consistency(
    State(state): State<Arc<Node>>,
    AuthUser(user): AuthUser,
    q: Result<Query<ConsistencyQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Json<Value>> {
    require_auditor(&user)?;
    consistency(&state, query(q)?).await
}

async fn fed_consistency(
    State(state): State<Arc<Node>>,
    q: Result<Query<ConsistencyQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Json<Value>> {
    consistency(&state, query(q)?).await
}

async fn api_alerts(
    State(state): State<Arc<Node>>,
    AuthUser(_): AuthUser,
) -> ApiResult<Json<Value>> {
    let alerts = state.store.alerts(500).await?;
    let alerts: Vec<Value> = alerts
        .iter()
        .map(|a| json!({"id": a.id, "kind": a.kind, "subject": a.subject, "message": a.message, "evidence": a.evidence, "created_at": a.created_at}))
        .collect();
    Ok(Json(json!({"alerts": alerts})))
}

async fn api_signed_registry(
    State(state): State<Arc<Node>>,
    AuthUser(_): AuthUser,
) -> ApiResult<Json<Value>> {
    serde_json::from_str(&state.registry().file)
        .map(Json)
        .map_err(ApiError::internal)
}
