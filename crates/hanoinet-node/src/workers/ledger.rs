//! The ledger worker: integrates queued entries, signs a head while the log grows, and checks
//! each peer's heads against each other (gossip), raising an alert on a fork.

use hanoinet_ledger::entry::actors;
use std::collections::HashMap;
use std::sync::Arc;

use serde_json::{Value, json};
use tokio::sync::watch;

use hanoinet_ledger::entry::Event;
use hanoinet_ledger::tree::Hash;
use hanoinet_store::{Alert, PeerHead};

use crate::error::NodeResult;
use crate::node::Node;
use crate::ops::ledger::{entry, hex32, refresh};

/// Runs until `stop`: integrates, signs heads while the log grows, and checks peers' heads.
pub async fn run(state: Arc<Node>, mut stop: watch::Receiver<bool>) {
    loop {
        if let Err(e) = refresh(&state).await {
            tracing::error!(error = %e, "ledger integration failed");
        }
        if let Err(e) = check_peers(&state).await {
            tracing::error!(error = %e, "checking peers' tree heads failed");
        }
        // A registry another process installed (`hanoinet registry install`, a replica).
        if let Err(e) = state.refresh_registry().await {
            tracing::error!(error = %e, "taking up the installed registry failed");
        }
        tokio::select! {
            _ = tokio::time::sleep(state.tunables.ledger_interval) => {}
            _ = stop.wait_for(|s| *s) => break,
        }
    }
    let _ = refresh(&state).await;
}

async fn check_peers(state: &Node) -> NodeResult<()> {
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
    state: &Node,
    peer: &str,
    small: &PeerHead,
    large: &PeerHead,
) -> Option<bool> {
    let reg = state.registry();
    let node = reg.node(&peer.parse().ok()?)?;
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

async fn raise_fork_alert(state: &Node, peer: &str, a: &PeerHead, b: &PeerHead) -> NodeResult<()> {
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
        kind: hanoinet_store::AlertKind::LedgerInconsistent,
        subject: peer.to_owned(),
        message,
        evidence: json!({"first_head": first, "second_head": second}),
        created_at: state.clock.now(),
    };
    let e = entry(
        state,
        Event::PeerLogInconsistent,
        actors::SYSTEM.into(),
        format!("node:{peer}"),
    )
    .attr("first_size", a.tree_size.to_string())
    .attr("first_root", hex32(&a.root_hash))
    .attr("second_size", b.tree_size.to_string())
    .attr("second_root", hex32(&b.root_hash));
    state.store.raise_alert(&alert, &[e.encode()]).await?;
    Ok(())
}
