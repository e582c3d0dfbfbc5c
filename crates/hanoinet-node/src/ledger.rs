//! The node's side of the tamper-evident log: building entries, integrating them into the tree,
//! signing tree heads, serving heads, entries and proofs, and checking peers' heads (gossip).
//!
//! ```text
//!  event tx ──► ledger_queue ──integrate (batch, one tx)──► ledger_entries + ledger_nodes
//!                                                              │ every tick while it grows, and on demand
//!                                                              ▼
//!                                                     signed tree head ──► receipts and payloads carry it
//!  peer's head (receipt/payload) ──► peer_heads ──gossip: consistency proof from the peer──► ok | alert
//! ```

use std::collections::HashMap;
use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::{Query, State};
use axum::routing::get;
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::watch;

use hanoinet_core::NodeId;
use hanoinet_ledger::entry::events;
use hanoinet_ledger::tree::{Hash, Plan};
use hanoinet_ledger::{Entry, SignedTreeHead, TreeHead};
use hanoinet_protocol::b64;
use hanoinet_store::{Alert, PeerHead, User};

use crate::api::AuthUser;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::server::AppState;

/// Entries integrated per transaction.
const BATCH: i64 = 10_000;
/// Most entries one page returns.
pub const MAX_PAGE: u64 = 1000;

pub fn entry(state: &AppState, event: &str, actor: String, subject: String) -> Entry {
    Entry::new(event, state.clock.now(), state.id.as_str(), actor, subject)
}

/// A keyed commitment to case content (PROTOCOL.md §7.1): only this node can compute it, so
/// the log does not let anyone confirm a guess.
pub fn commit(state: &AppState, content: &[u8]) -> String {
    Entry::keyed_commitment(&state.commit_key, content)
}

pub fn user_actor(u: &User) -> String {
    format!("user:{}", u.id)
}

pub fn node_actor(n: &NodeId) -> String {
    format!("node:{n}")
}

pub fn hex32(h: &Hash) -> String {
    hex::encode(h)
}

/// Integrates what is queued and signs a new head if the tree grew; returns the latest head.
pub async fn refresh(state: &AppState) -> ApiResult<Option<SignedTreeHead>> {
    loop {
        let done = state.store.integrate(BATCH).await?;
        if done.to - done.from < BATCH as u64 {
            break;
        }
    }
    let size = state.store.ledger_size().await?;
    let cached = state.head.read().map(|h| h.clone()).unwrap_or(None);
    if let Some(h) = &cached
        && h.head.tree_size >= size
    {
        return Ok(cached);
    }
    if cached.is_none()
        && let Some(stored) = state.store.latest_head().await?
    {
        let h: SignedTreeHead = serde_json::from_str(&stored).map_err(ApiError::internal)?;
        if h.head.tree_size >= size {
            set_cache(state, &h);
            return Ok(Some(h));
        }
    }
    if size == 0 {
        return Ok(None);
    }
    let root = root(state, size).await?;
    let head = TreeHead {
        log_id: state.id.to_string(),
        tree_size: size,
        root_hash: root,
        timestamp: state.clock.now(),
    }
    .sign(&state.keys);
    let json = serde_json::to_string(&head).map_err(ApiError::internal)?;
    state
        .store
        .store_head(size, &json, state.clock.now())
        .await?;
    set_cache(state, &head);
    Ok(Some(head))
}

fn set_cache(state: &AppState, head: &SignedTreeHead) {
    if let Ok(mut c) = state.head.write()
        && c.as_ref()
            .is_none_or(|h| h.head.tree_size <= head.head.tree_size)
    {
        *c = Some(head.clone());
    }
}

/// The latest head this node has signed, from the cache (for receipts and payloads).
pub fn cached_head(state: &AppState) -> Option<SignedTreeHead> {
    state.head.read().ok().and_then(|h| h.clone())
}

async fn compute(state: &AppState, plan: Plan) -> ApiResult<Vec<Hash>> {
    let size = state.store.ledger_size().await?;
    let plan = plan
        .check(size)
        .map_err(|e| ApiError::new(ErrorCode::ValidationFailed, e.to_string()))?;
    let nodes = fetch_nodes(&state.store, &state.node_cache, &plan.needed()).await?;
    plan.compute(&nodes).map_err(ApiError::internal)
}

/// Subtrees of at least 2^CACHED_LEVEL leaves are kept in memory once read: they never change
/// (a complete subtree's hash is fixed), they are few (n / 2^CACHED_LEVEL), and every proof
/// needs one per level. Only the few lowest levels then come from the database.
pub const CACHED_LEVEL: u8 = 6;

/// In-memory copy of stored upper-level subtree hashes.
pub type NodeCache = std::sync::Mutex<HashMap<hanoinet_ledger::NodeKey, Hash>>;

/// The stored hashes for `keys`, upper levels from the cache.
pub async fn fetch_nodes(
    store: &hanoinet_store::Store,
    cache: &NodeCache,
    keys: &[hanoinet_ledger::NodeKey],
) -> Result<HashMap<hanoinet_ledger::NodeKey, Hash>, hanoinet_store::StoreError> {
    let mut out = HashMap::with_capacity(keys.len());
    let mut missing = Vec::new();
    {
        let cached = cache.lock().unwrap_or_else(|e| e.into_inner());
        for k in keys {
            match cached.get(k) {
                Some(h) => {
                    out.insert(*k, *h);
                }
                None => missing.push(*k),
            }
        }
    }
    if !missing.is_empty() {
        let fetched = store.ledger_nodes(&missing).await?;
        let mut cached = cache.lock().unwrap_or_else(|e| e.into_inner());
        for (k, h) in fetched {
            if k.level >= CACHED_LEVEL {
                cached.insert(k, h);
            }
            out.insert(k, h);
        }
    }
    Ok(out)
}

async fn root(state: &AppState, size: u64) -> ApiResult<Hash> {
    compute(state, Plan::Root { size })
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| ApiError::internal("empty root"))
}

/// Runs until `stop`: integrates, signs heads while the log grows, and checks peers' heads.
pub async fn run(state: Arc<AppState>, mut stop: watch::Receiver<bool>) {
    loop {
        if let Err(e) = refresh(&state).await {
            tracing::error!(error = %e.message, "ledger integration failed");
        }
        if let Err(e) = check_peers(&state).await {
            tracing::error!(error = %e.message, "checking peers' tree heads failed");
        }
        tokio::select! {
            _ = tokio::time::sleep(state.tunables.ledger_interval) => {}
            _ = stop.wait_for(|s| *s) => break,
        }
    }
    let _ = refresh(&state).await;
}

/// Records a head a peer sent (in a receipt or a payload) for the gossip check. Heads that do
/// not verify with the peer's registry key are dropped.
pub async fn remember_peer_head(state: &AppState, peer: &NodeId, head: &SignedTreeHead) {
    let key = (head.head.tree_size, head.head.root_hash);
    let seen = |s: &AppState| s.seen_heads.lock().ok().and_then(|m| m.get(peer).copied());
    if seen(state) == Some(key) {
        return;
    }
    let Some(keys) = state.registry.node(peer).and_then(|n| n.public_keys().ok()) else {
        return;
    };
    if head.head.log_id != peer.as_str() || !head.verify(&keys) {
        tracing::warn!(%peer, "ignoring a tree head that is not signed by the peer's registry key");
        return;
    }
    let Ok(json) = serde_json::to_string(head) else {
        return;
    };
    let h = PeerHead {
        peer: peer.to_string(),
        tree_size: head.head.tree_size,
        root_hash: head.head.root_hash,
        head: json,
        checked: false,
    };
    match state.store.record_peer_head(&h, state.clock.now()).await {
        Ok(()) => {
            if let Ok(mut m) = state.seen_heads.lock() {
                m.insert(peer.clone(), key);
            }
        }
        Err(e) => tracing::error!(error = %e, "storing a peer's tree head failed"),
    }
}

async fn check_peers(state: &AppState) -> ApiResult<()> {
    let heads = state.store.peer_heads().await?;
    let mut by_peer: HashMap<String, Vec<PeerHead>> = HashMap::new();
    for h in heads {
        by_peer.entry(h.peer.clone()).or_default().push(h);
    }
    for (peer, heads) in by_peer {
        let mut baseline = heads.iter().find(|h| h.checked).cloned();
        for h in heads.into_iter().filter(|h| !h.checked) {
            let Some(base) = baseline.clone() else {
                // The first head seen from a peer is the baseline.
                state.store.mark_peer_head(&h, 1).await?;
                baseline = Some(h);
                continue;
            };
            let (small, large) = if h.tree_size <= base.tree_size {
                (&h, &base)
            } else {
                (&base, &h)
            };
            let consistent = if small.tree_size == large.tree_size {
                Some(small.root_hash == large.root_hash)
            } else {
                fetch_and_verify(state, &peer, small, large).await
            };
            match consistent {
                None => {} // the peer is unreachable: try again next round
                Some(true) => {
                    state.store.mark_peer_head(&h, 1).await?;
                    if h.tree_size > base.tree_size {
                        baseline = Some(h);
                    }
                }
                Some(false) => {
                    state.store.mark_peer_head(&h, 2).await?;
                    raise_fork_alert(state, &peer, small, large).await?;
                }
            }
        }
    }
    Ok(())
}

/// Asks the peer for a consistency proof between two of its heads and verifies it. `None` when
/// the peer cannot be asked right now.
async fn fetch_and_verify(
    state: &AppState,
    peer: &str,
    small: &PeerHead,
    large: &PeerHead,
) -> Option<bool> {
    let node = state.registry.node(&peer.parse().ok()?)?;
    let url = format!(
        "{}/federation/v1/ledger/proof/consistency?first={}&second={}",
        node.url, small.tree_size, large.tree_size
    );
    let resp = state.http.get(&url).send().await.ok()?;
    if !resp.status().is_success() {
        // A peer that cannot prove a tree it signed is inconsistent (e.g. it truncated its log).
        return Some(!resp.status().is_client_error());
    }
    let body: Value = resp.json().await.ok()?;
    let path = parse_path(&body["consistency_path"])?;
    Some(hanoinet_ledger::verify::consistency(
        small.tree_size,
        &small.root_hash,
        large.tree_size,
        &large.root_hash,
        &path,
    ))
}

fn parse_path(v: &Value) -> Option<Vec<Hash>> {
    v.as_array()?
        .iter()
        .map(|h| {
            let mut out = [0u8; 32];
            hex::decode_to_slice(h.as_str()?, &mut out).ok()?;
            Some(out)
        })
        .collect()
}

async fn raise_fork_alert(
    state: &AppState,
    peer: &str,
    a: &PeerHead,
    b: &PeerHead,
) -> ApiResult<()> {
    let first: Value = serde_json::from_str(&a.head).unwrap_or(Value::Null);
    let second: Value = serde_json::from_str(&b.head).unwrap_or(Value::Null);
    let id =
        hex::encode(&hanoinet_protocol::sha256(format!("{}|{}", a.head, b.head).as_bytes())[..16]);
    let message = format!(
        "{peer}'s log is inconsistent: its signed head of size {} is not a prefix of its signed head of size {} (a forked or rewritten log)",
        a.tree_size, b.tree_size
    );
    tracing::error!(%peer, first = a.tree_size, second = b.tree_size, "peer log inconsistent");
    let alert = Alert {
        id,
        kind: "ledger_inconsistent".into(),
        subject: peer.to_owned(),
        message,
        evidence: json!({"first_head": first, "second_head": second}),
        created_at: state.clock.now(),
    };
    let e = entry(
        state,
        events::PEER_LOG_INCONSISTENT,
        "system".into(),
        format!("node:{peer}"),
    )
    .attr("first_size", a.tree_size.to_string())
    .attr("first_root", hex32(&a.root_hash))
    .attr("second_size", b.tree_size.to_string())
    .attr("second_root", hex32(&b.root_hash));
    state.store.raise_alert(&alert, &[e.encode()]).await?;
    Ok(())
}

// ----- HTTP ------------------------------------------------------------------------------------

pub fn api_routes() -> Router<Arc<AppState>> {
    Router::new()
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
    State(state): State<Arc<AppState>>,
    AuthUser(user): AuthUser,
    body: axum::body::Body,
) -> ApiResult<Json<Value>> {
    require_auditor(&user)?;
    let v = crate::api::parse_json(&state, body).await?;
    let obj = v.as_object().cloned().unwrap_or_default();
    let bad = |m: &str| {
        crate::api::validation_failed(vec![hanoinet_core::request::FieldError::new(
            "content",
            "invalid",
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
        events::COMMITMENT_COMPUTED,
        user_actor(&user),
        String::new(),
    )
    .attr("commitment", commitment.clone());
    state.store.append_ledger(&[asked.encode()]).await?;
    Ok(Json(json!({"commitment": commitment})))
}

pub fn federation_routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/federation/v1/ledger/head", get(fed_head))
        .route("/federation/v1/ledger/proof/inclusion", get(fed_inclusion))
        .route(
            "/federation/v1/ledger/proof/consistency",
            get(fed_consistency),
        )
}

fn require_auditor(user: &User) -> ApiResult<()> {
    if user.role.may_audit() {
        Ok(())
    } else {
        Err(ApiError::new(
            ErrorCode::Forbidden,
            format!(
                "role {} may not read the ledger; auditors and supervisors may",
                user.role.as_str()
            ),
        ))
    }
}

fn query<T>(q: Result<Query<T>, axum::extract::rejection::QueryRejection>) -> ApiResult<T> {
    q.map(|Query(v)| v)
        .map_err(|e| ApiError::new(ErrorCode::ValidationFailed, e.body_text()))
}

async fn head_json(state: &AppState) -> ApiResult<Json<Value>> {
    match refresh(state).await? {
        Some(h) => Ok(Json(serde_json::to_value(h).map_err(ApiError::internal)?)),
        None => Err(ApiError::new(
            ErrorCode::NotFound,
            "the log is empty; no head has been signed yet",
        )),
    }
}

async fn api_head(
    State(state): State<Arc<AppState>>,
    AuthUser(user): AuthUser,
) -> ApiResult<Json<Value>> {
    require_auditor(&user)?;
    head_json(&state).await
}

async fn fed_head(State(state): State<Arc<AppState>>) -> ApiResult<Json<Value>> {
    head_json(&state).await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EntriesQuery {
    start: Option<u64>,
    end: Option<u64>,
}

async fn api_entries(
    State(state): State<Arc<AppState>>,
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

async fn inclusion(state: &AppState, q: InclusionQuery) -> ApiResult<Json<Value>> {
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
    State(state): State<Arc<AppState>>,
    AuthUser(user): AuthUser,
    q: Result<Query<InclusionQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Json<Value>> {
    require_auditor(&user)?;
    inclusion(&state, query(q)?).await
}

async fn fed_inclusion(
    State(state): State<Arc<AppState>>,
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

async fn consistency(state: &AppState, q: ConsistencyQuery) -> ApiResult<Json<Value>> {
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
    State(state): State<Arc<AppState>>,
    AuthUser(user): AuthUser,
    q: Result<Query<ConsistencyQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Json<Value>> {
    require_auditor(&user)?;
    consistency(&state, query(q)?).await
}

async fn fed_consistency(
    State(state): State<Arc<AppState>>,
    q: Result<Query<ConsistencyQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Json<Value>> {
    consistency(&state, query(q)?).await
}

async fn api_alerts(
    State(state): State<Arc<AppState>>,
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
    State(state): State<Arc<AppState>>,
    AuthUser(_): AuthUser,
) -> ApiResult<Json<Value>> {
    serde_json::from_str(&state.registry_file)
        .map(Json)
        .map_err(ApiError::internal)
}
