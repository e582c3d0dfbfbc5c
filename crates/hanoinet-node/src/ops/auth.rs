//! Who is calling: bearer tokens, checked the same way for every front end.

use hanoinet_store::User;

use crate::error::{NodeError, NodeResult};
use crate::node::Node;

/// What a caller without a valid token is told.
pub const TOKEN_REQUIRED: &str = "a valid bearer token is required (Authorization: Bearer TOKEN)";

/// The user a bearer token belongs to, if the token is known, unexpired and its user enabled.
/// Records the last use, to the minute (one write per user per minute, not per call).
pub async fn by_token(node: &Node, token: &str) -> NodeResult<User> {
    let account = node
        .store
        .user_by_token_hash(&token_hash(token))
        .await?
        .ok_or_else(|| NodeError::unauthorized(TOKEN_REQUIRED))?;
    let now = node.clock.now();
    if account.disabled_at.is_some() {
        return Err(NodeError::unauthorized(
            "this token's user is disabled; ask the node's administrator",
        ));
    }
    if let Some(until) = account.token_expires_at
        && until <= now
    {
        return Err(NodeError::unauthorized(format!(
            "this token expired at {until}; ask the node's administrator for a new one (hanoinet user rotate-token)"
        )));
    }
    if account
        .last_used_at
        .is_none_or(|t| now.duration_since(t) >= jiff::SignedDuration::from_mins(1))
    {
        node.store.touch_user(&account.user.id, now).await?;
    }
    Ok(account.user)
}

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
    format!("hnt_{}", hex::encode(bytes))
}
