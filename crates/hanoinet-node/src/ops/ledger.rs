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

use hanoinet_core::NodeId;
use hanoinet_ledger::tree::{Hash, Plan};
use hanoinet_ledger::{Entry, Event, SignedTreeHead, TreeHead};
use hanoinet_store::{PeerHead, User};

use crate::error::{ErrorCode, NodeError, NodeResult};
use crate::node::Node;

/// Entries integrated per transaction.
const BATCH: i64 = 10_000;
/// Most entries one page returns.
pub const MAX_PAGE: u64 = 1000;

pub fn entry(state: &Node, event: Event, actor: String, subject: String) -> Entry {
    Entry::new(
        event.as_str(),
        state.clock.now(),
        state.id.as_str(),
        actor,
        subject,
    )
}

/// A keyed commitment to case content (PROTOCOL.md §7.1): only this node can compute it, so
/// the log does not let anyone confirm a guess.
pub fn commit(state: &Node, content: &[u8]) -> String {
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
pub async fn refresh(state: &Node) -> NodeResult<Option<SignedTreeHead>> {
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
        let h: SignedTreeHead = serde_json::from_str(&stored).map_err(NodeError::internal)?;
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
    .sign(&state.keys());
    let json = serde_json::to_string(&head).map_err(NodeError::internal)?;
    state
        .store
        .store_head(size, &json, state.clock.now())
        .await?;
    set_cache(state, &head);
    Ok(Some(head))
}

fn set_cache(state: &Node, head: &SignedTreeHead) {
    if let Ok(mut c) = state.head.write()
        && c.as_ref()
            .is_none_or(|h| h.head.tree_size <= head.head.tree_size)
    {
        *c = Some(head.clone());
    }
}

/// The latest head this node has signed, from the cache (for receipts and payloads).
pub fn cached_head(state: &Node) -> Option<SignedTreeHead> {
    state.head.read().ok().and_then(|h| h.clone())
}

pub(crate) async fn compute(state: &Node, plan: Plan) -> NodeResult<Vec<Hash>> {
    let size = state.store.ledger_size().await?;
    let plan = plan
        .check(size)
        .map_err(|e| NodeError::refused(ErrorCode::ValidationFailed, e.to_string()))?;
    let nodes = fetch_nodes(&state.store, &state.node_cache, &plan.needed()).await?;
    plan.compute(&nodes).map_err(NodeError::internal)
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

async fn root(state: &Node, size: u64) -> NodeResult<Hash> {
    compute(state, Plan::Root { size })
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| NodeError::internal("empty root"))
}

/// Records a head a peer sent (in a receipt or a payload) for the gossip check. Heads that do
/// not verify with the peer's registry key are dropped.
pub async fn remember_peer_head(state: &Node, peer: &NodeId, head: &SignedTreeHead) {
    let key = (head.head.tree_size, head.head.root_hash);
    let seen = |s: &Node| s.seen_heads.lock().ok().and_then(|m| m.get(peer).copied());
    if seen(state) == Some(key) {
        return;
    }
    if head.head.log_id != peer.as_str() || !state.signed_by(peer, |k| head.verify(k)) {
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

/// One ledger entry about a request, with what its inclusion proof showed.
#[derive(Debug, Clone)]
pub struct ProvenEntry {
    pub index: u64,
    pub entry: hanoinet_ledger::Entry,
    /// `Some(true)`: its inclusion proof in the latest signed head verifies; `Some(false)`: it
    /// does not (tampering); `None`: not yet in a signed head.
    pub included: Option<bool>,
}

/// The ledger entries about request `id`, each with its inclusion proof in the latest signed
/// head checked (the proof computed by the tree code, checked by the independent verifier).
pub async fn entries_about(
    state: &Node,
    id: hanoinet_core::RequestId,
) -> NodeResult<(Vec<ProvenEntry>, Option<SignedTreeHead>)> {
    let head = refresh(state).await?;
    let rows = state
        .store
        .ledger_entries_about(&format!("request:{id}"))
        .await?;
    let mut out = Vec::with_capacity(rows.len());
    for (index, bytes) in rows {
        let entry = hanoinet_ledger::Entry::decode(&bytes).map_err(NodeError::internal)?;
        let included = match &head {
            Some(h) if index < h.head.tree_size => {
                let size = h.head.tree_size;
                let path = compute(state, Plan::Inclusion { index, size }).await?;
                Some(hanoinet_ledger::verify::inclusion(
                    &bytes,
                    index,
                    size,
                    &path,
                    &h.head.root_hash,
                ))
            }
            _ => None,
        };
        out.push(ProvenEntry {
            index,
            entry,
            included,
        });
    }
    Ok((out, head))
}
