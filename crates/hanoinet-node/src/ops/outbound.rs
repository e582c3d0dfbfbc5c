//! Builds the envelopes a node queues: sealed to the peer's registry key, signed with ours. The
//! kind is the payload's own ([`Payload::KIND`]): no payload travels under another kind.

use hanoinet_core::{EnvelopeId, NodeId};
use hanoinet_protocol::Payload;
use hanoinet_protocol::{Envelope, Header};
use jiff::Timestamp;

use crate::error::{NodeError, NodeResult};
use crate::node::Node;

/// Seals `payload` (serialized as JSON) into a new envelope for `to`.
pub fn seal<P: Payload>(
    state: &Node,
    to: &NodeId,
    in_reply_to: Option<EnvelopeId>,
    payload: &P,
    now: Timestamp,
) -> NodeResult<Envelope> {
    seal_with_id(state, EnvelopeId::new_v7(), to, in_reply_to, payload, now)
}

/// Seals `payload` into an envelope with a given id (a request's envelope id is chosen when the
/// request is created, before it is sent).
pub fn seal_with_id<P: Payload>(
    state: &Node,
    id: EnvelopeId,
    to: &NodeId,
    in_reply_to: Option<EnvelopeId>,
    payload: &P,
    now: Timestamp,
) -> NodeResult<Envelope> {
    let reg = state.registry();
    let peer = reg
        .node(to)
        .ok_or_else(|| NodeError::internal(format!("peer {to} vanished from the registry")))?;
    let peer_keys = match peer.keys_valid_at(now).into_iter().next() {
        Some(k) => k,
        None => peer.public_keys().map_err(NodeError::internal)?,
    };
    let header = Header {
        id,
        from: state.id.clone(),
        to: to.clone(),
        kind: P::KIND.name(),
        created_at: now,
        in_reply_to,
    };
    let bytes = serde_json::to_vec(payload).map_err(NodeError::internal)?;
    Envelope::seal(
        header,
        &bytes,
        reg.signing_keys(now),
        &peer_keys,
        &mut rand::rng(),
    )
    .map_err(NodeError::internal)
}
