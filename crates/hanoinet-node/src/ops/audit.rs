//! "Verify now" on the auditor's page: the checks of `hanoinet ledger verify`
//! ([`hanoinet_ledger::audit::Verifier`]) run on this node's own store: the latest signed head
//! against the node's registry key, every entry rehashed to its root, the last entry's
//! inclusion proof, and consistency with the head this auditor verified last time. It catches
//! a store altered under the node (entries or hashes rewritten); an auditor who does not trust
//! the node itself runs `hanoinet ledger verify` from another machine.

use hanoinet_ledger::SignedTreeHead;
use hanoinet_ledger::audit::{Failure, Verified, Verifier};
use hanoinet_ledger::entry::Event;
use hanoinet_ledger::tree::Plan;
use hanoinet_store::User;

use crate::error::{NodeError, NodeResult};
use crate::node::Node;
use crate::ops::access::require_auditor;

/// Entries read from the store at a time.
const PAGE: u64 = 10_000;

/// Verifies the log for `auditor`: `Ok(Err(why))` when it does not verify (an answer, not an
/// error of the node). A success is remembered for the next run and written to the ledger.
pub async fn verify_now(state: &Node, auditor: &User) -> NodeResult<Result<Verified, Failure>> {
    require_auditor(auditor)?;
    let Some(head) = crate::ops::ledger::refresh(state).await? else {
        return Ok(Err(Failure("the log has no signed head yet".into())));
    };
    // The head may be signed by an earlier key of the node's still within its overlap.
    let reg = state.registry();
    let entry = reg
        .node(&state.id)
        .ok_or_else(|| NodeError::internal("this node is not in its registry"))?;
    let keys = match entry
        .keys_valid_at(state.clock.now())
        .into_iter()
        .find(|k| head.verify(k))
    {
        Some(k) => k,
        None => entry.public_keys().map_err(NodeError::internal)?,
    };
    let previous: Option<SignedTreeHead> = state
        .store
        .console_verified_head(&auditor.id)
        .await?
        .and_then(|h| serde_json::from_str(&h).ok());
    let mut check = match Verifier::new(&head, &keys, previous.as_ref()) {
        Ok(v) => v,
        Err(why) => return Ok(Err(why)),
    };
    if let Err(why) = rehash_entries(&state.store, &mut check).await? {
        return Ok(Err(why));
    }
    if let Some((index, size)) = check.inclusion_wanted() {
        let path = crate::ops::ledger::compute(state, Plan::Inclusion { index, size }).await?;
        if let Err(why) = check.inclusion(&path) {
            return Ok(Err(why));
        }
    }
    if let Some((first, second)) = check.consistency_wanted() {
        let path = crate::ops::ledger::compute(state, Plan::Consistency { first, second }).await?;
        if let Err(why) = check.consistency(&path) {
            return Ok(Err(why));
        }
    }
    let verified = check.finish();
    let entry = crate::ops::ledger::entry(
        state,
        Event::LedgerVerified,
        crate::ops::ledger::user_actor(auditor),
        format!("log:{}", verified.log_id),
    )
    .attr("tree_size", verified.tree_size.to_string())
    .attr("root_hash", hex::encode(verified.root_hash));
    let json = serde_json::to_string(&head).map_err(NodeError::internal)?;
    state
        .store
        .set_console_verified_head(&auditor.id, &json, &[entry.encode()])
        .await?;
    Ok(Ok(verified))
}

/// Verifies a store's own log without a running node (a backup before it is restored): the
/// latest signed head is signed by one of `keys` (the node's own), and the entries in the store
/// hash to its root. `Ok(Err(why))` when it does not verify.
pub async fn verify_store(
    store: &hanoinet_store::Store,
    keys: &[hanoinet_protocol::PublicKeys],
) -> Result<Result<Verified, Failure>, hanoinet_store::StoreError> {
    let Some(head) = store.latest_head().await? else {
        return Ok(Err(Failure("the log has no signed head".into())));
    };
    let head: SignedTreeHead = match serde_json::from_str(&head) {
        Ok(h) => h,
        Err(e) => {
            return Ok(Err(Failure(format!(
                "the stored tree head is malformed: {e}"
            ))));
        }
    };
    let Some(signer) = keys.iter().find(|k| head.verify(k)) else {
        return Ok(Err(Failure(
            "the latest tree head is not signed by any of this node's keys".into(),
        )));
    };
    let mut check = match Verifier::new(&head, signer, None) {
        Ok(v) => v,
        Err(why) => return Ok(Err(why)),
    };
    if let Err(why) = rehash_entries(store, &mut check).await? {
        return Ok(Err(why));
    }
    Ok(Ok(check.finish()))
}

/// Feeds every entry the verifier wants from the store, a page at a time, and closes the
/// entries' part of the check. `Ok(Err(why))` when they do not hash to the head's root.
async fn rehash_entries(
    store: &hanoinet_store::Store,
    check: &mut Verifier,
) -> Result<Result<(), Failure>, hanoinet_store::StoreError> {
    while check.wants_entries() {
        let start = check.next_index();
        let end = (start + PAGE).min(check.tree_size());
        let entries = store.ledger_entries(start, end).await?;
        if entries.is_empty() {
            return Ok(Err(check.ran_out()));
        }
        for (index, leaf) in &entries {
            if let Err(why) = check.entry(*index, leaf) {
                return Ok(Err(why));
            }
        }
    }
    Ok(check.entries_done())
}
